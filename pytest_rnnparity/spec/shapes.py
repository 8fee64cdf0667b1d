"""The shapes a functional model's layers give, worked out at load time without Keras.

Shapes leave out the batch axis: a window of 8 steps of 3 features is ``(8, 3)``, a
token sequence of 12 ids ``(12,)``. Axis arguments count the batch as Keras does
(``axis: 1`` is the first axis here, ``-1`` the last). Each function follows the Keras
layer's own ``compute_output_shape``; where Keras would refuse the input (or fail deep
inside a call), :class:`Misfit` says why, in the spec's words.

* :func:`output_parts` names a layer's outputs (``output``, ``state_h``, ...);
* :func:`layer_outputs` gives the shape of each of them for the shapes it reads;
* :func:`state_shapes` gives the shapes of the states a recurrent layer starts from
  (what ``initial_state`` must give);
* :func:`layer_weight_count` about how many weights a layer holds (the size budget).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_rnnparity.spec.types import (
    ATTENTION_LAYERS,
    MERGE_LAYERS,
    RECURRENT_LAYERS,
    LayerDecl,
)

Shape = tuple[int, ...]

#: Recurrent layers whose output may be a sequence, and the states each gives.
_STATES = {"GRU": ("state",), "SimpleRNN": ("state",), "LSTM": ("state_h", "state_c")}
_CELL_STATES = {"GRUCell": 1, "SimpleRNNCell": 1, "LSTMCell": 2}
#: Layers that read a sequence ``(steps, features)`` exactly.
_SEQUENCE_LAYERS = (
    *RECURRENT_LAYERS, "Bidirectional", "RNN", "Conv1D", "MaxPooling1D", "AveragePooling1D",
    "GlobalAveragePooling1D", "GlobalMaxPooling1D", "ZeroPadding1D", "Cropping1D",
    "UpSampling1D", "Attention", "AdditiveAttention", "MultiHeadAttention",
)  # fmt: skip


@dataclass(frozen=True)
class Tensor:
    """What a layer reads: its shape, whether it holds integer ids, and where it comes from.

    ``source`` is the reference as written (``encoder.state_h``); ``last_step_of`` names
    the recurrent layer that gave only its last step, for the hint to set
    ``return_sequences``.
    """

    shape: Shape
    source: str
    integer: bool = False
    last_step_of: str | None = None


class Misfit(Exception):
    """A layer cannot take what it reads; ``argument`` names the argument to blame, if one."""

    def __init__(self, problem: str, *, argument: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.argument = argument


def show(shape: Shape) -> str:
    """``(8, 3)``, ``(4,)``."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _recurrent(decl: LayerDecl) -> LayerDecl:
    """The recurrent layer a Bidirectional wraps, or the layer itself."""
    inner: LayerDecl = decl.kwargs.get("layer", decl)
    return inner


def _cells(decl: LayerDecl) -> tuple[LayerDecl, ...]:
    cell = decl.kwargs["cell"]
    return cell if isinstance(cell, tuple) else (cell,)


def state_names(decl: LayerDecl) -> tuple[str, ...]:
    """The states a recurrent layer returns with ``return_state`` and starts from."""
    name = decl.class_name
    if name in _STATES:
        return _STATES[name]
    if name == "Bidirectional":
        inner = _STATES[_recurrent(decl).class_name]
        return tuple(f"{side}_{state}" for side in ("forward", "backward") for state in inner)
    if name == "RNN":
        count = sum(_CELL_STATES[cell.class_name] for cell in _cells(decl))
        return tuple(f"state_{index}" for index in range(count))
    if name == "ConvLSTM1D":
        return ("state_h", "state_c")
    return ()


def output_parts(decl: LayerDecl) -> tuple[str, ...]:
    """The names of a layer's outputs in the order Keras returns them.

    ``output`` first (``forward`` and ``backward`` for a Bidirectional layer with
    ``merge_mode: null``), then with ``return_state: true`` the states of
    :func:`state_names`.
    """
    first: tuple[str, ...] = ("output",)
    merge_mode = decl.kwargs.get("merge_mode", "concat")
    if decl.class_name == "Bidirectional" and merge_mode is None:
        first = ("forward", "backward")
    states = state_names(decl) if _recurrent(decl).kwargs.get("return_state", False) else ()
    return (*first, *states)


