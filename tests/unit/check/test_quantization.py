"""Quantized TFLite artifacts agree with the reference within a budget derived from their scales."""

# ruff: noqa: E402  (the imports follow the importorskip of the runtime)
from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")
keras = pytest.importorskip("keras")

from pytest_rnnparity.check.departures import compare_readout
from pytest_rnnparity.check.quantization import (
    FLOAT_TOLERANCE,
    INPUT_STEPS,
    OWN_STEPS,
    STATE_STEPS,
    quantization_budget,
)
from pytest_rnnparity.model.conversion import Conversion, convert_all
from pytest_rnnparity.reference.types import TRACE_NAMES
from pytest_rnnparity.report.deployed import TABLE_HEADER, departure_table
from pytest_rnnparity.runtimes.manifest import Artifact
from pytest_rnnparity.runtimes.tflite_runtime import run_tflite

from ..deployed_cases import MODELS, TFLITE_BATCH, build, reference, windows

pytestmark = pytest.mark.keras

#: Dynamic-range quantization only touches weight tensors of 1024 elements or more.
DYNAMIC_UNITS = 32
DYNAMIC_MODELS = ("gru", "gru_reset_before", "lstm", "simple_rnn", "bidirectional_lstm", "stack")


@dataclasses.dataclass(frozen=True)
class Case:
    model: Any
    x: np.ndarray
    reference: tuple[Any, ...]
    artifact: Artifact


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    out = tmp_path_factory.mktemp("quantized")
    x = windows(rows=16)
    small = {name: build(name) for name in MODELS}
    large = {name: build(name, units=DYNAMIC_UNITS) for name in DYNAMIC_MODELS}
    jobs: list[tuple[str, Any, Conversion]] = [
        (
            f"{n}_int8",
            small[n],
            Conversion(small[n], "tflite", out / f"{n}_int8.tflite", "int8", x, TFLITE_BATCH),
        )
        for n in MODELS
    ]
    jobs += [
        (
            f"{n}_dynamic",
            large[n],
            Conversion(
                large[n],
                "tflite",
                out / f"{n}_dynamic.tflite",
                "dynamic",
                x,
                TFLITE_BATCH,
                unroll=True,
            ),
        )
        for n in DYNAMIC_MODELS
    ]
    jobs.append(
        (
            "bidirectional_lstm_int8_32",
            large["bidirectional_lstm"],
            Conversion(
                large["bidirectional_lstm"],
                "tflite",
                out / "bidirectional_lstm_int8_32.tflite",
                "int8",
                x,
                TFLITE_BATCH,
            ),
        )
    )
    jobs.append(
        (
            "gru_dynamic_small",
            small["gru"],
            Conversion(
                small["gru"],
                "tflite",
                out / "gru_dynamic_small.tflite",
                "dynamic",
                x,
                TFLITE_BATCH,
                unroll=True,
            ),
        )
    )
    artifacts = convert_all([conversion for _, _, conversion in jobs])
    found = {}
    for (name, model, _), artifact in zip(jobs, artifacts, strict=True):
        assert isinstance(artifact, Artifact), artifact
        found[name] = Case(model, x, reference(model, x), artifact)
    return found


@pytest.mark.parametrize(
    "name", [f"{n}_int8" for n in MODELS] + [f"{n}_dynamic" for n in DYNAMIC_MODELS]
)
def test_every_quantity_is_within_the_derived_budget(cases: dict[str, Case], name: str) -> None:
    case = cases[name]
    readout = run_tflite(case.artifact, case.x)
    budget = quantization_budget(readout)
    departures = compare_readout(readout, case.reference, budget)
    assert all(d.ok for d in departures), departure_table(departures) + "\n" + budget.describe()
    # quantization is visible: the budget is not the float tolerance in disguise
    assert max(d.max_abs for d in departures) > 10 * FLOAT_TOLERANCE
    assert all(d.atol > FLOAT_TOLERANCE for d in departures)


