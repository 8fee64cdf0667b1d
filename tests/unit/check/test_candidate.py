"""check/candidate.py: a user's implementation against the reference, its spec key and items."""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_rnnparity.check.candidate import (
    CandidateCheck,
    candidate_targets,
    compare_candidate,
    load_candidate,
    run_candidate,
    select_layer,
)
from pytest_rnnparity.check.compare import compare
from pytest_rnnparity.check.diagnosis import Diagnosis, Explanation
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.collection.port_items import expectation_problem
from pytest_rnnparity.errors import (
    CandidateLoadError,
    ParityError,
    SpecError,
    UnsupportedModelError,
)
from pytest_rnnparity.reference import run_reference
from pytest_rnnparity.reference.recurrent.mistakes import Setting
from pytest_rnnparity.reference.types import (
    BidirectionalLayer,
    CellWeights,
    DenseLayer,
    MaskingLayer,
    ReferenceLayer,
)
from pytest_rnnparity.report.diagnosis import diagnosis_sentence
from pytest_rnnparity.report.ports import candidate_message
from pytest_rnnparity.spec import CandidateOptions, load_specs

from ..helpers import REPO, inputs, layer
from .ported_rnn import port

TOLERANCES = {"hidden": Tolerance(1e-6, 1e-5), "cell": Tolerance(1e-6, 1e-5)}


# ----------------------------------------------------------------------------- loading


def write_module(root: Path, name: str, body: str) -> None:
    (root / f"{name}.py").write_text(textwrap.dedent(body), encoding="utf-8")


def test_load_a_candidate_from_the_project_root(tmp_path: Path) -> None:
    write_module(tmp_path, "cand_ok", "def forward(w, x, s):\n    return x\n")
    function = load_candidate("cand_ok:forward", root=tmp_path)
    assert function.__name__ == "forward"
    assert str(tmp_path) not in sys.path


def test_load_a_method_of_a_class(tmp_path: Path) -> None:
    write_module(
        tmp_path,
        "cand_class",
        "class Port:\n    @staticmethod\n    def forward(w, x, s):\n        return x\n",
    )
    assert load_candidate("cand_class:Port.forward", root=tmp_path).__name__ == "forward"


@pytest.mark.parametrize(
    ("reference", "body", "message"),
    [
        (
            "cand_missing.module:forward",
            None,
            "cannot import 'cand_missing.module': No module named 'cand_missing' (imported with"
            " the project root {root} first on sys.path)",
        ),
        (
            "cand_broken:forward",
            "raise RuntimeError('no weights file')\n",
            "importing 'cand_broken' raised RuntimeError: no weights file",
        ),
        (
            "cand_noattr:forwrd",
            "def forward(w, x, s):\n    return x\n",
            "module 'cand_noattr' has no attribute 'forwrd'",
        ),
        ("cand_value:forward", "forward = 3\n", "cand_value:forward is a int, not a function"),
        (
            "cand_value.forward",
            None,
            "expected package.module:function, such as examples.my_gru:forward, got"
            " 'cand_value.forward'",
        ),
    ],
)
def test_load_errors(tmp_path: Path, reference: str, body: str | None, message: str) -> None:
    if body is not None:
        write_module(tmp_path, reference.split(":")[0], body)
    with pytest.raises(CandidateLoadError) as caught:
        load_candidate(reference, root=tmp_path)
    assert str(caught.value) == message.format(root=tmp_path)


# ----------------------------------------------------------------------------- running


def gru_chain() -> tuple[list[ReferenceLayer], np.ndarray]:
    gru = layer("gru", features=3)
    dense = DenseLayer("dense", kernel=np.ones((4, 1), "float32"), bias=None)
    return [gru, dense], inputs(batch=6, timesteps=3, features=3)


def check(
    function: Any, layers: list[ReferenceLayer], x: np.ndarray, **options: Any
) -> CandidateCheck:
    reference = run_reference(layers, x)
    return compare_candidate(
        function,
        layers,
        reference,
        x,
        name="tests:candidate",
        tolerances=TOLERANCES,
        layer_classes={"cell": "GRU", "dense": "Dense", "bi": "Bidirectional(GRU)"},
        **options,
    )


