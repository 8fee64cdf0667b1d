"""Datasets and windows: the notebook reproduced bit for bit, CSV problems, synthetic data;
a functional model's inputs (series and token sequences, synthetic or from files)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from pytest_rnnparity.errors import SpecError, UnsupportedModelError
from pytest_rnnparity.inputs import (
    Dataset,
    TokenDataset,
    load_dataset,
    load_inputs,
    spec_windows,
)
from pytest_rnnparity.spec import Spec, load_specs

TEMPERATURE = [18.2, 19.5, 20.1, 22.4, 23.8, 25.0, 23.2, 21.5, 19.8, 17.5]
HUMIDITY = [65.2, 62.8, 58.5, 55.0, 45.2, 42.1, 48.5, 52.3, 60.5, 67.8]
WIND_SPEED = [5.2, 6.8, 8.5, 10.2, 12.5, 14.8, 13.2, 11.5, 9.2, 6.5]

NOTEBOOK = f"""\
name: power-gru
seed: 42
data:
  features:
    temperature: {TEMPERATURE}
    humidity:    {HUMIDITY}
    wind_speed:  {WIND_SPEED}
  target:
    name: power_kwh
    linear: {{temperature: 2.5, humidity: -0.5, wind_speed: 1.2}}
    noise_std: 5.0
  scale: minmax
lookback: 2
model:
  - GRU: {{units: 4}}
  - Dense: {{units: 1}}
"""

MODEL = "lookback: 2\nmodel:\n  - GRU: {units: 2}\n"


def spec_from(root: Path, text: str) -> Spec:
    path = root / "specs" / "x.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    (spec,) = load_specs(path, root=root)
    return spec


def with_windows(spec: Spec, *, lookback: int, stride: int = 1, batch: int | None = None) -> Spec:
    """``spec`` with other windows, as a spec could not be loaded with (to test the refusals)."""
    data = dataclasses.replace(spec.data, stride=stride, batch=batch)
    return dataclasses.replace(spec, lookback=lookback, data=data)


def dataset_from(root: Path, text: str) -> Dataset:
    return load_dataset(spec_from(root, text), root=root)


def data_error(root: Path, text: str) -> str:
    spec = spec_from(root, text)
    with pytest.raises(SpecError) as caught:
        load_dataset(spec, root=root)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    return str(caught.value)


def create_sequences(
    data: NDArray[np.float64], target: NDArray[np.float64], lookback: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The notebook's function, verbatim in spirit."""
    x, y = [], []
    for i in range(len(data) - lookback):
        x.append(data[i : i + lookback])
        y.append(target[i + lookback])
    return np.array(x), np.array(y)


# --------------------------------------------------------------------------- notebook


def test_the_notebook_target_is_reproduced_exactly(tmp_path: Path) -> None:
    dataset = dataset_from(tmp_path, NOTEBOOK)

    temperature, humidity, wind_speed = (
        np.array(column) for column in (TEMPERATURE, HUMIDITY, WIND_SPEED)
    )
    np.random.seed(42)
    expected = 2.5 * temperature - 0.5 * humidity + 1.2 * wind_speed + np.random.normal(0, 5, 10)
    assert np.array_equal(dataset.target_raw, expected)
    assert np.array_equal(
        dataset.target_raw,
        2.5 * temperature
        - 0.5 * humidity
        + 1.2 * wind_speed
        + np.random.RandomState(42).normal(0.0, 5.0, 10),
    )
    assert dataset.feature_names == ("temperature", "humidity", "wind_speed")
    assert dataset.target_name == "power_kwh"
    assert dataset.source == "specs/x.yaml"


