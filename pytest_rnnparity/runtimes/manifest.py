"""What an artifact is: the Keras model it came from, how it was converted, what was checked.

The artifact file (``.onnx`` or ``.tflite``) holds only tensors and ops. To read it back
in our names, the readers need the Keras side too: the chain of layers, which of them
are recurrent, their directions and the Keras names their tensors are scoped under.
The conversion child writes that as a JSON sidecar next to the artifact
(``model.tflite.rnnparity.json``), so running and reading need no Keras at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from pytest_rnnparity.reference.types import CellKind

Format = Literal["onnx", "tflite"]
Quantization = Literal["none", "dynamic", "int8"]
DirectionName = Literal["forward", "backward"]
Shape = tuple[int | None, ...]

#: Suffix of the JSON sidecar written next to every artifact.
SIDECAR_SUFFIX = ".rnnparity.json"


@dataclass(frozen=True)
class DirectionInfo:
    """One direction of a recurrent layer.

    ``scope`` is the name of the Keras layer that runs it: the layer itself, or the
    ``forward_layer`` / ``backward_layer`` of a ``Bidirectional``; the converters name
    that direction's tensors under it.
    """

    direction: DirectionName
    scope: str
    go_backwards: bool


@dataclass(frozen=True)
class LayerInfo:
    """One layer of the Keras chain, as the readers need it.

    ``output_shape`` is Keras' (``None`` for the batch). ``kind``, ``units`` and the
    activations are set for recurrent layers (and ``Bidirectional`` around one) only.
    """

    name: str
    class_name: str
    output_shape: Shape
    kind: CellKind | None = None
    units: int | None = None
    directions: tuple[DirectionInfo, ...] = ()
    return_sequences: bool = False
    activation: str | None = None
    recurrent_activation: str | None = None
    reset_after: bool | None = None

    @property
    def recurrent(self) -> bool:
        return self.kind is not None


@dataclass(frozen=True)
class ModelManifest:
    """The Keras model behind an artifact: its chain of layers and the versions that built it.

    ``scope_suffix``: the converters name a layer's tensors ``<name>_<n>`` (Keras 3 on
    TensorFlow) rather than ``<name>`` (Keras 2).
    """

    layers: tuple[LayerInfo, ...]
    input_shape: Shape
    keras_version: str
    scope_suffix: bool = True

    @property
    def timesteps(self) -> int | None:
        return self.input_shape[1] if len(self.input_shape) > 1 else None

    def layer(self, name: str) -> LayerInfo:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


@dataclass(frozen=True)
class Artifact:
    """A converted model on disk and what the conversion knew and checked about it.

    ``batch_size`` is fixed for TFLite (rows are fed in batches of it, the last one
    padded) and None for a dynamic batch. ``unrolled``: every recurrent layer was
    rebuilt with ``unroll=True`` (same weights) before converting. ``checks`` says
    what the conversion verified (e.g. that the unrolled Keras model equals the
    original); ``notes`` what a reader should know; ``seconds`` how long the
    conversion took; ``versions`` the converter stack.
    """

    path: Path
    format: Format
    quantization: Quantization
    manifest: ModelManifest
    unrolled: bool = False
    batch_size: int | None = None
    checks: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    versions: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``onnx``, ``tflite float32 (unrolled)``, ``tflite int8 (unrolled)``, ..."""
        if self.format == "onnx":
            text = "onnx"
        else:
            text = "tflite " + {"none": "float32", "dynamic": "dynamic-range"}.get(
                self.quantization, self.quantization
            )
        return text + (" (unrolled)" if self.unrolled else "")

    @property
    def sidecar(self) -> Path:
        return sidecar_path(self.path)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = self.path.name
        data["versions"] = dict(self.versions)
        return data

    def save(self) -> Path:
        """Write the sidecar next to the artifact; returns its path."""
        self.sidecar.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        return self.sidecar

    @classmethod
    def load(cls, path: Path | str) -> Artifact:
        """The artifact at ``path``, described by its sidecar."""
        path = Path(path)
        data = json.loads(sidecar_path(path).read_text())
        return artifact_from_json(data, path)


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _shape(value: Any) -> Shape:
    return tuple(None if v is None else int(v) for v in value)


def _layer_from_json(data: Mapping[str, Any]) -> LayerInfo:
    return LayerInfo(
        name=str(data["name"]),
        class_name=str(data["class_name"]),
        output_shape=_shape(data["output_shape"]),
        kind=cast("CellKind | None", data.get("kind")),
        units=None if data.get("units") is None else int(data["units"]),
        directions=tuple(
            DirectionInfo(
                direction=cast(DirectionName, d["direction"]),
                scope=str(d["scope"]),
                go_backwards=bool(d["go_backwards"]),
            )
            for d in data.get("directions", ())
        ),
        return_sequences=bool(data.get("return_sequences", False)),
        activation=data.get("activation"),
        recurrent_activation=data.get("recurrent_activation"),
        reset_after=data.get("reset_after"),
    )


def manifest_from_json(data: Mapping[str, Any]) -> ModelManifest:
    return ModelManifest(
        layers=tuple(_layer_from_json(layer) for layer in data["layers"]),
        input_shape=_shape(data["input_shape"]),
        keras_version=str(data["keras_version"]),
        scope_suffix=bool(data.get("scope_suffix", True)),
    )


def artifact_from_json(data: Mapping[str, Any], path: Path) -> Artifact:
    return Artifact(
        path=path,
        format=cast(Format, data["format"]),
        quantization=cast(Quantization, data["quantization"]),
        manifest=manifest_from_json(data["manifest"]),
        unrolled=bool(data.get("unrolled", False)),
        batch_size=None if data.get("batch_size") is None else int(data["batch_size"]),
        checks=tuple(data.get("checks", ())),
        notes=tuple(data.get("notes", ())),
        seconds=float(data.get("seconds", 0.0)),
        versions={str(k): str(v) for k, v in data.get("versions", {}).items()},
    )
