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
from pytest_rnnparity.reference.layers import resolve_dtype
from pytest_rnnparity.reference.masks import LayerOutput, leading_mask


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
