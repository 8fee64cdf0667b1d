"""The per-timestep summary of a trace: what a golden keeps of every row.

Pure NumPy. Computed where the trace is made, on the reference's thread while Keras
still runs (:func:`summarize_traces`), so that writing the golden costs no second pass
over every gate at every step.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

import numpy as np

from pytest_rnnparity.reference.types import LayerResult


def summarize(values: np.ndarray) -> np.ndarray:
    """Per-timestep (3-D, over rows and units) or per-unit (2-D, over rows) min/max/mean.

    Parameters
    ----------
    values : ndarray, shape ``(batch, timesteps, units)`` or ``(batch, units)``

    Returns
    -------
    ndarray, shape ``(timesteps, 3)`` or ``(units, 3)``, float64
        ``min``, ``max`` and ``mean`` per timestep (per unit). min and max are exact in
        the values' own dtype and the mean sums in float64, so no float64 copy of a
        ``(batch, timesteps, units)`` array is made.
    """
    values = np.asarray(values)
    axes = (0, 2) if values.ndim == 3 else (0,)
    with np.errstate(invalid="ignore"):
        return np.stack(
            [
                values.min(axis=axes).astype(np.float64),
                values.max(axis=axes).astype(np.float64),
                values.mean(axis=axes, dtype=np.float64),
            ],
            axis=-1,
        )


def summarize_traces(result: LayerResult, names: Collection[str] | None = None) -> LayerResult:
    """``result`` with the :func:`summarize` of each of its traces (those in ``names``,
    or all) attached to its directions, the traces themselves untouched."""
    if not result.directions:
        return result
    directions = {
        direction: replace(
            trace,
            summaries={
                name: summarize(values)
                for name, values in trace.traces.items()
                if (names is None or name in names) and np.ndim(values) in (2, 3)
            },
        )
        for direction, trace in result.directions.items()
    }
    return replace(result, directions=directions)
