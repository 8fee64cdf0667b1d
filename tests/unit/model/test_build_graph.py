"""model/build.py, the functional form: the built ``keras.Model`` has exactly the declared
graph (names, classes, what each layer reads, shapes), and its seeded weights are never
zero (positive scales and variances) and do not depend on what ran before."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.check.spec_run import prepare
from pytest_rnnparity.model.build import seeded_graph_weights, variable_role
from pytest_rnnparity.spec import ModelGraph, Spec, load_specs
from pytest_rnnparity.spec.graph import input_shape, split_reference
from pytest_rnnparity.spec.shapes import Tensor, layer_outputs, output_parts

from ..helpers import dtype_name

keras = pytest.importorskip("keras")
pytestmark = [
    pytest.mark.keras,
    # Keras' own note that GlobalMaxPooling1D drops the mask the Embedding made
    pytest.mark.filterwarnings("ignore:Layer 'gmax':UserWarning"),
]


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    yield
    keras.backend.clear_session()


#: Every layer of the functional form, each reading what the one before gives.
EVERY_LAYER = """\
seed: 5
data:
  inputs:
    a: {synthetic: {kind: sine, length: 30, features: 4}}
    b: {synthetic: {kind: normal, length: 30, features: 4}}
    t: {tokens: {vocabulary: 20, sequences: 6, length: 8, padding: mixed}}
  batch: 6
lookback: 8
model:
  layers:
    conv: {Conv1D: {filters: 4, kernel_size: 3, padding: causal, dilation_rate: 2,
                    activation: relu}, inputs: a}
    avg: {AveragePooling1D: {pool_size: 2, padding: same}, inputs: conv}
    up: {UpSampling1D: {size: 2}, inputs: avg}
    pad: {ZeroPadding1D: {padding: [1, 2]}, inputs: up}
    crop: {Cropping1D: {cropping: [2, 1]}, inputs: pad}
    bn: {BatchNormalization: {}, inputs: crop}
    act: {Activation: {activation: tanh}, inputs: bn}
    drop: {Dropout: {rate: 0.5}, inputs: act}
    mask: {Masking: {mask_value: 9.0}, inputs: drop}
    add: {Add: {}, inputs: [mask, b]}
    sub: {Subtract: {}, inputs: [add, b]}
    mul: {Multiply: {}, inputs: [sub, a]}
    ave: {Average: {}, inputs: [mul, a, b]}
    mx: {Maximum: {}, inputs: [ave, a]}
    mn: {Minimum: {}, inputs: [mx, b]}
    att: {AdditiveAttention: {use_scale: true}, inputs: [mn, a], use_causal_mask: true}
    dot_att: {Attention: {use_scale: true, score_mode: concat}, inputs: [att, b, a]}
    mha: {MultiHeadAttention: {num_heads: 2, key_dim: 3}, inputs: [dot_att, b]}
    stacked:
      RNN: {cell: [{LSTMCell: {units: 3}}, {GRUCell: {units: 4}}], return_sequences: true,
            return_state: true}
      inputs: mha
    seq: {GRU: {units: 4, return_sequences: true}, inputs: stacked,
          initial_state: [stacked.state_2]}
    again:
      RNN: {cell: [{LSTMCell: {units: 3}}, {GRUCell: {units: 4}}]}
      inputs: mha
      initial_state: [stacked.state_0, stacked.state_1, stacked.state_2]
    bi: {Bidirectional: {layer: {LSTM: {units: 2, return_sequences: true}}}, inputs: seq}
    dense_steps: {TimeDistributed: {layer: {Dense: {units: 4}}}, inputs: bi}
    perm: {Permute: {dims: [2, 1]}, inputs: dense_steps}
    cube: {Reshape: {target_shape: [8, 4, 1]}, inputs: perm}
    clstm: {ConvLSTM1D: {filters: 2, kernel_size: 2}, inputs: cube}
    flat: {Flatten: {}, inputs: clstm}
    emb: {Embedding: {input_dim: 20, output_dim: 4, mask_zero: true}, inputs: t}
    simple: {SimpleRNN: {units: 3, return_sequences: true}, inputs: emb}
    gmax: {GlobalMaxPooling1D: {}, inputs: simple}
    gavg: {GlobalAveragePooling1D: {}, inputs: simple}
    dot: {Dot: {axes: 1}, inputs: [gmax, gavg]}
    vector: {Dense: {units: 3}, inputs: dot}
    repeated: {RepeatVector: {n: 2}, inputs: vector}
    joined: {Concatenate: {}, inputs: [flat, dot]}
    ln: {LayerNormalization: {}, inputs: joined}
    out: {Dense: {units: 2}, inputs: ln}
  outputs: [out, repeated, stacked.state_0, again]
