"""Masks made by Embedding(mask_zero=True), through pooling, normalization and merges, vs Keras.

One functional model, several branches; each branch's output and mask is computed
again by chaining the reference functions, as a graph runner would.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.reference.layers.core import activation, embedding
from pytest_rnnparity.reference.layers.merging import add, concatenate, maximum, multiply
from pytest_rnnparity.reference.layers.normalization import layer_normalization
from pytest_rnnparity.reference.layers.pooling import global_average_pooling1d, global_max_pooling1d
from pytest_rnnparity.reference.masks import or_masks

from ..helpers import keras_major, warns_on_keras_3

#: Right, left, mixed padding and a fully padded row; the second input pads differently.
IDS_1 = np.array([[4, 2, 7, 0, 0], [0, 0, 3, 1, 5], [6, 0, 2, 0, 9], [0, 0, 0, 0, 0]])
IDS_2 = np.array([[1, 0, 0, 0, 0], [0, 8, 8, 8, 0], [0, 0, 0, 0, 0], [2, 3, 4, 5, 6]])


def test_or_masks() -> None:
    a, b = np.array([[True, False, False]]), np.array([[False, False, True]])
    np.testing.assert_array_equal(or_masks([a, b]), [[True, False, True]])
    assert or_masks([a, None]) is None
    assert or_masks([]) is None


@pytest.mark.keras
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_embedding_masks_through_a_model_match_keras(
    keras: Any, rng: np.random.Generator, close: Any, dtype: str
) -> None:
    layers = keras.layers
    ids_1, ids_2 = keras.Input((5,), dtype="int32"), keras.Input((5,), dtype="int32")
    embed_1 = layers.Embedding(10, 3, mask_zero=True, dtype=dtype)
    embed_2 = layers.Embedding(10, 3, mask_zero=True, dtype=dtype)
    norm = layers.LayerNormalization(dtype=dtype)
    e1, e2 = embed_1(ids_1), embed_2(ids_2)
    normed = norm(e1)
    summed = layers.Add(dtype=dtype)([normed, e2])
    largest = layers.Activation("tanh", dtype=dtype)(layers.Maximum(dtype=dtype)([e1, e2]))
    product = layers.Multiply(dtype=dtype)([e1, e2])
    in_time = layers.Concatenate(axis=1, dtype=dtype)([e1, e2])
    with warns_on_keras_3(keras, "does not support masking"):
        largest_step = layers.GlobalMaxPooling1D(dtype=dtype)(e1)
    outputs = {
        "average": layers.GlobalAveragePooling1D(dtype=dtype)(e1),
        "max": largest_step,
        "summed": summed,
        "largest": largest,
        "product": product,
        "in_time": in_time,
        "average_in_time": layers.GlobalAveragePooling1D(dtype=dtype)(in_time),
        "average_largest": layers.GlobalAveragePooling1D(dtype=dtype)(largest),
    }
    model = keras.Model([ids_1, ids_2], outputs)
    for layer in (embed_1, embed_2, norm):
        layer.set_weights(
            [rng.uniform(-1, 1, size=w.shape).astype(dtype) for w in layer.get_weights()]
        )
    with warns_on_keras_3(keras, "does not support masking"):  # again, when run
        keras_outputs = model([IDS_1, IDS_2])

    x1, m1 = embedding(IDS_1, embed_1.get_weights()[0], mask_zero=True, dtype=dtype)
    x2, m2 = embedding(IDS_2, embed_2.get_weights()[0], mask_zero=True, dtype=dtype)
    normed_ref = layer_normalization(x1, *norm.get_weights(), mask=m1, dtype=dtype)
    generation = keras_major(keras)
    largest_pre, largest_mask = maximum(
        [x1, x2], masks=[m1, m2], dtype=dtype, keras_major=generation
    )
    largest_ref = activation(largest_pre, "tanh", mask=largest_mask, dtype=dtype)
    in_time_ref = concatenate([x1, x2], axis=1, masks=[m1, m2], dtype=dtype, keras_major=generation)
    expected = {
        "average": global_average_pooling1d(x1, mask=m1, dtype=dtype),
        "max": global_max_pooling1d(x1, mask=m1, dtype=dtype),
        "summed": add(
            [normed_ref.output, x2],
            masks=[normed_ref.mask, m2],
            dtype=dtype,
            keras_major=generation,
        ),
        "largest": largest_ref,
        "product": multiply([x1, x2], masks=[m1, m2], dtype=dtype, keras_major=generation),
        "in_time": in_time_ref,
        "average_in_time": global_average_pooling1d(
            in_time_ref.output, mask=in_time_ref.mask, dtype=dtype
        ),
        "average_largest": global_average_pooling1d(
            largest_ref.output, mask=largest_ref.mask, dtype=dtype
        ),
    }
    assert m1 is not None
    assert not m1[3].any()  # the fully padded row is there
    for name, (y, mask) in expected.items():
        tensor = keras_outputs[name]
        close(y, np.asarray(tensor), dtype)
        keras_mask = getattr(tensor, "_keras_mask", None)
        if mask is None:
            assert keras_mask is None, name
        else:
            np.testing.assert_array_equal(mask, np.asarray(keras_mask), err_msg=name)
    # The fully padded row averages to NaN; a row padded in one input only does not.
    assert np.isnan(expected["average"].output[3]).all()
    assert not np.isnan(expected["average_in_time"].output[3]).any()
