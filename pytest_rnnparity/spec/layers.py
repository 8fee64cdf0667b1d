"""The ``model:`` section: a saved model file, or a declared stack of Keras layers.

Each layer is checked for its class, its arguments and their values, a Bidirectional
``backward_layer`` against its forward layer, and the stack for sequence shapes and
unique layer names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, cast

from pytest_rnnparity.spec.reader import Reader, SpecContext, project_file, unknown_message
from pytest_rnnparity.spec.types import (
    ACTIVATIONS,
    INITIALIZERS,
    LAYER_ARGUMENTS,
    MAX_UNITS,
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
}
#: What each wrapper may wrap.
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


def _layer(reader: Reader, at: KeyPath, classes: Sequence[str]) -> LayerDecl:
    entry = reader.get(at)
    if not isinstance(entry, dict) or len(entry) != 1:
        got = (
            f"{len(entry)} keys ({', '.join(entry)})"
            if isinstance(entry, dict)
            else describe(entry)
        )
        reader.fail(
            at,
            f"expected one layer as a single-key mapping such as {{GRU: {{units: 4}}}}, got {got}",
        )
    (class_name,) = entry
    if class_name not in classes:
        if class_name in LAYER_ARGUMENTS:
            reader.fail(
                (*at, class_name),
                f"{class_name} cannot be used here; expected one of: {', '.join(classes)}",
                at_key=True,
            )
        reader.fail((*at, class_name), unknown_message("layer", class_name, classes), at_key=True)
    args_at = (*at, class_name)
    arguments = reader.get(args_at)
    for argument in arguments if isinstance(arguments, dict) else ():
        owners = [c for c, allowed in LAYER_ARGUMENTS.items() if argument in allowed]
        if argument not in LAYER_ARGUMENTS[class_name] and owners:
            reader.fail(
                (*args_at, argument),
                f"{class_name} does not take {argument!r} ({', '.join(owners)} does)",
                at_key=True,
                key=args_at,
            )
    written = reader.fields(
        args_at,
        LAYER_ARGUMENTS[class_name],
        required=_REQUIRED_ARGUMENTS.get(class_name, ()),
        what=f"{class_name} argument",
        null_is_empty=True,
    )
    kwargs: dict[str, Any] = {}
    for argument in written:
        argument_at = (*args_at, argument)
        if argument in ("layer", "backward_layer"):
            kwargs[argument] = _layer(reader, argument_at, _WRAPPABLE[class_name])
        else:
            kwargs[argument] = _ARGUMENT_CHECKS[argument](reader, argument_at)
    if "backward_layer" in kwargs:
        _check_backward(reader, args_at, kwargs["layer"], kwargs["backward_layer"])
    return LayerDecl(
        class_name=class_name,
        kwargs=MappingProxyType(kwargs),
        line=reader.document.value_location(at).line,
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
}
