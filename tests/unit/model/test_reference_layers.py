"""Keras layers described for the reference: what each generation of Keras really computes."""

from __future__ import annotations

import pytest

from pytest_rnnparity.model.reference_layers import describe_layer

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras


@pytest.mark.parametrize(("generation", "zeroes"), [(2, False), (3, True)])
def test_conv_lstm_zero_output_for_mask_is_keras_3s_alone(generation: int, zeroes: bool) -> None:
    # Keras 2's ConvRNN accepts zero_output_for_mask and never passes it to backend.rnn.
    layer = keras.layers.ConvLSTM1D(2, 2, return_sequences=True, zero_output_for_mask=True)
    layer.build((1, 3, 4, 1))
    assert describe_layer(layer, keras_major=generation).zero_output_for_mask is zeroes


def test_a_built_batch_normalization_has_one_integer_axis() -> None:
    # Keras 2 turns a built layer's axis into a list ([2] for -1 here); the reference
    # takes one int.
    layer = keras.layers.BatchNormalization()
    layer.build((2, 5, 4))
    axis = describe_layer(layer).options["axis"]
    assert isinstance(axis, int)
    assert axis % 3 == 2
