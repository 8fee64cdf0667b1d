"""Golden files in whole runs: record, tolerance, drift reports, corrupt files, orphans."""

from __future__ import annotations

import shutil

import pytest

from .conftest import (
    BAD_SPEC,
    MODEL_LINE,
    SEEDED_GRU,
    UNSUPPORTED_SPEC,
    assert_lines,
    fingerprint,
    golden_path,
    goldens,
    perturb,
    run,
    set_entry,
    spec_text,
    write_ini,
    write_spec,
)

pytestmark = pytest.mark.keras

UPDATE_ARRAY = "reference/gru/forward/update"
ORPHANS_KEPT = (
    "they are kept; a full run of `pytest --rnn-parity --snapshot-update` "
    "(every spec directory, no -k, -m, --deselect or --lf) removes them."
)


def record(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    """``pytest --rnn-parity --snapshot-update``: every item passes."""
    result = run(project, "--snapshot-update", *args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    return result


@pytest.fixture
def alpha(project: pytest.Pytester) -> pytest.Pytester:
    """A project with the spec ``alpha`` and its recorded golden."""
    write_spec(project, "alpha")
    record(project)
    return project


# -- record and pass -------------------------------------------------------------------


def test_missing_golden_fails_with_the_command_that_records_it(project: pytest.Pytester) -> None:
    write_spec(project, "alpha")

    result = run(project)

    result.assert_outcomes(passed=1, failed=1)
    assert_lines(
        result,
        "golden/alpha/alpha.golden: no golden file yet for spec 'alpha'. "
        "Record it with: pytest --rnn-parity --snapshot-update specs/alpha.yaml",
        f"(spec 'alpha' at specs/alpha.yaml:{MODEL_LINE})",
    )
    assert not (project.path / "golden").exists()


def test_update_records_the_golden_and_the_next_run_passes(project: pytest.Pytester) -> None:
    write_spec(project, "alpha")

    result = record(project)

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["1 snapshot generated."])
    golden = golden_path(project, "alpha")
    lines = golden.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# pytest-rnnparity golden, format 1"
    assert {"spec = alpha", "spec_file = specs/alpha.yaml", f"[array {UPDATE_ARRAY}]"} <= set(lines)
    before = fingerprint(golden)

    result = run(project)

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["1 snapshot passed."])
    assert fingerprint(golden) == before


def test_ini_keys_place_specs_and_goldens(project: pytest.Pytester) -> None:
    write_ini(project, "rnn_parity_paths = checks\nrnn_parity_golden_dir = expected\n")
    write_spec(project, "delta", where="checks")

    result = record(project)

    assert_lines(
        result,
        "rnn-parity: specs in checks, collected with pytest's own tests; goldens in expected",
    )
    assert (project.path / "expected" / "delta" / "delta.golden").is_file()
    assert not (project.path / "golden").exists()


KERAS_USE_BEFORE = {
    "python-test": "import keras\n\n\ndef test_builds_a_gru():\n    keras.layers.GRU(2)\n",
    "unsupported-spec": UNSUPPORTED_SPEC,
}


@pytest.mark.parametrize("before", list(KERAS_USE_BEFORE))
def test_spec_golden_does_not_depend_on_keras_use_before_it(
    project: pytest.Pytester, before: str
) -> None:
    write_spec(project, "alpha")
    record(project)
    if before == "python-test":
        project.makepyfile(test_before=KERAS_USE_BEFORE[before])
        result = run(project, "test_before.py", "specs/alpha.yaml")
        result.assert_outcomes(passed=3)
    else:
        project.makefile(".yaml", **{"specs/0_unsupported": KERAS_USE_BEFORE[before]})
        result = run(project)
        result.assert_outcomes(passed=2, failed=1, skipped=1)
    assert "specs/alpha.yaml::alpha::golden" not in result.stdout.str()


# -- tolerance and drift ---------------------------------------------------------------


def test_change_within_tolerance_passes_and_is_never_rewritten(alpha: pytest.Pytester) -> None:
    golden = golden_path(alpha, "alpha")
    perturb(golden, UPDATE_ARRAY, "row 0 t 0", unit=0, delta=3e-7)
    set_entry(golden, "tensorflow", "2.15.0")
    before = fingerprint(golden)

    run(alpha).assert_outcomes(passed=2)
    run(alpha, "--snapshot-update").assert_outcomes(passed=2)

    assert fingerprint(golden) == before


