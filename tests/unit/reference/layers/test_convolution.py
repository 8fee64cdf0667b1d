"""Conv1D against hand-computed cases and against Keras, every padding, stride, dilation, group."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.reference.layers.convolution import conv1d, same_padding

from ...helpers import keras_major, warns_on_keras_3

DTYPES = ["float32", "float64"]


def keras_conv1d(keras: Any, rng: np.random.Generator, channels: int, dtype: str, **options: Any):
    """A built Conv1D with random non-zero kernel and bias; returns it and its weights."""
    layer = keras.layers.Conv1D(dtype=dtype, **options)
    layer.build((None, None, channels))
    weights = [rng.uniform(-0.8, 0.8, size=w.shape).astype(dtype) for w in layer.get_weights()]
    layer.set_weights(weights)
    return layer, weights


# -- hand-computed ------------------------------------------------------------------------


def test_causal_dilated_sees_only_the_past() -> None:
    # kernel taps [10, 1] with dilation 2: y[t] = 10 x[t-2] + 1 x[t] + 0.5, zeros before t=0.
    x = np.array([1, 2, 3, 4, 5], dtype="float64").reshape(1, 5, 1)
    kernel = np.array([10.0, 1.0]).reshape(2, 1, 1)
    y, mask = conv1d(x, kernel, [0.5], padding="causal", dilation_rate=2, dtype="float64")
    np.testing.assert_array_equal(y[0, :, 0], [1.5, 2.5, 13.5, 24.5, 35.5])
    assert mask is None


@pytest.mark.parametrize(
    ("length", "expected_padding", "expected"),
    [
        # 6 steps, kernel 3, stride 2: one step of padding, after (TF puts the odd one last).
        (6, (0, 1), [1 + 20 + 300, 3 + 40 + 500, 5 + 60 + 0]),
        # 5 steps: two, one on each side.
        (5, (1, 1), [0 + 10 + 200, 2 + 30 + 400, 4 + 50 + 0]),
    ],
)
def test_same_padding_with_stride_2(
    length: int, expected_padding: tuple[int, int], expected: list[float]
) -> None:
    assert same_padding(length, 3, 2) == expected_padding
    x = np.arange(1, length + 1, dtype="float64").reshape(1, length, 1)
    kernel = np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1)
    y, _ = conv1d(x, kernel, padding="same", strides=2, dtype="float64")
    np.testing.assert_array_equal(y[0, :, 0], expected)


def test_groups_convolve_their_own_channels() -> None:
    # Two groups of one channel each: filter 0 sees channel 0 only, filter 1 channel 1.
    x = np.array([[[1.0, 100.0], [2.0, 200.0]]])
    kernel = np.array([[[1.0, 1.0]], [[10.0, 10.0]]])  # (k=2, C/G=1, filters=2)
    y, _ = conv1d(x, kernel, groups=2, dtype="float64")
    np.testing.assert_array_equal(y, [[[21.0, 2100.0]]])


# -- against Keras ------------------------------------------------------------------------

STRIDES_DILATION = [(1, 1), (2, 1), (3, 1), (1, 2), (1, 3)]
GRID = [
    {
        "padding": padding,
        "strides": strides,
        "dilation_rate": dilation,
        "kernel_size": kernel_size,
        "length": 9 + (strides + dilation + kernel_size) % 2,  # odd and even lengths
    }
    for padding, (strides, dilation), kernel_size in itertools.product(
        ["valid", "same", "causal"], STRIDES_DILATION, [1, 3, 4]
    )
]
ACTIVATIONS = [None, "relu", "tanh", "sigmoid", "gelu", "softmax"]


@pytest.mark.keras
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "case",
    GRID,
    ids=lambda c: "{padding}-s{strides}-d{dilation_rate}-k{kernel_size}-L{length}".format(**c),
)
def test_matches_keras_padding_strides_dilation(
    keras: Any, rng: np.random.Generator, close: Any, case: dict[str, Any], dtype: str
) -> None:
    options = {k: case[k] for k in ("padding", "strides", "dilation_rate")}
    activation = ACTIVATIONS[GRID.index(case) % len(ACTIVATIONS)]
    layer, (kernel, bias) = keras_conv1d(
        keras,
        rng,
        4,
        dtype,
        filters=5,
        kernel_size=case["kernel_size"],
        activation=activation,
        **options,
    )
    x = rng.normal(size=(3, case["length"], 4)).astype(dtype)
    if (case["kernel_size"] - 1) * case["dilation_rate"] >= case["length"] and (
        case["padding"] == "valid"
    ):
        # The kernel spans more steps than there are: both refuse (Keras 3 when it builds;
        # Keras 2 computes an output of no steps, which TensorFlow fails to run in float32).
        if keras_major(keras) >= 3:
            with pytest.raises(ValueError, match="would be zero or negative"):
                layer.compute_output_shape(x.shape)
        else:
            assert tuple(layer.compute_output_shape(x.shape)) == (3, 0, 5)
        with pytest.raises(ValueError, match="the output would have no steps"):
            conv1d(x, kernel, bias, dtype=dtype, **options)
        return
    y, mask = conv1d(x, kernel, bias, activation=activation, dtype=dtype, **options)
    close(y, np.asarray(layer(x)), dtype, activation)
    assert mask is None


@pytest.mark.keras
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("groups", "use_bias"), [(1, False), (2, True), (3, False), (6, True)])
def test_matches_keras_groups_and_bias(
    keras: Any, rng: np.random.Generator, close: Any, groups: int, use_bias: bool, dtype: str
) -> None:
    layer, weights = keras_conv1d(
        keras,
        rng,
        6,
        dtype,
        filters=12,
        kernel_size=3,
        groups=groups,
        use_bias=use_bias,
        padding="same",
        activation="elu",
    )
    x = rng.normal(size=(2, 7, 6)).astype(dtype)
    bias = weights[1] if use_bias else None
    y, _ = conv1d(x, weights[0], bias, groups=groups, padding="same", activation="elu", dtype=dtype)
    close(y, np.asarray(layer(x)), dtype)


@pytest.mark.keras
def test_mask_is_dropped_and_padding_convolved_like_keras(
    keras: Any, keras_run: Any, rng: np.random.Generator, close: Any
) -> None:
    layer, (kernel, bias) = keras_conv1d(keras, rng, 3, "float32", filters=2, kernel_size=2)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1]], dtype=bool)
    with warns_on_keras_3(keras, "does not support masking"):
        expected, keras_mask = keras_run(layer, x, [mask])
    y, passed_on = conv1d(x, kernel, bias, mask=mask)
    close(y, expected, "float32")
    assert passed_on is None
    assert keras_mask is None


# -- shapes and options that do not fit ---------------------------------------------------


@pytest.mark.parametrize(
    ("inputs_shape", "kernel_shape", "options", "message"),
    [
        ((1, 5, 2), (2, 2, 3), {"strides": 2, "dilation_rate": 2}, "strides > 1 is not supported"),
        ((1, 5, 2), (2, 2, 3), {"padding": "full"}, "padding must be one of"),
        ((1, 5, 2), (2, 2, 3), {"strides": 0}, "strides must be a positive integer"),
        ((1, 5, 2), (2, 2, 3), {"dilation_rate": (1, 1)}, "dilation_rate must be a positive"),
        ((1, 5, 2), (2, 2), {}, r"kernel must have shape \(kernel_size"),
        ((1, 5, 3), (2, 2, 3), {}, r"channels=2\) for a kernel"),
        ((5, 2), (2, 2, 3), {}, r"expected inputs of shape \(batch, steps"),
        ((1, 5, 4), (2, 2, 3), {"groups": 2}, r"filters \(3\) must be divisible by groups \(2\)"),
        ((1, 5, 2), (2, 2, 3), {"groups": 0}, "groups must be a positive integer"),
        ((1, 3, 2), (4, 2, 3), {}, "the output would have no steps"),
        ((1, 3, 2), (2, 2, 3), {"dilation_rate": 3}, "the output would have no steps"),
        ((1, 5, 2), (2, 2, 3), {"bias": np.zeros(2)}, r"bias must have shape \(3,\)"),
        ((1, 5, 2), (2, 2, 3), {"mask": np.ones((1, 4))}, r"mask must have shape \(batch, steps\)"),
    ],
)
def test_shapes_that_do_not_fit(
    inputs_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    options: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        conv1d(np.zeros(inputs_shape), np.zeros(kernel_shape), **options)


def test_dtype_must_be_float32_or_float64() -> None:
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        conv1d(np.zeros((1, 3, 1)), np.zeros((1, 1, 1)), dtype="float16")
