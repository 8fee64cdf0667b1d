"""check/torch_port.py: Keras weights as torch.nn.GRU / LSTM / RNN state dicts, and torch parity."""

from __future__ import annotations

import importlib
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.check.parity import run_reference_chunks
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.check.torch_port import compare_torch, run_torch, state_dict_arrays
from pytest_rnnparity.errors import SpecError, UnsupportedModelError
from pytest_rnnparity.reference import run_reference
from pytest_rnnparity.reference.types import (
    BidirectionalLayer,
    CellKind,
    DenseLayer,
    MaskingLayer,
    ReferenceLayer,
)
from pytest_rnnparity.report.ports import torch_message
from pytest_rnnparity.spec import ToleranceLimits, TorchOptions, load_specs
from pytest_rnnparity.spec.torch_support import RESET_AFTER_FALSE, torch_problem

from ..helpers import inputs, layer

TOLERANCES = {"hidden": Tolerance(1e-6, 1e-5), "cell": Tolerance(1e-6, 1e-5)}


def test_gru_weights_in_torchs_gate_order() -> None:
    spec = layer("gru", features=3, units=4)
    arrays = state_dict_arrays(spec)
    assert {name: a.shape for name, a in arrays.items()} == {
        "weight_ih_l0": (12, 3),
        "weight_hh_l0": (12, 4),
        "bias_ih_l0": (12,),
        "bias_hh_l0": (12,),
    }
    weights = spec.weights
    assert weights.input_bias is not None
    assert weights.recurrent_bias is not None
    for block, gate in enumerate("rzh"):  # torch's r, z, n
        rows = slice(4 * block, 4 * (block + 1))
        np.testing.assert_array_equal(arrays["weight_ih_l0"][rows], weights.kernel[gate].T)
        np.testing.assert_array_equal(
            arrays["weight_hh_l0"][rows], weights.recurrent_kernel[gate].T
        )
        np.testing.assert_array_equal(arrays["bias_ih_l0"][rows], weights.input_bias[gate])
        np.testing.assert_array_equal(arrays["bias_hh_l0"][rows], weights.recurrent_bias[gate])


def test_lstm_weights_keep_keras_order_and_a_zero_recurrent_bias() -> None:
    spec = layer("lstm", features=3, units=2)
    arrays = state_dict_arrays(spec)
    assert spec.weights.input_bias is not None
    np.testing.assert_array_equal(arrays["weight_ih_l0"][2:4], spec.weights.kernel["f"].T)
    np.testing.assert_array_equal(arrays["bias_ih_l0"][4:6], spec.weights.input_bias["c"])
    assert not arrays["bias_hh_l0"].any()


def test_bidirectional_weights_get_the_reverse_suffix() -> None:
    forward = layer("gru", features=3)
    backward = layer("gru", features=3, seed=2, go_backwards=True)
    arrays = state_dict_arrays(BidirectionalLayer("bi", forward, backward))
    assert sorted(arrays) == sorted(
        f"{kind}_{part}_l0{suffix}"
        for kind in ("weight", "bias")
        for part in ("ih", "hh")
        for suffix in ("", "_reverse")
    )
    np.testing.assert_array_equal(
        arrays["weight_hh_l0_reverse"][:4], backward.weights.recurrent_kernel["r"].T
    )


def test_no_biases_no_bias_entries() -> None:
    assert sorted(state_dict_arrays(layer("gru", use_bias=False))) == [
        "weight_hh_l0",
        "weight_ih_l0",
    ]


def test_reset_after_false_has_no_torch_equivalent() -> None:
    with pytest.raises(UnsupportedModelError) as caught:
        state_dict_arrays(layer("gru", reset_after=False))
    assert str(caught.value) == (
        "layer 'cell': torch.nn.GRU has no equivalent of reset_after=False (it applies the reset"
        " gate after the matmul, like reset_after=True)"
    )
    assert RESET_AFTER_FALSE in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            layer("gru", recurrent_activation="hard_sigmoid"),
            "layer 'cell': torch.nn.GRU computes sigmoid gates only, not"
            " recurrent_activation=hard_sigmoid",
        ),
        (
            replace(layer("lstm"), cell=replace(layer("lstm").cell, activation="relu")),
            "layer 'cell': torch.nn.LSTM computes tanh only, not activation=relu",
        ),
        (
            replace(layer("simple_rnn"), cell=replace(layer("simple_rnn").cell, activation="elu")),
            "layer 'cell': torch.nn.RNN computes tanh or relu only, not elu",
        ),
    ],
)
def test_activations_torch_does_not_offer(spec: Any, message: str) -> None:
    with pytest.raises(UnsupportedModelError) as caught:
        state_dict_arrays(spec)
    assert str(caught.value) == message


