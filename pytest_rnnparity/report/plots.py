"""PNG figures: the notebook's plots for ``rnnparity explain --plots``, and what a failed
parity check looks like for ``pytest --rnn-parity --rnn-parity-plots``.

matplotlib is the optional ``report`` extra, so it is imported inside the functions.
Only its object-oriented API is used, on the Agg canvas: no pyplot state, no GUI
backend, safe in a test process.

* :func:`explain_plots` writes ``hidden_norm.png`` (the norm of the hidden state at
  every step of every window, the notebook's first plot), ``predictions.png``
  (reference vs Keras vs actual in the target's units, its second) and one
  ``gates_<layer>[_<direction>].png`` per recurrent layer direction (a heatmap of each
  gate and state over time x units).
* :func:`failure_pictures` draws, for each failed comparison, a heatmap of the
  reference (expected), Keras (actual) and their difference, and
  ``error_over_time.png``: the largest error at each timestep of every per-step
  check. Keras exposes the states of a recurrent layer at every step, not its gates,
  so the error over time is per layer direction (hidden state), and the gate
  heatmaps of :func:`explain_plots` show what the reference computed inside.
  :func:`failure_plots` writes them (``--rnn-parity-plots``); the HTML report of
  pytest-html embeds the same bytes.
* :func:`drift_pictures` draws, for each block of a golden that moved, the recorded
  values, those of now and their difference.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pytest_rnnparity.check.compare import Comparison
from pytest_rnnparity.check.parity import ParityResult
from pytest_rnnparity.check.spec_run import SpecRun
from pytest_rnnparity.golden.drift import Drift
from pytest_rnnparity.golden.format import Golden
from pytest_rnnparity.reference.types import TRACE_NAMES, Array
from pytest_rnnparity.report.explain import (
    PLOT_WINDOWS,
    RecurrentView,
    TimeAxis,
    actual_targets,
    prediction_values,
    recurrent_views,
    time_axis,
)

__all__ = [
    "Picture",
    "compared_arrays",
    "drift_pictures",
    "explain_plots",
    "failure_pictures",
    "failure_plots",
    "safe_name",
    "write_pictures",
]

DPI = 110
#: Below this many columns, every step of a heatmap gets a tick labelled with its time.
MAX_LABELLED_STEPS = 48
#: At most this many ticks on a time axis labelled with a time column's text.
MAX_TEXT_TICKS = 8
#: Errors of exactly zero are drawn at this value on the logarithmic axis.
ERROR_FLOOR = 1e-10
TRACE_TITLES = {
    "update": "update gate z",
    "reset": "reset gate r",
    "input": "input gate i",
    "forget": "forget gate f",
    "output": "output gate o",
    "cell": "cell state c",
    "hidden": "hidden state h",
}
CANDIDATE_TITLES = {"gru": "candidate hh", "lstm": "candidate g", "simple_rnn": "candidate"}


def safe_name(text: str) -> str:
    """``bidirectional-gru[merge_mode=sum]`` -> ``bidirectional-gru_merge_mode-sum``."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text.replace("=", "-")).strip("_")
    return cleaned or "plot"


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


@dataclass(frozen=True)
class Picture:
    """A drawn figure: its file name (``gru_hidden.png``), what it shows, its PNG bytes."""

    name: str
    title: str
    png: bytes


def _picture(figure: Any, name: str, title: str) -> Picture:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return Picture(name=name, title=title, png=buffer.getvalue())


