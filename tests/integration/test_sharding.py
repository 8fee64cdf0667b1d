"""A suite shared out across workers and CI machines with existing tools, not our own.

* ``-n 2 --dist loadscope`` (pytest-xdist): a spec's items share their parent's node
  id (``specs/x.yaml::x``), so they run on one worker and its model is built once there
  (``--dist loadgroup`` is not used: pytest 9.2 no longer lets xdist 3.8 rename node ids,
  which is how it groups);
* ``--splits 2 --group k`` (pytest-split): the two shards run every item exactly once
  between them; their goldens land in one ``golden/`` and their
  ``--rnn-parity-report`` files merge (``rnnparity merge-reports``) into the report a
  single run gives.
"""

from __future__ import annotations

import json
import re

import pytest

from pytest_rnnparity.cli.main import main

from .conftest import goldens, run, write_spec

SPECS = ("alpha", "beta", "gamma")
#: A matrix (two variants) and an execution path: several items per spec.
EXTRA = "matrix:\n  model[0].GRU.units: [2, 3]\npaths:\n  - {unroll: true}\n"


def _project(pytester: pytest.Pytester) -> None:
    for name in SPECS:
        write_spec(pytester, name, EXTRA)


def test_loadscope_keeps_a_specs_items_on_one_worker(project: pytest.Pytester) -> None:
    _project(project)
    # pytest-benchmark, where installed (CI's interpreter has it), warns under xdist
    args = ("-n", "2", "--dist", "loadscope", "-v", "--snapshot-update", "-p", "no:benchmark")
    result = run(project, *args)
    result.assert_outcomes(passed=18)  # 3 specs x 2 variants x (parity, golden, path)
    workers: dict[str, set[str]] = {}
    for line in result.stdout.lines:
        found = re.match(r"\[(gw\d)\] \[ *\d+%\] PASSED (\S+)", line)
        if found:
            worker, nodeid = found.groups()
            workers.setdefault(nodeid.split("::")[0], set()).add(worker)
    assert sorted(workers) == [f"specs/{name}.yaml" for name in SPECS]
    assert all(len(on) == 1 for on in workers.values()), workers
    assert len(set().union(*workers.values())) == 2  # and both workers had a spec
    assert "Can not relate snapshot location" not in result.stdout.str()  # syrupy's warning


def _report(project: pytest.Pytester, name: str) -> dict[str, object]:
    return json.loads((project.path / name).read_text(encoding="utf-8"))


def test_two_shards_run_every_item_once_and_their_goldens_and_reports_merge(
    project: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pytest_split")
    _project(project)
    shards = []
    for group in (1, 2):
        result = run(
            project,
            "--splits",
            "2",
            "--group",
            str(group),
            "--snapshot-update",
            f"--rnn-parity-report=shard{group}.json",
        )
        assert result.ret == 0, result.stdout.str()
        shards.append(_report(project, f"shard{group}.json"))
    ran = [item["nodeid"] for shard in shards for item in shard["items"]]  # type: ignore[index]
    assert len(ran) == len(set(ran)) == 18
    assert all(shard["items"] for shard in shards)  # both shards had work

    # the goldens both shards wrote are those a single run checks, and none is rewritten
    written = goldens(project)
    assert len(written) == 6
    single = run(project, "--rnn-parity-report=single.json")
    single.assert_outcomes(passed=18)
    assert goldens(project) == written

    capsys.readouterr()
    assert main(["merge-reports", "shard1.json", "shard2.json", "-o", "merged.json"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "merged 2 report(s) into merged.json"
    merged, whole = _report(project, "merged.json"), _report(project, "single.json")
    assert merged["summary"] == whole["summary"]
    assert [i["nodeid"] for i in merged["items"]] == [i["nodeid"] for i in whole["items"]]


def test_merging_overlapping_shards_is_one_error(
    project: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(project, "alpha")
    run(project, "--snapshot-update", "--rnn-parity-report=a.json").assert_outcomes(passed=2)
    assert main(["merge-reports", "a.json", "a.json", "-o", "merged.json"]) == 1
    assert capsys.readouterr().err == (
        "specs/alpha.yaml::alpha::golden is in both a.json and a.json: the shards overlap,"
        " so it ran twice\n"
    )
    assert not (project.path / "merged.json").exists()
