"""Read a TFLite flatbuffer: every subgraph as a :class:`Dataflow`, quantization, constants.

The LiteRT interpreter lists the ops of the main subgraph only, so the file itself
is read with the flatbuffer schema that ``ai-edge-litert`` ships
(``ai_edge_litert.schema_py_generated``). Tensor ids are ``"<subgraph>:<index>"``;
the interpreter reads tensor ``index`` of subgraph ``subgraph``.

:func:`with_constant` returns the flatbuffer with one element of a constant tensor
changed, the way a corrupted or hand-patched deployment would be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pytest_rnnparity.errors import ArtifactError
from pytest_rnnparity.reference.types import Array
from pytest_rnnparity.runtimes.dataflow import Dataflow, Op, canonical_kind

#: Fused activation enum of the schema -> canonical op kind.
FUSED_ACTIVATIONS = {1: "relu", 2: "relu_n1_to_1", 3: "relu6", 4: "tanh", 5: "sign_bit"}


def tensor_id(subgraph: int, index: int) -> str:
    return f"{subgraph}:{index}"


def split_id(tensor: str) -> tuple[int, int]:
    subgraph, index = tensor.split(":")
    return int(subgraph), int(index)


@dataclass(frozen=True)
class Quant:
    """Affine quantization of one tensor: ``real = scale * (q - zero_point)``.

    ``scale`` and ``zero_point`` have one entry per tensor or one per channel along
    ``axis``.
    """

    scale: Array
    zero_point: Array
    axis: int = 0

    def dequantize(self, value: Array) -> Array:
        q = np.asarray(value, dtype=np.float64)
        if self.scale.size == 1:
            return float(self.scale[0]) * (q - float(self.zero_point[0]))
        shape = [1] * q.ndim
        shape[self.axis] = -1
        return self.scale.reshape(shape) * (q - self.zero_point.reshape(shape))


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of the file: name, shape, element type name, quantization, constant data."""

    id: str
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quant | None = None
    buffer: int = 0


@dataclass(frozen=True)
class WhileLoop:
    """A ``WHILE`` op of the main subgraph and the subgraph that is its body."""

    op: Op
    body: int
    cond: int


@dataclass(frozen=True)
class TFLiteModel:
    """The subgraphs of a flatbuffer as dataflows, plus what the readers need per tensor."""

    subgraphs: tuple[Dataflow, ...]
    tensors: Mapping[str, TensorInfo]
    loops: tuple[WhileLoop, ...] = ()
    constant_data: Mapping[str, Array] = field(default_factory=dict)

    @property
    def main(self) -> Dataflow:
        return self.subgraphs[0]

    def op_kinds(self, subgraph: int = 0) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.subgraphs[subgraph].ops:
            counts[op.kind] = counts.get(op.kind, 0) + 1
        return counts


def _schema() -> Any:
    try:
        from ai_edge_litert import schema_py_generated  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:  # pragma: no cover - only with TensorFlow's copy
        from tensorflow.lite.python import schema_py_generated

    return schema_py_generated


_TYPE_NAMES = {
    0: "float32",
    1: "float16",
    2: "int32",
    3: "uint8",
    4: "int64",
    6: "bool",
    7: "int16",
    9: "int8",
    10: "float64",
}


def _operator_names(schema: Any) -> dict[int, str]:
    return {
        value: name
        for name, value in vars(schema.BuiltinOperator).items()
        if not name.startswith("_") and isinstance(value, int)
    }


def _buffer_bytes(model: Any, raw: bytes, index: int) -> bytes | None:
    buffer = model.buffers[index]
    if buffer.data is not None and len(buffer.data):
        return bytes(np.asarray(buffer.data, dtype=np.uint8))
    offset = int(getattr(buffer, "offset", 0) or 0)
    size = int(getattr(buffer, "size", 0) or 0)
    if offset > 1 and size:
        return raw[offset : offset + size]
    return None