def write_pictures(pictures: Sequence[Picture], directory: Path) -> list[Path]:
    """Write each picture as ``directory/<name>``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for picture in pictures:
        path = directory / picture.name
        path.write_bytes(picture.png)
        written.append(path)
    return written


def _view_suffix(view: RecurrentView) -> str:
    wrapped = view.class_name.startswith("Bidirectional")
    return safe_name(view.layer + (f"_{view.direction}" if wrapped else ""))


def _window_rows(run: SpecRun, view: RecurrentView, row: int) -> list[int]:
    """The data row each processing step of window ``row`` reads."""
    start = int(run.windows.start_rows[row])
    return [start + view.window_step(step) for step in range(view.trace_steps)]


def _time_ticks(ax: Any, axis: TimeAxis, rows: Sequence[int]) -> None:
    """Integer ticks for counted rows; a time column's text at a few of them otherwise."""
    from matplotlib.ticker import MaxNLocator

    if axis.numeric:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        return
    ordered = sorted(set(rows))
    every = max(1, -(-len(ordered) // MAX_TEXT_TICKS))
    ticks = ordered[::every]
    ax.set_xticks([axis.x(row) for row in ticks], [axis.cell(row) for row in ticks])
    ax.tick_params(axis="x", labelrotation=30)


# --------------------------------------------------------------------------- explain


def hidden_norm_plot(run: SpecRun, path: Path, *, windows: int) -> Path:
    """The L2 norm of the hidden state after every step, one line per window."""
    views = recurrent_views(run)
    axis = time_axis(run)
    shown = min(windows, run.windows.x.shape[0])
    figure = _figure(11, 1.0 + 3.2 * max(len(views), 1))
    axes = figure.subplots(max(len(views), 1), 1, squeeze=False)[:, 0]
    colors = _colors(shown)
    for ax, view in zip(axes, views, strict=False):
        hidden = np.asarray(view.trace.traces["hidden"], dtype=np.float64)
        read: list[int] = []
        for row in range(shown):
            norms = np.linalg.norm(hidden[row], axis=-1)
            start = int(run.windows.start_rows[row])
            label = f"window {row + 1}: {axis.span(start, start + run.spec.lookback - 1)}"
            rows = _window_rows(run, view, row)
            read += rows
            ax.plot(
                [axis.x(r) for r in rows],
                norms,
                "s-",
                color=colors[row],
                label=label,
                markersize=4,
            )
        ax.set_title(f"Hidden-state norm over time, {view.title}")
        ax.set_xlabel(axis.heading)
        ax.set_ylabel("‖h_t‖ (L2 norm)")
        _time_ticks(ax, axis, read)
        ax.grid(True, alpha=0.3)
        if shown <= 12:
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    reset = "carried from window to window" if run.spec.stateful else "zero at each window's start"
    figure.suptitle(f"{run.spec.id}: hidden state after every step (state {reset})")
    return _save(figure, path)


def predictions_plot(run: SpecRun, path: Path) -> Path | None:
    """Reference vs Keras vs actual in the target's own units; None if not one per window."""
    predictions = prediction_values(run)
    if predictions is None:
        return None
    reference, keras = predictions
    dataset = run.dataset
    axis = time_axis(run)
    rows = [int(start) + run.spec.lookback for start in run.windows.start_rows]
    days = [axis.x(row) for row in rows]
    figure = _figure(11, 5.5)
    ax = figure.subplots()
    # the reference is drawn larger: where Keras agrees, it sits on top of it
    ax.plot(
        days,
        dataset.inverse_target(reference),
        "o-",
        label="Reference (NumPy)",
        linewidth=3,
        markersize=9,
    )
    ax.plot(days, dataset.inverse_target(keras), "s--", label="Keras", linewidth=2, markersize=5)
    ax.plot(days, actual_targets(run)[1], "D-.", label="Actual", linewidth=2)
    ax.set_xlabel(f"{axis.heading} predicted")
    ax.set_ylabel(f"{dataset.target_name} (original units)")
    ax.set_title(f"{run.spec.id}: predictions vs actual values")
    ax.grid(True, alpha=0.3)
    ax.legend()
    if len(days) <= 40 and axis.numeric:
        ax.set_xticks(days)
    else:
        _time_ticks(ax, axis, rows)
    return _save(figure, path)


def gates_plot(run: SpecRun, view: RecurrentView, path: Path, *, windows: int) -> Path:
    """One heatmap per gate and state: units (rows) x every step of the shown windows."""
    axis = time_axis(run)
    shown = min(windows, run.windows.x.shape[0])
    names = [name for name in TRACE_NAMES[view.kind] if name in view.trace.traces]
    steps = view.trace_steps
    units = view.spec.cell.units
    panel_height = 0.9 + min(units, 32) * 0.12
    figure = _figure(11, 0.8 + panel_height * len(names))
    axes = figure.subplots(len(names), 1, squeeze=False, sharex=True)[:, 0]
    labels = [axis.cell(r) for row in range(shown) for r in _window_rows(run, view, row)]
    for ax, name in zip(axes, names, strict=True):
        trace = np.asarray(view.trace.traces[name][:shown], dtype=np.float64)
        data = trace.reshape(shown * steps, units).T
        low, high = float(np.nanmin(data)), float(np.nanmax(data))
        if low >= 0.0 and high <= 1.0:
            options = {"cmap": "viridis", "vmin": 0.0, "vmax": 1.0}
        else:
            limit = max(abs(low), abs(high), 1e-12)
            options = {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}
        image = ax.imshow(data, aspect="auto", interpolation="nearest", **options)
        figure.colorbar(image, ax=ax, pad=0.01)
        title = CANDIDATE_TITLES[view.kind] if name == "candidate" else TRACE_TITLES[name]
        ax.set_title(title, fontsize="medium")
        ax.set_ylabel("unit")
        if units <= 16:
            ax.set_yticks(range(units))
        for boundary in range(1, shown):
            ax.axvline(boundary * steps - 0.5, color="white", linewidth=2)
    last = axes[-1]
    if len(labels) <= MAX_LABELLED_STEPS:
        last.set_xticks(range(len(labels)), labels)
        last.set_xlabel(f"{axis.heading} read at each step (white lines separate windows)")
        if not axis.numeric:
            last.tick_params(axis="x", labelrotation=90)
    else:
        last.set_xticks([row * steps + (steps - 1) / 2 for row in range(shown)])
        last.set_xticklabels([str(row + 1) for row in range(shown)])
        last.set_xlabel(f"window ({steps} steps each, white lines separate windows)")
    last_first = f"last {axis.unit} first" if axis.labels is None else "last row first"
    order = f" (processing order: {last_first})" if view.spec.go_backwards else ""
    figure.suptitle(f"{run.spec.id}: gates and states over time, {view.title}{order}")
    return _save(figure, path)


def explain_plots(
    run: SpecRun, directory: Path, *, windows: int | None = PLOT_WINDOWS
) -> list[Path]:
    """Write the explain figures of the first ``windows`` windows (None: all) into
    ``directory``; returns the files written."""
    shown = run.windows.x.shape[0] if windows is None else max(1, windows)
    written = []
    views = recurrent_views(run)
    if views:
        written.append(hidden_norm_plot(run, directory / "hidden_norm.png", windows=shown))
    prediction = predictions_plot(run, directory / "predictions.png")
    if prediction is not None:
        written.append(prediction)
    for view in views:
        path = directory / f"gates_{_view_suffix(view)}.png"
        written.append(gates_plot(run, view, path, windows=shown))
    return written


def _colors(count: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(i / max(count - 1, 1) * 0.9) for i in range(count)]


# --------------------------------------------------------------------------- failures


def compared_arrays(result: ParityResult, comparison: Comparison) -> tuple[Array, Array]:
    """The reference (expected) and Keras (actual) arrays behind ``comparison``."""
    names = [layer.name for layer in result.reference]
    index = names.index(comparison.layer)
    reference, keras = result.reference[index], result.keras[index]
    direction = comparison.direction or "forward"
    if comparison.quantity == "hidden":
        return (
            reference.directions[direction].outputs,
            keras.directions[direction].sequence,
        )
    if comparison.quantity.startswith("final "):
        state = comparison.quantity.removeprefix("final ")
        return (
            reference.directions[direction].final_states[state],
            keras.directions[direction].final_states[state],
        )
    if isinstance(reference.output, tuple) and isinstance(keras.output, tuple):
        position = 0 if direction == "forward" else 1
        return reference.output[position], keras.output[position]
    return reference.output, keras.output  # type: ignore[return-value]


def _comparison_name(comparison: Comparison) -> str:
    parts = [comparison.layer, comparison.quantity]
    if comparison.direction not in (None, "forward"):
        parts.append(str(comparison.direction))
    return safe_name("_".join(parts).replace(" ", "_"))


def _side_by_side(
    expected: Any,
    actual: Any,
    first: Any,
    names: tuple[str, str, str],
    *,
    time_label: str = "timestep (processing order)",
) -> tuple[Any, str]:
    """Expected, actual and their difference as three heatmaps; the figure and ``row N``.

    A ``(rows, time, units)`` array shows the row of ``first`` (the first mismatch).
    """
    expected, actual = np.asarray(expected, np.float64), np.asarray(actual, np.float64)
    where = ""
    if expected.ndim == 3:
        row = first.index[0] if first is not None else 0
        expected, actual = expected[row].T, actual[row].T
        x_label, y_label = time_label, "unit"
        where = f"row {row}"
    elif expected.ndim == 2:
        x_label, y_label = "unit", "row"
    else:
        expected, actual = expected.reshape(1, -1), actual.reshape(1, -1)
        x_label, y_label = "value", ""
    difference = np.abs(actual - expected)
    figure = _figure(13, 1.6 + 0.14 * min(expected.shape[0], 48) + 1.2)
    axes = figure.subplots(1, 3)
    limit = max(float(np.nanmax(np.abs(expected))), float(np.nanmax(np.abs(actual))), 1e-12)
    panels = [
        (names[0], expected, {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}),
        (names[1], actual, {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}),
        (names[2], difference, {"cmap": "magma", "vmin": 0.0}),
    ]
    for ax, (title, data, options) in zip(axes, panels, strict=True):
        image = ax.imshow(data, aspect="auto", interpolation="nearest", **options)
        figure.colorbar(image, ax=ax, pad=0.01)
        ax.set_title(title)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
    return figure, where


def mismatch_picture(result: ParityResult, comparison: Comparison) -> Picture:
    """Reference, Keras and ``|Keras - reference|`` side by side for one failed check."""
    expected, actual = compared_arrays(result, comparison)
    figure, where = _side_by_side(
        expected,
        actual,
        comparison.first,
        ("reference (expected)", "Keras (actual)", "|Keras - reference|"),
    )
    detail = ", ".join(
        part
        for part in (
            where,
            f"tolerance {comparison.tolerance}",
            f"max abs error {comparison.max_abs:.2e}",
        )
        if part
    )
    title = f"layer '{comparison.layer}', {comparison.label}: {detail}"
    figure.suptitle(title)
    return _picture(figure, f"{_comparison_name(comparison)}.png", title)


def error_over_time_picture(result: ParityResult) -> Picture | None:
    """The largest error at each timestep of every per-step check (log scale)."""
    timed = [c for c in result.comparisons if "timestep" in c.axes and c.problem is None]
    if not timed:
        return None
    figure = _figure(11, 5.5)
    ax = figure.subplots()
    for comparison in timed:
        expected, actual = compared_arrays(result, comparison)
        error = np.abs(np.asarray(actual, np.float64) - np.asarray(expected, np.float64))
        time_axis = comparison.axes.index("timestep")
        other = tuple(axis for axis in range(error.ndim) if axis != time_axis)
        per_step = np.nanmax(error, axis=other)
        verdict = "ok" if comparison.ok else "FAIL"
        ax.semilogy(
            np.arange(per_step.size),
            np.maximum(per_step, ERROR_FLOOR),
            "o-" if not comparison.ok else ".--",
            label=f"{comparison.layer} {comparison.label} ({verdict})",
        )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    atols = sorted({c.tolerance.atol for c in timed})
    for atol in atols:
        if atol > 0:
            ax.axhline(atol, color="grey", linestyle=":", label=f"atol {atol:g}")
    ax.set_xlabel("timestep (processing order)")
    ax.set_ylabel("max |Keras - reference| over rows and units")
    title = (
        f"Largest error per timestep, per layer direction (errors of 0 drawn at {ERROR_FLOOR:g})"
    )
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return _picture(figure, "error_over_time.png", title)


def failure_pictures(result: ParityResult) -> list[Picture]:
    """The figures of a failed parity check: one per failed comparison, then the error
    over time."""
    pictures = [
        mismatch_picture(result, comparison)
        for comparison in result.failures
        if comparison.problem is None  # shapes differ: nothing to draw side by side
    ]
    timeline = error_over_time_picture(result)
    if timeline is not None:
        pictures.append(timeline)
    return pictures


def failure_plots(result: ParityResult, directory: Path) -> list[Path]:
    """Figures of a failed parity check in ``directory``; returns the files written."""
    return write_pictures(failure_pictures(result), directory)


def drift_pictures(recorded: Golden, current: Golden, drift: Drift) -> list[Picture]:
    """For each block of kept rows that moved: recorded, now and ``|now - recorded|``.

    Blocks whose shape changed, and summaries, are in the drift table only.
    """
    pictures = []
    for comparison in drift.comparisons:
        if comparison.ok or comparison.quantity != "rows" or comparison.problem is not None:
            continue
        name = comparison.layer
        old, new = recorded.arrays[name].rows, current.arrays[name].rows
        overlap = tuple(slice(0, min(a, b)) for a, b in zip(old.shape, new.shape, strict=True))
        figure, where = _side_by_side(
            old[overlap],
            new[overlap],
            comparison.first,
            ("recorded (golden)", "now", "|now - recorded|"),
            time_label="timestep",
        )
        detail = ", ".join(
            part
            for part in (
                where,
                f"tolerance {comparison.tolerance}",
                f"max abs change {comparison.max_abs:.2e}",
            )
            if part
        )
        title = f"golden drift of {name}: {detail}"
        figure.suptitle(title)
        pictures.append(_picture(figure, f"drift_{safe_name(name.replace('/', '_'))}.png", title))
    return pictures


def describe_paths(paths: Sequence[Path], root: Path) -> str:
    """``plots: a.png, b.png`` with paths relative to ``root`` when inside it."""
    shown = []
    for path in paths:
        try:
            shown.append(str(path.resolve().relative_to(root.resolve())))
        except ValueError:
            shown.append(str(path))
    return "plots: " + ", ".join(shown)
