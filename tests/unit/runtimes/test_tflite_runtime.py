"""TFLite float32 artifacts read back with LiteRT agree with the reference, step by step."""

# ruff: noqa: E402  (the imports follow the importorskip of the runtime)
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")
keras = pytest.importorskip("keras")

from pytest_rnnparity.check.departures import (
    compare_readout,
    first_departure,
)
from pytest_rnnparity.model.conversion import Conversion, convert_all
from pytest_rnnparity.reference.types import TRACE_NAMES
from pytest_rnnparity.report.deployed import departure_table
from pytest_rnnparity.runtimes.manifest import Artifact, sidecar_path
from pytest_rnnparity.runtimes.tflite_model import read_model, with_constant
from pytest_rnnparity.runtimes.tflite_runtime import (
    plan_tflite,
    run_tflite,
)

from ..deployed_cases import MODELS, TFLITE_BATCH, TIMESTEPS, build, reference, windows

pytestmark = pytest.mark.keras

#: LiteRT's float32 kernels agree with Keras to ~3e-7 on these models.
FLOAT_ATOL = 1e-5
LOOPED = ("gru", "lstm", "bidirectional_lstm", "stack")


@dataclasses.dataclass(frozen=True)
class Case:
    model: Any
    x: np.ndarray
    reference: tuple[Any, ...]
    artifact: Artifact


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    out = tmp_path_factory.mktemp("tflite")
    x = windows()
    models = {name: build(name) for name in MODELS}
    conversions = [
        Conversion(
            models[n],
            "tflite",
            out / f"{n}_unrolled.tflite",
            windows=x,
            batch_size=TFLITE_BATCH,
            unroll=True,
        )
        for n in MODELS
    ] + [
        Conversion(
            models[n], "tflite", out / f"{n}_loop.tflite", windows=x, batch_size=TFLITE_BATCH
        )
        for n in LOOPED
    ]
    artifacts = convert_all(conversions)
    names = [f"{n}_unrolled" for n in MODELS] + [f"{n}_loop" for n in LOOPED]
    found = {}
    for name, artifact in zip(names, artifacts, strict=True):
        assert isinstance(artifact, Artifact), artifact
        model = models[name.rsplit("_", 1)[0]]
        found[name] = Case(model, x, reference(model, x), artifact)
    return found


@pytest.mark.parametrize("name", [f"{n}_unrolled" for n in MODELS] + [f"{n}_loop" for n in LOOPED])
def test_every_quantity_read_back_matches_the_reference(cases: dict[str, Case], name: str) -> None:
    case = cases[name]
    readout = run_tflite(case.artifact, case.x)
    departures = compare_readout(readout, case.reference, FLOAT_ATOL)
    assert all(d.ok for d in departures), departure_table(departures)
    expected = keras.ops.convert_to_numpy(case.model(case.x))
    np.testing.assert_allclose(readout.outputs[0], expected, atol=FLOAT_ATOL)
    np.testing.assert_allclose(readout.deployed_outputs[0], expected, atol=FLOAT_ATOL)


def test_the_conversion_checked_the_unrolled_keras_model(cases: dict[str, Case]) -> None:
    artifact = cases["stack_unrolled"].artifact
    assert artifact.unrolled
    assert artifact.batch_size == TFLITE_BATCH
    assert any("unrolled, fixed batch 4) equals the original" in c for c in artifact.checks)
    assert any("converted unrolled" in note for note in artifact.notes)


@pytest.mark.parametrize("name", MODELS)
def test_unrolled_exposes_every_gate_at_every_computed_step(
    cases: dict[str, Case], name: str
) -> None:
    readout = run_tflite(cases[f"{name}_unrolled"].artifact, cases[f"{name}_unrolled"].x)
    for layer in readout.layers:
        for read in layer.directions.values():
            assert tuple(read.traces) == TRACE_NAMES[read.kind]
            missing = {q: steps for q, steps in read.missing_steps.items() if steps}
            # a zero initial state lets the converter fold away what multiplies it
            if read.kind == "lstm":
                assert missing == {"forget": (0,)}
            elif name == "gru_reset_before":
                assert missing == {"reset": (0,)}
            else:
                assert missing == {}
        # where the converter drops the transpose pair between two layers, the
        # stacked steps (time-major) stand in for the layer's output
        assert layer.output is not None, layer.not_exposed


@pytest.mark.parametrize("name", LOOPED)
def test_a_loop_exposes_its_last_step_and_final_states(cases: dict[str, Case], name: str) -> None:
    readout = run_tflite(cases[f"{name}_loop"].artifact, cases[f"{name}_loop"].x)
    last = TIMESTEPS - 1
    for layer in readout.layers:
        for read in layer.directions.values():
            assert tuple(read.traces) == TRACE_NAMES[read.kind]
            assert read.final_states
            for quantity, steps in read.missing_steps.items():
                if quantity == "hidden" and not steps:
                    continue  # return_sequences: the loop carries every step out
                assert steps == tuple(range(last)), quantity
        # a loop's stacked outputs stand in for a transpose pair the converter dropped
        assert layer.output is not None, layer.not_exposed
    assert any("last iteration" in note for note in readout.notes)


def _recurrent_weight(artifact: Artifact, layer: str) -> tuple[str, np.ndarray]:
    """The name and value of the recurrent kernel that step 1 of ``layer`` applies."""
    model = read_model(artifact.path)
    plan = plan_tflite(model, artifact.manifest, timesteps=TIMESTEPS)
    h0 = plan.steps[(layer, "forward", "hidden")][0]
    (op,) = [
        op
        for op in model.main.ops
        if op.kind == "fully_connected"
        and model.main.canon(op.inputs[0]) == h0
        and op.name.split("/")[1].startswith(layer)
    ]
    return model.tensors[op.inputs[1]].name, model.constant_data[op.inputs[1]]


def test_a_changed_weight_is_found_at_its_layer_and_first_step(
    cases: dict[str, Case], tmp_path: Path
) -> None:
    case = cases["stack_unrolled"]
    name, value = _recurrent_weight(case.artifact, "l2")
    out = tmp_path / "edited.tflite"
    out.write_bytes(
        with_constant(case.artifact.path.read_bytes(), name, (0, 0), float(value[0, 0]) + 0.5)
    )
    shutil.copy(sidecar_path(case.artifact.path), sidecar_path(out))
    edited = dataclasses.replace(case.artifact, path=out)
    departures = compare_readout(run_tflite(edited, case.x), case.reference, FLOAT_ATOL)
    first = first_departure(departures)
    assert first is not None
    # the recurrent kernel multiplies h_tm1, zero at step 0: step 1 departs first
    assert (first.layer, first.step) == ("l2", 1)
    assert all(d.ok for d in departures if d.layer == "g1")
    assert not all(d.ok for d in departures if d.layer == "head")