def test_a_correct_candidate_passes_with_every_gate_compared() -> None:
    correct = load_candidate("examples.correct_rnn:forward", root=REPO)
    layers, x = gru_chain()
    result = check(correct, layers, x)
    assert result.ok
    assert [c.quantity for c in result.comparisons] == ["update", "reset", "candidate", "hidden"]
    assert max(c.max_abs for c in result.comparisons) < 1e-6
    assert result.diagnoses == ()
    assert repr(result).startswith("CandidateCheck('tests:candidate', ok, max abs error ")


@pytest.mark.parametrize("kind", ["lstm", "simple_rnn"])
def test_the_correct_example_covers_lstm_and_simple_rnn(kind: str) -> None:
    correct = load_candidate("examples.correct_rnn:forward", root=REPO)
    spec = layer(kind)  # type: ignore[arg-type]
    result = check(correct, [spec], inputs())
    assert result.ok, candidate_message(result)


def test_a_broken_candidate_is_reported_and_diagnosed() -> None:
    layers, x = gru_chain()
    result = check(partial(port, mistakes={"inverted_update", "drop_recurrent_bias"}), layers, x)
    assert not result.ok
    ((direction, diagnosis),) = result.diagnoses
    assert direction == "forward"
    assert diagnosis.mistakes == ("drop_recurrent_bias", "inverted_update")
    assert re.fullmatch(
        r"CandidateCheck\('tests:candidate', 1 of 1 failed, max abs error \d\.\de[-+]\d\d,"
        r" diagnosis drop_recurrent_bias, inverted_update\)",
        repr(result),
    )
    message = candidate_message(result)
    assert message.startswith(
        "The candidate tests:candidate and the float32 reference disagree in 1 of 1 checks.\n"
        "First: layer 'cell' (GRU, layer 1 of 2), hidden state (every timestep)\n"
        "  at timestep 0, row 0, unit 0:\n"
    )
    assert message.endswith(
        "\n\n"
        + diagnosis_sentence(diagnosis)
        + "\n  (mistakes: drop_recurrent_bias, inverted_update; "
        f"{diagnosis.tried} combinations of the reference tried)"
    )


def test_no_diagnosis_when_asked_not_to() -> None:
    layers, x = gru_chain()
    result = check(partial(port, mistakes={"swap_zr"}), layers, x, with_diagnosis=False)
    assert not result.ok
    assert result.diagnoses == ()


def test_a_later_layer_gets_the_reference_output_of_the_layer_before() -> None:
    first = layer("gru", features=3)
    second = layer("lstm", features=4, seed=3, name="lstm")
    x = inputs(features=3)
    seen: list[np.ndarray] = []

    def spy(weights: CellWeights, inputs: np.ndarray, state: dict[str, np.ndarray]) -> Any:
        seen.append(inputs)
        return port(weights, inputs, state)

    result = check(spy, [first, second], x, layer=1)
    assert result.ok
    np.testing.assert_array_equal(seen[0], run_reference([first], x)[0].output)


def test_bidirectional_calls_the_candidate_per_direction_in_processing_order() -> None:
    forward = layer("gru", features=3)
    backward = layer("gru", features=3, seed=9, go_backwards=True)
    bi = BidirectionalLayer("bi", forward, backward, return_sequences=True)
    x = inputs(features=3)
    calls: list[np.ndarray] = []

    def spy(weights: CellWeights, inputs: np.ndarray, state: dict[str, np.ndarray]) -> Any:
        calls.append(inputs)
        return port(weights, inputs, state)

    result = check(spy, [bi], x)
    assert result.ok, candidate_message(result)
    np.testing.assert_array_equal(calls[0], x)
    np.testing.assert_array_equal(calls[1], x[:, ::-1])
    assert [c.label for c in result.comparisons] == ["hidden", "hidden (backward)"]


