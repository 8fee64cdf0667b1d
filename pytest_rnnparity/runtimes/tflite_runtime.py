"""Run a TFLite artifact with LiteRT (``ai-edge-litert``) and read back every exposed value.

What a Keras 3 recurrent layer becomes in TFLite (measured, TF 2.21 / LiteRT 2.3):

* **Loop** (the default): one ``WHILE`` op per direction; its body subgraph is one
  step. The interpreter keeps a body's tensors from the *last* iteration only, so
  the gates are read at the last processing step; the loop's carried outputs give
  the final states and, with ``return_sequences``, every step's hidden state.
* **Unrolled** (``unroll=True`` before converting): every step is a run of ops in the
  main subgraph and, with ``experimental_preserve_all_tensors``, every gate at every
  step can be read. With a zero initial state the converter folds what multiplies
  it away: the LSTM forget gate (and the GRU reset gate with ``reset_after=False``)
  of the first step is never computed (NaN in the readout, ``missing_steps``).

Values are read with the reference kernels (no XNNPACK delegate): a delegate runs
several ops as one and does not keep their intermediate tensors. The model's
outputs are also computed with the default delegate, as deployed, and the readout
notes how far the two runs differ. Quantized tensors are dequantized with their own
scale and zero point.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_rnnparity.errors import ArtifactError
from pytest_rnnparity.reference.types import TRACE_NAMES, Array
from pytest_rnnparity.runtimes.locate import plan_layer_outputs, plan_unrolled, step_names
from pytest_rnnparity.runtimes.manifest import Artifact, DirectionName, ModelManifest
from pytest_rnnparity.runtimes.readout import (
    Readout,
    ReadPlan,
    assemble,
    concat_batches,
    time_major,
)
from pytest_rnnparity.runtimes.scopes import Place, Scopes
from pytest_rnnparity.runtimes.steps import find_steps
from pytest_rnnparity.runtimes.tflite_model import (
    TFLiteModel,
    WhileLoop,
    copy_mismatches,
    read_model,
    split_id,
)

LAST_ITERATION = (
    "the interpreter keeps a WHILE body's tensors from its last iteration only: "
    "read at the last step"
)


def _plan_while(
    loop: WhileLoop, model: TFLiteModel, plan: ReadPlan, scopes: Scopes
) -> set[tuple[str, str]]:
    body = model.subgraphs[loop.body]
    planned: set[tuple[str, str]] = set()
    for layer in plan.manifest.layers:
        if layer.kind is None:
            continue
        activation = layer.activation if layer.kind == "simple_rnn" else None
        # body input k is carried to body output k; weights pass through unchanged
        carried = frozenset(
            t for t, out in zip(body.inputs, body.outputs, strict=False) if t != out
        )
        steps = [
            s
            for s in find_steps(body, layer.kind, activation=activation, carried=carried)
            if s.previous.get(s.link) in carried
        ]
        for step in steps:
            place = scopes.resolve_all(step_names(body, [step]))
            if place is None and _only_one_of_its_kind(plan.manifest, layer.name):
                place = Place(layer.name, "forward")  # Keras 2 names the body 'while/...'
            if place is None or place.layer != layer.name:
                continue
            direction = place.direction or ("forward" if len(layer.directions) == 1 else None)
            if direction is None:
                continue
            key = (layer.name, direction)
            last = plan.timesteps - 1
            for name in TRACE_NAMES[layer.kind]:
                if name in step.roles:
                    plan.add_steps(
                        (*key, name),
                        {last: step.roles[name]},
                        f"WHILE body tensor {body.name(step.roles[name])} (last iteration)",
                    )
                else:
                    plan.reasons[(*key, name)] = "not recognised in the WHILE body"
            outputs = [body.canon(t) for t in body.outputs]
            for state, tensor in step.states.items():
                indices = [k for k, t in enumerate(outputs) if t == tensor]
                if len(indices) == 1:
                    final = loop.op.outputs[indices[0]]
                    plan.add_final((*key, state), final, f"WHILE output {model.main.name(final)}")
            _plan_while_sequence(loop, model, plan, key, step.roles["hidden"])
            plan.notes.append(f"{layer.name} ({direction}): {LAST_ITERATION}")
            planned.add(key)
    return planned


def _only_one_of_its_kind(manifest: ModelManifest, name: str) -> bool:
    """Whether layer ``name`` is the one layer of its cell kind, with one direction."""
    kind = manifest.layer(name).kind
    same = [layer for layer in manifest.layers if layer.kind == kind]
    return len(same) == 1 and len(same[0].directions) == 1


def _plan_while_sequence(
    loop: WhileLoop, model: TFLiteModel, plan: ReadPlan, key: tuple[str, str], hidden: str
) -> None:
    """Every step's hidden state, when the loop carries the stacked outputs out."""
    body = model.subgraphs[loop.body]
    for k, output in enumerate(body.outputs):
        outer = loop.op.outputs[k]
        shape = model.tensors[outer].shape
        if len(shape) != 3 or shape[0] != plan.timesteps or body.canon(output) == hidden:
            continue
        upstream = {t for _, t in body.ancestors(output, max_depth=3, through=None)}
        if hidden in upstream:
            plan.add_sequence(
                (*key, "hidden"), outer, time_major, f"WHILE output {model.main.name(outer)}"
            )
            return


