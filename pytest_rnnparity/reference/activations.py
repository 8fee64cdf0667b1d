"""The activations Keras accepts by name, written out in NumPy.

Each function keeps its input's dtype: constants are cast to ``x.dtype`` before they
meet ``x``, so a float32 pass stays float32 and a float64 pass stays float64.
Where Keras' TensorFlow backend and its NumPy backend write a formula differently,
the TensorFlow form is used, because that is the backend the parity runs against.
Functions that reduce over an axis (``softmax``, ``log_softmax``) use the last axis,
as Keras does by default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from pytest_rnnparity.errors import UnsupportedModelError
from pytest_rnnparity.reference.types import Array

Activation = Callable[[Array], Array]

# Keras' constants for selu (keras/src/backend/numpy/nn.py).
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _const(x: Array, value: float) -> np.floating:
    """``value`` as a scalar of ``x``'s dtype, so that it cannot upcast ``x``."""
    constant: np.floating = x.dtype.type(value)
    return constant


def linear(x: Array) -> Array:
    """``x``, unchanged (also what ``activation=None`` means)."""
    return x


def tanh(x: Array) -> Array:
    """``tanh(x)``."""
    return np.tanh(x)


def sigmoid(x: Array) -> Array:
    """``1 / (1 + exp(-x))``, in the input's dtype.

    Below about -88 (float32; -709 float64) ``exp(-x)`` overflows to inf and the
    result is its limit, 0: that overflow is expected and silenced. Within 3.2 ulp of
    the float64 value over float32's range (SciPy's ``expit``: 2.5), and ~4x faster
    than ``expit``: three in-place passes of NumPy's vectorized loops instead of a
    scalar one, on the hot path of every GRU/LSTM step.
    """
    result: Array = np.negative(x)
    with np.errstate(over="ignore"):
        np.exp(result, out=result)
    result += _const(result, 1.0)
    np.reciprocal(result, out=result)
    return result


def hard_sigmoid(x: Array) -> Array:
    """Keras 3: ``clip(x / 6 + 0.5, 0, 1)``, computed as ``relu6(x + 3) / 6`` like TensorFlow."""
    return relu6(x + _const(x, 3.0)) / _const(x, 6.0)


def hard_sigmoid_keras2(x: Array) -> Array:
    """Keras 2 (``tf.keras``): ``clip(0.2 * x + 0.5, 0, 1)``."""
    result: Array = np.clip(_const(x, 0.2) * x + _const(x, 0.5), _const(x, 0.0), _const(x, 1.0))
    return result


def relu(x: Array) -> Array:
    """``max(x, 0)``."""
    return np.maximum(x, _const(x, 0.0))


def relu6(x: Array) -> Array:
    """``min(max(x, 0), 6)``."""
    return np.minimum(np.maximum(x, _const(x, 0.0)), _const(x, 6.0))


def leaky_relu(x: Array) -> Array:
    """``x`` if ``x > 0`` else ``0.2 * x`` (Keras 3's default ``negative_slope``)."""
    return np.where(x > 0, x, _const(x, 0.2) * x)


def elu(x: Array) -> Array:
    """``x`` if ``x > 0`` else ``exp(x) - 1`` (``alpha = 1``)."""
    # expm1 only sees non-positive values, so the unused branch cannot overflow.
    return np.where(x > 0, x, np.expm1(np.minimum(x, _const(x, 0.0))))


def selu(x: Array) -> Array:
    """``scale * elu(x, alpha)`` with Keras' ``alpha = 1.67326...`` and ``scale = 1.05070...``."""
    negative = _const(x, _SELU_ALPHA) * np.expm1(np.minimum(x, _const(x, 0.0)))
    result: Array = _const(x, _SELU_SCALE) * np.where(x > 0, x, negative)
    return result


def celu(x: Array) -> Array:
    """``max(x, 0) + expm1(min(x, 0))`` (``alpha = 1``)."""
    zero = _const(x, 0.0)
    return np.maximum(x, zero) + np.expm1(np.minimum(x, zero))


def softplus(x: Array) -> Array:
    """``log(1 + exp(x))``, evaluated as ``logaddexp(x, 0)`` so it cannot overflow."""
    result: Array = np.logaddexp(x, _const(x, 0.0))
    return result


def softsign(x: Array) -> Array:
    """``x / (1 + |x|)``."""
    result: Array = x / (_const(x, 1.0) + np.abs(x))
    return result


def log_sigmoid(x: Array) -> Array:
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return -softplus(-x)


def silu(x: Array) -> Array:
    """``x * sigmoid(x)`` (also called swish)."""
    return x * sigmoid(x)


def hard_silu(x: Array) -> Array:
    """``x * hard_sigmoid(x)`` (also called hard_swish)."""
    return x * hard_sigmoid(x)


def mish(x: Array) -> Array:
    """``x * tanh(softplus(x))``."""
    return x * np.tanh(softplus(x))


def gelu(x: Array) -> Array:
    """Exact GELU, ``x * (1 + erf(x / sqrt(2))) / 2`` (the string ``'gelu'`` is not approximate)."""
    # scipy is imported here rather than at module level: importing scipy.special
    # costs more than the rest of the reference package, and only gelu needs it.
    from scipy.special import erf

    cdf: Array = erf(x / _const(x, np.sqrt(2.0))) + _const(x, 1.0)
    return x * cdf / _const(x, 2.0)


