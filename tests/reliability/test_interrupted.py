"""Interrupted runs: a ``--snapshot-update`` killed with SIGKILL loses no golden.

Every golden of the project exists with valid old content (recorded with another seed),
so the update rewrites each of them. The run is killed at the first sign of writing, or
at a random moment during the update; then every golden must be the old or the new file,
byte for byte, and what a kill may leave behind (``.<name>.golden.<random>.tmp``) must
never pass for a golden: the next run passes and reports no golden without a spec.

And a golden has one writer: each golden path belongs to exactly one item, so xdist
workers, which run disjoint items, never write the same file.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from pytest_rnnparity.golden.format import loads

from .conftest import (
    NEW_SEED,
    OLD_SEED,
    Recording,
    goldens,
    good_spec,
    record_in_process,
    seven_specs,
    start_run,
    write_project,
)

pytestmark = pytest.mark.keras

TEMPORARY = re.compile(r"\.(?P<golden>.+\.golden)\.[^./]+\.tmp")


def writing_started(golden_dir: Path, before: dict[Path, int]) -> bool:
    """A temporary golden exists, or a golden was replaced (a rename gives a new inode)."""
    for directory, _, files in os.walk(golden_dir):
        for name in files:
            path = Path(directory) / name
            if TEMPORARY.fullmatch(name):
                return True
            try:
                if before.get(path) != path.stat().st_ino:
                    return True
            except FileNotFoundError:  # renamed over in the meantime
                return True
    return False


def wait_for(process: subprocess.Popen[str], ready: Callable[[], bool]) -> None:
    """Poll until ``ready()``; fail if the run ends first or never gets there."""
    deadline = time.monotonic() + 240
    while not ready():
        assert process.poll() is None, "the run ended before it started writing goldens"
        assert time.monotonic() < deadline, "the run never started writing goldens"
        time.sleep(0.0005)


def kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL ``process``, which must still be running."""
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL


@pytest.mark.parametrize(
    "moment", ["at-the-first-write", "during-the-update"], ids=lambda moment: moment
)
def test_a_killed_update_leaves_every_golden_old_or_new(
    pytester: pytest.Pytester,
    keras_loaded: ModuleType,
    new_recording: Recording,
    moment: str,
) -> None:
    old = record_in_process(pytester, keras_loaded, OLD_SEED)
    project = write_project(pytester.path, seven_specs(NEW_SEED))
    new = new_recording.goldens()
    assert set(old) == set(new)
    assert all(old[name] != new[name] for name in old)
    golden_dir = project / "golden"
    inodes = {path: path.stat().st_ino for path in golden_dir.rglob("*.golden")}
    # seven goldens take a second or more to write: a kill within 0.25 s interrupts them
    delay = random.Random(moment).uniform(0.02, 0.25) if moment == "during-the-update" else 0

    process = start_run(project, "--snapshot-update")
    wait_for(process, lambda: writing_started(golden_dir, inodes))
    time.sleep(delay)
    kill(process)

    after = goldens(project)
    assert set(after) == set(old)
    for name, content in after.items():
        assert content in (old[name], new[name]), f"{name} is neither old nor new"
        loads(content.decode("utf-8"), location=name)
    for path in golden_dir.rglob("*"):
        if path.is_file() and not path.name.endswith(".golden"):
            match = TEMPORARY.fullmatch(path.name)
            assert match is not None, f"stray file {path}"
            assert match["golden"] in {Path(name).name for name in old}

    keras_loaded.backend.clear_session()
    result = pytester.runpytest_inprocess("--rnn-parity", "--snapshot-update")

    result.assert_outcomes(passed=14)
    assert "goldens without a spec" not in result.stdout.str()
    assert goldens(project) == new


def test_each_golden_belongs_to_exactly_one_item(
    pytester: pytest.Pytester, keras_loaded: ModuleType
) -> None:
    """Two files with the same ``name:``, and matrix variants, get golden paths of their own."""
    matrix = "matrix:\n  model[0].GRU.units: [2, 3]\n  seed: [1, 2]\n"
    write_project(
        pytester.path,
        {
            "twin.yaml": good_spec("same"),
            "other/twin.yaml": good_spec("same"),
            "variants.yaml": good_spec("variants", extra=matrix),
        },
    )

    items, _ = pytester.inline_genitems("--rnn-parity", "-p", "xdist")

    owners: dict[Path, list[str]] = {}
    for item in items:
        path = getattr(item, "golden_path", None)
        if path is not None and item.name.split("[")[0] == "golden":
            owners.setdefault(path, []).append(item.nodeid)
    assert {path.relative_to(pytester.path).as_posix(): ids for path, ids in owners.items()} == {
        "golden/twin/same.golden": ["specs/twin.yaml::same::golden"],
        "golden/other/twin/same.golden": ["specs/other/twin.yaml::same::golden"],
        **{
            f"golden/variants/variants[{variant}].golden": [
                f"specs/variants.yaml::variants::golden[{variant}]"
            ]
            for variant in ("units=2-seed=1", "units=2-seed=2", "units=3-seed=1", "units=3-seed=2")
        },
    }


def test_two_specs_that_would_share_a_golden_are_refused(
    pytester: pytest.Pytester, keras_loaded: ModuleType
) -> None:
    """The same relative spec path under two rnn_parity_paths maps to one golden path:
    the second spec's golden item fails instead of overwriting the first one's."""
    write_project(
        pytester.path, {"twin.yaml": good_spec("same")}, ["rnn_parity_paths = specs more"]
    )
    (pytester.path / "more").mkdir()
    (pytester.path / "more" / "twin.yaml").write_text(good_spec("same"), encoding="utf-8")

    result = pytester.runpytest("--rnn-parity", "--snapshot-update")

    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            # both lie under the rootdir, which pytest collects in name order: more/ first
            "golden/twin/same.golden is already the golden of more/twin.yaml::same::golden;"
            " give one of the two specs another name: or file name"
        ]
    )
