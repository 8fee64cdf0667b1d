"""check/deployed.py: how each runtime path converts the model, and when a refusal fails."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.check.deployed import (
    artifact_name,
    conversion_for,
    expected_to_convert,
    runtime_skip_reason,
    tflite_batch,
)
from pytest_rnnparity.reference.types import DenseLayer, IdentityLayer, MaskingLayer
from pytest_rnnparity.spec import ExecutionPath

from ..helpers import layer

WINDOWS = np.zeros((40, 3, 2), dtype=np.float32)


def test_tflite_is_converted_unrolled_with_a_fixed_batch_from_the_windows() -> None:
    path = ExecutionPath(runtime="tflite", quantize="int8")
    conversion = conversion_for(path, "m.keras", WINDOWS, Path("m.tflite"))
    assert (conversion.format, conversion.quantization) == ("tflite", "int8")
    assert (conversion.batch_size, conversion.unroll) == (32, True)
    assert tflite_batch(5) == 5
    # the converter's own loop, when asked; Keras 2 fuses an LSTM when it is not unrolled
    loop = ExecutionPath(runtime="tflite", unroll=False)
    assert conversion_for(loop, "m.keras", WINDOWS, Path("m.tflite")).unroll is False
    keras2 = conversion_for(ExecutionPath(runtime="tflite"), "m", WINDOWS, Path("m"), keras_major=2)
    assert keras2.unroll is False
    int8 = ExecutionPath(runtime="tflite", quantize="int8")
    assert conversion_for(int8, "m", WINDOWS, Path("m"), keras_major=2).unroll is True


def test_onnx_keeps_the_model_as_exported() -> None:
    conversion = conversion_for(ExecutionPath(runtime="onnx"), "m.keras", WINDOWS, Path("m.onnx"))
    assert (conversion.format, conversion.batch_size, conversion.unroll) == ("onnx", None, False)


def test_artifact_names_are_file_names() -> None:
    path = ExecutionPath(runtime="tflite", quantize="int8")
    assert artifact_name("power-gru[units=4]", path) == (
        "power-gru_units=4_-runtime=tflite-quantize=int8.tflite"
    )


def test_a_refusal_fails_only_for_layers_both_converters_express() -> None:
    gru = layer("gru")
    dense = DenseLayer(name="dense", kernel=np.ones((4, 1)), bias=None)
    assert expected_to_convert([gru, IdentityLayer("dropout", "Dropout"), dense])
    assert not expected_to_convert([MaskingLayer("masking"), gru, dense])
    assert not expected_to_convert([layer("gru", recurrent_activation="hard_sigmoid"), dense])


@pytest.mark.parametrize(
    ("installed", "expected"),
    [
        (
            {"onnx", "onnxruntime"},
            "the onnx runtime needs tf2onnx, not installed here:"
            " pip install 'pytest-rnnparity[onnx]'",
        ),
        (
            set(),
            "the onnx runtime needs onnx, onnxruntime, tf2onnx, not installed here:"
            " pip install 'pytest-rnnparity[onnx]'",
        ),
        ({"onnx", "onnxruntime", "tf2onnx"}, None),
    ],
    ids=["one-missing", "none-installed", "all-installed"],
)
def test_a_missing_runtime_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, installed: set[str], expected: str | None
) -> None:
    # what is installed is decided here, not by the machine running the tests
    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return object() if name in installed else None

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert runtime_skip_reason(ExecutionPath(runtime="onnx")) == expected
    assert runtime_skip_reason(ExecutionPath(backend="jax")) is None
