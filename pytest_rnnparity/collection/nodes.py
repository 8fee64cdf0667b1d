"""Spec files as pytest nodes: ``SpecFile`` -> one ``SpecCase`` per variant -> items.

Node ids read as those of parametrized tests: the spec's name in the middle and a matrix
variant where pytest puts parameters, at the end (:func:`item_name`)::

    specs/power_gru.yaml::power-gru::parity
    specs/bidirectional_gru.yaml::bidirectional-gru::golden[merge_mode=mul]
    specs/x.yaml::x::parity[units=4-backend=jax]      (variant, then execution path)

so ``-k``, ``--deselect`` and junit-xml (``classname="specs.x.yaml.x"``,
``name="parity[units=4]"``) see the usual shape. The ``SpecCase`` collectors of a
file's variants share one name and node id, each holding its variant's items and
state. The items are :mod:`.items` and :mod:`.port_items`. A spec file that does not
load is one :class:`BrokenSpecItem` reporting the located error, never an aborted
collection.
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
    item_name,
    parity_test,
    path_test,
)
from pytest_rnnparity.collection.port_items import port_items
from pytest_rnnparity.collection.runtime_items import runtime_items
from pytest_rnnparity.collection.state import GoldenOutcome, PathOutcome, SpecState
from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.golden.format import SUFFIX
from pytest_rnnparity.golden.orphans import golden_relative_dir
from pytest_rnnparity.report.summary import identity_properties
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
            yield SpecCase.from_parent(self, name=spec.name, spec=spec)


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

    def __init__(self, *, error: SpecError, spec: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error
        self.user_properties.extend(identity_properties("spec", spec))

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
    """One spec (one matrix variant): its items share one run, through a :class:`SpecState`.

    Named after the spec (``power-gru``), not its variant: the variant ends each item's
    name. What pytest refuses about the spec's marks becomes its one erroring item.
    """

    def __init__(self, *, spec: Spec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refused: SpecError | None = None
        try:  # --strict-markers refuses an unregistered mark here
            for mark in spec.marks:
                self.add_marker(mark)
        except (Exception, pytest.fail.Exception) as error:
            self.refused = refused_by_pytest(spec, error)
        root = self.config.rootpath
        relative = golden_relative_dir(spec.path, spec_paths(self.config), root)
        self.state = SpecState(
            spec=spec,
            root=root,
            display_path=resolved_display_path(spec.path, root),
            golden_path=golden_dir(self.config) / relative / f"{spec.id}{SUFFIX}",
            parity_nodeid=f"{self.nodeid}::{item_name('parity', spec.variant)}",
            invocation_dir=self.config.invocation_params.dir,
        )

    def collect(self) -> list[pytest.Item]:
        variant = self.state.spec.variant
        try:
            if self.refused is not None:
                raise self.refused
            return self._items(variant)
        except (Exception, pytest.fail.Exception) as error:  # e.g. marks: [parametrize]
            refused = error if isinstance(error, SpecError) else None
            error_item: pytest.Item = BrokenSpecItem.from_parent(
                self,
                name=item_name("spec", variant),
                error=refused or refused_by_pytest(self.state.spec, error),
                spec=self.state.spec.id,
            )
            return [error_item]

    def _items(self, variant: str | None) -> list[pytest.Item]:
        state = self.state
        golden = GoldenOutcome()
        items: list[pytest.Item] = [
            ParityItem.from_parent(
                self, name=item_name("parity", variant), callobj=parity_test(state), state=state
            ),
            GoldenItem.from_parent(
                self,
                name=item_name("golden", variant),
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
                    name=item_name("parity", variant, path.id),
                    callobj=path_test(state, outcome),
                    state=state,
                    outcome=outcome,
                )
            )
        items.extend(runtime_items(self, state, variant))
        items.extend(port_items(self, state, variant))
        return items

    def teardown(self) -> None:
        if self.state.clear():
            from pytest_rnnparity.model.build import import_keras

            import_keras().backend.clear_session()
