"""Never delete what is not ours, never stop the session over a golden (issue 17).

Cases 1-3, 10 and 11. The orphan clean-up of a full ``--snapshot-update`` deletes only
the goldens this plugin wrote for specs, inside a golden directory inside the rootdir.
What fails while writing a golden or the JSON report is one line, never a traceback,
and the files on disk stay as they were.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from pytest_rnnparity.golden import files
from pytest_rnnparity.golden.format import HEADER

from .conftest import good_spec, one_line_error, section

pytestmark = pytest.mark.keras

FIXTURE_TEST = """\
import keras
import numpy as np


def test_my_model(rnn_parity):
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.GRU(2)])
    rng = np.random.default_rng(0)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape) for w in model.get_weights()])
    x = rng.normal(size=(4, 3, 2)).astype("float32")
    rnn_parity.snapshot(rnn_parity.check(model, x))
"""
#: Another tool's golden file (Go's testdata/*.golden convention).
GO_GOLDEN = "--- want\nhello, world\n"


def write_good(project: Path, name: str = "good", **kwargs: Any) -> None:
    path = project / "specs" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(good_spec(name, **kwargs), encoding="utf-8")


def add_ini(pytester: pytest.Pytester, *lines: str) -> None:
    ini = pytester.path / "tox.ini"
    text = ini.read_text(encoding="utf-8").rstrip("\n") + "\n"
    ini.write_text(text + "".join(f"{line}\n" for line in lines), encoding="utf-8")


def update(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("--rnn-parity", "--snapshot-update", *args)


def tree(directory: Path) -> dict[str, bytes | None]:
    """Every entry under ``directory``: files with their bytes, folders and links as None."""
    found: dict[str, bytes | None] = {}
    for path in sorted(directory.rglob("*")):
        regular = path.is_file() and not path.is_symlink()
        found[path.relative_to(directory).as_posix()] = path.read_bytes() if regular else None
    return found


# -- case 1: the golden directory lies inside the rootdir ------------------------------


@pytest.mark.parametrize("where", ["sibling", "filesystem-root"])
def test_a_golden_directory_outside_the_rootdir_is_refused_in_one_line(
    inner_run: pytest.Pytester, where: str
) -> None:
    project = inner_run.path
    shared = project.parent / f"shared-golden-{project.name}"
    other = shared / "x" / "x.golden"
    other.parent.mkdir(parents=True)
    other.write_text(f"{HEADER}\n[meta]\nspec = x\nspec_file = specs/x.yaml\n", encoding="utf-8")
    written = f"../{shared.name}" if where == "sibling" else "/"
    write_good(project)
    add_ini(inner_run, f"rnn_parity_golden_dir = {written}")
    before = tree(shared)

    result = update(inner_run)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    resolved = shared.resolve() if where == "sibling" else Path("/").resolve()
    assert one_line_error(result) == (
        f"rnn_parity_golden_dir = {written} resolves to {resolved}, outside the rootdir"
        f" {project.resolve()}; name a directory inside the project"
    )
    assert tree(shared) == before


def test_links_in_the_golden_directory_are_neither_followed_nor_removed(
    inner_run: pytest.Pytester,
) -> None:
    project = inner_run.path
    write_good(project)
    update(inner_run).assert_outcomes(passed=2)
    outside = project / "elsewhere"
    shutil.copytree(project / "golden" / "good", outside / "gone")  # an orphan, if followed
    (project / "golden" / "gone").symlink_to(outside / "gone", target_is_directory=True)
    (project / "golden" / "good" / "link.golden").symlink_to(outside / "gone" / "good.golden")
    before = tree(outside)

    result = update(inner_run)

    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.OK
    assert "goldens without a spec" not in result.stdout.str()
    assert tree(outside) == before
    assert (project / "golden" / "good" / "link.golden").is_symlink()


# -- case 2: only goldens this plugin wrote for specs are removed -----------------------


def test_fixture_goldens_and_other_tools_goldens_are_never_orphans(
    inner_run: pytest.Pytester,
) -> None:
    project = inner_run.path
    add_ini(inner_run, "rnn_parity_golden_dir = tests")
    (project / "tests").mkdir()
    (project / "tests" / "test_fx.py").write_text(FIXTURE_TEST, encoding="utf-8")
    inner_run.runpytest_inprocess("--snapshot-update", "tests/test_fx.py").assert_outcomes(passed=1)
    fixture_golden = project / "tests" / "__goldens__" / "test_fx" / "test_my_model.golden"
    assert fixture_golden.read_text(encoding="utf-8").startswith(HEADER)
    go_golden = project / "tests" / "testdata" / "output.golden"
    go_golden.parent.mkdir()
    go_golden.write_text(GO_GOLDEN, encoding="utf-8")
    write_good(project)
    write_good(project, "gone")
    # the fixture's test runs beside the specs: --rnn-parity adds specs, it drops no test
    update(inner_run).assert_outcomes(passed=5)
    (project / "specs" / "gone.yaml").unlink()
    kept = {path: path.read_bytes() for path in (fixture_golden, go_golden)}

    result = update(inner_run)

    result.assert_outcomes(passed=3)
    assert section(result, "rnn-parity goldens without a spec") == [
        "tests/gone/gone.golden: no spec file specs/gone.yaml",
        "removed 1 golden file(s).",
    ]
    assert not (project / "tests" / "gone").exists()
    assert {path: path.read_bytes() for path in kept} == kept
    assert (project / "tests" / "good" / "good.golden").is_file()


# -- case 3: a directory named x.golden ----------------------------------------------


def test_a_directory_named_like_a_golden_never_stops_the_session(
    inner_run: pytest.Pytester,
) -> None:
    project = inner_run.path
    write_good(project)
    update(inner_run).assert_outcomes(passed=2)
    golden = project / "golden"
    (golden / "x" / "x.golden").mkdir(parents=True)
    (golden / "stray.golden").mkdir()
    (golden / "stray.golden" / "notes.txt").write_text("kept\n", encoding="utf-8")
    shutil.copytree(golden / "good", golden / "gone")

    for _ in range(2):  # and again on every later full update
        result = update(inner_run)

        assert result.ret == pytest.ExitCode.OK, result.stdout.str()
        result.assert_outcomes(passed=2)
        assert "Traceback" not in result.stdout.str() + result.stderr.str()
        assert section(result, "rnn-parity summary")[0].startswith("1 spec(s)")
    assert (golden / "x" / "x.golden").is_dir()
    assert (golden / "stray.golden" / "notes.txt").is_file()
    assert not (golden / "gone").exists()


def test_a_directory_where_a_golden_belongs_is_one_error_of_its_golden_item(
    inner_run: pytest.Pytester,
) -> None:
    project = inner_run.path
    write_good(project)
    (project / "golden" / "good" / "good.golden").mkdir(parents=True)

    result = update(inner_run)

    result.assert_outcomes(passed=1, failed=1)
    failure = result.reprec.getfailures()[0]  # type: ignore[attr-defined]
    assert failure.longreprtext.splitlines() == [
        "golden/good/good.golden: cannot read the golden file: Is a directory",
        "(spec 'good' at specs/good.yaml:7)",
    ]
    assert (project / "golden" / "good" / "good.golden").is_dir()


# -- case 10: --rnn-parity-report= ----------------------------------------------------


def test_a_report_path_that_is_a_directory_is_refused_before_the_run(
    inner_run: pytest.Pytester,
) -> None:
    write_good(inner_run.path)
    (inner_run.path / "out").mkdir()

    result = inner_run.runpytest_inprocess("--rnn-parity", "--rnn-parity-report=out")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = inner_run.path / "out"
    assert one_line_error(result) == (
        f"--rnn-parity-report=out: {out} is a directory; name a file, such as"
        f" {out / 'rnn-parity.json'}"
    )


def test_a_report_path_in_a_read_only_directory_is_refused_before_the_run(
    inner_run: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_good(inner_run.path)
    read_only = inner_run.path / "ro"
    read_only.mkdir()
    real_access = os.access
    # root may write anywhere; a read-only mount is what access() reports then
    monkeypatch.setattr(
        os, "access", lambda path, mode: Path(path) != read_only and real_access(path, mode)
    )

    result = inner_run.runpytest_inprocess("--rnn-parity", "--rnn-parity-report=ro/r.json")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert one_line_error(result) == (
        f"--rnn-parity-report=ro/r.json: cannot write into {read_only} (permission denied or"
        " a read-only file system)"
    )


def test_a_report_that_cannot_be_written_at_the_end_is_one_line_and_fails_the_run(
    inner_run: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_good(inner_run.path)
    update(inner_run).assert_outcomes(passed=2)

    def full_disk(path: Path, text: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("pytest_rnnparity.collection.session.atomic_write_text", full_disk)
    result = inner_run.runpytest_inprocess("--rnn-parity", "--rnn-parity-report=r.json")

    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert section(result, "rnn-parity errors") == [
        "--rnn-parity-report=r.json: cannot write the report: No space left on device"
    ]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not (inner_run.path / "r.json").exists()


# -- case 11: golden writes on a read-only filesystem, a full disk, under ulimit -f ------


class _Failing(SimpleNamespace):
    """``module`` with one function replaced by one that raises ``OSError(code)``."""

    def __init__(self, module: ModuleType, name: str, code: int) -> None:
        super().__init__()
        self._module, self._name, self._code = module, name, code

    def __getattr__(self, attribute: str) -> Any:
        if attribute == self._name:

            def fail(*args: Any, **kwargs: Any) -> Any:
                raise OSError(self._code, os.strerror(self._code))

            return fail
        return getattr(self._module, attribute)


@pytest.mark.parametrize(
    ("code", "module", "function"),
    [
        (errno.EROFS, tempfile, "mkstemp"),  # a read-only file system: no file can be made
        (errno.ENOSPC, os, "fsync"),  # a full disk: the data does not reach it
        (errno.EFBIG, os, "fsync"),  # ulimit -f: the file may not grow
    ],
    ids=["read-only", "disk-full", "file-size-limit"],
)
def test_a_golden_that_cannot_be_written_is_one_line_and_the_old_one_stays(
    inner_run: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    module: ModuleType,
    function: str,
) -> None:
    project = inner_run.path
    write_good(project)
    update(inner_run).assert_outcomes(passed=2)
    write_good(project, seed=2)  # other weights: the update rewrites the golden
    before = tree(project / "golden")
    monkeypatch.setattr(files, module.__name__, _Failing(module, function, code))

    result = update(inner_run)

    result.assert_outcomes(passed=1, failed=1)
    failure = result.reprec.getfailures()[0]  # type: ignore[attr-defined]
    assert failure.nodeid == "specs/good.yaml::good::golden"
    assert failure.longreprtext.splitlines() == [
        f"golden/good/good.golden: cannot write the golden: {os.strerror(code)} (the file on"
        " disk, if any, is unchanged)",
        "(spec 'good' at specs/good.yaml:7)",
    ]
    assert "Traceback" not in result.stdout.str()
    assert tree(project / "golden") == before  # the old golden, and no temporary file
