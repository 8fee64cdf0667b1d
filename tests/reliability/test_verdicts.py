"""Wrong verdicts (issue 17, cases 4-6, 12, 13): a spec is green only when its model is.

Matrix variants never share a node id or a golden; NaN or inf never passes parity and
never enters a golden silently; a drift report never shows ``0.00e+00`` for a change; a
candidate's garbage output is one clear error; a saved model whose input does not fit the
spec is a located error before Keras runs.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_rnnparity.check.finite import NonFinite, NonFiniteValue
from pytest_rnnparity.cli.main import main
from pytest_rnnparity.errors import ParityError
from pytest_rnnparity.golden.document import tolerance_of
from pytest_rnnparity.golden.drift import compare_goldens
from pytest_rnnparity.golden.format import Golden, golden_array
from pytest_rnnparity.report.drift import drift_message
from pytest_rnnparity.report.parity import non_finite_origin
from pytest_rnnparity.spec.matrix import expand_matrix
from pytest_rnnparity.spec.reader import Reader
from pytest_rnnparity.spec.yaml_loader import parse_yaml

from .conftest import FUZZ, good_spec
from .test_golden_safety import update

# -- case 4: variant ids are unique by construction ---------------------------------

#: The issue's spec: ids joined with '-' let a value holding '-description=' pass for the
#: next label, so two variants got the id path=data%2Fa.csv-description=b-description=c.
CLASHING_MATRIX = """\
name: mx
data:
  csv: {path: data/a.csv, features: [x], target: y}
  scale: none
lookback: 2
model:
  - GRU: {units: 2}
matrix:
  data.csv.path: [data/a.csv, data/a.csv-description=b]
  description: ["b-description=c", "c"]
