"""Spec -> Keras model with its weights: the only module that constructs Keras objects.

``weights: seeded`` (the default) draws every weight from NumPy with the spec's
seed, one independent stream per layer, so the same spec gives bit-identical
weights on every TensorFlow/Keras version (the goldens depend on it) and the
biases are never zero (Keras' default zero biases hide bias-layout bugs).

A functional spec (``model: {layers: ...}``) becomes a ``keras.Model`` whose inputs and
layers carry the spec's names (stable: the golden records them); its seeded weights
are drawn per variable role (:func:`seeded_variable`), so that normalization scales and
moving variances are positive and nothing is zero.
"""

from __future__ import annotations

import gc
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_rnnparity.spec import resolved_display_path

if TYPE_CHECKING:
    from pytest_rnnparity.spec import LayerDecl, Spec

RECURRENT = frozenset({"GRU", "LSTM", "SimpleRNN"})
WRAPPERS = frozenset({"Bidirectional", "TimeDistributed"})
#: Spec arguments that are ours, not the Keras layer's.
_NOT_KERAS_ARGS = frozenset({"layer", "backward_layer"})
#: Keras 3's message when a loaded weight does not fit the variable it is assigned to.
_SHAPES = re.compile(
    # Keras 3
    r"variable\.shape=(?P<model>\([^)]*\)), Received: value\.shape=(?P<file>\([^)]*\))"
    # Keras 2
    r"|variable shape (?P<model2>\([^)]*\)), and the assigned value shape (?P<file2>\([^)]*\))"
)
#: How Keras names the layer whose loading safe_mode refuses.
_LAMBDA = re.compile(r"\bLambda\b")


#: The values of ``TF_USE_LEGACY_KERAS`` that make TensorFlow's ``tf.keras`` Keras 2.
LEGACY_KERAS_VALUES = ("1", "true", "yes")


def import_keras() -> ModuleType:
    """Import Keras (seconds: TensorFlow comes with it) without TensorFlow's start-up lines.

    See :mod:`pytest_rnnparity.model.quiet`: the log level is set before TensorFlow is
    imported, and the C++ lines that still come are filtered out of stderr. With
    ``TF_USE_LEGACY_KERAS=1`` and ``tf-keras`` installed, that is Keras 2 (``tf_keras``),
    as TensorFlow's own ``tf.keras`` then is: the other generation on current TensorFlow.
    """
    import importlib
    import os

    from pytest_rnnparity.model.quiet import import_keras_quietly

    if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in LEGACY_KERAS_VALUES:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            return importlib.import_module("tf_keras")
        except ImportError:
            pass

    return import_keras_quietly()


@cache
def freeze_import_heap() -> None:
    """Once per process: take what is alive now out of the cyclic garbage collector's scans.

    Keras' ``clear_session`` (before every spec's build, so layer names are stable)
    runs a full ``gc.collect()``; over the ~400,000 objects TensorFlow creates at
    import that takes ~0.2 s, three times the rest of a small spec. ``gc.freeze()``
    moves them to a generation no collection scans; they live as long as the process
    anyway. Garbage is collected first, so none of it is frozen.
    """
    gc.collect()
    gc.freeze()


def seeded_array(rng: np.random.Generator, shape: Sequence[int], *, is_bias: bool) -> np.ndarray:
    """One weight array: uniform in ``±sqrt(3 / fan_in)`` (variance ``1 / fan_in``),
    biases uniform in ``±0.5``; never exactly zero, never the same in two columns."""
    if is_bias:
        return rng.uniform(-0.5, 0.5, size=shape)
    fan_in = shape[0] if len(shape) > 1 else 1
    limit = float(np.sqrt(3.0 / max(fan_in, 1)))
    return rng.uniform(-limit, limit, size=shape)


def seeded_weights(
    seed: int, layer_index: int, shapes: Sequence[tuple[tuple[int, ...], bool]]
) -> list[np.ndarray]:
    """Weights for one layer, from its own stream ``default_rng([seed, layer_index])``.

    ``shapes`` lists ``(shape, is_bias)`` in the order of ``layer.get_weights()``.
    """
    rng = np.random.default_rng([seed, layer_index])
    return [seeded_array(rng, shape, is_bias=is_bias) for shape, is_bias in shapes]


def _is_bias(variable: Any) -> bool:
    # Keras 3 names a variable "bias", Keras 2 "gru/gru_cell/bias:0".
    return "bias" in str(variable.name).rsplit("/", 1)[-1]


