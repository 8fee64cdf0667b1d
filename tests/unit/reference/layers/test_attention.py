"""``Attention`` and ``AdditiveAttention`` references against real Keras.

Weights are random and non-zero (a learned scale of 1 would hide a missing scale);
masks cover right, left and mixed padding and a fully masked row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.reference.layers.attention import additive_attention, attention, causal_mask

from ...helpers import clear_session, dtype_name, keras_major

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

B, TQ, TV, DIM, DIM_V = 4, 3, 5, 4, 6
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}

# Row 0 unmasked, row 1 right padding, row 2 left padding, row 3 mixed.
VALUE_MASK = np.array(
    [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 0, 1, 0, 1]], dtype=bool
)
QUERY_MASK = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=bool)
MASKS = {
    "no_mask": (None, None),
    "query_mask": (QUERY_MASK, None),
    "value_mask": (None, VALUE_MASK),
    "both_masks": (QUERY_MASK, VALUE_MASK),
}


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    yield
    clear_session(keras)


def data(dtype: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(B, TQ, DIM)).astype(dtype)
    value = rng.normal(size=(B, TV, DIM_V)).astype(dtype)
    key = rng.normal(size=(B, TV, DIM)).astype(dtype)
    return query, value, key


def randomize(layer: Any, seed: int = 5) -> list[np.ndarray]:
    """Non-zero weights away from 1, so that a dropped scale shows."""
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        magnitude = rng.uniform(0.4, 1.6, size=variable.shape)
        sign = rng.choice([-1.0, 1.0], size=variable.shape)
        variable.assign((sign * magnitude).astype(dtype_name(variable.dtype)))
    return [variable.numpy() for variable in layer.weights]


def keras_call(
    layer: Any,
    inputs: list[np.ndarray],
    masks: tuple[np.ndarray | None, np.ndarray | None],
    **options: bool,
) -> tuple[np.ndarray, np.ndarray]:
    mask = None if all(m is None for m in masks) else list(masks)
    output, scores = layer(inputs, mask=mask, return_attention_scores=True, **options)
    return np.asarray(output), np.asarray(scores)


def assert_close(actual: np.ndarray, expected: np.ndarray, dtype: str) -> None:
    assert actual.dtype == np.dtype(dtype)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE[dtype])


# -- against Keras: every option --------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("masks", list(MASKS), ids=list(MASKS))
@pytest.mark.parametrize("use_causal_mask", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize(
    ("score_mode", "use_scale", "with_key"),
    [
        ("dot", False, False),
        ("dot", True, True),
        ("concat", False, True),
        ("concat", True, False),
    ],
    ids=["dot", "dot-scale-key", "concat-key", "concat-scale"],
)
def test_attention_matches_keras(
    score_mode: str,
    use_scale: bool,
    with_key: bool,
    use_causal_mask: bool,
    masks: str,
    dtype: str,
) -> None:
    query, value, key = data(dtype)
    if not with_key:
        value = value[..., :DIM]  # the key defaults to the value: same features as the query
    inputs = [query, value, key] if with_key else [query, value]
    layer = keras.layers.Attention(use_scale=use_scale, score_mode=score_mode, dtype=dtype)
    layer(inputs)
    weights = randomize(layer)
    query_mask, value_mask = MASKS[masks]
    expected_output, expected_scores = keras_call(
        layer, inputs, MASKS[masks], use_causal_mask=use_causal_mask
    )

    result = attention(
        query,
        value,
        key if with_key else None,
        scale=weights[0] if use_scale else None,
        score_mode=score_mode,  # type: ignore[arg-type]
        concat_score_weight=weights[-1] if score_mode == "concat" else None,
        query_mask=query_mask,
        value_mask=value_mask,
        use_causal_mask=use_causal_mask,
        return_attention_scores=True,
        dtype=dtype,
    )

    assert_close(result.output, expected_output, dtype)
    assert result.scores is not None
    assert_close(result.scores, expected_scores, dtype)
    keras_masks = None if masks == "no_mask" else list(MASKS[masks])
    expected_mask = layer.compute_mask(inputs, keras_masks)
    if expected_mask is None:
        assert result.mask is None
    else:
        np.testing.assert_array_equal(result.mask, np.asarray(expected_mask))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("masks", list(MASKS), ids=list(MASKS))
@pytest.mark.parametrize(
    ("use_scale", "use_causal_mask", "with_key"),
    [(True, False, False), (False, False, True), (True, True, True)],
    ids=["scale", "no_scale-key", "scale-causal-key"],
)
def test_additive_attention_matches_keras(
    use_scale: bool, use_causal_mask: bool, with_key: bool, masks: str, dtype: str
) -> None:
    query, value, key = data(dtype, seed=1)
    if with_key and use_scale and keras_major(keras) < 3:
        # Keras 2 sizes the scale by the value's features, not the key's, so a value
        # wider than the key fails; Keras 3 and the reference size it by the key.
        import tensorflow as tf

        layer = keras.layers.AdditiveAttention(use_scale=True, dtype=dtype)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"shapes: \[6\] vs"):
            layer([query, value, key])
        value = value[..., :DIM]  # the same check, with a value as wide as the key
    if not with_key:
        value = value[..., :DIM]
    inputs = [query, value, key] if with_key else [query, value]
    layer = keras.layers.AdditiveAttention(use_scale=use_scale, dtype=dtype)
    layer(inputs)
    weights = randomize(layer)
    query_mask, value_mask = MASKS[masks]
    expected_output, expected_scores = keras_call(
        layer, inputs, MASKS[masks], use_causal_mask=use_causal_mask
    )

    result = additive_attention(
        query,
        value,
        key if with_key else None,
        scale=weights[0] if use_scale else None,
        query_mask=query_mask,
        value_mask=value_mask,
        use_causal_mask=use_causal_mask,
        return_attention_scores=True,
        dtype=dtype,
    )

    assert_close(result.output, expected_output, dtype)
    assert result.scores is not None
    assert_close(result.scores, expected_scores, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layer_name", ["Attention", "AdditiveAttention"])
def test_fully_masked_row_matches_keras(layer_name: str, dtype: str) -> None:
    """Keras subtracts 1e9 instead of replacing: float32 rows go uniform, float64 do not.

    Row 0 has every value step masked; row 1 is left padded under a causal mask, so
    its first query steps see only masked steps.
    """
    query, value, _ = data(dtype, seed=2)
    value = value[..., :DIM]
    value_mask = np.ones((B, TV), dtype=bool)
    value_mask[0] = False
    value_mask[1, :2] = False
    layer = getattr(keras.layers, layer_name)(dtype=dtype)
    layer([query, value])
    weights = randomize(layer)
    expected_output, expected_scores = keras_call(
        layer, [query, value], (None, value_mask), use_causal_mask=True
    )
    function = attention if layer_name == "Attention" else additive_attention
    scale = weights[0] if weights else None

    result = function(
        query,
        value,
        scale=scale,
        value_mask=value_mask,
        use_causal_mask=True,
        return_attention_scores=True,
        dtype=dtype,
    )

    assert result.scores is not None
    assert_close(result.scores, expected_scores, dtype)
    assert_close(result.output, expected_output, dtype)
    if dtype == "float32":
        np.testing.assert_array_equal(result.scores[0], np.full((TQ, TV), 1 / TV, "float32"))
    else:
        assert np.all(result.scores[0] > 0)
        assert len(np.unique(result.scores[0])) > TV  # no longer uniform


def test_masks_from_keras_masking_layers_match() -> None:
    """The masks Keras derives from the inputs' Keras masks, in a functional model."""
    query, value, _ = data("float32", seed=3)
    value = value[..., :DIM]
    query[~QUERY_MASK] = 0.0
    value[~VALUE_MASK] = 0.0
    query_in = keras.Input((TQ, DIM))
    value_in = keras.Input((TV, DIM))
    layer = keras.layers.Attention(use_scale=True)
    masked_query = keras.layers.Masking(0.0)(query_in)
    masked_value = keras.layers.Masking(0.0)(value_in)
    model = keras.Model([query_in, value_in], layer([masked_query, masked_value]))
    weights = randomize(layer)

    expected = np.asarray(model([query, value]))
    result = attention(query, value, scale=weights[0], query_mask=QUERY_MASK, value_mask=VALUE_MASK)

    assert_close(result.output, expected, "float32")


