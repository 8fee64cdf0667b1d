"""collection/records.py: the records of the JSON report, gathered from test reports."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from pytest_rnnparity.collection.records import RECORDS, RecordCollector
from pytest_rnnparity.report.summary import golden_properties

Outcome = Literal["passed", "failed", "skipped"]
When = Literal["setup", "call", "teardown"]


def report(
    nodeid: str,
    when: When = "call",
    outcome: Outcome = "passed",
    properties: list[tuple[str, object]] | None = None,
) -> pytest.TestReport:
    return pytest.TestReport(
        nodeid=nodeid,
        location=(nodeid.split("::")[0], 0, nodeid),
        keywords={},
        outcome=outcome,
        longrepr=None,
        when=when,
        user_properties=properties or [],
    )


def collected(*reports: pytest.TestReport) -> list[dict[str, Any]]:
    collector = RecordCollector()
    for each in reports:
        collector.pytest_runtest_logreport(each)
    return collector.records


def test_the_call_of_a_spec_item_is_recorded_with_its_properties() -> None:
    properties = [*golden_properties("match"), ("note", "not ours")]
    assert collected(
        report("specs/x.yaml::x::golden", "setup"),
        report("specs/x.yaml::x::golden", "call", properties=properties),
        report("specs/x.yaml::x::golden", "teardown"),
    ) == [
        {
            "nodeid": "specs/x.yaml::x::golden",
            "outcome": "passed",
            "kind": "golden",
            "verdict": "match",
        }
    ]


def test_items_that_recorded_nothing_still_count_as_parity_or_golden() -> None:
    assert collected(
        report("specs/x.yaml::x::parity", outcome="failed"),
        report("specs/x.yaml::x::golden", outcome="skipped"),
    ) == [
        {
            "nodeid": "specs/x.yaml::x::parity",
            "outcome": "failed",
            "kind": "parity",
            "verdict": "error",
        },
        {
            "nodeid": "specs/x.yaml::x::golden",
            "outcome": "skipped",
            "kind": "golden",
            "verdict": "error",
        },
    ]


def test_a_failed_setup_is_recorded_a_passed_one_is_not() -> None:
    assert collected(
        report("specs/x.yaml::x::parity", "setup", outcome="passed"),
        report("specs/y.yaml::y::parity", "setup", outcome="failed"),
    ) == [
        {
            "nodeid": "specs/y.yaml::y::parity",
            "outcome": "failed",
            "kind": "parity",
            "verdict": "error",
        }
    ]


def test_teardowns_and_other_tests_are_ignored() -> None:
    assert (
        collected(
            report("specs/x.yaml::x::parity", "teardown", outcome="failed"),
            report("tests/test_model.py::test_gru"),
            report("tests/test_model.py::test_gru", "setup", outcome="failed"),
            report("tests/test_model.py::test_lstm", properties=[("owner", "me")]),
        )
        == []
    )


def test_a_test_that_recorded_rnn_parity_properties_is_recorded() -> None:
    # a candidate or torch item, or a test using the rnn_parity fixture
    properties: list[tuple[str, object]] = [("rnn_parity.kind", "candidate")]
    assert collected(report("specs/x.yaml::x::candidate", properties=properties)) == [
        {
            "nodeid": "specs/x.yaml::x::candidate",
            "outcome": "passed",
            "kind": "candidate",
            "verdict": "pass",
        }
    ]


def test_register_stashes_and_registers_one_collector(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfigure("--rnn-parity")
    collector = config.stash[RECORDS]
    assert isinstance(collector, RecordCollector)
    assert config.pluginmanager.get_plugin("rnn-parity-records") is collector
    assert collector.records == []
