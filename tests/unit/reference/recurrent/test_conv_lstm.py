"""``ConvLSTM1D``/``2D``/``3D`` reference against real Keras: per-step hidden and final states.

Keras runs with ``return_sequences=True, return_state=True`` so that every step's
hidden state and both final states are compared; the per-step cell state is
compared by driving Keras' ``ConvLSTMCell`` one step at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.reference.recurrent.conv_lstm import conv_lstm, convolve
from pytest_rnnparity.reference.types import TRACE_NAMES

from ...helpers import clear_session, dtype_name, initial_state_tensors, keras_major

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

B, T, C, FILTERS = 3, 4, 2, 3
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}
# Row 0 unmasked, row 1 right padding, row 2 left padding and a hole.
MASK = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 1, 0, 1]], dtype=bool)


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    yield
    clear_session(keras)


def build(rank: int, dtype: str, spatial: tuple[int, ...], seed: int = 0, **options: Any) -> Any:
    """A ConvLSTM layer with random non-zero weights and biases, returning everything."""
    layer_class = {
        1: keras.layers.ConvLSTM1D,
        2: keras.layers.ConvLSTM2D,
        3: keras.layers.ConvLSTM3D,
    }
    options.setdefault("kernel_size", 3)
    layer = layer_class[rank](
        FILTERS, return_sequences=True, return_state=True, dtype=dtype, **options
    )
    channels_first = options.get("data_format") == "channels_first"
    layer.build((B, T, C, *spatial) if channels_first else (B, T, *spatial, C))
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.assign(
            rng.uniform(-0.7, 0.7, size=variable.shape).astype(dtype_name(variable.dtype))
        )
    return layer


def weights(layer: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    cell = layer.cell
    bias = None if cell.bias is None else np.asarray(cell.bias)
    return np.asarray(cell.kernel), np.asarray(cell.recurrent_kernel), bias


def reference_options(layer: Any) -> dict[str, Any]:
    return {
        # Keras 2's ConvRNN ignores it: masked steps repeat the last output
        "zero_output_for_mask": layer.zero_output_for_mask and keras_major(keras) >= 3,
        "strides": layer.strides,
        "padding": layer.padding,
        "dilation_rate": layer.dilation_rate,
        "data_format": layer.data_format,
        "activation": keras.activations.serialize(layer.activation),
        "recurrent_activation": keras.activations.serialize(layer.recurrent_activation),
        "go_backwards": layer.go_backwards,
        "keras_major": keras_major(keras),  # Keras 2's hard_sigmoid (its default) differs
    }


def assert_close(actual: np.ndarray, expected: Any, dtype: str) -> None:
    assert actual.dtype == np.dtype(dtype)
    np.testing.assert_allclose(actual, np.asarray(expected), rtol=0, atol=TOLERANCE[dtype])


def check_against_keras(
    layer: Any,
    x: np.ndarray,
    dtype: str,
    *,
    mask: np.ndarray | None = None,
    initial_state: tuple[np.ndarray, np.ndarray] | None = None,
) -> Any:
    keras_initial = None if initial_state is None else list(initial_state)
    keras_initial = initial_state_tensors(keras, keras_initial)
    sequence, h, c = layer(x, mask=mask, initial_state=keras_initial)
    result = conv_lstm(
        x,
        *weights(layer),
        **reference_options(layer),
        return_sequences=True,
        return_state=True,
        mask=mask,
        initial_state=None
        if initial_state is None
        else dict(zip(("hidden", "cell"), initial_state, strict=True)),
        dtype=dtype,
    )
    assert_close(result.output, sequence, dtype)
    assert len(result.states) == 2
    assert_close(result.states[0], h, dtype)
    assert_close(result.states[1], c, dtype)
    return result


CONV_OPTIONS = {
    "valid": {"padding": "valid"},
    "same": {"padding": "same"},
    "valid-stride2": {"padding": "valid", "strides": 2},
    "same-stride2": {"padding": "same", "strides": 2},
    "valid-dilation2": {"padding": "valid", "dilation_rate": 2},
    "same-dilation2": {"padding": "same", "dilation_rate": 2},
    "same-even_kernel": {"padding": "same", "kernel_size": 2},
    "same-even_kernel-stride3": {"padding": "same", "kernel_size": 4, "strides": 3},
    "no_bias-relu-hard_sigmoid": {
        "use_bias": False,
        "activation": "relu",
        "recurrent_activation": "hard_sigmoid",
    },
    "go_backwards-same": {"padding": "same", "go_backwards": True},
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(CONV_OPTIONS))
def test_conv_lstm_1d_matches_keras(case: str, dtype: str) -> None:
    x = np.random.default_rng(1).normal(size=(B, T, 9, C)).astype(dtype)
    layer = build(1, dtype, (9,), **CONV_OPTIONS[case])

    result = check_against_keras(layer, x, dtype)

    assert result.mask is None
    assert set(result.trace.traces) == set(TRACE_NAMES["lstm"])
    np.testing.assert_array_equal(result.trace.traces["hidden"], result.output)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "options",
    [{"padding": "same"}, {"go_backwards": True, "padding": "valid", "strides": 2}],
    ids=["same", "go_backwards-valid-stride2"],
)
def test_mask_and_initial_state_match_keras(options: dict[str, Any], dtype: str) -> None:
    """Right, left and mixed padding, from a non-zero initial state."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(B, T, 8, C)).astype(dtype)
    layer = build(1, dtype, (8,), **options)
    out_width = layer.compute_output_shape((B, T, 8, C))[0][2]
    state = rng.normal(size=(2, B, out_width, FILTERS)).astype(dtype)

    result = check_against_keras(layer, x, dtype, mask=MASK, initial_state=(state[0], state[1]))

    np.testing.assert_array_equal(result.mask, MASK)
    # At a masked step the states are carried and the output repeats (zero at first).
    processing_mask = MASK[:, ::-1] if options.get("go_backwards") else MASK
    cell, outputs = result.trace.traces["cell"], result.output
    for b, t in zip(*np.nonzero(~processing_mask), strict=True):
        previous_cell = state[1][b] if t == 0 else cell[b, t - 1]
        previous_output = np.zeros_like(outputs[b, t]) if t == 0 else outputs[b, t - 1]
        np.testing.assert_array_equal(cell[b, t], previous_cell)
        np.testing.assert_array_equal(outputs[b, t], previous_output)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("zero_output_for_mask", [False, True], ids=["repeat", "zero_output"])
