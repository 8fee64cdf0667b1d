"""Conversion in a child: crashes become one error of ours, refusals a skip reason."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from pytest_rnnparity.errors import ConversionFailed, ConversionRefused
from pytest_rnnparity.model.conversion import Conversion, convert, convert_all, run_child
from pytest_rnnparity.runtimes.manifest import (
    Artifact,
    DirectionInfo,
    LayerInfo,
    ModelManifest,
)

from ..helpers import keras_major


def test_a_crashing_child_becomes_one_error_quoting_its_last_lines() -> None:
    script = (
        "import os\n"
        "for i in range(40): print('line', i)\n"
        "print('about to crash', flush=True)\n"
        "os.abort()"
    )
    with pytest.raises(ConversionFailed) as caught:
        run_child([sys.executable, "-c", script], what="a test child")
    error = caught.value
    assert error.signal == "SIGABRT"
    assert error.returncode is not None
    assert error.returncode < 0
    message = str(error)
    assert message.startswith("a test child: the converter process was killed by SIGABRT")
    assert "about to crash" in message
    assert "line 39" in message
    assert "line 10" not in message  # only the tail


def test_a_failing_child_reports_its_exit_code() -> None:
    with pytest.raises(ConversionFailed, match=r"exited with code 7;.*\n    gave up") as caught:
        run_child([sys.executable, "-c", "import sys; print('gave up'); sys.exit(7)"], what="child")
    assert caught.value.signal is None


def test_a_child_that_hangs_is_stopped() -> None:
    with pytest.raises(ConversionFailed, match="did not finish in time") as caught:
        run_child([sys.executable, "-c", "import time; time.sleep(30)"], what="child", timeout=1)
    assert caught.value.returncode is None


def test_an_artifact_round_trips_through_its_sidecar(tmp_path: Path) -> None:
    manifest = ModelManifest(
        layers=(
            LayerInfo(
                name="bi",
                class_name="Bidirectional",
                output_shape=(None, 5, 8),
                kind="gru",
                units=4,
                directions=(
                    DirectionInfo("forward", "forward_gru", False),
                    DirectionInfo("backward", "backward_gru", True),
                ),
                return_sequences=True,
                activation="tanh",
                recurrent_activation="sigmoid",
                reset_after=True,
            ),
            LayerInfo(name="head", class_name="Dense", output_shape=(None, 5, 2)),
        ),
        input_shape=(None, 5, 3),
        keras_version="3.15.1",
    )
    artifact = Artifact(
        path=tmp_path / "m.tflite",
        format="tflite",
        quantization="int8",
        manifest=manifest,
        unrolled=True,
        batch_size=4,
        checks=("checked",),
        notes=("a note",),
        seconds=1.5,
        versions={"tensorflow": "2.21.0"},
    )
    artifact.save()
    assert artifact.sidecar.name == "m.tflite.rnnparity.json"
    assert Artifact.load(artifact.path) == artifact
    assert artifact.label == "tflite int8 (unrolled)"


def test_conversion_arguments_are_checked_before_any_child_starts(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="for tflite artifacts only"):
        convert("m.keras", format="onnx", out=tmp_path / "m.onnx", quantization="int8")
    with pytest.raises(ValueError, match="needs representative windows"):
        convert("m.keras", format="tflite", out=tmp_path / "m.tflite", quantization="int8")


@pytest.mark.keras
def test_int8_calibration_of_a_loop_crash_is_one_error(tmp_path: Path) -> None:
    """Both generations segfault calibrating a WHILE loop (calibrator.py _feed_tensors).

    TF 2.21 (Keras 3) dies right after the child's "converting" line. TF 2.15 (Keras 2)
    first prints its summary of the ops it left unconverted, each with the counts of its
    tensor types (``(f32: 1, i32: 2)``), and those fill the quoted tail.
    """
    keras = pytest.importorskip("keras")
    from ..deployed_cases import build, windows

    with pytest.raises(ConversionFailed) as caught:
        convert(
            build("gru"),
            format="tflite",
            out=tmp_path / "loop_int8.tflite",
            quantization="int8",
            windows=windows(),
            unroll=False,
        )
    error = caught.value
    assert error.signal == "SIGSEGV"
    assert str(error).startswith(
        "converting m_gru -> tflite int8 (loop_int8.tflite): "
        "the converter process was killed by SIGSEGV; its last lines:"
    )
    if keras_major(keras) >= 3:
        assert "(loop_int8.tflite): converting" in error.tail  # the child's own last words
    else:
        assert "converting" not in error.tail
        types = re.compile(r" *\((\w+: \d+(, )?)+\)")  # "  (f32: 1, i32: 2)"
        assert all(types.fullmatch(line) for line in error.tail.splitlines() if line.strip())


@pytest.mark.keras
def test_a_refusal_is_a_reason_and_the_other_conversions_go_on(tmp_path: Path) -> None:
    pytest.importorskip("keras")
    pytest.importorskip("onnx")
    from ..deployed_cases import build, windows

    model = build("lstm")
    refused, converted = convert_all(
        [
            # a dynamic batch: the TFLite converter cannot lower Keras 3's TensorList
            Conversion(
                model, "tflite", tmp_path / "dynamic.tflite", windows=windows(), batch_size=0
            ),
            Conversion(model, "onnx", tmp_path / "m.onnx"),
        ]
    )
    assert isinstance(refused, ConversionRefused)
    assert refused.reason.startswith("the TFLite converter refused the model: ")
    assert "TensorListReserve" in refused.reason
    assert isinstance(converted, Artifact)
    assert converted.path.exists()
    assert not (tmp_path / "dynamic.tflite").exists()
