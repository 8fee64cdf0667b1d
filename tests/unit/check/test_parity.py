"""check_parity against real Keras: every option, the Keras fixture, the classic mistakes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity import check_parity
from pytest_rnnparity.check import parity as parity_module
from pytest_rnnparity.errors import ParityError, UnsupportedModelError
from pytest_rnnparity.model import capture as capture_module
from pytest_rnnparity.reference import graph as graph_module
from pytest_rnnparity.reference.recurrent import cells
from pytest_rnnparity.reference.types import CellWeights, RecurrentLayer
from pytest_rnnparity.report.parity import checked_lines

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    yield
    keras.backend.clear_session()


def randomize(model: Any, seed: int = 7, scale: float = 0.6) -> Any:
    """Asymmetric, non-zero weights and biases for every layer."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        arrays = layer.get_weights()
        layer.set_weights(
            [rng.uniform(-scale, scale, size=a.shape).astype(a.dtype) for a in arrays]
        )
    return model


def sequential(
    *layers: Any, timesteps: int = 6, features: int = 3, batch_size: int | None = None
) -> Any:
    return keras.Sequential([keras.Input((timesteps, features), batch_size=batch_size), *layers])


def functional(last: Any, timesteps: int = 6, features: int = 3) -> Any:
    """A model whose last layer has several outputs (Keras 2's Sequential refuses those)."""
    x_in = keras.Input((timesteps, features))
    return keras.Model(x_in, last(x_in))


def inputs(batch: int = 5, timesteps: int = 6, features: int = 3, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, timesteps, features)).astype("float32")


# -- Keras' own GRU fixture (constant weights: a sanity check only) ------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"reset_after": True}, [0.5217289, 0.6371659, 0.39384964]),
        ({"reset_after": False}, [0.51447755, 0.6426879, 0.40208298]),
        ({"reset_after": True, "go_backwards": True}, [0.24406259, 0.611516, 0.3928808]),
    ],
    ids=["reset_after", "reset_before", "go_backwards"],
)
def test_keras_constant_fixture(options: dict[str, bool], expected: list[float]) -> None:
    layer = keras.layers.GRU(
        3,
        kernel_initializer=keras.initializers.Constant(0.01),
        recurrent_initializer=keras.initializers.Constant(0.02),
        bias_initializer=keras.initializers.Constant(0.03),
        **options,
    )
    model = sequential(layer, timesteps=6, features=4)
    x = np.arange(72).reshape(3, 6, 4).astype("float32")
    result = check_parity(model, x)
    last = result.reference[0].output
    np.testing.assert_allclose(last, np.repeat(np.array(expected)[:, None], 3, axis=1), atol=1e-6)


# -- every option, random non-zero weights and biases --------------------------------------

