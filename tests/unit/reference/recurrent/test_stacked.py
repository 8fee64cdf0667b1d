"""``RNN(StackedRNNCells)`` reference against real Keras: per-step outputs, final states, traces.

The last cell's per-step output and every cell's final states come from Keras'
``return_sequences=True, return_state=True``; what each cell computed at every step
(masked steps included) is recorded from inside Keras' loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.reference.recurrent.stacked import StackedCell, run_stacked_cells
from pytest_rnnparity.reference.types import GATES, STATE_NAMES, CellConfig, CellKind, CellWeights

from ...helpers import clear_session, dtype_name, initial_state_tensors, keras_major

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

B, T, F = 3, 5, 3
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}
# Row 0 right padding, row 1 left padding, row 2 mixed.
MASK = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 0, 1, 0, 1]], dtype=bool)
KIND_OF = {"GRUCell": "gru", "LSTMCell": "lstm", "SimpleRNNCell": "simple_rnn"}

#: Cell mixes, bottom first: (Keras cell class, units, options).
STACKS: dict[str, list[tuple[str, int, dict[str, Any]]]] = {
    "gru-lstm": [("GRUCell", 4, {}), ("LSTMCell", 3, {})],
    "lstm-gru_reset_before-simple": [
        ("LSTMCell", 3, {}),
        ("GRUCell", 4, {"reset_after": False}),
        ("SimpleRNNCell", 2, {}),
    ],
    "simple_relu-gru_no_bias": [
        ("SimpleRNNCell", 4, {"activation": "relu"}),
        ("GRUCell", 3, {"use_bias": False}),
    ],
    "gru_reset_before_no_bias-lstm_no_bias-activations": [
        ("GRUCell", 3, {"reset_after": False, "use_bias": False, "activation": "elu"}),
        ("LSTMCell", 4, {"use_bias": False, "recurrent_activation": "hard_sigmoid"}),
    ],
    "single_lstm": [("LSTMCell", 3, {})],
}


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    yield
    clear_session(keras)


def build(stack: str, dtype: str, seed: int = 0, **options: Any) -> Any:
    """``keras.layers.RNN`` over the stack, with random non-zero weights and biases."""
    cells = [
        getattr(keras.layers, name)(units, dtype=dtype, **cell_options)
        for name, units, cell_options in STACKS[stack]
    ]
    # RNN(list) would wrap the cells in a StackedRNNCells of the default float32
    # policy, which casts every step's inputs and states to float32 (see below).
    stacked = keras.layers.StackedRNNCells(cells, dtype=dtype)
    layer = keras.layers.RNN(
        stacked, return_sequences=True, return_state=True, dtype=dtype, **options
    )
    layer.build((B, T, F))
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.assign(
            rng.uniform(-0.8, 0.8, size=variable.shape).astype(dtype_name(variable.dtype))
        )
    return layer


def reference_cells(layer: Any) -> list[StackedCell]:
    """Each Keras cell as the reference's config and per-gate weights."""
    stack = []
    for cell in layer.cell.cells:
        kind: CellKind = KIND_OF[type(cell).__name__]  # type: ignore[assignment]
        reset_after = bool(getattr(cell, "reset_after", True))
        config = CellConfig(
            kind,
            cell.units,
            activation=keras.activations.serialize(cell.activation),
            recurrent_activation=(
                keras.activations.serialize(cell.recurrent_activation)
                if kind != "simple_rnn"
                else None
            ),
            use_bias=cell.use_bias,
            reset_after=reset_after,
        )
        stack.append(StackedCell(config, per_gate(kind, cell)))
    return stack


def per_gate(kind: CellKind, cell: Any) -> CellWeights:
    units = cell.units

    def blocks(array: Any) -> dict[str, np.ndarray]:
        array = np.asarray(array)
        return {g: array[..., i * units : (i + 1) * units] for i, g in enumerate(GATES[kind])}

    bias = None if cell.bias is None else np.asarray(cell.bias)
    two_rows = bias is not None and bias.ndim == 2
    return CellWeights(
        kind=kind,
        kernel=blocks(cell.kernel),
        recurrent_kernel=blocks(cell.recurrent_kernel),
        input_bias=None if bias is None else blocks(bias[0] if two_rows else bias),
        recurrent_bias=blocks(bias[1]) if two_rows else None,
    )


