"""pytest entry point (``pytest11``): options, ini keys, collection hook, fixtures. Hooks only.

Inert unless ``--rnn-parity`` is given: without it nothing is collected and
neither TensorFlow nor the spec machinery is imported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_rnnparity.collection.fixture import RnnParity

SPEC_SUFFIXES = (".yaml", ".yml")
#: Orphaned goldens found at session finish, and whether they were removed.
ORPHANS = pytest.StashKey[tuple[list[Any], bool]]()
#: Gathers report records of the spec items from test reports (xdist included).
RECORDS = pytest.StashKey["RecordCollector"]()
#: The JSON report built at session finish.
REPORT = pytest.StashKey[dict[str, Any]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the rnn-parity options and ini keys."""
    group = parser.getgroup("rnn-parity", "Keras recurrent model parity (pytest-rnnparity)")
    group.addoption(
        "--rnn-parity",
        action="store_true",
        default=False,
        dest="rnn_parity",
        help="collect the YAML specs (ini rnn_parity_paths, default 'specs') and check each "
        "model against the NumPy reference and its golden file",
    )
    group.addoption(
        "--rnn-parity-report",
        action="store",
        default=None,
        dest="rnn_parity_report",
        metavar="PATH",
        help="write a JSON report of every spec item (verdicts, largest errors per layer, "
        "golden drift, environment) to PATH",
    )
    group.addoption(
        "--rnn-parity-plots",
        action="store",
        default=None,
        dest="rnn_parity_plots",
        metavar="DIR",
        help="for each failing parity item, write PNG heatmaps (reference vs Keras) and the "
        "error over time into DIR/<spec id>/ and name them in the failure report "
        "(needs the 'report' extra)",
    )
    parser.addini(
        "rnn_parity_paths",
        type="paths",
        default=[],
        help="directories (or files) holding rnn-parity specs; default: specs",
    )
    parser.addini(
        "rnn_parity_golden_dir",
        type="string",
        default="golden",
        help="directory of the golden gate-trace files, relative to the rootdir",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Point a bare ``pytest --rnn-parity`` at the spec paths instead of testpaths."""
    if not config.getoption("rnn_parity"):
        return
    config.stash[RECORDS] = RecordCollector()
    config.pluginmanager.register(config.stash[RECORDS], "rnn-parity-records")
    from pytest_rnnparity.collection.nodes import spec_paths

    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = [str(path) for path in spec_paths(config)]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect ``*.yaml``/``*.yml`` files under the spec paths (or named on the command line)."""
    config = parent.config
    if not config.getoption("rnn_parity") or file_path.suffix not in SPEC_SUFFIXES:
        return None
    from pytest_rnnparity.collection.nodes import SpecFile, is_spec_path, spec_paths

    if not is_spec_path(file_path, spec_paths(config), config.invocation_params.args):
        return None
    spec_file: pytest.Collector = SpecFile.from_parent(parent, path=file_path)
    return spec_file


@pytest.fixture
def rnn_parity(request: pytest.FixtureRequest) -> RnnParity:
    """Parity checks (and golden snapshots) from Python tests: ``rnn_parity.check(model, x)``."""
    from pytest_rnnparity.collection.fixture import RnnParity

    return RnnParity(request)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse two collected specs that would write the same golden file."""
    if not config.getoption("rnn_parity"):
        return
    from pytest_rnnparity.collection.nodes import GoldenItem

    owners: dict[Path, str] = {}
    for item in items:
        if isinstance(item, GoldenItem):
            owner = owners.setdefault(item.golden_path, item.nodeid)
            if owner != item.nodeid:
                item.clash = (
                    f"{_relative(item.golden_path, config.rootpath)} is already the golden of "
                    f"{owner}; give one of the two specs another name: or file name"
                )


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Name the spec paths and golden directory when ``--rnn-parity`` is on."""
    if not config.getoption("rnn_parity"):
        return None
    from pytest_rnnparity.collection.nodes import spec_paths

    paths = ", ".join(_relative(p, config.rootpath) for p in spec_paths(config))
    golden = config.getini("rnn_parity_golden_dir")
    return [f"rnn-parity: specs in {paths}; goldens in {golden}"]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _is_full_run(session: pytest.Session, exitstatus: int) -> bool:
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


class RecordCollector:
    """Registered with ``--rnn-parity``: keeps the rnn-parity properties of test reports.

    Reports reach the xdist controller too, so the JSON report covers every worker.
    """

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep the properties of each spec item's call (or of its failed setup)."""
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            properties = [p for p in report.user_properties if str(p[0]).startswith(PREFIX)]
            if properties or report.nodeid.endswith(("::parity", "::golden")):
                from pytest_rnnparity.report.summary import item_record

                self.records.append(item_record(report.nodeid, report.outcome, properties))


PREFIX = "rnn_parity."


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the JSON report; list goldens whose spec is gone, removing them on a full update."""
    config = session.config
    if not config.getoption("rnn_parity") or hasattr(config, "workerinput"):
        return
    from pytest_rnnparity.report.summary import build_report

    report = build_report(config.stash[RECORDS].records)
    config.stash[REPORT] = report
    report_path = config.getoption("rnn_parity_report")
    if report_path:
        from pytest_rnnparity.golden.files import atomic_write_text

        path = Path(report_path)
        if not path.is_absolute():
            path = config.invocation_params.dir / path
        atomic_write_text(path, json.dumps(report, indent=2, sort_keys=True) + "\n")
    from pytest_rnnparity.collection.nodes import COLLECTED_SPEC_IDS, golden_dir, spec_paths
    from pytest_rnnparity.golden.orphans import find_orphans
    from pytest_rnnparity.spec import load_specs

    root = config.rootpath
    collected = config.stash.get(COLLECTED_SPEC_IDS, {})

    def spec_ids(path: Path) -> list[str]:
        known = collected.get(path.resolve())
        return known if known is not None else [spec.id for spec in load_specs(path, root=root)]

    orphans = find_orphans(golden_dir(config), spec_paths(config), root, load=spec_ids)
    remove = bool(
        orphans
        and config.getoption("update_snapshots", False)
        and _is_full_run(session, exitstatus)
    )
    if remove:
        for orphan in orphans:
            orphan.path.unlink(missing_ok=True)
            if orphan.path.parent != golden_dir(config) and not any(orphan.path.parent.iterdir()):
                orphan.path.parent.rmdir()
    config.stash[ORPHANS] = (orphans, remove)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Summarize verdicts and drift; list goldens whose spec is gone."""
    report = config.stash.get(REPORT, None)
    if report is not None and report["summary"]["specs"]:
        from pytest_rnnparity.report.summary import summary_lines

        terminalreporter.write_sep("-", "rnn-parity summary")
        for line in summary_lines(report):
            terminalreporter.write_line(line)
    orphans, removed = config.stash.get(ORPHANS, ([], False))
    if not orphans:
        return
    terminalreporter.write_sep("-", "rnn-parity goldens without a spec")
    root = config.rootpath
    for orphan in orphans:
        terminalreporter.write_line(f"{_relative(orphan.path, root)}: {orphan.reason}")
    if removed:
        terminalreporter.write_line(f"removed {len(orphans)} golden file(s).")
    else:
        terminalreporter.write_line(
            "they are kept; a full run of `pytest --rnn-parity --snapshot-update` "
            "(no -k, -m, --deselect, --lf or paths) removes them."
        )
