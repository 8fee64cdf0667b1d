"""cli/deploy.py: which path an export converts with, and where the vectors go."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from pytest_rnnparity.cli.deploy import runtime_path, vectors_path
from pytest_rnnparity.cli.main import main
from pytest_rnnparity.spec import ExecutionPath, ToleranceLimits

from ..helpers import REPO


def test_the_spec_own_runtime_path_is_used_with_its_tolerance() -> None:
    own = ExecutionPath(runtime="tflite", quantize="int8", tolerance=ToleranceLimits(atol=0.2))
    run = cast(Any, SimpleNamespace(spec=SimpleNamespace(paths=(ExecutionPath(unroll=True), own))))
    assert runtime_path(run, "tflite", "int8") is own
    assert runtime_path(run, "onnx", None) == ExecutionPath(runtime="onnx")


def test_the_vectors_go_next_to_the_artifact() -> None:
    assert vectors_path(Path("out/model.tflite")) == Path("out/model.vectors.npz")


def test_quantize_is_for_tflite(capsys: Any, tmp_path: Path) -> None:
    spec = str(REPO / "specs" / "power_gru.yaml")
    assert (
        main(["export", spec, "--format", "onnx", "--quantize", "int8", str(tmp_path / "m")]) == 2
    )
    assert capsys.readouterr().err == "--quantize is for --format tflite, not onnx\n"