def test_a_broken_backward_direction_is_diagnosed_as_such() -> None:
    forward = layer("gru", features=3)
    backward = layer("gru", features=3, seed=9, go_backwards=True)
    bi = BidirectionalLayer("bi", forward, backward, return_sequences=True)
    x = inputs(features=3)

    def broken_backward(weights: CellWeights, inputs: np.ndarray, state: Any) -> Any:
        mistakes = {"swap_zr"} if weights is not None and calls.append(1) is None else set()
        return port(weights, inputs, state, mistakes=mistakes if len(calls) == 2 else set())

    calls: list[int] = []
    result = check(broken_backward, [bi], x)
    assert [c.ok for c in result.comparisons] == [True, False]
    ((direction, diagnosis),) = result.diagnoses
    assert direction == "backward"
    assert diagnosis.mistakes == ("swap_zr",)
    assert "First: layer 'bi' (Bidirectional(GRU), layer 1 of 1), hidden state (every" in (
        candidate_message(result)
    )


def test_a_stateful_layers_candidate_carries_the_state() -> None:
    spec = layer("gru", features=3)
    x = inputs(features=3)
    reference = run_reference([spec], x[:1])  # the first window alone, from zeros
    carried = partial(port, stateful=True)
    layers: list[ReferenceLayer] = [spec]
    from dataclasses import replace

    from pytest_rnnparity.check.parity import run_reference_chunks

    stateful = [replace(spec, stateful=True)]
    reference_all = run_reference_chunks(
        stateful, x, [slice(i, i + 1) for i in range(len(x))],
        mask=None, dtype="float32", hidden_only=False, keras_major=3,
    )  # fmt: skip
    np.testing.assert_array_equal(reference_all[0].directions["forward"].outputs[:1],
                                  reference[0].directions["forward"].outputs)  # fmt: skip
    result = compare_candidate(
        carried, stateful, reference_all, x, name="c", tolerances=TOLERANCES,
        setting=Setting(stateful=True),
    )  # fmt: skip
    assert result.ok
    stateless = compare_candidate(
        port, stateful, reference_all, x, name="c", tolerances=TOLERANCES,
        setting=Setting(stateful=True),
    )  # fmt: skip
    assert stateless.diagnoses[0][1].mistakes == ("reset_state",)
    assert layers


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (
            7,
            "the candidate returned a int; expected the hidden states (batch, time, units) or a"
            " dict of them and the gates",
        ),
        (
            {"hidden": np.zeros((6, 3, 4)), "update_gate": 0},
            "the candidate returned a dict with unknown name 'update_gate'; a gru candidate"
            " returns 'hidden' and optionally 'update', 'reset', 'candidate'",
        ),
        (
            {"update": np.zeros((6, 3, 4))},
            "the candidate returned a dict with no 'hidden'; a gru candidate returns 'hidden'"
            " and optionally 'update', 'reset', 'candidate'",
        ),
        (
            np.zeros((6, 4)),
            "the candidate returned 'hidden' of shape (6, 4); expected (batch, time, units) ="
            " (6, 3, 4)",
        ),
    ],
)
def test_what_a_candidate_returns_is_checked(returned: Any, message: str) -> None:
    layers, x = gru_chain()
    (target,) = candidate_targets(layers, run_reference(layers, x), x)
    with pytest.raises(ParityError) as caught:
        run_candidate(lambda w, i, s: returned, target)
    assert str(caught.value) == message


def test_the_candidate_gets_copies_and_zero_states() -> None:
    layers, x = gru_chain()
    reference = run_reference(layers, x)
    (target,) = candidate_targets(layers, reference, x)
    received: dict[str, Any] = {}

    def vandal(weights: CellWeights, inputs: np.ndarray, state: dict[str, np.ndarray]) -> Any:
        received.update(state)
        weights.kernel["z"][:] = 0
        inputs[:] = 0
        return np.zeros_like(target.reference.outputs)

    run_candidate(vandal, target)
    assert set(received) == {"hidden"}
    assert not received["hidden"].any()
    assert received["hidden"].shape == (6, 4)
    assert np.asarray(layers[0].weights.kernel["z"]).any()  # type: ignore[union-attr]
    assert x.any()


