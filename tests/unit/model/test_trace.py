"""model/trace.py: a Keras model run so that every layer's output and every step can be read.

Small models with random non-zero weights. What the trace reads is checked against the
layer itself (called on the same inputs), so that a probe built wrong, or outputs read
at the wrong index, show.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.model.keras_version import keras_major
from pytest_rnnparity.model.reference_layers import describe_model
from pytest_rnnparity.model.trace import GRAPH_FROM_STEPS, TraceModel, concat_batches

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

BATCH, TIMESTEPS, FEATURES, UNITS = 4, 5, 3, 3
ATOL = 1e-6


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    yield
    try:  # without a gc.collect() (~0.3 s per test) where Keras can skip it
        keras.backend.clear_session(free_memory=False)
    except TypeError:
        keras.backend.clear_session()


def randomized(model: Any, seed: int = 0) -> Any:
    """``model`` with every weight drawn uniformly from [-0.5, 0.5]: no zero biases."""
    rng = np.random.default_rng(seed)
    model.set_weights(
        [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in model.get_weights()]
    )
    return model


def sequential(*layers: Any, timesteps: int = TIMESTEPS, batch_size: int | None = None) -> Any:
    inputs = keras.Input((timesteps, FEATURES), batch_size=batch_size)
    return randomized(keras.Sequential([inputs, *layers]))


def trace_of(model: Any, **options: Any) -> TraceModel:
    return TraceModel(model, describe_model(model, keras_major=keras_major(keras)), **options)


def windows(batch: int = BATCH, timesteps: int = TIMESTEPS, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, timesteps, FEATURES)).astype("float32")


def numpy(tensor: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(tensor) if hasattr(keras, "ops") else tensor)


def close(actual: Any, expected: Any) -> None:
    __tracebackhide__ = True
    np.testing.assert_allclose(actual, numpy(expected), atol=ATOL, rtol=0)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_the_probe_sequence_ends_in_the_layers_output(return_sequences: bool) -> None:
    model = sequential(
        keras.layers.GRU(UNITS, return_sequences=return_sequences), keras.layers.Dense(2)
    )
    x = windows()

    gru, dense = trace_of(model)(x)

    forward = gru.directions["forward"]
    real = numpy(model.layers[0](x))
    assert forward.sequence.shape == (BATCH, TIMESTEPS, UNITS)
    close(forward.sequence if return_sequences else forward.sequence[:, -1], real)
    close(gru.output, real)
    close(forward.final_states["hidden"], forward.sequence[:, -1])
    assert set(forward.final_states) == {"hidden"}
    assert dense.directions == {}
    close(dense.output, model(x))


def test_an_lstm_has_its_final_hidden_and_cell_state() -> None:
    model = sequential(keras.layers.LSTM(UNITS, return_sequences=True))
    x = windows()
    check = keras.layers.LSTM(UNITS, return_sequences=True, return_state=True)
    check(x)  # builds it
    check.set_weights(model.layers[0].get_weights())
    sequence, hidden, cell = check(x)

    (lstm,) = trace_of(model)(x)

    final = lstm.directions["forward"].final_states
    assert list(final) == ["hidden", "cell"]
    close(final["hidden"], hidden)
    close(final["cell"], cell)
    assert not np.allclose(final["hidden"], final["cell"], atol=1e-3)
    close(lstm.directions["forward"].sequence, sequence)


def test_both_directions_of_a_bidirectional_in_processing_order() -> None:
    model = sequential(keras.layers.Bidirectional(keras.layers.GRU(UNITS, return_sequences=True)))
    x = windows()
    merged = numpy(model(x))

    (bidirectional,) = trace_of(model)(x)

    forward = bidirectional.directions["forward"]
    backward = bidirectional.directions["backward"]
    close(bidirectional.output, merged)
    close(forward.sequence, merged[..., :UNITS])
    # the backward layer reads the window from its last step: its step 0 is time T-1
    close(backward.sequence[:, ::-1], merged[..., UNITS:])
    assert not np.allclose(backward.sequence, merged[..., UNITS:], atol=1e-3)
    close(backward.final_states["hidden"], merged[:, 0, UNITS:])
    close(forward.final_states["hidden"], merged[:, -1, :UNITS])


def test_a_bidirectional_without_merge_gives_both_outputs() -> None:
    model = sequential(keras.layers.Bidirectional(keras.layers.GRU(UNITS), merge_mode=None))
    x = windows()
    forward_output, backward_output = model.layers[0](x)

    (bidirectional,) = trace_of(model)(x)

    assert isinstance(bidirectional.output, tuple)
    close(bidirectional.output[0], forward_output)
    close(bidirectional.output[1], backward_output)
    close(bidirectional.directions["forward"].sequence[:, -1], forward_output)
    close(bidirectional.directions["backward"].sequence[:, -1], backward_output)


@pytest.mark.parametrize(
    ("layer", "runs_itself"),
    [
        (lambda: keras.layers.GRU(UNITS), False),
        (lambda: keras.layers.GRU(UNITS, return_sequences=True), False),
        (lambda: keras.layers.GRU(UNITS, return_sequences=True, zero_output_for_mask=True), False),
        (lambda: keras.layers.GRU(UNITS, zero_output_for_mask=True), True),
        (lambda: keras.layers.Bidirectional(keras.layers.GRU(UNITS)), True),
    ],
    ids=["last-step", "sequence", "sequence-zero-output", "last-step-zero-output", "bidirectional"],
)
def test_a_recurrent_layer_runs_itself_only_where_its_probe_cannot_stand_in(
    layer: Any, runs_itself: bool
) -> None:
    # With return_sequences=False and zero_output_for_mask, the output at a masked last
    # step need not be the probe's last step; elsewhere the probe's output feeds the next
    # layer and the layer itself is not run a second time.
    model = sequential(keras.layers.Masking(mask_value=0.0), layer(), keras.layers.Dense(1))
    x = windows()
    x[0, -2:] = 0.0  # row 0 is padded at its end
    x[1, :2] = 0.0  # row 1 at its start
    mask = np.any(x != 0.0, axis=-1)
    trace = trace_of(model)

    _, recurrent, dense = trace(x)

    real = model.layers[1]
    assert any(inner is real for inner in trace.model.layers) is runs_itself
    close(recurrent.output, real(x, mask=mask))
    close(dense.output, model(x))


def test_runs_eagerly_below_graph_from_steps_recurrent_steps() -> None:
    if keras_major(keras) >= 3 and keras.backend.backend() != "tensorflow":
        trace = trace_of(sequential(keras.layers.GRU(UNITS)), run_eagerly=False)
        assert trace.runs_eagerly(GRAPH_FROM_STEPS)  # a graph is TensorFlow's only
        return
    one = trace_of(sequential(keras.layers.GRU(UNITS)))
    assert one.runs_eagerly(GRAPH_FROM_STEPS - 1)
    assert not one.runs_eagerly(GRAPH_FROM_STEPS)
    # a Bidirectional runs two recurrent steps per timestep
    two = trace_of(sequential(keras.layers.Bidirectional(keras.layers.GRU(UNITS))))
    half = GRAPH_FROM_STEPS // 2
    assert two.runs_eagerly(half - 1)
    assert not two.runs_eagerly(half)


def test_run_eagerly_forces_either_way_with_the_same_numbers() -> None:
    model = sequential(keras.layers.GRU(UNITS, return_sequences=True), keras.layers.Dense(1))
    eager = trace_of(model, run_eagerly=True)
    graph = trace_of(model, run_eagerly=False)
    assert eager.runs_eagerly(10 * GRAPH_FROM_STEPS)
    if keras_major(keras) < 3 or keras.backend.backend() == "tensorflow":
        assert not graph.runs_eagerly(1)
    x = windows()
    for from_eager, from_graph in zip(eager(x), graph(x), strict=True):
        close(from_graph.output, from_eager.output)
        for direction, outputs in from_eager.directions.items():
            close(from_graph.directions[direction].sequence, outputs.sequence)


def test_reset_states_resets_a_stateful_model() -> None:
    model = sequential(keras.layers.GRU(UNITS, stateful=True), batch_size=BATCH)
    trace = trace_of(model)
    x = windows()

    (first,) = trace(x)
    (carried,) = trace(x)
    trace.reset_states()
    (again,) = trace(x)

    assert not np.allclose(carried.output, first.output, atol=1e-3)  # the state was carried
    close(again.output, first.output)
    close(again.directions["forward"].sequence, first.directions["forward"].sequence)


def test_concat_batches_joins_the_results_of_each_batch() -> None:
    model = sequential(
        keras.layers.Bidirectional(keras.layers.LSTM(UNITS, return_sequences=True), merge_mode=None)
    )
    trace = trace_of(model)
    x = windows(batch=5)
    chunks = [trace(x[:2]), trace(x[2:])]

    (joined,) = concat_batches(chunks)
    (whole,) = trace(x)

    assert joined.name == whole.name
    assert isinstance(joined.output, tuple)
    assert isinstance(whole.output, tuple)
    for part, expected in zip(joined.output, whole.output, strict=True):
        assert part.shape == (5, TIMESTEPS, UNITS)
        close(part, expected)
    for direction in ("forward", "backward"):
        close(joined.directions[direction].sequence, whole.directions[direction].sequence)
        for state in ("hidden", "cell"):
            close(
                joined.directions[direction].final_states[state],
                whole.directions[direction].final_states[state],
            )
    assert concat_batches(chunks[:1]) is chunks[0]
