"""report/deployed.py: what a runtime path's item says, verbatim, on hand-made results."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pytest_rnnparity.check.departures import Departure
from pytest_rnnparity.check.deployed import RuntimeCheck
from pytest_rnnparity.check.quantization import Budget
from pytest_rnnparity.report.deployed import (
    quantized_report,
    runtime_failure_message,
    runtime_properties,
)
from pytest_rnnparity.runtimes.manifest import Artifact, DirectionInfo, LayerInfo, ModelManifest
from pytest_rnnparity.runtimes.readout import DirectionReadout, LayerReadout, Readout, Unexposed
from pytest_rnnparity.spec import ExecutionPath

MANIFEST = ModelManifest(
    layers=(
        LayerInfo(
            name="lstm",
            class_name="LSTM",
            output_shape=(None, 4),
            kind="lstm",
            units=4,
            directions=(DirectionInfo("forward", "lstm", False),),
        ),
        LayerInfo(name="dense", class_name="Dense", output_shape=(None, 1)),
    ),
    input_shape=(None, 3, 2),
    keras_version="3.15.1",
)


def _check(departures: tuple[Departure, ...], budget: Budget | None) -> RuntimeCheck:
    artifact = Artifact(
        path=Path("m.tflite"),
        format="tflite",
        quantization="int8",
        manifest=MANIFEST,
        unrolled=True,
        batch_size=8,
        checks=("the rebuilt Keras model (unrolled, fixed batch 8) equals the original",),
    )
    lstm = LayerReadout(
        name="lstm",
        class_name="LSTM",
        output=np.zeros((8, 4)),
        directions={
            "forward": DirectionReadout(kind="lstm", traces={}, final_states={}),
        },
        not_exposed=(Unexposed("forward", "forget", "folded away at step 0"),),
    )
    readout = Readout(
        artifact=artifact,
        runtime="ai-edge-litert 2.3.0",
        inputs=np.zeros((8, 3, 2)),
        outputs=(np.zeros((8, 1)),),
        layers=(lstm, LayerReadout(name="dense", class_name="Dense", output=np.zeros((8, 1)))),
    )
    return RuntimeCheck(
        path=ExecutionPath(runtime="tflite", quantize="int8"),
        artifact=artifact,
        readout=readout,
        departures=departures,
        tolerance_source="the int8 budget derived from the artifact's quantization scales",
        budget=budget,
    )


HIDDEN = Departure(
    layer="lstm",
    direction="forward",
    quantity="hidden",
    max_abs=0.125,
    mean_abs=0.0312,
    where=(2, 2, 1),
    atol=0.05,
    exceeding=3,
    compared=96,
    first_step=1,
    step_max=(0.01, 0.06, 0.125),
    at_step=(0, 1, 2),
    first_index=(0, 1, 3),
    first_values=(0.41, 0.35),
)
CELL = Departure(
    layer="lstm",
    direction="forward",
    quantity="cell",
    max_abs=0.02,
    mean_abs=0.004,
    where=(5, 0, 0),
    atol=0.09,
    exceeding=0,
    compared=96,
    first_step=None,
    step_max=(0.02, 0.01, 0.01),
    at_step=(0, 1, 2),
)
OUTPUT = Departure(
    layer="dense",
    direction=None,
    quantity="output",
    max_abs=0.03,
    mean_abs=0.01,
    where=(4, 0),
    atol=0.04,
    exceeding=0,
    compared=8,
)
BUDGET = Budget(
    "int8",
    {("lstm", "forward", "hidden"): 0.05, ("lstm", "forward", "cell"): 0.09},
    derivation={
        ("lstm", "forward", "hidden"): "6 x 0.00391 + 3 x 0.00732 + 2 x 0.00392",
        ("lstm", "forward", "cell"): "6 x 0.00987 + 3 x 0.00987 + 2 x 0.00392",
    },
)


def test_a_quantized_failure_is_located_and_shows_the_budget() -> None:
    check = _check((HIDDEN, CELL, OUTPUT), BUDGET)
    assert runtime_failure_message(check).splitlines() == [
        "execution path runtime=tflite-quantize=int8: the tflite int8 artifact (unrolled, fixed"
        " batch 8) run with ai-edge-litert 2.3.0 and the reference disagree in 1 of 3"
        " quantities.",
        "First: layer 'lstm' (forward), hidden state h, at row 0, step 1, unit 3:",
        "    runtime    0.41",
        "    reference  0.35",
        "    abs error 6.00e-02 (atol=0.05)",
        "  3 of 96 values exceed tolerance; max abs error 1.25e-01, mean abs error 3.12e-02",
        "",
        "Where the artifact departs most:",
        "  layer  direction  quantity  steps  max abs   mean abs  largest at  first step beyond"
        "  tolerance  beyond",
        "  lstm   forward    hidden    0-2    1.25e-01  3.12e-02  2,2,1       1"
        "                  atol=0.05  3/96",
        "  dense  -          output    -      3.00e-02  1.00e-02  4,0         -"
        "                  atol=0.04  ok",
        "  lstm   forward    cell      0-2    2.00e-02  4.00e-03  5,0,0       -"
        "                  atol=0.09  ok",
        "",
        "The int8 budget, from the artifact's quantization scales:",
        "  lstm (forward) hidden: 0.05 = 6 x 0.00391 + 3 x 0.00732 + 2 x 0.00392",
        "  lstm (forward) cell: 0.09 = 6 x 0.00987 + 3 x 0.00987 + 2 x 0.00392",
        "",
        "tflite int8 artifact (unrolled, fixed batch 8) run with ai-edge-litert 2.3.0: 3"
        " quantities compared with the reference, 1 of 3 beyond tolerance (the int8 budget"
        " derived from the artifact's quantization scales).",
        "Compared:",
        "  lstm: hidden (every step), cell (every step)",
        "  dense: layer output",
        "Not exposed by the runtime:",
        "  lstm: forget: folded away at step 0",
        "Conversion:",
        "  the rebuilt Keras model (unrolled, fixed batch 8) equals the original",
    ]


def test_a_passing_quantized_path_shows_what_quantization_costs_worst_first() -> None:
    check = _check((CELL, OUTPUT), BUDGET)
    assert quantized_report(check).splitlines() == [
        "int8 error budget: where the artifact departs most from the reference (per layer,"
        " gate and step):",
        "  layer  direction  quantity  steps  max abs   mean abs  largest at  first step beyond"
        "  tolerance  beyond",
        "  dense  -          output    -      3.00e-02  1.00e-02  4,0         -"
        "                  atol=0.04  ok",
        "  lstm   forward    cell      0-2    2.00e-02  4.00e-03  5,0,0       -"
        "                  atol=0.09  ok",
    ]


def test_the_properties_say_what_was_compared_and_what_is_hidden() -> None:
    properties = dict(runtime_properties(_check((HIDDEN, CELL, OUTPUT), BUDGET)))
    assert properties["rnn_parity.verdict"] == "fail"
    assert properties["rnn_parity.compared"] == (
        '["dense/output", "lstm/forward/cell", "lstm/forward/hidden"]'
    )
    assert properties["rnn_parity.not_exposed"] == (
        '{"lstm/forward/forget": "folded away at step 0"}'
    )
    assert properties["rnn_parity.runtime"] == (
        "tflite int8 artifact (unrolled, fixed batch 8) run with ai-edge-litert 2.3.0"
    )
