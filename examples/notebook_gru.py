"""The notebook's final hand-written GRU pass (cell In [23]), as a pytest-rnnparity candidate.

Transcribed faithfully, bugs included, so that ``specs/notebook_candidate.yaml`` can show
what the diagnosis says about it. The loop below is the notebook's, line for line, minus
its printing and its Dense prediction; only the entry point is new: the candidate
receives per-gate weights and joins them back into the Keras arrays
``(kernel, recurrent_kernel, bias)`` the notebook took from ``gru_layer.get_weights()``.

Its three bugs, which the diagnosis names:

* the update rule is inverted: ``h_t = (1 - z_t) * h_t + z_t * h_tilde`` (Keras:
  ``h = z * h_tm1 + (1 - z) * hh``);
* ``reset_after=True`` is ignored: only row 0 of the ``(2, 3 * units)`` bias is used (the
  recurrent bias row is dropped) and the reset gate multiplies ``h_t`` *before* the
  matmul with ``W_h_h`` instead of ``h_tm1 @ U_h + b_hh`` after it;
* ``h_t`` is initialised once, before the loop over sequences, so each window starts
  from the previous window's final state although the model is stateless.
"""

from __future__ import annotations

import numpy as np

from pytest_rnnparity.model.weights import join_gates
from pytest_rnnparity.reference.types import CellWeights


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def gru_forward(
    weights: CellWeights, inputs: np.ndarray, initial_state: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The notebook's ``gru_forward_pass``, returning every step's gates and hidden state."""
    kernel, recurrent_kernel, bias = join_gates(weights)
    n_hidden = weights.units
    X_sequences = inputs

    # Extract weights properly
    W_z_x = kernel[:, :n_hidden]
    W_r_x = kernel[:, n_hidden : n_hidden * 2]
    W_h_x = kernel[:, n_hidden * 2 : n_hidden * 3]

    W_z_h = recurrent_kernel[:, :n_hidden]
    W_r_h = recurrent_kernel[:, n_hidden : n_hidden * 2]
    W_h_h = recurrent_kernel[:, n_hidden * 2 : n_hidden * 3]

    # Extract biases properly from the first row (input bias)
    input_bias = bias[0]
    b_z = input_bias[:n_hidden]
    b_r = input_bias[n_hidden : 2 * n_hidden]
    b_h = input_bias[2 * n_hidden : 3 * n_hidden]

    # Initialize hidden state
    h_t = np.zeros(n_hidden)

    all_states = []

    for sequence in X_sequences:
        sequence_states = []

        for t in range(len(sequence)):
            x_t = sequence[t]

            # Calculate gate inputs
            # Input contribution to gates
            z_input = np.dot(x_t, W_z_x)
            r_input = np.dot(x_t, W_r_x)
            h_input = np.dot(x_t, W_h_x)

            # Hidden state contribution to gates
            z_hidden = np.dot(h_t, W_z_h)
            r_hidden = np.dot(h_t, W_r_h)

            # Gate activations with bias
            z_t = sigmoid(z_input + z_hidden + b_z)
            r_t = sigmoid(r_input + r_hidden + b_r)

            # Calculate reset hidden state
            reset_h_t = r_t * h_t

            # Calculate candidate hidden state
            h_hidden = np.dot(reset_h_t, W_h_h)
            h_tilde = tanh(h_input + h_hidden + b_h)

            # Update hidden state
            h_t = (1 - z_t) * h_t + z_t * h_tilde

            # Store states
            sequence_states.append(
                {
                    "update_gate": z_t,
                    "reset_gate": r_t,
                    "candidate_hidden": h_tilde,
                    "hidden_state": h_t.copy(),
                }
            )

        all_states.append(sequence_states)

    def trace(key: str) -> np.ndarray:
        return np.array([[step[key] for step in states] for states in all_states])

    return {
        "hidden": trace("hidden_state"),
        "update": trace("update_gate"),
        "reset": trace("reset_gate"),
        "candidate": trace("candidate_hidden"),
    }