MODELS: dict[str, Callable[[], Any]] = {
    "gru_reset_after": lambda: sequential(keras.layers.GRU(4), keras.layers.Dense(1)),
    "gru_reset_before": lambda: sequential(
        keras.layers.GRU(4, reset_after=False), keras.layers.Dense(2)
    ),
    "gru_no_bias": lambda: sequential(keras.layers.GRU(4, use_bias=False)),
    "lstm": lambda: sequential(keras.layers.LSTM(5), keras.layers.Dense(1)),
    "lstm_no_bias": lambda: sequential(keras.layers.LSTM(3, use_bias=False)),
    "simple_rnn": lambda: sequential(keras.layers.SimpleRNN(4, activation="relu")),
    "hard_sigmoid_gelu": lambda: sequential(
        keras.layers.GRU(4, activation="gelu", recurrent_activation="hard_sigmoid")
    ),
    "softsign_swish": lambda: sequential(
        keras.layers.LSTM(4, activation="softsign", recurrent_activation="swish")
    ),
    "elu_selu_linear_relu6": lambda: sequential(
        keras.layers.GRU(3, activation="elu", return_sequences=True),
        keras.layers.SimpleRNN(3, activation="selu", return_sequences=True),
        keras.layers.LSTM(2, activation="linear", recurrent_activation="relu6"),
    ),
    "stacked_return_sequences": lambda: sequential(
        keras.layers.GRU(4, return_sequences=True),
        keras.layers.LSTM(3, return_sequences=True),
        keras.layers.SimpleRNN(2),
        keras.layers.Dense(1, activation="tanh"),
    ),
    "go_backwards": lambda: sequential(
        keras.layers.SimpleRNN(3, go_backwards=True, return_sequences=True)
    ),
    "lstm_go_backwards": lambda: sequential(keras.layers.LSTM(3, go_backwards=True)),
    "return_state": lambda: functional(keras.layers.LSTM(3, return_state=True)),
    "time_distributed_dropout": lambda: sequential(
        keras.layers.LSTM(4, return_sequences=True, dropout=0.5, recurrent_dropout=0.5),
        keras.layers.Dropout(0.3),
        keras.layers.TimeDistributed(keras.layers.Dense(2, activation="relu")),
    ),
    "rnn_wrapper_cell": lambda: sequential(keras.layers.RNN(keras.layers.GRUCell(3))),
    **{
        f"bidirectional_{mode}": (
            lambda mode=mode: sequential(
                keras.layers.Bidirectional(
                    keras.layers.GRU(3, return_sequences=True), merge_mode=mode
                ),
                keras.layers.Bidirectional(keras.layers.LSTM(2), merge_mode=mode),
            )
        )
        for mode in ("concat", "sum", "mul", "ave")
    },
    "bidirectional_none": lambda: functional(
        keras.layers.Bidirectional(keras.layers.LSTM(2), merge_mode=None)
    ),
}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize(
    ("dtype", "run_eagerly"),
    [("float32", True), ("float64", True), ("float32", False)],
    ids=["float32-eager", "float64-eager", "float32-graph"],
)
def test_parity_holds_for_every_option(name: str, dtype: str, run_eagerly: bool) -> None:
    model = randomize(MODELS[name]())
    result = check_parity(model, inputs(), dtype=dtype, run_eagerly=run_eagerly)
    assert result.ok
    assert result.run_eagerly is (run_eagerly or keras.backend.backend() != "tensorflow")
    for c, layer in ((c, c.layer) for c in result.comparisons):
        assert c.max_abs < 2e-6 or c.max_rel < 2e-6, (layer, c.label, c.max_abs, c.max_rel)
    recurrent = [layer for layer in result.reference if layer.directions]
    assert recurrent, "every model here has a recurrent layer"
    for layer in recurrent:
        for trace in layer.directions.values():
            assert trace.traces["hidden"].dtype == np.dtype(dtype)


def test_every_step_and_final_cell_state_are_compared() -> None:
    model = randomize(sequential(keras.layers.LSTM(3), keras.layers.Dense(1)))
    result = check_parity(model, inputs(batch=2))
    labels = [(c.layer, c.label, c.shape) for c in result.comparisons]
    name = model.layers[0].name
    dense = model.layers[1].name
    assert labels == [
        (name, "hidden", (2, 6, 3)),
        (name, "final hidden", (2, 3)),
        (name, "final cell", (2, 3)),
        (name, "output", (2, 3)),
        (dense, "output", (2, 1)),
    ]
    gates = result.reference[0].directions["forward"].traces
    assert sorted(gates) == sorted(["input", "forget", "candidate", "output", "cell", "hidden"])
    assert all(v.shape == (2, 6, 3) for v in gates.values())


@pytest.mark.parametrize("run_eagerly", [True, False], ids=["eager", "graph"])
def test_masking_layer_and_zero_padding(run_eagerly: bool) -> None:
    model = randomize(
        sequential(
            keras.layers.Masking(0.0),
            keras.layers.GRU(4, return_sequences=True),
            keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True)),
            keras.layers.SimpleRNN(2, go_backwards=True),
        )
    )
    x = inputs(batch=4)
    x[0, :2] = 0.0  # leading padding
    x[1, -3:] = 0.0  # trailing padding
    x[2, 3] = 0.0  # a hole
    result = check_parity(model, x, run_eagerly=run_eagerly)
    assert result.ok
    gru = result.reference[1]
    hidden = gru.directions["forward"].outputs
    np.testing.assert_array_equal(hidden[0, :2], 0.0)  # zeros before the first real step
    np.testing.assert_array_equal(hidden[1, -3:], np.repeat(hidden[1, 2:3], 3, axis=0))


