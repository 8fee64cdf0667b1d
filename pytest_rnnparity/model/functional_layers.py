"""The Keras layers around the recurrent ones, as :class:`FunctionalLayer` descriptions.

Each describer reads a layer's config and weights (never its call) into the options and
arrays the reference function of its class takes
(:mod:`pytest_rnnparity.reference.layers.registry`). An option the reference does not
implement raises :class:`~pytest_rnnparity.errors.UnsupportedModelError` naming it, and
the caller makes the layer opaque: it is never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from pytest_rnnparity.errors import UnsupportedModelError
from pytest_rnnparity.reference.activations import get_activation
from pytest_rnnparity.reference.types import Array, FunctionalLayer

Describer = Callable[[Any, Mapping[str, Any], int], FunctionalLayer]


def _array(value: Any) -> Array:
    numpy = getattr(value, "numpy", None)
    return np.array(numpy() if callable(numpy) else value)


def _unsupported(layer: Any, problem: str) -> UnsupportedModelError:
    return UnsupportedModelError(f"layer '{layer.name}' ({type(layer).__name__}): {problem}")


def _channels_last(layer: Any, config: Mapping[str, Any]) -> None:
    if config.get("data_format", "channels_last") not in (None, "channels_last"):
        raise _unsupported(layer, f"data_format={config['data_format']} is not supported")


def _activation(layer: Any, config: Mapping[str, Any], keras_major: int) -> str:
    value = config.get("activation", "linear") or "linear"
    if not isinstance(value, str):
        raise _unsupported(layer, "a custom activation has no reference")
    get_activation(value, keras_major=keras_major)
    return value


def _one(value: Any) -> int:
    return int(value[0]) if isinstance(value, (list, tuple)) else int(value)


def _make(layer: Any, options: Mapping[str, Any], weights: Mapping[str, Any]) -> FunctionalLayer:
    return FunctionalLayer(
        name=layer.name,
        class_name=_class(layer),
        options=dict(options),
        weights={k: _array(v) for k, v in weights.items() if v is not None},
    )


def _class(layer: Any) -> str:
    for cls in type(layer).__mro__:
        if cls.__name__ in DESCRIBERS and cls.__module__.split(".")[0] in ("keras", "tf_keras"):
            return cls.__name__
    return type(layer).__name__


def _embedding(layer: Any, config: Mapping[str, Any], keras_major: int) -> FunctionalLayer:
    if getattr(layer, "quantization_mode", None) or getattr(layer, "lora_enabled", False):
        raise _unsupported(layer, "quantized or LoRA embeddings are not supported")
    return _make(
        layer, {"mask_zero": bool(config.get("mask_zero"))}, {"embeddings": layer.embeddings}
    )


def _activation_layer(layer: Any, config: Mapping[str, Any], keras_major: int) -> FunctionalLayer:
    return _make(layer, {"activation": _activation(layer, config, keras_major)}, {})


def _conv1d(layer: Any, config: Mapping[str, Any], keras_major: int) -> FunctionalLayer:
    _channels_last(layer, config)
    options = {
        "strides": _one(config["strides"]),
        "padding": config["padding"],
        "dilation_rate": _one(config["dilation_rate"]),
        "groups": int(config.get("groups", 1)),
        "activation": _activation(layer, config, keras_major),
    }
    bias = layer.bias if config.get("use_bias", True) else None
    return _make(layer, options, {"kernel": layer.kernel, "bias": bias})


def _pooling(layer: Any, config: Mapping[str, Any], keras_major: int) -> FunctionalLayer:
    _channels_last(layer, config)
    strides = config.get("strides")
    return _make(
        layer,
        {
            "pool_size": _one(config["pool_size"]),
            "strides": None if strides is None else _one(strides),
            "padding": config["padding"],
        },
        {},
    )


def _global_pooling(layer: Any, config: Mapping[str, Any], keras_major: int) -> FunctionalLayer:
    _channels_last(layer, config)
    return _make(layer, {"keepdims": bool(config.get("keepdims", False))}, {})


def _options(*keys: str) -> Describer:
    """A layer whose options are config values under these keys, with no weights."""

    def describe(layer: Any, config: Mapping[str, Any], keras_major: int) -> FunctionalLayer:
        options = {}
        for key in keys:
            value = config[key]
            options[key] = tuple(value) if isinstance(value, list) else value
        return _make(layer, options, {})

    return describe


def _flatten(layer: Any, config: Mapping[str, Any], keras_major: int) -> FunctionalLayer:
    return _make(layer, {"data_format": config.get("data_format") or "channels_last"}, {})


def _layer_normalization(
    layer: Any, config: Mapping[str, Any], keras_major: int
) -> FunctionalLayer:
    axis = config["axis"]
    options = {
        "axis": tuple(axis) if isinstance(axis, list) else axis,
        "epsilon": float(config["epsilon"]),
        "center": bool(config["center"]),
        "scale": bool(config["scale"]),
        "rms_scaling": bool(config.get("rms_scaling", False)),
    }
    return _make(layer, options, {"gamma": layer.gamma, "beta": layer.beta})


def _batch_normalization(
    layer: Any, config: Mapping[str, Any], keras_major: int
) -> FunctionalLayer:
    if config.get("renorm") or config.get("synchronized"):
        raise _unsupported(layer, "renorm and synchronized batch normalization are not supported")
    axis = config["axis"]
    if not isinstance(axis, int):  # Keras 2 holds a list of axes once the layer is built
        axes = [int(a) for a in axis]
        if len(axes) != 1:
            raise _unsupported(layer, "batch normalization over several axes is not supported")
        axis = axes[0]
    options = {
        "axis": axis,
        "epsilon": float(config["epsilon"]),
        "center": bool(config["center"]),
        "scale": bool(config["scale"]),
    }
    weights = {
        "gamma": layer.gamma,
        "beta": layer.beta,
        "moving_mean": layer.moving_mean,
        "moving_variance": layer.moving_variance,
    }
    return _make(layer, options, weights)


def _attention(layer: Any, config: Mapping[str, Any], keras_major: int) -> FunctionalLayer:
    score_mode = config.get("score_mode", "dot")
    options: dict[str, Any] = {"score_mode": score_mode}
    weights = {
        "scale": getattr(layer, "scale", None) if config.get("use_scale") else None,
        "concat_score_weight": getattr(layer, "concat_score_weight", None)
        if score_mode == "concat"
        else None,
    }
    return _make(layer, options, weights)


def _additive_attention(layer: Any, config: Mapping[str, Any], keras_major: int) -> FunctionalLayer:
    weights = {"scale": getattr(layer, "scale", None) if config.get("use_scale") else None}
    return _make(layer, {}, weights)


def _multi_head_attention(
    layer: Any, config: Mapping[str, Any], keras_major: int
) -> FunctionalLayer:
    if config.get("attention_axes") not in (None, [1], (1,), [-2], (-2,)):
        raise _unsupported(layer, "attention_axes other than the time axis are not supported")
    if config.get("sliding_window") or config.get("use_gate"):
        raise _unsupported(layer, "sliding_window and use_gate are not supported")

    def dense(name: str) -> Any:
        return getattr(layer, name, None) or getattr(layer, f"_{name}")

    weights = {}
    for role in ("query", "key", "value", "output"):
        projection = dense(f"{role}_dense")
        weights[f"{role}_kernel"] = projection.kernel
        weights[f"{role}_bias"] = getattr(projection, "bias", None)
    return _make(layer, {}, weights)


#: The Keras classes the reference computes as functions of their inputs.
DESCRIBERS: Mapping[str, Describer] = {
    "Embedding": _embedding,
    "Activation": _activation_layer,
    "Conv1D": _conv1d,
    "MaxPooling1D": _pooling,
    "AveragePooling1D": _pooling,
    "GlobalAveragePooling1D": _global_pooling,
    "GlobalMaxPooling1D": _global_pooling,
    "Flatten": _flatten,
    "Reshape": _options("target_shape"),
    "Permute": _options("dims"),
    "RepeatVector": _options("n"),
    "ZeroPadding1D": _options("padding"),
    "Cropping1D": _options("cropping"),
    "UpSampling1D": _options("size"),
    "LayerNormalization": _layer_normalization,
    "BatchNormalization": _batch_normalization,
    "Add": _options(),
    "Subtract": _options(),
    "Multiply": _options(),
    "Average": _options(),
    "Maximum": _options(),
    "Minimum": _options(),
    "Concatenate": _options("axis"),
    "Dot": _options("axes", "normalize"),
    "Attention": _attention,
    "AdditiveAttention": _additive_attention,
    "MultiHeadAttention": _multi_head_attention,
}

#: Call-time arguments of these classes that change what they compute.
CALL_OPTIONS: Mapping[str, tuple[str, ...]] = {
    "Attention": ("use_causal_mask", "return_attention_scores"),
    "AdditiveAttention": ("use_causal_mask", "return_attention_scores"),
    "MultiHeadAttention": ("use_causal_mask", "return_attention_scores"),
}


def functional_class(layer: Any) -> str | None:
    """The Keras class of ``layer`` the reference computes as a function, or None."""
    name = _class(layer)
    return name if name in DESCRIBERS else None


def describe_functional(layer: Any, *, keras_major: int = 3) -> FunctionalLayer:
    """``layer`` as a :class:`FunctionalLayer` (UnsupportedModelError names what it lacks)."""
    name = functional_class(layer)
    if name is None:
        raise _unsupported(layer, "the reference has no such layer")
    return DESCRIBERS[name](layer, layer.get_config(), keras_major)
