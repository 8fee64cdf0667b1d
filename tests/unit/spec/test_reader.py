"""spec/reader.py: unknown and missing keys, messages on one line, files a spec names
kept inside the project root."""

from __future__ import annotations

from pathlib import Path

from pytest_rnnparity.spec import CsvData

from .helpers import SMALL, SMALL_HEAD, csv_spec, error_of, load_one, with_model

# --------------------------------------------------------------------------------- keys


def test_unknown_top_level_key_suggests_the_closest(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL + "lookbak: 3\n") == (
        "specs/x.yaml:8:1: unknown key 'lookbak'; did you mean 'lookback'?"
    )


def test_unknown_top_level_key_without_a_close_match_lists_the_keys(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL + "zzz: 3\n") == (
        "specs/x.yaml:8:1: unknown key 'zzz'; expected one of: name, description, seed, data,"
        " lookback, model, weights, dtype, tolerance, stateful, marks, golden, paths, matrix,"
        " candidate, torch, timeout"
    )


def test_missing_required_key(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL.replace("lookback: 2\n", "")) == (
        "specs/x.yaml:1:1: missing required key 'lookback'"
    )


def test_text_from_the_spec_cannot_break_a_message_over_lines(tmp_path: Path) -> None:
    assert error_of(tmp_path, with_model('- {GRU: {units: 2}, "x\\ny": 1}\n')) == (
        "specs/x.yaml:6:5: model[0]: expected one layer as a single-key mapping such as"
        " {GRU: {units: 4}}, got 2 keys (GRU, x\\ny)"
    )


# --------------------------------------------------------------------------- file paths


def test_a_path_climbing_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "project"
    assert error_of(root, csv_spec("../../etc/passwd")) == (
        "specs/x.yaml:2:15: data.csv.path: '../../etc/passwd' resolves outside the project root"
    )


def test_an_absolute_path_is_refused(tmp_path: Path) -> None:
    assert error_of(tmp_path, csv_spec("/etc/passwd")) == (
        "specs/x.yaml:2:15: data.csv.path: absolute paths are not allowed, got '/etc/passwd';"
        " write the path relative to the spec file"
    )
    assert error_of(tmp_path, csv_spec("'C:\\data\\x.csv'")).startswith(
        "specs/x.yaml:2:15: data.csv.path: absolute paths are not allowed"
    )


def test_a_symlink_pointing_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n2\n")
    root = tmp_path / "project"
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "link.csv").symlink_to(outside)

    assert error_of(root, csv_spec("link.csv")) == (
        "specs/x.yaml:2:15: data.csv.path: 'link.csv' resolves outside the project root"
    )


def test_a_symlink_inside_the_root_is_fine(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "real.csv").write_text("a\n1\n2\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "link.csv").symlink_to(tmp_path / "data" / "real.csv")

    data = load_one(tmp_path, csv_spec("link.csv")).data

    assert isinstance(data, CsvData)
    assert data.path == (tmp_path / "data" / "real.csv").resolve()


def test_a_missing_file_is_reported_at_its_key(tmp_path: Path) -> None:
    assert error_of(tmp_path, csv_spec("nope.csv")) == (
        "specs/x.yaml:2:15: data.csv.path: file not found: 'nope.csv' (paths are relative to"
        " the spec file)"
    )
    assert error_of(tmp_path, SMALL_HEAD + "model: {path: m.keras}\n") == (
        "specs/x.yaml:5:15: model.path: file not found: 'm.keras' (paths are relative to the"
        " spec file)"
    )
