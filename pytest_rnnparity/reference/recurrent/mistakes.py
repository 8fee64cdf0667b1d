"""The classic mistakes of hand-written recurrent passes, as transformations of the reference.

A port of a Keras GRU/LSTM to C, an FPGA, a microcontroller or PyTorch that disagrees
with Keras usually makes one or more of a few well-known mistakes. Each :class:`Mistake`
here rewrites how the reference computes a layer so that it makes that mistake: most
rewrite the per-gate weights or the cell's options (:class:`~.types.RecurrentLayer`),
three change the time loop (:class:`Variant`): the update convention, whether the state
is carried from one window (row of the batch) into the next, and which Keras
generation's ``hard_sigmoid`` is used. :func:`run_variant` runs the result.

The catalogue (``MISTAKES``), each entry applicable to some cells only:

==============================  ==========================================================
name                            what the port did
==============================  ==========================================================
``swap_zr``                     GRU: z and r swapped; also what reading Keras' columns in
                                PyTorch's gate order ``r, z, n`` does
``lstm_order_tf1``              LSTM: the columns read as ``i, c, f, o`` (TensorFlow 1's
                                ``LSTMCell``); PyTorch's ``i, f, g, o`` is Keras' order
``lstm_order_onnx``             LSTM: the columns read as ``i, o, f, c`` (ONNX)
``transposed_kernel``           every gate's input kernel transposed (only when
                                ``features == units``, else the shapes would not fit)
``transposed_recurrent_kernel`` every gate's recurrent kernel transposed
``swap_bias_rows``              GRU ``reset_after=True``: the two bias rows swapped
``drop_recurrent_bias``         GRU ``reset_after=True``: the recurrent bias row dropped
``forget_bias``                 LSTM: 1 added to the forget gate's bias (TensorFlow 1's
                                ``forget_bias=1.0`` on top of Keras' trained bias)
``reset_before``                GRU ``reset_after=True`` computed as the textbook GRU
                                (``reset_after=False``): r applied to ``h_tm1`` before the
                                matmul, the recurrent bias row dropped
``reset_after``                 GRU ``reset_after=False`` computed with r applied after the
                                matmul, as ``reset_after=True`` and PyTorch do
``inverted_update``             GRU: ``h = (1 - z) * h_tm1 + z * hh`` (Keras:
                                ``h = z * h_tm1 + (1 - z) * hh``)
``carried_state``               a stateless layer's state carried from each window into
                                the next (the notebook's pass)
``reset_state``                 a stateful layer's state reset at every window
``hard_sigmoid_keras2``         Keras 3 model, Keras 2's ``hard_sigmoid``
                                ``clip(0.2 x + 0.5, 0, 1)``
``hard_sigmoid_keras3``         Keras 2 model, Keras 3's ``hard_sigmoid``
                                ``clip(x / 6 + 0.5, 0, 1)``
==============================  ==========================================================

Mistakes compose in catalogue order (gate order first, then kernels, biases, the reset
gate's place, the time loop), which is also the order they are named in.
Nothing here imports keras or tensorflow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from pytest_rnnparity.reference.recurrent.cells import fuse_weights, make_step, project_inputs
from pytest_rnnparity.reference.types import (
    GATES,
    STATE_NAMES,
    TRACE_NAMES,
    Array,
    CellWeights,
    RecurrentLayer,
    RecurrentTrace,
    resolve_dtype,
)


@dataclass(frozen=True)
class Setting:
    """What, besides the layer itself, decides which mistakes apply.

    ``stateful``: the layer carries its state from one window (row) to the next, as a
    Keras stateful layer fed one window per batch does. ``keras_major``: the Keras
    generation the model runs under (only ``hard_sigmoid`` differs).
    """

    stateful: bool = False
    keras_major: int = 3


@dataclass(frozen=True)
class Variant:
    """How to run one direction of a layer: its description and the options of the time loop.

    ``layer`` carries the (possibly rewritten) weights and cell options;
    ``inverted_update`` computes a GRU's ``h = (1 - z) * h_tm1 + z * hh``;
    ``carry_state`` starts each row of the batch from the previous row's final state;
    ``keras_major`` chooses the generation of ``hard_sigmoid``.
    """

    layer: RecurrentLayer
    inverted_update: bool = False
    carry_state: bool = False
    keras_major: int = 3

    @classmethod
    def of(cls, layer: RecurrentLayer, setting: Setting) -> Variant:
        """The variant that computes what Keras computes (no mistake)."""
        return cls(layer=layer, carry_state=setting.stateful, keras_major=setting.keras_major)


@dataclass(frozen=True)
class Mistake:
    """One classic mistake: when it applies and how it rewrites a :class:`Variant`.

    ``explanation`` completes the sentence "... matches Keras if <explanation>";
    ``cost`` orders the search (cheap rewrites of the weights first, a state carried
    row by row last).
    """

    name: str
    explanation: str
    applies: Callable[[RecurrentLayer, Setting], bool]
    apply: Callable[[Variant], Variant]
    cost: int = 1


# ------------------------------------------------------------------------ rewrites


def _per_gate(
    weights: CellWeights, change: Callable[[Mapping[str, Array]], Mapping[str, Array]]
) -> CellWeights:
    """``change`` applied to each of the four per-gate mappings that is present."""
    return replace(
        weights,
        kernel=change(weights.kernel),
        recurrent_kernel=change(weights.recurrent_kernel),
        input_bias=None if weights.input_bias is None else change(weights.input_bias),
        recurrent_bias=None if weights.recurrent_bias is None else change(weights.recurrent_bias),
    )


def read_as(order: Sequence[str]) -> Callable[[Variant], Variant]:
    """A port that reads Keras' gate columns in another ``order`` of the same gate names.

    Keras' column ``k`` holds gate ``GATES[kind][k]``; the port takes it for
    ``order[k]``. So the port's gate ``order[k]`` gets Keras' gate ``GATES[kind][k]``.
    """

    def apply(variant: Variant) -> Variant:
        layer = variant.layer
        keras_order = GATES[layer.cell.kind]

        def permute(per_gate: Mapping[str, Array]) -> Mapping[str, Array]:
            taken = {port: per_gate[keras] for port, keras in zip(order, keras_order, strict=True)}
            return {gate: taken[gate] for gate in keras_order}

        return replace(variant, layer=replace(layer, weights=_per_gate(layer.weights, permute)))

    return apply


def _with_weights(change: Callable[[CellWeights], CellWeights]) -> Callable[[Variant], Variant]:
    def apply(variant: Variant) -> Variant:
        layer = variant.layer
        return replace(variant, layer=replace(layer, weights=change(layer.weights)))

    return apply


def _transpose(per_gate: Mapping[str, Array]) -> Mapping[str, Array]:
    return {gate: np.asarray(array).T for gate, array in per_gate.items()}


def _zeros(per_gate: Mapping[str, Array]) -> Mapping[str, Array]:
    return {gate: np.zeros_like(array) for gate, array in per_gate.items()}


def _swap_bias_rows(weights: CellWeights) -> CellWeights:
    return replace(weights, input_bias=weights.recurrent_bias, recurrent_bias=weights.input_bias)


def _drop_recurrent_bias(weights: CellWeights) -> CellWeights:
    assert weights.recurrent_bias is not None
    return replace(weights, recurrent_bias=_zeros(weights.recurrent_bias))


def _forget_bias(weights: CellWeights) -> CellWeights:
    assert weights.input_bias is not None
    bias = dict(weights.input_bias)
    bias["f"] = np.asarray(bias["f"], dtype=np.float64) + 1
    return replace(weights, input_bias=bias)


def _reset_before(variant: Variant) -> Variant:
    layer = variant.layer
    cell = replace(layer.cell, reset_after=False)
    weights = replace(layer.weights, recurrent_bias=None)
    return replace(variant, layer=replace(layer, cell=cell, weights=weights))


def _reset_after(variant: Variant) -> Variant:
    layer = variant.layer
    cell = replace(layer.cell, reset_after=True)
    recurrent_bias = None
    if layer.weights.input_bias is not None:
        # a reset_after=True cell with biases needs both rows; the port has no second one
        recurrent_bias = _zeros(layer.weights.input_bias)
    weights = replace(layer.weights, recurrent_bias=recurrent_bias)
    return replace(variant, layer=replace(layer, cell=cell, weights=weights))


# ------------------------------------------------------------------- applicability


def _kind(*kinds: str) -> Callable[[RecurrentLayer, Setting], bool]:
    return lambda layer, _setting: layer.cell.kind in kinds


def _gru_reset_after(with_bias: bool) -> Callable[[RecurrentLayer, Setting], bool]:
    def applies(layer: RecurrentLayer, _setting: Setting) -> bool:
        cell = layer.cell
        return cell.kind == "gru" and cell.reset_after and (cell.use_bias or not with_bias)

    return applies


def _square_kernel(layer: RecurrentLayer, _setting: Setting) -> bool:
    return layer.weights.features == layer.weights.units > 1


def _uses_hard_sigmoid(major: int) -> Callable[[RecurrentLayer, Setting], bool]:
    def applies(layer: RecurrentLayer, setting: Setting) -> bool:
        names = (layer.cell.activation, layer.cell.recurrent_activation)
        is_major = (setting.keras_major >= 3) == (major >= 3)
        return is_major and "hard_sigmoid" in names

    return applies


def _flip_keras_major(variant: Variant) -> Variant:
    return replace(variant, keras_major=2 if variant.keras_major >= 3 else 3)


MISTAKES: tuple[Mistake, ...] = (
    Mistake(
        "swap_zr",
        "z and r are swapped (PyTorch's gate order r, z, n)",
        _kind("gru"),
        read_as(("r", "z", "h")),
    ),
    Mistake(
        "lstm_order_tf1",
        "the gates are read in TensorFlow 1's order i, c, f, o",
        _kind("lstm"),
        read_as(("i", "c", "f", "o")),
    ),
    Mistake(
        "lstm_order_onnx",
        "the gates are read in ONNX's order i, o, f, c",
        _kind("lstm"),
        read_as(("i", "o", "f", "c")),
    ),
    Mistake(
        "transposed_kernel",
        "the input kernel is transposed",
        _square_kernel,
        _with_weights(lambda w: replace(w, kernel=_transpose(w.kernel))),
    ),
    Mistake(
        "transposed_recurrent_kernel",
        "the recurrent kernel is transposed",
        lambda layer, _setting: layer.weights.units > 1,
        _with_weights(lambda w: replace(w, recurrent_kernel=_transpose(w.recurrent_kernel))),
    ),
    Mistake(
        "swap_bias_rows",
        "the two bias rows are swapped",
        _gru_reset_after(with_bias=True),
        _with_weights(_swap_bias_rows),
    ),
    Mistake(
        "drop_recurrent_bias",
        "the recurrent bias row is dropped",
        _gru_reset_after(with_bias=True),
        _with_weights(_drop_recurrent_bias),
    ),
    Mistake(
        "forget_bias",
        "1 is added to the forget gate's bias (TensorFlow 1's forget_bias)",
        lambda layer, _setting: layer.cell.kind == "lstm" and layer.cell.use_bias,
        _with_weights(_forget_bias),
    ),
    Mistake(
        "reset_before",
        "the reset gate is applied to h_tm1 before the matmul with the recurrent bias row "
        "dropped (reset_after=True ignored)",
        _gru_reset_after(with_bias=False),
        _reset_before,
    ),
    Mistake(
        "reset_after",
        "the reset gate is applied after the matmul (reset_after=False ignored)",
        lambda layer, _setting: layer.cell.kind == "gru" and not layer.cell.reset_after,
        _reset_after,
    ),
    Mistake(
        "inverted_update",
        "the update convention is inverted",
        _kind("gru"),
        lambda variant: replace(variant, inverted_update=True),
    ),
    Mistake(
        "hard_sigmoid_keras2",
        "hard_sigmoid is Keras 2's clip(0.2 * x + 0.5, 0, 1)",
        _uses_hard_sigmoid(3),
        _flip_keras_major,
    ),
    Mistake(
        "hard_sigmoid_keras3",
        "hard_sigmoid is Keras 3's clip(x / 6 + 0.5, 0, 1)",
        _uses_hard_sigmoid(2),
        _flip_keras_major,
    ),
    Mistake(
        "carried_state",
        "the state is carried from one window into the next",
        lambda _layer, setting: not setting.stateful,
        lambda variant: replace(variant, carry_state=True),
        cost=3,
    ),
    Mistake(
        "reset_state",
        "the state is reset at every window although the layer is stateful",
        lambda _layer, setting: setting.stateful,
        lambda variant: replace(variant, carry_state=False),
    ),
)

#: Every mistake by name.
MISTAKES_BY_NAME: Mapping[str, Mistake] = {mistake.name: mistake for mistake in MISTAKES}
#: Mistake names, in catalogue order.
MISTAKE_NAMES: tuple[str, ...] = tuple(MISTAKES_BY_NAME)

#: Pairs where the first mistake makes the second one change nothing: a set holding
#: both computes what the smaller set computes, so it is never an explanation of its own.
REDUNDANT: frozenset[tuple[str, str]] = frozenset({("reset_before", "drop_recurrent_bias")})


def applicable(layer: RecurrentLayer, setting: Setting) -> tuple[Mistake, ...]:
    """The mistakes that can be made on ``layer`` under ``setting``, in catalogue order."""
    return tuple(mistake for mistake in MISTAKES if mistake.applies(layer, setting))


def is_redundant(names: Sequence[str]) -> bool:
    """Whether a set of mistakes holds a pair of which one cancels the other's effect."""
    chosen = set(names)
    return any(first in chosen and second in chosen for first, second in REDUNDANT)


