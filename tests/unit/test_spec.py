"""Spec loading: the YAML format, its validation messages (verbatim), matrix and schema."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import textwrap
import time
from collections.abc import Sized
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_rnnparity.cli.main import main
from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.spec import (
    LAYER_ARGUMENTS,
    ColumnTarget,
    CsvData,
    GoldenOptions,
    InlineData,
    LayerDecl,
    LinearTarget,
    SavedModel,
    Spec,
    SyntheticData,
    ToleranceLimits,
    ToleranceOptions,
    ValuesTarget,
    WeightsFile,
    load_specs,
    schema_text,
)
from pytest_rnnparity.spec.yaml_loader import describe, parse_yaml

NOTEBOOK = """\
# yaml-language-server: $schema=../spec_schema.json
name: power-gru
description: Weather -> power consumption GRU from the notebook
seed: 42
data:
  features:
    temperature: [18.2, 19.5, 20.1, 22.4, 23.8, 25.0, 23.2, 21.5, 19.8, 17.5]
    humidity:    [65.2, 62.8, 58.5, 55.0, 45.2, 42.1, 48.5, 52.3, 60.5, 67.8]
    wind_speed:  [5.2, 6.8, 8.5, 10.2, 12.5, 14.8, 13.2, 11.5, 9.2, 6.5]
  target:
    name: power_kwh
    linear: {temperature: 2.5, humidity: -0.5, wind_speed: 1.2}
    noise_std: 5.0
  scale: minmax
lookback: 2
model:
  - GRU: {units: 4}
  - Dense: {units: 1}
weights: seeded
tolerance: {atol: 1.0e-6, rtol: 1.0e-5}
"""

#: A short valid spec whose model block starts on line 5 (tests append to it).
SMALL_HEAD = """\
data:
  features: {a: [1.0, 2.0, 3.0, 4.0], b: [4.0, 3.0, 2.0, 1.0]}
  target: {column: a}
