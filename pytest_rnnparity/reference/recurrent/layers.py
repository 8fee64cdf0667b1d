"""Keras 3 layer semantics on top of the cells: the time loop, masks, ``go_backwards``,
``Bidirectional``, and the non-recurrent layers a recurrent model is built from.

Everything here mirrors ``keras/src/layers/rnn/rnn.py``, ``bidirectional.py``,
``keras/src/backend/tensorflow/rnn.py`` (the non-cuDNN loop) and
``keras/src/layers/core/masking.py``. Weights and inputs are cast to the
computation dtype once, at the start of each layer: ``"float32"`` mirrors Keras,
``"float64"`` is the ground truth Keras' float32 result is measured against.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from pytest_rnnparity.reference.masks import check_mask
from pytest_rnnparity.reference.recurrent.cells import fuse_weights, make_step, project_inputs
from pytest_rnnparity.reference.types import (
    DIRECTIONS,
    STATE_NAMES,
    TRACE_NAMES,
    Array,
    BidirectionalLayer,
    BoolArray,
    LayerResult,
    LayerStates,
    MergeMode,
    RecurrentLayer,
    RecurrentTrace,
    StateMap,
    resolve_dtype,
)


def run_recurrent(
    layer: RecurrentLayer,
    inputs: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    initial_state: StateMap | None = None,
    dtype: DTypeLike = "float32",
    hidden_only: bool = False,
    keras_major: int = 3,
) -> RecurrentTrace:
    """Run one recurrent layer (one direction) over a batch of sequences.

    The input projection of all timesteps is one matmul; the loop runs over time
    only, each step on the whole batch.

    Masks follow Keras' (non-cuDNN) loop: at a masked step the cell still computes a
    step from the carried state, then Keras discards it, so

    * the states (``final_states`` and the ``"hidden"``/``"cell"`` traces) keep
      their previous value: the traces hold the carried state;
    * the gate traces (``"update"``, ``"input"``, ``"candidate"``, ...) hold what the
      cell computed and Keras discarded;
    * ``outputs`` repeats the previous step's output, which is zero before the first
      unmasked step even when the initial state is not; or it is zero when
      ``layer.zero_output_for_mask``.

    Parameters
    ----------
    layer : RecurrentLayer
        The layer; ``layer.go_backwards`` processes the sequence last step first.
    inputs : array, shape (B, T, F)
    mask : array, shape (B, T), optional
        True (nonzero) where a step is used, in input time order.
    initial_state : mapping, optional
        State name (``STATE_NAMES[kind]``) -> ``(B, units)``; all states or none.
        Default zeros.
    dtype : "float32" or "float64"
        The computation dtype; weights, inputs and states are cast to it once.
    hidden_only : bool
        Keep only the ``"hidden"`` trace (saves memory on long sequences).
    keras_major : int
        Which Keras' activation definitions to use (see ``get_activation``).

    Returns
    -------
    RecurrentTrace
        ``outputs`` and ``traces`` are ``(B, T, units)`` in processing order (reversed
        in time with ``go_backwards``, as Keras returns them); ``final_states`` the
        states after the last step. Without a mask the ``"hidden"`` trace is the
        ``outputs`` array itself.

    Raises
    ------
    ValueError
        If the inputs, mask, initial state or weights do not fit the layer.
    UnsupportedModelError
        If an activation is not supported.
    """
    compute_dtype = resolve_dtype(dtype)
    cell = layer.cell
    fused = fuse_weights(cell, layer.weights, dtype=compute_dtype)
    features = fused.kernel.shape[0]
    x = _sequence(inputs, compute_dtype, features, layer.name)
    batch, timesteps, _ = x.shape
    step_mask = check_mask(mask, batch, timesteps, layer.name)
    states = _initial_state(initial_state, cell.kind, batch, cell.units, compute_dtype, layer.name)
    step = make_step(cell, fused, keras_major=keras_major)

    matrix_x = project_inputs(x, fused.kernel, fused.input_bias)
    if layer.go_backwards:
        matrix_x = matrix_x[:, ::-1]
        if step_mask is not None:
            step_mask = step_mask[:, ::-1]

    state_names = STATE_NAMES[cell.kind]
    if hidden_only:
        trace_names: tuple[str, ...] = ("hidden",)
    else:
        trace_names = TRACE_NAMES[cell.kind]
    if step_mask is None:
        # Without a mask the hidden state is the output, so one array serves both.
        trace_names = tuple(name for name in trace_names if name != "hidden")
    shape = (batch, timesteps, cell.units)
    outputs = np.empty(shape, dtype=compute_dtype)
    traces = {name: np.empty(shape, dtype=compute_dtype) for name in trace_names}
    previous_output = np.zeros((batch, cell.units), dtype=compute_dtype)
    zero_output = previous_output

    for t in range(timesteps):
        values = step(matrix_x[:, t], states)
        new_states = tuple(values[name] for name in state_names)
        output = values["hidden"]
        if step_mask is not None:
            keep = step_mask[:, t, np.newaxis]
            new_states = tuple(
                np.where(keep, new, old) for new, old in zip(new_states, states, strict=True)
            )
            fallback = zero_output if layer.zero_output_for_mask else previous_output
            output = np.where(keep, output, fallback)
        carried = dict(zip(state_names, new_states, strict=True))
        for name in trace_names:
            traces[name][:, t] = carried.get(name, values[name])
        outputs[:, t] = output
        previous_output = output
        states = new_states

    if step_mask is None:
        traces["hidden"] = outputs
    ordered = {name: traces[name] for name in TRACE_NAMES[cell.kind] if name in traces}
    return RecurrentTrace(
        kind=cell.kind,
        outputs=outputs,
        final_states=dict(zip(state_names, states, strict=True)),
        traces=ordered,
    )


def run_bidirectional(
    wrapper: BidirectionalLayer,
    inputs: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    initial_states: LayerStates | None = None,
    dtype: DTypeLike = "float32",
    hidden_only: bool = False,
    keras_major: int = 3,
) -> LayerResult:
    """Run a ``Bidirectional`` wrapper: both directions, then merge.

    As Keras does, both directions run with ``zero_output_for_mask`` set to
    ``return_sequences`` (whatever the wrapped layers say); with
    ``return_sequences`` the backward outputs are flipped back to input time order
    before merging, without it the two last outputs are merged::

        concat: [y, y_rev] on the last axis    sum: y + y_rev
        mul:    y * y_rev                      ave: (y + y_rev) / 2
        None:   the pair (y, y_rev)

    Parameters
    ----------
    wrapper : BidirectionalLayer
    inputs : array, shape (B, T, F)
    mask : array, shape (B, T), optional
    initial_states : mapping, optional
        ``"forward"``/``"backward"`` -> state name -> ``(B, units)``.
    dtype, hidden_only, keras_major
        As for :func:`run_recurrent`.

    Returns
    -------
    LayerResult
        ``output`` is ``(B, T, 2 * units)`` (concat) or ``(B, T, units)`` with
        ``return_sequences``, ``(B, 2 * units)`` or ``(B, units)`` without; a pair for
        ``merge_mode=None``. ``directions`` holds both traces, each in its own
        processing order. ``mask`` is passed on only with ``return_sequences``.
    """
    forward, backward = wrapper.forward, wrapper.backward
    if forward.go_backwards == backward.go_backwards:
        raise ValueError(
            f"layer {wrapper.name!r}: the forward and backward layers must differ in "
            f"go_backwards, both have go_backwards={forward.go_backwards}"
        )
    if not forward.return_sequences == backward.return_sequences == wrapper.return_sequences:
        raise ValueError(
            f"layer {wrapper.name!r}: return_sequences must be the same for the wrapper "
            f"({wrapper.return_sequences}), the forward ({forward.return_sequences}) "
            f"and the backward ({backward.return_sequences}) layer"
        )
    states = direction_states(initial_states, DIRECTIONS, wrapper.name)
    x = np.asarray(inputs, dtype=resolve_dtype(dtype))
    directions = {
        direction: run_recurrent(
            replace(layer, zero_output_for_mask=wrapper.return_sequences),
            x,
            mask=mask,
            initial_state=states.get(direction),
            dtype=dtype,
            hidden_only=hidden_only,
            keras_major=keras_major,
        )
        for direction, layer in zip(DIRECTIONS, (forward, backward), strict=True)
    }
    y, y_rev = directions["forward"].outputs, directions["backward"].outputs
    if wrapper.return_sequences:
        y_rev = y_rev[:, ::-1]
    else:
        y, y_rev = y[:, -1], y_rev[:, -1]
    return LayerResult(
        name=wrapper.name,
        output=merge_directions(y, y_rev, wrapper.merge_mode),
        mask=passed_on(mask, wrapper.return_sequences),
        directions=directions,
    )


def merge_directions(y: Array, y_rev: Array, merge_mode: MergeMode) -> Array | tuple[Array, Array]:
    """Merge the forward output ``y`` and the backward output ``y_rev`` as Keras does."""
    if merge_mode == "concat":
        return np.concatenate([y, y_rev], axis=-1)
    if merge_mode == "sum":
        return y + y_rev
    if merge_mode == "mul":
        return y * y_rev
    if merge_mode == "ave":
        return (y + y_rev) / 2
    if merge_mode is None:
        return (y, y_rev)
    raise ValueError(
        f"merge_mode must be 'concat', 'sum', 'mul', 'ave' or None, got {merge_mode!r}"
    )


def _sequence(inputs: ArrayLike, dtype: np.dtype[np.floating], features: int, layer: str) -> Array:
    x = np.asarray(inputs, dtype=dtype)
    if x.ndim != 3 or x.shape[2] != features or x.shape[1] == 0:
        raise ValueError(
            f"layer {layer!r}: expected inputs of shape (batch, timesteps >= 1, "
            f"features={features}), got shape {x.shape}"
        )
    return x


def _initial_state(
    given: StateMap | None,
    kind: str,
    batch: int,
    units: int,
    dtype: np.dtype[np.floating],
    layer: str,
) -> tuple[Array, ...]:
    names = STATE_NAMES[kind]
    if given is None:
        return tuple(np.zeros((batch, units), dtype=dtype) for _ in names)
    if set(given) != set(names):
        raise ValueError(
            f"layer {layer!r}: initial state must give exactly the states "
            f"{', '.join(names)}; got {', '.join(given) or 'none'}"
        )
    states = tuple(np.asarray(given[name], dtype=dtype) for name in names)
    for name, state in zip(names, states, strict=True):
        if state.shape != (batch, units):
            raise ValueError(
                f"layer {layer!r}: initial state {name!r} must have shape "
                f"(batch, units) = ({batch}, {units}), got {state.shape}"
            )
    return states


def direction_states(
    given: LayerStates | None, directions: tuple[str, ...], layer: str
) -> LayerStates:
    if not given:
        return {}
    unknown = set(given) - set(directions)
    if unknown:
        raise ValueError(
            f"layer {layer!r}: initial states are keyed by direction "
            f"({', '.join(directions)}); got {', '.join(sorted(unknown))}"
        )
    return given


def passed_on(mask: ArrayLike | None, return_sequences: bool) -> BoolArray | None:
    """What a recurrent layer passes on: its input mask, only with ``return_sequences``."""
    if mask is None or not return_sequences:
        return None
    return np.asarray(mask).astype(bool, copy=False)
