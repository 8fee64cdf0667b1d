"""NaN and inf in a parity check: where the first one appears, and where it comes from.

Keras and the reference agree on NaN when both compute it (NumPy's ``allclose`` with
``equal_nan``), so weights holding a NaN would pass every comparison: a model that
computes garbage would be green. A parity check therefore fails whenever Keras' or the
reference's output holds a value that is not finite; :func:`find_non_finite` says where
the first one is (in chain order, then timestep, row and unit, as the comparisons do)
and whether the weights or the inputs hold one. Pure NumPy, no keras.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_rnnparity.reference.types import (
    Array,
    DescribedLayer,
    LayerResult,
    OpaqueLayer,
    recurrent_directions,
)

if TYPE_CHECKING:
    from pytest_rnnparity.model.capture import KerasLayerOutputs


@dataclass(frozen=True)
class NonFiniteValue:
    """The first value that is not finite, on either side, and both sides' values there.

    ``axes`` name the axes of ``index`` (``("row", "timestep", "unit")`` for the hidden
    states at every step); ``quantity`` is that of the comparison it belongs to.
    """

    layer: str
    quantity: str
    direction: str | None
    axes: tuple[str, ...]
    index: tuple[int, ...]
    keras: float
    reference: float


@dataclass(frozen=True)
class NonFinite:
    """NaN or inf in a parity check: the first such value, and what holds one.

    ``weights`` lists ``(layer, non-finite values, values)`` for each layer whose
    weights hold NaN or inf; ``inputs`` is the ``(row, timestep, feature)`` index of the
    first non-finite input value, or None when the inputs are finite.
    """

    first: NonFiniteValue
    weights: tuple[tuple[str, int, int], ...] = ()
    inputs: tuple[int, ...] | None = None


def find_non_finite(
    layers: Sequence[DescribedLayer],
    inputs: Array,
    reference: Sequence[LayerResult],
    keras: Sequence[KerasLayerOutputs],
) -> NonFinite | None:
    """The first NaN or inf in Keras' or the reference's outputs, or None when all are finite.

    The arrays are those :func:`~pytest_rnnparity.check.parity.compare_layers` compares,
    in the same order; a pair whose shapes differ is left to that comparison.
    """
    for pair in _compared_pairs(layers, reference, keras):
        first = _first_non_finite(*pair)
        if first is not None:
            return NonFinite(
                first=first,
                weights=tuple(_weights_holding_non_finite(layers)),
                inputs=_first_index(~np.isfinite(np.asarray(inputs)), time_axis=None),
            )
    return None


_Pair = tuple[str, str, str | None, tuple[str, ...], Any, Any, int | None]


def _compared_pairs(
    layers: Sequence[DescribedLayer],
    reference: Sequence[LayerResult],
    keras: Sequence[KerasLayerOutputs],
) -> Iterator[_Pair]:
    """``(layer, quantity, direction, axes, reference, keras, time axis)`` in call order."""
    for layer, ref, got in zip(layers, reference, keras, strict=True):
        if isinstance(layer, OpaqueLayer):
            continue
        for direction, _ in recurrent_directions(layer):
            trace, probe = ref.directions[direction], got.directions[direction]
            steps: tuple[str, ...] = ("row", "timestep", "unit")
            yield layer.name, "hidden", direction, steps, trace.outputs, probe.sequence, 1
            for state, value in trace.final_states.items():
                final = probe.final_states[state]
                yield layer.name, f"final {state}", direction, ("row", "unit"), value, final, None
        outputs = ref.output if isinstance(ref.output, tuple) else (ref.output,)
        got_outputs = got.output if isinstance(got.output, tuple) else (got.output,)
        for index, (ref_out, got_out) in enumerate(zip(outputs, got_outputs, strict=True)):
            ndim = np.ndim(ref_out)
            axes = (("row", "timestep", "unit") if ndim == 3 else ("row", "unit"))[:ndim]
            side: str | None = None if len(outputs) == 1 else ("forward", "backward")[index]
            yield layer.name, "output", side, axes, ref_out, got_out, 1 if ndim == 3 else None


def _first_non_finite(
    layer: str,
    quantity: str,
    direction: str | None,
    axes: tuple[str, ...],
    expected: Any,
    actual: Any,
    time_axis: int | None,
) -> NonFiniteValue | None:
    expected, actual = np.asarray(expected), np.asarray(actual)
    if expected.shape != actual.shape:
        return None
    finite_expected, finite_actual = np.isfinite(expected), np.isfinite(actual)
    if finite_expected.all() and finite_actual.all():
        return None
    index = _first_index(~(finite_expected & finite_actual), time_axis=time_axis)
    assert index is not None
    return NonFiniteValue(
        layer=layer,
        quantity=quantity,
        direction=direction,
        axes=axes[: len(index)],
        index=index,
        keras=float(actual[index]),
        reference=float(expected[index]),
    )


def _first_index(bad: np.ndarray, *, time_axis: int | None) -> tuple[int, ...] | None:
    """The first True of ``bad``, searching ``time_axis`` first (as the comparisons do)."""
    if not bad.any():
        return None
    order = bad if time_axis is None else np.moveaxis(bad, time_axis, 0)
    index = np.unravel_index(int(np.argmax(order.reshape(-1))), order.shape)
    if time_axis is not None:
        index = (*index[1 : time_axis + 1], index[0], *index[time_axis + 1 :])
    return tuple(int(i) for i in index)


def _weights_holding_non_finite(
    layers: Sequence[DescribedLayer],
) -> Iterator[tuple[str, int, int]]:
    for layer in layers:
        arrays = list(_arrays(layer))
        total = sum(int(array.size) for array in arrays)
        bad = sum(int(np.count_nonzero(~np.isfinite(array))) for array in arrays)
        if bad:
            yield layer.name, bad, total


def _arrays(value: Any) -> Iterator[np.ndarray]:
    """Every floating-point array in a reference layer (its weights, however it holds them)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _arrays(getattr(value, item.name))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _arrays(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _arrays(item)