def test_both_directions_need_the_same_configuration() -> None:
    forward = layer("gru", units=4)
    backward = layer("gru", units=3, go_backwards=True)
    with pytest.raises(UnsupportedModelError, match="with one configuration, but the forward"):
        state_dict_arrays(BidirectionalLayer("bi", forward, backward))


def test_only_recurrent_layers_convert() -> None:
    dense = DenseLayer("dense", kernel=np.ones((2, 1)), bias=None)
    with pytest.raises(UnsupportedModelError) as caught:
        state_dict_arrays(dense)
    assert str(caught.value) == (
        "layer 'dense' is not a GRU, LSTM, SimpleRNN or Bidirectional layer"
    )


@pytest.mark.parametrize(
    ("class_name", "kwargs", "expected"),
    [
        ("GRU", {"units": 4}, None),
        ("GRU", {"reset_after": False}, ("reset_after", RESET_AFTER_FALSE)),
        ("LSTM", {"recurrent_activation": "hard_sigmoid"}, ("recurrent_activation", None)),
        ("SimpleRNN", {"activation": "relu"}, None),
        ("Masking", {}, ("mask_value", None)),
        ("Dense", {"activation": "relu"}, None),
    ],
)
def test_torch_problem_of_declared_layers(
    class_name: str, kwargs: dict[str, Any], expected: tuple[str, str | None] | None
) -> None:
    problem = torch_problem(class_name, kwargs)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None
        assert problem[0] == expected[0]
        assert expected[1] is None or problem[1] == expected[1]


# --------------------------------------------------------------------------- spec key

SPEC = """\
data:
  features:
    x: [0.1, 0.5, -0.3, 0.8, 0.2, -0.6]
  target: {name: y, values: [1, 2, 3, 4, 5, 6]}
lookback: 2
model:
"""


def load(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "x.yaml"
    path.write_text(SPEC + textwrap.dedent(text), encoding="utf-8")
    return load_specs(path, root=tmp_path)


def test_torch_key(tmp_path: Path) -> None:
    (spec,) = load(tmp_path, "  - GRU: {units: 2}\ntorch: true\n")
    assert spec.torch == TorchOptions(line=8)
    (spec,) = load(tmp_path, "  - GRU: {units: 2}\ntorch: false\n")
    assert spec.torch is None
    (spec,) = load(tmp_path, "  - GRU: {units: 2}\ntorch: {tolerance: {atol: 1.0e-5}}\n")
    assert spec.torch == TorchOptions(tolerance=ToleranceLimits(atol=1e-5), line=8)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "  - GRU: {units: 2, reset_after: false}\ntorch: true\n",
            "x.yaml:7:34: model[0].GRU.reset_after: torch.nn.GRU has no equivalent of"
            " reset_after=False (it applies the reset gate after the matmul, like"
            " reset_after=True); remove torch: or change the layer",
        ),
        (
            "  - Bidirectional: {layer: {LSTM: {units: 2, activation: relu}}}\ntorch: true\n",
            "x.yaml:7:58: model[0].Bidirectional.layer.LSTM.activation: torch.nn.LSTM computes"
            " tanh only, not activation=relu; remove torch: or change the layer",
        ),
        (
            "  - Masking: {}\n  - GRU: {units: 2}\ntorch: true\n",
            "x.yaml:7:5: model[0]: torch.nn.GRU, LSTM and RNN take no mask (the model has"
            " Masking); remove torch: or change the layer",
        ),
        (
            "  - GRU: {units: 2}\ntorch: {atol: 1.0e-5}\n",
            "x.yaml:8:9: torch: unknown key 'atol'; expected one of: tolerance",
        ),
    ],
)
def test_torch_key_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load(tmp_path, text)
    assert str(caught.value) == message


# ------------------------------------------------------------------------- with torch


@pytest.fixture
def torch() -> Any:
    return pytest.importorskip("torch")