"""
CSV = "x,y\n0.1,1\n0.5,2\n-0.3,3\n0.8,4\n0.2,5\n"


def test_values_holding_the_separator_give_distinct_ids_and_goldens(
    inner_run: pytest.Pytester,
) -> None:
    project = inner_run.path
    (project / "specs" / "data").mkdir(parents=True)
    (project / "specs" / "mx.yaml").write_text(CLASHING_MATRIX, encoding="utf-8")
    for name in ("a.csv", "a.csv-description=b"):
        (project / "specs" / "data" / name).write_text(CSV, encoding="utf-8")

    result = update(inner_run)

    result.assert_outcomes(passed=8)
    assert sorted(p.name for p in (project / "golden" / "mx").iterdir()) == [
        f"mx[{variant}].golden"
        for variant in sorted(
            [
                "path=data%2Fa.csv-description=b-description%3Dc",
                "path=data%2Fa.csv-description=c",
                "path=data%2Fa.csv-description%3Db-description=b-description%3Dc",
                "path=data%2Fa.csv-description%3Db-description=c",
            ]
        )
    ]
    # a second update changes nothing: the spec is green, and stays so
    before = {p: p.read_bytes() for p in (project / "golden" / "mx").iterdir()}
    update(inner_run).assert_outcomes(passed=8)
    assert {p: p.read_bytes() for p in (project / "golden" / "mx").iterdir()} == before


#: Values made of the characters an id is built from, so that clashes are likely.
ID_TEXT = st.text(alphabet="ab-=:%/", min_size=1, max_size=6)


@FUZZ
@given(
    first=st.lists(ID_TEXT, min_size=1, max_size=4, unique=True),
    second=st.lists(ID_TEXT, min_size=1, max_size=4, unique=True),
    names=st.sampled_from([("description", "name"), ("name", "description")]),
)
def test_every_variant_of_a_file_has_its_own_id(
    first: list[str], second: list[str], names: tuple[str, str]
) -> None:
    matrix = dict(zip(names, [first, second], strict=True))
    document = {"data": {}, "lookback": 1, "model": [], "matrix": matrix}
    located = parse_yaml(json.dumps(document), path="x.yaml")
    variants = expand_matrix(located, Reader(located, display="x.yaml", variant=None))

    ids = [variant for variant, _ in variants]
    assert len(set(ids)) == len(ids) == len(first) * len(second)
    assert all("/" not in variant and "::" not in variant for variant in ids if variant)


# -- case 5: NaN or inf never passes parity, and never enters a golden -----------------


def write_nan_weights(keras: ModuleType, path: Path) -> None:
    """GRU(3) + Dense(1) weights for two features, one GRU kernel weight NaN."""
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.GRU(3), keras.layers.Dense(1)])
    rng = np.random.default_rng(0)
    weights = [rng.uniform(-0.5, 0.5, w.shape) for w in model.get_weights()]
    weights[0][0, 0] = np.nan
    model.set_weights(weights)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(path)
    keras.backend.clear_session()


def test_weights_holding_nan_fail_parity_saying_where_and_record_no_golden(
    inner_run: pytest.Pytester, keras_loaded: ModuleType
) -> None:
    project = inner_run.path
    write_nan_weights(keras_loaded, project / "specs" / "weights" / "nan.weights.h5")
    spec = good_spec("nan", extra="weights: {path: weights/nan.weights.h5}\n")
    (project / "specs" / "nan.yaml").write_text(spec, encoding="utf-8")

    result = update(inner_run, "-rs")

    result.assert_outcomes(failed=1, skipped=1)
    failure = result.reprec.getfailures()[0]  # type: ignore[attr-defined]
    assert failure.nodeid == "specs/nan.yaml::nan::parity"
    assert failure.longreprtext.splitlines() == [
        "Keras and the float32 reference compute NaN or inf: a model that does never passes"
        " parity.",
        "First: layer 'gru' (GRU, layer 1 of 2), hidden state (every timestep)",
        "  at timestep 0, row 0, unit 0:",
        "    Keras      nan",
        "    reference  nan",
        "The weights hold NaN or inf: layer 'gru' (1 of 63 values); the inputs are finite.",
        "(spec 'nan' at specs/nan.yaml:7)",
    ]
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [1] specs/nan.yaml:7: the model computes NaN or inf;"
            " specs/nan.yaml::nan::parity reports where"
        ]
    )
    assert not (project / "golden").exists()


def test_nan_inputs_are_named_as_the_origin(keras_loaded: ModuleType) -> None:
    from pytest_rnnparity import check_parity

    keras_loaded.backend.clear_session()
    model = keras_loaded.Sequential([keras_loaded.Input((2, 1)), keras_loaded.layers.GRU(3)])
    rng = np.random.default_rng(0)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape) for w in model.get_weights()])
    x = rng.uniform(0, 1, (4, 2, 1)).astype("float32")
    x[1, 1, 0] = np.nan

    with pytest.raises(ParityError) as raised:
        check_parity(model, x)

    assert str(raised.value).splitlines() == [
        "Keras and the float32 reference compute NaN or inf: a model that does never passes"
        " parity.",
        "First: layer 'gru' (GRU, layer 1 of 1), hidden state (every timestep)",
        "  at timestep 1, row 1, unit 0:",
        "    Keras      nan",
        "    reference  nan",
        "The inputs hold NaN or inf, first at row 1, timestep 1, feature 0; the weights are"
        " finite.",
    ]
    result = check_parity(model, x, raise_on_mismatch=False)
    assert not result.ok
    assert all(c.ok for c in result.comparisons)  # NaN agrees with NaN: only this check fails


@pytest.mark.parametrize(
    ("weights", "inputs", "origin"),
    [
        (
            (),
            None,
            "The weights and the inputs are finite: the model produces the NaN or inf"
            " itself (an overflow, a division by zero).",
        ),
        (
            (("gru", 2, 54), ("dense", 1, 4)),
            (0, 3, 1),
            "The weights hold NaN or inf: layer"
            " 'gru' (2 of 54 values), layer 'dense' (1 of 4 values); so do the inputs, first at"
            " row 0, timestep 3, feature 1.",
        ),
    ],
    ids=["neither", "both"],
)
def test_the_origin_of_a_nan_is_said_plainly(
    weights: tuple[tuple[str, int, int], ...], inputs: tuple[int, ...] | None, origin: str
) -> None:
    first = NonFiniteValue("gru", "hidden", None, ("row", "timestep", "unit"), (0, 0, 0), 1.0, 2.0)
    assert non_finite_origin(NonFinite(first, weights=weights, inputs=inputs)) == origin


FIXTURE_NAN_TEST = """\
import keras
import numpy as np


