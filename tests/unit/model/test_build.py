"""model/build.py: seeded weights, and spec -> Keras model with its layers, options and weights."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.model.build import build_model, seeded_array, seeded_weights
from pytest_rnnparity.spec import Spec, load_specs

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    yield
    keras.backend.clear_session()


DATA = """\
data:
  features:
    a: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    b: [0.5, 0.1, 0.9, 0.3, 0.7, 0.2]
  target: {column: a}
lookback: 3
"""


def _spec(root: Path, body: str, *, name: str = "spec.yaml") -> Spec:
    """Write ``DATA`` + ``body`` as ``specs/<name>`` under ``root`` and load its one spec."""
    path = root / "specs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DATA + textwrap.dedent(body), encoding="utf-8")
    (spec,) = load_specs(path, root=root)
    return spec


def _build(root: Path, spec: Spec) -> Any:
    return build_model(spec, features=2, root=root)


def _shapes(layer: Any) -> list[tuple[tuple[int, ...], bool]]:
    return [(tuple(w.shape), "bias" in w.name) for w in layer.weights]


# -- seeded weights -----------------------------------------------------------------------

GRU_SHAPES = [((3, 12), False), ((4, 12), False), ((2, 12), True)]


def test_seeded_weights_are_deterministic() -> None:
    first = seeded_weights(42, 0, GRU_SHAPES)
    second = seeded_weights(42, 0, GRU_SHAPES)
    assert [a.shape for a in first] == [(3, 12), (4, 12), (2, 12)]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("seed", "layer_index"), [(42, 1), (43, 0)], ids=["layer", "seed"])
def test_seeded_weights_differ_by_layer_and_seed(seed: int, layer_index: int) -> None:
    base = seeded_weights(42, 0, GRU_SHAPES)
    other = seeded_weights(seed, layer_index, GRU_SHAPES)
    for a, b in zip(base, other, strict=True):
        assert not np.any(a == b)


def test_seeded_biases_are_never_zero_and_within_half() -> None:
    (bias,) = seeded_weights(7, 3, [((2, 3000), True)])
    assert np.all(bias != 0)
    assert np.all(np.abs(bias) <= 0.5)
    assert np.abs(bias).max() > 0.49  # the whole range is used, not a narrower one


@pytest.mark.parametrize("fan_in", [1, 3, 50])
def test_seeded_kernel_is_uniform_within_sqrt_3_over_fan_in(fan_in: int) -> None:
    rng = np.random.default_rng(0)
    kernel = seeded_array(rng, (fan_in, 4000), is_bias=False)
    limit = math.sqrt(3.0 / fan_in)
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.99 * limit
    assert kernel.var() == pytest.approx(1.0 / fan_in, rel=0.05)


def test_seeded_one_dimensional_kernel_has_fan_in_one() -> None:
    vector = seeded_array(np.random.default_rng(0), (4000,), is_bias=False)
    assert np.abs(vector).max() <= math.sqrt(3.0)
    assert np.abs(vector).max() > 0.99 * math.sqrt(3.0)


def test_seeded_columns_differ() -> None:
    (kernel,) = seeded_weights(1, 0, [((3, 8), False)])
    assert len({tuple(column) for column in kernel.T}) == 8


# -- build_model --------------------------------------------------------------------------


def test_layer_classes_and_options(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        """\
        name: options-spec
        model:
          - GRU: {units: 4, reset_after: false, return_sequences: true, activation: relu,
                  name: encoder}
          - LSTM: {units: 3, unit_forget_bias: false}
          - Dropout: {rate: 0.25}
          - Dense: {units: 1, activation: sigmoid}
        """,
    )
    model = _build(tmp_path, spec)
    assert model.name == "options_spec"
    assert [type(layer).__name__ for layer in model.layers] == ["GRU", "LSTM", "Dropout", "Dense"]
    gru, lstm, dropout, dense = model.layers
    assert gru.name == "encoder"
    assert (gru.units, gru.cell.reset_after, gru.return_sequences) == (4, False, True)
    assert gru.cell.activation.__name__ == "relu"
    assert (lstm.units, lstm.cell.unit_forget_bias, lstm.return_sequences) == (3, False, False)
    assert dropout.rate == 0.25
    assert (dense.units, dense.activation.__name__) == (1, "sigmoid")
    assert tuple(model.inputs[0].shape) == (None, 3, 2)
    assert not gru.stateful
    assert all(layer.dtype == "float32" for layer in model.layers)


def test_seeded_weights_one_stream_per_layer(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        """\
        seed: 9
        model:
          - GRU: {units: 4}
          - Dense: {units: 1}
        """,
    )
    model = _build(tmp_path, spec)
    for index, layer in enumerate(model.layers):
        expected = seeded_weights(9, index, _shapes(layer))
        for actual, wanted in zip(layer.get_weights(), expected, strict=True):
            np.testing.assert_array_equal(actual, wanted.astype(np.float32))
    gru_bias = model.layers[0].get_weights()[2]
    assert gru_bias.shape == (2, 12)
    assert np.all(gru_bias != 0)


def test_keras_weights_come_from_keras_initializers(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        """\
        seed: 9
        model:
          - GRU: {units: 4}
          - Dense: {units: 1}
        weights: keras
        """,
    )
    model = _build(tmp_path, spec)
    kernel, recurrent_kernel, bias = model.layers[0].get_weights()
    np.testing.assert_array_equal(bias, np.zeros((2, 12), dtype=np.float32))
    seeded_kernel = seeded_weights(9, 0, _shapes(model.layers[0]))[0]
    assert not np.allclose(kernel, seeded_kernel)
    # Keras' recurrent_initializer="orthogonal": the rows of U are orthonormal
    np.testing.assert_allclose(recurrent_kernel @ recurrent_kernel.T, np.eye(4), atol=1e-5)
    keras.backend.clear_session()
    again = _build(tmp_path, spec)  # the spec's seed seeds Keras too
    np.testing.assert_array_equal(again.layers[0].get_weights()[0], kernel)


def test_stateful_spec_has_batch_size_one_and_stateful_layers(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        """\
        stateful: true
        model:
          - GRU: {units: 4, return_sequences: true}
          - LSTM: {units: 2}
          - Dense: {units: 1}
        """,
    )
    model = _build(tmp_path, spec)
    assert tuple(model.inputs[0].shape) == (1, 3, 2)
    gru, lstm, _ = model.layers
    assert gru.stateful
    assert lstm.stateful


def test_float64_spec_builds_float64_layers_and_weights(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        """\
        dtype: float64
        model:
          - SimpleRNN: {units: 3}
          - Dense: {units: 1}
        """,
    )
    model = _build(tmp_path, spec)
    assert model.inputs[0].dtype == "float64"
    assert [layer.dtype for layer in model.layers] == ["float64", "float64"]
    assert {_dtype_name(w) for w in model.weights} == {"float64"}
    output = np.asarray(model(np.ones((2, 3, 2))))
    assert output.dtype == np.float64


def _dtype_name(variable: Any) -> str:
    """A weight's dtype name: a string in Keras 3, a tf.DType in Keras 2."""
    return str(getattr(variable.dtype, "name", variable.dtype))


