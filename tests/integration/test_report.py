"""The CI report: --rnn-parity-report JSON, junit-xml properties, the end-of-run summary."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from pytest_rnnparity.report.summary import STATUSES, report_schema_text

from .conftest import assert_lines, golden_path, perturb, run, write_spec

#: Every status counted zero.
NONE = dict.fromkeys(STATUSES, 0)


def assert_valid_report(report: dict[str, object]) -> None:
    """The report is strict JSON and follows ``report_schema.json``."""
    from unit.spec.json_schema import check_schema  # tests/ is on sys.path (rootdir conftest)

    schema = json.loads(report_schema_text())
    check_schema(json.loads(json.dumps(report, allow_nan=False)), schema, schema)


def _properties(junit: str) -> dict[str, dict[str, str]]:
    """``{test name: {property: value}}`` of a junit-xml file."""
    root = ET.fromstring(junit)
    return {
        case.get("name", ""): {
            prop.get("name", ""): prop.get("value", "") for prop in case.iter("property")
        }
        for case in root.iter("testcase")
    }


@pytest.mark.parametrize("runner", [(), ("-p", "xdist", "-n", "2")], ids=["plain", "xdist"])
def test_report_and_junit_carry_verdicts_errors_and_drift(
    project: pytest.Pytester, runner: tuple[str, ...]
) -> None:
    write_spec(project, "steady")
    write_spec(project, "moved")
    assert run(project, "--snapshot-update").ret == 0
    perturb(golden_path(project, "moved"), "reference/gru/forward/update", "row 1 t 0", 1, 0.5)

    if runner:
        result = project.runpytest_subprocess(
            "--rnn-parity", "--rnn-parity-report=report.json", "--junitxml=junit.xml", *runner
        )
    else:
        result = run(project, "--rnn-parity-report=report.json", "--junitxml=junit.xml")
    result.assert_outcomes(passed=3, failed=1)

    report = json.loads((project.path / "report.json").read_text())
    assert_valid_report(report)
    summary = report["summary"]
    assert summary == {
        "specs": 2,
        "items": 4,
        "counts": {**NONE, "passed": 3, "drifted": 1},
        "skipped": [],
        "parity_checked": 2,
        "parity_failed": 0,
        "goldens_checked": 2,
        "drifted": 1,
        "largest_drift": {
            "item": "specs/moved.yaml::moved::golden",
            "where": "reference/gru/forward/update",
            "max_abs": summary["largest_drift"]["max_abs"],
        },
    }
    assert summary["largest_drift"]["max_abs"] == pytest.approx(0.5, rel=1e-3)
    items = {item["nodeid"]: item for item in report["items"]}
    assert sorted(items) == [
        "specs/moved.yaml::moved::golden",
        "specs/moved.yaml::moved::parity",
        "specs/steady.yaml::steady::golden",
        "specs/steady.yaml::steady::parity",
    ]
    parity = items["specs/steady.yaml::steady::parity"]
    assert parity["verdict"] == "pass"
    assert set(parity["max_errors"]) == {"gru/hidden", "gru/final hidden", "gru/output"}
    assert all(0 <= value < 1e-5 for value in parity["max_errors"].values())
    assert parity["environment"]["keras_backend"] == "tensorflow"
    moved = items["specs/moved.yaml::moved::golden"]
    assert (moved["outcome"], moved["status"], moved["verdict"]) == ("failed", "drifted", "drift")
    assert moved["message"].startswith(
        "Golden drift: the run no longer matches golden/moved/moved.golden.\n"
    )
    assert moved["drift"]["reference/gru/forward/update"] == pytest.approx(0.5, rel=1e-3)
    assert items["specs/steady.yaml::steady::golden"]["verdict"] == "match"

    properties = _properties((project.path / "junit.xml").read_text())
    assert properties["parity"]["rnn_parity.verdict"] == "pass"
    assert set(json.loads(properties["parity"]["rnn_parity.max_errors"])) == {
        "gru/hidden",
        "gru/final hidden",
        "gru/output",
    }
    verdicts = sorted(
        props["rnn_parity.verdict"] for name, props in properties.items() if name == "golden"
    )
    assert verdicts in (["drift"], ["match"])  # junit keys testcases by name: one survives
    assert_lines(result, "2 spec(s), 4 item(s): 3 passed, 1 drifted")
    result.stdout.re_match_lines(
        [
            r"largest drift 5\.\d\de-01 in reference/gru/forward/update "
            r"\(specs/moved\.yaml::moved::golden\)$"
        ]
    )


def test_created_and_updated_goldens_are_reported(project: pytest.Pytester) -> None:
    write_spec(project, "fresh")
    result = run(project, "--snapshot-update", "--rnn-parity-report=first.json")
    assert result.ret == 0
    first = json.loads((project.path / "first.json").read_text())
    verdicts = {item["nodeid"]: item["verdict"] for item in first["items"]}
    assert verdicts == {
        "specs/fresh.yaml::fresh::golden": "created",
        "specs/fresh.yaml::fresh::parity": "pass",
    }
    perturb(golden_path(project, "fresh"), "keras/gru/output", "row 0", 0, 0.25)
    assert run(project, "--snapshot-update", "--rnn-parity-report=second.json").ret == 0
    second = json.loads((project.path / "second.json").read_text())
    assert {i["nodeid"]: i["verdict"] for i in second["items"]}[
        "specs/fresh.yaml::fresh::golden"
    ] == "updated"


SETUP_CONFTEST = """\
import pytest


