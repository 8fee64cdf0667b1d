"""check_parity on the models people write: graphs, several inputs and outputs, nested
models, shared layers, constant initial states and masks, and faults injected into the
user's own layer objects.

Every model has random, non-zero weights and biases. A check must compare the model's
own tensors: a fault added to one of the user's layer instances (its ``call`` wrapped)
must fail, and name that call (and the step, from which the fault starts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity import check_parity, parity_report
from pytest_rnnparity.errors import ParityError, UnsupportedModelError
from pytest_rnnparity.reference.types import OpaqueLayer

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras
KERAS_3 = int(keras.__version__.split(".")[0]) >= 3
keras3_only = pytest.mark.skipif(not KERAS_3, reason="a Keras 3 layer or option")

B, T, F = 4, 6, 3


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    yield
    keras.backend.clear_session()


def randomize(model: Any, seed: int = 5) -> Any:
    """Non-zero weights everywhere; variances of BatchNormalization stay positive."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        arrays = layer.get_weights()
        if not arrays:
            continue
        names = [getattr(v, "path", getattr(v, "name", "")) for v in layer.weights]
        layer.set_weights(
            [
                rng.uniform(0.2 if "variance" in name else -0.6, 0.6, size=a.shape).astype(a.dtype)
                for a, name in zip(arrays, names, strict=True)
            ]
        )
    return model


def data(batch: int = B, timesteps: int = T, features: int = F, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, timesteps, features)).astype("float32")


def tokens(seed: int = 2) -> np.ndarray:
    ids = np.random.default_rng(seed).integers(1, 12, size=(B, T))
    ids[0, :2] = 0  # left padding
    ids[1, -3:] = 0  # right padding
    ids[2, 2] = 0  # a hole
    ids[3, :] = 0  # a fully padded row
    return ids


def L() -> Any:
    return keras.layers


# -- the models of the issue ---------------------------------------------------------------


def text_classifier() -> tuple[Any, Any]:
    ids = keras.Input((T,), dtype="int32")
    x = L().Embedding(12, 4, mask_zero=True)(ids)
    x = L().Bidirectional(L().LSTM(3))(x)
    return keras.Model(ids, L().Dense(1)(x)), tokens()


def cnn_lstm() -> tuple[Any, Any]:
    model = keras.Sequential(
        [
            keras.Input((T, F)),
            L().Conv1D(4, 3, padding="causal", activation="relu"),
            L().MaxPooling1D(2),
            L().LSTM(3),
            L().Dense(1),
        ]
    )
    return model, data()


def seq2seq() -> tuple[Any, Any]:
    encoder_in = keras.Input((T, F), name="encoder_in")
    decoder_in = keras.Input((4, 2), name="decoder_in")
    _, h, c = L().LSTM(4, return_state=True, name="encoder")(encoder_in)
    decoded = L().LSTM(4, return_sequences=True, name="decoder")(decoder_in, initial_state=[h, c])
    model = keras.Model([encoder_in, decoder_in], L().Dense(2, name="head")(decoded))
    return model, [data(), data(timesteps=4, features=2, seed=3)]


def gru_norm_gru() -> tuple[Any, Any]:
    model = keras.Sequential(
        [
            keras.Input((T, F)),
            L().GRU(4, return_sequences=True),
            L().LayerNormalization(),
            L().GRU(3),
        ]
    )
    return model, data()


def pooled_head() -> tuple[Any, Any]:
    model = keras.Sequential(
        [keras.Input((T, F)), L().LSTM(4, return_sequences=True), L().GlobalAveragePooling1D()]
    )
    model.add(L().Dense(1))
    return model, data()


def flattened_head() -> tuple[Any, Any]:
    model = keras.Sequential(
        [keras.Input((T, F)), L().LSTM(4, return_sequences=True), L().Flatten(), L().Dense(1)]
    )
    return model, data()


def attention_over_lstm() -> tuple[Any, Any]:
    inp = keras.Input((T, F))
    states = L().LSTM(4, return_sequences=True)(inp)
    attended = L().Attention()([states, states])
    return keras.Model(inp, L().Dense(1)(L().GlobalMaxPooling1D()(attended))), data()


