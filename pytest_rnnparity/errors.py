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


class RuntimeAdapterError(RnnParityError):
    """A model could not be converted to, run by or read back from a deployment runtime."""


class ConversionRefused(RuntimeAdapterError):
    """The converter cannot express this model: a reason to skip, not a failure."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class ConversionFailed(RuntimeAdapterError):
    """The conversion child process crashed, failed or timed out; the message quotes its
    last lines."""

    def __init__(self, what: str, *, returncode: int | None, signal: str | None, tail: str) -> None:
        self.what = what
        self.returncode = returncode
        self.signal = signal
        self.tail = tail
        if signal is not None:
            how = f"was killed by {signal}"
        elif returncode is None:
            how = "did not finish in time"
        else:
            how = f"exited with code {returncode}"
        quoted = (
            "\n".join(f"    {line}" for line in tail.splitlines()) or "    (it printed nothing)"
        )
        super().__init__(f"{what}: the converter process {how}; its last lines:\n{quoted}")


class ArtifactError(RuntimeAdapterError):
    """An artifact cannot be run or read the way its sidecar describes."""