#: The fused recurrent op the TFLite converter makes of a Keras 2 LSTM.
FUSED_LSTM = "unidirectional_sequence_lstm"
FUSED_REASON = (
    "the fused UNIDIRECTIONAL_SEQUENCE_LSTM op computes it inside one op; only its "
    "output at every step leaves it"
)


#: Ops that hold a whole recurrent layer (or its time loop).
RECURRENT_OPS = (
    "while",
    "unidirectional_sequence_lstm",
    "bidirectional_sequence_lstm",
    "unidirectional_sequence_rnn",
    "bidirectional_sequence_rnn",
)


def recurrent_ops(model: TFLiteModel) -> list[str]:
    """``the artifact's recurrent ops: UNIDIRECTIONAL_SEQUENCE_LSTM x2`` (none: unrolled)."""
    counts: dict[str, int] = {}
    for op in model.main.ops:
        if op.kind in RECURRENT_OPS:
            counts[op.kind] = counts.get(op.kind, 0) + 1
    if not counts:
        return []
    found = ", ".join(f"{kind.upper()} x{count}" for kind, count in counts.items())
    return [f"the artifact's recurrent ops: {found}"]


STATE_ACROSS_INVOKES = (
    "the fused LSTM op carries its state from one invoke to the next in variable "
    "tensors: each batch was run after interpreter.reset_all_variables(), as a deployment "
    "of this stateless model must"
)


def _reads_reversed(flow: Any, op: Any, depth: int = 4) -> bool:
    """Whether ``op``'s input comes out of a ``REVERSE_V2`` within ``depth`` ops upstream."""
    tensor = op.inputs[0] if op.inputs else ""
    for _ in range(depth):
        producer = flow.producer(tensor) if tensor else None
        if producer is None:
            return False
        if producer.kind == "reverse_v2":
            return True
        sources = flow.variable_inputs(producer)
        tensor = sources[0] if sources else ""
    return False


def _last_step(value: Array) -> Array:
    last: Array = np.asarray(value)[:, -1]
    return last


