"""The functional form of ``model:``: named layers, what each reads, the model's outputs.

::

    model:
      layers:
        embedding: {Embedding: {input_dim: 50, output_dim: 8, mask_zero: true}, inputs: tokens}
        lstm: {Bidirectional: {layer: {LSTM: {units: 4}}}, inputs: embedding}
        out: {Dense: {units: 1, activation: sigmoid}, inputs: lstm}
      outputs: [out]

Each layer is ``{Class: {arguments}}`` as in the chain, plus ``inputs:`` (one reference
or a list), ``initial_state:`` (recurrent layers: a list of references) and
``use_causal_mask:`` (attention layers). A reference names a model input (a key of
``data.inputs``), a layer (its output) or one output of a layer, ``layer.part``: the
parts are :func:`~pytest_rnnparity.spec.shapes.output_parts` (``encoder.state_h``,
``bi.forward``). ``outputs`` defaults to every layer no other layer reads, in the order
written.

Loading checks, before Keras runs and each at its line and column: every reference
names something, the layers form no cycle, every layer and input is used, each layer
can take the shapes it reads (:mod:`.shapes`), integer token ids reach an ``Embedding``
and nothing else, an ``Embedding``'s ``input_dim`` covers the vocabulary of the tokens
it reads, and the model fits the size budget.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from pytest_rnnparity.spec.data import input_rows, source_features
from pytest_rnnparity.spec.layers import layer_arguments
from pytest_rnnparity.spec.reader import Reader, check_name, suggest, unknown_message
from pytest_rnnparity.spec.shapes import (
    Misfit,
    Shape,
    Tensor,
    layer_outputs,
    layer_weight_count,
    output_parts,
    reads_integers,
    show,
    state_names,
    state_shapes,
    takes,
)
from pytest_rnnparity.spec.types import (
    ATTENTION_LAYERS,
    GRAPH_KEYS,
    GRAPH_LAYER_ARGUMENTS,
    MAX_RUN_VALUES,
    MAX_WEIGHTS,
    NODE_KEYS,
    RECURRENT_LAYERS,
    STEPPING_LAYERS,
    GraphData,
    LayerNode,
    ModelGraph,
    SyntheticTokens,
    TokenFile,
)
from pytest_rnnparity.spec.yaml_loader import KeyPath, describe

_INITIAL_STATE_LAYERS = (*RECURRENT_LAYERS, "Bidirectional", "RNN", "ConvLSTM1D")


def is_graph_model(model: Any) -> bool:
    """Whether ``model:`` as written is the functional form (a mapping without ``path``)."""
    return isinstance(model, dict) and "path" not in model


def read_graph(reader: Reader, data: GraphData) -> ModelGraph:
    """``model: {layers: ..., outputs: ...}`` checked against the inputs of ``data``."""
    at: KeyPath = ("model",)
    written = reader.fields(at, GRAPH_KEYS, required=("layers",))
    layers_at: KeyPath = (*at, "layers")
    layers = reader.get(layers_at)
    if not isinstance(layers, dict) or not layers:
        reader.fail(
            layers_at,
            "expected a mapping of layer names to layers, such as {lstm: {LSTM: {units: 4},"
            f" inputs: x}}}}, got {describe(layers)}",
        )
    inputs = tuple(model_input.name for model_input in data.inputs)
    nodes: list[LayerNode] = []
    for name in layers:
        node_at: KeyPath = (*layers_at, name)
        check_name(reader, node_at, name, what="a layer")
        if name in inputs:
            reader.fail(
                node_at,
                f"{name!r} is already the name of a model input (data.inputs.{name}); give the"
                " layer another name",
                at_key=True,
            )
        nodes.append(_node(reader, node_at, name))
    graph = _Graph(reader, data, nodes)
    outputs = graph.outputs(written)
    order = graph.order()
    graph.check_shapes(order)
    graph.check_used(outputs)
    if not any(node.layer.class_name in STEPPING_LAYERS for node in nodes):
        reader.fail(
            layers_at,
            "the model has no recurrent layer (GRU, LSTM, SimpleRNN, RNN, ConvLSTM1D, or one"
            " wrapped in Bidirectional); there is nothing to check",
        )
    return ModelGraph(inputs=inputs, layers=tuple(nodes), outputs=outputs, order=order)


def _node(reader: Reader, at: KeyPath, name: str) -> LayerNode:
    entry = reader.get(at)
    if not isinstance(entry, dict):
        reader.fail(
            at,
            f"expected a layer such as {{LSTM: {{units: 4}}, inputs: x}}, got {describe(entry)}",
        )
    classes = [key for key in entry if key not in NODE_KEYS]
    if not classes:
        reader.fail(
            at, "missing the layer: give its class and arguments, such as {LSTM: {units: 4}}"
        )
    known = [key for key in classes if key in GRAPH_LAYER_ARGUMENTS]
    if len(known) > 1:
        reader.fail(
            (*at, known[1]),
            f"one layer per name, got {' and '.join(known)}; give each its own name",
            at_key=True,
        )
    for key in classes:
        if key in known:
            continue
        if known or not key[:1].isupper():
            reader.fail((*at, key), unknown_message("key", key, NODE_KEYS), at_key=True, key=at)
        reader.fail(
            (*at, key), unknown_message("layer", key, tuple(GRAPH_LAYER_ARGUMENTS)), at_key=True
        )
    (class_name,) = known
    args_at = (*at, class_name)
    arguments = reader.get(args_at)
    if isinstance(arguments, dict) and "name" in arguments:
        reader.fail(
            (*args_at, "name"),
            f"the layer's name is its key under model.layers ({name}); remove name:",
            at_key=True,
            key=args_at,
        )
    if "inputs" not in entry:
        reader.fail(at, f"missing required key 'inputs' (what {name} reads)")
    decl = layer_arguments(reader, at, class_name, GRAPH_LAYER_ARGUMENTS)
    node_inputs = _references(reader, (*at, "inputs"), single=True)
    initial_state: tuple[str, ...] = ()
    if "initial_state" in entry:
        if class_name not in _INITIAL_STATE_LAYERS:
            reader.fail(
                (*at, "initial_state"),
                f"{class_name} has no state; initial_state applies to recurrent layers",
                at_key=True,
            )
        initial_state = _references(reader, (*at, "initial_state"), single=False)
    causal = None
    if "use_causal_mask" in entry:
        if class_name not in ATTENTION_LAYERS:
            reader.fail(
                (*at, "use_causal_mask"),
                f"applies to attention layers ({', '.join(ATTENTION_LAYERS)}), not {class_name}",
                at_key=True,
            )
        causal = reader.boolean((*at, "use_causal_mask"))
    return LayerNode(
        name=name,
        layer=decl,
        inputs=node_inputs,
        initial_state=initial_state,
        use_causal_mask=causal,
        line=reader.document.key_location(at).line,
    )


def _references(reader: Reader, at: KeyPath, *, single: bool) -> tuple[str, ...]:
    value = reader.get(at)
    if isinstance(value, str) and single:
        return (reader.string(at),)
    if not isinstance(value, list) or not value:
        example = "tokens or [lstm, attention]" if single else "[encoder.state_h, encoder.state_c]"
        reader.fail(
            at,
            f"expected {'a name or ' if single else ''}a list of names such as {example}, got"
            f" {describe(value)}",
        )
    return tuple(reader.string((*at, index)) for index in range(len(value)))


class _Graph:
    """The layers as written, with what each reads, for the checks of :func:`read_graph`."""

    def __init__(self, reader: Reader, data: GraphData, nodes: Sequence[LayerNode]) -> None:
        self.reader = reader
        self.data = data
        self.nodes = {node.name: node for node in nodes}
        self.inputs = [model_input.name for model_input in data.inputs]

    def where(self, node: LayerNode, key: str, index: int | None = None) -> KeyPath:
        at: KeyPath = ("model", "layers", node.name, key)
        value = self.reader.get(at)
        return (*at, index) if index is not None and isinstance(value, list) else at

    def reads(self, node: LayerNode) -> list[tuple[str, str, int]]:
        """``(reference, key, index)`` of everything ``node`` reads."""
        return [
            *((ref, "inputs", i) for i, ref in enumerate(node.inputs)),
            *((ref, "initial_state", i) for i, ref in enumerate(node.initial_state)),
        ]

    def resolve(self, reference: str, at: KeyPath) -> tuple[str, str | None]:
        """``(name, part)`` of a reference, refused when it names nothing."""
        name, _, part = reference.partition(".")
        names = [*self.inputs, *self.nodes]
        if name not in names:
            self.reader.fail(at, unknown_message("layer or input", reference, names))
        if name in self.inputs:
            if part:
                self.reader.fail(
                    at, f"{name!r} is a model input, which has one value; write {name}"
                )
            return name, None
        decl = self.nodes[name].layer
        parts = output_parts(decl)
        if not part:
            if parts[0] != "output":
                self.reader.fail(
                    at,
                    f"{name} returns two outputs (merge_mode: null); name one:"
                    f" {name}.forward or {name}.backward",
                )
            return name, "output"
        if part not in parts:
            if part in state_names(decl):
                self.reader.fail(
                    at,
                    f"{name} returns only its output; set return_state: true on"
                    f" model.layers.{name} to read {reference}",
                )
            problem = f"{name} has no output {part!r}; it returns {', '.join(parts)}"
            close = suggest(part, [*parts, *state_names(decl)])
            if close is not None:
                problem += f"; did you mean {name}.{close}?"
            self.reader.fail(at, problem)
        return name, part

    def outputs(self, written: Mapping[str, Any]) -> tuple[str, ...]:
        """``model.outputs`` as written, or every layer no layer reads."""
        at: KeyPath = ("model", "outputs")
        if "outputs" not in written:
            read = {
                self.resolve(ref, self.where(node, key, index))[0]
                for node in self.nodes.values()
                for ref, key, index in self.reads(node)
            }
            return tuple(name for name in self.nodes if name not in read)
        references = _references(self.reader, at, single=True)
        for index, reference in enumerate(references):
            where = (*at, index) if isinstance(self.reader.get(at), list) else at
            name, _ = self.resolve(reference, where)
            if name in self.inputs:
                self.reader.fail(
                    where, f"{name!r} is a model input; the model's outputs are layers"
                )
            if reference in references[:index]:
                self.reader.fail(where, f"{reference!r} is listed twice")
        return references

    def order(self) -> tuple[str, ...]:
        """The layers' names, each after everything it reads; a cycle is refused."""
        done: dict[str, None] = {}
        visiting: list[str] = []

        def visit(name: str) -> None:
            if name in done or name in self.inputs:
                return
            node = self.nodes[name]
            if name in visiting:
                cycle = [*visiting[visiting.index(name) :], name]
                first = cycle[0]
                steps = ", ".join(f"{a} reads {b}" for a, b in itertools.pairwise(cycle))
                self.reader.fail(
                    self.where(self.nodes[first], "inputs"),
                    f"the layers read each other in a cycle: {steps}",
                )
            visiting.append(name)
            for ref, key, index in self.reads(node):
                visit(self.resolve(ref, self.where(node, key, index))[0])
            visiting.pop()
            done[name] = None

        for name in self.nodes:
            visit(name)
        return tuple(done)

    def check_used(self, outputs: Sequence[str]) -> None:
        """Refuse a layer or an input that no output depends on (Keras would drop it)."""
        used: set[str] = set()
        pending = [self.resolve(ref, ("model", "outputs"))[0] for ref in outputs]
        while pending:
            name = pending.pop()
            if name in used:
                continue
            used.add(name)
            if name in self.nodes:
                node = self.nodes[name]
                pending += [
                    self.resolve(ref, self.where(node, key, index))[0]
                    for ref, key, index in self.reads(node)
                ]
        for name in self.nodes:
            if name not in used:
                self.reader.fail(
                    ("model", "layers", name),
                    f"no model output depends on {name}; read it from another layer or list it"
                    " in model.outputs",
                    at_key=True,
                )
        for name in self.inputs:
            if name not in used:
                self.reader.fail(
                    ("data", "inputs", name),
                    f"no layer reads the input {name!r}; remove it or read it from a layer",
                    at_key=True,
                )

    def check_shapes(self, order: Sequence[str]) -> None:
        """Work out every output's shape in ``order``, refusing what a layer cannot take."""
        rows = self.data_rows()
        values: dict[tuple[str, str | None], Tensor] = {}
        for model_input in self.data.inputs:
            shape = input_shape(model_input)
            values[(model_input.name, None)] = Tensor(
                shape, model_input.name, integer=model_input.is_tokens
            )
            if rows is not None and rows * _size(shape) > MAX_RUN_VALUES:
                self.reader.fail(
                    ("data", "inputs", model_input.name),
                    f"{rows:,} rows of shape {show(shape)} make {rows * _size(shape):,} values"
                    f" per array; at most {MAX_RUN_VALUES:,}: set data.batch or data.stride, or"
                    " shorten the lookback",
                    at_key=True,
                )
        weights = 0
        for name in order:
            node = self.nodes[name]
            decl = node.layer
            tensors = [
                values[self.resolve(ref, self.where(node, "inputs", i))]
                for i, ref in enumerate(node.inputs)
            ]
            least, most = takes(decl)
            if not least <= len(tensors) <= (most or len(tensors)):
                wanted = (
                    "one input"
                    if most == 1
                    else f"{least} inputs"
                    if least == most
                    else f"{least} to {most} inputs"
                    if most
                    else f"at least {least} inputs"
                )
                self.reader.fail(
                    self.where(node, "inputs"),
                    f"{decl.class_name} reads {wanted}, got {len(tensors)}",
                )
            for index, tensor in enumerate(tensors):
                self.check_kind(node, tensor, index)
            shapes = self.outputs_of(node, tensors)
            self.check_initial_state(node, tensors[0], values)
            last_step = None
            if decl.class_name in (*RECURRENT_LAYERS, "Bidirectional", "RNN", "ConvLSTM1D"):
                last_step = name
            for part, shape in zip(output_parts(decl), shapes, strict=True):
                sequence = part in ("output", "forward", "backward") and len(shape) > 1
                values[(name, part)] = Tensor(
                    shape,
                    name if part == "output" else f"{name}.{part}",
                    last_step_of=None if sequence else last_step,
                )
                if rows is not None and rows * max(1, _size(shape)) > MAX_RUN_VALUES:
                    self.reader.fail(
                        ("model", "layers", name),
                        f"{rows:,} rows of shape {show(shape)} make"
                        f" {rows * _size(shape):,} values per array; at most"
                        f" {MAX_RUN_VALUES:,}: set data.batch or use smaller layers",
                        at_key=True,
                    )
            weights += layer_weight_count(decl, [tensor.shape for tensor in tensors])
            if weights > MAX_WEIGHTS:
                self.reader.fail(
                    ("model", "layers", name),
                    f"the model would hold about {weights:,} weights up to this layer; at most"
                    f" {MAX_WEIGHTS:,}: use fewer units",
                    at_key=True,
                )

    def data_rows(self) -> int | None:
        """The rows every input gives, when the loader knows them (see :mod:`.data`)."""
        counts = [input_rows(model_input, self.data) for model_input in self.data.inputs]
        known = [count for count in counts if count is not None]
        return max(known) if known else None

    def check_kind(self, node: LayerNode, tensor: Tensor, index: int) -> None:
        """Integer ids go to an Embedding, and an Embedding reads integer ids only."""
        at = self.where(node, "inputs", index)
        decl = node.layer
        if tensor.integer and not reads_integers(decl):
            self.reader.fail(
                at,
                f"{tensor.source!r} holds integer token ids; {decl.class_name} computes on"
                " floats: read them through an Embedding",
            )
        if reads_integers(decl) and not tensor.integer:
            self.reader.fail(
                at,
                f"Embedding looks up integer token ids but {tensor.source!r} holds floats;"
                " give it a tokens: input",
            )
        if reads_integers(decl):
            self.check_vocabulary(node, tensor.source)

    def check_vocabulary(self, node: LayerNode, source: str) -> None:
        """An Embedding's ``input_dim`` must cover the ids of the tokens it reads."""
        tokens = self.data.input(source).data
        vocabulary = tokens.vocabulary if isinstance(tokens, SyntheticTokens | TokenFile) else None
        input_dim = int(node.layer.kwargs["input_dim"])
        if vocabulary is not None and vocabulary > input_dim:
            self.reader.fail(
                ("model", "layers", node.name, "Embedding", "input_dim"),
                f"the Embedding has rows for {input_dim} ids, but data.inputs.{source} has a"
                f" vocabulary of {vocabulary} (ids up to {vocabulary - 1}); set input_dim to at"
                f" least {vocabulary}",
            )

    def check_initial_state(
        self, node: LayerNode, first: Tensor, values: Mapping[tuple[str, str | None], Tensor]
    ) -> None:
        if not node.initial_state:
            return
        decl = node.layer
        wanted = state_shapes(decl, first)  # the output shapes (the same rules) passed
        at = self.where(node, "initial_state")
        if len(node.initial_state) != len(wanted):
            names = ", ".join(state_names(decl))
            self.reader.fail(
                at,
                f"{decl.class_name} starts from {len(wanted)} state{'s' if len(wanted) > 1 else ''}"
                f" ({names}), got {len(node.initial_state)}",
            )
        for index, (reference, shape) in enumerate(zip(node.initial_state, wanted, strict=True)):
            where = self.where(node, "initial_state", index)
            tensor = values[self.resolve(reference, where)]
            if tensor.integer:
                self.reader.fail(where, f"{reference!r} holds integer token ids, not a state")
            if tensor.shape != shape:
                self.reader.fail(
                    where,
                    f"{node.name} starts from states of shape {show(shape)}; {reference!r} has"
                    f" shape {show(tensor.shape)}",
                )

    def outputs_of(self, node: LayerNode, tensors: Sequence[Tensor]) -> list[Shape]:
        """The layer's output shapes, or its located error (raised outside the ``except``,
        so that nothing is chained to it)."""
        try:
            return layer_outputs(node.layer, tensors)
        except Misfit as error:
            misfit = error
        self.misfit(node, misfit)

    def misfit(self, node: LayerNode, misfit: Misfit) -> NoReturn:
        at = self.where(node, "inputs")
        if misfit.argument is not None:
            arguments = node.layer.kwargs
            if misfit.argument in arguments:
                at = ("model", "layers", node.name, node.layer.class_name, misfit.argument)
        self.reader.fail(at, misfit.problem)


def _size(shape: Shape) -> int:
    size = 1
    for dim in shape:
        size *= dim
    return size


def input_shape(model_input: Any) -> Shape:
    """The shape of one row of a model input: ``(lookback, features)`` or ``(length,)``."""
    data = model_input.data
    if isinstance(data, SyntheticTokens | TokenFile):
        return (int(data.length or 0),)
    return (int(model_input.lookback), source_features(data))


def split_reference(graph: ModelGraph, reference: str) -> tuple[str, str | None]:
    """``(name, part)`` of a reference the loader accepted: ``(input, None)`` for a model
    input, ``(layer, "output")`` for a layer's bare name, ``(layer, part)`` for
    ``layer.part``."""
    name, _, part = reference.partition(".")
    if name in graph.inputs:
        return name, None
    return name, part or output_parts(graph.node(name).layer)[0]
