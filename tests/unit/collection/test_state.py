"""collection/state.py: one spec's run, computed once and shared by its items.

``run_spec`` is replaced by a stand-in that counts its calls, so no Keras is needed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_rnnparity.collection import state as state_module
from pytest_rnnparity.collection.items import item_name
from pytest_rnnparity.collection.state import SpecState
from pytest_rnnparity.errors import RnnParityError, SpecError
from pytest_rnnparity.spec import Spec, load_specs

#: The ``model:`` key is on line 8: the header names ``specs/tiny.yaml:8``.
TINY = """\
name: tiny
data:
  features: {x: [0.1, 0.5, -0.3, 0.8, 0.2, -0.6]}
  target: {column: x}
lookback: 2
matrix:
  model[0].GRU.units: [2, 3]
model:
  - GRU: {units: 2}
"""


class FakeRun:
    """A stand-in for ``run_spec``: returns a new object per call or raises ``error``."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.calls: list[tuple[Spec, Path]] = []

    def __call__(self, spec: Spec, *, root: Path) -> Any:
        self.calls.append((spec, root))
        if self.error is not None:
            raise self.error
        return object()


@pytest.fixture
def spec(tmp_path: Path) -> Spec:
    path = tmp_path / "specs" / "tiny.yaml"
    path.parent.mkdir()
    path.write_text(TINY, encoding="utf-8")
    return load_specs(path, root=tmp_path)[0]


def state_of(spec: Spec, root: Path) -> SpecState:
    return SpecState(
        spec=spec,
        root=root,
        display_path="specs/tiny.yaml",
        golden_path=root / "golden" / "tiny" / f"{spec.id}.golden",
    )


def install(monkeypatch: pytest.MonkeyPatch, fake: FakeRun) -> FakeRun:
    monkeypatch.setattr(state_module, "run_spec", fake)
    return fake


def assert_not_skipped(state: SpecState) -> None:
    """``skip_if_reported`` lets the item run (a skip here would only skip this test)."""
    __tracebackhide__ = True
    try:
        state.skip_if_reported()
    except pytest.skip.Exception as skip:
        pytest.fail(f"the item was skipped: {skip}")


def test_the_run_is_computed_on_first_use_and_shared(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(monkeypatch, FakeRun())
    state = state_of(spec, tmp_path)
    assert state.last_run is None
    assert fake.calls == []  # nothing runs until an item asks

    first = state.run()

    assert state.run() is first
    assert state.last_run is first
    assert fake.calls == [(spec, tmp_path)]


def test_a_failing_run_raises_the_same_error_object_again_without_running(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = SpecError("cannot read the CSV", path="specs/tiny.yaml", line=3, column=5)
    fake = install(monkeypatch, FakeRun(error))
    state = state_of(spec, tmp_path)

    with pytest.raises(SpecError) as first:
        state.run()
    with pytest.raises(SpecError) as second:
        state.run()

    assert first.value is error
    assert second.value is error
    assert len(fake.calls) == 1
    assert state.last_run is None


def test_an_error_that_is_not_the_plugins_is_not_kept(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(monkeypatch, FakeRun(RuntimeError("a bug")))
    state = state_of(spec, tmp_path)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="a bug"):
            state.run()
    assert len(fake.calls) == 2
    assert_not_skipped(state)  # nothing was reported: no skip


def test_one_failure_then_skips_that_name_the_reporter(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = RnnParityError("the weights file has another shape")
    install(monkeypatch, FakeRun(error))
    state = state_of(spec, tmp_path)
    assert_not_skipped(state)  # the spec has not failed yet: nothing to skip

    with pytest.raises(RnnParityError) as raised:
        state.run()  # the first item fails with the error ...
    assert_not_skipped(state)  # ... and is not skipped before it has reported it
    state.reported_by(RnnParityError("another error"), "specs/tiny.yaml::other")
    assert state.error_reported_by is None  # not the error the spec failed with
    state.reported_by(raised.value, "specs/tiny.yaml::tiny::parity[units=2]")
    assert state.error_reported_by == "specs/tiny.yaml::tiny::parity[units=2]"

    with pytest.raises(pytest.skip.Exception) as skipped:
        state.skip_if_reported()  # every later item of the spec
    assert str(skipped.value) == (
        "the spec did not run; specs/tiny.yaml::tiny::parity[units=2] reports why"
    )


def test_clear_forgets_the_run_and_says_whether_a_model_was_built(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(monkeypatch, FakeRun())
    state = state_of(spec, tmp_path)
    assert state.clear() is False  # nothing ran
    first = state.run()

    assert state.clear() is True
    assert state.last_run is None
    assert state.run() is not first  # computed again
    assert len(fake.calls) == 2


def test_clear_forgets_an_error_too(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(monkeypatch, FakeRun(RnnParityError("out of memory")))
    state = state_of(spec, tmp_path)
    with pytest.raises(RnnParityError) as raised:
        state.run()
    state.reported_by(raised.value, "specs/tiny.yaml::tiny::parity[units=2]")

    assert state.clear() is False  # the run failed: no model to release
    assert_not_skipped(state)  # the error is gone: no skip
    fake.error = None
    assert state.run() is not None
    assert len(fake.calls) == 2


def test_header_and_update_command_verbatim(spec: Spec, tmp_path: Path) -> None:
    state = state_of(spec, tmp_path)
    assert state.header == "spec 'tiny[units=2]' at specs/tiny.yaml:8"
    assert state.update_command == "pytest --rnn-parity --snapshot-update specs/tiny.yaml"


@pytest.mark.parametrize(
    ("start", "argument"),
    [(".", "specs/tiny.yaml"), ("specs", "tiny.yaml"), ("tests/unit", "../../specs/tiny.yaml")],
)
def test_the_update_command_names_the_spec_from_where_pytest_started(
    spec: Spec, tmp_path: Path, start: str, argument: str
) -> None:
    state = replace(state_of(spec, tmp_path), invocation_dir=tmp_path / start)
    assert state.update_command == f"pytest --rnn-parity --snapshot-update {argument}"


def test_item_names_put_the_variant_then_the_path_in_one_bracket() -> None:
    assert item_name("parity") == "parity"
    assert item_name("golden", "units=4") == "golden[units=4]"
    assert item_name("parity", None, "backend=jax") == "parity[backend=jax]"
    assert item_name("parity", "units=4-seed=1", "unroll=true") == (
        "parity[units=4-seed=1-unroll=true]"
    )