def exponential(x: Array) -> Array:
    """``exp(x)``; overflows to ``inf`` exactly where Keras does, without a warning."""
    with np.errstate(over="ignore"):
        result: Array = np.exp(x)
    return result


def squareplus(x: Array) -> Array:
    """``(x + sqrt(x**2 + 4)) / 2`` (Keras' default ``b = 4``)."""
    result: Array = (x + np.sqrt(np.square(x) + _const(x, 4.0))) / _const(x, 2.0)
    return result


def sparse_plus(x: Array) -> Array:
    """``0`` for ``x <= -1``, ``(x + 1)**2 / 4`` for ``-1 < x < 1``, ``x`` for ``x >= 1``."""
    one = _const(x, 1.0)
    middle = np.square(x + one) / _const(x, 4.0)
    return np.where(x <= -one, _const(x, 0.0), np.where(x < one, middle, x))


def sparse_sigmoid(x: Array) -> Array:
    """``0`` for ``x <= -1``, ``(x + 1) / 2`` for ``-1 < x < 1``, ``1`` for ``x >= 1``."""
    one = _const(x, 1.0)
    middle = _const(x, 0.5) * (x + one)
    return np.where(x <= -one, _const(x, 0.0), np.where(x >= one, one, middle))


def hard_tanh(x: Array) -> Array:
    """``clip(x, -1, 1)``."""
    return np.clip(x, _const(x, -1.0), _const(x, 1.0))


def tanh_shrink(x: Array) -> Array:
    """``x - tanh(x)``."""
    return x - np.tanh(x)


def soft_shrink(x: Array) -> Array:
    """``x - 0.5`` above ``0.5``, ``x + 0.5`` below ``-0.5``, else ``0``."""
    threshold = _const(x, 0.5)
    return np.where(
        x > threshold,
        x - threshold,
        np.where(x < -threshold, x + threshold, _const(x, 0.0)),
    )


def hard_shrink(x: Array) -> Array:
    """``x`` where ``|x| > 0.5``, else ``0``."""
    return np.where(np.abs(x) > _const(x, 0.5), x, _const(x, 0.0))


def softmax(x: Array) -> Array:
    """``exp(x) / sum(exp(x))`` over the last axis, shifted by the maximum to avoid overflow."""
    shifted = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(shifted)
    result: Array = e / np.sum(e, axis=-1, keepdims=True)
    return result


def log_softmax(x: Array) -> Array:
    """``x - logsumexp(x)`` over the last axis."""
    shifted = x - np.max(x, axis=-1, keepdims=True)
    result: Array = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    return result


#: Keras 3's activation names (including its aliases) and what they compute.
ACTIVATIONS: Mapping[str, Activation] = {
    "celu": celu,
    "elu": elu,
    "exponential": exponential,
    "gelu": gelu,
    "hard_shrink": hard_shrink,
    "hard_sigmoid": hard_sigmoid,
    "hard_silu": hard_silu,
    "hard_swish": hard_silu,
    "hard_tanh": hard_tanh,
    "leaky_relu": leaky_relu,
    "linear": linear,
    "log_sigmoid": log_sigmoid,
    "log_softmax": log_softmax,
    "mish": mish,
    "relu": relu,
    "relu6": relu6,
    "selu": selu,
    "sigmoid": sigmoid,
    "silu": silu,
    "soft_shrink": soft_shrink,
    "softmax": softmax,
    "softplus": softplus,
    "softsign": softsign,
    "sparse_plus": sparse_plus,
    "sparse_sigmoid": sparse_sigmoid,
    "squareplus": squareplus,
    "swish": silu,
    "tanh": tanh,
    "tanh_shrink": tanh_shrink,
}

#: Where Keras 2 (``tf.keras``) computes something else under the same name.
_KERAS2_OVERRIDES: Mapping[str, Activation] = {
    "hard_sigmoid": hard_sigmoid_keras2,
}


def get_activation(name: str | None, *, keras_major: int = 3) -> Activation:
    """Return the NumPy function for a Keras activation name.

    Parameters
    ----------
    name : str or None
        A name Keras accepts for ``activation=`` (``"tanh"``, ``"swish"``, ...);
        ``None`` means linear, as in Keras.
    keras_major : int
        The Keras major version whose definition to use. Only ``hard_sigmoid``
        differs: Keras 2 uses ``clip(0.2 * x + 0.5, 0, 1)``, Keras 3
        ``clip(x / 6 + 0.5, 0, 1)``.

    Returns
    -------
    callable
        A function from an array to an array of the same shape and dtype.

    Raises
    ------
    UnsupportedModelError
        If the name is not one of ``ACTIVATIONS``.
    ValueError
        If ``keras_major`` is neither 2 nor 3.
    """
    if keras_major not in (2, 3):
        raise ValueError(f"keras_major must be 2 or 3, got {keras_major!r}")
    if name is None:
        return linear
    if keras_major == 2 and name in _KERAS2_OVERRIDES:
        return _KERAS2_OVERRIDES[name]
    try:
        return ACTIVATIONS[name]
    except KeyError:
        supported = ", ".join(sorted(ACTIVATIONS))
        raise UnsupportedModelError(
            f"activation {name!r} is not supported; supported: {supported}"
        ) from None
