"""Drift after a spec change: the keys that changed, the shapes, the weights hint that
applies, and a renamed spec told which golden to move. A golden written before goldens
kept their spec still matches and is never rewritten for lacking it."""

from __future__ import annotations

import re

import pytest

from .conftest import MODEL_LINE, fingerprint, golden_path, run, spec_text, write_spec

pytestmark = pytest.mark.keras


def _without_spec_section(text: str) -> str:
    """A golden as written before goldens kept their effective spec."""
    return re.sub(r"\[spec\]\n(?:[^\[].*\n)*", "", text)


def _failure(result: pytest.RunResult) -> list[str]:
    """The lines of the one failure's report."""
    (report,) = [r for r in result.reprec.getreports() if r.failed]  # type: ignore[attr-defined]
    return report.longreprtext.splitlines()


def test_a_spec_change_names_the_keys_and_the_shapes(project: pytest.Pytester) -> None:
    write_spec(project, "alpha")
    run(project, "--snapshot-update").assert_outcomes(passed=2)
    write_spec(project, "alpha").write_text(
        spec_text("alpha").replace("{units: 2}", "{units: 3}"), encoding="utf-8"
    )

    result = run(project, "-k", "golden")

    result.assert_outcomes(failed=1, deselected=1)
    lines = _failure(result)
    weights = re.fullmatch(r".*\(weights_hash (\w+ -> \w+)\).*", lines[4])
    assert weights is not None
    assert lines[2:] == [
        "The spec changed since the golden was recorded:",
        "  model[0].GRU.units: 2 -> 3",
        f"The weights changed since the golden was recorded (weights_hash {weights[1]}):"
        " they follow from the spec keys above, not from the numerics.",
        "Shapes changed (5 array(s)):",
        "  keras/gru/output: 4x2 -> 4x3",
        "  reference/gru/forward/candidate: 4x2x2 -> 4x2x3",
        "  reference/gru/forward/hidden: 4x2x2 -> 4x2x3",
        "  reference/gru/forward/reset: 4x2x2 -> 4x2x3",
        "  reference/gru/forward/update: 4x2x2 -> 4x2x3",
        "If the change is expected, re-record:"
        " pytest --rnn-parity --snapshot-update specs/alpha.yaml",
        f"(spec 'alpha' at specs/alpha.yaml:{MODEL_LINE})",
    ]
    result.stdout.re_match_lines(
        [
            r"shape changed: keras/gru/output 4x2 -> 4x3 and \d more array\(s\)"
            r" \(specs/alpha\.yaml::alpha::golden\)$"
        ]
    )
    assert "largest drift" not in result.stdout.str()  # no value moved: only shapes


def test_a_golden_without_its_spec_matches_and_is_not_rewritten(
    project: pytest.Pytester,
) -> None:
    write_spec(project, "alpha")
    run(project, "--snapshot-update").assert_outcomes(passed=2)
    golden = golden_path(project, "alpha")
    golden.write_text(_without_spec_section(golden.read_text()), encoding="utf-8")
    before = fingerprint(golden)

    run(project, "--snapshot-update").assert_outcomes(passed=2)

    assert fingerprint(golden) == before
    assert "[spec]" not in golden.read_text()
    # a spec change then drifts with the hash alone: the keys are not known
    write_spec(project, "alpha").write_text(
        spec_text("alpha").replace("seed: 1", "seed: 2"), encoding="utf-8"
    )
    result = run(project, "-k", "golden")
    result.assert_outcomes(failed=1, deselected=1)
    lines = _failure(result)
    assert lines[2].startswith("The spec changed since the golden was recorded (spec_hash ")
    assert lines[2].endswith(
        "; the golden does not keep its spec, so which keys changed is not known (a golden"
        " recorded now keeps them); if that was intended, re-record the golden."
    )
    assert lines[3].endswith(
        ", and so did the spec: the weights follow from its model, seed, weights and dtype."
    )
    # re-recorded, it keeps its spec from then on
    run(project, "--snapshot-update").assert_outcomes(passed=2)
    text = golden.read_text()
    assert text.index("[spec]") < text.index("\nseed = 2\n") < text.index("[environment]")


def test_a_renamed_spec_is_told_which_golden_to_move(project: pytest.Pytester) -> None:
    write_spec(project, "alpha")
    run(project, "--snapshot-update").assert_outcomes(passed=2)
    spec = project.path / "specs" / "alpha.yaml"
    spec.rename(project.path / "specs" / "beta.yaml")  # the spec's name follows the file
    text = spec_text("alpha").replace("name: alpha\n", "")
    (project.path / "specs" / "beta.yaml").write_text(text, encoding="utf-8")

    result = run(project, "-k", "golden")

    result.assert_outcomes(failed=1, deselected=1)
    move = "mkdir -p golden/beta && mv golden/alpha/alpha.golden golden/beta/beta.golden"
    assert _failure(result) == [
        "golden/beta/beta.golden: no golden file yet for spec 'beta'.",
        "golden/alpha/alpha.golden was recorded from the same spec content, and its spec is"
        " gone (no spec file specs/alpha.yaml): move it here to keep it,",
        f"  {move}",
        "or record a new one with: pytest --rnn-parity --snapshot-update specs/beta.yaml",
        "(spec 'beta' at specs/beta.yaml:8)",
    ]
    (project.path / "golden" / "beta").mkdir()
    (project.path / "golden" / "alpha" / "alpha.golden").rename(golden_path(project, "beta"))
    moved = fingerprint(golden_path(project, "beta"))
    run(project, "--snapshot-update").assert_outcomes(passed=2)
    assert fingerprint(golden_path(project, "beta")) == moved  # it matches: kept as it is