def read_model(source: Path | bytes) -> TFLiteModel:
    """Parse a ``.tflite`` file (or its bytes)."""
    raw = Path(source).read_bytes() if isinstance(source, Path) else bytes(source)
    schema = _schema()
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(raw), 0)
    except Exception as error:  # a flatbuffer that does not parse
        raise ArtifactError(f"not a TFLite flatbuffer: {error}") from None
    names = _operator_names(schema)
    flows = []
    tensors: dict[str, TensorInfo] = {}
    constant_data: dict[str, Array] = {}
    loops = []
    for s, subgraph in enumerate(model.subgraphs):
        display: dict[str, str] = {}
        initializers = set()
        for i, tensor in enumerate(subgraph.tensors):
            tid = tensor_id(s, i)
            name = tensor.name.decode() if isinstance(tensor.name, bytes) else str(tensor.name)
            display[tid] = name
            quant = None
            q = tensor.quantization
            if q is not None and q.scale is not None and len(q.scale):
                quant = Quant(
                    scale=np.asarray(q.scale, dtype=np.float64),
                    zero_point=np.asarray(
                        q.zeroPoint if q.zeroPoint is not None else [0] * len(q.scale),
                        dtype=np.float64,
                    ),
                    axis=int(q.quantizedDimension or 0),
                )
            dtype = _TYPE_NAMES.get(int(tensor.type), str(tensor.type))
            shape = tuple(int(d) for d in (tensor.shape if tensor.shape is not None else ()))
            tensors[tid] = TensorInfo(tid, name, shape, dtype, quant, int(tensor.buffer))
            data = _buffer_bytes(model, raw, int(tensor.buffer)) if tensor.buffer else None
            if data is not None:
                initializers.add(tid)
                if dtype in ("float32", "int8", "int32", "float16", "int16", "uint8", "int64"):
                    array = np.frombuffer(data, dtype=np.dtype(dtype))
                    if shape and array.size == int(np.prod(shape)):
                        array = array.reshape(shape)
                    constant_data[tid] = array
        ops = []
        for operator in subgraph.operators:
            code = model.operatorCodes[operator.opcodeIndex]
            builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
            kind = canonical_kind(names.get(builtin, f"op{builtin}"))
            options = operator.builtinOptions
            fused = FUSED_ACTIVATIONS.get(int(getattr(options, "fusedActivationFunction", 0) or 0))
            inputs = tuple("" if i < 0 else tensor_id(s, int(i)) for i in operator.inputs)
            outputs = tuple("" if i < 0 else tensor_id(s, int(i)) for i in operator.outputs)
            first_name = display.get(outputs[0], "") if outputs else ""
            op = Op(kind=kind, name=first_name, inputs=inputs, outputs=outputs, activation=fused)
            ops.append(op)
            if kind == "while":
                loops.append(
                    WhileLoop(
                        op=op,
                        body=int(options.bodySubgraphIndex),
                        cond=int(options.condSubgraphIndex),
                    )
                )
        flows.append(
            Dataflow(
                ops=tuple(ops),
                inputs=tuple(tensor_id(s, int(i)) for i in subgraph.inputs),
                outputs=tuple(tensor_id(s, int(i)) for i in subgraph.outputs),
                names=display,
                initializers=frozenset(initializers),
            )
        )
    return TFLiteModel(
        subgraphs=tuple(flows),
        tensors=tensors,
        loops=tuple(loops),
        constant_data=constant_data,
    )


#: Ops whose LiteRT int8 kernels move values without requantizing them: their
#: output must carry the input's scale and zero point, or the values change.
COPYING_OPS = frozenset(
    {"reverse_v2", "transpose", "reshape", "squeeze", "pack", "unpack", "gather", "slice"}
)


def copy_mismatches(model: TFLiteModel) -> list[str]:
    """Ops that copy int8 values between tensors of different quantization.

    The converter should give them equal scales; when it does not (TF 2.21 gives a
    Bidirectional's REVERSE_V2 the concat's scale), the kernel still copies the
    integers, so every value is reread with the wrong scale and zero point. Each
    line names the op, both quantizations and the largest error that causes.
    """
    found = []
    for op in model.main.ops:
        if op.kind not in COPYING_OPS or not op.inputs or not op.outputs:
            continue
        source, target = model.tensors.get(op.inputs[0]), model.tensors.get(op.outputs[0])
        if source is None or target is None or source.quant is None or target.quant is None:
            continue
        if source.dtype not in ("int8", "uint8") or source.quant.scale.size != 1:
            continue
        s_in, z_in = float(source.quant.scale[0]), float(source.quant.zero_point[0])
        s_out, z_out = float(target.quant.scale[0]), float(target.quant.zero_point[0])
        if (s_in, z_in) == (s_out, z_out):
            continue
        q = np.arange(-128, 128) if source.dtype == "int8" else np.arange(256)
        worst = float(np.max(np.abs(s_out * (q - z_out) - s_in * (q - z_in))))
        found.append(
            f"{op.kind.upper()} {op.name}: input quantized ({s_in:.4g}, {z_in:g}), output "
            f"({s_out:.4g}, {z_out:g}); the kernel copies the int8 values, so its output "
            f"is off by up to {worst:.3g}"
        )
    return found


def with_constant(content: bytes, tensor_name: str, index: tuple[int, ...], value: float) -> bytes:
    """``content`` with element ``index`` of constant tensor ``tensor_name`` set to ``value``.

    For a quantized tensor ``value`` is in real units and is quantized with the
    tensor's own scale. The flatbuffer is edited in place (same size), so everything
    else stays byte for byte.
    """
    schema = _schema()
    data = bytearray(content)
    model = schema.Model.GetRootAs(data, 0)
    subgraph = model.Subgraphs(0)
    for i in range(subgraph.TensorsLength()):
        tensor = subgraph.Tensors(i)
        if tensor.Name().decode() != tensor_name:
            continue
        buffer = model.Buffers(tensor.Buffer())
        if buffer.DataLength() == 0:
            raise ArtifactError(f"tensor {tensor_name!r} holds no constant data")
        dtype = np.dtype(_TYPE_NAMES[tensor.Type()])
        shape = tuple(tensor.ShapeAsNumpy())
        start = buffer._tab.Vector(buffer._tab.Offset(4))  # the data vector's first byte
        flat = int(np.ravel_multi_index(index, shape))
        quant = tensor.Quantization()
        if quant is not None and quant.ScaleLength():
            axis = quant.QuantizedDimension()
            channel = index[axis] if quant.ScaleLength() > 1 else 0
            scale = quant.Scale(channel)
            zero = quant.ZeroPoint(channel) if quant.ZeroPointLength() else 0
            info = np.iinfo(dtype)
            stored = np.clip(round(value / scale + zero), info.min, info.max)
        else:
            stored = value
        count = int(np.prod(shape))
        writable = np.ndarray((count,), dtype=dtype, buffer=data, offset=start)
        writable[flat] = stored
        return bytes(data)
    raise ArtifactError(f"no tensor named {tensor_name!r} in the main subgraph")
