"""spec/load.py: whole spec files into frozen specs, names and ids, the content hash, the
JSON Schema."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.spec import (
    CELL_ARGUMENTS,
    DATA_KEYS,
    GRAPH_DATA_KEYS,
    GRAPH_KEYS,
    GRAPH_LAYER_ARGUMENTS,
    INPUT_KEYS,
    LAYER_ARGUMENTS,
    NODE_KEYS,
    PADDINGS,
    TOKEN_KEYS,
    ColumnTarget,
    GoldenOptions,
    InlineData,
    LayerDecl,
    LinearTarget,
    ToleranceOptions,
    load_specs,
    schema_text,
)

from ..helpers import REPO
from .helpers import NOTEBOOK, SMALL, csv_spec, error_of, load, load_one, with_model, write
from .json_schema import schema_accepts

# -------------------------------------------------------------------------- whole files


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


def test_a_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_specs(tmp_path / "nope.yaml", root=tmp_path)
    assert str(caught.value) == "nope.yaml: cannot read the spec: No such file or directory"


def test_a_file_name_that_cannot_name_a_spec(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL, "specs/my spec.yaml") == (
        "specs/my spec.yaml: the file name gives the spec name 'my spec', which has spaces,"
        " brackets or slashes; set name:"
    )


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


# ------------------------------------------------------------------------- content hash


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


# ------------------------------------------------------------------------------- schema


def test_schema_is_draft_2020_12_json() -> None:
    schema = json.loads(schema_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) == {"data", "model"}
    # lookback is required of a chain; a functional model's inputs give their own
    assert schema["anyOf"] == [
        {"required": ["lookback"]},
        {"properties": {"model": {"$ref": "#/$defs/graphModel"}}},
    ]


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
    assert schema_accepts(NOTEBOOK.replace("  scale: minmax\n", "  scale: minmax\n  time: day\n"))
    assert schema_accepts(
        NOTEBOOK.replace("  scale: minmax\n", "  scale: minmax\n  time: {column: date}\n")
    )
    assert not schema_accepts(
        NOTEBOOK.replace("  scale: minmax\n", "  scale: minmax\n  time: 24\n")
    )
    assert schema_accepts(
        "data: {synthetic: {kind: sine, length: 9}, stride: 2, batch: 3}\nlookback: 2\n"
        "model: {path: m.keras}\ngolden: {sequences: 1, traces: hidden}\n"
    )


GRAPH = """\
data:
  inputs:
    tokens: {tokens: {vocabulary: 20, sequences: 4, length: 5, padding: mixed}}
    series: {synthetic: {kind: sine, length: 12, features: 2}, lookback: 5, scale: none}
  batch: 4
model:
  layers:
    emb: {Embedding: {input_dim: 20, output_dim: 3, mask_zero: true}, inputs: tokens}
    enc: {LSTM: {units: 3, return_state: true}, inputs: emb}
    dec: {LSTM: {units: 3, return_sequences: true}, inputs: series,
          initial_state: [enc.state_h, enc.state_c]}
    att: {MultiHeadAttention: {num_heads: 1, key_dim: 2}, inputs: [dec, dec],
          use_causal_mask: true}
    rnn: {RNN: {cell: [{GRUCell: {units: 2}}, {LSTMCell: {units: 3}}]}, inputs: att}
    conv: {Conv1D: {filters: 2, kernel_size: [2], padding: causal}, inputs: att}
    pool: {MaxPooling1D: {pool_size: 2, strides: null}, inputs: conv}
    flat: {Flatten: null, inputs: pool}
    out: {Concatenate: {}, inputs: [rnn, flat]}
  outputs: [out, enc.state_c]
"""


def test_schema_and_loader_accept_the_functional_form(tmp_path: Path) -> None:
    assert schema_accepts(GRAPH)
    assert load(tmp_path, GRAPH)
    for bundled in sorted((REPO / "specs").glob("*.yaml")):
        assert schema_accepts(bundled.read_text(encoding="utf-8")), bundled.name


@pytest.mark.parametrize(
    "text",
    [
        GRAPH.replace("LSTM: {units: 3, return_state: true}", "LSTM: {units: 3, name: e}"),
        GRAPH.replace("inputs: tokens}", "}"),
        GRAPH.replace("Flatten: null, ", "Flatten: null, Dense: {units: 1}, "),
        GRAPH.replace("padding: mixed", "padding: post"),
        GRAPH.replace("tokens: {vocabulary: 20,", "tokens: {path: ids.npy,"),
        GRAPH.replace("inputs: [dec, dec],", "inputs: [],"),
        GRAPH.replace("  batch: 4\n", "  batch: 4\n  scale: none\n"),
        GRAPH.replace("padding: causal", "padding: full"),
        GRAPH.replace("model:\n  layers:", "model:\n  layer:"),
        GRAPH.replace("[enc.state_h, enc.state_c]", "[enc..state_h]"),
        GRAPH.replace(
            "series: {synthetic",
            "series: {tokens: {vocabulary: 3, sequences: 2, length: 2}, synthetic",
        ),
    ],
)
def test_schema_rejects_invalid_graphs_the_loader_refuses(tmp_path: Path, text: str) -> None:
    with pytest.raises(SpecError):
        load(tmp_path, text)
    assert not schema_accepts(text)


def test_what_the_schema_cannot_say_the_loader_refuses(tmp_path: Path) -> None:
    """A series input needs a lookback, its own or the top-level one: one rule across keys
    the schema leaves to the loader (like a layer reading a name that exists)."""
    text = GRAPH.replace("lookback: 5, ", "")
    assert schema_accepts(text)
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:4:13: data.inputs.series: missing lookback: give"
        " data.inputs.series.lookback, or lookback: at the top level for every series input"
    )


def test_schema_lists_the_same_graph_keys_layers_and_arguments_as_the_loader() -> None:
    schema = json.loads(schema_text())
    definitions = schema["$defs"]
    node = definitions["graphLayer"]["properties"]
    assert set(node) == set(GRAPH_LAYER_ARGUMENTS) | set(NODE_KEYS)
    for class_name, arguments in {**GRAPH_LAYER_ARGUMENTS, **CELL_ARGUMENTS}.items():
        declared = definitions[f"{class_name}Arguments"]["properties"]
        assert set(declared) == set(arguments), class_name
    assert set(definitions["cellLayer"]["properties"]) == set(CELL_ARGUMENTS)
    assert set(definitions["graphModel"]["properties"]) == set(GRAPH_KEYS)
    assert set(definitions["modelInput"]["properties"]) == set(INPUT_KEYS)
    assert set(definitions["tokens"]["properties"]) == set(TOKEN_KEYS)
    assert definitions["tokens"]["properties"]["padding"]["enum"] == list(PADDINGS)
    data = schema["properties"]["data"]["properties"]
    assert set(data) == set(DATA_KEYS) | set(GRAPH_DATA_KEYS)


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
