"""Keras' ``Embedding`` and ``Activation`` layers, in NumPy.

Mirrors ``keras/src/layers/core/embedding.py`` (with ``ops.take`` of
``keras/src/backend/tensorflow/numpy.py``) and
``keras/src/layers/activations/activation.py``.

Notation
--------
B, T : batch size and number of steps (any leading axes for ``Embedding``)
input_dim, output_dim : rows (the vocabulary) and columns of the embedding matrix
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from pytest_rnnparity.reference.activations import get_activation
from pytest_rnnparity.reference.masks import LayerOutput, check_mask, leading_mask
from pytest_rnnparity.reference.types import (
    Array,
    BoolArray,
    DenseLayer,
    IdentityLayer,
    LayerResult,
    MaskingLayer,
    resolve_dtype,
)


def embedding(
    ids: ArrayLike,
    embeddings: ArrayLike,
    *,
    mask_zero: bool = False,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``Embedding``: row ``ids[...]`` of the embedding matrix for every id.

    Equations::

        output[..., :] = embeddings[ids[...], :]
        mask           = ids != 0                  # only with mask_zero

    As in Keras' TensorFlow backend, a negative id counts from the end
    (``-1`` is the last row) and is not masked; ids that are not integers are
    truncated towards zero (``ops.cast(ids, "int32")``), while the mask compares
    the ids as given, so ``0.5`` reads row 0 and is not masked. An incoming mask
    is never used: with ``mask_zero`` the layer makes its own, without it the
    layer does not support masking and drops it.

    Parameters
    ----------
    ids : array of int, any shape (B, ...)
    embeddings : array, shape (input_dim, output_dim)
    mask_zero : bool
        Whether id 0 is padding.
    dtype : "float32" or "float64"
        The computation dtype the embedding matrix is cast to.

    Returns
    -------
    LayerOutput
        ``output`` of shape ``(*ids.shape, output_dim)``; ``mask`` of shape
        ``ids.shape`` with ``mask_zero``, else None.

    Raises
    ------
    ValueError
        If ``embeddings`` is not 2-D, the ids are not numbers, or an id lies
        outside ``[-input_dim, input_dim)``.
    """
    matrix = np.asarray(embeddings, dtype=resolve_dtype(dtype))
    if matrix.ndim != 2:
        raise ValueError(
            f"Embedding: embeddings must have shape (input_dim, output_dim), got {matrix.shape}"
        )
    given = np.asarray(ids)
    if given.dtype.kind not in "iuf":
        raise ValueError(f"Embedding: ids must be integers, got dtype {given.dtype}")
    if given.dtype.kind == "f":
        if not np.all(np.isfinite(given)):
            raise ValueError("Embedding: ids must be finite")
        rows = np.trunc(given).astype(np.int64)
    else:
        rows = given.astype(np.int64)
    input_dim = matrix.shape[0]
    outside = (rows < -input_dim) | (rows >= input_dim)
    if np.any(outside):
        raise ValueError(
            f"Embedding: ids must lie in [-{input_dim}, {input_dim}) (input_dim={input_dim}); "
            f"got {rows[outside].ravel()[:5].tolist()}"
        )
    output = matrix[rows]
    return LayerOutput(output, given != 0 if mask_zero else None)


def activation(
    inputs: ArrayLike,
    activation: str | None,
    *,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
    keras_major: int = 3,
) -> LayerOutput:
    """Run ``Activation``: ``activation(x)`` elementwise, the mask passed on.

    Parameters
    ----------
    inputs : array, shape (B, ...)
    activation : str or None
        A Keras activation name (``get_activation``); None is linear.
        ``"softmax"`` and ``"log_softmax"`` reduce over the last axis.
    mask : array, shape (B, T), optional
        Passed on unchanged (``Activation`` supports masking).
    dtype : "float32" or "float64"
    keras_major : int
        Which Keras' activation definitions to use (see ``get_activation``).

    Returns
    -------
    LayerOutput
        ``output`` of the shape of ``inputs``; the incoming ``mask``.

    Raises
    ------
    ValueError
        If the mask does not cover the leading axes of the inputs.
    UnsupportedModelError
        If the activation is not supported.
    """
    x = np.asarray(inputs, dtype=resolve_dtype(dtype))
    passed_on = leading_mask(mask, x, "Activation")
    return LayerOutput(get_activation(activation, keras_major=keras_major)(x), passed_on)