def test_fully_masked_sequence_matches_keras(zero_output_for_mask: bool, dtype: str) -> None:
    """Keras: a sequence with every step masked outputs zeros and keeps its initial state."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(B, T, 6, C)).astype(dtype)
    layer = build(1, dtype, (6,), padding="same", zero_output_for_mask=zero_output_for_mask)
    state = rng.normal(size=(2, B, 6, FILTERS)).astype(dtype)
    mask = MASK.copy()
    mask[0] = False

    result = check_against_keras(layer, x, dtype, mask=mask, initial_state=(state[0], state[1]))

    np.testing.assert_array_equal(result.output[0], 0.0)
    np.testing.assert_array_equal(result.states[0][0], state[0][0])
    np.testing.assert_array_equal(result.states[1][0], state[1][0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "options",
    [
        {"padding": "same", "kernel_size": (3, 2)},
        {"padding": "valid", "strides": (2, 1), "kernel_size": 2},
        {"padding": "same", "dilation_rate": (1, 2), "kernel_size": 2, "use_bias": False},
    ],
    ids=["same-3x2", "valid-stride2x1", "same-dilation1x2-no_bias"],
)
def test_conv_lstm_2d_matches_keras(options: dict[str, Any], dtype: str) -> None:
    x = np.random.default_rng(3).normal(size=(B, T, 5, 6, C)).astype(dtype)
    layer = build(2, dtype, (5, 6), **options)

    check_against_keras(layer, x, dtype, mask=MASK)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv_lstm_3d_matches_keras(dtype: str) -> None:
    x = np.random.default_rng(4).normal(size=(B, 2, 3, 4, 5, C)).astype(dtype)
    layer = build(3, dtype, (3, 4, 5), padding="same", kernel_size=(2, 3, 2))

    check_against_keras(layer, x, dtype)


@pytest.mark.parametrize("rank", [1, 2])
def test_channels_first_matches_keras(rank: int) -> None:
    """float32 only: TensorFlow's CPU kernels refuse channels-first float64 convolutions."""
    spatial = (7,) if rank == 1 else (4, 5)
    x = np.random.default_rng(5).normal(size=(B, T, C, *spatial)).astype("float32")
    layer = build(rank, "float32", spatial, padding="same", data_format="channels_first")

    result = check_against_keras(layer, x, "float32", mask=MASK)

    assert result.trace.traces["input"].shape == (B, T, FILTERS, *spatial)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_per_step_cell_and_gates_match_keras_cell(dtype: str) -> None:
    """Drive Keras' ConvLSTMCell step by step: the cell and hidden traces at every step."""
    x = np.random.default_rng(6).normal(size=(B, T, 6, C)).astype(dtype)
    layer = build(1, dtype, (6,), padding="same", strides=2)
    result = conv_lstm(x, *weights(layer), **reference_options(layer), dtype=dtype)
    traces = result.trace.traces
    if keras_major(keras) >= 3:
        h, c = layer.cell.get_initial_state(batch_size=B)
    else:  # Keras 2's ConvLSTMCell has no get_initial_state: its layer starts from zeros
        h = c = np.zeros_like(traces["hidden"][:, 0])

    for t in range(T):
        _, (h, c) = layer.cell(x[:, t], [h, c])
        assert_close(traces["hidden"][:, t], h, dtype)
        assert_close(traces["cell"][:, t], c, dtype)
    c_tm1 = np.concatenate([np.zeros_like(traces["cell"][:, :1]), traces["cell"][:, :-1]], 1)
    i, f, g, o = (traces[name] for name in ("input", "forget", "candidate", "output"))
    np.testing.assert_allclose(traces["cell"], f * c_tm1 + i * g, atol=TOLERANCE[dtype])
    np.testing.assert_allclose(traces["hidden"], o * np.tanh(traces["cell"]), atol=TOLERANCE[dtype])


