"""Keras 3's ``ConvLSTM1D``, ``ConvLSTM2D`` and ``ConvLSTM3D`` layers, in NumPy.

Mirrors ``keras/src/layers/rnn/conv_lstm.py`` (``ConvLSTMCell`` and ``ConvLSTM``)
run by the time loop of ``keras/src/backend/tensorflow/rnn.py``, at inference
(dropout is the identity). The rank of the convolution (1, 2 or 3) is read off
the kernel. Like the dense reference (:mod:`.layers`), the input convolution of
every timestep is computed at once, before the loop, and the loop runs over time
only, each step on the whole batch.

Notation (Keras' names)
-----------------------
B : batch size
T : number of timesteps
S : the spatial shape of one input step, ``(W,)``, ``(H, W)`` or ``(D, H, W)``
S' : the spatial shape of the states and outputs: ``S`` after the input convolution
C : input channels
F : ``filters``
K : ``kernel_size``, one entry per spatial axis
W : kernel ``(*K, C, 4 * F)``;  U : recurrent kernel ``(*K, F, 4 * F)``;  b : bias
    ``(4 * F,)``; gate blocks ``i, f, c, o`` side by side on the last axis, as in
    Keras' ``LSTM`` (``unit_forget_bias`` only changes the bias' initial value)
x * W : the input convolution, with the layer's ``strides``, ``padding`` and
    ``dilation_rate``
h * U : the recurrent convolution, always ``strides=1``, ``padding="same"`` and no
    dilation, whatever the layer's options
act, rec_act : ``activation`` and ``recurrent_activation``
h_tm1, c_tm1 : hidden and cell state at the previous step, ``(B, *S', F)``

Equations::

    i = rec_act(x * W_i + b_i + h_tm1 * U_i)
    f = rec_act(x * W_f + b_f + h_tm1 * U_f)
    g = act(x * W_c + b_c + h_tm1 * U_c)
    o = rec_act(x * W_o + b_o + h_tm1 * U_o)
    c = f * c_tm1 + i * g
    h = o * act(c)

Convolutions are cross-correlations with TensorFlow's padding: ``"valid"`` pads
nothing; ``"same"`` gives ``ceil(n / stride)`` outputs and pads
``max((out - 1) * stride + (k - 1) * dilation + 1 - n, 0)`` in total, the odd one
after (right/bottom). Arrays are channels-last inside; ``data_format=
"channels_first"`` inputs, states and outputs are transposed at the edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, DTypeLike

from pytest_rnnparity.reference.activations import get_activation
from pytest_rnnparity.reference.masks import check_mask
from pytest_rnnparity.reference.recurrent.cells import LSTMStep
from pytest_rnnparity.reference.types import (
    STATE_NAMES,
    TRACE_NAMES,
    Array,
    BoolArray,
    RecurrentTrace,
    StateMap,
    resolve_dtype,
)

Padding = Literal["valid", "same"]
DataFormat = Literal["channels_last", "channels_first"]


@dataclass(frozen=True)
class ConvLSTMResult:
    """What a ``ConvLSTM`` layer returns, the mask it passes on, and every step it took.

    ``output`` is ``(B, T, *S', F)`` with ``return_sequences`` (in processing order,
    reversed in time with ``go_backwards``, as Keras returns it), else the last
    output ``(B, *S', F)``. ``states`` is ``(h, c)`` with ``return_state``, else
    ``()``. ``mask`` is the input mask with ``return_sequences``, else None (Keras'
    ``compute_mask``). ``trace`` holds the per-step gate traces ``input, forget,
    candidate, output, cell, hidden``, each ``(B, T, *S', F)`` in processing order,
    and the final ``hidden`` and ``cell`` states; with ``channels_first`` every
    array has the channels right after the time (or batch) axis, like Keras'.
    """

    output: Array
    states: tuple[Array, ...]
    mask: BoolArray | None
    trace: RecurrentTrace


def convolve(
    x: Array,
    kernel: Array,
    *,
    strides: Sequence[int],
    padding: Padding,
    dilation_rate: Sequence[int],
) -> Array:
    """An N-D convolution (cross-correlation) as TensorFlow's ``tf.nn.convolution`` computes it.

    Parameters
    ----------
    x : array, shape (N, *S, C)
        Channels last.
    kernel : array, shape (*K, C, O)
    strides, dilation_rate : sequence of int
        One entry per spatial axis.
    padding : "valid" or "same"

    Returns
    -------
    array, shape (N, *S', O)

    Raises
    ------
    ValueError
        If the output would be empty (Keras raises too).
    """
    rank = kernel.ndim - 2
    if x.ndim != rank + 2 or x.shape[-1] != kernel.shape[-2]:
        raise ValueError(
            f"a kernel of shape {kernel.shape} convolves (N, *spatial, {kernel.shape[-2]}) "
            f"arrays with {rank} spatial axes, got shape {x.shape}"
        )
    if len(strides) != rank or len(dilation_rate) != rank:
        raise ValueError(f"strides and dilation_rate need one entry per spatial axis ({rank})")
    kernel_size = kernel.shape[:rank]
    extents = [(size - 1) * rate + 1 for size, rate in zip(kernel_size, dilation_rate, strict=True)]
    if padding == "same":
        pads = []
        for length, extent, stride in zip(x.shape[1:-1], extents, strides, strict=True):
            out = -(-length // stride)
            total = max((out - 1) * stride + extent - length, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0), *pads, (0, 0)])
    if any(length < extent for length, extent in zip(x.shape[1:-1], extents, strict=True)):
        raise ValueError(
            f"the convolution of spatial shape {x.shape[1:-1]} with a kernel of size "
            f"{kernel_size} (dilation {tuple(dilation_rate)}) and padding "
            f"{padding!r} has an empty output"
        )
    spatial_axes = tuple(range(1, rank + 1))
    windows = sliding_window_view(x, extents, axis=spatial_axes)  # (N, *positions, C, *extents)
    strided = (slice(None), *(slice(None, None, s) for s in strides), slice(None))
    dilated = tuple(slice(None, None, rate) for rate in dilation_rate)
    windows = windows[(*strided, *dilated)]  # (N, *S', C, *K)
    result: Array = np.tensordot(windows, np.moveaxis(kernel, rank, 0), axes=rank + 1)
    return result


def conv_lstm(
    inputs: ArrayLike,
    kernel: ArrayLike,
    recurrent_kernel: ArrayLike,
    bias: ArrayLike | None = None,
    *,
    strides: int | Sequence[int] = 1,
    padding: Padding = "valid",
    dilation_rate: int | Sequence[int] = 1,
    data_format: DataFormat = "channels_last",
    activation: str | None = "tanh",
    recurrent_activation: str | None = "sigmoid",
    return_sequences: bool = False,
    return_state: bool = False,
    go_backwards: bool = False,
    zero_output_for_mask: bool = False,
    mask: ArrayLike | None = None,
    initial_state: StateMap | None = None,
    dtype: DTypeLike = "float32",
    hidden_only: bool = False,
    keras_major: int = 3,
) -> ConvLSTMResult:
    """Run a ``ConvLSTM1D``/``2D``/``3D`` layer over a batch of sequences.

    Masks follow Keras' loop exactly as for :func:`.layers.run_recurrent`: at a
    masked step the cell still computes a step, then the states keep their
    previous value (so do the ``hidden`` and ``cell`` traces), the gate traces hold
    what was computed and discarded, and the output repeats the previous output
    (zero before the first unmasked step) or is zero with ``zero_output_for_mask``.

    Parameters
    ----------
    inputs : array, shape (B, T, *S, C)
        ``(B, T, C, *S)`` with ``data_format="channels_first"``.
    kernel : array, shape (*K, C, 4 * F)
    recurrent_kernel : array, shape (*K, F, 4 * F)
    bias : array, shape (4 * F,), optional
        None for ``use_bias=False``.
    strides, dilation_rate : int or sequence of int
        Of the input convolution; not both greater than 1 (Keras refuses that too).
    padding : "valid" or "same"
        Of the input convolution.
    data_format : "channels_last" or "channels_first"
    activation, recurrent_activation : str or None
        Keras activation names.
    return_sequences, return_state, go_backwards : bool
        As in Keras.
    zero_output_for_mask : bool
        Keras' ``RNN`` option (``ConvLSTM`` passes it through); zero outputs at masked
        steps instead of repeating the previous one.
    mask : array, shape (B, T), optional
        True (nonzero) where a step is used, in input time order.
    initial_state : mapping, optional
        ``"hidden"`` and ``"cell"``, each ``(B, *S', F)`` (``(B, F, *S')`` with
        ``channels_first``); default zeros.
    dtype : "float32" or "float64"
        The computation dtype; weights, inputs and states are cast to it once.
    hidden_only : bool
        Keep only the ``hidden`` trace.
    keras_major : int
        Which Keras' activation definitions to use (see ``get_activation``).

    Returns
    -------
    ConvLSTMResult

    Raises
    ------
    ValueError
        If a shape, an option, the mask or the initial state does not fit.
    UnsupportedModelError
        If an activation is not supported.
    """
    compute_dtype = resolve_dtype(dtype)
    w = np.asarray(kernel, dtype=compute_dtype)
    if w.ndim not in (3, 4, 5):
        raise ValueError(
            f"ConvLSTM: kernel must have shape (*kernel_size, channels, 4 * filters) for a "
            f"1-, 2- or 3-D convolution, got shape {w.shape}"
        )
    rank = w.ndim - 2
    if w.shape[-1] % 4:
        raise ValueError(
            f"ConvLSTM: the kernel's last axis holds 4 gates (i, f, c, o) of `filters` "
            f"columns each, got {w.shape[-1]} columns"
        )
    filters = w.shape[-1] // 4
    u = np.asarray(recurrent_kernel, dtype=compute_dtype)
    expected_u = (*w.shape[:rank], filters, 4 * filters)
    if u.shape != expected_u:
        raise ValueError(f"ConvLSTM: recurrent_kernel must have shape {expected_u}, got {u.shape}")
    b = None if bias is None else np.asarray(bias, dtype=compute_dtype)
    if b is not None and b.shape != (4 * filters,):
        raise ValueError(f"ConvLSTM: bias must have shape ({4 * filters},), got {b.shape}")
    stride = _per_axis(strides, rank, "strides")
    dilation = _per_axis(dilation_rate, rank, "dilation_rate")
    if max(stride) > 1 and max(dilation) > 1:
        raise ValueError(
            f"ConvLSTM: strides > 1 is not compatible with dilation_rate > 1, got "
            f"strides={stride} and dilation_rate={dilation}"
        )
    if str(padding).lower() not in ("valid", "same"):
        raise ValueError(f"ConvLSTM: padding must be 'valid' or 'same', got {padding!r}")
    pad: Padding = "same" if str(padding).lower() == "same" else "valid"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"ConvLSTM: data_format must be 'channels_last' or 'channels_first', "
            f"got {data_format!r}"
        )
    channels_first = data_format == "channels_first"

    x = np.asarray(inputs, dtype=compute_dtype)
    if x.ndim != rank + 3:
        raise ValueError(
            f"ConvLSTM: a rank-{rank} kernel needs inputs of {rank + 3} dimensions "
            f"(batch, time, *spatial, channels), got shape {x.shape}"
        )
    if channels_first:
        x = np.moveaxis(x, 2, -1)
    batch, timesteps = x.shape[:2]
    if timesteps == 0 or x.shape[-1] != w.shape[rank]:
        raise ValueError(
            f"ConvLSTM: expected inputs with timesteps >= 1 and {w.shape[rank]} channels, "
            f"got shape {np.shape(inputs)} ({data_format})"
        )
    input_mask = check_mask(mask, batch, timesteps, "ConvLSTM")
    step_mask = input_mask

    ones = (1,) * rank

    def input_conv(value: Array) -> Array:
        return convolve(value, w, strides=stride, padding=pad, dilation_rate=dilation)

    def recurrent_conv(value: Array) -> Array:
        return convolve(value, u, strides=ones, padding="same", dilation_rate=ones)

    matrix_x = input_conv(x.reshape(batch * timesteps, *x.shape[2:]))
    if b is not None:
        matrix_x += b
    matrix_x = matrix_x.reshape(batch, timesteps, *matrix_x.shape[1:])
    state_shape = (batch, *matrix_x.shape[2:-1], filters)
    h_tm1, c_tm1 = _initial_state(initial_state, state_shape, channels_first, compute_dtype)
    if go_backwards:
        matrix_x = matrix_x[:, ::-1]
        if step_mask is not None:
            step_mask = step_mask[:, ::-1]

    act = get_activation(activation, keras_major=keras_major)
    rec_act = get_activation(recurrent_activation, keras_major=keras_major)
    trace_names = ("hidden",) if hidden_only else TRACE_NAMES["lstm"]
    sequence_shape = (batch, timesteps, *state_shape[1:])
    outputs = np.empty(sequence_shape, dtype=compute_dtype)
    traces = {name: np.empty(sequence_shape, dtype=compute_dtype) for name in trace_names}
    previous_output = np.zeros(state_shape, dtype=compute_dtype)
    keep_shape = (batch,) + (1,) * (rank + 1)

    for t in range(timesteps):
        z = matrix_x[:, t] + recurrent_conv(h_tm1)
        z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
        i, f, g, o = rec_act(z_i), rec_act(z_f), act(z_c), rec_act(z_o)
        c = f * c_tm1 + i * g
        h = o * act(c)
        output = h
        if step_mask is not None:
            keep = step_mask[:, t].reshape(keep_shape)
            h, c = np.where(keep, h, h_tm1), np.where(keep, c, c_tm1)
            fallback = np.zeros_like(output) if zero_output_for_mask else previous_output
            output = np.where(keep, output, fallback)
        values = LSTMStep(input=i, forget=f, candidate=g, output=o, cell=c, hidden=h)._asdict()
        for name in trace_names:
            traces[name][:, t] = values[name]
        outputs[:, t] = output
        previous_output, h_tm1, c_tm1 = output, h, c

    if channels_first:
        outputs = np.moveaxis(outputs, -1, 2)
        traces = {name: np.moveaxis(array, -1, 2) for name, array in traces.items()}
        h_tm1, c_tm1 = np.moveaxis(h_tm1, -1, 1), np.moveaxis(c_tm1, -1, 1)
    trace = RecurrentTrace(
        kind="lstm",
        outputs=outputs,
        final_states=dict(zip(STATE_NAMES["lstm"], (h_tm1, c_tm1), strict=True)),
        traces=traces,
    )
    return ConvLSTMResult(
        output=outputs if return_sequences else outputs[:, -1],
        states=(h_tm1, c_tm1) if return_state else (),
        mask=input_mask if return_sequences else None,
        trace=trace,
    )


def _per_axis(value: int | Sequence[int], rank: int, name: str) -> tuple[int, ...]:
    """``value`` as one positive int per spatial axis, as Keras' ``standardize_tuple``."""
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank or not all(isinstance(v, int) and v > 0 for v in values):
        raise ValueError(
            f"ConvLSTM: {name} must be a positive int or {rank} positive ints, got {value!r}"
        )
    return values


def _initial_state(
    given: StateMap | None,
    state_shape: tuple[int, ...],
    channels_first: bool,
    dtype: np.dtype[np.floating],
) -> tuple[Array, Array]:
    """``(h, c)`` channels last: zeros, or the given states checked and cast."""
    if given is None:
        return np.zeros(state_shape, dtype=dtype), np.zeros(state_shape, dtype=dtype)
    names = STATE_NAMES["lstm"]
    if set(given) != set(names):
        raise ValueError(
            f"ConvLSTM: initial state must give exactly the states {', '.join(names)}; "
            f"got {', '.join(given) or 'none'}"
        )
    expected = state_shape
    if channels_first:
        expected = (state_shape[0], state_shape[-1], *state_shape[1:-1])
    states = []
    for name in names:
        state = np.asarray(given[name], dtype=dtype)
        if state.shape != expected:
            raise ValueError(
                f"ConvLSTM: initial state {name!r} must have shape {expected}, got {state.shape}"
            )
        states.append(np.moveaxis(state, 1, -1) if channels_first else state)
    return states[0], states[1]
