"""report/explain.py: the notebook's step-by-step text, verbatim for the notebook spec."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pytest_rnnparity.check.spec_run import SpecRun
from pytest_rnnparity.reference.types import CellConfig, CellWeights, RecurrentLayer, RecurrentTrace
from pytest_rnnparity.report.explain import (
    RecurrentView,
    TimeAxis,
    detail,
    explain_text,
    format_vector,
)

from ..helpers import REPO as ROOT
from ..helpers import UNIT

EXPECTED = UNIT / "expected" / "explain_power_gru.txt"
REGENERATE = "python -m pytest_rnnparity explain specs/power_gru.yaml > " + str(
    EXPECTED.relative_to(ROOT)
)


# ------------------------------------------------------------------------ pure parts


def test_vectors_have_fixed_decimals_aligned_columns_and_no_negative_zero() -> None:
    assert format_vector([0.5, -0.25, -0.0000001, 1.0]) == (
        "[ 0.500000 -0.250000  0.000000  1.000000]"
    )
    assert format_vector([0.1234567, 0.5], decimals=2) == "[0.12 0.50]"


def test_long_vectors_wrap_every_eight_values() -> None:
    text = format_vector(np.arange(10) / 10, decimals=1)
    assert text == "[0.0 0.1 0.2 0.3 0.4 0.5 0.6 0.7\n 0.8 0.9]"


def test_rows_are_counted_from_one_in_the_unit_of_data_time() -> None:
    days = TimeAxis("day")
    assert (days.at(2), days.span(0, 1), days.span(4, 4)) == ("Day 3", "Days 1-2", "Day 5")
    assert (days.heading, days.plural, days.cell(2), days.x(2)) == ("Day", "Days", "3", 3.0)
    assert TimeAxis().span(0, 1) == "Steps 1-2"
    assert TimeAxis("time step").at(0) == "Time step 1"


def test_a_time_column_labels_each_row_with_its_text() -> None:
    hours = TimeAxis("timestamp", labels=("2024-03-01 00:00", "2024-03-01 01:00"))
    assert hours.at(1) == "2024-03-01 01:00"
    assert hours.span(0, 1) == "2024-03-01 00:00 to 2024-03-01 01:00"
    assert (hours.heading, hours.plural, hours.numeric) == ("timestamp", "timestamp", False)
    assert hours.x(1) == 2.0  # placed by position, labelled with the text
    years = TimeAxis("year", labels=("1871", "1872"))
    assert (years.numeric, years.x(1), years.span(0, 1)) == (True, 1872.0, "1871 to 1872")


def _view(*, go_backwards: bool, input_reversed: bool, steps: int = 4) -> RecurrentView:
    weights = CellWeights(
        kind="simple_rnn",
        kernel={"h": np.zeros((1, 1))},
        recurrent_kernel={"h": np.zeros((1, 1))},
    )
    spec = RecurrentLayer(
        name="rnn",
        cell=CellConfig(kind="simple_rnn", units=1),
        weights=weights,
        go_backwards=go_backwards,
    )
    zeros = np.zeros((2, steps, 1))
    trace = RecurrentTrace(
        kind="simple_rnn",
        outputs=zeros,
        final_states={"hidden": zeros[:, -1]},
        traces={"hidden": zeros},
    )
    return RecurrentView(
        layer="rnn",
        class_name="SimpleRNN",
        direction="forward",
        spec=spec,
        trace=trace,
        inputs=zeros,
        input_reversed=input_reversed,
        mask=None,
        reads_features=True,
        source=None,
    )


@pytest.mark.parametrize(
    ("go_backwards", "input_reversed", "window_steps"),
    [
        (False, False, [0, 1, 2, 3]),
        (True, False, [3, 2, 1, 0]),  # reads the window last day first
        (False, True, [3, 2, 1, 0]),  # after a go_backwards layer: its input is reversed
        (True, True, [0, 1, 2, 3]),
    ],
)
def test_each_processing_step_is_mapped_to_the_day_it_reads(
    go_backwards: bool, input_reversed: bool, window_steps: list[int]
) -> None:
    view = _view(go_backwards=go_backwards, input_reversed=input_reversed)
    assert [view.window_step(step) for step in range(4)] == window_steps


# --------------------------------------------------------------------- with Keras

keras_only = pytest.mark.keras


@pytest.fixture(scope="module")
def notebook_run() -> SpecRun:
    pytest.importorskip("keras")
    from pytest_rnnparity.check.spec_run import run_spec
    from pytest_rnnparity.model.build import import_keras
    from pytest_rnnparity.spec import load_specs

    # layer names (gru, gru_1, ...) are numbered per Keras session
    import_keras().backend.clear_session()
    (spec,) = load_specs(ROOT / "specs" / "power_gru.yaml", root=ROOT)
    return run_spec(spec, root=ROOT)


@keras_only
def _without_error_sizes(text: str) -> str:
    """The text with Keras-vs-reference error sizes (``5.96e-08``) masked.

    They are float32 rounding of the installed TensorFlow's kernels and move with it;
    every other number comes from the reference or is rounded far above them.
    """
    return re.sub(r"\b\d\.\d+e[-+]\d\d\b", "<error>", text)


def test_the_notebook_spec_is_explained_verbatim(notebook_run: SpecRun) -> None:
    text = explain_text(notebook_run)
    expected = EXPECTED.read_text(encoding="utf-8")
    assert _without_error_sizes(text) == _without_error_sizes(expected), (
        f"explain output changed; if that is intended: {REGENERATE}"
    )


@keras_only
def test_the_notebook_sections_are_all_there(notebook_run: SpecRun) -> None:
    text = explain_text(notebook_run)
    headings = [
        "Model Architecture:",
        "Extracted GRU weights: layer 'gru' (GRU)",
        "============================== WINDOW 8 ==============================",
        "Days 8-9 -> predicting Day 10",
        "--- Time step 2 (Day 9), layer 'gru' (GRU) ---",
        "Input Features:",
        "Gate Values:",
        "State Updates:",
        "--- Prediction for Day 10 ---",
        "Final state after window 8:",
        "COMPARISON WITH KERAS MODEL PREDICTIONS",
        "PARITY VERDICT",
        "OK: Keras and the float32 reference agree in 4 of 4 checks:",
    ]
    lines = [line.strip() for line in text.splitlines()]
    for heading in headings:
        assert heading in lines, heading
    # the notebook carried the state into the next window; Keras does not
    assert text.count("-> Stateless model: the next window starts again from a zero state.") == 7


@keras_only
def test_the_numbers_are_those_keras_computes(notebook_run: SpecRun) -> None:
    run = notebook_run
    text = explain_text(run)
    keras_hidden = run.parity.keras[0].directions["forward"].sequence
    new_states = re.findall(r"\| New Hidden State \(h_t\)\s+\| (\[[^\]]*\])", text)
    assert len(new_states) == 16  # 8 windows x 2 steps
    shown = np.array([[float(v) for v in s.strip("[]").split()] for s in new_states])
    np.testing.assert_allclose(shown, keras_hidden.reshape(16, 4), atol=1e-6)
    predictions = re.findall(r"\| Predicted power_kwh \(normalized\) \|\s+(\S+) \|", text)
    keras_output = np.asarray(run.parity.keras[-1].output).reshape(-1)
    np.testing.assert_allclose([float(p) for p in predictions], keras_output, atol=1e-4)


@keras_only
def test_windows_limits_the_windows_shown_step_by_step(notebook_run: SpecRun) -> None:
    text = explain_text(notebook_run, windows=2)
    assert "(showing 2 of 8 windows; --windows N shows more)" in text
    assert "WINDOW 2 =" in text
    assert "WINDOW 3 =" not in text
    assert "|    10 |" in text  # the comparison table still has every window


@keras_only
@pytest.mark.parametrize(
    ("spec_file", "expected"),
    [
        (
            "bidirectional_gru.yaml",
            [
                "--- Time step 1 (Step 1), layer 'bidirectional' (Bidirectional(GRU)), forward ---",
                "--- Time step 1 (Step 8), layer 'bidirectional' (Bidirectional(GRU)),"
                " backward ---",
                "Input (output of layer 'bidirectional'):",
            ],
        ),
        (
            "backwards_simple_rnn.yaml",
            [
                "--- Time step 1 (Step 5), layer 'simple_rnn' (SimpleRNN) ---",
                "--- Model output for the window (shape (5, 2)) ---",
                "Equation (Keras SimpleRNNCell):",
            ],
        ),
        (
            "masked_padding.yaml",
            [
                "Masked step: Keras computes the gates below, then discards them;",
                "Extracted LSTM weights: layer 'lstm' (LSTM)",
                "| Predicted next_load          | -0.0973 |",
            ],
        ),
        (
            "stacked_gru_lstm.yaml",
            [
                "Equations (Keras GRUCell, reset_after=False: the reset gate multiplies h_tm1"
                " before U_h):",
                "(norm: the standardized target the model predicts)",
            ],
        ),
    ],
)
def test_every_layer_and_direction_is_shown(spec_file: str, expected: list[str]) -> None:
    pytest.importorskip("keras")
    from pytest_rnnparity.check.spec_run import run_spec
    from pytest_rnnparity.model.build import import_keras
    from pytest_rnnparity.spec import load_specs

    import_keras().backend.clear_session()  # layer names are numbered per session
    specs = load_specs(ROOT / "specs" / spec_file, root=ROOT)
    run = run_spec(specs[-1], root=ROOT)
    lines = [line.strip() for line in explain_text(run, windows=1).splitlines()]
    for line in expected:
        assert line in lines, line
    assert "OK: Keras and the float32 reference agree in" in "\n".join(lines)


@keras_only
def test_a_stateful_window_starts_from_the_previous_final_state(tmp_path: Path) -> None:
    pytest.importorskip("keras")
    from pytest_rnnparity.check.spec_run import run_spec
    from pytest_rnnparity.spec import load_specs

    path = tmp_path / "stateful.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            seed: 3
            data:
              features:
                a: [0.1, 0.4, 0.2, 0.9, 0.5, 0.3]
              target: {column: a}
            lookback: 2
            model:
              - LSTM: {units: 2}
            stateful: true
            """
        ),
        encoding="utf-8",
    )
    (spec,) = load_specs(path, root=tmp_path)
    run = run_spec(spec, root=tmp_path)
    text = explain_text(run)
    assert "-> Stateful model: this state is the next window's initial state." in text
    final_1 = re.search(
        r"Final state after window 1:.*?\| Hidden State \(h_t\)\s+\| (\[[^\]]*\])", text, re.S
    )
    window_2 = text.split("WINDOW 2 =")[1]
    previous = re.search(r"\| Previous Hidden State \(h_tm1\) \| (\[[^\]]*\])", window_2)
    assert final_1 is not None
    assert previous is not None
    assert previous.group(1).strip() == final_1.group(1).strip()
    assert run.parity.ok


