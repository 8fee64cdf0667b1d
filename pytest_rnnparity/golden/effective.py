"""The effective spec a golden keeps: what determined its numbers, one key per line.

:func:`effective_spec` flattens the part of a :class:`~pytest_rnnparity.spec.Spec` its
``content_hash`` covers (seed, data, lookback, model, weights, dtype, stateful, golden)
into the spec's own key paths, with defaults filled in and every value as canonical
JSON::

    data.scale = "none"
    lookback = 6
    model[0].LSTM.units = 8
    weights = "seeded"

A golden keeps these under ``[spec]``, so that a drift after a spec change names the
keys that changed (:func:`spec_changes`: ``model[0].LSTM.units: 8 -> 16``) instead of a
hash. Files a spec names enter by the path written, as in the hash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from pytest_rnnparity.spec import (
    ColumnTarget,
    CsvData,
    DataSource,
    GraphData,
    InlineData,
    LayerDecl,
    LinearTarget,
    ModelGraph,
    SavedModel,
    Spec,
    SyntheticData,
    Target,
    ValuesTarget,
    WeightsFile,
)

Key = tuple[str | int, ...]

#: The keys whose change changes the weights: the layers, how they are drawn, the dtype.
WEIGHT_KEYS = ("model", "seed", "weights", "dtype")


def render_key(path: Key) -> str:
    """``model[0].LSTM.units``; a name holding anything but printable characters other
    than space, ``=``, ``[``, ``]`` and ``.`` is written as a JSON string in brackets, its
    ``=`` escaped (``data.features["a \\u003d b"]``): a ``key = value`` line, split at its
    first `` = ``, never misreads it."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        elif not step or not step.isprintable() or any(c in step for c in "=[]. "):
            text += "[" + json.dumps(step).replace("=", "\\u003d") + "]"
        else:
            text += f".{step}" if text else step
    return text


def _value(value: Any) -> str:
    """Canonical JSON of a spec value (tuples as lists, keys sorted, paths as written).

    ASCII only: a line separator inside a string (U+2028) stays escaped, so the value
    is one line of the golden whatever it holds.
    """
    return json.dumps(value, sort_keys=True, default=str)


def effective_spec(spec: Spec) -> dict[str, str]:
    """``{"model[0].LSTM.units": "8", ...}``, sorted by key: the spec as its numbers saw it."""
    entries: dict[str, str] = {}

    def put(path: Key, value: Any) -> None:
        entries[render_key(path)] = _value(value)

    put(("seed",), spec.seed)
    put(("lookback",), spec.lookback)
    put(("dtype",), spec.dtype)
    put(("stateful",), spec.stateful)
    _data(put, spec.data)
    if isinstance(spec.model, SavedModel):
        put(("model", "path"), spec.model.declared)
    elif isinstance(spec.model, ModelGraph):  # the functional form, field by field
        _generic(put, ("model",), spec.model)
    else:
        for index, layer in enumerate(spec.model):
            _generic(put, ("model", index), layer)
    if isinstance(spec.weights, WeightsFile):
        put(("weights", "path"), spec.weights.declared)
    else:
        put(("weights",), spec.weights)
    for field in fields(spec.golden):
        put(("golden", field.name), getattr(spec.golden, field.name))
    return dict(sorted(entries.items()))


def _data(put: Any, data: DataSource | GraphData) -> None:
    at: Key = ("data",)
    if isinstance(data, InlineData):
        for name, values in data.features.items():
            put((*at, "features", name), list(values))
        _target(put, (*at, "target"), data.target)
    elif isinstance(data, CsvData):
        put((*at, "csv", "path"), data.declared)
        put((*at, "csv", "features"), list(data.features))
        put((*at, "csv", "target"), data.target)
    elif isinstance(data, SyntheticData):
        put((*at, "synthetic", "kind"), data.kind)
        put((*at, "synthetic", "length"), data.length)
        put((*at, "synthetic", "features"), data.features)
    else:  # a source this module does not know yet: its fields
        _generic(put, at, data)
        return
    put((*at, "scale"), data.scale)
    put((*at, "stride"), data.stride)
    put((*at, "batch"), data.batch)


def _target(put: Any, at: Key, target: Target) -> None:
    put((*at, "name"), target.name)
    if isinstance(target, LinearTarget):
        for name, coefficient in target.coefficients.items():
            put((*at, "linear", name), coefficient)
        put((*at, "noise_std"), target.noise_std)
    elif isinstance(target, ValuesTarget):
        put((*at, "values"), list(target.values))
    elif isinstance(target, ColumnTarget):
        put((*at, "column"), target.column)


def _generic(put: Any, at: Key, value: Any) -> None:
    """A layer (``model[0].GRU.units``), a mapping, or a dataclass, key by key."""
    if isinstance(value, LayerDecl):
        at = (*at, value.class_name)
        if not value.kwargs:
            put(at, {})
        for key, item in value.kwargs.items():
            _generic(put, (*at, str(key)), item)
    elif isinstance(value, Mapping):
        if not value:
            put(at, {})
        for key, item in value.items():
            _generic(put, (*at, str(key)), item)
    elif is_dataclass(value) and not isinstance(value, type):
        for field in fields(value):
            if field.name not in ("path", "line") and field.metadata.get("hashed", True):
                _generic(put, (*at, field.name), getattr(value, field.name))
    elif isinstance(value, list | tuple) and any(
        isinstance(item, LayerDecl | Mapping) or (is_dataclass(item) and not isinstance(item, type))
        for item in value
    ):
        for index, item in enumerate(value):
            _generic(put, (*at, index), item)
    elif isinstance(value, Path):
        put(at, value.as_posix())
    else:
        put(at, list(value) if isinstance(value, tuple) else value)


#: A value longer than this shows shortened in a drift report.
SHOWN_CHARS = 60


def _shown(value: str | None) -> str:
    if value is None:
        return "(not set)"
    if len(value) <= SHOWN_CHARS:
        return value
    return value[: SHOWN_CHARS - 3] + "..."


def spec_changes(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """``model[0].LSTM.units: 8 -> 16`` for each key that differs, sorted by key."""
    return [
        f"{key}: {_shown(recorded.get(key))} -> {_shown(current.get(key))}"
        for key in sorted(set(recorded) | set(current))
        if recorded.get(key) != current.get(key)
    ]


def changed_keys(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """The keys whose value differs (or that only one side has), sorted."""
    return sorted(k for k in set(recorded) | set(current) if recorded.get(k) != current.get(k))


def changes_weights(keys: list[str]) -> bool:
    """Whether a change of these keys changes the weights (:data:`WEIGHT_KEYS`)."""
    return any(key.split(".")[0].split("[")[0] in WEIGHT_KEYS for key in keys)
