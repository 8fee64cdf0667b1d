"""A spec's data: inline, CSV or synthetic columns, their scalers, and lookback windows.

Notation (the notebook's ``create_sequences``)::

    N  rows (time steps)     F  features     T  lookback     B  windows
    window i  = features[start_i : start_i + T]          shape (T, F)
    target i  = target[start_i + T]                      the row right after the window
    start_i   = i * stride,  0 <= start_i < N - T,  at most ``batch`` windows

Features and target get separate scikit-learn scalers (``MinMaxScaler(feature_range=(0,
1))`` for ``scale: minmax``, as in the notebook), both kept so that predictions can be
mapped back to the original units with :meth:`Dataset.inverse_target`.

Problems with the data itself raise :class:`SpecError` naming the spec key or the CSV
file and line. Nothing here imports keras or tensorflow; scikit-learn is imported only
when a scaler is needed.
"""

from __future__ import annotations

import csv
import difflib
import math
import os
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.spec import (
    MAX_CSV_BYTES,
    ColumnTarget,
    CsvData,
    InlineData,
    LinearTarget,
    SavedModel,
    Scale,
    Spec,
    SyntheticData,
    Target,
    TimeColumn,
    ValuesTarget,
    display_path,
    size_problem,
    widths,
)
from pytest_rnnparity.spec.yaml_loader import not_utf8

__all__ = ["Dataset", "Windows", "load_dataset", "spec_windows"]

FloatArray = NDArray[np.float64]

#: Second entropy word for the synthetic stream, so that synthetic columns and the
#: notebook-style target noise (``RandomState(seed)``) never share a stream.
_SYNTHETIC_STREAM = 0x5EED_DA7A
#: Noise added to sine columns, relative to their unit amplitude.
_SINE_NOISE = 0.1


@dataclass(frozen=True, eq=False)
class Dataset:
    """The columns of one spec, raw and scaled; every array is read-only.

    Attributes:
        features_raw: ``(N, F)`` float64, as written / read / generated.
        target_raw: ``(N,)`` float64.
        features: ``(N, F)`` float64, ``features_raw`` through the feature scaler.
        target: ``(N,)`` float64, ``target_raw`` through the target scaler.
        source: The spec file as errors show it.
        time_labels: The text of each row's ``data.time`` CSV column; None without one.
    """

    feature_names: tuple[str, ...]
    target_name: str
    features_raw: FloatArray
    target_raw: FloatArray
    features: FloatArray
    target: FloatArray
    scale: Scale
    source: str
    feature_scaler: Any = field(default=None, repr=False)
    target_scaler: Any = field(default=None, repr=False)
    time_labels: tuple[str, ...] | None = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        """``N``, the number of rows."""
        return int(self.features_raw.shape[0])

    def inverse_target(self, values: ArrayLike) -> FloatArray:
        """Scaled target values (any shape, e.g. ``(B,)`` or ``(B, 1)``) -> original units."""
        array = np.asarray(values, dtype=np.float64)
        column = array.reshape(-1, 1)
        if self.target_scaler is not None:
            column = self.target_scaler.inverse_transform(column)
        return np.array(column, dtype=np.float64).reshape(array.shape)

    def inverse_features(self, values: ArrayLike) -> FloatArray:
        """Scaled features with last axis ``F`` (e.g. ``(N, F)`` or ``(B, T, F)``) -> original."""
        array = np.asarray(values, dtype=np.float64)
        width = len(self.feature_names)
        if array.ndim == 0 or array.shape[-1] != width:
            raise ValueError(f"expected a last axis of {width} features, got shape {array.shape}")
        rows = array.reshape(-1, width)
        if self.feature_scaler is not None:
            rows = self.feature_scaler.inverse_transform(rows)
        return np.array(rows, dtype=np.float64).reshape(array.shape)


@dataclass(frozen=True, eq=False)
class Windows:
    """Lookback windows cut from a :class:`Dataset`.

    Attributes:
        x: ``(B, T, F)`` scaled features of each window.
        y: ``(B,)`` scaled target of the row after each window.
        start_rows: ``(B,)`` first row of each window.
    """

    x: NDArray[np.floating[Any]]
    y: NDArray[np.floating[Any]]
    start_rows: NDArray[np.int64]


