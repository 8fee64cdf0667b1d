"""Spec files as pytest nodes: ``SpecFile`` -> one ``SpecCase`` per variant -> items.

Node ids read ``specs/power_gru.yaml::power-gru[units=4]::parity``. The items are
``pytest.Function`` objects (with a real ``obj``), so ``-k``, ``-m``, ``--lf``,
junit-xml, xdist and syrupy's bookkeeping treat them like ordinary tests.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_rnnparity.check.spec_run import SpecRun, run_spec
from pytest_rnnparity.collection.config import COLLECTED_SPEC_IDS, golden_dir, spec_paths
from pytest_rnnparity.errors import (
    GoldenMismatch,
    ParityError,
    RnnParityError,
    SpecError,
)
from pytest_rnnparity.spec import ExecutionPath, Spec, load_specs, resolved_display_path


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
            yield SpecCase.from_parent(self, name=spec.id, spec=spec)


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
    """One spec (one matrix variant): runs the model once, shared by its items."""

    def __init__(self, *, spec: Spec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        for mark in spec.marks:
            self.add_marker(mark)
        self._run: SpecRun | None = None
        self._error: BaseException | None = None
        #: what the golden item concluded: match, created, updated (set when it passes)
        self.golden_verdict = "error"
        #: the ParityResult of each execution path that ran, by path id
        self.path_results: dict[str, Any] = {}
        #: the node id of the item that reported why the spec could not run
        self.error_reported_by: str | None = None

    def collect(self) -> list[pytest.Item]:
        items: list[pytest.Item] = [
            ParityItem.from_parent(self, name="parity", callobj=_parity_test(self)),
            GoldenItem.from_parent(self, name="golden", callobj=_golden_test(self)),
        ]
        for path in self.spec.paths:
            items.append(
                PathItem.from_parent(
                    self, name=f"parity[{path.id}]", callobj=_path_test(self, path)
                )
            )
        if self.spec.candidate is not None or self.spec.torch is not None:
            from pytest_rnnparity.collection.port_items import port_items

            items.extend(port_items(self))
        return items

    @property
    def display_path(self) -> str:
        return resolved_display_path(self.spec.path, self.config.rootpath)

    @property
    def golden_path(self) -> Path:
        """Where this spec's golden lives (see :mod:`pytest_rnnparity.golden.document`)."""
        from pytest_rnnparity.golden.format import SUFFIX
        from pytest_rnnparity.golden.orphans import golden_relative_dir

        relative = golden_relative_dir(
            self.spec.path, spec_paths(self.config), self.config.rootpath
        )
        return golden_dir(self.config) / relative / f"{self.spec.id}{SUFFIX}"

    def run(self) -> SpecRun:
        """The spec's run, computed on first use and kept until this node tears down."""
        if self._error is not None:
            raise self._error
        if self._run is None:
            try:
                self._run = run_spec(self.spec, root=self.config.rootpath)
            except RnnParityError as error:
                self._error = error
                raise
        return self._run

    @property
    def run_error(self) -> BaseException | None:
        """Why the spec could not run, once that is known."""
        return self._error

    def skip_if_reported(self) -> None:
        """Skip an item of a spec that could not run when another item already said why.

        One mistake in a spec (an unreadable CSV, a weights file of another shape) is
        then one failure, not one per item.
        """
        if self._error is not None and self.error_reported_by is not None:
            raise pytest.skip.Exception(
                f"the spec did not run; {self.error_reported_by} reports why",
                _use_item_location=True,
            )

    @property
    def last_run(self) -> SpecRun | None:
        """The run if it was computed (None before, or after it failed)."""
        return self._run

    def teardown(self) -> None:
        had_model = self._run is not None
        self._run = None
        self._error = None
        if had_model:
            from pytest_rnnparity.model.build import import_keras

            import_keras().backend.clear_session()

    def header(self) -> str:
        """``spec 'power-gru' at specs/power_gru.yaml:14``: names the spec and its model line."""
        return f"spec '{self.spec.id}' at {self.display_path}:{self.spec.line}"


def _parity_test(case: SpecCase) -> Any:
    def parity() -> None:
        __tracebackhide__ = True
        result = case.run().parity
        if not result.ok:
            from pytest_rnnparity.report.diagnosis import keras_diagnosis_lines
            from pytest_rnnparity.report.parity import parity_message

            raise ParityError("\n".join([parity_message(result), *keras_diagnosis_lines(result)]))

    parity.__module__ = __name__
    return parity


def _golden_test(case: SpecCase) -> Any:
    def golden(snapshot: Any) -> None:
        __tracebackhide__ = True
        from pytest_rnnparity.check.spec_run import spec_tolerances
        from pytest_rnnparity.collection.snapshot import assert_golden
        from pytest_rnnparity.golden.document import spec_golden

        run = case.run()
        current = spec_golden(
            run, tolerance=spec_tolerances(case.spec)["hidden"], spec_file=case.display_path
        )
        case.golden_verdict = assert_golden(
            snapshot,
            current,
            golden_path=case.golden_path,
            root=case.config.rootpath,
            update_command=f"pytest --rnn-parity --snapshot-update {case.display_path}",
        )

    golden.__module__ = __name__
    return golden


