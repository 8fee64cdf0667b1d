"""What ``--rnn-parity`` collects: the specs beside pytest's own tests, never instead of them.

``--rnn-parity`` adds the spec items to what pytest collects anyway, as pytest-mypy adds
its checks: with no path given, pytest's default (``testpaths``, or the current
directory) plus the spec directories; with paths, what they hold. Written in ``addopts``
it changes nothing else. Also: node ids and junit names of variants and execution paths,
and the commands messages suggest, run from where pytest was started.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from .conftest import INI, assert_lines, collected, golden_path, run, spec_text, write_spec

pytestmark = pytest.mark.keras

PLAIN_TESTS = """\
def test_one():
    pass


def test_two():
    pass
"""
TESTS = ["tests/test_plain.py::test_one", "tests/test_plain.py::test_two"]
SPECS = ["specs/alpha.yaml::alpha::parity", "specs/alpha.yaml::alpha::golden"]


def _project(
    pytester: pytest.Pytester, ini: str = "testpaths = tests\n", *, addopts: bool = False
) -> None:
    """specs/alpha.yaml and tests/test_plain.py, the ini with ``ini`` added (and
    ``--rnn-parity`` in its addopts)."""
    text = INI.replace("addopts = ", "addopts = --rnn-parity ") if addopts else INI
    pytester.makeini(text + ini)
    write_spec(pytester, "alpha")
    pytester.makepyfile(**{"tests/test_plain": PLAIN_TESTS})


@pytest.mark.parametrize(
    ("ini", "addopts"),
    [
        ("testpaths = tests\n", False),
        ("testpaths = tests\n", True),
        ("", False),  # no testpaths: the rootdir, which holds specs/
    ],
    ids=["testpaths", "addopts", "rootdir"],
)
def test_without_paths_the_specs_run_beside_the_tests(
    pytester: pytest.Pytester, ini: str, addopts: bool
) -> None:
    _project(pytester, ini, addopts=addopts)
    args = () if addopts else ("--rnn-parity",)

    result = pytester.runpytest(*args, "--collect-only", "-q")

    assert sorted(collected(result)) == sorted(TESTS + SPECS)


def test_the_header_says_the_specs_come_with_the_tests(pytester: pytest.Pytester) -> None:
    _project(pytester, addopts=True)

    result = pytester.runpytest("--snapshot-update")

    result.assert_outcomes(passed=4)
    result.stdout.re_match_lines(
        [
            r"rnn-parity: specs in specs, collected with pytest's own tests; goldens in golden$",
            r"testpaths: tests$",
            r"tests/test_plain\.py \.\. .*",
            r"specs/alpha\.yaml \.\. .*",
            r"1 spec\(s\), 2 item\(s\): 2 passed$",
        ]
    )


@pytest.mark.parametrize("addopts", [False, True], ids=["option", "addopts"])
def test_paths_given_select_as_they_do_without_the_plugin(
    pytester: pytest.Pytester, addopts: bool
) -> None:
    _project(pytester, addopts=addopts)
    flag = () if addopts else ("--rnn-parity",)

    specs_only = pytester.runpytest(*flag, "specs", "--collect-only", "-q")
    both = pytester.runpytest(*flag, "specs", "tests", "--collect-only", "-q")
    tests_only = pytester.runpytest(*flag, "tests")

    assert collected(specs_only) == SPECS
    assert sorted(collected(both)) == sorted(SPECS + TESTS)
    tests_only.assert_outcomes(passed=2)
    assert_lines(
        tests_only,
        "rnn-parity: specs in specs; the given paths select which run; goldens in golden",
        "no spec ran: the paths given hold none (specs are in specs); pytest --rnn-parity with"
        " no path runs them with the tests",
    )


def test_from_inside_specs_the_specs_of_the_project_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(pytester)
    monkeypatch.chdir(pytester.path / "specs")

    result = run(pytester, "--collect-only", "-q")

    # pytest shows node ids relative to the rootdir, which the ini fixes
    assert collected(result) == SPECS
    assert "specs/specs" not in result.stdout.str()


def test_without_a_configuration_file_inside_specs_is_one_line_naming_the_root(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_spec(pytester, "alpha")
    monkeypatch.chdir(pytester.path / "specs")

    result = run(pytester, "-p", "no:hypothesispytest")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines == [
        f"ERROR: rnn-parity: pytest found no configuration file, so it took the current"
        f" directory {pytester.path / 'specs'} as the rootdir, and it is a spec directory"
        f" itself: run pytest --rnn-parity from {pytester.path}, or give that directory a"
        " pytest.ini",
        "",
    ]


@pytest.mark.parametrize("where", ["specs", "tests"])
def test_the_record_command_works_from_where_pytest_was_started(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    _project(pytester)
    monkeypatch.chdir(pytester.path / where)
    argument = "alpha.yaml" if where == "specs" else "../specs/alpha.yaml"
    command = f"pytest --rnn-parity --snapshot-update {argument}"

    missing = run(pytester, "-k", "golden")

    missing.assert_outcomes(failed=1, deselected=1 if where == "specs" else 3)
    missing.stdout.re_match_lines(
        [rf"golden/alpha/alpha\.golden: no golden file yet for spec 'alpha'\..*{command}$"]
    )
    recorded = pytester.runpytest(*command.split()[1:])
    recorded.assert_outcomes(passed=2)
    assert golden_path(pytester, "alpha").is_file()


# -- node ids and junit ----------------------------------------------------------------

PATHS = "paths:\n  - {unroll: true}\n"
MATRIX = "matrix:\n  model[0].GRU.units: [2, 3]\n"


def _junit_names(junit: str) -> list[tuple[str, str]]:
    root = ET.fromstring(junit)
    return [(case.get("classname", ""), case.get("name", "")) for case in root.iter("testcase")]


def test_variants_and_paths_end_the_node_id_as_parameters_do(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    write_spec(pytester, "alpha", PATHS)  # plain, and a path
    write_spec(pytester, "grid", MATRIX + PATHS)  # a variant, and a variant with a path

    result = run(pytester, "--collect-only", "-q")

    assert collected(result) == [
        "specs/alpha.yaml::alpha::parity",
        "specs/alpha.yaml::alpha::golden",
        "specs/alpha.yaml::alpha::parity[unroll=true]",
        "specs/grid.yaml::grid::parity[units=2]",
        "specs/grid.yaml::grid::golden[units=2]",
        "specs/grid.yaml::grid::parity[units=2-unroll=true]",
        "specs/grid.yaml::grid::parity[units=3]",
        "specs/grid.yaml::grid::golden[units=3]",
        "specs/grid.yaml::grid::parity[units=3-unroll=true]",
    ]
    # a node id names one item; a name without its bracket names every variant
    selected = run(
        pytester,
        "specs/grid.yaml::grid::parity[units=3]",
        "specs/alpha.yaml::alpha::golden",
        "--collect-only",
        "-q",
    )
    assert collected(selected) == [
        "specs/grid.yaml::grid::parity[units=3]",
        "specs/alpha.yaml::alpha::golden",
    ]
    every = run(pytester, "specs/grid.yaml::grid::golden", "--collect-only", "-q")
    assert collected(every) == [
        "specs/grid.yaml::grid::golden[units=2]",
        "specs/grid.yaml::grid::golden[units=3]",
    ]
    keyword = run(
        pytester,
        "-k",
        "grid and not golden and not unroll",
        "--deselect",
        "specs/grid.yaml::grid::parity[units=3]",
        "--collect-only",
        "-q",
    )
    assert collected(keyword) == ["specs/grid.yaml::grid::parity[units=2]"]


def test_junit_has_one_classname_per_spec_and_clean_names(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    write_spec(pytester, "alpha", PATHS)
    write_spec(pytester, "grid", "matrix:\n  model[0].GRU.units: [2]\n" + PATHS)

    result = run(pytester, "--snapshot-update", "--junitxml=junit.xml")

    result.assert_outcomes(passed=6)
    assert _junit_names((pytester.path / "junit.xml").read_text()) == [
        ("specs.alpha.yaml.alpha", "parity"),
        ("specs.alpha.yaml.alpha", "golden"),
        ("specs.alpha.yaml.alpha", "parity[unroll=true]"),
        ("specs.grid.yaml.grid", "parity[units=2]"),
        ("specs.grid.yaml.grid", "golden[units=2]"),
        ("specs.grid.yaml.grid", "parity[units=2-unroll=true]"),
    ]
    # golden file names keep the spec's id
    assert (pytester.path / "golden" / "grid" / "grid[units=2].golden").is_file()


def test_a_refused_mark_is_one_error_item_per_variant(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makefile(
        ".yaml", **{"specs/grid": spec_text("grid", MATRIX + "marks: [unregistered]\n")}
    )

    # --strict-markers given again on the command line: pytest 9.0 ignores it in the
    # ini's addopts (9.2 honours it there)
    result = run(pytester, "--strict-markers", "--junitxml=junit.xml")

    result.assert_outcomes(errors=2)
    assert _junit_names((pytester.path / "junit.xml").read_text()) == [
        ("specs.grid.yaml.grid", "spec[units=2]"),
        ("specs.grid.yaml.grid", "spec[units=3]"),
    ]
