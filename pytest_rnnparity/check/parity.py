"""Parity: run the user's model and the NumPy reference, and compare every layer call.

Data flow: model -> :class:`~pytest_rnnparity.model.capture.ModelCapture` (the user's own
graph run call by call: every tensor, the mask and initial states each recurrent call
got, a probe's view of the steps it hides) and, where it needs no Keras value, on a
second thread beside it (:mod:`.side_by_side`), the reference's end-to-end pass
(:func:`~pytest_rnnparity.reference.graph.run_graph`) -> for each recurrent call, the
reference run in isolation on exactly what Keras fed it -> :func:`compare` -> a
:class:`ParityResult`. Two verdicts:

* **in isolation**, each recurrent call: the probe against the layer's own output
  (a probe that disagrees is a failure that says so), then every step's hidden state
  and the final states against the reference run on the call's own inputs, mask and
  initial states: a fault is localized to one call even in a model the reference
  cannot compute end to end;
* **end to end**, each call the reference computes: its output against the
  reference's own pass from the model's inputs. A call with no reference (a custom
  layer, an op) is opaque: the pass takes Keras' output there and every report names
  it.

The text of a failure is :func:`pytest_rnnparity.report.parity.parity_message`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from pytest_rnnparity.check.compare import Comparison, compare
from pytest_rnnparity.check.finite import NonFinite, find_non_finite
from pytest_rnnparity.check.side_by_side import side_by_side
from pytest_rnnparity.check.tolerance import Tolerance, resolve_tolerances
from pytest_rnnparity.errors import UnsupportedModelError
from pytest_rnnparity.model.capture import (
    CaptureRun,
    KerasDirection,
    KerasLayerOutputs,
    ModelCapture,
    capture_of,
    concat_batches,
    keras_outputs,
)
from pytest_rnnparity.reference import run_reference
from pytest_rnnparity.reference.graph import GraphCall, GraphRun, run_call, run_graph
from pytest_rnnparity.reference.recurrent.layers import merge_directions
from pytest_rnnparity.reference.types import (
    STATE_NAMES,
    Array,
    BidirectionalLayer,
    BoolArray,
    DescribedLayer,
    FunctionalLayer,
    LayerResult,
    LayerStates,
    OpaqueLayer,
    RecurrentTrace,
    ReferenceLayer,
    is_recurrent,
    recurrent_directions,
    state_names,
)
from pytest_rnnparity.spec import ToleranceGroup, ToleranceLimits

ComparedQuantity = Literal["probe", "hidden", "final hidden", "final cell", "output"]
#: The tolerance group each compared quantity is held to.
TOLERANCE_GROUP: dict[str, ToleranceGroup] = {
    "probe": "output",
    "hidden": "hidden",
    "final hidden": "hidden",
    "final cell": "cell",
    "output": "output",
}


@dataclass(frozen=True)
class ParityResult:
    """Everything a parity check computed.

    ``layers``, ``reference``, ``keras`` and ``isolated`` are aligned, one entry per
    layer call of the model in the order Keras runs them (a shared layer once per
    call): the call as the reference sees it (an :class:`OpaqueLayer` when it has no
    reference), the reference's end-to-end result (Keras' own output for an opaque
    call), what Keras returned and its probe read, and the reference run on the call's
    own Keras inputs (recurrent calls; None otherwise). ``comparisons`` is in that
    order too: for each recurrent call the probe, each direction's hidden state at
    every step and its final states (in isolation), then each call's output (end to
    end). ``opaque`` names the calls that were not computed independently.
    """

    comparisons: tuple[Comparison, ...]
    inputs: Array
    reference: tuple[LayerResult, ...]
    keras: tuple[KerasLayerOutputs, ...]
    layers: tuple[DescribedLayer, ...]
    layer_classes: dict[str, str]
    dtype: str
    keras_version: str
    #: Whether Keras ran eagerly (else as one ``tf.function`` graph).
    run_eagerly: bool = True
    #: The generation of the Keras that ran: 2 (tf.keras) or 3.
    keras_major: int = 3
    #: Every model input, in the order the model lists them (``inputs`` is the first).
    model_inputs: tuple[Array, ...] = ()
    #: The reference in isolation on each recurrent call's own inputs (None elsewhere).
    isolated: tuple[LayerResult | None, ...] = ()
    #: The model's own outputs, as Keras computed them.
    model_outputs: tuple[Array, ...] = ()
    #: The graph: which tensors each call read and wrote.
    calls: tuple[GraphCall, ...] = ()
    #: The first NaN or inf in either side's outputs (which never passes), or None.
    non_finite: NonFinite | None = None

    @property
    def ok(self) -> bool:
        return self.non_finite is None and all(c.ok for c in self.comparisons)

    @property
    def failures(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if not c.ok)

    @property
    def opaque(self) -> tuple[OpaqueLayer, ...]:
        """The calls the reference did not compute (their outputs are Keras')."""
        return tuple(layer for layer in self.layers if isinstance(layer, OpaqueLayer))

    def chain(self, purpose: str) -> tuple[ReferenceLayer, ...]:
        """The layers, when the reference computes every one of them in a single chain.

        Raises
        ------
        UnsupportedModelError
            Naming the first opaque call and ``purpose`` (what needs the chain).
        """
        layers = []
        for index, layer in enumerate(self.layers):
            if isinstance(layer, OpaqueLayer):
                raise UnsupportedModelError(
                    f"{purpose} needs every layer computed by the reference; "
                    f"'{layer.name}' ({layer.class_name}) is not: {layer.reason}"
                )
            if (
                self.calls
                and index
                and self.calls[index].inputs != self.calls[index - 1].outputs[:1]
            ):
                raise UnsupportedModelError(
                    f"{purpose} needs a single chain of layers; '{layer.name}' does not take "
                    "the output of the layer before it"
                )
            layers.append(layer)
        return tuple(layers)

    def max_errors(self) -> dict[tuple[str, str], float]:
        """Largest absolute error per (layer, quantity label)."""
        return {(c.layer, c.label): c.max_abs for c in self.comparisons}

    def __repr__(self) -> str:
        verdict = "ok" if self.ok else f"{len(self.failures)} of {len(self.comparisons)} failed"
        return (
            f"ParityResult({verdict}, {len(self.layers)} layer calls, "
            f"{len(self.opaque)} opaque, max abs error "
            f"{max((c.max_abs for c in self.comparisons), default=0.0):.1e})"
        )


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


# -- the model's inputs ----------------------------------------------------------------


def model_inputs(capture: ModelCapture, x: Any) -> list[Array]:
    """``x`` as ``model(x)`` takes it (an array, a list, a dict by input name), per input.

    Raises
    ------
    ValueError
        Naming the model's input and both shapes, when ``x`` does not fit it.
    """
    specs = capture.input_specs
    names = [_input_name(spec) for spec in specs]
    if isinstance(x, Mapping):
        unknown = sorted(set(map(str, x)) - set(names))
        missing = [name for name in names if name not in x]
        if unknown or missing:
            raise ValueError(
                f"x is a dict by input name; the model's inputs are {', '.join(names)}"
                + (f"; not an input: {', '.join(unknown)}" if unknown else "")
                + (f"; missing: {', '.join(missing)}" if missing else "")
            )
        arrays = [np.asarray(x[name]) for name in names]
    elif isinstance(x, (list, tuple)) and len(specs) > 1:
        if len(x) != len(specs):
            raise ValueError(
                f"the model has {len(specs)} inputs ({', '.join(names)}), x has {len(x)} arrays"
            )
        arrays = [np.asarray(value) for value in x]
    else:
        if len(specs) > 1:
            raise ValueError(
                f"the model has {len(specs)} inputs ({', '.join(names)}): pass a list or a "
                "dict by input name"
            )
        arrays = [np.asarray(x)]
    for array, spec, name in zip(arrays, specs, names, strict=True):
        _check_shape(array, spec, name)
    rows = {len(array) for array in arrays}
    if len(rows) > 1:
        raise ValueError(f"the model's inputs have different numbers of rows: {sorted(rows)}")
    return arrays


def model_masks(capture: ModelCapture, mask: Any, arrays: Sequence[Array]) -> list[Array | None]:
    """``mask`` (None, one array, a list or a dict by input name) as one mask per input."""
    names = [_input_name(spec) for spec in capture.input_specs]
    if mask is None:
        return [None] * len(names)
    if isinstance(mask, Mapping):
        masks = [None if mask.get(name) is None else np.asarray(mask[name]) for name in names]
    elif isinstance(mask, (list, tuple)) and len(names) > 1:
        masks = [None if m is None else np.asarray(m) for m in mask]
    else:
        masks = [np.asarray(mask)] + [None] * (len(names) - 1)
    if len(masks) != len(names):
        raise ValueError(f"the model has {len(names)} inputs, mask has {len(masks)} entries")
    for m, array, name in zip(masks, arrays, names, strict=True):
        if m is not None and tuple(m.shape) != tuple(array.shape[:2]):
            raise ValueError(
                f"the mask of input '{name}' must have shape (batch, timesteps) = "
                f"{tuple(array.shape[:2])}, got {tuple(m.shape)}"
            )
    return [None if m is None else m.astype(bool) for m in masks]


def _input_name(spec: Any) -> str:
    name = str(getattr(spec, "name", "input"))
    return name.split(":")[0]


def _check_shape(array: Array, spec: Any, name: str) -> None:
    """Every axis but the batch must fit (a stateful model's batches are cut to its size)."""
    expected = tuple(None if d is None else int(d) for d in spec.shape)
    shown = "(" + ", ".join("None" if d is None else str(d) for d in expected) + ")"
    fits = array.ndim == len(expected) and all(
        want is None or got == want or axis == 0
        for axis, (got, want) in enumerate(zip(array.shape, expected, strict=False))
    )
    if not fits:
        raise ValueError(
            f"the model's input '{name}' expects shape {shown}, but x has shape "
            f"{tuple(array.shape)}"
        )


# -- running Keras and the reference -----------------------------------------------------


def row_chunks(capture: ModelCapture, rows: int) -> list[slice]:
    """One slice of every row, or batches of the fixed batch size for a stateful model."""
    return batch_chunks(rows, capture.batch_size if capture.stateful else None)


def keras_runs(
    capture: ModelCapture,
    inputs: Sequence[Array],
    masks: Sequence[Array | None],
    chunks: Sequence[slice],
) -> list[CaptureRun]:
    """Run the model batch by batch; the states of stateful layers are put back afterwards."""
    capture.set_probe_weights()
    saved = capture.states()
    try:
        return [
            capture([x[chunk] for x in inputs], [None if m is None else m[chunk] for m in masks])
            for chunk in chunks
        ]
    finally:
        capture.restore_states(saved)


def _end_to_end(
    capture: ModelCapture,
    inputs: Sequence[Array],
    masks: Sequence[Array | None],
    chunks: Sequence[slice],
    keras: Sequence[CaptureRun] | None,
    start_states: Mapping[str, LayerStates],
    *,
    dtype: str,
    hidden_only: bool,
) -> list[GraphRun]:
    """The reference from the model's inputs, batch by batch, stateful calls carrying over."""
    runs = []
    states: dict[str, LayerStates] = dict(start_states)
    stateful = set(start_states)
    for index, chunk in enumerate(chunks):
        given: dict[int, Array] = {
            key: x[chunk] for key, x in zip(capture.input_ids, inputs, strict=True)
        }
        given_masks: dict[int, BoolArray | None] = {
            key: None if m is None else m[chunk].astype(bool)
            for key, m in zip(capture.input_ids, masks, strict=True)
        }
        given.update(capture.constants)
        if keras is not None:
            run = keras[index]
            for call in capture.graph:
                if call.opaque:
                    for out in call.outputs:
                        given[out] = run.values[out]
                        mask = run.masks.get(out)
                        given_masks[out] = None if mask is None else mask.astype(bool)
        result = run_graph(
            capture.graph,
            given,
            given_masks=given_masks,
            states=states,
            dtype=dtype,
            hidden_only=hidden_only,
            keras_major=capture.major,
        )
        runs.append(result)
        for call in capture.graph:
            if call.name in stateful and call.layer is not None:
                finals = result.results[call.name].directions
                states[call.name] = {
                    direction: dict(finals[direction].final_states)
                    for direction, _ in state_names(call.layer)
                }
    return runs


def _isolated(
    capture: ModelCapture,
    keras: Sequence[CaptureRun],
    end_to_end: Sequence[GraphRun] | None,
    *,
    dtype: str,
    hidden_only: bool,
) -> list[list[LayerResult | None]]:
    """Each recurrent call run by the reference on exactly what Keras fed it, per batch.

    A call whose inputs the end-to-end pass computed bit for bit as Keras did takes that
    pass's result instead of running again. Without ``end_to_end`` (it is still running
    on the other thread) a call fed straight by the model's inputs is left as
    :data:`_DEFERRED`, for :func:`_resolve_deferred` once it is done; every other call
    runs now.
    """
    runs = []
    inputs = set(capture.input_ids)
    for index, run in enumerate(keras):
        per_call: list[LayerResult | None] = []
        for call in capture.graph:
            layer = call.layer
            if layer is None or not is_recurrent(layer):
                per_call.append(None)
                continue
            values = run.calls[call.name]
            if end_to_end is None:
                if set(call.inputs) <= inputs and not values.initial_state:
                    per_call.append(_DEFERRED)
                    continue
            else:
                reused = _same_inputs(call, values, end_to_end[index])
                if reused is not None:
                    per_call.append(reused)
                    continue
            per_call.append(_run_isolated(capture, call, values, dtype, hidden_only))
        runs.append(per_call)
    return runs


def _run_isolated(
    capture: ModelCapture, call: GraphCall, values: Any, dtype: str, hidden_only: bool
) -> LayerResult:
    mask = None if values.mask is None else np.asarray(values.mask, dtype=bool)
    result, _, _ = run_call(
        call,
        values.inputs,
        masks=[mask],
        initial_state=values.initial_state,
        dtype=dtype,
        hidden_only=hidden_only,
        keras_major=capture.major,
    )
    return result


#: A call :func:`_isolated` left for the end-to-end result (fed by the model's inputs).
_DEFERRED = cast(LayerResult, object())


def _resolve_deferred(
    capture: ModelCapture,
    keras: Sequence[CaptureRun],
    end_to_end: Sequence[GraphRun],
    isolated: list[list[LayerResult | None]],
    *,
    dtype: str,
    hidden_only: bool,
) -> None:
    """Fill in the deferred calls: the end-to-end result, or a run of their own."""
    for index, (run, per_call) in enumerate(zip(keras, isolated, strict=True)):
        for position, call in enumerate(capture.graph):
            if per_call[position] is not _DEFERRED:
                continue
            values = run.calls[call.name]
            reused = _same_inputs(call, values, end_to_end[index])
            per_call[position] = (
                reused
                if reused is not None
                else _run_isolated(capture, call, values, dtype, hidden_only)
            )


def _same_inputs(call: GraphCall, values: Any, e2e: GraphRun) -> LayerResult | None:
    """The end-to-end result when it ran on exactly the call's Keras inputs (no rerun)."""
    result = e2e.results.get(call.name)
    if result is None or values.initial_state:
        return None
    for tensor, keras_value in zip(call.inputs, values.inputs, strict=True):
        mine = e2e.values.get(tensor)
        if mine is None or mine.shape != keras_value.shape:
            return None
        if not np.array_equal(mine, np.asarray(keras_value).astype(mine.dtype)):
            return None
    mask = e2e.masks.get(call.inputs[0]) if call.implicit_mask else None
    keras_mask = values.mask
    if (mask is None) != (keras_mask is None):
        return None
    if mask is not None and not np.array_equal(
        np.asarray(mask, bool), np.asarray(keras_mask, bool)
    ):
        return None
    return result


def _opaque_result(call: GraphCall, keras_run: Sequence[CaptureRun]) -> LayerResult:
    """An opaque call's "reference" result: Keras' own output (the pass took it from there)."""
    outputs = [np.concatenate([run.values[call.outputs[0]] for run in keras_run])]
    masks = [run.masks.get(call.outputs[0]) for run in keras_run]
    present = [m for m in masks if m is not None]
    mask = np.concatenate(present).astype(bool) if len(present) == len(masks) else None
    return LayerResult(name=call.name, output=outputs[0], mask=mask)


# -- comparing -------------------------------------------------------------------------


def probe_outputs(layer: ReferenceLayer, directions: Mapping[str, KerasDirection]) -> list[Array]:
    """What the real call must return if its probe is right, in Keras' order."""
    if isinstance(layer, BidirectionalLayer):
        y, y_rev = directions["forward"].sequence, directions["backward"].sequence
        if layer.return_sequences:
            y_rev = y_rev[:, ::-1]
        else:
            y, y_rev = y[:, -1], y_rev[:, -1]
        merged = merge_directions(y, y_rev, layer.merge_mode)
        outputs = list(merged) if isinstance(merged, tuple) else [merged]
    elif is_recurrent(layer):
        sequence = directions["forward"].sequence
        outputs = [sequence if getattr(layer, "return_sequences", False) else sequence[:, -1]]
    else:
        return []
    if getattr(layer, "return_state", False):
        for direction, names in state_names(layer):
            finals = directions[direction].final_states
            outputs.extend(finals[name] for name in names)
    return outputs


def _axes(array: Array) -> tuple[tuple[str, ...], int | None]:
    if np.ndim(array) == 3:
        return ("row", "timestep", "unit"), 1
    if np.ndim(array) > 3:  # a ConvLSTM's steps: row, timestep, position(s), filter
        middle = tuple(f"position {i + 1}" for i in range(np.ndim(array) - 3))
        return ("row", "timestep", *middle, "unit"), 1
    return ("row", "unit")[: max(np.ndim(array), 1)], None


def _state_axes(array: Array) -> tuple[str, ...]:
    middle = tuple(f"position {i + 1}" for i in range(np.ndim(array) - 2))
    return ("row", *middle, "unit")


def _compare_call(
    call: GraphCall,
    described: DescribedLayer,
    keras: KerasLayerOutputs,
    keras_outputs_all: Sequence[Array],
    isolated: LayerResult | None,
    end_to_end: LayerResult,
    tolerances: Mapping[str, Tolerance],
    extra_outputs: Sequence[Array] = (),
) -> list[Comparison]:
    """The comparisons of one call: probe, steps and states in isolation, outputs end to end.

    ``extra_outputs`` are the reference's outputs after the first of a functional layer
    that has several (an attention layer's scores).
    """
    if isinstance(described, OpaqueLayer):
        return []
    comparisons: list[Comparison] = []
    probed = any(d.probed for d in keras.directions.values())
    if isolated is not None and probed:
        expected = probe_outputs(described, keras.directions)
        for index, (derived, real) in enumerate(zip(expected, keras_outputs_all, strict=False)):
            axes, time_axis = _axes(derived)
            comparisons.append(
                compare(
                    real,
                    derived,
                    tolerances["output"],
                    layer=call.name,
                    quantity="probe",
                    axes=axes,
                    direction=_probe_direction(described, index),
                    time_axis=time_axis,
                )
            )
    if isolated is not None:
        for direction, names in state_names(described):
            ref = isolated.directions[direction]
            got = keras.directions[direction]
            axes, time_axis = _axes(ref.outputs)
            comparisons.append(
                compare(
                    ref.outputs,
                    got.sequence,
                    tolerances["hidden"],
                    layer=call.name,
                    quantity="hidden",
                    axes=axes,
                    direction=direction,
                    time_axis=time_axis,
                )
            )
            for state in names:
                value = ref.final_states[state]
                quantity = f"final {state}"
                group = "cell" if state.startswith("cell") else "hidden"
                comparisons.append(
                    compare(
                        value,
                        got.final_states[state],
                        tolerances[group],
                        layer=call.name,
                        quantity=quantity,
                        axes=_state_axes(value),
                        direction=direction,
                    )
                )
    outputs = end_to_end.output if isinstance(end_to_end.output, tuple) else (end_to_end.output,)
    got_outputs = keras.output if isinstance(keras.output, tuple) else (keras.output,)
    for index, (ref_out, got_out) in enumerate(zip(outputs, got_outputs, strict=True)):
        axes, time_axis = _axes(ref_out)
        comparisons.append(
            compare(
                ref_out,
                got_out,
                tolerances["output"],
                layer=call.name,
                quantity="output",
                axes=axes,
                direction=None if len(outputs) == 1 else ("forward", "backward")[index],
                time_axis=time_axis,
            )
        )
    if isinstance(described, FunctionalLayer):
        for index, (ref_out, got_out) in enumerate(
            zip(extra_outputs, keras_outputs_all[1:], strict=False), start=2
        ):
            axes, time_axis = _axes(ref_out)
            comparisons.append(
                compare(
                    ref_out,
                    got_out,
                    tolerances["output"],
                    layer=call.name,
                    quantity=f"output {index}",
                    axes=axes,
                    time_axis=time_axis,
                )
            )
    return comparisons


def _probe_direction(layer: ReferenceLayer, index: int) -> str | None:
    """How the ``index``-th output of a recurrent call is labelled in the probe check."""
    pair = isinstance(layer, BidirectionalLayer) and layer.merge_mode is None
    main = 2 if pair else 1
    if index < main:
        return ("forward", "backward")[index] if pair else None
    names = [
        f"{direction} {state}" if isinstance(layer, BidirectionalLayer) else state
        for direction, described in recurrent_directions(layer)
        for state in STATE_NAMES[described.cell.kind]
    ]
    return f"returned {names[index - main]}"


def compare_layers(
    layers: Sequence[DescribedLayer],
    reference: Sequence[LayerResult],
    keras_results: Sequence[KerasLayerOutputs],
    tolerances: Mapping[str, Tolerance],
) -> list[Comparison]:
    """Each call's steps, final states and output against one reference (matched by position).

    For another execution path of the same model, compared with the main run's
    end-to-end reference.
    """
    comparisons: list[Comparison] = []
    for layer, ref, got in zip(layers, reference, keras_results, strict=True):
        if isinstance(layer, OpaqueLayer):
            continue
        call = GraphCall(name=got.name, layer=layer, inputs=(), outputs=())
        isolated = ref if recurrent_directions(layer) else None
        main = list(got.output) if isinstance(got.output, tuple) else [got.output]
        comparisons.extend(_compare_call(call, layer, got, main, isolated, ref, tolerances))
    return comparisons


# -- the check ---------------------------------------------------------------------------


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
    """Run the model and the reference and compare them; never raises ParityError.

    The arguments are those of :func:`pytest_rnnparity.check_parity`, which raises with
    the report's text on a mismatch.
    """
    capture = capture_of(model, run_eagerly=run_eagerly)
    inputs = model_inputs(capture, x)
    masks = model_masks(capture, mask, inputs)
    chunks = row_chunks(capture, len(inputs[0]))
    start = capture.start_states()

    def end_to_end(keras: Sequence[CaptureRun] | None) -> list[GraphRun]:
        return _end_to_end(
            capture, inputs, masks, chunks, keras, start, dtype=dtype, hidden_only=hidden_only
        )

    # Isolation compares steps and final states only: no gate traces to keep there (the
    # end-to-end pass keeps them for the golden and the reports).
    if capture.needs_keras_values:
        runs = keras_runs(capture, inputs, masks, chunks)
        e2e_runs = end_to_end(runs)
        isolated_runs = _isolated(capture, runs, e2e_runs, dtype=dtype, hidden_only=True)
    else:

        def keras_then_isolated() -> tuple[list[CaptureRun], list[list[LayerResult | None]]]:
            # Keras first, then the isolated passes on this thread while the end-to-end
            # pass may still run on the other.
            keras = keras_runs(capture, inputs, masks, chunks)
            return keras, _isolated(capture, keras, None, dtype=dtype, hidden_only=True)

        e2e_runs, (runs, isolated_runs) = side_by_side(
            lambda: end_to_end(None), keras_then_isolated
        )
        _resolve_deferred(capture, runs, e2e_runs, isolated_runs, dtype=dtype, hidden_only=True)

    keras_per_call = concat_batches([keras_outputs(capture, run) for run in runs])
    reference: list[LayerResult] = []
    isolated: list[LayerResult | None] = []
    for index, call in enumerate(capture.graph):
        if call.opaque:
            reference.append(_opaque_result(call, runs))
        else:
            reference.append(concat_results([[run.results[call.name]] for run in e2e_runs])[0])
        pieces = [per_call[index] for per_call in isolated_runs]
        present = [p for p in pieces if p is not None]
        isolated.append(concat_results([[p] for p in present])[0] if present else None)

    compute_dtypes = {str(getattr(layer, "compute_dtype", "float32")) for layer in model.layers}
    resolved = resolve_tolerances(
        dtypes=[dtype, *compute_dtypes],
        limits=[ToleranceLimits(atol=atol, rtol=rtol)],
        per_group=tolerances,
    )
    comparisons: list[Comparison] = []
    for index, (call, described) in enumerate(zip(capture.graph, capture.described, strict=True)):
        all_outputs = [
            np.concatenate([run.calls[call.name].outputs[i] for run in runs])
            for i in range(len(call.outputs))
        ]
        extra = []
        if not call.opaque:
            extra = [
                np.concatenate([e2e.values[key] for e2e in e2e_runs]) for key in call.outputs[1:]
            ]
        comparisons.extend(
            _compare_call(
                call,
                described,
                keras_per_call[index],
                all_outputs,
                isolated[index],
                reference[index],
                resolved,
                extra_outputs=extra,
            )
        )
    model_outputs = tuple(
        np.concatenate([run.model_outputs[i] for run in runs])
        for i in range(len(capture.output_ids))
    )
    return ParityResult(
        comparisons=tuple(comparisons),
        inputs=inputs[0],
        reference=tuple(reference),
        keras=tuple(keras_per_call),
        layers=capture.described,
        layer_classes={call.name: call.class_name for call in capture.graph},
        dtype=dtype,
        keras_version=str(capture.keras.__version__),
        run_eagerly=capture.runs_eagerly(int(inputs[0].shape[1]) if inputs[0].ndim >= 3 else 1),
        keras_major=capture.major,
        model_inputs=tuple(inputs),
        isolated=tuple(isolated),
        model_outputs=model_outputs,
        calls=capture.graph,
        non_finite=find_non_finite(capture.described, inputs[0], reference, keras_per_call),
    )
