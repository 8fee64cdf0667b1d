"""Keras' 1-D pooling layers (channels last), in NumPy.

Mirrors ``keras/src/layers/pooling/base_pooling.py`` (``MaxPooling1D``,
``AveragePooling1D``: ``tf.nn.max_pool`` / ``tf.nn.avg_pool`` through
``keras/src/backend/tensorflow/nn.py``), ``global_average_pooling1d.py`` and
``global_max_pooling1d.py``.

Notation
--------
B : batch size;  L : number of input steps;  L_out : number of output steps
F : features (channels), pooled independently
p, s : ``pool_size`` and ``strides`` (``strides=None`` means ``pool_size``)

Masks: only ``GlobalAveragePooling1D`` uses one. ``MaxPooling1D``,
``AveragePooling1D`` and ``GlobalMaxPooling1D`` do not support masking: they pool
padded steps like any other and drop the mask. No pooling layer passes a mask on.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from pytest_rnnparity.reference.layers.convolution import same_padding, window_option
from pytest_rnnparity.reference.masks import LayerOutput, steps_mask
from pytest_rnnparity.reference.types import Array, resolve_dtype


def max_pooling1d(
    inputs: ArrayLike,
    *,
    pool_size: int | tuple[int] = 2,
    strides: int | tuple[int] | None = None,
    padding: str = "valid",
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``MaxPooling1D``: the maximum of every window of ``p`` steps, every ``s`` steps.

    Equations::

        y[b, t, f] = max_{j < p} x[b, t s + j - before, f]

    over the steps that exist: ``"valid"`` windows lie inside the sequence
    (``L_out = floor((L - p) / s) + 1``); ``"same"`` pads as TensorFlow does (see
    :func:`~.convolution.same_padding`, ``L_out = ceil(L / s)``) and the padding
    never wins the maximum.

    Parameters
    ----------
    inputs : array, shape (B, L, F)
    pool_size, strides : int or 1-tuple
    padding : "valid" or "same"
    mask : array, shape (B, L), optional
        Checked, not used, and dropped.
    dtype : "float32" or "float64"

    Returns
    -------
    LayerOutput
        ``output`` of shape ``(B, L_out, F)``; ``mask`` None.

    Raises
    ------
    ValueError
        If an option is out of range, the shapes do not fit, or a ``"valid"``
        window does not fit in the sequence.
    """
    x, windows = _pooling_windows(inputs, pool_size, strides, padding, mask, dtype, "MaxPooling1D")
    lowest = np.array(-np.inf, dtype=x.dtype)
    padded = _pad_steps(x, windows, lowest)
    return LayerOutput(np.max(padded[:, windows.taps], axis=2), None)