def flatten(structure: Any) -> list[np.ndarray]:
    if isinstance(structure, (list, tuple)):
        return [array for item in structure for array in flatten(item)]
    return [np.asarray(structure)]


def random_states(layer: Any, dtype: str, seed: int = 11) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        {
            name: rng.normal(size=(B, cell.units)).astype(dtype)
            for name in STATE_NAMES[KIND_OF[type(cell).__name__]]
        }
        for cell in layer.cell.cells
    ]


def keras_initial(states: list[dict[str, np.ndarray]]) -> list[Any]:
    """Keras wants the initial states nested per cell, like it returns them.

    Keras 2 takes a one-state cell's state bare (``[[h, c], h]``), as the plugin's
    built models pass it: its masked loop refuses ``[h]`` (see the test below).
    """
    nested = [initial_state_tensors(keras, list(cell_states.values())) for cell_states in states]
    if keras_major(keras) >= 3:
        return nested
    return [cell_states[0] if len(cell_states) == 1 else cell_states for cell_states in nested]


def assert_close(actual: np.ndarray, expected: Any, dtype: str) -> None:
    assert actual.dtype == np.dtype(dtype)
    np.testing.assert_allclose(actual, np.asarray(expected), rtol=0, atol=TOLERANCE[dtype])


OPTIONS: dict[str, dict[str, Any]] = {
    "plain": {},
    "go_backwards": {"layer": {"go_backwards": True}},
    "mask": {"mask": True},
    "mask-go_backwards": {"mask": True, "layer": {"go_backwards": True}},
    "initial_states": {"initial_states": True},
    "mask-initial_states-zero_output": {
        "mask": True,
        "initial_states": True,
        "layer": {"zero_output_for_mask": True},
    },
    "mask-unroll": {"mask": True, "layer": {"unroll": True}},
}


def keras_fails(stack: str, options: str) -> bool:
    """Keras 3 bug: a one-cell stack of a multi-state cell breaks its masked while loop.

    ``StackedRNNCells.call`` unwraps the list of new states when there is one cell,
    so ``[[h, c]]`` comes back as ``[h, c]`` and ``tf.while_loop`` refuses the
    changed structure. The unrolled loop packs by the old structure and works.
    Keras 2's ``StackedRNNCells`` keeps the nesting.
    """
    case = OPTIONS[options]
    unrolled = case.get("layer", {}).get("unroll", False)
    single_masked = stack == "single_lstm" and case.get("mask", False) and not unrolled
    return single_masked and keras_major(keras) >= 3


