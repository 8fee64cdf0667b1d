"""spec/checked.py: the spec ``rnnparity check --spec-out`` writes, verbatim."""

from __future__ import annotations

from pathlib import Path

from pytest_rnnparity.spec import load_specs
from pytest_rnnparity.spec.checked import CheckedData, checked_spec, yaml_scalar


def test_names_are_plain_unless_yaml_would_misread_them() -> None:
    assert yaml_scalar("../models/m.keras") == "../models/m.keras"
    assert yaml_scalar("x0") == "x0"
    assert yaml_scalar("my model: v2.keras") == '"my model: v2.keras"'
    assert yaml_scalar("[x]") == '"[x]"'


def test_the_spec_names_the_model_its_data_as_given_and_the_windows() -> None:
    text = checked_spec(
        name="load",
        model="../models/load.keras",
        data=CheckedData(path="data/load.csv", features=("x0", "x1"), target="x0", stride=24),
        lookback=24,
        command="rnnparity check models/load.keras --data w.npz --spec-out specs/load.yaml",
        description="models/load.keras on w.npz",
    )
    assert text == (
        "# Written by `rnnparity check models/load.keras --data w.npz --spec-out"
        " specs/load.yaml`:\n"
        "# the parity check of a saved model on the data it was given. `pytest --rnn-parity`\n"
        "# repeats it; record its golden once with `pytest --rnn-parity --snapshot-update`.\n"
        "name: load\n"
        'description: "models/load.keras on w.npz"\n'
        "data:\n"
        "  csv: {path: data/load.csv, features: [x0, x1], target: x0}\n"
        "  scale: none                           # the model reads the numbers as given\n"
        "  stride: 24                            # the windows as given, one after another\n"
        "lookback: 24                            # steps per window\n"
        "model: {path: ../models/load.keras}     # with its own weights (weights: keras)\n"
    )


def test_the_spec_loads(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m v2.h5").write_bytes(b"not read at load")
    (tmp_path / "specs" / "data").mkdir(parents=True)
    (tmp_path / "specs" / "data" / "m.csv").write_text("a b,c\n1,2\n3,4\n5,6\n")
    text = checked_spec(
        name="m",
        model="../models/m v2.h5",
        data=CheckedData(path="data/m.csv", features=("a b",), target="c"),
        lookback=2,
        command="rnnparity check ...",
        description="m v2.h5 on m.csv",
    )
    (tmp_path / "specs" / "m.yaml").write_text(text)
    (spec,) = load_specs(tmp_path / "specs" / "m.yaml", root=tmp_path)
    assert (spec.name, spec.lookback, spec.data.scale, spec.weights) == ("m", 2, "none", "keras")