def average_pooling1d(
    inputs: ArrayLike,
    *,
    pool_size: int | tuple[int] = 2,
    strides: int | tuple[int] | None = None,
    padding: str = "valid",
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``AveragePooling1D``: the mean of every window of ``p`` steps, every ``s`` steps.

    Equations (``n_t`` the number of steps of window ``t`` inside the sequence)::

        y[b, t, f] = sum_{j < p} x[b, t s + j - before, f] / n_t

    With ``"valid"`` every ``n_t = p``; with ``"same"`` (TensorFlow's padding, see
    :func:`max_pooling1d`) the padding is left out of both the sum and the count,
    so an edge window is the mean of the steps it covers, not a mean with zeros.

    Parameters and Returns are those of :func:`max_pooling1d`.
    """
    x, windows = _pooling_windows(
        inputs, pool_size, strides, padding, mask, dtype, "AveragePooling1D"
    )
    padded = _pad_steps(x, windows, np.array(0, dtype=x.dtype))
    total = np.sum(padded[:, windows.taps], axis=2)
    return LayerOutput(total / windows.real_steps[np.newaxis, :, np.newaxis], None)


def global_average_pooling1d(
    inputs: ArrayLike,
    *,
    keepdims: bool = False,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``GlobalAveragePooling1D``: the mean over steps, of the unmasked steps only.

    Equations (``m`` the mask, 1 for a step in use)::

        y[b, f] = sum_t x[b, t, f] / L                                  # no mask
        y[b, f] = sum_t where(m[b, t], x[b, t, f], 0) / sum_t m[b, t]   # mask

    Masked steps are replaced by zero, not multiplied by it, so a NaN or inf in
    padding does not leak. A fully masked row is ``0 / 0``: NaN, as in Keras
    (``keras/src/layers/pooling/global_average_pooling1d.py`` divides without a
    guard).

    Parameters
    ----------
    inputs : array, shape (B, L, F)
    keepdims : bool
        Keep the steps axis, with length 1.
    mask : array, shape (B, L), optional
    dtype : "float32" or "float64"

    Returns
    -------
    LayerOutput
        ``output`` of shape ``(B, F)`` (``(B, 1, F)`` with ``keepdims``); ``mask``
        None (the layer supports masking and its ``compute_mask`` returns None).

    Raises
    ------
    ValueError
        If the inputs are not 3-D or the mask is not ``(B, L)``.
    """
    x = _sequence(inputs, dtype, "GlobalAveragePooling1D")
    used = steps_mask(mask, x, "GlobalAveragePooling1D")
    if used is None:
        return LayerOutput(np.mean(x, axis=1, keepdims=keepdims), None)
    keep = used[:, :, np.newaxis]
    total = np.sum(np.where(keep, x, x.dtype.type(0)), axis=1, keepdims=keepdims)
    count = np.sum(keep.astype(x.dtype), axis=1, keepdims=keepdims)
    with np.errstate(invalid="ignore"):
        average: Array = total / count
    return LayerOutput(average, None)


def global_max_pooling1d(
    inputs: ArrayLike,
    *,
    keepdims: bool = False,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``GlobalMaxPooling1D``: the maximum over *all* steps, the mask ignored.

    ``y[b, f] = max_t x[b, t, f]``. Keras 3's layer has no ``mask`` argument and
    does not support masking (``keras/src/layers/pooling/global_max_pooling1d.py``):
    padded steps take part in the maximum (an ``Embedding`` row of id 0 competes
    like any other), a fully masked row is the maximum of its padding, and the
    mask is dropped.

    Parameters
    ----------
    inputs : array, shape (B, L, F)
    keepdims : bool
        Keep the steps axis, with length 1.
    mask : array, shape (B, L), optional
        Checked, not used, and dropped.
    dtype : "float32" or "float64"

    Returns
    -------
    LayerOutput
        ``output`` of shape ``(B, F)`` (``(B, 1, F)`` with ``keepdims``); ``mask`` None.

    Raises
    ------
    ValueError
        If the inputs are not 3-D with at least one step, or the mask is not ``(B, L)``.
    """
    x = _sequence(inputs, dtype, "GlobalMaxPooling1D")
    steps_mask(mask, x, "GlobalMaxPooling1D")
    if x.shape[1] == 0:
        raise ValueError("GlobalMaxPooling1D: the inputs have no steps to take a maximum over")
    return LayerOutput(np.max(x, axis=1, keepdims=keepdims), None)


class _Windows(NamedTuple):
    """Where the pooling windows of one sequence lie."""

    taps: NDArray[np.intp]  # (L_out, p): indices into the padded steps
    before: int  # padding before the first step
    after: int  # padding after the last step
    real_steps: Array  # (L_out,): how many real (not padded) steps each window covers


def _pooling_windows(
    inputs: ArrayLike,
    pool_size: int | tuple[int],
    strides: int | tuple[int] | None,
    padding: str,
    mask: ArrayLike | None,
    dtype: DTypeLike,
    layer: str,
) -> tuple[Array, _Windows]:
    """The checked inputs and where their windows lie."""
    size = window_option(pool_size, "pool_size", layer)
    step = size if strides is None else window_option(strides, "strides", layer)
    if padding not in ("valid", "same"):
        raise ValueError(f"{layer}: padding must be 'valid' or 'same', got {padding!r}")
    x = _sequence(inputs, dtype, layer)
    steps_mask(mask, x, layer)
    length = x.shape[1]
    if padding == "same":
        before, after = same_padding(length, size, step)
    else:
        before = after = 0
        if length < size:
            raise ValueError(
                f"{layer}: pool_size={size} is larger than the {length} steps of the "
                "inputs with padding='valid': the output would have no steps"
            )
    out_steps = (length + before + after - size) // step + 1
    taps = np.arange(out_steps)[:, np.newaxis] * step + np.arange(size)
    real = (taps >= before) & (taps < before + length)
    return x, _Windows(taps, before, after, np.sum(real, axis=1).astype(x.dtype))


def _pad_steps(x: Array, windows: _Windows, value: Array) -> Array:
    return np.pad(x, ((0, 0), (windows.before, windows.after), (0, 0)), constant_values=value)


def _sequence(inputs: ArrayLike, dtype: DTypeLike, layer: str) -> Array:
    x = np.asarray(inputs, dtype=resolve_dtype(dtype))
    if x.ndim != 3:
        raise ValueError(
            f"{layer}: expected inputs of shape (batch, steps, features), got {x.shape}"
        )
    return x
