"""Run a chain of layers (a Sequential-like model) through the reference, passing masks on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from pytest_rnnparity.errors import UnsupportedModelError
from pytest_rnnparity.reference.layers.core import run_dense, run_identity, run_masking
from pytest_rnnparity.reference.layers.registry import run_functional
from pytest_rnnparity.reference.masks import check_mask
from pytest_rnnparity.reference.recurrent.conv_lstm import conv_lstm
from pytest_rnnparity.reference.recurrent.layers import (
    direction_states,
    passed_on,
    run_bidirectional,
    run_recurrent,
)
from pytest_rnnparity.reference.recurrent.stacked import run_stacked_cells
from pytest_rnnparity.reference.types import (
    DIRECTIONS,
    STATE_NAMES,
    Array,
    BidirectionalLayer,
    ConvLSTMLayer,
    DenseLayer,
    FunctionalLayer,
    IdentityLayer,
    LayerResult,
    LayerStates,
    MaskingLayer,
    RecurrentLayer,
    RecurrentTrace,
    ReferenceLayer,
    StackedLayer,
    resolve_dtype,
)


def run_reference(
    layers: Sequence[ReferenceLayer],
    x: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    initial_states: Mapping[str, LayerStates] | None = None,
    dtype: DTypeLike = "float32",
    hidden_only: bool = False,
    keras_major: int = 3,
) -> list[LayerResult]:
    """Run ``layers`` one after the other on ``x`` and return every layer's result.

    Masks travel as in Keras: ``Masking`` creates one; ``Dense``, ``TimeDistributed``
    and identity layers pass it on; a recurrent layer or ``Bidirectional`` passes it
    on only with ``return_sequences`` (unchanged, in input time order, even after
    ``go_backwards``).

    Parameters
    ----------
    layers : sequence of ReferenceLayer
        The chain, first layer first; names must be unique.
    x : array, shape (B, T, F)
        The model input (``(B, F)`` only if no layer needs a time axis).
    mask : array, shape (B, T), optional
        A mask for the first layer, as if an earlier layer had made it.
    initial_states : mapping, optional
        Layer name -> direction (``"forward"``/``"backward"``) -> state name ->
        ``(B, units)``. Carry state between calls for stateful layers by passing the
        previous call's ``result.directions[direction].final_states``. Layers not
        named start from zeros.
    dtype : "float32" or "float64"
        The computation dtype (float32 mirrors Keras, float64 is the ground truth).
    hidden_only : bool
        Keep only the ``"hidden"`` trace of recurrent layers.
    keras_major : int
        Which Keras' activation definitions to use (only ``hard_sigmoid`` differs).

    Returns
    -------
    list of LayerResult
        One per layer, in order; the last one's ``output`` is the model's output.

    Raises
    ------
    ValueError
        If shapes, masks, names or initial states do not fit.
    UnsupportedModelError
        If an activation is not supported, or a layer follows a
        ``Bidirectional(merge_mode=None)``, whose output is a pair.
    """
    compute_dtype = resolve_dtype(dtype)
    names = [layer.name for layer in layers]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"layer names must be unique; repeated: {', '.join(duplicates)}")
    states = dict(initial_states or {})
    recurrent = {
        layer.name for layer in layers if isinstance(layer, RecurrentLayer | BidirectionalLayer)
    }
    unknown = sorted(set(states) - recurrent)
    if unknown:
        raise ValueError(
            f"initial states were given for {', '.join(unknown)}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not a recurrent layer of the chain"
        )

    current: Array | tuple[Array, Array] = np.asarray(x, dtype=compute_dtype)
    current_mask = None
    if mask is not None:
        shape = np.shape(current)
        if len(shape) < 3:
            raise ValueError(f"a mask needs an input with a time axis, got shape {shape}")
        current_mask = check_mask(mask, shape[0], shape[1], names[0] if names else "input")

    results: list[LayerResult] = []
    for layer in layers:
        if isinstance(current, tuple):
            raise UnsupportedModelError(
                f"layer {layer.name!r} follows Bidirectional {results[-1].name!r} with "
                "merge_mode=None, whose output is a pair; only the last layer may do that"
            )
        result = run_layer(
            layer,
            current,
            mask=current_mask,
            initial_states=states.get(layer.name),
            dtype=compute_dtype,
            hidden_only=hidden_only,
            keras_major=keras_major,
        )
        results.append(result)
        current, current_mask = result.output, result.mask
    return results


def run_layer(
    layer: ReferenceLayer,
    inputs: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    initial_states: LayerStates | None = None,
    dtype: DTypeLike = "float32",
    hidden_only: bool = False,
    keras_major: int = 3,
) -> LayerResult:
    """Run any one layer and say which mask it passes on, as Keras would.

    ``initial_states`` (direction -> state name -> array) is only accepted for
    recurrent layers; a plain recurrent layer has the one direction ``"forward"``.
    A recurrent layer's ``output`` is the full sequence ``(B, T, units)`` with
    ``return_sequences`` (in processing order), else the last output ``(B, units)``.
    """
    if isinstance(layer, RecurrentLayer):
        states = direction_states(initial_states, DIRECTIONS[:1], layer.name)
        trace = run_recurrent(
            layer,
            inputs,
            mask=mask,
            initial_state=states.get("forward"),
            dtype=dtype,
            hidden_only=hidden_only,
            keras_major=keras_major,
        )
        output = trace.outputs if layer.return_sequences else trace.outputs[:, -1]
        return LayerResult(
            name=layer.name,
            output=output,
            mask=passed_on(mask, layer.return_sequences),
            directions={"forward": trace},
        )
    if isinstance(layer, BidirectionalLayer):
        return run_bidirectional(
            layer,
            inputs,
            mask=mask,
            initial_states=initial_states,
            dtype=dtype,
            hidden_only=hidden_only,
            keras_major=keras_major,
        )
    if isinstance(layer, StackedLayer):
        return _run_stacked(
            layer,
            inputs,
            mask,
            initial_states,
            dtype=dtype,
            hidden_only=hidden_only,
            keras_major=keras_major,
        )
    if isinstance(layer, ConvLSTMLayer):
        return _run_conv_lstm(
            layer,
            inputs,
            mask,
            initial_states,
            dtype=dtype,
            hidden_only=hidden_only,
            keras_major=keras_major,
        )
    if initial_states:
        raise ValueError(f"layer {layer.name!r} is not recurrent and takes no initial states")
    if isinstance(layer, FunctionalLayer):
        outputs, masks = run_functional(
            layer,
            [np.asarray(inputs)],
            [None if mask is None else np.asarray(mask, bool)],
            dtype=dtype,
            keras_major=keras_major,
        )
        return LayerResult(name=layer.name, output=outputs[0], mask=masks[0])
    if isinstance(layer, DenseLayer):
        return run_dense(layer, inputs, mask=mask, dtype=dtype, keras_major=keras_major)
    if isinstance(layer, MaskingLayer):
        return run_masking(layer, inputs, dtype=dtype)
    assert isinstance(layer, IdentityLayer)
    return run_identity(layer, inputs, mask=mask, dtype=dtype)


def _run_stacked(
    layer: StackedLayer,
    inputs: ArrayLike,
    mask: ArrayLike | None,
    initial_states: LayerStates | None,
    *,
    dtype: DTypeLike,
    hidden_only: bool,
    keras_major: int,
) -> LayerResult:
    """``RNN(StackedRNNCells)``: the top cell as the ``forward`` direction, every cell's
    final states on it as ``"hidden (cell 1)"``..., the lower cells' traces as ``cell k``."""
    per_cell = None
    if initial_states:
        given = direction_states(initial_states, DIRECTIONS[:1], layer.name)["forward"]
        per_cell = [
            {state: given[f"{state} (cell {index + 1})"] for state in STATE_NAMES[config.kind]}
            for index, (config, _) in enumerate(layer.cells)
        ]
    result = run_stacked_cells(
        layer.cells,
        inputs,
        mask=mask,
        initial_states=per_cell,
        return_sequences=layer.return_sequences,
        return_state=layer.return_state,
        go_backwards=layer.go_backwards,
        zero_output_for_mask=layer.zero_output_for_mask,
        dtype=dtype,
        hidden_only=hidden_only,
        keras_major=keras_major,
    )
    top = result.cells[-1]
    finals = {
        f"{state} (cell {index + 1})": trace.final_states[state]
        for index, trace in enumerate(result.cells)
        for state in STATE_NAMES[trace.kind]
    }
    directions = {
        "forward": RecurrentTrace(
            kind=top.kind, outputs=top.outputs, final_states=finals, traces=top.traces
        ),
        **{f"cell {index + 1}": trace for index, trace in enumerate(result.cells[:-1])},
    }
    return LayerResult(
        name=layer.name, output=result.output, mask=result.mask, directions=directions
    )