def test_the_notebook_scaling_and_windows_are_reproduced_exactly(tmp_path: Path) -> None:
    dataset = dataset_from(tmp_path, NOTEBOOK)
    features = np.column_stack([TEMPERATURE, HUMIDITY, WIND_SPEED])
    scaler_x, scaler_y = MinMaxScaler(feature_range=(0, 1)), MinMaxScaler(feature_range=(0, 1))
    x_scaled = scaler_x.fit_transform(features)
    y_scaled = scaler_y.fit_transform(dataset.target_raw.reshape(-1, 1))
    x_expected, y_expected = create_sequences(x_scaled, y_scaled, 2)

    windows = spec_windows(spec_from(tmp_path, NOTEBOOK), dataset)

    assert np.array_equal(dataset.features_raw, features)
    assert np.array_equal(dataset.features, x_scaled)
    assert np.array_equal(dataset.target, y_scaled.ravel())
    assert windows.x.shape == (8, 2, 3)
    assert windows.y.shape == (8,)
    assert windows.x.dtype == np.float32
    assert windows.y.dtype == np.float32
    assert np.array_equal(windows.x, x_expected.astype(np.float32))
    assert np.array_equal(windows.y, y_expected.ravel().astype(np.float32))
    assert windows.start_rows.tolist() == list(range(8))


def test_inverse_transforms_return_to_the_original_units(tmp_path: Path) -> None:
    spec = spec_from(tmp_path, NOTEBOOK)
    dataset = load_dataset(spec, root=tmp_path)
    windows = spec_windows(spec, dataset)

    assert np.allclose(dataset.inverse_target(dataset.target), dataset.target_raw, atol=1e-12)
    column = dataset.inverse_target(dataset.target.reshape(-1, 1))
    assert column.shape == (10, 1)
    assert np.allclose(dataset.inverse_target(windows.y), dataset.target_raw[2:], atol=1e-4)
    assert np.allclose(dataset.inverse_features(dataset.features), dataset.features_raw)
    restored = dataset.inverse_features(windows.x)
    assert restored.shape == (8, 2, 3)
    assert np.allclose(restored[:, 0, :], dataset.features_raw[:8], atol=1e-4)
    assert dataset.inverse_target(0.0) == pytest.approx(dataset.target_raw.min())
    with pytest.raises(ValueError, match="expected a last axis of 3 features, got shape"):
        dataset.inverse_features(np.zeros((4, 2)))


def test_arrays_are_read_only(tmp_path: Path) -> None:
    dataset = dataset_from(tmp_path, NOTEBOOK)
    for array in (dataset.features_raw, dataset.target_raw, dataset.features, dataset.target):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0.0


@pytest.mark.parametrize("scale", ["standard", "none"])
def test_other_scalings(tmp_path: Path, scale: str) -> None:
    dataset = dataset_from(tmp_path, NOTEBOOK.replace("scale: minmax", f"scale: {scale}"))

    if scale == "none":
        assert np.array_equal(dataset.features, dataset.features_raw)
        assert np.array_equal(dataset.inverse_target([1.5, 2.5]), [1.5, 2.5])
    else:
        expected = StandardScaler().fit_transform(dataset.features_raw)
        assert np.array_equal(dataset.features, expected)
        assert isinstance(dataset.target_scaler, StandardScaler)
    assert dataset.scale == scale


# ---------------------------------------------------------------------------- windows


def test_stride_and_batch_choose_the_windows(tmp_path: Path) -> None:
    spec = spec_from(tmp_path, NOTEBOOK)
    dataset = load_dataset(spec, root=tmp_path)

    strided = spec_windows(with_windows(spec, lookback=3, stride=2), dataset)
    capped = spec_windows(with_windows(spec, lookback=3, stride=2, batch=2), dataset)

    assert strided.start_rows.tolist() == [0, 2, 4, 6]
    assert np.array_equal(strided.x[1], dataset.features[2:5].astype(np.float32))
    assert np.array_equal(strided.y, dataset.target[[3, 5, 7, 9]].astype(np.float32))
    assert capped.start_rows.tolist() == [0, 2]
    assert capped.x.shape == (2, 3, 3)


