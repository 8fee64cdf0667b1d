"""``MultiHeadAttention`` reference against real Keras: projections, masks, both softmax paths.

Keras has two paths (see the reference's module docstring): the fused
``dot_product_attention`` (no scores asked for, no dropout) and the ``Softmax``
layer (scores asked for, or any dropout). Every case runs on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.reference.layers.multi_head_attention import (
    MultiHeadAttentionWeights,
    multi_head_attention,
)

from ...helpers import clear_session, dtype_name, keras_major, skip_on_keras_2

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

B, T, S, DIM_Q, DIM_V, DIM_K = 4, 5, 6, 4, 3, 2
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}
# Row 0 unmasked, row 1 right padding, row 2 left padding, row 3 mixed.
VALUE_MASK = np.array(
    [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1], [1, 0, 1, 1, 0, 1]], dtype=bool
)
KEY_MASK = np.array(
    [[1, 1, 1, 1, 1, 0], [1, 1, 0, 1, 1, 1], [0, 1, 1, 1, 1, 1], [1, 1, 1, 0, 1, 1]], dtype=bool
)
QUERY_MASK = np.array(
    [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 0, 1, 0, 1]], dtype=bool
)
PATHS = {
    "fused": {},
    "scores": {"return_attention_scores": True},
    "dropout": {"dropout": 0.25},
}


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    yield
    clear_session(keras)


def data(dtype: str, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "query": rng.normal(size=(B, T, DIM_Q)).astype(dtype),
        "value": rng.normal(size=(B, S, DIM_V)).astype(dtype),
        "key": rng.normal(size=(B, S, DIM_K)).astype(dtype),
    }


def build(
    dtype: str,
    path: str,
    query: np.ndarray,
    value: np.ndarray,
    key: np.ndarray | None = None,
    seed: int = 3,
    **options: Any,
) -> tuple[Any, dict[str, Any]]:
    """A built layer with random non-zero weights and biases, and the call options of ``path``."""
    call_options = dict(PATHS[path])
    dropout = call_options.pop("dropout", 0.0)
    skip_on_keras_2(keras, *(name for name in ("sliding_window", "use_gate") if options.get(name)))
    options = {name: value for name, value in options.items() if value is not None}
    options.setdefault("num_heads", 2)
    options.setdefault("key_dim", 3)
    layer = keras.layers.MultiHeadAttention(dropout=dropout, dtype=dtype, **options)
    layer(query, value, key)
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.assign(
            rng.uniform(-0.8, 0.8, size=variable.shape).astype(dtype_name(variable.dtype))
        )
    return layer, call_options


def reference_weights(layer: Any) -> MultiHeadAttentionWeights:
    def kernel(dense: Any) -> np.ndarray:
        return np.asarray(dense.kernel)

    def bias(dense: Any) -> np.ndarray | None:
        return None if dense.bias is None else np.asarray(dense.bias)

    def dense(role: str) -> Any:
        """Keras 3's ``query_dense``; Keras 2 names it ``_query_dense``."""
        return getattr(layer, f"{role}_dense", None) or getattr(layer, f"_{role}_dense")

    gate = getattr(layer, "_gate_dense", None)
    return MultiHeadAttentionWeights(
        query_kernel=kernel(dense("query")),
        key_kernel=kernel(dense("key")),
        value_kernel=kernel(dense("value")),
        output_kernel=kernel(dense("output")),
        query_bias=bias(dense("query")),
        key_bias=bias(dense("key")),
        value_bias=bias(dense("value")),
        output_bias=bias(dense("output")),
        gate_kernel=None if gate is None else kernel(gate),
        gate_bias=None if gate is None else bias(gate),
    )


def call(
    layer: Any,
    query: np.ndarray,
    value: np.ndarray,
    key: np.ndarray | None = None,
    *,
    value_mask: np.ndarray | None = None,
    key_mask: np.ndarray | None = None,
    **options: Any,
) -> Any:
    """``layer(query, value, key, ...)``: Keras 3 takes ``value_mask``/``key_mask``
    arguments; Keras 2 has none and reads them off the tensors, as Keras 3 does when
    they are not given."""
    if keras_major(keras) >= 3:
        masks = {"value_mask": value_mask, "key_mask": key_mask}
        given = {name: mask for name, mask in masks.items() if mask is not None}
        return layer(query, value, key, **given, **options)
    import tensorflow as tf

    def masked(array: np.ndarray | None, mask: np.ndarray | None) -> Any:
        if array is None or mask is None:
            return array
        tensor = tf.convert_to_tensor(array)
        tensor._keras_mask = tf.convert_to_tensor(mask)
        return tensor

    if key_mask is not None and key is None:
        key = value  # Keras 2 reads the key's mask off the value when no key is given
    return layer(query, masked(value, value_mask), masked(key, key_mask), **options)


