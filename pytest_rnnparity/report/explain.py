"""The notebook's view of a spec run as text: gates and states at every step, predictions.

``rnnparity explain SPEC`` prints :func:`explain_text`; every function here builds a
string from a :class:`~pytest_rnnparity.check.spec_run.SpecRun` and prints nothing. The
numbers are the reference pass (the one that agrees with Keras), laid out as the
notebook's grid tables:

* the data and the model summary (built from the layers, not from ``model.summary()``,
  whose layout changes between Keras versions);
* per recurrent layer (each direction of a ``Bidirectional``): the weights per gate,
  their shapes and the equations Keras computes with them;
* per window and step: the input (original and scaled units), every gate, the previous,
  new and changed hidden (and cell) state; the prediction against the actual target,
  scaled and in the target's own units;
* the reference vs Keras vs actual table and the parity verdict.

A small spec (at most :data:`FULL_WINDOWS` windows and :data:`FULL_STEPS` steps in all)
is shown whole, as the notebook did. A bigger one is brief: its first window step by
step, the first :data:`BRIEF_STEPS` steps of it in full and a table of the rest, then
the comparison table of every window; :class:`Detail` says how much is shown, and
``rnnparity explain --windows N --steps N`` widens it.

Rows are named by the spec's ``data.time`` (:class:`TimeAxis`): counted from 1 in its
unit (``step`` by default, ``day`` for the notebook: window ``i`` covers days
``start_rows[i] + 1 .. start_rows[i] + lookback`` and predicts the day after), or
labelled with the text of a CSV column. Values are printed with a fixed number of
decimals so that the text is stable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pytest_rnnparity.check.spec_run import SpecRun
from pytest_rnnparity.reference.types import (
    GATES,
    STATE_NAMES,
    Array,
    CellWeights,
    DenseLayer,
    IdentityLayer,
    MaskingLayer,
    RecurrentLayer,
    RecurrentTrace,
    recurrent_directions,
)
from pytest_rnnparity.report.parity import checked_lines, error_table, parity_message
from pytest_rnnparity.spec import SavedModel, Spec, TimeColumn

__all__ = [
    "BRIEF_STEPS",
    "FULL_STEPS",
    "FULL_WINDOWS",
    "PLOT_WINDOWS",
    "Detail",
    "RecurrentView",
    "TimeAxis",
    "actual_targets",
    "comparison_section",
    "detail",
    "explain_text",
    "format_vector",
    "forward_section",
    "header_section",
    "model_section",
    "prediction_values",
    "recurrent_views",
    "time_axis",
    "verdict_section",
    "weights_section",
]

#: A spec with at most this many windows ...
FULL_WINDOWS = 10
#: ... and at most this many steps in all (windows x steps x recurrent directions) is
#: shown whole: every window, every step.
FULL_STEPS = 40
#: A bigger spec shows its first window, and this many of its steps in full.
BRIEF_STEPS = 3
#: Windows the explain plots draw unless ``--windows`` says otherwise.
PLOT_WINDOWS = 10
#: Tables with more rows than this drop the rule between rows.
GRID_ROWS = 20
#: Weight arrays with more values than this are listed by shape only.
MAX_SHOWN_WEIGHTS = 64
#: Values per line inside a table cell.
VALUES_PER_LINE = 8
#: Decimals of gate, state and weight values.
DECIMALS = 6
RULE = "=" * 80
WEIGHTS_RULE = "+" * 62

CELL_CLASSES = {"gru": "GRU", "lstm": "LSTM", "simple_rnn": "SimpleRNN"}
GATE_NAMES = {
    "gru": {"z": "update", "r": "reset", "h": "candidate"},
    "lstm": {"i": "input", "f": "forget", "c": "candidate", "o": "output"},
    "simple_rnn": {"h": "hidden"},
}
TRACE_LABELS = {
    "gru": {
        "update": "Update Gate (z_t)",
        "reset": "Reset Gate (r_t)",
        "candidate": "Candidate Hidden State (hh_t)",
    },
    "lstm": {
        "input": "Input Gate (i_t)",
        "forget": "Forget Gate (f_t)",
        "candidate": "Candidate Cell State (g_t)",
        "output": "Output Gate (o_t)",
    },
    "simple_rnn": {},
}
STATE_LABELS = {"hidden": ("Hidden State", "h"), "cell": ("Cell State", "c")}
SCALED_NAMES = {"minmax": "normalized", "standard": "standardized"}
#: The symbol of each gate in the table of the steps not shown in full.
TRACE_SYMBOLS = {
    "gru": {"update": "z_t", "reset": "r_t", "candidate": "hh_t"},
    "lstm": {"input": "i_t", "forget": "f_t", "candidate": "g_t", "output": "o_t"},
    "simple_rnn": {},
}


@dataclass(frozen=True)
class TimeAxis:
    """How rows are named: counted from 1 in a unit (``Day 3``), or by a CSV column's text.

    ``unit`` is the unit (``day``, ``step``) or, with ``labels``, the column's name;
    ``labels`` holds that column's text, one per row of the data.
    """

    unit: str = "step"
    labels: tuple[str, ...] | None = None

    @property
    def heading(self) -> str:
        """A table column's or an axis' title: ``Day``; a time column's own name."""
        return self.unit if self.labels is not None else self.unit.capitalize()

    @property
    def plural(self) -> str:
        """``Days``; a time column's own name."""
        return self.unit if self.labels is not None else self.heading + "s"

    def cell(self, row: int) -> str:
        """Row ``row`` in a table cell or on an axis: ``3`` (row 2), or the column's text."""
        return self.labels[row] if self.labels is not None else str(row + 1)

    def at(self, row: int) -> str:
        """``Day 3`` for row 2; the column's text (``2024-03-01 05:00``) with a time column."""
        if self.labels is not None:
            return self.labels[row]
        return f"{self.heading} {self.cell(row)}"

    def span(self, first: int, last: int) -> str:
        """``Days 1-2``, ``Day 5`` (one row), ``1871 to 1880`` (a time column)."""
        if first == last:
            return self.at(first)
        if self.labels is not None:
            return f"{self.cell(first)} to {self.cell(last)}"
        return f"{self.plural} {self.cell(first)}-{self.cell(last)}"

    @cached_property
    def numeric(self) -> bool:
        """Whether every label reads as a number (years): plots place rows by it."""
        if self.labels is None:
            return True
        try:
            [float(label) for label in self.labels]
        except ValueError:
            return False
        return True

    def x(self, row: int) -> float:
        """Where row ``row`` sits on a plot's time axis (its label when numeric)."""
        if self.labels is not None and self.numeric:
            return float(self.labels[row])
        return float(row + 1)


