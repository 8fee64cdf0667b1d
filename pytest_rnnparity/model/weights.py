"""Keras' concatenated recurrent weights <-> named per-gate arrays, both directions.

Keras stores every gate of a cell side by side in three arrays:

* ``kernel``            ``(features, G * units)``
* ``recurrent_kernel``  ``(units, G * units)``
* ``bias``              ``(G * units,)``, or ``(2, G * units)`` for a GRU with
  ``reset_after=True`` (row 0 is the input bias ``b_x``, row 1 the recurrent bias
  ``b_h``), or absent when ``use_bias=False``

with the gate blocks in the column order of ``GATES[kind]`` (GRU ``z, r, h``; LSTM
``i, f, c, o``; SimpleRNN a single block). :func:`split_gates` cuts them into the
per-gate arrays of :class:`~pytest_rnnparity.reference.types.CellWeights`;
:func:`join_gates` puts them back together exactly (no arithmetic, only slicing).

This module never imports keras: :func:`layer_cell_weights` only calls
``layer.get_weights()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pytest_rnnparity.errors import UnsupportedModelError
from pytest_rnnparity.reference.types import GATES, Array, CellKind, CellWeights


def split_gates(
    kind: CellKind,
    kernel: Array,
    recurrent_kernel: Array,
    bias: Array | None,
) -> CellWeights:
    """Cut Keras' concatenated arrays into per-gate arrays.

    Parameters
    ----------
    kind
        ``"gru"``, ``"lstm"`` or ``"simple_rnn"``.
    kernel
        ``(features, G * units)``.
    recurrent_kernel
        ``(units, G * units)``.
    bias
        ``(G * units,)``, ``(2, G * units)`` (GRU ``reset_after=True``) or None.

    Returns
    -------
    CellWeights
        ``kernel[g]`` ``(features, units)``, ``recurrent_kernel[g]`` ``(units, units)``,
        ``input_bias[g]`` and (two-row bias only) ``recurrent_bias[g]`` ``(units,)``.
        The arrays are views of the inputs.
    """
    gates = GATES[kind]
    units = recurrent_kernel.shape[0]
    width = len(gates) * units
    if recurrent_kernel.shape != (units, width):
        raise ValueError(
            f"{kind} recurrent kernel must have shape ({units}, {width}), "
            f"got {tuple(recurrent_kernel.shape)}"
        )
    if kernel.ndim != 2 or kernel.shape[1] != width:
        raise ValueError(
            f"{kind} kernel must have shape (features, {width}), got {tuple(kernel.shape)}"
        )

    def blocks(array: Array) -> dict[str, Array]:
        return {gate: array[..., i * units : (i + 1) * units] for i, gate in enumerate(gates)}

    input_bias = recurrent_bias = None
    if bias is not None:
        if bias.shape == (width,):
            input_bias = blocks(bias)
        elif bias.shape == (2, width):
            if kind != "gru":
                raise ValueError(f"a two-row bias {tuple(bias.shape)} only exists for a GRU")
            input_bias, recurrent_bias = blocks(bias[0]), blocks(bias[1])
        else:
            raise ValueError(
                f"{kind} bias must have shape ({width},) or (2, {width}), got {tuple(bias.shape)}"
            )
    return CellWeights(
        kind=kind,
        kernel=blocks(kernel),
        recurrent_kernel=blocks(recurrent_kernel),
        input_bias=input_bias,
        recurrent_bias=recurrent_bias,
    )


def join_gates(weights: CellWeights) -> list[Array]:
    """Inverse of :func:`split_gates`: the list ``layer.set_weights`` expects.

    Returns ``[kernel, recurrent_kernel]`` plus ``bias`` when the cell has one; the
    bias has two rows exactly when ``weights.recurrent_bias`` is set.
    """
    gates = GATES[weights.kind]

    def concat(per_gate: Any) -> Array:
        return np.concatenate([per_gate[gate] for gate in gates], axis=-1)

    arrays = [concat(weights.kernel), concat(weights.recurrent_kernel)]
    if weights.input_bias is not None:
        if weights.recurrent_bias is not None:
            arrays.append(np.stack([concat(weights.input_bias), concat(weights.recurrent_bias)]))
        else:
            arrays.append(concat(weights.input_bias))
    return arrays


def layer_cell_weights(layer: Any, kind: CellKind) -> CellWeights:
    """Per-gate weights of a Keras GRU/LSTM/SimpleRNN layer (``layer.get_weights()``)."""
    arrays: Sequence[Array] = layer.get_weights()
    if len(arrays) not in (2, 3):
        raise UnsupportedModelError(
            f"layer '{layer.name}': expected kernel, recurrent kernel and optional bias, "
            f"got {len(arrays)} weight arrays"
        )
    bias = arrays[2] if len(arrays) == 3 else None
    return split_gates(kind, arrays[0], arrays[1], bias)
