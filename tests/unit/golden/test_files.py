"""golden/files.py: atomic writes that respect the umask and leave no temporary."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_rnnparity.golden.files import atomic_write_text, read_text


@pytest.fixture
def umask() -> Iterator[int]:
    """A known umask for the test, restored afterwards."""
    previous = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(previous)


def test_atomic_write_creates_parents_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "goldens" / "power_gru" / "power-gru.golden"
    atomic_write_text(path, "first\n")
    assert path.read_text(encoding="utf-8") == "first\n"
    atomic_write_text(path, "second\n")
    assert path.read_bytes() == b"second\n"
    assert list(path.parent.iterdir()) == [path]


def test_atomic_write_respects_the_umask(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "g.golden"
    atomic_write_text(path, "text\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask == 0o640


def test_atomic_write_keeps_newlines_as_lf(tmp_path: Path) -> None:
    path = tmp_path / "g.golden"
    atomic_write_text(path, "a\nb\n")
    assert path.read_bytes() == b"a\nb\n"


def test_failed_write_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "g.golden"
    path.write_text("old\n", encoding="utf-8")

    def interrupted(source: object, target: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("pytest_rnnparity.golden.files.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(path, "new\n")
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "old\n"
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(
    "data",
    [b"", b"# golden\n[meta]\n", b"a\r\nb\r\n", "\u00e9t\u00e9 \u2192 \u00b5s\n".encode()],
    ids=["empty", "lines", "crlf-kept", "utf-8"],
)
def test_read_text_is_the_files_text_as_it_is(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "g.golden"
    path.write_bytes(data)
    assert read_text(path) == data.decode("utf-8")  # no newline translation: loads does it


def test_read_text_raises_for_what_is_not_utf8_or_not_there(tmp_path: Path) -> None:
    path = tmp_path / "g.golden"
    path.write_bytes(b"\xff\xfe golden")
    with pytest.raises(UnicodeDecodeError):
        read_text(path)
    with pytest.raises(FileNotFoundError):
        read_text(tmp_path / "missing.golden")
