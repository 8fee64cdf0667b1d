"""A converted model's graph as plain data: ops, the tensors between them, which are constant.

ONNX graphs, ONNX ``Loop`` bodies and TFLite subgraphs are all read into this one shape
so that the step matchers (:mod:`.steps`) and the layer-boundary search work on any of
them. Op kinds are lower case and shared across formats where the op is the same
(TFLite ``LOGISTIC`` and ONNX ``Sigmoid`` are both ``sigmoid``; ``FULLY_CONNECTED``,
``MatMul`` and ``Gemm`` keep their own names). A TFLite op with a fused activation
keeps it in ``activation``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

#: Ops that pass a value on unchanged (up to requantization): looked through when
#: matching structure, so an int8 model matches like its float32 original.
TRANSPARENT_OPS = frozenset({"identity", "quantize", "dequantize", "cast"})

#: Element-wise ops: with a single non-constant input they form activation chains
#: (``tanh``, ``x * 0.2 + 0.5`` ...).
ELEMENTWISE_OPS = frozenset(
    {
        "abs",
        "add",
        "clip",
        "div",
        "elu",
        "erf",
        "exp",
        "gelu",
        "hard_swish",
        "hardsigmoid",
        "hardswish",
        "leaky_relu",
        "leakyrelu",
        "maximum",
        "max",
        "minimum",
        "min",
        "mul",
        "neg",
        "pow",
        "relu",
        "relu6",
        "relu_n1_to_1",
        "sigmoid",
        "softplus",
        "softsign",
        "sqrt",
        "square",
        "sub",
        "tanh",
        *TRANSPARENT_OPS,
    }
)

#: Ops a recurrent step computes with; searches inside one step stay on these, so
#: they do not wander through the plumbing (unpack, transpose, pack) into another
#: step's or another layer's tensors.
STEP_OPS = ELEMENTWISE_OPS | {
    "fully_connected",
    "matmul",
    "gemm",
    "batch_matmul",
    "split",
    "strided_slice",
    "slice",
    "squeeze",
    "unsqueeze",
    "reshape",
}

#: Canonical kinds for ops that two formats name differently.
KIND_ALIASES = {"logistic": "sigmoid"}


def canonical_kind(name: str) -> str:
    """The shared lower-case kind of an ONNX op type or a TFLite builtin operator name."""
    kind = name.lower()
    return KIND_ALIASES.get(kind, kind)


@dataclass(frozen=True)
class Op:
    """One op: its kind, its name (empty when the format has none) and tensor ids."""

    kind: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    activation: str | None = None  # a fused activation (TFLite), canonical kind


@dataclass(frozen=True)
class Dataflow:
    """A graph: ``ops`` in file order, ``inputs`` (graph inputs and, for a loop body, the
    carried values), ``outputs``, tensor display ``names`` and ``initializers``
    (tensors the file stores as constants). A tensor that no op produces and that is
    not an input is also constant (a value from outside a loop body, say).
    """

    ops: tuple[Op, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    names: Mapping[str, str] = field(default_factory=dict)
    initializers: frozenset[str] = frozenset()
    #: Tensors from an enclosing graph that vary at run time (not constants).
    outer_values: frozenset[str] = frozenset()
    _producers: dict[str, Op] = field(default_factory=dict, init=False, repr=False)
    _consumers: dict[str, list[Op]] = field(default_factory=dict, init=False, repr=False)
    _constants: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        for op in self.ops:
            for tensor in op.outputs:
                if tensor:
                    self._producers[tensor] = op
            for tensor in op.inputs:
                if tensor:
                    self._consumers.setdefault(tensor, []).append(op)
        variable = set(self.inputs) | set(self.outer_values)
        for op in self.ops:  # file order is topological in both formats
            sources = [t for t in op.inputs if t]
            if all(self._is_constant_source(t, variable) for t in sources):
                self._constants.update(t for t in op.outputs if t)

    def _is_constant_source(self, tensor: str, variable: set[str]) -> bool:
        if tensor in self._constants or tensor in self.initializers:
            return True
        return tensor not in self._producers and tensor not in variable

    # -- lookups ----------------------------------------------------------------------

    def producer(self, tensor: str) -> Op | None:
        return self._producers.get(tensor)

    def consumers(self, tensor: str) -> tuple[Op, ...]:
        return tuple(self._consumers.get(tensor, ()))

    def is_constant(self, tensor: str) -> bool:
        if not tensor:
            return True
        return self._is_constant_source(tensor, set(self.inputs) | set(self.outer_values))

    def name(self, tensor: str) -> str:
        return self.names.get(tensor, tensor)

    def tensors(self) -> Iterator[str]:
        """Every tensor an op produces, in file order."""
        for op in self.ops:
            yield from (t for t in op.outputs if t)

    # -- structure --------------------------------------------------------------------

    def canon(self, tensor: str) -> str:
        """``tensor`` with transparent ops (identity, (de)quantize, cast) looked through."""
        seen = set()
        while tensor not in seen:
            seen.add(tensor)
            op = self.producer(tensor)
            if op is None or op.kind not in TRANSPARENT_OPS or op.activation:
                return tensor
            sources = self.variable_inputs(op)
            if len(sources) != 1:
                return tensor
            tensor = sources[0]
        return tensor

    def variable_inputs(self, op: Op) -> list[str]:
        """The inputs of ``op`` that are not constant, in order."""
        return [t for t in op.inputs if t and not self.is_constant(t)]

    def maker(self, tensor: str) -> Op | None:
        """The op that computes ``tensor``, looking through transparent ops."""
        return self.producer(self.canon(tensor))

    def operands(self, tensor: str) -> list[str] | None:
        """The canonical non-constant inputs of the op that computes ``tensor``."""
        op = self.maker(tensor)
        if op is None:
            return None
        return [self.canon(t) for t in self.variable_inputs(op)]

    def is_activation_output(self, tensor: str) -> bool:
        """Computed by an element-wise op of one non-constant input (``tanh(x)``, ``x * 0.2``)."""
        op = self.maker(tensor)
        if op is None:
            return False
        return op.kind in ELEMENTWISE_OPS and len(self.variable_inputs(op)) == 1

    def activation_kind(self, tensor: str) -> str | None:
        """The kind of the op that computes ``tensor``, or its fused activation."""
        op = self.maker(tensor)
        if op is None:
            return None
        return op.activation or op.kind

    def activation_root(self, tensor: str) -> str:
        """Walk back through single-input element-wise ops: ``c`` for ``tanh(c)``."""
        seen = set()
        tensor = self.canon(tensor)
        while tensor not in seen and self.is_activation_output(tensor):
            seen.add(tensor)
            op = self.maker(tensor)
            assert op is not None
            tensor = self.canon(self.variable_inputs(op)[0])
        return tensor

    def ancestors(
        self, tensor: str, *, max_depth: int, through: frozenset[str] | None = STEP_OPS
    ) -> Iterator[tuple[int, str]]:
        """``(depth, tensor)`` upstream of ``tensor``, nearest first, through ``through``
        ops (any op when None)."""
        start = self.canon(tensor)
        seen = {start}
        queue: deque[tuple[int, str]] = deque([(0, start)])
        while queue:
            depth, current = queue.popleft()
            if depth >= max_depth:
                continue
            op = self.maker(current)
            if op is None or (through is not None and op.kind not in through):
                continue
            for source in self.variable_inputs(op):
                source = self.canon(source)
                if source not in seen:
                    seen.add(source)
                    yield depth + 1, source
                    queue.append((depth + 1, source))