def test_layer_selection() -> None:
    gru = layer("gru", features=3)
    dense = DenseLayer("dense", kernel=np.ones((4, 1)), bias=None)
    layers: list[ReferenceLayer] = [gru, dense]
    assert select_layer(layers, None) == 0
    assert select_layer(layers, "cell") == 0
    with pytest.raises(UnsupportedModelError, match=r"^the model has no layer 'gru'; its layers"):
        select_layer(layers, "gru")
    with pytest.raises(
        UnsupportedModelError, match=r"^the model has 2 layers; there is no layer 5$"
    ):
        select_layer(layers, 5)
    with pytest.raises(UnsupportedModelError, match=r"^layer 'dense' is not a recurrent layer"):
        select_layer(layers, 1)
    with pytest.raises(UnsupportedModelError, match="no recurrent layer"):
        select_layer([dense], None)


def test_a_masked_layer_cannot_be_checked() -> None:
    masking = MaskingLayer("masking")
    gru = layer("gru", features=3)
    x = inputs(features=3)
    x[:, 0] = 0
    layers: list[ReferenceLayer] = [masking, gru]
    with pytest.raises(UnsupportedModelError, match="receives a mask"):
        candidate_targets(layers, run_reference(layers, x), x)


# ------------------------------------------------------------------------ failure text


def made_check(ok: bool, diagnoses: tuple[tuple[str, Diagnosis], ...] = ()) -> CandidateCheck:
    expected = np.array([[[0.25, 0.5]], [[0.125, -0.5]]])
    actual = expected.copy()
    if not ok:
        actual[1, 0, 1] = -0.375
    comparison = compare(
        expected, actual, Tolerance(1e-6, 1e-5), layer="gru", quantity="hidden",
        axes=("row", "timestep", "unit"), direction="forward", time_axis=1,
    )  # fmt: skip
    return CandidateCheck(
        name="ports.my_gru:forward",
        comparisons=(comparison,),
        diagnoses=diagnoses,
        layer_classes={"gru": "GRU", "dense": "Dense"},
        layer_names=("gru", "dense"),
        dtype="float32",
    )


def test_candidate_message_verbatim() -> None:
    diagnosis = Diagnosis(
        subject="the candidate",
        target="Keras",
        found=(Explanation(("drop_recurrent_bias", "inverted_update"), 6e-8),),
        closest=None,
        baseline=0.125,
        tried=13,
        max_size=3,
    )
    assert candidate_message(made_check(False, (("forward", diagnosis),))) == (
        "The candidate ports.my_gru:forward and the float32 reference disagree in 1 of 1"
        " checks.\n"
        "First: layer 'gru' (GRU, layer 1 of 2), hidden state (every timestep)\n"
        "  at timestep 0, row 1, unit 1:\n"
        "    candidate  -0.375\n"
        "    reference  -0.5\n"
        "    abs error 1.25e-01, rel error 2.50e-01 (tolerance atol=1e-06, rtol=1e-05)\n"
        "  1 of 4 values (25.0%) exceed tolerance; max abs error 1.25e-01, mean abs error"
        " 3.12e-02\n"
        "  Timestep 0 already differs: check the input kernel, the biases, the activations and"
        " the update rule.\n"
        "\n"
        "Largest errors:\n"
        "  layer  class  quantity  shape  max abs   max rel   tolerance               verdict\n"
        "  gru    GRU    hidden    2x1x2  1.25e-01  2.50e-01  atol=1e-06, rtol=1e-05  FAIL\n"
        "\n"
        "Diagnosis: the candidate matches Keras within 1e-07 if the recurrent bias row is"
        " dropped and the update convention is inverted.\n"
        "  (mistakes: drop_recurrent_bias, inverted_update; 13 combinations of the reference"
        " tried)"
    )


