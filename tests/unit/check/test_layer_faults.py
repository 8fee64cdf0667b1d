"""Every layer class the reference computes catches a fault in the user's instance.

For each class, a small model around one recurrent layer; the instance's own ``call``
is wrapped to add 0.01 to its output, and the check must fail at that layer first.
The list of classes is the reference's own (``DESCRIBERS`` and the recurrent
model's layers), so a class added to the reference without a case here fails the
coverage test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity import check_parity
from pytest_rnnparity.errors import ParityError

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

from pytest_rnnparity.model.functional_layers import DESCRIBERS  # noqa: E402

B, T, F = 4, 6, 3


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    yield
    keras.backend.clear_session()


def _series() -> Any:
    return keras.Input((T, F), name="series")


def _head(x: Any) -> Any:
    layers = keras.layers
    if len(x.shape) == 3:
        x = layers.GRU(2, name="gru")(x)
    return layers.Dense(1, name="out")(x)


def _before_gru(make: Callable[[], Any]) -> Callable[[], tuple[Any, str]]:
    """Input -> the layer -> GRU -> Dense."""

    def build() -> tuple[Any, str]:
        inp = _series()
        layer = make()
        return keras.Model(inp, _head(layer(inp))), layer.name

    return build


def _after_gru(make: Callable[[], Any]) -> Callable[[], tuple[Any, str]]:
    """Input -> GRU(return_sequences) -> the layer -> Dense."""

    def build() -> tuple[Any, str]:
        inp = _series()
        layer = make()
        sequence = keras.layers.GRU(3, return_sequences=True, name="encoder")(inp)
        return keras.Model(inp, _head(layer(sequence))), layer.name

    return build


def _merging(make: Callable[[], Any]) -> Callable[[], tuple[Any, str]]:
    """[Input, GRU(return_sequences)] -> the layer -> GRU -> Dense."""

    def build() -> tuple[Any, str]:
        inp = _series()
        layer = make()
        sequence = keras.layers.GRU(F, return_sequences=True, name="encoder")(inp)
        return keras.Model(inp, _head(layer([sequence, inp]))), layer.name

    return build


def _embedding() -> tuple[Any, str]:
    tokens = keras.Input((T,), dtype="int32", name="tokens")
    layer = keras.layers.Embedding(12, F, mask_zero=True, name="embedding")
    return keras.Model(tokens, _head(layer(tokens))), layer.name


def _repeat_vector() -> tuple[Any, str]:
    inp = _series()
    layer = keras.layers.RepeatVector(3, name="repeat")
    summary = keras.layers.GRU(2, name="encoder")(inp)
    return keras.Model(inp, _head(layer(summary))), layer.name


def _multi_head_attention() -> tuple[Any, str]:
    inp = _series()
    layer = keras.layers.MultiHeadAttention(2, 2, name="mha")
    sequence = keras.layers.GRU(F, return_sequences=True, name="encoder")(inp)
    return keras.Model(inp, _head(layer(sequence, inp))), layer.name


def _time_distributed() -> tuple[Any, str]:
    inp = _series()
    layer = keras.layers.TimeDistributed(keras.layers.Dense(2), name="td")
    return keras.Model(inp, _head(layer(inp))), layer.name


L = keras.layers
CASES: dict[str, Callable[[], tuple[Any, str]]] = {
    "Embedding": _embedding,
    "Activation": _before_gru(lambda: L.Activation("softsign", name="act")),
    "Conv1D": _before_gru(lambda: L.Conv1D(4, 2, padding="causal", name="conv")),
    "MaxPooling1D": _before_gru(lambda: L.MaxPooling1D(2, name="pool")),
    "AveragePooling1D": _before_gru(lambda: L.AveragePooling1D(2, name="pool")),
    "GlobalAveragePooling1D": _after_gru(lambda: L.GlobalAveragePooling1D(name="pool")),
    "GlobalMaxPooling1D": _after_gru(lambda: L.GlobalMaxPooling1D(name="pool")),
    "Flatten": _after_gru(lambda: L.Flatten(name="flatten")),
    "Reshape": _before_gru(lambda: L.Reshape((F, T), name="reshape")),
    "Permute": _before_gru(lambda: L.Permute((2, 1), name="permute")),
    "RepeatVector": _repeat_vector,
    "ZeroPadding1D": _before_gru(lambda: L.ZeroPadding1D(1, name="pad")),
    "Cropping1D": _before_gru(lambda: L.Cropping1D(1, name="crop")),
    "UpSampling1D": _before_gru(lambda: L.UpSampling1D(2, name="up")),
    "LayerNormalization": _before_gru(lambda: L.LayerNormalization(name="norm")),
    "BatchNormalization": _before_gru(lambda: L.BatchNormalization(name="norm")),
    "Add": _merging(lambda: L.Add(name="merge")),
    "Subtract": _merging(lambda: L.Subtract(name="merge")),
    "Multiply": _merging(lambda: L.Multiply(name="merge")),
    "Average": _merging(lambda: L.Average(name="merge")),
    "Maximum": _merging(lambda: L.Maximum(name="merge")),
    "Minimum": _merging(lambda: L.Minimum(name="merge")),
    "Concatenate": _merging(lambda: L.Concatenate(name="merge")),
    "Dot": _merging(lambda: L.Dot(axes=(2, 2), name="merge")),
    "Attention": _merging(lambda: L.Attention(use_scale=True, name="attention")),
    "AdditiveAttention": _merging(lambda: L.AdditiveAttention(name="attention")),
    "MultiHeadAttention": _multi_head_attention,
    # the recurrent model's own layers around the cells
    "Dense": _before_gru(lambda: L.Dense(4, name="dense")),
    "TimeDistributed": _time_distributed,
}


def _randomized(model: Any) -> Any:
    rng = np.random.default_rng(3)
    for layer in model.layers:
        names = [getattr(v, "path", getattr(v, "name", "")) for v in layer.weights]
        layer.set_weights(
            [
                rng.uniform(0.2 if "variance" in name else -0.6, 0.6, a.shape).astype(a.dtype)
                for a, name in zip(layer.get_weights(), names, strict=True)
            ]
        )
    return model


def _x(model: Any) -> Any:
    rng = np.random.default_rng(4)
    if "int" in str(model.inputs[0].dtype):
        ids = rng.integers(1, 12, (B, T))
        ids[0, :2] = 0
        return ids
    return rng.normal(size=(B, T, F)).astype("float32")


def test_every_class_the_reference_computes_has_a_case() -> None:
    assert set(DESCRIBERS) <= set(CASES)


@pytest.mark.parametrize("class_name", sorted(CASES))
def test_a_fault_in_the_layer_is_caught_at_that_layer(class_name: str) -> None:
    model, name = CASES[class_name]()
    model = _randomized(model)
    x = _x(model)
    result = check_parity(model, x)
    assert result.ok
    assert name in {c.layer for c in result.comparisons}  # computed, not opaque
    assert result.opaque == ()

    layer = model.get_layer(name)
    original = layer.call

    def faulty(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **kwargs) + 0.01

    layer.call = faulty
    with pytest.raises(ParityError) as raised:
        check_parity(model, x)
    lines = str(raised.value).splitlines()
    assert lines[1].startswith(f"First: layer '{name}' ("), lines[:2]