@pytest.mark.parametrize("run_eagerly", [True, False], ids=["eager", "graph"])
def test_explicit_mask_and_zero_output_for_mask(run_eagerly: bool) -> None:
    model = randomize(
        sequential(keras.layers.GRU(3, return_sequences=True, zero_output_for_mask=True))
    )
    mask = np.ones((5, 6), dtype=bool)
    mask[0, 4:] = False
    mask[3, 1] = False
    result = check_parity(model, inputs(), mask=mask, run_eagerly=run_eagerly)
    assert result.ok
    np.testing.assert_array_equal(result.reference[0].output[0, 4:], 0.0)


@pytest.mark.parametrize("run_eagerly", [True, False], ids=["eager", "graph"])
def test_stateful_layer_carries_state_between_batches(run_eagerly: bool) -> None:
    model = randomize(
        sequential(
            keras.layers.GRU(4, stateful=True), keras.layers.Dense(1), batch_size=1, timesteps=2
        )
    )
    x = inputs(batch=6, timesteps=2)
    result = check_parity(model, x, run_eagerly=run_eagerly)
    assert result.ok
    # the same windows through a fresh, stateless reference would differ from row 1 on
    stateless = randomize(sequential(keras.layers.GRU(4), keras.layers.Dense(1), timesteps=2))
    other = check_parity(stateless, x)
    np.testing.assert_allclose(
        other.reference[1].output[0], result.reference[1].output[0], atol=1e-6
    )
    assert not np.allclose(other.reference[1].output[1:], result.reference[1].output[1:], atol=1e-3)


def test_functional_single_chain_is_supported() -> None:
    x_in = keras.Input((6, 3))
    h = keras.layers.GRU(4, return_sequences=True)(x_in)
    out = keras.layers.Dense(1)(keras.layers.LSTM(2)(h))
    model = randomize(keras.Model(x_in, out))
    assert check_parity(model, inputs()).ok


def test_a_branching_model_is_checked_end_to_end() -> None:
    x_in = keras.Input((6, 3))
    a = keras.layers.GRU(4, name="left")(x_in)
    b = keras.layers.GRU(4, name="right")(x_in)
    model = randomize(keras.Model(x_in, keras.layers.Add(name="add")([a, b])))
    result = check_parity(model, inputs())
    assert result.ok
    assert [layer.name for layer in result.layers] == ["left", "right", "add"]
    assert result.opaque == ()
    assert [(c.layer, c.quantity) for c in result.comparisons if c.layer == "add"] == [
        ("add", "output")
    ]
    # the model's own output, not a reconstruction
    np.testing.assert_array_equal(result.model_outputs[0], model(inputs()).numpy())


class Doubler(keras.layers.Layer):  # type: ignore[misc]
    """A custom layer: the reference has no equations for it."""

    def call(self, x: Any) -> Any:
        return 2.0 * x


def test_a_custom_layer_is_opaque_and_named() -> None:
    model = randomize(sequential(Doubler(name="twice"), keras.layers.GRU(2)))
    result = check_parity(model, inputs())
    assert result.ok
    (twice,) = result.opaque
    assert (twice.name, twice.class_name) == ("twice", "Doubler")
    assert twice.reason == "a custom layer: the reference has no equations for it"
    # the GRU is checked on the inputs the custom layer fed it
    assert [c.quantity for c in result.comparisons if c.layer == model.layers[1].name] == [
        "hidden",
        "final hidden",
        "output",
    ]
    assert checked_lines(result)[-2:] == [
        "Not computed independently (the end-to-end pass took Keras' output there):",
        f"  'twice' (Doubler): {twice.reason}",
    ]


