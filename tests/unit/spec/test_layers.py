"""spec/layers.py: the ``model:`` section, a saved model or declared layers, every
argument checked."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pytest_rnnparity.spec import LAYER_ARGUMENTS, LayerDecl, SavedModel, WeightsFile

from .helpers import SMALL, SMALL_HEAD, error_of, load_one, with_model, write


def test_saved_model_and_weights_file(tmp_path: Path) -> None:
    write(tmp_path, "not really a model", "specs/models/m.keras")
    write(tmp_path, "not really weights", "specs/w.weights.h5")
    text = SMALL_HEAD + "model: {path: models/m.keras}\n"

    saved = load_one(tmp_path, text)
    with_file = load_one(tmp_path, text + "weights: {path: w.weights.h5}\n")

    assert saved.model == SavedModel(
        path=(tmp_path / "specs/models/m.keras").resolve(), declared="models/m.keras"
    )
    assert saved.layer_lines == ()
    assert saved.weights == "keras"  # a saved model keeps the weights it carries
    assert with_file.weights == WeightsFile(
        path=(tmp_path / "specs/w.weights.h5").resolve(), declared="w.weights.h5"
    )
    assert load_one(tmp_path, SMALL + "weights: keras\n").weights == "keras"


def test_wrappers_hold_their_layer_as_a_layer_decl(tmp_path: Path) -> None:
    spec = load_one(
        tmp_path,
        with_model(
            """\
            - Masking:
            - Bidirectional:
                layer: {LSTM: {units: 3, return_sequences: true, name: fwd}}
                backward_layer: {LSTM: {units: 3, return_sequences: true, go_backwards: true}}
                merge_mode: null
            - TimeDistributed: {layer: {Dense: {units: 2, activation: relu}}}
            - Dropout: {rate: 0.5}
            """
        ),
    )

    masking, bidirectional, distributed, dropout = spec.model  # type: ignore[misc]
    assert masking == LayerDecl("Masking", {}, line=6)
    assert bidirectional.kwargs == {
        "layer": LayerDecl("LSTM", {"units": 3, "return_sequences": True, "name": "fwd"}, 8),
        "backward_layer": LayerDecl(
            "LSTM", {"units": 3, "return_sequences": True, "go_backwards": True}, 9
        ),
        "merge_mode": None,
    }
    assert distributed.kwargs["layer"] == LayerDecl("Dense", {"units": 2, "activation": "relu"}, 11)
    assert dropout.kwargs == {"rate": 0.5}
    assert spec.layer_lines == (6, 7, 11, 12)


def test_every_allowed_argument_is_accepted(tmp_path: Path) -> None:
    values = {
        "units": 3,
        "activation": "tanh",
        "recurrent_activation": "hard_sigmoid",
        "use_bias": False,
        "reset_after": False,
        "return_sequences": False,
        "return_state": False,
        "go_backwards": True,
        "stateful": False,
        "unroll": True,
        "implementation": 1,
        "dropout": 0.0,
        "recurrent_dropout": 0.25,
        "zero_output_for_mask": True,
        "unit_forget_bias": False,
        "kernel_initializer": "GlorotUniform",
        "recurrent_initializer": "orthogonal",
        "bias_initializer": "zeros",
    }
    for index, class_name in enumerate(("GRU", "LSTM", "SimpleRNN")):
        kwargs = {arg: values[arg] for arg in LAYER_ARGUMENTS[class_name] if arg != "name"}
        kwargs["name"] = f"rnn_{index}"
        spec = load_one(tmp_path, with_model(f"- {class_name}: {json.dumps(kwargs)}\n"))
        assert spec.model == (LayerDecl(class_name, kwargs, line=6),)


def test_unknown_layer_suggests_the_closest(tmp_path: Path) -> None:
    assert error_of(tmp_path, with_model("- GRUU: {units: 4}\n")) == (
        "specs/x.yaml:6:5: model[0].GRUU: unknown layer 'GRUU'; did you mean 'GRU'?"
    )
    assert error_of(tmp_path, with_model("- lstm: {units: 4}\n")) == (
        "specs/x.yaml:6:5: model[0].lstm: unknown layer 'lstm'; did you mean 'LSTM'?"
    )


def test_unknown_argument_suggests_the_closest(tmp_path: Path) -> None:
    assert error_of(tmp_path, with_model("- GRU: {units: 4, reset_afterr: true}\n")) == (
        "specs/x.yaml:6:21: model[0].GRU: unknown GRU argument 'reset_afterr'; did you mean"
        " 'reset_after'?"
    )


def test_arguments_of_another_layer_are_refused(tmp_path: Path) -> None:
    assert error_of(tmp_path, with_model("- SimpleRNN: {units: 4, reset_after: true}\n")) == (
        "specs/x.yaml:6:27: model[0].SimpleRNN: SimpleRNN does not take 'reset_after' (GRU does)"
    )


def test_missing_required_argument(tmp_path: Path) -> None:
    assert error_of(tmp_path, with_model("- GRU: {activation: tanh}\n")) == (
        "specs/x.yaml:6:10: model[0].GRU: missing required GRU argument 'units'"
    )
    assert error_of(tmp_path, with_model("- GRU:\n")) == (
        "specs/x.yaml:6:9: model[0].GRU: missing required GRU argument 'units'"
    )


def test_negative_units(tmp_path: Path) -> None:
    text = SMALL_HEAD + "model:\n- GRU:\n    units: -4\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:7:12: model[0].GRU.units: expected a positive integer, got -4"
    )


def test_huge_units_are_refused_before_anything_is_allocated(tmp_path: Path) -> None:
    assert error_of(tmp_path, with_model("- GRU: {units: 1000000000}\n")) == (
        "specs/x.yaml:6:18: model[0].GRU.units: expected at most 65536, got 1000000000"
    )


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("units: four", "units: expected a positive integer, got 'four'"),
        ("units: 4.0", "units: expected a positive integer, got 4.0"),
        ("units: true", "units: expected a positive integer, got true"),
        ("use_bias: 'yes'", "use_bias: expected true or false, got 'yes'"),
        ("use_bias: 1", "use_bias: expected true or false, got 1"),
        ("activation: 3", "activation: expected an activation name such as tanh, got 3"),
        ("activation: tahn", "activation: unknown activation 'tahn'; did you mean 'tanh'?"),
        ("dropout: 1.0", "dropout: expected a number in [0, 1), got 1.0"),
        ("dropout: -0.1", "dropout: expected a number in [0, 1), got -0.1"),
        ("dropout: .nan", "dropout: expected a finite number, got .nan"),
        ("implementation: 3", "implementation: expected 1 or 2, got 3"),
        (
            "kernel_initializer: glorot",
            "kernel_initializer: unknown initializer 'glorot'; did you mean 'glorot_normal'?",
        ),
        ("name: 'a b'", "name: expected a layer name of letters, digits and _ . -, got 'a b'"),
    ],
)
def test_argument_types(tmp_path: Path, argument: str, message: str) -> None:
    text = SMALL_HEAD + f"model:\n  - GRU:\n      units: 4\n      {argument}\n"
    text = text.replace("      units: 4\n      units:", "      units:")
    assert error_of(tmp_path, text).endswith(f": model[0].GRU.{message}")


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "- GRU\n",
            "6:5: model[0]: expected one layer as a single-key mapping such as {GRU: {units:"
            " 4}}, got 'GRU'",
        ),
        (
            "- {GRU: {units: 1}, Dense: {units: 1}}\n",
            "6:5: model[0]: expected one layer as a single-key mapping such as {GRU: {units:"
            " 4}}, got 2 keys (GRU, Dense)",
        ),
        (
            "- Dense: {units: 1}\n",
            "6:3: model: the model has no recurrent layer (GRU, LSTM, SimpleRNN, or one"
            " wrapped in Bidirectional); there is nothing to check",
        ),
        (
            "- GRU: {units: 2}\n- LSTM: {units: 2}\n",
            "7:5: model[1]: LSTM needs a sequence but model[0] (GRU) returns only the last"
            " step; set return_sequences: true on model[0]",
        ),
        (
            "- Bidirectional: {layer: {Dense: {units: 2}}}\n",
            "6:29: model[0].Bidirectional.layer.Dense: Dense cannot be used here; expected"
            " one of: GRU, LSTM, SimpleRNN",
        ),
        (
            "- Bidirectional:\n    layer: {GRU: {units: 2}}\n"
            "    backward_layer: {GRU: {units: 2}}\n",
            "8:23: model[0].Bidirectional.backward_layer: go_backwards must differ between"
            " layer and backward_layer (both are false); set go_backwards: true on"
            " backward_layer",
        ),
        (
            "- Bidirectional:\n    layer: {GRU: {units: 2, return_sequences: true}}\n"
            "    backward_layer: {GRU: {units: 2, go_backwards: true}}\n",
            "8:23: model[0].Bidirectional.backward_layer: return_sequences must be the same"
            " for layer and backward_layer, got true and false",
        ),
        (
            "- Bidirectional: {layer: {GRU: {units: 2}}, merge_mode: avg}\n",
            "6:59: model[0].Bidirectional.merge_mode: expected one of concat, sum, mul, ave,"
            " null, got 'avg'; did you mean 'ave'?",
        ),
        (
            "- GRU: {units: 2, return_sequences: true, name: a}\n- GRU: {units: 2, name: a}\n",
            "7:5: model[1]: layer name 'a' is already used by model[0]",
        ),
        (
            "[]\n",
            "5:8: model: expected a list of layers such as [{GRU: {units: 4}}, {Dense:"
            " {units: 1}}] or {path: model.keras}, got an empty list",
        ),
    ],
    ids=[
        "bare-name",
        "two-classes",
        "no-recurrent-layer",
        "needs-sequence",
        "bidirectional-dense",
        "same-direction",
        "backward-mismatch",
        "merge-mode",
        "duplicate-name",
        "empty",
    ],
)
def test_model_structure(tmp_path: Path, model: str, message: str) -> None:
    text = SMALL_HEAD + "model:\n" + textwrap.indent(model, "  ")
    if model == "[]\n":
        text = SMALL_HEAD + "model: []\n"
    assert error_of(tmp_path, text) == f"specs/x.yaml:{message}"
