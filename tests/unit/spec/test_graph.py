"""spec/graph.py: the functional form of ``model:`` (named layers, what each reads,
outputs), every check it makes before Keras runs, and every message verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_rnnparity.spec import (
    CELL_ARGUMENTS,
    GRAPH_LAYER_ARGUMENTS,
    LAYER_ARGUMENTS,
    GraphData,
    LayerDecl,
    LayerNode,
    ModelGraph,
)
from pytest_rnnparity.spec.graph import split_reference

from .helpers import error_of, load_one

#: One series input ``x``: windows of (6, 3); the layers start on line 7.
HEAD = """\
data:
  inputs:
    x: {synthetic: {kind: sine, length: 20, features: 3}}
lookback: 6
model:
  layers:
"""
#: A series input ``x`` and a token input ``t`` (ids 1..29, 14 sequences of 6): 14 rows
#: each; the layers start on line 8.
TOKENS_HEAD = """\
data:
  inputs:
    x: {synthetic: {kind: sine, length: 20, features: 3}}
    t: {tokens: {vocabulary: 30, sequences: 14, length: 6}}
lookback: 6
model:
  layers:
"""
EMBEDDED = "    emb: {Embedding: {input_dim: 30, output_dim: 4}, inputs: t}\n"

SEQ2SEQ = """\
data:
  inputs:
    history: {synthetic: {kind: sine, length: 30, features: 2}, lookback: 8}
    decoder_input: {synthetic: {kind: normal, length: 30, features: 1}, lookback: 4}
  batch: 10
model:
  layers:
    encoder: {LSTM: {units: 4, return_state: true}, inputs: history}
    decoder:
      LSTM: {units: 4, return_sequences: true}
      inputs: decoder_input
      initial_state: [encoder.state_h, encoder.state_c]
    steps: {TimeDistributed: {layer: {Dense: {units: 1}}}, inputs: decoder}
  outputs: [steps]
