"""The located-error reading machinery every section is read with.

:class:`Reader` takes values out of a located YAML document and raises the one
:class:`~pytest_rnnparity.errors.SpecError` (``file:line:column: key: problem``) on the
first value it cannot accept; :class:`SpecContext` carries where the spec file sits, for
:func:`project_file`, which resolves the files a spec names inside the project root.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, NoReturn

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.spec.types import one_line
from pytest_rnnparity.spec.yaml_loader import KeyPath, LocatedDocument, describe, render_path


@dataclass(frozen=True)
class SpecContext:
    spec_path: Path
    root: Path
    display: str


_MISSING: Any = object()


class Reader:
    """Reads values out of a located document, failing with located :class:`SpecError`."""

    def __init__(self, document: LocatedDocument, *, display: str, variant: str | None) -> None:
        self.document = document
        self.display = display
        self.variant = variant

    def fail(
        self, at: KeyPath, problem: str, *, at_key: bool = False, key: KeyPath | None = None
    ) -> NoReturn:
        """Raise about the value at ``at`` (its key with ``at_key``), named ``key`` or ``at``."""
        where = self.document.key_location(at) if at_key else self.document.value_location(at)
        if self.variant is not None:
            problem += f" (matrix variant {self.variant})"
        raise SpecError(
            one_line(problem),
            path=self.display,
            line=where.line,
            column=where.column,
            key=render_path(at if key is None else key) or None,
        )

    def get(self, at: KeyPath, default: Any = _MISSING) -> Any:
        try:
            return self.document.get(at)
        except KeyError:
            if default is _MISSING:
                raise
            return default

    def fields(
        self,
        at: KeyPath,
        allowed: Sequence[str],
        *,
        required: Sequence[str] = (),
        what: str = "key",
        null_is_empty: bool = False,
    ) -> dict[str, Any]:
        """The mapping at ``at``, checked for unknown and missing keys."""
        value = self.get(at)
        if value is None and null_is_empty:
            value = {}
        if not isinstance(value, dict):
            self.fail(at, f"expected a mapping, got {describe(value)}")
        for key in value:
            if key not in allowed:
                self.fail((*at, key), unknown_message(what, key, allowed), at_key=True, key=at)
        for key in required:
            if key not in value:
                self.fail(at, f"missing required {what} {key!r}")
        return value

    def integer(self, at: KeyPath, *, minimum: int, maximum: int | None = None) -> int:
        value = self.get(at)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            expected = {0: "a non-negative integer", 1: "a positive integer"}.get(
                minimum, f"an integer of at least {minimum}"
            )
            self.fail(at, f"expected {expected}, got {describe(value)}")
        if maximum is not None and value > maximum:
            self.fail(at, f"expected at most {maximum}, got {describe(value)}")
        return value

    def number(
        self, at: KeyPath, *, minimum: float | None = None, below: float | None = None
    ) -> float:
        value = self.get(at)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(at, f"expected a number, got {describe(value)}")
        if not math.isfinite(value):
            self.fail(at, f"expected a finite number, got {describe(value)}")
        if below is not None and minimum is not None and not minimum <= value < below:
            self.fail(at, f"expected a number in [{minimum:g}, {below:g}), got {describe(value)}")
        if minimum is not None and value < minimum:
            expected = "a non-negative number" if minimum == 0 else f"a number >= {minimum:g}"
            self.fail(at, f"expected {expected}, got {describe(value)}")
        return float(value)

    def boolean(self, at: KeyPath) -> bool:
        value = self.get(at)
        if not isinstance(value, bool):
            self.fail(at, f"expected true or false, got {describe(value)}")
        return value

    def string(self, at: KeyPath) -> str:
        value = self.get(at)
        if not isinstance(value, str) or not value.strip():
            self.fail(at, f"expected a non-empty string, got {describe(value)}")
        return value

    def choice(self, at: KeyPath, choices: Sequence[str | None]) -> Any:
        value = self.get(at)
        if value in choices and not isinstance(value, bool):
            return value
        listed = ", ".join(describe(choice).strip("'") for choice in choices)
        problem = f"expected one of {listed}, got {describe(value)}"
        if isinstance(value, str):
            suggestion = suggest(value, [c for c in choices if c is not None])
            if suggestion:
                problem += f"; did you mean {suggestion!r}?"
        self.fail(at, problem)

    def lines(self) -> dict[str, tuple[int, int]]:
        return {
            render_path(path): (where.line, where.column)
            for path, where in self.document.values.items()
            if path
        }


def suggest(word: str, candidates: Sequence[str]) -> str | None:
    """The candidate closest to ``word`` (ignoring case), if one is close enough."""
    lowered = {candidate.lower(): candidate for candidate in candidates}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def unknown_message(what: str, word: str, allowed: Sequence[str]) -> str:
    """``unknown key 'x'; did you mean 'y'?`` or the list of allowed words."""
    suggestion = suggest(word, allowed)
    if suggestion is not None:
        return f"unknown {what} {word!r}; did you mean {suggestion!r}?"
    return f"unknown {what} {word!r}; expected one of: {', '.join(allowed)}"


def project_file(reader: Reader, context: SpecContext, at: KeyPath) -> tuple[Path, str]:
    """A file named relative to the spec that must resolve inside the project root."""
    declared = reader.string(at)
    if PurePosixPath(declared).is_absolute() or PureWindowsPath(declared).anchor:
        reader.fail(
            at,
            f"absolute paths are not allowed, got {declared!r}; write the path relative to"
            " the spec file",
        )
    resolved = (context.spec_path.parent / declared).resolve()
    if not resolved.is_relative_to(context.root):
        reader.fail(at, f"{declared!r} resolves outside the project root")
    if resolved.is_dir():
        reader.fail(at, f"{declared!r} is a directory; name a file")
    if not resolved.is_file():
        reader.fail(at, f"file not found: {declared!r} (paths are relative to the spec file)")
    return resolved, declared


#: A model input's or a layer's name: no dot (it separates a layer from one of its outputs).
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


def check_name(reader: Reader, at: KeyPath, name: str, *, what: str) -> None:
    """Refuse a model input's or a layer's name (the key at ``at``) that Keras or a
    reference (``layer.part``) cannot take."""
    if not NAME.fullmatch(name):
        reader.fail(
            at,
            f"expected {what} name of letters, digits, _ and - (a dot separates a layer from"
            f" one of its outputs: encoder.state_h), got {describe(name)}",
            at_key=True,
        )