@pytest.fixture(autouse=True)
def _setup(request):
    name = request.node.name
    if "unroll" in name:
        pytest.skip("no time for unroll today")
    if "implementation" in name:
        pytest.skip("no time for implementation=1")
    if name.startswith("candidate"):
        raise RuntimeError("the candidate's setup broke")
"""
PORT = """\
import numpy as np


def forward(weights, inputs, initial_state):
    return np.zeros((*inputs.shape[:2], initial_state["hidden"].shape[-1]))
"""
PORTED = "candidate: ports:forward\npaths:\n  - {unroll: true}\n  - {implementation: 1}\n"


@pytest.mark.parametrize("runner", [(), ("-p", "xdist", "-n", "2")], ids=["plain", "xdist"])
def test_every_item_is_counted_skips_by_reason_and_failures_with_their_message(
    project: pytest.Pytester, runner: tuple[str, ...]
) -> None:
    project.makeconftest(SETUP_CONFTEST)
    project.makepyfile(ports=PORT)
    write_spec(project, "ported", PORTED)
    args = ("--rnn-parity", "--rnn-parity-report=report.json", *runner)

    result = project.runpytest_subprocess(*args) if runner else project.runpytest(*args)

    result.assert_outcomes(passed=1, failed=1, skipped=2, errors=1)
    assert_lines(
        result,
        "1 spec(s), 5 item(s): 1 passed, 1 golden missing, 1 error, 2 skipped",
        "skipped, by reason:",
        "  1  no time for implementation=1",
        "  1  no time for unroll today",
    )
    report = json.loads((project.path / "report.json").read_text())
    assert_valid_report(report)
    assert report["summary"]["counts"] == {
        **NONE,
        "passed": 1,
        "golden_missing": 1,
        "error": 1,
        "skipped": 2,
    }
    assert report["summary"]["skipped"] == [
        {
            "reason": "no time for implementation=1",
            "items": ["specs/ported.yaml::ported::parity[implementation=1]"],
        },
        {
            "reason": "no time for unroll today",
            "items": ["specs/ported.yaml::ported::parity[unroll=true]"],
        },
    ]
    items = {item["nodeid"].rsplit("::", 1)[-1]: item for item in report["items"]}
    assert sorted(items) == [
        "candidate",
        "golden",
        "parity",
        "parity[implementation=1]",
        "parity[unroll=true]",
    ]
    assert {name: (i["kind"], i["status"]) for name, i in items.items()} == {
        "candidate": ("candidate", "error"),
        "golden": ("golden", "golden_missing"),
        "parity": ("parity", "passed"),
        "parity[implementation=1]": ("parity", "skipped"),
        "parity[unroll=true]": ("parity", "skipped"),
    }
    assert "RuntimeError: the candidate's setup broke" in items["candidate"]["message"]
    assert items["golden"]["message"] == (
        "golden/ported/ported.golden: no golden file yet for spec 'ported'. Record it with:"
        " pytest --rnn-parity --snapshot-update specs/ported.yaml\n"
        "(spec 'ported' at specs/ported.yaml:9)"
    )
    assert items["parity[unroll=true]"]["reason"] == "no time for unroll today"
    assert all(item["spec"] == "ported" for item in items.values())