@pytest.mark.parametrize("name", MODELS)
def test_int8_is_converted_unrolled_and_exposes_every_gate(
    cases: dict[str, Case], name: str
) -> None:
    case = cases[f"{name}_int8"]
    assert case.artifact.unrolled
    readout = run_tflite(case.artifact, case.x)
    for layer in readout.layers:
        for read in layer.directions.values():
            assert tuple(read.traces) == TRACE_NAMES[read.kind]
            assert set(read.scales) == {*read.traces, *(f"final {s}" for s in read.final_states)}


def test_the_int8_budget_follows_its_rule(cases: dict[str, Case]) -> None:
    readout = run_tflite(cases["lstm_int8"].artifact, cases["lstm_int8"].x)
    budget = quantization_budget(readout)
    scales = readout.layer("lstm").directions["forward"].scales
    s_state = max(scales["hidden"], scales["cell"], scales["final hidden"], scales["final cell"])
    own = scales["candidate"]
    # the model input's quantization step is the first layer's s_in
    derived = budget("lstm", "forward", "candidate")
    s_in = (derived - OWN_STEPS * own - STATE_STEPS * s_state) / INPUT_STEPS
    assert 0 < s_in < 0.1
    assert budget.derivation[("lstm", "forward", "candidate")].startswith(f"{OWN_STEPS:g} x ")
    assert budget("lstm", None, "output") == budget("lstm", "forward", "hidden")


def test_dynamic_range_leaves_a_tiny_model_in_float(cases: dict[str, Case]) -> None:
    case = cases["gru_dynamic_small"]
    assert any("left every weight in float32" in note for note in case.artifact.notes)
    readout = run_tflite(case.artifact, case.x)
    budget = quantization_budget(readout)
    departures = compare_readout(readout, case.reference, budget)
    assert max(d.max_abs for d in departures) < FLOAT_TOLERANCE
    assert all(d.atol == FLOAT_TOLERANCE for d in departures)


def test_the_departure_summary_says_where_int8_departs_most(cases: dict[str, Case]) -> None:
    case = cases["stack_int8"]
    readout = run_tflite(case.artifact, case.x)
    departures = compare_readout(readout, case.reference, quantization_budget(readout))
    table = [
        re.split(r"\s{2,}", line.strip())
        for line in departure_table(departures, worst_first=True).splitlines()
    ]
    assert table[0] == list(TABLE_HEADER)
    # worst first: the largest error relative to its budget leads
    worst = max(departures, key=lambda d: d.max_abs / d.atol)
    assert table[1][:3] == [worst.layer, worst.direction or "-", worst.quantity]
    assert table[1][6] == ",".join(map(str, worst.where))
    # the largest error is where the table says: recompute it there
    read = readout.layer(worst.layer)
    if worst.direction is not None:
        value = read.directions[worst.direction].traces.get(worst.quantity)
        ref = next(r for r in case.reference if r.name == worst.layer)
        if value is not None:
            expected = ref.directions[worst.direction].traces[worst.quantity]
            assert abs(value[worst.where] - expected[worst.where]) == pytest.approx(worst.max_abs)


def test_an_int8_reverse_that_rereads_its_values_is_pinned_to_the_layer_output(
    cases: dict[str, Case],
) -> None:
    """TF 2.21 gives a Bidirectional's REVERSE_V2 another scale than its input.

    LiteRT's kernel copies the int8 values anyway, so the backward half of the
    layer's output is reread with the wrong scale: both directions' steps are
    within budget, the merged output is not what they merge to.
    """
    case = cases["bidirectional_lstm_int8_32"]
    readout = run_tflite(case.artifact, case.x)
    (note,) = [n for n in readout.notes if n.startswith("REVERSE_V2 ")]
    predicted = float(note.rsplit("off by up to ", 1)[1])
    budget = quantization_budget(readout)
    departures = compare_readout(readout, case.reference, budget)
    assert all(d.ok for d in departures if d.direction is not None)
    bi = readout.layer("bi")
    forward = bi.directions["forward"].traces["hidden"]
    backward = bi.directions["backward"].traces["hidden"][:, ::-1]  # back to time order
    assert bi.output is not None
    gap = np.abs(bi.output - np.concatenate([forward, backward], axis=-1))
    assert gap[..., : forward.shape[-1]].max() == 0  # the forward half is copied as it is
    assert gap[..., forward.shape[-1] :].max() == pytest.approx(predicted, rel=1e-2)
