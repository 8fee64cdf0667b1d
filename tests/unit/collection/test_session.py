"""collection/session.py: what a session does once: when a run is full, its header, golden
clashes and the end-of-run sections.

Real ``pytest.Config`` objects come from ``pytester.parseconfigure``; the collection test
collects in this process, without running anything (no Keras).
"""

from __future__ import annotations

import pytest

import pytest_rnnparity.collection.nodes  # noqa: F401  (imported before pytester's snapshot)
from pytest_rnnparity.collection.items import GoldenItem
from pytest_rnnparity.collection.session import (
    ORPHANS,
    REPORT,
    header_lines,
    is_full_run,
    refuse_golden_clashes,
    summary_sections,
)
from pytest_rnnparity.golden.orphans import Orphan
from pytest_rnnparity.report.summary import build_report, golden_properties, item_record

SPEC = """\
name: {name}
data:
  features: {{x: [0.1, 0.5, -0.3, 0.8, 0.2, -0.6]}}
  target: {{column: x}}
lookback: 2
model:
  - GRU: {{units: 2}}
"""

KEPT = (
    "they are kept; a full run of `pytest --rnn-parity --snapshot-update` "
    "(every spec directory, no -k, -m, --deselect or --lf) removes them."
)


def session_of(pytester: pytest.Pytester, *args: str, collected: int = 2) -> pytest.Session:
    """A session of ``pytest --rnn-parity *args`` that collected ``collected`` items."""
    pytester.makeini("[pytest]\n")
    (pytester.path / "specs").mkdir(exist_ok=True)
    (pytester.path / "tests").mkdir(exist_ok=True)
    session = pytest.Session.from_config(pytester.parseconfigure("--rnn-parity", *args))
    session.testscollected = collected
    return session


def test_a_passing_run_of_every_spec_is_full(pytester: pytest.Pytester) -> None:
    session = session_of(pytester)
    assert is_full_run(session, pytest.ExitCode.OK)
    assert is_full_run(session, 0)
    assert is_full_run(session_of(pytester, "--snapshot-update"), pytest.ExitCode.OK)


@pytest.mark.parametrize("status", [pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED])
def test_a_run_that_did_not_pass_is_not_full(
    pytester: pytest.Pytester, status: pytest.ExitCode
) -> None:
    assert not is_full_run(session_of(pytester), status)


def test_a_run_that_collected_nothing_is_not_full(pytester: pytest.Pytester) -> None:
    assert not is_full_run(session_of(pytester, collected=0), pytest.ExitCode.OK)


@pytest.mark.parametrize("args", [["specs"], ["specs", "tests"], ["."]])
def test_paths_that_hold_every_spec_directory_make_a_full_run(
    pytester: pytest.Pytester, args: list[str]
) -> None:
    assert is_full_run(session_of(pytester, *args), pytest.ExitCode.OK)


def test_a_spec_directory_that_is_not_there_makes_a_run_partial(pytester: pytest.Pytester) -> None:
    session = session_of(pytester)
    (pytester.path / "specs").rmdir()
    assert not is_full_run(session, pytest.ExitCode.OK)


@pytest.mark.parametrize(
    "args",
    [
        ["specs/power_gru.yaml"],
        ["tests"],
        ["--collect-only"],
        ["-k", "gru"],
        ["-m", "slow"],
        ["--deselect", "specs/x.yaml::x::golden"],
        ["--lf"],
        ["--sw"],
    ],
    ids=[
        "paths",
        "other-paths",
        "collect-only",
        "keyword",
        "markexpr",
        "deselect",
        "last-failed",
        "stepwise",
    ],
)
def test_each_option_that_selects_part_of_the_specs_makes_a_run_partial(
    pytester: pytest.Pytester, args: list[str]
) -> None:
    assert not is_full_run(session_of(pytester, *args), pytest.ExitCode.OK)