def time_axis(run: SpecRun) -> TimeAxis:
    """The spec's ``data.time``: its unit, or the labels its CSV column gave each row."""
    time = getattr(run.spec.data, "time", "step")  # the functional form counts steps
    if isinstance(time, TimeColumn):
        labels = run.dataset.time_labels
        return TimeAxis(unit=time.column, labels=labels)
    return TimeAxis(unit=time)


@dataclass(frozen=True)
class Detail:
    """How much of a run is shown step by step.

    ``windows``: the first windows shown step by step; ``steps``: the first steps of
    each shown in full (gates and states), the rest as one table row each.
    """

    windows: int
    steps: int
    total_windows: int
    total_steps: int

    @property
    def brief(self) -> bool:
        return self.windows < self.total_windows or self.steps < self.total_steps


def detail(run: SpecRun, *, windows: int | None = None, steps: int | None = None) -> Detail:
    """What is shown of ``run``: ``windows`` and ``steps`` as given (None: the default).

    By default a small spec is shown whole, a bigger one brief (see the module docstring).
    """
    batch, lookback = (int(n) for n in run.windows.x.shape[:2])
    directions = max(len(recurrent_views(run)), 1)
    small = batch <= FULL_WINDOWS and batch * lookback * directions <= FULL_STEPS
    shown_windows = (batch if small else 1) if windows is None else windows
    shown_steps = (lookback if small else BRIEF_STEPS) if steps is None else steps
    return Detail(
        windows=max(0, min(shown_windows, batch)),
        steps=max(0, min(shown_steps, lookback)),
        total_windows=batch,
        total_steps=lookback,
    )


