"""Run the user's own model call by call and read what every layer call saw and made.

What is compared as "Keras" is the user's model itself: its own layer objects, in its
own graph, each called with every argument the graph gives it (a baked-in
``initial_state`` or ``mask``, the mask an ``Embedding`` makes, ``training=False``).
:class:`ModelCapture` walks the graph once to number every tensor and find every layer
call (a shared layer is one call per use; a nested model is walked into), then runs it
as often as asked, eagerly or as one ``tf.function``, recording:

* every tensor's value and the Keras mask attached to it;
* for each recurrent call, the mask and the initial states it got (a stateful
  layer's states as they were just before the call);
* for each recurrent call, a *probe*: a copy of the layer (of each direction of a
  ``Bidirectional``) built from its config with ``return_sequences=True`` and
  ``return_state=True``, given the layer's weights and fed exactly the tensors the
  real call got. It exposes the steps and states the layer hides. A probe is a copy,
  so it is never trusted on its own: :mod:`pytest_rnnparity.check.parity` first
  compares what it implies with the real call's own output.

Ops in the graph that only compute masks for the next layer (Keras 3 makes
``NotEqual``/``Any`` nodes for ``Embedding(mask_zero)`` and ``Masking``) are run but
not reported: the reference computes those masks itself. Any other op, and any layer
the reference does not implement, is an *opaque* call, named in every report.

The walk follows ``keras.src.ops.function.Function._run_through_graph`` (Keras 3) and
``Functional._run_internal_graph`` (Keras 2), private APIs pinned by the tests under
every Keras the tox environments install.
"""

from __future__ import annotations

import functools
import inspect
import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from pytest_rnnparity.errors import UnsupportedModelError
from pytest_rnnparity.model.functional_layers import CALL_OPTIONS, functional_class
from pytest_rnnparity.model.keras_version import keras_major, keras_module
from pytest_rnnparity.model.reference_layers import (
    CONV_LSTM_LAYERS,
    describe_layer_or_none,
    keras_class_name,
    unsupported_reason,
)
from pytest_rnnparity.reference.graph import GraphCall
from pytest_rnnparity.reference.types import (
    Array,
    BidirectionalLayer,
    ConvLSTMLayer,
    DescribedLayer,
    FunctionalLayer,
    OpaqueLayer,
    RecurrentLayer,
    ReferenceLayer,
    StackedLayer,
    state_names,
)

#: From this many recurrent steps per call (timesteps x recurrent directions) the
#: capture runs as one graph. Measured on TF 2.21, CPU: eager ~20 ms + ~2 ms per step,
#: a first graph call ~80 ms whatever the length; they cross near 30 steps.
GRAPH_FROM_STEPS = 32
#: Initializers a probe is built with: its weights are overwritten with the layer's
#: at once, and an orthogonal or Glorot draw costs more than the rest of a small build.
_PROBE_INITIALIZERS = ("kernel_initializer", "recurrent_initializer", "bias_initializer")


@dataclass(frozen=True)
class KerasDirection:
    """One direction of a recurrent call as its probe computed it.

    ``sequence`` is ``(batch, time, units)`` in processing order; ``final_states`` maps
    ``STATE_NAMES[kind]`` to ``(batch, units)``.
    """

    sequence: Array
    final_states: dict[str, Array]
    #: Read by a probe (a copy, checked against the call's output), or False when read
    #: from the layer's own call.
    probed: bool = True


@dataclass(frozen=True)
class KerasLayerOutputs:
    """What one layer call returned (its first output, or the pair of a
    ``Bidirectional(merge_mode=None)``), and the directions its probe read."""

    name: str
    output: Array | tuple[Array, Array]
    directions: dict[str, KerasDirection] = field(default_factory=dict)


@dataclass(frozen=True)
class CallValues:
    """What one layer call got and returned, as NumPy arrays.

    ``outputs`` are all its outputs in Keras' order; ``mask`` and ``initial_state``
    are recorded for recurrent calls (the mask the layer used, the states it started
    from); ``directions`` holds its probe's view.
    """

    inputs: tuple[Array, ...]
    outputs: tuple[Array, ...]
    mask: Array | None = None
    initial_state: tuple[Array, ...] = ()
    directions: Mapping[str, KerasDirection] = field(default_factory=dict)


@dataclass(frozen=True)
class CaptureRun:
    """One run of the model: every tensor's value and mask, and every reported call."""

    values: Mapping[int, Array]
    masks: Mapping[int, Array | None]
    calls: Mapping[str, CallValues]
    model_outputs: tuple[Array, ...]