def test_return_attention_scores_false_returns_no_scores() -> None:
    query, value, _ = data("float64")
    value = value[..., :DIM]
    layer = keras.layers.Attention(dtype="float64")
    expected = np.asarray(layer([query, value]))

    result = attention(query, value, dtype="float64")

    assert result.scores is None
    assert_close(result.output, expected, "float64")


# -- by hand ------------------------------------------------------------------------------


def test_hand_computed_masked_dot_product_attention() -> None:
    """One query, three value steps; the last step is masked and gets zero weight.

    scores = q . k = [1, 0, 5]; the masked 5 becomes 5 - 1e9, so
    weights = softmax([1, 0]) = [e / (e + 1), 1 / (e + 1), 0] = [0.7311, 0.2689, 0].
    """
    query = np.array([[[1.0, 0.0]]])
    value = np.array([[[1.0, 0.0], [0.0, 2.0], [5.0, 5.0]]])
    e = np.e

    result = attention(
        query,
        value,
        value_mask=[[True, True, False]],
        return_attention_scores=True,
        dtype="float64",
    )

    assert result.scores is not None
    np.testing.assert_allclose(result.scores, [[[e / (e + 1), 1 / (e + 1), 0.0]]], atol=1e-15)
    np.testing.assert_allclose(result.output, [[[e / (e + 1), 2 / (e + 1)]]], atol=1e-15)


