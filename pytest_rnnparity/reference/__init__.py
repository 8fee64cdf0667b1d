"""The pure-NumPy reference forward pass: Keras' layers, written out.

* :mod:`.recurrent`: the cells (one step each), the time loop with masks and
  ``go_backwards``, ``Bidirectional``, stacked cells, ConvLSTM, and the classic mistakes
  a port makes (:mod:`.recurrent.mistakes`);
* :mod:`.layers`: the layers around them (Dense, Embedding, convolutions, pooling,
  reshaping, normalization, merges, attention), each with Keras' mask rules;
* :mod:`.model`: a model's layers run one after the other, masks passed on;
* :mod:`.types`, :mod:`.activations`, :mod:`.masks`: what they share.

Nothing in this package imports keras or tensorflow, and nothing here imports from the
rest of pytest_rnnparity but its errors: every stage may use the reference.
"""

from __future__ import annotations

from pytest_rnnparity.reference.activations import ACTIVATIONS, get_activation
from pytest_rnnparity.reference.layers.core import run_dense, run_identity, run_masking
from pytest_rnnparity.reference.model import run_layer, run_reference
from pytest_rnnparity.reference.recurrent.cells import (
    FusedWeights,
    GRUStep,
    LSTMStep,
    SimpleRNNStep,
    fuse_weights,
    gru_step,
    lstm_step,
    make_step,
    project_inputs,
    simple_rnn_step,
)
from pytest_rnnparity.reference.recurrent.layers import (
    merge_directions,
    run_bidirectional,
    run_recurrent,
)

__all__ = [
    "ACTIVATIONS",
    "FusedWeights",
    "GRUStep",
    "LSTMStep",
    "SimpleRNNStep",
    "fuse_weights",
    "get_activation",
    "gru_step",
    "lstm_step",
    "make_step",
    "merge_directions",
    "project_inputs",
    "run_bidirectional",
    "run_dense",
    "run_identity",
    "run_layer",
    "run_masking",
    "run_recurrent",
    "run_reference",
    "simple_rnn_step",
]
