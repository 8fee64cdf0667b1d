"""A spec's data: inline, CSV or synthetic columns, their scalers, and lookback windows.

Notation (the notebook's ``create_sequences``)::

    N  rows (time steps)     F  features     T  lookback     B  windows
    window i  = features[start_i : start_i + T]          shape (T, F)
    target i  = target[start_i + T]                      the row right after the window
    start_i   = i * stride,  0 <= start_i < N - T,  at most ``batch`` windows

Features and target get separate scikit-learn scalers (``MinMaxScaler(feature_range=(0,
1))`` for ``scale: minmax``, as in the notebook), both kept so that predictions can be
mapped back to the original units with :meth:`Dataset.inverse_target`.

A functional model (``model: {layers: ...}``) has one data source per input
(``data.inputs.<name>``): a series input is loaded and cut as above with its own
lookback; a token input (``tokens:``) is a :class:`TokenDataset` of integer id
sequences, one row per sequence (``B`` is then the number of sequences). Every input
goes through :func:`spec_windows`; :func:`load_inputs` loads them all and checks that
they give the same number of rows.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from pytest_rnnparity.errors import SpecError, UnsupportedModelError
from pytest_rnnparity.spec import (
    MAX_CSV_BYTES,
    ColumnTarget,
    CsvData,
    DataSource,
    GraphData,
    InlineData,
    LinearTarget,
    ModelGraph,
    ModelInput,
    Scale,
    Spec,
    SyntheticData,
    SyntheticTokens,
    Target,
    TimeColumn,
    TokenFile,
    ValuesTarget,
    display_path,
    size_problem,
    widths,
)
from pytest_rnnparity.spec.data import rows_problem
from pytest_rnnparity.spec.yaml_loader import not_utf8

__all__ = [
    "Dataset",
    "ModelData",
    "TokenDataset",
    "Windows",
    "load_dataset",
    "load_inputs",
    "spec_windows",
]

FloatArray = NDArray[np.float64]

#: Second entropy word for the synthetic stream, so that synthetic columns and the
#: notebook-style target noise (``RandomState(seed)``) never share a stream.
_SYNTHETIC_STREAM = 0x5EED_DA7A
#: Noise added to sine columns, relative to their unit amplitude.
_SINE_NOISE = 0.1
#: Second entropy word of synthetic token sequences (the input's position is the third).
_TOKEN_STREAM = 0x70CE_5EED


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
    #: The model input it feeds (``data.inputs.<input>``); ``""`` for a chain's data.
    input: str = ""

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
class TokenDataset:
    """The token sequences of one model input; every array is read-only.

    Attributes:
        ids: ``(N, L)`` int64 token ids, 0 where a sequence is padded.
        lengths: ``(N,)`` the ids of each sequence that are not padding.
        labels: ``(N,)`` int64, each sequence's class (the target).
        vocabulary: One more than the largest id a sequence may hold.
        input: The model input it feeds (``data.inputs.<input>``).
        source: The spec file as errors show it.
    """

    input: str
    ids: NDArray[np.int64]
    lengths: NDArray[np.int64]
    labels: NDArray[np.int64]
    vocabulary: int
    source: str

    @property
    def rows(self) -> int:
        """``N``, the number of sequences."""
        return int(self.ids.shape[0])


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


@dataclass(frozen=True, eq=False)
class ModelData:
    """What the model is fed: the dataset and the windows of each of its inputs.

    A chain's one input is named ``""``; a functional model's inputs are named as under
    ``data.inputs``, in that order. Every input has the same number of rows.
    """

    spec: Spec
    datasets: Mapping[str, Dataset | TokenDataset]
    windows: Mapping[str, Windows]

    @property
    def x(self) -> Any:
        """The windows as ``model(x)`` takes them: one array, or a dict by input name."""
        if not isinstance(self.spec.model, ModelGraph):
            return self.windows[""].x
        return {name: windows.x for name, windows in self.windows.items()}

    @property
    def rows(self) -> int:
        """``B``, the rows every input gives."""
        return int(next(iter(self.windows.values())).x.shape[0])

    def one_input(self, purpose: str) -> tuple[Dataset, Windows]:
        """The dataset and windows of a model with one series input (a chain's data).

        Raises:
            UnsupportedModelError: the spec is a functional model; ``purpose`` says what
                needed one input.
        """
        dataset = self.datasets.get("")
        if not isinstance(dataset, Dataset):
            names = ", ".join(self.datasets)
            raise UnsupportedModelError(
                f"{self.spec.display_path or self.spec.id}: {purpose} shows the data of one"
                f" input, and this spec is a functional model (inputs: {names})"
            )
        return dataset, self.windows[""]


def load_inputs(spec: Spec, *, root: Path) -> ModelData:
    """Every model input's dataset and windows, checked to give the same number of rows.

    Raises:
        SpecError: as :func:`load_dataset`; the inputs give different numbers of rows; a
            token file holds an id its Embedding has no row for.
    """
    if not isinstance(spec.data, GraphData):
        dataset = load_dataset(spec, root=root)
        return ModelData(
            spec=spec, datasets={"": dataset}, windows={"": spec_windows(spec, dataset)}
        )
    datasets: dict[str, Dataset | TokenDataset] = {}
    windows: dict[str, Windows] = {}
    for model_input in spec.data.inputs:
        datasets[model_input.name] = load_dataset(spec, root=root, input=model_input.name)
        windows[model_input.name] = spec_windows(spec, datasets[model_input.name])
    problem = rows_problem(spec.data, [int(w.x.shape[0]) for w in windows.values()])
    if problem is not None:
        name, text = problem
        raise spec.error(f"data.inputs.{name}", text)
    _check_embedding_rows(spec, datasets)
    return ModelData(spec=spec, datasets=datasets, windows=windows)


def _check_embedding_rows(spec: Spec, datasets: Mapping[str, Dataset | TokenDataset]) -> None:
    """A token file's ids must have a row in the Embedding that reads them (synthetic
    tokens and a declared vocabulary were checked at loading)."""
    assert isinstance(spec.model, ModelGraph)
    for node in spec.model.layers:
        if node.layer.class_name != "Embedding":
            continue
        dataset = datasets.get(node.inputs[0])
        input_dim = int(node.layer.kwargs["input_dim"])
        if isinstance(dataset, TokenDataset) and dataset.ids.size:
            largest = int(dataset.ids.max())
            if largest >= input_dim:
                raise spec.error(
                    f"model.layers.{node.name}.Embedding.input_dim",
                    f"the Embedding has rows for {input_dim} ids, but data.inputs.{dataset.input}"
                    f" holds the id {largest}; set input_dim to at least {largest + 1}",
                )


@overload
def load_dataset(spec: Spec, *, root: Path) -> Dataset: ...
@overload
def load_dataset(spec: Spec, *, root: Path, input: str) -> Dataset | TokenDataset: ...
def load_dataset(spec: Spec, *, root: Path, input: str = "") -> Dataset | TokenDataset:
    """Read, generate or compute the columns of the spec's data (of its ``input``, for a
    functional model) and fit their scalers; a token input's sequences.

    Raises:
        SpecError: the CSV is missing, unreadable or malformed; a value is not finite;
            ``lookback`` is not smaller than the number of rows.
    """
    if not isinstance(spec.data, GraphData):
        if input:
            raise ValueError(f"{spec.id} is a chain: its one input has no name")
        return _series_dataset(spec, spec.data, spec.lookback, root=root)
    if not input:
        raise ValueError(f"{spec.id} is a functional model: name the input to load")
    model_input = spec.data.input(input)
    index = spec.data.inputs.index(model_input)
    if isinstance(model_input.data, SyntheticTokens | TokenFile):
        return _token_dataset(spec, model_input, index, root=root)
    assert model_input.lookback is not None
    return _series_dataset(
        spec,
        model_input.data,
        model_input.lookback,
        root=root,
        model_input=model_input,
        stream=index,
    )


def _series_dataset(
    spec: Spec,
    data: DataSource,
    lookback: int,
    *,
    root: Path,
    model_input: ModelInput | None = None,
    stream: int | None = None,
) -> Dataset:
    """The :class:`Dataset` of a series: the chain's data, or one input of a functional model."""
    prefix = "data" if model_input is None else f"data.inputs.{model_input.name}"
    lookback_key = "lookback"
    if model_input is not None and f"{prefix}.lookback" in spec.locations:
        lookback_key = f"{prefix}.lookback"
    time_labels = None
    if isinstance(data, CsvData):
        names, features, target_name, target, time_labels = _read_csv(
            spec, data, root, prefix=prefix
        )
    else:
        names, features = _columns(data, spec.seed, stream=stream)
        target_name, target = data.target.name, _target(data.target, names, features, spec.seed)
    if not np.isfinite(target).all():
        raise spec.error(
            f"{prefix}.target", "the target has values that are not finite (overflow?)"
        )
    if lookback >= len(target):
        raise spec.error(
            lookback_key,
            "expected a positive integer smaller than the number of rows"
            f" ({len(target)}), got {lookback}",
        )
    # CSV rows are known only now; inline and synthetic sizes were checked at loading
    width = len(names)
    if isinstance(spec.model, tuple):
        width = max(widths(spec.model, width))
    problem = size_problem(len(target), lookback, data, width)
    if problem is not None:
        raise spec.error(lookback_key, problem)
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
        input=model_input.name if model_input is not None else "",
    )


