"""The golden of a run: Keras outputs and reference traces, with what identifies them.

A golden document holds the spec's name, hashes of the weights and inputs, the dtype
and tolerance, the environment, every layer's Keras output and every reference trace
(see :mod:`pytest_rnnparity.golden.format` for the text). Layer names are made stable
(:func:`stable_layer_names`) so a golden does not depend on what else ran first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.golden.effective import effective_spec
from pytest_rnnparity.golden.format import Golden, GoldenArray, golden_array
from pytest_rnnparity.model import environment
from pytest_rnnparity.reference.types import (
    GATES,
    BidirectionalLayer,
    CellWeights,
    ConvLSTMLayer,
    DenseLayer,
    DescribedLayer,
    MaskingLayer,
    RecurrentLayer,
    StackedLayer,
)
from pytest_rnnparity.spec import GoldenOptions

if TYPE_CHECKING:
    from pytest_rnnparity.check.parity import ParityResult
    from pytest_rnnparity.check.spec_run import SpecRun


DEFAULT_GOLDEN_OPTIONS = GoldenOptions()


def array_hash(arrays: Iterable[np.ndarray]) -> str:
    """sha256 over shapes, dtypes and bytes: the identity of weights or inputs."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def weights_hash(layers: Sequence[DescribedLayer]) -> str:
    """sha256 of every weight the reference used, layer by layer, gate by gate."""
    arrays: list[np.ndarray] = []

    def cell(weights: CellWeights) -> None:
        for part in (
            weights.kernel,
            weights.recurrent_kernel,
            weights.input_bias,
            weights.recurrent_bias,
        ):
            if part is not None:
                arrays.extend(np.asarray(part[gate]) for gate in GATES[weights.kind])

    for layer in layers:
        if isinstance(layer, RecurrentLayer):
            cell(layer.weights)
        elif isinstance(layer, BidirectionalLayer):
            cell(layer.forward.weights)
            cell(layer.backward.weights)
        elif isinstance(layer, DenseLayer):
            arrays.append(layer.kernel)
            if layer.bias is not None:
                arrays.append(layer.bias)
    return array_hash(arrays)


def _keras_default_name(layer: DescribedLayer) -> str:
    """The name Keras gives such a layer in a fresh session (``gru``, ``simple_rnn``...)."""
    if isinstance(layer, RecurrentLayer):
        return {"gru": "gru", "lstm": "lstm", "simple_rnn": "simple_rnn"}[layer.cell.kind]
    if isinstance(layer, BidirectionalLayer):
        return "bidirectional"
    if isinstance(layer, DenseLayer):
        return "time_distributed" if layer.time_distributed else "dense"
    if isinstance(layer, MaskingLayer):
        return "masking"
    if isinstance(layer, StackedLayer):
        return "rnn"
    if isinstance(layer, ConvLSTMLayer):
        return f"conv_lstm{len(layer.strides)}d"
    return snake_case(layer.class_name)


def snake_case(class_name: str) -> str:
    """``conv1d`` for ``Conv1D``, ``multi_head_attention``: Keras' automatic layer names."""
    words = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()


def stable_layer_names(layers: Sequence[DescribedLayer]) -> list[str]:
    """Layer names for golden arrays that do not depend on what ran before.

    Keras numbers automatic names per process (``gru``, then ``gru_1``...), so a
    model built after another gets other names. A name of that automatic form is
    replaced by the one a fresh session would give this chain; a name the user chose
    is kept.
    """
    counts: dict[str, int] = {}
    names = []
    for spec in layers:
        base = _keras_default_name(spec)
        if re.fullmatch(rf"{re.escape(base)}(_\d+)?", spec.name) is None:
            names.append(spec.name)  # chosen by the user
            continue
        count = counts.get(base, 0)
        counts[base] = count + 1
        names.append(base if count == 0 else f"{base}_{count}")
    return names


def golden_document(
    parity: ParityResult,
    *,
    name: str,
    tolerance: Tolerance,
    options: GoldenOptions = DEFAULT_GOLDEN_OPTIONS,
    meta: Mapping[str, str] | None = None,
) -> Golden:
    """The golden of a parity result: Keras layer outputs and the reference traces.

    ``meta`` adds entries such as ``spec_file`` and ``spec_hash``.
    """
    rows = options.sequences
    document_meta = {
        "atol": repr(tolerance.atol),
        "dtype": parity.dtype,
        "max_values": str(options.max_values),
        "inputs_hash": array_hash([parity.inputs]),
        "rows_kept": str(rows),
        "rtol": repr(tolerance.rtol),
        "spec": name,
        "traces": options.traces,
        "weights_hash": weights_hash(parity.layers),
        **(meta or {}),
    }
    arrays: dict[str, GoldenArray] = {}

    def add(key: str, values: np.ndarray) -> None:
        arrays[key] = golden_array(
            values, rows=rows, summaries=options.summaries, max_values=options.max_values
        )

    names = stable_layer_names(parity.layers)
    for layer, name in zip(parity.keras, names, strict=True):
        if isinstance(layer.output, tuple):
            add(f"keras/{name}/output_forward", layer.output[0])
            add(f"keras/{name}/output_backward", layer.output[1])
        else:
            add(f"keras/{name}/output", layer.output)
    for result, name in zip(parity.reference, names, strict=True):
        for direction, trace in result.directions.items():
            for trace_name, values in trace.traces.items():
                if options.traces == "hidden" and trace_name != "hidden":
                    continue
                add(f"reference/{name}/{direction}/{trace_name}", values)
    return Golden(meta=document_meta, environment=environment.capture(), arrays=arrays)


def spec_golden(run: SpecRun, *, tolerance: Tolerance, spec_file: str) -> Golden:
    """The golden of a spec run: adds the spec's file, its content hash and the effective
    spec (:mod:`.effective`), which a drift report compares key by key."""
    document = golden_document(
        run.parity,
        name=run.spec.id,
        tolerance=tolerance,
        options=run.spec.golden,
        meta={"spec_file": spec_file, "spec_hash": run.spec.content_hash},
    )
    return replace(document, spec=effective_spec(run.spec))


def non_finite_arrays(golden: Golden) -> list[str]:
    """The arrays of ``golden`` whose kept rows or summary hold NaN or inf, by name."""
    return [
        name
        for name, array in sorted(golden.arrays.items())
        if not np.isfinite(array.rows).all()
        or (array.summary is not None and not np.isfinite(array.summary).all())
    ]


def tolerance_of(golden: Golden) -> Tolerance:
    """The tolerance a golden document was made with (its ``atol``/``rtol`` meta)."""
    return Tolerance(float(golden.meta["atol"]), float(golden.meta["rtol"]))


# -- goldens whose spec is gone ------------------------------------------------------------