def test_nan(rnn_parity):
    model = keras.Sequential([keras.Input((2, 1)), keras.layers.GRU(2)])
    rng = np.random.default_rng(0)
    weights = [rng.uniform(-0.5, 0.5, w.shape) for w in model.get_weights()]
    weights[1][0, 0] = np.inf
    weights[0][0, 0] = np.nan
    model.set_weights(weights)
    result = rnn_parity.check(model, np.ones((2, 2, 1), "float32"), raise_on_mismatch=False)
    rnn_parity.snapshot(result)
"""


def test_the_fixture_never_records_a_golden_holding_nan(inner_run: pytest.Pytester) -> None:
    (inner_run.path / "test_nan.py").write_text(FIXTURE_NAN_TEST, encoding="utf-8")

    result = inner_run.runpytest_inprocess("--snapshot-update", "test_nan.py")

    result.assert_outcomes(failed=1)
    failure = result.reprec.getfailures()[0]  # type: ignore[attr-defined]
    assert failure.longrepr.reprcrash.message == (  # type: ignore[union-attr]
        "pytest_rnnparity.errors.GoldenError: __goldens__/test_nan/test_nan.golden: neither"
        " compared nor recorded: the run holds NaN or inf in 5 array(s), first"
        " keras/gru/output; a golden never stores them"
    )
    assert not (inner_run.path / "__goldens__").exists()


# -- case 6: the drift table never shows 0.00e+00 for a change -----------------------


def _golden(values: np.ndarray) -> Golden:
    return Golden(
        meta={"spec": "x", "atol": "1e-06", "rtol": "1e-05"},
        environment={"keras": "3.15.1"},
        arrays={
            "keras/gru/output": golden_array(values, rows=3, summaries=False),
            "reference/gru/forward/hidden": golden_array(values, rows=3, summaries=False),
        },
    )


def test_the_drift_table_shows_nan_and_shape_changes_as_such() -> None:
    values = np.linspace(-1, 1, 8, dtype=np.float32).reshape(4, 2)
    recorded_values = values.copy()
    recorded_values[0, 1] = np.nan
    recorded = _golden(recorded_values)
    current = _golden(values)
    current = Golden(
        meta=current.meta,
        environment=current.environment,
        arrays={
            **current.arrays,
            "reference/gru/forward/hidden": golden_array(
                np.zeros((4, 3), np.float32), rows=3, summaries=False
            ),
        },
    )
    drift = compare_goldens(recorded, current, tolerance_of(current))

    lines = drift_message(recorded, current, drift, golden_path="g.golden", update_command="u")

    assert lines.splitlines()[2:] == [
        "Shapes changed (1 array(s)):",
        "  reference/gru/forward/hidden: 4x2 -> 4x3",
        "First: Keras outputs, gru/output, at row 0, unit 1:",
        "  recorded  nan",
        "  now       -0.714285731",
        "  abs error nan, rel error nan (tolerance atol=1e-06, rtol=1e-05)",
        "1 of 1 compared blocks moved:",
        "  part           array       block  max abs  moved",
        "  Keras outputs  gru/output  rows   nan      1/6",
        "If the change is expected, re-record: u",
    ]


# -- case 12: a candidate's garbage output is one clear error of ours ---------------

GARBAGE_CANDIDATES = """\
import numpy as np


def ragged(weights, inputs, initial_state):
    batch, time = inputs.shape[:2]
    return [[[0.0] * (1 + step) for step in range(time)] for _ in range(batch)]


def objects(weights, inputs, initial_state):
    batch, time = inputs.shape[:2]
    units = weights.units
    return np.full((batch, time, units), None, dtype=object)


def complex_numbers(weights, inputs, initial_state):
    batch, time = inputs.shape[:2]
    return np.zeros((batch, time, weights.units)) + 1j
