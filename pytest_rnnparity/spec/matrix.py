"""``matrix:``: one spec file expanded into variants, and each variant's id.

Each variant is the spec's document with the matrix values put in place, so that it is
validated on its own and errors point at the matrix value that produced them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from pytest_rnnparity.spec.reader import Reader, suggest
from pytest_rnnparity.spec.types import (
    CANDIDATE_KEYS,
    CELL_ARGUMENTS,
    CSV_KEYS,
    DATA_KEYS,
    GOLDEN_KEYS,
    GRAPH_LAYER_ARGUMENTS,
    INPUT_KEYS,
    MAX_VARIANT_ID_BYTES,
    MAX_VARIANTS,
    NODE_KEYS,
    SYNTHETIC_KEYS,
    TARGET_KEYS,
    TOKEN_KEYS,
    TOLERANCE_GROUPS,
    TOLERANCE_KEYS,
    TOP_LEVEL_KEYS,
    TORCH_KEYS,
)
from pytest_rnnparity.spec.yaml_loader import (
    KeyPath,
    LocatedDocument,
    describe,
    parse_path,
    render_path,
)


def expand_matrix(
    document: LocatedDocument, reader: Reader
) -> list[tuple[str | None, LocatedDocument]]:
    """Each variant's id and document, in cartesian-product order; ``(None, doc)`` alone."""
    if "matrix" not in document.value:
        return [(None, document)]
    matrix = document.value["matrix"]
    if not isinstance(matrix, dict) or not matrix:
        reader.fail(
            ("matrix",),
            "expected a mapping of key paths to lists of values, such as"
            " 'model[0].GRU.units: [4, 64]'",
        )
    paths: list[KeyPath] = []
    for key, values in matrix.items():
        at: KeyPath = ("matrix", key)
        path = _matrix_path(document, reader, key)
        for earlier in paths:
            shorter, longer = sorted((earlier, path), key=len)
            if longer[: len(shorter)] == shorter:
                reader.fail(
                    at,
                    f"overlaps {render_path(earlier)!r}; one matrix key cannot contain another",
                    at_key=True,
                )
        paths.append(path)
        if not isinstance(values, list) or not values:
            reader.fail(at, f"expected a non-empty list of values, got {describe(values)}")
        seen: dict[str, int] = {}
        for index, value in enumerate(values):
            label = _id_value(value)
            if label in seen:
                reader.fail(
                    (*at, index),
                    f"repeats the value {label} (item {seen[label]}); each variant needs its"
                    " own value",
                )
            seen[label] = index
    count = math.prod(len(values) for values in matrix.values())
    if count > MAX_VARIANTS:
        reader.fail(("matrix",), f"expands to {count} variants; at most {MAX_VARIANTS} allowed")
    base = LocatedDocument(
        value={key: value for key, value in document.value.items() if key != "matrix"},
        values={p: loc for p, loc in document.values.items() if p[:1] != ("matrix",)},
        keys={p: loc for p, loc in document.keys.items() if p[:1] != ("matrix",)},
    )
    labels = _labels(paths)
    keys = list(matrix)
    parts = [
        [f"{_id_part(label)}={_id_part(_id_value(value))}" for value in matrix[key]]
        for key, label in zip(keys, labels, strict=True)
    ]
    _check_id_size(reader, keys, parts)
    variants: list[tuple[str | None, LocatedDocument]] = []
    for choice in itertools.product(*(range(len(matrix[key])) for key in keys)):
        variant = base
        for key, path, index in zip(keys, paths, choice, strict=True):
            variant = variant.replaced(path, document.subtree(("matrix", key, index)))
        ids = (key_parts[index] for key_parts, index in zip(parts, choice, strict=True))
        variants.append(("-".join(ids), variant))
    return variants


def _check_id_size(reader: Reader, keys: Sequence[str], parts: Sequence[Sequence[str]]) -> None:
    """Refuse values that make a variant id longer than :data:`MAX_VARIANT_ID_BYTES`.

    The longest id takes the longest part of every key; the value blamed is the longest
    of them, the one to shorten.
    """
    sizes = [[len(part.encode("utf-8")) for part in key_parts] for key_parts in parts]
    longest = sum(max(key_sizes) for key_sizes in sizes) + len(keys) - 1
    if longest <= MAX_VARIANT_ID_BYTES:
        return
    _, key_index, value_index = max(
        (size, k, v) for k, key_sizes in enumerate(sizes) for v, size in enumerate(key_sizes)
    )
    reader.fail(
        ("matrix", keys[key_index], value_index),
        f"this value makes a variant id of {longest} bytes; at most {MAX_VARIANT_ID_BYTES} are"
        " allowed (the id names the golden file)",
        key=("matrix", keys[key_index], value_index),
    )


