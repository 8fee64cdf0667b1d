"""Parity: run Keras and the NumPy reference side by side and compare every step.

Data flow: model -> :func:`describe_model` (reference layers, per-gate weights)
-> :class:`TraceModel` (Keras outputs of every layer, every step of every recurrent
layer, final states) and, on a second thread beside it (:mod:`.side_by_side`),
:func:`run_reference` (the independent pass with gate traces) -> :func:`compare`
per layer and quantity -> :class:`ParityResult`. The text of a failure is
:func:`pytest_rnnparity.report.parity.parity_message`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from pytest_rnnparity.check.compare import Comparison, compare
from pytest_rnnparity.check.finite import NonFinite, find_non_finite
from pytest_rnnparity.check.side_by_side import side_by_side
from pytest_rnnparity.check.tolerance import Tolerance, resolve_tolerances
from pytest_rnnparity.model.keras_version import keras_major, keras_module
from pytest_rnnparity.model.reference_layers import describe_model
from pytest_rnnparity.model.trace import KerasLayerOutputs, TraceModel, concat_batches
from pytest_rnnparity.reference import run_reference
from pytest_rnnparity.reference.types import (
    Array,
    LayerResult,
    RecurrentTrace,
    ReferenceLayer,
    recurrent_directions,
)
from pytest_rnnparity.spec import ToleranceGroup, ToleranceLimits

ComparedQuantity = Literal["hidden", "final hidden", "final cell", "output"]
#: The tolerance group each compared quantity is held to.
TOLERANCE_GROUP: dict[str, ToleranceGroup] = {
    "hidden": "hidden",
    "final hidden": "hidden",
    "final cell": "cell",
    "output": "output",
}


@dataclass(frozen=True)
class ParityResult:
    """Everything a parity check computed.

    ``comparisons`` is in chain order: for each layer, each direction's per-step
    hidden states, its final states, then the layer's output. ``reference`` holds the
    reference pass (with gate traces), ``keras`` the Keras outputs it was compared to.
    """

    comparisons: tuple[Comparison, ...]
    inputs: Array
    reference: tuple[LayerResult, ...]
    keras: tuple[KerasLayerOutputs, ...]
    layers: tuple[ReferenceLayer, ...]
    layer_classes: dict[str, str]
    dtype: str
    keras_version: str
    #: Whether Keras ran eagerly (else as one ``tf.function`` graph); see :class:`TraceModel`.
    run_eagerly: bool = True
    #: The generation of the Keras that ran: 2 (tf.keras) or 3.
    keras_major: int = 3
    #: The first NaN or inf in either side's outputs (which never passes), or None.
    non_finite: NonFinite | None = None

    @property
    def ok(self) -> bool:
        return self.non_finite is None and all(c.ok for c in self.comparisons)

    @property
    def failures(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if not c.ok)

    def max_errors(self) -> dict[tuple[str, str], float]:
        """Largest absolute error per (layer, quantity label)."""
        return {(c.layer, c.label): c.max_abs for c in self.comparisons}


def _layer_classes(model: Any) -> dict[str, str]:
    classes = {}
    for layer in model.layers:
        name = type(layer).__name__
        if name == "Bidirectional":
            name = f"Bidirectional({type(layer.forward_layer).__name__})"
        elif name == "TimeDistributed":
            name = f"TimeDistributed({type(layer.layer).__name__})"
        classes[layer.name] = name
    return classes


def batch_chunks(n: int, batch_size: int | None) -> list[slice]:
    """Slices of ``n`` rows in batches of the model's fixed batch size (one slice if none)."""
    if not batch_size:
        return [slice(0, n)]
    if n % batch_size:
        raise ValueError(
            f"the model's batch size is fixed at {batch_size} (stateful layers need it) "
            f"but x has {n} rows, not a multiple of it"
        )
    return [slice(i, i + batch_size) for i in range(0, n, batch_size)]


def _concat_traces(traces: Sequence[RecurrentTrace]) -> RecurrentTrace:
    first = traces[0]
    return RecurrentTrace(
        kind=first.kind,
        outputs=np.concatenate([t.outputs for t in traces]),
        final_states={
            k: np.concatenate([t.final_states[k] for t in traces]) for k in first.final_states
        },
        traces={k: np.concatenate([t.traces[k] for t in traces]) for k in first.traces},
    )


def concat_results(chunks: Sequence[list[LayerResult]]) -> list[LayerResult]:
    """Join the reference results of successive batches along the batch axis."""
    if len(chunks) == 1:
        return list(chunks[0])
    joined = []
    for per_layer in zip(*chunks, strict=True):
        first = per_layer[0]
        output: Array | tuple[Array, Array]
        if isinstance(first.output, tuple):
            output = (
                np.concatenate([r.output[0] for r in per_layer]),
                np.concatenate([r.output[1] for r in per_layer]),
            )
        else:
            output = np.concatenate([r.output for r in per_layer])
        mask = None if first.mask is None else np.concatenate([r.mask for r in per_layer])
        directions = {
            d: _concat_traces([r.directions[d] for r in per_layer]) for d in first.directions
        }
        joined.append(LayerResult(name=first.name, output=output, mask=mask, directions=directions))
    return joined


