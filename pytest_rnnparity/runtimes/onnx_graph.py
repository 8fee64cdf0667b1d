"""Read an ONNX model's structure and expose its recurrent internals as graph outputs.

What tf2onnx makes of Keras 3 recurrent layers (measured, tf2onnx 1.17):

* **LSTM** becomes an ONNX ``LSTM`` op (one op for both halves of a Bidirectional).
  Its ``Y`` output ``(time, directions, batch, units)`` holds every step's hidden
  state; ``Y_h`` and ``Y_c`` the final hidden and cell states. The gates and the
  per-step cell state stay inside the op: they are not exposed.
* **GRU** and **SimpleRNN** become a ``Loop`` whose body is one step. The body's
  tensors are not graph values, but a Loop stacks every *scan output* of its body
  over the iterations, so each gate is exposed by adding it (through an
  ``Identity``) as one more scan output. The final state is the Loop's carried
  output.
* An unrolled layer is a flat run of steps in the main graph (:mod:`.locate`).

``instrument`` returns a copy of the model with every tensor a plan reads added
as a graph output; the original model is left as it is, so the readers can check
that both compute the same model outputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_rnnparity.reference.types import TRACE_NAMES, Array
from pytest_rnnparity.runtimes.dataflow import Dataflow, Op, canonical_kind
from pytest_rnnparity.runtimes.locate import plan_layer_outputs, plan_unrolled
from pytest_rnnparity.runtimes.manifest import LayerInfo, ModelManifest
from pytest_rnnparity.runtimes.readout import ReadPlan, Transform, time_major
from pytest_rnnparity.runtimes.scopes import Place, Scopes
from pytest_rnnparity.runtimes.steps import find_steps

if TYPE_CHECKING:
    from onnx import GraphProto, ModelProto, NodeProto

#: ONNX recurrent ops and the final states their outputs 1 and 2 hold.
FUSED_OPS = {"LSTM": ("hidden", "cell"), "GRU": ("hidden",), "RNN": ("hidden",)}
#: Prefix of every tensor name this module adds to a model.
PREFIX = "rnnparity"


def graph_flow(graph: GraphProto, *, outer_values: frozenset[str] = frozenset()) -> Dataflow:
    """The :class:`Dataflow` of an ONNX graph (or a Loop body, given the outer values)."""
    initializers = frozenset(init.name for init in graph.initializer)
    ops = tuple(
        Op(
            kind=canonical_kind(node.op_type),
            name=node.name,
            inputs=tuple(node.input),
            outputs=tuple(node.output),
        )
        for node in graph.node
    )
    return Dataflow(
        ops=ops,
        inputs=tuple(i.name for i in graph.input if i.name not in initializers),
        outputs=tuple(o.name for o in graph.output),
        initializers=initializers,
        outer_values=outer_values,
    )


def _body(node: NodeProto) -> GraphProto:
    for attribute in node.attribute:
        if attribute.name == "body":
            body: GraphProto = attribute.g
            return body
    raise ValueError(f"Loop {node.name} has no body")


def _attribute(node: NodeProto, name: str, default: Any) -> Any:
    from onnx import helper

    for attribute in node.attribute:
        if attribute.name == name:
            value = helper.get_attribute_value(attribute)
            return value.decode() if isinstance(value, bytes) else value
    return default


class _Instrumenter:
    """Collects the edits that expose tensors; applies them to a copy of the model."""

    def __init__(self, model: ModelProto) -> None:
        from onnx import ModelProto

        self.model = ModelProto()
        self.model.CopyFrom(model)
        self.graph_outputs: list[str] = []
        self._counter = 0

    def fresh(self, hint: str) -> str:
        self._counter += 1
        return f"{PREFIX}/{self._counter}/{hint}"

    def expose(self, tensor: str) -> str:
        if tensor not in self.graph_outputs:
            self.graph_outputs.append(tensor)
        return tensor

    def node(self, name: str) -> NodeProto:
        for node in self.model.graph.node:
            if node.name == name:
                found: NodeProto = node
                return found
        raise KeyError(name)

    def scan_output(self, loop_name: str, body_tensor: str, hint: str) -> str:
        """Add ``body_tensor`` to the Loop's scan outputs; returns the stacked graph value."""
        from onnx import TensorProto, helper

        loop = self.node(loop_name)
        body = _body(loop)
        copy = self.fresh(hint + "/step")
        body.node.append(helper.make_node("Identity", [body_tensor], [copy], name=copy))
        body.output.append(helper.make_tensor_value_info(copy, TensorProto.FLOAT, None))
        stacked = self.fresh(hint)
        loop.output.append(stacked)
        return self.expose(stacked)

    def fused_output(self, node_name: str, index: int, hint: str) -> str:
        """Output ``index`` of a fused op, naming it first if the converter left it unused."""
        node = self.node(node_name)
        while len(node.output) <= index:
            node.output.append("")
        if not node.output[index]:
            node.output[index] = self.fresh(hint)
        return self.expose(node.output[index])

    def finish(self) -> ModelProto:
        from onnx import TensorProto, helper, shape_inference

        inferred = shape_inference.infer_shapes(self.model)
        types = {
            info.name: info.type.tensor_type.elem_type
            for info in (*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input)
        }
        existing = {o.name for o in self.model.graph.output}
        for tensor in self.graph_outputs:
            if tensor in existing:
                continue
            elem_type = types.get(tensor) or TensorProto.FLOAT
            self.model.graph.output.append(helper.make_tensor_value_info(tensor, elem_type, None))
        return self.model