GRID = [
    pytest.param(stack, options, id=f"{stack}-{options}")
    for stack in STACKS
    for options in OPTIONS
    if not keras_fails(stack, options)
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("stack", "options"), GRID)
def test_stacked_cells_match_keras(stack: str, options: str, dtype: str) -> None:
    case = OPTIONS[options]
    layer_options = case.get("layer", {})
    layer = build(stack, dtype, **layer_options)
    x = np.random.default_rng(1).normal(size=(B, T, F)).astype(dtype)
    mask = MASK if case.get("mask") else None
    states = random_states(layer, dtype) if case.get("initial_states") else None

    sequence, *keras_states = layer(
        x, mask=mask, initial_state=None if states is None else keras_initial(states)
    )
    result = run_stacked_cells(
        reference_cells(layer),
        x,
        keras_major=keras_major(keras),
        mask=mask,
        initial_states=states,
        return_sequences=True,
        return_state=True,
        go_backwards=layer_options.get("go_backwards", False),
        zero_output_for_mask=layer_options.get("zero_output_for_mask", False),
        dtype=dtype,
    )

    assert_close(result.output, sequence, dtype)
    # Keras nests the returned states per cell: [out, [h1], [h2, c2], ...] eagerly.
    assert len(keras_states) == len(result.states)
    for expected, actual in zip(keras_states, result.states, strict=True):
        assert len(flatten(expected)) == len(actual)
        for expected_state, state in zip(flatten(expected), actual, strict=True):
            assert_close(state, expected_state, dtype)
    np.testing.assert_array_equal(result.cells[-1].outputs, result.output)
    if mask is None:
        assert result.mask is None
    else:
        np.testing.assert_array_equal(result.mask, mask)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_masked_single_lstm_stack_where_keras_fails(dtype: str) -> None:
    """Keras 3 raises (see ``keras_fails``); the reference equals Keras' plain RNN(LSTMCell)."""
    layer = build("single_lstm", dtype)
    x = np.random.default_rng(5).normal(size=(B, T, F)).astype(dtype)
    if keras_major(keras) >= 3:
        with pytest.raises(ValueError, match="same nested structure"):
            layer(x, mask=MASK)
        stacked = None
    else:  # Keras 2 runs the stack: it equals the plain RNN, and the reference
        stacked, *_ = layer(x, mask=MASK)
    plain = keras.layers.RNN(
        layer.cell.cells[0], return_sequences=True, return_state=True, dtype=dtype
    )

    sequence, h, c = plain(x, mask=MASK)
    result = run_stacked_cells(
        reference_cells(layer),
        x,
        keras_major=keras_major(keras),
        mask=MASK,
        return_sequences=True,
        return_state=True,
        dtype=dtype,
    )

    assert_close(result.output, sequence, dtype)
    assert_close(result.states[0][0], h, dtype)
    assert_close(result.states[0][1], c, dtype)
    if stacked is not None:
        assert_close(result.output, stacked, dtype)


def test_keras_2_masked_loop_refuses_a_one_state_cells_state_in_a_list() -> None:
    """Keras 2 limitation: under a mask, ``initial_state=[[h, c], [h]]`` breaks its loop.

    Its cells return a one-state cell's new state bare, and ``tf.while_loop`` refuses
    the changed structure; ``[[h, c], h]`` runs. Keras 3 takes both.
    """
    layer = build("lstm-gru_reset_before-simple", "float32")
    x = np.random.default_rng(5).normal(size=(B, T, F)).astype("float32")
    states = random_states(layer, "float32")
    in_lists = [initial_state_tensors(keras, list(cell.values())) for cell in states]
    if keras_major(keras) >= 3:
        layer(x, mask=MASK, initial_state=in_lists)
    else:
        with pytest.raises(ValueError, match="same nested structure"):
            layer(x, mask=MASK, initial_state=in_lists)
        layer(x, initial_state=in_lists)  # without a mask, Keras 2 takes them too
    layer(x, mask=MASK, initial_state=keras_initial(states))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("zero_output_for_mask", [False, True], ids=["repeat", "zero_output"])
def test_fully_masked_sequence_matches_keras(zero_output_for_mask: bool, dtype: str) -> None:
    """Keras: a sequence with every step masked outputs zeros and keeps its initial states."""
    layer = build("lstm-gru_reset_before-simple", dtype, zero_output_for_mask=zero_output_for_mask)
    x = np.random.default_rng(6).normal(size=(B, T, F)).astype(dtype)
    states = random_states(layer, dtype)
    mask = MASK.copy()
    mask[1] = False

    sequence, *keras_states = layer(x, mask=mask, initial_state=keras_initial(states))
    result = run_stacked_cells(
        reference_cells(layer),
        x,
        keras_major=keras_major(keras),
        mask=mask,
        initial_states=states,
        return_sequences=True,
        return_state=True,
        zero_output_for_mask=zero_output_for_mask,
        dtype=dtype,
    )

    assert_close(result.output, sequence, dtype)
    np.testing.assert_array_equal(result.output[1], 0.0)
    for k, (expected, actual) in enumerate(zip(keras_states, result.states, strict=True)):
        for name, expected_state, state in zip(states[k], flatten(expected), actual, strict=True):
            assert_close(state, expected_state, dtype)
            np.testing.assert_array_equal(state[1], states[k][name][1])


