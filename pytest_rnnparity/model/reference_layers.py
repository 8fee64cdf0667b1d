"""Describe a Keras layer as a reference layer (:mod:`pytest_rnnparity.reference.types`).

Reads class names, configs and weights only, so it works for Keras 3 and Keras 2
alike and never imports keras. Anything the reference does not implement raises
:class:`~pytest_rnnparity.errors.UnsupportedModelError` naming the layer and the
option; the capture refuses such a recurrent layer and makes any other opaque (named
in every report): a model is never half-checked in silence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_rnnparity.errors import UnsupportedModelError
from pytest_rnnparity.model.functional_layers import (
    DESCRIBERS,
    describe_functional,
    functional_class,
)
from pytest_rnnparity.model.weights import layer_cell_weights
from pytest_rnnparity.reference.activations import get_activation
from pytest_rnnparity.reference.types import (
    BidirectionalLayer,
    CellConfig,
    CellKind,
    ConvLSTMLayer,
    DenseLayer,
    IdentityLayer,
    MaskingLayer,
    RecurrentLayer,
    ReferenceLayer,
    StackedLayer,
)

RECURRENT_LAYERS: dict[str, CellKind] = {"GRU": "gru", "LSTM": "lstm", "SimpleRNN": "simple_rnn"}
CELLS: dict[str, CellKind] = {
    "GRUCell": "gru",
    "LSTMCell": "lstm",
    "SimpleRNNCell": "simple_rnn",
}
#: Layers that are the identity at inference.
IDENTITY_LAYERS = frozenset(
    {
        "InputLayer",
        "Dropout",
        "SpatialDropout1D",
        "GaussianNoise",
        "GaussianDropout",
        "AlphaDropout",
        "ActivityRegularization",
    }
)
CONV_LSTM_LAYERS = frozenset({"ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"})
SUPPORTED_LAYERS = [
    *sorted(RECURRENT_LAYERS),
    "Bidirectional",
    "Dense",
    "Masking",
    "RNN (of a GRU/LSTM/SimpleRNN cell, or StackedRNNCells of them)",
    "TimeDistributed",
    *sorted(CONV_LSTM_LAYERS),
    *sorted(DESCRIBERS),
    *sorted(IDENTITY_LAYERS),
]


def keras_class_name(layer: Any) -> str:
    """The Keras class a layer is, or derives from: ``GRU`` for ``class MyGRU(GRU)``.

    A subclass is described as the Keras layer it extends, and so checked against that
    layer's equations: if it computes something else, parity says so. A class that
    derives from no layer the reference knows keeps its own name (and stays opaque).
    """
    known = {*RECURRENT_LAYERS, "RNN", "Bidirectional", "Dense", "TimeDistributed", "Masking"}
    known |= IDENTITY_LAYERS | CONV_LSTM_LAYERS
    for cls in type(layer).__mro__:
        module = getattr(cls, "__module__", "")
        if cls.__name__ in known and module.split(".")[0] in ("keras", "tf_keras", "tensorflow"):
            return cls.__name__
    return type(layer).__name__


def describe_layer_or_none(layer: Any, *, keras_major: int = 3) -> ReferenceLayer | None:
    """:func:`describe_layer`, or None when the reference does not implement the layer."""
    try:
        return describe_layer(layer, keras_major=keras_major)
    except UnsupportedModelError:
        return None


def unsupported_reason(layer: Any, *, keras_major: int = 3) -> str | None:
    """Why the reference does not compute ``layer``, or None when it does."""
    try:
        describe_layer(layer, keras_major=keras_major)
    except UnsupportedModelError as error:
        return str(error)
    return None


def describe_layer(layer: Any, *, keras_major: int = 3) -> ReferenceLayer:
    """One Keras layer as a reference layer; UnsupportedModelError names what it lacks."""
    class_name = keras_class_name(layer)
    if class_name == "RNN" and type(layer.cell).__name__ == "StackedRNNCells":
        return _stacked(layer, keras_major=keras_major)
    if class_name in RECURRENT_LAYERS or class_name == "RNN":
        return _recurrent(layer, keras_major=keras_major)
    if class_name in CONV_LSTM_LAYERS:
        return _conv_lstm(layer, keras_major=keras_major)
    if class_name == "Bidirectional":
        return _bidirectional(layer, keras_major=keras_major)
    if class_name == "Dense":
        return _dense(layer, keras_major=keras_major)
    if class_name == "TimeDistributed":
        inner = layer.layer
        if type(inner).__name__ != "Dense":
            raise UnsupportedModelError(
                f"layer '{layer.name}': TimeDistributed is supported around Dense only, "
                f"not {type(inner).__name__}"
            )
        return _dense(inner, keras_major=keras_major, name=layer.name, time_distributed=True)
    if class_name == "Masking":
        return MaskingLayer(name=layer.name, mask_value=float(layer.mask_value))
    if class_name in IDENTITY_LAYERS:
        return IdentityLayer(name=layer.name, class_name=class_name)
    if functional_class(layer) is not None:
        return describe_functional(layer, keras_major=keras_major)
    raise UnsupportedModelError(
        f"layer '{layer.name}' ({class_name}) is not supported; supported layers: "
        + ", ".join(SUPPORTED_LAYERS)
    )


def _activation_name(layer: Any, config: dict[str, Any], key: str, keras_major: int) -> str:
    value = config.get(key, "linear")
    if value is None:
        value = "linear"
    if not isinstance(value, str):
        live = getattr(getattr(layer, "cell", layer), key, None)
        shown = _shown_activation(live if callable(live) else value)
        raise UnsupportedModelError(
            f"layer '{layer.name}': {key} {shown} is not a built-in activation"
        )
    get_activation(value, keras_major=keras_major)  # raises UnsupportedModelError early
    return value


def _shown_activation(value: Any) -> str:
    """A serialized custom activation as a person reads it, never its bytecode."""
    if isinstance(value, dict):
        class_name = str(value.get("class_name", ""))
        if class_name == "__lambda__":
            return "a lambda"
        inner = value.get("config")
        name = inner.get("name") if isinstance(inner, dict) else inner
        if isinstance(name, str):
            return repr(name)
        return repr(class_name) if class_name else "a custom function"
    name = getattr(value, "__name__", None)
    if name == "<lambda>":
        return "a lambda"
    return repr(name) if isinstance(name, str) else f"a {type(value).__name__}"


def _cell_config(layer: Any, cell: Any, kind: CellKind, keras_major: int) -> CellConfig:
    config = cell.get_config()
    return CellConfig(
        kind=kind,
        units=int(config["units"]),
        activation=_activation_name(layer, config, "activation", keras_major),
        recurrent_activation=(
            _activation_name(layer, config, "recurrent_activation", keras_major)
            if kind != "simple_rnn"
            else None
        ),
        use_bias=bool(config.get("use_bias", True)),
        reset_after=bool(config.get("reset_after", False)) if kind == "gru" else False,
    )


def _recurrent(layer: Any, *, keras_major: int) -> RecurrentLayer:
    class_name = keras_class_name(layer)
    cell = layer.cell
    cell_class = type(cell).__name__
    if class_name == "RNN":
        if cell_class not in CELLS:
            raise UnsupportedModelError(
                f"layer '{layer.name}': RNN with cell {cell_class} is not supported; "
                "use a GRUCell, LSTMCell or SimpleRNNCell (custom cells have no reference)"
            )
        kind = CELLS[cell_class]
    else:
        kind = RECURRENT_LAYERS[class_name]
    if getattr(layer, "time_major", False):
        raise UnsupportedModelError(f"layer '{layer.name}': time_major=True is not supported")
    return RecurrentLayer(
        name=layer.name,
        cell=_cell_config(layer, cell, kind, keras_major),
        weights=layer_cell_weights(layer, kind),
        return_sequences=bool(layer.return_sequences),
        return_state=bool(layer.return_state),
        go_backwards=bool(layer.go_backwards),
        stateful=bool(layer.stateful),
        zero_output_for_mask=bool(getattr(layer, "zero_output_for_mask", False)),
    )


def _bidirectional(layer: Any, *, keras_major: int) -> BidirectionalLayer:
    forward = _recurrent(layer.forward_layer, keras_major=keras_major)
    backward = _recurrent(layer.backward_layer, keras_major=keras_major)
    if not backward.go_backwards or forward.go_backwards:
        raise UnsupportedModelError(
            f"layer '{layer.name}': a Bidirectional whose forward layer runs backwards "
            "is not supported"
        )
    return BidirectionalLayer(
        name=layer.name,
        forward=forward,
        backward=backward,
        merge_mode=layer.merge_mode,
        return_sequences=bool(layer.return_sequences),
        return_state=bool(layer.return_state),
    )


def _dense(
    layer: Any, *, keras_major: int, name: str | None = None, time_distributed: bool = False
) -> DenseLayer:
    config = layer.get_config()
    arrays = layer.get_weights()
    return DenseLayer(
        name=name or layer.name,
        kernel=np.asarray(arrays[0]),
        bias=np.asarray(arrays[1]) if len(arrays) > 1 else None,
        activation=_activation_name(layer, config, "activation", keras_major),
        time_distributed=time_distributed,
    )


def _stacked(layer: Any, *, keras_major: int) -> StackedLayer:
    """``RNN(StackedRNNCells([...]))``: each cell's options and per-gate weights."""
    cells = []
    for cell in layer.cell.cells:
        kind = CELLS.get(type(cell).__name__)
        if kind is None:
            raise UnsupportedModelError(
                f"layer '{layer.name}': StackedRNNCells with a {type(cell).__name__} is not "
                "supported; use GRUCell, LSTMCell or SimpleRNNCell cells"
            )
        cells.append((_cell_config(layer, cell, kind, keras_major), layer_cell_weights(cell, kind)))
    return StackedLayer(
        name=layer.name,
        cells=tuple(cells),
        return_sequences=bool(layer.return_sequences),
        return_state=bool(layer.return_state),
        go_backwards=bool(layer.go_backwards),
        stateful=bool(layer.stateful),
        zero_output_for_mask=bool(getattr(layer, "zero_output_for_mask", False)),
    )


