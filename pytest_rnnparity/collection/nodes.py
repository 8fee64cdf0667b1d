"""Spec files as pytest nodes: ``SpecFile`` -> one ``SpecCase`` per variant -> items.

Node ids read ``specs/power_gru.yaml::power-gru[units=4]::parity``; the items are
:mod:`.items` and :mod:`.port_items`. A spec file that does not load is one
:class:`BrokenSpecItem` reporting the located error, never an aborted collection.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_rnnparity.collection.config import COLLECTED_SPEC_IDS, golden_dir, spec_paths
from pytest_rnnparity.collection.items import (
    GoldenItem,
    ParityItem,
    PathItem,
    golden_test,
    parity_test,
    path_test,
)
from pytest_rnnparity.collection.port_items import port_items
from pytest_rnnparity.collection.runtime_items import runtime_items
from pytest_rnnparity.collection.state import GoldenOutcome, PathOutcome, SpecState
from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.golden.format import SUFFIX
from pytest_rnnparity.golden.orphans import golden_relative_dir
from pytest_rnnparity.spec import Spec, load_specs, resolved_display_path


class SpecFile(pytest.File):
    """A YAML spec file; a spec that does not load becomes one erroring item, not an abort."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        root = self.config.rootpath
        try:
            specs = load_specs(self.path, root=root)
        except SpecError as error:
            yield BrokenSpecItem.from_parent(self, name="spec", error=error)
            return
        collected = self.config.stash.setdefault(COLLECTED_SPEC_IDS, {})
        collected[self.path.resolve()] = [spec.id for spec in specs]
        for spec in specs:
            try:  # marks are applied here: --strict-markers refuses an unregistered one
                case = SpecCase.from_parent(self, name=spec.id, spec=spec)
            except (Exception, pytest.fail.Exception) as error:
                yield BrokenSpecItem.from_parent(
                    self, name=spec.id, error=refused_by_pytest(spec, error)
                )
                continue
            yield case


def refused_by_pytest(spec: Spec, error: BaseException) -> SpecError:
    """What pytest refused about a spec's nodes (its marks, in practice), at the spec's line.

    One error for that spec: collection goes on, and every other spec still runs.
    """
    text = str(error).strip().splitlines()
    problem = text[0] if text else type(error).__name__
    if not isinstance(error, pytest.fail.Exception):
        problem = f"{type(error).__name__}: {problem}"
    if spec.marks:
        return spec.error("marks", f"pytest refuses this spec's marks: {problem}")
    return spec.error("model", f"pytest refuses this spec's items: {problem}")


class BrokenSpecItem(pytest.Item):
    """Stands for a spec file that failed to load: errors in setup with the SpecError text."""

    def __init__(self, *, error: SpecError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def setup(self) -> None:
        # pytrace=False: pytest shows the message alone, never a traceback of ours
        pytest.fail(str(self.error), pytrace=False)

    def runtest(self) -> None:  # never reached: setup fails
        pytest.fail(str(self.error), pytrace=False)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = (self.error.line or 1) - 1
        return self.path, line, f"{self.path.name}: invalid spec"


class SpecCase(pytest.Collector):
    """One spec (one matrix variant): its items share one run, through a :class:`SpecState`."""

    def __init__(self, *, spec: Spec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for mark in spec.marks:
            self.add_marker(mark)
        root = self.config.rootpath
        relative = golden_relative_dir(spec.path, spec_paths(self.config), root)
        self.state = SpecState(
            spec=spec,
            root=root,
            display_path=resolved_display_path(spec.path, root),
            golden_path=golden_dir(self.config) / relative / f"{spec.id}{SUFFIX}",
            parity_nodeid=f"{self.nodeid}::parity",
        )

    def collect(self) -> list[pytest.Item]:
        try:
            return self._items()
        except (Exception, pytest.fail.Exception) as error:  # e.g. marks: [parametrize]
            error_item: pytest.Item = BrokenSpecItem.from_parent(
                self, name="spec", error=refused_by_pytest(self.state.spec, error)
            )
            return [error_item]

    def _items(self) -> list[pytest.Item]:
        state = self.state
        golden = GoldenOutcome()
        items: list[pytest.Item] = [
            ParityItem.from_parent(self, name="parity", callobj=parity_test(state), state=state),
            GoldenItem.from_parent(
                self,
                name="golden",
                callobj=golden_test(state, golden),
                state=state,
                outcome=golden,
            ),
        ]
        for path in state.spec.paths:
            if path.runtime is not None:  # a deployment runtime: runtime_items below
                continue
            outcome = PathOutcome(path)
            items.append(
                PathItem.from_parent(
                    self,
                    name=f"parity[{path.id}]",
                    callobj=path_test(state, outcome),
                    state=state,
                    outcome=outcome,
                )
            )
        items.extend(runtime_items(self, state))
        items.extend(port_items(self, state))
        return items

    def teardown(self) -> None:
        if self.state.clear():
            from pytest_rnnparity.model.build import import_keras

            import_keras().backend.clear_session()