BIG = """\
seed: 5
data:
  csv: {path: hourly.csv, features: [temperature], target: load}
  time: {column: hour}
lookback: 6
model:
  - GRU: {units: 3}
  - Dense: {units: 1}
"""


def _hourly(tmp_path: Path, rows: int) -> Path:
    lines = ["hour,temperature,load"]
    lines += [
        f"2024-03-{1 + i // 24:02d} {i % 24:02d}:00,{(i * 7) % 13},{(i * 5) % 11}"
        for i in range(rows)
    ]
    (tmp_path / "hourly.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = tmp_path / "big.yaml"
    path.write_text(BIG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def big_run(tmp_path_factory: pytest.TempPathFactory) -> SpecRun:
    """40 hourly windows of 6 steps: more than a notebook, so brief by default."""
    pytest.importorskip("keras")
    from pytest_rnnparity.check.spec_run import run_spec
    from pytest_rnnparity.model.build import import_keras
    from pytest_rnnparity.spec import load_specs

    import_keras().backend.clear_session()
    directory = tmp_path_factory.mktemp("big")
    (spec,) = load_specs(_hourly(directory, 46), root=directory)
    return run_spec(spec, root=directory)


@keras_only
def test_a_big_spec_shows_one_window_three_steps_in_full_and_a_table_of_the_rest(
    big_run: SpecRun,
) -> None:
    shown = detail(big_run)
    assert (shown.windows, shown.steps, shown.total_windows, shown.total_steps) == (1, 3, 40, 6)
    text = explain_text(big_run)
    lines = text.splitlines()
    assert (
        "(showing 1 of 40 windows, 3 of 6 steps in full; --windows N and --steps N show more)"
        in lines
    )
    assert "2024-03-01 00:00 to 2024-03-01 05:00 -> predicting 2024-03-01 06:00" in lines
    assert "--- Time step 3 (2024-03-01 02:00), layer 'gru' (GRU) ---" in lines
    assert "--- Time step 4 (2024-03-01 03:00), layer 'gru' (GRU) ---" not in lines
    assert "--- Prediction for 2024-03-01 06:00 ---" in lines
    assert text.count("WINDOW ") == 1
    rest = lines.index("Steps 4-6 of layer 'gru' (GRU) (--steps N shows them in full):")
    assert lines[rest + 1 : rest + 4] == [
        "(mean: of the gate over the units; |h_t|: the L2 norm of the state)",
        "+-------------+------------------+------------+------------+-------------+---------+"
        "---------------------+",
        "|   Time step | hour             |   mean z_t |   mean r_t |   mean hh_t |   |h_t| |"
        "   max |h_t - h_tm1| |",
    ]
    rows = [line for line in lines[rest + 5 : rest + 12] if line.startswith("|")]
    assert [line.split("|")[1:3] for line in rows] == [
        ["           4 ", " 2024-03-01 03:00 "],
        ["           5 ", " 2024-03-01 04:00 "],
        ["           6 ", " 2024-03-01 05:00 "],
    ]
    # every window is still in the comparison, one line each (no rules between rows)
    table = text.split("COMPARISON WITH KERAS MODEL PREDICTIONS")[1].split("PARITY VERDICT")[0]
    rows = [line for line in table.splitlines() if line.startswith("| 2024-")]
    assert len(rows) == 40
    assert rows[0].startswith("| 2024-03-01 06:00 |")
    assert sum(line.startswith("+") for line in table.splitlines()) == 3
    assert len(lines) < 300  # whole, it is 40 windows x 6 steps of ~34 lines each


@keras_only
def test_windows_and_steps_widen_a_brief_explanation(big_run: SpecRun) -> None:
    text = explain_text(big_run, windows=2, steps=6)
    assert "(showing 2 of 40 windows; --windows N shows more)" in text
    assert text.count("WINDOW ") == 2
    assert "--- Time step 6 (2024-03-01 06:00), layer 'gru' (GRU) ---" in text  # window 2
    assert "of layer 'gru' (GRU) (--steps N shows them in full)" not in text
    whole = explain_text(big_run, windows=100, steps=100)
    assert "(showing" not in whole
    assert whole.count("WINDOW ") == 40


def test_weights_say_where_they_come_from() -> None:
    from dataclasses import replace

    from pytest_rnnparity.report.explain import weights_text
    from pytest_rnnparity.spec import SavedModel, WeightsFile, load_specs

    (spec,) = load_specs(ROOT / "specs" / "power_gru.yaml", root=ROOT)
    saved = SavedModel(path=ROOT / "models" / "m.keras", declared="models/m.keras")
    file = WeightsFile(path=ROOT / "w.weights.h5", declared="w.weights.h5")
    assert weights_text(spec) == "seeded (seed 42)"
    assert weights_text(replace(spec, weights="keras")) == "keras (seed 42)"
    assert weights_text(replace(spec, model=saved, weights="keras")) == (
        "from the model file models/m.keras"
    )
    assert weights_text(replace(spec, model=saved)) == "seeded (seed 42)"
    assert weights_text(replace(spec, weights=file)) == "from the weights file w.weights.h5"