def _gpu_count() -> int:
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return 0
    try:
        return len(tf.config.list_physical_devices("GPU"))
    except Exception:
        return 0


def _path_test(case: SpecCase, path: ExecutionPath) -> Any:
    def path_parity() -> None:
        __tracebackhide__ = True
        case.skip_if_reported()
        from pytest_rnnparity.check.execution_paths import run_path, skip_reason
        from pytest_rnnparity.check.spec_run import spec_tolerances
        from pytest_rnnparity.collection.snapshot import compare_keras_with_golden
        from pytest_rnnparity.golden.document import golden_document

        main = case.run().parity
        reason = skip_reason(path, keras_major=main.keras_major, gpus=_gpu_count())
        if reason:
            # reported at the spec's line, not at pytest's own frame
            raise pytest.skip.Exception(reason, _use_item_location=True)
        tolerances = spec_tolerances(case.spec, path.tolerance)
        try:
            result = run_path(
                case.spec, path, root=case.config.rootpath, main=main, tolerances=tolerances
            )
        except SpecError as error:
            # the main run built this model: only the path's options can be refused
            raise pytest.skip.Exception(
                f"this Keras cannot run the path {path.id}: {error.problem}",
                _use_item_location=True,
            ) from None
        case.path_results[path.id] = result
        if not result.ok:
            from pytest_rnnparity.report.parity import parity_message

            raise ParityError(f"execution path {path.id}: {parity_message(result)}")
        current = golden_document(
            result, name=case.spec.id, tolerance=tolerances["hidden"], options=case.spec.golden
        )
        compare_keras_with_golden(
            current,
            golden_path=case.golden_path,
            root=case.config.rootpath,
            label=f"execution path {path.id}",
            update_command=f"pytest --rnn-parity --snapshot-update {case.display_path}",
        )

    path_parity.__module__ = __name__
    return path_parity


class SpecItemMixin:
    """reportinfo and failure text shared by the items of a SpecCase."""

    name: str

    @property
    def case(self) -> SpecCase:
        case = self.parent  # type: ignore[attr-defined]
        assert isinstance(case, SpecCase)
        return case

    def reportinfo(self) -> tuple[Path, int | None, str]:
        spec = self.case.spec
        return spec.path, spec.line - 1, f"{spec.id}::{self.name}"

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        if isinstance(excinfo.value, RnnParityError):
            return f"{excinfo.value}\n({self.case.header()})"
        return super().repr_failure(excinfo)  # type: ignore[misc]


class ParityItem(SpecItemMixin, pytest.Function):
    """Keras vs the reference at every step of every layer."""

    def runtest(self) -> None:
        try:
            super().runtest()
        except RnnParityError as error:
            if error is self.case.run_error:
                self.case.error_reported_by = self.nodeid
            raise
        finally:
            self._record()

    def _record(self) -> None:
        from pytest_rnnparity.model import environment
        from pytest_rnnparity.report.summary import environment_property, parity_properties

        run = self.case.last_run
        if run is not None:
            self.user_properties += parity_properties(run.parity.comparisons, ok=run.parity.ok)
            self.user_properties.append(environment_property(environment.capture()))

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        text = super().repr_failure(excinfo, style=style)
        directory = self.config.getoption("rnn_parity_plots", None)
        if directory and isinstance(excinfo.value, ParityError) and isinstance(text, str):
            text += "\n" + self._failure_plots(self.config.invocation_params.dir / directory)
        return text

    def _failure_plots(self, directory: Path) -> str:
        """Write the failure plots (``--rnn-parity-plots``); the report line naming them."""
        from pytest_rnnparity.report.plots import describe_paths, failure_plots, safe_name

        try:
            written = failure_plots(
                self.case.run().parity, directory / safe_name(self.case.spec.id)
            )
        except ImportError:  # matplotlib is the optional 'report' extra
            return "plots: not written: they need the 'report' extra: " + (
                "pip install 'pytest-rnnparity[report]'"
            )
        return describe_paths(written, self.config.invocation_params.dir)


class PathItem(SpecItemMixin, pytest.Function):
    """The same model through another execution path, against the same reference and golden."""

    def runtest(self) -> None:
        try:
            super().runtest()
        finally:
            from pytest_rnnparity.report.summary import parity_properties

            result = self.case.path_results.get(self.name[len("parity[") : -1])
            if result is not None:
                self.user_properties += parity_properties(result.comparisons, ok=result.ok)


class GoldenItem(SpecItemMixin, pytest.Function):
    """The run against its golden file (through syrupy's ``snapshot`` fixture)."""

    @property
    def golden_path(self) -> Path:
        return self.case.golden_path

    #: set at collection when another collected spec has the same golden path
    clash: str | None = None

    def runtest(self) -> None:
        from pytest_rnnparity.report.summary import golden_properties

        if self.clash:
            pytest.fail(self.clash, pytrace=False)
        self.case.skip_if_reported()
        self.case.golden_verdict = "error"
        verdict, drift = "error", None
        try:
            super().runtest()
            verdict = self.case.golden_verdict
        except GoldenMismatch as mismatch:
            verdict, drift = "drift", mismatch.drift
            raise
        finally:
            self.user_properties += golden_properties(verdict, drift)  # type: ignore[arg-type]
