"""Records of the spec items' verdicts, gathered from test reports for the JSON report.

Items record ``rnn_parity.*`` user properties (see :mod:`pytest_rnnparity.report.summary`);
test reports carry them to the controlling process under pytest-xdist too, so the
collector registered here sees every worker's items.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_rnnparity.report.summary import PREFIX, item_record

#: The records of this session, gathered as reports arrive.
RECORDS = pytest.StashKey["RecordCollector"]()


class RecordCollector:
    """Registered with ``--rnn-parity``: keeps the rnn-parity properties of test reports."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep the properties of each spec item's call (or of its failed setup)."""
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            properties = [p for p in report.user_properties if str(p[0]).startswith(PREFIX)]
            if properties or report.nodeid.endswith(("::parity", "::golden")):
                self.records.append(item_record(report.nodeid, report.outcome, properties))


def register(config: pytest.Config) -> None:
    """Start gathering records for this session."""
    config.stash[RECORDS] = RecordCollector()
    config.pluginmanager.register(config.stash[RECORDS], "rnn-parity-records")
