"""The ``model:`` section: a saved model file, or a declared stack of Keras layers.

Each layer is checked for its class, its arguments and their values, a Bidirectional
``backward_layer`` against its forward layer, and the stack for sequence shapes and
unique layer names. The functional form (``model: {layers: ...}``) reads its layers'
arguments here too (:func:`layer_arguments`) and the rest in :mod:`.graph`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, cast

from pytest_rnnparity.spec.reader import Reader, SpecContext, project_file, unknown_message
from pytest_rnnparity.spec.types import (
    ACTIVATIONS,
    CELL_ARGUMENTS,
    GRAPH_LAYER_ARGUMENTS,
    INITIALIZERS,
    LAYER_ARGUMENTS,
    MAX_UNITS,
    MAX_VOCABULARY,
    MERGE_MODES,
    RECURRENT_LAYERS,
    LayerDecl,
    SavedModel,
)
from pytest_rnnparity.spec.yaml_loader import KeyPath, describe

# fmt: off
_REQUIRED_ARGUMENTS: Mapping[str, tuple[str, ...]] = {
    "GRU": ("units",), "LSTM": ("units",), "SimpleRNN": ("units",), "Dense": ("units",),
    "Dropout": ("rate",), "Bidirectional": ("layer",), "TimeDistributed": ("layer",),
    "Embedding": ("input_dim", "output_dim"), "Conv1D": ("filters", "kernel_size"),
    "Reshape": ("target_shape",), "Permute": ("dims",), "RepeatVector": ("n",),
    "Activation": ("activation",), "Dot": ("axes",),
    "MultiHeadAttention": ("num_heads", "key_dim"), "RNN": ("cell",),
    "ConvLSTM1D": ("filters", "kernel_size"),
    "GRUCell": ("units",), "LSTMCell": ("units",), "SimpleRNNCell": ("units",),
}
#: What each wrapper may wrap (in a chain and in the functional form alike).
_WRAPPABLE: Mapping[str, tuple[str, ...]] = {
    "Bidirectional": RECURRENT_LAYERS,
    "TimeDistributed": ("Dense", "Dropout"),
}
# fmt: on


def read_model(reader: Reader, context: SpecContext) -> tuple[LayerDecl, ...] | SavedModel:
    """``model:``: the declared layer stack, or ``{path: ...}`` of a saved model."""
    at: KeyPath = ("model",)
    model = reader.get(at)
    if isinstance(model, dict):
        reader.fields(at, ("path",), required=("path",))
        resolved, declared = project_file(reader, context, (*at, "path"))
        return SavedModel(path=resolved, declared=declared)
    if not isinstance(model, list) or not model:
        reader.fail(
            at,
            "expected a list of layers such as [{GRU: {units: 4}}, {Dense: {units: 1}}] or"
            f" {{path: model.keras}}, got {describe(model)}",
        )
    layers = tuple(
        _layer(reader, (*at, index), tuple(LAYER_ARGUMENTS)) for index in range(len(model))
    )
    if not any(recurrent_inside(layer) for layer in layers):
        reader.fail(
            at,
            "the model has no recurrent layer (GRU, LSTM, SimpleRNN, or one wrapped in"
            " Bidirectional); there is nothing to check",
        )
    _check_stack(reader, layers)
    return layers


def recurrent_inside(layer: LayerDecl) -> bool:
    """Whether the layer is recurrent or wraps a recurrent layer (Bidirectional)."""
    return layer.is_recurrent or layer.class_name == "Bidirectional"


def _layer(
    reader: Reader,
    at: KeyPath,
    classes: Sequence[str],
    vocabulary: Mapping[str, Sequence[str]] = LAYER_ARGUMENTS,
) -> LayerDecl:
    """The single-key mapping ``{Class: {arguments}}`` at ``at``, ``Class`` one of ``classes``."""
    entry = reader.get(at)
    if not isinstance(entry, dict) or len(entry) != 1:
        got = (
            f"{len(entry)} keys ({', '.join(entry)})"
            if isinstance(entry, dict)
            else describe(entry)
        )
        example = "{LSTMCell: {units: 4}}" if vocabulary is CELL_ARGUMENTS else "{GRU: {units: 4}}"
        reader.fail(
            at,
            f"expected one layer as a single-key mapping such as {example}, got {got}",
        )
    (class_name,) = entry
    if class_name not in classes:
        if class_name in vocabulary:
            reader.fail(
                (*at, class_name),
                f"{class_name} cannot be used here; expected one of: {', '.join(classes)}",
                at_key=True,
            )
        if vocabulary is LAYER_ARGUMENTS and class_name in GRAPH_LAYER_ARGUMENTS:
            reader.fail(
                (*at, class_name),
                f"{class_name} is a layer of the functional form only (model: {{layers:"
                f" {{name: {{{class_name}: {{...}}, inputs: ...}}}}}}); a chain holds"
                f" {', '.join(classes)}",
                at_key=True,
            )
        reader.fail((*at, class_name), unknown_message("layer", class_name, classes), at_key=True)
    return layer_arguments(reader, at, class_name, vocabulary)


def layer_arguments(
    reader: Reader, at: KeyPath, class_name: str, vocabulary: Mapping[str, Sequence[str]]
) -> LayerDecl:
    """The layer ``class_name`` with the arguments written at ``(*at, class_name)``.

    ``vocabulary`` gives the arguments each class takes (the chain's
    :data:`~pytest_rnnparity.spec.types.LAYER_ARGUMENTS` or the functional form's); an
    argument of another class of it is named as such.
    """
    args_at = (*at, class_name)
    arguments = reader.get(args_at)
    for argument in arguments if isinstance(arguments, dict) else ():
        owners = [c for c, allowed in vocabulary.items() if argument in allowed]
        if argument not in vocabulary[class_name] and owners:
            takers = f"{', '.join(owners)} does"
            if len(owners) > 4:
                takers = f"{', '.join(owners[:3])} and {len(owners) - 3} more do"
            reader.fail(
                (*args_at, argument),
                f"{class_name} does not take {argument!r} ({takers})",
                at_key=True,
                key=args_at,
            )
    written = reader.fields(
        args_at,
        vocabulary[class_name],
        required=_REQUIRED_ARGUMENTS.get(class_name, ()),
        what=f"{class_name} argument",
        null_is_empty=True,
    )
    kwargs: dict[str, Any] = {}
    for argument in written:
        argument_at = (*args_at, argument)
        if argument in ("layer", "backward_layer"):
            kwargs[argument] = _layer(reader, argument_at, _WRAPPABLE[class_name], vocabulary)
        elif argument == "cell":
            kwargs[argument] = _cells(reader, argument_at)
        else:
            check = _CLASS_ARGUMENT_CHECKS.get((class_name, argument), _ARGUMENT_CHECKS[argument])
            kwargs[argument] = check(reader, argument_at)
    if "backward_layer" in kwargs:
        _check_backward(reader, args_at, kwargs["layer"], kwargs["backward_layer"])
    _check_arguments(reader, args_at, class_name, kwargs)
    return LayerDecl(
        class_name=class_name,
        kwargs=MappingProxyType(kwargs),
        line=reader.document.value_location(at).line,
    )


def _cells(reader: Reader, at: KeyPath) -> tuple[LayerDecl, ...] | LayerDecl:
    """``RNN``'s ``cell``: one cell, or a list of them (``StackedRNNCells``)."""
    value = reader.get(at)
    classes = tuple(CELL_ARGUMENTS)
    if isinstance(value, list):
        if not value:
            reader.fail(at, "expected at least one cell, such as [{LSTMCell: {units: 4}}]")
        return tuple(
            _layer(reader, (*at, index), classes, CELL_ARGUMENTS) for index in range(len(value))
        )
    return _layer(reader, at, classes, CELL_ARGUMENTS)


def _check_arguments(
    reader: Reader, at: KeyPath, class_name: str, kwargs: Mapping[str, Any]
) -> None:
    """What Keras refuses about arguments together (the shapes they meet are :mod:`.shapes`)."""
    strides = kwargs.get("strides", 1)
    if (
        class_name in ("Conv1D", "ConvLSTM1D")
        and strides != 1
        and kwargs.get("dilation_rate", 1) != 1
    ):
        reader.fail(
            (*at, "strides"),
            f"strides {strides} with dilation_rate {kwargs['dilation_rate']}: Keras takes"
            " strides > 1 or dilation_rate > 1, not both",
        )
    if class_name == "Conv1D" and kwargs.get("filters", 1) % kwargs.get("groups", 1):
        reader.fail(
            (*at, "groups"),
            f"filters ({kwargs['filters']}) must be a multiple of groups ({kwargs['groups']})",
        )


def _check_backward(
    reader: Reader, args_at: KeyPath, forward: LayerDecl, backward: LayerDecl
) -> None:
    at = (*args_at, "backward_layer")
    forward_backwards = forward.kwargs.get("go_backwards", False)
    if backward.kwargs.get("go_backwards", False) == forward_backwards:
        reader.fail(
            at,
            "go_backwards must differ between layer and backward_layer (both are"
            f" {describe(forward_backwards)}); set go_backwards: true on backward_layer",
        )
    for attribute in ("stateful", "return_sequences", "return_state"):
        forward_value = forward.kwargs.get(attribute, False)
        backward_value = backward.kwargs.get(attribute, False)
        if forward_value != backward_value:
            reader.fail(
                at,
                f"{attribute} must be the same for layer and backward_layer, got"
                f" {describe(forward_value)} and {describe(backward_value)}",
            )


def _check_stack(reader: Reader, layers: Sequence[LayerDecl]) -> None:
    """Refuse a layer that needs a sequence after one that returns only its last step."""
    sequence_from: int | None = None
    for index, layer in enumerate(layers):
        needs_sequence = layer.class_name in (*RECURRENT_LAYERS, "Bidirectional", "TimeDistributed")
        if needs_sequence and sequence_from is not None:
            previous = layers[sequence_from]
            reader.fail(
                ("model", index),
                f"{layer.class_name} needs a sequence but model[{sequence_from}]"
                f" ({previous.class_name}) returns only the last step; set"
                f" return_sequences: true on model[{sequence_from}]",
            )
        if layer.class_name in (*RECURRENT_LAYERS, "Bidirectional"):
            wrapped = layer.kwargs.get("layer", layer)
            if not wrapped.kwargs.get("return_sequences", False):
                sequence_from = index
    names: dict[str, int] = {}
    for index, layer in enumerate(layers):
        for declared in (layer, *(v for v in layer.kwargs.values() if isinstance(v, LayerDecl))):
            name = declared.kwargs.get("name")
            if name is None:
                continue
            if name in names:
                reader.fail(
                    ("model", index),
                    f"layer name {name!r} is already used by model[{names[name]}]",
                )
            names[name] = index


def _units(reader: Reader, at: KeyPath) -> int:
    return reader.integer(at, minimum=1, maximum=MAX_UNITS)


def _activation(reader: Reader, at: KeyPath) -> str | None:
    value = reader.get(at)
    if value is None:
        return None
    if not isinstance(value, str):
        reader.fail(at, f"expected an activation name such as tanh, got {describe(value)}")
    if value not in ACTIVATIONS:
        reader.fail(at, unknown_message("activation", value, ACTIVATIONS))
    return value


def _initializer(reader: Reader, at: KeyPath) -> str:
    value = reader.get(at)
    if not isinstance(value, str):
        reader.fail(
            at, f"expected an initializer name such as glorot_uniform, got {describe(value)}"
        )
    snake = re.sub(r"([a-z])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", value))
    snake = snake.lower().removesuffix("_initializer")
    if snake not in INITIALIZERS:
        reader.fail(at, unknown_message("initializer", value, INITIALIZERS))
    return value


