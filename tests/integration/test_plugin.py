"""Whole pytest runs of ``--rnn-parity``: collection, selection, failure output, junit-xml."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from .conftest import (
    BAD_SPEC,
    BAD_SPEC_MESSAGE,
    MODEL_LINE,
    SEEDED_GRU,
    UNSUPPORTED_SPEC,
    assert_lines,
    collected,
    run,
    write_ini,
    write_spec,
)

pytestmark = pytest.mark.keras

MATRIX = """\
matrix:
  model[0].GRU.units: [2, 3]
  model[0].GRU.reset_after: [true, false]
"""


def items(*specs: str, path: str = "specs") -> list[str]:
    """The two node ids of each spec id, as ``--collect-only -q`` lists them."""
    return [
        f"{path}/{spec.split('[')[0]}.yaml::{spec}::{kind}"
        for spec in specs
        for kind in ("parity", "golden")
    ]


# -- collection ------------------------------------------------------------------------


def test_each_spec_gives_a_parity_and_a_golden_item(project: pytest.Pytester) -> None:
    write_spec(project, "alpha")
    write_spec(project, "beta")

    result = run(project, "--collect-only", "-q")

    assert collected(result) == items("alpha", "beta")
    result.stdout.fnmatch_lines(["4 tests collected in *"])


def test_matrix_variants_have_readable_ids(project: pytest.Pytester) -> None:
    write_spec(project, "grid", MATRIX)

    result = run(project, "--collect-only", "-q")

    assert collected(result) == [
        f"specs/grid.yaml::grid::{kind}[{variant}]"
        for variant in (
            "units=2-reset_after=true",
            "units=2-reset_after=false",
            "units=3-reset_after=true",
            "units=3-reset_after=false",
        )
        for kind in ("parity", "golden")
    ]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("beta", items("beta")),
        ("alpha and golden", items("alpha")[1:]),
        ("not parity", [items("alpha")[1], items("beta")[1]]),
    ],
    ids=["spec-name", "spec-and-item", "item-kind"],
)
def test_keyword_selects_specs_and_items(
    project: pytest.Pytester, expression: str, expected: list[str]
) -> None:
    write_spec(project, "alpha")
    write_spec(project, "beta")

    result = run(project, "--collect-only", "-q", "-k", expression)

    assert collected(result) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("slow", items("beta")), ("not slow", items("alpha"))],
    ids=["slow", "not-slow"],
)
def test_marks_of_a_spec_select_with_m(
    project: pytest.Pytester, expression: str, expected: list[str]
) -> None:
    write_spec(project, "alpha")
    write_spec(project, "beta", "marks: [slow]\n")

    result = run(project, "--collect-only", "-q", "-m", expression)

    assert collected(result) == expected


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("specs/alpha.yaml", items("alpha")),
        ("extra/gamma.yaml", items("gamma", path="extra")),
    ],
    ids=["under-spec-paths", "outside-spec-paths"],
)
def test_spec_file_named_on_the_command_line(
    project: pytest.Pytester, argument: str, expected: list[str]
) -> None:
    write_spec(project, "alpha")
    write_spec(project, "beta")
    write_spec(project, "gamma", where="extra")

    result = run(project, "--collect-only", "-q", argument)

    assert collected(result) == expected


def test_ini_spec_paths_replace_the_default(project: pytest.Pytester) -> None:
    write_ini(project, "rnn_parity_paths = checks\n")
    write_spec(project, "alpha")
    write_spec(project, "delta", where="checks")

    result = run(project, "--collect-only", "-q")

    assert collected(result) == items("delta", path="checks")


def test_yaml_outside_the_spec_paths_is_not_collected(project: pytest.Pytester) -> None:
    write_spec(project, "alpha")
    # a spec-shaped file and a CI file: neither is under specs/, so neither is a spec
    write_spec(project, "stray", where="config")
    project.makefile(".yml", **{".github/workflows/ci": "on: [push]\njobs: {}\n"})

    result = run(project, "--collect-only", "-q", ".")

    assert collected(result) == items("alpha")
    assert result.ret == pytest.ExitCode.OK


SESSION_RECORDER = """\
import sys


def pytest_sessionfinish(session):
    imported = [name for name in ("tensorflow", "keras") if name in sys.modules]
    (session.config.rootpath / "imported.txt").write_text(" ".join(imported) or "none")
