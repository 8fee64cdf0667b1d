"""``rnnparity export SPEC --format onnx|tflite [--quantize int8] OUT``: the checked artifact.

The spec's model is converted as its runtime path converts it (the spec's own
``paths:`` entry for that runtime, if it has one, with its tolerance and ``unroll``),
run in its runtime and compared with the reference at every value the runtime exposes.
Only an artifact that passes is written: ``OUT``, its sidecar ``OUT.rnnparity.json``
(what was converted and checked) and the test vectors beside it (``<OUT>.vectors.npz``,
the names of ``--format npz``), so a port has the file and what it must compute.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Literal, cast

from pytest_rnnparity.check.spec_run import SpecRun, spec_tolerances
from pytest_rnnparity.spec import ExecutionPath


def runtime_path(run: SpecRun, format: str, quantize: str | None) -> ExecutionPath:
    """The spec's path for this runtime and quantization, or a plain one."""
    for path in run.spec.paths:
        if path.runtime == format and path.quantize == quantize:
            return path
    return ExecutionPath(
        runtime=cast(Literal["onnx", "tflite"], format),
        quantize=cast(Literal["dynamic", "int8"] | None, quantize),
    )


def vectors_path(out: Path) -> Path:
    """``model.tflite`` -> ``model.vectors.npz``."""
    return out.with_name(out.stem + ".vectors.npz")


def export_artifact(run: SpecRun, *, format: str, quantize: str | None, out: Path) -> int:
    """Convert, check and write the artifact with its test vectors; the exit code."""
    from pytest_rnnparity.check.deployed import (
        check_runtime,
        conversion_for,
        runtime_skip_reason,
    )
    from pytest_rnnparity.errors import ConversionRefused, RnnParityError
    from pytest_rnnparity.model.conversion import convert_all
    from pytest_rnnparity.report.deployed import runtime_failure_message, runtime_summary
    from pytest_rnnparity.report.vectors import vectors_of_run, write_vectors
    from pytest_rnnparity.runtimes.manifest import Artifact

    path = runtime_path(run, format, quantize)
    missing = runtime_skip_reason(path)
    if missing:
        print(missing, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="rnnparity-export-") as scratch:
        staged = Path(scratch) / out.name
        conversion = conversion_for(
            path, run.model, run.windows.x, staged, keras_major=run.parity.keras_major
        )
        (result,) = convert_all([conversion])
        if isinstance(result, ConversionRefused):
            print(
                f"not exported: the converter refused the model: {result.reason}", file=sys.stderr
            )
            return 1
        if not isinstance(result, Artifact):
            print(f"not exported: {result}", file=sys.stderr)
            return 1
        try:
            check = check_runtime(
                path, result, run.parity, spec_tolerances(run.spec, path.tolerance)
            )
        except RnnParityError as error:
            print(f"not exported: {error}", file=sys.stderr)
            return 1
        if not check.ok:
            print(f"not exported: {runtime_failure_message(check)}", file=sys.stderr)
            return 1
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staged, out)
        sidecar = replace(Artifact.load(staged), path=out).save()
    vectors = vectors_of_run(run)
    write_vectors(vectors, vectors_path(out), format="npz", prefix="rnnp")
    print(runtime_summary(check))
    print(f"wrote {out} ({out.stat().st_size} bytes), {sidecar.name} and {vectors_path(out).name}")
    return 0
