"""Tolerances: one type, and one function that merges what a check is given.

A comparison passes where ``|actual - expected| <= atol + rtol * |expected|``
(:mod:`.compare`). What ``atol`` and ``rtol`` are for each tolerance group (``hidden``:
hidden states and gates, ``cell``: LSTM cell states, ``output``: layer outputs) is
decided in one place, :func:`resolve_tolerances`, in this order, later over earlier:

1. the default for the least precise dtype computing (:func:`default_tolerance`);
2. a spec's ``tolerance:``, its overall ``atol``/``rtol``, then a group's own;
3. further limits, each over every group (an execution path's or the torch item's
   ``tolerance:``, or ``check_parity``'s ``atol``/``rtol``);
4. a caller's explicit :class:`Tolerance` per group (``check_parity(tolerances=...)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pytest_rnnparity.spec import (
    TOLERANCE_GROUPS,
    ToleranceLimits,
    ToleranceOptions,
)

#: Default tolerances by the precision of the *less* precise side (Keras' compute
#: dtype or the reference's dtype). float32 rounding after a few hundred recurrent
#: steps stays well inside 1e-5; the classic mistakes are off by 1e-2 and more.
DEFAULT_TOLERANCES: dict[str, tuple[float, float]] = {
    "float16": (1e-2, 1e-2),
    "bfloat16": (5e-2, 5e-2),
    "float32": (1e-5, 1e-5),
    "float64": (1e-10, 1e-9),
}


@dataclass(frozen=True)
class Tolerance:
    """``atol`` and ``rtol`` of the allclose rule above."""

    atol: float
    rtol: float

    def __str__(self) -> str:
        return f"atol={self.atol:g}, rtol={self.rtol:g}"


def default_tolerance(*dtypes: str) -> Tolerance:
    """The default tolerance for comparing values computed in the given dtypes."""
    loosest = max(
        (DEFAULT_TOLERANCES.get(str(d), DEFAULT_TOLERANCES["float32"]) for d in dtypes),
        default=DEFAULT_TOLERANCES["float32"],
    )
    return Tolerance(*loosest)


def over(base: Tolerance, limits: ToleranceLimits) -> Tolerance:
    """``base`` with ``limits``' ``atol`` and ``rtol`` over it where they are given."""
    return Tolerance(
        base.atol if limits.atol is None else limits.atol,
        base.rtol if limits.rtol is None else limits.rtol,
    )


def resolve_tolerances(
    *,
    dtypes: Sequence[str],
    declared: ToleranceOptions | None = None,
    limits: Sequence[ToleranceLimits] = (),
    per_group: Mapping[str, Tolerance] | None = None,
) -> dict[str, Tolerance]:
    """The tolerance of each group (``hidden``, ``cell``, ``output``); see the module docstring.

    Parameters
    ----------
    dtypes
        The dtypes the compared values were computed in; the least precise sets the default.
    declared
        A spec's ``tolerance:`` section.
    limits
        More limits, applied in order over every group.
    per_group
        Explicit tolerances for some groups, applied last.
    """
    default = default_tolerance(*dtypes)
    resolved: dict[str, Tolerance] = {}
    for group in TOLERANCE_GROUPS:
        tolerance = default
        if declared is not None:
            tolerance = over(over(tolerance, declared.overall), declared.group(group))
        for extra in limits:
            tolerance = over(tolerance, extra)
        resolved[group] = tolerance
    for key, explicit in (per_group or {}).items():
        if key not in TOLERANCE_GROUPS:
            raise ValueError(f"tolerances are keyed {', '.join(TOLERANCE_GROUPS)}; got {key!r}")
        resolved[key] = explicit
    return resolved