def apply_mistakes(layer: RecurrentLayer, setting: Setting, names: Sequence[str]) -> Variant:
    """The variant of ``layer`` that makes the named mistakes (applied in catalogue order).

    Raises
    ------
    ValueError
        If a name is unknown or the mistake does not apply to this layer.
    """
    unknown = [name for name in names if name not in MISTAKES_BY_NAME]
    if unknown:
        raise ValueError(
            f"unknown mistake {unknown[0]!r}; known mistakes: {', '.join(MISTAKE_NAMES)}"
        )
    variant = Variant.of(layer, setting)
    for mistake in MISTAKES:
        if mistake.name not in names:
            continue
        if not mistake.applies(layer, setting):
            raise ValueError(
                f"the mistake {mistake.name!r} does not apply to layer {layer.name!r} "
                f"({layer.cell.kind}, reset_after={layer.cell.reset_after}, "
                f"stateful={setting.stateful})"
            )
        variant = mistake.apply(variant)
    return variant


def explain(names: Sequence[str]) -> list[str]:
    """The explanations of the named mistakes, in catalogue order."""
    return [mistake.explanation for mistake in MISTAKES if mistake.name in names]


# ---------------------------------------------------------------------------- running


def run_variant(
    variant: Variant,
    inputs: ArrayLike,
    *,
    initial_state: Mapping[str, ArrayLike] | None = None,
    dtype: DTypeLike = "float64",
) -> RecurrentTrace:
    """Run one direction of a layer as ``variant`` says, without masks.

    Without mistakes this computes what :func:`~.layers.run_recurrent` computes for an
    unmasked input (float64 by default: the ground truth a port is measured against).

    Parameters
    ----------
    variant : Variant
        The layer (``go_backwards`` processes each row last step first) and the loop's
        options.
    inputs : array, shape (B, T, F)
    initial_state : mapping, optional
        State name -> ``(B, units)``; the first row's state when ``carry_state``.
        Default zeros.
    dtype : "float32" or "float64"

    Returns
    -------
    RecurrentTrace
        ``outputs`` and every trace ``(B, T, units)`` in processing order;
        ``final_states`` ``(B, units)``.
    """
    compute_dtype = resolve_dtype(dtype)
    layer = variant.layer
    cell = layer.cell
    fused = fuse_weights(cell, layer.weights, dtype=compute_dtype)
    step = make_step(cell, fused, keras_major=variant.keras_major)
    x = np.asarray(inputs, dtype=compute_dtype)
    if x.ndim != 3 or x.shape[2] != fused.kernel.shape[0]:
        raise ValueError(
            f"layer {layer.name!r}: expected inputs of shape (batch, timesteps, "
            f"{fused.kernel.shape[0]}), got {x.shape}"
        )
    batch, timesteps, _ = x.shape
    matrix_x = project_inputs(x, fused.kernel, fused.input_bias)
    if layer.go_backwards:
        matrix_x = matrix_x[:, ::-1]
    state_names = STATE_NAMES[cell.kind]
    states = tuple(
        np.zeros((batch, cell.units), dtype=compute_dtype)
        if initial_state is None
        else np.asarray(initial_state[name], dtype=compute_dtype)
        for name in state_names
    )
    traces = {
        name: np.empty((batch, timesteps, cell.units), dtype=compute_dtype)
        for name in TRACE_NAMES[cell.kind]
    }
    # A state carried across windows runs the rows one after the other.
    rows = [slice(b, b + 1) for b in range(batch)] if variant.carry_state else [slice(0, batch)]
    finals: list[tuple[Array, ...]] = []
    carried: tuple[Array, ...] | None = None
    for row in rows:
        row_states = tuple(s[row] for s in states) if carried is None else carried
        for t in range(timesteps):
            values = dict(step(matrix_x[row, t], row_states))
            if variant.inverted_update:
                z, hh = values["update"], values["candidate"]
                values["hidden"] = (1 - z) * row_states[0] + z * hh
            for name, trace in traces.items():
                trace[row, t] = values[name]
            row_states = tuple(values[name] for name in state_names)
        finals.append(row_states)
        if variant.carry_state:
            carried = row_states
    final_states = {
        name: np.concatenate([final[index] for final in finals])
        for index, name in enumerate(state_names)
    }
    return RecurrentTrace(
        kind=cell.kind, outputs=traces["hidden"], final_states=final_states, traces=traces
    )
