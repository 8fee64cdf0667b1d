"""What a non-recurrent layer returns: its output and the mask Keras passes on.

Keras 3 (``keras/src/layers/layer.py``, ``Layer.__call__``) decides per layer what
happens to an incoming mask:

* a layer that sets ``supports_masking`` (or overrides ``compute_mask``) passes on
  what its ``compute_mask(inputs, previous_mask)`` returns; the default
  ``compute_mask`` returns the incoming mask unchanged;
* any other layer drops the mask (Keras warns that it "will therefore destroy the
  mask information"), whatever shape its output has.

Each reference function in this package returns a :class:`LayerOutput`, so a
caller can unpack ``output, mask = conv1d(...)``. A mask is a bool array; True
means "use this element". This module holds the checks the layers share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from pytest_rnnparity.reference.types import Array, BoolArray


class LayerOutput(NamedTuple):
    """A layer's output and the mask it passes on (None where Keras passes none)."""

    output: Array
    mask: BoolArray | None


def leading_mask(mask: ArrayLike | None, x: Array, layer: str) -> BoolArray | None:
    """Return ``mask`` as bool, checked to cover the leading axes of ``x``.

    A Keras mask has one axis per leading axis of the tensor it belongs to:
    ``(B, T)`` for a ``(B, T, F)`` sequence, ``(B, T, U)`` for an ``Embedding``
    of ``(B, T, U)`` ids.

    Raises
    ------
    ValueError
        If the mask has as many axes as ``x`` or more, or its shape is not
        ``x.shape[:mask.ndim]``.
    """
    if mask is None:
        return None
    array = np.asarray(mask)
    if array.ndim >= x.ndim or array.shape != x.shape[: array.ndim]:
        raise ValueError(
            f"{layer}: a mask must have the shape of the leading axes of the inputs "
            f"{x.shape}, e.g. {x.shape[:-1]}; got {array.shape}"
        )
    return array.astype(bool, copy=False)


def steps_mask(mask: ArrayLike | None, x: Array, layer: str) -> BoolArray | None:
    """Return ``mask`` as a ``(B, T)`` bool array for ``(B, T, F)`` inputs ``x``.

    Raises
    ------
    ValueError
        If the mask does not have shape ``(batch, steps)``.
    """
    if mask is None:
        return None
    array = np.asarray(mask)
    if array.shape != x.shape[:2]:
        raise ValueError(
            f"{layer}: mask must have shape (batch, steps) = {x.shape[:2]}, got {array.shape}"
        )
    return array.astype(bool, copy=False)


def or_masks(masks: Sequence[BoolArray | None]) -> BoolArray | None:
    """``Merge.compute_mask``: the OR of all masks, or None if any input has none."""
    present = [m for m in masks if m is not None]
    if not masks or len(present) != len(masks):
        return None
    result = present[0]
    for m in present[1:]:
        result = np.logical_or(result, m)
    return result


def check_mask(mask: ArrayLike | None, batch: int, timesteps: int, layer: str) -> BoolArray | None:
    """Return ``mask`` as a ``(batch, timesteps)`` bool array (nonzero means "use this step").

    Raises
    ------
    ValueError
        If the mask does not have shape ``(batch, timesteps)``.
    """
    if mask is None:
        return None
    array = np.asarray(mask)
    if array.shape != (batch, timesteps):
        raise ValueError(
            f"layer {layer!r}: mask must have shape (batch, timesteps) = "
            f"({batch}, {timesteps}), got {array.shape}"
        )
    return array.astype(bool, copy=False)
