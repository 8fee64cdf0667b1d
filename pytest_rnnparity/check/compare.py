"""Tolerance checks and mismatch statistics: pure NumPy, no pytest, no keras.

The rule is NumPy's ``allclose`` with the reference as the desired value::

    |keras - reference| <= atol + rtol * |reference|

NaN equals NaN only where both sides are NaN; an infinity must match exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.reference.types import Array


@dataclass(frozen=True)
class Mismatch:
    """One element that exceeds tolerance, at ``index`` of the compared arrays."""

    index: tuple[int, ...]
    expected: float
    actual: float

    @property
    def abs_error(self) -> float:
        return abs(self.actual - self.expected)

    @property
    def rel_error(self) -> float:
        return self.abs_error / abs(self.expected) if self.expected else float("inf")


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one quantity of one layer (Keras vs reference).

    ``axes`` names the axes of the compared arrays, e.g. ``("row", "timestep", "unit")``.
    ``first`` is the earliest mismatch in time order (timestep, then row, then unit)
    or None when everything is within tolerance. ``problem`` is set when the arrays
    could not be compared at all (shape mismatch). ``non_finite`` is ``"nan"`` (or
    ``"inf"``) when a value beyond tolerance is NaN (or infinite, none NaN) on either
    side: ``max_abs`` and ``max_rel`` cover the finite errors only, and a report must
    not show them alone.
    """

    layer: str
    quantity: str
    tolerance: Tolerance
    axes: tuple[str, ...]
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float
    mean_abs: float
    n_bad: int
    n_total: int
    first: Mismatch | None = None
    direction: str | None = None
    problem: str | None = None
    non_finite: str | None = None

    @property
    def ok(self) -> bool:
        return self.n_bad == 0 and self.problem is None

    @property
    def label(self) -> str:
        """``hidden`` or ``hidden (backward)``: the quantity and its direction."""
        return (
            self.quantity
            if self.direction in (None, "forward")
            else (f"{self.quantity} ({self.direction})")
        )


def exceeds(expected: Array, actual: Array, tolerance: Tolerance) -> np.ndarray:
    """Boolean array: where ``actual`` is not within tolerance of ``expected``."""
    expected64 = np.asarray(expected, dtype=np.float64)
    actual64 = np.asarray(actual, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        bad = np.abs(actual64 - expected64) > tolerance.atol + tolerance.rtol * np.abs(expected64)
    both_nan = np.isnan(expected64) & np.isnan(actual64)
    one_nan = np.isnan(expected64) ^ np.isnan(actual64)
    inf = np.isinf(expected64) | np.isinf(actual64)
    bad = (bad & ~both_nan) | one_nan | (inf & (expected64 != actual64))
    return np.asarray(bad)


def compare(
    expected: Array,
    actual: Array,
    tolerance: Tolerance,
    *,
    layer: str,
    quantity: str,
    axes: tuple[str, ...],
    direction: str | None = None,
    time_axis: int | None = None,
) -> Comparison:
    """Compare ``actual`` (Keras) against ``expected`` (reference).

    ``time_axis`` is the axis searched first for the earliest mismatch.
    """
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    if expected.shape != actual.shape:
        return Comparison(
            layer=layer,
            quantity=quantity,
            tolerance=tolerance,
            axes=axes,
            shape=tuple(expected.shape),
            max_abs=float("nan"),
            max_rel=float("nan"),
            mean_abs=float("nan"),
            n_bad=int(expected.size),
            n_total=int(expected.size),
            direction=direction,
            problem=(
                f"shape differs: reference {tuple(expected.shape)}, Keras {tuple(actual.shape)}"
            ),
        )
    if expected.dtype == actual.dtype and expected.size and np.array_equal(expected, actual):
        # A golden usually matches its run bit for bit: one pass, not a dozen, gives the
        # same statistics (infinities and signed zeros included; NaN is never equal).
        return Comparison(
            layer=layer,
            quantity=quantity,
            tolerance=tolerance,
            axes=axes,
            shape=tuple(expected.shape),
            max_abs=0.0,
            max_rel=0.0,
            mean_abs=0.0,
            n_bad=0,
            n_total=int(expected.size),
            direction=direction,
        )
    # Work in the inputs' own precision (float32 stays float32): a difference of two
    # float32 values is exact enough, and 6.5 million of them are compared per layer.
    non_finite: str | None = None
    work = np.result_type(expected.dtype, actual.dtype, np.float32)
    expected_w = expected.astype(work, copy=False)
    actual_w = actual.astype(work, copy=False)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        abs_err = np.subtract(actual_w, expected_w)
        np.abs(abs_err, out=abs_err)
        abs_expected = np.abs(expected_w)
        largest = abs_err.max() if abs_err.size else work.type(0)
        if np.isfinite(largest):
            max_abs, mean_abs = float(largest), float(abs_err.mean(dtype=np.float64))
            # one scratch array, reused: the limit, then the relative error
            scratch = np.multiply(abs_expected, tolerance.rtol, dtype=work)
            scratch += tolerance.atol
            bad = abs_err > scratch
            # x/0 is an infinite relative error and 0/0 (NaN) none at all: fmax skips NaN
            np.divide(abs_err, abs_expected, out=scratch)
            max_rel = float(np.fmax.reduce(scratch, axis=None)) if scratch.size else 0.0
            max_rel = 0.0 if max_rel != max_rel else max_rel
        else:  # NaN or inf somewhere: the careful, slower path
            bad = exceeds(expected, actual, tolerance)
            rel_err = abs_err / abs_expected
            finite_abs = abs_err[np.isfinite(abs_err)]
            finite_rel = rel_err[~np.isnan(rel_err)]
            max_abs = float(finite_abs.max()) if finite_abs.size else 0.0
            mean_abs = float(finite_abs.mean(dtype=np.float64)) if finite_abs.size else 0.0
            max_rel = float(finite_rel.max()) if finite_rel.size else 0.0
            nan = np.isnan(expected_w) | np.isnan(actual_w)
            finite = np.isfinite(expected_w) & np.isfinite(actual_w)
            non_finite = "nan" if (bad & nan).any() else "inf" if (bad & ~finite).any() else None
    first = None
    n_bad = int(np.count_nonzero(bad))
    if n_bad:
        order = bad if time_axis is None else np.moveaxis(bad, time_axis, 0)
        flat = int(np.argmax(order.reshape(-1)))
        index = np.unravel_index(flat, order.shape)
        if time_axis is not None:
            index = (*index[1 : time_axis + 1], index[0], *index[time_axis + 1 :])
        index_tuple = tuple(int(i) for i in index)
        first = Mismatch(
            index=index_tuple,
            expected=float(expected[index_tuple]),
            actual=float(actual[index_tuple]),
        )
    return Comparison(
        layer=layer,
        quantity=quantity,
        tolerance=tolerance,
        axes=axes,
        shape=tuple(expected.shape),
        max_abs=max_abs,
        max_rel=max_rel,
        mean_abs=mean_abs,
        n_bad=n_bad,
        n_total=int(expected.size),
        first=first,
        direction=direction,
        non_finite=non_finite,
    )