def layer_name(reader: Reader, at: KeyPath) -> str:
    """A layer's ``name:`` argument, checked as Keras would take it."""
    name = reader.string(at)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", name):
        reader.fail(at, f"expected a layer name of letters, digits and _ . -, got {describe(name)}")
    return name


def _rate(reader: Reader, at: KeyPath) -> float:
    return reader.number(at, minimum=0, below=1)


def _implementation(reader: Reader, at: KeyPath) -> int:
    value = reader.get(at)
    if value not in (1, 2) or isinstance(value, bool):
        reader.fail(at, f"expected 1 or 2, got {describe(value)}")
    return cast(int, value)


def _positive(reader: Reader, at: KeyPath) -> int:
    return reader.integer(at, minimum=1, maximum=MAX_UNITS)


def _one_integer(reader: Reader, at: KeyPath) -> int:
    """A positive integer, or a list holding one (``kernel_size: [3]``, as Keras takes it)."""
    value = reader.get(at)
    if isinstance(value, list) and len(value) == 1:
        return _positive(reader, (*at, 0))
    return _positive(reader, at)


def _pool_strides(reader: Reader, at: KeyPath) -> int | None:
    return None if reader.get(at) is None else _one_integer(reader, at)


def _pair(reader: Reader, at: KeyPath) -> tuple[int, int]:
    """An integer for both sides or ``[left, right]`` (``ZeroPadding1D``, ``Cropping1D``)."""
    value = reader.get(at)
    if isinstance(value, list):
        if len(value) != 2:
            reader.fail(at, f"expected [left, right], got a list of {len(value)}")
        return (reader.integer((*at, 0), minimum=0), reader.integer((*at, 1), minimum=0))
    both = reader.integer(at, minimum=0)
    return (both, both)


