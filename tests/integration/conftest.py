"""Shared helpers of the pytester runs: tiny specs, golden edits and file fingerprints.

Every spec here is a GRU(2) over four windows of six inline rows, so a run costs a Keras
build and one predict. In-process runs (``pytester.runpytest``) share this process's
TensorFlow: it is imported below because pytester drops the modules an in-process run
imported, and TensorFlow cannot be imported a second time into one process.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
# The package's own modules too, so that every in-process run sees the same module objects.
for _module in ("pytest_rnnparity.collection.nodes", "pytest_rnnparity.collection.fixture"):
    importlib.import_module(_module)

#: The ``model:`` key is on line 9: items report ``specs/<name>.yaml:9``.
SPEC = """\
name: {name}
seed: 1
data:
  features:
    x: [0.1, 0.5, -0.3, 0.8, 0.2, -0.6]
  target: {{name: y, values: [1, 2, 3, 4, 5, 6]}}
  scale: none
lookback: 2
model:
  - GRU: {{units: 2}}
"""
MODEL_LINE = 9

#: A spec that does not load: one erroring item ``specs/bad.yaml::spec``.
BAD_SPEC = """\
data:
  features:
    x: [0.1, 0.5, -0.3, 0.8, 0.2, -0.6]
  target: {name: y, values: [1, 2, 3, 4, 5, 6]}
lookback: 2
model:
  - GRU: {units: -4}
"""
#: What the loader says about BAD_SPEC: the value -4 sits on line 7, column 18.
BAD_SPEC_MESSAGE = "specs/bad.yaml:7:18: model[0].GRU.units: expected a positive integer, got -4"

#: Loads, builds its Keras model, then fails: the reference has no sparsemax.
UNSUPPORTED_SPEC = SPEC.format(name="unsupported").replace(
    "{units: 2}", "{units: 2, activation: sparsemax}"
)

#: A test module's helpers: a GRU(2) with weights drawn by NumPy, and its inputs.
SEEDED_GRU = """\
import keras
import numpy as np


def seeded_gru(name=None):
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.GRU(2, name=name)])
    rng = np.random.default_rng(0)
    model.set_weights(
        [rng.uniform(-0.5, 0.5, size=w.shape).astype("float32") for w in model.get_weights()]
    )
    return model


X = np.random.default_rng(1).normal(size=(4, 3, 2)).astype("float32")
"""

#: Hypothesis is off in the runs: its summary hook imports hypothesis, which pytester
#: unloads after every in-process run, and re-importing it (assertion-rewritten) costs ~1.5 s.
INI = """\
[pytest]
addopts = --strict-markers -p no:hypothesispytest
markers =
    slow: a spec that takes long
"""


def spec_text(name: str, extra: str = "") -> str:
    """A tiny GRU(2) spec named ``name``; ``extra`` adds top-level YAML (marks, matrix)."""
    return SPEC.format(name=name) + extra


def write_ini(pytester: pytest.Pytester, extra: str = "") -> None:
    """The project's ini (strict markers, ``slow`` registered) plus ``extra`` lines."""
    pytester.makeini(INI + extra)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory with the ini of :func:`write_ini`."""
    write_ini(pytester)
    return pytester


@pytest.fixture(autouse=True)
def _fresh_keras_session() -> None:
    """Each test starts as a new process would: Keras numbers layer names from ``gru`` again."""
    keras.backend.clear_session()


@pytest.fixture(autouse=True)
def _not_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """An inner run is a session of its own, even when this suite runs under ``-n 2``.

    syrupy decides it is inside an xdist worker from the environment, and would then
    keep its summary for a controller that the inner run does not have.
    """
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


def write_spec(pytester: pytest.Pytester, name: str, extra: str = "", where: str = "specs") -> Path:
    """Write ``<where>/<name>.yaml`` from :func:`spec_text`."""
    return pytester.makefile(".yaml", **{f"{where}/{name}": spec_text(name, extra)})


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """``pytest --rnn-parity *args`` in this process."""
    return pytester.runpytest("--rnn-parity", *args)


def collected(result: pytest.RunResult) -> list[str]:
    """The node ids ``--collect-only -q`` printed."""
    return [line for line in result.stdout.lines if "::" in line]


def golden_path(pytester: pytest.Pytester, name: str, spec_file: str | None = None) -> Path:
    """``golden/<spec file stem>/<spec id>.golden``."""
    return pytester.path / "golden" / (spec_file or name) / f"{name}.golden"


@dataclass(frozen=True)
class Fingerprint:
    """What tells a file apart from a rewrite of it: bytes, mtime and inode.

    Goldens are written to a temporary file and renamed, so even a rewrite with the
    same bytes within the mtime resolution shows as a new inode.
    """

    content: bytes
    mtime_ns: int
    inode: int


def fingerprint(path: Path) -> Fingerprint:
    """The :class:`Fingerprint` of ``path`` now."""
    stat = path.stat()
    return Fingerprint(path.read_bytes(), stat.st_mtime_ns, stat.st_ino)


def goldens(pytester: pytest.Pytester) -> dict[str, Fingerprint]:
    """Every golden under ``golden/`` by its path relative to the project."""
    root = pytester.path / "golden"
    return {
        path.relative_to(pytester.path).as_posix(): fingerprint(path)
        for path in sorted(root.rglob("*.golden"))
    }


@dataclass(frozen=True)
class Perturbation:
    """A value of a golden before and after an edit, as the drift report prints them."""

    recorded: str  # the edited value (what the golden now holds)
    now: str  # the value the run computes


def _report_value(text: str) -> str:
    # the report prints the float32 that the golden's text parses to, with 9 digits
    return f"{float(np.float32(text)):.9g}"


def perturb(golden: Path, array: str, row: str, unit: int, delta: float) -> Perturbation:
    """Add ``delta`` to one value of a golden: ``[array <array>]``, line ``<row>:``, ``unit``."""
    lines = golden.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index(f"[array {array}]\n")
    for number in range(start + 1, len(lines)):
        label, _, values = lines[number].partition(": ")
        if label == row:
            break
        assert not lines[number].startswith("["), f"{row!r} not in array {array!r}"
    else:
        raise AssertionError(f"{row!r} not in array {array!r}")
    words = values.split()
    original = words[unit]
    words[unit] = str(np.float32(float(original) + delta))
    assert words[unit] != original, "the perturbation is below float32 resolution"
    lines[number] = f"{label}: {' '.join(words)}\n"
    golden.write_text("".join(lines), encoding="utf-8")
    return Perturbation(recorded=_report_value(words[unit]), now=_report_value(original))


def set_entry(golden: Path, key: str, value: str) -> str:
    """Set a ``key = value`` line of a golden's [meta] or [environment]; return the old value."""
    text = golden.read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(key)} = (.*)$", text, flags=re.MULTILINE)
    assert match is not None, f"no {key!r} line in {golden}"
    golden.write_text(text[: match.start(1)] + value + text[match.end(1) :], encoding="utf-8")
    return match.group(1)


def assert_lines(result: pytest.RunResult, *lines: str) -> None:
    """``lines`` appear in the output exactly (whole lines, no globbing), in this order."""
    result.stdout.re_match_lines([f"{re.escape(line)}$" for line in lines])