def _conv_lstm(layer: Any, *, keras_major: int) -> ConvLSTMLayer:
    """``ConvLSTM1D``/``2D``/``3D``: its convolution options and fused weights."""
    cell = layer.cell
    config = cell.get_config()
    arrays = layer.get_weights()
    return ConvLSTMLayer(
        name=layer.name,
        kernel=np.asarray(arrays[0]),
        recurrent_kernel=np.asarray(arrays[1]),
        bias=np.asarray(arrays[2]) if len(arrays) > 2 else None,
        strides=tuple(int(s) for s in config["strides"]),
        padding=str(config["padding"]),
        dilation_rate=tuple(int(d) for d in config["dilation_rate"]),
        data_format=str(config.get("data_format") or "channels_last"),
        activation=_activation_name(layer, config, "activation", keras_major),
        recurrent_activation=_activation_name(layer, config, "recurrent_activation", keras_major),
        return_sequences=bool(layer.return_sequences),
        return_state=bool(layer.return_state),
        go_backwards=bool(layer.go_backwards),
        stateful=bool(layer.stateful),
        # Keras 2's ConvRNN never hands zero_output_for_mask to backend.rnn: its masked
        # steps repeat the last output whatever the layer was given.
        zero_output_for_mask=keras_major >= 3
        and bool(getattr(layer, "zero_output_for_mask", False)),
    )
