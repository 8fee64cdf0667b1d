"""Runtime execution paths: the spec's model converted, run in its runtime, checked step by step.

A runtime path (``{runtime: onnx}``, ``{runtime: tflite, quantize: int8}``, ...) is
checked against the main run's reference, like any execution path. Per spec:

1. :func:`convert_paths` converts the model for every runtime path of the spec in one
   child process (:func:`pytest_rnnparity.model.conversion.convert_all`): ONNX as
   exported, TFLite with a fixed batch (the spec's windows, at most
   :data:`~pytest_rnnparity.model.conversion.DEFAULT_BATCH` a batch) and, unless the
   path says ``unroll: false``, unrolled, since a TFLite ``WHILE`` loop keeps only its
   last iteration and int8 calibration of one crashes the converter;
2. :func:`check_runtime` runs one artifact on the spec's windows with onnxruntime or
   LiteRT, reads back every value the runtime exposes and compares each with the
   reference (:func:`.departures.compare_readout`), within the path's tolerance, or
   for a quantized artifact the budget derived from its scales
   (:func:`.quantization.quantization_budget`) unless the path sets one.

What a person reads of it is :mod:`pytest_rnnparity.report.deployed`.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_rnnparity.check.departures import (
    Departure,
    FirstDeparture,
    compare_readout,
    first_departure,
)
from pytest_rnnparity.check.parity import TOLERANCE_GROUP, ParityResult
from pytest_rnnparity.check.quantization import Budget, quantization_budget
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.model.conversion import DEFAULT_BATCH, Conversion, Converted, convert_all
from pytest_rnnparity.reference.types import (
    BidirectionalLayer,
    DenseLayer,
    DescribedLayer,
    IdentityLayer,
    RecurrentLayer,
)
from pytest_rnnparity.runtimes.manifest import Artifact, Quantization
from pytest_rnnparity.runtimes.readout import Readout, Unexposed
from pytest_rnnparity.spec import ExecutionPath

#: What each runtime needs importable, and the extra that installs it.
RUNTIME_PACKAGES: Mapping[str, tuple[tuple[str, ...], str]] = {
    "onnx": (("onnx", "onnxruntime", "tf2onnx"), "pip install 'pytest-rnnparity[onnx]'"),
    "tflite": (("ai_edge_litert",), "pip install 'pytest-rnnparity[tflite]'"),
}


def runtime_skip_reason(path: ExecutionPath) -> str | None:
    """Why ``path``'s runtime cannot run here (a package is missing), or None."""
    if path.runtime is None:
        return None
    modules, install = RUNTIME_PACKAGES[path.runtime]
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if not missing:
        return None
    return f"the {path.runtime} runtime needs {', '.join(missing)}, not installed here: {install}"


def quantization(path: ExecutionPath) -> Quantization:
    """The artifact's quantization: ``none`` unless the path quantizes."""
    return "none" if path.quantize is None else path.quantize


def tflite_batch(rows: int) -> int:
    """The fixed batch of a TFLite artifact for ``rows`` windows."""
    return max(1, min(rows, DEFAULT_BATCH))


def artifact_name(spec_id: str, path: ExecutionPath) -> str:
    """``power-gru-runtime=tflite-quantize=int8.tflite``, safe as a file name."""
    stem = re.sub(r"[^A-Za-z0-9._=-]+", "_", f"{spec_id}-{path.id}")
    return f"{stem}.{path.runtime}"


def conversion_for(
    path: ExecutionPath, model: Any, windows: Any, out: Path, *, keras_major: int = 3
) -> Conversion:
    """How ``path`` converts ``model``: TFLite with a fixed batch from the windows, and
    unrolled unless the path says ``unroll: false`` (int8 always needs it under Keras 3).

    Under Keras 2 a TFLite LSTM is the fused ``UNIDIRECTIONAL_SEQUENCE_LSTM`` op when
    it is not unrolled, so there the default is the converter's own form (but for
    int8: calibrating a Keras 2 GRU's loop crashes the converter too).
    """
    assert path.runtime is not None
    if path.runtime == "onnx":
        return Conversion(model, "onnx", out, unroll=bool(path.unroll))
    unroll = path.unroll
    if unroll is None:  # int8 calibration of any loop crashes the converter
        unroll = keras_major >= 3 or path.quantize == "int8"
    return Conversion(
        model,
        "tflite",
        out,
        quantization(path),
        windows=windows,
        batch_size=tflite_batch(len(windows)),
        unroll=unroll,
    )


def convert_paths(
    paths: Sequence[ExecutionPath],
    model: Any,
    windows: Any,
    directory: Path,
    *,
    spec_id: str,
    keras_major: int = 3,
) -> dict[str, Converted]:
    """Every runtime path's artifact, converted in one child; keyed by the path's id.

    A path whose converter refused the model has a :class:`ConversionRefused`, one
    whose conversion crashed a :class:`ConversionFailed` quoting the child.
    """
    runtime_paths = [path for path in paths if path.runtime is not None]
    conversions = [
        conversion_for(
            path, model, windows, directory / artifact_name(spec_id, path), keras_major=keras_major
        )
        for path in runtime_paths
    ]
    results = convert_all(conversions) if conversions else []
    return {path.id: result for path, result in zip(runtime_paths, results, strict=True)}