def two_branches() -> tuple[Any, Any]:
    inp = keras.Input((T, F))
    a, b = L().GRU(4)(inp), L().LSTM(4)(inp)
    return keras.Model(inp, L().Dense(1)(L().Concatenate()([a, b]))), data()


def two_heads() -> tuple[Any, Any]:
    inp = keras.Input((T, F))
    shared = L().GRU(4)(inp)
    return keras.Model(inp, [L().Dense(1)(shared), L().Dense(2)(shared)]), data()


def autoencoder() -> tuple[Any, Any]:
    model = keras.Sequential(
        [
            keras.Input((T, F)),
            L().LSTM(4),
            L().RepeatVector(T),
            L().LSTM(3, return_sequences=True),
            L().TimeDistributed(L().Dense(F)),
        ]
    )
    return model, data()


def stacked_cells() -> tuple[Any, Any]:
    cells = [L().GRUCell(4), L().LSTMCell(3), L().SimpleRNNCell(2)]
    model = keras.Sequential(
        [keras.Input((T, F)), L().RNN(L().StackedRNNCells(cells)), L().Dense(1)]
    )
    return model, data()


def conv_lstm() -> tuple[Any, Any]:
    model = keras.Sequential(
        [keras.Input((T, 5, 2)), L().ConvLSTM1D(3, 2, padding="same"), L().Flatten()]
    )
    return model, np.random.default_rng(4).normal(size=(B, T, 5, 2)).astype("float32")


def nested_sequential() -> tuple[Any, Any]:
    inner = keras.Sequential(
        [keras.Input((T, F)), L().GRU(4, return_sequences=True), L().GRU(3)], name="inner"
    )
    inp = keras.Input((T, F))
    return keras.Model(inp, L().Dense(1)(inner(inp))), data()


