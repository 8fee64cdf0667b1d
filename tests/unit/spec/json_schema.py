"""A small draft 2020-12 validator for the keywords ``spec_schema.json`` uses, so that
the schema is checked against specs without a jsonschema dependency."""

from __future__ import annotations

import json
import re
from collections.abc import Sized
from typing import Any

from pytest_rnnparity.spec import schema_text


class SchemaViolation(Exception):
    pass


_ANNOTATIONS = {"$schema", "title", "description", "default", "examples", "$defs"}


def check_schema(instance: Any, schema: dict[str, Any], root: dict[str, Any]) -> None:
    """A small draft 2020-12 validator for exactly the keywords spec_schema.json uses."""
    unknown = set(schema) - _ANNOTATIONS - set(_KEYWORDS)
    assert not unknown, f"the test validator does not implement {unknown}"
    for keyword, check in _KEYWORDS.items():
        if keyword in schema:
            check(instance, schema[keyword], schema, root)


def _type(instance: Any, expected: Any, _schema: Any, _root: Any) -> None:
    names = [expected] if isinstance(expected, str) else expected
    kinds = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    }
    if not any(kinds[name](instance) for name in names):
        raise SchemaViolation(f"{instance!r} is not of type {expected}")


def _each_property(instance: Any, properties: Any, _schema: Any, root: Any) -> None:
    if isinstance(instance, dict):
        for key, sub in properties.items():
            if key in instance:
                check_schema(instance[key], sub, root)


def _additional(instance: Any, additional: Any, schema: Any, root: Any) -> None:
    if not isinstance(instance, dict):
        return
    for key, value in instance.items():
        if key in schema.get("properties", {}):
            continue
        if additional is False:
            raise SchemaViolation(f"additional property {key!r}")
        if isinstance(additional, dict):
            check_schema(value, additional, root)


def _required(instance: Any, required: Any, _schema: Any, _root: Any) -> None:
    if isinstance(instance, dict):
        missing = [key for key in required if key not in instance]
        if missing:
            raise SchemaViolation(f"missing {missing}")


def _passes(instance: Any, schema: Any, root: Any) -> bool:
    try:
        check_schema(instance, schema, root)
    except SchemaViolation:
        return False
    return True


def _ref(instance: Any, ref: Any, _schema: Any, root: Any) -> None:
    assert ref.startswith("#/$defs/")
    check_schema(instance, root["$defs"][ref.removeprefix("#/$defs/")], root)


def _one_of(instance: Any, options: Any, _schema: Any, root: Any) -> None:
    if sum(_passes(instance, option, root) for option in options) != 1:
        raise SchemaViolation("not exactly one of oneOf")


def _any_of(instance: Any, options: Any, _schema: Any, root: Any) -> None:
    if not any(_passes(instance, option, root) for option in options):
        raise SchemaViolation("none of anyOf")


def _not(instance: Any, option: Any, _schema: Any, root: Any) -> None:
    if _passes(instance, option, root):
        raise SchemaViolation("matches not")


def _bound(test: Any, what: str) -> Any:
    def check(instance: Any, limit: Any, _schema: Any, _root: Any) -> None:
        is_number = isinstance(instance, int | float) and not isinstance(instance, bool)
        if is_number and not test(instance, limit):
            raise SchemaViolation(f"{instance} fails {what} {limit}")

    return check


def _sized(kind: type[Sized], test: Any, what: str) -> Any:
    def check(instance: Any, limit: Any, _schema: Any, _root: Any) -> None:
        if isinstance(instance, kind) and not test(len(instance), limit):
            raise SchemaViolation(f"{what} {limit}")

    return check


def _pattern(instance: Any, pattern: Any, _schema: Any, _root: Any) -> None:
    if isinstance(instance, str) and not re.search(pattern, instance):
        raise SchemaViolation(f"{instance!r} does not match {pattern}")


def _property_names(instance: Any, names: Any, _schema: Any, root: Any) -> None:
    if isinstance(instance, dict):
        for key in instance:
            check_schema(key, names, root)


def _items(instance: Any, items: Any, _schema: Any, root: Any) -> None:
    if isinstance(instance, list):
        for item in instance:
            check_schema(item, items, root)


def _unique(instance: Any, unique: Any, _schema: Any, _root: Any) -> None:
    if unique and isinstance(instance, list):
        dumped = [json.dumps(item, sort_keys=True) for item in instance]
        if len(set(dumped)) != len(dumped):
            raise SchemaViolation("items not unique")


def _enum(instance: Any, options: Any, _schema: Any, _root: Any) -> None:
    if not any(instance == option and type(instance) is type(option) for option in options):
        raise SchemaViolation(f"{instance!r} not in {options}")


_KEYWORDS: dict[str, Any] = {
    "$ref": _ref,
    "type": _type,
    "enum": _enum,
    "properties": _each_property,
    "additionalProperties": _additional,
    "required": _required,
    "propertyNames": _property_names,
    "items": _items,
    "uniqueItems": _unique,
    "oneOf": _one_of,
    "anyOf": _any_of,
    "not": _not,
    "pattern": _pattern,
    "minimum": _bound(lambda v, limit: v >= limit, "minimum"),
    "maximum": _bound(lambda v, limit: v <= limit, "maximum"),
    "exclusiveMaximum": _bound(lambda v, limit: v < limit, "exclusiveMaximum"),
    "exclusiveMinimum": _bound(lambda v, limit: v > limit, "exclusiveMinimum"),
    "minItems": _sized(list, lambda n, limit: n >= limit, "minItems"),
    "maxItems": _sized(list, lambda n, limit: n <= limit, "maxItems"),
    "minLength": _sized(str, lambda n, limit: n >= limit, "minLength"),
    "minProperties": _sized(dict, lambda n, limit: n >= limit, "minProperties"),
    "maxProperties": _sized(dict, lambda n, limit: n <= limit, "maxProperties"),
}


def schema_accepts(text: str) -> bool:
    import yaml

    schema = json.loads(schema_text())
    return _passes(yaml.safe_load(text), schema, schema)
