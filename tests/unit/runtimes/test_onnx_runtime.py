"""ONNX artifacts read back with onnxruntime agree with the reference, step by step."""

# ruff: noqa: E402  (the imports follow the importorskip of the runtime)
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
keras = pytest.importorskip("keras")

from pytest_rnnparity.check.departures import (
    compare_readout,
    first_departure,
)
from pytest_rnnparity.model.conversion import Conversion, convert_all
from pytest_rnnparity.reference.types import STATE_NAMES, TRACE_NAMES
from pytest_rnnparity.report.deployed import departure_table
from pytest_rnnparity.runtimes.manifest import Artifact, sidecar_path
from pytest_rnnparity.runtimes.onnx_runtime import run_onnx

from ..deployed_cases import MODELS, build, reference, windows

pytestmark = pytest.mark.keras

#: onnxruntime agrees with Keras to ~2e-7 on these models.
FLOAT_ATOL = 1e-5


@dataclasses.dataclass(frozen=True)
class Case:
    model: Any
    x: np.ndarray
    reference: tuple[Any, ...]
    artifact: Artifact


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    out = tmp_path_factory.mktemp("onnx")
    x = windows()
    models = {name: build(name) for name in MODELS}
    conversions = [Conversion(models[n], "onnx", out / f"{n}.onnx") for n in MODELS]
    conversions.append(Conversion(models["lstm"], "onnx", out / "lstm_unrolled.onnx", unroll=True))
    artifacts = convert_all(conversions)
    names = [*MODELS, "lstm_unrolled"]
    found = {}
    for name, artifact in zip(names, artifacts, strict=True):
        assert isinstance(artifact, Artifact), artifact
        model = models[name.removesuffix("_unrolled")]
        found[name] = Case(model, x, reference(model, x), artifact)
    return found


@pytest.mark.parametrize("name", [*MODELS, "lstm_unrolled"])
def test_every_quantity_read_back_matches_the_reference(cases: dict[str, Case], name: str) -> None:
    case = cases[name]
    readout = run_onnx(case.artifact, case.x)
    departures = compare_readout(readout, case.reference, FLOAT_ATOL)
    assert departures
    assert all(d.ok for d in departures), departure_table(departures)
    expected = keras.ops.convert_to_numpy(case.model(case.x))
    np.testing.assert_allclose(readout.outputs[0], expected, atol=FLOAT_ATOL)


@pytest.mark.parametrize("name", MODELS)
def test_every_quantity_is_read_or_said_to_be_hidden(cases: dict[str, Case], name: str) -> None:
    readout = run_onnx(cases[name].artifact, cases[name].x)
    for layer in readout.layers:
        for direction, read in layer.directions.items():
            hidden = {u.quantity for u in layer.not_exposed if u.direction == direction}
            assert set(read.traces) | hidden == set(TRACE_NAMES[read.kind])
            assert not set(read.traces) & hidden
            assert tuple(read.final_states) == STATE_NAMES[read.kind]
        assert layer.output is not None, layer.not_exposed


@pytest.mark.parametrize(
    ("name", "exposed"),
    [
        # GRU and SimpleRNN become a Loop: every gate is added as a scan output
        ("gru", {"gru": ("update", "reset", "candidate", "hidden")}),
        ("gru_reset_before", {"gru": ("update", "reset", "candidate", "hidden")}),
        ("simple_rnn", {"rnn": ("hidden",)}),
        # the fused LSTM op keeps its gates and cell inside
        ("lstm", {"lstm": ("hidden",)}),
        ("bidirectional_lstm", {"bi": ("hidden",)}),
        ("stack", {"g1": ("update", "reset", "candidate", "hidden"), "l2": ("hidden",)}),
        # unrolled, the LSTM is plain ops again: every gate at every step
        (
            "lstm_unrolled",
            {"lstm": ("input", "forget", "candidate", "output", "cell", "hidden")},
        ),
    ],
)
def test_what_onnx_exposes_per_cell(
    cases: dict[str, Case], name: str, exposed: dict[str, tuple[str, ...]]
) -> None:
    readout = run_onnx(cases[name].artifact, cases[name].x)
    for layer, traces in exposed.items():
        for read in readout.layer(layer).directions.values():
            assert tuple(read.traces) == traces
            assert not any(read.missing_steps.values())
    if name in ("lstm", "bidirectional_lstm"):
        reasons = {u.reason for u in readout.layer("lstm" if name == "lstm" else "bi").not_exposed}
        assert any("ONNX LSTM op" in reason for reason in reasons)


def test_the_backward_direction_is_in_processing_order(cases: dict[str, Case]) -> None:
    case = cases["bidirectional_gru"]
    readout = run_onnx(case.artifact, case.x)
    backward = readout.layer("bi").directions["backward"].traces["hidden"]
    expected = case.reference[0].directions["backward"].traces["hidden"]
    np.testing.assert_allclose(backward, expected, atol=FLOAT_ATOL)
    # processing order: the first step the backward half computes reads the last input
    assert not np.allclose(backward[:, 0], expected[:, -1], atol=1e-3)


def _edited_lstm(artifact: Artifact, out: Path, delta: float) -> Artifact:
    import onnx

    model = onnx.load(str(artifact.path))
    (lstm,) = [node for node in model.graph.node if node.op_type == "LSTM"]
    recurrent = next(init for init in model.graph.initializer if init.name == lstm.input[2])
    values = onnx.numpy_helper.to_array(recurrent).copy()
    values[0, 0, 0] += delta  # R of the input gate, unit 0 from unit 0
    recurrent.CopyFrom(onnx.numpy_helper.from_array(values, recurrent.name))
    onnx.save(model, str(out))
    shutil.copy(sidecar_path(artifact.path), sidecar_path(out))
    return dataclasses.replace(artifact, path=out)


def test_an_edited_recurrent_weight_is_found_at_its_layer_and_first_step(
    cases: dict[str, Case], tmp_path: Path
) -> None:
    case = cases["stack"]
    edited = _edited_lstm(case.artifact, tmp_path / "edited.onnx", delta=0.5)
    departures = compare_readout(run_onnx(edited, case.x), case.reference, FLOAT_ATOL)
    first = first_departure(departures)
    # a recurrent weight multiplies h_tm1, which is zero at step 0: step 1 is the first
    assert first is not None
    assert (first.layer, first.direction, first.quantity, first.step) == (
        "l2",
        "forward",
        "hidden",
        1,
    )
    assert all(d.ok for d in departures if d.layer == "g1")
