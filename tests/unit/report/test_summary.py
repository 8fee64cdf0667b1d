"""report/summary.py: item properties, report records and the summary text (pure)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pytest_rnnparity.check.compare import compare
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.golden.drift import Drift
from pytest_rnnparity.report.summary import (
    MESSAGE_CHARS,
    build_report,
    failure_property,
    golden_properties,
    identity_properties,
    item_record,
    merge_reports,
    parity_properties,
    report_schema_text,
    summary_lines,
)

from ..spec.json_schema import SchemaViolation, check_schema

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


def test_golden_properties_name_changed_shapes_not_a_zero_drift() -> None:
    shape = _comparison("keras/lstm/output", "shape", 0.0)
    moved = _comparison("keras/dense/output", "rows", 0.25)
    drift = Drift(
        comparisons=(shape, moved),  # type: ignore[arg-type]
        reshaped={"keras/lstm/output": ((34, 6, 8), (34, 6, 16))},
    )
    properties = dict(golden_properties("drift", drift))
    assert properties["rnn_parity.drift_where"] == "keras/dense/output"
    assert json.loads(properties["rnn_parity.drift"]) == {"keras/dense/output": 0.25}
    assert json.loads(properties["rnn_parity.reshaped"]) == {
        "keras/lstm/output": "34x6x8 -> 34x6x16"
    }
    only_shape = Drift(
        comparisons=(shape,),  # type: ignore[arg-type]
        reshaped={"keras/lstm/output": ((34, 6, 8), (34, 6, 16))},
    )
    properties = dict(golden_properties("drift", only_shape))
    assert properties["rnn_parity.drift_where"] == "keras/lstm/output"
    assert float(properties["rnn_parity.max_drift"]) == 0.0


def test_an_item_that_recorded_nothing_still_counts() -> None:
    assert item_record("specs/a.yaml::a::parity", "failed", [], message="boom") == {
        "nodeid": "specs/a.yaml::a::parity",
        "outcome": "failed",
        "kind": "parity",
        "status": "error",
        "verdict": "error",
        "message": "boom",
    }
    assert item_record("specs/a.yaml::a::golden", "passed", [("other", "x")])["kind"] == "golden"
    assert item_record("specs/a.yaml::a::torch[units=2]", "skipped", [])["kind"] == "torch"


def test_every_item_gets_a_status_and_failures_keep_their_message() -> None:
    spec = identity_properties("golden", "a")
    missing = [*spec, *golden_properties("missing"), failure_property("golden_missing")]
    assert item_record("n", "failed", missing, message="no golden yet") == {
        "nodeid": "n",
        "outcome": "failed",
        "kind": "golden",
        "spec": "a",
        "status": "golden_missing",
        "verdict": "missing",
        "message": "no golden yet",
    }
    skipped = item_record("n", "skipped", spec, message="use_cudnn needs a GPU")
    assert (skipped["status"], skipped["verdict"], skipped["reason"]) == (
        "skipped",
        "skipped",
        "use_cudnn needs a GPU",
    )
    assert "message" not in skipped
    assert item_record("n", "skipped", spec, wasxfail="known")["status"] == "xfailed"
    assert item_record("n", "passed", spec, wasxfail="")["status"] == "xpassed"
    mismatch = [*identity_properties("parity", "a"), failure_property("failed")]
    assert item_record("n", "failed", mismatch, message="x")["status"] == "failed"
    # a status the item did not fail with is not believed: the item passed
    assert item_record("n", "passed", mismatch)["status"] == "passed"
    long = item_record("n", "failed", spec, message="x" * (MESSAGE_CHARS + 5))["message"]
    assert long == "x" * MESSAGE_CHARS + "... (5 more characters)"


def test_nan_and_inf_are_text_in_the_report() -> None:
    properties = [
        ("rnn_parity.max_abs_error", "nan"),
        ("rnn_parity.max_errors", json.dumps({"gru/hidden": float("inf"), "gru/output": 0.5})),
    ]
    record = item_record("n", "failed", properties)
    assert record["max_abs_error"] == "nan"
    assert record["max_errors"] == {"gru/hidden": "inf", "gru/output": 0.5}
    json.dumps(record, allow_nan=False)  # valid JSON


def _records() -> list[dict[str, object]]:
    def spec(kind: str, name: str) -> list[tuple[str, str]]:
        return identity_properties(kind, name)

    drift = Drift(
        comparisons=(_comparison("keras/gru/output", "rows", 0.125),),  # type: ignore[arg-type]
    )
    reshaped = Drift(
        comparisons=(_comparison("keras/gru/output", "shape", 0.0),),  # type: ignore[arg-type]
        reshaped={
            "keras/gru/output": ((8, 4), (8, 16)),
            "reference/gru/forward/hidden": ((8, 2, 4), (8, 2, 16)),
        },
    )
    cudnn = "use_cudnn needs a GPU"
    return [
        item_record(
            "specs/a.yaml::a::parity",
            "passed",
            [*spec("parity", "a"), *parity_properties([], ok=True)],
        ),
        item_record(
            "specs/a.yaml::a::golden", "passed", [*spec("golden", "a"), *golden_properties("match")]
        ),
        item_record(
            "specs/a.yaml::a::parity[use_cudnn=true]", "skipped", spec("parity", "a"), message=cudnn
        ),
        item_record(
            "specs/b.yaml::b::parity[units=2]",
            "failed",
            [
                *spec("parity", "b[units=2]"),
                *parity_properties([], ok=False),
                failure_property("failed"),
            ],
            message="Keras and the float32 reference disagree in 1 of 1 checks.",
        ),
        item_record(
            "specs/b.yaml::b::golden[units=2]",
            "failed",
            [
                *spec("golden", "b[units=2]"),
                *golden_properties("drift", drift),
                failure_property("drifted"),
            ],
            message="Golden drift: ...",
        ),
        item_record(
            "specs/b.yaml::b::golden[units=3]",
            "failed",
            [
                *spec("golden", "b[units=3]"),
                *golden_properties("drift", reshaped),
                failure_property("drifted"),
            ],
            message="Golden drift: ...",
        ),
        item_record(
            "specs/b.yaml::b::parity[units=3-use_cudnn=true]",
            "skipped",
            spec("parity", "b[units=3]"),
            message=cudnn,
        ),
        item_record(
            "specs/b.yaml::b::parity[units=3-backend=jax]",
            "skipped",
            spec("parity", "b[units=3]"),
            message="Keras backend 'jax' is not installed here (pip install jax)",
        ),
        item_record(
            "specs/c.yaml::c::golden",
            "failed",
            [
                *spec("golden", "c"),
                *golden_properties("missing"),
                failure_property("golden_missing"),
            ],
            message="golden/c/c.golden: no golden file yet for spec 'c'.",
        ),
        item_record(
            "specs/d.yaml::spec", "failed", spec("spec", ""), message="specs/d.yaml:7:18: ..."
        ),
    ]


def test_report_counts_every_item_by_status_and_groups_skips() -> None:
    report = build_report(_records())
    summary = report["summary"]
    assert summary == {
        "specs": 5,
        "items": 10,
        "counts": {
            "passed": 2,
            "failed": 1,
            "golden_missing": 1,
            "drifted": 2,
            "error": 1,
            "skipped": 3,
            "xfailed": 0,
            "xpassed": 0,
        },
        "skipped": [
            {
                "reason": "use_cudnn needs a GPU",
                "items": [
                    "specs/a.yaml::a::parity[use_cudnn=true]",
                    "specs/b.yaml::b::parity[units=3-use_cudnn=true]",
                ],
            },
            {
                "reason": "Keras backend 'jax' is not installed here (pip install jax)",
                "items": ["specs/b.yaml::b::parity[units=3-backend=jax]"],
            },
        ],
        "parity_checked": 2,
        "parity_failed": 1,
        "goldens_checked": 4,
        "drifted": 2,
        "largest_drift": {
            "item": "specs/b.yaml::b::golden[units=2]",
            "where": "keras/gru/output",
            "max_abs": 0.125,
        },
    }
    assert sum(summary["counts"].values()) == summary["items"] == len(report["items"])
    assert summary_lines(report) == [
        "5 spec(s), 10 item(s): 2 passed, 1 failed, 1 golden missing, 2 drifted, 1 error,"
        " 3 skipped",
        "largest drift 1.25e-01 in keras/gru/output (specs/b.yaml::b::golden[units=2])",
        "shape changed: keras/gru/output 8x4 -> 8x16 and 1 more array(s)"
        " (specs/b.yaml::b::golden[units=3])",
        "skipped, by reason:",
        "  2  use_cudnn needs a GPU",
        "  1  Keras backend 'jax' is not installed here (pip install jax)",
    ]


def test_the_report_follows_its_json_schema() -> None:
    schema = json.loads(report_schema_text())
    for report in (build_report(_records()), build_report([])):
        check_schema(json.loads(json.dumps(report, allow_nan=False)), schema, schema)
    broken = build_report(_records())
    broken["items"][0]["surprise"] = 1
    with pytest.raises(SchemaViolation):
        check_schema(broken, schema, schema)


def test_a_run_with_two_errors_says_errors() -> None:
    records = [
        item_record("specs/a.yaml::spec", "failed", identity_properties("spec", "")),
        item_record("specs/b.yaml::spec", "failed", identity_properties("spec", "")),
    ]
    assert summary_lines(build_report(records)) == ["2 spec(s), 2 item(s): 2 errors"]


def test_shards_merge_into_the_report_of_one_run() -> None:
    records = _records()
    whole = build_report(records)
    half = len(records) // 2
    shards = [
        ("shard1.json", build_report(records[:half])),
        ("shard2.json", build_report(records[half:])),
    ]
    merged = merge_reports(shards)
    assert merged["summary"] == whole["summary"]
    assert merged == whole


def test_an_item_in_two_shards_is_refused_naming_both() -> None:
    report = build_report(_records()[:1])
    with pytest.raises(ValueError, match="overlap") as raised:
        merge_reports([("a.json", report), ("b.json", report)])
    assert str(raised.value) == (
        "specs/a.yaml::a::parity is in both a.json and b.json: the shards overlap, so it ran twice"
    )


def test_a_file_that_is_not_a_report_is_named() -> None:
    with pytest.raises(ValueError, match="no items list") as raised:
        merge_reports([("notes.json", {"version": 1})])
    assert str(raised.value) == "notes.json: not a --rnn-parity-report file (no items list)"


def test_an_item_without_a_nodeid_is_named_by_its_index() -> None:
    report = build_report(_records()[:1])
    broken = {**report, "items": [*report["items"], {"status": "passed"}]}
    with pytest.raises(ValueError, match="no nodeid") as raised:
        merge_reports([("a.json", broken)])
    assert str(raised.value) == "a.json: items[1] has no nodeid"