def load_dataset(spec: Spec, *, root: Path) -> Dataset:
    """Read, generate or compute the spec's columns and fit its scalers.

    Raises:
        SpecError: the CSV is missing, unreadable or malformed; a value is not finite;
            ``lookback`` is not smaller than the number of rows.
    """
    data = spec.data
    time_labels = None
    if isinstance(data, CsvData):
        names, features, target_name, target, time_labels = _read_csv(spec, data, root)
    else:
        names, features = _columns(data, spec.seed)
        target_name, target = data.target.name, _target(data.target, names, features, spec.seed)
    if not np.isfinite(target).all():
        raise spec.error("data.target", "the target has values that are not finite (overflow?)")
    if spec.lookback >= len(target):
        raise spec.error(
            "lookback",
            "expected a positive integer smaller than the number of rows"
            f" ({len(target)}), got {spec.lookback}",
        )
    # CSV rows are known only now; inline and synthetic sizes were checked at loading
    width = len(names)
    if not isinstance(spec.model, SavedModel):
        width = max(widths(spec.model, width))
    problem = size_problem(len(target), spec.lookback, data, width)
    if problem is not None:
        raise spec.error("lookback", problem)
    feature_scaler, target_scaler = _scaler(data.scale), _scaler(data.scale)
    scaled_features, scaled_target = features, target
    if feature_scaler is not None and target_scaler is not None:
        scaled_features = np.asarray(feature_scaler.fit_transform(features), dtype=np.float64)
        column = target_scaler.fit_transform(target.reshape(-1, 1))
        scaled_target = np.asarray(column, dtype=np.float64).reshape(-1)
    return Dataset(
        feature_names=names,
        target_name=target_name,
        features_raw=_frozen(features),
        target_raw=_frozen(target),
        features=_frozen(scaled_features),
        target=_frozen(scaled_target),
        scale=data.scale,
        source=spec.display_path,
        feature_scaler=feature_scaler,
        target_scaler=target_scaler,
        time_labels=time_labels,
    )


def spec_windows(spec: Spec, dataset: Dataset) -> Windows:
    """The spec's windows: ``lookback`` rows each, every ``data.stride`` rows, at most
    ``data.batch`` of them, in the spec's ``dtype`` (see the module notation).

    With ``stride=1`` and no ``batch`` these are the notebook's ``create_sequences``:
    ``N - lookback`` windows. Runs, ``rnnparity validate`` and the tests all cut windows
    here, so what is validated is what runs.
    """
    return _cut_windows(
        dataset,
        spec.lookback,
        stride=spec.data.stride,
        batch=spec.data.batch,
        dtype=np.dtype(spec.dtype),
    )


def _frozen(array: FloatArray) -> FloatArray:
    frozen = np.array(array, dtype=np.float64)
    frozen.setflags(write=False)
    return frozen


def _scaler(scale: Scale) -> Any:
    if scale == "none":
        return None
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    return MinMaxScaler(feature_range=(0, 1)) if scale == "minmax" else StandardScaler()


def _columns(data: InlineData | SyntheticData, seed: int) -> tuple[tuple[str, ...], FloatArray]:
    if isinstance(data, InlineData):
        names = tuple(data.features)
        return names, np.array([data.features[name] for name in names], dtype=np.float64).T
    return data.feature_names, _synthetic(data, seed)


def _synthetic(data: SyntheticData, seed: int) -> FloatArray:
    """Seeded columns; ``RandomState`` so the numbers never change with NumPy's version.

    * ``normal``: independent standard normal values.
    * ``random_walk``: cumulative sums of standard normal steps.
    * ``sine``: per column a period drawn from [8, 32) rows and a phase from [0, 2 pi),
      plus normal noise of standard deviation 0.1.
    """
    entropy = np.random.SeedSequence([seed, _SYNTHETIC_STREAM]).generate_state(4)
    random = np.random.RandomState(entropy)
    shape = (data.length, data.features)
    if data.kind == "normal":
        return random.standard_normal(shape)
    if data.kind == "random_walk":
        return np.cumsum(random.standard_normal(shape), axis=0)
    period = random.uniform(8.0, 32.0, data.features)
    phase = random.uniform(0.0, 2.0 * math.pi, data.features)
    steps = np.arange(data.length, dtype=np.float64)[:, np.newaxis]
    waves = np.sin(2.0 * math.pi * steps / period + phase)
    return np.asarray(waves + _SINE_NOISE * random.standard_normal(shape), dtype=np.float64)


