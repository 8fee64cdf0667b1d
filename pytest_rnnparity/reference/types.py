"""Plain data the reference pass works on: per-gate weights, layer descriptions, traces.

Nothing here imports keras or tensorflow. Weight arrays are NumPy arrays in the
layout Keras uses for a single gate:

* ``kernel[gate]``            shape ``(features, units)``  (``W`` in the equations)
* ``recurrent_kernel[gate]``  shape ``(units, units)``     (``U``)
* ``input_bias[gate]``        shape ``(units,)``           (``b_x``; the only bias when
  ``reset_after`` is False or the cell is an LSTM/SimpleRNN)
* ``recurrent_bias[gate]``    shape ``(units,)``           (``b_h``; GRU with
  ``reset_after=True`` only, row 1 of Keras' ``(2, 3 * units)`` bias)

Gate names follow Keras' column order: GRU ``z, r, h``; LSTM ``i, f, c, o``;
SimpleRNN ``h``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

Array = NDArray[np.floating]
CellKind = Literal["gru", "lstm", "simple_rnn"]
MergeMode = Literal["concat", "sum", "mul", "ave"] | None

GATES: Mapping[str, tuple[str, ...]] = {
    "gru": ("z", "r", "h"),
    "lstm": ("i", "f", "c", "o"),
    "simple_rnn": ("h",),
}

#: Names of the per-step traces each cell yields, in report order.
TRACE_NAMES: Mapping[str, tuple[str, ...]] = {
    "gru": ("update", "reset", "candidate", "hidden"),
    "lstm": ("input", "forget", "candidate", "output", "cell", "hidden"),
    "simple_rnn": ("hidden",),
}

#: Names of the states each cell carries, in Keras' order.
STATE_NAMES: Mapping[str, tuple[str, ...]] = {
    "gru": ("hidden",),
    "lstm": ("hidden", "cell"),
    "simple_rnn": ("hidden",),
}


@dataclass(frozen=True)
class CellWeights:
    """Per-gate weights of one recurrent cell (see the module docstring for shapes)."""

    kind: CellKind
    kernel: Mapping[str, Array]
    recurrent_kernel: Mapping[str, Array]
    input_bias: Mapping[str, Array] | None = None
    recurrent_bias: Mapping[str, Array] | None = None

    @property
    def units(self) -> int:
        return int(next(iter(self.recurrent_kernel.values())).shape[0])

    @property
    def features(self) -> int:
        return int(next(iter(self.kernel.values())).shape[0])


@dataclass(frozen=True)
class CellConfig:
    """The options of a Keras recurrent cell that change what it computes at inference."""

    kind: CellKind
    units: int
    activation: str | None = "tanh"
    recurrent_activation: str | None = "sigmoid"  # unused by SimpleRNN
    use_bias: bool = True
    reset_after: bool = True  # GRU only


@dataclass(frozen=True)
class RecurrentLayer:
    """One recurrent layer (GRU, LSTM, SimpleRNN) as the reference runs it."""

    name: str
    cell: CellConfig
    weights: CellWeights
    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False
    stateful: bool = False
    zero_output_for_mask: bool = False


@dataclass(frozen=True)
class BidirectionalLayer:
    """A ``Bidirectional`` wrapper: ``backward`` runs with ``go_backwards=True``."""

    name: str
    forward: RecurrentLayer
    backward: RecurrentLayer
    merge_mode: MergeMode = "concat"
    return_sequences: bool = False
    return_state: bool = False


@dataclass(frozen=True)
class DenseLayer:
    """``Dense`` or ``TimeDistributed(Dense)``: ``activation(x @ kernel + bias)``, last axis."""

    name: str
    kernel: Array  # (in, out)
    bias: Array | None  # (out,)
    activation: str | None = None
    time_distributed: bool = False


@dataclass(frozen=True)
class MaskingLayer:
    """``Masking``: a step is masked when all its features equal ``mask_value``."""

    name: str
    mask_value: float = 0.0


@dataclass(frozen=True)
class IdentityLayer:
    """A layer that is the identity at inference (``Dropout``, ``InputLayer``, ...)."""

    name: str
    class_name: str


@dataclass(frozen=True)
class StackedLayer:
    """``RNN(StackedRNNCells([...]))``: the cells step in order, bottom first, in one loop.

    ``cells`` holds each cell's options and per-gate weights. The layer's output is the
    top cell's; its final states are every cell's, in Keras' order.
    """

    name: str
    cells: tuple[tuple[CellConfig, CellWeights], ...]
    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False
    stateful: bool = False
    zero_output_for_mask: bool = False


@dataclass(frozen=True)
class ConvLSTMLayer:
    """``ConvLSTM1D``/``2D``/``3D``: an LSTM whose gates are convolutions.

    ``kernel`` ``(*K, C, 4F)``, ``recurrent_kernel`` ``(*K, F, 4F)``, ``bias`` ``(4F,)``
    or None, gates ``i, f, c, o`` as Keras orders them.
    """

    name: str
    kernel: Array
    recurrent_kernel: Array
    bias: Array | None
    strides: tuple[int, ...]
    padding: str
    dilation_rate: tuple[int, ...]
    data_format: str = "channels_last"
    activation: str | None = "tanh"
    recurrent_activation: str | None = "sigmoid"
    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False
    stateful: bool = False
    zero_output_for_mask: bool = False


@dataclass(frozen=True)
class FunctionalLayer:
    """A layer the reference computes as one function of its inputs, with no time loop.

    ``class_name`` is the Keras class (``Embedding``, ``Conv1D``, ``Add``,
    ``MultiHeadAttention``, ...) and chooses the function
    (:mod:`pytest_rnnparity.reference.layers.registry`); ``options`` are the config
    values and call-time arguments that change what it computes; ``weights`` its
    arrays by role (``kernel``, ``bias``, ``embeddings``, ``gamma``, ...).
    """

    name: str
    class_name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    weights: Mapping[str, Array] = field(default_factory=dict)


ReferenceLayer = (
    RecurrentLayer
    | BidirectionalLayer
    | StackedLayer
    | ConvLSTMLayer
    | DenseLayer
    | MaskingLayer
    | IdentityLayer
    | FunctionalLayer
)


@dataclass(frozen=True)
class OpaqueLayer:
    """A layer call the reference does not compute: its outputs are taken from Keras.

    ``reason`` says why (a custom layer, an op, an option the reference lacks); every
    report names such a layer as "not computed independently".
    """

    name: str
    class_name: str
    reason: str


#: A model's layer call as a check sees it: computed by the reference, or opaque.
DescribedLayer = ReferenceLayer | OpaqueLayer


def state_names(layer: ReferenceLayer | OpaqueLayer) -> list[tuple[str, tuple[str, ...]]]:
    """Each direction of a recurrent layer and the names of its states, in Keras' order.

    ``[("forward", ("hidden", "cell"))]`` for an LSTM or a ConvLSTM, both directions of a
    Bidirectional, and for stacked cells one direction whose states are every cell's
    (``"hidden (cell 1)"``, ...); ``[]`` for a layer that is not recurrent.
    """
    if isinstance(layer, StackedLayer):
        names = tuple(
            f"{state} (cell {index + 1})"
            for index, (config, _) in enumerate(layer.cells)
            for state in STATE_NAMES[config.kind]
        )
        return [("forward", names)]
    if isinstance(layer, ConvLSTMLayer):
        return [("forward", STATE_NAMES["lstm"])]
    return [(d, STATE_NAMES[r.cell.kind]) for d, r in recurrent_directions(layer)]


def is_recurrent(layer: ReferenceLayer | OpaqueLayer) -> bool:
    """Whether the layer loops over time (a call of it is checked step by step)."""
    return bool(state_names(layer))


def recurrent_directions(layer: ReferenceLayer | OpaqueLayer) -> list[tuple[str, RecurrentLayer]]:
    """``[("forward", layer)]``, both directions of a ``Bidirectional``, or ``[]``."""
    if isinstance(layer, RecurrentLayer):
        return [("forward", layer)]
    if isinstance(layer, BidirectionalLayer):
        return [("forward", layer.forward), ("backward", layer.backward)]
    return []


@dataclass(frozen=True)
class RecurrentTrace:
    """What one direction of a recurrent layer computed.

    ``outputs`` has shape ``(batch, time, units)`` in *processing* order (reversed in
    time when ``go_backwards``), like Keras' ``return_sequences=True`` output.
    ``traces`` maps each name of ``TRACE_NAMES[kind]`` (or only ``"hidden"`` when
    hidden-only traces were asked for) to ``(batch, time, units)`` arrays, also in
    processing order. ``final_states`` maps each name of ``STATE_NAMES[kind]`` to
    ``(batch, units)``.
    """

    kind: CellKind
    outputs: Array
    final_states: Mapping[str, Array]
    traces: Mapping[str, Array] = field(default_factory=dict)


@dataclass(frozen=True)
class LayerResult:
    """The reference output of one layer of the chain.

    ``output`` is what the Keras layer returns as its (first) output;
    ``mask`` is the ``(batch, time)`` boolean mask passed on to the next layer (or None).
    For recurrent layers ``directions`` holds one trace (``"forward"``) or two
    (``"forward"``, ``"backward"``) for Bidirectional.
    """

    name: str
    output: Array | tuple[Array, Array]  # a pair only for Bidirectional(merge_mode=None)
    mask: NDArray[np.bool_] | None = None
    directions: Mapping[str, RecurrentTrace] = field(default_factory=dict)


BoolArray = NDArray[np.bool_]


#: Initial states of one recurrent direction: state name -> ``(batch, units)``.
StateMap = Mapping[str, ArrayLike]


#: Initial states of one layer: direction (``"forward"``/``"backward"``) -> states.
LayerStates = Mapping[str, StateMap]


DIRECTIONS = ("forward", "backward")


def resolve_dtype(dtype: DTypeLike) -> np.dtype[np.floating]:
    """Return the computation dtype, which must be float32 or float64.

    Raises
    ------
    ValueError
        For any other dtype.
    """
    resolved = np.dtype(dtype)
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return resolved  # type: ignore[return-value]
