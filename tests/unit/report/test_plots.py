"""report/plots.py: the explain figures, and the failure figures of ``--rnn-parity-plots``."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.report.plots import describe_paths, safe_name

from ..helpers import REPO as ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

NOTEBOOK_SPEC = """\
name: power-gru
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
"""


@pytest.fixture(scope="module")
def ran_a_spec_once(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Import everything an in-process ``pytester`` run would import, by running a spec.

    The ``pytester`` fixture drops every module imported after it was set up, and
    TensorFlow (which imports parts of itself lazily, on the first model) cannot be
    imported twice into a process: this module-scoped fixture runs before it.
    """
    import pkgutil

    pytest.importorskip("keras")
    import pytest_rnnparity
    from pytest_rnnparity.check.spec_run import run_spec
    from pytest_rnnparity.model import environment
    from pytest_rnnparity.model.build import import_keras
    from pytest_rnnparity.spec import load_specs

    for module in pkgutil.iter_modules(pytest_rnnparity.__path__):
        if module.name != "__main__":
            importlib.import_module(f"pytest_rnnparity.{module.name}")
    (spec,) = load_specs(ROOT / "specs" / "power_gru.yaml", root=ROOT)
    run = run_spec(spec, root=ROOT)
    environment.capture()
    if importlib.util.find_spec("matplotlib") is not None:
        from pytest_rnnparity.report.plots import explain_plots, failure_plots

        directory = tmp_path_factory.mktemp("warm-up")
        explain_plots(run, directory, windows=1)
        failure_plots(run.parity, directory)
    import_keras().backend.clear_session()


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), path
    assert len(data) > 10_000, f"{path} is suspiciously small ({len(data)} bytes)"


def test_safe_names_keep_variant_ids_readable() -> None:
    assert safe_name("bidirectional-gru[merge_mode=sum]") == "bidirectional-gru_merge_mode-sum"
    assert safe_name("gru final hidden") == "gru_final_hidden"


def test_paths_are_named_relative_to_the_root(tmp_path: Path) -> None:
    paths = [tmp_path / "plots" / "a.png", Path("/elsewhere/b.png")]
    assert describe_paths(paths, tmp_path) == "plots: plots/a.png, /elsewhere/b.png"


# --------------------------------------------------------------------- with Keras

keras_only = pytest.mark.keras


def _inverted_update(original: Any) -> Any:
    """The notebook's update rule, h = (1 - z) * h_tm1 + z * hh, put into the reference."""
    from pytest_rnnparity.reference.recurrent import cells

    def step(*args: Any, **kwargs: Any) -> Any:
        right = original(*args, **kwargs)
        h_tm1 = args[1]
        hidden = (1 - right.update) * h_tm1 + right.update * right.candidate
        return cells.GRUStep(right.update, right.reset, right.candidate, hidden)

    return step


@keras_only
def test_explain_writes_the_notebook_plots_and_a_heatmap_per_layer(tmp_path: Path) -> None:
    pytest.importorskip("keras")
    pytest.importorskip("matplotlib")
    from pytest_rnnparity.check.spec_run import run_spec
    from pytest_rnnparity.model.build import import_keras
    from pytest_rnnparity.report.plots import explain_plots
    from pytest_rnnparity.spec import load_specs

    import_keras().backend.clear_session()  # layer names are numbered per session
    specs = load_specs(ROOT / "specs" / "bidirectional_gru.yaml", root=ROOT)
    written = explain_plots(run_spec(specs[0], root=ROOT), tmp_path, windows=3)
    assert [path.name for path in written] == [
        "hidden_norm.png",
        "predictions.png",
        "gates_bidirectional_forward.png",
        "gates_bidirectional_backward.png",
        "gates_gru_1.png",
    ]
    for path in written:
        _assert_png(path)


@keras_only
def test_failure_plots_show_where_keras_and_the_reference_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keras = pytest.importorskip("keras")
    pytest.importorskip("matplotlib")
    from pytest_rnnparity import check_parity
    from pytest_rnnparity.reference.recurrent import cells
    from pytest_rnnparity.report.plots import failure_plots

    monkeypatch.setattr(cells, "gru_step", _inverted_update(cells.gru_step))
    model = keras.Sequential(
        [keras.Input((5, 3)), keras.layers.GRU(4, name="gru"), keras.layers.Dense(1, name="head")]
    )
    rng = np.random.default_rng(0)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape) for w in model.get_weights()])
    x = rng.uniform(0, 1, (6, 5, 3)).astype("float32")
    result = check_parity(model, x, raise_on_mismatch=False)
    assert not result.ok
    written = failure_plots(result, tmp_path)
    assert [path.name for path in written] == [
        "gru_hidden.png",
        "gru_final_hidden.png",
        "gru_output.png",
        "head_output.png",
        "error_over_time.png",
    ]
    for path in written:
        _assert_png(path)
    keras.backend.clear_session()


