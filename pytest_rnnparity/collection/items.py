"""The items of a spec: ``::parity``, ``::golden`` and one ``::parity[<path>]`` per path.

A matrix variant ends each name (``::golden[units=4]``, ``::parity[units=4-unroll=true]``):
see :func:`pytest_rnnparity.collection.nodes.item_name`.

Each is a ``pytest.Function`` (with a real test function), so ``-k``, ``-m``, ``--lf``,
junit-xml, xdist and syrupy's bookkeeping treat it like an ordinary test. An item is
handed the spec's shared :class:`~.state.SpecState` and, where it concludes something
for the report, an outcome object of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pytest_rnnparity.collection.state import GoldenOutcome, PathOutcome, SpecState
from pytest_rnnparity.errors import (
    GoldenMismatch,
    GoldenMissing,
    ParityError,
    RnnParityError,
    SpecError,
)
from pytest_rnnparity.model.environment import gpu_count
from pytest_rnnparity.report.summary import failure_property, identity_properties


def item_name(kind: str, variant: str | None = None, path_id: str | None = None) -> str:
    """``parity``, ``golden[units=4]``, ``parity[units=4-backend=jax]``: an item's name.

    The variant, then the execution path, joined by ``-`` inside one bracket at the end,
    as pytest writes the ids of a test parametrized twice. Unique within a spec file:
    every variant id of a file holds the same number of ``=`` (one per matrix key, and
    none inside a value), so the ``=`` counted from the left tell where a path begins.
    """
    params = "-".join(part for part in (variant, path_id) if part)
    return f"{kind}[{params}]" if params else kind


def parity_test(state: SpecState) -> Any:
    """The ``::parity`` item's test: Keras against the reference, with the diagnosis."""

    def parity() -> None:
        __tracebackhide__ = True
        result = state.run().parity
        if not result.ok:
            from pytest_rnnparity.report.diagnosis import keras_diagnosis_lines
            from pytest_rnnparity.report.parity import parity_message

            raise ParityError("\n".join([parity_message(result), *keras_diagnosis_lines(result)]))

    parity.__module__ = __name__
    return parity


def golden_test(state: SpecState, outcome: GoldenOutcome) -> Any:
    """The ``::golden`` item's test: the run against its golden, through syrupy."""

    def golden(snapshot: Any) -> None:
        __tracebackhide__ = True
        from pytest_rnnparity.check.spec_run import spec_tolerances
        from pytest_rnnparity.collection.snapshot import assert_golden
        from pytest_rnnparity.golden.document import spec_golden

        run = state.run()
        state.skip_if_non_finite()
        current = spec_golden(
            run, tolerance=spec_tolerances(state.spec)["hidden"], spec_file=state.display_path
        )
        outcome.verdict = assert_golden(
            snapshot,
            current,
            golden_path=state.golden_path,
            root=state.root,
            update_command=state.update_command,
        )

    golden.__module__ = __name__
    return golden


def path_test(state: SpecState, outcome: PathOutcome) -> Any:
    """A ``::parity[<path>]`` item's test: the model another way, against the same reference."""
    path = outcome.path

    def path_parity() -> None:
        __tracebackhide__ = True
        state.skip_if_reported()
        from pytest_rnnparity.check.execution_paths import run_path, skip_reason
        from pytest_rnnparity.check.spec_run import spec_tolerances
        from pytest_rnnparity.collection.snapshot import compare_keras_with_golden
        from pytest_rnnparity.golden.document import golden_document

        main = state.run().parity
        state.skip_if_non_finite()
        reason = skip_reason(path, keras_major=main.keras_major, gpus=gpu_count())
        if reason:
            # reported at the spec's line, not at pytest's own frame
            raise pytest.skip.Exception(reason, _use_item_location=True)
        tolerances = spec_tolerances(state.spec, path.tolerance)
        try:
            result = run_path(state.spec, path, root=state.root, main=main, tolerances=tolerances)
        except SpecError as error:
            # the main run built this model: only the path's options can be refused
            raise pytest.skip.Exception(
                f"this Keras cannot run the path {path.id}: {error.problem}",
                _use_item_location=True,
            ) from None
        outcome.result = result
        if not result.ok:
            from pytest_rnnparity.report.parity import parity_message

            raise ParityError(f"execution path {path.id}: {parity_message(result)}")
        current = golden_document(
            result, name=state.spec.id, tolerance=tolerances["hidden"], options=state.spec.golden
        )
        compare_keras_with_golden(
            current,
            golden_path=state.golden_path,
            root=state.root,
            label=f"execution path {path.id}",
            update_command=state.update_command,
        )

    path_parity.__module__ = __name__
    return path_parity


def failure_status(error: BaseException) -> str:
    """What the report counts an item that raised ``error`` as: a mismatch (``failed``),
    ``drifted``, ``golden_missing``, or ``error`` for anything else."""
    if isinstance(error, GoldenMismatch):
        return "drifted"
    if isinstance(error, GoldenMissing):
        return "golden_missing"
    if isinstance(error, ParityError):
        return "failed"
    return "error"