def variable_role(variable: Any) -> str:
    """A variable's name without its layer's path or ``:0``: ``kernel``, ``bias``,
    ``gamma``, ``moving_variance``, ``embeddings``, ... (Keras 3 and Keras 2 alike)."""
    return str(variable.name).rsplit("/", 1)[-1].split(":", 1)[0]


#: Roles drawn in ``[0.5, 1.5)``: scales and variances stay positive, never near zero.
_POSITIVE_ROLES = frozenset({"gamma", "moving_variance", "scale"})
#: Roles drawn like biases, in ``±0.5``.
_OFFSET_ROLES = frozenset({"beta", "moving_mean"})


def seeded_variable(rng: np.random.Generator, shape: Sequence[int], role: str) -> np.ndarray:
    """One weight of a functional spec's layer, by its :func:`variable_role`.

    Kernels and biases are drawn as :func:`seeded_array` draws them (a kernel's fan-in is
    the product of every axis but the last: a convolution's window times its channels);
    ``gamma``, ``moving_variance`` and attention ``scale`` uniform in ``[0.5, 1.5)``;
    ``beta`` and ``moving_mean`` in ``±0.5``; ``embeddings`` in ``±sqrt(3 / output_dim)``
    (unit variance per feature). None is ever exactly zero.
    """
    if role in _POSITIVE_ROLES:
        return rng.uniform(0.5, 1.5, size=shape)
    if role in _OFFSET_ROLES or "bias" in role:
        return rng.uniform(-0.5, 0.5, size=shape)
    if role == "embeddings":
        limit = float(np.sqrt(3.0 / max(shape[-1], 1)))
        return rng.uniform(-limit, limit, size=shape)
    fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    limit = float(np.sqrt(3.0 / max(fan_in, 1)))
    return rng.uniform(-limit, limit, size=shape)


def seeded_graph_weights(
    seed: int, layer_index: int, variables: Sequence[tuple[tuple[int, ...], str]]
) -> list[np.ndarray]:
    """Weights for one layer of a functional spec, from the stream
    ``default_rng([seed, layer_index])`` (``layer_index``: its position under
    ``model.layers``); ``variables`` lists ``(shape, role)`` in the order of
    ``layer.weights``."""
    rng = np.random.default_rng([seed, layer_index])
    return [seeded_variable(rng, shape, role) for shape, role in variables]


#: Execution-path options and the recurrent layers that take them.
_OVERRIDABLE = {
    "implementation": frozenset({"GRU", "LSTM"}),
    "use_cudnn": frozenset({"GRU", "LSTM"}),
    "unroll": RECURRENT,
}


def _layer(
    keras: ModuleType,
    decl: LayerDecl,
    *,
    dtype: str,
    stateful: bool,
    overrides: Mapping[str, Any],
) -> Any:
    kwargs = {k: v for k, v in decl.kwargs.items() if k not in _NOT_KERAS_ARGS}
    if decl.class_name == "RNN":
        cell = decl.kwargs["cell"]
        cells = [
            _layer(keras, one, dtype=dtype, stateful=False, overrides={})
            for one in (cell if isinstance(cell, tuple) else (cell,))
        ]
        kwargs["cell"] = (
            keras.layers.StackedRNNCells(cells, dtype=dtype)
            if isinstance(cell, tuple)
            else cells[0]
        )
    if decl.class_name in ("RNN", "ConvLSTM1D") and stateful:
        kwargs.setdefault("stateful", True)
    if decl.class_name in WRAPPERS:
        inner = _layer(
            keras, decl.kwargs["layer"], dtype=dtype, stateful=stateful, overrides=overrides
        )
        if "backward_layer" in decl.kwargs:
            kwargs["backward_layer"] = _layer(
                keras,
                decl.kwargs["backward_layer"],
                dtype=dtype,
                stateful=stateful,
                overrides=overrides,
            )
        kwargs.setdefault("dtype", dtype)  # the wrapper computes too (merge, casts)
        cls: Callable[..., Any] = getattr(keras.layers, decl.class_name)
        return cls(inner, **kwargs)
    if decl.class_name in RECURRENT and stateful:
        kwargs.setdefault("stateful", True)
    for option, value in overrides.items():
        if decl.class_name in _OVERRIDABLE[option]:
            kwargs[option] = value
    kwargs.setdefault("dtype", dtype)
    return getattr(keras.layers, decl.class_name)(**kwargs)


