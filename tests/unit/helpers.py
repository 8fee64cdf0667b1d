"""Helpers the unit tests of several folders share: where things are, recurrent layers with
non-zero weights, and files written in one call.

Test modules import them relatively (``from ..helpers import layer``): ``tests/unit`` is a
package, so a test module is never imported as a top-level module of its own name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
