"""cli/check.py: ``rnnparity check MODEL --data FILE [--spec-out SPEC]`` as a user runs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pytest_rnnparity.cli.check import CheckUsageError, read_given_data
from pytest_rnnparity.cli.main import main

from .test_main import ran_a_spec_once  # noqa: F401  (the fixture, used by name)

# ------------------------------------------------------------------ reading the data


@pytest.fixture
def unknown_model(tmp_path: Path) -> Path:
    """A model file whose input is not known without Keras (an .h5)."""
    path = tmp_path / "m.h5"
    path.write_bytes(b"")
    return path


def test_rows_are_cut_into_windows_of_the_lookback(tmp_path: Path, unknown_model: Path) -> None:
    np.save(tmp_path / "rows.npy", np.arange(20.0).reshape(10, 2))
    given = read_given_data(tmp_path / "rows.npy", model=unknown_model, lookback=3)
    assert (given.features, given.target, given.lookback, given.stride) == (
        ("x0", "x1"),
        "x0",
        3,
        1,
    )
    assert given.rows.shape == (10, 2)


def test_windows_are_laid_end_to_end_with_a_row_for_the_last_target(
    tmp_path: Path, unknown_model: Path
) -> None:
    windows = np.arange(24.0).reshape(3, 4, 2)
    np.savez(tmp_path / "w.npz", labels=np.zeros(3), x=windows)
    given = read_given_data(tmp_path / "w.npz", model=unknown_model)
    assert (given.lookback, given.stride) == (4, 4)
    assert given.rows.shape == (13, 2)
    starts = range(0, len(given.rows) - given.lookback, given.stride)
    cut = np.stack([given.rows[s : s + given.lookback] for s in starts])
    np.testing.assert_array_equal(cut, windows)


@pytest.mark.parametrize(
    ("make", "options", "message"),
    [
        (lambda p: np.save(p / "d.npy", np.zeros((10, 2))), {}, "d.npy holds rows and the model"
         " takes any number of steps: give --lookback N"),
        (lambda p: np.save(p / "d.npy", np.zeros((2, 3, 4, 5))), {}, "d.npy: expected rows (N,"
         " features) or windows (batch, steps, features), got shape (2, 3, 4, 5)"),
        (lambda p: np.save(p / "d.npy", np.zeros((2, 3, 4))), {"lookback": 5}, "d.npy holds"
         " windows of 3 steps; --lookback 5 does not fit them (leave it out, or give rows (N,"
         " features))"),
        (lambda p: np.save(p / "d.npy", np.full((4, 1), np.nan)), {}, "d.npy: the array holds"
         " NaN or inf"),
        (lambda p: np.save(p / "d.npy", np.zeros((4, 1))), {"lookback": 4}, "d.npy has 4 rows; a"
         " lookback of 4 needs at least 5 (each window predicts the row after it)"),
        (lambda p: np.savez(p / "d.npz", a=np.zeros(3), b=np.zeros(3)), {}, "d.npz holds the"
         " arrays a, b: name one with --array NAME"),
        (lambda p: (p / "d.csv").write_text("t,a,b\nx,1,2\n"), {"lookback": 1}, "d.csv has 1"
         " rows; a lookback of 1 needs at least 2 (each window predicts the row after it)"),
        (lambda p: (p / "d.csv").write_text("t,a\nx,1\ny,2\n"), {"features": ("b",)}, "d.csv: no"
         " column 'b'; columns: t, a"),
        (lambda p: (p / "d.parquet").write_text(""), {}, "d.parquet: --data names a .npy, .npz"
         " or .csv file"),
    ],
)  # fmt: skip
def test_data_that_cannot_be_checked_is_one_line_naming_the_file(
    tmp_path: Path, unknown_model: Path, make: object, options: dict[str, object], message: str
) -> None:
    make(tmp_path)  # type: ignore[operator]
    (path,) = [p for p in tmp_path.iterdir() if p.stem == "d"]
    with pytest.raises(CheckUsageError) as raised:
        read_given_data(path, model=unknown_model, **options)  # type: ignore[arg-type]
    assert str(raised.value) == f"{tmp_path}/{message}"


def test_a_csv_gives_its_numeric_columns_and_names_the_last_as_target(
    tmp_path: Path, unknown_model: Path
) -> None:
    (tmp_path / "d.csv").write_text("hour,temperature,load\n00:00,1,2\n01:00,3,4\n02:00,5,6\n")
    given = read_given_data(tmp_path / "d.csv", model=unknown_model, lookback=2)
    assert (given.csv, given.rows, given.features, given.target) == (
        tmp_path / "d.csv",
        None,
        ("temperature", "load"),
        "load",
    )


# ---------------------------------------------------------------------- with Keras


@pytest.fixture
def saved_gru(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with ``models/gru.keras`` (GRU(3) -> Dense(1) over 4 steps x 2 features)."""
    keras = pytest.importorskip("keras")
    monkeypatch.chdir(tmp_path)
    model = keras.Sequential(
        [keras.Input((4, 2)), keras.layers.GRU(3, name="gru"), keras.layers.Dense(1, name="head")]
    )
    rng = np.random.default_rng(7)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape) for w in model.get_weights()])
    (tmp_path / "models").mkdir()
    model.save(tmp_path / "models" / "gru.keras")
    (tmp_path / "data").mkdir()
    windows = rng.uniform(0, 1, (5, 4, 2)).astype("float32")
    np.save(tmp_path / "data" / "windows.npy", windows)
    return tmp_path