def test_expectations_of_the_spec() -> None:
    diagnosis = Diagnosis("the candidate", "Keras", (Explanation(("swap_zr",), 0.0),), None,
                          0.5, 4, 3)  # fmt: skip
    failing = made_check(False, (("forward", diagnosis),))
    passing = made_check(True)
    assert expectation_problem(passing, expect="match", diagnosis=None) is None
    assert expectation_problem(failing, expect="match", diagnosis=None) == candidate_message(
        failing
    )
    assert expectation_problem(failing, expect="mismatch", diagnosis=None) is None
    assert expectation_problem(failing, expect="mismatch", diagnosis=("swap_zr",)) is None
    assert expectation_problem(passing, expect="mismatch", diagnosis=None) == (
        "The candidate ports.my_gru:forward matches the float32 reference within tolerance,"
        " but the spec expects a mismatch (candidate.expect: mismatch)."
    )
    assert expectation_problem(failing, expect="mismatch", diagnosis=("inverted_update",)) == (
        "The candidate ports.my_gru:forward disagrees, as the spec expects, but the spec"
        " expects the diagnosis inverted_update.\n\n" + candidate_message(failing)
    )


# ------------------------------------------------------------------------- spec keys

SPEC = """\
data:
  features:
    x: [0.1, 0.5, -0.3, 0.8, 0.2, -0.6]
  target: {name: y, values: [1, 2, 3, 4, 5, 6]}
lookback: 2
model:
  - GRU: {units: 2}
  - Dense: {units: 1}
"""


def load(tmp_path: Path, extra: str) -> Any:
    path = tmp_path / "specs" / "x.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(SPEC + textwrap.dedent(extra), encoding="utf-8")
    return load_specs(path, root=tmp_path)


def error_of(tmp_path: Path, extra: str) -> str:
    with pytest.raises(SpecError) as caught:
        load(tmp_path, extra)
    return str(caught.value)


def test_candidate_as_a_string(tmp_path: Path) -> None:
    (spec,) = load(tmp_path, "candidate: examples.my_gru:forward\n")
    assert spec.candidate == CandidateOptions(function="examples.my_gru:forward", line=9)
    assert spec.torch is None


def test_candidate_as_a_mapping(tmp_path: Path) -> None:
    (spec,) = load(
        tmp_path,
        """\
        candidate:
          function: ports.gru:forward
          layer: 0
          expect: mismatch
          diagnosis: [inverted_update, carried_state]
        """,
    )
    assert spec.candidate == CandidateOptions(
        function="ports.gru:forward",
        layer=0,
        expect="mismatch",
        diagnosis=("inverted_update", "carried_state"),
        line=9,
    )


def test_candidate_keys_do_not_change_the_content_hash(tmp_path: Path) -> None:
    (plain,) = load(tmp_path, "")
    (with_candidate,) = load(tmp_path, "candidate: a.b:c\ntorch: true\n")
    assert plain.content_hash == with_candidate.content_hash


def test_candidate_layer_may_vary_in_a_matrix(tmp_path: Path) -> None:
    specs = load(
        tmp_path,
        "candidate: {function: a.b:c, layer: 0}\nmatrix:\n  candidate.layer: [0, gru]\n",
    )
    assert [(s.id, s.candidate.layer) for s in specs] == [
        ("x[layer=0]", 0),
        ("x[layer=gru]", "gru"),
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "candidate: examples/my_gru.py\n",
            "specs/x.yaml:9:12: candidate: expected package.module:function, such as"
            " examples.my_gru:forward, got 'examples/my_gru.py'",
        ),
        (
            "candidate: {function: a.b:c, layer: 1}\n",
            "specs/x.yaml:9:37: candidate.layer: model[1] is a Dense; a candidate implements a"
            " recurrent layer (GRU, LSTM, SimpleRNN or a Bidirectional one)",
        ),
        (
            "candidate: {function: a.b:c, layer: 4}\n",
            "specs/x.yaml:9:37: candidate.layer: the model has 2 layers; no layer 4",
        ),
        (
            "candidate: {function: a.b:c, expect: mismatch, diagnosis: [inverted_updat]}\n",
            "specs/x.yaml:9:60: candidate.diagnosis[0]: unknown mistake 'inverted_updat'; did"
            " you mean 'inverted_update'?",
        ),
        (
            "candidate: {function: a.b:c, diagnosis: [inverted_update]}\n",
            "specs/x.yaml:9:30: candidate.diagnosis: applies with expect: mismatch only",
        ),
        (
            "candidate: {function: a.b:c, expect: fail}\n",
            "specs/x.yaml:9:38: candidate.expect: expected one of match, mismatch, got 'fail'",
        ),
        (
            "candidate: {layer: 0}\n",
            "specs/x.yaml:9:12: candidate: missing required key 'function'",
        ),
        (
            "candidate: {function: a.b:c, layers: 0}\n",
            "specs/x.yaml:9:30: candidate: unknown key 'layers'; did you mean 'layer'?",
        ),
    ],
)
def test_candidate_errors(tmp_path: Path, extra: str, message: str) -> None:
    assert error_of(tmp_path, extra) == message


