"""The input a saved model takes, read without Keras, and whether a spec's windows fit it.

A ``.keras`` file is a zip archive whose ``config.json`` describes the model, its input
layer's ``batch_shape`` (Keras 3) or ``batch_input_shape`` (Keras 2) included. Reading it
lets the loader (and ``rnnparity validate``, which never imports TensorFlow) refuse a
spec whose ``lookback`` or feature count does not fit, at the spec's line, before Keras
runs. Other files (``.h5``) and configurations this module does not understand give
None: the model's ``input_shape`` is then checked once Keras has loaded it
(:func:`input_problem` serves both).
"""

from __future__ import annotations

import functools
import json
import zipfile
from pathlib import Path
from typing import Any

from pytest_rnnparity.spec.types import CsvData, DataSource, InlineData, SyntheticData

#: ``config.json`` larger than this is not read (a model's config is kilobytes).
MAX_CONFIG_BYTES = 10_000_000

Shape = tuple[int | None, ...]


def saved_input_shape(path: Path) -> Shape | None:
    """The ``(batch, steps, features)`` input shape a saved model declares, or None.

    None when the file is not a ``.keras`` archive, has several inputs, or its config is
    not one this function knows: Keras then says once it has loaded the model. Read
    once per file version (every matrix variant of a spec asks).
    """
    try:
        status = path.stat()
    except OSError:
        return None
    return _read_input_shape(path, status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=64)
def _read_input_shape(path: Path, mtime_ns: int, size: int) -> Shape | None:
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                return None
            config = json.loads(archive.read(info))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, RuntimeError):
        return None
    shape = _model_input(config) if isinstance(config, dict) else None
    return shape if shape is not None and len(shape) == 3 else None


def _model_input(config: dict[str, Any]) -> Shape | None:
    inner = config.get("config")
    if not isinstance(inner, dict):
        return None
    found = inner.get("layers")
    layers: list[Any] = found if isinstance(found, list) else []
    if config.get("class_name") == "Sequential":
        if layers and isinstance(layers[0], dict) and layers[0].get("class_name") == "InputLayer":
            return _batch_shape(layers[0].get("config"))
        build = config.get("build_config")
        return _shape(inner.get("build_input_shape")) or _shape(
            build.get("input_shape") if isinstance(build, dict) else None
        )
    inputs = inner.get("input_layers")
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], str):
        inputs = [inputs]  # Keras 3 writes a single input without the outer list
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], list):
        return None
    name = inputs[0][0] if inputs[0] else None
    for layer in layers:
        if not isinstance(layer, dict) or layer.get("class_name") != "InputLayer":
            continue
        layer_config = layer.get("config")
        names = {
            layer.get("name"),
            layer_config.get("name") if isinstance(layer_config, dict) else None,
        }
        if name in names:
            return _batch_shape(layer_config)
    return None


def _batch_shape(config: Any) -> Shape | None:
    if not isinstance(config, dict):
        return None
    return _shape(config.get("batch_shape")) or _shape(config.get("batch_input_shape"))


def _shape(value: Any) -> Shape | None:
    if not isinstance(value, list) or not all(
        item is None or (isinstance(item, int) and not isinstance(item, bool)) for item in value
    ):
        return None
    return tuple(value)


def feature_key(data: DataSource) -> str:
    """The spec key that sets how many features the windows have."""
    if isinstance(data, InlineData):
        return "data.features"
    if isinstance(data, CsvData):
        return "data.csv.features"
    assert isinstance(data, SyntheticData)
    return "data.synthetic.features"


def feature_count(data: DataSource) -> int:
    """How many features each step of the spec's windows has."""
    if isinstance(data, InlineData | CsvData):
        return len(data.features)
    return data.features


def input_problem(
    shape: Shape, *, shown: str, lookback: int, features: int
) -> tuple[str, str] | None:
    """``(key, problem)`` when windows of ``lookback`` steps of ``features`` do not fit a
    model whose input is ``shape``; None when they do (a None dimension takes any size)."""
    _, steps, width = shape
    declared = "(" + ", ".join("None" if n is None else str(n) for n in shape) + ")"
    if steps is not None and steps != lookback:
        return "lookback", (
            f"the model {shown} takes windows of {steps} steps (input shape {declared}), but"
            f" lookback is {lookback}"
        )
    if width is not None and width != features:
        return "features", (
            f"the model {shown} takes {width} features per step (input shape {declared}), but"
            f" the data has {features}"
        )
    return None
