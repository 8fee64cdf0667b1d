"""A correct hand-written GRU / LSTM / SimpleRNN pass: a pytest-rnnparity candidate that passes.

Written the way a port to C or a microcontroller would be: one window at a time, one
step at a time, one gate at a time, from the per-gate weights. Use it as the template
of your own candidate (see docs/ports.md, "Check your own implementation"). It assumes
Keras' default activations (tanh, and sigmoid for the gates).
"""

from __future__ import annotations

import numpy as np

from pytest_rnnparity.reference.types import CellWeights


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _bias(weights: CellWeights, gate: str, recurrent: bool = False) -> np.ndarray | float:
    biases = weights.recurrent_bias if recurrent else weights.input_bias
    return 0.0 if biases is None else biases[gate]


def gru_step(weights: CellWeights, x_t: np.ndarray, h_tm1: np.ndarray) -> dict[str, np.ndarray]:
    """One GRU step for one window: ``x_t`` ``(features,)``, ``h_tm1`` ``(units,)``."""
    W, U = weights.kernel, weights.recurrent_kernel
    # The weights say which GRU this is: two bias rows mean reset_after=True (Keras'
    # default); without biases this pass assumes the default too.
    reset_after = weights.recurrent_bias is not None or weights.input_bias is None
    z = sigmoid(x_t @ W["z"] + _bias(weights, "z") + h_tm1 @ U["z"] + _bias(weights, "z", True))
    r = sigmoid(x_t @ W["r"] + _bias(weights, "r") + h_tm1 @ U["r"] + _bias(weights, "r", True))
    if reset_after:  # Keras' default: r multiplies the recurrent term after the matmul
        recurrent_h = h_tm1 @ U["h"] + _bias(weights, "h", True)
        hh = np.tanh(x_t @ W["h"] + _bias(weights, "h") + r * recurrent_h)
    else:
        hh = np.tanh(x_t @ W["h"] + _bias(weights, "h") + (r * h_tm1) @ U["h"])
    h = z * h_tm1 + (1 - z) * hh
    return {"update": z, "reset": r, "candidate": hh, "hidden": h}


def lstm_step(
    weights: CellWeights, x_t: np.ndarray, h_tm1: np.ndarray, c_tm1: np.ndarray
) -> dict[str, np.ndarray]:
    """One LSTM step for one window."""
    W, U = weights.kernel, weights.recurrent_kernel

    def pre(gate: str) -> np.ndarray:
        return x_t @ W[gate] + h_tm1 @ U[gate] + _bias(weights, gate)

    i, f, g, o = sigmoid(pre("i")), sigmoid(pre("f")), np.tanh(pre("c")), sigmoid(pre("o"))
    c = f * c_tm1 + i * g
    h = o * np.tanh(c)
    return {"input": i, "forget": f, "candidate": g, "output": o, "cell": c, "hidden": h}


def forward(
    weights: CellWeights, inputs: np.ndarray, initial_state: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Every window from its initial state (the model is stateless), every step, every gate."""
    windows: list[list[dict[str, np.ndarray]]] = []
    for row, sequence in enumerate(inputs):
        h = initial_state["hidden"][row]
        c = initial_state["cell"][row] if weights.kind == "lstm" else None
        steps = []
        for x_t in sequence:
            if weights.kind == "gru":
                values = gru_step(weights, x_t, h)
            elif weights.kind == "lstm":
                values = lstm_step(weights, x_t, h, c)
                c = values["cell"]
            else:
                pre = x_t @ weights.kernel["h"] + h @ weights.recurrent_kernel["h"]
                values = {"hidden": np.tanh(pre + _bias(weights, "h"))}
            h = values["hidden"]
            steps.append(values)
        windows.append(steps)
    names = windows[0][0].keys()
    return {name: np.array([[step[name] for step in steps] for steps in windows]) for name in names}
