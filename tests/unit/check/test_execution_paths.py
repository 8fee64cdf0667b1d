"""check/execution_paths.py: layer options run in process, other backends in a subprocess."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pytest_rnnparity.check.execution_paths import load_outputs, run_path, save_outputs, skip_reason
from pytest_rnnparity.check.spec_run import run_spec, spec_tolerances
from pytest_rnnparity.errors import PathError, SpecError
from pytest_rnnparity.model.capture import KerasDirection, KerasLayerOutputs
from pytest_rnnparity.report.parity import parity_message
from pytest_rnnparity.spec import ExecutionPath, load_specs

SPEC = """\
    name: tiny
    seed: 4
    data: {synthetic: {kind: sine, length: 24, features: 2}}
    lookback: 5
    model:
      - GRU: {units: 3, return_sequences: true}
      - LSTM: {units: 2}
      - Dense: {units: 1}
    paths:
      - {implementation: 1, unroll: true}
      - {backend: numpy, tolerance: {atol: 2.0e-5}}
    """


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(textwrap.dedent(SPEC))
    return path


@pytest.fixture
def _clear_keras() -> Iterator[None]:
    yield
    keras = pytest.importorskip("keras")
    keras.backend.clear_session()


def _keras_major() -> int:
    keras = pytest.importorskip("keras")
    return int(keras.__version__.split(".")[0])


def test_skip_reasons() -> None:
    assert skip_reason(ExecutionPath(use_cudnn=True), keras_major=3, gpus=0) == (
        "use_cudnn needs a GPU, and TensorFlow sees none on this machine"
    )
    assert skip_reason(ExecutionPath(use_cudnn=True), keras_major=3, gpus=1) is None
    assert skip_reason(ExecutionPath(backend="jax"), keras_major=2, gpus=0) == (
        "the jax backend needs Keras 3; this is Keras 2"
    )
    assert skip_reason(ExecutionPath(unroll=True), keras_major=2, gpus=0) is None


def test_a_graph_needs_tensorflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())  # all installed
    graph = {"run_eagerly": False}
    assert skip_reason(ExecutionPath(backend="jax", **graph), keras_major=3, gpus=0) == (
        "run_eagerly: false is a TensorFlow graph; the jax backend runs eagerly"
    )
    assert skip_reason(ExecutionPath(backend="tensorflow", **graph), keras_major=3, gpus=0) is None
    assert (
        skip_reason(ExecutionPath(backend="jax", run_eagerly=True), keras_major=3, gpus=0) is None
    )


def test_missing_backend_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    assert skip_reason(ExecutionPath(backend="torch"), keras_major=3, gpus=0) == (
        "Keras backend 'torch' is not installed here (pip install torch)"
    )
    assert skip_reason(ExecutionPath(backend="numpy"), keras_major=3, gpus=0) == (
        "Keras backend 'numpy' is not installed here (pip install jax: Keras' numpy "
        "backend imports it)"
    )


def test_outputs_round_trip_through_npz(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    results = [
        KerasLayerOutputs(
            name="gru",
            output=rng.normal(size=(2, 3, 4)),
            directions={
                "forward": KerasDirection(
                    rng.normal(size=(2, 3, 4)), {"hidden": rng.normal(size=(2, 4))}
                ),
                "backward": KerasDirection(
                    rng.normal(size=(2, 3, 4)), {"hidden": rng.normal(size=(2, 4))}
                ),
            },
        ),
        KerasLayerOutputs(name="bi", output=(rng.normal(size=(2, 1)), rng.normal(size=(2, 1)))),
    ]
    file = tmp_path / "out.npz"
    save_outputs(results, file)
    loaded = load_outputs(file, ["a", "b"])
    assert [layer.name for layer in loaded] == ["a", "b"]
    np.testing.assert_array_equal(loaded[0].output, results[0].output)
    assert sorted(loaded[0].directions) == ["backward", "forward"]
    np.testing.assert_array_equal(
        loaded[0].directions["backward"].final_states["hidden"],
        results[0].directions["backward"].final_states["hidden"],
    )
    assert isinstance(loaded[1].output, tuple)
    np.testing.assert_array_equal(loaded[1].output[1], results[1].output[1])  # type: ignore[index]


@pytest.mark.keras
@pytest.mark.usefixtures("_clear_keras")
def test_layer_option_path_runs_in_process_against_the_main_reference(
    spec_file: Path, tmp_path: Path
) -> None:
    (spec,) = load_specs(spec_file, root=tmp_path)
    main = run_spec(spec, root=tmp_path).parity
    path = spec.paths[0]
    try:
        result = run_path(
            spec,
            path,
            root=tmp_path,
            main=main,
            tolerances=spec_tolerances(spec, path.tolerance),
        )
    except SpecError as error:  # Keras 3.0-3.3 take no `implementation` argument
        if "cannot build this layer: Unrecognized keyword arguments" not in str(error):
            raise
        pytest.skip(str(error))
    assert result.ok
    assert [k.name for k in result.keras] == [layer.name for layer in main.layers]
    assert result.reference is main.reference
    assert max(c.max_abs for c in result.comparisons) < 1e-5


@pytest.mark.keras
@pytest.mark.usefixtures("_clear_keras")
@pytest.mark.parametrize("run_eagerly", [True, False])
def test_run_eagerly_path_runs_keras_that_way_in_process(
    spec_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_eagerly: bool
) -> None:
    from pytest_rnnparity.model.capture import ModelCapture

    (spec,) = load_specs(spec_file, root=tmp_path)
    main = run_spec(spec, root=tmp_path).parity
    path = ExecutionPath(run_eagerly=run_eagerly)
    if reason := skip_reason(path, keras_major=_keras_major(), gpus=0):
        pytest.skip(reason)
    modes: list[bool] = []
    runs_eagerly = ModelCapture.runs_eagerly

    def spy(self: ModelCapture, timesteps: int) -> bool:
        eagerly = runs_eagerly(self, timesteps)
        modes.append(eagerly)
        return eagerly

    monkeypatch.setattr(ModelCapture, "runs_eagerly", spy)
    result = run_path(
        spec,
        path,
        root=tmp_path,
        main=main,
        tolerances=spec_tolerances(spec, path.tolerance),
    )
    assert result.ok, parity_message(result)
    assert modes == [run_eagerly]  # 5 timesteps: the default would have been eager
    assert max(c.max_abs for c in result.comparisons) < 1e-5


@pytest.mark.keras
@pytest.mark.usefixtures("_clear_keras")
def test_backend_path_runs_in_a_subprocess(spec_file: Path, tmp_path: Path) -> None:
    (spec,) = load_specs(spec_file, root=tmp_path)
    main = run_spec(spec, root=tmp_path).parity
    path = spec.paths[1]
    reason = skip_reason(path, keras_major=_keras_major(), gpus=0)
    if reason:
        pytest.skip(reason)
    result = run_path(
        spec,
        path,
        root=tmp_path,
        main=main,
        tolerances=spec_tolerances(spec, path.tolerance),
    )
    assert result.ok, parity_message(result)
    assert all(c.tolerance.atol == 2e-5 for c in result.comparisons)
    # the numpy backend computed this, not the TensorFlow model in this process
    assert any(
        not np.array_equal(k.output, m.output)
        for k, m in zip(result.keras, main.keras, strict=True)
        if not isinstance(k.output, tuple)
    )


@pytest.mark.keras
@pytest.mark.usefixtures("_clear_keras")
def test_a_failing_subprocess_is_reported_with_its_stderr(spec_file: Path, tmp_path: Path) -> None:
    if _keras_major() < 3:
        pytest.skip("the numpy backend needs Keras 3")
    (spec,) = load_specs(spec_file, root=tmp_path)
    main = run_spec(spec, root=tmp_path).parity
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.move(str(spec_file), moved / "tiny.yaml")  # the subprocess cannot find the spec
    with pytest.raises(PathError, match=r"^the numpy subprocess failed \(exit code 1\):\n"):
        run_path(spec, spec.paths[1], root=tmp_path, main=main, tolerances=spec_tolerances(spec))
