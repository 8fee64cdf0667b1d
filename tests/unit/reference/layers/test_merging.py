"""Merge layers against hand-computed cases and against Keras, with every mask combination."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.reference.layers import merging
from pytest_rnnparity.reference.layers.registry import run_functional
from pytest_rnnparity.reference.masks import LayerOutput
from pytest_rnnparity.reference.types import FunctionalLayer

from ...helpers import keras_major

DTYPES = ["float32", "float64"]
M1 = np.array([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 0, 1, 0, 1], [0, 0, 0, 0, 0]], dtype=bool)
M2 = np.array([[1, 1, 0, 0, 0], [1, 0, 0, 1, 1], [0, 0, 1, 1, 0], [0, 0, 0, 0, 0]], dtype=bool)
M3 = np.array([[0, 1, 0, 1, 0], [1, 1, 0, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 0]], dtype=bool)

ELEMENTWISE: dict[str, Callable[..., LayerOutput]] = {
    "Add": merging.add,
    "Subtract": merging.subtract,
    "Multiply": merging.multiply,
    "Average": merging.average,
    "Maximum": merging.maximum,
    "Minimum": merging.minimum,
}

#: Masks of the inputs: none, all, some (first, last, middle missing).
MASK_CASES = {
    "none": [None, None, None],
    "all": [M1, M2, M3],
    "first_only": [M1, None, None],
    "last_only": [None, None, M3],
    "middle_missing": [M1, None, M3],
}


# -- hand-computed ------------------------------------------------------------------------


def test_maximum_lets_masked_elements_defer() -> None:
    a = np.array([[[1.0], [5.0], [2.0], [7.0]]])
    b = np.array([[[3.0], [4.0], [9.0], [6.0]]])
    mask_a = np.array([[1, 1, 0, 0]], dtype=bool)
    mask_b = np.array([[1, 0, 1, 0]], dtype=bool)
    y, mask = merging.maximum([a, b], masks=[mask_a, mask_b], dtype="float64")
    # both used: max; one masked: the other's value; both masked: a's (not 0).
    np.testing.assert_array_equal(y[0, :, 0], [3.0, 5.0, 9.0, 7.0])
    np.testing.assert_array_equal(mask, [[True, True, True, False]])
    y, _ = merging.minimum([a, b], masks=[mask_a, mask_b], dtype="float64")
    np.testing.assert_array_equal(y[0, :, 0], [1.0, 5.0, 9.0, 7.0])


def test_multiply_counts_masked_elements_as_one() -> None:
    a = np.array([[[2.0], [5.0], [3.0], [7.0]]])
    b = np.array([[[3.0], [4.0], [9.0], [6.0]]])
    mask_a = np.array([[1, 1, 0, 0]], dtype=bool)
    mask_b = np.array([[1, 0, 1, 0]], dtype=bool)
    y, mask = merging.multiply([a, b], masks=[mask_a, mask_b], dtype="float64")
    np.testing.assert_array_equal(y[0, :, 0], [6.0, 5.0, 9.0, 0.0])  # both masked: 0
    np.testing.assert_array_equal(mask, [[True, True, True, False]])
    y, mask = merging.multiply([a, b], masks=[mask_a, None], dtype="float64")
    np.testing.assert_array_equal(y[0, :, 0], [6.0, 20.0, 9.0, 6.0])  # not zeroed
    assert mask is None


def test_concatenate_masks_by_hand() -> None:
    a, b = np.zeros((1, 2, 3)), np.zeros((1, 3, 3))
    _, mask = merging.concatenate([a, b], axis=1, masks=[[[True, False]], None])
    np.testing.assert_array_equal(mask, [[True, False, True, True, True]])
    _, mask = merging.concatenate([a, a], axis=-1, masks=[[[True, False]], None])
    np.testing.assert_array_equal(mask, [[True, True]])  # one unmasked input: all True
    _, mask = merging.concatenate([a, a], axis=-1, masks=[[[True, False]], [[False, False]]])
    np.testing.assert_array_equal(mask, [[True, False]])


def test_keras_2_merges_ignore_masks_in_values_and_and_them() -> None:
    a = np.array([[[2.0], [5.0], [3.0], [7.0]]])
    b = np.array([[[3.0], [4.0], [9.0], [6.0]]])
    mask_a = np.array([[1, 1, 0, 0]], dtype=bool)
    mask_b = np.array([[1, 0, 1, 0]], dtype=bool)
    y, mask = merging.multiply([a, b], masks=[mask_a, mask_b], dtype="float64", keras_major=2)
    np.testing.assert_array_equal(y[0, :, 0], [6.0, 20.0, 27.0, 42.0])  # masks not read
    np.testing.assert_array_equal(mask, [[True, False, False, False]])  # AND
    y, mask = merging.maximum([a, b], masks=[mask_a, None], dtype="float64", keras_major=2)
    np.testing.assert_array_equal(y[0, :, 0], [3.0, 5.0, 9.0, 7.0])
    np.testing.assert_array_equal(mask, mask_a)  # an input without a mask does not count
    _, mask = merging.add([a, b], masks=[None, None], keras_major=2)
    assert mask is None


def test_keras_2_concatenate_masks_by_hand() -> None:
    a, b = np.zeros((1, 2, 3)), np.zeros((1, 3, 3))
    _, mask = merging.concatenate([a, a], axis=-1, masks=[[[True, False]], None], keras_major=2)
    np.testing.assert_array_equal(mask, [[True, False]])  # an unmasked input does not count
    _, mask = merging.concatenate(
        [a, a], axis=-1, masks=[[[True, True]], [[False, True]]], keras_major=2
    )
    np.testing.assert_array_equal(mask, [[False, True]])
    _, mask = merging.concatenate(
        [a, b], axis=1, masks=[[[True, False]], [[False, True, True]]], keras_major=2
    )
    np.testing.assert_array_equal(mask, [[True, False, False, True, True]])
    with pytest.raises(ValueError, match="Keras 2 cannot concatenate the masks along axis 1"):
        merging.concatenate([a, b], axis=1, masks=[[[True, False]], None], keras_major=2)


@pytest.mark.parametrize(("generation", "expected"), [(2, [[True, False]]), (3, [[True, True]])])
def test_a_graph_merges_masks_by_the_generation_it_runs(
    generation: int, expected: list[list[bool]]
) -> None:
    x = np.zeros((1, 2, 3))
    masks = [np.array([[True, True]]), np.array([[True, False]])]
    for name, options in [("Add", {}), ("Concatenate", {"axis": -1})]:
        layer = FunctionalLayer("merge", name, options)
        _, [mask] = run_functional(layer, [x, x], masks, keras_major=generation)
        np.testing.assert_array_equal(mask, expected)


def test_dot_by_hand() -> None:
    x = np.array([[3.0, 4.0]])
    y, mask = merging.dot([x, x], axes=1, dtype="float64")
    np.testing.assert_array_equal(y, [[25.0]])
    assert mask is None
    y, _ = merging.dot([x, np.zeros((1, 2))], axes=1, normalize=True, dtype="float64")
    np.testing.assert_array_equal(y, [[0.0]])  # a zero vector stays zero: no NaN


# -- against Keras ------------------------------------------------------------------------


@pytest.mark.keras
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("masks", MASK_CASES.values(), ids=MASK_CASES.keys())
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_merges_match_keras(
    keras: Any,
    keras_run: Any,
    rng: np.random.Generator,
    close: Any,
    name: str,
    masks: list[np.ndarray | None],
    dtype: str,
) -> None:
    count = 2 if name == "Subtract" else 3
    xs = [rng.normal(size=(4, 5, 3)).astype(dtype) for _ in range(count)]
    masks = masks[:1] + masks[-1:] if count == 2 else masks
    layer = getattr(keras.layers, name)(dtype=dtype)
    expected, keras_mask = keras_run(layer, xs, masks, dtype)
    y, mask = ELEMENTWISE[name](xs, masks=masks, dtype=dtype, keras_major=keras_major(keras))
    close(y, expected, dtype)
    if keras_mask is None:
        assert mask is None
    else:
        np.testing.assert_array_equal(mask, keras_mask)


@pytest.mark.keras
@pytest.mark.parametrize("masked", ["none", "higher_rank"])
@pytest.mark.parametrize("name", ["Add", "Multiply", "Maximum", "Minimum", "Average"])
def test_elementwise_merges_broadcast_ranks_like_keras(
    keras: Any, keras_run: Any, rng: np.random.Generator, close: Any, name: str, masked: str
) -> None:
    # (B, T, F) with (B, F) and (B, 1, F): lower ranks get axes after the batch axis.
    xs = [
        rng.normal(size=(4, 5, 3)).astype("float32"),
        rng.normal(size=(4, 3)).astype("float32"),
        rng.normal(size=(4, 1, 3)).astype("float32"),
    ]
    masks = [M1, None, None] if masked == "higher_rank" else None
    expected, keras_mask = keras_run(getattr(keras.layers, name)(), xs, masks)
    y, mask = ELEMENTWISE[name](xs, masks=masks, keras_major=keras_major(keras))
    close(y, expected, "float32")
    if keras_major(keras) == 3:
        assert mask is None
        assert keras_mask is None
    else:  # Keras 2 passes on the AND of the masks there are: M1's
        np.testing.assert_array_equal(mask, None if masks is None else M1)
        np.testing.assert_array_equal(keras_mask, None if masks is None else M1)


CONCAT_CASES = [
    (-1, [None, None]),
    (-1, [M1, M2]),
    (-1, [M1, None]),
    (2, [None, M2]),
    (1, [M1, M2]),
    (1, [M1, None]),
    (1, [None, None]),
]


@pytest.mark.keras
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("axis", "masks"),
    CONCAT_CASES,
    ids=[
        f"axis{a}-" + "-".join("m" if m is not None else "none" for m in ms)
        for a, ms in CONCAT_CASES
    ],
)
def test_concatenate_matches_keras(
    keras: Any,
    keras_run: Any,
    rng: np.random.Generator,
    close: Any,
    axis: int,
    masks: list[np.ndarray | None],
    dtype: str,
) -> None:
    xs = [rng.normal(size=(4, 5, 3)).astype(dtype), rng.normal(size=(4, 5, 2)).astype(dtype)]
    if axis == 1:
        xs[1] = rng.normal(size=(4, 5, 3)).astype(dtype)
    layer = keras.layers.Concatenate(axis=axis, dtype=dtype)
    some_masked = any(m is None for m in masks) and any(m is not None for m in masks)
    if keras_major(keras) == 2 and axis == 1 and some_masked:
        # Keras 2 gives a mask a size-1 last axis, an unmasked input's all-True mask its
        # full (B, T, 3): the two do not concatenate along the steps.
        with pytest.raises(ValueError, match="Keras 2 cannot concatenate the masks along"):
            merging.concatenate(xs, axis=axis, masks=masks, dtype=dtype, keras_major=2)
        with pytest.raises(ValueError, match="Dimension 0 in both shapes must be equal"):
            keras_run(layer, xs, masks, dtype)
        return
    expected, keras_mask = keras_run(layer, xs, masks, dtype)
    y, mask = merging.concatenate(
        xs, axis=axis, masks=masks, dtype=dtype, keras_major=keras_major(keras)
    )
    close(y, expected, dtype)
    if keras_mask is None:
        assert mask is None
    else:
        np.testing.assert_array_equal(mask, keras_mask)


DOT_CASES = [
    ((4, 3), (4, 3), 1, False),
    ((4, 3), (4, 3), -1, True),
    ((4, 5, 3), (4, 5, 3), 2, False),
    ((4, 5, 3), (4, 5, 3), (1, 1), True),
    ((4, 5, 3), (4, 6, 3), (2, 2), False),
    ((4, 5, 3), (4, 3, 6), (2, 1), True),
    ((4, 5, 3), (4, 3), (-1, -1), False),
    ((4, 3), (4, 6, 3), (1, 2), True),
    ((4, 2, 5, 3), (4, 3, 6), (3, 1), False),
]


@pytest.mark.keras
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape1", "shape2", "axes", "normalize"), DOT_CASES, ids=str)
def test_dot_matches_keras(
    keras: Any,
    keras_run: Any,
    rng: np.random.Generator,
    close: Any,
    shape1: tuple[int, ...],
    shape2: tuple[int, ...],
    axes: int | tuple[int, int],
    normalize: bool,
    dtype: str,
) -> None:
    xs = [rng.normal(size=shape1).astype(dtype), rng.normal(size=shape2).astype(dtype)]
    masks = [M1, None] if len(shape1) == 3 and shape1[1] == 5 else None
    layer = keras.layers.Dot(axes=axes, normalize=normalize, dtype=dtype)
    expected, keras_mask = keras_run(layer, xs, masks, dtype)
    y, mask = merging.dot(xs, axes=axes, normalize=normalize, masks=masks, dtype=dtype)
    close(y, expected, dtype)
    assert mask is None
    assert keras_mask is None


# -- shapes that do not fit ---------------------------------------------------------------

A, B = np.zeros((2, 5, 3)), np.zeros((2, 5, 4))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: merging.add([]), "at least one input"),
        (lambda: merging.add(A), "a list of at least one input"),
        (lambda: merging.add([A, B]), "incompatible shapes"),
        (lambda: merging.add([A, np.zeros((3, 5, 3))]), "a batch axis, of one size"),
        (lambda: merging.subtract([A, A, A]), "exactly 2 inputs"),
        (lambda: merging.maximum([A, A], masks=[np.ones((2, 5))]), "one mask \\(or None\\) per"),
        (lambda: merging.minimum([A, A], masks=[np.ones((2, 3)), None]), r"the mask of input 0"),
        (lambda: merging.concatenate([A, np.zeros((2, 4, 4))]), "matching shapes except"),
        (lambda: merging.concatenate([A, np.zeros((2, 5))]), "one rank"),
        (lambda: merging.concatenate([A, A], axis=3), "one rank, and axis=3"),
        (lambda: merging.dot([A], axes=1), "two inputs of rank >= 2"),
        (lambda: merging.dot([A, np.zeros((2,))], axes=1), "two inputs of rank >= 2"),
        (lambda: merging.dot([A, A], axes=0), "non-batch axis"),
        (lambda: merging.dot([A, A], axes=(1, 2, 3)), "an integer or a pair"),
        (lambda: merging.dot([A, B], axes=2), r"x_1.shape\[2\] = 3, x_2.shape\[2\] = 4"),
    ],
)
def test_shapes_that_do_not_fit(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
