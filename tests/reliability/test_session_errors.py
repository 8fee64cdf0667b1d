"""The session goes on (issue 17, cases 7-9, 15, 16): every limit is a located error at load.

An integer too long for Python, a mark pytest refuses, a name too long for a file name,
a CSV too large to read: each is one error of its spec, with file:line, and every other
spec still runs; ``rnnparity validate`` says the same and never crashes. An item that runs
too long fails with the time it took. The corpus holds each case with its message
(``expected_errors.py``); these tests add what the corpus cannot show.
"""

from __future__ import annotations

import json
import re
import time
import tracemalloc
from pathlib import Path

import pytest

from pytest_rnnparity.cli.main import main
from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.spec import (
    MAX_CSV_BYTES,
    MAX_TIMEOUT,
    TOP_LEVEL_KEYS,
    load_specs,
    schema_text,
)

from .conftest import good_spec, load_fully, one_line_error
from .expected_errors import EXPECTED, NEEDS_A_RUN

SMALL = """\
data:
  features:
    x: [0.1, 0.5, -0.3, 0.8, 0.2, -0.6]
  target: {name: y, values: [1, 2, 3, 4, 5, 6]}
  scale: none
lookback: 2
model:
  - GRU: {units: 2}
"""


def test_validate_gives_each_corpus_file_its_line_and_never_crashes(
    corpus_project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(corpus_project)

    code = main(["validate", "specs"])

    assert code == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(EXPECTED)
    for case, line in zip(sorted(EXPECTED), lines, strict=True):  # files in sorted order
        if case in NEEDS_A_RUN:  # their Keras files are written by runs only
            assert line.startswith((f"ok: specs/{case} (", f"specs/{case}:")), case
        else:
            assert line == EXPECTED[case], case


# -- case 8: a spec that pytest itself rejects is that spec's error -------------------


def test_a_mark_pytest_refuses_is_one_error_of_its_spec(
    inner_run: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader refuses ``parametrize``; were it to let one through (or another mark
    that pytest refuses), pytest's own error is still that spec's alone."""
    monkeypatch.setattr("pytest_rnnparity.spec.options.MARKS_NEEDING_ARGUMENTS", {})
    specs = inner_run.path / "specs"
    specs.mkdir()
    (specs / "grid.yaml").write_text(SMALL + "marks: [parametrize]\n", encoding="utf-8")
    (specs / "strict.yaml").write_text(SMALL + "marks: [unregistered]\n", encoding="utf-8")
    (specs / "fine.yaml").write_text(SMALL, encoding="utf-8")

    result = inner_run.runpytest_inprocess("--rnn-parity", "--strict-markers")

    result.assert_outcomes(passed=1, failed=1, errors=2)  # fine: parity passes, no golden
    errors = {r.nodeid: r.longreprtext for r in result.reprec.getreports() if r.failed}
    assert errors["specs/grid.yaml::grid::spec"] == (
        "specs/grid.yaml:9:8: marks: pytest refuses this spec's marks: TypeError:"
        " Function.__init__() missing 2 required positional arguments: 'name' and 'parent'"
    )
    assert errors["specs/strict.yaml::strict::spec"] == (
        "specs/strict.yaml:9:8: marks: pytest refuses this spec's marks: 'unregistered' not"
        " found in `markers` configuration option"
    )
    assert "Interrupted" not in result.stdout.str()


# -- case 9: names too long for a file name -----------------------------------------


def test_a_file_name_too_long_for_a_spec_name_asks_for_a_name(tmp_path: Path) -> None:
    path = tmp_path / "specs" / f"{'s' * 120}.yaml"
    path.parent.mkdir()
    path.write_text(SMALL, encoding="utf-8")

    with pytest.raises(SpecError) as raised:
        load_specs(path, root=tmp_path)

    assert str(raised.value) == (
        f"specs/{'s' * 120}.yaml: the file name gives a spec name of 120 bytes, at most 100"
        " are allowed (it names the golden file); set a shorter name:"
    )


def test_names_are_counted_in_bytes(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(f"name: {'é' * 51}\n{SMALL}", encoding="utf-8")  # 102 bytes

    with pytest.raises(SpecError, match=r"at most 100 bytes \(it names the golden file\), got 102"):
        load_specs(path, root=tmp_path)


# -- case 15: a CSV is refused above its size, and streamed below it ------------------


def test_a_csv_is_streamed_keeping_only_the_columns_the_spec_reads(tmp_path: Path) -> None:
    columns = 40
    row = ",".join(f"{0.001 * i:.6f}" for i in range(columns)) + "\n"
    rows = 20_000
    csv = tmp_path / "wide.csv"
    csv.write_text(",".join(f"c{i}" for i in range(columns)) + "\n" + row * rows)
    size = csv.stat().st_size
    assert 5_000_000 < size < MAX_CSV_BYTES
    spec = tmp_path / "wide.yaml"
    spec.write_text(
        "data:\n  csv: {path: wide.csv, features: [c3], target: c7}\n  scale: none\n"
        "  batch: 4\nlookback: 2\nmodel:\n  - GRU: {units: 2}\n",
        encoding="utf-8",
    )

    tracemalloc.start()
    try:
        (windows,) = load_fully(spec, root=tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert windows.x.shape == (4, 2, 1)
    # the whole text alone would be `size`; two columns of 8-byte floats are 320 KB
    assert peak < size / 4


# -- case 16: a time limit per item ------------------------------------------------

SLOW_PORTS = """\
import time


def sleepy(weights, inputs, initial_state):
    time.sleep(600)
"""
TIMED_OUT = re.compile(r"timed out after (\d+\.\d\d) s: the limit is (\d+) s \((.*)\)")


def timed_out(result: pytest.RunResult, nodeid: str) -> tuple[float, int, str, str]:
    """The elapsed time, limit and source of ``nodeid``'s timeout, and its header line."""
    (report,) = [r for r in result.reprec.getfailures() if r.nodeid == nodeid]  # type: ignore[attr-defined]
    first, header = report.longreprtext.splitlines()
    match = TIMED_OUT.fullmatch(first)
    assert match is not None, first
    return float(match[1]), int(match[2]), match[3], header


@pytest.mark.parametrize("where", ["spec", "ini"])
def test_an_item_over_its_time_limit_fails_with_the_time_it_took(
    inner_run: pytest.Pytester, where: str
) -> None:
    project = inner_run.path
    (project / "slow_ports.py").write_text(SLOW_PORTS, encoding="utf-8")
    extra = "candidate: slow_ports:sleepy\n" + ("timeout: 3\n" if where == "spec" else "")
    (project / "specs").mkdir()
    (project / "specs" / "slow.yaml").write_text(good_spec("slow", extra=extra), "utf-8")
    (project / "specs" / "fine.yaml").write_text(good_spec("fine"), "utf-8")
    if where == "ini":
        ini = project / "tox.ini"
        ini.write_text(ini.read_text().rstrip("\n") + "\nrnn_parity_timeout = 3\n")

    started = time.monotonic()
    result = inner_run.runpytest_inprocess("--rnn-parity", "--snapshot-update", "--junitxml=j.xml")

    assert time.monotonic() - started < 60
    result.assert_outcomes(passed=4, failed=1)
    elapsed, limit, source, header = timed_out(result, "specs/slow.yaml::slow::candidate")
    assert 3 <= elapsed < 10
    assert limit == 3
    assert source == (
        "timeout: at specs/slow.yaml:12" if where == "spec" else "ini rnn_parity_timeout"
    )
    assert header == "(spec 'slow' at specs/slow.yaml:7)"
    junit = (project / "j.xml").read_text(encoding="utf-8")
    assert junit.count("<failure") == 1
    assert "timed out after" in junit


def test_an_unusable_ini_time_limit_is_refused_in_one_line(inner_run: pytest.Pytester) -> None:
    ini = inner_run.path / "tox.ini"
    ini.write_text(ini.read_text().rstrip("\n") + "\nrnn_parity_timeout = soon\n")

    result = inner_run.runpytest_inprocess("--rnn-parity")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert one_line_error(result) == (
        "rnn_parity_timeout = soon: expected a number of seconds above 0 and at most 86400"
    )


def test_the_schema_and_the_loader_know_the_timeout() -> None:
    schema = json.loads(schema_text())
    assert set(schema["properties"]) == set(TOP_LEVEL_KEYS)
    assert schema["properties"]["timeout"]["exclusiveMinimum"] == 0
    assert schema["properties"]["timeout"]["maximum"] == MAX_TIMEOUT
