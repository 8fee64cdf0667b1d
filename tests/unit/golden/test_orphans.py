"""golden/orphans.py: where a spec's golden lives, and goldens whose spec is gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.golden.format import HEADER
from pytest_rnnparity.golden.orphans import (
    Orphan,
    find_orphans,
    golden_relative_dir,
    read_meta,
    same_content_goldens,
)

from ..helpers import touch

# -- golden locations ---------------------------------------------------------------------


def test_golden_relative_dir_is_the_spec_path_under_its_spec_root(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    spec = touch(specs / "lstm" / "nile.yaml")
    assert golden_relative_dir(spec, [specs], tmp_path) == Path("lstm/nile")
    # the first spec root that holds the file wins
    assert golden_relative_dir(spec, [specs / "lstm", specs], tmp_path) == Path("nile")


def test_golden_relative_dir_falls_back_to_the_root_then_the_stem(tmp_path: Path) -> None:
    spec = touch(tmp_path / "specs" / "power_gru.yaml")
    missing_root = tmp_path / "nowhere"
    assert golden_relative_dir(spec, [missing_root], tmp_path) == Path("specs/power_gru")
    outside = touch(tmp_path / "elsewhere" / "power_gru.yaml")
    assert golden_relative_dir(outside, [], tmp_path / "project") == Path("power_gru")


def test_golden_relative_dir_keeps_dots_in_the_stem(tmp_path: Path) -> None:
    spec = touch(tmp_path / "specs" / "gru.v2.yaml")
    assert golden_relative_dir(spec, [tmp_path / "specs"], tmp_path) == Path("gru.v2")


# -- orphans ------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """specs/power_gru.yaml (ids power-gru, power-gru[x]) and specs/broken.yml (fails)."""
    touch(tmp_path / "specs" / "power_gru.yaml", "ids: power-gru power-gru[x]")
    touch(tmp_path / "specs" / "broken.yml", "broken")
    return tmp_path


def _load(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if text == "broken":
        raise SpecError("bad spec", path=str(path))
    return text.removeprefix("ids: ").split()


def _orphans(project: Path) -> list[Orphan]:
    return find_orphans(project / "goldens", [project / "specs"], project, load=_load)


def test_no_golden_directory_no_orphans(project: Path) -> None:
    assert _orphans(project) == []


def test_goldens_of_existing_specs_are_not_orphans(project: Path) -> None:
    goldens = project / "goldens"
    touch(goldens / "power_gru" / "power-gru.golden")
    touch(goldens / "power_gru" / "power-gru[x].golden")
    touch(goldens / "power_gru" / "notes.txt")  # not a golden: ignored
    assert _orphans(project) == []


def test_golden_of_a_deleted_spec_file_is_an_orphan(project: Path) -> None:
    golden = touch(project / "goldens" / "gone" / "gone.golden")
    assert _orphans(project) == [Orphan(golden, "no spec file specs/gone.yaml")]


def test_golden_of_a_spec_id_no_longer_in_its_file_is_an_orphan(project: Path) -> None:
    golden = touch(project / "goldens" / "power_gru" / "power-gru[y].golden")
    assert _orphans(project) == [Orphan(golden, "specs/power_gru.yaml has no spec 'power-gru[y]'")]


def test_golden_of_a_spec_that_fails_to_load_is_not_an_orphan(project: Path) -> None:
    touch(project / "goldens" / "broken" / "anything.golden")
    assert _orphans(project) == []


def test_golden_outside_any_spec_directory_is_an_orphan(project: Path) -> None:
    golden = touch(project / "goldens" / "stray.golden")
    assert _orphans(project) == [Orphan(golden, "not under a spec's directory")]


def test_spec_found_under_the_project_root_too(project: Path) -> None:
    touch(project / "tests" / "specs" / "local.yaml", "ids: local")
    touch(project / "goldens" / "tests" / "specs" / "local" / "local.golden")
    assert _orphans(project) == []


def test_golden_of_a_spec_with_a_dot_in_its_name_is_not_an_orphan(project: Path) -> None:
    touch(project / "specs" / "gru.v2.yaml", "ids: gru")
    touch(project / "goldens" / "gru.v2" / "gru.golden")
    assert _orphans(project) == []


# -- goldens of the same spec content (a renamed spec file) ------------------------------


def _golden(path: Path, spec: str, spec_hash: str) -> Path:
    touch(path, f"{HEADER}\n[meta]\nspec = {spec}\nspec_hash = {spec_hash}\n[environment]\n")
    return path


def test_read_meta_reads_the_meta_section_only(tmp_path: Path) -> None:
    path = _golden(tmp_path / "a.golden", "a", "1" * 64)
    assert read_meta(path) == {"spec": "a", "spec_hash": "1" * 64}
    touch(tmp_path / "other.golden", "not a golden\nspec = x\n")
    assert read_meta(tmp_path / "other.golden") == {}
    assert read_meta(tmp_path / "missing.golden") == {}


def test_same_content_goldens_are_found_by_their_spec_hash(tmp_path: Path) -> None:
    goldens = tmp_path / "golden"
    old = _golden(goldens / "old" / "old.golden", "old", "1" * 64)
    _golden(goldens / "other" / "other.golden", "other", "2" * 64)
    fixture = _golden(goldens / "t" / "test.golden", "tests/test_x.py::test_y", "1" * 64)
    new = goldens / "new" / "new.golden"
    assert same_content_goldens(goldens, "1" * 64, exclude=new) == [old]
    assert fixture.is_file()  # a fixture's golden is never one of them
    assert same_content_goldens(goldens, "1" * 64, exclude=old) == []
    assert same_content_goldens(tmp_path / "none", "1" * 64, exclude=new) == []