@pytest.mark.filterwarnings("ignore:The object being serialized includes a `lambda`")
def test_a_recurrent_layer_the_reference_cannot_compute_is_refused_never_opaque() -> None:
    model = sequential(keras.layers.GRU(2, activation=lambda t: t * 2.0, name="custom"))
    with pytest.raises(UnsupportedModelError) as excinfo:
        check_parity(model, inputs())
    assert str(excinfo.value) == (
        "layer 'custom': activation a lambda is not a built-in activation"
    )


# -- the classic mistakes are caught and located -------------------------------------------


def _swap(mapping: Any, a: str, b: str) -> dict[str, Any]:
    swapped = dict(mapping)
    swapped[a], swapped[b] = mapping[b], mapping[a]
    return swapped


def _with_weights(transform: Callable[[CellWeights], CellWeights]) -> Callable[..., Any]:
    """A describer that hands the reference the layer's weights with a mistake in them."""
    original = capture_module.describe_layer_or_none

    def describe(layer: Any, **kwargs: Any) -> Any:
        described = original(layer, **kwargs)
        if isinstance(described, RecurrentLayer):
            return dataclasses.replace(described, weights=transform(described.weights))
        return described

    return describe


WEIGHT_MISTAKES: dict[str, Callable[[CellWeights], CellWeights]] = {
    "z_and_r_swapped": lambda w: dataclasses.replace(
        w,
        kernel=_swap(w.kernel, "z", "r"),
        recurrent_kernel=_swap(w.recurrent_kernel, "z", "r"),
        input_bias=_swap(w.input_bias, "z", "r"),
        recurrent_bias=_swap(w.recurrent_bias, "z", "r"),
    ),
    "bias_rows_swapped": lambda w: dataclasses.replace(
        w, input_bias=w.recurrent_bias, recurrent_bias=w.input_bias
    ),
    "recurrent_bias_dropped": lambda w: dataclasses.replace(
        w,
        recurrent_bias={g: np.zeros_like(b) for g, b in w.recurrent_bias.items()},  # type: ignore[union-attr]
    ),
    "kernel_transposed": lambda w: dataclasses.replace(
        w,
        kernel={g: k.T for g, k in w.kernel.items()},
        recurrent_kernel={g: u.T for g, u in w.recurrent_kernel.items()},
    ),
}


def _gru_model() -> Any:
    # features == units so that a transposed kernel still has a valid shape
    return randomize(
        sequential(keras.layers.GRU(3, name="gru"), keras.layers.Dense(1, name="head"))
    )


@pytest.mark.parametrize("mistake", sorted(WEIGHT_MISTAKES))
def test_weight_layout_mistakes_are_caught(mistake: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        capture_module, "describe_layer_or_none", _with_weights(WEIGHT_MISTAKES[mistake])
    )
    with pytest.raises(ParityError) as excinfo:
        check_parity(_gru_model(), inputs())
    message = str(excinfo.value)
    assert "First: layer 'gru' (GRU, layer 1 of 2), hidden state (every timestep)" in message
    assert "  at timestep 0, row 0, unit" in message or "  at timestep 0, row" in message


def _reset_before(
    matrix_x_t: Any, h_tm1: Any, recurrent_kernel: Any, recurrent_bias: Any = None, **kw: Any
) -> Any:
    """The notebook's candidate: reset applied to h_tm1 before the matmul, recurrent bias added."""
    units = h_tm1.shape[-1]
    right = _ORIGINAL_GRU_STEP(matrix_x_t, h_tm1, recurrent_kernel, recurrent_bias, **kw)
    x_h = matrix_x_t[:, 2 * units :]
    hh = kw["activation"](
        x_h + (right.reset * h_tm1) @ recurrent_kernel[:, 2 * units :] + recurrent_bias[2 * units :]
    )
    h = right.update * h_tm1 + (1 - right.update) * hh
    return cells.GRUStep(right.update, right.reset, hh, h)


