"""Run a chain of layers (a Sequential-like model) through the reference, passing masks on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from pytest_rnnparity.errors import UnsupportedModelError
from pytest_rnnparity.reference.layers.core import run_dense, run_identity, run_masking
from pytest_rnnparity.reference.masks import check_mask
from pytest_rnnparity.reference.recurrent.layers import (
    direction_states,
    passed_on,
    run_bidirectional,
    run_recurrent,
)
from pytest_rnnparity.reference.types import (
    DIRECTIONS,
    Array,
    BidirectionalLayer,
    DenseLayer,
    LayerResult,
    LayerStates,
    MaskingLayer,
    RecurrentLayer,
    ReferenceLayer,
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
    if initial_states:
        raise ValueError(f"layer {layer.name!r} is not recurrent and takes no initial states")
    if isinstance(layer, DenseLayer):
        return run_dense(layer, inputs, mask=mask, dtype=dtype, keras_major=keras_major)
    if isinstance(layer, MaskingLayer):
        return run_masking(layer, inputs, dtype=dtype)
    return run_identity(layer, inputs, mask=mask, dtype=dtype)
