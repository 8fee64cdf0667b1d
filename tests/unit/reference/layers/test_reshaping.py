"""Flatten, Reshape, Permute, RepeatVector, ZeroPadding1D, Cropping1D, UpSampling1D vs Keras."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.reference.layers import reshaping
from pytest_rnnparity.reference.masks import LayerOutput

from ...helpers import warns_on_keras_3

DTYPES = ["float32", "float64"]
MASK = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 0, 1, 0, 1]], dtype=bool)

#: (id, Keras layer factory, reference, input shape): every option a layer has.
CASES: list[tuple[str, Callable[[Any, str], Any], Callable[..., LayerOutput], tuple[int, ...]]] = [
    ("flatten", lambda k, d: k.layers.Flatten(dtype=d), reshaping.flatten, (3, 5, 4)),
    (
        "flatten-channels_first",
        lambda k, d: k.layers.Flatten(data_format="channels_first", dtype=d),
        lambda x, **o: reshaping.flatten(x, data_format="channels_first", **o),
        (3, 5, 4, 2),
    ),
    (
        "reshape",
        lambda k, d: k.layers.Reshape((2, 10), dtype=d),
        lambda x, **o: reshaping.reshape(x, (2, 10), **o),
        (3, 5, 4),
    ),
    (
        "reshape-minus-one",
        lambda k, d: k.layers.Reshape((-1, 2), dtype=d),
        lambda x, **o: reshaping.reshape(x, (-1, 2), **o),
        (3, 5, 4),
    ),
    (
        "permute-2-1",
        lambda k, d: k.layers.Permute((2, 1), dtype=d),
        lambda x, **o: reshaping.permute(x, (2, 1), **o),
        (3, 5, 4),
    ),
    (
        "permute-identity",
        lambda k, d: k.layers.Permute((1, 2), dtype=d),
        lambda x, **o: reshaping.permute(x, (1, 2), **o),
        (3, 5, 4),
    ),
    (
        "permute-3-1-2",
        lambda k, d: k.layers.Permute((3, 1, 2), dtype=d),
        lambda x, **o: reshaping.permute(x, (3, 1, 2), **o),
        (3, 5, 4, 2),
    ),
    (
        "zero_padding-int",
        lambda k, d: k.layers.ZeroPadding1D(2, dtype=d),
        lambda x, **o: reshaping.zero_padding1d(x, 2, **o),
        (3, 5, 4),
    ),
    (
        "zero_padding-pair",
        lambda k, d: k.layers.ZeroPadding1D((0, 3), dtype=d),
        lambda x, **o: reshaping.zero_padding1d(x, (0, 3), **o),
        (3, 5, 4),
    ),
    (
        "cropping-default",
        lambda k, d: k.layers.Cropping1D(dtype=d),
        reshaping.cropping1d,
        (3, 5, 4),
    ),
    (
        "cropping-2-0",
        lambda k, d: k.layers.Cropping1D((2, 0), dtype=d),
        lambda x, **o: reshaping.cropping1d(x, (2, 0), **o),
        (3, 5, 4),
    ),
    (
        "cropping-none",
        lambda k, d: k.layers.Cropping1D((0, 0), dtype=d),
        lambda x, **o: reshaping.cropping1d(x, (0, 0), **o),
        (3, 5, 4),
    ),
    (
        "up_sampling-3",
        lambda k, d: k.layers.UpSampling1D(3, dtype=d),
        lambda x, **o: reshaping.up_sampling1d(x, 3, **o),
        (3, 5, 4),
    ),
]


@pytest.mark.keras
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("make", "reference", "shape"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_matches_keras_and_drops_the_mask(
    keras: Any,
    keras_run: Any,
    rng: np.random.Generator,
    make: Callable[[Any, str], Any],
    reference: Callable[..., LayerOutput],
    shape: tuple[int, ...],
    dtype: str,
) -> None:
    x = rng.normal(size=shape).astype(dtype)
    mask = np.resize(MASK, shape[:2])
    with warns_on_keras_3(keras, "does not support masking"):
        expected, keras_mask = keras_run(make(keras, dtype), x, [mask], dtype)
    y, passed_on = reference(x, mask=mask, dtype=dtype)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(y, expected)  # moves values only: exactly equal
    assert passed_on is None
    assert keras_mask is None


@pytest.mark.keras
@pytest.mark.parametrize("dtype", DTYPES)
def test_repeat_vector_matches_keras(keras: Any, rng: np.random.Generator, dtype: str) -> None:
    x = rng.normal(size=(3, 4)).astype(dtype)
    y, mask = reshaping.repeat_vector(x, 5, dtype=dtype)
    np.testing.assert_array_equal(y, np.asarray(keras.layers.RepeatVector(5, dtype=dtype)(x)))
    assert mask is None


def test_flatten_of_a_vector_and_channels_first_by_hand() -> None:
    y, _ = reshaping.flatten(np.array([1.0, 2.0]), dtype="float64")
    np.testing.assert_array_equal(y, [[1.0], [2.0]])
    x = np.array([[[1.0, 2.0], [3.0, 4.0]]])  # (B=1, C=2, T=2)
    y, _ = reshaping.flatten(x, data_format="channels_first", dtype="float64")
    np.testing.assert_array_equal(y, [[1.0, 3.0, 2.0, 4.0]])  # in (B, T, C) order


def test_up_sampling_repeats_in_place() -> None:
    y, _ = reshaping.up_sampling1d(np.array([[[1.0], [2.0]]]), 2, dtype="float64")
    np.testing.assert_array_equal(y[0, :, 0], [1.0, 1.0, 2.0, 2.0])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: reshaping.flatten(x, data_format="nchw"), "data_format must be"),
        (lambda x: reshaping.flatten(np.float64(1.0)), r"expected inputs of shape \(batch"),
        (lambda x: reshaping.flatten(x, mask=np.ones((2, 5))), "leading axes of the inputs"),
        (lambda x: reshaping.reshape(x, (7, 2)), "the total size must be unchanged"),
        (lambda x: reshaping.reshape(x, (-1, 7)), r"cannot be reshaped to target_shape=\(-1, 7\)"),
        (lambda x: reshaping.reshape(x, (-1, -1)), "or -1 for one unknown size"),
        (lambda x: reshaping.reshape(x, (-2, 6)), "or -1 for one unknown size"),
        (lambda x: reshaping.reshape(x, (0, -1)), "cannot be reshaped"),
        (lambda x: reshaping.permute(x, (1, 3)), r"dims must be a permutation of 1..2"),
        (lambda x: reshaping.permute(x, (2, 1, 3)), "needs inputs of rank 4"),
        (lambda x: reshaping.repeat_vector(x, 2), r"expected inputs of shape \(batch, features\)"),
        (lambda x: reshaping.repeat_vector(x[:, 0], 0), "n must be a positive integer"),
        (lambda x: reshaping.zero_padding1d(x, (1, -1)), "padding must be a non-negative"),
        (lambda x: reshaping.zero_padding1d(x, (1, 2, 3)), "padding must be a non-negative"),
        (lambda x: reshaping.zero_padding1d(x[0]), r"expected inputs of shape \(batch, steps"),
        (lambda x: reshaping.cropping1d(x, (2, 2)), "must leave at least one of the 4 steps"),
        (lambda x: reshaping.cropping1d(x, 1, mask=np.ones((2, 3))), "leading axes"),
        (lambda x: reshaping.up_sampling1d(x, 0), "size must be a positive integer"),
        (lambda x: reshaping.up_sampling1d(x, True), "size must be a positive integer"),
    ],
)
def test_shapes_that_do_not_fit(call: Callable[[np.ndarray], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(np.zeros((2, 4, 3)))
