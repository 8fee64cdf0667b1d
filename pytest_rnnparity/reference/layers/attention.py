"""Keras 3's ``Attention`` (Luong) and ``AdditiveAttention`` (Bahdanau) layers, in NumPy.

Mirrors ``keras/src/layers/attention/attention.py`` and ``additive_attention.py``
at inference (dropout is the identity there). Inputs and weights are cast to the
computation dtype once; every constant (the masking offset ``1e9`` included) is
applied in that dtype, as Keras applies it in the layer's compute dtype.

Notation (Keras' names)
-----------------------
B : batch size
Tq, Tv : number of query and of value (= key) timesteps
dim : features of the query and the key
dim_v : features of the value (may differ from ``dim``)
q, k, v : query ``(B, Tq, dim)``, key ``(B, Tv, dim)``, value ``(B, Tv, dim_v)``;
    the key defaults to the value
scores : ``(B, Tq, Tv)``, one score per query step and value step, before the softmax
distribution : ``softmax(scores)`` over ``Tv``; Keras returns it as "attention scores"

Masks
-----
A query mask ``(B, Tq)`` zeroes the output rows of masked query steps (the
distribution of those rows is still computed and returned). A value mask
``(B, Tv)`` and the causal mask (query step ``i`` sees value steps ``j <= i``)
make a score mask; Keras does not replace masked scores but *subtracts* ``1e9``
from them, so a fully masked row is not special-cased: its distribution is the
softmax of ``scores - 1e9``. In float32 the spacing of numbers near ``1e9`` is 64,
so scores within +-32 all round to ``-1e9`` and such a row becomes uniform over
all ``Tv`` steps; in float64 the scores survive the subtraction and the row is
the softmax of the unmasked scores. Both are mirrored
exactly by doing the same subtraction in the same dtype. Keras accepts a third
(key) mask in its mask list and ignores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from pytest_rnnparity.reference.activations import softmax
from pytest_rnnparity.reference.masks import check_mask
from pytest_rnnparity.reference.types import Array, BoolArray, resolve_dtype

ScoreMode = Literal["dot", "concat"]

#: What Keras subtracts from masked scores (``Attention._apply_scores``; 65504 in float16).
MASKED_SCORE_OFFSET = 1.0e9


@dataclass(frozen=True)
class AttentionResult:
    """What an attention layer returns, and the mask it passes on.

    ``output`` is the layer's (first) output. ``scores`` is the attention
    distribution Keras returns with ``return_attention_scores=True`` (after masking
    and softmax), else None. ``mask`` is what Keras' ``compute_mask`` passes on: the
    query mask, or None.
    """

    output: Array
    scores: Array | None = None
    mask: BoolArray | None = None


def causal_mask(query_steps: int, value_steps: int) -> BoolArray:
    """The ``(1, Tq, Tv)`` mask that lets query step ``i`` see value steps ``j <= i``.

    Keras builds it from two cumulative sums of ones (``row >= col``), so for
    ``Tq != Tv`` it is aligned at the top left: the first query step sees the first
    value step, whatever the lengths.
    """
    rows = np.arange(query_steps)[:, np.newaxis]
    cols = np.arange(value_steps)[np.newaxis, :]
    return (rows >= cols)[np.newaxis]


def attention(
    query: ArrayLike,
    value: ArrayLike,
    key: ArrayLike | None = None,
    *,
    scale: ArrayLike | None = None,
    score_mode: ScoreMode = "dot",
    concat_score_weight: ArrayLike | None = None,
    query_mask: ArrayLike | None = None,
    value_mask: ArrayLike | None = None,
    use_causal_mask: bool = False,
    return_attention_scores: bool = False,
    dtype: DTypeLike = "float32",
) -> AttentionResult:
    """Keras' ``Attention`` layer (Luong-style dot-product attention) at inference.

    Equations (``a`` is ``scale`` when given, ``w`` the ``concat_score_weight``)::

        dot:     scores[b, i, j] = a * (q[b, i] . k[b, j])
        concat:  scores[b, i, j] = w * sum(tanh(a * (q[b, i] + k[b, j])))
        scores   = where(score_mask, scores, scores - 1e9)
        weights  = softmax(scores)                     # over j, shape (B, Tq, Tv)
        output   = weights @ v                         # (B, Tq, dim_v)
        output   = where(query_mask[..., None], output, 0)

    Without ``scale`` (``use_scale=False``) ``a`` is left out, not set to 1. Note that
    ``concat`` scales *inside* the ``tanh``; ``AdditiveAttention`` scales outside.

    Parameters
    ----------
    query : array, shape (B, Tq, dim)
    value : array, shape (B, Tv, dim_v)
    key : array, shape (B, Tv, dim), optional
        Defaults to ``value`` (then ``dim_v`` must equal ``dim``).
    scale : scalar, optional
        The layer's learned ``scale`` weight (shape ``()``); give it exactly when the
        layer has ``use_scale=True``.
    score_mode : "dot" or "concat"
    concat_score_weight : scalar, optional
        The learned ``concat_score_weight`` (shape ``()``); required for ``"concat"``
        and refused for ``"dot"``.
    query_mask : array, shape (B, Tq), optional
        True where a query step is used (Keras' ``mask[0]``).
    value_mask : array, shape (B, Tv), optional
        True where a value step may be attended to (Keras' ``mask[1]``).
    use_causal_mask : bool
        Let query step ``i`` attend only to value steps ``j <= i``.
    return_attention_scores : bool
        Also return the attention distribution, shape (B, Tq, Tv).
    dtype : "float32" or "float64"
        The computation dtype.

    Returns
    -------
    AttentionResult
        ``output`` (B, Tq, dim_v), ``scores`` (B, Tq, Tv) or None, and the query
        mask as the mask passed on.

    Raises
    ------
    ValueError
        If a shape does not fit, or the weights given do not match ``score_mode``.
    """
    if score_mode not in ("dot", "concat"):
        raise ValueError(f"score_mode must be 'dot' or 'concat', got {score_mode!r}")
    compute_dtype = resolve_dtype(dtype)
    q, v, k = _inputs(query, value, key, compute_dtype, "Attention")
    a = None if scale is None else _weight(scale, (), compute_dtype, "scale")
    if score_mode == "dot":
        if concat_score_weight is not None:
            raise ValueError("score_mode='dot' takes no concat_score_weight")
        scores = q @ np.swapaxes(k, -2, -1)
        if a is not None:
            scores = scores * a
    else:
        if concat_score_weight is None:
            raise ValueError("score_mode='concat' requires concat_score_weight")
        w = _weight(concat_score_weight, (), compute_dtype, "concat_score_weight")
        pairs = q[:, :, np.newaxis, :] + k[:, np.newaxis, :, :]
        if a is not None:
            pairs = a * pairs
        scores = w * np.sum(np.tanh(pairs), axis=-1)
    return _apply_scores(
        scores,
        v,
        query_mask=query_mask,
        value_mask=value_mask,
        use_causal_mask=use_causal_mask,
        return_attention_scores=return_attention_scores,
        layer="Attention",
    )


def additive_attention(
    query: ArrayLike,
    value: ArrayLike,
    key: ArrayLike | None = None,
    *,
    scale: ArrayLike | None = None,
    query_mask: ArrayLike | None = None,
    value_mask: ArrayLike | None = None,
    use_causal_mask: bool = False,
    return_attention_scores: bool = False,
    dtype: DTypeLike = "float32",
) -> AttentionResult:
    """Keras' ``AdditiveAttention`` layer (Bahdanau-style attention) at inference.

    Equations (``a`` is the learned ``scale`` vector, or 1 without ``use_scale``)::

        scores[b, i, j] = sum_d(a[d] * tanh(q[b, i, d] + k[b, j, d]))

    then masking, softmax, ``weights @ v`` and the query mask exactly as in
    :func:`attention`.

    Parameters
    ----------
    query : array, shape (B, Tq, dim)
    value : array, shape (B, Tv, dim_v)
    key : array, shape (B, Tv, dim), optional
        Defaults to ``value``.
    scale : array, shape (dim,), optional
        The layer's learned ``scale`` weight; give it exactly when ``use_scale=True``
        (``AdditiveAttention``'s default).
    query_mask, value_mask, use_causal_mask, return_attention_scores, dtype
        As for :func:`attention`.

    Returns
    -------
    AttentionResult
        ``output`` (B, Tq, dim_v), ``scores`` (B, Tq, Tv) or None, and the query mask.

    Raises
    ------
    ValueError
        If a shape does not fit.
    """
    compute_dtype = resolve_dtype(dtype)
    q, v, k = _inputs(query, value, key, compute_dtype, "AdditiveAttention")
    terms = np.tanh(q[:, :, np.newaxis, :] + k[:, np.newaxis, :, :])
    if scale is not None:
        terms = _weight(scale, (q.shape[-1],), compute_dtype, "scale") * terms
    return _apply_scores(
        np.sum(terms, axis=-1),
        v,
        query_mask=query_mask,
        value_mask=value_mask,
        use_causal_mask=use_causal_mask,
        return_attention_scores=return_attention_scores,
        layer="AdditiveAttention",
    )


def _apply_scores(
    scores: Array,
    v: Array,
    *,
    query_mask: ArrayLike | None,
    value_mask: ArrayLike | None,
    use_causal_mask: bool,
    return_attention_scores: bool,
    layer: str,
) -> AttentionResult:
    """Mask, softmax, weight the values and mask the query steps, as ``Attention`` does."""
    batch, query_steps, value_steps = scores.shape
    q_mask = check_mask(query_mask, batch, query_steps, layer)
    v_mask = check_mask(value_mask, batch, value_steps, layer)
    score_mask: BoolArray | None = None if v_mask is None else v_mask[:, np.newaxis, :]
    if use_causal_mask:
        causal = causal_mask(query_steps, value_steps)
        score_mask = causal if score_mask is None else score_mask & causal
    if score_mask is not None:
        offset = scores.dtype.type(MASKED_SCORE_OFFSET)
        scores = np.where(score_mask, scores, scores - offset)
    weights = softmax(scores)
    output = weights @ v
    if q_mask is not None:
        output = np.where(q_mask[:, :, np.newaxis], output, output.dtype.type(0))
    return AttentionResult(
        output=output,
        scores=weights if return_attention_scores else None,
        mask=q_mask,
    )


def _inputs(
    query: ArrayLike,
    value: ArrayLike,
    key: ArrayLike | None,
    dtype: np.dtype[np.floating],
    layer: str,
) -> tuple[Array, Array, Array]:
    """Query, value and key cast to ``dtype``, checked to be 3-D and to fit each other."""
    q = _three_d(query, dtype, "query", layer)
    v = _three_d(value, dtype, "value", layer)
    k = v if key is None else _three_d(key, dtype, "key", layer)
    if not q.shape[0] == v.shape[0] == k.shape[0]:
        raise ValueError(
            f"{layer}: query, value and key must have the same batch size, got "
            f"{q.shape[0]}, {v.shape[0]} and {k.shape[0]}"
        )
    if k.shape[1] != v.shape[1]:
        raise ValueError(
            f"{layer}: key and value must have the same number of timesteps, got "
            f"key {k.shape} and value {v.shape}"
        )
    if k.shape[2] != q.shape[2]:
        name = "value (the key defaults to it)" if key is None else "key"
        raise ValueError(
            f"{layer}: query and {name} must have the same number of features, got "
            f"query {q.shape} and {name.split()[0]} {k.shape}"
        )
    return q, v, k


def _three_d(array: ArrayLike, dtype: np.dtype[np.floating], name: str, layer: str) -> Array:
    x = np.asarray(array, dtype=dtype)
    if x.ndim != 3:
        raise ValueError(
            f"{layer}: {name} must have shape (batch, timesteps, features), got shape {x.shape}"
        )
    return x


def _weight(
    weight: ArrayLike, shape: tuple[int, ...], dtype: np.dtype[np.floating], name: str
) -> Array:
    array = np.asarray(weight, dtype=dtype)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    return array
