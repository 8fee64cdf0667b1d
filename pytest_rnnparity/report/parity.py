"""Failure text for parity checks: pure functions of comparison results.

Nothing here imports pytest or keras; every line is asserted verbatim in
``tests/unit/test_report.py``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

from pytest_rnnparity.check.compare import Comparison
from pytest_rnnparity.check.finite import NonFinite
from pytest_rnnparity.check.parity import ParityResult
from pytest_rnnparity.reference.types import DescribedLayer, OpaqueLayer

QUANTITY_TITLES = {
    "probe": "the layer's own output against its probe",
    "hidden": "hidden state (every timestep)",
    "final hidden": "final hidden state",
    "final cell": "final cell state",
    "output": "layer output",
}


def _value(value: float) -> str:
    return f"{value:.9g}"


def _error(value: float) -> str:
    return f"{value:.2e}"


def describe_index(comparison: Comparison) -> str:
    """``timestep 1, row 0, unit 2`` for the first mismatch, in time-first order."""
    assert comparison.first is not None
    parts = dict(zip(comparison.axes, comparison.first.index, strict=True))
    order: list[str] = [axis for axis in ("timestep", "row", "unit") if axis in parts]
    order += [axis for axis in comparison.axes if axis not in order]
    return ", ".join(f"{axis} {parts[axis]}" for axis in order)


#: What a failed probe check means, printed under it.
PROBE_HINT = (
    "The probe (a copy of the layer built from its config with return_sequences and "
    "return_state, given its weights and fed the same inputs, mask and initial states) "
    "does not compute what the layer returned: the layer's call does something its "
    "config does not say (a subclass, a patched call, state the copy cannot see). Its "
    "per-step values below are the copy's, not the layer's."
)


def where_hint(comparison: Comparison) -> str | None:
    """A one-line hint from *when* a per-step quantity first disagrees."""
    if comparison.quantity == "probe":
        return PROBE_HINT
    if comparison.first is None or "timestep" not in comparison.axes:
        return None
    step = comparison.first.index[comparison.axes.index("timestep")]
    processing = " (processing order)" if comparison.direction == "backward" else ""
    if step == 0:
        return (
            f"Timestep 0{processing} already differs: check the input kernel, the biases, "
            "the activations and the update rule."
        )
    return (
        f"Timesteps 0-{step - 1}{processing} agree: check what carries over between steps: "
        "the recurrent kernel, the recurrent bias, where the reset gate applies, "
        "and the state each window starts from."
    )


def error_table(
    comparisons: Sequence[Comparison],
    layer_classes: dict[str, str],
    *,
    layers: Sequence[DescribedLayer] = (),
) -> list[str]:
    """A fixed-width table of the largest errors per layer and quantity.

    With ``layers`` (every layer call, in order) an opaque call gets a row of its own
    (``not computed``), so the table covers every call.
    """
    header = ("layer", "class", "quantity", "shape", "max abs", "max rel", "tolerance", "verdict")
    rows = [header]
    opaque = [layer.name for layer in layers if isinstance(layer, OpaqueLayer)]
    order = {layer.name: index for index, layer in enumerate(layers)}
    listed: list[Comparison | str] = list(comparisons)
    for name in opaque:
        position = next(
            (
                i
                for i, c in enumerate(listed)
                if isinstance(c, Comparison) and order.get(c.layer, -1) > order[name]
            ),
            len(listed),
        )
        listed.insert(position, name)
    for c in listed:
        if isinstance(c, str):
            rows.append((c, layer_classes.get(c, ""), "not computed", "", "", "", "", "opaque"))
            continue
        rows.append(
            (
                c.layer,
                layer_classes.get(c.layer, ""),
                c.label,
                "x".join(str(n) for n in c.shape),
                c.non_finite or _error(c.max_abs),
                c.non_finite or _error(c.max_rel),
                str(c.tolerance),
                "ok" if c.ok else "FAIL",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def mismatch_lines(comparison: Comparison, *, expected_name: str, actual_name: str) -> list[str]:
    """The lines that localize and quantify one failed comparison."""
    c = comparison
    if c.problem is not None:
        return [f"  {c.problem}"]
    assert c.first is not None
    percent = 100.0 * c.n_bad / c.n_total if c.n_total else 0.0
    width = max(len(expected_name), len(actual_name))
    lines = [
        f"  at {describe_index(c)}:",
        f"    {actual_name.ljust(width)}  {_value(c.first.actual)}",
        f"    {expected_name.ljust(width)}  {_value(c.first.expected)}",
        f"    abs error {_error(c.first.abs_error)}, rel error {_error(c.first.rel_error)} "
        f"(tolerance {c.tolerance})",
        f"  {c.n_bad} of {c.n_total} values ({percent:.1f}%) exceed tolerance; "
        f"max abs error {_error(c.max_abs)}, mean abs error {_error(c.mean_abs)}",
    ]
    hint = where_hint(c)
    if hint:
        lines.append(f"  {hint}")
    return lines


def parity_failure_message(
    comparisons: Sequence[Comparison],
    *,
    layer_classes: dict[str, str],
    reference_dtype: str,
    layer_names: Sequence[str] | None = None,
    opaque: Sequence[OpaqueLayer] = (),
    layers: Sequence[DescribedLayer] = (),
) -> str:
    """The message of a ParityError: the first failing comparison, then the table.

    ``layer_names`` lists every layer call (for "layer 2 of 5"; default: the compared
    ones); ``opaque`` the calls the reference did not compute, named at the end.
    """
    failed = [c for c in comparisons if not c.ok]
    if not failed:
        raise ValueError("parity_failure_message needs at least one failed comparison")
    first = failed[0]
    names = list(layer_names or dict.fromkeys(c.layer for c in comparisons))
    position = f"layer {names.index(first.layer) + 1} of {len(names)}"
    title = QUANTITY_TITLES.get(first.quantity, first.quantity)
    direction = "" if first.direction in (None, "forward") else f", {first.direction} direction"
    expected_name, actual_name = (
        ("layer", "probe")
        if first.quantity == "probe"
        else (
            "reference",
            "Keras",
        )
    )
    lines = [
        f"Keras and the {reference_dtype} reference disagree in "
        f"{len(failed)} of {len(comparisons)} checks.",
        f"First: layer '{first.layer}' ({layer_classes.get(first.layer, '?')}, {position}), "
        f"{title}{direction}",
        *mismatch_lines(first, expected_name=expected_name, actual_name=actual_name),
        "",
        "Largest errors per layer:",
        *("  " + line for line in error_table(comparisons, layer_classes, layers=layers)),
        *opaque_lines(opaque),
    ]
    return "\n".join(lines)


def opaque_lines(opaque: Sequence[OpaqueLayer]) -> list[str]:
    """The calls that were not computed independently, each with why (nothing if none)."""
    if not opaque:
        return []
    return [
        "Not computed independently (the end-to-end pass took Keras' output there):",
        *(f"  '{layer.name}' ({layer.class_name}): {layer.reason}" for layer in opaque),
    ]


def non_finite_message(
    non_finite: NonFinite,
    *,
    layer_names: Sequence[str],
    layer_classes: dict[str, str],
    reference_dtype: str,
) -> str:
    """Where the first NaN or inf is, on which side, and whether the weights or inputs hold one."""
    first = non_finite.first
    keras_bad, reference_bad = not math.isfinite(first.keras), not math.isfinite(first.reference)
    who = (
        f"Keras and the {reference_dtype} reference compute"
        if keras_bad and reference_bad
        else "Keras computes"
        if keras_bad
        else f"The {reference_dtype} reference computes"
    )
    names = list(layer_names)
    position = ""
    if first.layer in names:
        position = f", layer {names.index(first.layer) + 1} of {len(names)}"
    title = QUANTITY_TITLES.get(first.quantity, first.quantity)
    direction = "" if first.direction in (None, "forward") else f", {first.direction} direction"
    parts = dict(zip(first.axes, first.index, strict=True))
    order = [axis for axis in ("timestep", "row", "unit") if axis in parts]
    index = ", ".join(f"{axis} {parts[axis]}" for axis in order)
    return "\n".join(
        [
            f"{who} NaN or inf: a model that does never passes parity.",
            f"First: layer '{first.layer}' ({layer_classes.get(first.layer, '?')}{position}), "
            f"{title}{direction}",
            f"  at {index}:",
            f"    Keras      {_value(first.keras)}",
            f"    reference  {_value(first.reference)}",
            non_finite_origin(non_finite),
        ]
    )


def non_finite_origin(non_finite: NonFinite) -> str:
    """Whether the weights or the inputs hold the NaN or inf, or neither does."""
    weights = ", ".join(
        f"layer '{layer}' ({bad} of {total} values)" for layer, bad, total in non_finite.weights
    )
    inputs = None
    if non_finite.inputs is not None:
        axes = ("row", "timestep", "feature")
        inputs = ", ".join(f"{axis} {i}" for axis, i in zip(axes, non_finite.inputs, strict=False))
    if weights and inputs:
        return f"The weights hold NaN or inf: {weights}; so do the inputs, first at {inputs}."
    if weights:
        return f"The weights hold NaN or inf: {weights}; the inputs are finite."
    if inputs:
        return f"The inputs hold NaN or inf, first at {inputs}; the weights are finite."
    return (
        "The weights and the inputs are finite: the model produces the NaN or inf itself"
        " (an overflow, a division by zero)."
    )


def parity_message(result: ParityResult) -> str:
    """The text of a failed :class:`~pytest_rnnparity.check.parity.ParityResult`.

    NaN or inf comes first (where, and whether the weights or the inputs hold one),
    then, if comparisons failed too, the usual report.
    """
    failed = any(not c.ok for c in result.comparisons)
    sections = []
    if result.non_finite is not None:
        sections.append(
            non_finite_message(
                result.non_finite,
                layer_names=[layer.name for layer in result.layers],
                layer_classes=result.layer_classes,
                reference_dtype=result.dtype,
            )
        )
    if failed or not sections:
        sections.append(
            parity_failure_message(
                result.comparisons,
                layer_classes=result.layer_classes,
                reference_dtype=result.dtype,
                layer_names=[layer.name for layer in result.layers],
                opaque=result.opaque,
                layers=result.layers,
            )
        )
    return "\n\n".join(sections)


def checked_lines(result: ParityResult) -> list[str]:
    """What a parity check compared, and how: the lines a passing report starts with."""
    probed = [c.layer for c in result.comparisons if c.quantity == "probe"]
    lines = [
        f"Keras and the {result.dtype} reference agree in {len(result.comparisons)} of "
        f"{len(result.comparisons)} checks:"
        if result.ok
        else f"Keras and the {result.dtype} reference disagree in {len(result.failures)} of "
        f"{len(result.comparisons)} checks:",
        *textwrap.wrap(
            "every timestep and the final states of every recurrent layer call, in "
            "isolation (the reference run on what Keras fed the call), and every layer's "
            "output, end to end.",
            width=88,
        ),
    ]
    recurrent = [c.layer for c in result.comparisons if c.quantity == "hidden"]
    if probed:
        lines += textwrap.wrap(
            f"Read by a probe, itself checked against the layer's own output: "
            f"{', '.join(sorted(set(probed)))} (a Bidirectional, a subclass or a patched "
            "call; a stock layer is read from its own call).",
            width=88,
        )
    if not recurrent:
        lines[1:] = ["every layer's output, end to end (the model has no recurrent layer call)."]
    return lines + opaque_lines(result.opaque)


def parity_report(result: ParityResult) -> str:
    """What a check compared and how, then the table of every layer call (pass or fail)."""
    if not result.ok:
        return parity_message(result)
    table = error_table(result.comparisons, result.layer_classes, layers=result.layers)
    return "\n".join([*checked_lines(result), "", *table])
