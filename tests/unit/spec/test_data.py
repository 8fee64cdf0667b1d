"""spec/data.py: the ``data:`` section (inline, CSV, synthetic, targets) and ``lookback``;
for the functional form, ``data.inputs`` (series and token inputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pytest_rnnparity.spec import (
    ColumnTarget,
    CsvData,
    GraphData,
    InlineData,
    LinearTarget,
    ModelInput,
    SyntheticData,
    SyntheticTokens,
    TimeColumn,
    TokenFile,
    TokenLabels,
    ValuesTarget,
)

from .helpers import NOTEBOOK, SMALL, error_of, load_one


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


def test_rows_are_counted_in_steps_unless_data_time_names_the_unit(tmp_path: Path) -> None:
    assert load_one(tmp_path, SMALL).data.time == "step"
    text = SMALL.replace("target: {column: a}", "target: {column: a}\n  time: Time  Step")
    assert load_one(tmp_path, text).data.time == "time step"  # one space, lower case


def test_data_time_may_name_a_csv_column(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "w.csv").write_text("date,a\n2024-01-01,2\n2024-01-02,4\n")
    text = (
        "data:\n  csv: {path: ../data/w.csv, features: [a], target: a}\n"
        "  time: {column: date}\nlookback: 1\nmodel:\n  - GRU: {units: 1}\n"
    )
    assert load_one(tmp_path, text).data.time == TimeColumn(column="date")


def test_data_time_names_the_rows_and_leaves_the_golden_alone(tmp_path: Path) -> None:
    base = load_one(tmp_path, NOTEBOOK)
    named = load_one(
        tmp_path, NOTEBOOK.replace("  scale: minmax\n", "  scale: minmax\n  time: day\n")
    )
    assert named.data.time == "day"
    assert named.content_hash == base.content_hash


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


# --------------------------------------------------------------- the functional form

GRAPH_MODEL = """\
model:
  layers:
    emb: {Embedding: {input_dim: 30, output_dim: 4}, inputs: t}
    lstm: {LSTM: {units: 4}, inputs: emb}