@dataclass(frozen=True)
class RuntimeCheck:
    """One artifact run in its runtime and compared with the reference.

    ``departures`` hold every quantity the runtime exposed, in chain order;
    ``budget`` the quantized artifact's derived tolerance (None for a float one, or
    when the path sets its own); ``tolerance_source`` says which tolerance applied.
    """

    path: ExecutionPath
    artifact: Artifact
    readout: Readout
    departures: tuple[Departure, ...]
    tolerance_source: str
    budget: Budget | None = None

    @property
    def ok(self) -> bool:
        return all(d.ok for d in self.departures)

    @property
    def failures(self) -> tuple[Departure, ...]:
        return tuple(d for d in self.departures if not d.ok)

    @property
    def first(self) -> FirstDeparture | None:
        """Where the artifact first leaves the reference (chain order, then step)."""
        return first_departure(self.departures)

    @property
    def not_exposed(self) -> tuple[tuple[str, Unexposed], ...]:
        """``(layer, what)`` for every quantity the runtime did not let us read."""
        return tuple(
            (layer.name, unexposed)
            for layer in self.readout.layers
            for unexposed in layer.not_exposed
        )

    def max_errors(self) -> dict[str, float]:
        """Largest absolute error per ``layer/direction/quantity`` (``layer/output``)."""
        return {quantity_key(d): d.max_abs for d in self.departures}


def quantity_key(departure: Departure) -> str:
    """``gru/forward/update``, ``gru/forward/final hidden``, ``dense/output``."""
    if departure.direction is None:
        return f"{departure.layer}/{departure.quantity}"
    return f"{departure.layer}/{departure.direction}/{departure.quantity}"


def _group(quantity: str) -> str:
    if quantity in TOLERANCE_GROUP:
        return TOLERANCE_GROUP[quantity]
    return "cell" if quantity == "cell" else "hidden"


def check_runtime(
    path: ExecutionPath,
    artifact: Artifact,
    main: ParityResult,
    tolerances: Mapping[str, Tolerance],
) -> RuntimeCheck:
    """Run ``artifact`` on the main run's inputs and compare it with the main run's reference.

    ``tolerances`` are the path's per group (the spec's with the path's over it). A
    quantized artifact is held to its budget instead unless the path sets a tolerance.

    Raises
    ------
    UnsupportedModelError
        The reference does not compute the model as one chain of layers.
    ArtifactError
        The artifact cannot be run or read.
    """
    from pytest_rnnparity.runtimes.onnx_runtime import run_onnx
    from pytest_rnnparity.runtimes.tflite_runtime import run_tflite

    main.chain(f"the execution path {path.id}")  # raises for a model that is no chain
    run = run_onnx if artifact.format == "onnx" else run_tflite
    readout = run(artifact, main.inputs)
    own = path.tolerance.atol is not None or path.tolerance.rtol is not None
    budget: Budget | None = None
    if artifact.quantization != "none" and not own:
        derived = quantization_budget(readout)
        budget = derived

        def tolerance_of(layer: str, direction: str | None, quantity: str) -> Tolerance:
            return Tolerance(derived(layer, direction, quantity), 0.0)

        source = (
            f"the {artifact.quantization} budget derived from the artifact's quantization scales"
        )
    else:

        def tolerance_of(layer: str, direction: str | None, quantity: str) -> Tolerance:
            return tolerances[_group(quantity)]

        source = "the path's tolerance" if own else "the spec's tolerance"
    departures = compare_readout(readout, main.reference, tolerance_of)
    return RuntimeCheck(
        path=path,
        artifact=artifact,
        readout=readout,
        departures=departures,
        tolerance_source=source,
        budget=budget,
    )


#: Layers that are the identity at inference and convert to nothing.
IDENTITIES = ("Dropout", "InputLayer")
#: Activations both converters express as ops of their own.
CONVERTIBLE_ACTIVATIONS = frozenset({"tanh", "sigmoid", "relu", "linear", None})


def _convertible_cell(layer: RecurrentLayer) -> bool:
    cell = layer.cell
    return (
        cell.activation in CONVERTIBLE_ACTIVATIONS
        and cell.recurrent_activation in CONVERTIBLE_ACTIVATIONS
        and not layer.stateful
    )


def expected_to_convert(layers: Sequence[DescribedLayer]) -> bool:
    """True when every layer is one both converters express (so a refusal is a failure).

    GRU, LSTM and SimpleRNN with the usual activations, ``Bidirectional`` around one,
    ``Dense``, ``TimeDistributed(Dense)``, ``Dropout`` and ``Input``; a mask, another
    layer or activation may be beyond a converter, and its refusal is a skip.
    """
    for layer in layers:
        if isinstance(layer, RecurrentLayer):
            if not _convertible_cell(layer):
                return False
        elif isinstance(layer, BidirectionalLayer):
            if not (_convertible_cell(layer.forward) and _convertible_cell(layer.backward)):
                return False
        elif isinstance(layer, DenseLayer):
            if layer.activation not in CONVERTIBLE_ACTIVATIONS:
                return False
        elif not isinstance(layer, IdentityLayer) or layer.class_name not in IDENTITIES:
            return False
    return True