def _integers(reader: Reader, at: KeyPath, *, minimum: int, what: str) -> tuple[int, ...]:
    value = reader.get(at)
    if not isinstance(value, list) or not value:
        reader.fail(at, f"expected a non-empty list of {what}, got {describe(value)}")
    return tuple(
        reader.integer((*at, index), minimum=minimum, maximum=MAX_VOCABULARY)
        for index in range(len(value))
    )


def _target_shape(reader: Reader, at: KeyPath) -> tuple[int, ...]:
    value = reader.get(at)
    if not isinstance(value, list) or not value:
        reader.fail(at, f"expected a non-empty list of sizes such as [4, 2], got {describe(value)}")
    sizes: list[int] = []
    for index, size in enumerate(value):
        if size == -1 and not isinstance(size, bool):
            if -1 in sizes:
                reader.fail((*at, index), "only one size may be -1 (the one Keras infers)")
            sizes.append(-1)
        else:
            sizes.append(reader.integer((*at, index), minimum=1, maximum=MAX_VOCABULARY))
    return tuple(sizes)


def _dims(reader: Reader, at: KeyPath) -> tuple[int, ...]:
    dims = _integers(reader, at, minimum=1, what="axes such as [2, 1]")
    if sorted(dims) != list(range(1, len(dims) + 1)):
        reader.fail(
            at,
            f"expected a permutation of 1..{len(dims)} (axis 0 is the batch), got {list(dims)}",
        )
    return dims


