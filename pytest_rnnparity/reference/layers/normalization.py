"""Keras' ``LayerNormalization`` and ``BatchNormalization`` (inference), in NumPy.

Mirrors ``keras/src/layers/normalization/layer_normalization.py`` with
``_layer_normalization`` of ``keras/src/ops/nn.py`` and ``moments`` of
``keras/src/backend/tensorflow/nn.py`` (``tf.nn.moments``), and
``batch_normalization.py`` with ``tf.nn.batch_normalization``. Both are written in
Keras' order of operations (the scale folded into the reciprocal square root
first, then one multiply and one add per element), so a float32 pass rounds like
Keras does. Both layers support masking: the mask is passed on unchanged, and at
inference it changes no value.

Notation
--------
x : the inputs;  axes : the normalized axes (LayerNormalization), all others kept
mean, var : mean and (biased) variance of ``x`` over ``axes``;  eps : ``epsilon``
gamma, beta : the ``scale`` and ``center`` weights
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from pytest_rnnparity.reference.masks import LayerOutput, leading_mask
from pytest_rnnparity.reference.types import Array, resolve_dtype


def layer_normalization(
    inputs: ArrayLike,
    gamma: ArrayLike | None = None,
    beta: ArrayLike | None = None,
    *,
    axis: int | Sequence[int] = -1,
    epsilon: float = 1e-3,
    center: bool = True,
    scale: bool = True,
    rms_scaling: bool = False,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
    keras_major: int = 3,
) -> LayerOutput:
    """Run ``LayerNormalization``: normalize each sample over ``axis``.

    Equations (``mean``, ``var`` over ``axes``, kept as size-1 axes; ``var`` is
    ``mean((x - mean)**2)``)::

        inv = gamma / sqrt(var + eps)            # 1 / sqrt(var + eps) without scale
        y   = x * inv + (beta - mean * inv)      # no beta without center
        y   = x / sqrt(var + eps) * gamma        # rms_scaling (deprecated in Keras)

    ``rms_scaling`` scales by the variance, not by the root mean square, and never
    centers, as Keras does (it warns that the option is deprecated for this reason).
    With it the layer has ``gamma`` even when ``scale=False``, and no ``beta``.

    Keras sorts ``axis`` (a list) before use, and gives ``gamma``/``beta`` the sizes
    of the axes in that sorted order; a negative entry sorts before every
    positive one. It then *reshapes* (not transposes) them to the broadcast shape
    of the inputs, which differs from the transpose when a negative and a positive
    axis sort out of their positional order (``axis=[1, -1]``, sorted ``[-1, 1]``,
    gives ``gamma`` of shape ``(F, T)`` for ``(B, T, F)`` inputs, reshaped to
    ``(1, T, F)``). This function does the same.

    Keras 2 (``keras_major=2``) does not sort: it makes each entry positive and keeps
    the order given, so ``gamma``/``beta`` have the sizes of the axes in that order
    (``axis=[2, 1]`` gives ``(F, T)``), reshaped all the same to ``(1, T, F)``.

    Parameters
    ----------
    inputs : array, shape (B, ...)
    gamma, beta : array, shape ``tuple(inputs.shape[a] for a in sorted(axis))``, optional
        (on Keras 2, ``axis`` in the order given rather than sorted)
        ``gamma`` is given exactly when ``scale or rms_scaling``, ``beta`` when
        ``center and not rms_scaling``.
    axis : int or sequence of int
    epsilon : float
    center, scale, rms_scaling : bool
    mask : array, optional
        Passed on unchanged.
    dtype : "float32" or "float64"
        The computation dtype inputs and weights are cast to.
    keras_major : int
        2 or 3: the Keras generation whose order of ``axis`` the weights follow.

    Returns
    -------
    LayerOutput
        ``output`` of the shape of ``inputs``; the incoming ``mask``.

    Raises
    ------
    ValueError
        If an axis is out of range or repeated, or ``gamma``/``beta`` are missing,
        unexpected or of the wrong shape.
    """
    compute_dtype = resolve_dtype(dtype)
    x = np.asarray(inputs, dtype=compute_dtype)
    passed_on = leading_mask(mask, x, "LayerNormalization")
    given = [int(axis)] if isinstance(axis, int | np.integer) else [int(a) for a in axis]
    if not given or any(not -x.ndim <= a < x.ndim for a in given):
        raise ValueError(
            f"LayerNormalization: axis={axis!r} is out of range for inputs of shape {x.shape}"
        )
    axes = sorted(given) if keras_major >= 3 else [a % x.ndim for a in given]
    if len({a % x.ndim for a in axes}) != len(axes):
        raise ValueError(f"LayerNormalization: axis={axis!r} names an axis twice")
    weight_shape = tuple(x.shape[a] for a in axes)
    broadcast_shape = [1] * x.ndim
    for a in axes:
        broadcast_shape[a] = x.shape[a]
    layer = f"LayerNormalization(scale={scale}, center={center}, rms_scaling={rms_scaling})"
    gamma_array = _optional(
        gamma, scale or rms_scaling, "gamma", weight_shape, compute_dtype, layer
    )
    beta_array = _optional(
        beta, center and not rms_scaling, "beta", weight_shape, compute_dtype, layer
    )
    if gamma_array is not None:
        gamma_array = _broadcast(gamma_array, broadcast_shape)
    if beta_array is not None:
        beta_array = _broadcast(beta_array, broadcast_shape)

    reduce = tuple(a % x.ndim for a in axes)
    eps = compute_dtype.type(epsilon)
    mean = np.mean(x, axis=reduce, keepdims=True)
    variance = np.mean(np.square(x - mean), axis=reduce, keepdims=True)
    inv = np.reciprocal(np.sqrt(variance + eps))
    if rms_scaling:
        output = x * inv
        if gamma_array is not None:
            output = output * gamma_array
        return LayerOutput(output, passed_on)
    if gamma_array is not None:
        inv = inv * gamma_array
    shift = -mean * inv
    if beta_array is not None:
        shift = shift + beta_array
    return LayerOutput(x * inv + shift, passed_on)


def batch_normalization(
    inputs: ArrayLike,
    moving_mean: ArrayLike,
    moving_variance: ArrayLike,
    gamma: ArrayLike | None = None,
    beta: ArrayLike | None = None,
    *,
    axis: int = -1,
    epsilon: float = 1e-3,
    center: bool = True,
    scale: bool = True,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``BatchNormalization`` at inference: the moving statistics, per channel.

    Equations (every array of shape ``(C,)`` broadcast along ``axis``)::

        inv = gamma / sqrt(moving_variance + eps)     # 1 / sqrt(...) without scale
        y   = x * inv + (beta - moving_mean * inv)    # no beta without center

    This is ``training=False`` (``predict``, or a call without ``training``); the
    batch statistics of training and the ``renorm`` corrections are not used at
    inference. Keras' weights come in the order ``gamma, beta, moving_mean,
    moving_variance`` (``gamma``/``beta`` only with ``scale``/``center``).

    Parameters
    ----------
    inputs : array, shape (B, ..., C, ...), C on ``axis``
    moving_mean, moving_variance : array, shape (C,)
    gamma, beta : array, shape (C,), optional
        Given exactly when ``scale`` and ``center``, respectively.
    axis : int
    epsilon : float
    center, scale : bool
    mask : array, optional
        Must have one axis fewer than the inputs (Keras checks this even at
        inference); passed on unchanged.
    dtype : "float32" or "float64"
        The computation dtype inputs and weights are cast to.

    Returns
    -------
    LayerOutput
        ``output`` of the shape of ``inputs``; the incoming ``mask``.

    Raises
    ------
    ValueError
        If ``axis`` is out of range, a weight is missing, unexpected or not
        ``(C,)``, or the mask does not have one axis fewer than the inputs.
    """
    compute_dtype = resolve_dtype(dtype)
    x = np.asarray(inputs, dtype=compute_dtype)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(
            f"BatchNormalization: axis={axis} is out of range for inputs of shape {x.shape}"
        )
    if mask is not None and np.ndim(mask) != x.ndim - 1:
        raise ValueError(
            "BatchNormalization: the mask must have one axis fewer than the inputs; "
            f"got mask shape {np.shape(mask)} for inputs of shape {x.shape}"
        )
    passed_on = leading_mask(mask, x, "BatchNormalization")
    channels = (x.shape[axis],)
    broadcast_shape = [1] * x.ndim
    broadcast_shape[axis] = x.shape[axis]

    layer = f"BatchNormalization(scale={scale}, center={center})"
    mean = _required(moving_mean, "moving_mean", channels, compute_dtype, layer)
    variance = _required(moving_variance, "moving_variance", channels, compute_dtype, layer)
    gamma_array = _optional(gamma, scale, "gamma", channels, compute_dtype, layer)
    beta_array = _optional(beta, center, "beta", channels, compute_dtype, layer)
    mean, variance = mean.reshape(broadcast_shape), variance.reshape(broadcast_shape)
    if gamma_array is not None:
        gamma_array = gamma_array.reshape(broadcast_shape)
    if beta_array is not None:
        beta_array = beta_array.reshape(broadcast_shape)
    inv = np.reciprocal(np.sqrt(variance + compute_dtype.type(epsilon)))
    if gamma_array is not None:
        inv = inv * gamma_array
    shift = -mean * inv if beta_array is None else beta_array - mean * inv
    return LayerOutput(x * inv + shift, passed_on)


