"""What a runtime path's item says: what was compared, what the runtime hides, where it departs.

Pure functions of a :class:`~pytest_rnnparity.check.deployed.RuntimeCheck` (and its
:class:`~pytest_rnnparity.check.departures.Departure` rows), asserted verbatim in
``tests/unit/report/test_deployed.py``. Nothing here imports pytest, keras or a runtime.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pytest_rnnparity.check.departures import Departure
from pytest_rnnparity.check.deployed import RuntimeCheck
from pytest_rnnparity.check.quantization import Budget
from pytest_rnnparity.report.summary import PREFIX
from pytest_rnnparity.runtimes.manifest import Artifact

TABLE_HEADER = (
    "layer",
    "direction",
    "quantity",
    "steps",
    "max abs",
    "mean abs",
    "largest at",
    "first step beyond",
    "tolerance",
    "beyond",
)
#: ``largest at`` is ``row,step,unit`` for a per-step quantity, ``row,unit`` otherwise.
QUANTITY_TITLES = {
    "hidden": "hidden state h",
    "cell": "cell state c",
    "update": "update gate z",
    "reset": "reset gate r",
    "candidate": "candidate",
    "input": "input gate i",
    "forget": "forget gate f",
    "output": "output gate o",
    "final hidden": "final hidden state",
    "final cell": "final cell state",
}


def _steps(departure: Departure) -> str:
    """``0-4``, ``4`` or ``1-4``: the processing steps the runtime exposed; ``-`` if none."""
    steps = departure.at_step
    if not steps:
        return "-"
    if list(steps) == list(range(steps[0], steps[-1] + 1)):
        return str(steps[0]) if len(steps) == 1 else f"{steps[0]}-{steps[-1]}"
    return ",".join(map(str, steps))


def _tolerance(departure: Departure) -> str:
    if departure.rtol:
        return f"atol={departure.atol:.2g}, rtol={departure.rtol:.2g}"
    return f"atol={departure.atol:.2g}"


def _row(departure: Departure) -> list[str]:
    return [
        departure.layer,
        departure.direction or "-",
        departure.quantity,
        _steps(departure),
        f"{departure.max_abs:.2e}",
        f"{departure.mean_abs:.2e}",
        ",".join(map(str, departure.where)) or "-",
        "-" if departure.first_step is None else str(departure.first_step),
        _tolerance(departure),
        "ok" if departure.ok else f"{departure.exceeding}/{departure.compared}",
    ]


def departure_table(departures: Sequence[Departure], *, worst_first: bool = False) -> str:
    """Per layer, direction and quantity: the steps compared, the max and mean error, where
    the largest is, the first step beyond tolerance, the tolerance and how many exceed it.

    ``worst_first`` orders the rows by their largest error relative to their tolerance.
    """
    ordered = list(departures)
    if worst_first:
        ordered.sort(key=lambda d: -(d.max_abs / d.atol if d.atol else d.max_abs))
    rows = [list(TABLE_HEADER), *(_row(d) for d in ordered)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join("  " + line for line in lines)


def artifact_description(artifact: Artifact, runtime: str) -> str:
    """``tflite int8 artifact (unrolled, fixed batch 8) run with ai-edge-litert 2.3.0``."""
    form = artifact.format + {"none": "", "dynamic": " dynamic-range", "int8": " int8"}.get(
        artifact.quantization, f" {artifact.quantization}"
    )
    how = ["unrolled" if artifact.unrolled else "as converted"]
    how.append(f"fixed batch {artifact.batch_size}" if artifact.batch_size else "dynamic batch")
    return f"{form} artifact ({', '.join(how)}) run with {runtime}"


def _title(departure: Departure) -> str:
    if departure.direction is None:
        return "layer output"
    return QUANTITY_TITLES.get(departure.quantity, departure.quantity)


def compared_lines(check: RuntimeCheck) -> list[str]:
    """``Compared: ...`` per layer: each quantity and the steps it was read at."""
    by_layer: dict[str, list[str]] = {}
    timesteps = int(check.readout.inputs.shape[1]) if check.readout.inputs.ndim >= 2 else 1
    for d in check.departures:
        where = d.layer if d.direction in (None, "forward") else f"{d.layer} ({d.direction})"
        text = "layer output" if d.direction is None else d.quantity
        if d.first_step is not None or d.step_max:
            if len(d.at_step) == timesteps:
                text += " (every step)"
            elif d.at_step:
                text += f" (step {_steps(d)} of 0-{timesteps - 1})"
        by_layer.setdefault(where, []).append(text)
    return [f"  {where}: {', '.join(items)}" for where, items in by_layer.items()]


def not_exposed_lines(check: RuntimeCheck) -> list[str]:
    """One line per layer direction and reason: the quantities the runtime does not expose."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for layer, unexposed in check.not_exposed:
        where = (
            layer
            if unexposed.direction in (None, "forward")
            else (f"{layer} ({unexposed.direction})")
        )
        grouped.setdefault((where, unexposed.reason), []).append(unexposed.quantity)
    return [
        f"  {where}: {', '.join(quantities)}: {reason}"
        for (where, reason), quantities in grouped.items()
    ]