def _axis(reader: Reader, at: KeyPath) -> int:
    value = reader.get(at)
    if isinstance(value, bool) or not isinstance(value, int) or value == 0:
        reader.fail(
            at, f"expected a non-zero axis such as -1 (axis 0 is the batch), got {describe(value)}"
        )
    return value


def _axes(reader: Reader, at: KeyPath) -> int | tuple[int, ...]:
    """``axis`` of LayerNormalization (one or a list) and ``axes`` of Dot (one or two)."""
    value = reader.get(at)
    if not isinstance(value, list):
        return _axis(reader, at)
    if not value:
        reader.fail(at, "expected at least one axis")
    return tuple(_axis(reader, (*at, index)) for index in range(len(value)))


def _dot_axes(reader: Reader, at: KeyPath) -> int | tuple[int, ...]:
    axes = _axes(reader, at)
    if isinstance(axes, tuple) and len(axes) != 2:
        reader.fail(at, f"expected one axis or two (one per input), got {len(axes)}")
    return axes


def _input_dim(reader: Reader, at: KeyPath) -> int:
    return reader.integer(at, minimum=1, maximum=MAX_VOCABULARY)


def _positive_number(reader: Reader, at: KeyPath) -> float:
    value = reader.number(at, minimum=0)
    if value == 0:
        reader.fail(at, "expected a positive number, got 0")
    return value


def _padding(choices: tuple[str, ...]) -> Callable[[Reader, KeyPath], Any]:
    return lambda reader, at: reader.choice(at, choices)


_ARGUMENT_CHECKS: Mapping[str, Callable[[Reader, KeyPath], Any]] = {
    "units": _units,
    "activation": _activation,
    "recurrent_activation": _activation,
    "use_bias": Reader.boolean,
    "reset_after": Reader.boolean,
    "return_sequences": Reader.boolean,
    "return_state": Reader.boolean,
    "go_backwards": Reader.boolean,
    "stateful": Reader.boolean,
    "unroll": Reader.boolean,
    "zero_output_for_mask": Reader.boolean,
    "unit_forget_bias": Reader.boolean,
    "implementation": _implementation,
    "dropout": _rate,
    "recurrent_dropout": _rate,
    "rate": _rate,
    "kernel_initializer": _initializer,
    "recurrent_initializer": _initializer,
    "bias_initializer": _initializer,
    "name": layer_name,
    "mask_value": Reader.number,
    "merge_mode": lambda reader, at: reader.choice(at, MERGE_MODES),
    # the layers around recurrent ones (the functional form)
    "input_dim": _input_dim,
    "output_dim": _units,
    "mask_zero": Reader.boolean,
    "embeddings_initializer": _initializer,
    "filters": _units,
    "kernel_size": _one_integer,
    "strides": _one_integer,
    "dilation_rate": _one_integer,
    "groups": _positive,
    "padding": _padding(("valid", "same")),
    "pool_size": _one_integer,
    "keepdims": Reader.boolean,
    "target_shape": _target_shape,
    "dims": _dims,
    "n": _positive,
    "size": _positive,
    "cropping": _pair,
    "axis": _axes,
    "epsilon": _positive_number,
    "momentum": _rate,
    "center": Reader.boolean,
    "scale": Reader.boolean,
    "axes": _dot_axes,
    "normalize": Reader.boolean,
    "use_scale": Reader.boolean,
    "score_mode": lambda reader, at: reader.choice(at, ("dot", "concat")),
    "num_heads": _positive,
    "key_dim": _units,
    "value_dim": _units,
}
#: Arguments whose values depend on the class (``padding`` of Conv1D and ZeroPadding1D).
_CLASS_ARGUMENT_CHECKS: Mapping[tuple[str, str], Callable[[Reader, KeyPath], Any]] = {
    ("Conv1D", "padding"): _padding(("valid", "same", "causal")),
    ("ZeroPadding1D", "padding"): _pair,
    ("MaxPooling1D", "strides"): _pool_strides,
    ("AveragePooling1D", "strides"): _pool_strides,
    ("BatchNormalization", "axis"): _axis,
}
