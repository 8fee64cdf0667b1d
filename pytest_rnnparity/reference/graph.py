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
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import DTypeLike

from pytest_rnnparity.reference.model import run_layer
from pytest_rnnparity.reference.types import (
    STATE_NAMES,
    Array,
    BidirectionalLayer,
    BoolArray,
    LayerResult,
    LayerStates,
    RecurrentLayer,
    ReferenceLayer,
    recurrent_directions,
    resolve_dtype,
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
    states in ``STATE_NAMES`` order; a Bidirectional its merged output (or the pair for
    ``merge_mode=None``), then the forward states and the backward states.
    """
    main = list(result.output) if isinstance(result.output, tuple) else [result.output]
    if isinstance(layer, RecurrentLayer | BidirectionalLayer) and layer.return_state:
        for direction, described in recurrent_directions(layer):
            final = result.directions[direction].final_states
            main.extend(final[name] for name in STATE_NAMES[described.cell.kind])
    return main


def split_initial_state(layer: ReferenceLayer, states: Sequence[Array]) -> LayerStates | None:
    """Keras' flat list of initial states as ``direction -> state name -> array``."""
    if not states:
        return None
    directions = recurrent_directions(layer)
    if not directions:
        raise ValueError(f"layer {layer.name!r} is not recurrent and takes no initial states")
    expected = sum(len(STATE_NAMES[d.cell.kind]) for _, d in directions)
    if len(states) != expected:
        raise ValueError(
            f"layer {layer.name!r} takes {expected} initial state(s), got {len(states)}"
        )
    split: dict[str, dict[str, Array]] = {}
    position = 0
    for direction, described in directions:
        names = STATE_NAMES[described.cell.kind]
        split[direction] = dict(zip(names, states[position : position + len(names)], strict=True))
        position += len(names)
    return split


def run_call(
    call: GraphCall,
    inputs: Sequence[Array],
    *,
    mask: BoolArray | None,
    initial_state: Sequence[Array] = (),
    dtype: DTypeLike = "float32",
    hidden_only: bool = False,
    keras_major: int = 3,
) -> LayerResult:
    """Run one (not opaque) call on the given input values.

    Raises
    ------
    ValueError
        If the call is opaque, or takes more than one input (not implemented yet).
    """
    if call.layer is None:
        raise ValueError(f"call {call.name!r} is opaque: the reference does not compute it")
    if len(inputs) != 1:
        raise ValueError(
            f"call {call.name!r}: {type(call.layer).__name__} takes one input, got {len(inputs)}"
        )
    return run_layer(
        call.layer,
        inputs[0],
        mask=mask,
        initial_states=split_initial_state(call.layer, initial_state),
        dtype=dtype,
        hidden_only=hidden_only,
        keras_major=keras_major,
    )


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
            missing = [t for t in call.outputs if t not in values]
            if missing:
                raise ValueError(f"opaque call {call.name!r}: no value given for its outputs")
            continue
        inputs = [values[t] for t in call.inputs]
        mask: BoolArray | None
        if call.mask is not None:
            mask = np.asarray(values[call.mask]).astype(bool)
        elif call.implicit_mask and call.inputs:
            mask = masks.get(call.inputs[0])
        else:
            mask = None
        initial = [values[t] for t in call.initial_state]
        assert call.layer is not None
        if not initial and states and call.name in states:
            initial_states = states[call.name]
            result = run_layer(
                call.layer,
                inputs[0],
                mask=mask,
                initial_states=initial_states,
                dtype=compute_dtype,
                hidden_only=hidden_only,
                keras_major=keras_major,
            )
        else:
            result = run_call(
                call,
                inputs,
                mask=mask,
                initial_state=initial,
                dtype=compute_dtype,
                hidden_only=hidden_only,
                keras_major=keras_major,
            )
        results[call.name] = result
        outputs = layer_outputs(call.layer, result)
        if len(outputs) != len(call.outputs):
            raise ValueError(
                f"call {call.name!r}: the reference gives {len(outputs)} outputs, "
                f"Keras {len(call.outputs)}"
            )
        main = 2 if isinstance(result.output, tuple) else 1
        for position, (tensor, value) in enumerate(zip(call.outputs, outputs, strict=True)):
            values[tensor] = value
            masks[tensor] = result.mask if position < main else None
    return GraphRun(values=values, masks=masks, results=results)
