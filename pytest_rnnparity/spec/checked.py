"""``rnnparity check MODEL --data FILE --spec-out SPEC``: the spec that repeats the check.

:func:`checked_spec` is pure text: a saved model (``model: {path: ...}``, its own
weights) reading the data as given (``scale: none``) from a CSV file, cut into the
windows the check ran on. The command line decides the paths and columns and writes
the files; nothing here imports keras or tensorflow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CheckedData", "checked_spec", "yaml_scalar"]

#: Column where the ``#`` comments start (as in :mod:`.starter`).
COMMENT_COLUMN = 40
#: A value written as is in a YAML flow collection; anything else is double-quoted.
_PLAIN = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_./-]*")


@dataclass(frozen=True)
class CheckedData:
    """The CSV a checked spec reads; ``path`` as written into the spec (relative to it).

    ``stride`` is the step between window starts: 1 when the data are rows, the
    lookback when they were windows already (written one after another, plus one row
    for the last window's target).
    """

    path: str
    features: tuple[str, ...]
    target: str
    stride: int = 1


def yaml_scalar(text: str) -> str:
    """``text`` as a YAML value: plain when it is a simple name or path, else quoted."""
    return text if _PLAIN.fullmatch(text) else json.dumps(text)


def _flow(values: Sequence[str]) -> str:
    return "[" + ", ".join(yaml_scalar(value) for value in values) + "]"


def checked_spec(
    *, name: str, model: str, data: CheckedData, lookback: int, command: str, description: str
) -> str:
    """The text of the spec that checks ``model`` on ``data`` as ``command`` did.

    ``model`` is the saved model's path relative to the spec.
    """
    csv = (
        f"{{path: {yaml_scalar(data.path)}, features: {_flow(data.features)},"
        f" target: {yaml_scalar(data.target)}}}"
    )
    lines = [
        f"# Written by `{command}`:",
        "# the parity check of a saved model on the data it was given. `pytest --rnn-parity`",
        "# repeats it; record its golden once with `pytest --rnn-parity --snapshot-update`.",
        f"name: {yaml_scalar(name)}",
        f"description: {json.dumps(description)}",
        "data:",
        f"  csv: {csv}",
        _line("  scale: none", "the model reads the numbers as given"),
    ]
    if data.stride != 1:
        lines.append(_line(f"  stride: {data.stride}", "the windows as given, one after another"))
    lines += [
        _line(f"lookback: {lookback}", "steps per window"),
        _line(f"model: {{path: {yaml_scalar(model)}}}", "with its own weights (weights: keras)"),
    ]
    return "\n".join(lines) + "\n"


def _line(code: str, comment: str) -> str:
    return f"{code.ljust(COMMENT_COLUMN - 1)} # {comment}"
