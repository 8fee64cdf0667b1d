"""Convert a Keras model to ONNX or TFLite in a child process: both sides of it.

Converters crash: int8 calibration of a Keras 3 ``WHILE`` loop segfaults TensorFlow
2.21 (``calibrator.py _feed_tensors``). So every conversion runs in a child,
``python -m pytest_rnnparity.model.conversion --jobs FILE``, on a saved ``.keras``
file, and a crash, a non-zero exit or a timeout becomes one
:class:`~pytest_rnnparity.errors.ConversionFailed` that quotes the child's last lines
and its exit code or signal; the conversions after it go on in a fresh child. A
converter that *refuses* the model (it cannot express it) is told apart: the child
writes its reason and the parent returns a
:class:`~pytest_rnnparity.errors.ConversionRefused`, a reason to skip.

The child, per job (:func:`main`):

1. loads the model and describes it (:func:`.deployable.manifest_from_model`);
2. for TFLite (which cannot convert a dynamic batch) rebuilds it with a fixed batch
   and, when asked (always for int8), with every recurrent layer unrolled; checks
   that the rebuilt Keras model computes the original's outputs on the windows and
   says so in the artifact's ``checks``;
3. converts: ONNX with ``model.export(format="onnx")``; TFLite with
   ``TFLiteConverter.from_keras_model``, plain, dynamic-range
   (``optimizations=[DEFAULT]``) or full int8 (calibrated on the windows, float
   input and output);
4. writes the artifact and its sidecar (:class:`~pytest_rnnparity.runtimes.manifest.Artifact`).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pytest_rnnparity.errors import ConversionFailed, ConversionRefused
from pytest_rnnparity.runtimes.manifest import Artifact, Format, Quantization, sidecar_path

#: A conversion that runs longer than this is stopped and reported.
CONVERT_TIMEOUT = 600.0
#: How many of the child's last lines an error quotes.
TAIL_LINES = 15
#: Exit code of a child whose converter refused the model.
REFUSED_EXIT = 3
#: Default fixed batch of a TFLite artifact (at most this many windows per batch).
DEFAULT_BATCH = 32


def _signal_name(returncode: int) -> str | None:
    if returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_child(
    command: Sequence[str],
    *,
    what: str,
    timeout: float = CONVERT_TIMEOUT,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command``; a crash, a failure or a timeout raises :class:`ConversionFailed`.

    The child's exit code :data:`REFUSED_EXIT` is returned, not raised: the caller
    reads the child's refusal.
    """
    child_env = {**os.environ, **(env or {})}
    child_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        completed = subprocess.run(
            list(command),
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        output = (
            expired.stdout
            if isinstance(expired.stdout, str)
            else (expired.stdout or b"").decode(errors="replace")
        )
        raise ConversionFailed(
            f"{what} (stopped after {timeout:.0f} s)",
            returncode=None,
            signal=None,
            tail=_tail(output),
        ) from None
    if completed.returncode not in (0, REFUSED_EXIT):
        raise ConversionFailed(
            what,
            returncode=completed.returncode,
            signal=_signal_name(completed.returncode),
            tail=_tail(completed.stdout),
        )
    return completed


def refusal_path(out: Path) -> Path:
    return out.with_name(out.name + ".refused.json")


@dataclass(frozen=True)
class Conversion:
    """One artifact to make; the arguments are those of :func:`convert`."""

    model: Any
    format: Format
    out: Path
    quantization: Quantization = "none"
    windows: Any = None
    batch_size: int | None = None
    unroll: bool | None = None

    def label(self) -> str:
        name = Path(self.model).name if isinstance(self.model, (str, Path)) else self.model.name
        quantized = f" {self.quantization}" if self.quantization != "none" else ""
        return f"{name} -> {self.format}{quantized} ({self.out.name})"


def _check(conversion: Conversion) -> None:
    if conversion.format not in ("onnx", "tflite"):
        raise ValueError(f"unknown format {conversion.format!r}: onnx or tflite")
    if conversion.quantization not in ("none", "dynamic", "int8"):
        raise ValueError(f"unknown quantization {conversion.quantization!r}")
    if conversion.quantization != "none" and conversion.format != "tflite":
        raise ValueError(f"quantization {conversion.quantization!r} is for tflite artifacts only")
    if conversion.quantization == "int8" and conversion.windows is None:
        raise ValueError("int8 conversion needs representative windows")


def convert(
    model: Any,
    *,
    format: Format,
    out: Path | str,
    quantization: Quantization = "none",
    windows: Any = None,
    batch_size: int | None = None,
    unroll: bool | None = None,
    timeout: float = CONVERT_TIMEOUT,
) -> Artifact:
    """Convert ``model`` (a Keras model or a saved ``.keras`` path) to the artifact ``out``.

    Parameters
    ----------
    format
        ``"onnx"`` or ``"tflite"``.
    quantization
        TFLite only: ``"none"`` (float32), ``"dynamic"`` (dynamic-range, int8
        weights) or ``"int8"`` (full integer, calibrated on ``windows``).
    windows
        Representative inputs ``(n, time, features)``: int8 calibration, and the
        check that a rebuilt model equals the original. Needed for int8.
    batch_size
        The fixed batch of a TFLite artifact (default: the number of windows, at
        most :data:`DEFAULT_BATCH`, or 1; 0 keeps it dynamic, which the TFLite
        converter refuses for a Keras 3 loop). ONNX keeps a dynamic batch unless
        given.
    unroll
        Rebuild every recurrent layer with ``unroll=True`` first (default: for int8
        only). ``unroll=False`` with int8 reproduces the calibrator's segfault.

    Raises
    ------
    ConversionRefused
        The converter cannot express the model (a skip reason).
    ConversionFailed
        The child crashed or failed; the message quotes its last lines.
    """
    conversion = Conversion(model, format, Path(out), quantization, windows, batch_size, unroll)
    result = convert_all([conversion], timeout=timeout)[0]
    if isinstance(result, (ConversionRefused, ConversionFailed)):
        raise result
    return result


Converted = Artifact | ConversionRefused | ConversionFailed


def convert_all(
    conversions: Sequence[Conversion], *, timeout: float = CONVERT_TIMEOUT
) -> list[Converted]:
    """Several conversions in one child process, in order; one result per conversion.

    TensorFlow is imported once for all of them (about 4 s). A refusal is returned in
    place of its artifact; so is a crash (:class:`ConversionFailed`, naming the
    conversion it happened in), and the conversions after it run in a fresh child.
    """
    for conversion in conversions:
        _check(conversion)
    results: list[Converted] = []
    with tempfile.TemporaryDirectory(prefix="rnnparity-convert-") as scratch:
        jobs = _jobs(conversions, Path(scratch))
        while len(results) < len(conversions):
            results.extend(
                _run_jobs(conversions[len(results) :], jobs[len(results) :], scratch, timeout)
            )
    return results


def _jobs(conversions: Sequence[Conversion], scratch: Path) -> list[dict[str, Any]]:
    """The child's job list; models are saved once each, windows once per conversion."""
    saved: dict[int, str] = {}
    jobs = []
    for index, conversion in enumerate(conversions):
        conversion.out.parent.mkdir(parents=True, exist_ok=True)
        for stale in (conversion.out, sidecar_path(conversion.out), refusal_path(conversion.out)):
            stale.unlink(missing_ok=True)
        model = conversion.model
        if isinstance(model, (str, Path)):
            model_path = str(model)
        elif id(model) in saved:
            model_path = saved[id(model)]
        else:
            model_path = str(scratch / f"model-{len(saved)}.keras")
            model.save(model_path)
            saved[id(model)] = model_path
        windows_path = None
        if conversion.windows is not None:
            windows_path = str(scratch / f"windows-{index}.npy")
            np.save(windows_path, np.asarray(conversion.windows, dtype=np.float32))
        unroll = (
            conversion.quantization == "int8" if conversion.unroll is None else conversion.unroll
        )
        jobs.append(
            {
                "model": model_path,
                "format": conversion.format,
                "quantization": conversion.quantization,
                "out": str(conversion.out),
                "windows": windows_path,
                "batch_size": conversion.batch_size,
                "unroll": bool(unroll),
                "label": conversion.label(),
            }
        )
    return jobs


def _finished(conversion: Conversion) -> bool:
    return sidecar_path(conversion.out).exists() or refusal_path(conversion.out).exists()


def _result(conversion: Conversion) -> Artifact | ConversionRefused:
    refusal = refusal_path(conversion.out)
    if refusal.exists():
        reason = json.loads(refusal.read_text())["reason"]
        refusal.unlink()
        return ConversionRefused(reason)
    return Artifact.load(conversion.out)


def _run_jobs(
    conversions: Sequence[Conversion],
    jobs: Sequence[dict[str, Any]],
    scratch: str,
    timeout: float,
) -> list[Converted]:
    """Run ``jobs`` in one child: the results up to and including the first crash."""
    jobs_path = Path(scratch) / "jobs.json"
    jobs_path.write_text(json.dumps(list(jobs)))
    command = [sys.executable, "-m", "pytest_rnnparity.model.conversion", "--jobs", str(jobs_path)]
    try:
        completed = run_child(command, what=_what(conversions), timeout=timeout)
    except ConversionFailed as failed:
        done = 0
        while done < len(conversions) and _finished(conversions[done]):
            done += 1
        results: list[Converted] = [_result(c) for c in conversions[:done]]
        if done < len(conversions):
            results.append(
                ConversionFailed(
                    f"converting {conversions[done].label()}",
                    returncode=failed.returncode,
                    signal=failed.signal,
                    tail=failed.tail,
                )
            )
        return results
    results = []
    for conversion in conversions:
        if _finished(conversion):
            results.append(_result(conversion))
        else:
            results.append(
                ConversionFailed(
                    f"converting {conversion.label()} (no artifact written)",
                    returncode=completed.returncode,
                    signal=None,
                    tail=_tail(completed.stdout),
                )
            )
    return results


def _what(conversions: Sequence[Conversion]) -> str:
    if len(conversions) == 1:
        return f"converting {conversions[0].label()}"
    return f"converting {len(conversions)} artifacts"


# -- the child -------------------------------------------------------------------

#: The unrolled Keras model must compute the original's outputs to this (float32 ops
#: in another order); anything more means the rebuild changed the model.
REBUILD_TOLERANCE = 1e-5
VERSION_PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "tf2onnx", "onnx", "ai-edge-litert")