@dataclass
class _Site:
    """One call in the user's model, found once by the walk."""

    name: str
    operation: Any
    node: Any
    path: tuple[str, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    is_layer: bool
    input_shape: tuple[int | None, ...] | None = None
    described: DescribedLayer | None = None
    mask: int | None = None
    implicit_mask: bool = True
    initial_state: tuple[int, ...] = ()
    reported: bool = True
    input_masks: tuple[int | None, ...] = ()
    tensors: dict[str, int] = field(default_factory=dict)
    call_options: dict[str, Any] = field(default_factory=dict)
    #: Each direction's probe, or None for a layer read from its own call (see _own_read).
    probes: list[tuple[str, Any, tuple[str, ...]]] = field(default_factory=list)
    stateful_layers: list[Any] = field(default_factory=list)

    @property
    def recurrent(self) -> bool:
        return bool(self.probes)


class ModelCapture:
    """The user's model as numbered tensors and layer calls, runnable again and again.

    Parameters
    ----------
    model
        A built Keras model (Sequential or functional, Keras 3 or Keras 2).
    run_eagerly
        ``True``: always eagerly; ``False``: as a ``tf.function`` on TensorFlow;
        None: a graph from ``GRAPH_FROM_STEPS`` recurrent steps per call.

    Raises
    ------
    UnsupportedModelError
        If the model was never built.
    """

    def __init__(self, model: Any, *, run_eagerly: bool | None = None) -> None:
        self.model = model
        self.keras = keras_module(model)
        self.major = keras_major(self.keras)
        self.run_eagerly = run_eagerly
        self._graph_function: Any = None
        self._next_id = 0
        self._sites: list[_Site] = []
        self._constants: dict[int, Any] = {}
        fn = _functional(model, self.major)
        #: The model's input tensors (name, shape, dtype), in the order ``x`` lists them.
        self.input_specs = tuple(_function_inputs(fn, self.major))
        self.input_ids = tuple(self._new_id() for _ in self.input_specs)
        self.output_ids = self._index(fn, self.input_ids, ())
        self._name_sites()
        self._describe_sites()
        self._mark_reported()
        self.constants = {key: self._to_numpy(value) for key, value in self._constants.items()}
        self._publish()
        self._recurrent_directions = sum(len(site.probes) for site in self._sites)

    def refresh(self) -> None:
        """Read every layer's weights again, for a capture reused by a later check.

        What the walk found (the calls, the probes, the traced graph) stays; the
        reference layers are described anew from the weights the layers hold now. Only
        :func:`capture_of` reuses a capture, and only while the model's layers are
        configured as they were.
        """
        for site in self._sites:
            if site.described is not None:
                site.described = self._description(site)
        self._publish()

    def _publish(self) -> None:
        reported = [site for site in self._sites if site.reported]
        #: Every reported call, in the order Keras runs them (the reference's graph).
        self.graph = tuple(
            GraphCall(
                name=site.name,
                layer=site.described if not isinstance(site.described, OpaqueLayer) else None,
                inputs=site.inputs,
                outputs=site.outputs,
                class_name=_class_name(site.operation),
                mask=site.mask,
                implicit_mask=site.implicit_mask,
                initial_state=site.initial_state,
                input_masks=site.input_masks,
                tensors=dict(site.tensors),
            )
            for site in reported
        )
        #: The reported calls as a check sees them: reference layers, or opaque.
        self.described = tuple(
            site.described if site.described is not None else _opaque(site) for site in reported
        )

    # -- the walk, once: numbering tensors, finding calls --------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _nodes(self, fn: Any) -> Iterator[Any]:
        """The nodes of ``fn`` in the order Keras runs them."""
        by_depth = fn._nodes_by_depth
        for depth in sorted(by_depth, reverse=True):
            yield from by_depth[depth]

    def _index(self, fn: Any, input_ids: Sequence[int], path: tuple[str, ...]) -> tuple[int, ...]:
        inputs = _function_inputs(fn, self.major)
        ids: dict[int, int] = {id(x): i for x, i in zip(inputs, input_ids, strict=True)}
        for node in self._nodes(fn):
            operation = _operation(node, self.major)
            if operation is None or node.is_input:
                continue
            node_inputs = _node_inputs(node, self.major)
            if any(id(x) not in ids for x in node_inputs):
                continue
            outputs = _node_outputs(node, self.major)
            if _is_model(operation):
                inner = _functional(operation, self.major)
                inner_ids = self._index(
                    inner, [ids[id(x)] for x in node_inputs], (*path, operation.name)
                )
                for x, i in zip(outputs, inner_ids, strict=True):
                    ids[id(x)] = i
                continue
            out_ids = tuple(self._new_id() for _ in outputs)
            is_layer = _is_layer(operation, self.keras)
            arguments = _arguments_of(operation, node, self.major) if is_layer else {}
            data = (
                _data_inputs(arguments, self.major)
                if is_layer
                else _positional_inputs(node, self.major)
            )
            site = _Site(
                name=operation.name,
                operation=operation,
                node=node,
                path=path,
                inputs=tuple(self._source(x, ids) for x in data),
                outputs=out_ids,
                is_layer=is_layer,
                input_shape=tuple(data[0].shape) if data and hasattr(data[0], "shape") else None,
            )
            if is_layer:
                self._arguments(site, arguments, data, ids)
            for x, i in zip(outputs, out_ids, strict=True):
                ids[id(x)] = i
            self._sites.append(site)
        return tuple(ids[id(x)] for x in _function_outputs(fn, self.major))

    def _arguments(
        self,
        site: _Site,
        arguments: Mapping[str, Any],
        data: Sequence[Any],
        ids: Mapping[int, int],
    ) -> None:
        """Where a call's masks, initial states and tensor arguments come from."""
        mask = arguments.get("mask")
        per_input = [arguments.get(f"{name}_mask") for name in _data_names(arguments)]
        if mask is None and any(m is not None for m in per_input):
            mask = per_input
        if isinstance(mask, (list, tuple)):
            attached = [_get_mask(x, self.major) for x in data]
            if any(m is not None for m in mask) and not all(
                m is a for m, a in zip(mask, attached, strict=False)
            ):
                site.implicit_mask = False
                site.input_masks = tuple(None if m is None else self._source(m, ids) for m in mask)
        elif mask is not None:
            attached_first = _get_mask(data[0], self.major) if data else None
            if mask is not attached_first:
                site.mask = self._source(mask, ids)
                site.implicit_mask = False
        elif self.major >= 3 and _tensor_arguments(arguments) > 1:
            # Keras 3 fills in ``mask`` from the input only when the call takes one
            # tensor argument: a recurrent layer given tensor initial states runs unmasked
            # (its output still carries the input's mask on).
            site.implicit_mask = False
        states = arguments.get("initial_state")
        if states is not None:
            flat = list(states) if isinstance(states, (list, tuple)) else [states]
            site.initial_state = tuple(self._source(s, ids) for s in flat)
        elif self.major < 3 and len(data) > 1 and _recurrent_class(site.operation):
            # Keras 2 moves symbolic initial states into the node's inputs
            site.initial_state = site.inputs[1:]
            site.inputs = site.inputs[:1]
        for name in _TENSOR_ARGUMENTS:
            value = arguments.get(name)
            if value is not None and not isinstance(value, (bool, int, float, str)):
                site.tensors[name] = self._source(value, ids)
        site.call_options = {
            name: value
            for name, value in arguments.items()
            if isinstance(value, (bool, int, str)) and name != "training"
        }

    def _source(self, value: Any, ids: Mapping[int, int]) -> int:
        """The tensor id of a graph tensor, or a new id for a constant argument."""
        if id(value) in ids:
            return ids[id(value)]
        constant = self._new_id()
        self._constants[constant] = value
        return constant

    def _name_sites(self) -> None:
        counts: dict[int, int] = {}
        for site in self._sites:
            counts[id(site.operation)] = counts.get(id(site.operation), 0) + 1
        seen: dict[int, int] = {}
        taken: set[str] = set()
        for site in self._sites:
            index = seen.get(id(site.operation), 0)
            seen[id(site.operation)] = index + 1
            name = "/".join((*site.path, site.operation.name))
            if counts[id(site.operation)] > 1:
                name = f"{name} (call {index + 1})"
            while name in taken:  # two ops of one name in different places
                name += "'"
            taken.add(name)
            site.name = name

    def _description(self, site: _Site) -> ReferenceLayer | None:
        """The reference layer of a layer call, with the weights it holds now, or None."""
        described = describe_layer_or_none(site.operation, keras_major=self.major)
        if described is None and _recurrent_class(site.operation):
            # A recurrent layer is what this tool checks: one it cannot compute is
            # refused, never passed over as opaque.
            reason = unsupported_reason(site.operation, keras_major=self.major)
            raise UnsupportedModelError(reason or f"layer '{site.name}' is not supported")
        if described is None:
            return None
        if not isinstance(described, FunctionalLayer) and len(site.inputs) != 1:
            return None  # a layer of one input called on several is the user's own idea
        if isinstance(described, FunctionalLayer):
            wanted = CALL_OPTIONS.get(described.class_name, ())
            call = {k: v for k, v in site.call_options.items() if k in wanted}
            described = replace(described, options={**described.options, **call})
        return replace(described, name=site.name)

    def _describe_sites(self) -> None:
        for site in self._sites:
            if not site.is_layer:
                continue
            described = site.described = self._description(site)
            if described is None:
                continue
            own = _own_read(site.operation, described)
            for direction, keras_layer, names in _keras_directions(site.operation, described):
                probe = None
                if not own:
                    probe = _probe(keras_layer, f"rnnparity_{direction}_probe")
                    if site.input_shape is not None:
                        probe.build(site.input_shape)
                site.probes.append((direction, probe, names))
                if getattr(keras_layer, "stateful", False):
                    site.stateful_layers.append(keras_layer)

    def _mark_reported(self) -> None:
        """Report every layer call, and the ops whose outputs reach one other than as a mask."""
        used: set[int] = set(self.output_ids)
        for site in self._sites:
            if site.is_layer:
                used.update(site.inputs)
                used.update(site.initial_state)
                if site.mask is not None:
                    used.add(site.mask)
        for site in reversed(self._sites):
            if not site.is_layer and any(out in used for out in site.outputs):
                used.update(site.inputs)
        for site in self._sites:
            site.reported = site.is_layer or any(out in used for out in site.outputs)

    # -- what the walk found -------------------------------------------------------------

    @property
    def batch_size(self) -> int | None:
        """The fixed batch size of the model's first input, if any."""
        shape = tuple(self.input_specs[0].shape)
        return None if not shape else shape[0]

    @property
    def stateful(self) -> bool:
        """Whether a recurrent layer of the model is stateful."""
        return any(site.stateful_layers for site in self._sites)

    @property
    def needs_keras_values(self) -> bool:
        """Whether the reference's end-to-end pass needs values only Keras computes."""
        return any(call.opaque for call in self.graph)

    def start_states(self) -> dict[str, dict[str, dict[str, Array]]]:
        """The states stateful calls start from now: call name -> direction -> state name."""
        states: dict[str, dict[str, dict[str, Array]]] = {}
        for site in self._sites:
            if not site.stateful_layers:
                continue
            directions: dict[str, dict[str, Array]] = {}
            for (direction, _, names), layer in zip(site.probes, site.stateful_layers, strict=True):
                values = [self._variable_value(v) for v in _flatten(layer.states, self.major)]
                directions[direction] = dict(zip(names, values, strict=True))
            states[site.name] = directions
        return states

    def runs_eagerly(self, timesteps: int) -> bool:
        """Whether a run with ``timesteps`` steps runs eagerly (else as a graph)."""
        tensorflow = self.major < 3 or self.keras.backend.backend() == "tensorflow"
        if not tensorflow or self.run_eagerly:
            return True
        if self.run_eagerly is False:
            return False
        return timesteps * self._recurrent_directions < GRAPH_FROM_STEPS

    def set_probe_weights(self) -> None:
        """Give every probe its layer's current weights."""
        for site in self._sites:
            for direction, probe, _ in site.probes:
                if probe is not None:
                    layer = _keras_direction_layer(site.operation, direction)
                    probe.set_weights(layer.get_weights())

    def states(self) -> list[Array]:
        """The current state values of every stateful layer (to restore them after a check)."""
        return [
            self._variable_value(v)
            for site in self._sites
            for layer in site.stateful_layers
            for v in layer.states
        ]

    def _variable_value(self, variable: Any) -> Array:
        """A copy of a variable's value (``.numpy()``: NumPy 2 warns on ``np.array(variable)``)."""
        return np.array(variable.numpy())

    def restore_states(self, values: Sequence[Array]) -> None:
        """Put back the states :meth:`states` returned."""
        variables = [
            v for site in self._sites for layer in site.stateful_layers for v in layer.states
        ]
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)

    # -- running -----------------------------------------------------------------------

    def __call__(self, inputs: Sequence[Array], masks: Sequence[Array | None]) -> CaptureRun:
        """Run the model once on ``inputs`` (one array per model input) and record everything."""
        timesteps = max((int(np.shape(x)[1]) for x in inputs if np.ndim(x) >= 3), default=1)
        tensors = [self._tensor(x, spec) for x, spec in zip(inputs, self.input_specs, strict=True)]
        mask_tensors = [None if m is None else self._mask_tensor(m) for m in masks]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not support masking.*")
            if self.runs_eagerly(timesteps):
                recorded = self._run(tensors, mask_tensors)
            else:
                recorded = self._graph(tensors, mask_tensors)
        return self._collect({k: self._to_numpy(v) for k, v in recorded.items()})

    def _graph(self, tensors: list[Any], masks: list[Any]) -> dict[str, Any]:
        if self._graph_function is None:
            import tensorflow as tf

            # A partial, not the bound method: TensorFlow counts traces per code object,
            # and every capture's first trace would read as "retracing" after five.
            # Autograph as model.predict has it: Keras 3 traces its predict step with
            # do_not_convert (the layers' Python runs as written; converting our walk
            # cost ~40% of a trace), Keras 2 with autograph on.
            self._graph_function = tf.function(
                functools.partial(ModelCapture._run, self), autograph=self.major < 3
            )
        result: dict[str, Any] = self._graph_function(tensors, masks)
        return result

    def _tensor(self, x: Array, spec: Any) -> Any:
        dtype = spec.dtype  # a string in Keras 3, a tf.DType in Keras 2
        numpy_dtype = np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
        array = np.asarray(x).astype(numpy_dtype, copy=False)
        if self.major >= 3:
            return self.keras.ops.convert_to_tensor(array)
        import tensorflow as tf

        return tf.convert_to_tensor(array)

    def _mask_tensor(self, mask: Array) -> Any:
        array = np.asarray(mask, dtype=bool)
        if self.major >= 3:
            return self.keras.ops.convert_to_tensor(array)
        import tensorflow as tf

        return tf.convert_to_tensor(array)

    def _to_numpy(self, tensor: Any) -> Array:
        if self.major >= 3:
            return np.asarray(self.keras.ops.convert_to_numpy(tensor))
        return np.asarray(tensor)

    def _run(self, tensors: list[Any], masks: list[Any]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        values: dict[int, Any] = {}
        for tensor, mask, key in zip(tensors, masks, self.input_ids, strict=True):
            if mask is not None:
                _set_mask(tensor, mask, self.major)  # a tensor we made, never the user's
            values[key] = tensor
        sites = iter(self._sites)
        self._run_function(_functional(self.model, self.major), tensors, values, sites, record)
        for key, value in values.items():
            record[f"t{key}"] = value
            mask = _get_mask(value, self.major)
            if mask is not None:
                record[f"m{key}"] = mask
        return record

    def _run_function(
        self,
        fn: Any,
        inputs: Sequence[Any],
        values: dict[int, Any],
        sites: Iterator[_Site],
        record: dict[str, Any],
    ) -> list[Any]:
        """Run ``fn``'s nodes as Keras does, calling the user's layers and our probes."""
        local: dict[int, Any] = {
            id(x): v for x, v in zip(_function_inputs(fn, self.major), inputs, strict=True)
        }
        for node in self._nodes(fn):
            operation = _operation(node, self.major)
            if operation is None or node.is_input:
                continue
            if any(id(x) not in local for x in _node_inputs(node, self.major)):
                continue
            args, kwargs = _fill_in(node, local, self.major)
            if _is_model(operation):
                flat = _flatten(args, self.major)
                mask = kwargs.get("mask")
                if mask is None and flat:
                    mask = _get_mask(flat[0], self.major)
                if mask is not None and flat:
                    # the inner layers read the outer call's mask off their input
                    flat[0] = _with_mask(flat[0], mask, self.major)
                inner = _functional(operation, self.major)
                outputs = self._run_function(inner, flat, values, sites, record)
            else:
                site = next(sites)
                outputs = self._call(site, args, kwargs, record)
                for key, value in zip(site.outputs, outputs, strict=True):
                    values[key] = value
            for x, y in zip(_node_outputs(node, self.major), outputs, strict=True):
                local[id(x)] = y
        return [local[id(x)] for x in _function_outputs(fn, self.major)]

    def _call(
        self, site: _Site, args: Any, kwargs: dict[str, Any], record: dict[str, Any]
    ) -> list[Any]:
        operation = site.operation
        if site.is_layer and getattr(operation, "_call_has_training_arg", False):
            kwargs["training"] = False
        if site.recurrent:
            flat = _flatten(args, self.major)
            first = flat[0]
            mask = kwargs.get("mask")
            if mask is None and site.implicit_mask:
                mask = _get_mask(first, self.major)
            if mask is not None:
                record[f"mask:{site.name}"] = mask
            given = kwargs.get("initial_state")
            if given is None and self.major < 3 and len(flat) > 1:
                given = flat[1:]
            if given is not None:
                states = list(given) if isinstance(given, (list, tuple)) else [given]
            else:
                states = [
                    _read(v, self.keras, self.major)
                    for layer in site.stateful_layers
                    for v in layer.states
                ]
            for i, state in enumerate(states):
                record[f"state:{site.name}:{i}"] = state
            if site.probes[0][1] is None:
                return self._call_own(site, args, kwargs, record)
            self._run_probes(site, first, mask, states, record)
        return _flatten(operation(*args, **kwargs), self.major)

    def _call_own(
        self, site: _Site, args: Any, kwargs: dict[str, Any], record: dict[str, Any]
    ) -> list[Any]:
        """Call the user's layer once with return_sequences and return_state set, restored
        afterwards, and return what the call returns as it is configured.

        Only for a stock Keras GRU/LSTM/SimpleRNN/RNN whose call is Keras' own
        (:func:`_own_read`): its last step and returned states are exactly its normal
        output, so one loop gives both, from the user's own layer.
        """
        layer = site.operation
        names = site.probes[0][2]
        flags = (layer.return_sequences, layer.return_state)
        layer.return_sequences, layer.return_state = True, True
        try:
            sequence, *states = _flatten(layer(*args, **kwargs), self.major)
        finally:
            layer.return_sequences, layer.return_state = flags
        record[f"probe:{site.name}:forward:sequence"] = sequence
        for name, state in zip(names, states, strict=True):
            record[f"probe:{site.name}:forward:{name}"] = state
        output = sequence if flags[0] else sequence[:, -1]
        return [output, *states] if flags[1] else [output]

    def _run_probes(
        self, site: _Site, x: Any, mask: Any, states: Sequence[Any], record: dict[str, Any]
    ) -> None:
        position = 0
        for direction, probe, names in site.probes:
            count = len(names)
            initial = list(states[position : position + count])
            position += count
            kwargs: dict[str, Any] = {"training": False}
            if mask is not None:
                kwargs["mask"] = mask
            if initial:
                kwargs["initial_state"] = initial
            outputs = probe(x, **kwargs)
            record[f"probe:{site.name}:{direction}:sequence"] = outputs[0]
            flat = _flatten(outputs[1:], self.major)
            for state, value in zip(names, flat, strict=True):
                record[f"probe:{site.name}:{direction}:{state}"] = value

    def _collect(self, recorded: Mapping[str, Array]) -> CaptureRun:
        values = dict(self.constants)
        masks: dict[int, Array | None] = {}
        for key, value in recorded.items():
            if key[0] == "t":
                values[int(key[1:])] = value
            elif key[0] == "m" and key[1:].isdigit():
                masks[int(key[1:])] = value
        calls: dict[str, CallValues] = {}
        for site in self._sites:
            if not site.reported:
                continue
            directions = {
                direction: KerasDirection(
                    sequence=recorded[f"probe:{site.name}:{direction}:sequence"],
                    final_states={
                        state: recorded[f"probe:{site.name}:{direction}:{state}"] for state in names
                    },
                    probed=probe is not None,
                )
                for direction, probe, names in site.probes
            }
            states: list[Array] = []
            while f"state:{site.name}:{len(states)}" in recorded:
                states.append(recorded[f"state:{site.name}:{len(states)}"])
            calls[site.name] = CallValues(
                inputs=tuple(values[i] for i in site.inputs),
                outputs=tuple(values[i] for i in site.outputs),
                mask=recorded.get(f"mask:{site.name}"),
                initial_state=tuple(states),
                directions=directions,
            )
        return CaptureRun(
            values=values,
            masks=masks,
            calls=calls,
            model_outputs=tuple(values[i] for i in self.output_ids),
        )


#: Where :func:`capture_of` keeps a model's capture: in the model's own ``__dict__``, so
#: it lives exactly as long as the model (a module-level cache would keep every checked
#: model alive) and bypasses Keras' attribute tracking.
_CACHE_ATTRIBUTE = "_rnnparity_capture"


def capture_of(model: Any, *, run_eagerly: bool | None = None) -> ModelCapture:
    """The capture of ``model``, reused by later checks while its layers stay as they were.

    A capture walks the graph, builds the probes and (on TensorFlow, for long
    sequences) traces one ``tf.function``; reusing it makes a second check of the same
    model cost about one forward pass (stateful batches, repeated checks, the fixture
    in a loop). It is reused only while :func:`model_fingerprint` is unchanged: the
    same layer objects, in the same order, with the same configs, variables and
    ``call`` methods (a layer whose ``call`` is patched later, a Sequential grown by
    ``add``, a flag set on a layer all give a fresh capture, since a traced graph
    would keep what was traced). The weights are read again on every reuse.
    """
    fingerprint = model_fingerprint(model)
    key = (run_eagerly, fingerprint)
    cached = getattr(model, "__dict__", {}).get(_CACHE_ATTRIBUTE)
    if fingerprint is not None and cached is not None and cached[0] == key:
        capture: ModelCapture = cached[1]
        capture.refresh()
        return capture
    capture = ModelCapture(model, run_eagerly=run_eagerly)
    if fingerprint is not None and hasattr(model, "__dict__"):
        model.__dict__[_CACHE_ATTRIBUTE] = (key, capture)
    return capture


def model_fingerprint(model: Any) -> tuple[Any, ...] | None:
    """What a traced capture depends on, besides the weights' values; None if unknowable.

    Every layer of the model, nested ones included: its identity and class, its config
    (as Keras serializes it), its variables and its ``call`` (the class's, or one
    patched on the instance), and the plain attributes a call may read.
    """
    try:
        return tuple(
            (
                id(layer),
                type(layer),
                json.dumps(layer.get_config(), sort_keys=True, default=repr),
                getattr(type(layer), "call", None),
                layer.__dict__.get("call"),  # the object: its id could be reused
                tuple(id(v) for v in layer.weights),
                _plain_attributes(layer),
            )
            for layer in model._flatten_layers(include_self=True, recursive=True)
        )
    except Exception:  # an unbuilt model, a custom get_config that raises: no reuse
        return None


def _plain_attributes(layer: Any) -> tuple[tuple[str, Any], ...]:
    """The layer's public flags and numbers (``return_sequences``, ``rate``...), which a
    traced call keeps as they were at tracing; a custom layer's config may omit them."""
    return tuple(
        sorted(
            (name, value)
            for name, value in vars(layer).items()
            if not name.startswith("_") and isinstance(value, (bool, int, float, str, type(None)))
        )
    )


def keras_outputs(capture: ModelCapture, run: CaptureRun) -> list[KerasLayerOutputs]:
    """Each reported call's first output (a pair for merge_mode=None) and probed directions."""
    results = []
    for call, described in zip(capture.graph, capture.described, strict=True):
        values = run.calls[call.name]
        output: Array | tuple[Array, Array] = values.outputs[0]
        if isinstance(described, BidirectionalLayer) and described.merge_mode is None:
            output = (values.outputs[0], values.outputs[1])
        results.append(
            KerasLayerOutputs(name=call.name, output=output, directions=dict(values.directions))
        )
    return results


def concat_batches(chunks: Sequence[list[KerasLayerOutputs]]) -> list[KerasLayerOutputs]:
    """Join the per-call results of successive batches along the batch axis."""
    if len(chunks) == 1:
        return chunks[0]
    joined = []
    for per_layer in zip(*chunks, strict=True):
        first = per_layer[0]
        if isinstance(first.output, tuple):
            output: Array | tuple[Array, Array] = (
                np.concatenate([c.output[0] for c in per_layer]),
                np.concatenate([c.output[1] for c in per_layer]),
            )
        else:
            output = np.concatenate([c.output for c in per_layer])
        directions = {
            d: KerasDirection(
                sequence=np.concatenate([c.directions[d].sequence for c in per_layer]),
                final_states={
                    s: np.concatenate([c.directions[d].final_states[s] for c in per_layer])
                    for s in first.directions[d].final_states
                },
                probed=first.directions[d].probed,
            )
            for d in first.directions
        }
        joined.append(KerasLayerOutputs(name=first.name, output=output, directions=directions))
    return joined


# -- Keras 3 and Keras 2, side by side ----------------------------------------------------


def _is_model(operation: Any) -> bool:
    return hasattr(operation, "layers") and (
        hasattr(operation, "_nodes_by_depth") or hasattr(operation, "_functional")
    )


def _functional(model: Any, major: int) -> Any:
    """The graph of a functional model or of a built Sequential."""
    if major < 3:
        if not getattr(model, "_is_graph_network", False) or not model.inputs:
            raise UnsupportedModelError(_unbuilt(model))
        return model
    if type(model).__name__ == "Sequential" or hasattr(model, "_functional"):
        graph = getattr(model, "_functional", None)
        if graph is not None:
            return graph
        if not hasattr(model, "_nodes_by_depth"):
            raise UnsupportedModelError(_unbuilt(model))
    return model


def _unbuilt(model: Any) -> str:
    return (
        f"model '{model.name}' was never built: give it an input (keras.Input(shape) as "
        "its first layer) or call it once on data before checking it"
    )


def _probe(layer: Any, suffix: str) -> Any:
    config = dict(layer.get_config())
    config.update(
        return_sequences=True, return_state=True, stateful=False, name=f"{layer.name}_{suffix}"
    )
    for key in _PROBE_INITIALIZERS:
        if key in config:
            config[key] = "zeros"
    return type(layer).from_config(config)


def _operation(node: Any, major: int) -> Any:
    return node.operation if major >= 3 else node.layer


def _function_inputs(fn: Any, major: int) -> list[Any]:
    return list(fn._inputs if major >= 3 else fn.inputs)


def _function_outputs(fn: Any, major: int) -> list[Any]:
    return list(fn._outputs if major >= 3 else fn.outputs)


def _node_inputs(node: Any, major: int) -> list[Any]:
    """Every Keras tensor a node reads (its positional inputs and tensors in its kwargs)."""
    return list(node.input_tensors if major >= 3 else node.keras_inputs)


#: Tensor arguments a layer call may be given by name besides its inputs and masks.
_TENSOR_ARGUMENTS = ("attention_mask",)
#: Arguments that are not data inputs of a layer call.
_NOT_DATA = frozenset({"mask", "initial_state", "training", "constants", *_TENSOR_ARGUMENTS})


def _arguments_of(layer: Any, node: Any, major: int) -> dict[str, Any]:
    """A node's arguments by the names of the layer's ``call`` parameters, in their order."""
    if major >= 3:
        args, kwargs = node.arguments.args, dict(node.arguments.kwargs)
    else:
        args, kwargs = tuple(node.call_args), dict(node.call_kwargs)
    try:
        bound = inspect.signature(layer.call).bind_partial(*args, **kwargs)
    except TypeError:
        return {f"arg{i}": value for i, value in enumerate(args)} | kwargs
    arguments = dict(bound.arguments)
    for name, value in list(arguments.items()):
        parameter = bound.signature.parameters.get(name)
        if parameter is not None and parameter.kind is inspect.Parameter.VAR_KEYWORD:
            del arguments[name]
            arguments.update(value)
    return arguments


def _data_names(arguments: Mapping[str, Any]) -> list[str]:
    return [
        name
        for name in arguments
        if name not in _NOT_DATA and not name.endswith("_mask") and _holds_tensor(arguments[name])
    ]


def _tensor_arguments(arguments: Mapping[str, Any]) -> int:
    """How many arguments of a call are tensors or lists of tensors (Keras 3's ``CallSpec``)."""
    return sum(1 for name, value in arguments.items() if name != "mask" and _holds_tensor(value))


def _holds_tensor(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return False
    if isinstance(value, (list, tuple)):
        return any(_holds_tensor(v) for v in value)
    return hasattr(value, "shape")


def _data_inputs(arguments: Mapping[str, Any], major: int) -> list[Any]:
    """The data tensors of a layer call, in the order of its ``call`` parameters."""
    data: list[Any] = []
    for name in _data_names(arguments):
        data.extend(x for x in _flatten(arguments[name], major) if hasattr(x, "shape"))
    return data


def _positional_inputs(node: Any, major: int) -> list[Any]:
    """The Keras tensors among a node's positional arguments, in order."""
    if major >= 3:
        from keras.src import tree
        from keras.src.backend import KerasTensor

        return [x for x in tree.flatten(node.arguments.args) if isinstance(x, KerasTensor)]
    import tensorflow as tf

    keras_inputs = {id(x) for x in node.keras_inputs}
    return [x for x in tf.nest.flatten(node.call_args) if id(x) in keras_inputs]


def _node_outputs(node: Any, major: int) -> list[Any]:
    if major >= 3:
        return list(node.outputs)
    import tensorflow as tf

    return list(tf.nest.flatten(node.outputs))


def _node_kwargs(node: Any, major: int) -> dict[str, Any]:
    return dict(node.arguments.kwargs if major >= 3 else node.call_kwargs)


def _fill_in(node: Any, local: Mapping[int, Any], major: int) -> tuple[Any, dict[str, Any]]:
    if major >= 3:
        args, kwargs = node.arguments.fill_in(local)
        return args, dict(kwargs)
    import tensorflow as tf

    def fill(x: Any) -> Any:
        return local.get(id(x), x)

    args = tf.nest.map_structure(fill, node.call_args)
    kwargs = tf.nest.map_structure(fill, dict(node.call_kwargs))
    return args, kwargs


def _flatten(structure: Any, major: int) -> list[Any]:
    if major >= 3:
        from keras.src import tree

        return list(tree.flatten(structure))
    import tensorflow as tf

    return list(tf.nest.flatten(structure))


def _get_mask(tensor: Any, major: int) -> Any:
    if major >= 3:
        from keras.src.backend import get_keras_mask

        return get_keras_mask(tensor)
    return getattr(tensor, "_keras_mask", None)


def _set_mask(tensor: Any, mask: Any, major: int) -> None:
    if major >= 3:
        from keras.src.backend import set_keras_mask

        set_keras_mask(tensor, mask)
    else:
        tensor._keras_mask = mask


def _with_mask(tensor: Any, mask: Any, major: int) -> Any:
    """A tensor of ours equal to ``tensor``, with ``mask`` attached (never the user's)."""
    import tensorflow as tf

    copy = tf.identity(tensor)
    _set_mask(copy, mask, major)
    return copy


def _read(variable: Any, keras: Any, major: int) -> Any:
    """A snapshot of a state variable now (not a handle that later reads its new value)."""
    if major >= 3:
        return keras.ops.copy(keras.ops.convert_to_tensor(variable))
    import tensorflow as tf

    return tf.identity(variable)


def _is_layer(operation: Any, keras: Any) -> bool:
    layer_class = getattr(getattr(keras, "layers", None), "Layer", None)
    return layer_class is not None and isinstance(operation, layer_class)


def _recurrent_class(operation: Any) -> bool:
    return keras_class_name(operation) in ("GRU", "LSTM", "SimpleRNN", "RNN", "Bidirectional")


def _class_name(operation: Any) -> str:
    name = type(operation).__name__
    if name == "Bidirectional":
        return f"Bidirectional({type(operation.forward_layer).__name__})"
    if name == "TimeDistributed":
        return f"TimeDistributed({type(operation.layer).__name__})"
    return name


def _opaque(site: _Site) -> OpaqueLayer:
    """Why the reference does not compute a call, in a few words."""
    operation = site.operation
    module = type(operation).__module__.split(".")[0]
    if not site.is_layer:
        reason = "an op of the model's graph, not a layer"
    elif (
        module not in ("keras", "tf_keras", "tensorflow")
        and keras_class_name(operation) == type(operation).__name__
    ):
        reason = "a custom layer: the reference has no equations for it"
    elif len(site.inputs) != 1 and functional_class(operation) is None:
        reason = "a one-input layer called on several inputs"
    else:
        full = unsupported_reason(operation) or ""
        if "supported layers:" in full:
            reason = f"Keras' {type(operation).__name__} has no reference yet"
        else:
            reason = full.split(": ", 1)[-1] if full else "the reference has no such layer"
    return OpaqueLayer(name=site.name, class_name=_class_name(operation), reason=reason)


def _own_read(layer: Any, described: ReferenceLayer) -> bool:
    """Whether the layer's own call can expose its steps: a stock Keras recurrent layer.

    Its class must be Keras' own (not a subclass) with Keras' own ``call`` (not patched
    on the class or on the instance). Setting ``return_sequences`` and ``return_state``
    on such a layer for one call returns its every step and its final states, and the
    last step (or the whole sequence) and the states are exactly what the call returns
    as configured. A Bidirectional merges inside its own call, and a layer with
    ``zero_output_for_mask`` and ``return_sequences=False`` zeroes a masked last step
    the sequence keeps: both get probes instead.
    """
    if not isinstance(described, RecurrentLayer | StackedLayer | ConvLSTMLayer):
        return False
    if described.zero_output_for_mask and not described.return_sequences:
        return False
    cls = type(layer)
    if cls.__name__ not in ("GRU", "LSTM", "SimpleRNN", "RNN", *CONV_LSTM_LAYERS):
        return False
    if cls.__module__.split(".")[0] not in ("keras", "tf_keras", "tensorflow"):
        return False
    own_call = getattr(cls, "call", None)
    if "call" in vars(layer) or "__call__" in vars(layer):
        return False
    return getattr(own_call, "__module__", "").split(".")[0] in ("keras", "tf_keras", "tensorflow")


def _keras_directions(
    layer: Any, described: DescribedLayer
) -> list[tuple[str, Any, tuple[str, ...]]]:
    """Each direction of a recurrent call: its Keras layer and its state names."""
    if isinstance(described, BidirectionalLayer):
        names = dict(state_names(described))
        return [
            ("forward", layer.forward_layer, names["forward"]),
            ("backward", layer.backward_layer, names["backward"]),
        ]
    return [(direction, layer, names) for direction, names in state_names(described)]


def _keras_direction_layer(layer: Any, direction: str) -> Any:
    if hasattr(layer, "forward_layer"):
        return layer.forward_layer if direction == "forward" else layer.backward_layer
    return layer
