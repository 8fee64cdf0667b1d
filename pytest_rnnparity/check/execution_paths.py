"""Execution paths: the same model through other Keras backends and layer options.

A path that only changes layer options (``implementation``, ``unroll``, ``use_cudnn``)
or how TensorFlow runs Keras (``run_eagerly``) runs in this process. A path with
another ``backend`` runs in a subprocess, because Keras fixes its backend at import:
``python -m pytest_rnnparity.check.execution_paths`` builds the spec's model under
``KERAS_BACKEND``, reads every layer's outputs with the same trace model, and saves them
to an ``.npz`` file; this process then compares them with the reference it already
computed. Every
path is checked against the same reference and the same golden (read only), with the
path's own tolerance.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from pytest_rnnparity.check.finite import find_non_finite
from pytest_rnnparity.check.parity import ParityResult, compare_layers
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.errors import PathError
from pytest_rnnparity.model.capture import KerasDirection, KerasLayerOutputs
from pytest_rnnparity.spec import ExecutionPath, Spec

#: What a backend needs importable, and how to get it. Keras 3's numpy backend
#: imports jax (for its fft), so it needs jax too.
BACKEND_PACKAGES = {
    "tensorflow": ("tensorflow", "pip install tensorflow"),
    "jax": ("jax", "pip install jax"),
    "torch": ("torch", "pip install torch"),
    "numpy": ("jax", "pip install jax: Keras' numpy backend imports it"),
}
#: A subprocess that runs longer than this is stopped and reported.
SUBPROCESS_TIMEOUT = 1800.0


def current_backend() -> str:
    """The Keras backend of this process (``tensorflow`` under Keras 2)."""
    keras = sys.modules.get("keras")
    backend = getattr(getattr(keras, "backend", None), "backend", None)
    return str(backend()) if callable(backend) else os.environ.get("KERAS_BACKEND", "tensorflow")


def skip_reason(path: ExecutionPath, *, keras_major: int, gpus: int) -> str | None:
    """Why ``path`` cannot run here, or None when it can."""
    if path.use_cudnn and gpus == 0:
        return "use_cudnn needs a GPU, and TensorFlow sees none on this machine"
    if path.use_cudnn is not None and keras_major < 3:
        return "use_cudnn is a Keras 3 option; this is Keras 2"
    if path.backend is not None and path.backend != "tensorflow" and keras_major < 3:
        return f"the {path.backend} backend needs Keras 3; this is Keras 2"
    if path.backend is not None:
        module, install = BACKEND_PACKAGES[path.backend]
        if importlib.util.find_spec(module) is None:
            return f"Keras backend '{path.backend}' is not installed here ({install})"
    backend = path.backend or current_backend()
    if path.run_eagerly is False and backend != "tensorflow":
        return f"run_eagerly: false is a TensorFlow graph; the {backend} backend runs eagerly"
    return None


def needs_subprocess(path: ExecutionPath) -> bool:
    """True when the path's backend is not the one this process runs."""
    return path.backend is not None and path.backend != current_backend()


# -- the .npz exchange ------------------------------------------------------------------


def save_outputs(results: Sequence[KerasLayerOutputs], file: Path) -> None:
    """Write every layer's outputs to ``file``, keyed by position in the chain."""
    arrays: dict[str, np.ndarray] = {}
    for index, layer in enumerate(results):
        outputs = layer.output if isinstance(layer.output, tuple) else (layer.output,)
        for n, output in enumerate(outputs):
            arrays[f"{index}/output/{n}"] = output
        for direction, trace in layer.directions.items():
            arrays[f"{index}/{direction}/sequence"] = trace.sequence
            for state, value in trace.final_states.items():
                arrays[f"{index}/{direction}/state/{state}"] = value
    np.savez(file, **arrays)  # type: ignore[arg-type]


def load_outputs(file: Path, names: Sequence[str]) -> list[KerasLayerOutputs]:
    """Read :func:`save_outputs`' file back; ``names`` are the layer names to use."""
    with np.load(file) as data:
        keys = list(data.keys())
        results = []
        for index, name in enumerate(names):
            outputs = [data[k] for k in sorted(k for k in keys if k.startswith(f"{index}/output/"))]
            directions = {}
            for direction in ("forward", "backward"):
                prefix = f"{index}/{direction}/"
                if f"{prefix}sequence" not in keys:
                    continue
                directions[direction] = KerasDirection(
                    sequence=data[f"{prefix}sequence"],
                    final_states={
                        k[len(prefix) + len("state/") :]: data[k]
                        for k in keys
                        if k.startswith(f"{prefix}state/")
                    },
                )
            output: Any = outputs[0] if len(outputs) == 1 else (outputs[0], outputs[1])
            results.append(KerasLayerOutputs(name=name, output=output, directions=directions))
    return results