def _reverse_time(value: Array) -> Array:
    return np.asarray(value)[:, ::-1]


def _fused_direction_reader(index: int, reverse: bool) -> Transform:
    def read(value: Array) -> Array:
        sequence = time_major(np.asarray(value)[:, index])  # (T, D, B, U) -> (B, T, U)
        return _reverse_time(sequence) if reverse else sequence

    return read


def _final_reader(index: int) -> Transform:
    def read(value: Array) -> Array:
        selected: Array = np.asarray(value)[index]
        return selected

    return read


def _plan_fused(
    node: NodeProto, info: LayerInfo, plan: ReadPlan, edits: _Instrumenter
) -> set[tuple[str, str]]:
    """An ONNX LSTM/GRU/RNN op: every step's hidden state (``Y``) and the final states."""
    if int(_attribute(node, "layout", 0)) != 0:
        plan.notes.append(f"{node.name}: batch-first layout is not read")
        return set()
    onnx_direction = str(_attribute(node, "direction", "forward"))
    count = 2 if onnx_direction == "bidirectional" else 1
    if count != len(info.directions):
        plan.notes.append(
            f"{node.name}: {count} direction(s) in ONNX, {len(info.directions)} in Keras; not read"
        )
        return set()
    planned: set[tuple[str, str]] = set()
    sequence = edits.fused_output(node.name, 0, f"{node.name}/Y")
    for index, direction in enumerate(info.directions):
        # ONNX processes direction 1 of a bidirectional op, or a "reverse" op, from the
        # last timestep back: its processing order is Y's time axis reversed.
        reverse = onnx_direction == "reverse" or index == 1
        key = (info.name, direction.direction)
        plan.add_sequence(
            (*key, "hidden"),
            sequence,
            _fused_direction_reader(index, reverse),
            f"{node.op_type} {node.name} output Y[:, {index}]",
        )
        for output_index, state in enumerate(FUSED_OPS[node.op_type], start=1):
            tensor = edits.fused_output(node.name, output_index, f"{node.name}/{output_index}")
            plan.add_final(
                (*key, state),
                tensor,
                f"{node.op_type} {node.name} output {output_index}",
                _final_reader(index),
            )
        assert info.kind is not None
        for name in TRACE_NAMES[info.kind]:
            if name != "hidden":
                plan.reasons[(*key, name)] = (
                    f"the ONNX {node.op_type} op computes it inside one op; only every "
                    "step's hidden state (Y) and the final states leave it"
                )
        planned.add(key)
    return planned


def _plan_loop(
    node: NodeProto,
    info: LayerInfo,
    place: Place,
    plan: ReadPlan,
    edits: _Instrumenter,
    outer_values: frozenset[str],
) -> set[tuple[str, str]]:
    """A Loop whose body is one step: every role as a new scan output, final states."""
    assert info.kind is not None
    direction = place.direction or ("forward" if len(info.directions) == 1 else None)
    if direction is None:
        return set()
    body = _body(node)
    flow = graph_flow(body, outer_values=outer_values)
    activation = info.activation if info.kind == "simple_rnn" else None
    inputs = [value.name for value in body.input]
    outputs = [value.name for value in body.output]
    # carried value k: body input k + 2, body output k + 1; weights pass through
    carried = [name for k, name in enumerate(inputs[2:]) if outputs[k + 1] != name]
    steps = find_steps(flow, info.kind, activation=activation, carried=frozenset(carried))
    steps = [s for s in steps if s.previous.get(s.link) in carried]
    key = (info.name, direction)
    if len(steps) != 1:
        plan.notes.append(
            f"{node.name}: found {len(steps)} recurrent steps in the Loop body, "
            "expected 1; not read"
        )
        return set()
    step = steps[0]
    for name in TRACE_NAMES[info.kind]:
        if name not in step.roles:
            plan.reasons[(*key, name)] = "not recognised in the Loop body"
            continue
        stacked = edits.scan_output(node.name, step.roles[name], f"{info.name}/{direction}/{name}")
        plan.add_sequence(
            (*key, name),
            stacked,
            time_major,
            f"Loop {node.name} body tensor {step.roles[name]} (added as a scan output)",
        )
    body_outputs = [flow.canon(o.name) for o in body.output]
    for state, tensor in step.states.items():
        # carried value k is body output k + 1 and Loop output k
        indices = [k for k in range(1, len(inputs) - 1) if body_outputs[k] == tensor]
        if len(indices) == 1:
            output = node.output[indices[0] - 1]
            plan.add_final((*key, state), edits.expose(output), f"Loop {node.name} output {output}")
    return {key}


