"""Layer semantics of the reference: time loop, masks, go_backwards, Bidirectional, chains.

Weights and biases are random, non-zero and different per gate, so that a gate-order
or bias-row mistake shows.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import pytest_rnnparity.reference
from pytest_rnnparity.errors import UnsupportedModelError
from pytest_rnnparity.reference import (
    make_step,
    run_bidirectional,
    run_dense,
    run_masking,
    run_recurrent,
    run_reference,
)
from pytest_rnnparity.reference.recurrent.cells import fuse_weights
from pytest_rnnparity.reference.types import (
    GATES,
    STATE_NAMES,
    TRACE_NAMES,
    BidirectionalLayer,
    CellConfig,
    CellKind,
    CellWeights,
    DenseLayer,
    IdentityLayer,
    MaskingLayer,
    RecurrentLayer,
)

KINDS: tuple[CellKind, ...] = ("gru", "lstm", "simple_rnn")
CELLS = [
    pytest.param("gru", True, id="gru-reset_after"),
    pytest.param("gru", False, id="gru-reset_before"),
    pytest.param("lstm", True, id="lstm"),
    pytest.param("simple_rnn", True, id="simple_rnn"),
]
B, T, F, UNITS = 3, 6, 4, 5


def random_spec(
    kind: CellKind,
    *,
    seed: int = 0,
    units: int = UNITS,
    features: int = F,
    reset_after: bool = True,
    use_bias: bool = True,
    name: str = "rnn",
    **options: bool,
) -> RecurrentLayer:
    rng = np.random.default_rng(seed)
    gates = GATES[kind]

    def per_gate(*shape: int) -> dict[str, np.ndarray]:
        return {gate: rng.normal(0.0, 0.6, shape) for gate in gates}

    recurrent_bias = use_bias and kind == "gru" and reset_after
    weights = CellWeights(
        kind=kind,
        kernel=per_gate(features, units),
        recurrent_kernel=per_gate(units, units),
        input_bias=per_gate(units) if use_bias else None,
        recurrent_bias=per_gate(units) if recurrent_bias else None,
    )
    config = CellConfig(kind, units, use_bias=use_bias, reset_after=reset_after)
    return RecurrentLayer(name, config, weights, **options)


def random_inputs(seed: int = 1, shape: tuple[int, ...] = (B, T, F)) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, shape).astype(np.float32)


MASK = np.array(
    [
        [False, False, True, True, False, True],  # two masked steps first, a hole
        [True, True, True, True, False, False],  # right padded
        [True, True, True, True, True, True],
    ]
)


def constant_gru(reset_after: bool, go_backwards: bool = False) -> RecurrentLayer:
    gates = GATES["gru"]
    weights = CellWeights(
        "gru",
        kernel={gate: np.full((4, 3), 0.01) for gate in gates},
        recurrent_kernel={gate: np.full((3, 3), 0.02) for gate in gates},
        input_bias={gate: np.full(3, 0.03) for gate in gates},
        recurrent_bias={gate: np.full(3, 0.03) for gate in gates} if reset_after else None,
    )
    config = CellConfig("gru", 3, reset_after=reset_after)
    return RecurrentLayer("gru", config, weights, go_backwards=go_backwards)


@pytest.mark.parametrize(
    ("reset_after", "go_backwards", "expected"),
    [
        (True, False, [0.5217289, 0.6371659, 0.39384964]),
        (False, False, [0.51447755, 0.6426879, 0.40208298]),
        (True, True, [0.24406259, 0.611516, 0.3928808]),
    ],
)
def test_constant_gru_sanity_values(
    reset_after: bool, go_backwards: bool, expected: list[float]
) -> None:
    # Numbers from Keras 3 for arange(72).reshape(3, 6, 4), 3 units, kernel 0.01,
    # recurrent kernel 0.02, bias 0.03.
    x = np.arange(72, dtype=np.float32).reshape(3, 6, 4)
    trace = run_recurrent(constant_gru(reset_after, go_backwards), x)
    last = trace.outputs[:, -1]
    assert last.dtype == np.float32
    np.testing.assert_allclose(last, np.repeat(np.array(expected)[:, None], 3, axis=1), atol=1e-6)


@pytest.mark.parametrize(("kind", "reset_after"), CELLS)
def test_traces_and_states_have_the_documented_names_and_shapes(
    kind: CellKind, reset_after: bool
) -> None:
    trace = run_recurrent(random_spec(kind, reset_after=reset_after), random_inputs())
    assert trace.kind == kind
    assert tuple(trace.traces) == TRACE_NAMES[kind]
    assert tuple(trace.final_states) == STATE_NAMES[kind]
    assert trace.outputs.shape == (B, T, UNITS)
    for values in trace.traces.values():
        assert values.shape == (B, T, UNITS)
    # Unmasked, the output is the hidden state and the final state the last one.
    np.testing.assert_array_equal(trace.traces["hidden"], trace.outputs)
    np.testing.assert_array_equal(trace.final_states["hidden"], trace.outputs[:, -1])
    if kind == "lstm":
        np.testing.assert_array_equal(trace.final_states["cell"], trace.traces["cell"][:, -1])


@pytest.mark.parametrize(("kind", "reset_after"), CELLS)
def test_loop_matches_stepping_by_hand(kind: CellKind, reset_after: bool) -> None:
    spec = random_spec(kind, reset_after=reset_after)
    x = random_inputs().astype(np.float64)
    trace = run_recurrent(spec, x, dtype="float64")
    fused = fuse_weights(spec.cell, spec.weights, dtype="float64")
    step = make_step(spec.cell, fused)
    states = tuple(np.zeros((B, UNITS)) for _ in STATE_NAMES[kind])
    for t in range(T):
        matrix_x_t = x[:, t] @ fused.kernel + fused.input_bias
        values = step(matrix_x_t, states)
        for name in TRACE_NAMES[kind]:
            np.testing.assert_allclose(trace.traces[name][:, t], values[name], rtol=1e-12)
        states = tuple(values[name] for name in STATE_NAMES[kind])


@pytest.mark.parametrize(("kind", "reset_after"), CELLS)
def test_go_backwards_runs_reversed_time_and_keeps_processing_order(
    kind: CellKind, reset_after: bool
) -> None:
    x = random_inputs()
    spec = random_spec(kind, reset_after=reset_after)
    backwards = run_recurrent(replace(spec, go_backwards=True), x)
    on_reversed_input = run_recurrent(spec, x[:, ::-1])
    np.testing.assert_array_equal(backwards.outputs, on_reversed_input.outputs)
    for name in TRACE_NAMES[kind]:
        np.testing.assert_array_equal(backwards.traces[name], on_reversed_input.traces[name])
    # And it is not the same as running forward.
    assert not np.allclose(backwards.outputs[:, -1], run_recurrent(spec, x).outputs[:, -1])


@pytest.mark.parametrize(("kind", "reset_after"), CELLS)
def test_masked_steps_carry_the_state(kind: CellKind, reset_after: bool) -> None:
    x = random_inputs()
    spec = random_spec(kind, reset_after=reset_after)
    trace = run_recurrent(spec, x, mask=MASK, dtype="float64")
    for row in range(B):
        # The final state is that of the sequence with the masked steps left out.
        kept = x[row : row + 1, MASK[row]]
        alone = run_recurrent(spec, kept, dtype="float64")
        for name in STATE_NAMES[kind]:
            np.testing.assert_allclose(
                trace.final_states[name][row], alone.final_states[name][0], rtol=1e-12
            )
        # The state traces hold the carried state at every step.
        carried = 0
        for t in range(T):
            if MASK[row, t]:
                carried += 1
            for name in STATE_NAMES[kind]:
                expected = 0.0 if carried == 0 else alone.traces[name][0, carried - 1]
                np.testing.assert_allclose(trace.traces[name][row, t], expected, rtol=1e-12)


def test_masked_gate_traces_hold_the_discarded_step() -> None:
    spec = random_spec("gru")
    x = random_inputs().astype(np.float64)
    trace = run_recurrent(spec, x, mask=MASK, dtype="float64")
    fused = fuse_weights(spec.cell, spec.weights, dtype="float64")
    step = make_step(spec.cell, fused)
    # Row 0, step 4 is masked; the cell saw step 4's input and the state after step 3.
    h_tm1 = trace.traces["hidden"][0:1, 3]
    values = step(x[0:1, 4] @ fused.kernel + fused.input_bias, (h_tm1,))
    for name in ("update", "reset", "candidate"):
        np.testing.assert_allclose(trace.traces[name][0:1, 4], values[name], rtol=1e-12)
    # The discarded hidden state is not what is carried.
    assert not np.allclose(values["hidden"], trace.traces["hidden"][0:1, 4])


def test_masked_output_repeats_previous_output_and_is_zero_before_the_first_step() -> None:
    spec = random_spec("lstm")
    initial = {name: np.full((B, UNITS), 0.7) for name in STATE_NAMES["lstm"]}
    trace = run_recurrent(spec, random_inputs(), mask=MASK, initial_state=initial)
    outputs, hidden = trace.outputs, trace.traces["hidden"]
    # Row 0: steps 0 and 1 masked -> zero output, though the carried state is 0.7.
    np.testing.assert_array_equal(outputs[0, :2], 0.0)
    np.testing.assert_array_equal(hidden[0, :2], np.float32(0.7))
    # Row 0, step 4 masked -> repeats step 3; row 1, steps 4 and 5 repeat step 3.
    np.testing.assert_array_equal(outputs[0, 4], outputs[0, 3])
    np.testing.assert_array_equal(outputs[1, 4], outputs[1, 3])
    np.testing.assert_array_equal(outputs[1, 5], outputs[1, 3])
    np.testing.assert_array_equal(outputs[0, [2, 3, 5]], hidden[0, [2, 3, 5]])


def test_zero_output_for_mask() -> None:
    spec = random_spec("gru", zero_output_for_mask=True)
    trace = run_recurrent(spec, random_inputs(), mask=MASK)
    np.testing.assert_array_equal(trace.outputs[~MASK], 0.0)
    np.testing.assert_array_equal(trace.outputs[MASK], trace.traces["hidden"][MASK])
    # The state is still carried through the masked step.
    np.testing.assert_array_equal(trace.traces["hidden"][0, 4], trace.traces["hidden"][0, 3])


def test_mask_with_go_backwards_is_read_in_processing_order() -> None:
    spec = random_spec("gru", go_backwards=True)
    x = random_inputs()
    trace = run_recurrent(spec, x, mask=MASK)
    forward_on_reversed = run_recurrent(
        replace(spec, go_backwards=False), x[:, ::-1], mask=MASK[:, ::-1]
    )
    np.testing.assert_array_equal(trace.outputs, forward_on_reversed.outputs)
    # Row 1 is right padded: going backwards its first two processed steps are masked.
    np.testing.assert_array_equal(trace.outputs[1, :2], 0.0)


@pytest.mark.parametrize("kind", KINDS)
def test_initial_state_continues_a_split_sequence(kind: CellKind) -> None:
    spec = random_spec(kind)
    x = random_inputs()
    whole = run_recurrent(spec, x, dtype="float64")
    first = run_recurrent(spec, x[:, :2], dtype="float64")
    second = run_recurrent(spec, x[:, 2:], initial_state=first.final_states, dtype="float64")
    np.testing.assert_allclose(second.outputs, whole.outputs[:, 2:], rtol=1e-12)
    for name in STATE_NAMES[kind]:
        np.testing.assert_allclose(second.final_states[name], whole.final_states[name], rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_hidden_only_keeps_only_the_hidden_trace(kind: CellKind) -> None:
    spec = random_spec(kind)
    full = run_recurrent(spec, random_inputs(), mask=MASK)
    slim = run_recurrent(spec, random_inputs(), mask=MASK, hidden_only=True)
    assert tuple(slim.traces) == ("hidden",)
    np.testing.assert_array_equal(slim.traces["hidden"], full.traces["hidden"])
    np.testing.assert_array_equal(slim.outputs, full.outputs)
    for name in STATE_NAMES[kind]:
        np.testing.assert_array_equal(slim.final_states[name], full.final_states[name])


@pytest.mark.parametrize(("kind", "reset_after"), CELLS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_results_have_the_computation_dtype(kind: CellKind, reset_after: bool, dtype: str) -> None:
    # float64 weights and float32 inputs are both cast to the computation dtype.
    spec = random_spec(kind, reset_after=reset_after)
    trace = run_recurrent(spec, random_inputs(), mask=MASK, dtype=dtype)
    arrays = [trace.outputs, *trace.traces.values(), *trace.final_states.values()]
    assert {array.dtype for array in arrays} == {np.dtype(dtype)}


@pytest.mark.parametrize(("kind", "reset_after"), CELLS)
def test_float32_stays_close_to_float64(kind: CellKind, reset_after: bool) -> None:
    spec = random_spec(kind, reset_after=reset_after)
    low = run_recurrent(spec, random_inputs(), dtype="float32")
    high = run_recurrent(spec, random_inputs(), dtype="float64")
    np.testing.assert_allclose(low.outputs, high.outputs, atol=1e-5)
    assert not np.array_equal(low.outputs.astype(np.float64), high.outputs)


@pytest.mark.parametrize(("kind", "reset_after"), CELLS)
def test_use_bias_false(kind: CellKind, reset_after: bool) -> None:
    spec = random_spec(kind, reset_after=reset_after, use_bias=False)
    x = random_inputs()
    trace = run_recurrent(spec, x, dtype="float64")
    # Without biases, a zero input and a zero state stay exactly zero for every cell.
    zero = run_recurrent(spec, np.zeros_like(x), dtype="float64")
    np.testing.assert_array_equal(zero.outputs, 0.0)
    assert np.abs(trace.outputs).max() > 0.01
    with_bias = run_recurrent(random_spec(kind, reset_after=reset_after), x, dtype="float64")
    assert not np.allclose(trace.outputs, with_bias.outputs)


# Bidirectional -------------------------------------------------------------------------


def bidirectional(
    kind: CellKind, merge_mode: str | None, return_sequences: bool
) -> BidirectionalLayer:
    forward = random_spec(kind, seed=3, name="forward_rnn", return_sequences=return_sequences)
    backward = random_spec(
        kind, seed=4, name="backward_rnn", go_backwards=True, return_sequences=return_sequences
    )
    return BidirectionalLayer("bi", forward, backward, merge_mode, return_sequences)  # type: ignore[arg-type]


MERGES = {
    "concat": lambda y, y_rev: np.concatenate([y, y_rev], axis=-1),
    "sum": lambda y, y_rev: y + y_rev,
    "mul": lambda y, y_rev: y * y_rev,
    "ave": lambda y, y_rev: (y + y_rev) / 2,
}


@pytest.mark.parametrize("merge_mode", [*MERGES, None])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_merges_forward_and_flipped_backward(
    merge_mode: str | None, return_sequences: bool
) -> None:
    spec = bidirectional("gru", merge_mode, return_sequences)
    x = random_inputs()
    result = run_bidirectional(spec, x)
    forward = run_recurrent(spec.forward, x).outputs
    backward = run_recurrent(spec.backward, x).outputs
    if return_sequences:
        # The backward layer's step j saw input step T - 1 - j.
        y, y_rev = forward, backward[:, ::-1]
    else:
        y, y_rev = forward[:, -1], backward[:, -1]
    if merge_mode is None:
        assert isinstance(result.output, tuple)
        np.testing.assert_array_equal(result.output[0], y)
        np.testing.assert_array_equal(result.output[1], y_rev)
    else:
        np.testing.assert_array_equal(result.output, MERGES[merge_mode](y, y_rev))
    assert tuple(result.directions) == ("forward", "backward")
    np.testing.assert_array_equal(result.directions["backward"].outputs, backward)


def test_bidirectional_concat_shapes() -> None:
    x = random_inputs()
    assert run_bidirectional(bidirectional("lstm", "concat", True), x).output.shape == (
        B,
        T,
        2 * UNITS,
    )
    assert run_bidirectional(bidirectional("lstm", "concat", False), x).output.shape == (
        B,
        2 * UNITS,
    )


def test_bidirectional_forces_zero_output_for_mask_to_return_sequences() -> None:
    x = random_inputs()
    spec = bidirectional("simple_rnn", "concat", True)
    result = run_bidirectional(spec, x, mask=MASK)
    np.testing.assert_array_equal(result.output[~MASK], 0.0)
    np.testing.assert_array_equal(result.mask, MASK)
    # Without return_sequences the last outputs are the carried ones, never zeroed.
    last = run_bidirectional(bidirectional("simple_rnn", "concat", False), x, mask=MASK)
    forward = run_recurrent(replace(spec.forward, return_sequences=False), x, mask=MASK)
    np.testing.assert_array_equal(last.output[:, :UNITS], forward.outputs[:, -1])
    assert np.all(np.abs(last.output) > 0)
    assert last.mask is None


def test_bidirectional_initial_states_per_direction() -> None:
    spec = bidirectional("lstm", "concat", True)
    x = random_inputs()
    states = {
        "forward": {name: np.full((B, UNITS), 0.3) for name in STATE_NAMES["lstm"]},
        "backward": {name: np.full((B, UNITS), -0.4) for name in STATE_NAMES["lstm"]},
    }
    result = run_bidirectional(spec, x, initial_states=states)
    backward = run_recurrent(spec.backward, x, initial_state=states["backward"])
    np.testing.assert_array_equal(result.directions["backward"].outputs, backward.outputs)


def test_bidirectional_rejects_two_forward_layers() -> None:
    spec = bidirectional("gru", "concat", True)
    with pytest.raises(ValueError, match="must differ in go_backwards"):
        run_bidirectional(replace(spec, backward=replace(spec.backward, go_backwards=False)), [])


# Dense, Masking, chains ------------------------------------------------------------------


def test_dense_by_hand() -> None:
    # x = [1, 2]; kernel [[1, -1], [0.5, 2]] -> [1 + 1, -1 + 4] = [2, 3]; + bias [0.5, -4]
    # = [2.5, -1]; relu -> [2.5, 0]
    spec = DenseLayer("dense", np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([0.5, -4.0]), "relu")
    result = run_dense(spec, np.array([[1.0, 2.0]]), dtype="float64")
    np.testing.assert_array_equal(result.output, [[2.5, 0.0]])
    assert result.mask is None


def test_time_distributed_dense_applies_to_every_step_and_passes_the_mask() -> None:
    rng = np.random.default_rng(5)
    kernel, bias = rng.normal(size=(F, 2)), rng.normal(size=2)
    spec = DenseLayer("td", kernel, bias, "tanh", time_distributed=True)
    x = random_inputs()
    result = run_dense(spec, x, mask=MASK)
    assert result.output.shape == (B, T, 2)
    assert result.output.dtype == np.float32
    np.testing.assert_allclose(result.output[2, 4], np.tanh(x[2, 4] @ kernel + bias), rtol=1e-5)
    np.testing.assert_array_equal(result.mask, MASK)


def test_masking_by_hand() -> None:
    x = np.array([[[0.0, 0.0], [1.0, 0.0], [-1.0, -1.0]]])
    result = run_masking(MaskingLayer("masking", mask_value=-1.0), x, dtype="float64")
    # Only step 2 has all features equal to -1.
    np.testing.assert_array_equal(result.mask, [[True, True, False]])
    np.testing.assert_array_equal(result.output, [[[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]])


def test_stacked_return_sequences_and_mask_propagation() -> None:
    x = random_inputs()
    x[0, :2] = 0.0  # padding that Masking turns into a mask
    x[1, 4:] = 0.0
    first = random_spec("gru", seed=7, name="first", return_sequences=True)
    second = random_spec("lstm", seed=8, name="second", features=UNITS, return_sequences=True)
    third = random_spec("simple_rnn", seed=9, name="third", features=UNITS)
    dense = DenseLayer("dense", np.random.default_rng(10).normal(size=(UNITS, 2)), None)
    layers = [
        MaskingLayer("masking"),
        IdentityLayer("dropout", "Dropout"),
        first,
        second,
        third,
        dense,
    ]
    results = run_reference(layers, x)
    assert [r.name for r in results] == [layer.name for layer in layers]
    expected_mask = np.ones((B, T), dtype=bool)
    expected_mask[0, :2] = expected_mask[1, 4:] = False
    masks = [r.mask for r in results]
    for mask in masks[:4]:
        np.testing.assert_array_equal(mask, expected_mask)
    assert masks[4] is None  # third has no return_sequences
    assert masks[5] is None

    # The same chain stepped through by hand.
    h1 = run_recurrent(first, x, mask=expected_mask).outputs
    h2 = run_recurrent(second, h1, mask=expected_mask).outputs
    h3 = run_recurrent(third, h2, mask=expected_mask).outputs[:, -1]
    np.testing.assert_array_equal(results[2].output, h1)
    np.testing.assert_array_equal(results[3].output, h2)
    np.testing.assert_array_equal(results[4].output, h3)
    # the reference computes in float32, this check in float64: near zero only atol holds
    np.testing.assert_allclose(results[5].output, h3 @ dense.kernel, rtol=1e-5, atol=1e-6)
    assert results[5].output.shape == (B, 2)


def test_run_reference_carries_state_between_calls() -> None:
    spec = random_spec("lstm", name="lstm", stateful=True)
    x = random_inputs()
    whole = run_reference([spec], x, dtype="float64")[0]
    first = run_reference([spec], x[:, :3], dtype="float64")[0]
    carried = {"lstm": {"forward": first.directions["forward"].final_states}}
    second = run_reference([spec], x[:, 3:], initial_states=carried, dtype="float64")[0]
    np.testing.assert_allclose(second.output, whole.output, rtol=1e-12)


def test_run_reference_go_backwards_output_is_in_processing_order() -> None:
    spec = random_spec("gru", go_backwards=True, return_sequences=True)
    x = random_inputs()
    result = run_reference([spec], x, mask=MASK)[0]
    np.testing.assert_array_equal(result.output, run_recurrent(spec, x, mask=MASK).outputs)
    # Keras passes the mask on unchanged, in input order.
    np.testing.assert_array_equal(result.mask, MASK)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_run_reference_dtype(dtype: str) -> None:
    layers = [
        bidirectional("gru", "concat", True),
        DenseLayer("dense", np.ones((2 * UNITS, 1)), np.ones(1), "sigmoid", time_distributed=True),
    ]
    results = run_reference(layers, random_inputs().astype(np.float64), dtype=dtype)
    assert {r.output.dtype for r in results} == {np.dtype(dtype)}


# Errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (np.zeros((B, T)), r"expected inputs of shape \(batch, timesteps >= 1, features=4\)"),
        (np.zeros((B, T, F + 1)), r"got shape \(3, 6, 5\)"),
        (np.zeros((B, 0, F)), "timesteps >= 1"),
    ],
)
def test_recurrent_rejects_bad_inputs(inputs: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_recurrent(random_spec("gru"), inputs)


def test_recurrent_rejects_a_mask_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, timesteps\) = \(3, 6\)"):
        run_recurrent(random_spec("gru"), random_inputs(), mask=MASK[:, :4])


def test_recurrent_rejects_bad_initial_states() -> None:
    spec = random_spec("lstm")
    with pytest.raises(ValueError, match="exactly the states hidden, cell; got hidden"):
        run_recurrent(spec, random_inputs(), initial_state={"hidden": np.zeros((B, UNITS))})
    bad_shape = {"hidden": np.zeros((B, UNITS)), "cell": np.zeros((B, 2))}
    with pytest.raises(ValueError, match=r"initial state 'cell' must have shape"):
        run_recurrent(spec, random_inputs(), initial_state=bad_shape)


def test_unknown_activation_is_unsupported() -> None:
    spec = random_spec("gru")
    spec = replace(spec, cell=replace(spec.cell, recurrent_activation="foo"))
    with pytest.raises(UnsupportedModelError, match="activation 'foo' is not supported"):
        run_recurrent(spec, random_inputs())


def test_dtype_must_be_float32_or_float64() -> None:
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        run_recurrent(random_spec("gru"), random_inputs(), dtype="float16")


def test_run_reference_rejects_bad_names_and_states() -> None:
    spec = random_spec("gru", name="gru")
    with pytest.raises(ValueError, match="layer names must be unique; repeated: gru"):
        run_reference([spec, spec], random_inputs())
    with pytest.raises(ValueError, match="given for other, which is not a recurrent layer"):
        run_reference([spec], random_inputs(), initial_states={"other": {}})
    with pytest.raises(ValueError, match=r"keyed by direction \(forward\); got backward"):
        run_reference([spec], random_inputs(), initial_states={"gru": {"backward": {}}})


def test_run_reference_rejects_a_layer_after_a_pair_output() -> None:
    layers = [bidirectional("gru", None, True), IdentityLayer("dropout", "Dropout")]
    with pytest.raises(UnsupportedModelError, match="follows Bidirectional 'bi' with merge_mode"):
        run_reference(layers, random_inputs())


def test_dense_rejects_a_feature_mismatch() -> None:
    spec = DenseLayer("dense", np.ones((3, 2)), None)
    with pytest.raises(ValueError, match=r"layer 'dense': expected inputs of shape"):
        run_dense(spec, np.ones((2, 4)))


def test_reference_does_not_import_keras_or_tensorflow() -> None:
    code = textwrap.dedent(
        """
        import sys
        import pytest_rnnparity.reference
        import pytest_rnnparity.reference.model
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tensorflow"))
        print(heavy)
        """
    )
    # `python -c` puts the working directory first on sys.path: run from the
    # directory that holds the package, wherever it is installed or checked out.
    package_root = Path(pytest_rnnparity.reference.__file__).resolve().parents[2]
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=package_root
    )
    assert completed.stdout.strip() == "[]"