class _Refused(Exception):
    """The converter cannot express the model."""


def _versions() -> dict[str, str]:
    found = {}
    for package in VERSION_PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _is_refusal(error: BaseException) -> bool:
    """A converter error that says the model cannot be expressed (not a bug, not a crash)."""
    text = str(error).lower()
    if type(error).__name__ == "ConverterError":
        return True
    return any(
        phrase in text
        for phrase in ("not supported", "unsupported", "is not convertible", "cannot be converted")
    )


def _convert_tflite(model: Any, quantization: str, windows: Any, batch_size: int) -> bytes:
    import tensorflow as tf

    from pytest_rnnparity.model.deployable import batches

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantization in ("dynamic", "int8"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "int8":
        calibration = list(batches(windows, batch_size))
        converter.representative_dataset = lambda: ([batch] for batch in calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.float32
        converter.inference_output_type = tf.float32
    try:
        return bytes(converter.convert())
    except Exception as error:
        if _is_refusal(error):
            raise _Refused(
                f"the TFLite converter refused the model: {_first_lines(error)}"
            ) from error
        raise


def _first_lines(error: BaseException, lines: int = 4) -> str:
    return " ".join(str(error).strip().splitlines()[:lines]) or type(error).__name__


def _convert_onnx(model: Any, out: Path) -> None:
    """Keras 3's own ONNX export; Keras 2 has none, so tf2onnx converts its model."""
    try:
        if int(str(_keras_version(model)).split(".")[0]) >= 3:
            model.export(str(out), format="onnx", verbose=False)
        else:
            import tensorflow as tf
            import tf2onnx

            shape = [None if d is None else int(d) for d in model.inputs[0].shape]
            signature = [tf.TensorSpec(shape, tf.float32, name="inputs")]
            tf2onnx.convert.from_keras(model, input_signature=signature, output_path=str(out))
    except Exception as error:
        if _is_refusal(error):
            raise _Refused(f"the ONNX exporter refused the model: {_first_lines(error)}") from error
        raise


def _keras_version(model: Any) -> str:
    return str(getattr(__import__(type(model).__module__.split(".")[0]), "__version__", "3"))


def _weight_note(content: bytes) -> str | None:
    from pytest_rnnparity.runtimes.tflite_model import read_model

    model = read_model(content)
    quantized = [
        info
        for tid, info in model.tensors.items()
        if tid in model.constant_data and info.dtype == "int8" and len(info.shape) >= 2
    ]
    if not quantized:
        return (
            "dynamic-range quantization left every weight in float32 (the converter "
            "quantizes only large weight tensors): this artifact computes like float32"
        )
    return f"dynamic-range quantization stored {len(quantized)} weight tensors as int8"


def _convert_job(keras: Any, job: dict[str, Any]) -> None:
    """One conversion, in the child: rebuild, check, convert, write the artifact."""
    from pytest_rnnparity.model.deployable import (
        manifest_from_model,
        max_difference,
        rebuild,
        recurrent_layer_names,
    )

    started = time.perf_counter()
    out = Path(job["out"])
    fmt, quantization, unroll = job["format"], job["quantization"], bool(job["unroll"])
    print(f"{job['label']}: loading {job['model']}", flush=True)
    model = keras.saving.load_model(job["model"], compile=False)
    manifest = manifest_from_model(model)
    windows = None if job["windows"] is None else np.load(job["windows"]).astype(np.float32)
    checks: list[str] = []
    notes: list[str] = []
    batch_size = job["batch_size"]
    if fmt == "tflite" and batch_size is None:
        batch_size = min(len(windows), DEFAULT_BATCH) if windows is not None else 1
    batch_size = batch_size or None  # 0: keep the batch dynamic
    probe = windows
    if probe is None:
        shape = [d or 1 for d in manifest.input_shape[1:]]
        probe = np.random.default_rng(0).normal(size=(batch_size or 2, *shape)).astype(np.float32)
    converted = model
    if batch_size is not None or unroll:
        converted = rebuild(model, batch_size=batch_size, unroll=unroll)
        gap = max_difference(model, converted, probe, batch_size=batch_size)
        what = ("unrolled, " if unroll else "") + (
            f"fixed batch {batch_size}" if batch_size else "dynamic batch"
        )
        source = "the windows" if windows is not None else "random inputs"
        if gap > REBUILD_TOLERANCE:
            raise SystemExit(
                f"{job['label']}: the rebuilt Keras model ({what}) differs from the original "
                f"by {gap:.3g} on {source}; not converting"
            )
        checks.append(
            f"the rebuilt Keras model ({what}) equals the original on {len(probe)} rows of "
            f"{source}: max |difference| {gap:.3g}"
        )
        print(f"{job['label']}: {checks[-1]}", flush=True)
    if unroll:
        layers = ", ".join(recurrent_layer_names(model)) or "none"
        notes.append(
            f"converted unrolled (recurrent layers: {layers}): every step is a run of ops "
            "and can be read"
        )
    elif fmt == "tflite":
        notes.append(
            "converted as the converter makes it, not unrolled: a WHILE loop keeps only its "
            "last iteration's values, a fused op only its outputs"
        )
    print(f"{job['label']}: converting", flush=True)
    converting = time.perf_counter()
    try:
        if fmt == "onnx":
            converted(probe[: batch_size or 1])
            _convert_onnx(converted, out)
        else:
            content = _convert_tflite(converted, quantization, windows, int(batch_size or 1))
            out.write_bytes(content)
            if quantization == "dynamic" and (note := _weight_note(content)):
                notes.append(note)
    except _Refused as refused:
        refusal_path(out).write_text(json.dumps({"reason": str(refused)}))
        print(f"{job['label']}: {refused}", flush=True)
        return
    print(f"{job['label']}: converted in {time.perf_counter() - converting:.2f} s", flush=True)
    Artifact(
        path=out,
        format=fmt,
        quantization=quantization,
        manifest=manifest,
        unrolled=unroll,
        batch_size=batch_size,
        checks=tuple(checks),
        notes=tuple(notes),
        seconds=round(time.perf_counter() - started, 3),
        versions=_versions(),
    ).save()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_rnnparity.model.conversion",
        description="Convert a saved .keras model to ONNX or TFLite (one job, or --jobs FILE).",
    )
    parser.add_argument("model", nargs="?", help="a saved .keras model")
    parser.add_argument("--jobs", type=Path, help="a JSON list of conversions (convert_all)")
    parser.add_argument("--format", choices=("onnx", "tflite"))
    parser.add_argument("--quantization", choices=("none", "dynamic", "int8"), default="none")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--windows", type=Path, help="representative windows (.npy)")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--unroll", action=argparse.BooleanOptionalAction, default=None)
    args = parser.parse_args(argv)
    if args.jobs is not None:
        jobs = json.loads(args.jobs.read_text())
    else:
        if args.model is None or args.format is None or args.out is None:
            parser.error("give MODEL, --format and --out, or --jobs")
        unroll = args.quantization == "int8" if args.unroll is None else args.unroll
        jobs = [
            {
                "model": args.model,
                "format": args.format,
                "quantization": args.quantization,
                "out": str(args.out),
                "windows": None if args.windows is None else str(args.windows),
                "batch_size": args.batch_size,
                "unroll": unroll,
                "label": f"{Path(args.model).name} -> {args.format}",
            }
        ]
    from pytest_rnnparity.model.build import import_keras

    keras = import_keras()
    refused = 0
    for job in jobs:
        _convert_job(keras, job)
        refused += refusal_path(Path(job["out"])).exists()
    return REFUSED_EXIT if refused and args.jobs is None else 0


if __name__ == "__main__":
    raise SystemExit(main())
