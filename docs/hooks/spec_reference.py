"""MkDocs hook: the spec reference page, rendered from the spec's JSON Schema at build time.

``render_schema`` is a pure function, a schema dict in and Markdown out, so the page can
never disagree with ``pytest_rnnparity/spec_schema.json`` (what ``rnnparity schema``
prints and editors validate against). The hook reads that file directly: it imports
neither the package nor TensorFlow, nor anything of MkDocs.

The page shows every key of the spec with its type, default, allowed values and
description. An object written inline gets a section of its own under the key that holds
it; a ``$ref`` links to its definition, each ``$defs`` entry a section; ``oneOf`` and
``anyOf`` are either alternative forms of a value ("string or object") or, on an object,
rules about which keys go together ("exactly one of: ...").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Schema = dict[str, Any]

PAGE = "spec-reference.md"
SCHEMA = Path("pytest_rnnparity") / "spec_schema.json"
MARKER = "<!-- spec-reference: generated from pytest_rnnparity/spec_schema.json -->"

COMBINATORS = ("oneOf", "anyOf", "allOf")
# An alternative with one of these describes a value of its own (a form); one without
# them only says which keys an object must or must not have (a rule).
FORM_KEYWORDS = ("type", "$ref", "enum", "const", "items")
# Keywords that make a definition more than a scalar with constraints.
STRUCTURE_KEYWORDS = ("properties", "items", "$ref", *COMBINATORS)
# A reference to a scalar definition shows its allowed values in the row, unless it
# lists more than this many (activation names: its own section lists them).
INLINE_VALUES = 8
TABLE_HEADER = (
    "| key | type | default | allowed values | description |\n| --- | --- | --- | --- | --- |"
)
JSON_TYPE_OF = {bool: "boolean", int: "integer", float: "number", str: "string"}


def render_schema(schema: Schema) -> str:
    """The Markdown of a JSON Schema: the top-level object, then every ``$defs`` entry.

    Parameters
    ----------
    schema
        A JSON Schema whose root is an object, with its definitions under ``$defs``
        and ``$ref`` values of the form ``#/$defs/<name>``.

    Returns
    -------
    str
        Sections from heading level 2 down, each with an explicit ``{#id}`` anchor
        (the ``attr_list`` extension): ``spec`` for the top level, ``key-<path>`` for an
        object written inline under a key, ``defs-<name>`` for a definition.
    """
    renderer = _Renderer(schema.get("$defs", {}))
    blocks = renderer.section(schema, _Path("key"), 2, anchor="spec", heading="Top level")
    if renderer.definitions:
        blocks.append("## Definitions {#defs}")
        blocks.append("The parts the keys above refer to by name (`$ref`), in the schema's order.")
        for name, definition in renderer.definitions.items():
            blocks += renderer.section(definition, _Path(f"defs-{name}", title=f"`{name}`"), 3)
    return "\n\n".join(blocks) + "\n"


@dataclass(frozen=True)
class _Path:
    """Where a schema sits: its section title and anchor, built up key by key.

    A title reads as the spec's own key paths do (``data.inputs.<name>``, ``paths[]``);
    an alternative of a ``oneOf`` adds ", form N" and the keys below it follow a colon.
    """

    anchor: str
    title: str = ""  # the part already closed by a form, with its backticks
    current: str = ""  # the dotted path since then, without backticks

    def key(self, name: str) -> _Path:
        dotted = f"{self.current}.{name}" if self.current else name
        return _Path(f"{self.anchor}-{name}", self.title, dotted)

    def items(self) -> _Path:
        return _Path(f"{self.anchor}-items", self.title, f"{self.current}[]")

    def values(self) -> _Path:
        return _Path(f"{self.anchor}-values", self.title, f"{self.current}.<name>")

    def form(self, number: int) -> _Path:
        return _Path(f"{self.anchor}-form-{number}", f"{self.heading}, form {number}")

    @property
    def heading(self) -> str:
        if not self.current:
            return self.title
        closed = f"{self.title}: " if self.title else ""
        return f"{closed}`{self.current}`"


class _Renderer:
    """Renders sections; each one queues the sections of the objects it holds inline."""

    def __init__(self, definitions: dict[str, Schema]) -> None:
        self.definitions = definitions
        self.anchors: set[str] = set()
        self.pending: list[tuple[Schema, _Path]] = []

    def section(
        self, node: Schema, path: _Path, level: int, *, anchor: str = "", heading: str = ""
    ) -> list[str]:
        """The section of ``node``, followed by those of the objects written inside it."""
        anchor = _slug(anchor or path.anchor)
        if anchor in self.anchors:
            raise ValueError(f"two sections of the schema would have the anchor {anchor!r}")
        self.anchors.add(anchor)
        outer, self.pending = self.pending, []
        title = heading or path.heading
        blocks = [f"{'#' * level} {title} {{#{anchor}}}", *self._body(node, path)]
        children, self.pending = self.pending, outer
        for child, child_path in children:
            blocks += self.section(child, child_path, min(level + 1, 6))
        return blocks

    def _body(self, node: Schema, path: _Path) -> list[str]:
        blocks = []
        if "description" in node:
            blocks.append(_prose(node["description"]))
        if not _is_object(node):
            type_text, allowed = self.value(node, path)
            facts = [f"* Type: {type_text}"]
            if allowed:
                facts.append(f"* Allowed: {allowed}")
            if "default" in node:
                facts.append(f"* Default: {_value(node['default'])}")
            blocks.append("\n".join(facts))
            if forms := self._alternative_descriptions(node):
                blocks.append("\n".join(f"* {text}" for text in forms))
            return blocks
        blocks += self._object_rules(node)
        rows = [
            self._row(name, sub, node, path) for name, sub in node.get("properties", {}).items()
        ]
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            names = node.get("propertyNames", {})
            rows.append(self._map_row(extra, names, path))
        if rows:
            blocks.append("\n".join([TABLE_HEADER, *rows]))
        return blocks

    def _object_rules(self, node: Schema) -> list[str]:
        """What an object section says before its table: kinds of keys, which go together."""
        sentences = ["An object, or null." if "null" in _types(node) else "An object."]
        if required := node.get("required"):
            sentences.append(f"Required: {_and(_code(name) for name in required)}.")
        if node.get("additionalProperties") is False:
            sentences.append("No other keys.")
        if counts := self._key_counts(node):
            sentences.append(f"{counts[0].upper()}{counts[1:]}.")
        blocks = [" ".join(sentences)]
        for keyword, lead in (("oneOf", "Exactly one of"), ("anyOf", "At least one of")):
            alternatives = node.get(keyword, [])
            if keys := _single_keys(alternatives):
                blocks.append(f"{lead} the keys {_or(_code(key) for key in keys)}.")
            elif alternatives:
                lines = [f"{lead}:", ""]
                lines += [f"* {self.rule(alternative)}" for alternative in alternatives]
                blocks.append("\n".join(lines))
        if rules := node.get("allOf"):
            blocks.append("\n".join(["All of:", ""] + [f"* {self.rule(r)}" for r in rules]))
        if "not" in node:
            negation = self.negation(node["not"])
            blocks.append(f"{negation[0].upper()}{negation[1:]}.")
        return blocks

    @staticmethod
    def _key_counts(node: Schema) -> str:
        low, high = node.get("minProperties"), node.get("maxProperties")
        if low is not None and low == high:
            return f"exactly {_count(low, 'key')}"
        parts = []
        if low:
            parts.append(f"at least {_count(low, 'key')}")
        if high is not None:
            parts.append(f"at most {_count(high, 'key')}")
        return ", ".join(parts)

    def _row(self, name: str, node: Schema, parent: Schema, path: _Path) -> str:
        required = name in parent.get("required", ())
        key = f"{_code(name)} (required)" if required else _code(name)
        type_text, allowed = self.value(node, path.key(name), row=True)
        default = _value(node["default"]) if "default" in node else ""
        description = " ".join(
            [_prose(node.get("description", "")), *self._alternative_descriptions(node)]
        ).strip()
        return _table_row([key, type_text, default, allowed, description])

    def _map_row(self, values: Schema, names: Schema, path: _Path) -> str:
        type_text, allowed = self.value(values, path.values(), row=True)
        if names:
            name_type, name_allowed = self.value(names, path)
            key_rule = f"keys: {name_allowed or name_type}"
            allowed = f"{key_rule}; {allowed}" if allowed else key_rule
        description = _prose(values.get("description", ""))
        return _table_row([_code("<name>") + " (any key)", type_text, "", allowed, description])

    def _alternative_descriptions(self, node: Schema) -> list[str]:
        """The descriptions of a union's forms that have no section of their own."""
        texts = []
        for keyword in COMBINATORS:
            for alternative in self._forms(node, keyword):
                if "description" in alternative and not _is_object(alternative):
                    type_text, _ = self.value(alternative, _Path(""), register=False)
                    texts.append(f"{type_text}: {_prose(alternative['description'])}")
        return texts

    def _forms(self, node: Schema, keyword: str) -> list[Schema]:
        alternatives = node.get(keyword, [])
        if _is_object(node) or not alternatives:
            return []
        if not all(any(k in alt for k in FORM_KEYWORDS) for alt in alternatives):
            return []
        return list(alternatives)

    def value(
        self, node: Schema, path: _Path, *, row: bool = False, register: bool = True
    ) -> tuple[str, str]:
        """The type of ``node`` and its allowed values, queueing a section for an object.

        ``row``: the value of a table row, where a reference to a scalar definition also
        shows that definition's type and allowed values.
        """
        allowed = self.constraints(node)
        if "$ref" in node:
            name = _reference_name(node["$ref"])
            link = f"[{_code(name)}](#{_slug('defs-' + name)})"
            target = self.definitions.get(name, {})
            if row and _is_scalar(target):
                target_type, target_allowed = self.value(target, path, register=False)
                listed = len(target.get("enum", target.get("examples", ())))
                shown = target_allowed if listed <= INLINE_VALUES else ""
                return f"{target_type} ({link})", _join(shown, allowed)
            return link, allowed
        for keyword in COMBINATORS:
            if forms := self._forms(node, keyword):
                parts = [
                    self.value(form, path.form(number), register=register)
                    for number, form in enumerate(forms, start=1)
                ]
                types = " or ".join(type_text for type_text, _ in parts)
                each = "; ".join(f"{t}: {a}" for t, a in parts if a)
                return types, _join(each, allowed)
        if _is_object(node):
            if "properties" in node and register:
                self.pending.append((node, path))
                return f"object ([{path.heading}](#{_slug(path.anchor)}))", allowed
            extra = node.get("additionalProperties")
            if isinstance(extra, dict) and "properties" not in node:
                value_type, value_allowed = self.value(extra, path.values(), register=register)
                if names := node.get("propertyNames"):
                    name_type, name_allowed = self.value(names, path, register=False)
                    allowed = _join(f"keys: {name_allowed or name_type}", allowed)
                return f"object of {value_type}", _join(allowed, _each(value_allowed))
            return "object", allowed
        if "items" in node:
            item_type, item_allowed = self.value(node["items"], path.items(), register=register)
            return f"array of {item_type}", _join(allowed, _each(item_allowed))
        return _type_name(node), allowed

    def constraints(self, node: Schema) -> str:
        """The allowed values of ``node`` in words: enum, bounds, pattern, sizes, ``not``."""
        parts = []
        if "enum" in node:
            parts.append(", ".join(_value(v) for v in node["enum"]))
        if "const" in node:
            parts.append(_value(node["const"]))
        parts += _bounds(node)
        if "pattern" in node:
            parts.append(f"matches {_code(node['pattern'])}")
        if "minLength" in node:
            parts.append(f"at least {_count(node['minLength'], 'character')}")
        if "maxLength" in node:
            parts.append(f"at most {_count(node['maxLength'], 'character')}")
        low, high = node.get("minItems"), node.get("maxItems")
        if low is not None and low == high:
            parts.append(f"exactly {_count(low, 'item')}")
        else:
            if low:
                parts.append(f"at least {_count(low, 'item')}")
            if high is not None:
                parts.append(f"at most {_count(high, 'item')}")
        if node.get("uniqueItems"):
            parts.append("no repeats")
        if _is_object(node) and (counts := self._key_counts(node)) and "properties" not in node:
            parts.append(counts)
        if "not" in node:
            parts.append(self.negation(node["not"]))
        if "examples" in node:
            parts.append("e.g. " + ", ".join(_value(v) for v in node["examples"]))
        return "; ".join(parts)

    def rule(self, node: Schema) -> str:
        """A schema that constrains rather than describes, in words (a ``oneOf`` entry)."""
        subject = ""
        if "type" in node:
            type_text, allowed = self.value(_without(node, "required"), _Path(""), register=False)
            subject = _article(type_text) + (f", {allowed}" if allowed else "")
        else:
            subject = self.constraints(_without(node, "not"))
        if required := node.get("required"):
            has = f"has {_and(_code(name) for name in required)}"
            subject = f"{subject} that {has}" if subject else has
        clauses = [subject] if subject else []
        for name, sub in node.get("properties", {}).items():
            type_text, allowed = self.value(sub, _Path(""), register=False)
            clauses.append(f"{_code(name)} is {allowed if 'enum' in sub else type_text}")
        for keyword, joiner in (("anyOf", " or "), ("oneOf", " or "), ("allOf", " and ")):
            if alternatives := node.get(keyword):
                inner = joiner.join(self.rule(alternative) for alternative in alternatives)
                clauses.append(f"({inner})" if len(alternatives) > 1 else inner)
        if "not" in node and "type" not in node:
            clauses.append(self.negation(node["not"]))
        return ", and ".join(clauses)

    def negation(self, node: Schema) -> str:
        """``not`` in words: "has none of `a` and `b`" for keys, else "not <rule>"."""
        if set(node) == {"pattern"}:
            return f"does not match {_code(node['pattern'])}"
        if set(node) == {"required"} and len(node["required"]) == 1:
            return f"has no {_code(node['required'][0])}"
        if set(node) == {"anyOf"} and (keys := _single_keys(node["anyOf"])):
            return f"has none of {_and(_code(key) for key in keys)}"
        return f"not {self.rule(node)}"


def _types(node: Schema) -> list[str]:
    types = node.get("type", [])
    return types if isinstance(types, list) else [types]


def _is_object(node: Schema) -> bool:
    """An object with keys of its own (rather than a rule about another object's keys)."""
    if "type" in node:
        return "object" in _types(node)
    return "properties" in node and not any(k in node for k in FORM_KEYWORDS)


def _is_scalar(node: Schema) -> bool:
    """A definition simple enough to show in a row: no keys, items or alternatives."""
    structured = any(k in node for k in STRUCTURE_KEYWORDS)
    return not structured and not isinstance(node.get("additionalProperties"), dict)


def _single_keys(alternatives: list[Schema]) -> list[str]:
    """The keys of alternatives that each require one key and say nothing else, else []."""
    if not alternatives or not all(
        set(alt) == {"required"} and len(alt["required"]) == 1 for alt in alternatives
    ):
        return []
    return [alt["required"][0] for alt in alternatives]


def _type_name(node: Schema) -> str:
    if "type" in node:
        return " or ".join(_types(node))
    values = node.get("enum", [node["const"]] if "const" in node else [])
    names = dict.fromkeys(
        "null" if value is None else JSON_TYPE_OF.get(type(value), "value") for value in values
    )
    return " or ".join(names) or "any"


def _bounds(node: Schema) -> list[str]:
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None and high is not None:
        return [f"{_number(low)} to {_number(high)}"]
    parts = []
    if low is not None:
        parts.append(f">= {_number(low)}")
    if "exclusiveMinimum" in node:
        parts.append(f"> {_number(node['exclusiveMinimum'])}")
    if high is not None:
        parts.append(f"<= {_number(high)}")
    if "exclusiveMaximum" in node:
        parts.append(f"< {_number(node['exclusiveMaximum'])}")
    return parts


def _reference_name(reference: str) -> str:
    prefix = "#/$defs/"
    if not reference.startswith(prefix):
        raise ValueError(f"only references into $defs are rendered, not {reference!r}")
    return reference.removeprefix(prefix)


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else str(value)


def _value(value: Any) -> str:
    """A value as a spec writes it: a string bare, anything else as JSON (true, null)."""
    return _code(value if isinstance(value, str) else json.dumps(value))


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _count(number: int, noun: str) -> str:
    return f"one {noun}" if number == 1 else f"{number:,} {noun}s"


def _without(node: Schema, keyword: str) -> Schema:
    return {key: value for key, value in node.items() if key != keyword}


def _and(items: Any) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _or(items: Any) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _article(text: str) -> str:
    return f"an {text}" if text[:1] in "aeiou" else f"a {text}"


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def _each(allowed: str) -> str:
    return f"each {allowed}" if allowed else ""


def _slug(anchor: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", anchor).strip("-")


CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def _prose(text: str) -> str:
    """A description as Markdown text: its code spans kept, ``<`` and ``*`` shown as such."""
    return " ".join(_outside_code(text, _escape).split())


def _outside_code(text: str, change: Any) -> str:
    """``text`` with ``change`` applied to what lies outside its code spans."""
    pieces = []
    last = 0
    for found in CODE_SPAN.finditer(text):
        pieces.append(change(text[last : found.start()]))
        pieces.append(found.group(0))
        last = found.end()
    pieces.append(change(text[last:]))
    return "".join(pieces)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("*", "\\*")


def _table_row(cells: list[str]) -> str:
    """A table row; a ``|`` outside code spans is escaped (inside them, tables keep it)."""
    return "| " + " | ".join(_outside_code(cell, _escape_pipe) for cell in cells) + " |"


def _escape_pipe(text: str) -> str:
    return text.replace("|", "\\|")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Put the rendered schema where the spec reference page holds ``MARKER``."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"docs/{PAGE} lost its marker {MARKER}: nowhere to put the reference")
    return markdown.replace(MARKER, render_schema(load_schema(config)))


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    """``mkdocs serve`` rebuilds the page when the schema changes."""
    server.watch(str(_schema_path(config)))
    return server


def load_schema(config: Any) -> Schema:
    """The spec schema of the checkout that holds ``mkdocs.yml``."""
    schema: Schema = json.loads(_schema_path(config).read_text(encoding="utf-8"))
    return schema


def _schema_path(config: Any) -> Path:
    return Path(config["config_file_path"]).parent / SCHEMA
