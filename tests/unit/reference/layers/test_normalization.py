"""LayerNormalization and BatchNormalization (inference) against Keras, every option."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.reference.layers.normalization import batch_normalization, layer_normalization

from ...helpers import keras_major, skip_on_keras_2, variable_name

DTYPES = ["float32", "float64"]
MASK = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=bool)


def random_weights(layer: Any, rng: np.random.Generator, dtype: str) -> list[np.ndarray]:
    """Non-zero weights; variances positive and away from zero."""
    weights = []
    for variable in layer.weights:
        low = 0.2 if "variance" in variable_name(variable) else -1.5
        weights.append(rng.uniform(low, 1.5, size=variable.shape).astype(dtype))
    layer.set_weights(weights)
    return weights


def test_layer_normalization_by_hand() -> None:
    x = np.array([[1.0, 2.0, 3.0, 6.0]])  # mean 3, variance 3.5
    y, _ = layer_normalization(
        x, [1.0, 2.0, 1.0, 1.0], [0.0, 0.0, 0.0, 10.0], epsilon=0.5, dtype="float64"
    )
    np.testing.assert_allclose(y, [[-1.0, -1.0, 0.0, 11.5]], rtol=1e-15)
    y, _ = layer_normalization(x, [1.0, 1.0, 1.0, 2.0], rms_scaling=True, epsilon=0.5)
    np.testing.assert_allclose(y, [[0.5, 1.0, 1.5, 6.0]], rtol=1e-7)  # x / 2: not centered


def test_layer_normalization_weights_follow_each_generations_axis_order() -> None:
    x = np.arange(6.0).reshape(1, 2, 3)
    gamma = np.arange(1.0, 7.0)
    # Keras 3 sorts [2, 1] to [1, 2]: gamma is (T, F); Keras 2 keeps it: gamma is (F, T).
    # Both reshape it, in its own order, to (1, T, F), so the same numbers scale alike.
    keras_3, _ = layer_normalization(x, gamma.reshape(2, 3), axis=[2, 1], center=False)
    keras_2, _ = layer_normalization(
        x, gamma.reshape(3, 2), axis=[2, 1], center=False, keras_major=2
    )
    np.testing.assert_array_equal(keras_2, keras_3)
    with pytest.raises(ValueError, match=r"gamma must have shape \(2, 3\), got \(3, 2\)"):
        layer_normalization(x, gamma.reshape(3, 2), axis=[2, 1], center=False)


def test_batch_normalization_by_hand() -> None:
    x = np.array([[[1.0, 5.0]], [[3.0, 5.0]]])  # (2, 1, 2)
    y, _ = batch_normalization(
        x, [1.0, 4.0], [4.0, 0.25], [2.0, 1.0], [0.5, 0.0], epsilon=0.0, dtype="float64"
    )
    np.testing.assert_array_equal(y, [[[0.5, 2.0]], [[2.5, 2.0]]])


LAYER_NORM_GRID = [
    {"axis": -1},
    {"axis": 1},
    {"axis": -2, "center": False},
    {"axis": [1, 2], "epsilon": 1e-6},
    {"axis": [2, 1], "scale": False},
    {"axis": [1, -1]},  # sorted to [-1, 1]: gamma is (F, T), reshaped to (1, T, F)
    {"axis": -1, "center": False, "scale": False},
    {"axis": -1, "rms_scaling": True},
    {"axis": [1, 2], "rms_scaling": True, "scale": False},
]


@pytest.mark.keras
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", LAYER_NORM_GRID, ids=str)
def test_layer_normalization_matches_keras(
    keras: Any,
    keras_run: Any,
    rng: np.random.Generator,
    close: Any,
    options: dict[str, Any],
    dtype: str,
) -> None:
    x = (rng.normal(size=(3, 5, 4)) * 3 + 1).astype(dtype)
    deprecated = options.get("rms_scaling", False)
    if deprecated:
        skip_on_keras_2(keras, "rms_scaling")
    with pytest.warns(UserWarning, match="rms_scaling") if deprecated else nullcontext():
        layer = keras.layers.LayerNormalization(dtype=dtype, **options)
        layer.build(x.shape)
        weights = random_weights(layer, rng, dtype)
        expected, keras_mask = keras_run(layer, x, [MASK], dtype)
    gamma = weights[0] if layer.gamma is not None else None
    beta = weights[-1] if layer.beta is not None else None
    y, mask = layer_normalization(
        x, gamma, beta, mask=MASK, dtype=dtype, keras_major=keras_major(keras), **options
    )
    close(y, expected, dtype)
    np.testing.assert_array_equal(mask, keras_mask)


@pytest.mark.keras
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options",
    [
        {"axis": -1},
        {"axis": 2, "epsilon": 1e-5},
        {"axis": 1},
        {"axis": -1, "center": False},
        {"axis": -1, "scale": False},
        {"axis": 1, "center": False, "scale": False},
    ],
    ids=str,
)
def test_batch_normalization_matches_keras(
    keras: Any,
    keras_run: Any,
    rng: np.random.Generator,
    close: Any,
    options: dict[str, Any],
    dtype: str,
) -> None:
    x = (rng.normal(size=(3, 5, 4)) * 2).astype(dtype)
    layer = keras.layers.BatchNormalization(dtype=dtype, **options)
    layer.build(x.shape)
    by_name = {
        variable_name(v): w
        for v, w in zip(layer.weights, random_weights(layer, rng, dtype), strict=True)
    }
    expected, keras_mask = keras_run(layer, x, [MASK], dtype)
    y, mask = batch_normalization(
        x,
        by_name["moving_mean"],
        by_name["moving_variance"],
        by_name.get("gamma"),
        by_name.get("beta"),
        mask=MASK,
        dtype=dtype,
        **options,
    )
    close(y, expected, dtype)
    np.testing.assert_array_equal(mask, keras_mask)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: layer_normalization(x, np.ones(4), np.ones(4), axis=3), "out of range"),
        (lambda x: layer_normalization(x, np.ones(4), np.ones(4), axis=[2, -1]), "axis twice"),
        (lambda x: layer_normalization(x, None, np.ones(4)), "gamma is missing"),
        (lambda x: layer_normalization(x, np.ones(4), np.ones(4), scale=False), "gamma was given"),
        (lambda x: layer_normalization(x, np.ones(4), np.ones(4), rms_scaling=True), "beta was"),
        (lambda x: layer_normalization(x, np.ones(5), np.ones(4)), r"gamma must have shape \(4,\)"),
        (
            # Every axis, sorted [-1, 0, 1]: Keras does not reshape, and (4, 2, 3) does not fit.
            lambda x: layer_normalization(
                x, np.ones((4, 2, 3)), np.ones((4, 2, 3)), axis=[0, 1, -1]
            ),
            "do not broadcast",
        ),
        (lambda x: layer_normalization(x, np.ones(4), np.ones(4), mask=np.ones(3)), "leading"),
        (lambda x: batch_normalization(x, np.ones(4), np.ones(4), axis=-4), "out of range"),
        (lambda x: batch_normalization(x, np.ones(4), np.ones(4)), "gamma is missing"),
        (
            lambda x: batch_normalization(x, np.ones(3), np.ones(4), center=False, scale=False),
            "moving_mean",
        ),
        (
            lambda x: batch_normalization(
                x, np.ones(5), np.ones(5), axis=1, center=False, scale=False
            ),
            "moving_mean",
        ),
        (
            lambda x: batch_normalization(
                x, np.ones(4), np.ones(4), center=False, scale=False, mask=np.ones(2)
            ),
            "one axis fewer than the inputs",
        ),
    ],
)
def test_shapes_that_do_not_fit(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(np.zeros((2, 3, 4)))
