"""spec/yaml_loader.py: safe, line-aware YAML; every problem located, verbatim."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.spec import InlineData, load_specs
from pytest_rnnparity.spec.yaml_loader import describe, parse_yaml

from .helpers import SMALL, SMALL_HEAD, error_of, load_one, with_model


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = SMALL.replace("[1.0, 2.0, 3.0, 4.0]", "[1.0, 2.0, 3.0, 4.0")
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:2:61: invalid YAML: the list opened at line 2, column 17 is not closed:"
        " expected ',' or ']', but got '}'"
    )


def test_tab_in_indentation(tmp_path: Path) -> None:
    text = SMALL.replace("  - Dense", "\t- Dense")
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:7:1: tab character in indentation; YAML indents with spaces only"
    )


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL + "lookback: 3\n") == (
        "specs/x.yaml:8:1: duplicate key 'lookback' (first defined at line 4)"
    )


def test_python_tag_is_refused(tmp_path: Path) -> None:
    text = SMALL + "description: !!python/object/apply:os.system ['echo pwned']\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:8:14: explicit YAML tags are not allowed, found"
        " !!python/object/apply:os.system"
    )


def test_any_explicit_tag_is_refused(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL + "seed: !!int '3'\n") == (
        "specs/x.yaml:8:7: explicit YAML tags are not allowed, found !!int"
    )
    assert error_of(tmp_path, SMALL + "seed: !mine 3\n") == (
        "specs/x.yaml:8:7: explicit YAML tags are not allowed, found !mine"
    )


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        previous, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    started = time.perf_counter()

    message = error_of(tmp_path, "\n".join(lines) + "\n")

    assert time.perf_counter() - started < 1.0
    assert message == (
        "specs/x.yaml:5:4: aliases expand to more than 10000 nodes; refusing to load"
    )


def test_modest_aliases_are_fine(tmp_path: Path) -> None:
    text = SMALL_HEAD.replace(
        "features: {a: [1.0, 2.0, 3.0, 4.0], b: [4.0, 3.0, 2.0, 1.0]}",
        "features: {a: &col [1.0, 2.0, 3.0, 4.0], b: *col}",
    )
    data = load_one(tmp_path, text + "model: [{GRU: {units: 2}}]\n").data
    assert isinstance(data, InlineData)
    assert data.features["b"] == (1.0, 2.0, 3.0, 4.0)


def test_merge_keys_are_refused(tmp_path: Path) -> None:
    text = with_model("- GRU: &gru {units: 4}\n- GRU:\n    <<: *gru\n")
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:8:7: merge keys (<<) are not supported; repeat the values or use matrix:"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "",
            "specs/x.yaml: the file holds no YAML document; expected a mapping with data,"
            " lookback and model",
        ),
        (
            "# only a comment\n",
            "specs/x.yaml: the file holds no YAML document; expected a"
            " mapping with data, lookback and model",
        ),
        (
            "- GRU\n",
            "specs/x.yaml:1:1: the top level must be a mapping of keys such as data,"
            " lookback and model, got a list",
        ),
        (
            "hello\n",
            "specs/x.yaml:1:1: the top level must be a mapping of keys such as data,"
            " lookback and model, got a single value",
        ),
        (
            SMALL + "---\nname: again\n",
            "specs/x.yaml:8:1: more than one YAML document; a spec file holds exactly one",
        ),
        (
            "? [a, b]\n: 1\n",
            "specs/x.yaml:1:3: mapping keys must be plain strings, got a collection",
        ),
    ],
    ids=["empty", "comment-only", "list", "scalar", "two-documents", "complex-key"],
)
def test_documents_that_are_not_one_mapping(tmp_path: Path, text: str, message: str) -> None:
    assert error_of(tmp_path, text) == message


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "specs" / "x.yaml"
    path.parent.mkdir()
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(SpecError) as caught:
        load_specs(path, root=tmp_path)
    assert str(caught.value) == (
        "specs/x.yaml:1:10: the spec is not UTF-8 text (byte 0xe9); save it as UTF-8"
    )


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab: -[]{},&*!|>'\"\t\n#?1.")), max_size=60))
def test_arbitrary_text_parses_or_gives_a_spec_error(text: str) -> None:
    try:
        parse_yaml(text, path="fuzz.yaml")
    except SpecError as error:
        message = str(error)
    else:
        return
    assert message.startswith("fuzz.yaml")


def test_values_are_spelled_as_yaml_in_messages() -> None:
    values: list[Any] = [math.nan, math.inf, -math.inf, None, True, "x", [1], {}]
    assert [describe(value) for value in values] == [
        ".nan", ".inf", "-.inf", "null", "true", "'x'", "a list", "an empty mapping",
    ]  # fmt: skip
