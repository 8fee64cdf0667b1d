"""Goldens whose spec is gone: found by comparing the golden directory with the spec files.

A golden lives at ``<golden dir>/<spec path under its spec root>/<spec id>.golden``
(:func:`golden_relative_dir`); :func:`find_orphans` lists the goldens no collected spec
produces any more, with the reason. The plugin removes them only on a full
``--snapshot-update`` run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.golden.format import SUFFIX
from pytest_rnnparity.spec import resolved_display_path

if TYPE_CHECKING:
    pass


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


def find_orphans(
    golden_dir: Path, spec_roots: Sequence[Path], root: Path, *, load: Any
) -> list[Orphan]:
    """Goldens whose spec file is gone, or whose spec no longer has that name/variant.

    ``load(path) -> list of spec ids`` loads a spec file; a spec that fails to load
    does not make its goldens orphans (it is reported as the error it is).
    """
    if not golden_dir.is_dir():
        return []
    candidates_roots = [r for r in spec_roots if r.is_dir()] + [root]
    orphans = []
    for golden in sorted(golden_dir.rglob(f"*{SUFFIX}")):
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


def remove_orphans(orphans: Sequence[Orphan], golden_dir: Path) -> None:
    """Delete the orphaned goldens, and each spec's golden folder left empty."""
    for orphan in orphans:
        orphan.path.unlink(missing_ok=True)
        if orphan.path.parent != golden_dir and not any(orphan.path.parent.iterdir()):
            orphan.path.parent.rmdir()
