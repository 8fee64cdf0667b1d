"""Every name the documentation tells users to import still imports, and ``__all__`` holds.

The README and every page under ``docs/`` are read for ``from pytest_rnnparity... import
...`` (and ``import pytest_rnnparity...``) in their code blocks, for dotted names in
backticks such as ``pytest_rnnparity.model.weights.join_gates(weights)``, and for package
paths in backticks such as ``pytest_rnnparity/reference/recurrent/mistakes.py``. A name
that no longer resolves fails with the file and line that name it (``docs/ports.md:42``).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

import pytest

import pytest_rnnparity

from .helpers import REPO

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
FENCE = re.compile(r"^\s*```")
FROM_IMPORT = re.compile(r"^\s*from\s+(pytest_rnnparity(?:\.\w+)*)\s+import\s+(.+)$")
IMPORT = re.compile(r"^\s*import\s+(pytest_rnnparity(?:\.\w+)*)(?:\s+as\s+\w+)?\s*$")
DOTTED = re.compile(r"`(pytest_rnnparity(?:\.\w+)+)(?:\([^`]*\))?`")
PACKAGE_PATH = re.compile(r"`(pytest_rnnparity/[\w/.]*)`")


@dataclass(frozen=True)
class Mention:
    """A name the documentation mentions: the module, the attribute path in it, and where."""

    module: str
    attribute: str  # dotted, "" for the module itself
    line: int
    text: str
    file: str = "README.md"  # relative to the repository

    def __str__(self) -> str:
        name = f"{self.module}.{self.attribute}" if self.attribute else self.module
        return f"{self.file}:{self.line}: {name} (from: {self.text.strip()})"


def _imported_names(rest: str, lines: list[str], index: int) -> tuple[list[str], int]:
    """The names after ``import`` (a parenthesized list may span lines); the last line read."""
    text = rest.split("#", 1)[0]
    if text.lstrip().startswith("("):
        while ")" not in text:
            index += 1
            text += " " + lines[index].split("#", 1)[0]
        text = text[text.index("(") + 1 : text.index(")")]
    names = [part.split(" as ")[0].strip() for part in text.split(",")]
    return [name for name in names if name], index


def code_mentions(text: str, file: str = "README.md") -> list[Mention]:
    """The package's names imported in the code blocks of ``text``, the file ``file``."""
    lines = text.splitlines()
    mentions: list[Mention] = []
    in_code = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if FENCE.match(line):
            in_code = not in_code
        elif in_code and (found := FROM_IMPORT.match(line)):
            names, last = _imported_names(found.group(2), lines, index)
            mentions += [Mention(found.group(1), name, index + 1, line, file) for name in names]
            index = last
        elif in_code and (found := IMPORT.match(line)):
            mentions.append(Mention(found.group(1), "", index + 1, line, file))
        index += 1
    return mentions


def prose_mentions(text: str, file: str = "README.md") -> list[Mention]:
    """The package's dotted names in backticks (a call's arguments dropped)."""
    return [
        Mention(
            "pytest_rnnparity",
            found.group(1).removeprefix("pytest_rnnparity."),
            number,
            line,
            file,
        )
        for number, line in enumerate(text.splitlines(), start=1)
        for found in DOTTED.finditer(line)
    ]