def runtime_summary(check: RuntimeCheck) -> str:
    """What the item checked: the artifact, what was compared, what is not exposed, how."""
    failed = len(check.failures)
    verdict = (
        "all within tolerance"
        if not failed
        else f"{failed} of {len(check.departures)} beyond tolerance"
    )
    lines = [
        f"{artifact_description(check.artifact, check.readout.runtime)}: "
        f"{len(check.departures)} quantities compared with the reference, {verdict} "
        f"({check.tolerance_source}).",
        "Compared:",
        *compared_lines(check),
    ]
    hidden = not_exposed_lines(check)
    lines += ["Not exposed by the runtime:", *hidden] if hidden else ["Not exposed: nothing."]
    notes = [*check.artifact.checks, *check.readout.notes]
    if notes:
        lines += ["Conversion:", *(f"  {note}" for note in notes)]
    return "\n".join(lines)


def _index(departure: Departure) -> str:
    names = ("row", "step", "unit") if len(departure.first_index) == 3 else ("row", "unit")
    return ", ".join(
        f"{name} {value}" for name, value in zip(names, departure.first_index, strict=False)
    )


def runtime_failure_message(check: RuntimeCheck) -> str:
    """The failure of a runtime path: the first departure, located, and the table."""
    first = check.first
    lines = [
        f"execution path {check.path.id}: the "
        f"{artifact_description(check.artifact, check.readout.runtime)} and the reference "
        f"disagree in {len(check.failures)} of {len(check.departures)} quantities.",
    ]
    if first is not None:
        departure = next(
            d
            for d in check.failures
            if (d.layer, d.direction, d.quantity) == (first.layer, first.direction, first.quantity)
        )
        where = f"layer '{first.layer}'"
        if first.direction is not None:
            where += f" ({first.direction})"
        lines.append(f"First: {where}, {_title(departure)}, at {_index(departure)}:")
        if departure.first_values is not None:
            got, expected = departure.first_values
            lines += [
                f"    runtime    {got:.9g}",
                f"    reference  {expected:.9g}",
                f"    abs error {abs(got - expected):.2e} ({_tolerance(departure)})",
            ]
        lines.append(
            f"  {departure.exceeding} of {departure.compared} values exceed tolerance; "
            f"max abs error {departure.max_abs:.2e}, mean abs error {departure.mean_abs:.2e}"
        )
    lines += [
        "",
        "Where the artifact departs most:",
        departure_table(check.departures, worst_first=True),
    ]
    if check.budget is not None:
        lines += ["", budget_lines(check.budget)]
    lines += ["", runtime_summary(check)]
    return "\n".join(lines)


def budget_lines(budget: Budget) -> str:
    """How each derived tolerance was reached, in the artifact's own numbers."""
    return "\n".join(
        [
            f"The {budget.quantization} budget, from the artifact's quantization scales:",
            *(f"  {line}" for line in budget.describe().splitlines()),
        ]
    )


def quantized_report(check: RuntimeCheck) -> str:
    """What quantization costs, shown on a passing quantized path: where it departs most."""
    return "\n".join(
        [
            f"{check.artifact.quantization} error budget: where the artifact departs most "
            "from the reference (per layer, gate and step):",
            departure_table(check.departures, worst_first=True),
        ]
    )


def runtime_properties(check: RuntimeCheck) -> list[tuple[str, str]]:
    """Properties of a runtime path's item (junit-xml, the JSON report): the verdict, the
    largest errors, the artifact, what was compared and what the runtime does not expose."""
    errors = dict(sorted(check.max_errors().items()))
    not_exposed = {
        "/".join(part for part in (layer, unexposed.direction, unexposed.quantity) if part): (
            unexposed.reason
        )
        for layer, unexposed in check.not_exposed
    }
    return [
        (PREFIX + "kind", "parity"),
        (PREFIX + "verdict", "pass" if check.ok else "fail"),
        (PREFIX + "max_abs_error", repr(max(errors.values(), default=0.0))),
        (PREFIX + "max_errors", json.dumps(errors)),
        (
            PREFIX + "runtime",
            artifact_description(check.artifact, check.readout.runtime),
        ),
        (PREFIX + "compared", json.dumps(sorted(errors))),
        (PREFIX + "not_exposed", json.dumps(not_exposed, sort_keys=True)),
    ]
