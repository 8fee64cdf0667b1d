"""Run a model's graph of layer calls through the reference, from the model's inputs.

A model is a graph: each layer *call* (a layer used twice is two calls) reads tensors
and writes tensors. Here a tensor is an integer id; :class:`GraphCall` says which ids
a call reads (its positional inputs, its mask, its initial states) and writes (its
outputs, in Keras' order). :func:`run_graph` computes every call in order:

* a call with a reference layer runs it on the reference's own values of its inputs
  (end to end: the reference never sees Keras' intermediate values);
* a call with no reference (``layer is None``: a custom layer, an op, a layer the
  reference does not implement yet) is *opaque*: its outputs are taken from
  ``given``, the values Keras computed, and the caller names it in every report;
* a tensor no call produces (a model input, a constant mask or initial state baked
  into a call) is taken from ``given`` too.

Masks follow Keras: a call's mask is the one the reference computed for its first
input (``implicit_mask``), or, when the call was given one explicitly, that tensor's
value. Nothing here imports keras.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import DTypeLike

from pytest_rnnparity.reference.layers.registry import run_functional
from pytest_rnnparity.reference.model import run_layer
from pytest_rnnparity.reference.types import (
    Array,
    BoolArray,
    FunctionalLayer,
    LayerResult,
    LayerStates,
    ReferenceLayer,
    resolve_dtype,
    state_names,
)


@dataclass(frozen=True)
class GraphCall:
    """One layer call of a model, as tensor ids in and out.

    ``name`` is unique in the graph (``gru``, ``encoder/gru``, ``dense (call 2)``);
    ``layer`` is the reference layer, or None when the call is opaque. ``inputs`` are
    the positional tensor inputs in order, ``outputs`` the outputs in Keras' order
    (a recurrent layer with ``return_state``: the output, then its states). ``mask``
    is the id of a mask the call was given explicitly (a constant or one computed by
    an op); without it the call takes the mask of its first input
    (``implicit_mask``). ``initial_state`` holds the ids of the initial states, in
    Keras' order (a Bidirectional: the forward states, then the backward ones).
    """

    name: str
    layer: ReferenceLayer | None
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    class_name: str = ""
    mask: int | None = None
    implicit_mask: bool = True
    initial_state: tuple[int, ...] = ()
    #: Explicit masks of a multi-input call, one id (or None) per input.
    input_masks: tuple[int | None, ...] = ()
    #: Tensor arguments given by name (``attention_mask``), by their argument name.
    tensors: Mapping[str, int] = field(default_factory=dict)

    @property
    def opaque(self) -> bool:
        """Whether the reference does not compute this call (its outputs are Keras')."""
        return self.layer is None


@dataclass(frozen=True)
class GraphRun:
    """What the reference computed for a graph: every tensor, every mask, every call."""

    values: Mapping[int, Array]
    masks: Mapping[int, BoolArray | None]
    results: Mapping[str, LayerResult] = field(default_factory=dict)


def layer_outputs(layer: ReferenceLayer, result: LayerResult) -> list[Array]:
    """A reference result as the list of outputs the Keras layer returns, in its order.

    A recurrent layer returns its output, then (with ``return_state``) its final
    states (:func:`~pytest_rnnparity.reference.types.state_names`); a Bidirectional its
    merged output (or the pair for ``merge_mode=None``), then the forward states and
    the backward states.
    """
    main = list(result.output) if isinstance(result.output, tuple) else [result.output]
    if getattr(layer, "return_state", False):
        for direction, names in state_names(layer):
            final = result.directions[direction].final_states
            main.extend(final[name] for name in names)
    return main


def split_initial_state(layer: ReferenceLayer, states: Sequence[Array]) -> LayerStates | None:
    """Keras' flat list of initial states as ``direction -> state name -> array``."""
    if not states:
        return None
    directions = state_names(layer)
    if not directions:
        raise ValueError(f"layer {layer.name!r} is not recurrent and takes no initial states")
    expected = sum(len(names) for _, names in directions)
    if len(states) != expected:
        raise ValueError(
            f"layer {layer.name!r} takes {expected} initial state(s), got {len(states)}"
        )
    split: dict[str, dict[str, Array]] = {}
    position = 0
    for direction, names in directions:
        split[direction] = dict(zip(names, states[position : position + len(names)], strict=True))
        position += len(names)
    return split


def run_call(
    call: GraphCall,
    inputs: Sequence[Array],
    *,
    masks: Sequence[BoolArray | None],
    initial_state: Sequence[Array] = (),
    tensors: Mapping[str, Array] | None = None,
    states: LayerStates | None = None,
    dtype: DTypeLike = "float32",
    hidden_only: bool = False,
    keras_major: int = 3,
) -> tuple[LayerResult, list[Array], list[BoolArray | None]]:
    """Run one (not opaque) call on the given input values and masks (one per input).

    ``tensors`` are tensor arguments given by name (``attention_mask``); ``states`` the
    initial states of a stateful call when ``initial_state`` gives none. Returns the
    result and every output with its mask, in Keras' order.

    Raises
    ------
    ValueError
        If the call is opaque, or its inputs do not fit its layer.
    """
    layer = call.layer
    if layer is None:
        raise ValueError(f"call {call.name!r} is opaque: the reference does not compute it")
    if isinstance(layer, FunctionalLayer):
        if tensors:
            layer = replace(layer, weights={**layer.weights, **tensors})
        outputs, output_masks = run_functional(
            layer, inputs, masks, dtype=dtype, keras_major=keras_major
        )
        result = LayerResult(name=call.name, output=outputs[0], mask=output_masks[0])
        return result, outputs, output_masks
    if len(inputs) != 1:
        raise ValueError(
            f"call {call.name!r}: {type(layer).__name__} takes one input, got {len(inputs)}"
        )
    initial = split_initial_state(layer, initial_state) if initial_state else states
    result = run_layer(
        layer,
        inputs[0],
        mask=masks[0] if masks else None,
        initial_states=initial,
        dtype=dtype,
        hidden_only=hidden_only,
        keras_major=keras_major,
    )
    outputs = layer_outputs(layer, result)
    main = 2 if isinstance(result.output, tuple) else 1
    return result, outputs, [result.mask if i < main else None for i in range(len(outputs))]


def call_masks(
    call: GraphCall, values: Mapping[int, Array], masks: Mapping[int, BoolArray | None]
) -> list[BoolArray | None]:
    """The mask of each input of a call: given explicitly, or the one its input carries."""
    if call.input_masks:
        return [
            None if key is None else np.asarray(values[key]).astype(bool)
            for key in call.input_masks
        ]
    if call.mask is not None:
        return [np.asarray(values[call.mask]).astype(bool)] + [None] * (len(call.inputs) - 1)
    if call.implicit_mask:
        return [masks.get(key) for key in call.inputs]
    return [None] * len(call.inputs)


def run_graph(
    calls: Sequence[GraphCall],
    given: Mapping[int, Array],
    *,
    given_masks: Mapping[int, BoolArray | None] | None = None,
    states: Mapping[str, LayerStates] | None = None,
    dtype: DTypeLike = "float32",
    hidden_only: bool = False,
    keras_major: int = 3,
) -> GraphRun:
    """Compute every call of ``calls`` (in order) from the values in ``given``.

    Parameters
    ----------
    calls : sequence of GraphCall
        In an order where each call's inputs are produced before it (Keras' order).
    given : mapping
        Tensor id -> value for every tensor no computed call produces: the model's
        inputs, constants, and the outputs of opaque calls (Keras' values).
    given_masks : mapping, optional
        Tensor id -> the mask Keras attached to it, for the given tensors (model inputs
        with a mask, opaque calls' outputs).
    states : mapping, optional
        Call name -> initial states (direction -> state name -> array) for calls that
        start from a state no tensor holds: stateful layers between batches.
    dtype, hidden_only, keras_major
        As for :func:`~pytest_rnnparity.reference.model.run_reference`.

    Returns
    -------
    GraphRun
        Every tensor's value (the given ones as the computation dtype), the mask
        attached to each, and each computed call's :class:`LayerResult`.
    """
    compute_dtype = resolve_dtype(dtype)
    values: dict[int, Array] = {}
    for key, value in given.items():
        array = np.asarray(value)
        values[key] = array.astype(compute_dtype) if array.dtype.kind == "f" else array
    masks: dict[int, BoolArray | None] = dict(given_masks or {})
    results: dict[str, LayerResult] = {}
    for call in calls:
        if call.opaque:
            missing = [key for key in call.outputs if key not in values]
            if missing:
                raise ValueError(f"opaque call {call.name!r}: no value given for its outputs")
            continue
        result, outputs, output_masks = run_call(
            call,
            [values[key] for key in call.inputs],
            masks=call_masks(call, values, masks),
            initial_state=[values[key] for key in call.initial_state],
            tensors={name: values[key] for name, key in call.tensors.items()},
            states=(states or {}).get(call.name),
            dtype=compute_dtype,
            hidden_only=hidden_only,
            keras_major=keras_major,
        )
        results[call.name] = result
        if len(outputs) != len(call.outputs):
            raise ValueError(
                f"call {call.name!r}: the reference gives {len(outputs)} outputs, "
                f"Keras {len(call.outputs)}"
            )
        for key, value, mask in zip(call.outputs, outputs, output_masks, strict=True):
            values[key] = value
            masks[key] = mask
    return GraphRun(values=values, masks=masks, results=results)
