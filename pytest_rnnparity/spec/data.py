"""The ``data:`` section (inline columns, CSV or synthetic), ``lookback``, and the size budget.

:func:`widths`, :func:`layer_weights` and :func:`size_problem` are public because
:mod:`pytest_rnnparity.inputs` repeats the size check for a CSV file once its rows are known.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from pytest_rnnparity.spec.reader import Reader, SpecContext, project_file, unknown_message
from pytest_rnnparity.spec.types import (
    CSV_KEYS,
    DATA_KEYS,
    MAX_CSV_BYTES,
    MAX_RUN_VALUES,
    MAX_SYNTHETIC_FEATURES,
    MAX_SYNTHETIC_LENGTH,
    MAX_SYNTHETIC_VALUES,
    MAX_WEIGHTS,
    SYNTHETIC_KEYS,
    TARGET_KEYS,
    TIME_KEYS,
    ColumnTarget,
    CsvData,
    DataOptions,
    DataSource,
    InlineData,
    LayerDecl,
    LinearTarget,
    SavedModel,
    SyntheticData,
    Target,
    TimeColumn,
    TimeOption,
    ValuesTarget,
)
from pytest_rnnparity.spec.yaml_loader import KeyPath, describe


def read_data(reader: Reader, context: SpecContext) -> DataSource:
    """The ``data:`` section: inline columns, a CSV or a synthetic series, and its options."""
    at: KeyPath = ("data",)
    data = reader.fields(at, DATA_KEYS)
    sources = [key for key in ("features", "csv", "synthetic") if key in data]
    if not sources:
        reader.fail(at, "missing the data source: give features (inline columns), csv or synthetic")
    if len(sources) > 1:
        reader.fail(
            (*at, sources[1]),
            f"give only one data source, got {' and '.join(sources)}",
            at_key=True,
        )
    options: dict[str, Any] = {}
    if "scale" in data:
        options["scale"] = reader.choice((*at, "scale"), ("minmax", "standard", "none"))
    if "stride" in data:
        options["stride"] = reader.integer((*at, "stride"), minimum=1)
    if data.get("batch") is not None:
        options["batch"] = reader.integer((*at, "batch"), minimum=1)
    if "time" in data:
        options["time"] = _time(reader, csv=sources[0] == "csv")
    if sources[0] == "csv":
        if "target" in data:
            reader.fail(
                (*at, "target"),
                "with csv, name the target column inside csv: (csv.target)",
                at_key=True,
            )
        return _csv(reader, context, options)
    if sources[0] == "synthetic":
        synthetic = _synthetic(reader, options)
        if "target" not in data:
            return synthetic
        target = _target(reader, synthetic.feature_names, rows=synthetic.length)
        return dataclasses.replace(synthetic, target=target)
    if "target" not in data:
        reader.fail(at, "missing required key 'target'")
    features = _inline_features(reader)
    rows = len(next(iter(features.values())))
    return InlineData(
        features=MappingProxyType(features),
        target=_target(reader, tuple(features), rows=rows),
        **options,
    )


#: A time unit: a word or two of letters (``day``, ``hour``, ``time step``).
_TIME_UNIT = re.compile(r"[A-Za-z][A-Za-z ]{0,29}")


def _time(reader: Reader, *, csv: bool) -> TimeOption:
    """``data.time``: a unit rows are counted in, or ``{column: NAME}`` of a CSV."""
    at: KeyPath = ("data", "time")
    value = reader.get(at)
    if isinstance(value, dict):
        reader.fields(at, TIME_KEYS, required=TIME_KEYS)
        if not csv:
            reader.fail(
                at,
                "{column: ...} names a CSV column; inline and synthetic data name the unit"
                " their rows are counted in, such as day",
            )
        return TimeColumn(column=reader.string((*at, "column")))
    if not isinstance(value, str) or not _TIME_UNIT.fullmatch(value) or not value.strip():
        reader.fail(
            at,
            "expected the unit the rows are counted in (a word such as day, hour or step) or,"
            f" with csv, {{column: NAME}} of a column labelling each row, got {describe(value)}",
        )
    return " ".join(value.split()).lower()


def _inline_features(reader: Reader) -> dict[str, tuple[float, ...]]:
    at: KeyPath = ("data", "features")
    columns = reader.get(at)
    if not isinstance(columns, dict) or not columns:
        reader.fail(
            at,
            "expected a mapping of one or more column names to lists of numbers, such as"
            f" {{temperature: [18.2, 19.5]}}, got {describe(columns)}",
        )
    features: dict[str, tuple[float, ...]] = {}
    first: str | None = None
    for name, values in columns.items():
        column_at = (*at, name)
        if not isinstance(values, list) or not values:
            reader.fail(column_at, f"expected a non-empty list of numbers, got {describe(values)}")
        column = tuple(reader.number((*column_at, index)) for index in range(len(values)))
        if first is not None and len(column) != len(features[first]):
            reader.fail(
                column_at,
                f"column {name!r} has {len(column)} values but {first!r} has"
                f" {len(features[first])}; every column needs one value per row",
            )
        first = first or name
        features[name] = column
    return features


def _target(reader: Reader, feature_names: Sequence[str], *, rows: int) -> Target:
    at: KeyPath = ("data", "target")
    target = reader.fields(at, TARGET_KEYS)
    kinds = [key for key in ("linear", "values", "column") if key in target]
    if len(kinds) != 1:
        reader.fail(
            at,
            "give exactly one of linear (coefficients per feature), values (one per row) or"
            f" column (a feature to forecast), got {len(kinds)}",
        )
    kind = kinds[0]
    if "noise_std" in target and kind != "linear":
        reader.fail((*at, "noise_std"), "applies to linear targets only", at_key=True)
    name = reader.string((*at, "name")) if "name" in target else None
    if kind == "column":
        column = reader.string((*at, "column"))
        if column not in feature_names:
            reader.fail((*at, "column"), unknown_message("feature", column, feature_names))
        return ColumnTarget(name=name or column, column=column)
    if kind == "values":
        values = target["values"]
        if not isinstance(values, list) or len(values) != rows:
            got = f"{len(values)}" if isinstance(values, list) else describe(values)
            reader.fail((*at, "values"), f"expected {rows} values (one per row), got {got}")
        numbers = tuple(reader.number((*at, "values", index)) for index in range(rows))
        return ValuesTarget(name=name or "target", values=numbers)
    linear_at = (*at, "linear")
    linear = reader.fields(linear_at, feature_names, what="feature")
    if not linear:
        reader.fail(linear_at, "expected at least one coefficient, such as {temperature: 2.5}")
    coefficients = {key: reader.number((*linear_at, key)) for key in linear}
    noise = reader.number((*at, "noise_std"), minimum=0) if "noise_std" in target else 0.0
    return LinearTarget(
        name=name or "target", coefficients=MappingProxyType(coefficients), noise_std=noise
    )


def _csv(reader: Reader, context: SpecContext, options: dict[str, Any]) -> CsvData:
    at: KeyPath = ("data", "csv")
    reader.fields(at, CSV_KEYS, required=CSV_KEYS)
    resolved, declared = project_file(reader, context, (*at, "path"))
    size = resolved.stat().st_size
    if size > MAX_CSV_BYTES:
        reader.fail(
            (*at, "path"),
            f"{declared!r} is {size:,} bytes; at most {MAX_CSV_BYTES:,} are read: cut the rows"
            " the spec needs into a smaller file",
        )
    features = reader.get((*at, "features"))
    if not isinstance(features, list) or not features:
        reader.fail(
            (*at, "features"),
            f"expected a non-empty list of column names, got {describe(features)}",
        )
    names = tuple(reader.string((*at, "features", index)) for index in range(len(features)))
    for index, column in enumerate(names):
        if column in names[:index]:
            reader.fail((*at, "features", index), f"column {column!r} is listed twice")
    return CsvData(
        path=resolved,
        declared=declared,
        features=names,
        target=reader.string((*at, "target")),
        **options,
    )


def _synthetic(reader: Reader, options: dict[str, Any]) -> SyntheticData:
    at: KeyPath = ("data", "synthetic")
    synthetic = reader.fields(at, SYNTHETIC_KEYS, required=("kind", "length"))
    kind = reader.choice((*at, "kind"), ("sine", "random_walk", "normal"))
    length = reader.integer((*at, "length"), minimum=2, maximum=MAX_SYNTHETIC_LENGTH)
    count = 1
    if "features" in synthetic:
        count = reader.integer((*at, "features"), minimum=1, maximum=MAX_SYNTHETIC_FEATURES)
    if length * count > MAX_SYNTHETIC_VALUES:
        reader.fail(at, f"length * features is {length * count}; at most {MAX_SYNTHETIC_VALUES}")
    return SyntheticData(
        kind=kind,
        length=length,
        features=count,
        target=ColumnTarget(name="x0", column="x0"),
        **options,
    )


def read_lookback(reader: Reader, data: DataSource) -> int:
    """``lookback``: a positive number of rows, fewer than the data has."""
    at: KeyPath = ("lookback",)
    lookback = reader.integer(at, minimum=1)
    rows = None
    if isinstance(data, InlineData):
        rows = data.rows
    elif isinstance(data, SyntheticData):
        rows = data.length
    if rows is not None and lookback >= rows:
        reader.fail(
            at,
            f"expected a positive integer smaller than the number of rows ({rows}), got {lookback}",
        )
    return lookback


def check_size(
    reader: Reader, data: DataSource, lookback: int, model: tuple[LayerDecl, ...] | SavedModel
) -> None:
    """Refuse, before anything is allocated, a model or windows too large to check."""
    features = len(data.features) if isinstance(data, InlineData | CsvData) else data.features
    width = features
    if not isinstance(model, SavedModel):
        inputs = widths(model, features)
        width = max(inputs)
        total = 0
        for index, layer in enumerate(model):
            total += layer_weights(layer, inputs[index])
            if total > MAX_WEIGHTS:
                reader.fail(
                    ("model", index),
                    f"the model would hold about {total:,} weights up to this layer; at most"
                    f" {MAX_WEIGHTS:,}: use fewer units",
                )
    rows = data.length if isinstance(data, SyntheticData) else None
    if isinstance(data, InlineData):
        rows = data.rows
    problem = None if rows is None else size_problem(rows, lookback, data, width)
    if problem is not None:
        reader.fail(("lookback",), problem)


def widths(model: Sequence[LayerDecl], features: int) -> list[int]:
    """The width of the model's input, then of each layer's output: ``[features, units...]``."""
    result = [features]
    for layer in model:
        units = layer.kwargs.get("layer", layer).kwargs.get("units", result[-1])
        merge_mode = layer.kwargs.get("merge_mode", "concat")
        if layer.class_name == "Bidirectional" and merge_mode == "concat":
            units *= 2
        result.append(units)
    return result


_GATES = {"GRU": 3, "LSTM": 4, "SimpleRNN": 1}


def layer_weights(layer: LayerDecl, width: int) -> int:
    """About how many weights ``layer`` holds for inputs ``width`` wide (for the size budget)."""
    if layer.class_name in ("Bidirectional", "TimeDistributed"):
        copies = 2 if layer.class_name == "Bidirectional" else 1
        return copies * layer_weights(layer.kwargs["layer"], width)
    units: int = layer.kwargs.get("units", 0)
    if layer.class_name in _GATES:  # kernel, recurrent kernel and (up to) two biases per gate
        return _GATES[layer.class_name] * units * (width + units + 2)
    return units * (width + 1)  # Dense: kernel and bias; Dropout and Masking: none


def size_problem(rows: int, lookback: int, data: DataOptions, width: int) -> str | None:
    """Why the windows cut from ``rows`` rows are too large to run; None when they fit."""
    windows = len(range(0, rows - lookback, data.stride))
    if data.batch is not None:
        windows = min(windows, data.batch)
    values = windows * lookback * width
    if values <= MAX_RUN_VALUES:
        return None
    return (
        f"{windows:,} windows of {lookback:,} steps through layers up to {width:,} wide make"
        f" {values:,} values per array; at most {MAX_RUN_VALUES:,}: set data.batch or"
        " data.stride, or shorten the lookback"
    )
