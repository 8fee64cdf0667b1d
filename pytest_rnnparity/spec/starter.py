"""``rnnparity new``: a starter spec, every key commented, that validates as written.

Its parity item passes as written; its golden item fails until the golden is recorded
(``pytest --rnn-parity --snapshot-update``, or ``rnnparity new --record``).

:func:`starter_spec` (a chain) and :func:`architecture_spec` (``--arch``: a functional
model of a common architecture) are pure text. The command line resolves the CSV
columns (with :func:`csv_header`) and writes the file; nothing here imports keras or
tensorflow.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "ARCHITECTURES",
    "CELLS",
    "CSV_ARCHITECTURES",
    "CsvSource",
    "SyntheticKind",
    "SyntheticSource",
    "architecture_spec",
    "csv_header",
    "spec_name",
    "starter_spec",
]

Cell = Literal["gru", "lstm", "simple_rnn"]
Architecture = Literal["text-classifier", "cnn-lstm", "seq2seq", "attention", "autoencoder"]
#: ``--arch`` choices, each a functional model (``model: {layers: ...}``).
ARCHITECTURES: tuple[Architecture, ...] = (
    "text-classifier",
    "cnn-lstm",
    "seq2seq",
    "attention",
    "autoencoder",
)
#: The architectures whose one series input may come from ``--data csv:PATH``.
CSV_ARCHITECTURES = ("cnn-lstm", "attention", "autoencoder")
#: The states of each cell, as ``initial_state`` names them (``encoder.state_h``).
_STATES = {"gru": ("state",), "lstm": ("state_h", "state_c"), "simple_rnn": ("state",)}
#: Rows kept of every input of an ``--arch`` starter (a small, fast golden).
STARTER_BATCH = 16
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


# ------------------------------------------------------------------------ --arch


def _input_lines(name: str, source: SyntheticSource | CsvSource, lookback: int | None) -> list[str]:
    """One series input under ``data.inputs`` (four spaces in)."""
    own = [_line(f"      lookback: {lookback}", "this input's window")] if lookback else []
    if isinstance(source, SyntheticSource):
        length = max(MIN_SYNTHETIC_ROWS, SYNTHETIC_ROWS_PER_STEP * (lookback or 1))
        synthetic = f"{{kind: {source.kind}, length: {length}, features: {source.features}}}"
        return [
            _line(f"    {name}:", "seeded columns x0, x1, ...; the target is x0"),
            f"      synthetic: {synthetic}",
            *own,
        ]
    return [
        _line(f"    {name}:", "a CSV file with a header row"),
        _line("      csv:", "relative to this file, inside the project"),
        f"        path: {source.path}",
        _line(f"        features: {_flow(source.features)}", "the input columns, in order"),
        _line(f"        target: {source.target}", "the column to predict (may be a feature)"),
        *own,
    ]


def architecture_spec(
    *,
    arch: Architecture,
    name: str,
    cell: Cell,
    units: int,
    lookback: int,
    source: SyntheticSource | CsvSource,
    seed: int = 0,
) -> str:
    """The text of a starter spec in the functional form: ``arch`` with ``cell`` layers.

    ``source`` feeds the series input (not the text classifier's tokens, nor the
    seq2seq decoder's own input, which are synthetic).
    """
    layer = CELLS[cell]
    features = source.features if isinstance(source, SyntheticSource) else len(source.features)
    head = [
        "# A pytest-rnnparity spec in the functional form: named layers, each reading the",
        "# model's inputs (data.inputs) or other layers. `pytest --rnn-parity` builds this",
        "# Keras model, runs the NumPy reference beside it and checks that both agree at",
        "# every step, then compares with a golden file (record it once with",
        "# `pytest --rnn-parity --snapshot-update`). Check it without TensorFlow:",
        "# `rnnparity validate <file>`; every key: `rnnparity schema`.",
        _line(f"name: {name}", "the test id; defaults to the file name"),
    ]
    tail = [
        _line("weights: seeded", "drawn from NumPy with the seed; nothing is zero"),
        _line("tolerance: {atol: 1.0e-5, rtol: 1.0e-5}", "|keras - ref| <= atol + rtol*|ref|"),
    ]
    seed_line = _line(f"seed: {seed}", "seeds the data, the weights and any noise")
    batch_line = _line(f"  batch: {STARTER_BATCH}", "rows kept of every input")
    if arch == "text-classifier":
        body = [
            f"description: Embedding(mask_zero) -> Bidirectional({layer}({units})) -> Dense(1)",
            seed_line,
            _line("data:", "one data source per model input, by name"),
            "  inputs:",
            _line("    tokens:", "integer token ids, padded with 0"),
            _line("      tokens:", "seeded sequences (or path: ids.csv / ids.npy)"),
            _line("        vocabulary: 50", "ids 1..49; 0 is padding"),
            _line(f"        sequences: {STARTER_BATCH}", "one row per sequence"),
            _line("        length: 12", "every sequence padded to 12 steps"),
            _line("        min_length: 3", "lengths drawn from 3..12"),
            _line("        padding: right", "right | left | mixed"),
            _line("        classes: 2", "the labels (the target), drawn from 0..1"),
            _line("model:", "named layers, {Class: {arguments}, inputs: ...}"),
            "  layers:",
            _line("    embedding:", "ids -> vectors; id 0 is masked"),
            "      Embedding: {input_dim: 50, output_dim: 8, mask_zero: true}",
            "      inputs: tokens",
            _line("    encoder:", "reads the sequence both ways, skips the padding"),
            f"      Bidirectional: {{layer: {{{layer}: {{units: {units}}}}}}}",
            "      inputs: embedding",
            "    label: {Dense: {units: 1, activation: sigmoid}, inputs: encoder}",
            _line("  outputs: [label]", "the model's outputs"),
        ]
    elif arch == "seq2seq":
        states = ", ".join(f"encoder.{state}" for state in _STATES[cell])
        decoder_lookback = max(1, lookback // 2)
        body = [
            f"description: {layer}({units}) encoder -> {layer}({units}) decoder from its states",
            seed_line,
            _line("data:", "one data source per model input, by name"),
            "  inputs:",
            *_input_lines("history", source, lookback),
            *_input_lines("decoder_input", SyntheticSource(1, "random_walk"), decoder_lookback),
            batch_line,
            _line("model:", "named layers, {Class: {arguments}, inputs: ...}"),
            "  layers:",
            _line("    encoder:", "its final states start the decoder"),
            f"      {layer}: {{units: {units}, return_state: true}}",
            "      inputs: history",
            "    decoder:",
            f"      {layer}: {{units: {units}, return_sequences: true}}",
            "      inputs: decoder_input",
            _line(f"      initial_state: [{states}]", "the encoder's outputs by name"),
            _line("    steps:", "one prediction per decoder step"),
            "      TimeDistributed: {layer: {Dense: {units: 1}}}",
            "      inputs: decoder",
            "  outputs: [steps]",
        ]
    else:
        if arch == "cnn-lstm":
            described = f"Conv1D(causal) -> MaxPooling1D -> {layer}({units}) -> Dense(1)"
            layers = [
                _line("    conv:", "a causal convolution keeps every step"),
                "      Conv1D: {filters: 4, kernel_size: 3, padding: causal, activation: relu}",
                "      inputs: series",
                _line(
                    "    pool: {MaxPooling1D: {pool_size: 2, padding: same}, inputs: conv}",
                    "half the steps",
                ),
                f"    recurrent: {{{layer}: {{units: {units}}}, inputs: pool}}",
                "    forecast: {Dense: {units: 1}, inputs: recurrent}",
            ]
        elif arch == "attention":
            described = (
                f"{layer}({units}, return_sequences) -> Attention -> GlobalAveragePooling1D"
                " -> Dense(1)"
            )
            layers = [
                "    recurrent:",
                f"      {layer}: {{units: {units}, return_sequences: true}}",
                "      inputs: series",
                _line("    attention:", "self-attention: [query, value]"),
                "      Attention: {use_scale: true}",
                "      inputs: [recurrent, recurrent]",
                _line(
                    "    pool: {GlobalAveragePooling1D: {}, inputs: attention}", "steps -> vector"
                ),
                "    forecast: {Dense: {units: 1}, inputs: pool}",
            ]
        else:
            described = (
                f"{layer}({units}) -> RepeatVector({lookback}) -> {layer}({units},"
                f" return_sequences) -> TimeDistributed(Dense({features}))"
            )
            layers = [
                f"    encoder: {{{layer}: {{units: {units}}}, inputs: series}}",
                _line(
                    f"    repeat: {{RepeatVector: {{n: {lookback}}}, inputs: encoder}}",
                    "the code at every step",
                ),
                "    decoder:",
                f"      {layer}: {{units: {units}, return_sequences: true}}",
                "      inputs: repeat",
                _line("    reconstruction:", "back to the window's features"),
                f"      TimeDistributed: {{layer: {{Dense: {{units: {features}}}}}}}",
                "      inputs: decoder",
            ]
        body = [
            f"description: {described}",
            seed_line,
            _line("data:", "one data source per model input, by name"),
            "  inputs:",
            *_input_lines("series", source, None),
            batch_line,
            _line(f"lookback: {lookback}", f"every series input reads {lookback} rows"),
            _line("model:", "named layers, {Class: {arguments}, inputs: ...}"),
            "  layers:",
            *layers,
        ]
    lines = [*head, *body, *tail]
    return "\n".join(line.rstrip() for line in lines) + "\n"
