"""collection/config.py: the spec paths, the golden directory, and which YAML files are specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_rnnparity.collection.config import golden_dir, is_spec_path, spec_paths

from ..helpers import touch


def test_spec_paths_default_to_specs_under_the_rootdir(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\n")
    config = pytester.parseconfigure()
    assert spec_paths(config) == [pytester.path / "specs"]


def test_spec_paths_from_the_ini_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nrnn_parity_paths = checks more/specs\n")
    config = pytester.parseconfigure()
    assert spec_paths(config) == [pytester.path / "checks", pytester.path / "more" / "specs"]


def test_golden_dir_default_and_from_the_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\n")
    assert golden_dir(pytester.parseconfigure()) == pytester.path / "golden"
    pytester.makeini("[pytest]\nrnn_parity_golden_dir = tests/goldens\n")
    assert golden_dir(pytester.parseconfigure()) == pytester.path / "tests" / "goldens"


def test_files_under_a_spec_path_are_specs(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    deep = touch(specs / "lstm" / "nile.yaml")
    other = touch(tmp_path / "other" / "x.yaml")
    assert is_spec_path(deep, [specs], [])
    assert is_spec_path(deep, [tmp_path / "nowhere", specs], [])
    assert not is_spec_path(other, [specs], [])
    # a spec path may name one file
    assert is_spec_path(other, [specs, tmp_path / "other" / "x.yaml"], [])
    # a sibling whose name only starts like the spec path is not under it
    assert not is_spec_path(touch(tmp_path / "specs-old" / "x.yaml"), [specs], [])


def test_a_spec_path_given_through_a_symlink_still_holds_its_files(tmp_path: Path) -> None:
    real = tmp_path / "real"
    spec = touch(real / "x.yaml")
    (tmp_path / "link").symlink_to(real)
    assert is_spec_path(spec, [tmp_path / "link"], [])
    assert is_spec_path(tmp_path / "link" / "x.yaml", [real], [])


def test_a_yaml_file_named_on_the_command_line_is_a_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = touch(tmp_path / "elsewhere" / "x.yaml")
    specs = [tmp_path / "specs"]
    assert not is_spec_path(spec, specs, ["tests", "-k", "gru"])
    assert is_spec_path(spec, specs, ["elsewhere/x.yaml"])  # relative to the invocation dir
    assert is_spec_path(spec, specs, [str(spec)])
    assert is_spec_path(spec, specs, ["elsewhere/x.yaml::x::parity"])  # a node id
    assert is_spec_path(touch(tmp_path / "elsewhere" / "z.yml"), specs, ["elsewhere/z.yml"])
    # only a YAML file itself: its directory, or another suffix, does not make it a spec
    assert not is_spec_path(spec, specs, ["elsewhere"])
    assert not is_spec_path(spec, specs, ["elsewhere/x.yaml.txt"])
    assert not is_spec_path(spec, specs, ["elsewhere/y.yaml"])
