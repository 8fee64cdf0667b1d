"""``rnnparity new``: a starter spec, every key commented, that validates as written.

Its parity item passes as written; its golden item fails until the golden is recorded
(``pytest --rnn-parity --snapshot-update``, or ``rnnparity new --record``).

:func:`starter_spec` is pure text. The command line resolves the CSV columns (with
:func:`csv_header`) and writes the file; nothing here imports keras or tensorflow.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "CELLS",
    "CsvSource",
    "SyntheticKind",
    "SyntheticSource",
    "csv_header",
    "spec_name",
    "starter_spec",
]

Cell = Literal["gru", "lstm", "simple_rnn"]
SyntheticKind = Literal["sine", "random_walk", "normal"]
#: ``--cell`` choice -> Keras layer class.
CELLS: dict[str, str] = {"gru": "GRU", "lstm": "LSTM", "simple_rnn": "SimpleRNN"}
#: Column where the ``#`` comments start.
COMMENT_COLUMN = 40
#: Rows of synthetic data per lookback step (at least ``MIN_SYNTHETIC_ROWS``).
SYNTHETIC_ROWS_PER_STEP = 8
MIN_SYNTHETIC_ROWS = 120


@dataclass(frozen=True)
class SyntheticSource:
    """Seeded generated columns ``x0 ..``; the target is ``x0`` of the next row."""

    features: int
    kind: SyntheticKind = "sine"


@dataclass(frozen=True)
class CsvSource:
    """A CSV file; ``path`` as written into the spec (relative to the spec file)."""

    path: str
    features: tuple[str, ...]
    target: str


def spec_name(path: Path) -> str:
    """A spec name from a file name: ``my model.yaml`` -> ``my-model``."""
    name = re.sub(r"[\s\[\]/\\:]+", "-", path.stem).strip("-")
    return name or "spec"


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file's header row (its first non-empty row).

    Raises:
        ValueError: the file has no header row.
        OSError: the file cannot be read.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for record in csv.reader(handle):
            names = [cell.strip() for cell in record]
            if any(names):
                return names
    raise ValueError(f"{path}: no header row")


def _line(code: str, comment: str = "") -> str:
    if not comment:
        return code
    return f"{code.ljust(COMMENT_COLUMN - 1)} # {comment}"


def _flow(values: Sequence[str]) -> str:
    return "[" + ", ".join(values) + "]"


def _data_lines(source: SyntheticSource | CsvSource, lookback: int) -> list[str]:
    if isinstance(source, SyntheticSource):
        length = max(MIN_SYNTHETIC_ROWS, SYNTHETIC_ROWS_PER_STEP * lookback)
        synthetic = f"{{kind: {source.kind}, length: {length}, features: {source.features}}}"
        return [
            _line("data:", "what the model reads"),
            _line(f"  synthetic: {synthetic}", "sine | random_walk | normal, seeded"),
            _line("", "columns x0, x1, ...; the target is x0"),
            _line("  scale: minmax", "minmax | standard | none (scikit-learn scalers)"),
        ]
    return [
        _line("data:", "what the model reads"),
        _line("  csv:", "a CSV file with a header row"),
        _line(f"    path: {source.path}", "relative to this file, inside the project"),
        _line(f"    features: {_flow(source.features)}", "the input columns, in order"),
        _line(f"    target: {source.target}", "the column to predict (may be a feature)"),
        _line("  scale: minmax", "minmax | standard | none (scikit-learn scalers)"),
    ]


def starter_spec(
    *,
    name: str,
    cell: Cell,
    units: int,
    lookback: int,
    source: SyntheticSource | CsvSource,
    seed: int = 0,
) -> str:
    """The text of a starter spec; see ``rnnparity schema`` for every key it can grow."""
    layer = CELLS[cell]
    features = source.features if isinstance(source, SyntheticSource) else len(source.features)
    what = "synthetic data" if isinstance(source, SyntheticSource) else source.path
    lines = [
        "# A pytest-rnnparity spec. `pytest --rnn-parity` builds this Keras model, runs the",
        "# NumPy reference beside it and checks that both agree at every timestep, then",
        "# compares the gate traces with a golden file (record it once with",
        "# `pytest --rnn-parity --snapshot-update`). Check this file without TensorFlow:",
        "# `rnnparity validate <file>`; see it work: `rnnparity explain <file>`;",
        "# every key: `rnnparity schema`.",
        _line(f"name: {name}", "the test id; defaults to the file name"),
        f"description: {layer}({units}) -> Dense(1) on {what}",
        _line(f"seed: {seed}", "seeds the data, the weights and any noise"),
        *_data_lines(source, lookback),
        _line(f"lookback: {lookback}", f"a window is {lookback} rows; it predicts the next row"),
        _line("model:", "Keras layers in order, {Class: {arguments}}"),
        _line(f"  - {layer}: {{units: {units}}}", f"reads (lookback, {features}) windows"),
        _line("  - Dense: {units: 1}", "one prediction per window"),
        _line("weights: seeded", "drawn from NumPy with the seed; biases never zero"),
        _line("tolerance: {atol: 1.0e-6, rtol: 1.0e-5}", "|keras - ref| <= atol + rtol*|ref|"),
        "# More: dtype: float64, stateful: true, data.stride / data.batch, golden: {...},",
        f"# matrix: {{model[0].{layer}.units: [{units}, {units * 4}]}} for one test per value.",
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"