def _target(target: Target, names: Sequence[str], features: FloatArray, seed: int) -> FloatArray:
    if isinstance(target, ColumnTarget):
        return np.array(features[:, names.index(target.column)], dtype=np.float64)
    if isinstance(target, ValuesTarget):
        return np.array(target.values, dtype=np.float64)
    return _linear(target, names, features, seed)


def _linear(
    target: LinearTarget, names: Sequence[str], features: FloatArray, seed: int
) -> FloatArray:
    """``sum(coefficient * column) + RandomState(seed).normal(0, noise_std, N)``.

    Summed term by term in the written order, then the noise, exactly as the expression
    ``2.5*t - 0.5*h + 1.2*w + np.random.normal(0, 5, n)`` evaluates after
    ``np.random.seed(seed)``.
    """
    total: FloatArray | None = None
    # Overflow shows up as inf and is reported by load_dataset with the spec's line.
    with np.errstate(over="ignore", invalid="ignore"):
        for name, coefficient in target.coefficients.items():
            term = coefficient * features[:, names.index(name)]
            total = term if total is None else total + term
    assert total is not None  # the spec requires at least one coefficient
    if target.noise_std > 0:
        rows = features.shape[0]
        total = total + np.random.RandomState(seed).normal(0.0, target.noise_std, rows)
    return total


def _read_csv(
    spec: Spec, data: CsvData, root: Path
) -> tuple[tuple[str, ...], FloatArray, str, FloatArray, tuple[str, ...] | None]:
    """The feature columns, the target column and the time labels of a CSV file.

    A file over :data:`~pytest_rnnparity.spec.MAX_CSV_BYTES` is refused before it is
    read (the loader checked it too, but the file may have grown since); the rest is
    read as a stream, row by row, keeping only the wanted columns as 8-byte floats.
    """
    shown = display_path(data.path, root)
    try:
        stream = data.path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise spec.error("data.csv.path", f"file not found: {data.declared!r}") from None
    except OSError as error:
        raise SpecError(f"cannot read the file: {error.strerror}", path=shown) from None
    with stream:
        size = os.fstat(stream.fileno()).st_size
        if size > MAX_CSV_BYTES:
            raise spec.error(
                "data.csv.path",
                f"{data.declared!r} is {size:,} bytes; at most {MAX_CSV_BYTES:,} are read: cut"
                " the rows the spec needs into a smaller file",
            )
        try:
            columns, labels = _csv_records(spec, data, stream, shown)
        except UnicodeDecodeError:
            # the stream's error counts from its last chunk: decode the (bounded) file
            # whole to name the line and column of the first byte that is not UTF-8
            try:
                data.path.read_bytes().decode("utf-8-sig")
            except UnicodeDecodeError as error:
                raise not_utf8(error, what="file", path=shown) from None
            raise  # pragma: no cover - the file changed while it was read
        except OSError as error:
            raise SpecError(f"cannot read the file: {error.strerror}", path=shown) from None
    values = [np.frombuffer(column, dtype=np.float64) for column in columns]
    features = np.stack(values[:-1], axis=1)  # the spec names at least one feature
    time_labels = tuple(labels) if isinstance(data.time, TimeColumn) else None
    return data.features, features, data.target, values[-1].copy(), time_labels