def _matrix_path(document: LocatedDocument, reader: Reader, key: str) -> KeyPath:
    at: KeyPath = ("matrix", key)
    path = parse_path(key)
    if path is None or path[0] == "matrix":
        reader.fail(at, f"{key!r} is not a key path such as model[0].GRU.units", at_key=True)
    try:
        document.get(path)
        return path
    except KeyError:
        pass
    parent = path[:-1]
    allowed: Sequence[str] = ()
    try:
        if isinstance(document.get(parent), dict):
            allowed = _allowed_keys(document, parent)
    except KeyError:
        pass
    if path[-1] in allowed:
        return path
    problem = f"{key!r} names nothing in the spec"
    missing = next(end for end in range(1, len(path) + 1) if not _exists(document, path[:end]))
    if missing < len(path):
        problem += f" (it has no {render_path(path[:missing])})"
    suggestion = suggest(str(path[-1]), [*allowed, *_present_keys(document, parent)])
    if suggestion is not None:
        problem += f"; did you mean {render_path((*parent, suggestion))!r}?"
    reader.fail(at, problem, at_key=True)


def _exists(document: LocatedDocument, path: KeyPath) -> bool:
    try:
        document.get(path)
    except KeyError:
        return False
    return True


def _present_keys(document: LocatedDocument, parent: KeyPath) -> list[str]:
    try:
        value = document.get(parent)
    except KeyError:
        return []
    return list(value) if isinstance(value, dict) else []


def _allowed_keys(document: LocatedDocument, parent: KeyPath) -> Sequence[str]:
    """Keys a matrix may add under ``parent`` although the spec does not write them."""
    fixed: dict[KeyPath, Sequence[str]] = {
        (): [key for key in TOP_LEVEL_KEYS if key != "matrix"],
        ("data",): DATA_KEYS,
        ("data", "target"): TARGET_KEYS,
        ("data", "csv"): CSV_KEYS,
        ("data", "synthetic"): SYNTHETIC_KEYS,
        ("tolerance",): TOLERANCE_KEYS,
        ("golden",): GOLDEN_KEYS,
        ("candidate",): CANDIDATE_KEYS,
        ("torch",): TORCH_KEYS,
        ("torch", "tolerance"): ("atol", "rtol"),
        **{("tolerance", group): ("atol", "rtol") for group in TOLERANCE_GROUPS},
    }
    if parent in fixed:
        return fixed[parent]
    if parent[:2] == ("data", "inputs") and len(parent) >= 3:
        sub = parent[3:]
        by_section: dict[KeyPath, Sequence[str]] = {
            (): INPUT_KEYS,
            ("target",): TARGET_KEYS,
            ("csv",): CSV_KEYS,
            ("synthetic",): SYNTHETIC_KEYS,
            ("tokens",): TOKEN_KEYS,
        }
        return by_section.get(sub, ())
    if parent[:2] == ("model", "layers") and len(parent) >= 3:
        if len(parent) == 3:
            return NODE_KEYS
        if len(parent) == 4 and isinstance(parent[3], str):
            return GRAPH_LAYER_ARGUMENTS.get(parent[3], ())
    in_layer_slot = len(parent) >= 2 and (
        (parent[0] == "model" and len(parent) == 3 and isinstance(parent[1], int))
        or parent[-2] in ("layer", "backward_layer")
    )
    if in_layer_slot and isinstance(parent[-1], str):
        return GRAPH_LAYER_ARGUMENTS.get(parent[-1], ())
    in_cell_slot = "cell" in parent[-3:-1]
    if in_cell_slot and isinstance(parent[-1], str):
        return CELL_ARGUMENTS.get(parent[-1], ())
    return ()


def _labels(paths: Sequence[KeyPath]) -> list[str]:
    """The shortest unique path suffix of each matrix key (the last step where unique)."""
    lengths = [1] * len(paths)
    while True:
        labels = [_suffix(path, length) for path, length in zip(paths, lengths, strict=True)]
        clashes = {label for label in labels if labels.count(label) > 1}
        if not clashes:
            return labels
        for index, label in enumerate(labels):
            if label in clashes:
                lengths[index] += 1


def _suffix(path: KeyPath, length: int) -> str:
    start = max(len(path) - length, 0)
    while start > 0 and isinstance(path[start], int):
        start -= 1  # an index reads only after the name it indexes
    return render_path(path[start:])


def _id_part(text: str) -> str:
    """A label or a value as it reads in a variant id (``label=value-label=value``).

    ``/``, ``\\``, ``%``, ``::`` and unprintable characters are percent-encoded (``%2F``)
    so that the id is fit for a file name and a node id; so is ``=``, and that makes
    ids unique by construction: the labels are the same in every variant of a file, so
    with no ``=`` inside a label or a value each ``=`` ends a label, and the value
    before it is what remains once ``-<that label>`` is cut off. A value holding
    ``-description=`` can no longer pass for the next label.
    """
    chars = []
    for index, char in enumerate(text):
        in_pair = "::" in (text[max(index - 1, 0) : index + 1], text[index : index + 2])
        unsafe = char in "/\\%=" or not char.isprintable() or in_pair
        chars.append(quote(char, safe="") if unsafe else char)
    return "".join(chars)


def _id_value(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return describe(value)
    if isinstance(value, list):
        return "[" + ",".join(_id_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_id_value(v)}" for k, v in value.items()) + "}"
    return str(value)
