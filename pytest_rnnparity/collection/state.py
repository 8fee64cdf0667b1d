"""Typed state the items of one spec share, handed to each item when it is made.

A spec (one matrix variant) is run once, on first use, and its items read that run:
:class:`SpecState` holds it. What an item concludes for the JSON report is kept in an
outcome object of its own (:class:`GoldenOutcome`, :class:`PathOutcome`,
:class:`RuntimeOutcome`, :class:`CandidateOutcome`, :class:`TorchOutcome`), shared only
between the item and the test function it runs.
No item reads attributes of its parent node or parses its own name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_rnnparity.check.spec_run import SpecRun, run_spec
from pytest_rnnparity.errors import RnnParityError
from pytest_rnnparity.spec import ExecutionPath, Spec

if TYPE_CHECKING:
    from pytest_rnnparity.check.candidate import CandidateCheck
    from pytest_rnnparity.check.deployed import RuntimeCheck
    from pytest_rnnparity.check.parity import ParityResult
    from pytest_rnnparity.check.torch_port import TorchCheck


@dataclass
class SpecState:
    """One spec's run, shared by its items, and where its files are."""

    spec: Spec
    #: The project root the spec's files resolve in.
    root: Path
    #: The spec file as messages show it (relative to the root).
    display_path: str
    #: Where the spec's golden lives.
    golden_path: Path
    _run: SpecRun | None = field(default=None, repr=False)
    _error: RnnParityError | None = field(default=None, repr=False)
    #: The node id of the item that reported why the spec could not run.
    error_reported_by: str | None = None
    #: The node id of the spec's parity item, which reports a NaN or inf.
    parity_nodeid: str = ""
    #: Where pytest was started: the commands messages suggest are relative to it.
    invocation_dir: Path | None = None

    def run(self) -> SpecRun:
        """The spec's run, computed on first use and kept until :meth:`clear`."""
        if self._error is not None:
            raise self._error
        if self._run is None:
            try:
                self._run = run_spec(self.spec, root=self.root)
            except RnnParityError as error:
                self._error = error
                raise
        return self._run

    @property
    def last_run(self) -> SpecRun | None:
        """The run if it was computed (None before, or after it failed)."""
        return self._run

    def reported_by(self, error: BaseException, nodeid: str) -> None:
        """Note that ``nodeid`` reported ``error``, if it is why the spec could not run."""
        if error is self._error:
            self.error_reported_by = nodeid

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

    def skip_if_non_finite(self) -> None:
        """Skip an item of a spec whose run computes NaN or inf (once it ran).

        Its parity item fails and says where the first one is; nothing else compares
        garbage, and no golden records it.
        """
        if self._run is not None and self._run.parity.non_finite is not None:
            raise pytest.skip.Exception(
                f"the model computes NaN or inf; {self.parity_nodeid} reports where",
                _use_item_location=True,
            )

    def clear(self) -> bool:
        """Forget the run (at teardown); whether a model had been built."""
        had_model = self._run is not None
        self._run = None
        self._error = None
        return had_model

    @property
    def header(self) -> str:
        """``spec 'power-gru' at specs/power_gru.yaml:14``: names the spec and its model line."""
        return f"spec '{self.spec.id}' at {self.display_path}:{self.spec.line}"

    @property
    def timeout_location(self) -> str:
        """``specs/x.yaml:11``: where the spec's ``timeout:`` is written."""
        where = self.spec.location("timeout")
        return f"{self.display_path}:{where[0]}" if where else self.display_path

    @property
    def update_command(self) -> str:
        """The command that re-records this spec's golden, from where pytest was started."""
        return f"pytest --rnn-parity --snapshot-update {self.spec_argument}"

    @property
    def spec_argument(self) -> str:
        """The spec file as a command-line argument from where pytest was started
        (``specs/x.yaml`` from the rootdir, ``x.yaml`` from inside ``specs/``)."""
        return command_path(self.spec.path, self.invocation_dir or self.root)


def command_path(path: Path, start: Path) -> str:
    """``path`` relative to ``start`` (``../specs/x.yaml``), as a command run there names it.

    Links are kept as written; a path on another drive stays absolute.
    """
    try:
        relative = os.path.relpath(os.path.abspath(path), os.path.abspath(start))
    except ValueError:  # another drive (Windows)
        return Path(path).as_posix()
    return Path(relative).as_posix()


@dataclass
class GoldenOutcome:
    """What the golden item concluded: match, created, updated; error until it passes."""

    verdict: str = "error"


@dataclass
class PathOutcome:
    """The execution path an item runs, and its result once it ran."""

    path: ExecutionPath
    result: ParityResult | None = None


@dataclass
class RuntimeOutcome:
    """A runtime path (``{runtime: tflite}``...) an item runs, and its check once it ran."""

    path: ExecutionPath
    check: RuntimeCheck | None = None


@dataclass
class CandidateOutcome:
    """The candidate item's check, once it ran."""

    check: CandidateCheck | None = None


@dataclass
class TorchOutcome:
    """The torch item's check, once it ran."""

    check: TorchCheck | None = None
