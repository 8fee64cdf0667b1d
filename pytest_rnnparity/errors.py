"""The exceptions pytest-rnnparity raises; every one of them derives from RnnParityError.

A pytest item formats any of them as its message alone, with no traceback of ours.
"""

from __future__ import annotations


class RnnParityError(Exception):
    """Base class of every error this package raises on purpose."""


class SpecError(RnnParityError):
    """A spec file (or data it names) is invalid; the message starts with ``file:line:col:``."""

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = path
        self.line = line
        self.column = column
        self.key = key
        super().__init__(self.format())

    def format(self) -> str:
        """Render as ``path:line:col: key: problem`` leaving out the parts that are unknown."""
        where = ""
        if self.path is not None:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.problem}"


class UnsupportedModelError(RnnParityError):
    """The model holds a layer or an option the reference does not implement."""


class ParityError(RnnParityError, AssertionError):
    """The reference pass and Keras disagree beyond tolerance."""


class GoldenError(RnnParityError):
    """A golden file is missing, corrupt, or was recorded for another spec."""


class GoldenMissing(GoldenError):
    """A spec's golden file does not exist yet (the message says how to record it)."""


class GoldenMismatch(GoldenError, AssertionError):
    """The run moved beyond tolerance from its golden file; ``drift`` says where."""

    drift: object = None


class PathError(RnnParityError):
    """An execution path could not be run (its backend subprocess failed or timed out)."""


class CandidateLoadError(RnnParityError, ValueError):
    """A candidate function cannot be imported (the spec's item adds the spec's line)."""


class ItemTimeout(RnnParityError):
    """An item ran longer than its time limit (``timeout:`` or ini ``rnn_parity_timeout``)."""
