"""Safe, line-aware YAML: plain Python values plus the ``line:column`` where each one starts.

PyYAML's ``SafeLoader`` composes the node tree (every node carries its marks) and this
module builds the Python values itself, so that it can refuse what a spec never needs and
what would make loading unsafe or slow:

* explicit tags (``!!python/object/apply:os.system``, ``!!str``, ``!custom``), checked on
  the parser events before any node exists;
* duplicate mapping keys (both lines are named), merge keys (``<<``), complex keys;
* tabs in indentation (PyYAML's own message for them is cryptic);
* more than one document, and an empty one;
* alias bombs ("billion laughs"): every node built again through an alias counts against
  :data:`MAX_ALIAS_NODES` and loading stops as soon as the budget is spent;
* integers of more than :data:`MAX_INTEGER_DIGITS` digits, before Python converts them.

Mapping keys are always strings, taken as written (``on:`` is the key ``"on"``, not
``True``). Plain scalars that YAML 1.1 leaves as strings but read as numbers everywhere
else (``1e-6``, ``-2E3``) are floats here, as in YAML 1.2.

Locations are 1-based. A value's location is where the value starts; a key's location is
where the key starts. Both are indexed by the value's :data:`KeyPath`.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from pytest_rnnparity.errors import SpecError

#: A position in the document: mapping keys and sequence indices from the top.
KeyPath = tuple[str | int, ...]

#: How many nodes may be built again through aliases before loading is refused.
MAX_ALIAS_NODES = 10_000
#: How deeply collections may nest.
MAX_DEPTH = 64
#: How many digits an integer may have: no spec value needs more than 20, and Python
#: refuses to convert more than 4,300 (``sys.get_int_max_str_digits``).
MAX_INTEGER_DIGITS = 100

_YAML_12_FLOAT = re.compile(r"[-+]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)[eE][-+]?\d+")
_TAG_PREFIX = "tag:yaml.org,2002:"
_PATH_TOKEN = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


@dataclass(frozen=True)
class Location:
    """A 1-based ``line:column`` in the source text."""

    line: int
    column: int


@dataclass(frozen=True)
class LocatedDocument:
    """A parsed YAML document and where each of its values (and mapping keys) starts."""

    value: Any
    values: Mapping[KeyPath, Location]
    keys: Mapping[KeyPath, Location]

    def value_location(self, path: KeyPath) -> Location:
        """Where the value at ``path`` starts, or its nearest ancestor when it is absent."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return Location(1, 1)

    def key_location(self, path: KeyPath) -> Location:
        """Where the mapping key of ``path`` starts (the value's location for list items)."""
        return self.keys.get(path) or self.value_location(path)

    def get(self, path: KeyPath) -> Any:
        """The value at ``path``; ``KeyError`` when any step of it does not exist."""
        node = self.value
        for step in path:
            in_list = isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node)
            if not in_list and not (isinstance(node, dict) and step in node):
                raise KeyError(path)
            node = node[step]
        return node

    def subtree(self, path: KeyPath) -> LocatedDocument:
        """The value at ``path`` as a document of its own, its locations re-rooted."""
        size = len(path)
        return LocatedDocument(
            value=self.get(path),
            values={p[size:]: loc for p, loc in self.values.items() if p[:size] == path},
            keys={p[size:]: loc for p, loc in self.keys.items() if p[:size] == path and p != path},
        )

    def replaced(self, path: KeyPath, new: LocatedDocument) -> LocatedDocument:
        """A copy with the value at ``path`` (whose parent must exist) replaced by ``new``.

        Everything under ``path`` takes ``new``'s locations, so that errors about the new
        value point where it was written.
        """
        if not path:
            return new
        value = copy.deepcopy(self.value)
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = copy.deepcopy(new.value)
        size = len(path)
        values = {p: loc for p, loc in self.values.items() if p[:size] != path}
        values.update({path + p: loc for p, loc in new.values.items()})
        keys = {p: loc for p, loc in self.keys.items() if p[:size] != path or p == path}
        keys.update({path + p: loc for p, loc in new.keys.items()})
        return LocatedDocument(value=value, values=values, keys=keys)


def render_path(path: KeyPath) -> str:
    """``("model", 0, "GRU", "units")`` -> ``"model[0].GRU.units"``.

    A key holding a newline or another unprintable character shows as ``['\\n']``, so
    that a message stays on one line.
    """
    text = ""
    for step in path:
        if isinstance(step, int) or not step.isprintable():
            text += f"[{step!r}]"
        else:
            text += f".{step}" if text else step
    return text