def spec_windows(spec: Spec, dataset: Dataset | TokenDataset) -> Windows:
    """The windows of one input: ``lookback`` rows each, every ``data.stride`` rows, at
    most ``data.batch`` of them, in the spec's ``dtype`` (see the module notation).

    With ``stride=1`` and no ``batch`` these are the notebook's ``create_sequences``:
    ``N - lookback`` windows. A functional model's series input is cut with its own
    lookback; a token input gives its first ``data.batch`` sequences as int32 rows
    ``(B, L)``, their labels as ``y`` and their indices as ``start_rows``. Runs,
    ``rnnparity validate`` and the tests all cut windows here, so what is validated is
    what runs.
    """
    lookback = spec.lookback
    if isinstance(spec.data, GraphData):
        model_input = spec.data.input(dataset.input)
        lookback = model_input.lookback or 0
    if isinstance(dataset, TokenDataset):
        count = dataset.rows if spec.data.batch is None else min(dataset.rows, spec.data.batch)
        return Windows(
            x=dataset.ids[:count].astype(np.int32),
            y=dataset.labels[:count].astype(np.dtype(spec.dtype)),
            start_rows=np.arange(count, dtype=np.int64),
        )
    return _cut_windows(
        dataset,
        lookback,
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


def _columns(
    data: InlineData | SyntheticData, seed: int, *, stream: int | None = None
) -> tuple[tuple[str, ...], FloatArray]:
    if isinstance(data, InlineData):
        names = tuple(data.features)
        return names, np.array([data.features[name] for name in names], dtype=np.float64).T
    return data.feature_names, _synthetic(data, seed, stream=stream)


def _synthetic(data: SyntheticData, seed: int, *, stream: int | None = None) -> FloatArray:
    """Seeded columns; ``RandomState`` so the numbers never change with NumPy's version.

    A functional model's inputs each draw from their own stream (``stream``, the input's
    position under ``data.inputs``), so that two synthetic inputs differ.

    * ``normal``: independent standard normal values.
    * ``random_walk``: cumulative sums of standard normal steps.
    * ``sine``: per column a period drawn from [8, 32) rows and a phase from [0, 2 pi),
      plus normal noise of standard deviation 0.1.
    """
    words = [seed, _SYNTHETIC_STREAM] if stream is None else [seed, _SYNTHETIC_STREAM, stream]
    entropy = np.random.SeedSequence(words).generate_state(4)
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


# ------------------------------------------------------------------------ token inputs


def _token_dataset(spec: Spec, model_input: ModelInput, stream: int, *, root: Path) -> TokenDataset:
    """The sequences of a token input: drawn (seeded) or read from its file."""
    tokens = model_input.data
    prefix = f"data.inputs.{model_input.name}.tokens"
    entropy = np.random.SeedSequence([spec.seed, _TOKEN_STREAM, stream]).generate_state(4)
    random = np.random.RandomState(entropy)
    if isinstance(tokens, SyntheticTokens):
        lengths = random.randint(tokens.min_length, tokens.length + 1, size=tokens.sequences)
        drawn = random.randint(1, tokens.vocabulary, size=(tokens.sequences, tokens.length))
        left = _left_padded(tokens.padding, tokens.sequences, random)
        ids = np.where(_kept(lengths, tokens.length, left), drawn, 0)
        labels = random.randint(0, tokens.classes, size=tokens.sequences)
        vocabulary = tokens.vocabulary
    else:
        assert isinstance(tokens, TokenFile)
        shown = display_path(tokens.path, root)
        if tokens.path.suffix == ".npy":
            ids = _npy_integers(tokens.path, shown, ndim=2)
            lengths = (ids != 0).sum(axis=1)
        else:
            rows = _csv_ids(tokens.path, shown, length=tokens.length)
            lengths = np.array([len(row) for row in rows], dtype=np.int64)
            left = _left_padded(tokens.padding, len(rows), random)
            ids = np.zeros((len(rows), tokens.length), dtype=np.int64)
            for index, row in enumerate(rows):
                if left[index]:
                    ids[index, tokens.length - len(row) :] = row
                else:
                    ids[index, : len(row)] = row
        if tokens.vocabulary is not None and ids.size and int(ids.max()) >= tokens.vocabulary:
            largest = int(ids.max())
            raise spec.error(
                f"{prefix}.vocabulary",
                f"{shown} holds the id {largest}, not below the vocabulary of {tokens.vocabulary}",
            )
        vocabulary = tokens.vocabulary or (int(ids.max()) + 1 if ids.size else 1)
        if tokens.labels is None:
            labels = random.randint(0, tokens.classes, size=len(ids))
        else:
            labels = _labels(
                spec, tokens.labels.path, display_path(tokens.labels.path, root), len(ids), prefix
            )
    return TokenDataset(
        input=model_input.name,
        ids=_frozen_int(ids),
        lengths=_frozen_int(lengths),
        labels=_frozen_int(labels),
        vocabulary=vocabulary,
        source=spec.display_path,
    )


def _left_padded(padding: str, rows: int, random: np.random.RandomState) -> NDArray[np.bool_]:
    """Which rows are padded on the left: none, all, or a seeded half of them (``mixed``)."""
    if padding == "mixed":
        return random.randint(0, 2, size=rows).astype(bool)
    return np.full(rows, padding == "left")


def _kept(lengths: NDArray[Any], length: int, left: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """``(N, L)``: the steps of each row that hold an id (the others are padding, id 0)."""
    steps = np.arange(length)[np.newaxis, :]
    right_kept = steps < lengths[:, np.newaxis]
    left_kept = steps >= length - lengths[:, np.newaxis]
    result: NDArray[np.bool_] = np.where(left[:, np.newaxis], left_kept, right_kept)
    return result


def _frozen_int(array: NDArray[Any]) -> NDArray[np.int64]:
    frozen = np.array(array, dtype=np.int64)
    frozen.setflags(write=False)
    return frozen


def _npy_integers(path: Path, shown: str, *, ndim: int) -> NDArray[np.int64]:
    """An integer array of ``ndim`` axes from a ``.npy`` file (never unpickled)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise SpecError(f"cannot read the .npy file: {error}", path=shown) from None
    if loaded.dtype.kind not in "iu" or loaded.ndim != ndim:
        wanted = "(sequences, length)" if ndim == 2 else "(sequences,)"
        raise SpecError(
            f"expected integers of shape {wanted}, got {loaded.dtype} of shape {loaded.shape}",
            path=shown,
        )
    if loaded.size and int(loaded.min()) < 0:
        raise SpecError(f"expected ids of at least 0, got {int(loaded.min())}", path=shown)
    return np.asarray(loaded, dtype=np.int64)


def _csv_ids(path: Path, shown: str, *, length: int) -> list[list[int]]:
    """One sequence of integer ids per non-empty line, at most ``length`` of them each."""
    rows: list[list[int]] = []
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise not_utf8(error, what="file", path=shown) from None
    except OSError as error:
        raise SpecError(f"cannot read the file: {error.strerror}", path=shown) from None
    for number, line in enumerate(text.splitlines(), start=1):
        cells = [cell.strip() for cell in line.split(",")]
        if not any(cells):
            continue
        row: list[int] = []
        for column, cell in enumerate(cells, start=1):
            if not cell.isdigit():
                raise SpecError(
                    f"expected a token id (an integer >= 0) in field {column}, got {cell!r}",
                    path=shown,
                    line=number,
                )
            row.append(int(cell))
        if len(row) > length:
            raise SpecError(
                f"a sequence of {len(row)} ids, longer than tokens.length ({length})",
                path=shown,
                line=number,
            )
        rows.append(row)
    if not rows:
        raise SpecError(
            "the file holds no sequence; expected one line of ids per sequence", path=shown
        )
    return rows


def _labels(spec: Spec, path: Path, shown: str, count: int, prefix: str) -> NDArray[np.int64]:
    """One integer label per sequence, from a ``.npy`` or a CSV of one label per line."""
    if path.suffix == ".npy":
        labels = _npy_integers(path, shown, ndim=1)
    else:
        rows = _csv_ids(path, shown, length=1)
        labels = np.array([row[0] for row in rows], dtype=np.int64)
    if len(labels) != count:
        raise spec.error(
            f"{prefix}.labels", f"{shown} holds {len(labels)} labels for {count} sequences"
        )
    return labels


def _read_csv(
    spec: Spec, data: CsvData, root: Path, *, prefix: str = "data"
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
        raise spec.error(f"{prefix}.csv.path", f"file not found: {data.declared!r}") from None
    except OSError as error:
        raise SpecError(f"cannot read the file: {error.strerror}", path=shown) from None
    with stream:
        size = os.fstat(stream.fileno()).st_size
        if size > MAX_CSV_BYTES:
            raise spec.error(
                f"{prefix}.csv.path",
                f"{data.declared!r} is {size:,} bytes; at most {MAX_CSV_BYTES:,} are read: cut"
                " the rows the spec needs into a smaller file",
            )
        try:
            columns, labels = _csv_records(spec, data, stream, shown, prefix=prefix)
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
    spec: Spec, data: CsvData, stream: TextIO, shown: str, *, prefix: str
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
        wanted = _csv_columns(spec, data, header, shown, prefix=prefix)
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
    spec: Spec, data: CsvData, header: Sequence[str], shown: str, *, prefix: str
) -> list[tuple[str, int]]:
    """``(name, position)`` of each feature column, then of the target column."""
    keys = [f"{prefix}.csv.features[{index}]" for index in range(len(data.features))]
    wanted: list[tuple[str, int]] = []
    targets = [*keys, f"{prefix}.csv.target"]
    for key, name in zip(targets, [*data.features, data.target], strict=True):
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
