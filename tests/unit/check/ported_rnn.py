"""A hand-written port of Keras' GRU / LSTM / SimpleRNN that can make each classic mistake.

Written independently of ``pytest_rnnparity.reference.recurrent.mistakes``, the way a port to C
would be: it reads Keras' fused arrays (``join_gates``) column block by column block in
the gate order it believes in, one window and one step at a time. Each keyword of
:func:`port` switches one mistake on, so the diagnosis can be tested against mistakes
it did not itself implement. Computes in float64.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from pytest_rnnparity.model.weights import join_gates
from pytest_rnnparity.reference.types import GATES, CellWeights

#: The gate orders a port may read Keras' columns in.
ORDERS = {
    "swap_zr": ("r", "z", "h"),
    "lstm_order_tf1": ("i", "c", "f", "o"),
    "lstm_order_onnx": ("i", "o", "f", "c"),
}


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def hard_sigmoid(x: np.ndarray, keras_major: int) -> np.ndarray:
    if keras_major == 2:
        return np.clip(0.2 * x + 0.5, 0, 1)
    return np.clip(x / 6 + 0.5, 0, 1)


def port(
    weights: CellWeights,
    inputs: np.ndarray,
    initial_state: dict[str, np.ndarray],
    *,
    mistakes: Collection[str] = (),
    reset_after: bool = True,
    recurrent_activation: str = "sigmoid",
    keras_major: int = 3,
    stateful: bool = False,
) -> np.ndarray:
    """The hidden state at every step ``(B, T, units)``; see the module docstring."""
    kind = weights.kind
    arrays = [np.asarray(a, dtype=np.float64) for a in join_gates(weights)]
    kernel, recurrent_kernel = arrays[0], arrays[1]
    bias = arrays[2] if len(arrays) == 3 else None
    order: Sequence[str] = GATES[kind]
    for mistake, other in ORDERS.items():
        if mistake in mistakes:
            order = other
    count = len(order)
    W = dict(zip(order, np.split(kernel, count, axis=1), strict=True))
    U = dict(zip(order, np.split(recurrent_kernel, count, axis=1), strict=True))
    units = recurrent_kernel.shape[0]
    zero = np.zeros(count * units)
    if bias is None:
        input_bias, recurrent_bias = zero, zero
    elif bias.ndim == 2:
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        input_bias, recurrent_bias = bias, zero
    if "swap_bias_rows" in mistakes:
        input_bias, recurrent_bias = recurrent_bias, input_bias
    if "drop_recurrent_bias" in mistakes or "reset_before" in mistakes:
        recurrent_bias = zero
    b_x = dict(zip(order, np.split(input_bias, count), strict=True))
    b_h = dict(zip(order, np.split(recurrent_bias, count), strict=True))
    if "transposed_kernel" in mistakes:
        W = {gate: w.T for gate, w in W.items()}
    if "transposed_recurrent_kernel" in mistakes:
        U = {gate: u.T for gate, u in U.items()}
    if "forget_bias" in mistakes:
        b_x["f"] = b_x["f"] + 1.0
    major = keras_major
    if {"hard_sigmoid_keras2", "hard_sigmoid_keras3"} & set(mistakes):
        major = 5 - keras_major

    def gate(value: np.ndarray) -> np.ndarray:
        if recurrent_activation == "hard_sigmoid":
            return hard_sigmoid(value, major)
        return sigmoid(value)

    after = reset_after
    if "reset_before" in mistakes:
        after = False
    if "reset_after" in mistakes:
        after = True
    carry = stateful
    if "carried_state" in mistakes:
        carry = True
    if "reset_state" in mistakes:
        carry = False

    batch, timesteps, _ = inputs.shape
    hidden = np.zeros((batch, timesteps, units))
    h = c = None
    for row in range(batch):
        if h is None or not carry:
            h = np.asarray(initial_state["hidden"][row], dtype=np.float64)
            c = np.asarray(initial_state["cell"][row], dtype=np.float64) if kind == "lstm" else None
        for t in range(timesteps):
            x = np.asarray(inputs[row, t], dtype=np.float64)
            if kind == "gru":
                z = gate(x @ W["z"] + b_x["z"] + h @ U["z"] + b_h["z"])
                r = gate(x @ W["r"] + b_x["r"] + h @ U["r"] + b_h["r"])
                if after:
                    hh = np.tanh(x @ W["h"] + b_x["h"] + r * (h @ U["h"] + b_h["h"]))
                else:
                    hh = np.tanh(x @ W["h"] + b_x["h"] + (r * h) @ U["h"])
                h = (1 - z) * h + z * hh if "inverted_update" in mistakes else z * h + (1 - z) * hh
            elif kind == "lstm":
                pre = {name: x @ W[name] + h @ U[name] + b_x[name] for name in "ifco"}
                i, f, o = gate(pre["i"]), gate(pre["f"]), gate(pre["o"])
                c = f * c + i * np.tanh(pre["c"])
                h = o * np.tanh(c)
            else:
                h = np.tanh(x @ W["h"] + h @ U["h"] + b_x["h"])
            hidden[row, t] = h
    return hidden