def _csv_records(
    spec: Spec, data: CsvData, stream: TextIO, shown: str
) -> tuple[list[array[float]], list[str]]:
    """Each wanted column (the features, then the target) of the rows below the header,
    and the text of the ``data.time`` column (empty without one)."""
    reader = csv.reader(stream, strict=True)
    try:
        header = next((record for record in reader if any(cell.strip() for cell in record)), None)
        if header is None:
            raise SpecError(
                "the file is empty; expected a header row naming the columns", path=shown
            )
        header_line = reader.line_num
        header = [cell.strip() for cell in header]
        for index, name in enumerate(header):
            if name in header[:index]:
                raise SpecError(
                    f"column {name!r} appears twice in the header", path=shown, line=header_line
                )
        wanted = _csv_columns(spec, data, header, shown)
        time_at = _time_column(spec, data, header, shown)
        columns: list[array[float]] = [array("d") for _ in wanted]
        labels: list[str] = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise SpecError(
                    f"expected {len(header)} fields as in the header, got {len(record)}",
                    path=shown,
                    line=reader.line_num,
                )
            for values, (name, position) in zip(columns, wanted, strict=True):
                values.append(_cell(record[position], name, shown, reader.line_num))
            if time_at is not None:
                labels.append(record[time_at].strip())
    except csv.Error as error:
        raise SpecError(f"invalid CSV: {error}", path=shown, line=reader.line_num) from None
    if not columns[0]:
        raise SpecError("no data rows below the header", path=shown, line=header_line)
    return columns, labels


def _csv_columns(
    spec: Spec, data: CsvData, header: Sequence[str], shown: str
) -> list[tuple[str, int]]:
    """``(name, position)`` of each feature column, then of the target column."""
    keys = [f"data.csv.features[{index}]" for index in range(len(data.features))]
    wanted: list[tuple[str, int]] = []
    for key, name in zip([*keys, "data.csv.target"], [*data.features, data.target], strict=True):
        if name not in header:
            raise spec.error(key, _missing_column(name, header, shown))
        wanted.append((name, header.index(name)))
    return wanted


def _time_column(spec: Spec, data: CsvData, header: Sequence[str], shown: str) -> int | None:
    """The position of the ``data.time`` column, or None when the rows are counted."""
    if not isinstance(data.time, TimeColumn):
        return None
    if data.time.column not in header:
        raise spec.error("data.time.column", _missing_column(data.time.column, header, shown))
    return header.index(data.time.column)


def _missing_column(name: str, header: Sequence[str], shown: str) -> str:
    problem = f"column {name!r} not found in {shown}"
    close = [c for c in header if c.lower() == name.lower()]
    close = close or difflib.get_close_matches(name, header, n=1)
    if close:
        return f"{problem}; did you mean {close[0]!r}?"
    return f"{problem}; columns: {', '.join(header)}"


def _cell(text: str, column: str, shown: str, line: int) -> float:
    stripped = text.strip()
    if not stripped:
        raise SpecError("expected a number, got an empty cell", path=shown, line=line, key=column)
    try:
        value = float(stripped)
    except ValueError:
        raise SpecError(
            f"expected a number, got {stripped!r}", path=shown, line=line, key=column
        ) from None
    if not math.isfinite(value):
        raise SpecError(
            f"expected a finite number, got {stripped!r}", path=shown, line=line, key=column
        )
    return value


def _cut_windows(
    dataset: Dataset,
    lookback: int,
    *,
    stride: int,
    batch: int | None,
    dtype: DTypeLike,
) -> Windows:
    """Cut the scaled columns into windows of ``lookback`` rows (see :func:`spec_windows`)."""
    rows = dataset.rows
    if isinstance(lookback, bool) or not 0 < lookback < rows:
        raise SpecError(
            f"expected a positive integer smaller than the number of rows ({rows}), got {lookback}",
            path=dataset.source,
            key="lookback",
        )
    if stride < 1:
        raise SpecError(
            f"expected a positive integer, got {stride}", path=dataset.source, key="data.stride"
        )
    if batch is not None and batch < 1:
        raise SpecError(
            f"expected a positive integer, got {batch}", path=dataset.source, key="data.batch"
        )
    start_rows = np.arange(0, rows - lookback, stride, dtype=np.int64)[:batch]
    steps = start_rows[:, np.newaxis] + np.arange(lookback)[np.newaxis, :]
    return Windows(
        x=dataset.features[steps].astype(dtype),
        y=dataset.target[start_rows + lookback].astype(dtype),
        start_rows=start_rows,
    )
