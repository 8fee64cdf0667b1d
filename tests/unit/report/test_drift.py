"""report/drift.py: the drift report and the hash diagnosis, verbatim."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from pytest_rnnparity.golden.drift import compare_goldens
from pytest_rnnparity.golden.format import Golden, dumps, golden_array, loads
from pytest_rnnparity.report.drift import drift_message, hash_diagnosis, missing_golden_message

from ..golden.helpers import TOL, every_row, golden_with

HIDDEN = np.array(
    [
        [[0.125, 0.25], [0.375, 0.5], [0.625, 0.75]],
        [[-0.125, -0.25], [-0.375, -0.5], [-0.625, -0.75]],
    ]
)


def _drifted_pair() -> tuple[Golden, Golden]:
    moved = HIDDEN.copy()
    moved[1, 1, 0] = -0.25  # timestep 1: the first in time order
    moved[0, 2, 1] = 0.875
    output = np.array([[0.5], [-0.25]])
    recorded = Golden(
        meta={"spec": "power-gru", "weights_hash": "a" * 64, "inputs_hash": "c" * 64},
        environment={
            "keras": "3.10.0",
            "keras_backend": "tensorflow",
            "numpy": "2.4.6",
            "tensorflow": "2.19.0",
        },
        arrays={
            "keras/dense/output": golden_array(output, rows=3, summaries=True),
            "reference/gru/forward/hidden": golden_array(HIDDEN, rows=3, summaries=True),
        },
    )
    current = Golden(
        meta={"spec": "power-gru", "weights_hash": "b" * 64, "inputs_hash": "c" * 64},
        environment={
            "keras": "3.15.1",
            "keras_backend": "tensorflow",
            "numpy": "2.4.6",
            "tensorflow": "2.21.0",
        },
        arrays={
            "keras/dense/output": golden_array(output, rows=3, summaries=True),
            "reference/gru/forward/hidden": golden_array(moved, rows=3, summaries=True),
        },
    )
    return recorded, current


#: A golden that does not keep a spec (the fixture's) says nothing of how weights are drawn.
WEIGHTS_LINE = (
    "The weights changed since the golden was recorded (weights_hash aaaaaaaaaaaa -> "
    "bbbbbbbbbbbb): this is not numerical drift; the model holds other weights."
)


def test_drift_message_verbatim() -> None:
    recorded, current = _drifted_pair()
    drift = compare_goldens(recorded, current, TOL)
    message = drift_message(
        recorded,
        current,
        drift,
        golden_path="goldens/power_gru/power-gru.golden",
        update_command="pytest --rnn-parity --snapshot-update specs/power_gru.yaml",
    )
    assert message.splitlines() == [
        "Golden drift: the run no longer matches goldens/power_gru/power-gru.golden.",
        "Recorded under TensorFlow 2.19.0 / Keras 3.10.0 (tensorflow backend), "
        "now TensorFlow 2.21.0 / Keras 3.15.1 (tensorflow backend).",
        "Environment changes: keras: 3.10.0 -> 3.15.1; tensorflow: 2.19.0 -> 2.21.0.",
        WEIGHTS_LINE,
        "First: reference trace, gru/forward/hidden, at timestep 1, row 1, unit 0:",
        "  recorded  -0.375",
        "  now       -0.25",
        "  abs error 1.25e-01, rel error 3.33e-01 (tolerance atol=1e-06, rtol=1e-05)",
        "2 of 4 compared blocks moved:",
        "  part             array               block    max abs   moved",
        "  reference trace  gru/forward/hidden  rows     1.25e-01  2/12",
        "  reference trace  gru/forward/hidden  summary  1.25e-01  3/9",
        "If the change is expected, re-record: "
        "pytest --rnn-parity --snapshot-update specs/power_gru.yaml",
    ]


def test_drift_message_for_a_shape_change_and_missing_and_new_arrays() -> None:
    env = {"keras": "3.15.1", "keras_backend": "tensorflow", "tensorflow": "2.21.0"}
    recorded = Golden(
        meta={"spec": "s"},
        environment=env,
        arrays={
            "keras/dense/output": every_row(np.zeros((2, 1))),
            "reference/gru/forward/cell": every_row(np.zeros((2, 1))),
        },
    )
    current = Golden(
        meta={"spec": "s"},
        environment=env,
        arrays={
            "keras/dense/output": every_row(np.zeros((3, 1))),
            "reference/gru/forward/update": every_row(np.zeros((2, 1))),
        },
    )
    drift = compare_goldens(recorded, current, TOL)
    message = drift_message(recorded, current, drift, golden_path="g.golden", update_command="u")
    assert message.splitlines() == [
        "Golden drift: the run no longer matches g.golden.",
        "Recorded under TensorFlow 2.21.0 / Keras 3.15.1 (tensorflow backend), "
        "now TensorFlow 2.21.0 / Keras 3.15.1 (tensorflow backend).",
        "Shapes changed (1 array(s)):",
        "  keras/dense/output: 2x1 -> 3x1",
        "No longer produced: reference/gru/forward/cell.",
        "Not in the golden: reference/gru/forward/update.",
        "If the change is expected, re-record: u",
    ]


def test_drift_message_names_the_summary_statistic() -> None:
    values = np.zeros((4, 2, 1))
    moved = values.copy()
    moved[3, 1, 0] = 1.0  # beyond the one kept row: only the summary moves
    recorded = golden_with(
        {"reference/gru/forward/hidden": golden_array(values, rows=1, summaries=True)}
    )
    current = golden_with(
        {"reference/gru/forward/hidden": golden_array(moved, rows=1, summaries=True)}
    )
    drift = compare_goldens(recorded, current, TOL)
    lines = drift_message(
        recorded, current, drift, golden_path="g", update_command="u"
    ).splitlines()
    assert lines[2:6] == [
        "First: reference trace, gru/forward/hidden, at max over the batch at timestep 1:",
        "  recorded  0",
        "  now       1",
        "  abs error 1.00e+00, rel error inf (tolerance atol=1e-06, rtol=1e-05)",
    ]


def test_drift_in_a_hex_array_is_located_as_in_text() -> None:
    def hidden(values: np.ndarray) -> Golden:  # 7,200 values: hex
        array = golden_array(values, rows=6, summaries=True, max_values=10_000)
        return golden_with({"reference/gru/forward/hidden": array})

    values = np.random.default_rng(4).normal(size=(6, 30, 40)).astype(np.float32)
    values[4, 17, 9] = 0.25
    moved = values.copy()
    moved[4, 17, 9] = 0.375
    recorded = loads(dumps(hidden(values)), location="g")
    assert "encoding = hex <f4" in dumps(recorded).splitlines()
    assert compare_goldens(recorded, hidden(values), TOL).ok
    current = hidden(moved)
    drift = compare_goldens(recorded, current, TOL)
    message = drift_message(recorded, current, drift, golden_path="g", update_command="u")
    assert message.splitlines()[2:6] == [
        "First: reference trace, gru/forward/hidden, at timestep 17, row 4, unit 9:",
        "  recorded  0.25",
        "  now       0.375",
        "  abs error 1.25e-01, rel error 5.00e-01 (tolerance atol=1e-06, rtol=1e-05)",
    ]
    assert (drift.comparisons[0].quantity, drift.comparisons[0].n_bad) == ("rows", 1)


def test_hash_diagnosis_verbatim() -> None:
    recorded = golden_with(
        {}, weights_hash="0123456789abcdef", inputs_hash="1" * 64, spec_hash="2" * 64
    )
    current = golden_with(
        {}, weights_hash="fedcba9876543210", inputs_hash="3" * 64, spec_hash="4" * 64
    )
    assert hash_diagnosis(recorded, current) == [
        "The spec changed since the golden was recorded (spec_hash 222222222222 -> "
        "444444444444); the golden does not keep its spec, so which keys changed is not"
        " known (a golden recorded now keeps them); if that was intended, re-record the"
        " golden.",
        "The weights changed since the golden was recorded (weights_hash 0123456789ab -> "
        "fedcba987654), and so did the spec: the weights follow from its model, seed,"
        " weights and dtype.",
        "The inputs changed since the golden was recorded (inputs_hash 111111111111 -> "
        "333333333333): the data or its scaling changed, not the numerics.",
    ]


#: The effective spec of an LSTM(8) spec, as a golden keeps it.
LSTM_SPEC = {
    "model[0].LSTM.units": "8",
    "model[1].Dense.units": "1",
    "seed": "1",
    "weights": '"seeded"',
}


def _with_spec(spec: dict[str, str], **meta: str) -> Golden:
    return replace(golden_with({}, **meta), spec=spec)


def test_a_spec_change_names_its_keys_and_the_weights_follow_from_them() -> None:
    recorded = _with_spec(LSTM_SPEC, spec_hash="1" * 64, weights_hash="a" * 64)
    current = _with_spec(
        {**LSTM_SPEC, "model[0].LSTM.units": "16", "model[0].LSTM.unroll": "true"},
        spec_hash="2" * 64,
        weights_hash="b" * 64,
    )
    assert hash_diagnosis(recorded, current) == [
        "The spec changed since the golden was recorded:",
        "  model[0].LSTM.units: 8 -> 16",
        "  model[0].LSTM.unroll: (not set) -> true",
        "The weights changed since the golden was recorded (weights_hash aaaaaaaaaaaa ->"
        " bbbbbbbbbbbb): they follow from the spec keys above, not from the numerics.",
    ]


@pytest.mark.parametrize(
    ("spec", "explanation"),
    [
        (
            LSTM_SPEC,
            ", though the spec did not change: `weights: seeded` draws them with NumPy from"
            " the seed, the same under every TensorFlow and Keras version, so this is not"
            " Keras drift; NumPy's generator or pytest-rnnparity's drawing changed.",
        ),
        (
            {**LSTM_SPEC, "weights": '"keras"'},
            ": this is not numerical drift. With `weights: keras` the layers' initializers"
            " draw the weights, and they may change between Keras versions; `weights:"
            " seeded` gives the same weights everywhere.",
        ),
        (
            {"model.path": '"models/m.keras"', "weights": '"keras"'},
            ": the model file models/m.keras holds other weights; this is not numerical drift.",
        ),
        (
            {**LSTM_SPEC, "weights.path": '"w/gru.weights.h5"'},
            ": the weights file w/gru.weights.h5 holds other values; this is not numerical drift.",
        ),
    ],
    ids=["seeded", "keras", "model-file", "weights-file"],
)
def test_the_weights_hint_is_the_one_for_how_the_spec_draws_them(
    spec: dict[str, str], explanation: str
) -> None:
    if "weights.path" in spec:
        del spec["weights"]
    recorded = _with_spec(spec, spec_hash="1" * 64, weights_hash="a" * 64)
    current = _with_spec(spec, spec_hash="1" * 64, weights_hash="b" * 64)
    assert hash_diagnosis(recorded, current) == [
        "The weights changed since the golden was recorded (weights_hash aaaaaaaaaaaa ->"
        " bbbbbbbbbbbb)" + explanation
    ]


def test_a_spec_change_that_leaves_the_weights_says_only_the_keys() -> None:
    recorded = _with_spec(LSTM_SPEC, spec_hash="1" * 64, inputs_hash="c" * 64)
    changed = {**LSTM_SPEC, "data.features.x": json.dumps([round(0.1 * i, 1) for i in range(30)])}
    current = _with_spec(changed, spec_hash="2" * 64, inputs_hash="d" * 64)
    assert hash_diagnosis(recorded, current) == [
        "The spec changed since the golden was recorded:",
        "  data.features.x: (not set) -> [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,"
        " 1.0, 1...",
        "The inputs changed since the golden was recorded (inputs_hash cccccccccccc ->"
        " dddddddddddd): the data or its scaling changed, not the numerics.",
    ]


def test_a_missing_golden_names_the_orphan_to_move() -> None:
    assert missing_golden_message("golden/a/a.golden", "a", "pytest u") == (
        "golden/a/a.golden: no golden file yet for spec 'a'. Record it with: pytest u"
    )
    moved = [
        (
            "golden/old/old.golden",
            "no spec file specs/old.yaml",
            "mkdir -p golden/a && mv golden/old/old.golden golden/a/a.golden",
        )
    ]
    assert missing_golden_message("golden/a/a.golden", "a", "pytest u", moved).splitlines() == [
        "golden/a/a.golden: no golden file yet for spec 'a'.",
        "golden/old/old.golden was recorded from the same spec content, and its spec is gone"
        " (no spec file specs/old.yaml): move it here to keep it,",
        "  mkdir -p golden/a && mv golden/old/old.golden golden/a/a.golden",
        "or record a new one with: pytest u",
    ]


def test_hash_diagnosis_is_silent_for_equal_or_unrecorded_hashes() -> None:
    recorded = golden_with({}, weights_hash="a" * 64, inputs_hash="b" * 64)
    current = golden_with({}, weights_hash="a" * 64, spec_hash="c" * 64)
    assert hash_diagnosis(recorded, current) == []
