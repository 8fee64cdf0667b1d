"""Helpers the unit tests of several folders share: where things are, recurrent layers with
non-zero weights, files written in one call, and what differs between Keras 2 and Keras 3.

Test modules import them relatively (``from ..helpers import layer``): ``tests/unit`` is a
package, so a test module is never imported as a top-level module of its own name.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.model.weights import split_gates
from pytest_rnnparity.reference.types import CellConfig, CellKind, RecurrentLayer

#: ``tests/unit``: ``expected/`` (verbatim texts) and ``c/`` (the C test of the vectors).
UNIT = Path(__file__).resolve().parent
#: The repository: ``specs/``, ``examples/``, ``golden/``.
REPO = UNIT.parents[1]

GATE_COUNT = {"gru": 3, "lstm": 4, "simple_rnn": 1}


def layer(
    kind: CellKind,
    *,
    features: int = 4,
    units: int = 4,
    reset_after: bool = True,
    use_bias: bool = True,
    recurrent_activation: str = "sigmoid",
    go_backwards: bool = False,
    seed: int = 0,
    name: str = "cell",
) -> RecurrentLayer:
    """A layer with asymmetric, non-zero weights and biases."""
    rng = np.random.default_rng(seed)
    width = GATE_COUNT[kind] * units
    bias = None
    if use_bias:
        shape = (2, width) if kind == "gru" and reset_after else (width,)
        bias = rng.uniform(-0.5, 0.5, shape).astype("float32")
    weights = split_gates(
        kind,
        rng.uniform(-0.8, 0.8, (features, width)).astype("float32"),
        rng.uniform(-0.8, 0.8, (units, width)).astype("float32"),
        bias,
    )
    cell = CellConfig(
        kind,
        units,
        reset_after=reset_after and kind == "gru",
        use_bias=use_bias,
        recurrent_activation=None if kind == "simple_rnn" else recurrent_activation,
    )
    return RecurrentLayer(name, cell, weights, return_sequences=True, go_backwards=go_backwards)


def inputs(batch: int = 5, timesteps: int = 4, features: int = 4, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, timesteps, features)).astype("float32")


def touch(path: Path, text: str = "") -> Path:
    """Write ``text`` to ``path``, creating its directories; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def keras_major(keras: ModuleType) -> int:
    """2 or 3: the Keras generation ``keras`` is (``tf_keras`` and TF 2.15's ``keras`` are 2)."""
    return int(keras.__version__.split(".")[0])


def clear_session(keras: ModuleType) -> None:
    """``keras.backend.clear_session()``, without Keras 3's full garbage collection.

    Keras 3's ``free_memory=False`` skips a ``gc.collect()`` that costs ~0.4 s per test;
    Keras 2 has no such argument, and its ``clear_session`` does not collect anyway.
    """
    if keras_major(keras) >= 3:
        keras.backend.clear_session(free_memory=False)
    else:
        keras.backend.clear_session()


def dtype_name(dtype: Any) -> str:
    """A Keras dtype as NumPy's name: Keras 3 gives ``"float32"``, Keras 2 a ``tf.float32``."""
    return str(np.dtype(getattr(dtype, "name", dtype)))


def variable_name(variable: Any) -> str:
    """A Keras variable's own name (``gamma``): Keras 2 names it ``layer/gamma:0``."""
    name: str = variable.name
    return name.rsplit("/", 1)[-1].split(":", 1)[0]


def skip_on_keras_2(keras: ModuleType, *arguments: str) -> None:
    """Skip the test on Keras 2 when it uses any of these Keras-3-only layer arguments."""
    if arguments and keras_major(keras) < 3:
        pytest.skip(f"Keras 2 has no {', '.join(arguments)}")


def warns_on_keras_3(keras: ModuleType, match: str) -> AbstractContextManager[Any]:
    """``pytest.warns(UserWarning, match=...)`` on Keras 3; on Keras 2, which drops a mask
    without a word, nothing."""
    if keras_major(keras) >= 3:
        return pytest.warns(UserWarning, match=match)
    return nullcontext()


def initial_state_tensors(keras: ModuleType, states: Any) -> Any:
    """``initial_state`` for an eager layer call: Keras 2 takes tensors only, not arrays."""
    if states is None or keras_major(keras) >= 3:
        return states
    import tensorflow as tf

    return [tf.convert_to_tensor(state) for state in states]
