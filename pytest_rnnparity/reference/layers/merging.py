"""Keras' merge layers, in NumPy: ``Add``, ``Subtract``, ``Multiply``, ``Average``,
``Maximum``, ``Minimum``, ``Concatenate`` and ``Dot``.

Mirrors ``keras/src/layers/merging/`` (``base_merge.py`` and one module per layer).

Notation
--------
x_1, ..., x_n : the inputs, each ``(B, ...)`` with the same batch size ``B``
m_i : the mask of ``x_i``, ``(B, T)`` for ``(B, T, F)`` inputs, or None

Masks, as Keras 3 handles them. Every merge layer supports masking. The mask
passed on (``Merge.compute_mask``) is the OR of all masks, or None as soon as one
input has none. ``Concatenate`` has its own rule and ``Dot`` passes none. The
values of ``Add``, ``Subtract``, ``Average``, ``Concatenate`` and ``Dot`` do not
depend on the masks; those of ``Multiply``, ``Maximum`` and ``Minimum`` do (see
each function): Keras reads the mask attached to each input tensor in the merge
itself.

Inputs of different ranks are broadcast as Keras does: each lower-rank input gets
size-1 axes inserted after the batch axis until all ranks agree (so the shapes
line up from the right). Keras' inserted ``expand_dims`` makes a new tensor
without a mask, so in ``Multiply``, ``Maximum`` and ``Minimum`` such an input
counts as unmasked even when it has a mask; the passed-on mask still ORs them all.

Keras 2 (``keras_major=2``; ``tf_keras/src/layers/merging/``) differs in both. No
merge reads the masks for its values. The passed-on mask of the elementwise merges
is the AND of the masks there are (an input without one is skipped), None only when
no input has one; ``Concatenate`` reduces with ``all`` instead of ``any``, each mask
given one size-1 last axis rather than broadcast to its input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from pytest_rnnparity.reference.masks import LayerOutput, or_masks
from pytest_rnnparity.reference.types import Array, BoolArray, resolve_dtype

#: A merge mask argument: one mask (or None) per input, or None for no masks at all.
Masks = Sequence[ArrayLike | None] | None


def add(
    inputs: Sequence[ArrayLike],
    *,
    masks: Masks = None,
    dtype: DTypeLike = "float32",
    keras_major: int = 3,
) -> LayerOutput:
    """Run ``Add``: ``x_1 + x_2 + ... + x_n``, summed left to right; masks only ORed.

    Parameters
    ----------
    inputs : sequence of arrays, each (B, ...)
        At least one; shapes broadcast (see the module docstring).
    masks : sequence of (array or None), optional
        One per input, ``x_i.shape[:-1]`` each.
    dtype : "float32" or "float64"
    keras_major : int
        2 or 3: the passed-on mask (and, in Keras 3, some values) differs.

    Returns
    -------
    LayerOutput
        ``output`` of the broadcast shape; ``mask`` the OR of all masks, or None
        (Keras 2: the AND of those there are).

    Raises
    ------
    ValueError
        If there is no input, batch sizes differ, shapes do not broadcast, or a
        mask does not fit its input.
    """
    xs, given = _elementwise(inputs, masks, dtype, "Add")
    output = xs[0]
    for x in xs[1:]:
        output = output + x
    return LayerOutput(output, _passed_on(given, keras_major))


def subtract(
    inputs: Sequence[ArrayLike],
    *,
    masks: Masks = None,
    dtype: DTypeLike = "float32",
    keras_major: int = 3,
) -> LayerOutput:
    """Run ``Subtract``: ``x_1 - x_2``, of exactly two inputs; masks only ORed.

    Parameters, Returns and Raises as :func:`add`; also raises ValueError unless
    there are exactly two inputs.
    """
    xs, given = _elementwise(inputs, masks, dtype, "Subtract", count=2)
    return LayerOutput(xs[0] - xs[1], _passed_on(given, keras_major))


def average(
    inputs: Sequence[ArrayLike],
    *,
    masks: Masks = None,
    dtype: DTypeLike = "float32",
    keras_major: int = 3,
) -> LayerOutput:
    """Run ``Average``: ``(x_1 + ... + x_n) / n``, masked steps included; masks only ORed.

    Parameters, Returns and Raises as :func:`add`.
    """
    xs, given = _elementwise(inputs, masks, dtype, "Average")
    output = xs[0]
    for x in xs[1:]:
        output = output + x
    return LayerOutput(output / output.dtype.type(len(xs)), _passed_on(given, keras_major))


def multiply(
    inputs: Sequence[ArrayLike],
    *,
    masks: Masks = None,
    dtype: DTypeLike = "float32",
    keras_major: int = 3,
) -> LayerOutput:
    """Run ``Multiply``: ``x_1 * ... * x_n``, where a masked element counts as 1.

    Equations (``m_i`` broadcast over the last axis of ``x_i``)::

        y = prod_i where(m_i, x_i, 1)           # an input without a mask: x_i itself
        y = where(m_1 | ... | m_n, y, 0)        # only when every input has a mask

    So where every input is masked the output is 0; where only some are, the
    product of the others. Keras (``keras/src/layers/merging/multiply.py``) does
    the replacement for each masked input even when another input has no mask,
    and then leaves the product unzeroed. Keras 2 multiplies the values as they are.

    Parameters, Returns and Raises as :func:`add`.
    """
    xs, given = _elementwise(inputs, masks, dtype, "Multiply")
    if keras_major == 2:
        output = xs[0]
        for x in xs[1:]:
            output = output * x
        return LayerOutput(output, _passed_on(given, keras_major))
    value_masks = [_full(m, x) for x, m in zip(xs, _value_masks(xs, given), strict=True)]
    factors = [
        x if m is None else np.where(m, x, x.dtype.type(1))
        for x, m in zip(xs, value_masks, strict=True)
    ]
    output = factors[0]
    for factor in factors[1:]:
        output = output * factor
    present = [m for m in value_masks if m is not None]
    if len(present) == len(value_masks):
        union = present[0]
        for m in present[1:]:
            union = np.logical_or(union, m)
        output = np.where(union, output, output.dtype.type(0))
    return LayerOutput(output, or_masks(given))


def maximum(
    inputs: Sequence[ArrayLike],
    *,
    masks: Masks = None,
    dtype: DTypeLike = "float32",
    keras_major: int = 3,
) -> LayerOutput:
    """Run ``Maximum``: the elementwise maximum, where masked elements do not compete.

    Keras (``Merge._apply_merge_op_and_or_mask`` in ``base_merge.py``) folds the
    inputs left to right, ``y_1 = x_1`` and, for each next input,
    (``M`` the OR of the masks so far, None once an input had no mask)::

        x_i = where(m_i, x_i, y)           # if x_i has a mask
        y   = where(M, y, x_i)             # if M is not None
        y   = max(y, x_i)

    An element masked in one input takes the other's value; an element masked in
    every input is ``x_1``'s (not zero); once an unmasked input has been merged,
    later masked elements still defer to the running result. Keras 2 takes the
    maximum of the values as they are.

    Parameters, Returns and Raises as :func:`add`.
    """
    return _fold_with_masks(np.maximum, inputs, masks, dtype, "Maximum", keras_major)


def minimum(
    inputs: Sequence[ArrayLike],
    *,
    masks: Masks = None,
    dtype: DTypeLike = "float32",
    keras_major: int = 3,
) -> LayerOutput:
    """Run ``Minimum``: as :func:`maximum`, with the elementwise minimum."""
    return _fold_with_masks(np.minimum, inputs, masks, dtype, "Minimum", keras_major)


def concatenate(
    inputs: Sequence[ArrayLike],
    *,
    axis: int = -1,
    masks: Masks = None,
    dtype: DTypeLike = "float32",
    keras_major: int = 3,
) -> LayerOutput:
    """Run ``Concatenate``: the inputs side by side along ``axis``.

    The mask (``Concatenate.compute_mask``): each mask is broadcast to its input's
    full shape, an input without a mask counting as all True; these are
    concatenated along ``axis`` and reduced with ``any`` over the last axis::

        mask = any(concat([broadcast(m_1), ..., broadcast(m_n)], axis), axis=-1)

    So along the steps axis (``axis=1`` for ``(B, T, F)`` inputs) the masks are
    concatenated; along the features axis (``axis=-1``) they are ORed, and one
    unmasked input makes the mask all True, rather than None as in the other merge
    layers. Without any mask, None.

    Keras 2 gives each mask one size-1 last axis (not broadcast) and reduces with
    ``all``: along the features axis the masks are ANDed, an unmasked input not
    counting; along the steps axis, the inputs' last axes must then agree in size.

    Parameters
    ----------
    inputs : sequence of arrays, each (B, ...)
        At least one, all of one rank, equal in shape except along ``axis``.
    axis : int
    masks : sequence of (array or None), optional
        One per input, ``x_i.shape[:-1]`` each.
    dtype : "float32" or "float64"
    keras_major : int
        2 or 3: how the masks are combined.

    Returns
    -------
    LayerOutput
        ``output``; ``mask`` of shape ``output.shape[:-1]``, or None.

    Raises
    ------
    ValueError
        If there is no input, ranks differ, shapes differ off ``axis``, ``axis`` is
        out of range, or a mask does not fit its input (in Keras 2, or the masks do
        not concatenate).
    """
    xs = _cast_all(inputs, dtype, "Concatenate")
    given = _input_masks(masks, xs, "Concatenate")
    rank = xs[0].ndim
    if any(x.ndim != rank for x in xs) or not -rank <= axis < rank:
        raise ValueError(
            f"Concatenate: inputs must have one rank, and axis={axis} must be one of its "
            f"axes; got shapes {[x.shape for x in xs]}"
        )
    along = axis % rank
    others = {x.shape[:along] + x.shape[along + 1 :] for x in xs}
    if len(others) != 1:
        raise ValueError(
            "Concatenate: inputs must have matching shapes except along the concatenation "
            f"axis {axis}; got shapes {[x.shape for x in xs]}"
        )
    output = np.concatenate(xs, axis=along)
    if all(m is None for m in given):
        return LayerOutput(output, None)
    if keras_major == 2:
        expanded = [
            np.ones(x.shape, dtype=bool) if m is None else m[..., np.newaxis]
            for x, m in zip(xs, given, strict=True)
        ]
        try:
            joined = np.concatenate(expanded, axis=along)
        except ValueError:
            raise ValueError(
                f"Concatenate: Keras 2 cannot concatenate the masks along axis {axis}: "
                f"shapes {[m.shape for m in expanded]}"
            ) from None
        return LayerOutput(output, np.all(joined, axis=-1))
    full = [
        np.ones(x.shape, dtype=bool) if m is None else np.broadcast_to(m[..., np.newaxis], x.shape)
        for x, m in zip(xs, given, strict=True)
    ]
    return LayerOutput(output, np.any(np.concatenate(full, axis=along), axis=-1))


def dot(
    inputs: Sequence[ArrayLike],
    *,
    axes: int | tuple[int, int],
    normalize: bool = False,
    epsilon: float = 1e-7,
    masks: Masks = None,
    dtype: DTypeLike = "float32",
) -> LayerOutput:
    """Run ``Dot``: per sample, the dot product of two inputs over one axis each.

    Equations (``a_1``, ``a_2`` the resolved ``axes``; ``i``, ``j`` the other
    non-batch axes of ``x_1`` and of ``x_2``, in order)::

        x_k = x_k * min(1 / sqrt(sum_{a_k} x_k**2), 1 / epsilon)   # normalize only
        y[b, i..., j...] = sum_c x_1[b, ..., c (on a_1), ...] x_2[b, ..., c (on a_2), ...]

    A negative axis counts from the end of its own input. Two ``(B, F)`` inputs
    give ``(B, 1)``. With ``normalize`` this is the cosine similarity; a zero
    vector stays zero (``epsilon`` is ``keras.config.epsilon()``, 1e-7 by default).
    ``Dot`` supports masking but passes no mask on, and masks do not change its
    values.

    Parameters
    ----------
    inputs : pair of arrays, each (B, ...) of rank >= 2
    axes : int or (int, int)
        Not the batch axis 0.
    normalize : bool
        L2-normalize both inputs along their axis first.
    epsilon : float
    masks : sequence of (array or None), optional
        Checked and not used.
    dtype : "float32" or "float64"

    Returns
    -------
    LayerOutput
        ``output`` of shape ``(B, *x_1 axes but a_1, *x_2 axes but 0 and a_2)``, or
        ``(B, 1)``; ``mask`` None.

    Raises
    ------
    ValueError
        If there are not two inputs of rank >= 2 with one batch size, ``axes`` is
        malformed or names the batch axis, or the two axes differ in size.
    """
    xs = _cast_all(inputs, dtype, "Dot")
    _input_masks(masks, xs, "Dot")
    if len(xs) != 2 or xs[0].ndim < 2 or xs[1].ndim < 2 or xs[0].shape[0] != xs[1].shape[0]:
        raise ValueError(
            "Dot: expected two inputs of rank >= 2 with the same batch size, got shapes "
            f"{[x.shape for x in xs]}"
        )
    x1, x2 = xs
    pair = (axes, axes) if isinstance(axes, int | np.integer) else tuple(axes)
    if len(pair) != 2 or not all(isinstance(a, int | np.integer) for a in pair):
        raise ValueError(f"Dot: axes must be an integer or a pair of integers, got {axes!r}")
    a1, a2 = (int(a) % x.ndim if a < 0 else int(a) for a, x in zip(pair, xs, strict=True))
    if a1 == 0 or a2 == 0 or a1 >= x1.ndim or a2 >= x2.ndim:
        raise ValueError(
            f"Dot: axes={axes!r} must name a non-batch axis of each input, "
            f"shapes {x1.shape} and {x2.shape}"
        )
    if x1.shape[a1] != x2.shape[a2]:
        raise ValueError(
            f"Dot: the axes must have one size; x_1.shape[{a1}] = {x1.shape[a1]}, "
            f"x_2.shape[{a2}] = {x2.shape[a2]}"
        )
    if normalize:
        x1, x2 = _l2_normalize(x1, a1, epsilon), _l2_normalize(x2, a2, epsilon)
    left = np.moveaxis(x1, a1, -1)  # (B, i..., c)
    right = np.moveaxis(x2, a2, 1)  # (B, c, j...)
    batch, size = x1.shape[0], x1.shape[a1]
    product = np.matmul(left.reshape(batch, -1, size), right.reshape(batch, size, -1))
    shape = (batch, *left.shape[1:-1], *right.shape[2:])
    return LayerOutput(product.reshape(shape if len(shape) > 1 else (batch, 1)), None)


def _l2_normalize(x: Array, axis: int, epsilon: float) -> Array:
    """``keras.ops.normalize(x, axis, order=2)``: ``x * min(rsqrt(sum(x**2)), 1 / eps)``."""
    square_sum = np.sum(np.square(x), axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        inv_norm = np.reciprocal(np.sqrt(square_sum))
    normalized: Array = x * np.minimum(inv_norm, x.dtype.type(1.0 / epsilon))
    return normalized


def _fold_with_masks(
    op: Callable[[Array, Array], Array],
    inputs: Sequence[ArrayLike],
    masks: Masks,
    dtype: DTypeLike,
    layer: str,
    keras_major: int,
) -> LayerOutput:
    xs, given = _elementwise(inputs, masks, dtype, layer)
    if keras_major == 2:
        folded = xs[0]
        for x in xs[1:]:
            folded = op(folded, x)
        return LayerOutput(folded, _passed_on(given, keras_major))
    value_masks = [_full(m, x) for x, m in zip(xs, _value_masks(xs, given), strict=True)]
    output, union = xs[0], value_masks[0]
    for x, m in zip(xs[1:], value_masks[1:], strict=True):
        if m is not None:
            x = np.where(m, x, output)
        if union is not None:
            output = np.where(union, output, x)
        union = None if m is None or union is None else np.logical_or(union, m)
        output = op(output, x)
    return LayerOutput(output, _passed_on(given, keras_major))


def _passed_on(given: list[BoolArray | None], keras_major: int) -> BoolArray | None:
    """``Merge.compute_mask``: Keras 3 ORs all masks; Keras 2 ANDs those there are."""
    if keras_major == 3:
        return or_masks(given)
    present = [m for m in given if m is not None]
    if not present:
        return None
    result = present[0]
    for m in present[1:]:
        result = np.logical_and(result, m)
    return result


def _full(mask: BoolArray | None, x: Array) -> BoolArray | None:
    """A ``x.shape[:-1]`` mask broadcast over the last axis to ``x.shape``."""
    return None if mask is None else np.broadcast_to(mask[..., np.newaxis], x.shape)


def _value_masks(xs: list[Array], given: list[BoolArray | None]) -> list[BoolArray | None]:
    """The masks Keras sees inside the merge: none on an input it had to expand."""
    rank = max(x.ndim for x in xs)
    return [m if x.ndim == rank else None for x, m in zip(xs, given, strict=True)]


def _elementwise(
    inputs: Sequence[ArrayLike], masks: Masks, dtype: DTypeLike, layer: str, count: int = 0
) -> tuple[list[Array], list[BoolArray | None]]:
    """Checked inputs of an elementwise merge, lower ranks expanded after the batch axis."""
    xs = _cast_all(inputs, dtype, layer)
    if count and len(xs) != count:
        raise ValueError(f"{layer}: expected exactly {count} inputs, got {len(xs)}")
    given = _input_masks(masks, xs, layer)
    if any(x.ndim == 0 for x in xs) or len({x.shape[0] for x in xs}) != 1:
        raise ValueError(
            f"{layer}: inputs must have a batch axis, of one size; got shapes "
            f"{[x.shape for x in xs]}"
        )
    rank = max(x.ndim for x in xs)
    expanded = [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]
    try:
        np.broadcast_shapes(*(x.shape for x in expanded))
    except ValueError:
        raise ValueError(
            f"{layer}: inputs have incompatible shapes {[x.shape for x in xs]}"
        ) from None
    return expanded, given


def _cast_all(inputs: Sequence[ArrayLike], dtype: DTypeLike, layer: str) -> list[Array]:
    if isinstance(inputs, np.ndarray) or not isinstance(inputs, Sequence) or not inputs:
        raise ValueError(f"{layer}: expected a list of at least one input array")
    compute_dtype = resolve_dtype(dtype)
    return [np.asarray(x, dtype=compute_dtype) for x in inputs]


def _input_masks(masks: Masks, xs: list[Array], layer: str) -> list[BoolArray | None]:
    """One mask (or None) per input, each ``x.shape[:-1]``, as bool."""
    if masks is None:
        return [None] * len(xs)
    if len(masks) != len(xs):
        raise ValueError(
            f"{layer}: expected one mask (or None) per input, {len(xs)} in all; got {len(masks)}"
        )
    checked: list[BoolArray | None] = []
    for i, (m, x) in enumerate(zip(masks, xs, strict=True)):
        if m is None:
            checked.append(None)
            continue
        array = np.asarray(m)
        if x.ndim < 2 or array.shape != x.shape[:-1]:
            raise ValueError(
                f"{layer}: the mask of input {i} must have the shape of its inputs less the "
                f"last axis, {x.shape[:-1]}; got {array.shape}"
            )
        checked.append(array.astype(bool, copy=False))
    return checked
