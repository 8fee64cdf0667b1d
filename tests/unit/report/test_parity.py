"""report/parity.py: the parity failure text, asserted line by line."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_rnnparity.check.compare import compare
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.report.parity import error_table, parity_failure_message, where_hint

TOL = Tolerance(atol=1e-6, rtol=1e-5)
AXES = ("row", "timestep", "unit")


def _comparisons() -> list:
    expected = np.zeros((2, 3, 2))
    actual = expected.copy()
    actual[1, 1, 0] = 0.25
    actual[0, 2, 1] = -0.5
    hidden = compare(
        expected,
        actual,
        TOL,
        layer="gru",
        quantity="hidden",
        axes=AXES,
        direction="forward",
        time_axis=1,
    )
    final = compare(
        np.ones((2, 2)),
        np.ones((2, 2)),
        TOL,
        layer="gru",
        quantity="final hidden",
        axes=("row", "unit"),
        direction="forward",
    )
    head = compare(
        np.full((2, 1), 0.5),
        np.array([[0.5], [0.75]]),
        TOL,
        layer="dense",
        quantity="output",
        axes=("row", "unit"),
    )
    return [hidden, final, head]


def test_parity_failure_message_verbatim() -> None:
    message = parity_failure_message(
        _comparisons(), layer_classes={"gru": "GRU", "dense": "Dense"}, reference_dtype="float32"
    )
    assert message.splitlines() == [
        "Keras and the float32 reference disagree in 2 of 3 checks.",
        "First: layer 'gru' (GRU, layer 1 of 2), hidden state (every timestep)",
        "  at timestep 1, row 1, unit 0:",
        "    Keras      0.25",
        "    reference  0",
        "    abs error 2.50e-01, rel error inf (tolerance atol=1e-06, rtol=1e-05)",
        "  2 of 12 values (16.7%) exceed tolerance; "
        "max abs error 5.00e-01, mean abs error 6.25e-02",
        "  Timesteps 0-0 agree: check what carries over between steps: the recurrent kernel, "
        "the recurrent bias, where the reset gate applies, and the state each window starts from.",
        "",
        "Largest errors per layer:",
        "  layer  class  quantity      shape  max abs   max rel   tolerance               verdict",
        "  gru    GRU    hidden        2x3x2  5.00e-01  inf       atol=1e-06, rtol=1e-05  FAIL",
        "  gru    GRU    final hidden  2x2    0.00e+00  0.00e+00  atol=1e-06, rtol=1e-05  ok",
        "  dense  Dense  output        2x1    2.50e-01  5.00e-01  atol=1e-06, rtol=1e-05  FAIL",
    ]


def test_backward_direction_hint_says_processing_order() -> None:
    expected = np.zeros((1, 2, 1))
    c = compare(
        expected,
        expected + 1,
        TOL,
        layer="bi",
        quantity="hidden",
        axes=AXES,
        direction="backward",
        time_axis=1,
    )
    assert c.label == "hidden (backward)"
    assert where_hint(c) == (
        "Timestep 0 (processing order) already differs: check the input kernel, the biases, "
        "the activations and the update rule."
    )


def test_no_failure_is_a_programming_error() -> None:
    ok = compare(np.zeros(2), np.zeros(2), TOL, layer="l", quantity="output", axes=("unit",))
    with pytest.raises(ValueError, match="needs at least one failed comparison"):
        parity_failure_message([ok], layer_classes={}, reference_dtype="float32")
    assert error_table([ok], {})[1].endswith("ok")


def test_an_opaque_call_gets_a_row_of_its_own_in_call_order() -> None:
    from pytest_rnnparity.reference.types import IdentityLayer, OpaqueLayer

    zeros = np.zeros(2)
    before = compare(zeros, zeros, TOL, layer="embed", quantity="output", axes=("unit",))
    after = compare(zeros, zeros, TOL, layer="head", quantity="output", axes=("unit",))
    layers = [
        IdentityLayer(name="embed", class_name="Dropout"),
        OpaqueLayer(name="gate", class_name="Gate", reason="a custom layer"),
        IdentityLayer(name="head", class_name="Dropout"),
    ]
    table = error_table([before, after], {"embed": "Dropout", "head": "Dropout"}, layers=layers)
    assert table[2].split() == ["gate", "not", "computed", "opaque"]
    assert [row.split()[0] for row in table[1:]] == ["embed", "gate", "head"]
    without = error_table([before, after], {"embed": "Dropout", "head": "Dropout"})
    assert [row.split()[0] for row in without[1:]] == ["embed", "head"]