# -- running a path ---------------------------------------------------------------------


def compute_outputs(
    spec: Spec, *, root: Path, overrides: Mapping[str, Any], run_eagerly: bool | None = None
) -> list[KerasLayerOutputs]:
    """Build the spec's model with ``overrides`` and read every layer call's Keras outputs.

    ``run_eagerly`` as :class:`~pytest_rnnparity.model.capture.ModelCapture` takes it
    (None: by sequence length).
    """
    from pytest_rnnparity.check.parity import keras_runs, model_inputs, row_chunks
    from pytest_rnnparity.check.spec_run import prepare
    from pytest_rnnparity.model.capture import capture_of, concat_batches, keras_outputs

    data, model = prepare(spec, root=root, overrides=overrides)
    capture = capture_of(model, run_eagerly=run_eagerly)
    inputs = model_inputs(capture, data.x)
    runs = keras_runs(capture, inputs, [None] * len(inputs), row_chunks(capture, len(inputs[0])))
    return concat_batches([keras_outputs(capture, run) for run in runs])


def run_path(
    spec: Spec,
    path: ExecutionPath,
    *,
    root: Path,
    main: ParityResult,
    tolerances: Mapping[str, Tolerance],
) -> ParityResult:
    """The path's Keras outputs compared with the main run's reference.

    Layers are matched by position and reported under the main run's names, so the
    path's result lines up with the golden.
    """
    names = [layer.name for layer in main.layers]
    if needs_subprocess(path):
        outputs = run_in_subprocess(spec, path, root=root, names=names)
    else:
        outputs = compute_outputs(
            spec, root=root, overrides=path.layer_overrides(), run_eagerly=path.run_eagerly
        )
    outputs = [replace(output, name=name) for output, name in zip(outputs, names, strict=True)]
    comparisons = compare_layers(main.layers, main.reference, outputs, tolerances)
    non_finite = find_non_finite(main.layers, main.inputs, main.reference, outputs)
    return replace(
        main, comparisons=tuple(comparisons), keras=tuple(outputs), non_finite=non_finite
    )


def run_in_subprocess(
    spec: Spec, path: ExecutionPath, *, root: Path, names: Sequence[str]
) -> list[KerasLayerOutputs]:
    """Run the spec's model under ``path.backend`` in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="rnnparity-path-") as scratch:
        out = Path(scratch) / "outputs.npz"
        command = [
            sys.executable,
            "-m",
            "pytest_rnnparity.check.execution_paths",
            str(spec.path),
            "--root",
            str(root),
            "--spec-id",
            spec.id,
            "--overrides",
            json.dumps(path.layer_overrides()),
            "--run-eagerly",
            json.dumps(path.run_eagerly),
            "--out",
            str(out),
        ]
        env = {**os.environ, "KERAS_BACKEND": str(path.backend)}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            completed = subprocess.run(
                command,
                env=env,
                capture_output=True,
                text=True,
                timeout=SUBPROCESS_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PathError(
                f"the {path.backend} subprocess did not finish within {SUBPROCESS_TIMEOUT:.0f} s"
            ) from None
        if completed.returncode != 0 or not out.exists():
            tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
            raise PathError(
                f"the {path.backend} subprocess failed (exit code {completed.returncode}):\n{tail}"
            )
        return load_outputs(out, names)


def _worker(argv: Sequence[str] | None = None) -> int:
    """Subprocess entry: build the spec's model under KERAS_BACKEND and save its outputs."""
    parser = argparse.ArgumentParser(prog="python -m pytest_rnnparity.check.execution_paths")
    parser.add_argument("spec_file", type=Path)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--spec-id", required=True)
    parser.add_argument("--overrides", default="{}")
    parser.add_argument("--run-eagerly", default="null", help="true, false or null (auto)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    from pytest_rnnparity.spec import load_specs

    specs = {spec.id: spec for spec in load_specs(args.spec_file, root=args.root)}
    outputs = compute_outputs(
        specs[args.spec_id],
        root=args.root,
        overrides=json.loads(args.overrides),
        run_eagerly=json.loads(args.run_eagerly),
    )
    save_outputs(outputs, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(_worker())