def test_drift_beyond_tolerance_names_array_values_and_versions(alpha: pytest.Pytester) -> None:
    golden = golden_path(alpha, "alpha")
    original = golden.read_bytes()
    tensorflow = set_entry(golden, "tensorflow", "2.15.0")
    keras = set_entry(golden, "keras", "3.0.1")
    moved = perturb(golden, UPDATE_ARRAY, "row 1 t 1", unit=1, delta=0.1)

    result = run(alpha)

    result.assert_outcomes(passed=1, failed=1)
    assert_lines(
        result,
        "Golden drift: the run no longer matches golden/alpha/alpha.golden.",
        f"Recorded under TensorFlow 2.15.0 / Keras 3.0.1 (tensorflow backend), "
        f"now TensorFlow {tensorflow} / Keras {keras} (tensorflow backend).",
        f"Environment changes: keras: 3.0.1 -> {keras}; tensorflow: 2.15.0 -> {tensorflow}.",
        "First: reference trace, gru/forward/update, at timestep 1, row 1, unit 1:",
        f"  recorded  {moved.recorded}",
        f"  now       {moved.now}",
    )
    result.stdout.fnmatch_lines(
        [
            "  abs error 1.00e-01, rel error *e-01 (tolerance atol=1e-05, rtol=1e-05)",
            "1 of * compared blocks moved:",
            "  part             array               block  max abs   moved",
            "  reference trace  gru/forward/update  rows   1.00e-01  1/12",
            "If the change is expected, re-record: "
            "pytest --rnn-parity --snapshot-update specs/alpha.yaml",
            f"(spec 'alpha' at specs/alpha.yaml:{MODEL_LINE})",
        ]
    )

    record(alpha)

    assert golden.read_bytes() == original


# -- partial runs never touch the other goldens ----------------------------------------


@pytest.mark.parametrize(
    ("selection", "passed"),
    [
        (("-k", "alpha"), 2),
        (("specs/alpha.yaml",), 2),
        (("-m", "not slow"), 2),
        (("--deselect", "specs/beta.yaml::beta"), 2),
        (("--lf",), 1),
    ],
    ids=["keyword", "spec-path", "mark", "deselect", "last-failed"],
)
def test_partial_update_leaves_other_goldens_alone(
    project: pytest.Pytester, selection: tuple[str, ...], passed: int
) -> None:
    write_spec(project, "alpha")
    write_spec(project, "beta", "marks: [slow]\n")
    record(project)
    # beta's golden drifted (a full update would rewrite it), gone's spec is gone (a full
    # update would delete it), and alpha's golden is missing (this update records it)
    perturb(golden_path(project, "beta"), UPDATE_ARRAY, "row 0 t 0", unit=0, delta=0.1)
    orphan = project.path / "golden" / "gone" / "gone.golden"
    orphan.parent.mkdir()
    shutil.copy(golden_path(project, "beta"), orphan)
    golden_path(project, "alpha").unlink()
    if selection == ("--lf",):
        run(project, "-k", "alpha").assert_outcomes(passed=1, failed=1, deselected=2)
    others = goldens(project)

    result = run(project, "--snapshot-update", *selection)

    result.assert_outcomes(passed=passed)
    assert golden_path(project, "alpha").is_file()
    after = goldens(project)
    del after["golden/alpha/alpha.golden"]
    assert after == others
    assert_lines(result, "golden/gone/gone.golden: no spec file specs/gone.yaml", ORPHANS_KEPT)


def test_orphans_are_listed_and_only_a_full_update_removes_them(project: pytest.Pytester) -> None:
    project.makefile(".yaml", **{"specs/alpha": spec_text("old-alpha")})
    write_spec(project, "beta")
    write_spec(project, "gone")
    record(project)
    write_spec(project, "alpha")  # renames the spec in specs/alpha.yaml
    (project.path / "specs" / "gone.yaml").unlink()
    gone = golden_path(project, "gone")
    renamed = golden_path(project, "old-alpha", spec_file="alpha")
    listing = (
        "golden/alpha/old-alpha.golden: specs/alpha.yaml has no spec 'old-alpha'",
        "golden/gone/gone.golden: no spec file specs/gone.yaml",
    )

    result = run(project, "--snapshot-update", "-k", "alpha")

    result.assert_outcomes(passed=2, deselected=2)
    result.stdout.fnmatch_lines(["*- rnn-parity goldens without a spec -*"])
    assert_lines(result, *listing, ORPHANS_KEPT)
    assert gone.is_file()
    assert renamed.is_file()

    result = run(project, "--snapshot-update")

    result.assert_outcomes(passed=4)
    assert_lines(result, *listing, "removed 2 golden file(s).")
    assert not gone.parent.exists()
    assert not renamed.exists()
    assert sorted(goldens(project)) == ["golden/alpha/alpha.golden", "golden/beta/beta.golden"]


def test_collect_only_update_removes_no_orphan(project: pytest.Pytester) -> None:
    write_spec(project, "alpha")
    gone = golden_path(project, "gone")
    gone.parent.mkdir(parents=True)
    gone.write_text("# pytest-rnnparity golden, format 1\n", encoding="utf-8")

    result = run(project, "--snapshot-update", "--collect-only")

    assert_lines(result, "golden/gone/gone.golden: no spec file specs/gone.yaml")
    assert gone.is_file()