@dataclass(frozen=True)
class RecurrentView:
    """One direction of one recurrent layer, with what it read, aligned to window days.

    ``inputs`` is ``(B, T, F)``, the sequence this layer received (in the order it
    received it); ``input_reversed`` says that index ``i`` of it holds window step
    ``T - 1 - i`` (after a ``go_backwards`` layer that returns sequences). ``mask`` is
    the ``(B, T)`` mask it received, or None. ``reads_features`` is true when the input
    is still the model's features (only ``Masking``/``Dropout``-like layers before it);
    otherwise ``source`` names the layer whose output it reads.
    """

    layer: str
    class_name: str
    direction: str
    spec: RecurrentLayer
    trace: RecurrentTrace
    inputs: Array
    input_reversed: bool
    mask: NDArray[np.bool_] | None
    reads_features: bool
    source: str | None

    @property
    def kind(self) -> str:
        return self.spec.cell.kind

    @property
    def trace_steps(self) -> int:
        """Number of steps this direction processed per window."""
        return int(self.trace.outputs.shape[1])

    @property
    def title(self) -> str:
        """``layer 'gru' (GRU)`` or ``layer 'bidirectional' (Bidirectional(GRU)), backward``."""
        direction = (
            "" if self.direction == "forward" and not self._wrapped else f", {self.direction}"
        )
        return f"layer '{self.layer}' ({self.class_name}){direction}"

    @property
    def _wrapped(self) -> bool:
        return self.class_name.startswith("Bidirectional")

    def input_index(self, step: int) -> int:
        """Index into ``inputs`` read at processing ``step``."""
        steps = self.inputs.shape[1]
        return steps - 1 - step if self.spec.go_backwards else step

    def window_step(self, step: int) -> int:
        """Position in the window (0 = its first day) of what processing ``step`` reads."""
        index = self.input_index(step)
        return self.inputs.shape[1] - 1 - index if self.input_reversed else index

    def previous_state(self, name: str, row: int, step: int) -> Array:
        """The state ``name`` (``hidden``/``cell``) this direction starts ``step`` from."""
        if step > 0:
            return np.asarray(self.trace.traces[name][row, step - 1], dtype=np.float64)
        final = np.asarray(self.trace.final_states[name], dtype=np.float64)
        if self.spec.stateful and row > 0:
            return np.array(final[row - 1], dtype=np.float64)
        return np.zeros_like(final[row])


def recurrent_views(run: SpecRun) -> list[RecurrentView]:
    """Every direction of every recurrent layer of the run, in chain order."""
    parity = run.parity
    views: list[RecurrentView] = []
    current: Any = parity.inputs
    mask: NDArray[np.bool_] | None = None
    reversed_input = False
    reads_features = True
    source: str | None = None
    for spec, result in zip(parity.layers, parity.reference, strict=True):
        class_name = parity.layer_classes.get(spec.name, type(spec).__name__)
        for direction, direction_spec in recurrent_directions(spec):
            views.append(
                RecurrentView(
                    layer=spec.name,
                    class_name=class_name,
                    direction=direction,
                    spec=direction_spec,
                    trace=result.directions[direction],
                    inputs=np.asarray(current),
                    input_reversed=reversed_input,
                    mask=mask,
                    reads_features=reads_features,
                    source=source,
                )
            )
        if isinstance(spec, RecurrentLayer) and spec.go_backwards and spec.return_sequences:
            # Keras returns the sequence in processing order: the next layer reads it reversed.
            reversed_input = not reversed_input
        if not isinstance(spec, MaskingLayer | IdentityLayer):
            reads_features = False
            source = spec.name
        current = result.output
        mask = result.mask
    return views


# ------------------------------------------------------------------------ formatting


def _number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    # -0.000000 says nothing more than 0.000000 and differs between platforms
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def format_vector(values: Any, decimals: int = DECIMALS) -> str:
    """``[ 0.123456 -0.654321]``: fixed decimals, aligned, at most 8 values per line."""
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    texts = [_number(float(v), decimals) for v in array]
    width = max((len(t) for t in texts), default=0)
    padded = [t.rjust(width) for t in texts]
    lines = [
        " ".join(padded[i : i + VALUES_PER_LINE]) for i in range(0, len(padded), VALUES_PER_LINE)
    ]
    return "[" + "\n ".join(lines) + "]"


def _format_matrix(values: Any, decimals: int = DECIMALS) -> str:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim < 2:
        return format_vector(array, decimals)
    texts = [[_number(float(v), decimals) for v in row] for row in array]
    width = max(len(t) for row in texts for t in row)
    return "\n".join("[" + " ".join(t.rjust(width) for t in row) + "]" for row in texts)


def _grid(rows: Sequence[Sequence[str]], headers: Sequence[str], align: Sequence[str]) -> str:
    """The notebook's grid table; above :data:`GRID_ROWS` rows, without rules between rows."""
    # imported here: tabulate is the optional 'report' extra, and the plots share this module
    from tabulate import tabulate

    text: str = tabulate(
        [list(row) for row in rows],
        headers=list(headers),
        tablefmt="grid" if len(rows) <= GRID_ROWS else "outline",
        disable_numparse=True,
        colalign=list(align),
    )
    return text


