"""Goldens whose spec is gone: found by comparing the golden directory with the spec files.

A golden lives at ``<golden dir>/<spec path under its spec root>/<spec id>.golden``
(:func:`golden_relative_dir`); :func:`find_orphans` lists the goldens no collected spec
produces any more, with the reason. The plugin removes them only on a full
``--snapshot-update`` run, and only files it wrote for specs (:func:`is_spec_golden`):
never a golden of the ``rnn_parity`` fixture, another tool's ``*.golden``, a directory,
a link, or anything outside the golden directory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.golden.format import HEADER, SUFFIX
from pytest_rnnparity.spec import resolved_display_path

#: How much of a file :func:`is_spec_golden` reads at most: the header and [meta].
META_BYTES = 65_536


@dataclass(frozen=True)
class Orphan:
    """A golden file that no spec produces any more, and why."""

    path: Path
    reason: str


def golden_relative_dir(spec_path: Path, spec_roots: Sequence[Path], root: Path) -> Path:
    """``power_gru`` for ``specs/power_gru.yaml``: the spec's path under its spec root."""
    resolved = spec_path.resolve()
    for spec_root in spec_roots:
        spec_root = spec_root.resolve()
        if spec_root.is_dir() and spec_root in resolved.parents:
            return resolved.relative_to(spec_root).with_suffix("")
    try:
        return resolved.relative_to(root.resolve()).with_suffix("")
    except ValueError:
        return Path(resolved.stem)


def golden_files(golden_dir: Path) -> Iterator[Path]:
    """The regular files named ``*.golden`` under ``golden_dir``, sorted.

    Links are neither followed nor listed (a linked directory could lead outside the
    golden directory), and a directory named ``x.golden`` is not a golden.
    """
    found = []
    for directory, subdirectories, names in os.walk(golden_dir, followlinks=False):
        subdirectories.sort()
        for name in names:
            path = Path(directory) / name
            if name.endswith(SUFFIX) and _is_regular_file(path):
                found.append(path)
    yield from sorted(found)


def _is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def read_meta(path: Path) -> dict[str, str]:
    """The ``[meta]`` entries of a golden file, from its first :data:`META_BYTES` (empty
    when it cannot be read or is not a golden)."""
    try:
        with path.open("rb") as stream:
            head = stream.read(META_BYTES)
    except OSError:
        return {}
    lines = head.decode("utf-8", errors="replace").splitlines()
    if not lines or lines[0] != HEADER:
        return {}
    meta = {}
    for line in lines[1:]:
        if line.startswith("[") and line != "[meta]":
            break  # the end of [meta]
        key, separator, value = line.partition(" = ")
        if separator:
            meta[key] = value
    return meta


def same_content_goldens(golden_dir: Path, spec_hash: str, *, exclude: Path) -> list[Path]:
    """The spec goldens under ``golden_dir`` (but ``exclude``) recorded from a spec of
    this content hash: where a renamed spec file's golden is."""
    if not golden_dir.is_dir():
        return []
    return [
        path
        for path in golden_files(golden_dir)
        if path != exclude
        and is_spec_golden(path)
        and read_meta(path).get("spec_hash") == spec_hash
    ]


def is_spec_golden(path: Path) -> bool:
    """Whether ``path`` is a golden this plugin wrote for a spec.

    A regular file (not a link) whose first line is the golden header and whose
    ``[meta]`` does not name a Python test: the ``rnn_parity`` fixture records the
    test's node id (``tests/test_x.py::test_y``) as its ``spec``, and a spec id never
    holds ``::``. At most :data:`META_BYTES` are read.
    """
    if not _is_regular_file(path):
        return False
    try:
        with path.open("rb") as stream:
            head = stream.read(META_BYTES)
    except OSError:
        return False
    lines = head.decode("utf-8", errors="replace").splitlines()
    if not lines or lines[0] != HEADER:
        return False
    for line in lines[1:]:
        if line.startswith("[") and line != "[meta]":
            break  # the end of [meta]
        if line.startswith("spec = "):
            return "::" not in line
    return True


def find_orphans(
    golden_dir: Path,
    spec_roots: Sequence[Path],
    root: Path,
    *,
    load: Any,
    owned: Callable[[Path], bool] | None = None,
) -> list[Orphan]:
    """Goldens whose spec file is gone, or whose spec no longer has that name/variant.

    ``load(path) -> list of spec ids`` loads a spec file; a spec that fails to load
    does not make its goldens orphans (it is reported as the error it is). ``owned``
    (the plugin passes :func:`is_spec_golden`) leaves out the files it rejects: they
    are not this plugin's goldens, so neither listed nor ever removed.
    """
    if not golden_dir.is_dir():
        return []
    candidates_roots = [r for r in spec_roots if r.is_dir()] + [root]
    orphans = []
    for golden in golden_files(golden_dir):
        if owned is not None and not owned(golden):
            continue
        relative = golden.parent.relative_to(golden_dir)
        spec_id = golden.name[: -len(SUFFIX)]
        spec_files = [
            base / relative.parent / f"{relative.name}{suffix}"
            for base in candidates_roots
            for suffix in (".yaml", ".yml")
            if relative != Path(".")
        ]
        existing = [f for f in spec_files if f.is_file()]
        if not existing:
            orphans.append(
                Orphan(
                    golden,
                    f"no spec file {resolved_display_path(spec_files[0], root)}"
                    if spec_files
                    else "not under a spec's directory",
                )
            )
            continue
        ids: set[str] = set()
        try:
            for spec_file in existing:
                ids.update(load(spec_file))
        except SpecError:
            continue
        if spec_id not in ids:
            orphans.append(
                Orphan(
                    golden, f"{resolved_display_path(existing[0], root)} has no spec '{spec_id}'"
                )
            )
    return orphans


def remove_orphans(orphans: Sequence[Orphan], golden_dir: Path) -> list[Orphan]:
    """Delete the orphaned goldens, and each spec's golden folder left empty.

    Each file is checked again just before it goes: only a spec golden
    (:func:`is_spec_golden`) inside ``golden_dir`` is deleted. Returns the orphans that
    could not be removed, each with the reason (``Read-only file system``).
    """
    directory = golden_dir.resolve()
    kept = []
    for orphan in orphans:
        path = orphan.path
        if directory not in path.parent.resolve().parents and path.parent.resolve() != directory:
            kept.append(Orphan(path, "not removed: it lies outside the golden directory"))
            continue
        if not is_spec_golden(path):
            kept.append(Orphan(path, "not removed: it is no longer a golden of a spec"))
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            kept.append(Orphan(path, f"not removed: {error.strerror or error}"))
            continue
        parent = path.parent
        try:
            if parent.resolve() != directory and not any(parent.iterdir()):
                parent.rmdir()
        except OSError:
            pass  # a folder that stays is harmless
    return kept