class SpecItemMixin:
    """The spec state an item is handed, its location, and the failure text of our errors.

    From collection on, an item records its kind and its spec's id (every report of it
    carries them, a skip or a failed setup too); when it fails, how (:func:`failure_status`).
    """

    name: str
    user_properties: list[tuple[str, object]]
    #: ``rnn_parity.kind`` in junit-xml and the JSON report.
    kind: ClassVar[str] = "parity"

    def __init__(self, *, state: SpecState, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.user_properties.extend(identity_properties(self.kind, state.spec.id))

    def record(self, properties: Iterable[tuple[str, object]]) -> None:
        """Add ``rnn_parity.*`` properties, leaving out those the item already holds."""
        for pair in properties:
            if pair not in self.user_properties:
                self.user_properties.append(pair)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        spec = self.state.spec
        return spec.path, spec.line - 1, f"{spec.name}::{self.name}"

    def runtest(self) -> None:
        """Run the test function within the item's time limit (see :mod:`.timeout`)."""
        from pytest_rnnparity.collection.config import ini_timeout
        from pytest_rnnparity.collection.timeout import time_limit

        spec = self.state.spec
        seconds, source = spec.timeout, f"timeout: at {self.state.timeout_location}"
        if seconds is None:
            seconds, source = ini_timeout(self.config), "ini rnn_parity_timeout"  # type: ignore[attr-defined]
        try:
            with time_limit(seconds, source=source):
                super().runtest()  # type: ignore[misc]
        except (Exception, pytest.fail.Exception) as error:
            self.record([failure_property(failure_status(error))])
            raise

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        if isinstance(excinfo.value, RnnParityError):
            return f"{excinfo.value}\n({self.state.header})"
        return super().repr_failure(excinfo)  # type: ignore[misc]


class ParityItem(SpecItemMixin, pytest.Function):
    """Keras vs the reference at every step of every layer."""

    kind = "parity"

    def runtest(self) -> None:
        try:
            super().runtest()
        except RnnParityError as error:
            self.state.reported_by(error, self.nodeid)
            raise
        finally:
            self._record()

    def _record(self) -> None:
        from pytest_rnnparity.model import environment
        from pytest_rnnparity.report.summary import environment_property, parity_properties

        run = self.state.last_run
        if run is not None:
            self.record(parity_properties(run.parity.comparisons, ok=run.parity.ok))
            self.record([environment_property(environment.capture())])

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        text = super().repr_failure(excinfo, style=style)
        directory = self.config.getoption("rnn_parity_plots", None)
        if directory and isinstance(excinfo.value, ParityError) and isinstance(text, str):
            text += "\n" + self._failure_plots(
                self.config.invocation_params.dir / directory, excinfo.value
            )
        return text

    def _failure_plots(self, directory: Path, error: ParityError) -> str:
        """Write the failure plots (``--rnn-parity-plots``); the report line naming them.

        They are the figures the HTML report shows (:mod:`.html`), drawn once.
        """
        from pytest_rnnparity.collection.html import item_pictures
        from pytest_rnnparity.report.plots import describe_paths, safe_name, write_pictures

        try:
            written = write_pictures(
                item_pictures(self, error), directory / safe_name(self.state.spec.id)
            )
        except ImportError:  # matplotlib is the optional 'report' extra
            return "plots: not written: they need the 'report' extra: " + (
                "pip install 'pytest-rnnparity[report]'"
            )
        except OSError as error:  # a read-only or full disk: the failure still reads whole
            return f"plots: not written into {directory}: {error.strerror or error}"
        return describe_paths(written, self.config.invocation_params.dir)


class PathItem(SpecItemMixin, pytest.Function):
    """The same model through another execution path, against the same reference and golden."""

    kind = "parity"

    def __init__(self, *, outcome: PathOutcome, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outcome = outcome

    def runtest(self) -> None:
        try:
            super().runtest()
        finally:
            from pytest_rnnparity.report.summary import parity_properties

            result = self.outcome.result
            if result is not None:
                self.record(parity_properties(result.comparisons, ok=result.ok))


class GoldenItem(SpecItemMixin, pytest.Function):
    """The run against its golden file (through syrupy's ``snapshot`` fixture)."""

    kind = "golden"

    def __init__(self, *, outcome: GoldenOutcome, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outcome = outcome
        #: set at collection when another collected spec has the same golden path
        self.clash: str | None = None

    @property
    def golden_path(self) -> Path:
        return self.state.golden_path

    def _point_at_a_moved_golden(self) -> None:
        """Raise the missing golden's failure naming the orphaned golden of the same spec
        content, if there is one (the spec file was renamed); else return."""
        from pytest_rnnparity.collection.session import moved_golden_hints
        from pytest_rnnparity.report.drift import missing_golden_message
        from pytest_rnnparity.spec import resolved_display_path

        state = self.state
        hints = moved_golden_hints(self.config, state.golden_path, state.spec.content_hash)
        if hints:
            where = resolved_display_path(state.golden_path, state.root)
            raise GoldenMissing(
                missing_golden_message(where, state.spec.id, state.update_command, hints)
            ) from None

    def runtest(self) -> None:
        from pytest_rnnparity.report.summary import golden_properties

        if self.clash:
            pytest.fail(self.clash, pytrace=False)
        self.state.skip_if_reported()
        self.outcome.verdict = "error"
        verdict, drift = "error", None
        try:
            super().runtest()
            verdict = self.outcome.verdict
        except GoldenMismatch as mismatch:
            verdict, drift = "drift", mismatch.drift
            raise
        except GoldenMissing:
            verdict = "missing"
            self._point_at_a_moved_golden()
            raise
        finally:
            self.record(golden_properties(verdict, drift))  # type: ignore[arg-type]