def _broadcast(weight: Array, shape: list[int]) -> Array:
    """Keras' ``_broadcast``: a reshape to ``shape``, unless every axis is normalized."""
    if weight.ndim != len(shape):
        return weight.reshape(shape)
    if weight.shape != tuple(shape):
        raise ValueError(
            f"LayerNormalization: weights of shape {weight.shape} (the axes in Keras' "
            f"order) do not broadcast against inputs of shape {tuple(shape)}"
        )
    return weight


def _required(
    value: ArrayLike, name: str, shape: tuple[int, ...], dtype: np.dtype[np.floating], layer: str
) -> Array:
    array = np.asarray(value, dtype=dtype)
    if array.shape != shape:
        raise ValueError(f"{layer}: {name} must have shape {shape}, got {array.shape}")
    return array


def _optional(
    value: ArrayLike | None,
    expected: bool,
    name: str,
    shape: tuple[int, ...],
    dtype: np.dtype[np.floating],
    layer: str,
) -> Array | None:
    """A weight that exists only for some options, given exactly when ``expected``."""
    if (value is not None) != expected:
        state = "was given" if value is not None else "is missing"
        has = "has" if expected else "has no"
        raise ValueError(f"{layer}: {name} {state}; with these options the layer {has} {name}")
    return None if value is None else _required(value, name, shape, dtype, layer)
