"""What happens once per ``pytest --rnn-parity`` session, for the hooks in ``plugin.py``.

At the start the spec paths are added to what pytest collects anyway (with no path
given); after collection two specs that would write one golden are refused; at the end
the JSON report is written and goldens whose spec is gone are listed, and removed only
by a full update.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_rnnparity.collection import records
from pytest_rnnparity.collection.config import (
    COLLECTED_SPEC_IDS,
    covers,
    given_paths,
    golden_dir,
    golden_dir_problem,
    missing_spec_paths,
    report_file,
    report_file_problem,
    spec_paths,
    spec_paths_to_add,
    timeout_problem,
)
from pytest_rnnparity.collection.state import command_path
from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.golden.files import atomic_write_text
from pytest_rnnparity.golden.orphans import (
    Orphan,
    find_orphans,
    is_spec_golden,
    remove_orphans,
    same_content_goldens,
)
from pytest_rnnparity.report.summary import (
    build_report,
    orphan_lines,
    report_text,
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
    and add the spec paths to what a ``pytest --rnn-parity`` without paths collects."""
    for problem in (
        golden_dir_problem(config),
        report_file_problem(config),
        timeout_problem(config),
        rootdir_problem(config),
    ):
        if problem is not None:
            raise pytest.UsageError(problem)
    records.register(config)
    if given_paths(config) is None:
        config.args.extend(str(path) for path in spec_paths_to_add(config))


def rootdir_problem(config: pytest.Config) -> str | None:
    """Why the specs cannot be found from here, or None.

    Without a configuration file pytest takes the current directory as the rootdir: run
    from inside ``specs/``, it would look for ``specs/specs`` and keep goldens in
    ``specs/golden``. That is refused, naming the directory to run from.
    """
    root = config.rootpath
    configured = bool(config.getini("rnn_parity_paths"))
    if config.inipath is not None or configured or given_paths(config) is not None:
        return None
    if root.name != "specs" or (root / "specs").exists():
        return None
    return (
        f"rnn-parity: pytest found no configuration file, so it took the current directory"
        f" {root} as the rootdir, and it is a spec directory itself: run pytest --rnn-parity"
        f" from {root.parent}, or give that directory a pytest.ini"
    )


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
    """``rnn-parity: specs in specs, collected with pytest's own tests; goldens in golden``.

    Says where the specs are, and what is collected: with no path given the specs run
    beside every test pytest collects anyway; with paths, the specs among them.
    """
    root = config.rootpath
    golden = config.getini("rnn_parity_golden_dir")
    missing = missing_spec_paths(config)
    present = [p for p in spec_paths(config) if p not in missing]
    where = ", ".join(display_path(p, root) for p in present)
    if not present:
        text = "no spec directory"
    elif given_paths(config) is None:
        text = f"specs in {where}, collected with pytest's own tests"
    else:
        text = f"specs in {where}; the given paths select which run"
    if missing:
        gone = ", ".join(display_path(p, root) for p in missing)
        text += f" ({gone}: not found"
        if config.inipath is None and not config.getini("rnn_parity_paths"):
            text += f"; no configuration file, so the rootdir is the current directory {root}"
        text += ")"
    return [f"rnn-parity: {text}; goldens in {golden}"]


def covers_every_spec_path(config: pytest.Config) -> bool:
    """Whether the run collects every spec: each spec path exists, and no path was given or
    the paths given hold each spec path (``pytest --rnn-parity specs``)."""
    given = given_paths(config)
    every = spec_paths(config)
    if not all(path.exists() for path in every):
        return False  # a spec directory that is not there makes every golden look orphaned
    return given is None or all(covers(given, path.resolve()) for path in every)


def is_full_run(session: pytest.Session, exitstatus: int | pytest.ExitCode) -> bool:
    """Whether this run saw every spec and passed: only then may orphans be removed."""
    config = session.config
    return (
        exitstatus == pytest.ExitCode.OK
        and session.testscollected > 0
        and not config.getoption("collectonly")
        and covers_every_spec_path(config)
        and not config.getoption("keyword")
        and not config.getoption("markexpr")
        and not config.getoption("deselect", None)
        and not config.getoption("lf", False)
        and not config.getoption("stepwise", False)
    )


