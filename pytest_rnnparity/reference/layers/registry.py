"""Run a :class:`~pytest_rnnparity.reference.types.FunctionalLayer` by its Keras class.

Each entry maps a Keras class name to the reference function of :mod:`.core`,
:mod:`.convolution`, :mod:`.pooling`, :mod:`.reshaping`, :mod:`.normalization`,
:mod:`.merging`, :mod:`.attention` or :mod:`.multi_head_attention`, called with the
layer's options and weights, the values of its inputs and the masks Keras would give
them. What comes back is every output in Keras' order and the mask on each (Keras'
``compute_mask``), so a graph runs these layers like any other. Nothing here
imports keras.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from numpy.typing import DTypeLike

from pytest_rnnparity.reference.layers import (
    attention,
    convolution,
    core,
    merging,
    multi_head_attention,
    normalization,
    pooling,
    reshaping,
)
from pytest_rnnparity.reference.types import Array, BoolArray, FunctionalLayer

#: Every output of a layer call, and the mask Keras attaches to each.
Outputs = tuple[list[Array], list[BoolArray | None]]
_Run = Callable[
    [FunctionalLayer, Sequence[Array], Sequence[BoolArray | None], DTypeLike, int], Outputs
]


def _one(output: Any) -> Outputs:
    return [output.output], [output.mask]


def _single(function: Callable[..., Any], *option_names: str) -> _Run:
    """A one-input layer whose function takes the input, its options and ``mask``."""

    def run(
        layer: FunctionalLayer,
        inputs: Sequence[Array],
        masks: Sequence[BoolArray | None],
        dtype: DTypeLike,
        keras_major: int,
    ) -> Outputs:
        options = {name: layer.options[name] for name in option_names if name in layer.options}
        return _one(function(inputs[0], mask=masks[0], dtype=dtype, **options))

    return run


def _merge(function: Callable[..., Any], *option_names: str, by_generation: bool = True) -> _Run:
    """A merge layer: a list of inputs and their masks; ``keras_major`` too, unless the
    layer is the same in both generations (``by_generation=False``)."""

    def run(
        layer: FunctionalLayer,
        inputs: Sequence[Array],
        masks: Sequence[BoolArray | None],
        dtype: DTypeLike,
        keras_major: int,
    ) -> Outputs:
        options = {name: layer.options[name] for name in option_names if name in layer.options}
        if by_generation:
            options["keras_major"] = keras_major
        return _one(function(list(inputs), masks=list(masks), dtype=dtype, **options))

    return run


def _embedding(
    layer: FunctionalLayer,
    inputs: Sequence[Array],
    masks: Sequence[BoolArray | None],
    dtype: DTypeLike,
    keras_major: int,
) -> Outputs:
    return _one(
        core.embedding(
            inputs[0],
            layer.weights["embeddings"],
            mask_zero=bool(layer.options.get("mask_zero", False)),
            dtype=dtype,
        )
    )


def _activation(
    layer: FunctionalLayer,
    inputs: Sequence[Array],
    masks: Sequence[BoolArray | None],
    dtype: DTypeLike,
    keras_major: int,
) -> Outputs:
    return _one(
        core.activation(
            inputs[0],
            layer.options["activation"],
            mask=masks[0],
            dtype=dtype,
            keras_major=keras_major,
        )
    )


def _conv1d(
    layer: FunctionalLayer,
    inputs: Sequence[Array],
    masks: Sequence[BoolArray | None],
    dtype: DTypeLike,
    keras_major: int,
) -> Outputs:
    options = layer.options
    return _one(
        convolution.conv1d(
            inputs[0],
            layer.weights["kernel"],
            layer.weights.get("bias"),
            strides=options["strides"],
            padding=options["padding"],
            dilation_rate=options["dilation_rate"],
            groups=options.get("groups", 1),
            activation=options.get("activation"),
            mask=masks[0],
            dtype=dtype,
            keras_major=keras_major,
        )
    )


def _layer_normalization(
    layer: FunctionalLayer,
    inputs: Sequence[Array],
    masks: Sequence[BoolArray | None],
    dtype: DTypeLike,
    keras_major: int,
) -> Outputs:
    options = layer.options
    return _one(
        normalization.layer_normalization(
            inputs[0],
            layer.weights.get("gamma"),
            layer.weights.get("beta"),
            axis=options["axis"],
            epsilon=options["epsilon"],
            center=options["center"],
            scale=options["scale"],
            rms_scaling=options.get("rms_scaling", False),
            mask=masks[0],
            dtype=dtype,
            keras_major=keras_major,
        )
    )


def _batch_normalization(
    layer: FunctionalLayer,
    inputs: Sequence[Array],
    masks: Sequence[BoolArray | None],
    dtype: DTypeLike,
    keras_major: int,
) -> Outputs:
    options = layer.options
    return _one(
        normalization.batch_normalization(
            inputs[0],
            layer.weights["moving_mean"],
            layer.weights["moving_variance"],
            layer.weights.get("gamma"),
            layer.weights.get("beta"),
            axis=options["axis"],
            epsilon=options["epsilon"],
            center=options["center"],
            scale=options["scale"],
            mask=masks[0],
            dtype=dtype,
        )
    )


def _attention(function: Callable[..., Any]) -> _Run:
    def run(
        layer: FunctionalLayer,
        inputs: Sequence[Array],
        masks: Sequence[BoolArray | None],
        dtype: DTypeLike,
        keras_major: int,
    ) -> Outputs:
        options = dict(layer.options)
        scores = bool(options.pop("return_attention_scores", False))
        extra = {
            k: layer.weights[k] for k in ("scale", "concat_score_weight") if k in layer.weights
        }
        result = function(
            inputs[0],
            inputs[1],
            inputs[2] if len(inputs) > 2 else None,
            query_mask=masks[0],
            value_mask=masks[1] if len(masks) > 1 else None,
            use_causal_mask=bool(options.pop("use_causal_mask", False)),
            return_attention_scores=scores,
            dtype=dtype,
            **options,
            **extra,
        )
        if scores:
            assert result.scores is not None
            return [result.output, result.scores], [result.mask, None]
        return [result.output], [result.mask]

    return run


def _multi_head_attention(
    layer: FunctionalLayer,
    inputs: Sequence[Array],
    masks: Sequence[BoolArray | None],
    dtype: DTypeLike,
    keras_major: int,
) -> Outputs:
    options = layer.options
    weights = multi_head_attention.MultiHeadAttentionWeights(
        **{name: value for name, value in layer.weights.items() if name != "attention_mask"}
    )
    scores = bool(options.get("return_attention_scores", False))
    result = multi_head_attention.multi_head_attention(
        inputs[0],
        inputs[1],
        inputs[2] if len(inputs) > 2 else None,
        weights=weights,
        query_mask=masks[0],
        value_mask=masks[1] if len(masks) > 1 else None,
        key_mask=masks[2] if len(masks) > 2 else None,
        attention_mask=layer.weights.get("attention_mask"),
        use_causal_mask=bool(options.get("use_causal_mask", False)),
        return_attention_scores=scores,
        dtype=dtype,
        keras_major=keras_major,
    )
    if scores:
        assert result.scores is not None
        return [result.output, result.scores], [result.mask, None]
    return [result.output], [result.mask]


#: The Keras classes the reference computes as functions, and how.
FUNCTIONS: Mapping[str, _Run] = {
    "Embedding": _embedding,
    "Activation": _activation,
    "Conv1D": _conv1d,
    "MaxPooling1D": _single(pooling.max_pooling1d, "pool_size", "strides", "padding"),
    "AveragePooling1D": _single(pooling.average_pooling1d, "pool_size", "strides", "padding"),
    "GlobalAveragePooling1D": _single(pooling.global_average_pooling1d, "keepdims"),
    "GlobalMaxPooling1D": _single(pooling.global_max_pooling1d, "keepdims"),
    "Flatten": _single(reshaping.flatten, "data_format"),
    "Reshape": _single(reshaping.reshape, "target_shape"),
    "Permute": _single(reshaping.permute, "dims"),
    "RepeatVector": _single(reshaping.repeat_vector, "n"),
    "ZeroPadding1D": _single(reshaping.zero_padding1d, "padding"),
    "Cropping1D": _single(reshaping.cropping1d, "cropping"),
    "UpSampling1D": _single(reshaping.up_sampling1d, "size"),
    "LayerNormalization": _layer_normalization,
    "BatchNormalization": _batch_normalization,
    "Add": _merge(merging.add),
    "Subtract": _merge(merging.subtract),
    "Multiply": _merge(merging.multiply),
    "Average": _merge(merging.average),
    "Maximum": _merge(merging.maximum),
    "Minimum": _merge(merging.minimum),
    "Concatenate": _merge(merging.concatenate, "axis"),
    "Dot": _merge(merging.dot, "axes", "normalize", by_generation=False),
    "Attention": _attention(attention.attention),
    "AdditiveAttention": _attention(attention.additive_attention),
    "MultiHeadAttention": _multi_head_attention,
}


def run_functional(
    layer: FunctionalLayer,
    inputs: Sequence[Array],
    masks: Sequence[BoolArray | None],
    *,
    dtype: DTypeLike = "float32",
    keras_major: int = 3,
) -> Outputs:
    """Every output of ``layer`` on ``inputs`` (with ``masks``, one per input), and its mask.

    Raises
    ------
    ValueError
        If the reference has no function for the layer's class, or the inputs do not
        fit it.
    """
    run = FUNCTIONS.get(layer.class_name)
    if run is None:
        raise ValueError(f"layer {layer.name!r}: the reference has no {layer.class_name}")
    padded = list(masks) + [None] * (len(inputs) - len(masks))
    return run(layer, inputs, padded, dtype, keras_major)