def parse_path(text: str) -> KeyPath | None:
    """The inverse of :func:`render_path`; ``None`` when ``text`` is not a key path."""
    steps: list[str | int] = []
    position = 0
    for match in _PATH_TOKEN.finditer(text):
        if match.start() != position or (match.group(0).startswith(".") and not steps):
            return None
        index, key = match.groups()
        steps.append(int(index) if index is not None else key)
        position = match.end()
    if position != len(text) or not steps or isinstance(steps[0], int):
        return None
    return tuple(steps)


def describe(value: Any) -> str:
    """Show a value as YAML would spell it, for error messages: ``-4``, ``true``, ``'x'``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf")
    return repr(value)


def not_utf8(error: UnicodeDecodeError, *, what: str, path: str) -> SpecError:
    """``path:line:column: the <what> is not UTF-8 text (byte 0xe9); save it as UTF-8``.

    The location is that of the first byte that is not UTF-8.
    """
    data = bytes(error.object)
    line_start = data.rfind(b"\n", 0, error.start) + 1
    column = len(data[line_start : error.start].decode("utf-8")) + 1
    return SpecError(
        f"the {what} is not UTF-8 text (byte 0x{data[error.start]:02x}); save it as UTF-8",
        path=path,
        line=data.count(b"\n", 0, error.start) + 1,
        column=column,
    )


def parse_yaml(text: str, *, path: str) -> LocatedDocument:
    """Parse one YAML document that must be a mapping; ``path`` names it in errors.

    Raises:
        SpecError: for anything :mod:`yaml_loader <pytest_rnnparity.spec.yaml_loader>` refuses,
            with the line and column of the offending text.
    """
    loader = _TaglessLoader(text)
    try:
        root = loader.get_single_root(path)
        builder = _Builder(path, loader)
        value = builder.build(root, (), depth=0, through_alias=False)
    except _ExplicitTagError as error:
        raise SpecError(
            f"explicit YAML tags are not allowed, found {_shorthand(error.tag)}",
            path=path,
            line=error.mark.line + 1,
            column=error.mark.column + 1,
        ) from None
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, text, path) from None
    except yaml.YAMLError as error:  # reader errors (bad characters) carry no marks
        raise SpecError(f"invalid YAML: {error}", path=path) from None
    except RecursionError:
        raise SpecError("invalid YAML: collections nest too deeply", path=path) from None
    finally:
        loader.dispose()
    return LocatedDocument(value=value, values=builder.values, keys=builder.keys)


class _ExplicitTagError(Exception):
    def __init__(self, tag: str, mark: Any) -> None:
        super().__init__(tag)
        self.tag = tag
        self.mark = mark


class _TaglessLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader's composer that refuses explicit tags before composing their node."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        tag = getattr(event, "tag", None)
        if tag is not None:
            raise _ExplicitTagError(tag, event.start_mark)
        return super().compose_node(parent, index)

    def get_single_root(self, path: str) -> Any:
        """The one document's root node, which must be a mapping."""
        root = self.get_node() if self.check_node() else None
        if root is None or (root.tag == _TAG_PREFIX + "null" and root.value == ""):
            raise SpecError(
                "the file holds no YAML document; expected a mapping with data, lookback and model",
                path=path,
            )
        if self.check_node():
            mark = self.peek_event().start_mark
            raise SpecError(
                "more than one YAML document; a spec file holds exactly one",
                path=path,
                line=mark.line + 1,
                column=mark.column + 1,
            )
        if not isinstance(root, yaml.MappingNode):
            got = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
            raise SpecError(
                "the top level must be a mapping of keys such as data, lookback and model,"
                f" got {got}",
                path=path,
                line=root.start_mark.line + 1,
                column=root.start_mark.column + 1,
            )
        return root


def _shorthand(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG_PREFIX) if tag.startswith(_TAG_PREFIX) else tag


def _syntax_error(error: yaml.MarkedYAMLError, text: str, path: str) -> SpecError:
    mark = error.problem_mark or error.context_mark
    tab = _first_indent_tab(text, last_line=mark.line + 1 if mark is not None else None)
    if tab is not None:
        return SpecError(
            "tab character in indentation; YAML indents with spaces only",
            path=path,
            line=tab.line,
            column=tab.column,
        )
    problem, mark = _plain_problem(error, mark)
    return SpecError(
        f"invalid YAML: {problem}",
        path=path,
        line=mark.line + 1 if mark is not None else None,
        column=mark.column + 1 if mark is not None else None,
    )


