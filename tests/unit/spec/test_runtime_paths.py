"""paths: runtime execution paths ({runtime: onnx}, {runtime: tflite, quantize: int8})."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_rnnparity.spec import ExecutionPath, ToleranceLimits

from ..helpers import REPO
from .helpers import SMALL, error_of, load_one
from .json_schema import schema_accepts

RUNTIMES = """\
paths:
  - {runtime: onnx}
  - {runtime: tflite}
  - {runtime: tflite, quantize: dynamic}
  - {runtime: tflite, quantize: int8, unroll: false, tolerance: {atol: 0.05}}
"""


def test_runtime_paths_load_with_their_ids(tmp_path: Path) -> None:
    spec = load_one(tmp_path, SMALL + RUNTIMES)
    assert [path.id for path in spec.paths] == [
        "runtime=onnx",
        "runtime=tflite",
        "runtime=tflite-quantize=dynamic",
        "runtime=tflite-quantize=int8-unroll=false",
    ]
    assert spec.paths[3] == ExecutionPath(
        runtime="tflite",
        quantize="int8",
        unroll=False,
        tolerance=ToleranceLimits(atol=0.05),
        line=spec.paths[3].line,
    )
    # a runtime path converts the model as built: it overrides no layer argument
    assert spec.paths[3].layer_overrides() == {}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{quantize: int8}",
            "paths[0].quantize: quantize is for a runtime path: add runtime: tflite",
        ),
        ("{runtime: onnx, quantize: int8}", "paths[0].quantize: quantize is for runtime: tflite"),
        ("{runtime: tflite, use_cudnn: true}", "paths[0].use_cudnn: a runtime path converts"),
        ("{runtime: tensorrt}", "paths[0].runtime: expected one of onnx, tflite"),
        ("{runtime: tflite, quantize: int4}", "paths[0].quantize: expected one of dynamic, int8"),
    ],
)
def test_runtime_paths_are_refused_where_they_do_not_apply(
    tmp_path: Path, entry: str, message: str
) -> None:
    assert message in error_of(tmp_path, SMALL + f"paths:\n  - {entry}\n")


def test_a_float64_spec_has_no_runtime_path(tmp_path: Path) -> None:
    text = SMALL + "dtype: float64\npaths:\n  - {runtime: onnx}\n"
    assert "a runtime path converts a float32 model; this spec is float64" in error_of(
        tmp_path, text
    )


def test_the_schema_takes_runtime_paths_and_refuses_what_the_loader_refuses() -> None:
    assert schema_accepts(SMALL + RUNTIMES)
    assert schema_accepts((REPO / "specs" / "deployed_runtimes.yaml").read_text())
    assert not schema_accepts(SMALL + "paths:\n  - {runtime: onnx, quantize: int8}\n")
    assert not schema_accepts(SMALL + "paths:\n  - {runtime: tflite, backend: jax}\n")
    assert not schema_accepts(SMALL + "paths:\n  - {quantize: int8}\n")