def test_spec_windows_follow_the_spec(tmp_path: Path) -> None:
    text = NOTEBOOK.replace("scale: minmax", "scale: minmax\n  stride: 3\n  batch: 2")
    spec = spec_from(tmp_path, text + "dtype: float64\n")
    dataset = load_dataset(spec, root=tmp_path)

    windows = spec_windows(spec, dataset)

    assert windows.start_rows.tolist() == [0, 3]
    assert windows.x.dtype == np.float64
    assert np.array_equal(windows.x[1], dataset.features[3:5])


@pytest.mark.parametrize(
    ("lookback", "stride", "batch", "message"),
    [
        (
            10,
            1,
            None,
            "specs/x.yaml: lookback: expected a positive integer smaller than the"
            " number of rows (10), got 10",
        ),
        (
            0,
            1,
            None,
            "specs/x.yaml: lookback: expected a positive integer smaller than the"
            " number of rows (10), got 0",
        ),
        (2, 0, None, "specs/x.yaml: data.stride: expected a positive integer, got 0"),
        (2, 1, 0, "specs/x.yaml: data.batch: expected a positive integer, got 0"),
    ],
)
def test_impossible_windows_are_refused(
    tmp_path: Path, lookback: int, stride: int, batch: int | None, message: str
) -> None:
    spec = spec_from(tmp_path, NOTEBOOK)
    dataset = load_dataset(spec, root=tmp_path)
    with pytest.raises(SpecError) as caught:
        spec_windows(with_windows(spec, lookback=lookback, stride=stride, batch=batch), dataset)
    assert str(caught.value) == message


# ---------------------------------------------------------------------- other targets


def test_values_and_column_targets(tmp_path: Path) -> None:
    base = "data:\n  features: {a: [1, 2, 3, 4], b: [5, 6, 7, 9]}\n  scale: none\n"

    values = dataset_from(tmp_path, base + "  target: {values: [9, 8, 7, 6]}\n" + MODEL)
    column_spec = spec_from(tmp_path, base + "  target: {column: b}\n" + MODEL)
    column = load_dataset(column_spec, root=tmp_path)

    assert values.target_name == "target"
    assert values.target_raw.tolist() == [9.0, 8.0, 7.0, 6.0]
    assert column.target_name == "b"
    assert column.target_raw.tolist() == [5.0, 6.0, 7.0, 9.0]
    assert spec_windows(column_spec, column).y.tolist() == [7.0, 9.0]


def test_a_target_that_overflows(tmp_path: Path) -> None:
    text = (
        "data:\n  features: {a: [1.0e308, 1.0e308, 1.0]}\n"
        "  target: {linear: {a: 10}}\nlookback: 1\nmodel:\n  - GRU: {units: 1}\n"
    )
    assert data_error(tmp_path, text) == (
        "specs/x.yaml:3:11: data.target: the target has values that are not finite (overflow?)"
    )


# -------------------------------------------------------------------------- synthetic


def synthetic(kind: str, seed: int = 0, length: int = 40, features: int = 3) -> str:
    return (
        f"seed: {seed}\ndata:\n  synthetic: {{kind: {kind}, length: {length},"
        f" features: {features}}}\n  scale: none\n" + MODEL
    )


@pytest.mark.parametrize("kind", ["sine", "random_walk", "normal"])
def test_synthetic_data_is_deterministic_per_seed(tmp_path: Path, kind: str) -> None:
    first = dataset_from(tmp_path, synthetic(kind, seed=7))
    again = dataset_from(tmp_path, synthetic(kind, seed=7))
    other = dataset_from(tmp_path, synthetic(kind, seed=8))

    assert first.features_raw.shape == (40, 3)
    assert first.feature_names == ("x0", "x1", "x2")
    assert np.array_equal(first.features_raw, again.features_raw)
    assert not np.array_equal(first.features_raw, other.features_raw)
    assert np.isfinite(first.features_raw).all()
    # Without a target of its own the next row's x0 is forecast.
    assert first.target_name == "x0"
    assert np.array_equal(first.target_raw, first.features_raw[:, 0])