def test_hand_computed_causal_attention() -> None:
    """Self-attention over two steps: step 0 sees only itself, step 1 sees both.

    x = [[1, 0], [0, 1]]; scores = x x^T = [[1, 0], [0, 1]]; under the causal mask
    row 0 is softmax([1]) = [1, 0] and row 1 is softmax([0, 1]) = [1, e] / (1 + e).
    """
    x = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    e = np.e

    result = attention(x, x, use_causal_mask=True, return_attention_scores=True, dtype="float64")

    expected_scores = [[[1.0, 0.0], [1 / (1 + e), e / (1 + e)]]]
    assert result.scores is not None
    np.testing.assert_allclose(result.scores, expected_scores, atol=1e-15)
    np.testing.assert_allclose(result.output, expected_scores, atol=1e-15)  # values are I


def test_query_mask_zeroes_output_rows_and_is_passed_on() -> None:
    x = np.arange(12.0).reshape(1, 3, 4) / 10

    result = attention(x, x, query_mask=[[1, 0, 1]], dtype="float64")

    np.testing.assert_array_equal(result.output[0, 1], np.zeros(4))
    assert np.all(result.output[0, [0, 2]] != 0)
    np.testing.assert_array_equal(result.mask, [[True, False, True]])


def test_causal_mask_is_aligned_at_the_top_left() -> None:
    np.testing.assert_array_equal(
        causal_mask(2, 4), [[[True, False, False, False], [True, True, False, False]]]
    )


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda q, v: attention(q[0], v), r"query must have shape \(batch, timesteps"),
        (lambda q, v: attention(q, v[:2]), "same batch size"),
        (lambda q, v: attention(q, v, v[:, :2]), "same number of timesteps"),
        (lambda q, v: attention(q, v[..., :3]), "same number of features"),
        (lambda q, v: attention(q, v, value_mask=np.ones((B, TQ))), r"mask must have shape"),
        (lambda q, v: attention(q, v, query_mask=np.ones((B, TV))), r"mask must have shape"),
        (lambda q, v: attention(q, v, scale=[1.0, 2.0]), r"scale must have shape \(\)"),
        (lambda q, v: attention(q, v, score_mode="concat"), "requires concat_score_weight"),
        (lambda q, v: attention(q, v, concat_score_weight=1.0), "takes no concat_score_weight"),
        (lambda q, v: attention(q, v, score_mode="add"), "score_mode must be"),  # type: ignore[arg-type]
        (lambda q, v: additive_attention(q, v, scale=np.ones(3)), r"scale must have shape \(4,\)"),
        (lambda q, v: attention(q, v, dtype="float16"), "dtype must be"),
    ],
    ids=[
        "2d_query",
        "batch",
        "key_steps",
        "features",
        "value_mask_shape",
        "query_mask_shape",
        "scale_shape",
        "concat_without_weight",
        "dot_with_weight",
        "score_mode",
        "additive_scale_shape",
        "dtype",
    ],
)
def test_shapes_that_do_not_fit_raise(call: Any, message: str) -> None:
    query, value, _ = data("float64")
    with pytest.raises(ValueError, match=message):
        call(query, value[..., :DIM])