BIDIRECTIONAL = """\
    dtype: float64
    model:
      - Bidirectional:
          layer: {GRU: {units: 3, return_sequences: true}}
          merge_mode: sum
      - TimeDistributed: {layer: {Dense: {units: 2}}}
    """


def test_bidirectional_and_time_distributed(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BIDIRECTIONAL)
    model = _build(tmp_path, spec)
    bidirectional, time_distributed = model.layers
    assert [type(layer).__name__ for layer in model.layers] == ["Bidirectional", "TimeDistributed"]
    assert bidirectional.merge_mode == "sum"
    assert type(bidirectional.forward_layer).__name__ == "GRU"
    assert type(bidirectional.backward_layer).__name__ == "GRU"
    assert bidirectional.forward_layer.units == 3
    assert not bidirectional.forward_layer.go_backwards
    assert bidirectional.backward_layer.go_backwards
    assert type(time_distributed.layer).__name__ == "Dense"
    assert time_distributed.layer.units == 2
    # both directions draw from the one stream of layer 0
    expected = seeded_weights(spec.seed, 0, _shapes(bidirectional))
    for actual, wanted in zip(bidirectional.get_weights(), expected, strict=True):
        np.testing.assert_array_equal(actual, wanted)
    assert {_dtype_name(w) for w in model.weights} == {"float64"}


