"""Records of the spec items' verdicts, gathered from test reports for the JSON report.

Every spec item records its kind and its spec's id as ``rnn_parity.*`` user properties
when it is collected, and its figures when it ran (see
:mod:`pytest_rnnparity.report.summary`); test reports carry them to the controlling
process under pytest-xdist too, so the collector registered here sees every worker's
items, whether they passed, failed in setup, were skipped or failed in teardown.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from pytest_rnnparity.report.summary import PREFIX, item_record

#: The records of this session, gathered as reports arrive.
RECORDS = pytest.StashKey["RecordCollector"]()


def skip_reason(report: pytest.TestReport) -> str:
    """``use_cudnn needs a GPU``: why a skipped report was skipped (pytest's prefix cut)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")


#: The line pytest-xdist puts first in a worker's failure: ``[gw0] linux -- Python 3.11.7 ...``.
_XDIST_WORKER_LINE = re.compile(r"\A\[gw\d+\] [^\n]* -- Python [^\n]*\n")


def failure_text(report: pytest.TestReport) -> str:
    """The failure as pytest shows it, without pytest-xdist's worker line."""
    return _XDIST_WORKER_LINE.sub("", report.longreprtext, count=1)


class RecordCollector:
    """Registered with ``--rnn-parity``: one record per spec item, from its test reports."""

    def __init__(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records so far, one per item, in the order the items reported."""
        return list(self._records.values())

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep each spec item's outcome: its call, or the setup that failed or skipped,
        or a teardown that failed after the item passed."""
        properties = [p for p in report.user_properties if str(p[0]).startswith(PREFIX)]
        if not properties:
            return  # not a spec item: an ordinary test records nothing of ours
        if report.passed and report.when != "call":
            return
        earlier = self._records.get(report.nodeid)
        if report.when == "teardown" and earlier is not None and earlier["outcome"] != "passed":
            return  # the item's own failure or skip says more than its teardown's
        message: str | None
        if report.skipped and not hasattr(report, "wasxfail"):
            message = skip_reason(report)
        else:
            message = failure_text(report) if report.failed else None
        self._records[report.nodeid] = item_record(
            report.nodeid,
            report.outcome,
            properties,
            message=message,
            wasxfail=getattr(report, "wasxfail", None),
        )


def register(config: pytest.Config) -> None:
    """Start gathering records for this session."""
    config.stash[RECORDS] = RecordCollector()
    config.pluginmanager.register(config.stash[RECORDS], "rnn-parity-records")
