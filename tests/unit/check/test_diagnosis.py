"""check/diagnosis.py: a deliberately broken port for each classic mistake is diagnosed with it."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.check.candidate import load_candidate
from pytest_rnnparity.check.diagnosis import (
    Diagnosis,
    Explanation,
    diagnose,
)
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.reference.recurrent.mistakes import Setting
from pytest_rnnparity.reference.types import STATE_NAMES, RecurrentLayer
from pytest_rnnparity.report.diagnosis import (
    diagnosis_lines,
    diagnosis_sentence,
    join_clauses,
    within,
)

from ..helpers import REPO, inputs, layer
from .ported_rnn import port

TOLERANCE = Tolerance(atol=1e-6, rtol=1e-5)


def zeros(spec: RecurrentLayer, batch: int) -> dict[str, np.ndarray]:
    return {name: np.zeros((batch, spec.cell.units)) for name in STATE_NAMES[spec.cell.kind]}


def observed(spec: RecurrentLayer, x: np.ndarray, **options: Any) -> np.ndarray:
    return port(spec.weights, x, zeros(spec, len(x)), **options)


# (layer options, port options, setting, the mistakes that apply)
CASES = {
    "gru": (
        {},
        {},
        Setting(),
        [
            "swap_zr", "transposed_kernel", "transposed_recurrent_kernel", "swap_bias_rows",
            "drop_recurrent_bias", "reset_before", "inverted_update", "carried_state",
        ],
    ),
    "gru-reset_after=false": (
        {"reset_after": False},
        {"reset_after": False},
        Setting(),
        [
            "swap_zr", "transposed_kernel", "transposed_recurrent_kernel", "reset_after",
            "inverted_update", "carried_state",
        ],
    ),
    "gru-stateful": ({}, {"stateful": True}, Setting(stateful=True), ["reset_state"]),
    "lstm": (
        {},
        {},
        Setting(),
        [
            "lstm_order_tf1", "lstm_order_onnx", "transposed_kernel",
            "transposed_recurrent_kernel", "forget_bias", "carried_state",
        ],
    ),
    "simple_rnn": (
        {},
        {},
        Setting(),
        ["transposed_kernel", "transposed_recurrent_kernel", "carried_state"],
    ),
    "gru-hard_sigmoid-keras3": (
        {"recurrent_activation": "hard_sigmoid"},
        {"recurrent_activation": "hard_sigmoid", "keras_major": 3},
        Setting(keras_major=3),
        ["hard_sigmoid_keras2"],
    ),
    "gru-hard_sigmoid-keras2": (
        {"recurrent_activation": "hard_sigmoid"},
        {"recurrent_activation": "hard_sigmoid", "keras_major": 2},
        Setting(keras_major=2),
        ["hard_sigmoid_keras3"],
    ),
}  # fmt: skip
KINDS = {"lstm": "lstm", "simple_rnn": "simple_rnn"}
PARAMS = [
    pytest.param(case, mistake, id=f"{case}-{mistake}")
    for case, (_, _, _, mistakes) in CASES.items()
    for mistake in mistakes
]


@pytest.mark.parametrize(("case", "mistake"), PARAMS)
def test_a_port_making_one_classic_mistake_is_diagnosed_with_it(case: str, mistake: str) -> None:
    layer_options, port_options, setting, _ = CASES[case]
    spec = layer(KINDS.get(case, "gru"), **layer_options)  # type: ignore[arg-type]
    x = inputs(batch=6, timesteps=5)
    seen = observed(spec, x, mistakes={mistake}, **port_options)
    diagnosis = diagnose(spec, x, seen, tolerance=TOLERANCE, setting=setting)
    assert diagnosis.mistakes == (mistake,), diagnosis_sentence(diagnosis)
    assert len(diagnosis.found) == 1
    assert diagnosis.found[0].max_abs < 1e-12
    assert diagnosis.baseline > 1e-3


def test_a_correct_port_needs_no_mistake() -> None:
    spec = layer("gru")
    x = inputs()
    diagnosis = diagnose(spec, x, observed(spec, x), tolerance=TOLERANCE)
    assert diagnosis.explained
    assert diagnosis.mistakes == ()
    assert diagnosis.tried == 1
    assert diagnosis_sentence(diagnosis).endswith("; no mistake is needed to explain it.")


def test_the_issues_example_two_mistakes() -> None:
    spec = layer("gru")
    x = inputs()
    seen = observed(spec, x, mistakes={"inverted_update", "drop_recurrent_bias"})
    diagnosis = diagnose(spec, x, seen, tolerance=TOLERANCE)
    assert diagnosis.mistakes == ("drop_recurrent_bias", "inverted_update")
    bound = within(diagnosis.found[0].max_abs)
    assert diagnosis_sentence(diagnosis) == (
        f"Diagnosis: the candidate matches Keras {bound} if the recurrent bias row is dropped"
        " and the update convention is inverted."
    )


@pytest.mark.parametrize(
    ("case", "mistakes"),
    [
        ("gru", ("swap_zr", "transposed_recurrent_kernel", "carried_state")),
        ("gru", ("swap_bias_rows", "reset_before", "inverted_update")),
        ("lstm", ("lstm_order_onnx", "transposed_kernel", "forget_bias")),
    ],
)
def test_three_mistakes_at_once(case: str, mistakes: tuple[str, ...]) -> None:
    spec = layer(KINDS.get(case, "gru"))  # type: ignore[arg-type]
    x = inputs()
    diagnosis = diagnose(spec, x, observed(spec, x, mistakes=set(mistakes)), tolerance=TOLERANCE)
    assert diagnosis.mistakes == mistakes


def test_the_notebooks_pass_is_diagnosed_with_its_three_bugs() -> None:
    gru_forward = load_candidate("examples.notebook_gru:gru_forward", root=REPO)
    spec = layer("gru", features=3)
    x = np.random.default_rng(5).uniform(0, 1, (8, 2, 3)).astype("float32")
    seen = gru_forward(spec.weights, x, zeros(spec, 8))
    assert isinstance(seen, dict)
    started = time.perf_counter()
    diagnosis = diagnose(spec, x, seen["hidden"], tolerance=TOLERANCE)
    elapsed = time.perf_counter() - started
    assert diagnosis.mistakes == ("reset_before", "inverted_update", "carried_state")
    assert diagnosis.found[0].max_abs < 1e-6
    assert diagnosis_sentence(diagnosis) == (
        f"Diagnosis: the candidate matches Keras {within(diagnosis.found[0].max_abs)} if the"
        " reset gate is applied to h_tm1 before the matmul with the recurrent bias row dropped"
        " (reset_after=True ignored), the update convention is inverted and the state is"
        " carried from one window into the next."
    )
    assert elapsed < 2.0


def test_nothing_explains_garbage() -> None:
    spec = layer("gru")
    x = inputs()
    seen = np.random.default_rng(0).uniform(-1, 1, (5, 4, 4))
    diagnosis = diagnose(spec, x, seen, tolerance=TOLERANCE, max_size=2)
    assert not diagnosis.explained
    assert diagnosis.mistakes == ()
    assert diagnosis.closest is not None
    assert diagnosis.tried == 1 + 8 + 28 - 1  # one redundant pair is skipped
    assert diagnosis_sentence(diagnosis).startswith(
        "Diagnosis: no classic mistake, nor any combination of up to 2, explains the mismatch"
        " (36 tried); the closest, if "
    )


def test_non_finite_outputs_are_never_explained() -> None:
    spec = layer("simple_rnn")
    x = inputs()
    seen = np.full((5, 4, 4), np.nan)
    diagnosis = diagnose(spec, x, seen, tolerance=TOLERANCE)
    assert not diagnosis.explained
    assert diagnosis.baseline == float("inf")


def test_only_the_first_windows_are_searched() -> None:
    spec = layer("gru")
    x = inputs(batch=6)
    seen = observed(spec, x, mistakes={"inverted_update"})
    seen[3:] = 99.0  # beyond max_windows: not looked at
    assert diagnose(spec, x, seen, tolerance=TOLERANCE, max_windows=3).mistakes == (
        "inverted_update",
    )
    assert not diagnose(spec, x, seen, tolerance=TOLERANCE, max_windows=None).explained


def test_a_backward_layer_is_diagnosed_in_processing_order() -> None:
    spec = layer("gru", go_backwards=True)
    x = inputs()
    seen = observed(spec, x[:, ::-1], mistakes={"swap_zr"})
    assert diagnose(spec, x, seen, tolerance=TOLERANCE).mistakes == ("swap_zr",)


def test_a_port_of_the_candidate_api_through_partial() -> None:
    spec = layer("lstm")
    x = inputs()
    candidate = partial(port, mistakes={"forget_bias"})
    seen = candidate(spec.weights, x, zeros(spec, len(x)))
    assert diagnose(spec, x, seen, tolerance=TOLERANCE).mistakes == ("forget_bias",)


# ----------------------------------------------------------------------------- text


def make(found: tuple[Explanation, ...] = (), closest: Explanation | None = None) -> Diagnosis:
    return Diagnosis(
        subject="the candidate",
        target="Keras",
        found=found,
        closest=closest,
        baseline=0.25,
        tried=92,
        max_size=3,
    )


def test_sentence_for_one_explanation() -> None:
    diagnosis = make((Explanation(("drop_recurrent_bias", "inverted_update"), 6.1e-8),))
    assert diagnosis_sentence(diagnosis) == (
        "Diagnosis: the candidate matches Keras within 1e-07 if the recurrent bias row is"
        " dropped and the update convention is inverted."
    )
    assert diagnosis_lines(diagnosis) == [
        diagnosis_sentence(diagnosis),
        "  (mistakes: drop_recurrent_bias, inverted_update; 92 combinations of the reference"
        " tried)",
    ]


def test_sentence_for_ties() -> None:
    diagnosis = make(
        (
            Explanation(("swap_zr",), 0.0),
            Explanation(("transposed_kernel",), 2.2e-16),
        )
    )
    assert diagnosis_sentence(diagnosis) == (
        "Diagnosis: the candidate matches Keras exactly if z and r are swapped (PyTorch's gate"
        " order r, z, n). Equally, within 1e-15 if the input kernel is transposed."
    )


def test_sentence_when_nothing_explains_it() -> None:
    diagnosis = make(closest=Explanation(("carried_state",), 3.14e-2))
    assert diagnosis_sentence(diagnosis) == (
        "Diagnosis: no classic mistake, nor any combination of up to 3, explains the mismatch"
        " (92 tried); the closest, if the state is carried from one window into the next,"
        " still leaves a max abs error of 3.14e-02 (without any: 2.50e-01)."
    )
    assert diagnosis_lines(diagnosis) == [diagnosis_sentence(diagnosis)]


def test_sentence_of_keras_against_the_reference() -> None:
    diagnosis = Diagnosis(
        subject="Keras",
        target="the reference",
        found=(Explanation(("hard_sigmoid_keras2",), 3e-8),),
        closest=None,
        baseline=0.1,
        tried=5,
        max_size=3,
    )
    assert diagnosis_sentence(diagnosis) == (
        "Diagnosis: Keras matches the reference within 1e-07 if hard_sigmoid is Keras 2's"
        " clip(0.2 * x + 0.5, 0, 1)."
    )


@pytest.mark.parametrize(
    ("max_abs", "text"),
    [(0.0, "exactly"), (1e-7, "within 1e-07"), (1.2e-7, "within 1e-06"), (0.3, "within 1e+00"),
     (float("inf"), "nowhere near")],
)  # fmt: skip
def test_within(max_abs: float, text: str) -> None:
    assert within(max_abs) == text


def test_join_clauses() -> None:
    assert join_clauses([]) == ""
    assert join_clauses(["a"]) == "a"
    assert join_clauses(["a", "b"]) == "a and b"
    assert join_clauses(["a", "b", "c"]) == "a, b and c"


# ---------------------------------------------------------------- Keras, diagnosed


def _swapped(spec: RecurrentLayer) -> RecurrentLayer:
    from pytest_rnnparity.reference.recurrent.mistakes import apply_mistakes

    return apply_mistakes(spec, Setting(), ["swap_zr"]).layer  # an involution


def _with_recurrent_bias(spec: RecurrentLayer) -> RecurrentLayer:
    from dataclasses import replace

    bias = {gate: np.full(4, 0.3, "float32") for gate in "zrh"}
    return replace(spec, weights=replace(spec.weights, recurrent_bias=bias))


@pytest.mark.keras
@pytest.mark.parametrize(
    ("reference_of", "zero_row", "sentence_end"),
    [
        (_swapped, False, "if z and r are swapped (PyTorch's gate order r, z, n)."),
        (_with_recurrent_bias, True, "if the recurrent bias row is dropped."),
    ],
)
def test_a_keras_mismatch_is_diagnosed(
    monkeypatch: pytest.MonkeyPatch, reference_of: Any, zero_row: bool, sentence_end: str
) -> None:
    """The reference is right and Keras makes the mistake (here: by its weights)."""
    keras = pytest.importorskip("keras")
    from pytest_rnnparity import check_parity
    from pytest_rnnparity.check.diagnosis import keras_diagnosis
    from pytest_rnnparity.model import capture as capture_module
    from pytest_rnnparity.reference.types import RecurrentLayer
    from pytest_rnnparity.report.diagnosis import keras_diagnosis_lines

    describe = capture_module.describe_layer_or_none

    def described(layer: Any, **options: Any) -> Any:
        result = describe(layer, **options)
        return reference_of(result) if isinstance(result, RecurrentLayer) else result

    monkeypatch.setattr(capture_module, "describe_layer_or_none", described)
    model = keras.Sequential([keras.Input((4, 3)), keras.layers.GRU(4), keras.layers.Dense(1)])
    rng = np.random.default_rng(2)
    weights = [rng.uniform(-0.6, 0.6, w.shape) for w in model.get_weights()]
    if zero_row:
        weights[2][1] = 0.0
    model.set_weights(weights)
    try:
        result = check_parity(model, inputs(features=3), raise_on_mismatch=False)
    finally:
        keras.backend.clear_session()
    assert not result.ok
    diagnosis = keras_diagnosis(result)
    assert diagnosis is not None
    assert diagnosis_sentence(diagnosis).startswith(
        "Diagnosis: Keras matches the reference within "
    )
    assert diagnosis_sentence(diagnosis).endswith(sentence_end)
    assert keras_diagnosis_lines(result)[:2] == ["", diagnosis_sentence(diagnosis)]