def _fused_place(
    node: NodeProto, flow: Dataflow, scopes: Scopes, manifest: ModelManifest
) -> Place | None:
    """The layer a fused LSTM/GRU/RNN op computes, from the names around it.

    tf2onnx leaves the op itself unscoped (``LSTM__87``); the ops that read its outputs
    are in its layer's scope (``sequential_1/lstm_1/strided_slice``), while its input
    may be named by the layer before it (``bidirectional_1/concat:0``). So the names
    downstream decide, and the input only when they say nothing; either must name a
    recurrent layer of the op's kind. When no name says, the op is the next
    recurrent layer after the one its input comes from, if that layer is of its kind.
    """
    kind = {"LSTM": "lstm", "GRU": "gru", "RNN": "simple_rnn"}[node.op_type]
    downstream = [node.name, *node.output]
    for output in node.output:
        downstream += [op.name for op in flow.consumers(output) if op.name]
    for names in (downstream, [*node.input[:1], *downstream]):
        place = scopes.resolve_all(n for n in names if n)
        if place is not None and manifest.layer(place.layer).kind == kind:
            return place
    # every name unscoped: the op is the first layer of its kind after the one whose
    # output it reads (or the first of its kind, reading the model's input)
    names = [layer.name for layer in manifest.layers]
    source = scopes.resolve(node.input[0]) if node.input else None
    start = 0 if source is None else names.index(source.layer) + 1
    if source is None and node.input and node.input[0] not in flow.inputs:
        return None
    for layer in manifest.layers[start:]:
        if layer.kind == kind:
            return Place(layer.name, "forward" if len(layer.directions) == 1 else None)
        if layer.kind is not None:
            return None
    return None


def plan_onnx(
    model: ModelProto, manifest: ModelManifest, *, timesteps: int
) -> tuple[ReadPlan, ModelProto]:
    """The read plan of ``model`` and the instrumented copy that exposes what it reads."""
    graph = model.graph
    flow = graph_flow(graph)
    scopes = Scopes(manifest)
    plan = ReadPlan(manifest=manifest, timesteps=timesteps)
    edits = _Instrumenter(model)
    outer_values = frozenset(t for t in flow.tensors() if not flow.is_constant(t)) | frozenset(
        flow.inputs
    )
    planned: set[tuple[str, str]] = set()
    fused: dict[str, Place | None] = {}  # the layer of each fused op, whose own names say none
    for node in graph.node:
        if node.op_type in FUSED_OPS:
            place = _fused_place(node, flow, scopes, manifest)
            fused[node.name] = place
            if place is None:
                plan.notes.append(f"{node.op_type} {node.name}: no Keras layer found by name")
                continue
            info = manifest.layer(place.layer)
            if info.kind is None:
                continue
            planned |= _plan_fused(node, info, plan, edits)
        elif node.op_type == "Loop":
            place = scopes.resolve(node.name)
            if place is None:
                continue
            info = manifest.layer(place.layer)
            if info.kind is None:
                continue
            planned |= _plan_loop(node, info, place, plan, edits, outer_values)
    unrolled = plan_unrolled(flow, plan, scopes, skip=planned)
    for layer, direction, _ in list(plan.steps):
        for tensor in plan.steps[(layer, direction, _)].values():
            edits.expose(tensor)
    for key, (tensor, _) in list(plan.finals.items()):
        if key[:2] in unrolled:
            edits.expose(tensor)

    def place_of(op: Op) -> Place | None:
        if op.name in fused:
            return fused[op.name]
        return scopes.resolve(op.name) if op.name else None

    plan_layer_outputs(flow, plan, place_of)
    for candidates in plan.outputs.values():
        for tensor in candidates:
            edits.expose(tensor)
    return plan, edits.finish()
