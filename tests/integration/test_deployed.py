"""Runtime execution paths in whole runs: items per runtime, what they say, skips and crashes."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest

from .conftest import assert_lines, run, write_spec

RUNTIME_PATHS = """\
paths:
  - {runtime: onnx}
  - {runtime: tflite}
  - {runtime: tflite, quantize: int8, unroll: false}
"""
HEADER = "(spec 'deployed' at specs/deployed.yaml:9)"


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in modules)


@pytest.mark.keras
@pytest.mark.skipif(
    not _installed("onnx", "onnxruntime", "tf2onnx", "ai_edge_litert"),
    reason="needs the onnx and tflite extras",
)
def test_each_runtime_is_an_item_that_says_what_it_compared_and_a_crash_is_one_failure(
    project: pytest.Pytester,
) -> None:
    write_spec(project, "deployed", RUNTIME_PATHS)
    result = run(project, "-rA", "--rnn-parity-report=report.json")
    result.assert_outcomes(passed=3, failed=2)  # the golden has not been recorded
    assert_lines(
        result,
        "PASSED specs/deployed.yaml::deployed::parity",
        "PASSED specs/deployed.yaml::deployed::parity[runtime=onnx]",
        "PASSED specs/deployed.yaml::deployed::parity[runtime=tflite]",
    )
    output = result.stdout.str()
    # ONNX: the GRU is a Loop, every gate is added as a scan output and read at every step
    assert (
        "  gru: update (every step), reset (every step), candidate (every step),"
        " hidden (every step), final hidden, layer output"
    ) in output
    # the int8 calibration of a WHILE loop segfaults TensorFlow 2.21: one failure, quoted
    artifact = "deployed -> tflite int8 (deployed-runtime=tflite-quantize=int8-unroll=false.tflite)"
    assert_lines(
        result,
        "_________ deployed::parity[runtime=tflite-quantize=int8-unroll=false] __________",
        f"converting {artifact}: the converter process was killed by SIGSEGV; its last lines:",
        f"    {artifact}: converting",
    )
    # the golden's failure and this one; the short summary (which under CI=true shows
    # whole messages) is left out
    failures = output.split("short test summary info")[0].splitlines()
    assert failures.count(HEADER) == 2
    assert HEADER in output
    report = json.loads((project.path / "report.json").read_text())
    items = {item["nodeid"].rsplit("::", 1)[1]: item for item in report["items"]}
    onnx = items["parity[runtime=onnx]"]
    assert onnx["verdict"] == "pass"
    assert onnx["runtime"].startswith("onnx artifact (as converted, dynamic batch) run with")
    assert "gru/forward/update" in onnx["compared"]
    assert onnx["not_exposed"] == {}
    assert "gru/forward/forget" not in items["parity[runtime=tflite]"]["compared"]
    assert items["parity[runtime=tflite-quantize=int8-unroll=false]"]["verdict"] == "fail"


def _without(monkeypatch: pytest.MonkeyPatch, *missing: str) -> None:
    find_spec = importlib.util.find_spec

    def hiding(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name in missing else find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", hiding)


@pytest.mark.keras
def test_without_the_extras_the_items_are_skipped_with_the_install_command(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without(monkeypatch, "onnx", "onnxruntime", "tf2onnx", "ai_edge_litert")
    write_spec(project, "deployed", RUNTIME_PATHS)
    result = run(project, "-rs", "-k", "runtime")
    result.assert_outcomes(skipped=3)
    assert_lines(
        result,
        "SKIPPED [1] specs/deployed.yaml:9: the onnx runtime needs onnx, onnxruntime, tf2onnx,"
        " not installed here: pip install 'pytest-rnnparity[onnx]'",
        "SKIPPED [2] specs/deployed.yaml:9: the tflite runtime needs ai_edge_litert, not"
        " installed here: pip install 'pytest-rnnparity[tflite]'",
    )
