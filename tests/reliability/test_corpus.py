"""The bad-input corpus: every mistake gives one clear error, located, with no traceback.

Most cases are checked in this process by the loader alone (no TensorFlow); the ones
that need Keras or a golden, and the corpus as a whole, go through a real
``pytest --rnn-parity`` run, where the other specs must still pass.
"""

from __future__ import annotations

import time
import tracemalloc
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import pytest

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.spec import load_specs

from .conftest import (
    CORPUS,
    REPOSITORY,
    copy_corpus,
    goldens,
    good_spec,
    load_fully,
    write_keras_files,
)
from .expected_errors import EXPECTED, NEEDS_A_RUN

LOADER_CASES = sorted(set(EXPECTED) - NEEDS_A_RUN)
#: What a spec is refused for before anything is allocated (each would need gigabytes).
HUGE = (
    "units_huge.yaml",
    "model_too_many_weights.yaml",
    "synthetic_huge.yaml",
    "windows_too_large.yaml",
    "billion_laughs.yaml",
    "matrix_explosion.yaml",
    "seed_huge.yaml",
    "csv_huge.yaml",
    "graph_windows_too_large.yaml",
)


def load_error(project: Path, case: str) -> SpecError:
    """The SpecError of loading ``specs/<case>`` and cutting its windows (as a run does)."""
    with pytest.raises(SpecError) as raised:
        load_fully(project / "specs" / case, root=project)
    return raised.value


def test_the_corpus_covers_every_case_it_promises() -> None:
    files = sorted(path.name for path in CORPUS.glob("*.yaml"))
    assert files == sorted(EXPECTED)
    assert len(files) >= 40
    assert set(EXPECTED) >= NEEDS_A_RUN


def test_the_guarantees_page_states_the_corpus_size() -> None:
    page = " ".join((REPOSITORY / "docs" / "guarantees.md").read_text(encoding="utf-8").split())
    assert f"`tests/reliability/corpus/` holds {len(EXPECTED)} broken specs" in page


@pytest.mark.parametrize("case", LOADER_CASES)
def test_corpus_case_gives_its_error(corpus_project: Path, case: str) -> None:
    error = load_error(corpus_project, case)

    assert str(error) == EXPECTED[case]
    # one sentence on one line, raised `from None`: nothing of ours is chained to it
    assert "\n" not in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


@pytest.mark.parametrize("case", HUGE)
def test_huge_sizes_are_refused_before_anything_is_allocated(
    corpus_project: Path, case: str
) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        error = load_error(corpus_project, case)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert str(error) == EXPECTED[case]
    assert time.perf_counter() - started < 1.0
    assert peak < 5_000_000


@pytest.mark.keras
def test_the_whole_corpus_in_one_run(
    pytester: pytest.Pytester, keras_loaded: ModuleType, tmp_path: Path
) -> None:
    """One run over the corpus and a good spec: each bad file gives its one error (every
    failing item of a file shows that same message) and no traceback, the good spec
    passes, and ``--snapshot-update`` rewrites neither bad golden."""
    project = pytester.path
    copy_corpus(project, tmp_path / "elsewhere")
    write_keras_files(keras_loaded, project / "specs")
    (project / "specs" / "good.yaml").write_text(good_spec(), encoding="utf-8")
    bad_goldens = goldens(project)

    result = pytester.runpytest_inprocess("--rnn-parity", "--snapshot-update")

    outcomes: dict[str, dict[str, str]] = defaultdict(dict)
    messages: dict[str, list[str]] = defaultdict(list)
    skips: dict[str, list[str]] = defaultdict(list)
    for report in result.reprec.getreports("pytest_runtest_logreport"):
        if report.when == "call" or report.outcome != "passed":
            spec_file, _, item = report.nodeid.partition("::")
            name = Path(spec_file).name
            outcomes[name][item] = report.outcome
            if report.outcome == "failed":
                messages[name].append(report.longreprtext.splitlines()[0])
            elif report.skipped:
                skips[name].append(str(report.longrepr[2]))  # type: ignore[index]
    # one mistake, one failure: each bad file fails exactly once, with its message
    assert dict(messages) == {case: [message] for case, message in EXPECTED.items()}
    # a spec that could not run skips its golden item, naming the item that said why
    for case, reasons in skips.items():
        stem = case.removesuffix(".yaml")
        assert reasons == [
            f"Skipped: the spec did not run; specs/{case}::{stem}::parity reports why"
        ]
    assert outcomes["good.yaml"] == {"good::parity": "passed", "good::golden": "passed"}
    for case in LOADER_CASES:
        if fails_to_load(project, case):  # then it is the file's only item
            assert outcomes[case] == {"spec": "failed"}, case
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert {path: goldens(project)[path] for path in bad_goldens} == bad_goldens


def fails_to_load(project: Path, case: str) -> bool:
    try:
        load_specs(project / "specs" / case, root=project)
    except SpecError:
        return True
    return False
