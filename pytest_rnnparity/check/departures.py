"""Compare what a runtime exposed with the reference, quantity by quantity and step by step.

Pure NumPy over :class:`.readout.Readout` and the reference's
:class:`~pytest_rnnparity.reference.types.LayerResult` (``check_parity(...).reference``).
Layers are matched by name. Steps the runtime does not expose (NaN) are left out of
every statistic. The rule is the project's, ``|runtime - reference| <= atol + rtol *
|reference|``, with a :class:`~.tolerance.Tolerance` per quantity: the path's for
float artifacts, for quantized ones the budget :func:`.quantization.quantization_budget`
derives from the artifact's own scales. The table a person reads is
:func:`pytest_rnnparity.report.deployed.departure_table`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.reference.types import Array, LayerResult
from pytest_rnnparity.runtimes.readout import Readout

#: ``tolerance(layer, direction, quantity)``; direction is None for a layer's output. A
#: plain number is an ``atol`` (as a quantization budget gives it).
ToleranceOf = Callable[[str, str | None, str], Tolerance | float]


@dataclass(frozen=True)
class Departure:
    """How far one quantity of one layer (and direction) is from the reference.

    ``where`` indexes the largest error (``(row, step, unit)`` for traces, ``(row,
    unit)`` for states); ``first_step`` is the earliest processing step with an
    element beyond tolerance (traces only); ``step_max`` the largest error per step;
    ``at_step`` the steps compared (a runtime may expose only some). ``first_index``
    is the first element beyond tolerance (earliest step, then row and unit), with
    the runtime's and the reference's values there (``first_values``).
    """

    layer: str
    direction: str | None
    quantity: str
    max_abs: float
    mean_abs: float
    where: tuple[int, ...]
    atol: float
    exceeding: int
    compared: int
    first_step: int | None = None
    step_max: tuple[float, ...] = ()
    rtol: float = 0.0
    at_step: tuple[int, ...] = ()
    first_index: tuple[int, ...] = ()
    first_values: tuple[float, float] | None = None

    @property
    def ok(self) -> bool:
        return self.exceeding == 0

    @property
    def label(self) -> str:
        where = f" ({self.direction})" if self.direction not in (None, "forward") else ""
        return f"{self.layer}{where} {self.quantity}"


def _departure(
    expected: Array,
    actual: Array,
    *,
    layer: str,
    direction: str | None,
    quantity: str,
    tolerance: Tolerance,
    time_axis: int | None,
) -> Departure:
    atol, rtol = tolerance.atol, tolerance.rtol
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if expected.shape != actual.shape:
        return Departure(layer, direction, quantity, np.inf, np.inf, (), atol, 1, 0, rtol=rtol)
    error = np.abs(actual - expected)
    known = ~np.isnan(actual)
    masked = np.where(known, error, -np.inf)
    compared = int(known.sum())
    if compared == 0:
        return Departure(layer, direction, quantity, 0.0, 0.0, (), atol, 0, 0, rtol=rtol)
    where = tuple(int(i) for i in np.unravel_index(int(np.argmax(masked)), masked.shape))
    bad = known & ~(error <= atol + rtol * np.abs(expected))  # NaN in the reference is bad
    first_step = step_max = None
    at_step: tuple[int, ...] = ()
    if time_axis is not None:
        other = tuple(a for a in range(masked.ndim) if a != time_axis)
        per_step = masked.max(axis=other)
        step_max = tuple(float(v) if np.isfinite(v) else float("nan") for v in per_step)
        steps = np.flatnonzero(bad.any(axis=other))
        first_step = int(steps[0]) if steps.size else None
        at_step = tuple(int(t) for t in np.flatnonzero(known.any(axis=other)))
    first_index: tuple[int, ...] = ()
    first_values = None
    if bad.any():
        positions = np.argwhere(bad)  # row-major: by row, step, unit
        if time_axis is not None:  # the earliest step first, then row and unit
            positions = positions[np.argsort(positions[:, time_axis], kind="stable")]
        first_index = tuple(int(i) for i in positions[0])
        first_values = (float(actual[first_index]), float(expected[first_index]))
    return Departure(
        layer=layer,
        direction=direction,
        quantity=quantity,
        max_abs=float(masked.max()),
        mean_abs=float(error[known].mean()),
        where=where,
        atol=atol,
        exceeding=int(bad.sum()),
        compared=compared,
        first_step=first_step,
        step_max=step_max or (),
        rtol=rtol,
        at_step=at_step,
        first_index=first_index,
        first_values=first_values,
    )


def compare_readout(
    readout: Readout,
    reference: Sequence[LayerResult],
    tolerance: ToleranceOf | Tolerance | float,
) -> tuple[Departure, ...]:
    """Every exposed quantity against the reference, in chain order.

    Per layer: each direction's traces (in ``TRACE_NAMES`` order), its final states,
    then the layer's output; the model's outputs are the last layer's output.
    """

    def tolerance_of(layer: str, direction: str | None, quantity: str) -> Tolerance:
        found = tolerance(layer, direction, quantity) if callable(tolerance) else tolerance
        return found if isinstance(found, Tolerance) else Tolerance(float(found), 0.0)

    by_name = {result.name: result for result in reference}
    departures = []
    for layer in readout.layers:
        ref = by_name.get(layer.name)
        if ref is None:
            continue
        for direction, read in layer.directions.items():
            ref_direction = ref.directions.get(direction)
            if ref_direction is None:
                continue
            for name, value in read.traces.items():
                if name not in ref_direction.traces:
                    continue
                departures.append(
                    _departure(
                        ref_direction.traces[name],
                        value,
                        layer=layer.name,
                        direction=direction,
                        quantity=name,
                        tolerance=tolerance_of(layer.name, direction, name),
                        time_axis=1,
                    )
                )
            for state, value in read.final_states.items():
                quantity = f"final {state}"
                departures.append(
                    _departure(
                        ref_direction.final_states[state],
                        value,
                        layer=layer.name,
                        direction=direction,
                        quantity=quantity,
                        tolerance=tolerance_of(layer.name, direction, quantity),
                        time_axis=None,
                    )
                )
        if layer.output is not None and not isinstance(ref.output, tuple):
            departures.append(
                _departure(
                    ref.output,
                    layer.output,
                    layer=layer.name,
                    direction=None,
                    quantity="output",
                    tolerance=tolerance_of(layer.name, None, "output"),
                    time_axis=1 if np.ndim(ref.output) == 3 else None,
                )
            )
    return tuple(departures)


@dataclass(frozen=True)
class FirstDeparture:
    """Where the runtime first leaves the reference: the earliest layer, then step."""

    layer: str
    direction: str | None
    quantity: str
    step: int | None


def first_departure(departures: Sequence[Departure]) -> FirstDeparture | None:
    """The earliest departure in chain order; within a layer, the earliest step of any trace.

    A layer's traces come before its final states and output, so a wrong weight is
    placed at the first step it changes, not where its effect is largest.
    """
    layers: list[str] = []
    for d in departures:
        if d.layer not in layers:
            layers.append(d.layer)
    for layer in layers:
        bad = [d for d in departures if d.layer == layer and not d.ok]
        if not bad:
            continue
        traced = [d for d in bad if d.first_step is not None and d.quantity != "output"]
        if traced:
            step = min(d.first_step for d in traced if d.first_step is not None)
            at_step = [d for d in traced if d.first_step == step]
            best = max(at_step, key=lambda d: d.step_max[step] if d.step_max else 0.0)
            return FirstDeparture(best.layer, best.direction, best.quantity, step)
        worst = bad[0]
        return FirstDeparture(worst.layer, worst.direction, worst.quantity, worst.first_step)
    return None
