"""A runtime path against its golden, read only: the artifact's layer outputs vs Keras' recorded.

A runtime path never writes a golden. Its golden is the main run's, with each Keras
layer output the runtime exposes replaced by the runtime's own; only those arrays are
compared with the recorded golden, each within the tolerance the path compared that
output with (a quantized artifact's budget, say).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pytest_rnnparity.check.compare import Comparison
from pytest_rnnparity.check.deployed import RuntimeCheck
from pytest_rnnparity.check.parity import ParityResult
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.golden.document import golden_document, stable_layer_names
from pytest_rnnparity.golden.drift import Drift, compare_goldens
from pytest_rnnparity.golden.format import Golden, golden_array
from pytest_rnnparity.spec import GoldenOptions


def runtime_golden(
    check: RuntimeCheck, main: ParityResult, *, name: str, options: GoldenOptions
) -> tuple[Golden, dict[str, Tolerance]]:
    """The runtime's golden (its exposed layer outputs) and each array's tolerance."""
    base = golden_document(main, name=name, tolerance=Tolerance(0.0, 0.0), options=options)
    stable = dict(
        zip((layer.name for layer in main.layers), stable_layer_names(main.layers), strict=True)
    )
    tolerances = {
        d.layer: Tolerance(d.atol, d.rtol)
        for d in check.departures
        if d.direction is None and d.quantity == "output"
    }
    arrays = {}
    kept: dict[str, Tolerance] = {}
    for layer in check.readout.layers:
        key = f"keras/{stable.get(layer.name, layer.name)}/output"
        if layer.output is None or key not in base.arrays or layer.name not in tolerances:
            continue
        arrays[key] = golden_array(
            np.asarray(layer.output, dtype=np.float32),
            rows=options.sequences,
            summaries=options.summaries,
            max_values=options.max_values,
        )
        kept[key] = tolerances[layer.name]
    return Golden(meta=base.meta, environment=base.environment, arrays=arrays), kept


def runtime_drift(
    recorded: Golden, current: Golden, tolerances: Mapping[str, Tolerance]
) -> tuple[Golden, Drift]:
    """The recorded golden cut to ``current``'s arrays, and how far each moved.

    Each array is compared within its own tolerance; an array the golden does not hold
    is listed as new.
    """
    shared = {key: value for key, value in recorded.arrays.items() if key in current.arrays}
    cut = Golden(meta=recorded.meta, environment=recorded.environment, arrays=shared)
    comparisons: list[Comparison] = []
    reshaped: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    for key in sorted(shared):
        one = compare_goldens(
            Golden(meta=recorded.meta, environment=recorded.environment, arrays={key: shared[key]}),
            Golden(
                meta=current.meta,
                environment=current.environment,
                arrays={key: current.arrays[key]},
            ),
            tolerances[key],
        )
        comparisons.extend(one.comparisons)
        reshaped.update(one.reshaped)
    new = tuple(sorted(set(current.arrays) - set(shared)))
    return cut, Drift(comparisons=tuple(comparisons), new=new, reshaped=reshaped)
