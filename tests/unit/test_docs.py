"""The documentation site's own code: the hook that renders the spec reference.

``docs/hooks/spec_reference.py`` turns ``pytest_rnnparity/spec_schema.json`` into the
Markdown of ``docs/spec-reference.md`` when MkDocs builds the site. Its rendering is a
pure function, tested here without MkDocs; only the last test builds the site, where
MkDocs is installed (the ``docs`` extra).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from .helpers import REPO

HOOK = REPO / "docs" / "hooks" / "spec_reference.py"
SCHEMA = json.loads((REPO / "pytest_rnnparity" / "spec_schema.json").read_text(encoding="utf-8"))


def _load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hook_spec_reference", HOOK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while decorating
    spec.loader.exec_module(module)
    return module


hook = _load_hook()


def _property_names(node: Any) -> Iterator[str]:
    """Every key of every ``properties`` mapping, at any depth of the schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            yield from _property_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from _property_names(value)


def test_every_key_of_the_schema_is_on_the_page() -> None:
    page = hook.render_schema(SCHEMA)
    names = set(_property_names(SCHEMA))

    assert len(names) > 100  # the walk reached the layers' arguments
    assert sorted(name for name in names if f"`{name}`" not in page) == []


def test_every_definition_has_a_section_and_every_link_lands_on_the_page() -> None:
    page = hook.render_schema(SCHEMA)
    anchors = re.findall(r"^#+ .* \{#([^}]+)\}$", page, re.M)
    links = set(re.findall(r"\]\(#([^)]+)\)", page))

    assert len(anchors) == len(set(anchors))
    assert {f"defs-{name}" for name in SCHEMA["$defs"]} <= set(anchors)
    assert sorted(links - set(anchors)) == []


def test_the_reference_says_what_a_key_takes() -> None:
    page = hook.render_schema(SCHEMA)

    assert "| `scale` | string | `minmax` | `minmax`, `standard`, `none` |" in page
    assert "| `units` (required) | integer ([`units`](#defs-units)) |  | 1 to 65,536 |" in page
    assert "Exactly one of the keys `linear`, `values` or `column`." in page


SMALL = {
    "description": "A toy spec: <name> is *not* a tag.",
    "type": "object",
    "required": ["units"],
    "additionalProperties": False,
    "properties": {
        "units": {"$ref": "#/$defs/units", "description": "Cells per layer."},
        "scale": {"enum": ["minmax", "none"], "default": "minmax"},
        "data": {
            "type": "object",
            "properties": {"path": {"type": "string", "minLength": 1}},
            "additionalProperties": False,
        },
        "w": {
            "oneOf": [
                {"enum": ["seeded"], "description": "Seeded."},
                {
                    "type": "object",
                    "required": ["path"],
                    "properties": {"path": {"type": "string"}},
                },
            ]
        },
        "marks": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+|[A-Z]+$"}},
    },
    "oneOf": [{"required": ["data"]}, {"required": ["w"]}],
    "$defs": {"units": {"type": "integer", "minimum": 1, "maximum": 64}},
}

SMALL_PAGE = """\
## Top level {#spec}

A toy spec: &lt;name> is \\*not\\* a tag.

An object. Required: `units`. No other keys.

Exactly one of the keys `data` or `w`.

| key | type | default | allowed values | description |
| --- | --- | --- | --- | --- |
| `units` (required) | integer ([`units`](#defs-units)) |  | 1 to 64 | Cells per layer. |
| `scale` | string | `minmax` | `minmax`, `none` |  |
| `data` | object ([`data`](#key-data)) |  |  |  |
| `w` | string or object ([`w`, form 2](#key-w-form-2)) |  | string: `seeded` | string: Seeded. |
| `marks` | array of string |  | each matches `^[a-z]+|[A-Z]+$` |  |

### `data` {#key-data}

An object. No other keys.

| key | type | default | allowed values | description |
| --- | --- | --- | --- | --- |
| `path` | string |  | at least one character |  |

### `w`, form 2 {#key-w-form-2}

An object. Required: `path`.

| key | type | default | allowed values | description |
| --- | --- | --- | --- | --- |
| `path` (required) | string |  |  |  |

## Definitions {#defs}

The parts the keys above refer to by name (`$ref`), in the schema's order.

### `units` {#defs-units}

* Type: integer
* Allowed: 1 to 64
"""


def test_a_small_schema_renders_verbatim() -> None:
    assert hook.render_schema(SMALL) == SMALL_PAGE


def test_the_rules_of_an_object_read_as_sentences() -> None:
    schema = {
        "type": "object",
        "properties": {"csv": {"type": "string"}, "features": {"type": "object"}},
        "oneOf": [
            {"required": ["csv"], "not": {"anyOf": [{"required": ["features"]}]}},
            {"required": ["features"], "not": {"required": ["csv"]}},
        ],
    }
    assert "* has `csv`, and has none of `features`\n* has `features`, and has no `csv`" in (
        hook.render_schema(schema)
    )


def test_two_sections_with_one_anchor_are_refused() -> None:
    inline = {"type": "object", "properties": {"z": {"type": "string"}}}
    schema = {
        "type": "object",
        "properties": {"x-y": inline, "x": {"type": "object", "properties": {"y": inline}}},
    }
    with pytest.raises(ValueError, match="anchor 'key-x-y'"):
        hook.render_schema(schema)


def _page(uri: str) -> SimpleNamespace:
    return SimpleNamespace(file=SimpleNamespace(src_uri=uri))


def test_the_hook_fills_the_spec_reference_page_only() -> None:
    config = {"config_file_path": str(REPO / "mkdocs.yml")}
    stub = (REPO / "docs" / hook.PAGE).read_text(encoding="utf-8")

    filled = hook.on_page_markdown(stub, _page(hook.PAGE), config, None)

    assert hook.MARKER in stub
    assert hook.MARKER not in filled
    assert hook.render_schema(SCHEMA) in filled
    assert hook.on_page_markdown(stub, _page("specs.md"), config, None) == stub
    with pytest.raises(ValueError, match="lost its marker"):
        hook.on_page_markdown("# Spec reference\n", _page(hook.PAGE), config, None)


def test_the_site_configuration_runs_this_hook() -> None:
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"^hooks:\n  - docs/hooks/spec_reference\.py$", config, re.M)


def test_the_hook_imports_neither_tensorflow_nor_mkdocs() -> None:
    script = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('hook', {str(HOOK)!r})\n"
        "hook = importlib.util.module_from_spec(spec); sys.modules['hook'] = hook\n"
        "spec.loader.exec_module(hook)\n"
        f"hook.load_schema({{'config_file_path': {str(REPO / 'mkdocs.yml')!r}}})\n"
        "heavy = {'tensorflow', 'keras', 'mkdocs', 'pytest_rnnparity'}\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout == "[]\n"


def test_the_site_builds_without_a_warning(tmp_path: Path) -> None:
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        pytest.importorskip(module, reason="the docs extra is not installed")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