def _checked_layer(
    keras: ModuleType, spec: Spec, index: int, *, overrides: Mapping[str, Any]
) -> Any:
    """Build ``spec.model[index]``; what this Keras refuses becomes a SpecError at its line.

    The spec format follows the newest Keras; an older one may not know an argument
    or an activation the loader accepted.
    """
    decl = spec.model[index]  # type: ignore[index]
    try:
        return _layer(keras, decl, dtype=spec.dtype, stateful=spec.stateful, overrides=overrides)
    except (ValueError, TypeError) as error:
        raise spec.error(
            f"model[{index}].{decl.class_name}",
            f"Keras {keras.__version__} cannot build this layer: {_first_line(error)}",
        ) from None


def _graph_model(
    keras: ModuleType,
    spec: Spec,
    shapes: Mapping[str, tuple[int, ...]],
    *,
    overrides: Mapping[str, Any],
) -> Any:
    """The functional spec's ``keras.Model``: one ``keras.Input`` per ``data.inputs`` entry
    (int32 for token ids), each layer named as under ``model.layers`` and called on what
    it reads, in an order where each comes after its inputs."""
    from pytest_rnnparity.spec import (
        ATTENTION_LAYERS,
        MERGE_LAYERS,
        GraphData,
        LayerDecl,
        ModelGraph,
    )
    from pytest_rnnparity.spec.graph import split_reference
    from pytest_rnnparity.spec.shapes import output_parts

    graph = spec.model
    assert isinstance(graph, ModelGraph)
    assert isinstance(spec.data, GraphData)
    batch_size = 1 if spec.stateful else None
    values: dict[tuple[str, str | None], Any] = {}
    for model_input in spec.data.inputs:
        values[(model_input.name, None)] = keras.Input(
            shape=shapes[model_input.name],
            batch_size=batch_size,
            dtype="int32" if model_input.is_tokens else spec.dtype,
            name=model_input.name,
        )
    for name in graph.order:
        node = graph.node(name)
        decl = node.layer
        named = LayerDecl(decl.class_name, MappingProxyType({**decl.kwargs, "name": name}), 0)
        try:
            layer = _layer(
                keras, named, dtype=spec.dtype, stateful=spec.stateful, overrides=overrides
            )
        except (ValueError, TypeError) as error:
            raise spec.error(
                f"model.layers.{name}.{decl.class_name}",
                f"Keras {keras.__version__} cannot build this layer: {_first_line(error)}",
            ) from None
        tensors = [values[split_reference(graph, ref)] for ref in node.inputs]
        call: dict[str, Any] = {}
        if node.initial_state:
            states = [values[split_reference(graph, r)] for r in node.initial_state]
            call["initial_state"] = _nested_states(decl, states)
        if node.use_causal_mask is not None:
            call["use_causal_mask"] = node.use_causal_mask
        if decl.class_name == "MultiHeadAttention":
            result = layer(*tensors, **call)
        elif decl.class_name in (*MERGE_LAYERS, *ATTENTION_LAYERS):
            result = layer(tensors, **call)
        else:
            result = layer(tensors[0], **call)
        for part, tensor in zip(output_parts(decl), _flat(result), strict=True):
            values[(name, part)] = tensor
    outputs = [values[split_reference(graph, ref)] for ref in graph.outputs]
    return keras.Model(
        inputs=[values[(name, None)] for name in graph.inputs],
        outputs=outputs[0] if len(outputs) == 1 else outputs,
        name=_model_name(spec.name),
    )


def _flat(result: Any) -> list[Any]:
    """A layer call's outputs as one list: ``RNN`` over stacked cells returns each cell's
    states as a list of their own (``output, [h0, c0], h1``)."""
    if isinstance(result, list | tuple):
        return [tensor for item in result for tensor in _flat(item)]
    return [result]


def _nested_states(decl: LayerDecl, states: list[Any]) -> list[Any]:
    """``initial_state`` as the layer takes it: per cell for ``RNN`` over stacked cells
    (an LSTM cell's two states in a list of their own), flat otherwise."""
    cell = decl.kwargs.get("cell")
    if decl.class_name != "RNN" or not isinstance(cell, tuple):
        return states
    nested: list[Any] = []
    for one in cell:
        count = 2 if one.class_name == "LSTMCell" else 1
        taken, states = states[:count], states[count:]
        nested.append(taken if count > 1 else taken[0])
    return nested


