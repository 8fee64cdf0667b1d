"""check/tolerance.py: the one place tolerances are merged, in its documented order."""

from __future__ import annotations

import pytest

from pytest_rnnparity.check.tolerance import Tolerance, default_tolerance, over, resolve_tolerances
from pytest_rnnparity.spec import ToleranceLimits, ToleranceOptions

F32 = Tolerance(1e-5, 1e-5)
F64 = Tolerance(1e-10, 1e-9)


def test_the_least_precise_dtype_sets_the_default() -> None:
    assert default_tolerance("float64") == F64
    assert default_tolerance("float64", "float32") == F32
    assert default_tolerance("float16", "float32") == Tolerance(1e-2, 1e-2)
    assert default_tolerance() == F32


def test_over_replaces_only_what_the_limits_give() -> None:
    assert over(F32, ToleranceLimits(atol=1e-3)) == Tolerance(1e-3, 1e-5)
    assert over(F32, ToleranceLimits(rtol=0.0)) == Tolerance(1e-5, 0.0)
    assert over(F32, ToleranceLimits()) == F32


def test_declared_overall_then_group_over_the_default() -> None:
    declared = ToleranceOptions(
        atol=1e-6, hidden=ToleranceLimits(rtol=1e-3), cell=ToleranceLimits(atol=1e-4, rtol=1e-4)
    )
    assert resolve_tolerances(dtypes=["float64"], declared=declared) == {
        "hidden": Tolerance(1e-6, 1e-3),
        "cell": Tolerance(1e-4, 1e-4),
        "output": Tolerance(1e-6, 1e-9),
    }


def test_further_limits_apply_over_every_group_in_order() -> None:
    declared = ToleranceOptions(output=ToleranceLimits(atol=1e-4, rtol=1e-3))
    resolved = resolve_tolerances(
        dtypes=["float32"],
        declared=declared,
        limits=[ToleranceLimits(atol=5e-5), ToleranceLimits(rtol=2e-5)],
    )
    assert resolved == {
        "hidden": Tolerance(5e-5, 2e-5),
        "cell": Tolerance(5e-5, 2e-5),
        "output": Tolerance(5e-5, 2e-5),
    }


def test_an_explicit_group_tolerance_comes_last() -> None:
    resolved = resolve_tolerances(
        dtypes=["float32"],
        limits=[ToleranceLimits(atol=1e-3)],
        per_group={"cell": Tolerance(0.0, 0.0)},
    )
    assert resolved == {
        "hidden": Tolerance(1e-3, 1e-5),
        "cell": Tolerance(0.0, 0.0),
        "output": Tolerance(1e-3, 1e-5),
    }


def test_an_unknown_group_is_refused() -> None:
    with pytest.raises(ValueError, match="tolerances are keyed hidden, cell, output; got 'final'"):
        resolve_tolerances(dtypes=["float32"], per_group={"final": F32})