def _axis_index(axis: int, rank: int, *, argument: str, what: str) -> int:
    """A Keras axis (counting the batch as 0, or negative) as an index into a shape."""
    index = axis - 1 if axis > 0 else rank + axis
    if not 0 <= index < rank:
        raise Misfit(
            f"axis {axis} does not exist in {what}, which has axes 1..{rank} (or -{rank}..-1)",
            argument=argument,
        )
    return index


def _sequence(name: str, tensor: Tensor, *, rank: int = 2, what: str = "") -> Shape:
    shape = tensor.shape
    if len(shape) == rank:
        return shape
    wanted = what or ("a sequence (steps, features)" if rank == 2 else f"{rank} axes")
    problem = f"{name} needs {wanted} but {tensor.source!r} has shape {show(shape)}"
    if tensor.last_step_of is not None and len(shape) == rank - 1:
        problem += f"; set return_sequences: true on model.layers.{tensor.last_step_of}"
    raise Misfit(problem)


def _steps(length: int, kernel: int, *, stride: int, dilation: int, padding: str) -> int:
    """Output steps of a convolution or pooling window over ``length`` steps."""
    if padding in ("same", "causal"):
        return (length - 1) // stride + 1
    return (length - dilation * (kernel - 1) - 1) // stride + 1


def _window(
    name: str, length: int, kernel: int, *, stride: int, dilation: int, padding: str, what: str
) -> int:
    steps = _steps(length, kernel, stride=stride, dilation=dilation, padding=padding)
    if steps < 1:
        span = dilation * (kernel - 1) + 1
        detail = f" (dilation_rate {dilation})" if dilation > 1 else ""
        raise Misfit(
            f"{name}'s {what} spans {span} steps{detail} but it reads only {length}; use"
            " padding: same or a smaller window",
            argument="kernel_size" if what == "kernel" else "pool_size",
        )
    return steps


def _units(decl: LayerDecl) -> int:
    if decl.class_name == "RNN":
        return int(_cells(decl)[-1].kwargs["units"])
    return int(_recurrent(decl).kwargs["units"])


def state_shapes(decl: LayerDecl, tensor: Tensor) -> list[Shape]:
    """The shapes of the states a recurrent layer reading ``tensor`` starts from."""
    name = decl.class_name
    if name == "RNN":
        shapes: list[Shape] = []
        for cell in _cells(decl):
            shapes += [(int(cell.kwargs["units"]),)] * _CELL_STATES[cell.class_name]
        return shapes
    if name == "ConvLSTM1D":
        _, rows, _ = _sequence(name, tensor, rank=3, what="(steps, rows, channels)")
        rows = _conv_rows(decl, rows)
        return [(rows, int(decl.kwargs["filters"]))] * 2
    return [(_units(decl),)] * len(state_names(decl))


def _conv_rows(decl: LayerDecl, rows: int) -> int:
    return _window(
        decl.class_name,
        rows,
        int(decl.kwargs["kernel_size"]),
        stride=int(decl.kwargs.get("strides", 1)),
        dilation=int(decl.kwargs.get("dilation_rate", 1)),
        padding=str(decl.kwargs.get("padding", "valid")),
        what="kernel",
    )


def _recurrent_outputs(decl: LayerDecl, tensor: Tensor) -> list[Shape]:
    name = decl.class_name
    if name == "ConvLSTM1D":
        steps, rows, _ = _sequence(name, tensor, rank=3, what="(steps, rows, channels)")
        state = (_conv_rows(decl, rows), int(decl.kwargs["filters"]))
        sequences = bool(decl.kwargs.get("return_sequences", False))
        convolved: Shape = (steps, *state) if sequences else state
        return [convolved, *[state] * (len(output_parts(decl)) - 1)]
    steps, _ = _sequence(name, tensor)
    inner = decl if name == "RNN" else _recurrent(decl)
    units = _units(decl)
    width = units
    merge_mode = decl.kwargs.get("merge_mode", "concat")
    if name == "Bidirectional" and merge_mode == "concat":
        width = 2 * units
    output: Shape = (steps, width) if inner.kwargs.get("return_sequences", False) else (width,)
    firsts = 2 if name == "Bidirectional" and merge_mode is None else 1
    states = state_shapes(decl, tensor)
    count = len(output_parts(decl)) - firsts
    return [output] * firsts + states[:count]


