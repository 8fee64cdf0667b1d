"""Keras 2 on current TensorFlow (tf-keras, TF_USE_LEGACY_KERAS=1): TFLite fuses the LSTM.

Runs in the tox environment tf221-keras2; elsewhere the Keras the plugin imports is
Keras 3 and these tests are skipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

from pytest_rnnparity.check.departures import compare_readout
from pytest_rnnparity.model.build import import_keras
from pytest_rnnparity.model.conversion import convert
from pytest_rnnparity.report.deployed import departure_table
from pytest_rnnparity.runtimes.tflite_model import read_model
from pytest_rnnparity.runtimes.tflite_runtime import FUSED_REASON, run_tflite

from ..deployed_cases import FEATURES, TIMESTEPS, reference, windows

pytestmark = [
    pytest.mark.keras,
    pytest.mark.skipif(
        not str(import_keras().__version__).startswith("2."),
        reason="Keras 2 only: run under tox -e tf221-keras2 (TF_USE_LEGACY_KERAS=1)",
    ),
]


def _lstm_model() -> object:
    keras = import_keras()
    model = keras.Sequential(
        [
            keras.Input((TIMESTEPS, FEATURES)),
            keras.layers.LSTM(4, return_sequences=True, name="lstm"),
            keras.layers.Dense(2, name="head"),
        ]
    )
    rng = np.random.default_rng(3)
    model.set_weights([rng.uniform(-0.6, 0.6, w.shape) for w in model.get_weights()])
    return model


def test_the_fused_lstm_exposes_its_output_at_every_step(tmp_path: Path) -> None:
    model = _lstm_model()
    x = windows()
    artifact = convert(
        model, format="tflite", out=tmp_path / "lstm.tflite", windows=x, batch_size=2, unroll=False
    )
    kinds = {op.kind for op in read_model(artifact.path).main.ops}
    assert "unidirectional_sequence_lstm" in kinds
    readout = run_tflite(artifact, x)
    read = readout.layer("lstm").directions["forward"]
    assert tuple(read.traces) == ("hidden",)
    assert tuple(read.final_states) == ("hidden",)
    reasons = {u.quantity: u.reason for u in readout.layer("lstm").not_exposed}
    assert reasons["forget"] == FUSED_REASON
    # its state lives in variable tensors across invokes: every batch starts from zero
    assert any("reset_all_variables()" in note for note in readout.notes)
    departures = compare_readout(readout, reference(model, x), 1e-5)
    assert all(d.ok for d in departures), departure_table(departures)
