"""check/compare.py: the tolerance rule, the first mismatch in time order, statistics."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_rnnparity.check.compare import compare, exceeds
from pytest_rnnparity.check.tolerance import Tolerance, default_tolerance

TOL = Tolerance(atol=1e-6, rtol=1e-5)


def test_allclose_rule_with_reference_as_desired_value() -> None:
    expected = np.array([1.0, 100.0, 0.0])
    actual = np.array([1.0 + 1.05e-5, 100.0 + 1.0e-3, 2e-6])
    np.testing.assert_array_equal(exceeds(expected, actual, TOL), [False, False, True])


def test_nan_and_inf_handling() -> None:
    expected = np.array([np.nan, np.nan, np.inf, np.inf, 1.0])
    actual = np.array([np.nan, 1.0, np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(exceeds(expected, actual, TOL), [False, True, False, True, True])


def test_first_mismatch_is_earliest_timestep_then_row_then_unit() -> None:
    expected = np.zeros((3, 4, 2))
    actual = expected.copy()
    actual[0, 3, 0] = 1.0  # row 0, late step
    actual[2, 1, 1] = 0.5  # row 2, earlier step: this one is first
    actual[1, 2, 0] = 0.25
    c = compare(
        expected,
        actual,
        TOL,
        layer="gru",
        quantity="hidden",
        axes=("row", "timestep", "unit"),
        time_axis=1,
    )
    assert not c.ok
    assert c.first is not None
    assert c.first.index == (2, 1, 1)
    assert (c.first.expected, c.first.actual) == (0.0, 0.5)
    assert (c.n_bad, c.n_total) == (3, 24)
    assert c.max_abs == 1.0
    assert c.mean_abs == pytest.approx(1.75 / 24)


def test_ok_comparison_has_no_mismatch() -> None:
    x = np.linspace(-1, 1, 12).reshape(2, 3, 2).astype(np.float32)
    c = compare(
        x,
        x + np.float32(1e-7),
        TOL,
        layer="l",
        quantity="hidden",
        axes=("row", "timestep", "unit"),
        time_axis=1,
    )
    assert c.ok
    assert c.first is None
    assert c.n_bad == 0
    assert c.max_abs == pytest.approx(1e-7, rel=0.5)


def test_shape_mismatch_is_a_problem_not_a_crash() -> None:
    c = compare(
        np.zeros((2, 3)),
        np.zeros((2, 4)),
        TOL,
        layer="dense",
        quantity="output",
        axes=("row", "unit"),
    )
    assert not c.ok
    assert c.problem == "shape differs: reference (2, 3), Keras (2, 4)"


def test_default_tolerance_follows_the_less_precise_dtype() -> None:
    assert default_tolerance("float64", "float64") == Tolerance(1e-10, 1e-9)
    assert default_tolerance("float64", "float32") == Tolerance(1e-5, 1e-5)
    assert default_tolerance("float32") == Tolerance(1e-5, 1e-5)
    assert str(Tolerance(1e-6, 1e-5)) == "atol=1e-06, rtol=1e-05"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    ("expected", "actual", "max_rel"),
    [
        ([0.0, 2.0, -4.0], [0.0, 2.5, -4.0], 0.25),  # 0 vs 0 is no relative error
        ([0.0, 2.0], [1e-3, 2.0], float("inf")),  # anything vs 0 is infinitely off
        ([0.0, 0.0], [0.0, 0.0], 0.0),
        ([-8.0, 1.0], [-6.0, 1.0], 0.25),
    ],
)
def test_relative_error_statistics(
    dtype: str, expected: list[float], actual: list[float], max_rel: float
) -> None:
    c = compare(
        np.array(expected, dtype=dtype),
        np.array(actual, dtype=dtype),
        TOL,
        layer="l",
        quantity="output",
        axes=("unit",),
    )
    assert c.max_rel == max_rel
    assert c.n_bad == sum(
        abs(a - e) > TOL.atol + TOL.rtol * abs(e) for e, a in zip(expected, actual, strict=True)
    )


@pytest.mark.parametrize(
    "values",
    [
        pytest.param([[1.0, -2.0], [0.5, 0.0]], id="finite"),
        pytest.param([[np.inf, -np.inf], [0.0, 3.0]], id="infinities"),
        pytest.param([[-0.0, 1.0], [0.0, -1.0]], id="signed-zeros"),
        pytest.param([[np.nan, 1.0], [2.0, 3.0]], id="nan"),
    ],
)
def test_identical_values_compare_as_exactly_equal(values: list[list[float]]) -> None:
    """The one-pass shortcut for bit-identical arrays gives what the full rule gives."""
    expected = np.asarray(values, dtype=np.float32)
    c = compare(expected, expected.copy(), TOL, layer="l", quantity="rows", axes=("row", "unit"))
    full = compare(  # another dtype: never the shortcut
        expected,
        expected.astype(np.float64),
        TOL,
        layer="l",
        quantity="rows",
        axes=("row", "unit"),
    )
    assert (c.ok, c.n_bad, c.n_total, c.first) == (True, 0, 4, None)
    assert (c.max_abs, c.max_rel, c.mean_abs) == (full.max_abs, full.max_rel, full.mean_abs)
    assert (c.max_abs, c.max_rel, c.mean_abs) == (0.0, 0.0, 0.0)
