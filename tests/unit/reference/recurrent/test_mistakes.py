"""reference/recurrent/mistakes.py: each classic mistake as a transformation of the reference."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pytest_rnnparity.reference import run_recurrent
from pytest_rnnparity.reference.activations import get_activation
from pytest_rnnparity.reference.recurrent.cells import gru_step
from pytest_rnnparity.reference.recurrent.mistakes import (
    MISTAKE_NAMES,
    MISTAKES,
    Setting,
    Variant,
    applicable,
    apply_mistakes,
    explain,
    is_redundant,
    run_variant,
)

from ...helpers import inputs, layer

CONFIGS = {
    "gru": layer("gru"),
    "gru-reset_before": layer("gru", reset_after=False),
    "gru-no-bias": layer("gru", use_bias=False),
    "lstm": layer("lstm"),
    "simple_rnn": layer("simple_rnn"),
    "gru-backwards": layer("gru", go_backwards=True),
}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_without_mistakes_a_variant_is_the_reference(name: str, dtype: str) -> None:
    spec = CONFIGS[name]
    x = inputs()
    expected = run_recurrent(spec, x, dtype=dtype)
    got = run_variant(Variant.of(spec, Setting()), x, dtype=dtype)
    assert got.outputs.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got.outputs, expected.outputs)
    for trace in expected.traces:
        np.testing.assert_array_equal(got.traces[trace], expected.traces[trace])
    for state in expected.final_states:
        np.testing.assert_array_equal(got.final_states[state], expected.final_states[state])


def test_initial_state_is_used() -> None:
    spec = CONFIGS["lstm"]
    x = inputs()
    state = {"hidden": np.full((5, 4), 0.3), "cell": np.full((5, 4), -0.2)}
    expected = run_recurrent(spec, x, initial_state=state, dtype="float64")
    got = run_variant(Variant.of(spec, Setting()), x, initial_state=state)
    np.testing.assert_array_equal(got.outputs, expected.outputs)


@pytest.mark.parametrize(
    ("name", "setting", "expected"),
    [
        (
            "gru",
            Setting(),
            [
                "swap_zr", "transposed_kernel", "transposed_recurrent_kernel", "swap_bias_rows",
                "drop_recurrent_bias", "reset_before", "inverted_update", "carried_state",
            ],
        ),
        (
            "gru-reset_before",
            Setting(stateful=True),
            [
                "swap_zr", "transposed_kernel", "transposed_recurrent_kernel", "reset_after",
                "inverted_update", "reset_state",
            ],
        ),
        (
            "gru-no-bias",
            Setting(),
            [
                "swap_zr", "transposed_kernel", "transposed_recurrent_kernel", "reset_before",
                "inverted_update", "carried_state",
            ],
        ),
        (
            "lstm",
            Setting(),
            [
                "lstm_order_tf1", "lstm_order_onnx", "transposed_kernel",
                "transposed_recurrent_kernel", "forget_bias", "carried_state",
            ],
        ),
        (
            "simple_rnn",
            Setting(),
            ["transposed_kernel", "transposed_recurrent_kernel", "carried_state"],
        ),
    ],
)  # fmt: skip
def test_which_mistakes_apply(name: str, setting: Setting, expected: list[str]) -> None:
    assert [m.name for m in applicable(CONFIGS[name], setting)] == expected


def test_a_kernel_is_only_transposed_when_it_is_square() -> None:
    names = [m.name for m in applicable(layer("gru", features=3), Setting())]
    assert "transposed_kernel" not in names
    assert "transposed_recurrent_kernel" in names


def test_the_other_hard_sigmoid_applies_only_where_hard_sigmoid_is_used() -> None:
    hard = layer("gru", recurrent_activation="hard_sigmoid")
    assert "hard_sigmoid_keras2" in [m.name for m in applicable(hard, Setting(keras_major=3))]
    assert "hard_sigmoid_keras3" in [m.name for m in applicable(hard, Setting(keras_major=2))]
    names = [m.name for m in applicable(CONFIGS["gru"], Setting())]
    assert not any(name.startswith("hard_sigmoid") for name in names)


@pytest.mark.parametrize(
    ("name", "setting"),
    [
        ("gru", Setting()),
        ("gru-reset_before", Setting(stateful=True)),
        ("lstm", Setting()),
        ("simple_rnn", Setting()),
    ],
)
def test_every_mistake_changes_the_outputs(name: str, setting: Setting) -> None:
    spec = CONFIGS[name]
    x = inputs()
    correct = run_variant(Variant.of(spec, setting), x).outputs
    for mistake in applicable(spec, setting):
        wrong = run_variant(apply_mistakes(spec, setting, [mistake.name]), x).outputs
        assert np.abs(wrong - correct).max() > 1e-3, mistake.name


def test_reset_before_is_the_textbook_gru_from_bias_row_zero() -> None:
    spec = CONFIGS["gru"]
    textbook = replace(
        spec,
        cell=replace(spec.cell, reset_after=False),
        weights=replace(spec.weights, recurrent_bias=None),
    )
    x = inputs()
    expected = run_recurrent(textbook, x, dtype="float64").outputs
    got = run_variant(apply_mistakes(spec, Setting(), ["reset_before"]), x).outputs
    np.testing.assert_array_equal(got, expected)


def test_inverted_update_swaps_the_roles_of_z_and_one_minus_z() -> None:
    spec = CONFIGS["gru"]
    x = inputs(batch=2, timesteps=1)
    got = run_variant(apply_mistakes(spec, Setting(), ["inverted_update"]), x)
    z, hh = got.traces["update"][:, 0], got.traces["candidate"][:, 0]
    np.testing.assert_allclose(got.outputs[:, 0], z * hh, rtol=1e-12)  # h_tm1 = 0
    correct = run_variant(Variant.of(spec, Setting()), x)
    np.testing.assert_allclose(correct.outputs[:, 0], (1 - z) * hh, rtol=1e-12)


def test_inverted_update_feeds_the_wrong_state_into_the_next_step() -> None:
    spec = CONFIGS["gru"]
    x = inputs(batch=1, timesteps=2)
    got = run_variant(apply_mistakes(spec, Setting(), ["inverted_update"]), x)
    from pytest_rnnparity.reference.recurrent.cells import fuse_weights, project_inputs

    fused = fuse_weights(spec.cell, spec.weights, dtype=np.float64)
    matrix_x = project_inputs(x.astype(np.float64), fused.kernel, fused.input_bias)
    h_tm1 = got.outputs[:, 0]
    step = gru_step(
        matrix_x[:, 1],
        h_tm1,
        fused.recurrent_kernel,
        fused.recurrent_bias,
        activation=get_activation("tanh"),
        recurrent_activation=get_activation("sigmoid"),
    )
    expected = (1 - step.update) * h_tm1 + step.update * step.candidate
    np.testing.assert_allclose(got.outputs[:, 1], expected, rtol=1e-12)


def test_carried_state_starts_each_window_from_the_previous_final_state() -> None:
    spec = CONFIGS["lstm"]
    x = inputs()
    got = run_variant(apply_mistakes(spec, Setting(), ["carried_state"]), x)
    alone = run_variant(Variant.of(spec, Setting()), x[:1])
    np.testing.assert_array_equal(got.outputs[:1], alone.outputs)
    for row in range(1, 5):
        previous = {
            "hidden": got.traces["hidden"][row - 1 : row, -1],
            "cell": got.traces["cell"][row - 1 : row, -1],
        }
        expected = run_variant(
            Variant.of(spec, Setting()), x[row : row + 1], initial_state=previous
        )
        np.testing.assert_allclose(got.outputs[row : row + 1], expected.outputs, rtol=1e-12)


def test_reset_state_undoes_a_stateful_layers_carry() -> None:
    spec = CONFIGS["gru"]
    x = inputs()
    stateless = run_variant(Variant.of(spec, Setting()), x).outputs
    stateful = run_variant(Variant.of(spec, Setting(stateful=True)), x).outputs
    reset = run_variant(apply_mistakes(spec, Setting(stateful=True), ["reset_state"]), x).outputs
    np.testing.assert_array_equal(reset, stateless)
    assert np.abs(stateful - stateless).max() > 1e-3


def test_reading_the_columns_in_another_order_moves_the_blocks() -> None:
    spec = CONFIGS["lstm"]
    variant = apply_mistakes(spec, Setting(), ["lstm_order_tf1"])
    kernel = variant.layer.weights.kernel
    keras = spec.weights.kernel
    # The port reads Keras' columns as i, c, f, o: its f is Keras' block 2 (c), its c block 1 (f).
    np.testing.assert_array_equal(kernel["f"], keras["c"])
    np.testing.assert_array_equal(kernel["c"], keras["f"])
    np.testing.assert_array_equal(kernel["i"], keras["i"])
    onnx = apply_mistakes(spec, Setting(), ["lstm_order_onnx"]).layer.weights.recurrent_kernel
    keras_u = spec.weights.recurrent_kernel
    assert [id(onnx[g]) for g in "ofc"] == [id(keras_u[g]) for g in "fco"]


def test_swap_zr_is_pytorchs_gate_order() -> None:
    spec = CONFIGS["gru"]
    weights = apply_mistakes(spec, Setting(), ["swap_zr"]).layer.weights
    assert weights.input_bias is not None
    assert spec.weights.input_bias is not None
    np.testing.assert_array_equal(weights.input_bias["z"], spec.weights.input_bias["r"])
    np.testing.assert_array_equal(weights.input_bias["h"], spec.weights.input_bias["h"])


def test_bias_rows_swapped_and_dropped() -> None:
    spec = CONFIGS["gru"]
    swapped = apply_mistakes(spec, Setting(), ["swap_bias_rows"]).layer.weights
    assert swapped.input_bias is spec.weights.recurrent_bias
    assert swapped.recurrent_bias is spec.weights.input_bias
    dropped = apply_mistakes(spec, Setting(), ["drop_recurrent_bias"]).layer.weights
    assert dropped.recurrent_bias is not None
    assert all(not b.any() for b in dropped.recurrent_bias.values())


def test_forget_bias_adds_one_to_f() -> None:
    spec = CONFIGS["lstm"]
    weights = apply_mistakes(spec, Setting(), ["forget_bias"]).layer.weights
    assert weights.input_bias is not None
    assert spec.weights.input_bias is not None
    np.testing.assert_allclose(weights.input_bias["f"], spec.weights.input_bias["f"] + 1)
    np.testing.assert_array_equal(weights.input_bias["i"], spec.weights.input_bias["i"])


def test_hard_sigmoid_of_the_other_generation() -> None:
    spec = layer("gru", recurrent_activation="hard_sigmoid")
    x = inputs()
    keras2 = run_recurrent(spec, x, dtype="float64", keras_major=2).outputs
    got = run_variant(apply_mistakes(spec, Setting(keras_major=3), ["hard_sigmoid_keras2"]), x)
    np.testing.assert_array_equal(got.outputs, keras2)


def test_reset_after_on_a_reset_before_gru() -> None:
    spec = CONFIGS["gru-reset_before"]
    variant = apply_mistakes(spec, Setting(), ["reset_after"])
    assert variant.layer.cell.reset_after
    assert variant.layer.weights.recurrent_bias is not None
    assert all(not b.any() for b in variant.layer.weights.recurrent_bias.values())


def test_apply_mistakes_refuses_unknown_and_inapplicable_mistakes() -> None:
    with pytest.raises(ValueError, match="unknown mistake 'swap_rz'; known mistakes: swap_zr, "):
        apply_mistakes(CONFIGS["gru"], Setting(), ["swap_rz"])
    with pytest.raises(
        ValueError,
        match=r"^the mistake 'forget_bias' does not apply to layer 'cell' \(gru, "
        r"reset_after=True, stateful=False\)$",
    ):
        apply_mistakes(CONFIGS["gru"], Setting(), ["forget_bias"])


def test_redundant_pairs_and_explanations() -> None:
    assert is_redundant(["reset_before", "drop_recurrent_bias"])
    assert not is_redundant(["swap_bias_rows", "reset_before"])
    assert explain(["carried_state", "inverted_update"]) == [
        "the update convention is inverted",
        "the state is carried from one window into the next",
    ]
    assert tuple(m.name for m in MISTAKES) == MISTAKE_NAMES
    assert len(set(MISTAKE_NAMES)) == len(MISTAKE_NAMES)
