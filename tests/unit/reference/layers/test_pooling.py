"""1-D pooling against hand-computed cases and against Keras, masks included."""

from __future__ import annotations

import itertools
from contextlib import nullcontext
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.reference.layers.pooling import (
    average_pooling1d,
    global_average_pooling1d,
    global_max_pooling1d,
    max_pooling1d,
)

from ...helpers import warns_on_keras_3

DTYPES = ["float32", "float64"]

#: Right, left and mixed padding, and a row that is all padding.
MASK = np.array(
    [
        [1, 1, 1, 1, 0, 0],
        [0, 0, 1, 1, 1, 1],
        [1, 0, 1, 1, 0, 1],
        [0, 0, 0, 0, 0, 0],
    ],
    dtype=bool,
)


# -- hand-computed ------------------------------------------------------------------------


def test_same_average_pooling_divides_by_the_steps_it_covers() -> None:
    x = np.array([1.0, 3.0, 5.0, 7.0, 9.0]).reshape(1, 5, 1)
    # 5 steps, pool 2, stride 2: one step of padding, after; the last window is [9].
    y, _ = average_pooling1d(x, pool_size=2, strides=2, padding="same", dtype="float64")
    np.testing.assert_array_equal(y[0, :, 0], [2.0, 6.0, 9.0])
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).reshape(1, 6, 1)
    # 6 steps, pool 3, stride 2: windows [1 2 3], [3 4 5], [5 6 pad].
    y, _ = average_pooling1d(x, pool_size=3, strides=2, padding="same", dtype="float64")
    np.testing.assert_array_equal(y[0, :, 0], [2.0, 4.0, 5.5])


def test_same_max_pooling_padding_never_wins() -> None:
    x = -np.array([1.0, 3.0, 5.0, 7.0, 9.0]).reshape(1, 5, 1)
    y, mask = max_pooling1d(x, pool_size=2, strides=2, padding="same", dtype="float64")
    np.testing.assert_array_equal(y[0, :, 0], [-1.0, -5.0, -9.0])
    assert mask is None


def test_masked_global_average_pooling_by_hand() -> None:
    x = np.array([[1.0, 2.0, 4.0, 8.0], [1.0, 2.0, 4.0, 8.0], [1.0, 2.0, 4.0, 8.0]])[..., None]
    x[0, 3] = np.nan  # a masked step's value does not leak (where, not multiply)
    mask = np.array([[1, 1, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0]], dtype=bool)
    y, passed_on = global_average_pooling1d(x, mask=mask, dtype="float64")
    np.testing.assert_array_equal(y[:, 0], [7.0 / 3.0, 5.0, np.nan])  # all padded: 0 / 0
    assert passed_on is None
    y, _ = global_average_pooling1d(x[1:], dtype="float64")
    np.testing.assert_array_equal(y[:, 0], [3.75, 3.75])


def test_global_max_pooling_ignores_the_mask_by_hand() -> None:
    x = np.array([[1.0, 5.0, 9.0], [-4.0, -2.0, -3.0]])[..., None]
    mask = np.array([[1, 1, 0], [0, 0, 0]], dtype=bool)
    y, passed_on = global_max_pooling1d(x, mask=mask, keepdims=True, dtype="float64")
    # The padded 9 wins; the fully padded row is the maximum of its padding.
    np.testing.assert_array_equal(y, [[[9.0]], [[-2.0]]])
    assert passed_on is None


# -- against Keras ------------------------------------------------------------------------

POOL_GRID = [
    {"pool_size": size, "strides": strides, "padding": padding, "length": 7 + i % 2}
    for i, (size, strides, padding) in enumerate(
        itertools.product([1, 2, 3], [None, 1, 2, 3], ["valid", "same"])
    )
]


