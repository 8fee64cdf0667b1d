"""model/weights.py: per-gate splitting and exact reassembly."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_rnnparity.model.weights import join_gates, split_gates


def _arange(*shape: int) -> np.ndarray:
    return np.arange(np.prod(shape), dtype=np.float32).reshape(shape)


def test_gru_reset_after_bias_rows_split_into_input_and_recurrent() -> None:
    units, features = 2, 3
    kernel = _arange(features, 3 * units)
    recurrent = _arange(units, 3 * units) + 100
    bias = _arange(2, 3 * units) + 1000
    weights = split_gates("gru", kernel, recurrent, bias)
    np.testing.assert_array_equal(weights.kernel["z"], kernel[:, 0:2])
    np.testing.assert_array_equal(weights.kernel["r"], kernel[:, 2:4])
    np.testing.assert_array_equal(weights.kernel["h"], kernel[:, 4:6])
    np.testing.assert_array_equal(weights.recurrent_kernel["h"], recurrent[:, 4:6])
    assert weights.input_bias is not None
    assert weights.recurrent_bias is not None
    np.testing.assert_array_equal(weights.input_bias["r"], [1002.0, 1003.0])
    np.testing.assert_array_equal(weights.recurrent_bias["r"], [1008.0, 1009.0])
    assert (weights.units, weights.features) == (2, 3)


def test_lstm_gate_order_is_i_f_c_o() -> None:
    units = 1
    kernel = np.array([[1.0, 2.0, 3.0, 4.0]])
    weights = split_gates("lstm", kernel, _arange(1, 4), np.array([5.0, 6.0, 7.0, 8.0]))
    assert [float(weights.kernel[g][0, 0]) for g in "ifco"] == [1.0, 2.0, 3.0, 4.0]
    assert weights.input_bias is not None
    assert [float(weights.input_bias[g][0]) for g in "ifco"] == [5.0, 6.0, 7.0, 8.0]
    assert weights.recurrent_bias is None
    assert weights.units == units


@pytest.mark.parametrize(
    ("kind", "gates", "bias_shape"),
    [
        ("gru", 3, (2, 12)),
        ("gru", 3, (12,)),
        ("gru", 3, None),
        ("lstm", 4, (16,)),
        ("simple_rnn", 1, (4,)),
        ("simple_rnn", 1, None),
    ],
)
def test_join_gives_back_exactly_the_keras_arrays(
    kind: str, gates: int, bias_shape: tuple[int, ...] | None
) -> None:
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, gates * 4)).astype(np.float32)
    recurrent = rng.normal(size=(4, gates * 4)).astype(np.float32)
    bias = None if bias_shape is None else rng.normal(size=bias_shape).astype(np.float32)
    arrays = join_gates(split_gates(kind, kernel, recurrent, bias))  # type: ignore[arg-type]
    expected = [kernel, recurrent] + ([] if bias is None else [bias])
    assert len(arrays) == len(expected)
    for got, want in zip(arrays, expected, strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("kernel_shape", "recurrent_shape", "bias_shape", "message"),
    [
        ((3, 12), (4, 8), None, r"gru recurrent kernel must have shape \(4, 12\), got \(4, 8\)"),
        ((3, 9), (4, 12), None, r"gru kernel must have shape \(features, 12\), got \(3, 9\)"),
        (
            (3, 12),
            (4, 12),
            (3, 12),
            r"gru bias must have shape \(12,\) or \(2, 12\), got \(3, 12\)",
        ),
    ],
)
def test_wrong_shapes_are_named(
    kernel_shape: tuple[int, ...],
    recurrent_shape: tuple[int, ...],
    bias_shape: tuple[int, ...] | None,
    message: str,
) -> None:
    bias = None if bias_shape is None else np.zeros(bias_shape)
    with pytest.raises(ValueError, match=message):
        split_gates("gru", np.zeros(kernel_shape), np.zeros(recurrent_shape), bias)


def test_two_row_bias_only_for_gru() -> None:
    with pytest.raises(ValueError, match=r"a two-row bias \(2, 16\) only exists for a GRU"):
        split_gates("lstm", np.zeros((3, 16)), np.zeros((4, 16)), np.zeros((2, 16)))


@pytest.mark.keras
def test_keras_layers_split_and_join_back_exactly() -> None:
    keras = pytest.importorskip("keras")
    from pytest_rnnparity.model.weights import layer_cell_weights

    model = keras.Sequential(
        [
            keras.Input((4, 3)),
            keras.layers.Bidirectional(keras.layers.GRU(5, return_sequences=True)),
            keras.layers.GRU(3, reset_after=False, return_sequences=True),
            keras.layers.LSTM(2, return_sequences=True),
            keras.layers.SimpleRNN(2, use_bias=False),
        ]
    )
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    bidirectional, gru, lstm, simple = model.layers
    cases = [
        (bidirectional.forward_layer, "gru"),
        (bidirectional.backward_layer, "gru"),
        (gru, "gru"),
        (lstm, "lstm"),
        (simple, "simple_rnn"),
    ]
    for layer, kind in cases:
        joined = join_gates(layer_cell_weights(layer, kind))
        expected = layer.get_weights()
        assert [a.shape for a in joined] == [a.shape for a in expected]
        for got, want in zip(joined, expected, strict=True):
            np.testing.assert_array_equal(got, want)
    keras.backend.clear_session()