def test_synthetic_kinds_have_their_shape(tmp_path: Path) -> None:
    sine = dataset_from(tmp_path, synthetic("sine", length=400, features=2)).features_raw
    walk = dataset_from(tmp_path, synthetic("random_walk", length=400)).features_raw
    normal = dataset_from(tmp_path, synthetic("normal", length=400)).features_raw

    assert np.abs(sine).max() < 1.6  # unit sines plus noise of 0.1
    assert abs(normal.mean()) < 0.2
    assert 0.8 < normal.std() < 1.2
    steps = np.diff(walk, axis=0)
    assert 0.8 < steps.std() < 1.2
    assert walk.std() > 2 * steps.std()  # a walk wanders far more than a step


def test_synthetic_noise_does_not_share_the_feature_stream(tmp_path: Path) -> None:
    text = synthetic("normal", seed=3, features=1).replace(
        "  scale: none\n", "  scale: none\n  target: {linear: {x0: 0}, noise_std: 1}\n"
    )
    dataset = dataset_from(tmp_path, text)

    noise = dataset.target_raw
    assert np.array_equal(noise, np.random.RandomState(3).normal(0.0, 1.0, 40))
    assert not np.allclose(noise, dataset.features_raw[:, 0])


# -------------------------------------------------------------------------------- CSV


def csv_spec(root: Path, content: str | bytes, *, features: str = "[temp, hum]") -> str:
    path = root / "data" / "w.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return (
        f"data:\n  csv: {{path: ../data/w.csv, features: {features}, target: power}}\n"
        "  scale: none\nlookback: 2\nmodel:\n  - GRU: {units: 2}\n"
    )


def test_csv_columns_are_read_by_name(tmp_path: Path) -> None:
    text = csv_spec(
        tmp_path,
        "\ufeffdate,hum,temp,power\n"
        '2024-01-01,60,18.5,10\n2024-01-02,61,19.5,11\n\n2024-01-03,62,"20.5",12\n',
    )

    dataset = dataset_from(tmp_path, text)

    assert dataset.feature_names == ("temp", "hum")
    assert dataset.target_name == "power"
    assert dataset.features_raw.tolist() == [[18.5, 60.0], [19.5, 61.0], [20.5, 62.0]]
    assert dataset.target_raw.tolist() == [10.0, 11.0, 12.0]


def test_csv_target_may_also_be_a_feature(tmp_path: Path) -> None:
    text = csv_spec(tmp_path, "temp,hum,power\n1,2,3\n4,5,6\n7,8,9\n", features="[power]")
    dataset = dataset_from(tmp_path, text)
    assert np.array_equal(dataset.features_raw[:, 0], dataset.target_raw)


def test_csv_file_missing_when_the_data_is_loaded(tmp_path: Path) -> None:
    spec = spec_from(tmp_path, csv_spec(tmp_path, "temp,hum,power\n1,2,3\n"))
    (tmp_path / "data" / "w.csv").unlink()

    with pytest.raises(SpecError) as caught:
        load_dataset(spec, root=tmp_path)

    assert str(caught.value) == "specs/x.yaml:2:15: data.csv.path: file not found: '../data/w.csv'"


