"""Single cell steps against numbers worked out by hand.

Every gate gets its own weight and bias, all different and non-zero, so a swapped
gate, a bias in the wrong row or a transposed matrix changes the result.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_rnnparity.reference.activations import get_activation
from pytest_rnnparity.reference.recurrent.cells import (
    fuse_weights,
    gru_step,
    lstm_step,
    make_step,
    project_inputs,
    simple_rnn_step,
)
from pytest_rnnparity.reference.types import CellConfig, CellWeights

tanh = get_activation("tanh")
sigmoid = get_activation("sigmoid")
linear = get_activation("linear")


def sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def scalar_gates(values: dict[str, float], shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    return {gate: np.full(shape, value) for gate, value in values.items()}


# GRU, units=1, features=1: x = 2.0, h_tm1 = 0.5.
GRU_W = {"z": 0.5, "r": -0.3, "h": 0.8}
GRU_U = {"z": 0.2, "r": 0.4, "h": -0.6}
GRU_BX = {"z": 0.1, "r": -0.2, "h": 0.05}
GRU_BH = {"z": 0.3, "r": 0.15, "h": -0.25}


def gru_weights(*, input_bias: bool, recurrent_bias: bool) -> CellWeights:
    return CellWeights(
        kind="gru",
        kernel=scalar_gates(GRU_W, (1, 1)),
        recurrent_kernel=scalar_gates(GRU_U, (1, 1)),
        input_bias=scalar_gates(GRU_BX, (1,)) if input_bias else None,
        recurrent_bias=scalar_gates(GRU_BH, (1,)) if recurrent_bias else None,
    )


def run_one_gru_step(config: CellConfig, weights: CellWeights) -> dict[str, np.ndarray]:
    fused = fuse_weights(config, weights, dtype="float64")
    matrix_x = project_inputs(np.array([[[2.0]]]), fused.kernel, fused.input_bias)
    step = make_step(config, fused)
    return dict(step(matrix_x[:, 0], (np.array([[0.5]]),)))


def test_gru_reset_after_step() -> None:
    # z  = sig(0.5*2 + 0.1 + 0.2*0.5 + 0.3)          = sig(1.5)
    # r  = sig(-0.3*2 - 0.2 + 0.4*0.5 + 0.15)        = sig(-0.45)
    # hh = tanh(0.8*2 + 0.05 + r * (-0.6*0.5 - 0.25)) = tanh(1.65 - 0.55 r)
    # h  = z * 0.5 + (1 - z) * hh
    z, r = sig(1.5), sig(-0.45)
    hh = math.tanh(1.65 - 0.55 * r)
    h = z * 0.5 + (1 - z) * hh
    config = CellConfig("gru", units=1, reset_after=True)
    step = run_one_gru_step(config, gru_weights(input_bias=True, recurrent_bias=True))
    assert list(step) == ["update", "reset", "candidate", "hidden"]
    np.testing.assert_allclose(
        [step["update"][0, 0], step["reset"][0, 0], step["candidate"][0, 0], step["hidden"][0, 0]],
        [z, r, hh, h],
        rtol=1e-14,
    )
    assert h == pytest.approx(0.5716676, abs=1e-7)  # 0.8176 * 0.5 + 0.1824 * 0.8929


def test_gru_reset_before_step() -> None:
    # Only the input bias exists with reset_after=False.
    # z  = sig(0.5*2 + 0.1 + 0.2*0.5)             = sig(1.2)
    # r  = sig(-0.3*2 - 0.2 + 0.4*0.5)            = sig(-0.6)
    # hh = tanh(0.8*2 + 0.05 + (r * 0.5) * -0.6)  = tanh(1.65 - 0.3 r)
    z, r = sig(1.2), sig(-0.6)
    hh = math.tanh(1.65 - 0.3 * r)
    h = z * 0.5 + (1 - z) * hh
    config = CellConfig("gru", units=1, reset_after=False)
    step = run_one_gru_step(config, gru_weights(input_bias=True, recurrent_bias=False))
    np.testing.assert_allclose(
        [step["update"][0, 0], step["reset"][0, 0], step["candidate"][0, 0], step["hidden"][0, 0]],
        [z, r, hh, h],
        rtol=1e-14,
    )


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_without_bias(reset_after: bool) -> None:
    # z = sig(1.0 + 0.1) = sig(1.1); r = sig(-0.6 + 0.2) = sig(-0.4)
    # reset_after:  hh = tanh(1.6 + r * (-0.3)); before: hh = tanh(1.6 + (r * 0.5) * -0.6), the same
    z, r = sig(1.1), sig(-0.4)
    hh = math.tanh(1.6 - 0.3 * r)
    h = z * 0.5 + (1 - z) * hh
    config = CellConfig("gru", units=1, use_bias=False, reset_after=reset_after)
    step = run_one_gru_step(config, gru_weights(input_bias=False, recurrent_bias=False))
    assert step["hidden"][0, 0] == pytest.approx(h, rel=1e-14)


def test_gru_step_multiplies_state_by_recurrent_kernel_from_the_left() -> None:
    # units=2, recurrent activation constant 1 so z = r = 1, linear activation.
    # h_tm1 = [1, -1]; U_h = [[1, 2], [3, 4]] -> h_tm1 U_h = [1 - 3, 2 - 4] = [-2, -2]
    # (U_h h_tm1 would be [-1, -1]).  hh = x_h + r * h_tm1 U_h = [0.5, 0.25] + [-2, -2].
    # z = 1 keeps the old state: h = h_tm1.
    units = 2
    zero = np.zeros((units, units))
    recurrent_kernel = np.concatenate([zero, zero, np.array([[1.0, 2.0], [3.0, 4.0]])], axis=1)
    matrix_x_t = np.array([[0.0, 0.0, 0.0, 0.0, 0.5, 0.25]])  # x_z, x_r, x_h blocks

    def ones(v: np.ndarray) -> np.ndarray:
        return np.ones_like(v)

    step = gru_step(
        matrix_x_t,
        np.array([[1.0, -1.0]]),
        recurrent_kernel,
        None,
        activation=linear,
        recurrent_activation=ones,
        reset_after=True,
    )
    np.testing.assert_array_equal(step.candidate, [[-1.5, -1.75]])
    np.testing.assert_array_equal(step.hidden, [[1.0, -1.0]])


# LSTM, units=1, features=1: x = 1.5, h_tm1 = 0.4, c_tm1 = -0.8.
LSTM_W = {"i": 0.3, "f": -0.5, "c": 0.7, "o": 0.2}
LSTM_U = {"i": 0.1, "f": 0.4, "c": -0.3, "o": 0.6}
LSTM_B = {"i": 0.05, "f": 1.0, "c": -0.1, "o": 0.2}


@pytest.mark.parametrize("use_bias", [True, False])
def test_lstm_step(use_bias: bool) -> None:
    # i = sig(0.3*1.5 + 0.1*0.4 + b_i)  = sig(0.49 + b_i)
    # f = sig(-0.5*1.5 + 0.4*0.4 + b_f) = sig(-0.59 + b_f)
    # g = tanh(0.7*1.5 - 0.3*0.4 + b_c) = tanh(0.93 + b_c)
    # o = sig(0.2*1.5 + 0.6*0.4 + b_o)  = sig(0.54 + b_o)
    # c = f * -0.8 + i * g;  h = o * tanh(c)
    b = LSTM_B if use_bias else dict.fromkeys(LSTM_B, 0.0)
    i, f = sig(0.49 + b["i"]), sig(-0.59 + b["f"])
    g, o = math.tanh(0.93 + b["c"]), sig(0.54 + b["o"])
    c = f * -0.8 + i * g
    h = o * math.tanh(c)

    config = CellConfig("lstm", units=1, use_bias=use_bias)
    weights = CellWeights(
        kind="lstm",
        kernel=scalar_gates(LSTM_W, (1, 1)),
        recurrent_kernel=scalar_gates(LSTM_U, (1, 1)),
        input_bias=scalar_gates(LSTM_B, (1,)) if use_bias else None,
    )
    fused = fuse_weights(config, weights, dtype="float64")
    matrix_x = project_inputs(np.array([[[1.5]]]), fused.kernel, fused.input_bias)
    step = lstm_step(
        matrix_x[:, 0],
        np.array([[0.4]]),
        np.array([[-0.8]]),
        fused.recurrent_kernel,
        activation=tanh,
        recurrent_activation=sigmoid,
    )
    assert step._fields == ("input", "forget", "candidate", "output", "cell", "hidden")
    np.testing.assert_allclose(np.ravel(step), [i, f, g, o, c, h], rtol=1e-14)


def test_lstm_step_through_make_step_orders_states_hidden_then_cell() -> None:
    config = CellConfig("lstm", units=1)
    weights = CellWeights(
        "lstm",
        scalar_gates(LSTM_W, (1, 1)),
        scalar_gates(LSTM_U, (1, 1)),
        scalar_gates(LSTM_B, (1,)),
    )
    fused = fuse_weights(config, weights, dtype="float64")
    matrix_x_t = project_inputs(np.array([[[1.5]]]), fused.kernel, fused.input_bias)[:, 0]
    values = make_step(config, fused)(matrix_x_t, (np.array([[0.4]]), np.array([[-0.8]])))
    i, f = sig(0.54), sig(0.41)
    c = f * -0.8 + i * math.tanh(0.83)
    assert values["cell"][0, 0] == pytest.approx(c, rel=1e-14)


def test_simple_rnn_step_two_units_two_features() -> None:
    # x = [1, 2]; W = [[1, 2], [3, 4]] -> x W = [1 + 6, 2 + 8] = [7, 10]
    # b = [0.5, -1]; h_tm1 = [1, -1]; U = [[0.1, 0.2], [0.3, 0.4]] -> h U = [-0.2, -0.2]
    # h = tanh([7.3, 8.8]); with a linear activation exactly [7.3, 8.8]
    weights = CellWeights(
        "simple_rnn",
        kernel={"h": np.array([[1.0, 2.0], [3.0, 4.0]])},
        recurrent_kernel={"h": np.array([[0.1, 0.2], [0.3, 0.4]])},
        input_bias={"h": np.array([0.5, -1.0])},
    )
    for activation, expected in ((None, [7.3, 8.8]), ("tanh", [math.tanh(7.3), math.tanh(8.8)])):
        config = CellConfig("simple_rnn", units=2, activation=activation)
        fused = fuse_weights(config, weights, dtype="float64")
        matrix_x = project_inputs(np.array([[[1.0, 2.0]]]), fused.kernel, fused.input_bias)
        step = simple_rnn_step(
            matrix_x[:, 0],
            np.array([[1.0, -1.0]]),
            fused.recurrent_kernel,
            activation=get_activation(activation),
        )
        np.testing.assert_allclose(step.hidden, [expected], rtol=1e-14)


def test_project_inputs_is_x_kernel_plus_bias_for_every_step() -> None:
    # inputs (B=2, T=3, F=1) = 0..5; kernel [[1, 10]]; bias [0.5, -0.5]
    inputs = np.arange(6.0).reshape(2, 3, 1)
    matrix_x = project_inputs(inputs, np.array([[1.0, 10.0]]), np.array([0.5, -0.5]))
    assert matrix_x.shape == (2, 3, 2)
    np.testing.assert_array_equal(matrix_x[1, 2], [5.5, 49.5])
    np.testing.assert_array_equal(matrix_x[0, 0], [0.5, -0.5])


def test_fuse_weights_keeps_keras_gate_order_and_casts() -> None:
    weights = gru_weights(input_bias=True, recurrent_bias=True)
    fused = fuse_weights(CellConfig("gru", units=1), weights, dtype="float32")
    np.testing.assert_array_equal(fused.kernel, np.float32([[0.5, -0.3, 0.8]]))
    np.testing.assert_array_equal(fused.recurrent_kernel, np.float32([[0.2, 0.4, -0.6]]))
    assert fused.input_bias is not None
    assert fused.recurrent_bias is not None
    np.testing.assert_array_equal(fused.recurrent_bias, np.float32([0.3, 0.15, -0.25]))
    assert fused.kernel.dtype == fused.input_bias.dtype == np.float32


@pytest.mark.parametrize(
    ("config", "weights", "message"),
    [
        (
            CellConfig("gru", units=1, reset_after=False),
            gru_weights(input_bias=True, recurrent_bias=True),
            "recurrent_bias was given",
        ),
        (
            CellConfig("gru", units=1),
            gru_weights(input_bias=True, recurrent_bias=False),
            "recurrent_bias is missing",
        ),
        (
            CellConfig("gru", units=1, use_bias=False),
            gru_weights(input_bias=True, recurrent_bias=False),
            "input_bias was given but the gru cell has use_bias=False",
        ),
        (
            CellConfig("gru", units=2),
            gru_weights(input_bias=True, recurrent_bias=True),
            r"must have shape \(1, 2\), got \(1, 1\)",
        ),
        (
            CellConfig("lstm", units=1),
            gru_weights(input_bias=True, recurrent_bias=True),
            "weights are for a gru cell but the cell is a lstm",
        ),
        (
            CellConfig("simple_rnn", units=1, use_bias=False),
            CellWeights("simple_rnn", {"z": np.ones((1, 1))}, {"h": np.ones((1, 1))}, None),
            "kernel must have exactly the gates h; got z",
        ),
    ],
)
def test_fuse_weights_rejects_mismatches(
    config: CellConfig, weights: CellWeights, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fuse_weights(config, weights, dtype="float64")