# ---------------------------------------------------------------------- with Keras


@pytest.mark.keras
def test_the_bundled_notebook_candidate_is_diagnosed_with_its_three_bugs() -> None:
    keras = pytest.importorskip("keras")
    from pytest_rnnparity.check.spec_run import run_spec, spec_tolerances
    from pytest_rnnparity.report.diagnosis import within

    (spec,) = load_specs(REPO / "specs" / "notebook_candidate.yaml", root=REPO)
    assert spec.candidate is not None
    try:
        run = run_spec(spec, root=REPO)
    finally:
        keras.backend.clear_session()
    assert run.parity.ok
    function = load_candidate(spec.candidate.function, root=REPO)
    result = compare_candidate(
        function,
        run.parity.layers,
        run.parity.reference,
        run.parity.inputs,
        name=spec.candidate.function,
        tolerances=spec_tolerances(spec),
        layer_classes=run.parity.layer_classes,
    )
    assert not result.ok
    ((_, diagnosis),) = result.diagnoses
    assert diagnosis.mistakes == ("reset_before", "inverted_update", "carried_state")
    assert diagnosis.mistakes == spec.candidate.diagnosis
    assert diagnosis.found[0].max_abs < 1e-6
    assert diagnosis_sentence(diagnosis) == (
        f"Diagnosis: the candidate matches Keras {within(diagnosis.found[0].max_abs)} if the"
        " reset gate is applied to h_tm1 before the matmul with the recurrent bias row dropped"
        " (reset_after=True ignored), the update convention is inverted and the state is"
        " carried from one window into the next."
    )
    # the notebook's 0.47-style disagreement, from the first window on
    assert result.comparisons[-1].max_abs > 0.1


@pytest.mark.keras
def test_check_candidate_against_a_keras_model() -> None:
    keras = pytest.importorskip("keras")
    from pytest_rnnparity import check_candidate

    model = keras.Sequential([keras.Input((3, 2)), keras.layers.LSTM(3), keras.layers.Dense(1)])
    rng = np.random.default_rng(0)
    model.set_weights(
        [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in model.get_weights()]
    )
    x = rng.normal(size=(4, 3, 2)).astype("float32")
    try:
        result = check_candidate(model, x, "examples.correct_rnn:forward")
        assert result.ok
        with pytest.raises(ParityError) as caught:
            check_candidate(model, x, partial(port, mistakes={"forget_bias"}), name="mine")
    finally:
        keras.backend.clear_session()
    message = str(caught.value)
    assert message.startswith("The candidate mine and the float32 reference disagree")
    assert "Diagnosis: the candidate matches Keras within " in message
    assert "1 is added to the forget gate's bias (TensorFlow 1's forget_bias)." in message


CANDIDATES = """\
import numpy as np
from functools import partial
from ported_rnn import port

swapped = partial(port, mistakes={"swap_zr", "inverted_update"})
"""


FIXTURE_TEST = """\
from functools import partial

import keras
import numpy as np
import pytest
from ported_rnn import port

from pytest_rnnparity import ParityError


def test_candidate_fixture(rnn_parity):
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.GRU(3), keras.layers.Dense(1)])
    rng = np.random.default_rng(0)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape) for w in model.get_weights()])
    x = rng.normal(size=(4, 3, 2)).astype("float32")
    assert rnn_parity.check_candidate(model, x, "examples.correct_rnn:forward").ok
    with pytest.raises(ParityError, match="if the update convention is inverted"):
        rnn_parity.check_candidate(model, x, partial(port, mistakes={"inverted_update"}))
"""