def _shape(shape: Sequence[Any]) -> str:
    parts = ["None" if n is None else str(int(n)) for n in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _title(text: str) -> list[str]:
    return [RULE, text, RULE]


# -------------------------------------------------------------------------- sections


def weights_text(spec: Spec) -> str:
    """Where the weights come from: ``seeded (seed 42)``, ``keras (seed 0)``, ``from the
    model file models/m.keras`` (a ``{path:}`` model without ``weights:``), ``from the
    weights file w.weights.h5``."""
    if not isinstance(spec.weights, str):
        return f"from the weights file {spec.weights.declared}"
    if isinstance(spec.model, SavedModel) and spec.weights == "keras":
        return f"from the model file {spec.model.declared}"
    return f"{spec.weights} (seed {spec.seed})"


def header_section(run: SpecRun) -> str:
    """What was run: the spec, the data, the windows, the weights."""
    spec, dataset, windows = run.spec, run.dataset, run.windows
    batch, lookback, features = windows.x.shape
    weights = weights_text(spec)
    description = f": {spec.description}" if spec.description else ""
    lines = [
        *_title(f"EXPLAIN {spec.id}{description}"),
        f"Spec:    {spec.display_path}",
        f"Data:    {dataset.rows} rows x {features} features "
        f"({', '.join(dataset.feature_names)}); target {dataset.target_name}; "
        f"scale {dataset.scale}",
        f"Windows: {_shape(windows.x.shape)} = {batch} windows of lookback {lookback}, "
        "each predicting the row after it",
        f"Weights: {weights}; dtype {spec.dtype}"
        + ("; stateful: each window starts from the previous one's state" if spec.stateful else ""),
        RULE,
    ]
    return "\n".join(lines)


def _output_shape(layer: Any) -> str:
    try:
        output = layer.output
    except (AttributeError, ValueError):  # a layer never called has no output
        return "?"
    outputs = output if isinstance(output, list | tuple) else [output]
    return ", ".join(_shape(tuple(o.shape)) for o in outputs)


def model_section(run: SpecRun) -> str:
    """The model summary: each layer's name, class, output shape and parameter count."""
    model = run.model
    classes = run.parity.layer_classes
    rows = []
    total = 0
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        params = int(layer.count_params())
        total += params
        name = f"{layer.name} ({classes.get(layer.name, type(layer).__name__)})"
        rows.append([name, _output_shape(layer), f"{params:,}"])
    table = _grid(rows, ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"])
    input_shape = _shape(tuple(model.inputs[0].shape))
    lines = [
        "Model Architecture:",
        f"Input: {input_shape} (batch, lookback, features)",
        table,
        f"Total params: {total:,}",
    ]
    return "\n".join(lines)


def _equations(layer: RecurrentLayer) -> list[str]:
    cell = layer.cell
    act = cell.activation or "linear"
    rec = cell.recurrent_activation or "linear"
    bias = cell.use_bias
    if cell.kind == "gru":
        if cell.reset_after:
            b = (" + b_xz + h_tm1 U_z + b_hz", " + b_xr + h_tm1 U_r + b_hr", " + b_xh")
            inner = "(h_tm1 U_h + b_hh)" if bias else "(h_tm1 U_h)"
            if not bias:
                b = (" + h_tm1 U_z", " + h_tm1 U_r", "")
            candidate = f"  hh_t = {act}(x_t W_h{b[2]} + r_t * {inner})"
            rule = "reset_after=True: the reset gate multiplies h_tm1 U_h + b_hh"
        else:
            extra = (" + b_z", " + b_r", " + b_h") if bias else ("", "", "")
            b = (f"{extra[0]} + h_tm1 U_z", f"{extra[1]} + h_tm1 U_r", extra[2])
            candidate = f"  hh_t = {act}(x_t W_h{b[2]} + (r_t * h_tm1) U_h)"
            rule = "reset_after=False: the reset gate multiplies h_tm1 before U_h"
        return [
            f"Equations (Keras GRUCell, {rule}):",
            f"  z_t  = {rec}(x_t W_z{b[0]})",
            f"  r_t  = {rec}(x_t W_r{b[1]})",
            candidate,
            "  h_t  = z_t * h_tm1 + (1 - z_t) * hh_t",
        ]
    if cell.kind == "lstm":
        terms = {g: f"x_t W_{g} + h_tm1 U_{g}" + (f" + b_{g}" if bias else "") for g in "ifco"}
        return [
            "Equations (Keras LSTMCell):",
            f"  i_t = {rec}({terms['i']})",
            f"  f_t = {rec}({terms['f']})",
            f"  g_t = {act}({terms['c']})",
            f"  o_t = {rec}({terms['o']})",
            "  c_t = f_t * c_tm1 + i_t * g_t",
            f"  h_t = o_t * {act}(c_t)",
        ]
    return [
        "Equation (Keras SimpleRNNCell):",
        f"  h_t = {act}(x_t W" + (" + b" if bias else "") + " + h_tm1 U)",
    ]


def _weight_rows(weights: CellWeights) -> list[tuple[str, Array]]:
    rows: list[tuple[str, Array]] = []
    recurrent_bias = weights.recurrent_bias
    for gate in GATES[weights.kind]:
        suffix = "" if weights.kind == "simple_rnn" else f"_{gate}"
        rows.append((f"W{suffix}", weights.kernel[gate]))
        rows.append((f"U{suffix}", weights.recurrent_kernel[gate]))
        if weights.input_bias is not None:
            name = f"b_x{gate}" if recurrent_bias is not None else f"b{suffix}"
            rows.append((name, weights.input_bias[gate]))
        if recurrent_bias is not None:
            rows.append((f"b_h{gate}", recurrent_bias[gate]))
    return rows


def _keras_layout(weights: CellWeights) -> str:
    gates = len(GATES[weights.kind])
    width = gates * weights.units
    parts = [
        f"kernel {_shape((weights.features, width))}",
        f"recurrent_kernel {_shape((weights.units, width))}",
    ]
    if weights.recurrent_bias is not None:
        parts.append(f"bias {_shape((2, width))} (row 0 is b_x, row 1 is b_h)")
    elif weights.input_bias is not None:
        parts.append(f"bias {_shape((width,))}")
    order = ", ".join(GATES[weights.kind])
    return f"Keras stores the gates side by side (order {order}):\n  " + ", ".join(parts)


def _values_table(rows: Sequence[tuple[str, Array]]) -> str:
    largest = max(int(np.size(array)) for _, array in rows)
    if largest > MAX_SHOWN_WEIGHTS:
        return (
            f"(values not shown: up to {largest} per array; "
            f"they are shown when there are at most {MAX_SHOWN_WEIGHTS})"
        )
    table = [[name, _shape(np.shape(array)), _format_matrix(array)] for name, array in rows]
    return _grid(table, ["Weight", "Shape", "Values"], ["left", "left", "left"])


def weights_section(run: SpecRun) -> str:
    """Per recurrent layer and direction: per-gate weight shapes, values, equations; heads."""
    blocks: list[str] = []
    for view in recurrent_views(run):
        weights = view.spec.weights
        kind = weights.kind
        cell_class = CELL_CLASSES[kind]
        has_recurrent_bias = weights.recurrent_bias is not None
        shape_rows = []
        for gate in GATES[kind]:
            row = [
                f"{GATE_NAMES[kind][gate]} ({gate})",
                _shape(weights.kernel[gate].shape),
                _shape(weights.recurrent_kernel[gate].shape),
                "-" if weights.input_bias is None else _shape(weights.input_bias[gate].shape),
            ]
            if has_recurrent_bias:
                row.append(_shape(weights.recurrent_bias[gate].shape))  # type: ignore[index]
            shape_rows.append(row)
        headers = ["Gate", "Input kernel W", "Recurrent kernel U", "Input bias b_x"]
        if has_recurrent_bias:
            headers.append("Recurrent bias b_h")
        blocks.append(
            "\n".join(
                [
                    WEIGHTS_RULE,
                    f"Extracted {cell_class} weights: {view.title}".center(62).rstrip(),
                    WEIGHTS_RULE,
                    _grid(shape_rows, headers, ["left"] * len(headers)),
                    _keras_layout(weights),
                    *_equations(view.spec),
                    _values_table(_weight_rows(weights)),
                ]
            )
        )
    for spec in run.parity.layers:
        if isinstance(spec, DenseLayer):
            rows: list[tuple[str, Array]] = [("W", spec.kernel)]
            if spec.bias is not None:
                rows.append(("b", spec.bias))
            activation = spec.activation or "linear"
            equation = f"y = {activation}(x W" + (" + b" if spec.bias is not None else "") + ")"
            wrapper = "TimeDistributed(Dense)" if spec.time_distributed else "Dense"
            blocks.append(
                "\n".join(
                    [
                        f"{wrapper} layer '{spec.name}': {equation}",
                        _values_table(rows),
                    ]
                )
            )
    return "\n\n".join(blocks)


def prediction_values(run: SpecRun) -> tuple[Array, Array] | None:
    """Reference and Keras predictions ``(B,)`` when the model gives one value per window."""
    reference = run.parity.reference[-1].output
    keras = run.parity.keras[-1].output
    if isinstance(reference, tuple) or isinstance(keras, tuple):
        return None
    batch = run.windows.x.shape[0]
    if int(np.size(reference)) != batch or np.shape(reference)[0] != batch:
        return None
    return (
        np.asarray(reference, dtype=np.float64).reshape(batch),
        np.asarray(keras, dtype=np.float64).reshape(batch),
    )


def actual_targets(run: SpecRun) -> tuple[Array, Array]:
    """Scaled and original target of each window's next row, ``(B,)`` each."""
    rows = run.windows.start_rows + run.spec.lookback
    return run.dataset.target[rows], run.dataset.target_raw[rows]


def _unit_decimals(run: SpecRun) -> int:
    # scaled values get 4 decimals like the notebook; original units 2, unless unscaled
    return 2 if run.dataset.scale in SCALED_NAMES else 4


def _input_table(run: SpecRun, view: RecurrentView, row: int, step: int) -> list[str]:
    index = view.input_index(step)
    if view.reads_features:
        day_row = int(run.windows.start_rows[row]) + view.window_step(step)
        raw = run.dataset.features_raw[day_row]
        scaled = view.inputs[row, index]
        scaled_name = SCALED_NAMES.get(run.dataset.scale)
        rows = []
        for name, raw_value, scaled_value in zip(
            run.dataset.feature_names, raw, scaled, strict=True
        ):
            cells = [name, f"{float(raw_value):.6g}"]
            if scaled_name:
                cells.append(_number(float(scaled_value), 4))
            rows.append(cells)
        headers = ["Feature", "Value"] + ([scaled_name.capitalize()] if scaled_name else [])
        lines = ["Input Features:", _grid(rows, headers, ["left"] + ["right"] * (len(headers) - 1))]
    else:
        lines = [
            f"Input (output of layer '{view.source}'):",
            _grid(
                [["x_t", format_vector(view.inputs[row, index])]], ["Input", "Values"], ["left"] * 2
            ),
        ]
    if view.mask is not None and not bool(view.mask[row, index]):
        lines += [
            "Masked step: Keras computes the gates below, then discards them;",
            "the state is carried over unchanged.",
        ]
    return lines


def _step_row(run: SpecRun, view: RecurrentView, row: int, step: int) -> int:
    """The data row that processing ``step`` of window ``row`` reads."""
    return int(run.windows.start_rows[row]) + view.window_step(step)


def _step_lines(
    run: SpecRun, view: RecurrentView, row: int, step: int, axis: TimeAxis
) -> list[str]:
    when = axis.at(_step_row(run, view, row, step))
    lines = [f"--- Time step {step + 1} ({when}), {view.title} ---"]
    lines += _input_table(run, view, row, step)
    gates = [
        [label, format_vector(view.trace.traces[name][row, step])]
        for name, label in TRACE_LABELS[view.kind].items()
    ]
    if gates:
        lines += ["", "Gate Values:", _grid(gates, ["Gate", "Values"], ["left", "left"])]
    states = []
    for name in STATE_NAMES[view.kind]:
        label, symbol = STATE_LABELS[name]
        previous = view.previous_state(name, row, step)
        new = view.trace.traces[name][row, step]
        change = np.asarray(new, dtype=np.float64) - np.asarray(previous, dtype=np.float64)
        states += [
            [f"Previous {label} ({symbol}_tm1)", format_vector(previous)],
            [f"New {label} ({symbol}_t)", format_vector(new)],
            [f"Change in {label}", format_vector(change)],
        ]
    lines += ["", "State Updates:", _grid(states, ["State", "Values"], ["left", "left"])]
    return lines


def _norm(values: Any) -> float:
    return float(np.linalg.norm(np.asarray(values, dtype=np.float64)))


def _rest_of_steps(
    run: SpecRun, view: RecurrentView, row: int, first: int, axis: TimeAxis
) -> list[str]:
    """One table row per step from ``first`` on: each gate's mean, each state's norm."""
    symbols = TRACE_SYMBOLS[view.kind]
    states = STATE_NAMES[view.kind]
    headers = ["Time step", axis.heading]
    headers += [f"mean {symbol}" for symbol in symbols.values()]
    headers += [f"|{STATE_LABELS[name][1]}_t|" for name in states]
    headers.append("max |h_t - h_tm1|")
    masked = view.mask is not None
    if masked:
        headers.append("masked")
    table = []
    for step in range(first, view.trace_steps):
        cells = [str(step + 1), axis.cell(_step_row(run, view, row, step))]
        cells += [
            _number(float(np.mean(view.trace.traces[name][row, step])), 4) for name in symbols
        ]
        cells += [_number(_norm(view.trace.traces[name][row, step]), 4) for name in states]
        change = np.asarray(view.trace.traces["hidden"][row, step], dtype=np.float64)
        change = change - view.previous_state("hidden", row, step)
        cells.append(_number(float(np.max(np.abs(change))), 4))
        if view.mask is not None:
            cells.append("yes" if not bool(view.mask[row, view.input_index(step)]) else "")
        table.append(cells)
    last = view.trace_steps
    span = f"Step {first + 1}" if first + 1 == last else f"Steps {first + 1}-{last}"
    align = ["right"] * len(headers)
    if not axis.numeric:
        align[1] = "left"
    return [
        f"{span} of {view.title} (--steps N shows them in full):",
        "(mean: of the gate over the units; |h_t|: the L2 norm of the state)",
        _grid(table, headers, align),
    ]


def _first_output(output: Array | tuple[Array, Array]) -> Array:
    """The model's output; the forward one of a ``Bidirectional(merge_mode=None)`` pair."""
    return np.asarray(output[0] if isinstance(output, tuple) else output)


def _prediction_lines(run: SpecRun, row: int, axis: TimeAxis) -> list[str]:
    target_row = int(run.windows.start_rows[row]) + run.spec.lookback
    predictions = prediction_values(run)
    if predictions is None:
        reference = _first_output(run.parity.reference[-1].output)[row]
        keras = _first_output(run.parity.keras[-1].output)[row]
        table = [
            ["Model output (reference)", _format_matrix(reference)],
            ["Model output (Keras)", _format_matrix(keras)],
        ]
        return [
            f"--- Model output for the window (shape {_shape(reference.shape)}) ---",
            _grid(table, ["Output", "Values"], ["left", "left"]),
        ]
    predicted = float(predictions[0][row])
    scaled_actual, raw_actual = actual_targets(run)
    actual = float(scaled_actual[row])
    target = run.dataset.target_name
    original_pred = float(run.dataset.inverse_target(predicted))
    original_actual = float(raw_actual[row])
    decimals = _unit_decimals(run)
    scaled_name = SCALED_NAMES.get(run.dataset.scale)
    table = []
    if scaled_name:
        table += [
            [f"Predicted {target} ({scaled_name})", _number(predicted, 4)],
            [f"Actual {target} ({scaled_name})", _number(actual, 4)],
            [f"Prediction Error ({scaled_name})", _number(predicted - actual, 4)],
        ]
    table += [
        [f"Predicted {target}", _number(original_pred, decimals)],
        [f"Actual {target}", _number(original_actual, decimals)],
        [f"Prediction Error ({target})", _number(original_pred - original_actual, decimals)],
    ]
    return [
        f"--- Prediction for {axis.at(target_row)} ---",
        _grid(table, ["Metric", "Value"], ["left", "right"]),
    ]


def _final_state_lines(
    run: SpecRun, views: Sequence[RecurrentView], row: int, last: bool
) -> list[str]:
    table = []
    several = len(views) > 1
    for view in views:
        for name in STATE_NAMES[view.kind]:
            label, symbol = STATE_LABELS[name]
            where = f", {view.title}" if several else ""
            table.append(
                [f"{label} ({symbol}_t){where}", format_vector(view.trace.final_states[name][row])]
            )
    lines = [
        f"Final state after window {row + 1}:",
        _grid(table, ["State", "Values"], ["left", "left"]),
    ]
    if not last:
        if any(view.spec.stateful for view in views):
            lines.append("-> Stateful model: this state is the next window's initial state.")
        else:
            lines.append("-> Stateless model: the next window starts again from a zero state.")
    return lines


def _shown_note(shown: Detail) -> str | None:
    """``(showing 1 of 376 windows, ...)`` when the text leaves something out."""
    if not shown.brief:
        return None
    windows = f"{shown.windows} of {shown.total_windows} windows"
    if shown.steps >= shown.total_steps:
        return f"(showing {windows}; --windows N shows more)"
    steps = f"{shown.steps} of {shown.total_steps} steps in full"
    return f"(showing {windows}, {steps}; --windows N and --steps N show more)"


def forward_section(run: SpecRun, *, windows: int | None = None, steps: int | None = None) -> str:
    """Window by window, step by step: inputs, gates, states, then the prediction."""
    views = recurrent_views(run)
    axis = time_axis(run)
    shown = detail(run, windows=windows, steps=steps)
    batch, lookback = run.windows.x.shape[:2]
    predicts = prediction_values(run) is not None
    lines = _title(f"FORWARD PASS, STEP BY STEP ({run.spec.dtype} reference, agrees with Keras)")
    note = _shown_note(shown)
    if note:
        lines.append(note)
    for row in range(shown.windows):
        start = int(run.windows.start_rows[row])
        target = f" -> predicting {axis.at(start + lookback)}" if predicts else ""
        span = axis.span(start, start + lookback - 1)
        lines += ["", f"{'=' * 30} WINDOW {row + 1} {'=' * 30}", span + target]
        for view in views:
            for step in range(min(shown.steps, view.trace_steps)):
                lines += ["", *_step_lines(run, view, row, step, axis)]
            if shown.steps < view.trace_steps:
                lines += ["", *_rest_of_steps(run, view, row, shown.steps, axis)]
        lines += ["", *_prediction_lines(run, row, axis)]
        if views:
            lines += ["", *_final_state_lines(run, views, row, last=row == batch - 1)]
    return "\n".join(lines)


def comparison_section(run: SpecRun) -> str:
    """Every window: reference vs Keras vs actual, scaled and in the target's units."""
    lines = _title("COMPARISON WITH KERAS MODEL PREDICTIONS")
    predictions = prediction_values(run)
    axis = time_axis(run)
    lookback = run.spec.lookback
    targets = [int(start) + lookback for start in run.windows.start_rows]
    if predictions is None:
        reference_array = _first_output(run.parity.reference[-1].output)
        keras_array = _first_output(run.parity.keras[-1].output)
        lines.append(
            f"The model's output has shape {_shape(reference_array.shape)}, not one value per "
            "window: it is compared with Keras, not with the target."
        )
        table = []
        for row, start in enumerate(run.windows.start_rows):
            difference = np.abs(
                reference_array[row].astype(np.float64) - keras_array[row].astype(np.float64)
            )
            span = axis.span(int(start), int(start) + lookback - 1)
            table.append([str(row + 1), span, f"{float(difference.max()):.1e}"])
        headers = ["Window", axis.plural, "max |Ref - Keras|"]
        lines.append(_grid(table, headers, ["right", "left", "right"]))
        return "\n".join(lines)
    reference, keras = predictions
    scaled_actual, raw_actual = actual_targets(run)
    target = run.dataset.target_name
    scaled_name = SCALED_NAMES.get(run.dataset.scale)
    decimals = _unit_decimals(run)
    reference_units = run.dataset.inverse_target(reference)
    keras_units = run.dataset.inverse_target(keras)
    headers = [axis.heading]
    if scaled_name:
        headers += ["Ref (norm)", "Keras (norm)", "Actual (norm)"]
    headers += [f"Ref ({target})", f"Keras ({target})", f"Actual ({target})"]
    headers.append("|Ref - Keras|")
    table = []
    for row, target_row in enumerate(targets):
        cells = [axis.cell(target_row)]
        if scaled_name:
            cells += [
                _number(reference[row], 4),
                _number(keras[row], 4),
                _number(float(scaled_actual[row]), 4),
            ]
        cells += [
            _number(float(reference_units[row]), decimals),
            _number(float(keras_units[row]), decimals),
            _number(float(raw_actual[row]), decimals),
            f"{abs(reference[row] - keras[row]):.1e}",
        ]
        table.append(cells)
    if scaled_name and scaled_name != "normalized":
        lines.append(f"(norm: the {scaled_name} target the model predicts)")
    align = ["right"] * len(headers)
    if not axis.numeric:
        align[0] = "left"
    lines.append(_grid(table, headers, align))
    return "\n".join(lines)


def verdict_section(run: SpecRun) -> str:
    """Whether Keras computes what the equations say, with the largest error per check."""
    parity = run.parity
    lines = _title("PARITY VERDICT")
    if parity.ok:
        first, *rest = checked_lines(parity)
        lines += [
            f"OK: {first}",
            *rest,
            "",
            *error_table(parity.comparisons, parity.layer_classes, layers=parity.layers),
        ]
    else:
        lines += ["FAIL: " + parity_message(parity)]
    return "\n".join(lines)


def explain_text(run: SpecRun, *, windows: int | None = None, steps: int | None = None) -> str:
    """The whole explanation, sections separated by blank lines, ending with a newline.

    ``windows`` and ``steps`` widen (or narrow) what is shown step by step; None: the
    default of :func:`detail` (a small spec whole, a bigger one brief).
    """
    sections = [
        header_section(run),
        model_section(run),
        weights_section(run),
        forward_section(run, windows=windows, steps=steps),
        comparison_section(run),
        verdict_section(run),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"
