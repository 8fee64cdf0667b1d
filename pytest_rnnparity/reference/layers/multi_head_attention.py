"""Keras 3's ``MultiHeadAttention`` layer, in NumPy, for ``(batch, time, features)`` inputs.

Mirrors ``keras/src/layers/attention/multi_head_attention.py`` with the default
``attention_axes`` (attention over the time axis) at inference, and the two ways
its TensorFlow backend computes the attention
(``keras/src/backend/tensorflow/nn.py``, ``keras/src/layers/activations/softmax.py``).

Notation (Keras' names)
-----------------------
B : batch size
T, S : number of query timesteps and of key/value timesteps
dim_q, dim_k, dim_v : features of the query, key and value inputs
N : ``num_heads``;  H : ``key_dim``;  Hv : ``value_dim`` (defaults to ``key_dim``)
out : ``output_shape``, the trailing shape of the output (default ``(dim_q,)``)
W_q, W_k, W_v : projection kernels in Keras' einsum layout, ``(dim_q, N, H)``,
    ``(dim_k, N, H)``, ``(dim_v, N, Hv)``, with biases ``(N, H)``, ``(N, H)``, ``(N, Hv)``
W_o : output kernel ``(N, Hv, *out)``, bias ``out``
W_g : gate kernel ``(dim_q, N, Hv)``, bias ``(N, Hv)`` (``use_gate=True`` only)

Equations::

    q = query W_q + b_q        (B, T, N, H)       k = key W_k + b_k      (B, S, N, H)
    v = value W_v + b_v        (B, S, N, Hv)
    logits[b, n, t, s] = (q[b, t, n] . k[b, s, n]) / sqrt(H)
    weights = masked_softmax(logits, mask)      # over s
    o[b, t, n] = sum_s weights[b, n, t, s] v[b, s, n]
    o = o * sigmoid(query W_g + b_g)            # use_gate only
    output = o W_o + b_o       (B, T, *out)

The mask is the AND of every mask given: the query mask ``(B, T, 1)``, the value
and key masks ``(B, 1, S)``, the causal mask ``(1, T, S)``, the sliding-window band
``(1, T, S)`` and ``attention_mask``. A query mask therefore *fully masks* the rows
of masked query steps, and the output there is not zeroed.

Keras computes the masked softmax one of two ways, and they differ for a fully
masked row:

* ``return_attention_scores=False`` and ``dropout == 0``: the fused
  ``ops.dot_product_attention``. Masked logits are *replaced* by
  ``-0.7 * 3.38953e38`` (in the compute dtype), so a fully masked row is uniform
  over all ``S`` steps; the ``1 / sqrt(H)`` is applied to the logits.
* otherwise (asking for the scores, or any ``dropout``, even at inference): the
  ``Softmax`` layer. Masked logits are replaced by ``-1e9`` and the probabilities
  are zeroed where masked, so a fully masked row has zero weights and its output is
  ``b_o`` alone; the ``1 / sqrt(H)`` is applied to the projected query first.

Keras 2 (``keras_major=2``; ``keras/src/layers/attention/multi_head_attention.py`` of
TF 2.15) has one way, its ``Softmax`` layer: ``-1e9`` is *added* to masked logits and
nothing is zeroed, so a fully masked row is uniform in float32 (``s - 1e9`` rounds to
``-1e9``) but the unmasked softmax in float64. It scales the projected query by
``1 / sqrt(H)`` in the compute dtype, not rounded to float32. It has no
``sliding_window``, no ``use_gate``, and reads the masks off its input tensors only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from pytest_rnnparity.reference.activations import sigmoid, softmax
from pytest_rnnparity.reference.layers.attention import AttentionResult, causal_mask
from pytest_rnnparity.reference.masks import check_mask
from pytest_rnnparity.reference.types import Array, BoolArray, resolve_dtype

#: What the fused path writes into masked logits (``_get_large_negative``; float16 differs).
FUSED_MASK_VALUE = -0.7 * 3.38953e38
#: What the ``Softmax`` layer writes into masked logits (``_large_negative_number``).
SOFTMAX_MASK_VALUE = -1.0e9


@dataclass(frozen=True)
class MultiHeadAttentionWeights:
    """A ``MultiHeadAttention`` layer's weights, in Keras' einsum layouts.

    ``query_kernel`` ``(dim_q, N, H)``, ``key_kernel`` ``(dim_k, N, H)``,
    ``value_kernel`` ``(dim_v, N, Hv)``, ``output_kernel`` ``(N, Hv, *out)``; the
    biases ``(N, H)``, ``(N, H)``, ``(N, Hv)`` and ``out``, all given
    (``use_bias=True``) or all None. ``gate_kernel`` ``(dim_q, N, Hv)`` and
    ``gate_bias`` ``(N, Hv)`` only with ``use_gate=True``. ``num_heads``,
    ``key_dim``, ``value_dim`` and ``output_shape`` are read off these shapes.
    """

    query_kernel: ArrayLike
    key_kernel: ArrayLike
    value_kernel: ArrayLike
    output_kernel: ArrayLike
    query_bias: ArrayLike | None = None
    key_bias: ArrayLike | None = None
    value_bias: ArrayLike | None = None
    output_bias: ArrayLike | None = None
    gate_kernel: ArrayLike | None = None
    gate_bias: ArrayLike | None = None


@dataclass(frozen=True)
class _Projection:
    kernel: Array
    bias: Array | None


def multi_head_attention(
    query: ArrayLike,
    value: ArrayLike,
    key: ArrayLike | None = None,
    *,
    weights: MultiHeadAttentionWeights,
    query_mask: ArrayLike | None = None,
    value_mask: ArrayLike | None = None,
    key_mask: ArrayLike | None = None,
    attention_mask: ArrayLike | None = None,
    use_causal_mask: bool = False,
    sliding_window: int | None = None,
    return_attention_scores: bool = False,
    dropout: float = 0.0,
    dtype: DTypeLike = "float32",
    keras_major: int = 3,
) -> AttentionResult:
    """Keras' ``MultiHeadAttention`` at inference, for 3-D query, value and key.

    Self-attention is ``multi_head_attention(x, x, ...)``; cross-attention passes a
    different ``value`` (and optionally ``key``).

    Parameters
    ----------
    query : array, shape (B, T, dim_q)
    value : array, shape (B, S, dim_v)
    key : array, shape (B, S, dim_k), optional
        Defaults to ``value``.
    weights : MultiHeadAttentionWeights
    query_mask : array, shape (B, T), optional
        The *Keras mask* of the query tensor (from ``Masking``, ``Embedding(mask_zero=
        True)``, ...). Keras reads the query's mask off the tensor and ignores a
        ``query_mask=`` call argument.
    value_mask, key_mask : array, shape (B, S), optional
        The ``value_mask`` / ``key_mask`` call arguments, which Keras fills from the
        Keras masks of ``value`` and ``key`` when not given. An absent key has no
        mask, even in self-attention.
    attention_mask : array, shape (T, S) or broadcastable to (B, T, S), optional
        Nonzero where query step ``t`` may attend to key step ``s``.
    use_causal_mask : bool
        Let query step ``t`` attend only to key steps ``s <= t`` (top-left aligned).
    sliding_window : int, optional
        Let query step ``t`` attend only to key steps with ``|t - s| < sliding_window``.
    return_attention_scores : bool
        Also return the attention weights ``(B, N, T, S)``; this also selects Keras'
        unfused path (see the module docstring).
    dropout : float
        The layer's ``dropout``. It is the identity at inference, but a nonzero rate
        selects Keras' unfused path, like ``return_attention_scores``.
    dtype : "float32" or "float64"
        The computation dtype.
    keras_major : int
        2 or 3: the Keras generation whose softmax and scale to follow (see the
        module docstring); Keras 2 has one path, whatever ``dropout`` and the scores.

    Returns
    -------
    AttentionResult
        ``output`` ``(B, T, *out)``; ``scores`` ``(B, N, T, S)`` or None; ``mask`` the
        query mask, which Keras sets on the output.

    Raises
    ------
    ValueError
        If a shape, a mask or ``sliding_window`` does not fit.
    """
    compute_dtype = resolve_dtype(dtype)
    layer = "MultiHeadAttention"
    q_in = _three_d(query, compute_dtype, "query")
    v_in = _three_d(value, compute_dtype, "value")
    k_in = v_in if key is None else _three_d(key, compute_dtype, "key")
    batch, query_steps = q_in.shape[:2]
    value_steps = v_in.shape[1]
    if not batch == v_in.shape[0] == k_in.shape[0]:
        raise ValueError(
            f"{layer}: query, value and key must have the same batch size, got "
            f"{batch}, {v_in.shape[0]} and {k_in.shape[0]}"
        )
    if k_in.shape[1] != value_steps:
        raise ValueError(
            f"{layer}: all dimensions of value and key except the last must be equal, "
            f"got value {v_in.shape} and key {k_in.shape}"
        )
    projections = _projections(weights, q_in, k_in, v_in, compute_dtype)
    key_dim = projections["query"].kernel.shape[2]
    mask = _combined_mask(
        batch,
        query_steps,
        value_steps,
        query_mask=query_mask,
        value_mask=value_mask,
        key_mask=key_mask,
        attention_mask=attention_mask,
        use_causal_mask=use_causal_mask,
        sliding_window=sliding_window,
    )
    head_mask = None if mask is None else mask[:, np.newaxis]  # (B|1, 1, T|1, S|1)

    # (B, N, T, H), (B, N, H, S) and (B, N, S, Hv): heads in front, for batched matmuls.
    q = _project(q_in, projections["query"]).transpose(0, 2, 1, 3)
    k = _project(k_in, projections["key"]).transpose(0, 2, 3, 1)
    v = _project(v_in, projections["value"]).transpose(0, 2, 1, 3)
    if keras_major < 3:
        # Keras 2 multiplies by the Python float itself, cast straight to the dtype.
        logits = (q * compute_dtype.type(1.0 / math.sqrt(float(key_dim)))) @ k
        if head_mask is not None:
            logits = logits + np.where(head_mask, 0, SOFTMAX_MASK_VALUE).astype(compute_dtype)
        attention_weights = softmax(logits)
        return _finish(attention_weights, v, q_in, projections, query_mask, return_attention_scores)
    # Keras casts the Python float 1 / sqrt(H) to the compute dtype through a float32
    # tensor, so even a float64 layer scales by the float32-rounded value.
    inverse_sqrt_key_dim = compute_dtype.type(np.float32(1.0 / math.sqrt(float(key_dim))))
    fused = dropout <= 0.0 and not return_attention_scores
    if fused:
        logits = (q @ k) * inverse_sqrt_key_dim
        if head_mask is not None:
            logits = np.where(head_mask, logits, compute_dtype.type(FUSED_MASK_VALUE))
        attention_weights = softmax(logits)
    else:
        logits = (q * inverse_sqrt_key_dim) @ k
        if head_mask is None:
            attention_weights = softmax(logits)
        else:
            masked = np.where(head_mask, logits, compute_dtype.type(SOFTMAX_MASK_VALUE))
            attention_weights = np.where(head_mask, softmax(masked), compute_dtype.type(0))
    return _finish(attention_weights, v, q_in, projections, query_mask, return_attention_scores)


def _finish(
    attention_weights: Array,
    v: Array,
    q_in: Array,
    projections: dict[str, _Projection],
    query_mask: ArrayLike | None,
    return_attention_scores: bool,
) -> AttentionResult:
    """Weights (B, N, T, S) times values (B, N, S, Hv), gated, then the output projection."""
    attention_output = (attention_weights @ v).transpose(0, 2, 1, 3)  # (B, T, N, Hv)
    gate = projections.get("gate")
    if gate is not None:
        attention_output = attention_output * sigmoid(_project(q_in, gate))
    output_projection = projections["output"]
    output = np.tensordot(attention_output, output_projection.kernel, axes=2)
    if output_projection.bias is not None:
        output = output + output_projection.bias
    batch, query_steps = q_in.shape[:2]
    return AttentionResult(
        output=output,
        scores=attention_weights if return_attention_scores else None,
        mask=check_mask(query_mask, batch, query_steps, "MultiHeadAttention"),
    )


def _project(x: Array, projection: _Projection) -> Array:
    """``x W + b`` for ``x`` (B, T, d) and ``W`` (d, N, H): one matmul, shape (B, T, N, H)."""
    projected: Array = np.tensordot(x, projection.kernel, axes=1)
    if projection.bias is not None:
        projected = projected + projection.bias
    return projected


def _projections(
    weights: MultiHeadAttentionWeights,
    q: Array,
    k: Array,
    v: Array,
    dtype: np.dtype[np.floating],
) -> dict[str, _Projection]:
    """The weights cast to ``dtype`` and checked against the inputs and each other."""
    biases = (weights.query_bias, weights.key_bias, weights.value_bias, weights.output_bias)
    use_bias = weights.query_bias is not None
    if any((bias is not None) != use_bias for bias in biases):
        raise ValueError(
            "MultiHeadAttention: give all of query_bias, key_bias, value_bias and "
            "output_bias (use_bias=True) or none of them"
        )
    use_gate = weights.gate_kernel is not None
    if (weights.gate_bias is not None) != (use_gate and use_bias):
        raise ValueError(
            "MultiHeadAttention: gate_bias goes with gate_kernel exactly when the layer "
            "has biases (use_gate=True and use_bias=True)"
        )
    query_kernel = _array(weights.query_kernel, dtype, "query_kernel", ndim=3)
    heads, key_dim = query_kernel.shape[1:]
    value_kernel = _array(weights.value_kernel, dtype, "value_kernel", ndim=3)
    value_dim = value_kernel.shape[2]
    output_kernel = _array(weights.output_kernel, dtype, "output_kernel")
    expected = {
        "query_kernel": (q.shape[2], heads, key_dim),
        "key_kernel": (k.shape[2], heads, key_dim),
        "value_kernel": (v.shape[2], heads, value_dim),
        "query_bias": (heads, key_dim),
        "key_bias": (heads, key_dim),
        "value_bias": (heads, value_dim),
        "gate_kernel": (q.shape[2], heads, value_dim),
        "gate_bias": (heads, value_dim),
    }
    if output_kernel.ndim < 3 or output_kernel.shape[:2] != (heads, value_dim):
        raise ValueError(
            f"MultiHeadAttention: output_kernel must have shape ({heads}, {value_dim}, "
            f"*output_shape), got {output_kernel.shape}"
        )
    expected["output_bias"] = output_kernel.shape[2:]

    def take(name: str, given: ArrayLike) -> Array:
        array = _array(given, dtype, name)
        if array.shape != expected[name]:
            raise ValueError(
                f"MultiHeadAttention: {name} must have shape {expected[name]} for these "
                f"inputs and heads, got {array.shape}"
            )
        return array

    def projection(name: str, kernel: ArrayLike, bias: ArrayLike | None) -> _Projection:
        checked_kernel = output_kernel if name == "output" else take(f"{name}_kernel", kernel)
        return _Projection(checked_kernel, None if bias is None else take(f"{name}_bias", bias))

    projections = {
        "query": projection("query", query_kernel, weights.query_bias),
        "key": projection("key", weights.key_kernel, weights.key_bias),
        "value": projection("value", value_kernel, weights.value_bias),
        "output": projection("output", output_kernel, weights.output_bias),
    }
    if weights.gate_kernel is not None:
        projections["gate"] = projection("gate", weights.gate_kernel, weights.gate_bias)
    return projections


def _combined_mask(
    batch: int,
    query_steps: int,
    value_steps: int,
    *,
    query_mask: ArrayLike | None,
    value_mask: ArrayLike | None,
    key_mask: ArrayLike | None,
    attention_mask: ArrayLike | None,
    use_causal_mask: bool,
    sliding_window: int | None,
) -> BoolArray | None:
    """The AND of every mask given, broadcastable to ``(B, T, S)``; None if there is none."""
    layer = "MultiHeadAttention"
    parts: list[BoolArray] = []
    q_mask = check_mask(query_mask, batch, query_steps, layer)
    if q_mask is not None:
        parts.append(q_mask[:, :, np.newaxis])
    for given in (value_mask, key_mask):
        s_mask = check_mask(given, batch, value_steps, layer)
        if s_mask is not None:
            parts.append(s_mask[:, np.newaxis, :])
    if use_causal_mask:
        parts.append(causal_mask(query_steps, value_steps))
    if sliding_window is not None:
        if isinstance(sliding_window, bool) or not isinstance(sliding_window, int):
            raise ValueError(f"sliding_window must be a positive int, got {sliding_window!r}")
        if sliding_window <= 0:
            raise ValueError(f"sliding_window must be a positive int, got {sliding_window!r}")
        rows = np.arange(query_steps)[:, np.newaxis]
        cols = np.arange(value_steps)[np.newaxis, :]
        parts.append((np.abs(rows - cols) < sliding_window)[np.newaxis])
    if attention_mask is not None:
        given_mask = np.asarray(attention_mask).astype(bool, copy=False)
        full = (batch, query_steps, value_steps)
        fits = given_mask.ndim in (2, 3) and all(
            size in (1, expected)
            for size, expected in zip(given_mask.shape[::-1], full[::-1], strict=False)
        )
        if not fits:
            raise ValueError(
                f"{layer}: attention_mask must have shape (T, S) = {full[1:]} or be "
                f"broadcastable to (B, T, S) = {full}, got {given_mask.shape}"
            )
        parts.append(given_mask if given_mask.ndim == 3 else given_mask[np.newaxis])
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part
    return combined


def _three_d(array: ArrayLike, dtype: np.dtype[np.floating], name: str) -> Array:
    x = np.asarray(array, dtype=dtype)
    if x.ndim != 3:
        raise ValueError(
            f"MultiHeadAttention: {name} must have shape (batch, timesteps, features), "
            f"got shape {x.shape}; other attention_axes are not supported"
        )
    return x


def _array(
    given: ArrayLike, dtype: np.dtype[np.floating], name: str, *, ndim: int | None = None
) -> Array:
    array = np.asarray(given, dtype=dtype)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"MultiHeadAttention: {name} must be {ndim}-D, got shape {array.shape}")
    return array
