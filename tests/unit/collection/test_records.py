"""collection/records.py: the records of the JSON report, gathered from test reports."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from pytest_rnnparity.collection.records import RECORDS, RecordCollector
from pytest_rnnparity.report.summary import golden_properties, identity_properties

Outcome = Literal["passed", "failed", "skipped"]
When = Literal["setup", "call", "teardown"]


def report(
    nodeid: str,
    when: When = "call",
    outcome: Outcome = "passed",
    properties: list[tuple[str, object]] | None = None,
    longrepr: object = None,
) -> pytest.TestReport:
    return pytest.TestReport(
        nodeid=nodeid,
        location=(nodeid.split("::")[0], 0, nodeid),
        keywords={},
        outcome=outcome,
        longrepr=longrepr,  # type: ignore[arg-type]
        when=when,
        user_properties=properties or [],
    )


def collected(*reports: pytest.TestReport) -> list[dict[str, Any]]:
    collector = RecordCollector()
    for each in reports:
        collector.pytest_runtest_logreport(each)
    return collector.records


#: What every spec item records from collection on.
GOLDEN = identity_properties("golden", "x")
PARITY = identity_properties("parity", "x")


def test_the_call_of_a_spec_item_is_recorded_with_its_properties() -> None:
    properties = [*GOLDEN, *golden_properties("match"), ("note", "not ours")]
    assert collected(
        report("specs/x.yaml::x::golden", "setup", properties=GOLDEN),
        report("specs/x.yaml::x::golden", "call", properties=properties),
        report("specs/x.yaml::x::golden", "teardown", properties=properties),
    ) == [
        {
            "nodeid": "specs/x.yaml::x::golden",
            "outcome": "passed",
            "kind": "golden",
            "spec": "x",
            "status": "passed",
            "verdict": "match",
        }
    ]


def test_items_that_recorded_nothing_but_their_kind_still_count() -> None:
    skipped = ("specs/x.yaml", 3, "Skipped: use_cudnn needs a GPU")
    assert collected(
        report("specs/x.yaml::x::parity", outcome="failed", properties=PARITY, longrepr="boom"),
        report("specs/x.yaml::x::parity[use_cudnn=true]", "call", "skipped", PARITY, skipped),
    ) == [
        {
            "nodeid": "specs/x.yaml::x::parity",
            "outcome": "failed",
            "kind": "parity",
            "spec": "x",
            "status": "error",
            "verdict": "error",
            "message": "boom",
        },
        {
            "nodeid": "specs/x.yaml::x::parity[use_cudnn=true]",
            "outcome": "skipped",
            "kind": "parity",
            "spec": "x",
            "status": "skipped",
            "verdict": "skipped",
            "reason": "use_cudnn needs a GPU",
        },
    ]


def test_a_failed_or_skipped_setup_is_recorded_a_passed_one_is_not() -> None:
    candidate = identity_properties("candidate", "y")
    skipped = ("specs/z.yaml", 3, "Skipped: the spec did not run")
    assert collected(
        report("specs/x.yaml::x::parity", "setup", properties=PARITY),
        report("specs/y.yaml::y::candidate", "setup", "failed", candidate, "fixture 'x'"),
        report("specs/z.yaml::z::torch", "setup", "skipped", PARITY, skipped),
    ) == [
        {
            "nodeid": "specs/y.yaml::y::candidate",
            "outcome": "failed",
            "kind": "candidate",
            "spec": "y",
            "status": "error",
            "verdict": "error",
            "message": "fixture 'x'",
        },
        {
            "nodeid": "specs/z.yaml::z::torch",
            "outcome": "skipped",
            "kind": "parity",
            "spec": "x",
            "status": "skipped",
            "verdict": "skipped",
            "reason": "the spec did not run",
        },
    ]


def test_a_failed_teardown_turns_a_passed_item_into_an_error_only() -> None:
    records = collected(
        report("specs/x.yaml::x::parity", properties=PARITY),
        report("specs/x.yaml::x::parity", "teardown", "failed", PARITY, "clear_session"),
        report("specs/x.yaml::x::golden", "call", "failed", GOLDEN, "drift"),
        report("specs/x.yaml::x::golden", "teardown", "failed", GOLDEN, "clear_session"),
    )
    assert [(r["nodeid"], r["status"], r["message"]) for r in records] == [
        ("specs/x.yaml::x::parity", "error", "clear_session"),
        ("specs/x.yaml::x::golden", "error", "drift"),
    ]


def test_other_tests_are_ignored() -> None:
    assert (
        collected(
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
            "status": "passed",
            "verdict": "pass",
        }
    ]


def test_register_stashes_and_registers_one_collector(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfigure("--rnn-parity")
    collector = config.stash[RECORDS]
    assert isinstance(collector, RecordCollector)
    assert config.pluginmanager.get_plugin("rnn-parity-records") is collector
    assert collector.records == []