def _update_inverted(*args: Any, **kw: Any) -> Any:
    """The notebook's update rule: h = (1 - z) * h_tm1 + z * hh."""
    right = _ORIGINAL_GRU_STEP(*args, **kw)
    h_tm1 = args[1]
    h = (1 - right.update) * h_tm1 + right.update * right.candidate
    return cells.GRUStep(right.update, right.reset, right.candidate, h)


_ORIGINAL_GRU_STEP = cells.gru_step


def test_reset_applied_before_the_matmul_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cells, "gru_step", _reset_before)
    with pytest.raises(ParityError) as excinfo:
        check_parity(_gru_model(), inputs())
    message = str(excinfo.value)
    # even from h = 0 the candidate differs: r * b_hh after the matmul, b_hh before it
    assert "First: layer 'gru' (GRU, layer 1 of 2), hidden state (every timestep)" in message
    assert "at timestep 0, row 0, unit" in message


def test_inverted_update_convention_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cells, "gru_step", _update_inverted)
    with pytest.raises(ParityError) as excinfo:
        check_parity(_gru_model(), inputs())
    message = str(excinfo.value)
    assert "First: layer 'gru' (GRU, layer 1 of 2), hidden state (every timestep)" in message
    assert "at timestep 0, row 0, unit 0:" in message
    assert "Timestep 0 already differs" in message


def test_state_carried_across_windows_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The notebook's third bug: each window starts from the previous window's state."""
    original = graph_module.run_layer

    def carry(layer: Any, x: Any, **kwargs: Any) -> Any:
        rows, states = [], kwargs.pop("initial_states", None)
        for i in range(len(x)):
            result = original(layer, x[i : i + 1], **{**kwargs, "initial_states": states})
            states = {d: t.final_states for d, t in result.directions.items()} or None
            rows.append([result])
        return parity_module.concat_results(rows)[0]

    monkeypatch.setattr(graph_module, "run_layer", carry)
    with pytest.raises(ParityError) as excinfo:
        check_parity(_gru_model(), inputs())
    assert "at timestep 0, row 1, unit" in str(excinfo.value)


@pytest.mark.parametrize(
    ("timesteps", "bidirectional", "eager"),
    [(31, False, True), (32, False, False), (15, True, True), (16, True, False)],
)
def test_long_sequences_run_keras_as_a_graph(
    timesteps: int, bidirectional: bool, eager: bool
) -> None:
    """Auto mode: a graph from GRAPH_FROM_STEPS recurrent steps per call, with the same verdict."""
    layer = keras.layers.GRU(3)
    model = randomize(
        sequential(
            keras.layers.Bidirectional(layer) if bidirectional else layer,
            keras.layers.Dense(1),
            timesteps=timesteps,
        )
    )
    result = check_parity(model, inputs(batch=2, timesteps=timesteps))
    assert result.ok
    if keras.backend.backend() == "tensorflow":
        assert result.run_eagerly is eager
    forced = check_parity(model, inputs(batch=2, timesteps=timesteps), run_eagerly=not eager)
    for a, b in zip(result.keras, forced.keras, strict=True):
        np.testing.assert_allclose(a.output, b.output, atol=1e-6)


def test_many_graph_checks_are_not_reported_as_retracing() -> None:
    """Each trace model traces its own graph once; TensorFlow must not call that retracing."""
    import logging

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    tf_logger = logging.getLogger("tensorflow")
    tf_logger.addHandler(handler)
    try:
        for seed in range(6):  # TensorFlow warns from the fifth trace of one function
            keras.backend.clear_session()
            model = randomize(sequential(keras.layers.GRU(2), timesteps=3), seed=seed)
            assert check_parity(model, inputs(batch=2, timesteps=3), run_eagerly=False).ok
    finally:
        tf_logger.removeHandler(handler)
    assert not [r.getMessage() for r in records if "retracing" in r.getMessage()]
