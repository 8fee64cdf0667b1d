"""Embedding and Activation against Keras: ids of any shape, mask_zero, negative ids, masks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.errors import UnsupportedModelError
from pytest_rnnparity.reference.layers.core import activation, embedding

from ...helpers import keras_major

DTYPES = ["float32", "float64"]

#: Right, left and mixed padding, and a row that is all padding.
IDS = np.array([[3, 1, 4, 0, 0], [0, 0, 2, 7, 1], [5, 0, 9, 0, 2], [0, 0, 0, 0, 0]])


def test_embedding_by_hand() -> None:
    matrix = np.arange(8.0).reshape(4, 2)
    y, mask = embedding([[1, 0, -1]], matrix, mask_zero=True, dtype="float64")
    np.testing.assert_array_equal(y, [[[2.0, 3.0], [0.0, 1.0], [6.0, 7.0]]])
    np.testing.assert_array_equal(mask, [[True, False, True]])  # -1 is the last row, unmasked


def test_embedding_truncates_float_ids_but_masks_them_as_given() -> None:
    matrix = np.arange(8.0).reshape(4, 2)
    y, mask = embedding(np.array([[0.5, 2.9, 0.0]]), matrix, mask_zero=True, dtype="float64")
    np.testing.assert_array_equal(y[0, :, 0], [0.0, 4.0, 0.0])
    np.testing.assert_array_equal(mask, [[True, True, False]])


@pytest.mark.keras
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask_zero", [False, True])
@pytest.mark.parametrize("shape", [(4, 5), (4,), (4, 5, 2)], ids=["BT", "B", "BTU"])
def test_embedding_matches_keras(
    keras: Any,
    keras_run: Any,
    rng: np.random.Generator,
    close: Any,
    shape: tuple[int, ...],
    mask_zero: bool,
    dtype: str,
) -> None:
    ids = np.resize(IDS, shape).astype("int32")
    ids[0, ...] = -ids[0, ...]  # negative ids count from the end, in Keras 3 too
    layer = keras.layers.Embedding(10, 3, mask_zero=mask_zero, dtype=dtype)
    layer.build(ids.shape)
    matrix = rng.uniform(-1, 1, size=(10, 3)).astype(dtype)
    layer.set_weights([matrix])
    if keras_major(keras) < 3:
        # Keras 2's tf.gather rejects a negative id on CPU (the reference takes it as
        # Keras 3 does, from the end); the ids Keras 2 takes must still match.
        import tensorflow as tf

        with pytest.raises(tf.errors.InvalidArgumentError, match=r"= -3 is not in \[0, 10\)"):
            keras_run(layer, ids, dtype=dtype)
        ids = np.abs(ids)
    expected, keras_mask = keras_run(layer, ids, dtype=dtype)
    y, mask = embedding(ids, matrix, mask_zero=mask_zero, dtype=dtype)
    close(y, expected, dtype)
    if mask_zero:
        np.testing.assert_array_equal(mask, keras_mask)
    else:
        assert mask is None
        assert keras_mask is None


ACTIVATION_NAMES = ["relu", "tanh", "sigmoid", "softmax", "gelu", "elu", "selu", "swish", None]


@pytest.mark.keras
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATION_NAMES, ids=str)
def test_activation_matches_keras_and_passes_the_mask_on(
    keras: Any, keras_run: Any, rng: np.random.Generator, close: Any, name: str | None, dtype: str
) -> None:
    x = (3 * rng.normal(size=(4, 5, 3))).astype(dtype)
    mask = IDS != 0
    expected, keras_mask = keras_run(keras.layers.Activation(name, dtype=dtype), x, [mask], dtype)
    y, passed_on = activation(x, name, mask=mask, dtype=dtype)
    close(y, expected, dtype, name)
    np.testing.assert_array_equal(passed_on, keras_mask)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: embedding([[1]], np.zeros(4)), r"embeddings must have shape \(input_dim"),
        (lambda: embedding([[4]], np.zeros((4, 2))), r"ids must lie in \[-4, 4\)"),
        (lambda: embedding([[-5]], np.zeros((4, 2))), r"ids must lie in \[-4, 4\)"),
        (lambda: embedding([["a"]], np.zeros((4, 2))), "ids must be integers"),
        (lambda: embedding([[np.nan]], np.zeros((4, 2))), "ids must be finite"),
        (
            lambda: activation(np.zeros((2, 3, 1)), "relu", mask=np.ones((3, 2))),
            "a mask must have the shape of the leading axes",
        ),
    ],
)
def test_shapes_that_do_not_fit(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_unknown_activation() -> None:
    with pytest.raises(UnsupportedModelError, match="activation 'swoosh' is not supported"):
        activation(np.zeros((1, 2)), "swoosh")