@pytest.mark.keras
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "case", POOL_GRID, ids=lambda c: "p{pool_size}-s{strides}-{padding}-L{length}".format(**c)
)
@pytest.mark.parametrize("kind", ["max", "average"])
def test_pooling_matches_keras(
    keras: Any, rng: np.random.Generator, close: Any, kind: str, case: dict[str, Any], dtype: str
) -> None:
    options = {k: v for k, v in case.items() if k != "length"}
    cls = keras.layers.MaxPooling1D if kind == "max" else keras.layers.AveragePooling1D
    reference = max_pooling1d if kind == "max" else average_pooling1d
    layer = cls(dtype=dtype, **options)
    x = rng.normal(size=(3, case["length"], 4)).astype(dtype)
    y, mask = reference(x, dtype=dtype, **options)
    close(y, np.asarray(layer(x)), dtype)
    assert mask is None


@pytest.mark.keras
@pytest.mark.parametrize("kind", ["max", "average"])
def test_pooling_drops_the_mask_like_keras(
    keras: Any, keras_run: Any, rng: np.random.Generator, close: Any, kind: str
) -> None:
    cls = keras.layers.MaxPooling1D if kind == "max" else keras.layers.AveragePooling1D
    reference = max_pooling1d if kind == "max" else average_pooling1d
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    with warns_on_keras_3(keras, "does not support masking"):
        expected, keras_mask = keras_run(cls(pool_size=2, padding="same"), x, [MASK])
    y, mask = reference(x, pool_size=2, padding="same", mask=MASK)
    close(y, expected, "float32")
    assert mask is None
    assert keras_mask is None


@pytest.mark.keras
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("masked", [False, True], ids=["no_mask", "mask"])
@pytest.mark.parametrize("kind", ["average", "max"])
def test_global_pooling_matches_keras(
    keras: Any,
    keras_run: Any,
    rng: np.random.Generator,
    close: Any,
    kind: str,
    masked: bool,
    keepdims: bool,
    dtype: str,
) -> None:
    cls = (
        keras.layers.GlobalAveragePooling1D
        if kind == "average"
        else keras.layers.GlobalMaxPooling1D
    )
    reference = global_average_pooling1d if kind == "average" else global_max_pooling1d
    x = rng.normal(size=(4, 6, 3)).astype(dtype)
    mask = MASK if masked else None
    drops = kind == "max" and masked
    with warns_on_keras_3(keras, "does not support masking") if drops else nullcontext():
        expected, keras_mask = keras_run(cls(keepdims=keepdims, dtype=dtype), x, [mask], dtype)
    y, passed_on = reference(x, keepdims=keepdims, mask=mask, dtype=dtype)
    close(y, expected, dtype)  # the fully padded row: NaN in both for the average
    assert passed_on is None
    assert keras_mask is None
    if kind == "average" and masked:
        assert np.all(np.isnan(y[3]))


# -- shapes and options that do not fit ---------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: max_pooling1d(np.zeros((1, 5))), r"expected inputs of shape \(batch, steps"),
        (lambda: max_pooling1d(np.zeros((1, 2, 1)), pool_size=3), "the output would have no"),
        (lambda: average_pooling1d(np.zeros((1, 5, 1)), padding="causal"), "'valid' or 'same'"),
        (lambda: average_pooling1d(np.zeros((1, 5, 1)), strides=0), "strides must be a positive"),
        (lambda: average_pooling1d(np.zeros((1, 5, 1)), pool_size=(2, 2)), "pool_size must be"),
        (
            lambda: max_pooling1d(np.zeros((2, 5, 1)), mask=np.ones((2, 4))),
            r"mask must have shape \(batch, steps\) = \(2, 5\)",
        ),
        (
            lambda: global_average_pooling1d(np.zeros((2, 5, 1)), mask=np.ones((5,))),
            r"mask must have shape \(batch, steps\)",
        ),
        (lambda: global_average_pooling1d(np.zeros((2, 5))), "expected inputs of shape"),
        (lambda: global_max_pooling1d(np.zeros((2, 0, 3))), "no steps"),
    ],
)
def test_shapes_that_do_not_fit(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