def run_reference_chunks(
    layers: Sequence[ReferenceLayer],
    x: Array,
    chunks: Sequence[slice],
    *,
    mask: Array | None,
    dtype: str,
    hidden_only: bool,
    keras_major: int,
) -> list[LayerResult]:
    """Run the reference over successive batches, carrying the state of stateful layers."""
    stateful = {
        layer.name for layer in layers if any(d.stateful for _, d in recurrent_directions(layer))
    }
    states: dict[str, dict[str, Mapping[str, Array]]] | None = None
    results = []
    for chunk in chunks:
        result = run_reference(
            layers,
            x[chunk],
            mask=None if mask is None else mask[chunk],
            initial_states=states,
            dtype=dtype,
            hidden_only=hidden_only,
            keras_major=keras_major,
        )
        results.append(result)
        if stateful:
            states = {
                r.name: {d: trace.final_states for d, trace in r.directions.items()}
                for r in result
                if r.name in stateful
            }
    return concat_results(results)


def _compare_layer(
    layer: ReferenceLayer,
    reference: LayerResult,
    keras: KerasLayerOutputs,
    tolerances: Mapping[str, Tolerance],
) -> list[Comparison]:
    comparisons = []
    for direction, _ in recurrent_directions(layer):
        ref = reference.directions[direction]
        got = keras.directions[direction]
        comparisons.append(
            compare(
                ref.outputs,
                got.sequence,
                tolerances["hidden"],
                layer=layer.name,
                quantity="hidden",
                axes=("row", "timestep", "unit"),
                direction=direction,
                time_axis=1,
            )
        )
        for state, value in ref.final_states.items():
            quantity = f"final {state}"
            comparisons.append(
                compare(
                    value,
                    got.final_states[state],
                    tolerances[TOLERANCE_GROUP[quantity]],
                    layer=layer.name,
                    quantity=quantity,
                    axes=("row", "unit"),
                    direction=direction,
                )
            )
    outputs = reference.output if isinstance(reference.output, tuple) else (reference.output,)
    got_outputs = keras.output if isinstance(keras.output, tuple) else (keras.output,)
    for index, (ref_out, got_out) in enumerate(zip(outputs, got_outputs, strict=True)):
        axes = ("row", "timestep", "unit") if np.ndim(ref_out) == 3 else ("row", "unit")
        comparisons.append(
            compare(
                ref_out,
                got_out,
                tolerances["output"],
                layer=layer.name,
                quantity="output",
                axes=axes[: np.ndim(ref_out)],
                direction=None if len(outputs) == 1 else ("forward", "backward")[index],
                time_axis=1 if np.ndim(ref_out) == 3 else None,
            )
        )
    return comparisons


def keras_outputs(
    trace_model: TraceModel, x: Array, chunks: Sequence[slice], *, mask: Array | None = None
) -> list[KerasLayerOutputs]:
    """Every layer's Keras outputs for ``x``, batch by batch after resetting states."""
    trace_model.reset_states()
    keras_input = x.astype(trace_model.input_dtype, copy=False)
    return concat_batches(
        [trace_model(keras_input[c], mask=None if mask is None else mask[c]) for c in chunks]
    )


def compare_layers(
    layers: Sequence[ReferenceLayer],
    reference: Sequence[LayerResult],
    keras_results: Sequence[KerasLayerOutputs],
    tolerances: Mapping[str, Tolerance],
) -> list[Comparison]:
    """All comparisons, layer by layer (matched by position in the chain)."""
    comparisons: list[Comparison] = []
    for layer, ref, got in zip(layers, reference, keras_results, strict=True):
        comparisons.extend(_compare_layer(layer, ref, got, tolerances))
    return comparisons


def run_parity(
    model: Any,
    x: Any,
    *,
    atol: float | None = None,
    rtol: float | None = None,
    dtype: Literal["float32", "float64"] = "float32",
    mask: Any = None,
    tolerances: Mapping[str, Tolerance] | None = None,
    hidden_only: bool = False,
    run_eagerly: bool | None = None,
) -> ParityResult:
    """Run Keras and the reference side by side and compare them; never raises ParityError.

    The arguments are those of :func:`pytest_rnnparity.check_parity`, which raises with
    the report's text on a mismatch.
    """
    keras = keras_module(model)
    major = keras_major(keras)
    layers = describe_model(model, keras_major=major)
    trace_model = TraceModel(model, layers, run_eagerly=run_eagerly)
    x_array = np.asarray(x)
    mask_array = None if mask is None else np.asarray(mask, dtype=bool)
    chunks = batch_chunks(len(x_array), trace_model.batch_size)
    reference, keras_results = side_by_side(
        lambda: run_reference_chunks(
            layers,
            x_array,
            chunks,
            mask=mask_array,
            dtype=dtype,
            hidden_only=hidden_only,
            keras_major=major,
        ),
        lambda: keras_outputs(trace_model, x_array, chunks, mask=mask_array),
    )
    compute_dtypes = {str(getattr(layer, "compute_dtype", "float32")) for layer in model.layers}
    resolved = resolve_tolerances(
        dtypes=[dtype, *compute_dtypes],
        limits=[ToleranceLimits(atol=atol, rtol=rtol)],
        per_group=tolerances,
    )
    return ParityResult(
        comparisons=tuple(compare_layers(layers, reference, keras_results, resolved)),
        inputs=x_array,
        reference=tuple(reference),
        keras=tuple(keras_results),
        layers=layers,
        layer_classes=_layer_classes(model),
        dtype=dtype,
        keras_version=str(keras.__version__),
        run_eagerly=trace_model.runs_eagerly(x_array.shape[1]),
        keras_major=major,
        non_finite=find_non_finite(layers, x_array, reference, keras_results),
    )
