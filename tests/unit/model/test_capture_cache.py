"""model/capture.capture_of: a capture reused by later checks of the same model, and
never once the model has changed in a way a traced graph would keep.

A stale capture is a false pass waiting to happen: Keras traced with the old flags or
the old ``call``, the reference described with the old weights. Each test changes the
model between two checks and asserts what the second check compared is the model as it
is now (its own ``model(x)``), and that a fault added after the first check is caught.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity import check_parity
from pytest_rnnparity.errors import ParityError

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

from pytest_rnnparity.model.capture import capture_of, model_fingerprint  # noqa: E402

B, T, F = 3, 40, 2  # 40 steps: the capture runs as one traced graph


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    yield
    keras.backend.clear_session()


def _model(layer: str = "GRU") -> Any:
    model = keras.Sequential(
        [keras.Input((T, F)), getattr(keras.layers, layer)(4), keras.layers.Dense(1)]
    )
    _randomize(model, seed=0)
    return model


def _randomize(model: Any, seed: int) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape) for w in model.get_weights()])


def _x() -> np.ndarray:
    return np.random.default_rng(1).uniform(-1, 1, (B, T, F)).astype("float32")


def _traces(model: Any) -> int:
    function = capture_of(model)._graph_function
    return 0 if function is None else int(function.experimental_get_tracing_count())


def test_a_second_check_reuses_the_capture_and_its_traced_graph() -> None:
    model, x = _model(), _x()
    assert check_parity(model, x, run_eagerly=False).ok
    first = capture_of(model, run_eagerly=False)
    assert check_parity(model, x, run_eagerly=False).ok
    assert capture_of(model, run_eagerly=False) is first
    assert first._graph_function.experimental_get_tracing_count() == 1


def test_new_weights_are_read_again_on_reuse() -> None:
    model, x = _model("LSTM"), _x()
    assert check_parity(model, x).ok
    _randomize(model, seed=7)  # a reference still holding the old weights would fail
    result = check_parity(model, x)
    assert result.ok
    np.testing.assert_array_equal(result.model_outputs[0], np.asarray(model(x)))


def test_a_call_patched_after_a_check_is_what_the_next_check_runs() -> None:
    model, x = _model(), _x()
    assert check_parity(model, x).ok
    gru = model.layers[0]
    original = gru.call
    gru.call = lambda *args, **kwargs: original(*args, **kwargs) + 0.01
    with pytest.raises(ParityError, match="layer 'gru'"):
        check_parity(model, x)


def test_a_flag_set_after_a_check_gives_a_fresh_capture() -> None:
    model, x = _model(), _x()
    assert check_parity(model, x).ok
    before = model_fingerprint(model)
    model.layers[0].go_backwards = True  # read when the call is traced
    assert model_fingerprint(model) != before
    result = check_parity(model, x)  # the reference reads it, Keras runs it
    assert result.ok
    np.testing.assert_allclose(result.model_outputs[0], np.asarray(model(x)), atol=1e-6)


def test_a_sequential_grown_after_a_check_is_checked_whole() -> None:
    model, x = _model(), _x()
    assert check_parity(model, x).ok
    model.add(keras.layers.Dense(2, name="extra"))
    result = check_parity(model, x)
    assert [layer.name for layer in result.layers][-1] == "extra"
    assert result.model_outputs[0].shape == (B, 2)


def test_eager_and_graph_captures_are_kept_apart() -> None:
    model, x = _model(), _x()
    check_parity(model, x, run_eagerly=True)
    eager = capture_of(model, run_eagerly=True)
    check_parity(model, x, run_eagerly=False)
    assert capture_of(model, run_eagerly=False) is not eager
    assert _traces(model) == 0  # run_eagerly=None is a third key: not yet traced


def test_the_cache_lives_and_dies_with_the_model() -> None:
    import gc
    import weakref

    model, x = _model(), _x()
    check_parity(model, x)
    assert "_rnnparity_capture" in vars(model)
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None


def test_a_model_with_a_cached_capture_still_saves(tmp_path: Any) -> None:
    model, x = _model(), _x()
    check_parity(model, x)
    path = tmp_path / ("model.keras" if int(keras.__version__[0]) >= 3 else "model.h5")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
