"""golden/document.py: array and weights hashes, stable layer names."""

from __future__ import annotations

import dataclasses

import numpy as np

from pytest_rnnparity.golden.document import array_hash, weights_hash
from pytest_rnnparity.reference.types import (
    BidirectionalLayer,
    CellConfig,
    CellWeights,
    DenseLayer,
    IdentityLayer,
    MaskingLayer,
    RecurrentLayer,
)

# -- array_hash ---------------------------------------------------------------------------


def test_array_hash_is_a_stable_sha256() -> None:
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    digest = array_hash([values])
    assert len(digest) == 64
    assert digest == array_hash([values.copy()])
    # a strided view hashes as its contents, not its memory layout
    assert array_hash([np.arange(12, dtype=np.float32).reshape(2, 6)[:, ::2]]) == array_hash(
        [np.arange(12, dtype=np.float32).reshape(2, 6)[:, ::2].copy()]
    )


def test_array_hash_sees_dtype_shape_and_value() -> None:
    values = np.zeros((2, 3), dtype=np.float32)
    changed = values.copy()
    changed[1, 2] = 1e-30
    digests = {
        array_hash([values]),
        array_hash([values.astype(np.float64)]),
        array_hash([values.view(np.int32)]),  # same bytes, other dtype
        array_hash([values.reshape(3, 2)]),  # same bytes, other shape
        array_hash([values.reshape(6)]),
        array_hash([changed]),
        array_hash([values[:1], values[1:]]),  # same bytes split in two arrays
    }
    assert len(digests) == 7


def test_array_hash_depends_on_order() -> None:
    a, b = np.zeros(2), np.ones(2)
    assert array_hash([a, b]) != array_hash([b, a])


# -- weights_hash -------------------------------------------------------------------------


def _gru_weights(seed: int, *, features: int = 3, units: int = 2) -> CellWeights:
    rng = np.random.default_rng(seed)
    return CellWeights(
        kind="gru",
        kernel={g: rng.normal(size=(features, units)) for g in "zrh"},
        recurrent_kernel={g: rng.normal(size=(units, units)) for g in "zrh"},
        input_bias={g: rng.normal(size=units) for g in "zrh"},
        recurrent_bias={g: rng.normal(size=units) for g in "zrh"},
    )


def _gru(name: str, weights: CellWeights, *, go_backwards: bool = False) -> RecurrentLayer:
    return RecurrentLayer(
        name=name,
        cell=CellConfig(kind="gru", units=weights.units),
        weights=weights,
        go_backwards=go_backwards,
    )


def _dense(seed: int) -> DenseLayer:
    rng = np.random.default_rng(seed)
    return DenseLayer(name="dense", kernel=rng.normal(size=(2, 1)), bias=rng.normal(size=1))


def test_weights_hash_covers_every_gate_and_the_dense_head_in_order() -> None:
    weights = _gru_weights(1)
    dense = _dense(2)
    expected = array_hash(
        [
            *(weights.kernel[g] for g in "zrh"),
            *(weights.recurrent_kernel[g] for g in "zrh"),
            *(weights.input_bias[g] for g in "zrh"),  # type: ignore[index]
            *(weights.recurrent_bias[g] for g in "zrh"),  # type: ignore[index]
            dense.kernel,
            dense.bias,  # type: ignore[list-item]
        ]
    )
    assert weights_hash([_gru("gru", weights), dense]) == expected


def test_weights_hash_ignores_names_and_weightless_layers() -> None:
    weights = _gru_weights(1)
    plain = weights_hash([_gru("gru", weights), _dense(2)])
    assert plain == weights_hash(
        [
            MaskingLayer(name="masking"),
            _gru("renamed", weights),
            IdentityLayer(name="dropout", class_name="Dropout"),
            dataclasses.replace(_dense(2), name="head"),
        ]
    )


def test_weights_hash_changes_with_any_weight() -> None:
    weights = _gru_weights(1)
    base = weights_hash([_gru("gru", weights), _dense(2)])
    recurrent_bias = dict(weights.recurrent_bias or {})
    recurrent_bias["h"] = recurrent_bias["h"] + np.array([0.0, 1e-12])
    bias_moved = dataclasses.replace(weights, recurrent_bias=recurrent_bias)
    no_bias = dataclasses.replace(weights, recurrent_bias=None)
    dense = _dense(2)
    assert (
        len(
            {
                base,
                weights_hash([_gru("gru", bias_moved), dense]),
                weights_hash([_gru("gru", no_bias), dense]),
                weights_hash([_gru("gru", weights), dataclasses.replace(dense, bias=None)]),
                weights_hash(
                    [_gru("gru", weights), dataclasses.replace(dense, bias=dense.bias * 2)]
                ),
            }
        )
        == 5
    )


def test_weights_hash_of_bidirectional_is_forward_then_backward() -> None:
    forward, backward = _gru_weights(3), _gru_weights(4)
    layer = BidirectionalLayer(
        name="bi",
        forward=_gru("forward", forward),
        backward=_gru("backward", backward, go_backwards=True),
    )
    assert weights_hash([layer]) == weights_hash([_gru("a", forward), _gru("b", backward)])
    swapped = dataclasses.replace(layer, forward=layer.backward, backward=layer.forward)
    assert weights_hash([swapped]) != weights_hash([layer])


def test_stable_layer_names_do_not_depend_on_earlier_models() -> None:
    from pytest_rnnparity.golden.document import stable_layer_names
    from pytest_rnnparity.model.weights import split_gates
    from pytest_rnnparity.reference.types import (
        BidirectionalLayer,
        CellConfig,
        IdentityLayer,
        MaskingLayer,
        RecurrentLayer,
    )

    def gru(name: str, *, go_backwards: bool = False) -> RecurrentLayer:
        weights = split_gates("gru", np.zeros((2, 6)), np.zeros((2, 6)), None)
        return RecurrentLayer(
            name=name,
            cell=CellConfig(kind="gru", units=2),
            weights=weights,
            go_backwards=go_backwards,
        )

    dense = DenseLayer(name="dense_7", kernel=np.zeros((2, 1)), bias=None)
    layers = [
        MaskingLayer(name="masking_3"),
        BidirectionalLayer(
            name="bidirectional_2", forward=gru("f"), backward=gru("b", go_backwards=True)
        ),
        gru("gru_12"),
        gru("encoder"),  # a name the user chose is kept
        gru("gru_4"),
        IdentityLayer(name="dropout_9", class_name="Dropout"),
        dense,
    ]
    assert stable_layer_names(layers) == [
        "masking",
        "bidirectional",
        "gru",
        "encoder",
        "gru_1",
        "dropout",
        "dense",
    ]