@pytest.mark.parametrize("kind", ["gru", "lstm", "simple_rnn"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("use_bias", [True, False])
def test_torch_computes_what_the_reference_computes(
    torch: Any, kind: CellKind, go_backwards: bool, use_bias: bool
) -> None:
    spec = layer(kind, features=3, units=5, go_backwards=go_backwards, use_bias=use_bias)
    x = inputs(batch=6, timesteps=7, features=3)
    expected = run_reference([spec], x)[0].directions["forward"]
    got = run_torch(spec, x)["forward"]
    np.testing.assert_allclose(got.sequence, expected.outputs, atol=1e-6, rtol=1e-5)
    for state, value in expected.final_states.items():
        np.testing.assert_allclose(got.final_states[state], value, atol=1e-6, rtol=1e-5)


def test_torch_bidirectional_directions_in_processing_order(torch: Any) -> None:
    forward = layer("lstm", features=3)
    backward = layer("lstm", features=3, seed=8, go_backwards=True)
    bi = BidirectionalLayer("bi", forward, backward, merge_mode="concat", return_sequences=True)
    x = inputs(features=3)
    expected = run_reference([bi], x)[0]
    got = run_torch(bi, x)
    for direction in ("forward", "backward"):
        np.testing.assert_allclose(
            got[direction].sequence, expected.directions[direction].outputs, atol=1e-6
        )
        np.testing.assert_allclose(
            got[direction].final_states["cell"],
            expected.directions[direction].final_states["cell"],
            atol=1e-6,
        )


def test_torch_with_initial_states(torch: Any) -> None:
    spec = layer("lstm")
    x = inputs()
    states = {"hidden": np.full((5, 4), 0.2, "float32"), "cell": np.full((5, 4), -0.1, "float32")}
    expected = run_reference([spec], x, initial_states={"cell": {"forward": states}})
    got = run_torch(spec, x, initial_states={"forward": states})["forward"]
    np.testing.assert_allclose(got.sequence, expected[0].directions["forward"].outputs, atol=1e-6)


def test_compare_torch_over_a_chain_and_stateful_batches(torch: Any) -> None:
    gru = replace(layer("gru", features=3, name="gru"), stateful=True)
    lstm = replace(layer("lstm", features=4, name="lstm", seed=4), stateful=True)
    dense = DenseLayer("dense", kernel=np.ones((4, 1), "float32"), bias=None)
    layers: list[ReferenceLayer] = [gru, lstm, dense]
    x = inputs(features=3)
    chunks = [slice(i, i + 1) for i in range(5)]
    reference = run_reference_chunks(
        layers, x, chunks, mask=None, dtype="float32", hidden_only=False, keras_major=3
    )
    result = compare_torch(layers, reference, x, tolerances=TOLERANCES, chunks=chunks)
    assert result.ok, torch_message(result)
    assert [(c.layer, c.quantity) for c in result.comparisons] == [
        ("gru", "hidden"), ("gru", "final hidden"),
        ("lstm", "hidden"), ("lstm", "final hidden"), ("lstm", "final cell"),
    ]  # fmt: skip
    stateless = compare_torch(layers, reference, x, tolerances=TOLERANCES)
    assert not stateless.ok


def test_compare_torch_failure_text(torch: Any) -> None:
    spec = layer("gru", features=3, name="gru")
    x = inputs(features=3)
    reference = run_reference([spec], x)
    reference[0].directions["forward"].outputs[2, 1, 0] += 0.5
    result = compare_torch([spec], reference, x, tolerances=TOLERANCES,
                           layer_classes={"gru": "GRU"})  # fmt: skip
    lines = torch_message(result).splitlines()
    assert lines[0] == (
        f"torch {torch.__version__} and the float32 reference disagree in 1 of 2 checks."
    )
    assert lines[1] == "First: layer 'gru' (GRU, layer 1 of 1), hidden state (every timestep)"
    assert lines[2] == "  at timestep 1, row 2, unit 0:"
    assert lines[3].startswith("    torch      ")


def test_compare_torch_refuses_masked_layers(torch: Any) -> None:
    layers: list[ReferenceLayer] = [MaskingLayer("masking"), layer("gru", features=3)]
    x = inputs(features=3)
    with pytest.raises(UnsupportedModelError, match="receives a mask; torch modules take none"):
        compare_torch(layers, run_reference(layers, x), x, tolerances=TOLERANCES)


def test_to_torch_state_dict_gives_tensors(torch: Any) -> None:
    from pytest_rnnparity import to_torch_state_dict

    state = to_torch_state_dict(layer("gru"))
    assert state["weight_ih_l0"].dtype == torch.float32
    module = torch.nn.GRU(4, 4, batch_first=True)
    module.load_state_dict(state)
    assert to_torch_state_dict(layer("gru"), dtype=torch.float64)["bias_hh_l0"].dtype == (
        torch.float64
    )


# ------------------------------------------------------------------------- with Keras


@pytest.mark.keras
@pytest.mark.parametrize(
    "make",
    [
        lambda k: k.layers.GRU(5, return_sequences=True),
        lambda k: k.layers.LSTM(5, return_sequences=True),
        lambda k: k.layers.Bidirectional(
            k.layers.GRU(5, return_sequences=True), merge_mode="concat"
        ),
        lambda k: k.layers.Bidirectional(k.layers.LSTM(5, return_sequences=True)),
        lambda k: k.layers.SimpleRNN(5, return_sequences=True, activation="relu"),
    ],
    ids=["GRU", "LSTM", "Bidirectional-GRU", "Bidirectional-LSTM", "SimpleRNN-relu"],
)
def test_a_keras_layer_as_its_torch_module(torch: Any, make: Any) -> None:
    keras = pytest.importorskip("keras")
    from pytest_rnnparity.check.torch_port import to_torch_module

    layer_ = make(keras)
    model = keras.Sequential([keras.Input((7, 3)), layer_])
    rng = np.random.default_rng(0)
    model.set_weights(
        [rng.uniform(-0.6, 0.6, w.shape).astype("float32") for w in model.get_weights()]
    )
    x = rng.normal(size=(6, 7, 3)).astype("float32")
    try:
        expected = np.asarray(model(x))
        module = to_torch_module(model.layers[-1])
    finally:
        keras.backend.clear_session()
    with torch.no_grad():
        got, _ = module(torch.as_tensor(x))
    assert np.abs(got.numpy() - expected).max() < 1e-6


@pytest.mark.keras
def test_a_keras_reset_after_false_gru_is_refused(torch: Any) -> None:
    keras = pytest.importorskip("keras")
    from pytest_rnnparity import to_torch_state_dict

    gru = keras.layers.GRU(3, reset_after=False)
    keras.Sequential([keras.Input((2, 2)), gru])
    try:
        with pytest.raises(UnsupportedModelError, match=r"reset_after=False \(it applies"):
            to_torch_state_dict(gru)
    finally:
        keras.backend.clear_session()


@pytest.mark.keras
def test_the_torch_item_is_skipped_without_torch(pytester: pytest.Pytester) -> None:
    pytest.importorskip("keras")
    for module in ("pytest_rnnparity.collection.nodes", "pytest_rnnparity.collection.port_items"):
        importlib.import_module(module)
    pytester.makeini("[pytest]\naddopts = -p no:hypothesispytest\n")
    pytester.makeconftest("import sys\nsys.modules['torch'] = None\n")
    (pytester.path / "specs").mkdir()
    (pytester.path / "specs" / "t.yaml").write_text(
        SPEC + "  - GRU: {units: 2}\ntorch: true\n", encoding="utf-8"
    )
    result = pytester.runpytest("--rnn-parity", "-k", "torch", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [1] specs/t.yaml:8: torch is not installed:"
            " pip install 'pytest-rnnparity[torch]'"
        ]
    )


def test_a_torch_check_prints_as_one_line() -> None:
    from pytest_rnnparity.check.compare import compare
    from pytest_rnnparity.check.torch_port import TorchCheck

    close = compare(
        np.zeros(3),
        np.full(3, 3e-8),
        TOLERANCES["hidden"],
        layer="gru",
        quantity="hidden",
        axes=("unit",),
    )
    far = compare(
        np.zeros(3),
        np.ones(3),
        TOLERANCES["hidden"],
        layer="lstm",
        quantity="hidden",
        axes=("unit",),
    )
    check = TorchCheck(
        comparisons=(close, far),
        layer_names=("gru", "lstm"),
        layer_classes={"gru": "GRU", "lstm": "LSTM"},
        dtype="float32",
        torch_version="2.13.0",
    )
    assert (
        repr(check) == "TorchCheck(1 of 2 failed, 2 layer(s), torch 2.13.0, max abs error 1.0e+00)"
    )
    assert repr(replace(check, comparisons=(close,))) == (
        "TorchCheck(ok, 2 layer(s), torch 2.13.0, max abs error 3.0e-08)"
    )
