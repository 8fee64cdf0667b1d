"""Never delete what is not ours (issue 17, cases 1-3).

The orphan clean-up of a full ``--snapshot-update`` deletes only the goldens this plugin
wrote for specs, inside a golden directory that lies inside the rootdir.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

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
    inner_run.runpytest_inprocess("--snapshot-update", "tests/test_fx.py").assert_outcomes(
        passed=1
    )
    fixture_golden = project / "tests" / "__goldens__" / "test_fx" / "test_my_model.golden"
    assert fixture_golden.read_text(encoding="utf-8").startswith(HEADER)
    go_golden = project / "tests" / "testdata" / "output.golden"
    go_golden.parent.mkdir()
    go_golden.write_text(GO_GOLDEN, encoding="utf-8")
    write_good(project)
    write_good(project, "gone")
    update(inner_run).assert_outcomes(passed=4)
    (project / "specs" / "gone.yaml").unlink()
    kept = {path: path.read_bytes() for path in (fixture_golden, go_golden)}

    result = update(inner_run)

    result.assert_outcomes(passed=2)
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
