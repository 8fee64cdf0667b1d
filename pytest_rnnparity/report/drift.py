"""The drift report: what a person reads when a run moved beyond tolerance from its golden."""

from __future__ import annotations

from collections.abc import Iterable

from pytest_rnnparity.check.compare import Comparison
from pytest_rnnparity.golden.drift import Drift
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


def hash_diagnosis(recorded: Golden, current: Golden) -> list[str]:
    """Plain-language lines when the weights, inputs or spec changed (not the numerics)."""
    lines = []
    checks = (
        ("weights_hash", "The weights changed"),
        ("inputs_hash", "The inputs changed"),
        ("spec_hash", "The spec changed"),
    )
    for key, headline in checks:
        old, new = recorded.meta.get(key), current.meta.get(key)
        if old is not None and new is not None and old != new:
            line = f"{headline} since the golden was recorded ({key} {old[:12]} -> {new[:12]})"
            if key == "weights_hash":
                line += (
                    ": this is not numerical drift. With `weights: keras` the layers' "
                    "initializers draw the weights, and they may change between Keras "
                    "versions; `weights: seeded` gives the same weights everywhere."
                )
            elif key == "inputs_hash":
                line += ": the data or its scaling changed, not the numerics."
            else:
                line += "; if that was intended, re-record the golden."
            lines.append(line)
    return lines


def drift_message(
    recorded: Golden,
    current: Golden,
    drift: Drift,
    *,
    golden_path: str,
    update_command: str,
) -> str:
    """The failure text when a run moved beyond tolerance from its golden."""
    failed = [c for c in drift.comparisons if not c.ok]
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
        lines.append(f"{len(failed)} of {len(drift.comparisons)} compared blocks moved:")
        lines += ["  " + row for row in _drift_table(failed, drift)]
    if drift.missing:
        lines.append("No longer produced: " + ", ".join(drift.missing) + ".")
    if drift.new:
        lines.append("Not in the golden: " + ", ".join(drift.new) + ".")
    lines.append(f"If the change is expected, re-record: {update_command}")
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
