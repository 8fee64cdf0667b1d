"""The drift report: what a person reads when a run moved beyond tolerance from its golden."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from pytest_rnnparity.check.compare import Comparison
from pytest_rnnparity.golden.drift import Drift
from pytest_rnnparity.golden.effective import changed_keys, changes_weights, spec_changes
from pytest_rnnparity.golden.format import SUMMARY_FIELDS, Golden
from pytest_rnnparity.model.environment import versions_line


def _part(name: str) -> str:
    return name.split("/", 1)[0]


PART_TITLES = {"keras": "Keras outputs", "reference": "reference trace"}


def _value(v: float) -> str:
    return f"{v:.9g}"


def _index(comparison: Comparison) -> str:
    assert comparison.first is not None
    parts = dict(zip(comparison.axes, comparison.first.index, strict=True))
    if comparison.quantity == "summary":
        stat = SUMMARY_FIELDS[parts.pop("statistic")]
        where = ", ".join(f"{k} {v}" for k, v in parts.items())
        return f"{stat} over the batch at {where}"
    order = [a for a in ("timestep", "row", "unit") if a in parts]
    return ", ".join(f"{a} {parts[a]}" for a in order)


def _short(value: str) -> str:
    return value[:12]


def _hash_change(recorded: Golden, current: Golden, key: str) -> tuple[str, str] | None:
    old, new = recorded.meta.get(key), current.meta.get(key)
    if old is None or new is None or old == new:
        return None
    return old, new


def _declared(spec: Mapping[str, str], key: str) -> str:
    """A path the effective spec holds as JSON text, as written in the spec."""
    try:
        value = json.loads(spec[key])
    except (KeyError, ValueError):
        return spec.get(key, "")
    return str(value)


def _weights_line(recorded: Golden, current: Golden, old: str, new: str) -> str:
    """Why the weights changed, saying only what applies to how the spec draws them."""
    head = f"The weights changed since the golden was recorded (weights_hash {old} -> {new})"
    spec = current.spec
    spec_changed = _hash_change(recorded, current, "spec_hash") is not None
    if spec_changed and recorded.spec and changes_weights(changed_keys(recorded.spec, spec)):
        return f"{head}: they follow from the spec keys above, not from the numerics."
    if spec_changed and not recorded.spec:
        return (
            f"{head}, and so did the spec: the weights follow from its model, seed, weights"
            " and dtype."
        )
    if "model.path" in spec and spec.get("weights") == '"keras"':
        return (
            f"{head}: the model file {_declared(spec, 'model.path')} holds other weights;"
            " this is not numerical drift."
        )
    if "weights.path" in spec:
        return (
            f"{head}: the weights file {_declared(spec, 'weights.path')} holds other"
            " values; this is not numerical drift."
        )
    if spec.get("weights") == '"seeded"':
        return (
            f"{head}, though the spec did not change: `weights: seeded` draws them with"
            " NumPy from the seed, the same under every TensorFlow and Keras version, so"
            " this is not Keras drift; NumPy's generator or pytest-rnnparity's drawing"
            " changed."
        )
    if spec.get("weights") == '"keras"':
        return (
            f"{head}: this is not numerical drift. With `weights: keras` the layers'"
            " initializers draw the weights, and they may change between Keras versions;"
            " `weights: seeded` gives the same weights everywhere."
        )
    return f"{head}: this is not numerical drift; the model holds other weights."


def hash_diagnosis(recorded: Golden, current: Golden) -> list[str]:
    """Plain-language lines when the spec, weights or inputs changed (not the numerics).

    With both goldens keeping the effective spec, a spec change lists the keys that
    changed (``model[0].LSTM.units: 8 -> 16``); the weights line says what applies to
    how the spec draws its weights.
    """
    lines = []
    spec_hash = _hash_change(recorded, current, "spec_hash")
    changes = spec_changes(recorded.spec, current.spec) if recorded.spec else []
    if spec_hash is not None and changes:
        lines.append("The spec changed since the golden was recorded:")
        lines += [f"  {change}" for change in changes]
    elif spec_hash is not None:
        old, new = map(_short, spec_hash)
        line = f"The spec changed since the golden was recorded (spec_hash {old} -> {new})"
        if not recorded.spec:
            line += (
                "; the golden does not keep its spec, so which keys changed is not known"
                " (a golden recorded now keeps them)"
            )
        lines.append(line + "; if that was intended, re-record the golden.")
    weights = _hash_change(recorded, current, "weights_hash")
    if weights is not None:
        lines.append(_weights_line(recorded, current, *map(_short, weights)))
    inputs = _hash_change(recorded, current, "inputs_hash")
    if inputs is not None:
        old, new = map(_short, inputs)
        lines.append(
            f"The inputs changed since the golden was recorded (inputs_hash {old} -> {new}):"
            " the data or its scaling changed, not the numerics."
        )
    return lines


def drift_message(
    recorded: Golden,
    current: Golden,
    drift: Drift,
    *,
    golden_path: str,
    update_command: str,
) -> str:
    """The failure text when a run moved beyond tolerance from its golden.

    Changed shapes are listed apart (``keras/lstm/output: 34x6x8 -> 34x6x16``); the
    first place and the table are about values that moved.
    """
    failed = [c for c in drift.comparisons if not c.ok and c.layer not in drift.reshaped]
    compared = [c for c in drift.comparisons if c.layer not in drift.reshaped]
    lines = [
        f"Golden drift: the run no longer matches {golden_path}.",
        f"Recorded under {versions_line(dict(recorded.environment))}, "
        f"now {versions_line(dict(current.environment))}.",
    ]
    changed_env = [
        f"{k}: {recorded.environment.get(k, '-')} -> {current.environment.get(k, '-')}"
        for k in sorted(set(recorded.environment) | set(current.environment))
        if recorded.environment.get(k) != current.environment.get(k)
    ]
    if changed_env:
        lines.append("Environment changes: " + "; ".join(changed_env) + ".")
    lines += hash_diagnosis(recorded, current)
    if drift.reshaped:
        lines.append(f"Shapes changed ({len(drift.reshaped)} array(s)):")
        lines += [f"  {name}: {change}" for name, change in reshaped_texts(drift).items()]
    if failed:
        first = failed[0]
        part = PART_TITLES.get(_part(first.layer), _part(first.layer))
        name = first.layer.split("/", 1)[1] if "/" in first.layer else first.layer
        if first.problem is not None:
            lines.append(f"First: {part}, {name}: {first.problem}.")
        else:
            assert first.first is not None
            lines += [
                f"First: {part}, {name}, at {_index(first)}:",
                f"  recorded  {_value(first.first.expected)}",
                f"  now       {_value(first.first.actual)}",
                f"  abs error {first.first.abs_error:.2e}, rel error {first.first.rel_error:.2e} "
                f"(tolerance {first.tolerance})",
            ]
        lines.append(f"{len(failed)} of {len(compared)} compared blocks moved:")
        lines += ["  " + row for row in _drift_table(failed, drift)]
    if drift.missing:
        lines.append("No longer produced: " + ", ".join(drift.missing) + ".")
    if drift.new:
        lines.append("Not in the golden: " + ", ".join(drift.new) + ".")
    lines.append(f"If the change is expected, re-record: {update_command}")
    return "\n".join(lines)


def reshaped_texts(drift: Drift) -> dict[str, str]:
    """``{"keras/lstm/output": "34x6x8 -> 34x6x16"}``: each array whose shape changed,
    sorted by name."""
    return {
        name: f"{'x'.join(map(str, old))} -> {'x'.join(map(str, new))}"
        for name, (old, new) in sorted(drift.reshaped.items())
    }


def missing_golden_message(
    where: str,
    spec: str,
    update_command: str,
    moved: Sequence[tuple[str, str, str]] = (),
) -> str:
    """The failure of a golden item whose golden file does not exist yet.

    ``moved`` holds, for each golden recorded from the same spec content whose spec is
    gone (a renamed spec file), its path, why it is an orphan, and the command that moves
    it into place.
    """
    if not moved:
        return f"{where}: no golden file yet for spec '{spec}'. Record it with: {update_command}"
    lines = [f"{where}: no golden file yet for spec '{spec}'."]
    for path, reason, command in moved:
        lines += [
            f"{path} was recorded from the same spec content, and its spec is gone ({reason}):"
            " move it here to keep it,",
            f"  {command}",
        ]
    lines.append(f"or record a new one with: {update_command}")
    return "\n".join(lines)


def max_abs_cell(comparison: Comparison, drift: Drift) -> str:
    """What the drift table shows as a block's largest change.

    Never ``0.00e+00`` for a change: a value that became (or was) NaN or inf reads
    ``nan`` or ``inf``, and a changed shape reads ``recorded -> now``.
    """
    if comparison.layer in drift.reshaped:
        old, new = drift.reshaped[comparison.layer]
        return f"{'x'.join(map(str, old))} -> {'x'.join(map(str, new))}"
    if comparison.non_finite is not None:
        return comparison.non_finite
    return f"{comparison.max_abs:.2e}"


def drift_table(drift: Drift) -> list[str]:
    """The table of the blocks that moved (part, array, block, max abs, moved), one per line."""
    return _drift_table([c for c in drift.comparisons if not c.ok], drift)


def _drift_table(failed: Iterable[Comparison], drift: Drift) -> list[str]:
    rows = [("part", "array", "block", "max abs", "moved")]
    for c in failed:
        part, _, name = c.layer.partition("/")
        rows.append(
            (
                PART_TITLES.get(part, part),
                name,
                c.quantity,
                max_abs_cell(c, drift),
                "all" if c.layer in drift.reshaped else f"{c.n_bad}/{c.n_total}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