def run_dense(
    layer: DenseLayer,
    inputs: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
    keras_major: int = 3,
) -> LayerResult:
    """Run ``Dense`` (or ``TimeDistributed(Dense)``): ``activation(x @ kernel + bias)``.

    Parameters
    ----------
    layer : DenseLayer
        ``kernel`` ``(in, out)``, ``bias`` ``(out,)`` or None.
    inputs : array, shape (..., in)
        At least 2-D; ``(B, T, in)`` for ``TimeDistributed``.
    mask : array, shape (B, T), optional
        Passed on unchanged, as Keras does; it does not change the values.

    Returns
    -------
    LayerResult
        ``output`` of shape ``(..., out)``.
    """
    compute_dtype = resolve_dtype(dtype)
    kernel = np.asarray(layer.kernel, dtype=compute_dtype)
    if kernel.ndim != 2:
        raise ValueError(f"layer {layer.name!r}: kernel must be 2-D, got shape {kernel.shape}")
    x = np.asarray(inputs, dtype=compute_dtype)
    min_rank = 3 if layer.time_distributed else 2
    if x.ndim < min_rank or x.shape[-1] != kernel.shape[0]:
        expected = "(batch, timesteps, " if layer.time_distributed else "(batch, ..., "
        raise ValueError(
            f"layer {layer.name!r}: expected inputs of shape {expected}{kernel.shape[0]}), "
            f"got shape {x.shape}"
        )
    output = (x.reshape(-1, kernel.shape[0]) @ kernel).reshape(*x.shape[:-1], kernel.shape[1])
    if layer.bias is not None:
        bias = np.asarray(layer.bias, dtype=compute_dtype)
        if bias.shape != (kernel.shape[1],):
            raise ValueError(
                f"layer {layer.name!r}: bias must have shape ({kernel.shape[1]},), got {bias.shape}"
            )
        output = output + bias
    output = get_activation(layer.activation, keras_major=keras_major)(output)
    return LayerResult(name=layer.name, output=output, mask=_mask_for(mask, x, layer.name))


def run_masking(
    layer: MaskingLayer, inputs: ArrayLike, *, dtype: DTypeLike = "float32"
) -> LayerResult:
    """Run ``Masking``: a step is masked when all its features equal ``mask_value``.

    ``mask = any(x != mask_value, axis=-1)``; the output is ``x`` with masked steps set
    to zero. Any incoming mask is replaced, as in Keras. The comparison is made in
    the computation dtype, so a float64 run masks the same steps as float32 only
    when ``mask_value`` and the padding are exactly representable in float32 (0, -1,
    ...).

    Parameters
    ----------
    inputs : array, shape (B, T, F)

    Returns
    -------
    LayerResult
        ``output`` ``(B, T, F)`` and the new ``mask`` ``(B, T)``.
    """
    compute_dtype = resolve_dtype(dtype)
    x = np.asarray(inputs, dtype=compute_dtype)
    if x.ndim != 3:
        raise ValueError(
            f"layer {layer.name!r}: expected inputs of shape (batch, timesteps, features), "
            f"got shape {x.shape}"
        )
    mask = np.any(x != compute_dtype.type(layer.mask_value), axis=-1)
    output = np.where(mask[..., np.newaxis], x, compute_dtype.type(0))
    return LayerResult(name=layer.name, output=output, mask=mask)


def run_identity(
    layer: IdentityLayer,
    inputs: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
) -> LayerResult:
    """Run a layer that is the identity at inference (``Dropout``, ``InputLayer``, ...)."""
    x = np.asarray(inputs, dtype=resolve_dtype(dtype))
    return LayerResult(name=layer.name, output=x, mask=_mask_for(mask, x, layer.name))


def _mask_for(mask: ArrayLike | None, x: Array, layer: str) -> BoolArray | None:
    """The incoming mask checked against ``x`` (B, T, ...), passed on unchanged."""
    if mask is None:
        return None
    if x.ndim < 3:
        raise ValueError(f"layer {layer!r}: a mask needs inputs with a time axis, got {x.shape}")
    return check_mask(mask, x.shape[0], x.shape[1], layer)