# -- goldens that cannot be trusted ----------------------------------------------------


def test_corrupt_golden_names_file_and_line_and_is_never_rewritten(
    alpha: pytest.Pytester,
) -> None:
    golden = golden_path(alpha, "alpha")
    with golden.open("a", encoding="utf-8") as stream:
        stream.write("garbage here\n")
    line = len(golden.read_text(encoding="utf-8").splitlines())
    before = fingerprint(golden)
    message = (
        f"golden/alpha/alpha.golden:{line}: corrupt golden file: array '{UPDATE_ARRAY}': "
        "unexpected line 'garbage here'; fix or delete it, then re-record it with "
        "--snapshot-update"
    )

    for args in ((), ("--snapshot-update",)):
        result = run(alpha, *args)

        result.assert_outcomes(passed=1, failed=1)
        assert_lines(result, message, f"(spec 'alpha' at specs/alpha.yaml:{MODEL_LINE})")
        assert fingerprint(golden) == before


def test_golden_of_another_spec_is_refused_and_kept(alpha: pytest.Pytester) -> None:
    golden = golden_path(alpha, "alpha")
    set_entry(golden, "spec", "beta")
    set_entry(golden, "spec_hash", "0" * 64)  # another spec: another content
    before = fingerprint(golden)

    for args in ((), ("--snapshot-update",)):
        result = run(alpha, *args)

        result.assert_outcomes(passed=1, failed=1)
        assert_lines(
            result,
            "golden/alpha/alpha.golden: the golden was recorded for spec 'beta', not 'alpha'",
        )
        assert fingerprint(golden) == before


# -- runners ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "subprocess"),
    [(("-n", "0"), False), (("-p", "xdist", "-n", "2"), True)],
    ids=["plain", "xdist"],
)
def test_runner_modes_record_then_rerun_alike(
    project: pytest.Pytester, arguments: tuple[str, ...], subprocess: bool
) -> None:
    write_spec(project, "alpha")
    write_spec(project, "beta")
    project.makefile(".yaml", **{"specs/bad": BAD_SPEC})
    runner = project.runpytest_subprocess if subprocess else project.runpytest

    result = runner("--rnn-parity", "--snapshot-update", *arguments)

    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["2 snapshots generated."])
    recorded = goldens(project)
    assert sorted(recorded) == ["golden/alpha/alpha.golden", "golden/beta/beta.golden"]

    write_spec(project, "gamma")  # no golden: its golden item fails
    result = runner("--rnn-parity", *arguments)

    result.assert_outcomes(passed=5, failed=1, errors=1)
    result.stdout.fnmatch_lines(["1 snapshot failed. 2 snapshots passed."])
    result.stdout.re_match_lines([r"FAILED specs/gamma\.yaml::gamma::golden - .*"])
    assert goldens(project) == recorded


# -- the rnn_parity fixture ------------------------------------------------------------

SNAPSHOT_TEST = (
    SEEDED_GRU
    + """

def test_snapshot(rnn_parity):
    # named: Keras numbers unnamed layers per process (see the order test below)
    rnn_parity.snapshot(rnn_parity.check(seeded_gru(name="gru"), X))
"""
)


def test_fixture_snapshot_records_then_passes(project: pytest.Pytester) -> None:
    project.makepyfile(test_model=SNAPSHOT_TEST)
    golden = project.path / "__goldens__" / "test_model" / "test_snapshot.golden"

    result = project.runpytest()

    result.assert_outcomes(failed=1)
    assert_lines(
        result,
        "E       pytest_rnnparity.errors.GoldenMissing:"
        " __goldens__/test_model/test_snapshot.golden:"
        " no golden file yet for spec 'test_model.py::test_snapshot'."
        " Record it with: pytest --snapshot-update test_model.py",
    )
    assert not golden.exists()

    project.runpytest("--snapshot-update").assert_outcomes(passed=1)
    assert golden.is_file()
    before = fingerprint(golden)

    project.runpytest().assert_outcomes(passed=1)
    assert fingerprint(golden) == before


TWO_SNAPSHOT_TESTS = (
    SEEDED_GRU
    + """

def test_first(rnn_parity):
    rnn_parity.snapshot(rnn_parity.check(seeded_gru(), X))


def test_second(rnn_parity):
    rnn_parity.snapshot(rnn_parity.check(seeded_gru(), X))
"""
)


def test_fixture_golden_does_not_depend_on_the_tests_run_before(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_model=TWO_SNAPSHOT_TESTS)
    project.runpytest("--snapshot-update").assert_outcomes(passed=2)

    result = project.runpytest("-k", "second")

    result.assert_outcomes(passed=1, deselected=1)
