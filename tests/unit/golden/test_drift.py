"""golden/drift.py: two goldens compared within a tolerance, array by array."""

from __future__ import annotations

import numpy as np

from pytest_rnnparity.golden.drift import compare_goldens, equivalent, same_spec
from pytest_rnnparity.golden.format import Golden, golden_array, loads
from pytest_rnnparity.report.drift import drift_message

from .helpers import TOL, VALID, every_row, golden_with


def test_compare_within_tolerance_is_ok() -> None:
    values = np.linspace(-1, 1, 12).reshape(2, 3, 2)
    recorded = golden_with({"a": golden_array(values, rows=2, summaries=True)})
    current = golden_with({"a": golden_array(values + 5e-7, rows=2, summaries=True)})
    drift = compare_goldens(recorded, current, TOL)
    assert drift.ok
    assert [(c.layer, c.quantity) for c in drift.comparisons] == [("a", "rows"), ("a", "summary")]


def test_compare_beyond_tolerance_reports_the_first_mismatch_in_time_order() -> None:
    values = np.zeros((2, 3, 2))
    moved = values.copy()
    moved[0, 2, 0] = 1.0  # row 0 but a later timestep
    moved[1, 1, 1] = 1.0  # the earliest timestep that moved
    drift = compare_goldens(
        golden_with({"a": every_row(values)}), golden_with({"a": every_row(moved)}), TOL
    )
    assert not drift.ok
    (rows,) = drift.comparisons
    assert rows.axes == ("row", "timestep", "unit")
    assert rows.first is not None
    assert rows.first.index == (1, 1, 1)
    assert rows.n_bad == 2


def test_a_2d_array_moves_at_a_row_and_unit_not_a_timestep() -> None:
    values = np.zeros((3, 4))
    moved = values.copy()
    moved[1, 2] = 0.5
    recorded, current = (
        golden_with({"keras/dense/output": every_row(values)}),
        golden_with({"keras/dense/output": every_row(moved)}),
    )
    drift = compare_goldens(recorded, current, TOL)
    (rows,) = drift.comparisons
    assert rows.axes == ("row", "unit")
    message = drift_message(recorded, current, drift, golden_path="g", update_command="u")
    assert "First: Keras outputs, dense/output, at row 1, unit 2:" in message.splitlines()


def test_compare_reports_a_shape_change() -> None:
    recorded = golden_with({"keras/dense/output": every_row(np.zeros((2, 1)))})
    current = golden_with({"keras/dense/output": every_row(np.zeros((3, 1)))})
    drift = compare_goldens(recorded, current, TOL)
    (shape,) = drift.comparisons
    assert not drift.ok
    assert shape.problem == "shape changed: recorded 2x1, now 3x1"


def test_compare_allocates_nothing_for_a_huge_recorded_shape() -> None:
    text = "\n".join([*VALID[:7], "shape = 99999999999999x1", "kept = 0"]) + "\n"
    recorded = loads(text, location="g.golden")
    current = golden_with({"keras/dense/output": every_row(np.zeros((2, 1)))})
    (shape,) = compare_goldens(recorded, current, TOL).comparisons
    assert shape.problem == "shape changed: recorded 99999999999999x1, now 2x1"


def test_compare_reports_a_shape_change_beyond_the_first_axis() -> None:
    recorded = golden_with({"a": every_row(np.zeros((2, 3, 1)))})
    current = golden_with({"a": every_row(np.zeros((2, 4, 1)))})
    (shape,) = compare_goldens(recorded, current, TOL).comparisons
    assert not shape.ok
    assert shape.problem == "shape changed: recorded 2x3x1, now 2x4x1"


def test_compare_lists_missing_and_new_arrays() -> None:
    same = every_row(np.zeros((2, 1)))
    recorded = golden_with({"kept": same, "gone/b": same, "gone/a": same})
    current = golden_with({"kept": same, "new/x": same})
    drift = compare_goldens(recorded, current, TOL)
    assert drift.missing == ("gone/a", "gone/b")
    assert drift.new == ("new/x",)
    assert all(c.ok for c in drift.comparisons)
    assert not drift.ok


def test_compare_only_the_overlap_of_kept_regions_of_different_size() -> None:
    values = np.arange(5 * 3 * 2, dtype=np.float64).reshape(5, 3, 2)
    recorded = golden_array(values, rows=3, summaries=True)  # 3 rows
    changed = values.copy()
    changed[2:] += 100.0  # only beyond what the current golden keeps in full
    current = golden_array(changed, rows=2, summaries=False, max_values=12)  # 2 rows
    assert (recorded.rows.shape, current.rows.shape) == ((3, 3, 2), (2, 3, 2))
    drift = compare_goldens(golden_with({"a": recorded}), golden_with({"a": current}), TOL)
    assert drift.ok
    (rows,) = drift.comparisons  # no summary on one side: nothing to compare there
    assert rows.shape == (2, 3, 2)

    partial = golden_array(values, rows=3, summaries=False, max_values=4)  # 1 row, 2 steps
    drift = compare_goldens(golden_with({"a": recorded}), golden_with({"a": partial}), TOL)
    assert drift.ok
    assert drift.comparisons[0].shape == (1, 2, 2)


def test_a_golden_of_another_name_is_the_same_spec_only_with_the_same_content() -> None:
    values = every_row(np.zeros((2, 1)))
    recorded = golden_with({"keras/gru/output": values}, spec_hash="a" * 64)
    renamed = Golden(
        meta={"spec": "power", "spec_hash": "a" * 64}, environment={}, arrays=recorded.arrays
    )
    other = Golden(
        meta={"spec": "power", "spec_hash": "b" * 64}, environment={}, arrays=recorded.arrays
    )
    assert same_spec(recorded, recorded)
    assert same_spec(recorded, renamed)
    assert equivalent(recorded, renamed, TOL)
    assert not same_spec(recorded, other)
    assert not equivalent(recorded, other, TOL)
    unhashed = golden_with({"keras/gru/output": values})
    assert not same_spec(unhashed, Golden(meta={"spec": "x"}, environment={}))