def _merge(decl: LayerDecl, tensors: Sequence[Tensor]) -> Shape:
    name = decl.class_name
    if name == "Subtract" and len(tensors) != 2:
        raise Misfit(f"Subtract takes exactly 2 inputs, got {len(tensors)}")
    if len(tensors) < 2:
        raise Misfit(f"{name} merges at least 2 inputs, got {len(tensors)}")
    if name == "Dot":
        return _dot(decl, tensors)
    first = tensors[0]
    for other in tensors[1:]:
        if len(other.shape) != len(first.shape):
            raise Misfit(
                f"{name} merges inputs of the same rank, but {first.source!r} has shape"
                f" {show(first.shape)} and {other.source!r} {show(other.shape)}"
            )
    rank = len(first.shape)
    if name == "Concatenate":
        axis = _axis_index(
            int(decl.kwargs.get("axis", -1)), rank, argument="axis", what="the inputs"
        )
        total = 0
        for other in tensors:
            for index, (a, b) in enumerate(zip(first.shape, other.shape, strict=True)):
                if index != axis and a != b:
                    raise Misfit(
                        f"Concatenate joins along axis {decl.kwargs.get('axis', -1)}; every other"
                        f" axis must match, but {first.source!r} has shape {show(first.shape)}"
                        f" and {other.source!r} {show(other.shape)}"
                    )
            total += other.shape[axis]
        return tuple(total if index == axis else size for index, size in enumerate(first.shape))
    shape = list(first.shape)
    for other in tensors[1:]:
        for index, (a, b) in enumerate(zip(shape, other.shape, strict=True)):
            if a != b and 1 not in (a, b):
                raise Misfit(
                    f"{name} needs inputs of one shape (or of size 1 where they differ), but"
                    f" {first.source!r} has shape {show(first.shape)} and {other.source!r}"
                    f" {show(other.shape)}"
                )
            shape[index] = max(a, b)
    return tuple(shape)


def _dot(decl: LayerDecl, tensors: Sequence[Tensor]) -> Shape:
    if len(tensors) != 2:
        raise Misfit(f"Dot takes exactly 2 inputs, got {len(tensors)}")
    axes = decl.kwargs["axes"]
    pair = axes if isinstance(axes, tuple) else (axes, axes)
    left, right = tensors
    a = _axis_index(int(pair[0]), len(left.shape), argument="axes", what=repr(left.source))
    b = _axis_index(int(pair[1]), len(right.shape), argument="axes", what=repr(right.source))
    if left.shape[a] != right.shape[b]:
        raise Misfit(
            f"Dot multiplies axis {pair[0]} of {left.source!r} {show(left.shape)} with axis"
            f" {pair[1]} of {right.source!r} {show(right.shape)}: sizes {left.shape[a]} and"
            f" {right.shape[b]} differ",
            argument="axes",
        )
    shape = left.shape[:a] + left.shape[a + 1 :] + right.shape[:b] + right.shape[b + 1 :]
    return shape or (1,)


def _attention(decl: LayerDecl, tensors: Sequence[Tensor]) -> Shape:
    name = decl.class_name
    if len(tensors) not in (2, 3):
        raise Misfit(
            f"{name} reads [query, value] or [query, value, key], got {len(tensors)} inputs"
        )
    query, value = tensors[0], tensors[1]
    key = tensors[2] if len(tensors) == 3 else value
    for tensor in {id(t): t for t in (query, value, key)}.values():
        _sequence(name, tensor)
    if key.shape[0] != value.shape[0]:
        raise Misfit(
            f"{name}'s key and value need the same steps, but {key.source!r} has shape"
            f" {show(key.shape)} and {value.source!r} {show(value.shape)}"
        )
    if name == "MultiHeadAttention":
        return query.shape
    if query.shape[-1] != key.shape[-1]:
        raise Misfit(
            f"{name} compares query and key feature by feature, but {query.source!r} has"
            f" {query.shape[-1]} features and {key.source!r} {key.shape[-1]}"
        )
    return (query.shape[0], value.shape[-1])