def test_float64_wrappers_compute_in_float64(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BIDIRECTIONAL)
    model = _build(tmp_path, spec)
    assert [layer.dtype for layer in model.layers] == ["float64", "float64"]
    x = np.random.default_rng(0).normal(size=(2, 3, 2))
    bidirectional, time_distributed = model.layers
    step_by_step = time_distributed.layer(
        bidirectional.forward_layer(x) + bidirectional.backward_layer(x)[:, ::-1]
    )
    np.testing.assert_allclose(model(x), step_by_step, rtol=0, atol=1e-14)


def test_bidirectional_with_an_explicit_backward_layer(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        """\
        model:
          - Bidirectional:
              layer: {LSTM: {units: 2}}
              backward_layer: {LSTM: {units: 2, go_backwards: true, activation: relu}}
          - Dense: {units: 1}
        """,
    )
    bidirectional = _build(tmp_path, spec).layers[0]
    assert type(bidirectional.backward_layer).__name__ == "LSTM"
    assert bidirectional.backward_layer.go_backwards
    assert bidirectional.backward_layer.cell.activation.__name__ == "relu"
    assert bidirectional.forward_layer.cell.activation.__name__ == "tanh"


# Keras' h5 writer calls np.array on TensorFlow tensors, which NumPy 2 warns about.
KERAS_H5_WARNING = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


@KERAS_H5_WARNING
def test_weights_file_is_loaded(tmp_path: Path) -> None:
    source = _spec(tmp_path, "seed: 5\nmodel:\n  - GRU: {units: 4}\n  - Dense: {units: 1}\n")
    _build(tmp_path, source).save_weights(tmp_path / "specs" / "gru.weights.h5")
    keras.backend.clear_session()
    spec = _spec(
        tmp_path,
        """\
        model:
          - GRU: {units: 4}
          - Dense: {units: 1}
        weights: {path: gru.weights.h5}
        """,
        name="from_file.yaml",
    )
    model = _build(tmp_path, spec)
    expected = seeded_weights(5, 0, _shapes(model.layers[0]))
    for actual, wanted in zip(model.layers[0].get_weights(), expected, strict=True):
        np.testing.assert_array_equal(actual, wanted.astype(np.float32))


@KERAS_H5_WARNING
def test_weights_file_of_another_shape_is_a_spec_error(tmp_path: Path) -> None:
    other = keras.Sequential([keras.Input((3, 2)), keras.layers.GRU(3), keras.layers.Dense(1)])
    (tmp_path / "specs").mkdir()
    other.save_weights(tmp_path / "specs" / "other.weights.h5")
    keras.backend.clear_session()
    spec = _spec(
        tmp_path,
        """\
        model:
          - GRU: {units: 4}
          - Dense: {units: 1}
        weights: {path: other.weights.h5}
        """,
        name="bad_weights.yaml",
    )
    with pytest.raises(SpecError) as raised:
        _build(tmp_path, spec)
    # DATA is 6 lines; "weights:" is line 4 of the body
    assert str(raised.value).startswith(
        "specs/bad_weights.yaml:10:17: weights.path: cannot load the weights file "
        "specs/other.weights.h5 into this model: "
    )
    assert raised.value.__suppress_context__


@KERAS_H5_WARNING
def test_a_failed_build_does_not_rename_the_layers_of_the_next(tmp_path: Path) -> None:
    other = keras.Sequential([keras.Input((3, 2)), keras.layers.GRU(3)])
    (tmp_path / "specs").mkdir()
    other.save_weights(tmp_path / "specs" / "other.weights.h5")
    broken = _spec(tmp_path, "model: [{GRU: {units: 4}}]\nweights: {path: other.weights.h5}\n")
    with pytest.raises(SpecError):
        _build(tmp_path, broken)

    # goldens record layer names: they must not depend on what failed before
    model = _build(tmp_path, _spec(tmp_path, "model: [{GRU: {units: 4}}]\n", name="next.yaml"))

    assert [layer.name for layer in model.layers] == ["gru"]


def test_a_layer_this_keras_refuses_is_a_spec_error_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(tmp_path, "model:\n  - LSTM: {units: 4, activation: sparsemax}\n")

    def older_keras(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("Could not interpret activation function identifier: sparsemax")

    monkeypatch.setattr(keras.layers, "LSTM", older_keras)
    with pytest.raises(SpecError) as raised:
        _build(tmp_path, spec)
    assert str(raised.value) == (
        f"specs/spec.yaml:8:11: model[0].LSTM: Keras {keras.__version__} cannot build this "
        "layer: Could not interpret activation function identifier: sparsemax"
    )