@keras_only
def test_pytest_names_the_failure_plots_in_the_report(
    ran_a_spec_once: None, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("keras")
    pytest.importorskip("matplotlib")
    from pytest_rnnparity.reference.recurrent import cells

    monkeypatch.setattr(cells, "gru_step", _inverted_update(cells.gru_step))
    pytester.makeini("[pytest]\n")
    (pytester.path / "specs").mkdir()
    (pytester.path / "specs" / "power_gru.yaml").write_text(NOTEBOOK_SPEC, encoding="utf-8")
    result = pytester.runpytest(
        "--rnn-parity", "-k", "parity", "--rnn-parity-plots", "plots", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(failed=1, deselected=1)
    directory = "plots/power-gru"
    names = ["gru_hidden", "gru_final_hidden", "gru_output", "dense_output", "error_over_time"]
    listed = "plots: " + ", ".join(f"{directory}/{name}.png" for name in names)
    assert listed in result.stdout.lines
    for name in names:
        _assert_png(pytester.path / directory / f"{name}.png")


@keras_only
def test_without_matplotlib_the_report_says_which_extra_to_install(
    ran_a_spec_once: None, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("keras")
    from pytest_rnnparity.reference.recurrent import cells

    monkeypatch.setattr(cells, "gru_step", _inverted_update(cells.gru_step))
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    pytester.makeini("[pytest]\n")
    (pytester.path / "specs").mkdir()
    (pytester.path / "specs" / "power_gru.yaml").write_text(NOTEBOOK_SPEC, encoding="utf-8")
    result = pytester.runpytest(
        "--rnn-parity", "-k", "parity", "--rnn-parity-plots", "plots", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(failed=1, deselected=1)
    assert (
        "plots: not written: they need the 'report' extra: pip install 'pytest-rnnparity[report]'"
    ) in result.stdout.lines
    assert not (pytester.path / "plots").exists()


@keras_only
def test_passing_items_write_no_plots(ran_a_spec_once: None, pytester: pytest.Pytester) -> None:
    pytest.importorskip("keras")
    pytester.makeini("[pytest]\n")
    (pytester.path / "specs").mkdir()
    (pytester.path / "specs" / "power_gru.yaml").write_text(NOTEBOOK_SPEC, encoding="utf-8")
    result = pytester.runpytest(
        "--rnn-parity", "-k", "parity", "--rnn-parity-plots", "plots", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1, deselected=1)
    assert not (pytester.path / "plots").exists()


def test_a_drifted_block_is_drawn_recorded_now_and_their_difference() -> None:
    pytest.importorskip("matplotlib")
    from pytest_rnnparity.check.tolerance import Tolerance
    from pytest_rnnparity.golden.drift import compare_goldens
    from pytest_rnnparity.golden.format import Golden, GoldenArray
    from pytest_rnnparity.report.plots import drift_pictures

    rows = np.random.default_rng(0).uniform(-1, 1, (3, 5, 4)).astype("float32")
    moved = rows.copy()
    moved[1, 2, 3] += 0.1

    def golden(values: np.ndarray) -> Golden:
        arrays = {
            "reference/gru/forward/hidden": GoldenArray((8, 5, 4), "float32", values),
            "keras/dense/output": GoldenArray((8, 1), "float32", values[:, 0, :1]),
        }
        return Golden(meta={"spec": "x"}, environment={}, arrays=arrays)

    drift = compare_goldens(golden(rows), golden(moved), Tolerance(1e-5, 1e-5))
    (picture,) = drift_pictures(golden(rows), golden(moved), drift)
    assert picture.name == "drift_reference_gru_forward_hidden.png"
    assert picture.title == (
        "golden drift of reference/gru/forward/hidden: row 1, tolerance atol=1e-05,"
        " rtol=1e-05, max abs change 1.00e-01"
    )
    assert picture.png.startswith(PNG_SIGNATURE)


@keras_only
def test_explain_plots_label_rows_with_a_time_column(tmp_path: Path) -> None:
    pytest.importorskip("keras")
    pytest.importorskip("matplotlib")
    from pytest_rnnparity.check.spec_run import run_spec
    from pytest_rnnparity.model.build import import_keras
    from pytest_rnnparity.report.plots import explain_plots
    from pytest_rnnparity.spec import load_specs

    rows = "".join(f"2024-03-01 {hour:02d}:00,{hour % 5},{hour % 3}\n" for hour in range(20))
    (tmp_path / "hours.csv").write_text("hour,a,b\n" + rows, encoding="utf-8")
    (tmp_path / "hours.yaml").write_text(
        "data:\n  csv: {path: hours.csv, features: [a, b], target: b}\n"
        "  time: {column: hour}\nlookback: 4\n"
        "model:\n  - LSTM: {units: 2}\n  - Dense: {units: 1}\n",
        encoding="utf-8",
    )
    import_keras().backend.clear_session()
    (spec,) = load_specs(tmp_path / "hours.yaml", root=tmp_path)
    written = explain_plots(run_spec(spec, root=tmp_path), tmp_path / "plots")
    assert [path.name for path in written] == [
        "hidden_norm.png",
        "predictions.png",
        "gates_lstm.png",
    ]
    for path in written:
        _assert_png(path)