"""


def test_a_seq2seq_model_loads_as_its_graph(tmp_path: Path) -> None:
    spec = load_one(tmp_path, SEQ2SEQ)

    assert spec.model == ModelGraph(
        inputs=("history", "decoder_input"),
        layers=(
            LayerNode(
                "encoder",
                LayerDecl("LSTM", {"units": 4, "return_state": True}, 8),
                inputs=("history",),
                line=8,
            ),
            LayerNode(
                "decoder",
                LayerDecl("LSTM", {"units": 4, "return_sequences": True}, 10),
                inputs=("decoder_input",),
                initial_state=("encoder.state_h", "encoder.state_c"),
                line=9,
            ),
            LayerNode(
                "steps",
                LayerDecl("TimeDistributed", {"layer": LayerDecl("Dense", {"units": 1}, 13)}, 13),
                inputs=("decoder",),
                line=13,
            ),
        ),
        outputs=("steps",),
        order=("encoder", "decoder", "steps"),
    )
    assert spec.layer_lines == (8, 9, 13)
    assert spec.lookback == 0  # no top-level lookback: each input gives its own
    assert isinstance(spec.data, GraphData)
    assert [(i.name, i.lookback) for i in spec.data.inputs] == [
        ("history", 8),
        ("decoder_input", 4),
    ]
    assert spec.location("model.layers.decoder.initial_state[1]") == (12, 40)


def test_layers_are_ordered_after_what_they_read_and_outputs_default_to_the_unread(
    tmp_path: Path,
) -> None:
    text = HEAD + (
        "    head: {Dense: {units: 1}, inputs: merged}\n"
        "    merged: {Concatenate: {}, inputs: [left, right]}\n"
        "    left: {GRU: {units: 2}, inputs: x}\n"
        "    right: {LSTM: {units: 3}, inputs: x}\n"
        "    side: {Dense: {units: 2}, inputs: right}\n"
    )

    graph = load_one(tmp_path, text).model

    assert isinstance(graph, ModelGraph)
    assert graph.order == ("left", "right", "merged", "head", "side")
    assert graph.outputs == ("head", "side")  # in the order written
    assert [node.name for node in graph.layers] == ["head", "merged", "left", "right", "side"]


def test_references_name_inputs_layers_and_outputs_of_layers(tmp_path: Path) -> None:
    text = HEAD + (
        "    bi:\n"
        "      Bidirectional: {layer: {GRU: {units: 2, return_state: true}}, merge_mode: null}\n"
        "      inputs: x\n"
        "    both: {Concatenate: {}, inputs: [bi.forward, bi.backward, bi.backward_state]}\n"
        "    lstm: {LSTM: {units: 2, return_state: true}, inputs: x}\n"
    )
    spec = load_one(tmp_path, text)
    graph = spec.model
    assert isinstance(graph, ModelGraph)

    assert graph.outputs == ("both", "lstm")
    assert split_reference(graph, "x") == ("x", None)
    assert split_reference(graph, "lstm") == ("lstm", "output")
    assert split_reference(graph, "lstm.state_c") == ("lstm", "state_c")
    assert split_reference(graph, "bi.forward_state") == ("bi", "forward_state")


def test_one_input_may_be_written_alone_or_in_a_list(tmp_path: Path) -> None:
    single = load_one(tmp_path, HEAD + "    gru: {GRU: {units: 2}, inputs: x}\n").model
    listed = load_one(tmp_path, HEAD + "    gru: {GRU: {units: 2}, inputs: [x]}\n").model

    assert isinstance(single, ModelGraph)
    assert single == listed
    assert single.layers[0].inputs == ("x",)


def test_attention_takes_a_causal_mask_and_rnn_stacks_its_cells(tmp_path: Path) -> None:
    text = HEAD + (
        "    rnn:\n"
        "      RNN:\n"
        "        cell: [{LSTMCell: {units: 3}}, {GRUCell: {units: 4, reset_after: false}}]\n"
        "        return_sequences: true\n"
        "        return_state: true\n"
        "      inputs: x\n"
        "    att: {Attention: {score_mode: concat}, inputs: [rnn, rnn], use_causal_mask: true}\n"
        "    pooled: {GlobalMaxPooling1D: {}, inputs: att}\n"
        "    state: {Add: {}, inputs: [rnn.state_2, pooled]}\n"
    )

    graph = load_one(tmp_path, text).model

    assert isinstance(graph, ModelGraph)
    rnn, att, _, _ = graph.layers
    assert rnn.layer.kwargs["cell"] == (
        LayerDecl("LSTMCell", {"units": 3}, 9),
        LayerDecl("GRUCell", {"units": 4, "reset_after": False}, 9),
    )
    assert att.use_causal_mask is True
    assert graph.outputs == ("state",)


ARGUMENTS = {
    "Embedding": "{input_dim: 30, output_dim: 4, mask_zero: true, embeddings_initializer: uniform}",
    "Conv1D": (
        "{filters: 4, kernel_size: [2], strides: 1, padding: causal, dilation_rate: 2, groups: 1,"
        " activation: relu, use_bias: true, kernel_initializer: he_normal, bias_initializer: ones}"
    ),
    "MaxPooling1D": "{pool_size: 2, strides: null, padding: same}",
    "AveragePooling1D": "{pool_size: 3, strides: 1, padding: valid}",
    "GlobalAveragePooling1D": "{keepdims: true}",
    "GlobalMaxPooling1D": "{keepdims: false}",
    "Flatten": "{}",
    "Reshape": "{target_shape: [-1, 2]}",
    "Permute": "{dims: [2, 1]}",
    "RepeatVector": "{n: 3}",
    "Activation": "{activation: gelu}",
    "ZeroPadding1D": "{padding: [1, 2]}",
    "Cropping1D": "{cropping: 1}",
    "UpSampling1D": "{size: 3}",
    "LayerNormalization": "{axis: [-1], epsilon: 0.01, center: false, scale: true}",
    "BatchNormalization": "{axis: -1, epsilon: 0.001, center: true, scale: false, momentum: 0.9}",
    "Concatenate": "{axis: 1}",
    "Add": "{}",
    "Subtract": "null",
    "Multiply": "{}",
    "Average": "{}",
    "Maximum": "{}",
    "Minimum": "{}",
    "Dot": "{axes: [2, 2], normalize: true}",
    "Attention": "{use_scale: true, score_mode: dot, dropout: 0.1}",
    "AdditiveAttention": "{use_scale: false, dropout: 0.0}",
    "MultiHeadAttention": (
        "{num_heads: 2, key_dim: 3, value_dim: 2, dropout: 0.1, use_bias: false,"
        " kernel_initializer: glorot_uniform, bias_initializer: zeros}"
    ),
    "RNN": (
        "{cell: {SimpleRNNCell: {units: 2}}, return_sequences: true, return_state: false,"
        " go_backwards: true, stateful: false, unroll: true, zero_output_for_mask: true}"
    ),
    "ConvLSTM1D": (
        "{filters: 2, kernel_size: 2, strides: 1, padding: same, dilation_rate: 1,"
        " activation: tanh, recurrent_activation: sigmoid, use_bias: true,"
        " unit_forget_bias: false, dropout: 0.0, recurrent_dropout: 0.0,"
        " return_sequences: true, return_state: false, go_backwards: false, stateful: false,"
        " kernel_initializer: orthogonal, recurrent_initializer: orthogonal,"
        " bias_initializer: zeros}"
    ),
}
#: What each layer reads in the test of its arguments.
READS = {
    "Embedding": "t",
    "ConvLSTM1D": "cube",
    "Concatenate": "[x, x]",
    "Add": "[x, x]",
    "Subtract": "[x, x]",
    "Multiply": "[x, x]",
    "Average": "[x, x, x]",
    "Maximum": "[x, x]",
    "Minimum": "[x, x]",
    "Dot": "[x, x]",
    "Attention": "[x, x, x]",
    "AdditiveAttention": "[x, x]",
    "MultiHeadAttention": "[x, x]",
    "RepeatVector": "gru",
}


def test_the_arguments_test_covers_every_new_layer() -> None:
    assert set(ARGUMENTS) == set(GRAPH_LAYER_ARGUMENTS) - set(LAYER_ARGUMENTS)
    for class_name, written in ARGUMENTS.items():
        allowed = set(GRAPH_LAYER_ARGUMENTS[class_name]) - {"name"}
        shown = {part.split(":")[0].strip(" {[") for part in written.split(",")}
        nested = {"SimpleRNNCell", "units}}"}  # RNN's cell holds a cell of its own
        assert allowed <= shown | nested or written in ("{}", "null"), class_name


@pytest.mark.parametrize("class_name", sorted(ARGUMENTS))
def test_every_argument_of_every_new_layer_is_accepted(tmp_path: Path, class_name: str) -> None:
    text = TOKENS_HEAD + (
        f"    layer: {{{class_name}: {ARGUMENTS[class_name]},"
        f" inputs: {READS.get(class_name, 'x')}}}\n"
        "    gru: {GRU: {units: 3}, inputs: x}\n"
        "    cube: {Reshape: {target_shape: [6, 3, 1]}, inputs: x}\n"
        "    emb: {Embedding: {input_dim: 30, output_dim: 2}, inputs: t}\n"
        "    out: {Concatenate: {}, inputs: [gru, gru]}\n"
    )
    if class_name in ("RepeatVector", "ConvLSTM1D"):
        text = text.replace("    out: {Concatenate: {}, inputs: [gru, gru]}\n", "")

    graph = load_one(tmp_path, text).model

    assert isinstance(graph, ModelGraph)
    layer = graph.node("layer").layer
    assert layer.class_name == class_name
    assert set(layer.kwargs) <= set(GRAPH_LAYER_ARGUMENTS[class_name])


def test_every_cell_argument_is_accepted(tmp_path: Path) -> None:
    cells = {
        "GRUCell": "{units: 2, activation: tanh, recurrent_activation: sigmoid, use_bias: true,"
        " dropout: 0.0, recurrent_dropout: 0.0, kernel_initializer: ones,"
        " recurrent_initializer: ones, bias_initializer: ones, reset_after: true}",
        "LSTMCell": "{units: 2, recurrent_activation: hard_sigmoid, unit_forget_bias: true}",
        "SimpleRNNCell": "{units: 2, activation: relu}",
    }
    assert set(cells) == set(CELL_ARGUMENTS)
    written = ", ".join(f"{{{name}: {arguments}}}" for name, arguments in cells.items())
    text = HEAD + f"    rnn: {{RNN: {{cell: [{written}]}}, inputs: x}}\n"

    graph = load_one(tmp_path, text).model

    assert isinstance(graph, ModelGraph)
    assert [cell.class_name for cell in graph.layers[0].layer.kwargs["cell"]] == list(cells)


ERRORS = [
    # -- structure and names
    (
        HEAD.replace("  layers:\n", "  layer: {}\n"),
        "specs/x.yaml:6:3: model: unknown key 'layer'; did you mean 'layers'?",
    ),
    (
        HEAD.replace("  layers:\n", "  layers: []\n"),
        (
            "specs/x.yaml:6:11: model.layers: expected a mapping of layer names to layers, such as"
            " {lstm: {LSTM: {units: 4}, inputs: x}}, got an empty list"
        ),
    ),
    (
        HEAD + "    a: [LSTM]\n",
        (
            "specs/x.yaml:7:8: model.layers.a: expected a layer such as {LSTM: {units: 4}, inputs:"
            " x}, got a list"
        ),
    ),
    (
        HEAD + "    a: {inputs: x}\n",
        (
            "specs/x.yaml:7:8: model.layers.a: missing the layer: give its class and arguments,"
            " such as {LSTM: {units: 4}}"
        ),
    ),
    (
        HEAD + "    a: {LTSM: {units: 4}, inputs: x}\n",
        ("specs/x.yaml:7:9: model.layers.a.LTSM: unknown layer 'LTSM'; did you mean 'LSTM'?"),
    ),
    (
        HEAD + "    a: {LSTM: {units: 4}, input: x}\n",
        ("specs/x.yaml:7:27: model.layers.a: unknown key 'input'; did you mean 'inputs'?"),
    ),
    (
        HEAD + "    a: {LSTM: {units: 4}, Dense: {units: 2}, inputs: x}\n",
        (
            "specs/x.yaml:7:27: model.layers.a.Dense: one layer per name, got LSTM and Dense; give"
            " each its own name"
        ),
    ),
    (
        HEAD + "    a: {LSTM: {units: 4}}\n",
        ("specs/x.yaml:7:8: model.layers.a: missing required key 'inputs' (what a reads)"),
    ),
    (
        HEAD + "    a: {LSTM: {units: 4, name: foo}, inputs: x}\n",
        (
            "specs/x.yaml:7:26: model.layers.a.LSTM: the layer's name is its key under"
            " model.layers (a); remove name:"
        ),
    ),
    (
        HEAD + "    a.b: {LSTM: {units: 4}, inputs: x}\n",
        (
            "specs/x.yaml:7:5: model.layers.a.b: expected a layer name of letters, digits, _ and -"
            " (a dot separates a layer from one of its outputs: encoder.state_h), got 'a.b'"
        ),
    ),
    (
        HEAD + "    x: {LSTM: {units: 4}, inputs: x}\n",
        (
            "specs/x.yaml:7:5: model.layers.x: 'x' is already the name of a model input"
            " (data.inputs.x); give the layer another name"
        ),
    ),
    (
        HEAD + "    a: {LSTM: {units: 4}, inputs: []}\n",
        (
            "specs/x.yaml:7:35: model.layers.a.inputs: expected a name or a list of names such as"
            " tokens or [lstm, attention], got an empty list"
        ),
    ),
    (
        HEAD
        + (
            "    a: {Dense: {units: 3}, inputs: x, use_causal_mask: true}\n"
            "    g: {GRU: {units: 2}, inputs: a}\n"
        ),
        (
            "specs/x.yaml:7:39: model.layers.a.use_causal_mask: applies to attention layers"
            " (Attention, AdditiveAttention, MultiHeadAttention), not Dense"
        ),
    ),
    (
        HEAD + "    a: {Dense: {units: 3}, inputs: x, initial_state: [x]}\n",
        (
            "specs/x.yaml:7:39: model.layers.a.initial_state: Dense has no state; initial_state"
            " applies to recurrent layers"
        ),
    ),
    (
        HEAD + "    a: {LSTM: {units: 4}, inputs: x, initial_state: x}\n",
        (
            "specs/x.yaml:7:53: model.layers.a.initial_state: expected a list of names such as"
            " [encoder.state_h, encoder.state_c], got 'x'"
        ),
    ),
    # -- references
    (
        HEAD + "    lstm: {LSTM: {units: 4}, inputs: xx}\n",
        (
            "specs/x.yaml:7:38: model.layers.lstm.inputs: unknown layer or input 'xx'; did you mean"
            " 'x'?"
        ),
    ),
    (
        HEAD + "    a: {LSTM: {units: 4}, inputs: x.output}\n",
        (
            "specs/x.yaml:7:35: model.layers.a.inputs: 'x' is a model input, which has one value;"
            " write x"
        ),
    ),
    (
        HEAD
        + (
            "    enc: {LSTM: {units: 4}, inputs: x}\n"
            "    dec: {LSTM: {units: 4}, inputs: x, initial_state: [enc.state_h,"
            " enc.state_c]}\n"
        ),
        (
            "specs/x.yaml:8:56: model.layers.dec.initial_state[0]: enc returns only its output; set"
            " return_state: true on model.layers.enc to read enc.state_h"
        ),
    ),
    (
        HEAD
        + (
            "    enc: {LSTM: {units: 4, return_state: true}, inputs: x}\n"
            "    dec: {LSTM: {units: 4}, inputs: x, initial_state: [enc.state_hh,"
            " enc.state_c]}\n"
        ),
        (
            "specs/x.yaml:8:56: model.layers.dec.initial_state[0]: enc has no output 'state_hh'; it"
            " returns output, state_h, state_c; did you mean enc.state_h?"
        ),
    ),
    (
        HEAD
        + (
            "    a: {Bidirectional: {layer: {LSTM: {units: 4}}, merge_mode: null},"
            " inputs: x}\n"
            "    d: {Dense: {units: 1}, inputs: a}\n"
        ),
        (
            "specs/x.yaml:8:36: model.layers.d.inputs: a returns two outputs (merge_mode: null);"
            " name one: a.forward or a.backward"
        ),
    ),
    (
        HEAD
        + (
            "    a: {LSTM: {units: 4, return_sequences: true}, inputs: b}\n"
            "    b: {LSTM: {units: 4, return_sequences: true}, inputs: a}\n"
        ),
        (
            "specs/x.yaml:7:59: model.layers.a.inputs: the layers read each other in a cycle: a"
            " reads b, b reads a"
        ),
    ),
    (
        HEAD + "    a: {LSTM: {units: 3, return_sequences: true}, inputs: a}\n",
        (
            "specs/x.yaml:7:59: model.layers.a.inputs: the layers read each other in a cycle: a"
            " reads a"
        ),
    ),
    (
        HEAD
        + (
            "    a: {GRU: {units: 2, return_sequences: true}, inputs: c}\n"
            "    b: {GRU: {units: 2, return_sequences: true}, inputs: a}\n"
            "    c: {GRU: {units: 2, return_sequences: true}, inputs: b}\n"
        ),
        (
            "specs/x.yaml:7:58: model.layers.a.inputs: the layers read each other in a cycle: a"
            " reads c, c reads b, b reads a"
        ),
    ),
    (
        HEAD + "    a: {LSTM: {units: 4}, inputs: x}\n  outputs: [x]\n",
        (
            "specs/x.yaml:8:13: model.outputs[0]: 'x' is a model input; the model's outputs are"
            " layers"
        ),
    ),
    (
        HEAD + "    a: {LSTM: {units: 4}, inputs: x}\n  outputs: [a, a]\n",
        ("specs/x.yaml:8:16: model.outputs[1]: 'a' is listed twice"),
    ),
    (
        HEAD + "    a: {LSTM: {units: 4}, inputs: x}\n  outputs: b\n",
        ("specs/x.yaml:8:12: model.outputs: unknown layer or input 'b'; expected one of: x, a"),
    ),
    # -- used
    (
        HEAD
        + (
            "    a: {LSTM: {units: 4}, inputs: x}\n"
            "    b: {GRU: {units: 4}, inputs: x}\n"
            "  outputs: [a]\n"
        ),
        (
            "specs/x.yaml:8:5: model.layers.b: no model output depends on b; read it from another"
            " layer or list it in model.outputs"
        ),
    ),
    (
        TOKENS_HEAD + "    a: {LSTM: {units: 4}, inputs: x}\n",
        (
            "specs/x.yaml:4:5: data.inputs.t: no layer reads the input 't'; remove it or read it"
            " from a layer"
        ),
    ),
    (
        HEAD + "    a: {Dense: {units: 4}, inputs: x}\n",
        (
            "specs/x.yaml:7:5: model.layers: the model has no recurrent layer (GRU, LSTM,"
            " SimpleRNN, RNN, ConvLSTM1D, or one wrapped in Bidirectional); there is nothing to"
            " check"
        ),
    ),
    # -- kinds: integer ids go to an Embedding and nowhere else
    (
        TOKENS_HEAD
        + "    lstm: {LSTM: {units: 4}, inputs: t}\n    l2: {LSTM: {units: 4}, inputs: x}\n",
        (
            "specs/x.yaml:8:38: model.layers.lstm.inputs: 't' holds integer token ids; LSTM"
            " computes on floats: read them through an Embedding"
        ),
    ),
    (
        TOKENS_HEAD
        + (
            "    emb: {Embedding: {input_dim: 30, output_dim: 4}, inputs: x}\n"
            "    lstm: {LSTM: {units: 4}, inputs: [emb]}\n"
        ),
        (
            "specs/x.yaml:8:62: model.layers.emb.inputs: Embedding looks up integer token ids but"
            " 'x' holds floats; give it a tokens: input"
        ),
    ),
    (
        TOKENS_HEAD
        + (
            "    emb: {Embedding: {input_dim: 20, output_dim: 4}, inputs: t}\n"
            "    lstm: {LSTM: {units: 4}, inputs: emb}\n"
            "    l2: {LSTM: {units: 4}, inputs: x}\n"
        ),
        (
            "specs/x.yaml:8:34: model.layers.emb.Embedding.input_dim: the Embedding has rows for 20"
            " ids, but data.inputs.t has a vocabulary of 30 (ids up to 29); set input_dim to at"
            " least 30"
        ),
    ),
    (
        TOKENS_HEAD
        + EMBEDDED
        + (
            "    enc: {LSTM: {units: 4, return_state: true}, inputs: x}\n"
            "    dec: {LSTM: {units: 4}, inputs: emb, initial_state: [t, enc.state_c]}\n"
        ),
        (
            "specs/x.yaml:10:58: model.layers.dec.initial_state[0]: 't' holds integer token ids,"
            " not a state"
        ),
    ),
    # -- shapes that cannot fit
    (
        HEAD + "    a: {LSTM: {units: 4}, inputs: x}\n    b: {GRU: {units: 3}, inputs: a}\n",
        (
            "specs/x.yaml:8:34: model.layers.b.inputs: GRU needs a sequence (steps, features) but"
            " 'a' has shape (4,); set return_sequences: true on model.layers.a"
        ),
    ),
    (
        HEAD + "    a: {LSTM: {units: 4}, inputs: [x, x]}\n",
        ("specs/x.yaml:7:35: model.layers.a.inputs: LSTM reads one input, got 2"),
    ),
    (
        HEAD + "    a: {LSTM: {units: 4}, inputs: x}\n    c: {Add: {}, inputs: a}\n",
        ("specs/x.yaml:8:26: model.layers.c.inputs: Add reads at least 2 inputs, got 1"),
    ),
    (
        HEAD + "    a: {LSTM: {units: 4}, inputs: x}\n    c: {Subtract: {}, inputs: [a, a, a]}\n",
        ("specs/x.yaml:8:31: model.layers.c.inputs: Subtract reads 2 inputs, got 3"),
    ),
    (
        HEAD
        + (
            "    c: {MultiHeadAttention: {num_heads: 2, key_dim: 2}, inputs: x}\n"
            "    g: {GRU: {units: 2}, inputs: c}\n"
        ),
        ("specs/x.yaml:7:65: model.layers.c.inputs: MultiHeadAttention reads 2 to 3 inputs, got 1"),
    ),
    (
        HEAD
        + (
            "    a: {LSTM: {units: 4}, inputs: x}\n"
            "    b: {GRU: {units: 3}, inputs: x}\n"
            "    add: {Add: {}, inputs: [a, b]}\n"
        ),
        (
            "specs/x.yaml:9:28: model.layers.add.inputs: Add needs inputs of one shape (or of size"
            " 1 where they differ), but 'a' has shape (4,) and 'b' (3,)"
        ),
    ),
    (
        HEAD
        + (
            "    a: {LSTM: {units: 4, return_sequences: true}, inputs: x}\n"
            "    b: {LSTM: {units: 3}, inputs: x}\n"
            "    c: {Concatenate: {}, inputs: [a, b]}\n"
        ),
        (
            "specs/x.yaml:9:34: model.layers.c.inputs: Concatenate merges inputs of the same rank,"
            " but 'a' has shape (6, 4) and 'b' (3,)"
        ),
    ),
    (
        HEAD
        + (
            "    a: {LSTM: {units: 4, return_sequences: true}, inputs: x}\n"
            "    c: {Concatenate: {axis: 1}, inputs: [a, x]}\n"
        ),
        (
            "specs/x.yaml:8:41: model.layers.c.inputs: Concatenate joins along axis 1; every other"
            " axis must match, but 'a' has shape (6, 4) and 'x' (6, 3)"
        ),
    ),
    (
        HEAD
        + (
            "    a: {LSTM: {units: 4}, inputs: x}\n"
            "    b: {LSTM: {units: 3}, inputs: x}\n"
            "    c: {Dot: {axes: 1}, inputs: [a, b]}\n"
        ),
        (
            "specs/x.yaml:9:21: model.layers.c.Dot.axes: Dot multiplies axis 1 of 'a' (4,) with"
            " axis 1 of 'b' (3,): sizes 4 and 3 differ"
        ),
    ),
    (
        HEAD
        + (
            "    a: {LSTM: {units: 4, return_sequences: true}, inputs: x}\n"
            "    b: {LSTM: {units: 3, return_sequences: true}, inputs: x}\n"
            "    att: {Attention: {}, inputs: [a, b]}\n"
        ),
        (
            "specs/x.yaml:9:34: model.layers.att.inputs: Attention compares query and key feature"
            " by feature, but 'a' has 4 features and 'b' 3"
        ),
    ),
    (
        HEAD
        + (
            "    a: {LSTM: {units: 4, return_sequences: true}, inputs: x}\n"
            "    k: {Conv1D: {filters: 4, kernel_size: 2}, inputs: x}\n"
            "    att: {MultiHeadAttention: {num_heads: 1, key_dim: 2}, inputs: [a, x, k]}\n"
        ),
        (
            "specs/x.yaml:9:67: model.layers.att.inputs: MultiHeadAttention's key and value need"
            " the same steps, but 'k' has shape (5, 4) and 'x' (6, 3)"
        ),
    ),
    (
        HEAD
        + (
            "    enc: {LSTM: {units: 4, return_state: true}, inputs: x}\n"
            "    dec: {LSTM: {units: 8}, inputs: x, initial_state: [enc.state_h,"
            " enc.state_c]}\n"
        ),
        (
            "specs/x.yaml:8:56: model.layers.dec.initial_state[0]: dec starts from states of shape"
            " (8,); 'enc.state_h' has shape (4,)"
        ),
    ),
    (
        HEAD
        + (
            "    enc: {LSTM: {units: 4, return_state: true}, inputs: x}\n"
            "    dec: {LSTM: {units: 4}, inputs: x, initial_state: [enc.state_h]}\n"
        ),
        (
            "specs/x.yaml:8:55: model.layers.dec.initial_state: LSTM starts from 2 states (state_h,"
            " state_c), got 1"
        ),
    ),
    (
        HEAD
        + (
            "    c: {Conv1D: {filters: 2, kernel_size: 9}, inputs: x}\n"
            "    g: {GRU: {units: 2}, inputs: c}\n"
        ),
        (
            "specs/x.yaml:7:43: model.layers.c.Conv1D.kernel_size: Conv1D's kernel spans 9 steps"
            " but it reads only 6; use padding: same or a smaller window"
        ),
    ),
    (
        HEAD
        + (
            "    c: {Conv1D: {filters: 2, kernel_size: 3, dilation_rate: 3}, inputs: x}\n"
            "    g: {GRU: {units: 2}, inputs: c}\n"
        ),
        (
            "specs/x.yaml:7:43: model.layers.c.Conv1D.kernel_size: Conv1D's kernel spans 7 steps"
            " (dilation_rate 3) but it reads only 6; use padding: same or a smaller window"
        ),
    ),
    (
        HEAD
        + "    p: {MaxPooling1D: {pool_size: 7}, inputs: x}\n    g: {GRU: {units: 2}, inputs: p}\n",
        (
            "specs/x.yaml:7:35: model.layers.p.MaxPooling1D.pool_size: MaxPooling1D's pool spans 7"
            " steps but it reads only 6; use padding: same or a smaller window"
        ),
    ),
    (
        HEAD
        + (
            "    c: {Conv1D: {filters: 4, kernel_size: 2, groups: 2}, inputs: x}\n"
            "    g: {GRU: {units: 2}, inputs: c}\n"
        ),
        (
            "specs/x.yaml:7:54: model.layers.c.Conv1D.groups: Conv1D with groups: 2 needs channels"
            " in multiples of 2, but 'x' has 3"
        ),
    ),
    (
        HEAD + "    c: {Conv1D: {filters: 3, kernel_size: 2, groups: 2}, inputs: x}\n",
        (
            "specs/x.yaml:7:54: model.layers.c.Conv1D.groups: filters (3) must be a multiple of"
            " groups (2)"
        ),
    ),
    (
        HEAD + "    c: {Conv1D: {filters: 4, kernel_size: 2, strides: 2, dilation_rate: 2},"
        " inputs: x}\n",
        (
            "specs/x.yaml:7:55: model.layers.c.Conv1D.strides: strides 2 with dilation_rate 2:"
            " Keras takes strides > 1 or dilation_rate > 1, not both"
        ),
    ),
    (
        HEAD
        + (
            "    r: {Reshape: {target_shape: [4, 4]}, inputs: x}\n"
            "    g: {GRU: {units: 2}, inputs: r}\n"
        ),
        (
            "specs/x.yaml:7:33: model.layers.r.Reshape.target_shape: Reshape to (4, 4) holds 16"
            " values but 'x' has shape (6, 3) (18 values)"
        ),
    ),
    (
        HEAD
        + (
            "    r: {Reshape: {target_shape: [-1, 4]}, inputs: x}\n"
            "    g: {GRU: {units: 2}, inputs: r}\n"
        ),
        (
            "specs/x.yaml:7:33: model.layers.r.Reshape.target_shape: Reshape cannot fit 'x' (6, 3)"
            " (18 values) into (-1, 4): 18 is not a multiple of 4"
        ),
    ),
    (
        HEAD + "    r: {RepeatVector: {n: 3}, inputs: x}\n    g: {GRU: {units: 2}, inputs: r}\n",
        (
            "specs/x.yaml:7:39: model.layers.r.inputs: RepeatVector repeats a vector but 'x' has"
            " shape (6, 3)"
        ),
    ),
    (
        HEAD
        + "    c: {Permute: {dims: [2, 1, 3]}, inputs: x}\n    g: {GRU: {units: 2}, inputs: c}\n",
        (
            "specs/x.yaml:7:25: model.layers.c.Permute.dims: Permute's dims [2, 1, 3] order 3 axes"
            " but 'x' has shape (6, 3) (2 axes)"
        ),
    ),
    (
        HEAD
        + (
            "    c: {Cropping1D: {cropping: [3, 3]}, inputs: x}\n"
            "    g: {GRU: {units: 2}, inputs: c}\n"
        ),
        (
            "specs/x.yaml:7:32: model.layers.c.Cropping1D.cropping: Cropping1D cuts 3 + 3 steps but"
            " 'x' has only 6"
        ),
    ),
    (
        HEAD + "    c: {LayerNormalization: {axis: 3}, inputs: x}\n"
        "    g: {GRU: {units: 2}, inputs: c}\n",
        (
            "specs/x.yaml:7:36: model.layers.c.LayerNormalization.axis: axis 3 does not exist in"
            " (6, 3), which has axes 1..2 (or -2..-1)"
        ),
    ),
    (
        HEAD
        + (
            "    f: {Flatten: {}, inputs: x}\n"
            "    p: {GlobalAveragePooling1D: {}, inputs: f}\n"
            "    g: {GRU: {units: 2}, inputs: x}\n"
        ),
        (
            "specs/x.yaml:8:45: model.layers.p.inputs: GlobalAveragePooling1D needs a sequence"
            " (steps, features) but 'f' has shape (18,)"
        ),
    ),
    (
        HEAD + "    c: {ConvLSTM1D: {filters: 2, kernel_size: 2}, inputs: x}\n",
        (
            "specs/x.yaml:7:59: model.layers.c.inputs: ConvLSTM1D needs (steps, rows, channels) but"
            " 'x' has shape (6, 3)"
        ),
    ),
    (
        HEAD
        + (
            "    c: {TimeDistributed: {layer: {Dense: {units: 2}}}, inputs: g}\n"
            "    g: {GRU: {units: 2}, inputs: x}\n"
        ),
        (
            "specs/x.yaml:7:64: model.layers.c.inputs: TimeDistributed needs a sequence (steps,"
            " ...) but 'g' has shape (2,)"
        ),
    ),
    # -- arguments of the new layers
    (
        HEAD + "    c: {RNN: {cell: [{LSTM: {units: 3}}]}, inputs: x}\n",
        (
            "specs/x.yaml:7:23: model.layers.c.RNN.cell[0].LSTM: unknown layer 'LSTM'; did you mean"
            " 'LSTMCell'?"
        ),
    ),
    (
        HEAD + "    c: {RNN: {cell: [{GRUCell: {units: 3, unit_forget_bias: true}}]}, inputs: x}\n",
        (
            "specs/x.yaml:7:43: model.layers.c.RNN.cell[0].GRUCell: GRUCell does not take"
            " 'unit_forget_bias' (LSTMCell does)"
        ),
    ),
    (
        HEAD + "    c: {RNN: {cell: []}, inputs: x}\n",
        (
            "specs/x.yaml:7:21: model.layers.c.RNN.cell: expected at least one cell, such as"
            " [{LSTMCell: {units: 4}}]"
        ),
    ),
    (
        HEAD + "    c: {Conv1D: {filters: 2, kernel_size: 2, padding: full}, inputs: x}\n",
        (
            "specs/x.yaml:7:55: model.layers.c.Conv1D.padding: expected one of valid, same, causal,"
            " got 'full'"
        ),
    ),
    (
        HEAD + "    c: {MaxPooling1D: {padding: causal}, inputs: x}\n",
        (
            "specs/x.yaml:7:33: model.layers.c.MaxPooling1D.padding: expected one of valid, same,"
            " got 'causal'"
        ),
    ),
    (
        HEAD + "    c: {ZeroPadding1D: {padding: [1, 2, 3]}, inputs: x}\n",
        (
            "specs/x.yaml:7:34: model.layers.c.ZeroPadding1D.padding: expected [left, right], got a"
            " list of 3"
        ),
    ),
    (
        HEAD + "    c: {Reshape: {target_shape: [-1, -1]}, inputs: x}\n",
        (
            "specs/x.yaml:7:38: model.layers.c.Reshape.target_shape[1]: only one size may be -1"
            " (the one Keras infers)"
        ),
    ),
    (
        HEAD + "    c: {Permute: {dims: [1, 3]}, inputs: x}\n",
        (
            "specs/x.yaml:7:25: model.layers.c.Permute.dims: expected a permutation of 1..2 (axis 0"
            " is the batch), got [1, 3]"
        ),
    ),
    (
        HEAD + "    c: {LayerNormalization: {axis: 0}, inputs: x}\n",
        (
            "specs/x.yaml:7:36: model.layers.c.LayerNormalization.axis: expected a non-zero axis"
            " such as -1 (axis 0 is the batch), got 0"
        ),
    ),
    (
        HEAD + "    c: {Dot: {axes: [1, 1, 1]}, inputs: [x, x]}\n",
        (
            "specs/x.yaml:7:21: model.layers.c.Dot.axes: expected one axis or two (one per input),"
            " got 3"
        ),
    ),
    (
        HEAD + "    c: {LayerNormalization: {epsilon: 0}, inputs: x}\n",
        (
            "specs/x.yaml:7:39: model.layers.c.LayerNormalization.epsilon: expected a positive"
            " number, got 0"
        ),
    ),
    (
        HEAD + "    c: {Attention: {score_mode: add}, inputs: [x, x]}\n",
        (
            "specs/x.yaml:7:33: model.layers.c.Attention.score_mode: expected one of dot, concat,"
            " got 'add'"
        ),
    ),
    (
        HEAD + "    c: {Embedding: {input_dim: 5}, inputs: x}\n",
        (
            "specs/x.yaml:7:20: model.layers.c.Embedding: missing required Embedding argument"
            " 'output_dim'"
        ),
    ),
    (
        HEAD + "    c: {Dense: {units: 2, filters: 3}, inputs: x}\n",
        (
            "specs/x.yaml:7:27: model.layers.c.Dense: Dense does not take 'filters' (Conv1D,"
            " ConvLSTM1D does)"
        ),
    ),
    (
        HEAD + "    c: {Flatten: {return_sequences: true}, inputs: x}\n",
        (
            "specs/x.yaml:7:19: model.layers.c.Flatten: Flatten does not take 'return_sequences'"
            " (GRU, LSTM, SimpleRNN and 2 more do)"
        ),
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_a_graph_that_cannot_work_is_refused_at_its_line(
    tmp_path: Path, text: str, message: str
) -> None:
    assert error_of(tmp_path, text) == message


def test_a_layer_of_the_functional_form_is_named_in_a_chain(tmp_path: Path) -> None:
    text = (
        "data: {synthetic: {kind: sine, length: 20}}\nlookback: 3\nmodel:\n"
        "  - Conv1D: {filters: 2, kernel_size: 2}\n  - GRU: {units: 2}\n"
    )
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:4:5: model[0].Conv1D: Conv1D is a layer of the functional form only"
        " (model: {layers: {name: {Conv1D: {...}, inputs: ...}}}); a chain holds GRU, LSTM,"
        " SimpleRNN, Dense, Dropout, Masking, Bidirectional, TimeDistributed"
    )


def test_a_matrix_varies_a_layer_of_the_functional_form(tmp_path: Path) -> None:
    text = HEAD + (
        "    gru: {GRU: {units: 2}, inputs: x}\n"
        "matrix:\n"
        "  model.layers.gru.GRU.units: [2, 3]\n"
        "  model.layers.gru.GRU.reset_after: [false]\n"
        "  data.inputs.x.synthetic.features: [1, 2]\n"
    )
    from .helpers import load

    specs = load(tmp_path, text)

    assert [spec.variant for spec in specs] == [
        "units=2-reset_after=false-features=1",
        "units=2-reset_after=false-features=2",
        "units=3-reset_after=false-features=1",
        "units=3-reset_after=false-features=2",
    ]
    assert len({spec.content_hash for spec in specs}) == 4


def test_the_hash_of_a_graph_ignores_comments_and_follows_the_layers(tmp_path: Path) -> None:
    base = load_one(tmp_path, HEAD + "    gru: {GRU: {units: 2}, inputs: x}\n")
    commented = load_one(
        tmp_path, "# a comment\n" + HEAD + "    gru: {GRU: {units: 2}, inputs: x}\n"
    )
    renamed = load_one(tmp_path, HEAD + "    g: {GRU: {units: 2}, inputs: x}\n")

    assert base.content_hash == commented.content_hash
    assert base.content_hash != renamed.content_hash  # names reach the golden


def test_the_documented_example_of_the_functional_form_loads_and_fits_the_schema(
    tmp_path: Path,
) -> None:
    import re

    from ..helpers import REPO
    from .json_schema import schema_accepts

    page = (REPO / "docs" / "specs.md").read_text(encoding="utf-8")
    found = re.search(r"^## The functional form$.*?```yaml\n(.*?)```", page, re.S | re.M)
    assert found is not None
    spec = load_one(tmp_path, found.group(1))

    assert schema_accepts(found.group(1))
    assert isinstance(spec.model, ModelGraph)
    assert spec.model.outputs == ("score", "encoder.state_c")


def test_inputs_and_layers_too_large_to_run_are_refused_before_anything_is_allocated(
    tmp_path: Path,
) -> None:
    wide = (
        "data:\n  inputs:\n    x: {synthetic: {kind: normal, length: 1000000, features: 10}}\n"
        "lookback: 500\nmodel:\n  layers:\n    g: {GRU: {units: 2}, inputs: x}\n"
    )
    assert error_of(tmp_path, wide) == (
        "specs/x.yaml:3:5: data.inputs.x: 999,500 rows of shape (500, 10) make 4,997,500,000"
        " values per array; at most 20,000,000: set data.batch or data.stride, or shorten the"
        " lookback"
    )
    layer = HEAD + "    g: {GRU: {units: 20000, return_sequences: true}, inputs: x}\n"
    assert error_of(tmp_path, layer.replace("length: 20,", "length: 2000,")) == (
        "specs/x.yaml:7:5: model.layers.g: 1,994 rows of shape (6, 20000) make 239,280,000"
        " values per array; at most 20,000,000: set data.batch or use smaller layers"
    )
    weights = HEAD + (
        "    g: {GRU: {units: 2000}, inputs: x}\n    d: {Dense: {units: 4000}, inputs: g}\n"
    )
    assert error_of(tmp_path, weights) == (
        "specs/x.yaml:8:5: model.layers.d: the model would hold about 20,034,000 weights up to"
        " this layer; at most 20,000,000: use fewer units"
    )