MODELS: dict[str, Callable[[], tuple[Any, Any]]] = {
    "text classifier": text_classifier,
    "cnn-lstm": cnn_lstm,
    "seq2seq": seq2seq,
    "gru-layernorm-gru": gru_norm_gru,
    "pooled head": pooled_head,
    "flattened head": flattened_head,
    "attention": attention_over_lstm,
    "two branches": two_branches,
    "two heads": two_heads,
    "autoencoder": autoencoder,
    "stacked cells": stacked_cells,
    "conv lstm": conv_lstm,
    "nested sequential": nested_sequential,
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_layer_call_is_checked_end_to_end_and_in_isolation(name: str) -> None:
    model, x = MODELS[name]()
    randomize(model)
    result = check_parity(model, x)
    assert result.ok
    assert result.opaque == ()  # every layer computed by the reference, end to end
    recurrent = {c.layer for c in result.comparisons if c.quantity == "hidden"}
    assert recurrent, "every model here has a recurrent layer call"
    for layer in recurrent:  # each recurrent call in isolation: steps and final states
        quantities = {c.quantity for c in result.comparisons if c.layer == layer}
        assert {"hidden", "output"} <= quantities
        assert any(q.startswith("final") for q in quantities)
    compared = {c.layer for c in result.comparisons if c.quantity.startswith("output")}
    assert compared == {layer.name for layer in result.layers}  # every call's output
    own = model(x, training=False)
    own = own if isinstance(own, list) else [own]
    for mine, theirs in zip(result.model_outputs, own, strict=True):
        np.testing.assert_array_equal(mine, np.asarray(theirs))


# -- the false passes of the old trace model -----------------------------------------------


def _constant(array: np.ndarray) -> Any:
    import tensorflow as tf

    return tf.constant(array)


def constant_initial_state() -> tuple[Any, np.ndarray]:
    inp = keras.Input((5, 3), batch_size=2)
    h0 = np.random.default_rng(9).normal(size=(2, 4)).astype("float32")
    return keras.Model(inp, L().GRU(4)(inp, initial_state=[_constant(h0)])), data(2, 5)


def constant_mask() -> tuple[Any, np.ndarray]:
    inp = keras.Input((5, 3), batch_size=2)
    mask = np.array([[True, True, False, True, True], [False, True, True, True, False]])
    return keras.Model(inp, L().GRU(4)(inp, mask=_constant(mask))), data(2, 5)


def bidirectional_constant_states() -> tuple[Any, np.ndarray]:
    inp = keras.Input((5, 3), batch_size=2)
    rng = np.random.default_rng(10)
    states = [_constant(rng.normal(size=(2, 4)).astype("float32")) for _ in range(4)]
    layer = L().Bidirectional(L().LSTM(4))
    return keras.Model(inp, layer(inp, initial_state=states)), data(2, 5)


@pytest.mark.parametrize(
    "build", [constant_initial_state, constant_mask, bidirectional_constant_states]
)
def test_arguments_baked_into_a_call_are_what_is_checked(build: Callable[[], Any]) -> None:
    model, x = build()
    randomize(model)
    result = check_parity(model, x)
    assert result.ok
    # what was compared as the model's output is the model's own output
    np.testing.assert_array_equal(result.keras[-1].output, np.asarray(model(x)))
    np.testing.assert_array_equal(result.model_outputs[0], np.asarray(model(x)))


# -- faults injected into the user's own layer instances -----------------------------------


def inject(layer: Any, offset: float = 1e-2, *, from_step: int | None = None) -> None:
    """Wrap the instance's own ``call`` to add ``offset`` to its output (from a step on)."""
    original = layer.call

    def call(*args: Any, **kwargs: Any) -> Any:
        output = original(*args, **kwargs)
        if from_step is None:
            return output + offset
        import tensorflow as tf  # the TensorFlow backend, under Keras 3 and Keras 2

        shift = tf.cast(tf.range(output.shape[1]) >= from_step, output.dtype) * offset
        return output + tf.reshape(shift, (1, -1, 1))

    layer.call = call


def _failure(model: Any, x: Any) -> str:
    with pytest.raises(ParityError) as excinfo:
        check_parity(model, x)
    return str(excinfo.value)


def test_a_fault_in_a_chain_is_caught_and_named() -> None:
    model, x = cnn_lstm()
    randomize(model)
    inject(model.layers[2])  # the LSTM
    assert f"First: layer '{model.layers[2].name}' (LSTM" in _failure(model, x)


def test_a_fault_in_a_branch_is_caught_and_named() -> None:
    inp = keras.Input((T, F))
    left, right = L().GRU(4, name="left"), L().GRU(4, name="right")
    model = randomize(keras.Model(inp, L().Add()([left(inp), right(inp)])))
    inject(right)
    assert "First: layer 'right' (GRU" in _failure(model, data())


def test_a_fault_in_a_nested_model_names_the_path() -> None:
    model, x = nested_sequential()
    randomize(model)
    inner = model.layers[1]
    inject(inner.layers[-1])
    assert f"First: layer 'inner/{inner.layers[-1].name}' (GRU" in _failure(model, x)


def test_a_fault_in_a_shared_layer_names_the_call() -> None:
    inp = keras.Input((T, F))
    head = L().Dense(2, name="head")
    hidden = L().GRU(4, return_sequences=True)(inp)
    model = randomize(keras.Model(inp, [head(hidden), head(L().GRU(4)(inp))]))
    inject(head)
    message = _failure(model, data())
    assert "First: layer 'head (call 1)' (Dense" in message
    assert "head (call 2)" in message  # both calls are checked, each on its own


def test_a_fault_from_step_2_is_localized_to_the_call_and_the_step() -> None:
    inp = keras.Input((T, F))
    gru = L().GRU(4, return_sequences=True, name="gru")
    model = randomize(keras.Model(inp, L().Dense(1, name="head")(gru(inp))))
    inject(gru, from_step=2)
    message = _failure(model, data())
    assert "First: layer 'gru' (GRU, layer 1 of 2), the layer's own output against its probe" in (
        message
    )
    assert "  at timestep 2, row 0, unit 0:" in message
    assert "Timesteps 0-1 agree" not in message  # the probe's own hint comes instead


def test_a_patched_stock_layer_is_read_by_a_probe_not_trusted() -> None:
    model, x = pooled_head()
    randomize(model)
    lstm = model.layers[0]
    inject(lstm, offset=0.0)  # patched, but computing the same: passes, through a probe
    result = check_parity(model, x)
    assert result.ok
    assert next(c.quantity for c in result.comparisons if c.layer == lstm.name) == "probe"


# -- the API: inputs, masks, states, shapes -------------------------------------------------


def test_x_is_taken_as_the_model_takes_it() -> None:
    model, (encoder_x, decoder_x) = seq2seq()
    randomize(model)
    as_list = check_parity(model, [encoder_x, decoder_x])
    as_dict = check_parity(model, {"decoder_in": decoder_x, "encoder_in": encoder_x})
    np.testing.assert_array_equal(as_list.model_outputs[0], as_dict.model_outputs[0])
    with pytest.raises(ValueError, match=r"^x is a dict by input name; the model's inputs are"):
        check_parity(model, {"encoder_in": encoder_x})


def test_a_mask_per_input() -> None:
    model, (encoder_x, decoder_x) = seq2seq()
    randomize(model)
    mask = np.ones(encoder_x.shape[:2], dtype=bool)
    mask[0, 2:] = False
    result = check_parity(model, [encoder_x, decoder_x], mask=[mask, None])
    assert result.ok
    unmasked = check_parity(model, [encoder_x, decoder_x])
    assert not np.allclose(result.model_outputs[0], unmasked.model_outputs[0])


@keras3_only
def test_a_recurrent_call_given_tensor_initial_states_runs_unmasked_as_in_keras_3() -> None:
    """Keras 3 fills in ``mask`` only for a call of one tensor argument; the decoder here
    takes its states as tensors too, so its input's mask does not reach it."""
    model, (encoder_x, decoder_x) = seq2seq()
    randomize(model)
    mask = np.ones(decoder_x.shape[:2], dtype=bool)
    mask[0, 2:] = False
    result = check_parity(model, [encoder_x, decoder_x], mask=[None, mask])
    assert result.ok
    unmasked = check_parity(model, [encoder_x, decoder_x])
    np.testing.assert_array_equal(result.model_outputs[0], unmasked.model_outputs[0])


def test_a_wrong_input_shape_is_one_error_naming_the_input_and_both_shapes() -> None:
    model, x = cnn_lstm()
    with pytest.raises(ValueError, match="expects shape") as excinfo:
        check_parity(model, x[:, :, :2])
    name = model.inputs[0].name.split(":")[0]
    assert str(excinfo.value) == (
        f"the model's input '{name}' expects shape (None, 6, 3), but x has shape (4, 6, 2)"
    )


def test_a_fixed_batch_size_checks_fewer_rows_when_nothing_is_stateful() -> None:
    inp = keras.Input((T, F), batch_size=8)
    model = randomize(keras.Model(inp, L().GRU(3)(inp)))
    assert check_parity(model, data(batch=4)).ok


def test_a_stateful_models_fixed_batch_must_divide_the_rows() -> None:
    model = randomize(
        keras.Sequential([keras.Input((T, F), batch_size=4), L().GRU(3, stateful=True)])
    )
    with pytest.raises(ValueError, match="fixed at 4") as raised:
        check_parity(model, data(batch=6))
    assert str(raised.value) == (
        "the model's batch size is fixed at 4 (stateful layers need it) but x has 6 rows,"
        " not a multiple of it"
    )


def test_a_stateful_model_is_checked_from_its_state_and_left_as_it_was() -> None:
    model = randomize(
        keras.Sequential(
            [keras.Input((T, F), batch_size=2), L().GRU(4, stateful=True), L().Dense(1)]
        )
    )
    model(data(batch=2, seed=7))  # the state the user's model carries into the next call
    before = [np.array(v.numpy()) for v in model.layers[0].states]
    assert np.abs(before[0]).max() > 0
    result = check_parity(model, data(batch=4, seed=8))
    assert result.ok
    after = [np.array(v.numpy()) for v in model.layers[0].states]
    for was, now in zip(before, after, strict=True):
        np.testing.assert_array_equal(was, now)  # restored
    # the check started from the carried state, not from zeros
    fresh = randomize(
        keras.Sequential(
            [keras.Input((T, F), batch_size=2), L().GRU(4, stateful=True), L().Dense(1)]
        )
    )
    zero = check_parity(fresh, data(batch=4, seed=8))
    assert not np.allclose(zero.model_outputs[0][:2], result.model_outputs[0][:2])


def test_an_unbuilt_model_says_so() -> None:
    model = keras.Sequential([L().GRU(3)], name="later")
    with pytest.raises(UnsupportedModelError) as excinfo:
        check_parity(model, data())
    assert str(excinfo.value) == (
        "model 'later' was never built: give it an input (keras.Input(shape) as its first "
        "layer) or call it once on data before checking it"
    )


# -- masks through embeddings, pooling and attention --------------------------------------


# the models are built as users build them: Keras warns that pooling drops the mask
@pytest.mark.filterwarnings("ignore:.*does not support masking:UserWarning")
@pytest.mark.parametrize(
    "head", ["average pooling", "max pooling", "attention", "bidirectional", "bidirectional seq"]
)
def test_embedding_masks_flow_through_as_keras_passes_them(head: str) -> None:
    """Left, right and mixed padding and a fully padded row (tokens()), as Keras masks them."""
    ids = keras.Input((T,), dtype="int32")
    x = L().Embedding(12, 4, mask_zero=True)(ids)
    rows = slice(None)
    if head == "bidirectional":
        x = L().Bidirectional(L().GRU(3))(x)
    elif head == "bidirectional seq":
        x = L().Bidirectional(L().GRU(3, return_sequences=True), merge_mode="sum")(x)
        x = L().GlobalMaxPooling1D()(x)
    elif head == "attention":
        x = L().LSTM(3, return_sequences=True)(x)
        x = L().GlobalMaxPooling1D()(L().Attention()([x, x]))
    elif head == "max pooling":
        x = L().GlobalMaxPooling1D()(L().GRU(3, return_sequences=True)(x))
    else:
        x = L().GlobalAveragePooling1D()(L().GRU(3, return_sequences=True)(x))
        rows = slice(0, 3)  # a fully padded row averages nothing: NaN in Keras too
    model = randomize(keras.Model(ids, x))
    result = check_parity(model, tokens()[rows])
    assert result.ok
    assert result.opaque == ()


def test_a_fully_padded_row_averaged_is_nan_and_fails_as_garbage() -> None:
    ids = keras.Input((T,), dtype="int32")
    x = L().Embedding(12, 4, mask_zero=True)(ids)
    model = randomize(keras.Model(ids, L().GlobalAveragePooling1D()(x)))
    result = check_parity(model, tokens(), raise_on_mismatch=False)
    assert not result.ok
    assert result.non_finite is not None


# -- opaque layers -----------------------------------------------------------------------


class Scale(keras.layers.Layer):  # type: ignore[misc]
    """A custom layer the reference has no equations for."""

    def call(self, x: Any) -> Any:
        return x * 1.5


def test_an_opaque_layer_is_named_and_the_recurrent_call_after_it_checked() -> None:
    inp = keras.Input((T, F))
    x = Scale(name="scale")(inp)
    model = randomize(keras.Model(inp, L().LSTM(3, name="lstm")(x)))
    result = check_parity(model, data())
    assert result.ok
    assert [layer.name for layer in result.layers] == ["scale", "lstm"]
    assert isinstance(result.layers[0], OpaqueLayer)
    assert {c.layer for c in result.comparisons} == {"lstm"}
    report = parity_report(result).splitlines()
    assert "  'scale' (Scale): a custom layer: the reference has no equations for it" in report
    rows = [line.split() for line in report if line.startswith(("scale ", "lstm "))]
    assert rows[0] == ["scale", "Scale", "not", "computed", "opaque"]
    assert [row[0] for row in rows[1:]] == ["lstm"] * (len(rows) - 1)
    inject(model.get_layer("lstm"))
    assert "First: layer 'lstm' (LSTM" in _failure(model, data())
