"""Run an ONNX artifact with onnxruntime and read back every exposed value.

The artifact is run twice: as it is (the model outputs, as deployed) and as the
copy :func:`.onnx_graph.plan_onnx` instruments, whose extra graph outputs are the
per-step and per-layer values. The readout notes how far the two runs' model
outputs differ (they should not differ at all).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pytest_rnnparity.errors import ArtifactError
from pytest_rnnparity.reference.types import Array
from pytest_rnnparity.runtimes.manifest import Artifact
from pytest_rnnparity.runtimes.onnx_graph import plan_onnx
from pytest_rnnparity.runtimes.readout import Readout, assemble, concat_batches


def _session(content: bytes) -> Any:
    import onnxruntime  # type: ignore[import-untyped,import-not-found,unused-ignore]

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        content, sess_options=options, providers=["CPUExecutionProvider"]
    )


def _batches(x: Array, batch_size: int | None) -> list[Array]:
    if not batch_size:
        return [x]
    rows = len(x)
    padded = -(-rows // batch_size) * batch_size
    if padded != rows:
        x = np.concatenate([x, np.zeros((padded - rows, *x.shape[1:]), dtype=x.dtype)])
    return [x[i : i + batch_size] for i in range(0, padded, batch_size)]


def _reader(fetched: dict[str, Any]) -> Callable[[str], Array]:
    def read(tensor: str) -> Array:
        return np.asarray(fetched[tensor], dtype=np.float64)

    return read


def run_onnx(artifact: Artifact, x: Any) -> Readout:
    """Run ``artifact`` on ``x`` ``(batch, time, features)`` and read back all it exposes."""
    import onnx
    import onnxruntime  # type: ignore[import-untyped,import-not-found,unused-ignore]

    if artifact.format != "onnx":
        raise ArtifactError(f"{artifact.path} is {artifact.format}, not onnx")
    x_array = np.asarray(x, dtype=np.float32)
    model = onnx.load(str(artifact.path))
    plan, instrumented = plan_onnx(model, artifact.manifest, timesteps=int(x_array.shape[1]))
    plain = _session(model.SerializeToString())
    probed = _session(instrumented.SerializeToString())
    input_name = plain.get_inputs()[0].name
    output_count = len(plain.get_outputs())
    probed_names = [o.name for o in probed.get_outputs()]
    per_batch = []
    outputs: list[list[Array]] = []
    probed_outputs: list[list[Array]] = []
    for batch in _batches(x_array, artifact.batch_size):
        outputs.append([np.asarray(v) for v in plain.run(None, {input_name: batch})])
        fetched = dict(zip(probed_names, probed.run(None, {input_name: batch}), strict=True))
        probed_outputs.append([np.asarray(fetched[n]) for n in probed_names[:output_count]])
        per_batch.append(plan.evaluate(_reader(fetched), rows=len(batch)))
    rows = len(x_array)
    joined = [np.concatenate([o[i] for o in outputs])[:rows] for i in range(output_count)]
    joined_probed = [
        np.concatenate([o[i] for o in probed_outputs])[:rows] for i in range(output_count)
    ]
    gap = max(
        float(np.max(np.abs(a - b), initial=0.0))
        for a, b in zip(joined, joined_probed, strict=True)
    )
    notes = [] if gap == 0 else [f"the instrumented copy's model outputs differ by {gap:.3g}"]
    return assemble(
        plan,
        concat_batches(per_batch, rows),
        artifact=artifact,
        runtime=f"onnxruntime {onnxruntime.__version__}",
        inputs=x_array,
        outputs=joined,
        notes=notes,
    )
