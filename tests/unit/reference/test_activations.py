"""Every activation of the reference against a formula written independently with ``math``."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest

from pytest_rnnparity.errors import UnsupportedModelError
from pytest_rnnparity.reference.activations import ACTIVATIONS, get_activation

POINTS = (-3.5, -1.0, -0.25, 0.0, 0.5, 2.0, 4.0)


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def _softplus(v: float) -> float:
    return math.log1p(math.exp(v))


def _hard_sigmoid(v: float) -> float:
    return min(max(v / 6.0 + 0.5, 0.0), 1.0)


# One scalar formula per name, written from the definitions in Keras' docstrings.
FORMULAS: dict[str, Callable[[float], float]] = {
    "celu": lambda v: v if v >= 0 else math.exp(v) - 1.0,
    "elu": lambda v: v if v > 0 else math.exp(v) - 1.0,
    "exponential": math.exp,
    "gelu": lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))),
    "hard_shrink": lambda v: v if abs(v) > 0.5 else 0.0,
    "hard_sigmoid": _hard_sigmoid,
    "hard_silu": lambda v: v * _hard_sigmoid(v),
    "hard_swish": lambda v: v * _hard_sigmoid(v),
    "hard_tanh": lambda v: min(max(v, -1.0), 1.0),
    "leaky_relu": lambda v: v if v > 0 else 0.2 * v,
    "linear": lambda v: v,
    "log_sigmoid": lambda v: math.log(_sigmoid(v)),
    "mish": lambda v: v * math.tanh(_softplus(v)),
    "relu": lambda v: max(v, 0.0),
    "relu6": lambda v: min(max(v, 0.0), 6.0),
    "selu": lambda v: 1.0507009873554805 * (v if v > 0 else 1.6732632423543772 * math.expm1(v)),
    "sigmoid": _sigmoid,
    "silu": lambda v: v * _sigmoid(v),
    "soft_shrink": lambda v: v - 0.5 if v > 0.5 else (v + 0.5 if v < -0.5 else 0.0),
    "softplus": _softplus,
    "softsign": lambda v: v / (1.0 + abs(v)),
    "sparse_plus": lambda v: 0.0 if v <= -1 else ((v + 1.0) ** 2 / 4.0 if v < 1 else v),
    "sparse_sigmoid": lambda v: 0.0 if v <= -1 else (0.5 * (v + 1.0) if v < 1 else 1.0),
    "squareplus": lambda v: (v + math.sqrt(v * v + 4.0)) / 2.0,
    "swish": lambda v: v * _sigmoid(v),
    "tanh": math.tanh,
    "tanh_shrink": lambda v: v - math.tanh(v),
}
ELEMENTWISE = sorted(FORMULAS)
REQUIRED = [
    "tanh",
    "sigmoid",
    "hard_sigmoid",
    "relu",
    "relu6",
    "linear",
    "softsign",
    "softplus",
    "elu",
    "selu",
    "gelu",
    "swish",
    "silu",
    "hard_swish",
    "hard_silu",
    "exponential",
    "leaky_relu",
    "mish",
    "log_sigmoid",
]


def test_every_activation_has_an_independent_formula() -> None:
    assert set(ACTIVATIONS) == set(FORMULAS) | {"softmax", "log_softmax"}
    assert set(REQUIRED) <= set(ACTIVATIONS)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_float64_matches_formula(name: str) -> None:
    x = np.array(POINTS, dtype=np.float64)
    expected = [FORMULAS[name](v) for v in POINTS]
    np.testing.assert_allclose(get_activation(name)(x), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", [*ELEMENTWISE, "softmax", "log_softmax"])
def test_float32_stays_float32(name: str) -> None:
    x = np.array(POINTS, dtype=np.float32).reshape(1, -1)
    result = get_activation(name)(x)
    assert result.dtype == np.float32
    assert result.shape == x.shape


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_float32_matches_formula(name: str) -> None:
    x = np.array(POINTS, dtype=np.float32)
    expected = [FORMULAS[name](float(v)) for v in x]
    np.testing.assert_allclose(get_activation(name)(x), expected, rtol=2e-6, atol=1e-7)


def test_none_is_linear() -> None:
    x = np.array([-2.0, 3.0], dtype=np.float32)
    assert get_activation(None)(x) is x


def test_hard_sigmoid_keras3_and_keras2() -> None:
    x = np.array([-4.0, -2.0, 0.0, 1.5, 2.0, 3.0], dtype=np.float64)
    # Keras 3: clip(x / 6 + 0.5, 0, 1); saturates at |x| >= 3.
    keras3 = [0.0, -2 / 6 + 0.5, 0.5, 1.5 / 6 + 0.5, 2 / 6 + 0.5, 1.0]
    # Keras 2: clip(0.2 x + 0.5, 0, 1); saturates at |x| >= 2.5.
    keras2 = [0.0, 0.1, 0.5, 0.8, 0.9, 1.0]
    np.testing.assert_allclose(get_activation("hard_sigmoid", keras_major=3)(x), keras3)
    np.testing.assert_allclose(get_activation("hard_sigmoid", keras_major=2)(x), keras2)
    # Other activations are the same in both.
    assert get_activation("tanh", keras_major=2) is get_activation("tanh", keras_major=3)


def test_keras2_hard_sigmoid_keeps_float32() -> None:
    x = np.array([-1.0, 0.7], dtype=np.float32)
    assert get_activation("hard_sigmoid", keras_major=2)(x).dtype == np.float32


def test_sigmoid_is_stable_for_large_magnitudes() -> None:
    x = np.array([-1000.0, -100.0, 100.0, 1000.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = get_activation("sigmoid")(x)
        log_result = get_activation("log_sigmoid")(x)
        softplus = get_activation("softplus")(x)
    np.testing.assert_allclose(result, [0.0, 0.0, 1.0, 1.0], atol=1e-30)
    assert 0.0 <= result[1] < 1e-37  # flushed to zero, exactly as TensorFlow's sigmoid does
    np.testing.assert_allclose(log_result, [-1000.0, -100.0, 0.0, 0.0], atol=1e-30)
    np.testing.assert_allclose(softplus, [0.0, 0.0, 100.0, 1000.0], atol=1e-30)


def test_exponential_overflows_to_inf_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = get_activation("exponential")(np.array([1000.0], dtype=np.float32))
    assert result[0] == np.inf


def test_softmax_and_log_softmax_use_the_last_axis() -> None:
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]])
    total = math.exp(1) + math.exp(2) + math.exp(3)
    expected = [
        [math.exp(1) / total, math.exp(2) / total, math.exp(3) / total],
        [1 / 3, 1 / 3, 1 / 3],
    ]
    np.testing.assert_allclose(get_activation("softmax")(x), expected, rtol=1e-12)
    np.testing.assert_allclose(get_activation("log_softmax")(x), np.log(expected), rtol=1e-12)


def test_unknown_activation_is_unsupported() -> None:
    with pytest.raises(UnsupportedModelError) as info:
        get_activation("foo")
    message = str(info.value)
    assert message.startswith("activation 'foo' is not supported; supported: celu, elu, ")
    assert "tanh" in message


def test_keras_major_must_be_2_or_3() -> None:
    with pytest.raises(ValueError, match="keras_major must be 2 or 3"):
        get_activation("tanh", keras_major=1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_is_accurate_in_the_tails_without_warnings(dtype: str) -> None:
    x = np.linspace(-800, 800, 400_001).astype(dtype)
    before = x.copy()
    got = get_activation("sigmoid")(x)
    # the stable two-branch formula, written independently in float64
    truth = np.array(
        [1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)) for v in x[::97]]
    )
    ulp = np.spacing(truth.astype(dtype)).astype(np.float64)
    error = np.abs(got[::97] - truth)
    # where exp(-x) overflows (x below about -88 in float32) the result is 0, and the
    # true value is below the smallest normal number
    with np.errstate(over="ignore"):
        overflow = np.isinf(np.exp(-x[::97].astype(np.float64)).astype(dtype))
    assert got.dtype == np.dtype(dtype)
    assert np.all(error[~overflow] <= 4 * ulp[~overflow])
    assert np.all(got[::97][overflow] == 0)
    assert np.all(truth[overflow] < np.finfo(dtype).tiny)
    assert (got[0], got[-1]) == (0.0, 1.0)
    np.testing.assert_array_equal(x, before)  # the input is not touched