lookback: 2
"""
SMALL = SMALL_HEAD + "model:\n  - GRU: {units: 4}\n  - Dense: {units: 1}\n"


def write(root: Path, text: str, name: str = "specs/x.yaml") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(root: Path, text: str, name: str = "specs/x.yaml") -> list[Spec]:
    return load_specs(write(root, text, name), root=root)


def load_one(root: Path, text: str) -> Spec:
    (spec,) = load(root, text)
    return spec


def error_of(root: Path, text: str, name: str = "specs/x.yaml") -> str:
    with pytest.raises(SpecError) as caught:
        load(root, text, name)
    # Our errors never chain: the user sees one message, not our traceback.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    return str(caught.value)


def with_model(model: str) -> str:
    return SMALL_HEAD + "model:\n" + textwrap.indent(textwrap.dedent(model), "  ")


# ----------------------------------------------------------------------------- happy path


def test_the_notebook_spec_loads_into_frozen_dataclasses(tmp_path: Path) -> None:
    spec = load_one(tmp_path, NOTEBOOK)

    assert spec.name == "power-gru"
    assert spec.id == "power-gru"
    assert spec.variant is None
    assert spec.description == "Weather -> power consumption GRU from the notebook"
    assert spec.seed == 42
    assert spec.lookback == 2
    assert spec.display_path == "specs/x.yaml"
    assert isinstance(spec.data, InlineData)
    assert list(spec.data.features) == ["temperature", "humidity", "wind_speed"]
    assert spec.data.features["humidity"][:2] == (65.2, 62.8)
    assert spec.data.rows == 10
    assert spec.data.target == LinearTarget(
        name="power_kwh",
        coefficients={"temperature": 2.5, "humidity": -0.5, "wind_speed": 1.2},
        noise_std=5.0,
    )
    assert (spec.data.scale, spec.data.stride, spec.data.batch) == ("minmax", 1, None)
    assert spec.model == (
        LayerDecl("GRU", {"units": 4}, line=17),
        LayerDecl("Dense", {"units": 1}, line=18),
    )
    assert spec.line == 16
    assert spec.layer_lines == (17, 18)
    assert spec.weights == "seeded"
    assert spec.weights_line == 19
    assert spec.dtype == "float32"
    assert spec.tolerance == ToleranceOptions(atol=1e-6, rtol=1e-5)
    assert spec.stateful is False
    assert spec.marks == ()
    assert spec.golden == GoldenOptions(sequences=3, summaries=True, traces="all")
    assert re.fullmatch(r"[0-9a-f]{64}", spec.content_hash)


def test_specs_and_their_parts_are_immutable(tmp_path: Path) -> None:
    spec = load_one(tmp_path, NOTEBOOK)
    assert isinstance(spec.model, tuple)
    assert isinstance(spec.data, InlineData)

    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.lookback = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.model[0].kwargs["units"] = 8  # type: ignore[index]
    with pytest.raises(TypeError):
        spec.data.features["x"] = (1.0,)  # type: ignore[index]


def test_defaults_name_from_the_file_stem(tmp_path: Path) -> None:
    spec = load_one(tmp_path, SMALL)

    assert spec.name == "x"
    assert spec.seed == 0
    assert spec.description == ""
    assert spec.weights_line is None
    assert spec.data.target == ColumnTarget(name="a", column="a")


def test_the_path_is_kept_as_given_and_shown_relative_to_the_root(tmp_path: Path) -> None:
    path = write(tmp_path, SMALL, "deep/er/spec.yaml")

    (spec,) = load_specs(path, root=tmp_path)

    assert spec.path == path
    assert spec.display_path == "deep/er/spec.yaml"


def test_reads_every_optional_key(tmp_path: Path) -> None:
    spec = load_one(
        tmp_path,
        SMALL
        + textwrap.dedent(
            """\
            dtype: float64
            stateful: true
            marks: [slow, gpu_free]
            golden: {sequences: 0, summaries: false, traces: hidden}
            tolerance:
              atol: 1e-6
              hidden: {rtol: 0.001}
              cell: {atol: 0, rtol: 1}
            """
        ),
    )

    assert spec.dtype == "float64"
    assert spec.stateful is True
    assert spec.marks == ("slow", "gpu_free")
    assert spec.golden == GoldenOptions(sequences=0, summaries=False, traces="hidden")
    assert spec.tolerance.atol == 1e-6  # YAML 1.1 would have read "1e-6" as a string
    assert spec.tolerance.rtol is None
    assert spec.tolerance.hidden == ToleranceLimits(atol=None, rtol=0.001)
    assert spec.tolerance.overall == ToleranceLimits(atol=1e-6, rtol=None)
    assert spec.tolerance.group("hidden") == ToleranceLimits(atol=None, rtol=0.001)
    assert spec.tolerance.group("cell") == ToleranceLimits(atol=0.0, rtol=1.0)
    assert spec.tolerance.group("output") == ToleranceLimits()


def test_values_target_and_data_options(tmp_path: Path) -> None:
    text = SMALL.replace(
        "target: {column: a}",
        "target: {name: y, values: [1, 2, 3, 4.5]}\n  scale: standard\n  stride: 2\n  batch: 5",
    )

    data = load_one(tmp_path, text).data

    assert isinstance(data, InlineData)
    assert data.target == ValuesTarget(name="y", values=(1.0, 2.0, 3.0, 4.5))
    assert (data.scale, data.stride, data.batch) == ("standard", 2, 5)


def test_synthetic_data(tmp_path: Path) -> None:
    text = "data:\n  synthetic: {kind: sine, length: 50, features: 3}\nlookback: 5\n"
    spec = load_one(tmp_path, text + "model:\n  - LSTM: {units: 2}\n")

    assert spec.data == SyntheticData(
        kind="sine", length=50, features=3, target=ColumnTarget(name="x0", column="x0")
    )
    assert spec.data.feature_names == ("x0", "x1", "x2")


def test_synthetic_data_with_a_target_of_its_own(tmp_path: Path) -> None:
    text = (
        "data:\n  synthetic: {kind: normal, length: 20, features: 2}\n"
        "  target: {linear: {x1: 2}, noise_std: 0.5}\nlookback: 5\n"
        "model:\n  - SimpleRNN: {units: 2}\n"
    )

    data = load_one(tmp_path, text).data

    assert isinstance(data, SyntheticData)
    assert data.target == LinearTarget(name="target", coefficients={"x1": 2.0}, noise_std=0.5)


def test_csv_data(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "w.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    text = (
        "data:\n  csv: {path: ../data/w.csv, features: [a, b], target: b}\nlookback: 1\n"
        "model:\n  - GRU: {units: 1}\n"
    )

    spec = load_one(tmp_path, text)

    assert spec.data == CsvData(
        path=(tmp_path / "data" / "w.csv").resolve(),
        declared="../data/w.csv",
        features=("a", "b"),
        target="b",
    )


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


# ------------------------------------------------------------------------ YAML problems


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = SMALL.replace("[1.0, 2.0, 3.0, 4.0]", "[1.0, 2.0, 3.0, 4.0")
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:2:61: invalid YAML: the list opened at line 2, column 17 is not closed:"
        " expected ',' or ']', but got '}'"
    )


def test_tab_in_indentation(tmp_path: Path) -> None:
    text = SMALL.replace("  - Dense", "\t- Dense")
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:7:1: tab character in indentation; YAML indents with spaces only"
    )


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL + "lookback: 3\n") == (
        "specs/x.yaml:8:1: duplicate key 'lookback' (first defined at line 4)"
    )


def test_python_tag_is_refused(tmp_path: Path) -> None:
    text = SMALL + "description: !!python/object/apply:os.system ['echo pwned']\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:8:14: explicit YAML tags are not allowed, found"
        " !!python/object/apply:os.system"
    )


def test_any_explicit_tag_is_refused(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL + "seed: !!int '3'\n") == (
        "specs/x.yaml:8:7: explicit YAML tags are not allowed, found !!int"
    )
    assert error_of(tmp_path, SMALL + "seed: !mine 3\n") == (
        "specs/x.yaml:8:7: explicit YAML tags are not allowed, found !mine"
    )


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        previous, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    started = time.perf_counter()

    message = error_of(tmp_path, "\n".join(lines) + "\n")

    assert time.perf_counter() - started < 1.0
    assert message == (
        "specs/x.yaml:5:4: aliases expand to more than 10000 nodes; refusing to load"
    )


def test_modest_aliases_are_fine(tmp_path: Path) -> None:
    text = SMALL_HEAD.replace(
        "features: {a: [1.0, 2.0, 3.0, 4.0], b: [4.0, 3.0, 2.0, 1.0]}",
        "features: {a: &col [1.0, 2.0, 3.0, 4.0], b: *col}",
    )
    data = load_one(tmp_path, text + "model: [{GRU: {units: 2}}]\n").data
    assert isinstance(data, InlineData)
    assert data.features["b"] == (1.0, 2.0, 3.0, 4.0)


def test_merge_keys_are_refused(tmp_path: Path) -> None:
    text = with_model("- GRU: &gru {units: 4}\n- GRU:\n    <<: *gru\n")
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:8:7: merge keys (<<) are not supported; repeat the values or use matrix:"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "",
            "specs/x.yaml: the file holds no YAML document; expected a mapping with data,"
            " lookback and model",
        ),
        (
            "# only a comment\n",
            "specs/x.yaml: the file holds no YAML document; expected a"
            " mapping with data, lookback and model",
        ),
        (
            "- GRU\n",
            "specs/x.yaml:1:1: the top level must be a mapping of keys such as data,"
            " lookback and model, got a list",
        ),
        (
            "hello\n",
            "specs/x.yaml:1:1: the top level must be a mapping of keys such as data,"
            " lookback and model, got a single value",
        ),
        (
            SMALL + "---\nname: again\n",
            "specs/x.yaml:8:1: more than one YAML document; a spec file holds exactly one",
        ),
        (
            "? [a, b]\n: 1\n",
            "specs/x.yaml:1:3: mapping keys must be plain strings, got a collection",
        ),
    ],
    ids=["empty", "comment-only", "list", "scalar", "two-documents", "complex-key"],
)
def test_documents_that_are_not_one_mapping(tmp_path: Path, text: str, message: str) -> None:
    assert error_of(tmp_path, text) == message


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "specs" / "x.yaml"
    path.parent.mkdir()
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(SpecError) as caught:
        load_specs(path, root=tmp_path)
    assert str(caught.value) == (
        "specs/x.yaml:1:10: the spec is not UTF-8 text (byte 0xe9); save it as UTF-8"
    )


def test_a_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_specs(tmp_path / "nope.yaml", root=tmp_path)
    assert str(caught.value) == "nope.yaml: cannot read the spec: No such file or directory"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab: -[]{},&*!|>'\"\t\n#?1.")), max_size=60))
def test_arbitrary_text_parses_or_gives_a_spec_error(text: str) -> None:
    try:
        parse_yaml(text, path="fuzz.yaml")
    except SpecError as error:
        message = str(error)
    else:
        return
    assert message.startswith("fuzz.yaml")


# ----------------------------------------------------------------------- key problems


def test_unknown_top_level_key_suggests_the_closest(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL + "lookbak: 3\n") == (
        "specs/x.yaml:8:1: unknown key 'lookbak'; did you mean 'lookback'?"
    )


def test_unknown_top_level_key_without_a_close_match_lists_the_keys(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL + "zzz: 3\n") == (
        "specs/x.yaml:8:1: unknown key 'zzz'; expected one of: name, description, seed, data,"
        " lookback, model, weights, dtype, tolerance, stateful, marks, golden, paths, matrix,"
        " candidate, torch, timeout"
    )


def test_missing_required_key(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL.replace("lookback: 2\n", "")) == (
        "specs/x.yaml:1:1: missing required key 'lookback'"
    )


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


# ---------------------------------------------------------------------- data problems


def test_lookback_must_be_smaller_than_the_rows(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL.replace("lookback: 2", "lookback: 4")) == (
        "specs/x.yaml:4:11: lookback: expected a positive integer smaller than the number of"
        " rows (4), got 4"
    )
    assert error_of(tmp_path, SMALL.replace("lookback: 2", "lookback: 0")) == (
        "specs/x.yaml:4:11: lookback: expected a positive integer, got 0"
    )


def test_empty_data(tmp_path: Path) -> None:
    text = SMALL.replace("{a: [1.0, 2.0, 3.0, 4.0], b: [4.0, 3.0, 2.0, 1.0]}", "{}")
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:2:13: data.features: expected a mapping of one or more column names to"
        " lists of numbers, such as {temperature: [18.2, 19.5]}, got an empty mapping"
    )
    text = SMALL.replace("[4.0, 3.0, 2.0, 1.0]", "[]")
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:2:42: data.features.b: expected a non-empty list of numbers, got an"
        " empty list"
    )


def test_columns_of_different_lengths(tmp_path: Path) -> None:
    text = SMALL.replace("[4.0, 3.0, 2.0, 1.0]", "[4.0, 3.0, 2.0]")
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:2:42: data.features.b: column 'b' has 3 values but 'a' has 4; every"
        " column needs one value per row"
    )


def test_nan_and_text_in_a_column(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL.replace("3.0, 2.0", "3.0, .nan")) == (
        "specs/x.yaml:2:53: data.features.b[2]: expected a finite number, got .nan"
    )
    assert error_of(tmp_path, SMALL.replace("3.0, 2.0", "3.0, -.inf")) == (
        "specs/x.yaml:2:53: data.features.b[2]: expected a finite number, got -.inf"
    )
    assert error_of(tmp_path, SMALL.replace("3.0, 2.0", "3.0, two")) == (
        "specs/x.yaml:2:53: data.features.b[2]: expected a number, got 'two'"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "data:\n  scale: minmax\n",
            "2:3: data: missing the data source: give features (inline columns), csv or synthetic",
        ),
        (
            "data:\n  features: {a: [1, 2, 3]}\n  synthetic: {kind: sine, length: 9}\n"
            "  target: {column: a}\n",
            "3:3: data.synthetic: give only one data source, got features and synthetic",
        ),
        ("data:\n  features: {a: [1, 2, 3]}\n", "2:3: data: missing required key 'target'"),
        (
            "data:\n  features: {a: [1, 2, 3]}\n  target: {column: b}\n",
            "3:20: data.target.column: unknown feature 'b'; expected one of: a",
        ),
        (
            "data:\n  features: {a: [1, 2, 3]}\n  target: {name: y}\n",
            "3:11: data.target: give exactly one of linear (coefficients per feature), values"
            " (one per row) or column (a feature to forecast), got 0",
        ),
        (
            "data:\n  features: {a: [1, 2, 3]}\n  target: {values: [1, 2]}\n",
            "3:20: data.target.values: expected 3 values (one per row), got 2",
        ),
        (
            "data:\n  features: {temperature: [1, 2, 3]}\n  target: {linear: {temprature: 1}}\n",
            "3:21: data.target.linear: unknown feature 'temprature'; did you mean 'temperature'?",
        ),
        (
            "data:\n  features: {a: [1, 2, 3]}\n  target: {column: a, noise_std: 1}\n",
            "3:23: data.target.noise_std: applies to linear targets only",
        ),
        (
            "data:\n  features: {a: [1, 2, 3]}\n  target: {linear: {a: 1}, noise_std: -1}\n",
            "3:39: data.target.noise_std: expected a non-negative number, got -1",
        ),
        (
            "data:\n  features: {a: [1, 2, 3]}\n  target: {column: a}\n  scale: min-max\n",
            "4:10: data.scale: expected one of minmax, standard, none, got 'min-max'; did you"
            " mean 'minmax'?",
        ),
        (
            "data:\n  features: {a: [1, 2, 3]}\n  target: {column: a}\n  stride: 0\n",
            "4:11: data.stride: expected a positive integer, got 0",
        ),
        (
            "data:\n  synthetic: {kind: sine, length: 1000000000}\n",
            "2:35: data.synthetic.length: expected at most 1000000, got 1000000000",
        ),
        (
            "data:\n  synthetic: {kind: saw, length: 10}\n",
            "2:21: data.synthetic.kind: expected one of sine, random_walk, normal, got 'saw'",
        ),
        (
            "data:\n  csv: {path: x.csv, features: [a], target: a}\n  target: {column: a}\n",
            "3:3: data.target: with csv, name the target column inside csv: (csv.target)",
        ),
    ],
    ids=[
        "no-source",
        "two-sources",
        "no-target",
        "target-column",
        "target-kind",
        "target-values",
        "target-linear",
        "noise-on-column",
        "negative-noise",
        "scale",
        "stride",
        "huge-synthetic",
        "synthetic-kind",
        "csv-and-target",
    ],
)
def test_data_problems(tmp_path: Path, data: str, message: str) -> None:
    text = data + "lookback: 1\nmodel:\n  - GRU: {units: 1}\n"
    assert error_of(tmp_path, text) == f"specs/x.yaml:{message}"


# ----------------------------------------------------------------------- file paths


def csv_spec(path: str) -> str:
    return (
        f"data:\n  csv: {{path: {path}, features: [a], target: a}}\nlookback: 1\n"
        "model:\n  - GRU: {units: 1}\n"
    )


def test_a_path_climbing_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "project"
    assert error_of(root, csv_spec("../../etc/passwd")) == (
        "specs/x.yaml:2:15: data.csv.path: '../../etc/passwd' resolves outside the project root"
    )


def test_an_absolute_path_is_refused(tmp_path: Path) -> None:
    assert error_of(tmp_path, csv_spec("/etc/passwd")) == (
        "specs/x.yaml:2:15: data.csv.path: absolute paths are not allowed, got '/etc/passwd';"
        " write the path relative to the spec file"
    )
    assert error_of(tmp_path, csv_spec("'C:\\data\\x.csv'")).startswith(
        "specs/x.yaml:2:15: data.csv.path: absolute paths are not allowed"
    )


def test_a_symlink_pointing_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n2\n")
    root = tmp_path / "project"
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "link.csv").symlink_to(outside)

    assert error_of(root, csv_spec("link.csv")) == (
        "specs/x.yaml:2:15: data.csv.path: 'link.csv' resolves outside the project root"
    )


def test_a_symlink_inside_the_root_is_fine(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "real.csv").write_text("a\n1\n2\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "link.csv").symlink_to(tmp_path / "data" / "real.csv")

    data = load_one(tmp_path, csv_spec("link.csv")).data

    assert isinstance(data, CsvData)
    assert data.path == (tmp_path / "data" / "real.csv").resolve()


def test_a_missing_file_is_reported_at_its_key(tmp_path: Path) -> None:
    assert error_of(tmp_path, csv_spec("nope.csv")) == (
        "specs/x.yaml:2:15: data.csv.path: file not found: 'nope.csv' (paths are relative to"
        " the spec file)"
    )
    assert error_of(tmp_path, SMALL_HEAD + "model: {path: m.keras}\n") == (
        "specs/x.yaml:5:15: model.path: file not found: 'm.keras' (paths are relative to the"
        " spec file)"
    )


# ------------------------------------------------------------------- remaining keys


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("seed: -1", "8:7: seed: expected a non-negative integer, got -1"),
        ("seed: 4294967296", "8:7: seed: expected at most 4294967295, got 4294967296"),
        (
            "name: 'my spec'",
            "8:7: name: expected a name without spaces, brackets or slashes, got 'my spec'",
        ),
        (
            'name: "nul\\0byte"',
            "8:7: name: expected a name without spaces, brackets or slashes, got 'nul\\x00byte'",
        ),
        (
            "dtype: float16",
            "8:8: dtype: expected one of float32, float64, got 'float16'; did you mean 'float64'?",
        ),
        (
            "weights: seed",
            "8:10: weights: expected seeded, keras or {path: <file>}, got"
            " 'seed'; did you mean 'seeded'?",
        ),
        ("tolerance: {atol: -1}", "8:19: tolerance.atol: expected a non-negative number, got -1"),
        (
            "tolerance: {hiden: {atol: 1}}",
            "8:13: tolerance: unknown key 'hiden'; did you mean 'hidden'?",
        ),
        (
            "marks: [slow, 'not a mark']",
            "8:15: marks[1]: expected a pytest mark name (a Python identifier), got 'not a mark'",
        ),
        ("marks: slow", "8:8: marks: expected a list of pytest mark names, got 'slow'"),
        ("stateful: 'true'", "8:11: stateful: expected true or false, got 'true'"),
        (
            "golden: {sequences: -1}",
            "8:21: golden.sequences: expected a non-negative integer, got -1",
        ),
        (
            "golden: {traces: gates}",
            "8:18: golden.traces: expected one of all, hidden, got 'gates'",
        ),
    ],
)
def test_remaining_keys(tmp_path: Path, extra: str, message: str) -> None:
    assert error_of(tmp_path, SMALL + extra + "\n") == f"specs/x.yaml:{message}"


def test_a_file_name_that_cannot_name_a_spec(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL, "specs/my spec.yaml") == (
        "specs/my spec.yaml: the file name gives the spec name 'my spec', which has spaces,"
        " brackets or slashes; set name:"
    )


# --------------------------------------------------------------------------- matrix


def test_matrix_expands_to_the_cartesian_product_in_order(tmp_path: Path) -> None:
    text = NOTEBOOK + (
        "matrix:\n  model[0].GRU.units: [4, 64]\n  model[0].GRU.reset_after: [true, false]\n"
    )

    specs = load(tmp_path, text)

    assert [spec.id for spec in specs] == [
        "power-gru[units=4-reset_after=true]",
        "power-gru[units=4-reset_after=false]",
        "power-gru[units=64-reset_after=true]",
        "power-gru[units=64-reset_after=false]",
    ]
    assert specs[0].variant == "units=4-reset_after=true"
    assert [dict(spec.model[0].kwargs) for spec in specs] == [  # type: ignore[index]
        {"units": 4, "reset_after": True},
        {"units": 4, "reset_after": False},
        {"units": 64, "reset_after": True},
        {"units": 64, "reset_after": False},
    ]
    assert len({spec.content_hash for spec in specs}) == 4
    assert all(spec.layer_lines == (17, 18) for spec in specs)
    assert specs[3].location("model[0].GRU.units") == (22, 27)


def test_colliding_matrix_labels_grow_until_they_differ(tmp_path: Path) -> None:
    text = with_model("- GRU: {units: 2, return_sequences: true}\n- GRU: {units: 2}\n")
    text += "matrix:\n  model[0].GRU.units: [2]\n  model[1].GRU.units: [3]\n  dtype: [float64]\n"

    (spec,) = load(tmp_path, text)

    assert spec.variant == "model[0].GRU.units=2-model[1].GRU.units=3-dtype=float64"


def test_matrix_labels_spell_values_as_yaml(tmp_path: Path) -> None:
    text = with_model("- Bidirectional: {layer: {GRU: {units: 2}}}\n")
    text += "matrix:\n  model[0].Bidirectional.merge_mode: [null, sum]\n  tolerance.atol: [0.001]\n"
    text = text.replace("matrix:", "tolerance: {}\nmatrix:")

    assert [spec.variant for spec in load(tmp_path, text)] == [
        "merge_mode=null-atol=0.001",
        "merge_mode=sum-atol=0.001",
    ]


def test_matrix_ids_are_safe_as_file_names_and_node_ids(tmp_path: Path) -> None:
    # the id names the golden file: a value must not reach outside the golden directory
    text = SMALL + 'matrix:\n  description: ["a/../../x", "b::c", "new\\nline", "50%"]\n'
    assert [spec.id for spec in load(tmp_path, text)] == [
        "x[description=a%2F..%2F..%2Fx]",
        "x[description=b%3A%3Ac]",
        "x[description=new%0Aline]",
        "x[description=50%25]",
    ]


def test_a_key_with_a_newline_is_shown_escaped_on_one_line(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL + 'matrix: {"\\n": [1]}\n') == (
        "specs/x.yaml:8:10: matrix['\\n']: '\\n' names nothing in the spec"
    )


def test_text_from_the_spec_cannot_break_a_message_over_lines(tmp_path: Path) -> None:
    assert error_of(tmp_path, with_model('- {GRU: {units: 2}, "x\\ny": 1}\n')) == (
        "specs/x.yaml:6:5: model[0]: expected one layer as a single-key mapping such as"
        " {GRU: {units: 4}}, got 2 keys (GRU, x\\ny)"
    )


def test_matrix_key_naming_nothing(tmp_path: Path) -> None:
    text = SMALL + "matrix:\n  model[0].GRU.unitz: [4, 8]\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:9:3: matrix.model[0].GRU.unitz: 'model[0].GRU.unitz' names nothing in"
        " the spec; did you mean 'model[0].GRU.units'?"
    )
    text = SMALL + "matrix:\n  model[5].GRU.units: [4, 8]\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:9:3: matrix.model[5].GRU.units: 'model[5].GRU.units' names nothing in"
        " the spec (it has no model[5])"
    )
    text = SMALL + "matrix:\n  tolerance.atol: [0.1]\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:9:3: matrix.tolerance.atol: 'tolerance.atol' names nothing in the spec"
        " (it has no tolerance)"
    )
    text = SMALL + "matrix:\n  'model[0]..units': [4]\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:9:3: matrix.model[0]..units: 'model[0]..units' is not a key path such"
        " as model[0].GRU.units"
    )


def test_errors_in_a_variant_point_at_the_matrix_value(tmp_path: Path) -> None:
    text = SMALL + "matrix:\n  model[0].GRU.units: [4, -1]\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:9:27: model[0].GRU.units: expected a positive integer, got -1 (matrix"
        " variant units=-1)"
    )


def test_a_matrix_may_add_an_allowed_argument(tmp_path: Path) -> None:
    specs = load(tmp_path, SMALL + "matrix:\n  model[0].GRU.activation: [relu, null]\n")
    assert [spec.model[0].kwargs["activation"] for spec in specs] == ["relu", None]  # type: ignore[index]
    assert [spec.variant for spec in specs] == ["activation=relu", "activation=null"]
    text = SMALL + "matrix:\n  model[0].GRU.activation: [relu, tahn]\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:9:35: model[0].GRU.activation: unknown activation 'tahn'; did you mean"
        " 'tanh'? (matrix variant activation=tahn)"
    )


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (
            "matrix: [1]",
            "8:9: matrix: expected a mapping of key paths to lists of values, such"
            " as 'model[0].GRU.units: [4, 64]'",
        ),
        (
            "matrix: {lookback: 3}",
            "8:20: matrix.lookback: expected a non-empty list of values, got 3",
        ),
        (
            "matrix: {lookback: [1, 1]}",
            "8:24: matrix.lookback[1]: repeats the value 1 (item"
            " 0); each variant needs its own value",
        ),
        (
            "matrix:\n  model[0].GRU: [{units: 3}]\n  model[0].GRU.units: [4]",
            "10:3:"
            " matrix.model[0].GRU.units: overlaps 'model[0].GRU'; one matrix key cannot contain"
            " another",
        ),
        (
            "matrix: {seed: ["
            + ", ".join(map(str, range(17)))
            + "], lookback: ["
            + ", ".join(map(str, range(1, 17)))
            + "]}",
            "8:9: matrix: expands to 272 variants; at most 256 allowed",
        ),
    ],
    ids=["not-a-mapping", "not-a-list", "repeated-value", "overlap", "too-many"],
)
def test_matrix_problems(tmp_path: Path, matrix: str, message: str) -> None:
    assert error_of(tmp_path, SMALL + matrix + "\n") == f"specs/x.yaml:{message}"


# ------------------------------------------------------------------------ content hash


def test_content_hash_ignores_presentation_and_follows_the_numbers(tmp_path: Path) -> None:
    base = load_one(tmp_path, NOTEBOOK).content_hash
    cosmetic = (
        NOTEBOOK.replace("name: power-gru", "name: renamed  # a comment")
        .replace("from the notebook", "edited")
        .replace("tolerance: {atol: 1.0e-6, rtol: 1.0e-5}", "marks: [slow]")
        .replace("seed: 42", "seed: 42\n\n\n")
        .replace("weights: seeded\n", "")
    )
    assert load_one(tmp_path, cosmetic).content_hash == base
    assert load_one(tmp_path, NOTEBOOK.replace("units: 4", "units: 5")).content_hash != base
    assert load_one(tmp_path, NOTEBOOK.replace("seed: 42", "seed: 43")).content_hash != base
    assert load_one(tmp_path, NOTEBOOK + "dtype: float64\n").content_hash != base


def test_spec_error_helper_locates_keys(tmp_path: Path) -> None:
    spec = load_one(tmp_path, NOTEBOOK)

    error = spec.error("model[0].GRU.units", "the builder refused it")

    assert str(error) == "specs/x.yaml:17:18: model[0].GRU.units: the builder refused it"
    assert spec.location("model[0].GRU.missing") == (17, 10)
    assert spec.location("nothing") is None


# --------------------------------------------------------------------------- schema


class SchemaViolation(Exception):
    pass


_ANNOTATIONS = {"$schema", "title", "description", "default", "examples", "$defs"}


def check_schema(instance: Any, schema: dict[str, Any], root: dict[str, Any]) -> None:
    """A small draft 2020-12 validator for exactly the keywords spec_schema.json uses."""
    unknown = set(schema) - _ANNOTATIONS - set(_KEYWORDS)
    assert not unknown, f"the test validator does not implement {unknown}"
    for keyword, check in _KEYWORDS.items():
        if keyword in schema:
            check(instance, schema[keyword], schema, root)


def _type(instance: Any, expected: Any, _schema: Any, _root: Any) -> None:
    names = [expected] if isinstance(expected, str) else expected
    kinds = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    }
    if not any(kinds[name](instance) for name in names):
        raise SchemaViolation(f"{instance!r} is not of type {expected}")


def _each_property(instance: Any, properties: Any, _schema: Any, root: Any) -> None:
    if isinstance(instance, dict):
        for key, sub in properties.items():
            if key in instance:
                check_schema(instance[key], sub, root)


def _additional(instance: Any, additional: Any, schema: Any, root: Any) -> None:
    if not isinstance(instance, dict):
        return
    for key, value in instance.items():
        if key in schema.get("properties", {}):
            continue
        if additional is False:
            raise SchemaViolation(f"additional property {key!r}")
        if isinstance(additional, dict):
            check_schema(value, additional, root)


def _required(instance: Any, required: Any, _schema: Any, _root: Any) -> None:
    if isinstance(instance, dict):
        missing = [key for key in required if key not in instance]
        if missing:
            raise SchemaViolation(f"missing {missing}")


def _passes(instance: Any, schema: Any, root: Any) -> bool:
    try:
        check_schema(instance, schema, root)
    except SchemaViolation:
        return False
    return True


def _ref(instance: Any, ref: Any, _schema: Any, root: Any) -> None:
    assert ref.startswith("#/$defs/")
    check_schema(instance, root["$defs"][ref.removeprefix("#/$defs/")], root)


def _one_of(instance: Any, options: Any, _schema: Any, root: Any) -> None:
    if sum(_passes(instance, option, root) for option in options) != 1:
        raise SchemaViolation("not exactly one of oneOf")


def _any_of(instance: Any, options: Any, _schema: Any, root: Any) -> None:
    if not any(_passes(instance, option, root) for option in options):
        raise SchemaViolation("none of anyOf")


def _not(instance: Any, option: Any, _schema: Any, root: Any) -> None:
    if _passes(instance, option, root):
        raise SchemaViolation("matches not")


def _bound(test: Any, what: str) -> Any:
    def check(instance: Any, limit: Any, _schema: Any, _root: Any) -> None:
        is_number = isinstance(instance, int | float) and not isinstance(instance, bool)
        if is_number and not test(instance, limit):
            raise SchemaViolation(f"{instance} fails {what} {limit}")

    return check


def _sized(kind: type[Sized], test: Any, what: str) -> Any:
    def check(instance: Any, limit: Any, _schema: Any, _root: Any) -> None:
        if isinstance(instance, kind) and not test(len(instance), limit):
            raise SchemaViolation(f"{what} {limit}")

    return check


def _pattern(instance: Any, pattern: Any, _schema: Any, _root: Any) -> None:
    if isinstance(instance, str) and not re.search(pattern, instance):
        raise SchemaViolation(f"{instance!r} does not match {pattern}")


def _property_names(instance: Any, names: Any, _schema: Any, root: Any) -> None:
    if isinstance(instance, dict):
        for key in instance:
            check_schema(key, names, root)


def _items(instance: Any, items: Any, _schema: Any, root: Any) -> None:
    if isinstance(instance, list):
        for item in instance:
            check_schema(item, items, root)


def _unique(instance: Any, unique: Any, _schema: Any, _root: Any) -> None:
    if unique and isinstance(instance, list):
        dumped = [json.dumps(item, sort_keys=True) for item in instance]
        if len(set(dumped)) != len(dumped):
            raise SchemaViolation("items not unique")


def _enum(instance: Any, options: Any, _schema: Any, _root: Any) -> None:
    if not any(instance == option and type(instance) is type(option) for option in options):
        raise SchemaViolation(f"{instance!r} not in {options}")


_KEYWORDS: dict[str, Any] = {
    "$ref": _ref,
    "type": _type,
    "enum": _enum,
    "properties": _each_property,
    "additionalProperties": _additional,
    "required": _required,
    "propertyNames": _property_names,
    "items": _items,
    "uniqueItems": _unique,
    "oneOf": _one_of,
    "anyOf": _any_of,
    "not": _not,
    "pattern": _pattern,
    "minimum": _bound(lambda v, limit: v >= limit, "minimum"),
    "maximum": _bound(lambda v, limit: v <= limit, "maximum"),
    "exclusiveMaximum": _bound(lambda v, limit: v < limit, "exclusiveMaximum"),
    "minItems": _sized(list, lambda n, limit: n >= limit, "minItems"),
    "minLength": _sized(str, lambda n, limit: n >= limit, "minLength"),
    "minProperties": _sized(dict, lambda n, limit: n >= limit, "minProperties"),
    "maxProperties": _sized(dict, lambda n, limit: n <= limit, "maxProperties"),
}


def schema_accepts(text: str) -> bool:
    import yaml

    schema = json.loads(schema_text())
    return _passes(yaml.safe_load(text), schema, schema)


def test_schema_is_draft_2020_12_json() -> None:
    schema = json.loads(schema_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) == {"data", "lookback", "model"}


def test_schema_accepts_valid_specs() -> None:
    assert schema_accepts(NOTEBOOK)
    assert schema_accepts(SMALL + "matrix: {'model[0].GRU.units': [4, 64]}\ndtype: float64\n")
    assert schema_accepts(
        with_model(
            """\
            - Masking: {mask_value: 0}
            - Bidirectional:
                layer: {LSTM: {units: 3, return_sequences: true}}
                merge_mode: null
            - TimeDistributed: {layer: {Dense: {units: 2}}}
            """
        )
    )
    assert schema_accepts(csv_spec("data/x.csv") + "weights: {path: w.weights.h5}\n")
    assert schema_accepts(
        "data: {synthetic: {kind: sine, length: 9}, stride: 2, batch: 3}\nlookback: 2\n"
        "model: {path: m.keras}\ngolden: {sequences: 1, traces: hidden}\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        SMALL + "lookbak: 3\n",
        SMALL.replace("lookback: 2", "lookback: 0"),
        with_model("- GRU: {units: -4}\n"),
        with_model("- GRU: {units: 1000000000}\n"),
        with_model("- GRU: {units: 4, reset_afterr: true}\n"),
        with_model("- SimpleRNN: {units: 4, implementation: 1}\n"),
        with_model("- Bidirectional: {layer: {Dense: {units: 1}}}\n"),
        with_model("- GRU: {units: 4}\n  Dense: {units: 1}\n"),
        csv_spec("/etc/passwd"),
        SMALL + "weights: seed\n",
        SMALL.replace("target: {column: a}", "target: {column: a, values: [1, 2, 3, 4]}"),
    ],
)
def test_schema_rejects_invalid_specs(text: str) -> None:
    assert not schema_accepts(text)


def test_schema_lists_the_same_layers_and_arguments_as_the_loader() -> None:
    schema = json.loads(schema_text())
    layers = schema["$defs"]["layer"]["properties"]
    assert set(layers) == set(LAYER_ARGUMENTS)
    for class_name, arguments in LAYER_ARGUMENTS.items():
        declared = schema["$defs"][f"{class_name}Arguments"]["properties"]
        assert set(declared) == set(arguments), class_name
    assert set(schema["properties"]) == {
        "name", "description", "seed", "data", "lookback", "model", "weights", "dtype",
        "tolerance", "stateful", "marks", "golden", "paths", "matrix", "candidate", "torch",
        "timeout",
    }  # fmt: skip


def test_cli_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == schema_text()


def test_cli_without_a_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "schema" in capsys.readouterr().err


def test_spec_modules_do_not_import_tensorflow() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import pytest_rnnparity.spec, pytest_rnnparity.inputs,"
        " pytest_rnnparity.cli.main;"
        " bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert result.stdout.strip() == "[]"


def test_values_are_spelled_as_yaml_in_messages() -> None:
    values: list[Any] = [math.nan, math.inf, -math.inf, None, True, "x", [1], {}]
    assert [describe(value) for value in values] == [
        ".nan", ".inf", "-.inf", "null", "true", "'x'", "a list", "an empty mapping",
    ]  # fmt: skip


def test_execution_paths_are_parsed_with_ids_and_overrides(tmp_path: Path) -> None:
    spec_file = tmp_path / "p.yaml"
    spec_file.write_text(
        textwrap.dedent(
            """\
            data: {synthetic: {kind: sine, length: 20}}
            lookback: 4
            model:
              - GRU: {units: 2}
            paths:
              - {backend: jax, tolerance: {atol: 1.0e-5}}
              - {implementation: 1, unroll: true}
              - {use_cudnn: true}
              - {run_eagerly: false}
            """
        )
    )
    (spec,) = load_specs(spec_file, root=tmp_path)
    assert [p.id for p in spec.paths] == [
        "backend=jax",
        "implementation=1-unroll=true",
        "use_cudnn=true",
        "run_eagerly=false",
    ]
    assert spec.paths[0].tolerance.atol == 1e-5
    assert spec.paths[1].layer_overrides() == {"implementation": 1, "unroll": True}
    assert spec.paths[3].run_eagerly is False
    assert spec.paths[3].layer_overrides() == {}  # not a layer argument
    assert [p.line for p in spec.paths] == [6, 7, 8, 9]


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        ("paths: []", "5:8: paths: expected a list of execution paths such as"),
        ("paths: [{tolerance: {atol: 1.0}}]", "5:9: paths[0]: expected at least one of backend"),
        ("paths: [{backend: jaxx}]", "5:19: paths[0].backend: expected one of tensorflow, jax"),
        ("paths: [{implementation: 3}]", "5:26: paths[0].implementation: expected"),
        ("paths: [{run_eagerly: sometimes}]", "5:23: paths[0].run_eagerly: expected"),
        (
            "paths: [{unroll: true}, {unroll: true}]",
            "5:25: paths[1]: the execution path unroll=true is listed twice",
        ),
    ],
)
def test_bad_execution_paths(tmp_path: Path, paths: str, message: str) -> None:
    spec_file = tmp_path / "p.yaml"
    spec_file.write_text(
        "data: {synthetic: {kind: sine, length: 20}}\nlookback: 4\nmodel:\n  - GRU: {units: 2}\n"
        + paths
        + "\n"
    )
    with pytest.raises(SpecError) as excinfo:
        load_specs(spec_file, root=tmp_path)
    assert str(excinfo.value).startswith(f"{spec_file.name}:{message}")