"""


def _spec(root: Path, text: str) -> Spec:
    path = root / "specs" / "graph.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    (spec,) = load_specs(path, root=root)
    return spec


def _built(root: Path, text: str) -> tuple[Spec, Any]:
    spec = _spec(root, text)
    _, model = prepare(spec, root=root)
    return spec, model


def _read_by(layer: Any, layers: set[str]) -> list[str]:
    """The names of the model's layers a layer's one call reads: positional inputs, then
    initial states (masks Keras computes on the way, ``not_equal``, are not layers)."""
    (node,) = layer._inbound_nodes
    tensors = node.arguments.keras_tensors if hasattr(node, "arguments") else node.keras_inputs
    names = []
    for tensor in tensors:
        history = tensor._keras_history
        operation = getattr(history, "operation", None) or history.layer
        if operation.name in layers:
            names.append(operation.name)
    return names


def _flat(output: Any) -> list[Any]:
    """A layer's outputs in order: Keras 2 nests a stacked cell's states per cell
    (``[y, [h, c], [h]]``) where Keras 3 lists them flat."""
    if not isinstance(output, list | tuple):
        return [output]
    return [tensor for part in output for tensor in _flat(part)]


def _declared_shapes(spec: Spec) -> dict[tuple[str, str | None], tuple[int, ...]]:
    """Every output's shape as the loader works it out (what the checks used)."""
    graph = spec.model
    assert isinstance(graph, ModelGraph)
    assert not isinstance(spec.data, (list, tuple))
    values: dict[tuple[str, str | None], tuple[int, ...]] = {
        (model_input.name, None): input_shape(model_input)
        for model_input in spec.data.inputs  # type: ignore[union-attr]
    }
    for name in graph.order:
        node = graph.node(name)
        tensors = [Tensor(values[split_reference(graph, ref)], ref) for ref in node.inputs]
        for part, shape in zip(
            output_parts(node.layer), layer_outputs(node.layer, tensors), strict=True
        ):
            values[(name, part)] = shape
    return values


def test_the_built_model_has_exactly_the_declared_graph(tmp_path: Path) -> None:
    spec, model = _built(tmp_path, EVERY_LAYER)
    graph = spec.model
    assert isinstance(graph, ModelGraph)

    assert model.name == "graph"
    assert [tensor.name.split(":")[0] for tensor in model.inputs] == ["a", "b", "t"]
    assert [dtype_name(tensor.dtype) for tensor in model.inputs] == [
        "float32", "float32", "int32"
    ]  # fmt: skip
    built = {layer.name: layer for layer in model.layers}
    assert set(built) == {"a", "b", "t", *(node.name for node in graph.layers)}
    shapes = _declared_shapes(spec)
    for node in graph.layers:
        layer = built[node.name]
        assert type(layer).__name__ == node.layer.class_name, node.name
        wanted = [split_reference(graph, ref)[0] for ref in (*node.inputs, *node.initial_state)]
        assert _read_by(layer, set(built)) == wanted, node.name
        outputs = _flat(layer.output)
        for part, tensor in zip(output_parts(node.layer), outputs, strict=True):
            assert tuple(tensor.shape[1:]) == shapes[(node.name, part)], (node.name, part)
    assert type(built["stacked"].cell).__name__ == "StackedRNNCells"
    assert [type(c).__name__ for c in built["stacked"].cell.cells] == ["LSTMCell", "GRUCell"]
    assert [tuple(t.shape[1:]) for t in model.outputs] == [(2,), (2, 3), (3,), (4,)]