@pytest.mark.keras
def test_check_prints_the_verdict_and_the_table_per_layer(
    saved_gru: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "models/gru.keras", "--data", "data/windows.npy"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[:4] == [
        "Checked models/gru.keras on data/windows.npy: 5 windows of 4 steps x 2 features",
        "OK: Keras and the float32 reference agree in 4 of 4 checks:",
        "every timestep and the final states of every recurrent layer call, in isolation (the",
        "reference run on what Keras fed the call), and every layer's output, end to end.",
    ]
    table = [line.split()[:4] for line in lines[5:]]
    assert table == [
        ["layer", "class", "quantity", "shape"],
        ["gru", "GRU", "hidden", "5x4x3"],
        ["gru", "GRU", "final", "hidden"],
        ["gru", "GRU", "output", "5x3"],
        ["head", "Dense", "output", "5x1"],
    ]
    assert all(line.endswith("ok") for line in lines[6:])
    assert sorted(p.name for p in saved_gru.rglob("*") if p.is_file()) == [
        "gru.keras",
        "windows.npy",
    ]  # nothing written without --spec-out


@pytest.mark.keras
def test_spec_out_writes_the_spec_that_pytest_then_gates(
    ran_a_spec_once: None,  # noqa: F811
    saved_gru: Path,
    pytester: pytest.Pytester,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # pytester works in a directory of its own: the project moves there
    project = pytester.path
    for name in ("models/gru.keras", "data/windows.npy"):
        (project / name).parent.mkdir(exist_ok=True)
        (project / name).write_bytes((saved_gru / name).read_bytes())
    pytester.makeini("[pytest]\n")
    args = ["check", "models/gru.keras", "--data", "data/windows.npy", "--spec-out"]
    assert main([*args, "specs/gru.yaml"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-3:] == [
        "wrote specs/gru.yaml and specs/data/gru.csv:",
        "`pytest --rnn-parity` repeats this check from now on.",
        "Record its golden once: pytest --rnn-parity --snapshot-update specs/gru.yaml",
    ]
    text = (project / "specs" / "gru.yaml").read_text(encoding="utf-8")
    assert text.splitlines()[6:] == [
        "  csv: {path: data/gru.csv, features: [x0, x1], target: x0}",
        "  scale: none                           # the model reads the numbers as given",
        "  stride: 4                             # the windows as given, one after another",
        "lookback: 4                             # steps per window",
        "model: {path: ../models/gru.keras}      # with its own weights (weights: keras)",
    ]
    assert main(["validate", "specs/gru.yaml"]) == 0
    assert capsys.readouterr().out == "ok: specs/gru.yaml (1 variant)\n"
    # the spec cuts exactly the windows the check was given
    from pytest_rnnparity.inputs import load_dataset, spec_windows
    from pytest_rnnparity.spec import load_specs

    (spec,) = load_specs(project / "specs" / "gru.yaml", root=project)
    windows = spec_windows(spec, load_dataset(spec, root=project))
    np.testing.assert_array_equal(windows.x, np.load(project / "data" / "windows.npy"))
    recorded = pytester.runpytest("--rnn-parity", "--snapshot-update", "-p", "no:cacheprovider")
    recorded.assert_outcomes(passed=2)
    checked = pytester.runpytest("--rnn-parity", "-p", "no:cacheprovider")
    checked.assert_outcomes(passed=2)
    # and it never overwrites
    assert main([*args, "specs/gru.yaml"]) == 2
    assert capsys.readouterr().err == "specs/gru.yaml exists; refusing to overwrite it\n"


@pytest.mark.keras
def test_a_failing_check_exits_1_and_its_spec_still_gates_it(
    saved_gru: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_rnnparity.reference.recurrent import cells

    original = cells.gru_step

    def notebook_update_rule(*args: object, **kwargs: object) -> object:
        right = original(*args, **kwargs)  # type: ignore[arg-type]
        hidden = (1 - right.update) * args[1] + right.update * right.candidate  # type: ignore[operator]
        return cells.GRUStep(right.update, right.reset, right.candidate, hidden)

    monkeypatch.setattr(cells, "gru_step", notebook_update_rule)
    rows = np.load(saved_gru / "data" / "windows.npy").reshape(20, 2)
    header = "t,a,b\n" + "".join(f"h{i},{a!r},{b!r}\n" for i, (a, b) in enumerate(rows.tolist()))
    (saved_gru / "data" / "rows.csv").write_text(header)
    args = ["check", "models/gru.keras", "--data", "data/rows.csv", "--spec-out", "gru.yaml"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert out.startswith(
        "Checked models/gru.keras on data/rows.csv: 16 windows of 4 steps x 2 features\n"
        "FAIL: Keras and the float32 reference disagree in 4 of 4 checks.\n"
    )
    assert "Diagnosis: " in out
    assert out.splitlines()[-2:] == [
        "It fails there too until Keras and the reference agree.",
        "Record its golden once: pytest --rnn-parity --snapshot-update gru.yaml",
    ]
    assert "  csv: {path: data/rows.csv, features: [a, b], target: b}" in (
        saved_gru / "gru.yaml"
    ).read_text(encoding="utf-8")


@pytest.mark.keras
def test_a_model_whose_input_does_not_fit_is_refused_before_keras(
    saved_gru: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np.save(saved_gru / "data" / "three.npy", np.zeros((10, 3), dtype="float32"))
    assert main(["check", "models/gru.keras", "--data", "data/three.npy"]) == 2
    assert capsys.readouterr().err == (
        "data/three.npy: 3 features per row, but models/gru.keras reads 2\n"
    )
    assert main(["check", "models/none.keras", "--data", "data/three.npy"]) == 2
    assert capsys.readouterr().err == "models/none.keras: no such model file\n"


def test_check_needs_data(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "m.keras"])
    assert exited.value.code == 2
    assert "the following arguments are required: --data" in capsys.readouterr().err