"""


def inputs_spec(inputs: str, *, model: str = GRAPH_MODEL, extra: str = "") -> str:
    """A functional spec whose ``data.inputs`` entries are ``inputs`` (lines 3 on)."""
    return "data:\n  inputs:\n" + inputs + extra + model


def test_each_input_has_its_own_data_and_lookback(tmp_path: Path) -> None:
    text = inputs_spec(
        "    t: {tokens: {vocabulary: 30, sequences: 9, length: 6, min_length: 0, padding: left,"
        " classes: 3}}\n"
        "    x: {synthetic: {kind: normal, length: 14, features: 2}, scale: none, lookback: 4}\n"
        "    y:\n"
        "      features: {a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]}\n"
        "      target: {column: a}\n",
        extra="  stride: 1\n  batch: 9\nlookback: 3\n",
        model=GRAPH_MODEL
        + "    gx: {GRU: {units: 2}, inputs: x}\n    gy: {GRU: {units: 2}, inputs: y}\n",
    )

    data = load_one(tmp_path, text).data

    assert isinstance(data, GraphData)
    assert (data.stride, data.batch) == (1, 9)
    t, x, y = data.inputs
    assert t == ModelInput(
        name="t",
        data=SyntheticTokens(
            vocabulary=30, sequences=9, length=6, min_length=0, padding="left", classes=3
        ),
        lookback=None,
        line=3,
    )
    assert t.is_tokens
    assert not x.is_tokens
    assert x.data == SyntheticData(
        kind="normal",
        length=14,
        features=2,
        target=ColumnTarget(name="x0", column="x0"),
        scale="none",
        batch=9,
    )
    assert x.lookback == 4
    assert isinstance(y.data, InlineData)
    assert y.lookback == 3  # the top-level lookback is every series input's default
    assert data.input("y") is y


def test_token_files_take_their_length_from_a_npy_header(tmp_path: Path) -> None:
    (tmp_path / "specs" / "data").mkdir(parents=True)
    np.save(tmp_path / "specs" / "data" / "ids.npy", np.array([[1, 2, 0], [3, 4, 5]]))
    (tmp_path / "specs" / "data" / "ids.csv").write_text("1,2\n3\n", encoding="utf-8")
    (tmp_path / "specs" / "data" / "labels.npy").write_bytes(b"")
    text = inputs_spec(
        "    t: {tokens: {path: data/ids.npy, padding: mixed, vocabulary: 30, classes: 4}}\n"
        "    u: {tokens: {path: data/ids.csv, length: 5, labels: data/labels.npy}}\n",
        model=GRAPH_MODEL + "    e2: {Embedding: {input_dim: 30, output_dim: 4}, inputs: u}\n"
        "    l2: {LSTM: {units: 4}, inputs: e2}\n",
    )

    data = load_one(tmp_path, text).data

    assert isinstance(data, GraphData)
    npy, csv = (model_input.data for model_input in data.inputs)
    assert npy == TokenFile(
        path=(tmp_path / "specs/data/ids.npy").resolve(),
        declared="data/ids.npy",
        length=3,
        padding="mixed",
        vocabulary=30,
        classes=4,
    )
    assert isinstance(csv, TokenFile)
    assert (csv.length, csv.padding, csv.classes) == (5, "right", 2)
    assert csv.labels == TokenLabels(
        path=(tmp_path / "specs/data/labels.npy").resolve(), declared="data/labels.npy"
    )


TOKENS = "    t: {tokens: {vocabulary: 30, sequences: 14, length: 6}}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "data: {synthetic: {kind: sine, length: 20}}\nlookback: 3\n" + GRAPH_MODEL,
            "specs/x.yaml:1:7: data: a functional model (model: {layers: ...}) names its inputs:"
            " put each input's data under data.inputs.<name>, such as {inputs: {x: {synthetic:"
            " {kind: sine, length: 60}}}}",
        ),
        (
            "data: {inputs: {x: {synthetic: {kind: sine, length: 20}}}}\nlookback: 3\n"
            "model:\n  - GRU: {units: 2}\n",
            "specs/x.yaml:1:8: data.inputs: a chain (model: [...]) reads one data source, given"
            " under data: itself; name inputs for the functional form (model: {layers: ...})",
        ),
        (
            inputs_spec("", extra="    {}\n").replace("  inputs:\n    {}\n", "  inputs: {}\n"),
            "specs/x.yaml:2:11: data.inputs: expected a mapping of model input names to their"
            " data, such as {tokens: {tokens: {vocabulary: 50, sequences: 16, length: 12}}}, got"
            " an empty mapping",
        ),
        (
            inputs_spec(TOKENS, extra="  scale: none\n"),
            "specs/x.yaml:4:3: data: unknown key 'scale'; expected one of: inputs, stride, batch",
        ),
        (
            inputs_spec(TOKENS.replace("t:", "t.x:")),
            "specs/x.yaml:3:5: data.inputs.t.x: expected an input name of letters, digits, _ and"
            " - (a dot separates a layer from one of its outputs: encoder.state_h), got 't.x'",
        ),
        (
            inputs_spec("    t: {scale: none}\n"),
            "specs/x.yaml:3:8: data.inputs.t: missing the data source: give features (inline"
            " columns), csv, synthetic or tokens",
        ),
        (
            inputs_spec(TOKENS.replace("}}\n", "}, scal: 1}\n")),
            "specs/x.yaml:3:61: data.inputs.t: unknown key 'scal'; did you mean 'scale'?",
        ),
        (
            inputs_spec(TOKENS.replace("}}\n", "}, synthetic: {kind: sine, length: 9}}\n")),
            "specs/x.yaml:3:61: data.inputs.t.synthetic: give only one data source, got tokens"
            " and synthetic",
        ),
        (
            inputs_spec(TOKENS.replace("}}\n", "}, scale: none}\n")),
            "specs/x.yaml:3:61: data.inputs.t.scale: applies to series inputs; token ids are not"
            " scaled",
        ),
        (
            inputs_spec(TOKENS.replace("}}\n", "}, lookback: 3}\n")),
            "specs/x.yaml:3:61: data.inputs.t.lookback: a token input has no lookback: each row"
            " is one whole sequence of tokens.length ids",
        ),
        (
            inputs_spec(TOKENS.replace("}}\n", "}, target: {column: a}}\n")),
            "specs/x.yaml:3:61: data.inputs.t.target: a token input's target is its labels:"
            " tokens.classes (drawn, seeded) or tokens.labels (a file)",
        ),
        (
            inputs_spec(TOKENS.replace("sequences: 14, ", "")),
            "specs/x.yaml:3:17: data.inputs.t.tokens: missing required key 'sequences'; synthetic"
            " tokens need vocabulary, sequences and length (or give path: a .csv or .npy file of"
            " ids)",
        ),
        (
            inputs_spec(TOKENS.replace("length: 6", "length: 6, min_length: 7")),
            "specs/x.yaml:3:72: data.inputs.t.tokens.min_length: expected at most 6, got 7",
        ),
        (
            inputs_spec(TOKENS.replace("length: 6", "length: 6, padding: post")),
            "specs/x.yaml:3:69: data.inputs.t.tokens.padding: expected one of right, left,"
            " mixed, got 'post'",
        ),
        (
            inputs_spec(TOKENS.replace("vocabulary: 30", "vocabulary: 1")),
            "specs/x.yaml:3:30: data.inputs.t.tokens.vocabulary: expected an integer of at least"
            " 2, got 1",
        ),
        (
            inputs_spec(TOKENS.replace("length: 6", "length: 6, labels: ids.csv")),
            "specs/x.yaml:3:60: data.inputs.t.tokens.labels: applies to a token file"
            " (tokens.path) only; synthetic tokens draw their labels from classes",
        ),
        (
            inputs_spec(
                TOKENS.replace("sequences: 14", "sequences: 100000").replace(
                    "length: 6", "length: 1000"
                )
            ),
            "specs/x.yaml:3:17: data.inputs.t.tokens: sequences * length is 100000000; at most"
            " 10000000",
        ),
        (
            inputs_spec(
                TOKENS + "    x: {synthetic: {kind: sine, length: 20, features: 3}}\n",
                extra="lookback: 4\n",
                model=GRAPH_MODEL + "    g: {GRU: {units: 2}, inputs: x}\n",
            ),
            "specs/x.yaml:4:5: data.inputs.x: gives 16 windows but data.inputs.t gives 14"
            " sequences; every input needs one row per example: set data.batch to at most 14,"
            " or change their lengths",
        ),
        (
            inputs_spec(
                TOKENS + "    x: {synthetic: {kind: sine, length: 20, features: 3}}\n",
                model=GRAPH_MODEL + "    g: {GRU: {units: 2}, inputs: x}\n",
            ),
            "specs/x.yaml:4:8: data.inputs.x: missing lookback: give data.inputs.x.lookback, or"
            " lookback: at the top level for every series input",
        ),
        (
            inputs_spec(
                TOKENS
                + "    x: {synthetic: {kind: sine, length: 20, features: 3}, lookback: 20}\n",
                model=GRAPH_MODEL + "    g: {GRU: {units: 2}, inputs: x}\n",
            ),
            "specs/x.yaml:4:69: data.inputs.x.lookback: expected a positive integer smaller than"
            " the number of rows of data.inputs.x (20), got 20",
        ),
    ],
)
def test_graph_data_that_cannot_work_is_refused_at_its_line(
    tmp_path: Path, text: str, message: str
) -> None:
    assert error_of(tmp_path, text) == message


@pytest.mark.parametrize(
    ("tokens", "files", "message"),
    [
        (
            "{path: data/ids.csv, length: 4, sequences: 3}",
            {},
            "specs/x.yaml:3:49: data.inputs.t.tokens.sequences: applies to synthetic tokens"
            " only; a file gives its own sequences",
        ),
        (
            "{path: data/ids.csv}",
            {},
            "specs/x.yaml:3:17: data.inputs.t.tokens: missing required key 'length': the lines of"
            " a CSV of ids may differ in length and are padded to it",
        ),
        (
            "{path: data/ids.txt}",
            {"ids.txt": b"1\n"},
            "specs/x.yaml:3:24: data.inputs.t.tokens.path: expected a .csv or .npy file of"
            " integer ids, got 'data/ids.txt'",
        ),
        (
            "{path: data/floats.npy}",
            {"floats.npy": None},
            "specs/x.yaml:3:24: data.inputs.t.tokens.path: 'data/floats.npy' is not a .npy array"
            " of token ids: its dtype is float64, expected integers",
        ),
        (
            "{path: data/ids.npy, length: 5}",
            {},
            "specs/x.yaml:3:46: data.inputs.t.tokens.length: 'data/ids.npy' holds sequences of 3"
            " ids; length must be 3 or left out",
        ),
        (
            "{path: data/broken.npy}",
            {"broken.npy": b"not an array"},
            "specs/x.yaml:3:24: data.inputs.t.tokens.path: 'data/broken.npy' is not a .npy array"
            " of token ids: the magic string is not correct; expected b'\\x93NUMPY', got b'not"
            " an'",
        ),
        (
            "{path: data/missing.npy}",
            {},
            "specs/x.yaml:3:24: data.inputs.t.tokens.path: file not found: 'data/missing.npy'"
            " (paths are relative to the spec file)",
        ),
    ],
)
def test_a_token_file_that_cannot_work_is_refused_at_its_line(
    tmp_path: Path, tokens: str, files: dict[str, bytes | None], message: str
) -> None:
    folder = tmp_path / "specs" / "data"
    folder.mkdir(parents=True)
    (folder / "ids.csv").write_text("1,2\n", encoding="utf-8")
    np.save(folder / "ids.npy", np.array([[1, 2, 0], [3, 4, 5]]))
    for name, content in files.items():
        if content is None:
            np.save(folder / name, np.array([[1.0, 2.0]]))
        else:
            (folder / name).write_bytes(content)
    assert error_of(tmp_path, inputs_spec(f"    t: {{tokens: {tokens}}}\n")) == message
