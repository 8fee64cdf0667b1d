"""Keras' reshaping layers, in NumPy: ``Flatten``, ``Reshape``, ``Permute``,
``RepeatVector``, ``ZeroPadding1D``, ``Cropping1D``, ``UpSampling1D``.

Mirrors ``keras/src/layers/reshaping/``. None of these layers supports masking in
Keras 3: each accepts a mask (checked against its inputs), drops it and passes
none on, even where the steps axis survives unchanged (``Permute((1, 2))``,
``Cropping1D((0, 0))``) or could have been padded, cropped or repeated along with
the data.

Notation
--------
B : batch size (never reshaped, permuted or repeated)
T : steps;  F : features
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from pytest_rnnparity.reference.masks import LayerOutput, leading_mask
from pytest_rnnparity.reference.types import Array, resolve_dtype


def flatten(
    inputs: ArrayLike,
    *,
    data_format: str = "channels_last",
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``Flatten``: every axis but the batch axis, in C order, into one.

    With ``data_format="channels_first"`` and inputs of rank 3 or more, Keras first
    moves axis 1 (the channels) to the end, so ``(B, C, T)`` flattens in the order
    of ``(B, T, C)``. A ``(B,)`` input becomes ``(B, 1)``.

    Parameters
    ----------
    inputs : array, shape (B, ...)
    data_format : "channels_last" or "channels_first"
    mask : array, optional
        Checked and dropped.
    dtype : "float32" or "float64"

    Returns
    -------
    LayerOutput
        ``output`` of shape ``(B, prod(inputs.shape[1:]))``; ``mask`` None.
    """
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"Flatten: data_format must be 'channels_last' or 'channels_first', got {data_format!r}"
        )
    x = _at_least(inputs, 1, dtype, "Flatten", "(batch, ...)")
    leading_mask(mask, x, "Flatten")
    if data_format == "channels_first" and x.ndim > 2:
        x = np.moveaxis(x, 1, -1)
    return LayerOutput(x.reshape(x.shape[0], math.prod(x.shape[1:])), None)