def build_model(
    spec: Spec,
    *,
    features: int = 0,
    root: Path,
    overrides: Mapping[str, Any] | None = None,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
) -> Any:
    """The spec's Keras model, built for ``(lookback, features)`` inputs, weights set.

    A functional spec's model is built for the ``shapes`` of its inputs (one row of
    each, by input name). ``stateful: true`` makes every recurrent layer stateful with
    a batch size of 1, as in the notebook where each window continues from the
    previous one. ``overrides`` (an execution path's ``implementation``, ``unroll``,
    ``use_cudnn``) are set on every recurrent layer that takes them.
    """
    from pytest_rnnparity.spec import ModelGraph, SavedModel, WeightsFile

    keras = import_keras()
    freeze_import_heap()
    # Keras numbers layer names per session (gru, gru_1, ...) and goldens record them:
    # a fresh session gives the same names whatever ran, or failed, before this spec.
    keras.backend.clear_session()
    keras.utils.set_random_seed(spec.seed)
    if isinstance(spec.model, SavedModel):
        model = _load_saved_model(keras, spec, root)
        check_saved_input(model, spec, features=features, root=root)
    elif isinstance(spec.model, ModelGraph):
        if shapes is None:
            raise ValueError("a functional spec's model is built for the shapes of its inputs")
        model = _graph_model(keras, spec, shapes, overrides=overrides or {})
        if spec.weights == "seeded":
            for index, node in enumerate(spec.model.layers):
                layer = model.get_layer(node.name)
                variables = [
                    (tuple(int(n) for n in w.shape), variable_role(w)) for w in layer.weights
                ]
                if variables:
                    layer.set_weights(seeded_graph_weights(spec.seed, index, variables))
        elif isinstance(spec.weights, WeightsFile):
            _load_weights(model, spec, root)
        return model
    else:
        batch_size = 1 if spec.stateful else None
        layers = [
            _checked_layer(keras, spec, index, overrides=overrides or {})
            for index in range(len(spec.model))
        ]
        model = keras.Sequential(
            [
                keras.Input(
                    shape=(spec.lookback, features), batch_size=batch_size, dtype=spec.dtype
                ),
                *layers,
            ],
            name=_model_name(spec.name),
        )
    if spec.weights == "seeded":
        for index, layer in enumerate(model.layers):
            arrays = [(tuple(int(n) for n in w.shape), _is_bias(w)) for w in layer.weights]
            if arrays:
                layer.set_weights(seeded_weights(spec.seed, index, arrays))
    elif isinstance(spec.weights, WeightsFile):
        _load_weights(model, spec, root)
    return model


def _model_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return cleaned or "model"


def _load_saved_model(keras: ModuleType, spec: Spec, root: Path) -> Any:
    path = spec.model.path  # type: ignore[union-attr]
    shown = resolved_display_path(path, root)
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        # Keras would say "file not found" about a file that exists
        raise spec.error("model.path", f"{shown} is not a .keras file (a zip archive)")
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises ValueError, TypeError, OSError...
        problem = _first_line(error)
        if any(_LAMBDA.search(str(e)) for e in _chain(error)):
            problem = (
                "it holds a Lambda layer, whose Python code is refused: models are loaded"
                " with safe_mode=True"
            )
        raise spec.error("model.path", f"cannot load the model file {shown}: {problem}") from None


def check_saved_input(model: Any, spec: Spec, *, features: int, root: Path) -> None:
    """Refuse, at the spec's line, windows that do not fit a loaded model's input.

    Before Keras runs: a window of the wrong length or width would fail deep inside
    the trace model with a long Keras traceback. The loader checks the same from a
    ``.keras`` file's config when it can; this covers every file Keras loads.
    """
    from pytest_rnnparity.spec import GraphData
    from pytest_rnnparity.spec.saved_model import feature_key, input_problem

    shape = getattr(model, "input_shape", None)
    if not isinstance(shape, tuple) or len(shape) != 3:
        return  # several inputs, or not a sequence: Keras says what it expects
    shown = resolved_display_path(spec.model.path, root)  # type: ignore[union-attr]
    problem = input_problem(shape, shown=shown, lookback=spec.lookback, features=features)
    if problem is not None:
        key, text = problem
        assert not isinstance(spec.data, GraphData)  # a saved model reads a chain's data
        raise spec.error("lookback" if key == "lookback" else feature_key(spec.data), text)


def _load_weights(model: Any, spec: Spec, root: Path) -> None:
    path = spec.weights.path  # type: ignore[union-attr]
    try:
        model.load_weights(path)
    except Exception as error:
        problem = _first_line(error)
        shapes = _SHAPES.search(str(error))
        if shapes is not None:
            problem = (
                f"the file has a weight of shape {shapes['file'] or shapes['file2']} where the"
                f" model's is {shapes['model'] or shapes['model2']}"
            )
        raise spec.error(
            "weights.path",
            f"cannot load the weights file {resolved_display_path(path, root)} into this model:"
            f" {problem}",
        ) from None


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the exceptions it was raised from, outermost first."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
