"""What the rnn-parity ini keys and options say, read from a pytest config."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from pytest_rnnparity.spec import MAX_TIMEOUT

#: The spec ids of each spec file collected this session (resolved path -> ids), so
#: the end-of-session orphan check does not parse every spec file again.
COLLECTED_SPEC_IDS = pytest.StashKey[dict[Path, list[str]]]()


def spec_paths(config: pytest.Config) -> list[Path]:
    """The configured spec locations (ini ``rnn_parity_paths``, default ``specs``)."""
    configured: list[Path] = config.getini("rnn_parity_paths")
    return configured or [config.rootpath / "specs"]


def given_paths(config: pytest.Config) -> list[Path] | None:
    """The paths named on the command line (resolved, ``::`` parts cut), or None when
    none was given and pytest collects its own default (testpaths, or the current
    directory)."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return None
    base = config.invocation_params.dir
    return [(base / arg.split("::")[0]).resolve() for arg in config.args]


def covers(paths: Iterable[Path], target: Path) -> bool:
    """Whether ``target`` is one of ``paths`` or lies under one (all resolved)."""
    return any(path == target or path in target.parents for path in paths)


def spec_paths_to_add(config: pytest.Config) -> list[Path]:
    """The spec paths a run without paths collects beside pytest's own default.

    ``--rnn-parity`` adds the specs to what pytest collects anyway (as pytest-mypy adds
    its checks): with no path given, pytest's ``config.args`` (testpaths, or the current
    directory) plus each existing spec path not already under one of them. Paths that do
    not exist are left out (the header says so).
    """
    base = config.invocation_params.dir
    default = [(base / arg.split("::")[0]).resolve() for arg in config.args]
    return [
        path for path in spec_paths(config) if path.exists() and not covers(default, path.resolve())
    ]


def missing_spec_paths(config: pytest.Config) -> list[Path]:
    """The spec paths (configured, or the default ``specs``) that do not exist."""
    return [path for path in spec_paths(config) if not path.exists()]


def golden_dir(config: pytest.Config) -> Path:
    """The golden directory (ini ``rnn_parity_golden_dir``, relative to the rootdir)."""
    return config.rootpath / str(config.getini("rnn_parity_golden_dir"))


def golden_dir_problem(config: pytest.Config) -> str | None:
    """Why the golden directory cannot be used, or None.

    It must resolve inside the rootdir (links followed): the orphan clean-up of a full
    ``--snapshot-update`` deletes files under it, and must never reach another
    project's goldens or the rest of the filesystem.
    """
    written = str(config.getini("rnn_parity_golden_dir"))
    root = config.rootpath.resolve()
    resolved = golden_dir(config).resolve()
    if resolved == root or root in resolved.parents:
        return None
    return (
        f"rnn_parity_golden_dir = {written} resolves to {resolved}, outside the rootdir"
        f" {root}; name a directory inside the project"
    )


def is_spec_path(path: Path, spec_paths: Iterable[Path], args: Sequence[str]) -> bool:
    """A YAML file is a spec when it lies under a spec path or was named on the command line."""
    resolved = path.resolve()
    for root in spec_paths:
        root = root.resolve()
        if resolved == root or root in resolved.parents:
            return True
    for arg in args:
        candidate = Path(arg.split("::")[0])
        if candidate.suffix in (".yaml", ".yml") and candidate.resolve() == resolved:
            return True
    return False


def report_file(config: pytest.Config) -> Path | None:
    """Where ``--rnn-parity-report=PATH`` writes (relative to the invocation directory)."""
    given = config.getoption("rnn_parity_report")
    if not given:
        return None
    path = Path(given)
    return path if path.is_absolute() else config.invocation_params.dir / path


def report_file_problem(config: pytest.Config) -> str | None:
    """Why the JSON report could not be written at the end of the run, or None.

    Checked at the start, so that a run does not do all its work for nothing: the
    path must not be a directory, and the nearest existing folder above it must be a
    writable directory.
    """
    path = report_file(config)
    if path is None:
        return None
    option = f"--rnn-parity-report={config.getoption('rnn_parity_report')}"
    if path.is_dir():
        return f"{option}: {path} is a directory; name a file, such as {path / 'rnn-parity.json'}"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{option}: {folder} is not a directory"
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"{option}: cannot write into {folder} (permission denied or a read-only file system)"
        )
    return None


def ini_timeout(config: pytest.Config) -> float | None:
    """The ini ``rnn_parity_timeout`` in seconds, or None (no limit; also when invalid,
    which :func:`timeout_problem` refuses at the start)."""
    written = str(config.getini("rnn_parity_timeout")).strip()
    if not written:
        return None
    try:
        seconds = float(written)
    except ValueError:
        return None
    return seconds if 0 < seconds <= MAX_TIMEOUT else None


def timeout_problem(config: pytest.Config) -> str | None:
    """Why the ini ``rnn_parity_timeout`` cannot be used, or None."""
    written = str(config.getini("rnn_parity_timeout")).strip()
    if not written or ini_timeout(config) is not None:
        return None
    return (
        f"rnn_parity_timeout = {written}: expected a number of seconds above 0 and at most"
        f" {MAX_TIMEOUT}"
    )