def test_functional_model_returns_one_state_cells_bare() -> None:
    """The same states, but a symbolic model unwraps a GRU's single state."""
    layer = build("gru-lstm", "float32")
    x_in = keras.Input((T, F))
    model = keras.Model(x_in, layer(x_in))
    x = np.random.default_rng(2).normal(size=(B, T, F)).astype("float32")

    _, gru_state, lstm_states = model(x)
    result = run_stacked_cells(
        reference_cells(layer), x, keras_major=keras_major(keras), return_state=True
    )

    assert not isinstance(gru_state, list)
    assert_close(result.states[0][0], gru_state, "float32")
    assert isinstance(lstm_states, list)
    assert_close(result.states[1][0], lstm_states[0], "float32")
    assert_close(result.states[1][1], lstm_states[1], "float32")


def test_rnn_over_a_list_of_float64_cells_rounds_every_step_to_float32() -> None:
    """Keras quirk: ``RNN([cells], dtype="float64")`` builds a float32 StackedRNNCells.

    Its ``__call__`` casts the step's inputs and states to float32 before the
    float64 cells see them, so the result is off by float32 rounding (~1e-8), not
    by float64's ~1e-16. The reference computes in float64 throughout.
    """
    cells = [keras.layers.GRUCell(4, dtype="float64"), keras.layers.LSTMCell(3, dtype="float64")]
    layer = keras.layers.RNN(cells, return_sequences=True, dtype="float64")
    layer.build((B, T, F))
    rng = np.random.default_rng(0)
    for variable in layer.weights:
        variable.assign(rng.uniform(-0.8, 0.8, size=variable.shape))
    x = np.random.default_rng(1).normal(size=(B, T, F))

    expected = np.asarray(layer(x))
    result = run_stacked_cells(
        reference_cells(layer),
        x,
        keras_major=keras_major(keras),
        return_sequences=True,
        dtype="float64",
    )

    assert layer.cell.compute_dtype == "float32"
    error = np.abs(result.output - expected).max()
    assert 1e-12 < error < 1e-6


def recording(cell: Any, calls: list[tuple[np.ndarray, list[np.ndarray]]]) -> Callable[..., Any]:
    """Wrap a Keras cell's ``call`` to record its input and the new states it returns."""
    call = cell.call

    def record(inputs: Any, states: Any, **kwargs: Any) -> Any:
        output, new_states = call(inputs, states, **kwargs)
        calls.append((np.asarray(inputs), flatten(new_states)))
        return output, new_states

    return record


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "go_backwards"])
def test_gate_traces_at_masked_steps_are_what_keras_computed(
    go_backwards: bool, dtype: str
) -> None:
    """Record every cell call inside Keras' loop, masked steps included.

    The input each higher cell received is ``passed_up`` (the discarded new hidden
    state of the cell below at masked steps); the new states each cell computed,
    before the mask, follow from the gate traces and the carried previous states.
    """
    layer = build("lstm-gru_reset_before-simple", dtype, go_backwards=go_backwards)
    calls: list[list[tuple[np.ndarray, list[np.ndarray]]]] = [[] for _ in layer.cell.cells]
    for cell, cell_calls in zip(layer.cell.cells, calls, strict=True):
        cell.call = recording(cell, cell_calls)
    x = np.random.default_rng(3).normal(size=(B, T, F)).astype(dtype)
    states = random_states(layer, dtype)

    layer(x, mask=MASK, initial_state=keras_initial(states))
    result = run_stacked_cells(
        reference_cells(layer),
        x,
        keras_major=keras_major(keras),
        mask=MASK,
        initial_states=states,
        go_backwards=go_backwards,
        dtype=dtype,
    )

    # Keras calls each cell once more before the loop for dropout masks, once for
    # the output signature; the last T calls are the steps.
    steps = [cell_calls[-T:] for cell_calls in calls]
    lstm, gru, simple = result.cells
    for t in range(T):
        assert_close(result.passed_up[0][:, t], steps[1][t][0], dtype)
        assert_close(result.passed_up[1][:, t], steps[2][t][0], dtype)
    c_tm1 = previous(lstm.traces["cell"], states[0]["cell"])
    computed_c = lstm.traces["forget"] * c_tm1 + lstm.traces["input"] * lstm.traces["candidate"]
    computed_h = lstm.traces["output"] * np.tanh(computed_c)
    h_tm1 = previous(gru.traces["hidden"], states[1]["hidden"])
    z = gru.traces["update"]
    computed_gru_h = z * h_tm1 + (1 - z) * gru.traces["candidate"]
    for t in range(T):
        keras_h, keras_c = steps[0][t][1]
        assert_close(computed_h[:, t], keras_h, dtype)
        assert_close(computed_c[:, t], keras_c, dtype)
        assert_close(computed_gru_h[:, t], steps[1][t][1][0], dtype)
    # At masked steps the hidden trace holds the carried state, not what was passed up.
    processing_mask = MASK[:, ::-1] if go_backwards else MASK
    masked = ~processing_mask
    assert np.abs(lstm.traces["hidden"][masked] - result.passed_up[0][masked]).min() > 0
    np.testing.assert_array_equal(
        lstm.traces["hidden"][processing_mask], result.passed_up[0][processing_mask]
    )
    assert simple.traces.keys() == {"hidden"}


