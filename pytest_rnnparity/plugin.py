"""pytest entry point (``pytest11``): options, ini keys and hooks, each delegating.

Inert unless ``--rnn-parity`` is given: without it nothing is collected and neither
TensorFlow nor the spec machinery is imported. With it, the specs are collected beside
whatever pytest collects anyway. What each hook does lives in
:mod:`pytest_rnnparity.collection` (imported lazily).
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_rnnparity.collection.fixture import RnnParity

SPEC_SUFFIXES = (".yaml", ".yml")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the rnn-parity options and ini keys."""
    group = parser.getgroup("rnn-parity", "Keras recurrent model parity (pytest-rnnparity)")
    group.addoption(
        "--rnn-parity",
        action="store_true",
        default=False,
        dest="rnn_parity",
        help="also collect the YAML specs (ini rnn_parity_paths, default 'specs'), beside "
        "the tests pytest collects anyway, and check each model against the NumPy "
        "reference and its golden file; 'pytest --rnn-parity specs' runs the specs alone",
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
    parser.addini(
        "rnn_parity_timeout",
        type="string",
        default="",
        help="seconds each rnn-parity item may run; one that runs longer fails with the "
        "time it took (a spec's timeout: overrides it); default: no limit",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Add the spec paths to what a ``pytest --rnn-parity`` without paths collects."""
    if not config.getoption("rnn_parity"):
        return
    from pytest_rnnparity.collection import session

    session.configure(config)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect ``*.yaml``/``*.yml`` files under the spec paths (or named on the command line)."""
    config = parent.config
    if not config.getoption("rnn_parity") or file_path.suffix not in SPEC_SUFFIXES:
        return None
    from pytest_rnnparity.collection.config import is_spec_path, spec_paths
    from pytest_rnnparity.collection.nodes import SpecFile

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
    from pytest_rnnparity.collection import session

    session.refuse_golden_clashes(config, items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """With pytest-html, a failing parity or golden item shows its figures in the report."""
    report = yield
    if report.failed and item.config.getoption("rnn_parity"):
        from pytest_rnnparity.collection.html import attach_extras

        attach_extras(item, call, report)
    return report


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Name the spec paths and golden directory when ``--rnn-parity`` is on."""
    if not config.getoption("rnn_parity"):
        return None
    from pytest_rnnparity.collection import session

    return session.header_lines(config)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the JSON report; list goldens whose spec is gone, removing them on a full update."""
    if not session.config.getoption("rnn_parity") or hasattr(session.config, "workerinput"):
        return
    from pytest_rnnparity.collection import session as rnn_session

    rnn_session.finish(session, exitstatus)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Summarize verdicts and drift; list goldens whose spec is gone."""
    if not config.getoption("rnn_parity"):
        return
    from pytest_rnnparity.collection import session

    for title, lines in session.summary_sections(config):
        terminalreporter.write_sep("-", title)
        for line in lines:
            terminalreporter.write_line(line)
