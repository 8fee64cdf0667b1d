"""The ``rnn_parity`` fixture: parity checks and golden traces from ordinary Python tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from pytest_rnnparity.api import check_parity
from pytest_rnnparity.check.parity import ParityResult
from pytest_rnnparity.check.tolerance import Tolerance, default_tolerance
from pytest_rnnparity.collection.snapshot import GOLDEN_PATHS, assert_golden
from pytest_rnnparity.collection.state import command_path
from pytest_rnnparity.golden.document import golden_document
from pytest_rnnparity.spec import GoldenOptions

if TYPE_CHECKING:
    from pytest_rnnparity.check.candidate import CandidateCheck

#: Directory, next to the test module, that holds the fixture's goldens.
FIXTURE_GOLDEN_DIR = "__goldens__"


class RnnParity:
    """``rnn_parity.check(model, x)`` and ``rnn_parity.snapshot(result)`` for a test.

    Goldens of a test live in ``__goldens__/<module>/<test name>[.<name>].golden``
    beside the test module.
    """

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self._unnamed = 0

    def check(self, model: Any, x: Any, **kwargs: Any) -> ParityResult:
        """:func:`~pytest_rnnparity.check_parity` (raises ParityError on a mismatch)."""
        __tracebackhide__ = True
        return check_parity(model, x, **kwargs)

    def check_candidate(self, model: Any, x: Any, candidate: Any, **kwargs: Any) -> CandidateCheck:
        """:func:`~pytest_rnnparity.check_candidate`: ``candidate`` (a function or
        ``"package.module:function"``, imported from the rootdir) against the reference
        and Keras; raises ParityError, ending with the diagnosis, on a mismatch."""
        __tracebackhide__ = True
        from pytest_rnnparity.api import check_candidate
        from pytest_rnnparity.check.candidate import load_candidate

        if isinstance(candidate, str):
            function = load_candidate(candidate, root=self._request.config.rootpath)
            kwargs.setdefault("name", candidate)
            candidate = function
        return check_candidate(model, x, candidate, **kwargs)

    def golden_path(self, name: str | None = None) -> Path:
        """Where :meth:`snapshot` keeps the golden of this test (and ``name``)."""
        node = self._request.node
        stem = re.sub(r"[^\w.\-\[\]=]", "_", node.name)
        if name:
            stem += f".{name}"
        module: Path = node.path
        return module.parent / FIXTURE_GOLDEN_DIR / module.stem / f"{stem}.golden"

    def snapshot(
        self,
        result: ParityResult,
        *,
        name: str | None = None,
        tolerance: Tolerance | None = None,
        sequences: int = 3,
        summaries: bool = True,
        traces: Literal["all", "hidden"] = "all",
    ) -> None:
        """Compare ``result``'s traces with this test's golden (syrupy; ``--snapshot-update``)."""
        __tracebackhide__ = True
        snapshot = self._request.getfixturevalue("snapshot")
        node = self._request.node
        if name is None and self._unnamed:
            name = str(self._unnamed)
        self._unnamed += name is None
        path = self.golden_path(name)
        node.stash.setdefault(GOLDEN_PATHS, {})[name or 0] = path
        tolerance = tolerance or default_tolerance(result.dtype)
        document = golden_document(
            result,
            name=node.nodeid,
            tolerance=tolerance,
            options=GoldenOptions(sequences=sequences, summaries=summaries, traces=traces),
        )
        root = node.config.rootpath
        relative = command_path(node.path, node.config.invocation_params.dir)
        assert_golden(
            snapshot,
            document,
            golden_path=path,
            root=root,
            update_command=f"pytest --snapshot-update {relative}",
            name=name,
        )