def test_csv_missing_column_suggests_the_closest(tmp_path: Path) -> None:
    text = csv_spec(tmp_path, "temp,humidity,power\n1,2,3\n", features="[temp, humdity]")
    assert data_error(tmp_path, text) == (
        "specs/x.yaml:2:47: data.csv.features[1]: column 'humdity' not found in data/w.csv;"
        " did you mean 'humidity'?"
    )
    text = csv_spec(tmp_path, "temp,hum,kwh\n1,2,3\n")
    assert data_error(tmp_path, text) == (
        "specs/x.yaml:2:61: data.csv.target: column 'power' not found in data/w.csv; columns:"
        " temp, hum, kwh"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "temp,hum,power\n1,2,3\n4,n/a,6\n7,8,9\n",
            "data/w.csv:3: hum: expected a number, got 'n/a'",
        ),
        (
            "temp,hum,power\n1,2,3\n4,,6\n",
            "data/w.csv:3: hum: expected a number, got an empty cell",
        ),
        (
            "temp,hum,power\n1,2,3\n4,5,6\nnan,8,9\n",
            "data/w.csv:4: temp: expected a finite number, got 'nan'",
        ),
        (
            "temp,hum,power\n1,2,3\n4,5,inf\n",
            "data/w.csv:3: power: expected a finite number, got 'inf'",
        ),
        ("temp,hum,power\n1,2,3\n4,5\n", "data/w.csv:3: expected 3 fields as in the header, got 2"),
        ("", "data/w.csv: the file is empty; expected a header row naming the columns"),
        ("\n\n", "data/w.csv: the file is empty; expected a header row naming the columns"),
        ("temp,hum,power\n", "data/w.csv:1: no data rows below the header"),
        (
            "temp,hum,temp,power\n1,2,3,4\n",
            "data/w.csv:1: column 'temp' appears twice in the header",
        ),
        (
            b"temp,hum,power\n1,2,\xff\n",
            "data/w.csv:2:5: the file is not UTF-8 text (byte 0xff); save it as UTF-8",
        ),
        ('temp,hum,power\n1,2,"3\n', "data/w.csv:2: invalid CSV: unexpected end of data"),
    ],
    ids=[
        "not-a-number",
        "empty-cell",
        "nan",
        "inf",
        "short-row",
        "empty-file",
        "blank-file",
        "header-only",
        "duplicate-header",
        "not-utf8",
        "unterminated-quote",
    ],
)
def test_csv_problems_name_the_file_and_line(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    assert data_error(tmp_path, csv_spec(tmp_path, content)) == message


def test_csv_with_fewer_rows_than_the_lookback(tmp_path: Path) -> None:
    text = csv_spec(tmp_path, "temp,hum,power\n1,2,3\n4,5,6\n")
    assert data_error(tmp_path, text) == (
        "specs/x.yaml:4:11: lookback: expected a positive integer smaller than the number of"
        " rows (2), got 2"
    )


def test_csv_windows_beyond_the_size_budget_are_refused_before_cutting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pytest_rnnparity.spec.data.MAX_RUN_VALUES", 10)
    rows = "".join(f"{i},{i},{i}\n" for i in range(5))
    text = csv_spec(tmp_path, "temp,hum,power\n" + rows)
    # 3 windows x 2 steps x 2 (two features, GRU(2)) = 12 values
    assert data_error(tmp_path, text) == (
        "specs/x.yaml:4:11: lookback: 3 windows of 2 steps through layers up to 2 wide make"
        " 12 values per array; at most 10: set data.batch or data.stride, or shorten the"
        " lookback"
    )


def test_csv_that_cannot_be_read(tmp_path: Path) -> None:
    text = csv_spec(tmp_path, "temp,hum,power\n1,2,3\n")
    spec = spec_from(tmp_path, text)
    (tmp_path / "data" / "w.csv").unlink()
    (tmp_path / "data" / "w.csv").mkdir()

    with pytest.raises(SpecError) as caught:
        load_dataset(spec, root=tmp_path)

    assert str(caught.value) == "data/w.csv: cannot read the file: Is a directory"


# ---------------------------------------------------------- a functional model's inputs

TOKENS_MODEL = """\
model:
  layers:
    emb: {Embedding: {input_dim: 60, output_dim: 3, mask_zero: true}, inputs: t}
    lstm: {LSTM: {units: 2}, inputs: emb}
"""


def graph_spec(root: Path, inputs: str, *, model: str = TOKENS_MODEL, extra: str = "") -> Spec:
    return spec_from(root, "data:\n  inputs:\n" + inputs + extra + model)


@pytest.mark.parametrize("padding", ["right", "left", "mixed"])
def test_synthetic_tokens_are_padded_with_zeros_on_their_side(tmp_path: Path, padding: str) -> None:
    spec = graph_spec(
        tmp_path,
        f"    t: {{tokens: {{vocabulary: 50, sequences: 40, length: 9, min_length: 2,"
        f" padding: {padding}, classes: 3}}}}\n",
    )

    data = load_inputs(spec, root=tmp_path)

    dataset = data.datasets["t"]
    assert isinstance(dataset, TokenDataset)
    ids = dataset.ids
    assert ids.shape == (40, 9)
    assert ((ids >= 0) & (ids < 50)).all()
    assert ((dataset.lengths >= 2) & (dataset.lengths <= 9)).all()
    assert ((ids != 0).sum(axis=1) == dataset.lengths).all()  # ids are drawn from 1..49
    right = [(row[:n] != 0).all() for row, n in zip(ids, dataset.lengths, strict=True)]
    left = [(row[len(row) - n :] != 0).all() for row, n in zip(ids, dataset.lengths, strict=True)]
    if padding == "right":
        assert all(right)
    elif padding == "left":
        assert all(left)
    else:
        assert not all(right)
        assert not all(left)
        assert all(r or lt for r, lt in zip(right, left, strict=True))
    assert set(dataset.labels.tolist()) == {0, 1, 2}
    windows = data.windows["t"]
    assert windows.x.dtype == np.int32
    assert windows.x.shape == (40, 9)
    assert windows.y.tolist() == dataset.labels.astype(np.float32).tolist()
    assert windows.start_rows.tolist() == list(range(40))
    assert data.x["t"] is windows.x
    assert not ids.flags.writeable


def test_synthetic_tokens_depend_on_the_seed_and_the_input_only(tmp_path: Path) -> None:
    inputs = "    t: {tokens: {vocabulary: 50, sequences: 5, length: 6}}\n"
    first = load_inputs(graph_spec(tmp_path, inputs), root=tmp_path).x["t"]
    again = load_inputs(graph_spec(tmp_path, inputs), root=tmp_path).x["t"]
    reseeded = spec_from(tmp_path, "seed: 1\ndata:\n  inputs:\n" + inputs + TOKENS_MODEL)

    assert (first == again).all()
    assert not (load_inputs(reseeded, root=tmp_path).x["t"] == first).all()


def test_two_synthetic_series_inputs_differ_and_batch_caps_every_input(tmp_path: Path) -> None:
    spec = graph_spec(
        tmp_path,
        "    a: {synthetic: {kind: normal, length: 20, features: 2}}\n"
        "    b: {synthetic: {kind: normal, length: 30, features: 2}, lookback: 5}\n",
        extra="  batch: 7\nlookback: 3\n",
        model="model:\n  layers:\n    ga: {GRU: {units: 2}, inputs: a}\n"
        "    gb: {GRU: {units: 2}, inputs: b}\n",
    )

    data = load_inputs(spec, root=tmp_path)

    assert data.x["a"].shape == (7, 3, 2)
    assert data.x["b"].shape == (7, 5, 2)
    assert data.rows == 7
    a, b = data.datasets["a"], data.datasets["b"]
    assert isinstance(a, Dataset)
    assert isinstance(b, Dataset)
    assert (a.input, b.input) == ("a", "b")
    assert not np.allclose(a.features_raw[:20], b.features_raw[:20])


def test_the_chain_is_one_unnamed_input(tmp_path: Path) -> None:
    spec = spec_from(tmp_path, NOTEBOOK)

    data = load_inputs(spec, root=tmp_path)

    assert list(data.windows) == [""]
    assert data.x is data.windows[""].x
    dataset, windows = data.one_input("explaining")
    assert dataset.input == ""
    assert windows.x.shape == (8, 2, 3)


def test_a_functional_model_has_no_one_input_to_show(tmp_path: Path) -> None:
    spec = graph_spec(tmp_path, "    t: {tokens: {vocabulary: 50, sequences: 5, length: 6}}\n")
    data = load_inputs(spec, root=tmp_path)

    with pytest.raises(UnsupportedModelError) as caught:
        data.one_input("explain")
    assert str(caught.value) == (
        "specs/x.yaml: explain shows the data of one input, and this spec is a functional"
        " model (inputs: t)"
    )


def test_tokens_from_a_csv_are_padded_and_labelled(tmp_path: Path) -> None:
    folder = tmp_path / "specs" / "data"
    folder.mkdir(parents=True)
    (folder / "ids.csv").write_text("3, 4, 5\n1,2\n\n7,8,9,10\n", encoding="utf-8")
    (folder / "labels.csv").write_text("0\n1\n1\n", encoding="utf-8")
    spec = graph_spec(
        tmp_path,
        "    t: {tokens: {path: data/ids.csv, length: 4, padding: left,"
        " labels: data/labels.csv}}\n",
    )

    data = load_inputs(spec, root=tmp_path)

    assert data.x["t"].tolist() == [[0, 3, 4, 5], [0, 0, 1, 2], [7, 8, 9, 10]]
    assert data.windows["t"].y.tolist() == [0.0, 1.0, 1.0]
    dataset = data.datasets["t"]
    assert isinstance(dataset, TokenDataset)
    assert dataset.lengths.tolist() == [3, 2, 4]
    assert dataset.vocabulary == 11


def test_tokens_from_a_npy_keep_its_rows(tmp_path: Path) -> None:
    folder = tmp_path / "specs" / "data"
    folder.mkdir(parents=True)
    np.save(folder / "ids.npy", np.array([[1, 2, 0], [3, 4, 5]], dtype=np.int16))
    np.save(folder / "labels.npy", np.array([1, 0]))
    spec = graph_spec(tmp_path, "    t: {tokens: {path: data/ids.npy, labels: data/labels.npy}}\n")

    data = load_inputs(spec, root=tmp_path)

    assert data.x["t"].tolist() == [[1, 2, 0], [3, 4, 5]]
    assert data.windows["t"].y.tolist() == [1.0, 0.0]


@pytest.mark.parametrize(
    ("files", "tokens", "message"),
    [
        (
            {"ids.csv": "3,4,5\n1,x\n"},
            "{path: data/ids.csv, length: 4}",
            "specs/data/ids.csv:2: expected a token id (an integer >= 0) in field 2, got 'x'",
        ),
        (
            {"ids.csv": "3,4,5\n1,-2\n"},
            "{path: data/ids.csv, length: 4}",
            "specs/data/ids.csv:2: expected a token id (an integer >= 0) in field 2, got '-2'",
        ),
        (
            {"ids.csv": "3,4,5\n1,2,3,4,5,6,7\n"},
            "{path: data/ids.csv, length: 4}",
            "specs/data/ids.csv:2: a sequence of 7 ids, longer than tokens.length (4)",
        ),
        (
            {"ids.csv": "\n\n"},
            "{path: data/ids.csv, length: 4}",
            "specs/data/ids.csv: the file holds no sequence; expected one line of ids per sequence",
        ),
        (
            {"ids.csv": "1,2\n\xff\n"},
            "{path: data/ids.csv, length: 4}",
            "specs/data/ids.csv:2:1: the file is not UTF-8 text (byte 0xff); save it as UTF-8",
        ),
        (
            {"ids.csv": "3,4,5\n1,10\n"},
            "{path: data/ids.csv, length: 4, vocabulary: 8}",
            "specs/x.yaml:3:61: data.inputs.t.tokens.vocabulary: specs/data/ids.csv holds the id"
            " 10, not below the vocabulary of 8",
        ),
        (
            {"ids.csv": "3,4,5\n1,70\n"},
            "{path: data/ids.csv, length: 4}",
            "specs/x.yaml:6:34: model.layers.emb.Embedding.input_dim: the Embedding has rows for"
            " 60 ids, but data.inputs.t holds the id 70; set input_dim to at least 71",
        ),
        (
            {"ids.csv": "3,4,5\n1,2\n", "labels.csv": "0\n1\n1\n"},
            "{path: data/ids.csv, length: 4, labels: data/labels.csv}",
            "specs/x.yaml:3:57: data.inputs.t.tokens.labels: specs/data/labels.csv holds 3"
            " labels for 2 sequences",
        ),
        (
            {"ids.csv": "3,4,5\n1,2\n", "labels.npy": None},
            "{path: data/ids.csv, length: 4, labels: data/labels.npy}",
            "specs/data/labels.npy: expected integers of shape (sequences,), got float64 of"
            " shape (2,)",
        ),
    ],
)
def test_a_bad_token_file_is_refused_before_keras_runs(
    tmp_path: Path, files: dict[str, str | None], tokens: str, message: str
) -> None:
    folder = tmp_path / "specs" / "data"
    folder.mkdir(parents=True)
    for name, text in files.items():
        if text is None:
            np.save(folder / name, np.array([0.5, 1.5]))
        else:
            (folder / name).write_bytes(text.encode("latin-1"))
    spec = graph_spec(tmp_path, f"    t: {{tokens: {tokens}}}\n")

    with pytest.raises(SpecError) as caught:
        load_inputs(spec, root=tmp_path)
    assert str(caught.value) == message


def test_inputs_whose_rows_differ_once_a_csv_is_read_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "specs" / "data"
    folder.mkdir(parents=True)
    (folder / "ids.csv").write_text("3,4,5\n1,2\n7,8\n", encoding="utf-8")
    spec = graph_spec(
        tmp_path,
        "    t: {tokens: {path: data/ids.csv, length: 4}}\n"
        "    x: {synthetic: {kind: sine, length: 20, features: 3}}\n",
        extra="lookback: 4\n",
        model=TOKENS_MODEL + "    g: {GRU: {units: 2}, inputs: x}\n",
    )

    with pytest.raises(SpecError) as caught:
        load_inputs(spec, root=tmp_path)
    assert str(caught.value) == (
        "specs/x.yaml:4:8: data.inputs.x: gives 16 windows but data.inputs.t gives 3"
        " sequences; every input needs one row per example: set data.batch to at most 3, or"
        " change their lengths"
    )


def test_a_series_input_from_a_csv_names_its_keys(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "m.csv").write_text("a,b\n1,2\n3,4\n5,6\n", encoding="utf-8")
    spec = graph_spec(
        tmp_path,
        "    x: {csv: {path: m.csv, features: [a, c], target: b}, lookback: 1}\n",
        model="model:\n  layers:\n    g: {GRU: {units: 2}, inputs: x}\n",
    )

    with pytest.raises(SpecError) as caught:
        load_inputs(spec, root=tmp_path)
    assert str(caught.value) == (
        "specs/x.yaml:3:42: data.inputs.x.csv.features[1]: column 'c' not found in specs/m.csv;"
        " columns: a, b"
    )
    with pytest.raises(SpecError) as caught:
        load_inputs(
            graph_spec(
                tmp_path,
                "    x: {csv: {path: m.csv, features: [a], target: b}, lookback: 3}\n",
                model="model:\n  layers:\n    g: {GRU: {units: 2}, inputs: x}\n",
            ),
            root=tmp_path,
        )
    assert str(caught.value) == (
        "specs/x.yaml:3:65: data.inputs.x.lookback: expected a positive integer smaller than"
        " the number of rows (3), got 3"
    )