def _plan_fused_lstm(model: TFLiteModel, plan: ReadPlan, scopes: Scopes) -> set[tuple[str, str]]:
    """Keras 2's LSTM as one fused op: its output is the hidden state at every step.

    The final hidden state is its last step; the gates and the cell state stay in
    the op (the cell state in a variable tensor the interpreter resets).
    """
    planned: set[tuple[str, str]] = set()
    flow = model.main
    fused = [op for op in flow.ops if op.kind == FUSED_LSTM and op.outputs]
    # the converter names the op 'tfl.unidirectional_sequence_lstm': when no name says
    # which layer it is, the fused ops are the plain LSTM layers in chain order
    lstms = [
        Place(layer.name, direction.direction)
        for layer in plan.manifest.layers
        if layer.kind == "lstm"
        for direction in layer.directions
    ]
    by_order = len(fused) == len(lstms)
    for index, op in enumerate(fused):
        place = scopes.resolve(op.name) if op.name else None
        if place is None:
            names = [flow.name(t) for t in op.outputs if t]
            place = scopes.resolve_all(names)
        if place is None and by_order:
            place = lstms[index]
            if len(plan.manifest.layer(place.layer).directions) == 2:
                # a Bidirectional's two ops: the backward one reads its input reversed
                side: DirectionName = "backward" if _reads_reversed(flow, op) else "forward"
                place = Place(place.layer, side)
        if place is None or plan.manifest.layer(place.layer).kind != "lstm":
            plan.notes.append(f"UNIDIRECTIONAL_SEQUENCE_LSTM {op.name}: no Keras LSTM found")
            continue
        info = plan.manifest.layer(place.layer)
        direction = place.direction or ("forward" if len(info.directions) == 1 else None)
        if direction is None:
            continue
        output = op.outputs[0]
        shape = model.tensors[output].shape
        transform = time_major if len(shape) == 3 and shape[0] == plan.timesteps else None
        key = (place.layer, direction)
        source = f"UNIDIRECTIONAL_SEQUENCE_LSTM {flow.name(output)} output"
        if transform is None:
            plan.add_sequence((*key, "hidden"), output, lambda v: np.asarray(v), source)
            plan.add_final((*key, "hidden"), output, source + " (last step)", _last_step)
        else:
            plan.add_sequence((*key, "hidden"), output, transform, source)
            plan.add_final(
                (*key, "hidden"),
                output,
                source + " (last step)",
                lambda v: _last_step(time_major(v)),
            )
        for name in ("input", "forget", "candidate", "output", "cell"):
            plan.reasons[(*key, name)] = FUSED_REASON
        plan.reasons[(*key, "final cell")] = (
            "the fused op keeps it in a variable state tensor, not an output"
        )
        plan.notes.append(f"{place.layer} ({direction}): {FUSED_REASON}")
        planned.add(key)
    return planned


def plan_tflite(model: TFLiteModel, manifest: ModelManifest, *, timesteps: int) -> ReadPlan:
    """What to read from ``model``, where, and why the rest cannot be read."""
    scopes = Scopes(manifest)
    plan = ReadPlan(manifest=manifest, timesteps=timesteps)
    planned: set[tuple[str, str]] = set()
    planned |= _plan_fused_lstm(model, plan, scopes)
    for loop in model.loops:
        planned |= _plan_while(loop, model, plan, scopes)
    plan_unrolled(model.main, plan, scopes, skip=planned)

    def place_of(op: Any) -> Place | None:
        return scopes.resolve(op.name) if op.name else None

    plan_layer_outputs(model.main, plan, place_of)
    return plan


