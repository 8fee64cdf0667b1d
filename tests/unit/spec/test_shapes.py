"""spec/shapes.py: the shapes the functional form's layers give, as Keras computes them
(``tests/unit/model/test_build.py`` checks them against Keras' own for a model holding
every layer)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_rnnparity.spec import LayerDecl
from pytest_rnnparity.spec.shapes import (
    Misfit,
    Tensor,
    layer_outputs,
    layer_weight_count,
    output_parts,
    show,
    state_names,
    state_shapes,
)


def decl(class_name: str, **kwargs: Any) -> LayerDecl:
    return LayerDecl(class_name, kwargs, line=1)


def outputs(layer: LayerDecl, *shapes: tuple[int, ...]) -> list[tuple[int, ...]]:
    return layer_outputs(layer, [Tensor(shape, f"in{i}") for i, shape in enumerate(shapes)])


def test_shapes_read_as_tuples() -> None:
    assert show((8, 3)) == "(8, 3)"
    assert show((4,)) == "(4,)"


@pytest.mark.parametrize(
    ("padding", "strides", "dilation", "steps"),
    [
        ("valid", 1, 1, 8),  # 10 - 3 + 1
        ("valid", 2, 1, 4),  # floor((10 - 3) / 2) + 1
        ("valid", 1, 2, 6),  # 10 - 2 * (3 - 1)
        ("same", 1, 1, 10),
        ("same", 3, 1, 4),  # ceil(10 / 3)
        ("causal", 1, 2, 10),
        ("causal", 2, 1, 5),
    ],
)
def test_conv1d_steps_follow_padding_strides_and_dilation(
    padding: str, strides: int, dilation: int, steps: int
) -> None:
    conv = decl(
        "Conv1D",
        filters=5,
        kernel_size=3,
        padding=padding,
        strides=strides,
        dilation_rate=dilation,
    )
    assert outputs(conv, (10, 4)) == [(steps, 5)]


def test_pooling_steps_default_their_strides_to_the_pool() -> None:
    assert outputs(decl("MaxPooling1D"), (9, 2)) == [(4, 2)]
    assert outputs(decl("AveragePooling1D", pool_size=3, strides=1), (9, 2)) == [(7, 2)]
    assert outputs(decl("MaxPooling1D", pool_size=2, padding="same"), (9, 2)) == [(5, 2)]
    assert outputs(decl("GlobalMaxPooling1D"), (9, 2)) == [(2,)]
    assert outputs(decl("GlobalAveragePooling1D", keepdims=True), (9, 2)) == [(1, 2)]


def test_reshaping_layers() -> None:
    assert outputs(decl("Flatten"), (4, 3)) == [(12,)]
    assert outputs(decl("Reshape", target_shape=(-1, 2)), (4, 3)) == [(6, 2)]
    assert outputs(decl("Permute", dims=(2, 1)), (4, 3)) == [(3, 4)]
    assert outputs(decl("RepeatVector", n=5), (3,)) == [(5, 3)]
    assert outputs(decl("ZeroPadding1D", padding=(1, 2)), (4, 3)) == [(7, 3)]
    assert outputs(decl("Cropping1D", cropping=(1, 2)), (4, 3)) == [(1, 3)]
    assert outputs(decl("UpSampling1D", size=3), (4, 3)) == [(12, 3)]
    assert outputs(decl("Embedding", input_dim=9, output_dim=2), (7,)) == [(7, 2)]
    wrapped = decl("TimeDistributed", layer=decl("Dense", units=5))
    assert outputs(wrapped, (4, 3)) == [(4, 5)]


def test_merges_broadcast_sizes_of_one_and_concatenate_adds_up_its_axis() -> None:
    assert outputs(decl("Add"), (4, 3), (4, 3), (4, 3)) == [(4, 3)]
    assert outputs(decl("Multiply"), (4, 1), (4, 3)) == [(4, 3)]
    assert outputs(decl("Concatenate"), (4, 3), (4, 2)) == [(4, 5)]
    assert outputs(decl("Concatenate", axis=1), (4, 3), (2, 3)) == [(6, 3)]
    assert outputs(decl("Dot", axes=1), (4,), (4,)) == [(1,)]
    assert outputs(decl("Dot", axes=(2, 2)), (5, 3), (6, 3)) == [(5, 6)]
    assert outputs(decl("Dot", axes=1), (5, 3), (5, 2)) == [(3, 2)]


def test_attention_gives_the_query_steps_with_the_value_features() -> None:
    assert outputs(decl("Attention"), (5, 4), (7, 4)) == [(5, 4)]
    assert outputs(decl("AdditiveAttention"), (5, 4), (7, 2), (7, 4)) == [(5, 2)]
    mha = decl("MultiHeadAttention", num_heads=2, key_dim=3)
    assert outputs(mha, (5, 4), (7, 6)) == [(5, 4)]


def test_recurrent_layers_name_their_outputs_and_states() -> None:
    lstm = decl("LSTM", units=4, return_sequences=True, return_state=True)
    assert output_parts(lstm) == ("output", "state_h", "state_c")
    assert outputs(lstm, (6, 3)) == [(6, 4), (4,), (4,)]
    gru = decl("GRU", units=2, return_state=True)
    assert output_parts(gru) == ("output", "state")
    assert outputs(gru, (6, 3)) == [(2,), (2,)]
    bi = decl("Bidirectional", layer=decl("LSTM", units=3, return_state=True), merge_mode=None)
    assert output_parts(bi) == (
        "forward", "backward", "forward_state_h", "forward_state_c", "backward_state_h",
        "backward_state_c",
    )  # fmt: skip
    assert outputs(bi, (6, 2)) == [(3,)] * 6
    concat = decl("Bidirectional", layer=decl("GRU", units=3, return_sequences=True))
    assert output_parts(concat) == ("output",)
    assert outputs(concat, (6, 2)) == [(6, 6)]
    assert state_names(concat) == ("forward_state", "backward_state")
    cells = (decl("LSTMCell", units=3), decl("GRUCell", units=2))
    rnn = decl("RNN", cell=cells, return_state=True)
    assert output_parts(rnn) == ("output", "state_0", "state_1", "state_2")
    assert outputs(rnn, (6, 2)) == [(2,), (3,), (3,), (2,)]
    conv_lstm = decl("ConvLSTM1D", filters=2, kernel_size=3, return_sequences=True)
    assert outputs(conv_lstm, (6, 5, 1)) == [(6, 3, 2)]
    assert state_shapes(conv_lstm, Tensor((6, 5, 1), "x")) == [(3, 2), (3, 2)]


def test_a_misfit_names_the_argument_to_blame() -> None:
    with pytest.raises(Misfit) as caught:
        outputs(decl("Conv1D", filters=2, kernel_size=5), (4, 2))
    assert caught.value.argument == "kernel_size"
    with pytest.raises(Misfit) as caught:
        outputs(decl("LSTM", units=2), (4,))
    assert caught.value.argument is None


def test_weight_counts_follow_each_layer() -> None:
    assert layer_weight_count(decl("Dense", units=3), [(4,)]) == 15
    assert layer_weight_count(decl("Embedding", input_dim=10, output_dim=4), [(5,)]) == 40
    assert layer_weight_count(decl("Conv1D", filters=4, kernel_size=3), [(8, 2)]) == 28
    assert layer_weight_count(decl("LSTM", units=2), [(5, 3)]) == 4 * 2 * (3 + 2 + 2)
    cells = (decl("GRUCell", units=2), decl("SimpleRNNCell", units=3))
    assert layer_weight_count(decl("RNN", cell=cells), [(5, 4)]) == 3 * 2 * 8 + 1 * 3 * 7
    assert layer_weight_count(decl("LayerNormalization"), [(5, 4)]) == 16
