"""The ``data:`` section (inline columns, CSV or synthetic), ``lookback``, and the size budget.

:func:`widths`, :func:`layer_weights` and :func:`size_problem` are public because
:mod:`pytest_rnnparity.inputs` repeats the size check for a CSV file once its rows are known.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pytest_rnnparity.spec.reader import (
    Reader,
    SpecContext,
    check_name,
    project_file,
    unknown_message,
)
from pytest_rnnparity.spec.types import (
    CSV_KEYS,
    DATA_KEYS,
    GRAPH_DATA_KEYS,
    INPUT_KEYS,
    MAX_CSV_BYTES,
    MAX_RUN_VALUES,
    MAX_SEQUENCE_LENGTH,
    MAX_SEQUENCES,
    MAX_SYNTHETIC_FEATURES,
    MAX_SYNTHETIC_LENGTH,
    MAX_SYNTHETIC_VALUES,
    MAX_TOKEN_FILE_BYTES,
    MAX_UNITS,
    MAX_VOCABULARY,
    MAX_WEIGHTS,
    PADDINGS,
    SYNTHETIC_KEYS,
    TARGET_KEYS,
    TIME_KEYS,
    TOKEN_KEYS,
    ColumnTarget,
    CsvData,
    DataOptions,
    DataSource,
    GraphData,
    InlineData,
    LayerDecl,
    LinearTarget,
    ModelInput,
    Padding,
    SavedModel,
    SyntheticData,
    SyntheticTokens,
    Target,
    TimeColumn,
    TimeOption,
    TokenFile,
    TokenLabels,
    TokenSource,
    ValuesTarget,
)
from pytest_rnnparity.spec.yaml_loader import KeyPath, describe


def read_data(reader: Reader, context: SpecContext) -> DataSource:
    """The ``data:`` section: inline columns, a CSV or a synthetic series, and its options."""
    at: KeyPath = ("data",)
    value = reader.get(at)
    if isinstance(value, dict) and "inputs" in value:
        reader.fail(
            (*at, "inputs"),
            "a chain (model: [...]) reads one data source, given under data: itself; name"
            " inputs for the functional form (model: {layers: ...})",
            at_key=True,
        )
    data = reader.fields(at, DATA_KEYS)
    options: dict[str, Any] = {}
    if "scale" in data:
        options["scale"] = reader.choice((*at, "scale"), ("minmax", "standard", "none"))
    if "stride" in data:
        options["stride"] = reader.integer((*at, "stride"), minimum=1)
    if data.get("batch") is not None:
        options["batch"] = reader.integer((*at, "batch"), minimum=1)
    if "time" in data:
        options["time"] = _time(reader, csv="csv" in data)
    return _series(reader, context, at, data, options)


def _series(
    reader: Reader,
    context: SpecContext,
    at: KeyPath,
    data: Mapping[str, Any],
    options: dict[str, Any],
    *,
    sources: Sequence[str] = ("features", "csv", "synthetic"),
) -> DataSource:
    """The series at ``at`` (the chain's ``data:`` or one model input): its source and target."""
    given = [key for key in sources if key in data]
    if not given:
        listed = {
            3: "features (inline columns), csv or synthetic",
            4: "features (inline columns), csv, synthetic or tokens",
        }[len(sources)]
        reader.fail(at, f"missing the data source: give {listed}")
    if len(given) > 1:
        reader.fail(
            (*at, given[1]),
            f"give only one data source, got {' and '.join(given)}",
            at_key=True,
        )
    if given[0] == "csv":
        if "target" in data:
            reader.fail(
                (*at, "target"),
                "with csv, name the target column inside csv: (csv.target)",
                at_key=True,
            )
        return _csv(reader, context, at, options)
    if given[0] == "synthetic":
        synthetic = _synthetic(reader, at, options)
        if "target" not in data:
            return synthetic
        target = _target(reader, at, synthetic.feature_names, rows=synthetic.length)
        return dataclasses.replace(synthetic, target=target)
    if "target" not in data:
        reader.fail(at, "missing required key 'target'")
    features = _inline_features(reader, at)
    rows = len(next(iter(features.values())))
    return InlineData(
        features=MappingProxyType(features),
        target=_target(reader, at, tuple(features), rows=rows),
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


def _inline_features(reader: Reader, data_at: KeyPath) -> dict[str, tuple[float, ...]]:
    at: KeyPath = (*data_at, "features")
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


def _target(reader: Reader, data_at: KeyPath, feature_names: Sequence[str], *, rows: int) -> Target:
    at: KeyPath = (*data_at, "target")
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


def _csv(
    reader: Reader, context: SpecContext, data_at: KeyPath, options: dict[str, Any]
) -> CsvData:
    at: KeyPath = (*data_at, "csv")
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


def _synthetic(reader: Reader, data_at: KeyPath, options: dict[str, Any]) -> SyntheticData:
    at: KeyPath = (*data_at, "synthetic")
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


# --------------------------------------------------------------- the functional form


def read_graph_data(reader: Reader, context: SpecContext) -> tuple[GraphData, int]:
    """``data: {inputs: {<name>: <data>}, stride, batch}`` and the top-level ``lookback``.

    The lookback is 0 when the spec gives none; every series input must then give its own.
    """
    at: KeyPath = ("data",)
    value = reader.get(at)
    sources = ("features", "csv", "synthetic", "tokens")
    if isinstance(value, dict) and "inputs" not in value and any(k in value for k in sources):
        reader.fail(
            at,
            "a functional model (model: {layers: ...}) names its inputs: put each"
            " input's data under data.inputs.<name>, such as {inputs: {x: {synthetic:"
            " {kind: sine, length: 60}}}}",
        )
    data = reader.fields(at, GRAPH_DATA_KEYS, required=("inputs",))
    stride = reader.integer((*at, "stride"), minimum=1) if "stride" in data else 1
    batch = None
    if data.get("batch") is not None:
        batch = reader.integer((*at, "batch"), minimum=1)
    lookback = 0
    if "lookback" in reader.document.value:
        lookback = reader.integer(("lookback",), minimum=1)
    inputs_at: KeyPath = (*at, "inputs")
    inputs = reader.get(inputs_at)
    if not isinstance(inputs, dict) or not inputs:
        reader.fail(
            inputs_at,
            "expected a mapping of model input names to their data, such as {tokens:"
            " {tokens: {vocabulary: 50, sequences: 16, length: 12}}}, got"
            f" {describe(inputs)}",
        )
    model_inputs = []
    for name in inputs:
        input_at: KeyPath = (*inputs_at, name)
        check_name(reader, input_at, name, what="an input")
        model_inputs.append(
            _model_input(
                reader,
                context,
                input_at,
                name,
                lookback=lookback,
                options={"stride": stride, "batch": batch},
            )
        )
    graph_data = GraphData(inputs=tuple(model_inputs), stride=stride, batch=batch)
    _check_rows(reader, graph_data)
    return graph_data, lookback


def _model_input(
    reader: Reader,
    context: SpecContext,
    at: KeyPath,
    name: str,
    *,
    lookback: int,
    options: dict[str, Any],
) -> ModelInput:
    written = reader.fields(at, INPUT_KEYS)
    line = reader.document.key_location(at).line
    given = [key for key in written if key in ("features", "csv", "synthetic", "tokens")]
    if len(given) > 1:
        reader.fail(
            (*at, given[1]),
            f"give only one data source, got {' and '.join(given)}",
            at_key=True,
        )
    if "tokens" in written:
        for key, problem in _NOT_FOR_TOKENS.items():
            if key in written:
                reader.fail((*at, key), problem, at_key=True)
        return ModelInput(name=name, data=_tokens(reader, context, at), lookback=None, line=line)
    series_options = dict(options)
    if "scale" in written:
        series_options["scale"] = reader.choice((*at, "scale"), ("minmax", "standard", "none"))
    source = _series(
        reader,
        context,
        at,
        written,
        series_options,
        sources=("features", "csv", "synthetic", "tokens"),
    )
    lookback_at: KeyPath = ("lookback",)
    if "lookback" in written:
        lookback_at = (*at, "lookback")
        lookback = reader.integer(lookback_at, minimum=1)
    elif not lookback:
        reader.fail(
            at,
            f"missing lookback: give data.inputs.{name}.lookback, or lookback: at the top level"
            " for every series input",
        )
    rows = _source_rows(source)
    if rows is not None and lookback >= rows:
        reader.fail(
            lookback_at,
            f"expected a positive integer smaller than the number of rows of"
            f" data.inputs.{name} ({rows}), got {lookback}",
        )
    return ModelInput(name=name, data=source, lookback=lookback, line=line)


#: What a token input does not take, and why.
_NOT_FOR_TOKENS = {
    "scale": "applies to series inputs; token ids are not scaled",
    "lookback": "a token input has no lookback: each row is one whole sequence of"
    " tokens.length ids",
    "target": "a token input's target is its labels: tokens.classes (drawn, seeded) or"
    " tokens.labels (a file)",
}


def _tokens(reader: Reader, context: SpecContext, input_at: KeyPath) -> TokenSource:
    """``tokens:``: synthetic token sequences, or a ``.csv`` / ``.npy`` file of ids."""
    at: KeyPath = (*input_at, "tokens")
    written = reader.fields(at, TOKEN_KEYS)
    padding: Padding = "right"
    if "padding" in written:
        padding = reader.choice((*at, "padding"), PADDINGS)
    classes = 2
    if "classes" in written:
        classes = reader.integer((*at, "classes"), minimum=1, maximum=MAX_UNITS)
    vocabulary = None
    if "vocabulary" in written:
        vocabulary = reader.integer((*at, "vocabulary"), minimum=2, maximum=MAX_VOCABULARY)
    if "path" in written:
        return _token_file(reader, context, at, written, padding, classes, vocabulary)
    for key in ("labels",):
        if key in written:
            reader.fail(
                (*at, key),
                "applies to a token file (tokens.path) only; synthetic tokens draw their labels"
                " from classes",
                at_key=True,
            )
    for key in ("vocabulary", "sequences", "length"):
        if key not in written:
            reader.fail(
                at,
                f"missing required key {key!r}; synthetic tokens need vocabulary, sequences and"
                " length (or give path: a .csv or .npy file of ids)",
            )
    assert vocabulary is not None
    sequences = reader.integer((*at, "sequences"), minimum=1, maximum=MAX_SEQUENCES)
    length = reader.integer((*at, "length"), minimum=1, maximum=MAX_SEQUENCE_LENGTH)
    min_length = 1
    if "min_length" in written:
        min_length = reader.integer((*at, "min_length"), minimum=0, maximum=length)
    if sequences * length > MAX_SYNTHETIC_VALUES:
        reader.fail(
            at, f"sequences * length is {sequences * length}; at most {MAX_SYNTHETIC_VALUES}"
        )
    return SyntheticTokens(
        vocabulary=vocabulary,
        sequences=sequences,
        length=length,
        min_length=min_length,
        padding=padding,
        classes=classes,
    )


def _token_file(
    reader: Reader,
    context: SpecContext,
    at: KeyPath,
    written: Mapping[str, Any],
    padding: Padding,
    classes: int,
    vocabulary: int | None,
) -> TokenFile:
    for key in ("sequences", "min_length"):
        if key in written:
            reader.fail(
                (*at, key),
                "applies to synthetic tokens only; a file gives its own sequences",
                at_key=True,
            )
    resolved, declared = _token_path(reader, context, (*at, "path"))
    length = None
    if "length" in written:
        length = reader.integer((*at, "length"), minimum=1, maximum=MAX_SEQUENCE_LENGTH)
    if resolved.suffix == ".npy":
        shape = npy_shape(resolved)
        if isinstance(shape, str):
            reader.fail((*at, "path"), f"{declared!r} is not a .npy array of token ids: {shape}")
        if length is not None and length != shape[1]:
            reader.fail(
                (*at, "length"),
                f"{declared!r} holds sequences of {shape[1]} ids; length must be {shape[1]} or"
                " left out",
            )
        length = shape[1]
    elif length is None:
        reader.fail(
            at,
            "missing required key 'length': the lines of a CSV of ids may differ in length and"
            " are padded to it",
        )
    labels = None
    if "labels" in written:
        labels_path, labels_declared = _token_path(reader, context, (*at, "labels"))
        labels = TokenLabels(path=labels_path, declared=labels_declared)
    return TokenFile(
        path=resolved,
        declared=declared,
        length=length,
        padding=padding,
        vocabulary=vocabulary,
        classes=classes,
        labels=labels,
    )


def _token_path(reader: Reader, context: SpecContext, at: KeyPath) -> tuple[Path, str]:
    resolved, declared = project_file(reader, context, at)
    if resolved.suffix not in (".csv", ".npy"):
        reader.fail(at, f"expected a .csv or .npy file of integer ids, got {declared!r}")
    size = resolved.stat().st_size
    if size > MAX_TOKEN_FILE_BYTES:
        reader.fail(
            at,
            f"{declared!r} is {size:,} bytes; at most {MAX_TOKEN_FILE_BYTES:,} are read: cut the"
            " sequences the spec needs into a smaller file",
        )
    return resolved, declared


def npy_shape(path: Path) -> tuple[int, int] | str:
    """The ``(sequences, length)`` a ``.npy`` file of integer ids declares in its header,
    or why it is not one (read without loading the array)."""
    import numpy as np

    try:
        with path.open("rb") as stream:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    except (ValueError, OSError, SyntaxError) as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else "unreadable header"
    if dtype.kind not in "iu":
        return f"its dtype is {dtype}, expected integers"
    if len(shape) != 2 or 0 in shape:
        return f"its shape is {shape}, expected (sequences, length)"
    return (int(shape[0]), int(shape[1]))


def _source_rows(source: DataSource) -> int | None:
    if isinstance(source, InlineData):
        return source.rows
    if isinstance(source, SyntheticData):
        return source.length
    return None


def source_features(source: DataSource) -> int:
    """How many features a series source gives."""
    return len(source.features) if isinstance(source, InlineData | CsvData) else source.features


def input_rows(model_input: ModelInput, data: GraphData) -> int | None:
    """How many rows (windows, or sequences) the input gives; None until a CSV is read."""
    source = model_input.data
    if isinstance(source, SyntheticTokens):
        count: int | None = source.sequences
    elif isinstance(source, TokenFile):
        shape = npy_shape(source.path) if source.path.suffix == ".npy" else None
        count = shape[0] if isinstance(shape, tuple) else None
    else:
        rows = _source_rows(source)
        count = None
        if rows is not None and model_input.lookback is not None:
            count = len(range(0, rows - model_input.lookback, data.stride))
    if count is not None and data.batch is not None:
        count = min(count, data.batch)
    return count


def rows_problem(data: GraphData, counts: Sequence[int | None]) -> tuple[str, str] | None:
    """``(input name, problem)`` when the inputs' row counts differ; None when they agree."""
    known = [
        (model_input, count)
        for model_input, count in zip(data.inputs, counts, strict=True)
        if count is not None
    ]
    if not known:
        return None
    first, first_count = known[0]
    for model_input, count in known[1:]:
        if count != first_count:
            fewest = min(count for _, count in known)
            return (
                model_input.name,
                f"gives {_rows_text(model_input, count)} but data.inputs.{first.name} gives"
                f" {_rows_text(first, first_count)}; every input needs one row per example:"
                f" set data.batch to at most {fewest}, or change their lengths",
            )
    return None


def _rows_text(model_input: ModelInput, count: int) -> str:
    what = "sequence" if model_input.is_tokens else "window"
    return f"{count} {what}{'' if count == 1 else 's'}"


def _check_rows(reader: Reader, data: GraphData) -> None:
    problem = rows_problem(data, [input_rows(model_input, data) for model_input in data.inputs])
    if problem is not None:
        name, text = problem
        reader.fail(("data", "inputs", name), text, at_key=True)


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