def resolve(dotted: str) -> Any:
    """Import the longest importable module prefix of ``dotted``, then get the rest."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as error:
            if error.name is None or not dotted.startswith(error.name):
                raise  # the module exists but imports something missing
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(dotted)


def _check(mention: Mention) -> None:
    __tracebackhide__ = True
    name = f"{mention.module}.{mention.attribute}" if mention.attribute else mention.module
    try:
        resolve(name)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"{mention} does not resolve: {error!r}", pytrace=False)


TEXTS = {
    document.relative_to(REPO).as_posix(): document.read_text(encoding="utf-8")
    for document in DOCUMENTS
}
CODE = [mention for file, text in TEXTS.items() for mention in code_mentions(text, file)]
PROSE = [mention for file, text in TEXTS.items() for mention in prose_mentions(text, file)]
PATHS = [
    (f"{file}:{number}", found.group(1))
    for file, text in TEXTS.items()
    for number, line in enumerate(text.splitlines(), start=1)
    for found in PACKAGE_PATH.finditer(line)
]


def _ids(mentions: list[Mention]) -> list[str]:
    return [f"{m.file}:{m.line}-{m.attribute}" for m in mentions]


def test_the_documentation_names_the_api() -> None:
    # pages whose imports all moved out of reach of these patterns would pass vacuously
    assert "docs/python.md" in TEXTS, "docs/ is no longer where the guide is"
    assert any(m.file == "README.md" for m in CODE), "no `from pytest_rnnparity import` in README"
    assert CODE, "no `from pytest_rnnparity... import` in the documentation's code blocks"
    assert PROSE, "no `pytest_rnnparity.<dotted.name>` in the documentation"


@pytest.mark.parametrize("mention", CODE, ids=_ids(CODE))
def test_names_imported_in_the_documentation_import(mention: Mention) -> None:
    _check(mention)


@pytest.mark.parametrize("mention", PROSE, ids=_ids(PROSE))
def test_dotted_names_in_the_documentation_resolve(mention: Mention) -> None:
    _check(mention)


@pytest.mark.parametrize(("where", "path"), PATHS, ids=[f"{w}-{p}" for w, p in PATHS])
def test_package_paths_in_the_documentation_exist(where: str, path: str) -> None:
    assert (REPO / path).exists(), f"{where}: {path} does not exist"


@pytest.mark.parametrize("name", pytest_rnnparity.__all__)
def test_every_name_in_all_imports(name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"from pytest_rnnparity import {name}", namespace)
    assert namespace[name] is getattr(pytest_rnnparity, name)


def test_all_is_what_star_imports() -> None:
    namespace: dict[str, Any] = {}
    exec("from pytest_rnnparity import *", namespace)
    assert sorted(set(namespace) - {"__builtins__"}) == sorted(pytest_rnnparity.__all__)


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ("from pytest_rnnparity import check_parity", ["pytest_rnnparity:check_parity"]),
        (
            "from pytest_rnnparity.check import (\n    diagnose,  # why\n    parity as p,\n)",
            ["pytest_rnnparity.check:diagnose", "pytest_rnnparity.check:parity"],
        ),
        ("import pytest_rnnparity.golden.format as fmt", ["pytest_rnnparity.golden.format:"]),
        ("from numpy import pytest_rnnparity", []),
    ],
    ids=["one-name", "parenthesized", "import-as", "another-package"],
)
def test_the_parser_finds_imports_in_code_blocks(line: str, found: list[str]) -> None:
    text = f"Some prose: from pytest_rnnparity import prose\n\n```python\n{line}\n```\n"
    assert [f"{m.module}:{m.attribute}" for m in code_mentions(text)] == found


def test_the_parser_finds_dotted_names_in_backticks() -> None:
    text = (
        "`pytest_rnnparity.model.weights.join_gates(weights)` gives, and\n"
        "`pytest_rnnparity/reference/` or `python -m pytest_rnnparity schema` do not.\n"
    )
    assert [(m.attribute, m.line) for m in prose_mentions(text)] == [
        ("model.weights.join_gates", 1)
    ]


def test_a_name_that_does_not_resolve_fails_with_its_file_and_line() -> None:
    mention = Mention("pytest_rnnparity.model.weights", "split_gatez", 318, "  `...split_gatez`")
    with pytest.raises(pytest.fail.Exception) as failed:
        _check(mention)
    assert str(failed.value).startswith(
        "README.md:318: pytest_rnnparity.model.weights.split_gatez (from: `...split_gatez`)"
        " does not resolve: "
    )
    with pytest.raises(pytest.fail.Exception, match=r"README.md:7: pytest_rnnparity\.nowhere"):
        _check(Mention("pytest_rnnparity", "nowhere.thing", 7, "`pytest_rnnparity.nowhere`"))
    docs = Mention("pytest_rnnparity", "nowhere", 12, "`pytest_rnnparity.nowhere`", "docs/ports.md")
    with pytest.raises(
        pytest.fail.Exception, match=r"^docs/ports\.md:12: pytest_rnnparity\.nowhere"
    ):
        _check(docs)