def previous(trace: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """The carried state each step started from: the initial state, then the trace."""
    return np.concatenate([initial[:, np.newaxis], trace[:, :-1]], axis=1)


def test_return_options_hidden_only_and_mask() -> None:
    rng = np.random.default_rng(4)
    layer = build("gru-lstm", "float64")
    cells = reference_cells(layer)
    x = rng.normal(size=(B, T, F))

    last = run_stacked_cells(cells, x, mask=MASK, dtype="float64")
    sequences = run_stacked_cells(
        cells, x, mask=MASK, return_sequences=True, hidden_only=True, dtype="float64"
    )

    assert last.output.shape == (B, 3)
    assert last.states == ()
    assert last.mask is None
    np.testing.assert_array_equal(last.output, sequences.output[:, -1])
    assert [set(cell.traces) for cell in sequences.cells] == [{"hidden"}, {"hidden"}]
    np.testing.assert_array_equal(
        sequences.cells[1].traces["hidden"], last.cells[1].traces["hidden"]
    )
    assert len(last.passed_up) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cells": []}, "no cells"),
        ({"inputs": np.zeros((B, T))}, r"expected inputs of shape"),
        ({"inputs": np.zeros((B, T, F + 1))}, r"features=3"),
        ({"mask": np.ones((B, T - 1))}, "mask must have shape"),
        ({"initial_states": [{"hidden": np.zeros((B, 4))}]}, "one mapping per cell"),
        (
            {"initial_states": [{"hidden": np.zeros((B, 4))}, {"hidden": np.zeros((B, 3))}]},
            "exactly the states hidden, cell",
        ),
        (
            {
                "initial_states": [
                    {"hidden": np.zeros((B, 3))},
                    {"hidden": np.zeros((B, 3)), "cell": np.zeros((B, 3))},
                ]
            },
            r"must have shape \(3, 4\)",
        ),
    ],
    ids=["empty", "inputs_rank", "features", "mask", "states_count", "state_names", "state_shape"],
)
def test_shapes_that_do_not_fit_raise(change: dict[str, Any], message: str) -> None:
    layer = build("gru-lstm", "float64")
    arguments: dict[str, Any] = {
        "cells": reference_cells(layer),
        "inputs": np.zeros((B, T, F)),
        **change,
    }
    with pytest.raises(ValueError, match=message):
        run_stacked_cells(**arguments)


def test_cells_that_do_not_chain_raise() -> None:
    gru, _ = reference_cells(build("gru-lstm", "float64"))  # takes 3 features, has 4 units
    with pytest.raises(ValueError, match=r"cell 1 \(gru\) takes 3 features, but cell 0 outputs 4"):
        run_stacked_cells([gru, gru], np.zeros((B, T, F)))