def _run_conv_lstm(
    layer: ConvLSTMLayer,
    inputs: ArrayLike,
    mask: ArrayLike | None,
    initial_states: LayerStates | None,
    *,
    dtype: DTypeLike,
    hidden_only: bool,
    keras_major: int,
) -> LayerResult:
    """``ConvLSTM1D``/``2D``/``3D``: one ``forward`` direction with its gate traces."""
    initial = None
    if initial_states:
        initial = direction_states(initial_states, DIRECTIONS[:1], layer.name)["forward"]
    result = conv_lstm(
        inputs,
        layer.kernel,
        layer.recurrent_kernel,
        layer.bias,
        strides=layer.strides,
        padding=layer.padding,  # type: ignore[arg-type]
        dilation_rate=layer.dilation_rate,
        data_format=layer.data_format,  # type: ignore[arg-type]
        activation=layer.activation,
        recurrent_activation=layer.recurrent_activation,
        return_sequences=layer.return_sequences,
        return_state=layer.return_state,
        go_backwards=layer.go_backwards,
        zero_output_for_mask=layer.zero_output_for_mask,
        mask=mask,
        initial_state=initial,
        dtype=dtype,
        hidden_only=hidden_only,
        keras_major=keras_major,
    )
    return LayerResult(
        name=layer.name,
        output=result.output,
        mask=result.mask,
        directions={"forward": result.trace},
    )