"""


def test_a_candidate_returning_garbage_fails_with_one_line_of_ours(
    inner_run: pytest.Pytester,
) -> None:
    project = inner_run.path
    (project / "garbage_ports.py").write_text(GARBAGE_CANDIDATES, encoding="utf-8")
    matrix = (
        "candidate: garbage_ports:ragged\n"
        "matrix:\n  candidate: [garbage_ports:ragged, garbage_ports:objects,"
        " garbage_ports:complex_numbers]\n"
    )
    (project / "specs").mkdir()
    (project / "specs" / "port.yaml").write_text(good_spec("port", extra=matrix), "utf-8")

    result = update(inner_run)

    result.assert_outcomes(passed=6, failed=3)
    wanted = "expected real numbers of shape (batch, time, units) = (8, 6, 3)"
    failures = {r.nodeid: r.longreprtext for r in result.reprec.getfailures()}  # type: ignore[attr-defined]
    assert failures == {
        "specs/port.yaml::port::candidate[candidate=garbage_ports:ragged]": (
            "the candidate returned 'hidden' as a ragged sequence (its rows differ in length);"
            f" {wanted}\n(spec 'port[candidate=garbage_ports:ragged]' at specs/port.yaml:7)"
        ),
        "specs/port.yaml::port::candidate[candidate=garbage_ports:objects]": (
            f"the candidate returned 'hidden' as an array of dtype object; {wanted}\n"
            "(spec 'port[candidate=garbage_ports:objects]' at specs/port.yaml:7)"
        ),
        "specs/port.yaml::port::candidate[candidate=garbage_ports:complex_numbers]": (
            f"the candidate returned 'hidden' as complex numbers; {wanted}\n"
            "(spec 'port[candidate=garbage_ports:complex_numbers]' at specs/port.yaml:7)"
        ),
    }


# -- case 13: a saved model whose input does not fit the spec ----------------------

SAVED_SPEC = """\
name: saved
data:
  synthetic: {kind: sine, length: 14, features: 3}
lookback: 4
model: {path: models/gru_10x3.{suffix}}
"""


def write_saved_model(keras: ModuleType, path: Path) -> None:
    """A GRU(2) + Dense(1) model taking windows of 10 steps of 3 features."""
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((10, 3)), keras.layers.GRU(2), keras.layers.Dense(1)])
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras calls .h5 a legacy format
        model.save(path)
    keras.backend.clear_session()


def test_a_model_read_only_by_keras_is_checked_before_keras_runs(
    inner_run: pytest.Pytester, keras_loaded: ModuleType
) -> None:
    """An .h5 model's input is known only once Keras loads it: the parity item fails at
    the spec's line (no Keras traceback), and the golden item is skipped naming it."""
    project = inner_run.path
    write_saved_model(keras_loaded, project / "specs" / "models" / "gru_10x3.h5")
    (project / "specs" / "saved.yaml").write_text(SAVED_SPEC.replace("{suffix}", "h5"), "utf-8")

    result = update(inner_run, "-rs")

    result.assert_outcomes(failed=1, skipped=1)
    failure = result.reprec.getfailures()[0]  # type: ignore[attr-defined]
    assert failure.nodeid == "specs/saved.yaml::saved::parity"
    assert failure.longreprtext.splitlines() == [
        "specs/saved.yaml:4:11: lookback: the model specs/models/gru_10x3.h5 takes windows of"
        " 10 steps (input shape (None, 10, 3)), but lookback is 4",
        "(spec 'saved' at specs/saved.yaml:5)",
    ]
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [1] specs/saved.yaml:5: the spec did not run;"
            " specs/saved.yaml::saved::parity reports why"
        ]
    )
    assert "rnnparity_trace" not in result.stdout.str()


@pytest.mark.parametrize("suffix", ["keras", "h5"])
def test_validate_checks_a_saved_model_input_or_says_what_will(
    keras_loaded: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    suffix: str,
) -> None:
    write_saved_model(keras_loaded, tmp_path / "specs" / "models" / f"gru_10x3.{suffix}")
    (tmp_path / "specs" / "saved.yaml").write_text(SAVED_SPEC.replace("{suffix}", suffix), "utf-8")
    monkeypatch.chdir(tmp_path)

    code = main(["validate", "specs/saved.yaml"])

    assert capsys.readouterr().out.splitlines() == [
        "specs/saved.yaml:4:11: lookback: the model specs/models/gru_10x3.keras takes windows"
        " of 10 steps (input shape (None, 10, 3)), but lookback is 4"
        if suffix == "keras"
        else "ok: specs/saved.yaml (1 variant); the input of specs/models/gru_10x3.h5 cannot"
        " be read without TensorFlow: pytest --rnn-parity checks lookback and features"
        " against it"
    ]
    assert code == (1 if suffix == "keras" else 0)