def test_a_single_cell_rnn_holds_the_cell_itself(tmp_path: Path) -> None:
    _, model = _built(
        tmp_path,
        """\
        data:
          inputs:
            x: {synthetic: {kind: sine, length: 12, features: 2}}
        lookback: 4
        model:
          layers:
            rnn: {RNN: {cell: {GRUCell: {units: 3, reset_after: false}}}, inputs: x}
        """,
    )
    cell = model.get_layer("rnn").cell
    assert type(cell).__name__ == "GRUCell"
    assert cell.reset_after is False


def test_seeded_weights_are_never_zero_and_keep_variances_positive(tmp_path: Path) -> None:
    spec, model = _built(tmp_path, EVERY_LAYER)
    graph = spec.model
    assert isinstance(graph, ModelGraph)

    roles = set()
    for index, node in enumerate(graph.layers):
        layer = model.get_layer(node.name)
        variables = [(tuple(int(n) for n in w.shape), variable_role(w)) for w in layer.weights]
        expected = seeded_graph_weights(5, index, variables)
        for variable, actual, wanted in zip(
            layer.weights, layer.get_weights(), expected, strict=True
        ):
            roles.add(variable_role(variable))
            np.testing.assert_array_equal(actual, wanted.astype(np.float32))
            assert np.all(actual != 0), (node.name, variable.name)
            if variable_role(variable) in ("gamma", "moving_variance", "scale"):
                assert np.all((actual >= 0.5) & (actual < 1.5)), (node.name, variable.name)
    assert {"kernel", "recurrent_kernel", "bias", "embeddings", "gamma", "beta"} <= roles
    assert {"moving_mean", "moving_variance", "scale"} <= roles


def test_names_and_weights_do_not_depend_on_what_was_built_before(tmp_path: Path) -> None:
    _, first = _built(tmp_path, EVERY_LAYER)
    names = [w.path if hasattr(w, "path") else w.name for w in first.weights]
    weights = first.get_weights()
    keras.Sequential([keras.Input((3, 2)), keras.layers.LSTM(2), keras.layers.Dense(1)])

    _, again = _built(tmp_path, EVERY_LAYER)

    assert [w.path if hasattr(w, "path") else w.name for w in again.weights] == names
    for before, after in zip(weights, again.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_keras_weights_and_dtype_float64(tmp_path: Path) -> None:
    text = """\
        seed: 3
        data:
          inputs:
            t: {tokens: {vocabulary: 9, sequences: 4, length: 5}}
        model:
          layers:
            emb: {Embedding: {input_dim: 9, output_dim: 2}, inputs: t}
            norm: {BatchNormalization: {}, inputs: emb}
            lstm: {LSTM: {units: 2}, inputs: norm}
        dtype: float64
        weights: keras
        """
    _, model = _built(tmp_path, text)

    norm = model.get_layer("norm")
    gamma, _, _, variance = norm.get_weights()
    np.testing.assert_array_equal(gamma, np.ones(2))  # Keras' own initializers
    np.testing.assert_array_equal(variance, np.ones(2))
    assert all(layer.dtype == "float64" for layer in model.layers if layer.name != "t")
    assert dtype_name(model.inputs[0].dtype) == "int32"


def test_stateful_graph_has_batch_size_one(tmp_path: Path) -> None:
    _, model = _built(
        tmp_path,
        """\
        data:
          inputs:
            x: {synthetic: {kind: sine, length: 12, features: 2}}
        lookback: 4
        stateful: true
        model:
          layers:
            gru: {GRU: {units: 2}, inputs: x}
            rnn: {RNN: {cell: {LSTMCell: {units: 2}}}, inputs: x}
            both: {Add: {}, inputs: [gru, rnn]}
        """,
    )
    assert tuple(model.inputs[0].shape) == (1, 4, 2)
    assert model.get_layer("gru").stateful
    assert model.get_layer("rnn").stateful
