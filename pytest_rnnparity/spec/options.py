"""The remaining keys: ``weights``, ``tolerance``, ``paths``, ``candidate``, ``torch``,
``marks`` and ``golden``, each read into its frozen dataclass.

:data:`CANDIDATE_PATTERN` is public because :mod:`pytest_rnnparity.check.candidate` checks a
function name against it too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, cast

from pytest_rnnparity.spec.layers import layer_name, recurrent_inside
from pytest_rnnparity.spec.reader import Reader, SpecContext, project_file, suggest, unknown_message
from pytest_rnnparity.spec.torch_support import torch_problem
from pytest_rnnparity.spec.types import (
    BACKENDS,
    CANDIDATE_KEYS,
    GOLDEN_KEYS,
    MAX_GOLDEN_VALUES,
    MAX_TIMEOUT,
    PATH_KEYS,
    QUANTIZATIONS,
    RUNTIMES,
    TOLERANCE_GROUPS,
    TOLERANCE_KEYS,
    TORCH_KEYS,
    CandidateOptions,
    ExecutionPath,
    GoldenOptions,
    LayerDecl,
    ModelGraph,
    SavedModel,
    ToleranceLimits,
    ToleranceOptions,
    TorchOptions,
    WeightsFile,
)
from pytest_rnnparity.spec.yaml_loader import KeyPath, describe


def read_weights(
    reader: Reader, context: SpecContext, *, saved: bool
) -> Literal["seeded", "keras"] | WeightsFile:
    """``weights``: seeded, keras or ``{path: ...}`` (default by the kind of model)."""
    at: KeyPath = ("weights",)
    weights = reader.get(at, None)
    if weights is None:
        return "keras" if saved else "seeded"
    if isinstance(weights, dict):
        reader.fields(at, ("path",), required=("path",))
        resolved, declared = project_file(reader, context, (*at, "path"))
        return WeightsFile(path=resolved, declared=declared)
    if weights in ("seeded", "keras"):
        return cast(Literal["seeded", "keras"], weights)
    problem = f"expected seeded, keras or {{path: <file>}}, got {describe(weights)}"
    suggestion = suggest(weights, ("seeded", "keras")) if isinstance(weights, str) else None
    if suggestion is not None:
        problem += f"; did you mean {suggestion!r}?"
    reader.fail(at, problem)


def read_tolerance(reader: Reader) -> ToleranceOptions:
    """``tolerance:``: overall ``atol``/``rtol`` and those of each group."""
    at: KeyPath = ("tolerance",)
    tolerance = reader.fields(at, TOLERANCE_KEYS)
    overall = _limits(reader, at, tolerance)
    groups: dict[str, ToleranceLimits] = {}
    for group in TOLERANCE_GROUPS:
        if group in tolerance:
            group_at = (*at, group)
            groups[group] = _limits(reader, group_at, reader.fields(group_at, ("atol", "rtol")))
    return ToleranceOptions(atol=overall.atol, rtol=overall.rtol, **groups)


def _limits(reader: Reader, at: KeyPath, written: Mapping[str, Any]) -> ToleranceLimits:
    atol = reader.number((*at, "atol"), minimum=0) if "atol" in written else None
    rtol = reader.number((*at, "rtol"), minimum=0) if "rtol" in written else None
    return ToleranceLimits(atol=atol, rtol=rtol)


#: What a runtime path (``runtime:``) may be written with: it converts the model as it is.
RUNTIME_PATH_KEYS = ("runtime", "quantize", "unroll", "tolerance")


def read_paths(
    reader: Reader, *, stateful: bool = False, dtype: str = "float32"
) -> tuple[ExecutionPath, ...]:
    """``paths:``: the other execution paths of the same model.

    A runtime path (``runtime: onnx | tflite``) converts the model the spec builds:
    it takes ``quantize`` (TFLite only), ``unroll`` and ``tolerance``, and a float32,
    stateless model.
    """
    at: KeyPath = ("paths",)
    entries = reader.get(at)
    if not isinstance(entries, list) or not entries:
        reader.fail(
            at,
            "expected a list of execution paths such as [{backend: jax}, {unroll: true}],"
            f" got {describe(entries)}",
        )
    paths: list[ExecutionPath] = []
    for index in range(len(entries)):
        entry_at: KeyPath = (*at, index)
        written = reader.fields(entry_at, PATH_KEYS)
        if not set(written) - {"tolerance"}:
            reader.fail(
                entry_at,
                "expected at least one of backend, implementation, unroll, use_cudnn,"
                " run_eagerly, runtime",
            )
        _check_runtime_path(reader, entry_at, written, stateful=stateful, dtype=dtype)
        limits = ToleranceLimits()
        if "tolerance" in written:
            tolerance_at = (*entry_at, "tolerance")
            limits = _limits(reader, tolerance_at, reader.fields(tolerance_at, ("atol", "rtol")))
        path = ExecutionPath(
            backend=reader.choice((*entry_at, "backend"), BACKENDS)
            if "backend" in written
            else None,
            implementation=(
                reader.integer((*entry_at, "implementation"), minimum=1, maximum=2)
                if "implementation" in written
                else None
            ),
            unroll=reader.boolean((*entry_at, "unroll")) if "unroll" in written else None,
            use_cudnn=reader.boolean((*entry_at, "use_cudnn")) if "use_cudnn" in written else None,
            run_eagerly=(
                reader.boolean((*entry_at, "run_eagerly")) if "run_eagerly" in written else None
            ),
            runtime=cast(
                Literal["onnx", "tflite"] | None,
                reader.choice((*entry_at, "runtime"), RUNTIMES) if "runtime" in written else None,
            ),
            quantize=cast(
                Literal["dynamic", "int8"] | None,
                reader.choice((*entry_at, "quantize"), QUANTIZATIONS)
                if "quantize" in written
                else None,
            ),
            tolerance=limits,
            line=reader.document.key_location(entry_at).line,
        )
        if any(other.id == path.id for other in paths):
            reader.fail(entry_at, f"the execution path {path.id} is listed twice")
        paths.append(path)
    return tuple(paths)


def _check_runtime_path(
    reader: Reader,
    at: KeyPath,
    written: Mapping[str, Any],
    *,
    stateful: bool,
    dtype: str,
) -> None:
    """A runtime path's keys go together: ``quantize`` needs ``runtime: tflite``, and
    the other execution-path keys change how Keras runs, not what is converted."""
    if "runtime" not in written:
        if "quantize" in written:
            reader.fail((*at, "quantize"), "quantize is for a runtime path: add runtime: tflite")
        return
    runtime = reader.choice((*at, "runtime"), RUNTIMES)
    for key in written:
        if key not in RUNTIME_PATH_KEYS:
            reader.fail(
                (*at, key),
                f"a runtime path converts the model as the spec builds it; {key} does not"
                " apply (a runtime path takes quantize, unroll and tolerance)",
            )
    if "quantize" in written and runtime != "tflite":
        reader.fail((*at, "quantize"), f"quantize is for runtime: tflite, not {runtime}")
    if stateful:
        reader.fail(
            (*at, "runtime"),
            "a runtime path runs every batch from a zero state; this spec is stateful: true",
        )
    if dtype != "float32":
        reader.fail(
            (*at, "runtime"), f"a runtime path converts a float32 model; this spec is {dtype}"
        )


#: ``package.module:function`` (the function may be ``Class.attribute``).
CANDIDATE_PATTERN = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def read_candidate(
    reader: Reader, model: tuple[LayerDecl, ...] | SavedModel | ModelGraph
) -> CandidateOptions:
    """``candidate:``: a function name, or its mapping with layer, expect and diagnosis."""
    at: KeyPath = ("candidate",)
    line = reader.document.key_location(at).line
    if isinstance(reader.get(at), str):
        written: dict[str, Any] = {}
        function_at: KeyPath = at
    else:
        written = reader.fields(at, CANDIDATE_KEYS, required=("function",))
        function_at = (*at, "function")
    function = reader.string(function_at)
    if not CANDIDATE_PATTERN.match(function):
        reader.fail(
            function_at,
            f"expected package.module:function, such as examples.my_gru:forward, got"
            f" {describe(function)}",
        )
    layer: int | str | None = None
    if "layer" in written:
        layer_at: KeyPath = (*at, "layer")
        value = reader.get(layer_at)
        if isinstance(model, ModelGraph):
            layer = _graph_candidate(reader, layer_at, model)
        elif isinstance(value, str):
            layer = layer_name(reader, layer_at)
        else:
            layer = reader.integer(layer_at, minimum=0)
            if not isinstance(model, SavedModel):
                if layer >= len(model):
                    reader.fail(layer_at, f"the model has {len(model)} layers; no layer {layer}")
                if not recurrent_inside(model[layer]):
                    reader.fail(
                        layer_at,
                        f"model[{layer}] is a {model[layer].class_name}; a candidate implements"
                        " a recurrent layer (GRU, LSTM, SimpleRNN or a Bidirectional one)",
                    )
    expect: Literal["match", "mismatch"] = "match"
    if "expect" in written:
        expect = reader.choice((*at, "expect"), ("match", "mismatch"))
    diagnosis = None
    if "diagnosis" in written:
        from pytest_rnnparity.reference.recurrent.mistakes import MISTAKE_NAMES

        diagnosis_at: KeyPath = (*at, "diagnosis")
        if expect != "mismatch":
            reader.fail(diagnosis_at, "applies with expect: mismatch only", at_key=True)
        names = reader.get(diagnosis_at)
        if not isinstance(names, list) or not names:
            reader.fail(diagnosis_at, f"expected a list of mistake names, got {describe(names)}")
        for index, name in enumerate(names):
            if name not in MISTAKE_NAMES:
                reader.fail(
                    (*diagnosis_at, index),
                    unknown_message("mistake", str(name), MISTAKE_NAMES),
                )
        diagnosis = tuple(names)
    return CandidateOptions(
        function=function, layer=layer, expect=expect, diagnosis=diagnosis, line=line
    )


def _graph_candidate(reader: Reader, at: KeyPath, model: ModelGraph) -> str:
    """``candidate.layer`` of a functional model: the name of one of its recurrent layers."""
    value = reader.get(at)
    names = [node.name for node in model.layers]
    if not isinstance(value, str):
        reader.fail(
            at,
            f"expected the name of a layer under model.layers ({', '.join(names)}), got"
            f" {describe(value)}",
        )
    if value not in names:
        reader.fail(at, unknown_message("layer", value, names))
    decl = model.node(value).layer
    if not recurrent_inside(decl):
        reader.fail(
            at,
            f"{value} is a {decl.class_name}; a candidate implements a recurrent layer (GRU,"
            " LSTM, SimpleRNN or a Bidirectional one)",
        )
    return value


def read_torch(
    reader: Reader, model: tuple[LayerDecl, ...] | SavedModel | ModelGraph
) -> TorchOptions | None:
    """``torch:``: true or ``{tolerance: ...}``; refused for a layer torch cannot compute."""
    at: KeyPath = ("torch",)
    value = reader.get(at)
    if isinstance(value, bool):
        if not value:
            return None
        written: dict[str, Any] = {}
    else:
        written = reader.fields(at, TORCH_KEYS, null_is_empty=True)
    limits = ToleranceLimits()
    if "tolerance" in written:
        tolerance_at: KeyPath = (*at, "tolerance")
        limits = _limits(reader, tolerance_at, reader.fields(tolerance_at, ("atol", "rtol")))
    declared: list[tuple[LayerDecl, KeyPath]] = []
    if isinstance(model, ModelGraph):
        declared = [(node.layer, ("model", "layers", node.name)) for node in model.layers]
    elif not isinstance(model, SavedModel):
        declared = [(layer, ("model", index)) for index, layer in enumerate(model)]
    if declared:
        for layer, layer_at in declared:
            for wrapped, where in _torch_layers(layer, layer_at):
                problem = torch_problem(wrapped.class_name, wrapped.kwargs)
                if problem is not None:
                    key, text = problem
                    place = (*where, wrapped.class_name, key) if key in wrapped.kwargs else where
                    reader.fail(place, f"{text}; remove torch: or change the layer")
    return TorchOptions(tolerance=limits, line=reader.document.key_location(at).line)


def _torch_layers(layer: LayerDecl, at: KeyPath) -> list[tuple[LayerDecl, KeyPath]]:
    """The layer (or the layers a wrapper holds) with the key path of each."""
    if layer.class_name == "Bidirectional":
        inner = [(layer.kwargs["layer"], (*at, "Bidirectional", "layer"))]
        if "backward_layer" in layer.kwargs:
            inner.append((layer.kwargs["backward_layer"], (*at, "Bidirectional", "backward_layer")))
        return inner
    return [(layer, at)]


def read_marks(reader: Reader) -> tuple[str, ...]:
    """``marks:``: pytest mark names."""
    at: KeyPath = ("marks",)
    marks = reader.get(at)
    if not isinstance(marks, list):
        reader.fail(at, f"expected a list of pytest mark names, got {describe(marks)}")
    for index, mark in enumerate(marks):
        if not isinstance(mark, str) or not mark.isidentifier():
            reader.fail(
                (*at, index),
                f"expected a pytest mark name (a Python identifier), got {describe(mark)}",
            )
        if mark in MARKS_NEEDING_ARGUMENTS:
            reader.fail((*at, index), MARKS_NEEDING_ARGUMENTS[mark])
    return tuple(marks)


#: Marks pytest refuses without arguments, which a spec's mark names cannot give.
MARKS_NEEDING_ARGUMENTS = {
    "parametrize": (
        "pytest's parametrize mark needs argument names and values, which a spec cannot"
        " give; write the variants as matrix:"
    ),
}


def read_timeout(reader: Reader) -> float:
    """``timeout:``: seconds each of the spec's items may run, over the ini's limit."""
    at: KeyPath = ("timeout",)
    seconds = reader.number(at, minimum=0)
    if seconds == 0:
        reader.fail(at, "expected a positive number of seconds, got 0")
    if seconds > MAX_TIMEOUT:
        reader.fail(at, f"expected at most {MAX_TIMEOUT} seconds (a day), got {seconds:g}")
    return seconds


def read_golden(reader: Reader) -> GoldenOptions:
    """``golden:``: what golden files record."""
    at: KeyPath = ("golden",)
    golden = reader.fields(at, GOLDEN_KEYS)
    defaults = GoldenOptions()
    return GoldenOptions(
        sequences=(
            reader.integer((*at, "sequences"), minimum=0)
            if "sequences" in golden
            else defaults.sequences
        ),
        summaries=(
            reader.boolean((*at, "summaries")) if "summaries" in golden else defaults.summaries
        ),
        traces=(
            reader.choice((*at, "traces"), ("all", "hidden"))
            if "traces" in golden
            else defaults.traces
        ),
        max_values=(
            reader.integer((*at, "max_values"), minimum=1, maximum=MAX_GOLDEN_VALUES)
            if "max_values" in golden
            else defaults.max_values
        ),
    )
