"""Which recurrent layers ``torch.nn`` can compute: the rule behind the ``torch:`` item.

Pure string logic on a layer's class and options, so a spec asking for ``torch:`` is
refused at load time (no torch, no Keras needed) for a layer torch has no module for,
and :mod:`pytest_rnnparity.check.torch_port` refuses the same layers of a live model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RESET_AFTER_FALSE = (
    "torch.nn.GRU has no equivalent of reset_after=False (it applies the reset gate after "
    "the matmul, like reset_after=True)"
)


#: The torch.nn module computing each cell.
TORCH_MODULES: Mapping[str, str] = {"gru": "GRU", "lstm": "LSTM", "simple_rnn": "RNN"}


_KERAS_CLASSES = {"GRU": "gru", "LSTM": "lstm", "SimpleRNN": "simple_rnn"}


def cell_problem(
    kind: str, activation: str | None, recurrent_activation: str | None, reset_after: bool
) -> tuple[str, str] | None:
    """``(option, why)`` when torch has no module computing this cell, else None."""
    module = f"torch.nn.{TORCH_MODULES[kind]}"
    if kind == "gru" and not reset_after:
        return "reset_after", RESET_AFTER_FALSE
    if kind == "simple_rnn":
        if activation not in ("tanh", "relu"):
            return "activation", f"{module} computes tanh or relu only, not {activation}"
        return None
    if activation != "tanh":
        return "activation", f"{module} computes tanh only, not activation={activation}"
    if recurrent_activation != "sigmoid":
        return (
            "recurrent_activation",
            f"{module} computes sigmoid gates only, not recurrent_activation="
            f"{recurrent_activation}",
        )
    return None


def torch_problem(class_name: str, kwargs: Mapping[str, Any]) -> tuple[str, str] | None:
    """Why a declared layer (class name, arguments as written) has no torch module, or None.

    Returns ``(argument, reason)``; the argument may be one the spec did not write.
    """
    if class_name == "Masking":
        return "mask_value", "torch.nn.GRU, LSTM and RNN take no mask (the model has Masking)"
    kind = _KERAS_CLASSES.get(class_name)
    if kind is None:
        return None
    return cell_problem(
        kind,
        kwargs.get("activation", "tanh"),
        kwargs.get("recurrent_activation", "sigmoid"),
        bool(kwargs.get("reset_after", True)),
    )
