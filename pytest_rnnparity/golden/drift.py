"""How a run differs from its golden: every kept array and summary compared within tolerance.

Pure functions over :class:`~pytest_rnnparity.golden.format.Golden` documents; the text
a person reads about a drift is :mod:`pytest_rnnparity.report.drift`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from pytest_rnnparity.check.compare import Comparison, compare
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.golden.format import Golden


@dataclass(frozen=True)
class Drift:
    """How a run differs from its golden: array comparisons and structural changes."""

    comparisons: tuple[Comparison, ...]
    missing: tuple[str, ...] = ()  # in the golden, not produced now
    new: tuple[str, ...] = ()  # produced now, not in the golden
    #: ``array name -> (recorded shape, shape now)`` for each array whose shape changed.
    reshaped: Mapping[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.new and all(c.ok for c in self.comparisons)


def compare_goldens(recorded: Golden, current: Golden, tolerance: Tolerance) -> Drift:
    """Compare every array of ``current`` with ``recorded`` within ``tolerance``."""
    comparisons = []
    reshaped = {}
    for name in sorted(set(recorded.arrays) & set(current.arrays)):
        old, new = recorded.arrays[name], current.arrays[name]
        if old.shape != new.shape:
            reshaped[name] = (old.shape, new.shape)
            comparisons.append(
                compare(  # placeholders: a recorded shape may be huge, allocate none of it
                    np.zeros(1),
                    np.zeros(1),
                    tolerance,
                    layer=name,
                    quantity="shape",
                    axes=("row",),
                )
            )
            comparisons[-1] = _with_problem(
                comparisons[-1],
                f"shape changed: recorded {'x'.join(map(str, old.shape))}, "
                f"now {'x'.join(map(str, new.shape))}",
            )
            continue
        # a 3-D array is (row, timestep, unit); a 2-D one, a layer's last output, (row, unit)
        axes = (
            ("row", "timestep", "unit")
            if len(old.shape) == 3
            else ("row", "unit")[: len(old.shape)]
        )
        overlap = tuple(
            slice(0, min(a, b)) for a, b in zip(old.rows.shape, new.rows.shape, strict=True)
        )
        comparisons.append(
            compare(
                old.rows[overlap],
                new.rows[overlap],
                tolerance,
                layer=name,
                quantity="rows",
                axes=axes,
                time_axis=1 if len(old.shape) == 3 else None,
            )
        )
        if old.summary is not None and new.summary is not None:
            comparisons.append(
                compare(
                    old.summary,
                    new.summary,
                    tolerance,
                    layer=name,
                    quantity="summary",
                    axes=(old.summary_axis, "statistic"),
                    time_axis=0 if old.summary_axis == "timestep" else None,
                )
            )
    return Drift(
        comparisons=tuple(comparisons),
        missing=tuple(sorted(set(recorded.arrays) - set(current.arrays))),
        new=tuple(sorted(set(current.arrays) - set(recorded.arrays))),
        reshaped=reshaped,
    )


def _with_problem(comparison: Comparison, problem: str) -> Comparison:
    return replace(comparison, problem=problem, n_bad=max(comparison.n_bad, 1))


def same_spec(recorded: Golden, current: Golden) -> bool:
    """Whether ``recorded`` is a golden of ``current``'s spec: the same name, or the same
    spec content (``spec_hash``) under another name, as when a spec file was renamed and
    its golden moved along."""
    if recorded.meta.get("spec") == current.meta.get("spec"):
        return True
    old, new = recorded.meta.get("spec_hash"), current.meta.get("spec_hash")
    return old is not None and old == new


def equivalent(recorded: Golden, current: Golden, tolerance: Tolerance) -> bool:
    """True when ``current`` matches ``recorded`` within tolerance and is the same spec."""
    if not same_spec(recorded, current):
        return False
    return compare_goldens(recorded, current, tolerance).ok