def _interpreter(content: bytes, *, preserve: bool) -> Any:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType  # type: ignore[import-untyped,import-not-found,unused-ignore]

    if preserve:
        interpreter = Interpreter(
            model_content=content,
            experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
    else:
        interpreter = Interpreter(model_content=content)
    interpreter.allocate_tensors()
    return interpreter


def _batches(x: Array, batch_size: int) -> list[Array]:
    """``x`` in batches of ``batch_size`` rows, the last padded with zero rows."""
    rows = len(x)
    padded = -(-rows // batch_size) * batch_size
    if padded != rows:
        x = np.concatenate([x, np.zeros((padded - rows, *x.shape[1:]), dtype=x.dtype)])
    return [x[i : i + batch_size] for i in range(0, padded, batch_size)]


def _invoke(interpreter: Any, batch: Array) -> list[Array]:
    inputs = interpreter.get_input_details()
    if len(inputs) != 1:
        raise ArtifactError(f"the model has {len(inputs)} inputs; one is supported")
    # a fused recurrent op keeps its state in variable tensors from one invoke to the
    # next: each batch starts from the zero state, as the stateless Keras model does
    interpreter.reset_all_variables()
    interpreter.set_tensor(inputs[0]["index"], batch.astype(inputs[0]["dtype"], copy=False))
    interpreter.invoke()
    outputs = []
    for detail in interpreter.get_output_details():
        value = interpreter.get_tensor(detail["index"])
        scale, zero = detail.get("quantization", (0.0, 0))
        if scale and value.dtype.kind in "iu":
            value = scale * (value.astype(np.float64) - zero)
        outputs.append(np.array(value))
    return outputs


def run_tflite(artifact: Artifact, x: Any) -> Readout:
    """Run ``artifact`` on ``x`` ``(batch, time, features)`` and read back all it exposes.

    Rows are fed in batches of the artifact's fixed batch size (the last one padded
    and the padding dropped).
    """
    import ai_edge_litert  # type: ignore[import-untyped,import-not-found,unused-ignore]

    if artifact.format != "tflite":
        raise ArtifactError(f"{artifact.path} is {artifact.format}, not tflite")
    x_array = np.asarray(x, dtype=np.float32)
    content = artifact.path.read_bytes()
    model = read_model(content)
    plan = plan_tflite(model, artifact.manifest, timesteps=int(x_array.shape[1]))
    reading = _interpreter(content, preserve=True)
    deployed = _interpreter(content, preserve=False)
    batch_size = artifact.batch_size or int(reading.get_input_details()[0]["shape"][0])
    wanted = plan.tensors()
    per_batch = []
    outputs: list[list[Array]] = []
    deployed_outputs: list[list[Array]] = []
    for batch in _batches(x_array, batch_size):
        outputs.append(_invoke(reading, batch))
        deployed_outputs.append(_invoke(deployed, batch))
        fetched = {tensor: _read_tensor(reading, model, tensor) for tensor in wanted}
        per_batch.append(plan.evaluate(fetched.__getitem__, rows=len(batch)))
    rows = len(x_array)
    values = concat_batches(per_batch, rows)
    joined = [np.concatenate([o[i] for o in outputs])[:rows] for i in range(len(outputs[0]))]
    as_deployed = [
        np.concatenate([o[i] for o in deployed_outputs])[:rows] for i in range(len(outputs[0]))
    ]
    gap = max(
        float(np.max(np.abs(a - b), initial=0.0)) for a, b in zip(joined, as_deployed, strict=True)
    )
    notes = [
        "values read with LiteRT's reference kernels (no delegate); the model outputs "
        f"with the default delegate (XNNPACK) differ from them by at most {gap:.3g}",
        *copy_mismatches(model),
        *([STATE_ACROSS_INVOKES] if any(op.kind == FUSED_LSTM for op in model.main.ops) else []),
        *recurrent_ops(model),
    ]
    return assemble(
        plan,
        values,
        artifact=artifact,
        runtime=f"ai-edge-litert {getattr(ai_edge_litert, '__version__', '?')}",
        inputs=x_array,
        outputs=joined,
        notes=notes,
        deployed_outputs=as_deployed,
        scale_of=lambda tensor: _scale(model, tensor),
        output_scales=[_scale(model, model.main.canon(t)) for t in model.main.outputs],
    )


def _scale(model: TFLiteModel, tensor: str) -> float | None:
    """The quantization step of an integer tensor (None for a float one)."""
    info = model.tensors.get(tensor)
    if info is None or info.quant is None or info.dtype not in ("int8", "uint8", "int16"):
        return None
    return float(np.max(info.quant.scale))


def _read_tensor(interpreter: Any, model: TFLiteModel, tensor: str) -> Array:
    subgraph, index = split_id(tensor)
    try:
        value = np.array(interpreter.get_tensor(index, subgraph))
    except ValueError as error:
        raise ArtifactError(
            f"tensor {model.tensors[tensor].name!r} cannot be read: {error}"
        ) from None
    info = model.tensors[tensor]
    if info.quant is not None and value.dtype.kind in "iu":
        return info.quant.dequantize(value)
    return value.astype(np.float64)