"""


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ((), ["test_plain.py::test_plain"]),
        # the specs come beside the tests pytest collects anyway
        (("--rnn-parity",), [*items("alpha"), "test_plain.py::test_plain"]),
    ],
    ids=["without-rnn-parity", "rnn-parity-collect-only"],
)
def test_no_tensorflow_import_until_a_spec_runs(
    project: pytest.Pytester, arguments: tuple[str, ...], expected: list[str]
) -> None:
    write_spec(project, "alpha")
    project.makeconftest(SESSION_RECORDER)
    project.makepyfile(test_plain="def test_plain():\n    pass\n")

    result = project.runpytest_subprocess(*arguments, "--collect-only", "-q")

    assert collected(result) == expected
    assert (project.path / "imported.txt").read_text() == "none"


def test_without_rnn_parity_specs_do_not_run(project: pytest.Pytester) -> None:
    write_spec(project, "alpha")
    project.makepyfile(test_plain="def test_plain():\n    pass\n")

    result = project.runpytest()

    result.assert_outcomes(passed=1)
    assert "rnn-parity" not in result.stdout.str()


# -- failure output --------------------------------------------------------------------


@pytest.mark.parametrize("tb", ["auto", "native"])
def test_bad_spec_is_one_located_error_and_the_others_run(
    project: pytest.Pytester, tb: str
) -> None:
    write_spec(project, "alpha")
    project.makefile(".yaml", **{"specs/bad": BAD_SPEC})

    result = run(project, "--snapshot-update", f"--tb={tb}")

    result.assert_outcomes(passed=2, errors=1)
    assert BAD_SPEC_MESSAGE in result.stdout.lines
    result.stdout.re_match_lines([r"ERROR specs/bad\.yaml::spec - .*"])
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "raise SpecError" not in output


INVERTED_GRU = '''\
"""Break the reference: the GRU update rule inverted, h = (1 - z) * h_tm1 + z * hh."""

import pytest

from pytest_rnnparity.reference.recurrent import cells
_monkeypatch = pytest.MonkeyPatch()
_gru_step = cells.gru_step


def inverted_gru_step(matrix_x_t, h_tm1, *args, **kwargs):
    step = _gru_step(matrix_x_t, h_tm1, *args, **kwargs)
    return step._replace(hidden=(1 - step.update) * h_tm1 + step.update * step.candidate)


def pytest_configure(config):
    _monkeypatch.setattr(cells, "gru_step", inverted_gru_step)


def pytest_unconfigure(config):
    _monkeypatch.undo()
'''


def test_parity_failure_names_layer_step_and_spec_line(project: pytest.Pytester) -> None:
    write_spec(project, "alpha")
    project.makeconftest(INVERTED_GRU)

    result = run(project, "-k", "parity")  # the golden item would fail too: none recorded

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["_* alpha::parity _*"])
    assert_lines(
        result,
        "Keras and the float32 reference disagree in 3 of 3 checks.",
        "First: layer 'gru' (GRU, layer 1 of 1), hidden state (every timestep)",
        "  at timestep 0, row 0, unit 0:",
    )
    result.stdout.fnmatch_lines(
        [
            "  Timestep 0 already differs: check the input kernel, the biases, the activations"
            " and the update rule.",
            f"(spec 'alpha' at specs/alpha.yaml:{MODEL_LINE})",
            "FAILED specs/alpha.yaml::alpha::parity - Keras and the float32 *",
        ]
    )
    assert "raise ParityError" not in result.stdout.str()


def test_unsupported_model_fails_its_items_with_one_message(project: pytest.Pytester) -> None:
    write_spec(project, "alpha")
    project.makefile(".yaml", **{"specs/unsupported": UNSUPPORTED_SPEC})

    result = run(project, "-k", "unsupported", "-rs")

    # one mistake, one failure: the golden item is skipped, naming the parity item
    result.assert_outcomes(failed=1, skipped=1, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "_* unsupported::parity _*",
            # the reference has no sparsemax; a Keras older than 3.4 has none either and
            # says so first, at the layer's line
            "*sparsemax*",
            f"(spec 'unsupported' at specs/unsupported.yaml:{MODEL_LINE})",
            f"SKIPPED [[]1[]] specs/unsupported.yaml:{MODEL_LINE}: the spec did not run; "
            "specs/unsupported.yaml::unsupported::parity reports why",
        ]
    )


def test_summary_counts_a_parity_item_whose_model_could_not_run(
    project: pytest.Pytester,
) -> None:
    write_spec(project, "alpha")
    project.makefile(".yaml", **{"specs/unsupported": UNSUPPORTED_SPEC})

    result = run(project, "-k", "parity")

    result.assert_outcomes(passed=1, failed=1)
    assert_lines(result, "2 spec(s), 2 item(s): 1 passed, 1 error")


# -- reports ---------------------------------------------------------------------------


def test_junit_xml_holds_the_spec_items(project: pytest.Pytester) -> None:
    write_spec(project, "alpha")
    project.makefile(".yaml", **{"specs/bad": BAD_SPEC})

    run(project, "--junitxml=report.xml")

    report = ElementTree.parse(project.path / "report.xml")
    outcomes = {"failure", "error", "skipped"}
    cases = {
        (case.get("classname"), case.get("name")): [c.tag for c in case if c.tag in outcomes]
        for case in report.iter("testcase")
    }
    assert cases == {
        ("specs.alpha.yaml.alpha", "parity"): [],
        ("specs.alpha.yaml.alpha", "golden"): ["failure"],
        ("specs.bad.yaml", "spec"): ["error"],
    }
    failure = report.find(".//testcase[@name='golden']/failure")
    assert failure is not None
    assert failure.get("message", "").startswith(
        "golden/alpha/alpha.golden: no golden file yet for spec 'alpha'."
    )


# -- the rnn_parity fixture ------------------------------------------------------------

MODEL_TEST = (
    SEEDED_GRU
    + """

def test_check(rnn_parity):
    result = rnn_parity.check(seeded_gru(), X)
    assert result.ok
"""
)


def test_fixture_check_passes_on_a_seeded_model(project: pytest.Pytester) -> None:
    project.makepyfile(test_model=MODEL_TEST)

    result = project.runpytest()

    result.assert_outcomes(passed=1)
