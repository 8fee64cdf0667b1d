"""The pure-NumPy reference forward pass: Keras' recurrent layers, written out.

Nothing in this package imports keras or tensorflow.
"""

from __future__ import annotations

from pytest_rnnparity.reference.activations import ACTIVATIONS, get_activation
from pytest_rnnparity.reference.cells import (
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
from pytest_rnnparity.reference.layers import (
    merge_directions,
    run_bidirectional,
    run_dense,
    run_identity,
    run_layer,
    run_masking,
    run_recurrent,
)
from pytest_rnnparity.reference.model import run_reference

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
