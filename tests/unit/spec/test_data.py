"""spec/data.py: the ``data:`` section (inline, CSV, synthetic, targets) and ``lookback``."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_rnnparity.spec import (
    ColumnTarget,
    CsvData,
    InlineData,
    LinearTarget,
    SyntheticData,
    TimeColumn,
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
