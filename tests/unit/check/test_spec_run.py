"""check/spec_run.py: per-quantity tolerances, the notebook spec run end to end, and a
functional spec fed by input name."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pytest_rnnparity.check.spec_run import run_spec, spec_tolerances
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.errors import UnsupportedModelError
from pytest_rnnparity.inputs import load_dataset, spec_windows
from pytest_rnnparity.spec import Spec, load_specs

from ..helpers import REPO

NOTEBOOK_SPEC = REPO / "specs" / "power_gru.yaml"

MODEL = """\
data:
  features:
    a: [1.0, 2.0, 3.0, 4.0, 5.0]
  target: {column: a}
lookback: 2
model:
  - GRU: {units: 2}
"""


def _spec(root: Path, extra: str) -> Spec:
    path = root / "spec.yaml"
    path.write_text(MODEL + textwrap.dedent(extra), encoding="utf-8")
    (spec,) = load_specs(path, root=root)
    return spec


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [("float32", Tolerance(1e-5, 1e-5)), ("float64", Tolerance(1e-10, 1e-9))],
)
def test_dtype_default_when_the_spec_gives_no_tolerance(
    tmp_path: Path, dtype: str, expected: Tolerance
) -> None:
    spec = _spec(tmp_path, f"dtype: {dtype}\n")
    assert spec_tolerances(spec) == {"hidden": expected, "cell": expected, "output": expected}


def test_per_quantity_overrides_merge_with_overall_limits_and_dtype_default(
    tmp_path: Path,
) -> None:
    spec = _spec(
        tmp_path,
        """\
        dtype: float64
        tolerance:
          atol: 1.0e-6
          hidden: {rtol: 1.0e-3}
          cell: {atol: 1.0e-4, rtol: 1.0e-4}
        """,
    )
    assert spec_tolerances(spec) == {
        "hidden": Tolerance(atol=1e-6, rtol=1e-3),  # own rtol, overall atol
        "cell": Tolerance(atol=1e-4, rtol=1e-4),  # all its own
        "output": Tolerance(atol=1e-6, rtol=1e-9),  # overall atol, float64 default rtol
    }


def test_overall_tolerance_applies_to_every_quantity(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "tolerance: {atol: 1.0e-6, rtol: 1.0e-5}\n")
    assert set(spec_tolerances(spec).values()) == {Tolerance(atol=1e-6, rtol=1e-5)}


@pytest.mark.keras
def test_run_spec_reproduces_the_notebook(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    (tmp_path / "specs").mkdir()
    shutil.copy(NOTEBOOK_SPEC, tmp_path / "specs" / "power_gru.yaml")
    (spec,) = load_specs(tmp_path / "specs" / "power_gru.yaml", root=tmp_path)
    try:
        run = run_spec(spec, root=tmp_path)
    finally:
        keras.backend.clear_session()

    assert run.windows.x.shape == (8, 2, 3)
    assert run.windows.y.shape == (8,)
    assert run.parity.ok
    assert max(c.max_abs for c in run.parity.comparisons) < 1e-6
    # print(run) is one line, not the traces
    assert re.fullmatch(
        r"SpecRun\('power-gru', 8 windows of 2x3, ParityResult\(ok, .*\)\)", repr(run)
    )

    temperature = np.array([18.2, 19.5, 20.1, 22.4, 23.8, 25.0, 23.2, 21.5, 19.8, 17.5])
    humidity = np.array([65.2, 62.8, 58.5, 55.0, 45.2, 42.1, 48.5, 52.3, 60.5, 67.8])
    wind_speed = np.array([5.2, 6.8, 8.5, 10.2, 12.5, 14.8, 13.2, 11.5, 9.2, 6.5])
    power = (
        2.5 * temperature
        - 0.5 * humidity
        + 1.2 * wind_speed
        + np.random.RandomState(42).normal(0, 5, 10)
    )
    np.testing.assert_array_equal(run.dataset.target_raw, power)  # bit for bit
    assert run.dataset.feature_names == ("temperature", "humidity", "wind_speed")
    np.testing.assert_array_equal(
        run.dataset.features_raw, np.stack([temperature, humidity, wind_speed], axis=1)
    )


@pytest.mark.keras
def test_a_float64_spec_runs_on_float64_windows(tmp_path: Path) -> None:
    """What validate checks is what runs: the run cuts its windows with spec_windows too."""
    keras = pytest.importorskip("keras")
    spec = _spec(tmp_path, "dtype: float64\n")
    try:
        run = run_spec(spec, root=tmp_path)
    finally:
        keras.backend.clear_session()
    expected = spec_windows(spec, load_dataset(spec, root=tmp_path))
    assert run.windows.x.dtype == np.float64
    np.testing.assert_array_equal(run.windows.x, expected.x)
    assert run.parity.inputs.dtype == np.float64
    assert run.parity.ok


@pytest.mark.keras
def test_a_functional_spec_feeds_every_input_by_name(tmp_path: Path) -> None:
    """A seq2seq spec: two inputs with their own windows, the encoder's states starting
    the decoder, run end to end through run_parity."""
    keras = pytest.importorskip("keras")
    path = tmp_path / "specs" / "seq2seq.yaml"
    path.parent.mkdir()
    shutil.copy(REPO / "specs" / "seq2seq.yaml", path)
    (spec,) = load_specs(path, root=tmp_path)
    try:
        run = run_spec(spec, root=tmp_path)
    finally:
        keras.backend.clear_session()

    assert run.parity.ok
    assert {name: w.x.shape for name, w in run.data.windows.items()} == {
        "history": (12, 8, 2),
        "decoder_input": (12, 4, 1),
    }
    history, decoder_input = run.parity.model_inputs
    np.testing.assert_array_equal(history, run.data.x["history"])
    np.testing.assert_array_equal(decoder_input, run.data.x["decoder_input"])
    assert [layer.name for layer in run.model.layers] == [
        "history", "decoder_input", "encoder", "decoder", "steps"
    ]  # fmt: skip
    assert {layer.name for layer in run.parity.layers} >= {"encoder", "decoder"}
    with pytest.raises(UnsupportedModelError):
        run.windows  # noqa: B018 - a functional model has no one input's windows