def spec_id_loader(config: pytest.Config) -> Callable[[Path], list[str]]:
    """``load(path) -> spec ids``: the ids collected this session, else read from the file."""
    collected = config.stash.get(COLLECTED_SPEC_IDS, {})

    def spec_ids(path: Path) -> list[str]:
        known = collected.get(path.resolve())
        if known is not None:
            return known
        return [spec.id for spec in load_specs(path, root=config.rootpath)]

    return spec_ids


def moved_golden_hints(
    config: pytest.Config, golden_path: Path, spec_hash: str
) -> list[tuple[str, str, str]]:
    """For a spec whose golden is missing: each orphaned golden of the same spec content
    (its spec file renamed), why it is an orphan, and the command that moves it into
    place from where pytest was started."""
    directory = golden_dir(config)
    candidates = same_content_goldens(directory, spec_hash, exclude=golden_path)
    if not candidates:
        return []
    root, start = config.rootpath, config.invocation_params.dir
    try:
        orphans = find_orphans(
            directory, spec_paths(config), root, load=spec_id_loader(config), owned=is_spec_golden
        )
    except (OSError, SpecError):
        return []
    reasons = {orphan.path: orphan.reason for orphan in orphans}
    hints = []
    for path in candidates:
        if path in reasons:
            target = command_path(golden_path, start)
            move = f"mv {command_path(path, start)} {target}"
            if not golden_path.parent.exists():
                move = f"mkdir -p {command_path(golden_path.parent, start)} && {move}"
            hints.append((display_path(path, root), reasons[path], move))
    return hints


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
            atomic_write_text(path, report_text(report))
        except OSError as error:
            option = f"--rnn-parity-report={config.getoption('rnn_parity_report')}"
            errors.append(session_error_line(option, "cannot write the report", error))
    root = config.rootpath
    directory = golden_dir(config)
    try:
        orphans = find_orphans(
            directory, spec_paths(config), root, load=spec_id_loader(config), owned=is_spec_golden
        )
    except (OSError, SpecError) as error:
        orphans = []
        errors.append(
            session_error_line(
                display_path(directory, root), "cannot look for goldens without a spec", error
            )
        )
    remove = bool(
        orphans
        and report["summary"]["items"]  # at least one spec item ran
        and config.getoption("update_snapshots", False)
        and is_full_run(session, exitstatus)
    )
    if remove:
        kept = remove_orphans(orphans, directory)
        orphans = [orphan for orphan in orphans if orphan.path not in {k.path for k in kept}]
        errors += [f"{display_path(k.path, root)}: {k.reason}" for k in kept]
    config.stash[ORPHANS] = (orphans, remove)
    config.stash[ERRORS] = errors
    if errors and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def no_spec_line(config: pytest.Config) -> str:
    """Why no spec item ran, in one line, with what would run them."""
    root = config.rootpath
    present = [p for p in spec_paths(config) if p.exists()]
    if not present:
        where = ", ".join(display_path(p, root) for p in spec_paths(config))
        return (
            f"no spec ran: {where} not found; set rnn_parity_paths or name spec files as arguments"
        )
    where = ", ".join(display_path(p, root) for p in present)
    if not covers_every_spec_path(config):
        return (
            f"no spec ran: the paths given hold none (specs are in {where});"
            " pytest --rnn-parity with no path runs them with the tests"
        )
    return f"no spec ran (specs are in {where}): none was selected"


def summary_sections(config: pytest.Config) -> list[tuple[str, list[str]]]:
    """The end-of-run sections: the verdict summary, then goldens without a spec."""
    sections: list[tuple[str, list[str]]] = []
    report = config.stash.get(REPORT, None)
    if report is not None and report["summary"]["specs"]:
        sections.append(("rnn-parity summary", summary_lines(report)))
    elif report is not None and not config.getoption("collectonly"):
        sections.append(("rnn-parity summary", [no_spec_line(config)]))
    orphans, removed = config.stash.get(ORPHANS, ([], False))
    if orphans:
        sections.append(
            ("rnn-parity goldens without a spec", orphan_lines(orphans, removed, config.rootpath))
        )
    errors = config.stash.get(ERRORS, [])
    if errors:
        sections.append(("rnn-parity errors", errors))
    return sections
