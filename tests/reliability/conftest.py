"""Reliability suite: hypothesis profiles, the corpus project, tiny projects for whole runs.

Fuzz tests take their settings from ``FUZZ``: the ``ci`` profile (the default, a few
hundred examples per test) or, with ``HYPOTHESIS_PROFILE=thorough``, many more.

Runs that must be killed or compared byte for byte happen in subprocesses
(:func:`start_run`); the others run in this process (``pytester.runpytest_inprocess``),
which needs TensorFlow imported beforehand: see :func:`keras_loaded`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

from pytest_rnnparity.inputs import Windows, load_inputs
from pytest_rnnparity.spec import load_specs

settings.register_profile(
    "ci", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck)
)
#: The settings of every fuzz test (``HYPOTHESIS_PROFILE`` picks the profile).
FUZZ = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
CORPUS_GOLDENS = HERE / "goldens"
REPOSITORY = HERE.parent.parent
#: The size of the corpus' sparse ``data/huge.csv``.
HUGE_CSV_BYTES = 2_000_000_000

#: A spec that passes, for runs that mix it with bad ones. The GRU reads six-step windows
#: so that a perturbation at timestep 3 is neither the first nor the last step.
GOOD_SPEC = """\
name: {name}
seed: {seed}
data:
  synthetic: {{kind: sine, length: 14, features: 2}}
  scale: minmax
lookback: 6
model:
  - GRU: {{units: {units}}}
  - Dense: {{units: 1}}
tolerance: {{atol: 1.0e-5, rtol: 0.0}}
"""


def good_spec(name: str = "good", *, seed: int = 1, units: int = 3, extra: str = "") -> str:
    """:data:`GOOD_SPEC` with its name, seed and GRU units; ``extra`` adds top-level YAML."""
    return GOOD_SPEC.format(name=name, seed=seed, units=units) + extra


def load_fully(path: Path, *, root: Path) -> list[Windows]:
    """Load a spec file and cut the windows of each variant (of every model input), as a
    run does before Keras."""
    return [
        windows
        for spec in load_specs(path, root=root)
        for windows in load_inputs(spec, root=root).windows.values()
    ]


def copy_corpus(project: Path, outside: Path) -> None:
    """The corpus as ``project/specs``, its goldens as ``project/golden``.

    ``specs/data/outside.csv`` becomes a symlink to a file in ``outside`` (which must lie
    outside ``project``): git would keep a symlink, but not one pointing where this one does.
    ``specs/data/huge.csv`` is a sparse file of 2 GB: it takes no disk space, and must be
    refused before a byte of it is read.
    """
    shutil.copytree(CORPUS, project / "specs", dirs_exist_ok=True)
    with (project / "specs" / "data" / "huge.csv").open("wb") as huge:
        huge.truncate(HUGE_CSV_BYTES)
    shutil.copytree(CORPUS_GOLDENS, project / "golden", dirs_exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    secret = outside / "secret.csv"
    secret.write_text("x,y\n1,2\n3,4\n5,6\n", encoding="utf-8")
    (project / "specs" / "data" / "outside.csv").symlink_to(secret)


@pytest.fixture(scope="session")
def corpus_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project holding the corpus (no Keras files: see :func:`write_keras_files`)."""
    base = tmp_path_factory.mktemp("corpus")
    copy_corpus(base / "project", base / "elsewhere")
    return base / "project"


@pytest.fixture(scope="session")
def keras_loaded() -> ModuleType:
    """Keras, imported before any in-process run.

    pytester drops the modules an in-process run imported, and TensorFlow cannot be
    imported twice into one process; the package's own modules are imported too, so that
    every in-process run sees the same module objects.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    keras = pytest.importorskip("keras")
    import pytest_rnnparity.collection.fixture
    import pytest_rnnparity.collection.nodes
    import pytest_rnnparity.golden.document  # noqa: F401

    return keras


@pytest.fixture
def fresh_keras(keras_loaded: ModuleType) -> Iterator[ModuleType]:
    """Keras in a fresh session: layer names start from ``gru`` again, as in a new process."""
    keras_loaded.backend.clear_session()
    yield keras_loaded
    keras_loaded.backend.clear_session()


def write_keras_files(keras: ModuleType, specs: Path) -> None:
    """The corpus' Keras files: a model holding a Lambda layer, GRU(3) weights, and a
    model taking windows of 10 steps of 3 features.

    Written by Keras at test time, so that no binary is committed and the files match
    the Keras that reads them.
    """
    (specs / "models").mkdir(exist_ok=True)
    (specs / "weights").mkdir(exist_ok=True)
    lambda_model = keras.Sequential(
        [keras.Input((2, 1)), keras.layers.GRU(2), keras.layers.Lambda(lambda t: t * 2.0)]
    )
    lambda_model.save(specs / "models" / "lambda.keras")
    gru3 = keras.Sequential([keras.Input((2, 1)), keras.layers.GRU(3)])
    gru3.save_weights(specs / "weights" / "gru3.weights.h5")
    windows = keras.Sequential([keras.Input((10, 3)), keras.layers.GRU(2), keras.layers.Dense(1)])
    windows.save(specs / "models" / "gru_10x3.keras")
    keras.backend.clear_session()


def start_run(project: Path, *args: str) -> subprocess.Popen[str]:
    """``python -m pytest --rnn-parity *args`` in ``project``, in a new process."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}
    environment.pop("PYTEST_ADDOPTS", None)
    environment.pop("PYTEST_XDIST_WORKER", None)
    command = [sys.executable, "-m", "pytest", "--rnn-parity", "-p", "no:cacheprovider", *args]
    return subprocess.Popen(
        command,
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str], *, timeout: float = 240) -> str:
    """Wait for a run started by :func:`start_run`; its output, after checking it passed."""
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return output