def test_return_options_and_passed_on_mask() -> None:
    x = np.random.default_rng(7).normal(size=(B, T, 5, C))
    rng = np.random.default_rng(8)
    kernel = rng.normal(size=(3, C, 4 * FILTERS))
    recurrent_kernel = rng.normal(size=(3, FILTERS, 4 * FILTERS))

    last = conv_lstm(x, kernel, recurrent_kernel, mask=MASK, dtype="float64")
    sequences = conv_lstm(
        x, kernel, recurrent_kernel, mask=MASK, return_sequences=True, dtype="float64"
    )

    assert last.output.shape == (B, 3, FILTERS)
    assert last.states == ()
    assert last.mask is None
    np.testing.assert_array_equal(last.output, sequences.output[:, -1])
    np.testing.assert_array_equal(sequences.mask, MASK)


def test_zero_output_for_mask_zeroes_masked_steps() -> None:
    x = np.random.default_rng(9).normal(size=(B, T, 5, C))
    rng = np.random.default_rng(10)
    kernel = rng.normal(size=(3, C, 4 * FILTERS))
    recurrent_kernel = rng.normal(size=(3, FILTERS, 4 * FILTERS))

    result = conv_lstm(
        x,
        kernel,
        recurrent_kernel,
        padding="same",
        mask=MASK,
        return_sequences=True,
        zero_output_for_mask=True,
        dtype="float64",
    )

    np.testing.assert_array_equal(result.output[~MASK], 0.0)
    assert np.all(result.output[MASK] != 0.0)


@pytest.mark.parametrize(
    ("kernel", "padding", "strides", "dilation", "expected"),
    [
        ([1, 0, 1], "valid", 1, 1, [2, 4, 6]),
        ([1, 1, 1], "same", 2, 1, [1, 6, 7]),  # padded [0, 0, 1, 2, 3, 4, 0]
        ([1, 1], "same", 1, 1, [1, 3, 5, 7, 4]),  # the odd pad goes after: [0, 1, 2, 3, 4, 0]
        ([1, 0, 1], "valid", 1, 2, [4]),  # taps x[0], x[2], x[4]
    ],
    ids=["valid", "same-stride2", "same-even_kernel", "dilation2"],
)
def test_convolve_by_hand(
    kernel: list[float], padding: str, strides: int, dilation: int, expected: list[float]
) -> None:
    """x = [0, 1, 2, 3, 4], one channel in and out."""
    x = np.arange(5.0).reshape(1, 5, 1)
    weights = np.array(kernel, dtype=float).reshape(-1, 1, 1)

    result = convolve(
        x,
        weights,
        strides=(strides,),
        padding=padding,  # type: ignore[arg-type]
        dilation_rate=(dilation,),
    )

    np.testing.assert_array_equal(result[0, :, 0], expected)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"inputs": np.zeros((B, T, 5))}, "needs inputs of 4 dimensions"),
        ({"inputs": np.zeros((B, T, 5, C + 1))}, "channels"),
        ({"inputs": np.zeros((B, 0, 5, C))}, "timesteps >= 1"),
        ({"inputs": np.zeros((B, T, 2, C))}, "empty output"),
        ({"kernel": np.zeros((3, 3, 3, 3, C, 12))}, "1-, 2- or 3-D"),
        ({"kernel": np.zeros((3, C, 10))}, "4 gates"),
        ({"recurrent_kernel": np.zeros((3, FILTERS, 4 * FILTERS + 4))}, "recurrent_kernel must"),
        ({"bias": np.zeros(5)}, "bias must have shape"),
        ({"strides": 2, "dilation_rate": 2}, "not compatible"),
        ({"strides": (1, 1)}, "strides must be"),
        ({"padding": "causal"}, "padding must be"),
        ({"data_format": "channels_middle"}, "data_format must be"),
        ({"mask": np.ones((B, T + 1))}, "mask must have shape"),
        ({"initial_state": {"hidden": np.zeros((B, 3, FILTERS))}}, "exactly the states"),
        (
            {
                "initial_state": {
                    "hidden": np.zeros((B, 5, FILTERS)),
                    "cell": np.zeros((B, 5, FILTERS)),
                }
            },
            r"must have shape \(3, 3, 3\)",
        ),
    ],
    ids=[
        "inputs_rank",
        "channels",
        "no_timesteps",
        "empty_convolution",
        "kernel_rank",
        "gate_columns",
        "recurrent_kernel",
        "bias",
        "stride_and_dilation",
        "strides_length",
        "padding",
        "data_format",
        "mask",
        "initial_state_names",
        "initial_state_shape",
    ],
)
def test_shapes_that_do_not_fit_raise(change: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "inputs": np.zeros((B, T, 5, C)),
        "kernel": np.zeros((3, C, 4 * FILTERS)),
        "recurrent_kernel": np.zeros((3, FILTERS, 4 * FILTERS)),
        **change,
    }
    with pytest.raises(ValueError, match=message):
        conv_lstm(**arguments)