def _plain_problem(error: yaml.MarkedYAMLError, mark: Any) -> tuple[str, Any]:
    """PyYAML's problem in the words of someone editing a spec, and where to point."""
    problem = (error.problem or "invalid syntax").replace("'<stream end>'", "the end of the file")
    context, opened = error.context or "", error.context_mark
    if opened is None:
        if problem.startswith("found undefined alias '"):
            name = problem.removeprefix("found undefined alias '").removesuffix("'")
            return f"the alias *{name} refers to no anchor &{name} defined before it", mark
        if problem == "mapping values are not allowed here":
            return (
                "':' is not allowed here; quote a value that contains ': ', and check the"
                " indentation of this line"
            ), mark
        return problem, mark
    where = f"line {opened.line + 1}, column {opened.column + 1}"
    collection = "list" if context.endswith(("sequence", "collection")) else "mapping"
    if context == "while scanning a quoted scalar":
        # PyYAML points at the end of the file; the opening quote is what to fix
        return "this quoted string is never closed", opened
    if context.startswith("while parsing a flow") and problem.startswith("expected"):
        return f"the {collection} opened at {where} is not closed: {problem}", mark
    if context.startswith("while parsing a block") and "<block end>" in problem:
        return (
            f"the indentation of this line does not fit the {collection} that starts at"
            f" {where}; the entries of one {collection} line up in one column"
        ), mark
    return f"{problem} ({context} at line {opened.line + 1})", mark


def _first_indent_tab(text: str, *, last_line: int | None) -> Location | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if last_line is not None and number > last_line:
            break
        indent = len(line) - len(line.lstrip(" \t"))
        if "\t" in line[:indent]:
            return Location(number, line.index("\t") + 1)
    return None


class _Builder:
    """Turns composed nodes into Python values, recording locations as it goes."""

    def __init__(self, path: str, loader: yaml.SafeLoader) -> None:
        self.path = path
        self.loader = loader
        self.values: dict[KeyPath, Location] = {}
        self.keys: dict[KeyPath, Location] = {}
        self.seen: set[int] = set()
        self.alias_nodes = 0
        self.alias_site: KeyPath = ()

    def fail(self, problem: str, mark: Any) -> SpecError:
        return SpecError(problem, path=self.path, line=mark.line + 1, column=mark.column + 1)

    def build(self, node: Any, at: KeyPath, *, depth: int, through_alias: bool) -> Any:
        # The composer hands back the very same node object for every alias of an anchor,
        # so a node seen before is being expanded again through an alias.
        if not through_alias and id(node) in self.seen:
            through_alias = True
            self.alias_site = at[:-1]
        self.seen.add(id(node))
        if through_alias:
            self.alias_nodes += 1
            if self.alias_nodes > MAX_ALIAS_NODES:
                site = self.values[self.alias_site]
                raise SpecError(
                    f"aliases expand to more than {MAX_ALIAS_NODES} nodes; refusing to load",
                    path=self.path,
                    line=site.line,
                    column=site.column,
                )
        if depth > MAX_DEPTH:
            raise self.fail(f"collections nest deeper than {MAX_DEPTH} levels", node.start_mark)
        self.values[at] = Location(node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            first_marks: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.key(key_node)
                if key in first_marks:
                    first = first_marks[key]
                    where = f"line {first.line + 1}"
                    if first.line == key_node.start_mark.line:
                        where += f", column {first.column + 1}"
                    raise self.fail(
                        f"duplicate key {key!r} (first defined at {where})", key_node.start_mark
                    )
                first_marks[key] = key_node.start_mark
                child = (*at, key)
                self.keys[child] = Location(
                    key_node.start_mark.line + 1, key_node.start_mark.column + 1
                )
                result[key] = self.build(
                    value_node, child, depth=depth + 1, through_alias=through_alias
                )
            return result
        if isinstance(node, yaml.SequenceNode):
            return [
                self.build(item, (*at, index), depth=depth + 1, through_alias=through_alias)
                for index, item in enumerate(node.value)
            ]
        return self.scalar(node, at)

    def key(self, node: Any) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail("mapping keys must be plain strings, got a collection", node.start_mark)
        if node.tag == _TAG_PREFIX + "merge":
            raise self.fail(
                "merge keys (<<) are not supported; repeat the values or use matrix:",
                node.start_mark,
            )
        return str(node.value)

    def scalar(self, node: Any, at: KeyPath) -> Any:
        tag = node.tag.removeprefix(_TAG_PREFIX)
        if tag == "int":
            text = node.value.lstrip("+-").replace("_", "").replace(":", "")
            digits = len(text[2:] if text[:2].lower() in ("0x", "0o", "0b") else text)
            if digits > MAX_INTEGER_DIGITS:
                raise SpecError(
                    f"expected an integer of at most {MAX_INTEGER_DIGITS} digits, got one of"
                    f" {digits:,}",
                    path=self.path,
                    line=node.start_mark.line + 1,
                    column=node.start_mark.column + 1,
                    key=render_path(at) or None,
                )
        if tag in ("null", "bool", "int", "float"):
            return self.loader.construct_object(node, deep=True)
        if node.style is None and _YAML_12_FLOAT.fullmatch(node.value):
            return float(node.value.replace("_", ""))
        # Timestamps and every other implicit type stay the text that was written.
        return str(node.value)