def goldens(project: Path) -> dict[str, bytes]:
    """Every golden file under ``project/golden`` by relative path, with its bytes."""
    root = project / "golden"
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*.golden"))
    }


def write_project(project: Path, specs: dict[str, str], ini: Sequence[str] = ()) -> Path:
    """A project with ``specs/<name>`` files and a ``pytest.ini``; returns ``project``."""
    for name, text in specs.items():
        path = project / "specs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (project / "pytest.ini").write_text("\n".join(["[pytest]", *ini]) + "\n", encoding="utf-8")
    return project


#: The seeds of the goldens a killed update starts from (old) and would write (new).
OLD_SEED, NEW_SEED = 1, 2


def seven_specs(seed: int) -> dict[str, str]:
    """Two spec files, seven goldens: a matrix of six GRU sizes, and one spec more."""
    matrix = "matrix:\n  model[0].GRU.units: [2, 3, 4, 5, 6, 7]\n"
    return {
        "sizes.yaml": good_spec("sizes", seed=seed, extra=matrix),
        "nested/single.yaml": good_spec("single", seed=seed),
    }


class Recording:
    """A ``--snapshot-update`` run in a project of its own: started at once, so that it
    overlaps other work, and awaited when its goldens are first asked for."""

    def __init__(self, project: Path, *args: str) -> None:
        self.project = project
        self.process = start_run(project, "--snapshot-update", *args)
        self._goldens: dict[str, bytes] | None = None

    def goldens(self) -> dict[str, bytes]:
        if self._goldens is None:
            finish(self.process)
            self._goldens = goldens(self.project)
        return self._goldens


@pytest.fixture(scope="session")
def new_recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    """The goldens of :func:`seven_specs` at ``NEW_SEED``, recorded by a run of their own
    with two xdist workers."""
    project = write_project(tmp_path_factory.mktemp("new"), seven_specs(NEW_SEED))
    recording = Recording(project, "-p", "xdist", "-n", "2")
    yield recording
    if recording.process.poll() is None:
        recording.process.kill()
        recording.process.communicate()


def record_in_process(pytester: pytest.Pytester, keras: ModuleType, seed: int) -> dict[str, bytes]:
    """Write :func:`seven_specs` at ``seed`` into ``pytester.path`` and record their goldens
    with a ``--snapshot-update`` run in this process."""
    write_project(pytester.path, seven_specs(seed))
    keras.backend.clear_session()
    result = pytester.runpytest_inprocess("--rnn-parity", "--snapshot-update")
    result.assert_outcomes(passed=14)
    return goldens(pytester.path)


@pytest.fixture
def inner_run(
    pytester: pytest.Pytester, keras_loaded: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """A pytester project for whole runs in this process, each a session of its own.

    Keras starts a fresh session (layer names from ``gru`` again), and the xdist
    variables of an outer ``-n 2`` run are removed: syrupy reads them to decide that it
    is a worker, and would then keep its summary for a controller the inner run lacks.
    """
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)
    keras_loaded.backend.clear_session()
    pytester.makeini("[pytest]\naddopts = -p no:hypothesispytest\n")
    return pytester


def one_line_error(result: pytest.RunResult) -> str:
    """The ``ERROR: ...`` line pytest prints for a usage error, after checking it is alone."""
    errors = [line for line in result.stderr.lines if line.startswith("ERROR: ")]
    assert len(errors) == 1, result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    return errors[0].removeprefix("ERROR: ")


def section(result: pytest.RunResult, title: str) -> list[str]:
    """The lines of the end-of-run section ``title`` (up to the next ``=``/``-`` rule)."""
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if f" {title} " in line) + 1
    end = next(
        (i for i in range(start, len(lines)) if lines[i].startswith(("---", "==="))), len(lines)
    )
    return lines[start:end]