def split(result: Any, call_options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    if call_options.get("return_attention_scores"):
        output, scores = result
        return np.asarray(output), np.asarray(scores)
    return np.asarray(result), None


def assert_matches(
    result: Any, expected_output: np.ndarray, expected_scores: np.ndarray | None, dtype: str
) -> None:
    assert result.output.dtype == np.dtype(dtype)
    np.testing.assert_allclose(result.output, expected_output, rtol=0, atol=TOLERANCE[dtype])
    if expected_scores is None:
        assert result.scores is None
    else:
        np.testing.assert_allclose(result.scores, expected_scores, rtol=0, atol=TOLERANCE[dtype])


# -- projections: self and cross attention, every layout option ---------------------------

LAYOUTS = {
    "default": {},
    "no_bias": {"use_bias": False},
    "value_dim-output_int": {"value_dim": 5, "output_shape": 7},
    "heads3-output_tuple-gate": {"num_heads": 3, "output_shape": (2, 3), "use_gate": True},
    "gate-no_bias": {"use_gate": True, "use_bias": False, "key_dim": 4},
}


# Dropout only selects the unfused path (it is the identity at inference): one kind is enough.
PROJECTION_GRID = [
    pytest.param(kind, layout, path, id=f"{kind}-{layout}-{path}")
    for kind in ("self", "cross", "cross_key")
    for layout in LAYOUTS
    for path in PATHS
    if path != "dropout" or kind == "cross_key"
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("kind", "layout", "path"), PROJECTION_GRID)
def test_projections_match_keras(kind: str, layout: str, path: str, dtype: str) -> None:
    inputs = data(dtype, seed=1)
    query = inputs["query"]
    value = query if kind == "self" else inputs["value"]
    key = inputs["key"] if kind == "cross_key" else None
    layer, call_options = build(dtype, path, query, value, key, **LAYOUTS[layout])

    expected = split(layer(query, value, key, **call_options), call_options)
    result = multi_head_attention(
        query,
        value,
        key,
        weights=reference_weights(layer),
        dtype=dtype,
        return_attention_scores=bool(call_options.get("return_attention_scores")),
        dropout=layer.dropout if hasattr(layer, "dropout") else layer._dropout,  # Keras 2
        keras_major=keras_major(keras),
    )

    assert_matches(result, *expected, dtype)
    assert result.mask is None


# -- masks --------------------------------------------------------------------------------

ATTENTION_MASK = np.random.default_rng(9).random((B, T, S)) > 0.3
MASK_CASES: dict[str, dict[str, Any]] = {
    "value_mask": {"value_mask": VALUE_MASK},
    "key_mask": {"key_mask": KEY_MASK},
    "value_and_key_masks": {"value_mask": VALUE_MASK, "key_mask": KEY_MASK},
    "attention_mask_BTS": {"attention_mask": ATTENTION_MASK},
    "attention_mask_TS": {"attention_mask": ATTENTION_MASK[0]},
    "attention_mask_B1S": {"attention_mask": VALUE_MASK[:, np.newaxis, :]},
    "attention_mask_int": {"attention_mask": ATTENTION_MASK.astype("int32")},
    "causal": {"use_causal_mask": True},
    "causal_value_mask": {"use_causal_mask": True, "value_mask": VALUE_MASK},
    "causal_attention_mask": {"use_causal_mask": True, "attention_mask": ATTENTION_MASK},
    "sliding_window": {"sliding_window": 2},
    "sliding_window_causal": {"sliding_window": 3, "use_causal_mask": True},
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("path", ["fused", "scores"])
@pytest.mark.parametrize("case", list(MASK_CASES))
def test_masks_match_keras(case: str, path: str, dtype: str) -> None:
    inputs = data(dtype, seed=2)
    masks = dict(MASK_CASES[case])
    sliding_window = masks.pop("sliding_window", None)
    layer, call_options = build(dtype, path, *inputs.values(), sliding_window=sliding_window)

    expected = split(
        call(layer, inputs["query"], inputs["value"], inputs["key"], **masks, **call_options),
        call_options,
    )
    result = multi_head_attention(
        inputs["query"],
        inputs["value"],
        inputs["key"],
        weights=reference_weights(layer),
        sliding_window=sliding_window,
        dtype=dtype,
        keras_major=keras_major(keras),
        **masks,
        **call_options,
    )

    assert_matches(result, *expected, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("path", ["fused", "scores"])
@pytest.mark.parametrize("kind", ["self", "cross"])
def test_masks_keras_derives_from_keras_masks(kind: str, path: str, dtype: str) -> None:
    """Query and value carry Keras masks (from ``Masking``): Keras derives both masks."""
    inputs = data(dtype, seed=4)
    query = np.where(QUERY_MASK[..., np.newaxis], inputs["query"], 0).astype(dtype)
    value = np.where(VALUE_MASK[..., np.newaxis], inputs["value"], 0).astype(dtype)
    value_mask = VALUE_MASK
    if kind == "self":
        value, value_mask = query, QUERY_MASK
    layer, call_options = build(dtype, path, query, value)
    masking = keras.layers.Masking(0.0, dtype=dtype)
    masked_query, masked_value = masking(query), masking(value)

    keras_result = layer(masked_query, masked_value, **call_options)
    expected = split(keras_result, call_options)
    result = multi_head_attention(
        query,
        value,
        weights=reference_weights(layer),
        query_mask=QUERY_MASK,
        value_mask=value_mask,
        dtype=dtype,
        keras_major=keras_major(keras),
        **call_options,
    )

    assert_matches(result, *expected, dtype)
    keras_output = keras_result[0] if call_options else keras_result
    np.testing.assert_array_equal(result.mask, np.asarray(keras_output._keras_mask))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fully_masked_rows_differ_between_keras_paths(dtype: str) -> None:
    """A row with nothing to attend to: uniform on the fused path, zero weights otherwise.

    Batch row 0 has every value step masked. With scores returned, its output is the
    output bias alone; on the fused path it is the projection of the mean value.
    Keras 2 has one path: -1e9 added to every logit leaves the row uniform in float32
    and the unmasked softmax in float64; either way not the bias alone.
    """
    inputs = data(dtype, seed=5)
    value_mask = VALUE_MASK.copy()
    value_mask[0] = False
    outputs = {}
    for path in ("fused", "scores"):
        layer, call_options = build(dtype, path, inputs["query"], inputs["value"])
        expected = split(
            call(layer, inputs["query"], inputs["value"], value_mask=value_mask, **call_options),
            call_options,
        )
        weights = reference_weights(layer)
        result = multi_head_attention(
            inputs["query"],
            inputs["value"],
            weights=weights,
            value_mask=value_mask,
            dtype=dtype,
            keras_major=keras_major(keras),
            **call_options,
        )
        assert_matches(result, *expected, dtype)
        outputs[path] = result.output
        clear_session(keras)

    assert weights.output_bias is not None
    bias_only = np.broadcast_to(np.asarray(weights.output_bias, dtype), (T, DIM_Q))
    assert np.abs(outputs["fused"][0] - bias_only).max() > 0.01
    if keras_major(keras) >= 3:
        np.testing.assert_allclose(outputs["scores"][0], bias_only, rtol=0, atol=TOLERANCE[dtype])
    else:
        np.testing.assert_array_equal(outputs["scores"], outputs["fused"])


def test_query_mask_argument_is_ignored_by_keras() -> None:
    """Keras reads the query mask off the query tensor; ``query_mask=`` changes nothing."""
    skip_on_keras_2(keras, "query_mask call argument")
    inputs = data("float64", seed=6)
    layer, _ = build("float64", "fused", inputs["query"], inputs["value"])
    weights = reference_weights(layer)

    expected = np.asarray(layer(inputs["query"], inputs["value"], query_mask=QUERY_MASK))
    unmasked = multi_head_attention(
        inputs["query"], inputs["value"], weights=weights, dtype="float64"
    )
    masked = multi_head_attention(
        inputs["query"], inputs["value"], weights=weights, query_mask=QUERY_MASK, dtype="float64"
    )

    np.testing.assert_allclose(unmasked.output, expected, rtol=0, atol=1e-12)
    assert np.abs(masked.output - expected).max() > 0.01


def test_float64_scale_is_rounded_to_float32_like_keras() -> None:
    """Keras 3: 1 / sqrt(3) reaches a float64 layer through a float32 tensor, and the
    other generation's scale misses 1e-12. Keras 2 scales by the float64 value itself."""
    inputs = data("float64", seed=7)
    layer, _ = build("float64", "fused", inputs["query"], inputs["value"])
    expected = np.asarray(layer(inputs["query"], inputs["value"]))
    major = keras_major(keras)
    weights = reference_weights(layer)
    result = multi_head_attention(
        inputs["query"], inputs["value"], weights=weights, dtype="float64", keras_major=major
    )
    np.testing.assert_allclose(result.output, expected, rtol=0, atol=1e-12)
    if major < 3:
        other = multi_head_attention(
            inputs["query"], inputs["value"], weights=weights, dtype="float64"
        )
        assert np.abs(other.output - expected).max() > 1e-12


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_keras_2_adds_the_mask_value_to_a_fully_masked_row(dtype: str) -> None:
    """Keras 2's one path: -1e9 is added, not substituted, and nothing is zeroed."""
    rng = np.random.default_rng(8)
    weights = MultiHeadAttentionWeights(
        query_kernel=rng.normal(size=(DIM_Q, 2, 3)),
        key_kernel=rng.normal(size=(DIM_V, 2, 3)),
        value_kernel=rng.normal(size=(DIM_V, 2, 3)),
        output_kernel=rng.normal(size=(2, 3, DIM_Q)),
    )
    inputs = data(dtype, seed=8)
    query, value = inputs["query"], inputs["value"]
    none_masked = np.zeros((B, S), dtype=bool)
    options: dict[str, Any] = {"weights": weights, "dtype": dtype, "keras_major": 2}
    masked = multi_head_attention(
        query, value, value_mask=none_masked, return_attention_scores=True, **options
    )
    unmasked = multi_head_attention(query, value, return_attention_scores=True, **options)
    assert masked.scores is not None
    assert unmasked.scores is not None
    if dtype == "float32":  # s - 1e9 rounds to -1e9: uniform
        np.testing.assert_allclose(masked.scores, 1 / S, rtol=1e-6)
    else:  # s - 1e9 keeps s: the softmax of the unmasked logits
        np.testing.assert_allclose(masked.scores, unmasked.scores, rtol=0, atol=1e-6)


# -- errors -------------------------------------------------------------------------------


def test_shapes_that_do_not_fit_raise() -> None:
    rng = np.random.default_rng(0)
    weights = MultiHeadAttentionWeights(
        query_kernel=rng.normal(size=(DIM_Q, 2, 3)),
        key_kernel=rng.normal(size=(DIM_V, 2, 3)),
        value_kernel=rng.normal(size=(DIM_V, 2, 3)),
        output_kernel=rng.normal(size=(2, 3, DIM_Q)),
    )
    inputs = data("float64")
    query, value = inputs["query"], inputs["value"]
    with_bias = MultiHeadAttentionWeights(
        **{**weights.__dict__, "query_bias": np.zeros((2, 3))},
    )
    cases: list[tuple[Any, str]] = [
        (lambda: multi_head_attention(query[0], value, weights=weights), "query must have"),
        (lambda: multi_head_attention(query, value[:2], weights=weights), "same batch size"),
        (
            lambda: multi_head_attention(query, value, inputs["key"][:, :2], weights=weights),
            "except the last must be equal",
        ),
        (lambda: multi_head_attention(query, value[..., :2], weights=weights), "key_kernel"),
        (lambda: multi_head_attention(value, value, weights=weights), "query_kernel"),
        (lambda: multi_head_attention(query, value, weights=with_bias), "all of query_bias"),
        (
            lambda: multi_head_attention(query, value, weights=weights, value_mask=QUERY_MASK),
            "mask must have shape",
        ),
        (
            lambda: multi_head_attention(
                query, value, weights=weights, attention_mask=np.ones((B, S, T))
            ),
            "attention_mask must have shape",
        ),
        (
            lambda: multi_head_attention(
                query, value, weights=weights, attention_mask=np.ones((B, 1, T, S))
            ),
            "attention_mask must have shape",
        ),
        (
            lambda: multi_head_attention(query, value, weights=weights, sliding_window=0),
            "sliding_window must be a positive int",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