def reshape(
    inputs: ArrayLike,
    target_shape: Sequence[int],
    *,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``Reshape``: each sample, in C order, to ``target_shape``.

    ``target_shape`` leaves out the batch axis; one of its entries may be ``-1``,
    the size that makes the total unchanged.

    Parameters
    ----------
    inputs : array, shape (B, ...)
    target_shape : sequence of int
    mask : array, optional
        Checked and dropped.
    dtype : "float32" or "float64"

    Returns
    -------
    LayerOutput
        ``output`` of shape ``(B, *target_shape)`` (``-1`` resolved); ``mask`` None.

    Raises
    ------
    ValueError
        If an entry is below -1, there is more than one -1, or the sample size does
        not fit the target shape.
    """
    x = _at_least(inputs, 1, dtype, "Reshape", "(batch, ...)")
    leading_mask(mask, x, "Reshape")
    target = tuple(int(d) for d in target_shape)
    if any(d < -1 for d in target) or target.count(-1) > 1:
        raise ValueError(
            "Reshape: each entry of target_shape must be a non-negative integer, or -1 "
            f"for one unknown size; got target_shape={target}"
        )
    size = math.prod(x.shape[1:])
    known = math.prod(d for d in target if d != -1)
    if -1 in target:
        if known == 0 or size % known:
            raise ValueError(
                f"Reshape: samples of shape {x.shape[1:]} ({size} values) cannot be "
                f"reshaped to target_shape={target}"
            )
        target = tuple(size // known if d == -1 else d for d in target)
    elif known != size:
        raise ValueError(
            f"Reshape: the total size must be unchanged; samples of shape {x.shape[1:]} "
            f"({size} values) do not fit target_shape={target} ({known} values)"
        )
    return LayerOutput(x.reshape(x.shape[0], *target), None)


def permute(
    inputs: ArrayLike,
    dims: Sequence[int],
    *,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``Permute``: reorder the non-batch axes; output axis ``i`` is input axis ``dims[i-1]``.

    Parameters
    ----------
    inputs : array, shape (B, d_1, ..., d_n)
    dims : sequence of int
        A permutation of ``1..n`` (the batch axis 0 is never moved).
    mask : array, optional
        Checked and dropped.
    dtype : "float32" or "float64"

    Returns
    -------
    LayerOutput
        ``output`` of shape ``(B, d_dims[0], ..., d_dims[n-1])``; ``mask`` None.

    Raises
    ------
    ValueError
        If ``dims`` is not a permutation of ``1..n`` for ``n = inputs.ndim - 1``.
    """
    order = tuple(int(d) for d in dims)
    if sorted(order) != list(range(1, len(order) + 1)):
        raise ValueError(
            f"Permute: dims must be a permutation of 1..{len(order)}, got dims={order}"
        )
    x = np.asarray(inputs, dtype=resolve_dtype(dtype))
    if x.ndim != len(order) + 1:
        raise ValueError(
            f"Permute: dims={order} needs inputs of rank {len(order) + 1}, got shape {x.shape}"
        )
    leading_mask(mask, x, "Permute")
    return LayerOutput(np.transpose(x, (0, *order)), None)


def repeat_vector(
    inputs: ArrayLike,
    n: int,
    *,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``RepeatVector``: ``(B, F)`` to ``(B, n, F)``, every step the same vector.

    Parameters
    ----------
    inputs : array, shape (B, F)
    n : int
        The number of steps, at least 1.
    mask : array, shape (B,), optional
        Checked and dropped.
    dtype : "float32" or "float64"

    Returns
    -------
    LayerOutput
        ``output`` of shape ``(B, n, F)``; ``mask`` None.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"RepeatVector: n must be a positive integer, got {n!r}")
    x = _rank(inputs, 2, dtype, "RepeatVector", "(batch, features)")
    leading_mask(mask, x, "RepeatVector")
    return LayerOutput(np.repeat(x[:, np.newaxis, :], int(n), axis=1), None)


def zero_padding1d(
    inputs: ArrayLike,
    padding: int | tuple[int, int] = 1,
    *,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``ZeroPadding1D``: zero steps before and after each sequence.

    Parameters
    ----------
    inputs : array, shape (B, T, F)
    padding : int or (int, int)
        Steps of zeros before and after (one int: the same on both sides).
    mask : array, shape (B, T), optional
        Checked and dropped (Keras does not pad it).
    dtype : "float32" or "float64"

    Returns
    -------
    LayerOutput
        ``output`` of shape ``(B, before + T + after, F)``; ``mask`` None.
    """
    before, after = _pair(padding, "ZeroPadding1D", "padding")
    x = _rank(inputs, 3, dtype, "ZeroPadding1D", "(batch, steps, features)")
    leading_mask(mask, x, "ZeroPadding1D")
    return LayerOutput(np.pad(x, ((0, 0), (before, after), (0, 0))), None)


def cropping1d(
    inputs: ArrayLike,
    cropping: int | tuple[int, int] = (1, 1),
    *,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``Cropping1D``: drop steps at the start and the end of each sequence.

    Parameters
    ----------
    inputs : array, shape (B, T, F)
    cropping : int or (int, int)
        Steps dropped at the start and at the end (one int: the same at both).
    mask : array, shape (B, T), optional
        Checked and dropped (Keras does not crop it).
    dtype : "float32" or "float64"

    Returns
    -------
    LayerOutput
        ``output`` of shape ``(B, T - start - end, F)``; ``mask`` None.

    Raises
    ------
    ValueError
        If the cropping leaves no step (``start + end >= T``).
    """
    start, end = _pair(cropping, "Cropping1D", "cropping")
    x = _rank(inputs, 3, dtype, "Cropping1D", "(batch, steps, features)")
    leading_mask(mask, x, "Cropping1D")
    if start + end >= x.shape[1]:
        raise ValueError(
            f"Cropping1D: cropping={(start, end)} must leave at least one of the {x.shape[1]} steps"
        )
    return LayerOutput(x[:, start : x.shape[1] - end], None)


def up_sampling1d(
    inputs: ArrayLike,
    size: int = 2,
    *,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``UpSampling1D``: every step repeated ``size`` times in place (``aabbcc``).

    Parameters
    ----------
    inputs : array, shape (B, T, F)
    size : int
        At least 1.
    mask : array, shape (B, T), optional
        Checked and dropped (Keras does not repeat it).
    dtype : "float32" or "float64"

    Returns
    -------
    LayerOutput
        ``output`` of shape ``(B, size * T, F)``; ``mask`` None.
    """
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"UpSampling1D: size must be a positive integer, got {size!r}")
    x = _rank(inputs, 3, dtype, "UpSampling1D", "(batch, steps, features)")
    leading_mask(mask, x, "UpSampling1D")
    return LayerOutput(np.repeat(x, int(size), axis=1), None)


def _rank(inputs: ArrayLike, rank: int, dtype: DTypeLike, layer: str, shape: str) -> Array:
    x = np.asarray(inputs, dtype=resolve_dtype(dtype))
    if x.ndim != rank:
        raise ValueError(f"{layer}: expected inputs of shape {shape}, got {x.shape}")
    return x


def _at_least(inputs: ArrayLike, rank: int, dtype: DTypeLike, layer: str, shape: str) -> Array:
    x = np.asarray(inputs, dtype=resolve_dtype(dtype))
    if x.ndim < rank:
        raise ValueError(f"{layer}: expected inputs of shape {shape}, got {x.shape}")
    return x


def _pair(value: int | tuple[int, int], layer: str, name: str) -> tuple[int, int]:
    """Keras' ``int or (int, int)`` of non-negative step counts."""
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2 or any(
        isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0 for v in pair
    ):
        raise ValueError(
            f"{layer}: {name} must be a non-negative integer or a pair of them, got {value!r}"
        )
    return int(pair[0]), int(pair[1])
