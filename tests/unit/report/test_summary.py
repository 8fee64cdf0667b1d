"""report/summary.py: item properties, report records and the summary text (pure)."""

from __future__ import annotations

import json

import numpy as np

from pytest_rnnparity.check.compare import compare
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.golden.drift import Drift
from pytest_rnnparity.report.summary import (
    build_report,
    golden_properties,
    item_record,
    parity_properties,
    summary_lines,
)

TOL = Tolerance(1e-6, 1e-5)


def _comparison(layer: str, quantity: str, error: float) -> object:
    return compare(
        np.zeros(3), np.full(3, error), TOL, layer=layer, quantity=quantity, axes=("unit",)
    )


def test_parity_properties_keep_the_largest_error_per_layer_and_quantity() -> None:
    comparisons = [_comparison("gru", "hidden", 2e-7), _comparison("dense", "output", 3e-7)]
    properties = dict(parity_properties(comparisons, ok=True))  # type: ignore[arg-type]
    assert properties["rnn_parity.kind"] == "parity"
    assert properties["rnn_parity.verdict"] == "pass"
    assert float(properties["rnn_parity.max_abs_error"]) == 3e-7
    assert json.loads(properties["rnn_parity.max_errors"]) == {
        "dense/output": 3e-7,
        "gru/hidden": 2e-7,
    }


def test_golden_properties_locate_the_largest_drift() -> None:
    drift = Drift(
        comparisons=(
            _comparison("reference/gru/forward/update", "rows", 0.25),  # type: ignore[arg-type]
            _comparison("reference/gru/forward/update", "summary", 0.5),  # type: ignore[arg-type]
            _comparison("keras/gru/output", "rows", 0.0),  # type: ignore[arg-type]
        )
    )
    properties = dict(golden_properties("drift", drift))
    assert properties["rnn_parity.verdict"] == "drift"
    assert float(properties["rnn_parity.max_drift"]) == 0.5
    assert properties["rnn_parity.drift_where"] == "reference/gru/forward/update"
    assert json.loads(properties["rnn_parity.drift"]) == {"reference/gru/forward/update": 0.5}


def test_an_item_that_recorded_nothing_still_counts() -> None:
    assert item_record("specs/a.yaml::a::parity", "failed", []) == {
        "nodeid": "specs/a.yaml::a::parity",
        "outcome": "failed",
        "kind": "parity",
        "verdict": "error",
    }
    assert item_record("specs/a.yaml::a::golden", "passed", [("other", "x")])["kind"] == "golden"


def test_report_summary_and_lines() -> None:
    records = [
        item_record("specs/a.yaml::a::parity", "passed", parity_properties([], ok=True)),
        item_record("specs/a.yaml::a::golden", "passed", golden_properties("match")),
        item_record("specs/b.yaml::b::parity", "failed", parity_properties([], ok=False)),
        item_record(
            "specs/b.yaml::b::golden",
            "failed",
            golden_properties(
                "drift",
                Drift(comparisons=(_comparison("keras/gru/output", "rows", 0.125),)),  # type: ignore[arg-type]
            ),
        ),
    ]
    report = build_report(records)
    assert report["summary"] == {
        "specs": 2,
        "parity_checked": 2,
        "parity_failed": 1,
        "goldens_checked": 2,
        "drifted": 1,
        "largest_drift": {
            "item": "specs/b.yaml::b::golden",
            "where": "keras/gru/output",
            "max_abs": 0.125,
        },
    }
    assert summary_lines(report) == [
        "2 spec(s): parity failed in 1 of 2, 1 of 2 golden(s) drifted",
        "largest drift 1.25e-01 in keras/gru/output (specs/b.yaml::b::golden)",
    ]
