"""The models every runtime test reads back: each cell, both GRU variants, both wrappers.

Random, asymmetric, non-zero weights and biases (the scale keeps gates away from
saturation so a wrong value shows). ``batch`` is never ``timesteps``, so a
time-major tensor cannot pass for a batch-first one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pytest_rnnparity.reference.types import LayerResult

TIMESTEPS = 5
FEATURES = 3
ROWS = 6  # not a multiple of the TFLite batch: the last batch is padded
TFLITE_BATCH = 4


def _layers(keras: Any, name: str, units: int) -> list[Any]:
    layers = keras.layers
    small = max(units // 2, 2)
    return {
        "gru": [layers.GRU(units, return_sequences=True, name="gru")],
        "gru_reset_before": [layers.GRU(units, reset_after=False, go_backwards=True, name="gru")],
        "lstm": [layers.LSTM(units, name="lstm")],
        "simple_rnn": [layers.SimpleRNN(units, return_sequences=True, name="rnn")],
        "bidirectional_lstm": [
            layers.Bidirectional(layers.LSTM(units, return_sequences=True), name="bi")
        ],
        "bidirectional_gru": [layers.Bidirectional(layers.GRU(units), name="bi")],
        "stack": [
            layers.GRU(units, return_sequences=True, name="g1"),
            layers.LSTM(small, name="l2"),
        ],
    }[name]


MODELS = (
    "gru",
    "gru_reset_before",
    "lstm",
    "simple_rnn",
    "bidirectional_lstm",
    "bidirectional_gru",
    "stack",
)


def build(name: str, *, units: int = 4, seed: int = 11) -> Any:
    """Model ``name`` with a Dense head, weights uniform in +-1.2/sqrt(fan_in), biases +-0.3."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((TIMESTEPS, FEATURES)),
            *_layers(keras, name, units),
            keras.layers.Dense(2, name="head"),
        ],
        name=f"m_{name}",
    )
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = []
        for array in layer.get_weights():
            scale = 1.2 / np.sqrt(array.shape[0]) if array.ndim == 2 else 0.3
            values = rng.uniform(-scale, scale, size=array.shape)
            weights.append(np.where(values == 0, scale / 2, values).astype(array.dtype))
        layer.set_weights(weights)
    return model


def windows(seed: int = 5, rows: int = ROWS) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, TIMESTEPS, FEATURES)).astype("float32")


def reference(model: Any, x: np.ndarray) -> tuple[LayerResult, ...]:
    from pytest_rnnparity.api import check_parity

    return check_parity(model, x, raise_on_mismatch=False).reference


def worst(departures: Sequence[Any], keep: Callable[[Any], bool] = lambda d: True) -> float:
    return max((d.max_abs for d in departures if keep(d)), default=0.0)