def _reshaped(decl: LayerDecl, tensor: Tensor) -> Shape:
    target = tuple(int(size) for size in decl.kwargs["target_shape"])
    values = math.prod(tensor.shape)
    known = math.prod(size for size in target if size != -1)
    if -1 in target:
        if values % known:
            raise Misfit(
                f"Reshape cannot fit {tensor.source!r} {show(tensor.shape)} ({values} values)"
                f" into {show(target)}: {values} is not a multiple of {known}",
                argument="target_shape",
            )
        return tuple(values // known if size == -1 else size for size in target)
    if known != values:
        raise Misfit(
            f"Reshape to {show(target)} holds {known} values but {tensor.source!r} has shape"
            f" {show(tensor.shape)} ({values} values)",
            argument="target_shape",
        )
    return target


def _single(decl: LayerDecl, tensor: Tensor) -> Shape:
    """The output shape of a layer that reads one tensor and gives one."""
    name = decl.class_name
    kwargs: Mapping[str, Any] = decl.kwargs
    shape = tensor.shape
    if name in ("Dense", "Dropout", "Masking", "Activation"):
        if name == "Dense":
            return (*shape[:-1], int(kwargs["units"]))
        return shape
    if name == "TimeDistributed":
        if len(shape) < 2:
            raise Misfit(
                f"TimeDistributed needs a sequence (steps, ...) but {tensor.source!r} has shape"
                f" {show(shape)}"
            )
        inner = _single(kwargs["layer"], Tensor(shape[1:], tensor.source))
        return (shape[0], *inner)
    if name == "Embedding":
        return (*shape, int(kwargs["output_dim"]))
    if name == "Flatten":
        return (math.prod(shape),)
    if name == "Reshape":
        return _reshaped(decl, tensor)
    if name == "Permute":
        dims = kwargs["dims"]
        if len(dims) != len(shape):
            raise Misfit(
                f"Permute's dims {list(dims)} order {len(dims)} axes but {tensor.source!r} has"
                f" shape {show(shape)} ({len(shape)} axes)",
                argument="dims",
            )
        return tuple(shape[axis - 1] for axis in dims)
    if name == "RepeatVector":
        if len(shape) != 1:
            problem = f"RepeatVector repeats a vector but {tensor.source!r} has shape {show(shape)}"
            raise Misfit(problem)
        return (int(kwargs["n"]), shape[0])
    if name in ("LayerNormalization", "BatchNormalization"):
        axes = kwargs.get("axis", -1)
        for axis in axes if isinstance(axes, tuple) else (axes,):
            _axis_index(int(axis), len(shape), argument="axis", what=f"{show(shape)}")
        return shape
    steps, channels = _sequence(name, tensor)
    if name in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
        return (1, channels) if kwargs.get("keepdims", False) else (channels,)
    if name == "Conv1D":
        groups = int(kwargs.get("groups", 1))
        if channels % groups:
            raise Misfit(
                f"Conv1D with groups: {groups} needs channels in multiples of {groups}, but"
                f" {tensor.source!r} has {channels}",
                argument="groups",
            )
        steps = _window(
            name,
            steps,
            int(kwargs["kernel_size"]),
            stride=int(kwargs.get("strides", 1)),
            dilation=int(kwargs.get("dilation_rate", 1)),
            padding=str(kwargs.get("padding", "valid")),
            what="kernel",
        )
        return (steps, int(kwargs["filters"]))
    if name in ("MaxPooling1D", "AveragePooling1D"):
        pool = int(kwargs.get("pool_size", 2))
        stride = kwargs.get("strides")
        steps = _window(
            name,
            steps,
            pool,
            stride=pool if stride is None else int(stride),
            dilation=1,
            padding=str(kwargs.get("padding", "valid")),
            what="pool",
        )
        return (steps, channels)
    if name == "ZeroPadding1D":
        left, right = kwargs.get("padding", (1, 1))
        return (steps + left + right, channels)
    if name == "Cropping1D":
        left, right = kwargs.get("cropping", (1, 1))
        if left + right >= steps:
            raise Misfit(
                f"Cropping1D cuts {left} + {right} steps but {tensor.source!r} has only {steps}",
                argument="cropping",
            )
        return (steps - left - right, channels)
    if name == "UpSampling1D":
        return (steps * int(kwargs.get("size", 2)), channels)
    raise AssertionError(f"no shape rule for {name}")  # pragma: no cover


def takes(decl: LayerDecl) -> tuple[int, int | None]:
    """How many inputs a layer reads: ``(least, most)``, None for no limit."""
    name = decl.class_name
    if name in MERGE_LAYERS:
        return (2, 2) if name in ("Subtract", "Dot") else (2, None)
    if name in ATTENTION_LAYERS:
        return (2, 3)
    return (1, 1)


def reads_integers(decl: LayerDecl) -> bool:
    """Whether the layer reads integer ids (an Embedding) rather than floats."""
    return decl.class_name == "Embedding"


def layer_outputs(decl: LayerDecl, tensors: Sequence[Tensor]) -> list[Shape]:
    """The shape of each of the layer's outputs (see :func:`output_parts`).

    Raises:
        Misfit: the layer cannot take these inputs.
    """
    name = decl.class_name
    if name in MERGE_LAYERS:
        return [_merge(decl, tensors)]
    if name in ATTENTION_LAYERS:
        return [_attention(decl, tensors)]
    (tensor,) = tensors
    if name in (*RECURRENT_LAYERS, "Bidirectional", "RNN", "ConvLSTM1D"):
        return _recurrent_outputs(decl, tensor)
    return [_single(decl, tensor)]


def layer_weight_count(decl: LayerDecl, shapes: Sequence[Shape]) -> int:
    """About how many weights ``decl`` holds reading ``shapes`` (for the size budget)."""
    name = decl.class_name
    kwargs: Mapping[str, Any] = decl.kwargs
    width = shapes[0][-1] if shapes and shapes[0] else 1
    if name in ("Bidirectional", "TimeDistributed"):
        inner = (shapes[0][1:],) if name == "TimeDistributed" else shapes
        copies = 2 if name == "Bidirectional" else 1
        return copies * layer_weight_count(kwargs["layer"], inner)
    gates = {"GRU": 3, "LSTM": 4, "SimpleRNN": 1, "GRUCell": 3, "LSTMCell": 4, "SimpleRNNCell": 1}
    if name in gates:
        units = int(kwargs["units"])
        return gates[name] * units * (width + units + 2)
    if name == "RNN":
        total = 0
        for cell in _cells(decl):
            total += layer_weight_count(cell, [(width,)])
            width = int(cell.kwargs["units"])
        return total
    if name == "Dense":
        return int(kwargs["units"]) * (width + 1)
    if name == "Embedding":
        return int(kwargs["input_dim"]) * int(kwargs["output_dim"])
    if name in ("Conv1D", "ConvLSTM1D"):
        filters, kernel = int(kwargs["filters"]), int(kwargs["kernel_size"])
        if name == "Conv1D":
            return kernel * (width // int(kwargs.get("groups", 1))) * filters + filters
        return 4 * filters * (kernel * (width + filters) + 1)
    if name in ("LayerNormalization", "BatchNormalization"):
        return 4 * width
    if name == "MultiHeadAttention":
        heads, key_dim = int(kwargs["num_heads"]), int(kwargs["key_dim"])
        value_dim = int(kwargs.get("value_dim", key_dim))
        query, value = shapes[0][-1], shapes[1][-1]
        key = shapes[2][-1] if len(shapes) > 2 else value
        return heads * (key_dim * (query + key + 2) + value_dim * (value + 2 * query + 1))
    if name in ATTENTION_LAYERS:
        return width + 1
    return 0