def test_header_names_the_spec_paths_and_the_golden_dir(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\n")
    (pytester.path / "specs").mkdir()
    assert header_lines(pytester.parseconfigure("--rnn-parity")) == [
        "rnn-parity: specs in specs, collected with pytest's own tests; goldens in golden"
    ]
    assert header_lines(pytester.parseconfigure("--rnn-parity", "specs")) == [
        "rnn-parity: specs in specs; the given paths select which run; goldens in golden"
    ]
    pytester.makeini(
        "[pytest]\nrnn_parity_paths = checks more/specs\nrnn_parity_golden_dir = expected\n"
    )
    (pytester.path / "checks").mkdir()
    assert header_lines(pytester.parseconfigure("--rnn-parity")) == [
        "rnn-parity: specs in checks, collected with pytest's own tests (more/specs: not found);"
        " goldens in expected"
    ]


def test_header_says_when_no_spec_directory_exists(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\n")
    assert header_lines(pytester.parseconfigure("--rnn-parity")) == [
        "rnn-parity: no spec directory (specs: not found); goldens in golden"
    ]


def test_the_second_spec_writing_one_golden_is_refused(pytester: pytest.Pytester) -> None:
    # the same relative path under two spec paths: both would write golden/twin/same.golden
    pytester.makeini("[pytest]\nrnn_parity_paths = specs more\n")
    for where in ("specs", "more"):
        pytester.makefile(".yaml", **{f"{where}/twin": SPEC.format(name="same")})
    pytester.makefile(".yaml", **{"specs/other": SPEC.format(name="other")})

    items, _ = pytester.inline_genitems("--rnn-parity")

    goldens = {item.nodeid: item for item in items if isinstance(item, GoldenItem)}
    # both lie under the rootdir, which pytest collects in name order: more/ first
    assert {nodeid: item.clash for nodeid, item in goldens.items()} == {
        "specs/twin.yaml::same::golden": "golden/twin/same.golden is already the golden of "
        "more/twin.yaml::same::golden; give one of the two specs another name: or file name",
        "specs/other.yaml::other::golden": None,
        "more/twin.yaml::same::golden": None,
    }
    # the item collected first owns the golden
    for item in goldens.values():
        item.clash = None
    refuse_golden_clashes(items[0].config, list(reversed(items)))
    assert goldens["more/twin.yaml::same::golden"].clash == (
        "golden/twin/same.golden is already the golden of specs/twin.yaml::same::golden; "
        "give one of the two specs another name: or file name"
    )
    assert goldens["specs/twin.yaml::same::golden"].clash is None


def test_no_sections_before_the_session_finished(pytester: pytest.Pytester) -> None:
    assert summary_sections(pytester.parseconfigure("--rnn-parity")) == []


def test_a_run_without_specs_says_why(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfigure("--rnn-parity")
    config.stash[REPORT] = build_report([])
    assert summary_sections(config) == [
        (
            "rnn-parity summary",
            ["no spec ran: specs not found; set rnn_parity_paths or name spec files as arguments"],
        )
    ]
    (pytester.path / "specs").mkdir()
    config = pytester.parseconfigure("--rnn-parity", "tests")
    config.stash[REPORT] = build_report([])
    assert summary_sections(config) == [
        (
            "rnn-parity summary",
            [
                "no spec ran: the paths given hold none (specs are in specs); pytest"
                " --rnn-parity with no path runs them with the tests"
            ],
        )
    ]
    config = pytester.parseconfigure("--rnn-parity", "--collect-only")
    config.stash[REPORT] = build_report([])
    assert summary_sections(config) == []


def test_the_summary_then_the_goldens_without_a_spec(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfigure("--rnn-parity")
    config.stash[REPORT] = build_report(
        [
            item_record("specs/a.yaml::a::parity", "failed", []),
            item_record("specs/a.yaml::a::golden", "passed", golden_properties("match")),
            item_record("specs/b.yaml::b::parity", "passed", []),
        ]
    )
    gone = pytester.path / "golden" / "gone" / "gone.golden"
    config.stash[ORPHANS] = ([Orphan(gone, "no spec file specs/gone.yaml")], False)

    assert summary_sections(config) == [
        ("rnn-parity summary", ["2 spec(s), 3 item(s): 2 passed, 1 error"]),
        (
            "rnn-parity goldens without a spec",
            ["golden/gone/gone.golden: no spec file specs/gone.yaml", KEPT],
        ),
    ]


def test_removed_orphans_are_said_so(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfigure("--rnn-parity")
    gone = pytester.path / "golden" / "gone" / "gone.golden"
    config.stash[ORPHANS] = ([Orphan(gone, "no spec file specs/gone.yaml")], True)
    assert summary_sections(config) == [
        (
            "rnn-parity goldens without a spec",
            ["golden/gone/gone.golden: no spec file specs/gone.yaml", "removed 1 golden file(s)."],
        )
    ]
