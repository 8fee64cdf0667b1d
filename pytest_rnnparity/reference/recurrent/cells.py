"""One time step of the Keras recurrent cells (GRU, LSTM, SimpleRNN), in NumPy.

The input projection ``x W + b_x`` does not depend on the state, so it is computed
for every timestep at once by :func:`project_inputs` (one matmul); the step
functions take one row of it, ``matrix_x_t``, plus the previous state, and work on
the whole batch at once. Per-gate weights (see :mod:`.types`) are fused into Keras'
column layout by :func:`fuse_weights`, once per layer.

Notation (Keras' names)
-----------------------
B : batch size
T : number of timesteps
F : number of input features
units : number of units of the cell
G : number of gates; 3 for GRU (z, r, h), 4 for LSTM (i, f, c, o), 1 for SimpleRNN
W, U : kernel ``(F, G * units)`` and recurrent kernel ``(units, G * units)``,
    gate blocks side by side in the order above (``W_z`` is ``W[:, :units]``, ...)
b_x, b_h : input bias and recurrent bias, ``(G * units,)`` each
act, rec_act : ``activation`` and ``recurrent_activation``
h_tm1, c_tm1 : hidden state and (LSTM) cell state at the previous step
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import DTypeLike

from pytest_rnnparity.reference.activations import Activation, get_activation
from pytest_rnnparity.reference.types import GATES, STATE_NAMES, Array, CellConfig, CellWeights

#: ``step(matrix_x_t, states) -> {trace name: (B, units) array}``; see :func:`make_step`.
StepFunction = Callable[[Array, Sequence[Array]], Mapping[str, Array]]


class GRUStep(NamedTuple):
    """What one GRU step computes, each ``(B, units)``; field names are ``TRACE_NAMES['gru']``."""

    update: Array  # z
    reset: Array  # r
    candidate: Array  # hh
    hidden: Array  # h


class LSTMStep(NamedTuple):
    """What one LSTM step computes, each ``(B, units)``; field names are ``TRACE_NAMES['lstm']``."""

    input: Array  # i
    forget: Array  # f
    candidate: Array  # g, act(x W_c + h_tm1 U_c + b_c)
    output: Array  # o
    cell: Array  # c
    hidden: Array  # h


class SimpleRNNStep(NamedTuple):
    """What one SimpleRNN step computes, ``(B, units)``."""

    hidden: Array  # h


@dataclass(frozen=True)
class FusedWeights:
    """A cell's weights in Keras' fused layout, cast to the computation dtype.

    ``kernel`` is ``(F, G * units)``, ``recurrent_kernel`` ``(units, G * units)``,
    ``input_bias`` and ``recurrent_bias`` ``(G * units,)`` or None (no bias, or no
    separate recurrent bias).
    """

    kernel: Array
    recurrent_kernel: Array
    input_bias: Array | None = None
    recurrent_bias: Array | None = None


def fuse_weights(config: CellConfig, weights: CellWeights, *, dtype: DTypeLike) -> FusedWeights:
    """Check per-gate weights against the cell's config and fuse them into Keras' layout.

    Parameters
    ----------
    config : CellConfig
        The cell the weights belong to.
    weights : CellWeights
        Per-gate arrays: ``kernel[gate]`` ``(F, units)``, ``recurrent_kernel[gate]``
        ``(units, units)``, ``input_bias[gate]`` and ``recurrent_bias[gate]`` ``(units,)``.
    dtype : dtype
        The computation dtype every fused array is cast to.

    Raises
    ------
    ValueError
        If a gate is missing or unknown, a shape does not fit, or the biases given do
        not match ``use_bias`` / ``reset_after``.
    """
    kind = config.kind
    if weights.kind != kind:
        raise ValueError(f"weights are for a {weights.kind} cell but the cell is a {kind}")
    gates = GATES[kind]
    has_input_bias = weights.input_bias is not None
    has_recurrent_bias = weights.recurrent_bias is not None
    if has_input_bias != config.use_bias:
        state = "was given" if has_input_bias else "is missing"
        raise ValueError(f"input_bias {state} but the {kind} cell has use_bias={config.use_bias}")
    if has_recurrent_bias != (config.use_bias and kind == "gru" and config.reset_after):
        state = "was given" if has_recurrent_bias else "is missing"
        raise ValueError(
            f"recurrent_bias {state}, but a GRU with use_bias=True and reset_after=True "
            "is the only cell that has one"
        )
    units = config.units
    _check_gates(weights.kernel, gates, "kernel")
    first_kernel = weights.kernel[gates[0]]
    if np.ndim(first_kernel) != 2:
        raise ValueError(f"kernel[{gates[0]!r}] must be a (features, {units}) array")
    features = np.shape(first_kernel)[0]
    kernel = _fuse(weights.kernel, gates, "kernel", (features, units), dtype)
    recurrent_kernel = _fuse(
        weights.recurrent_kernel, gates, "recurrent_kernel", (units, units), dtype
    )
    input_bias = recurrent_bias = None
    if weights.input_bias is not None:
        input_bias = _fuse(weights.input_bias, gates, "input_bias", (units,), dtype)
    if weights.recurrent_bias is not None:
        recurrent_bias = _fuse(weights.recurrent_bias, gates, "recurrent_bias", (units,), dtype)
    return FusedWeights(kernel, recurrent_kernel, input_bias, recurrent_bias)


def _check_gates(per_gate: Mapping[str, Array], gates: Sequence[str], name: str) -> None:
    if set(per_gate) != set(gates):
        raise ValueError(
            f"{name} must have exactly the gates {', '.join(gates)}; got {', '.join(per_gate)}"
        )


def _fuse(
    per_gate: Mapping[str, Array],
    gates: Sequence[str],
    name: str,
    gate_shape: tuple[int, ...],
    dtype: DTypeLike,
) -> Array:
    _check_gates(per_gate, gates, name)
    arrays = [np.asarray(per_gate[gate], dtype=dtype) for gate in gates]
    for gate, array in zip(gates, arrays, strict=True):
        if array.shape != gate_shape:
            raise ValueError(f"{name}[{gate!r}] must have shape {gate_shape}, got {array.shape}")
    return np.concatenate(arrays, axis=-1)


def project_inputs(inputs: Array, kernel: Array, input_bias: Array | None = None) -> Array:
    """Project every timestep of the input through every gate's kernel with one matmul.

    Parameters
    ----------
    inputs : array, shape (B, T, F)
    kernel : array, shape (F, G * units)
    input_bias : array, shape (G * units,), optional

    Returns
    -------
    matrix_x : array, shape (B, T, G * units)
        ``x W + b_x`` for every step; row ``matrix_x[:, t]`` feeds step ``t``.
    """
    batch, timesteps, features = inputs.shape
    matrix_x = inputs.reshape(batch * timesteps, features) @ kernel
    if input_bias is not None:
        matrix_x += input_bias
    return matrix_x.reshape(batch, timesteps, kernel.shape[1])


def gru_step(
    matrix_x_t: Array,
    h_tm1: Array,
    recurrent_kernel: Array,
    recurrent_bias: Array | None = None,
    *,
    activation: Activation,
    recurrent_activation: Activation,
    reset_after: bool = True,
) -> GRUStep:
    """One GRU step, as Keras' ``GRUCell`` computes it.

    Equations (``x W_z + b_xz`` etc. are the columns of ``matrix_x_t``)::

        z  = rec_act(x W_z + b_xz + h_tm1 U_z + b_hz)
        r  = rec_act(x W_r + b_xr + h_tm1 U_r + b_hr)
        hh = act(x W_h + b_xh + r * (h_tm1 U_h + b_hh))    # reset_after=True
        hh = act(x W_h + b_xh + (r * h_tm1) U_h)           # reset_after=False
        h  = z * h_tm1 + (1 - z) * hh

    With ``reset_after=False`` there is no recurrent bias ``b_h``; with
    ``use_bias=False`` neither bias (pass ``recurrent_bias=None`` and a projection
    made without ``b_x``).

    Parameters
    ----------
    matrix_x_t : array, shape (B, 3 * units)
        ``x_t W + b_x`` for this step, gate blocks ``z, r, h``.
    h_tm1 : array, shape (B, units)
        Hidden state of the previous step.
    recurrent_kernel : array, shape (units, 3 * units)
    recurrent_bias : array, shape (3 * units,), optional
        ``b_h``; only with ``reset_after=True``.
    activation, recurrent_activation : callable
        ``act`` and ``rec_act``.
    reset_after : bool
        Apply the reset gate after the recurrent matmul (Keras' default) or before.

    Returns
    -------
    GRUStep
        ``update`` (z), ``reset`` (r), ``candidate`` (hh) and ``hidden`` (h), each ``(B, units)``.
    """
    units = h_tm1.shape[-1]
    x_z, x_r, x_h = np.split(matrix_x_t, 3, axis=-1)
    if reset_after:
        matrix_inner = h_tm1 @ recurrent_kernel
        if recurrent_bias is not None:
            matrix_inner = matrix_inner + recurrent_bias
        recurrent_z, recurrent_r, recurrent_h = np.split(matrix_inner, 3, axis=-1)
        z = recurrent_activation(x_z + recurrent_z)
        r = recurrent_activation(x_r + recurrent_r)
        hh = activation(x_h + r * recurrent_h)
    else:
        if recurrent_bias is not None:
            raise ValueError("a GRU with reset_after=False has no recurrent bias")
        matrix_inner = h_tm1 @ recurrent_kernel[:, : 2 * units]
        recurrent_z, recurrent_r = np.split(matrix_inner, 2, axis=-1)
        z = recurrent_activation(x_z + recurrent_z)
        r = recurrent_activation(x_r + recurrent_r)
        hh = activation(x_h + (r * h_tm1) @ recurrent_kernel[:, 2 * units :])
    h = z * h_tm1 + (1 - z) * hh
    return GRUStep(update=z, reset=r, candidate=hh, hidden=h)


def lstm_step(
    matrix_x_t: Array,
    h_tm1: Array,
    c_tm1: Array,
    recurrent_kernel: Array,
    *,
    activation: Activation,
    recurrent_activation: Activation,
) -> LSTMStep:
    """One LSTM step, as Keras' ``LSTMCell`` computes it.

    Equations (``x W_i + b_i`` etc. are the columns of ``matrix_x_t``)::

        i = rec_act(x W_i + h_tm1 U_i + b_i)
        f = rec_act(x W_f + h_tm1 U_f + b_f)
        g = act(x W_c + h_tm1 U_c + b_c)
        o = rec_act(x W_o + h_tm1 U_o + b_o)
        c = f * c_tm1 + i * g
        h = o * act(c)

    Parameters
    ----------
    matrix_x_t : array, shape (B, 4 * units)
        ``x_t W + b`` for this step, gate blocks ``i, f, c, o``.
    h_tm1 : array, shape (B, units)
        Hidden state of the previous step.
    c_tm1 : array, shape (B, units)
        Cell state of the previous step.
    recurrent_kernel : array, shape (units, 4 * units)
    activation, recurrent_activation : callable
        ``act`` and ``rec_act``.

    Returns
    -------
    LSTMStep
        ``input`` (i), ``forget`` (f), ``candidate`` (g), ``output`` (o), ``cell`` (c)
        and ``hidden`` (h), each ``(B, units)``.
    """
    z_i, z_f, z_c, z_o = np.split(matrix_x_t + h_tm1 @ recurrent_kernel, 4, axis=-1)
    i = recurrent_activation(z_i)
    f = recurrent_activation(z_f)
    g = activation(z_c)
    o = recurrent_activation(z_o)
    c = f * c_tm1 + i * g
    h = o * activation(c)
    return LSTMStep(input=i, forget=f, candidate=g, output=o, cell=c, hidden=h)


def simple_rnn_step(
    matrix_x_t: Array,
    h_tm1: Array,
    recurrent_kernel: Array,
    *,
    activation: Activation,
) -> SimpleRNNStep:
    """One SimpleRNN step, as Keras' ``SimpleRNNCell`` computes it.

    Equation::

        h = act(x W + b + h_tm1 U)

    Parameters
    ----------
    matrix_x_t : array, shape (B, units)
        ``x_t W + b`` for this step.
    h_tm1 : array, shape (B, units)
        Hidden state (= output) of the previous step.
    recurrent_kernel : array, shape (units, units)
    activation : callable
        ``act``.

    Returns
    -------
    SimpleRNNStep
        ``hidden`` (h), ``(B, units)``.
    """
    return SimpleRNNStep(hidden=activation(matrix_x_t + h_tm1 @ recurrent_kernel))


def make_step(config: CellConfig, fused: FusedWeights, *, keras_major: int = 3) -> StepFunction:
    """Bind a cell's recurrent weights and activations into one step function.

    The returned ``step(matrix_x_t, states)`` takes a ``(B, G * units)`` row of
    :func:`project_inputs` and the previous states in ``STATE_NAMES[kind]`` order
    (each ``(B, units)``), and returns ``{trace name: (B, units) array}`` in
    ``TRACE_NAMES[kind]`` order; the new states are the entries named by
    ``STATE_NAMES[kind]``.

    Raises
    ------
    UnsupportedModelError
        If an activation is not supported.
    """
    activation = get_activation(config.activation, keras_major=keras_major)
    recurrent_kernel = fused.recurrent_kernel
    n_states = len(STATE_NAMES[config.kind])

    def check(states: Sequence[Array]) -> None:
        if len(states) != n_states:
            raise ValueError(f"a {config.kind} cell carries {n_states} states, got {len(states)}")

    if config.kind == "simple_rnn":

        def simple_rnn(matrix_x_t: Array, states: Sequence[Array]) -> Mapping[str, Array]:
            check(states)
            return simple_rnn_step(
                matrix_x_t, states[0], recurrent_kernel, activation=activation
            )._asdict()

        return simple_rnn

    recurrent_activation = get_activation(config.recurrent_activation, keras_major=keras_major)
    if config.kind == "lstm":

        def lstm(matrix_x_t: Array, states: Sequence[Array]) -> Mapping[str, Array]:
            check(states)
            h_tm1, c_tm1 = states
            return lstm_step(
                matrix_x_t,
                h_tm1,
                c_tm1,
                recurrent_kernel,
                activation=activation,
                recurrent_activation=recurrent_activation,
            )._asdict()

        return lstm

    recurrent_bias = fused.recurrent_bias

    def gru(matrix_x_t: Array, states: Sequence[Array]) -> Mapping[str, Array]:
        check(states)
        return gru_step(
            matrix_x_t,
            states[0],
            recurrent_kernel,
            recurrent_bias,
            activation=activation,
            recurrent_activation=recurrent_activation,
            reset_after=config.reset_after,
        )._asdict()

    return gru
