"""Shared test setup for the non-recurrent layer references: Keras on demand, masks.

Used by ``layers/`` and ``test_masks.py``; the recurrent tests (``recurrent/``) build
their Keras models themselves. Keras is imported by the ``keras`` fixture only, so the
hand-computed and shape-error tests of these files run (and fail) without TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pytest

#: ``run(layer, inputs, masks=None, dtype="float32") -> (output, mask)``; see ``keras_run``.
KerasRun = Callable[..., tuple[np.ndarray, np.ndarray | None]]


@pytest.fixture(scope="module")
def keras() -> Iterator[Any]:
    """The keras module (the test is skipped without it); a fresh session after the module.

    Once per module, not per test: ``clear_session`` collects garbage and resets
    TensorFlow's graph, ~0.5 s each, longer than the grids' tests themselves.
    """
    module = pytest.importorskip("keras")
    yield module
    module.backend.clear_session()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240607)


@pytest.fixture(scope="module")
def keras_run(keras: Any) -> KerasRun:
    """Call a Keras layer inside a functional model, with any masks attached to its inputs.

    Each masked input goes through a small layer that attaches the given mask, as
    ``Embedding(mask_zero=True)`` or ``Masking`` would, so the layer sees it the way
    it does in a real model: as ``mask=`` and on the tensor itself (which is where
    ``Multiply``/``Maximum``/``Minimum`` read it). Returns the output and the mask
    Keras attached to it (None if none).
    """

    # A copy, not the input itself, so that the mask goes on a tensor of its own.
    if hasattr(keras, "ops"):
        copy, cast = keras.ops.copy, keras.ops.cast
    else:  # Keras 2 has no keras.ops, and TensorFlow is its only backend
        import tensorflow as tf

        copy, cast = tf.identity, tf.cast

    class AttachMask(keras.layers.Layer):  # type: ignore[misc,name-defined]
        def call(self, inputs: Any) -> Any:
            return copy(inputs[0])

        def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
            return cast(inputs[1], "bool")

    def run(
        layer: Any,
        inputs: np.ndarray | Sequence[np.ndarray],
        masks: Sequence[np.ndarray | None] | None = None,
        dtype: str = "float32",
    ) -> tuple[np.ndarray, np.ndarray | None]:
        several = not isinstance(inputs, np.ndarray)
        xs = list(inputs) if several else [inputs]
        given = list(masks) if masks is not None else [None] * len(xs)
        model_inputs, feeds, tensors = [], [], []
        for x, m in zip(xs, given, strict=True):
            x_in = keras.Input(x.shape[1:], dtype=x.dtype.name)
            model_inputs.append(x_in)
            feeds.append(x)
            if m is None:
                tensors.append(x_in)
                continue
            m_in = keras.Input(m.shape[1:], dtype="bool")
            model_inputs.append(m_in)
            feeds.append(np.asarray(m, dtype=bool))
            tensors.append(AttachMask(dtype=dtype)([x_in, m_in]))
        model = keras.Model(model_inputs, layer(tensors if several else tensors[0]))
        y = model(feeds)
        mask = getattr(y, "_keras_mask", None)
        return np.asarray(y), None if mask is None else np.asarray(mask)

    return run


#: ``close(reference, keras_output, dtype, activation=None)``: same shape and dtype, and
#: equal within ``TOLERANCE[dtype]`` (see ``GELU_FLOAT64_TOLERANCE``), NaN where NaN.
Close = Callable[..., None]

#: Tolerance (absolute and relative) of a reference against Keras, per dtype.
TOLERANCE = {"float32": 1e-6, "float64": 1e-14}

#: Keras' float64 ``gelu`` is ``tf.nn.gelu``, which multiplies by
#: ``math_ops.cast(0.7071067811865476, float64)``: the Python float becomes a float32
#: tensor first, so 1/sqrt(2) carries float32's error (~1e-8) into float64. The
#: reference computes the exact function, hence this tolerance for it alone.
GELU_FLOAT64_TOLERANCE = 2e-8


@pytest.fixture
def close() -> Close:
    """Assert a reference output equals Keras' within the dtype's rounding (NaN where NaN)."""

    def check(
        actual: np.ndarray, expected: np.ndarray, dtype: str, activation: str | None = None
    ) -> None:
        __tracebackhide__ = True
        assert actual.shape == expected.shape
        assert actual.dtype == np.dtype(dtype)
        tolerance = TOLERANCE[dtype]
        if activation == "gelu" and dtype == "float64":
            tolerance = GELU_FLOAT64_TOLERANCE
        np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)

    return check
