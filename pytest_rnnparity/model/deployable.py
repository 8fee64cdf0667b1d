"""The Keras side of a conversion: describe the model, rebuild it fixed-batch or unrolled.

Runs in the conversion child (:mod:`.conversion`), which has Keras and TensorFlow
imported; nothing here imports them at module level. The rebuilt model comes from
the original's own config with only ``batch_shape`` and ``unroll`` changed and gets
the original's weights, so it computes the same function; :func:`max_difference`
checks that on the representative windows before anything is converted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import numpy as np

from pytest_rnnparity.reference.types import Array, CellKind
from pytest_rnnparity.runtimes.manifest import (
    DirectionInfo,
    LayerInfo,
    ModelManifest,
    Shape,
)

RECURRENT_LAYERS: dict[str, CellKind] = {"GRU": "gru", "LSTM": "lstm", "SimpleRNN": "simple_rnn"}
CELLS: dict[str, CellKind] = {"GRUCell": "gru", "LSTMCell": "lstm", "SimpleRNNCell": "simple_rnn"}


def _kind(layer: Any) -> CellKind | None:
    class_name = type(layer).__name__
    if class_name in RECURRENT_LAYERS:
        return RECURRENT_LAYERS[class_name]
    if class_name == "RNN":
        return CELLS.get(type(getattr(layer, "cell", None)).__name__)
    return None


def _shape(value: Any) -> Shape:
    if isinstance(value, (list, tuple)) and value and not isinstance(value[0], (int, type(None))):
        value = value[0]  # a layer with several outputs: the first is its output
    shape = getattr(value, "shape", value)
    return tuple(None if d is None else int(d) for d in shape)


def _activation(config: dict[str, Any], key: str) -> str | None:
    value = config.get(key)
    return value if isinstance(value, str) or value is None else str(value)


def _recurrent_info(layer: Any, name: str, class_name: str, output_shape: Shape) -> LayerInfo:
    if class_name == "Bidirectional":
        forward, backward = layer.forward_layer, layer.backward_layer
        directions: tuple[DirectionInfo, ...] = (
            DirectionInfo("forward", forward.name, bool(forward.go_backwards)),
            DirectionInfo("backward", backward.name, bool(backward.go_backwards)),
        )
        inner = forward
    else:
        directions = (DirectionInfo("forward", layer.name, bool(layer.go_backwards)),)
        inner = layer
    kind = _kind(inner)
    config = inner.cell.get_config()
    return LayerInfo(
        name=name,
        class_name=class_name,
        output_shape=output_shape,
        kind=kind,
        units=int(config["units"]),
        directions=directions,
        return_sequences=bool(inner.return_sequences),
        activation=_activation(config, "activation"),
        recurrent_activation=_activation(config, "recurrent_activation"),
        reset_after=bool(config.get("reset_after", False)) if kind == "gru" else None,
    )


def manifest_from_model(model: Any) -> ModelManifest:
    """The :class:`ModelManifest` of a Keras model (one chain of layers)."""
    keras_version = str(
        getattr(__import__(type(model).__module__.split(".")[0]), "__version__", "?")
    )
    layers = []
    for layer in model.layers:
        class_name = type(layer).__name__
        if class_name == "InputLayer":
            continue
        output_shape = _shape(layer.output)
        inner = layer.forward_layer if class_name == "Bidirectional" else layer
        if _kind(inner) is not None:
            layers.append(_recurrent_info(layer, layer.name, class_name, output_shape))
        else:
            layers.append(
                LayerInfo(name=layer.name, class_name=class_name, output_shape=output_shape)
            )
    return ModelManifest(
        layers=tuple(layers),
        input_shape=_shape(model.inputs[0]),
        keras_version=keras_version,
        scope_suffix=keras_version.split(".")[0] != "2",
    )


SHAPE_KEYS = ("batch_shape", "batch_input_shape", "build_input_shape")


def _with_batch(shape: Any, batch_size: int | None) -> Any:
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_with_batch(s, batch_size) for s in shape]  # a list of shapes
    if isinstance(shape, (list, tuple)) and shape:
        return [batch_size, *shape[1:]]
    return shape


def _edit_config(config: Any, *, batch_size: int | None, unroll: bool) -> None:
    if isinstance(config, dict):
        for key, value in config.items():
            if key == "unroll" and unroll:
                config[key] = True
            elif key in SHAPE_KEYS:
                config[key] = _with_batch(value, batch_size)
            else:
                _edit_config(value, batch_size=batch_size, unroll=unroll)
    elif isinstance(config, list):
        for item in config:
            _edit_config(item, batch_size=batch_size, unroll=unroll)


def rebuild(model: Any, *, batch_size: int | None, unroll: bool) -> Any:
    """``model`` rebuilt from its config with a fixed batch and/or ``unroll=True``, same weights."""
    config = model.get_config()
    _edit_config(config, batch_size=batch_size, unroll=unroll)
    rebuilt = type(model).from_config(config)
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def batches(x: Array, batch_size: int) -> Iterator[Array]:
    """``x`` in batches of ``batch_size`` rows, the last one padded with zero rows."""
    rows = len(x)
    padded = -(-rows // batch_size) * batch_size
    if padded != rows:
        x = np.concatenate([x, np.zeros((padded - rows, *x.shape[1:]), dtype=x.dtype)])
    for start in range(0, padded, batch_size):
        yield x[start : start + batch_size]


def _outputs(model: Any, x: Array) -> list[Array]:
    result = model(x, training=False)
    values = result if isinstance(result, (list, tuple)) else [result]
    return [np.asarray(v) for v in values]


def max_difference(original: Any, rebuilt: Any, x: Array, *, batch_size: int | None) -> float:
    """Largest ``|rebuilt(x) - original(x)|`` over every output, batch by batch."""
    worst = 0.0
    for batch in batches(x, batch_size or len(x)):
        for a, b in zip(_outputs(original, batch), _outputs(rebuilt, batch), strict=True):
            worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b), initial=0.0)))
    return worst


def recurrent_layer_names(model: Any) -> list[str]:
    return [
        cast(str, layer.name)
        for layer in model.layers
        if _kind(layer.forward_layer if type(layer).__name__ == "Bidirectional" else layer)
    ]