@pytest.mark.keras
def test_pytest_runs_candidate_items(pytester: pytest.Pytester) -> None:
    pytest.importorskip("keras")
    for module in (
        "pytest_rnnparity.collection.nodes",
        "pytest_rnnparity.collection.port_items",
        "pytest_rnnparity.collection.fixture",
        "pytest_rnnparity.check.candidate",
    ):
        importlib.import_module(module)
    pytester.makeini("[pytest]\naddopts = -p no:hypothesispytest\n")
    (pytester.path / "ported_rnn.py").write_text(
        (Path(__file__).parent / "ported_rnn.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    pytester.makepyfile(ports=CANDIDATES)
    (pytester.path / "examples").mkdir()
    for name in ("notebook_gru.py", "correct_rnn.py"):
        (pytester.path / "examples" / name).write_text(
            (REPO / "examples" / name).read_text(encoding="utf-8"), encoding="utf-8"
        )
    specs = pytester.path / "specs"
    specs.mkdir()
    notebook = (REPO / "specs" / "notebook_candidate.yaml").read_text(encoding="utf-8")
    notebook = notebook.replace("torch: true", "").replace("name: notebook-candidate", "name: nb")
    (specs / "notebook.yaml").write_text(notebook, encoding="utf-8")
    base = SPEC.replace("{units: 2}", "{units: 3}") + "seed: 3\n"
    (specs / "broken.yaml").write_text(base + "candidate: ports:swapped\n", encoding="utf-8")
    (specs / "good.yaml").write_text(
        base + "candidate: examples.correct_rnn:forward\n", encoding="utf-8"
    )
    (specs / "missing.yaml").write_text(base + "candidate: ports:nothing\n", encoding="utf-8")
    pytester.makepyfile(test_fixture=FIXTURE_TEST)
    result = pytester.runpytest(
        "--rnn-parity", "specs", "test_fixture.py", "-k", "candidate", "-rP",
        "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(passed=3, failed=2, deselected=8)
    result.stdout.fnmatch_lines(
        [
            "*_ broken::candidate _*",
            "The candidate ports:swapped and the float32 reference disagree in 1 of 1 checks.",
            "First: layer 'gru' (GRU, layer 1 of 2), hidden state (every timestep)",
            "Diagnosis: the candidate matches Keras * if z and r are swapped (PyTorch's"
            " gate order r, z, n) and the update convention is inverted.",
            "  (mistakes: swap_zr, inverted_update; * combinations of the reference tried)",
            "(spec 'broken' at specs/broken.yaml:6)",
            "*_ missing::candidate _*",
            "specs/missing.yaml:10:12: candidate: module 'ports' has no attribute 'nothing'",
            "*- Captured diagnosis (forward) call -*",
            "Diagnosis: the candidate matches Keras within 1e-07 if the reset gate is applied*",
        ]
    )


@pytest.mark.parametrize(
    ("extra", "valid"),
    [
        ("candidate: examples.my_gru:forward\n", True),
        (
            "candidate: {function: a.b:c, layer: gru, expect: mismatch, diagnosis: [swap_zr]}\n",
            True,
        ),
        ("candidate: {function: a.b:c, layer: 1}\ntorch: {tolerance: {atol: 1.0e-5}}\n", True),
        ("torch: false\n", True),
        ("candidate: examples/my_gru.py\n", False),
        ("candidate: {layer: 0}\n", False),
        ("candidate: {function: a.b:c, diagnosis: [swap_rz]}\n", False),
        ("torch: {atol: 1.0e-5}\n", False),
    ],
)
def test_the_schema_knows_candidate_and_torch(extra: str, valid: bool) -> None:
    from ..spec.json_schema import schema_accepts

    assert schema_accepts(SPEC + extra) is valid
