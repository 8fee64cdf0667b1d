"""What happens once per ``pytest --rnn-parity`` session, for the hooks in ``plugin.py``.

At the start the bare command is pointed at the spec paths; after collection two
specs that would write one golden are refused; at the end the JSON report is written
and goldens whose spec is gone are listed, and removed only by a full update.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_rnnparity.collection import records
from pytest_rnnparity.collection.config import (
    COLLECTED_SPEC_IDS,
    golden_dir,
    golden_dir_problem,
    report_file,
    report_file_problem,
    spec_paths,
    timeout_problem,
)
from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.golden.files import atomic_write_text
from pytest_rnnparity.golden.orphans import Orphan, find_orphans, is_spec_golden, remove_orphans
from pytest_rnnparity.report.summary import (
    build_report,
    orphan_lines,
    session_error_line,
    summary_lines,
)
from pytest_rnnparity.spec import display_path, load_specs

#: Orphaned goldens found at session finish, and whether they were removed.
ORPHANS = pytest.StashKey[tuple[list[Orphan], bool]]()
#: The JSON report built at session finish.
REPORT = pytest.StashKey[dict[str, Any]]()
#: What went wrong in the session's own work at its finish, one line each.
ERRORS = pytest.StashKey[list[str]]()


def configure(config: pytest.Config) -> None:
    """Refuse unusable settings (one line each, before anything runs), gather records,
    and point a bare ``pytest --rnn-parity`` at the spec paths."""
    for problem in (
        golden_dir_problem(config),
        report_file_problem(config),
        timeout_problem(config),
    ):
        if problem is not None:
            raise pytest.UsageError(problem)
    records.register(config)
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = [str(path) for path in spec_paths(config)]


def refuse_golden_clashes(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every golden item whose golden path another collected item already owns."""
    from pytest_rnnparity.collection.items import GoldenItem

    owners: dict[Path, GoldenItem] = {}
    for item in items:
        if isinstance(item, GoldenItem):
            # by item, not node id: two items with one node id must not share a golden either
            owner = owners.setdefault(item.golden_path, item)
            if owner is not item:
                item.clash = (
                    f"{display_path(item.golden_path, config.rootpath)} is already the golden "
                    f"of {owner.nodeid}; give one of the two specs another name: or file name"
                )


def header_lines(config: pytest.Config) -> list[str]:
    """``rnn-parity: specs in specs; goldens in golden``."""
    paths = ", ".join(display_path(p, config.rootpath) for p in spec_paths(config))
    golden = config.getini("rnn_parity_golden_dir")
    return [f"rnn-parity: specs in {paths}; goldens in {golden}"]


def is_full_run(session: pytest.Session, exitstatus: int | pytest.ExitCode) -> bool:
    """Whether this run saw every spec and passed: only then may orphans be removed."""
    config = session.config
    return (
        exitstatus == pytest.ExitCode.OK
        and session.testscollected > 0
        and not config.getoption("collectonly")
        and config.args_source != pytest.Config.ArgsSource.ARGS
        and not config.getoption("keyword")
        and not config.getoption("markexpr")
        and not config.getoption("deselect", None)
        and not config.getoption("lf", False)
        and not config.getoption("stepwise", False)
    )


def finish(session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
    """Write the JSON report; find orphaned goldens, removing them on a full update.

    What fails here (the report cannot be written, an orphan cannot be removed) is one
    line in the run's summary and fails the run; it never ends the session with a
    traceback.
    """
    config = session.config
    errors: list[str] = []
    report = build_report(config.stash[records.RECORDS].records)
    config.stash[REPORT] = report
    path = report_file(config)
    if path is not None:
        try:
            atomic_write_text(path, json.dumps(report, indent=2, sort_keys=True) + "\n")
        except OSError as error:
            option = f"--rnn-parity-report={config.getoption('rnn_parity_report')}"
            errors.append(session_error_line(option, "cannot write the report", error))
    root = config.rootpath
    collected = config.stash.get(COLLECTED_SPEC_IDS, {})

    def spec_ids(path: Path) -> list[str]:
        known = collected.get(path.resolve())
        return known if known is not None else [spec.id for spec in load_specs(path, root=root)]

    directory = golden_dir(config)
    try:
        orphans = find_orphans(
            directory, spec_paths(config), root, load=spec_ids, owned=is_spec_golden
        )
    except (OSError, SpecError) as error:
        orphans = []
        errors.append(
            session_error_line(
                display_path(directory, root), "cannot look for goldens without a spec", error
            )
        )
    remove = bool(
        orphans and config.getoption("update_snapshots", False) and is_full_run(session, exitstatus)
    )
    if remove:
        kept = remove_orphans(orphans, directory)
        orphans = [orphan for orphan in orphans if orphan.path not in {k.path for k in kept}]
        errors += [f"{display_path(k.path, root)}: {k.reason}" for k in kept]
    config.stash[ORPHANS] = (orphans, remove)
    config.stash[ERRORS] = errors
    if errors and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def summary_sections(config: pytest.Config) -> list[tuple[str, list[str]]]:
    """The end-of-run sections: the verdict summary, then goldens without a spec."""
    sections: list[tuple[str, list[str]]] = []
    report = config.stash.get(REPORT, None)
    if report is not None and report["summary"]["specs"]:
        sections.append(("rnn-parity summary", summary_lines(report)))
    orphans, removed = config.stash.get(ORPHANS, ([], False))
    if orphans:
        sections.append(
            ("rnn-parity goldens without a spec", orphan_lines(orphans, removed, config.rootpath))
        )
    errors = config.stash.get(ERRORS, [])
    if errors:
        sections.append(("rnn-parity errors", errors))
    return sections
