"""Loading a spec file: read and parse it, expand its matrix, read every section, hash it.

Also the JSON Schema text and how paths are shown in messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.spec.data import check_size, read_data, read_graph_data, read_lookback
from pytest_rnnparity.spec.graph import is_graph_model, read_graph
from pytest_rnnparity.spec.layers import read_model
from pytest_rnnparity.spec.matrix import expand_matrix
from pytest_rnnparity.spec.options import (
    read_candidate,
    read_golden,
    read_marks,
    read_paths,
    read_timeout,
    read_tolerance,
    read_torch,
    read_weights,
)
from pytest_rnnparity.spec.reader import Reader, SpecContext
from pytest_rnnparity.spec.saved_model import (
    feature_count,
    feature_key,
    input_problem,
    saved_input_shape,
)
from pytest_rnnparity.spec.types import (
    MAX_NAME_BYTES,
    MAX_SEED,
    MAX_SPEC_BYTES,
    TOP_LEVEL_KEYS,
    DataSource,
    DType,
    GoldenOptions,
    GraphData,
    LayerDecl,
    ModelGraph,
    SavedModel,
    Spec,
    ToleranceOptions,
)
from pytest_rnnparity.spec.yaml_loader import describe, not_utf8, parse_path, parse_yaml

_NAME_FORBIDDEN = re.compile(r"[\s\[\]/\\\x00-\x1f\x7f]|::")


def schema_text() -> str:
    """The JSON Schema (draft 2020-12) of the spec format, as stored in the package."""
    # the schema sits in the package root, where specs reference it (and package-data ships it)
    return Path(__file__).parent.with_name("spec_schema.json").read_text(encoding="utf-8")


def load_specs(path: Path, *, root: Path) -> list[Spec]:
    """Load a spec file: one :class:`Spec` per matrix variant (one without a matrix).

    Args:
        path: The YAML file.
        root: The project root; every file a spec names must resolve inside it.

    Raises:
        SpecError: the first problem found, located ``file:line:column``.
    """
    display = display_path(path, root)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SpecError(f"cannot read the spec: {error.strerror}", path=display) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(
            f"the spec is larger than {MAX_SPEC_BYTES} bytes; put large data in a CSV file",
            path=display,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise not_utf8(error, what="spec", path=display) from None
    document = parse_yaml(text, path=display)
    reader = Reader(document, display=display, variant=None)
    reader.fields((), TOP_LEVEL_KEYS, required=_required(document.value))
    context = SpecContext(spec_path=path, root=root.resolve(), display=display)
    return [
        _build_spec(Reader(variant_document, display=display, variant=variant), context)
        for variant, variant_document in expand_matrix(document, reader)
    ]


def display_path(path: Path, root: Path) -> str:
    """``path`` as the user wrote it (links kept), relative to ``root`` when inside it."""
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return str(path)


def resolved_display_path(path: Path | str, root: Path) -> str:
    """``path`` with links resolved, relative to the resolved ``root`` when inside it."""
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _required(document: Any) -> tuple[str, ...]:
    """The top-level keys a spec must have: a functional model's inputs give their own
    lookback (or have none: token sequences)."""
    model = document.get("model") if isinstance(document, dict) else None
    return ("data", "model") if is_graph_model(model) else ("data", "lookback", "model")


def _build_spec(reader: Reader, context: SpecContext) -> Spec:
    top = reader.fields((), TOP_LEVEL_KEYS, required=_required(reader.document.value))
    name = reader.string(("name",)) if "name" in top else context.spec_path.stem
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        if "name" in top:
            reader.fail(
                ("name",),
                f"expected a name of at most {MAX_NAME_BYTES} bytes (it names the golden"
                f" file), got {size}",
            )
        raise SpecError(
            f"the file name gives a spec name of {size} bytes, at most {MAX_NAME_BYTES} are"
            " allowed (it names the golden file); set a shorter name:",
            path=context.display,
        )
    if _NAME_FORBIDDEN.search(name):
        if "name" in top:
            reader.fail(
                ("name",),
                f"expected a name without spaces, brackets or slashes, got {describe(name)}",
            )
        raise SpecError(
            f"the file name gives the spec name {name!r}, which has spaces, brackets or"
            " slashes; set name:",
            path=context.display,
        )
    description = reader.string(("description",)) if "description" in top else ""
    seed = reader.integer(("seed",), minimum=0, maximum=MAX_SEED) if "seed" in top else 0
    data: DataSource | GraphData
    model: tuple[LayerDecl, ...] | SavedModel | ModelGraph
    if is_graph_model(reader.get(("model",))):
        data, lookback = read_graph_data(reader, context)
        model = read_graph(reader, data)
    else:
        data = read_data(reader, context)
        lookback = read_lookback(reader, data)
        model = read_model(reader, context)
        check_size(reader, data, lookback, model)
        if isinstance(model, SavedModel):
            _check_saved_input(reader, context, model, data, lookback)
    weights = read_weights(reader, context, saved=isinstance(model, SavedModel))
    dtype = (
        cast(DType, reader.choice(("dtype",), ("float32", "float64")))
        if "dtype" in top
        else "float32"
    )
    tolerance = read_tolerance(reader) if "tolerance" in top else ToleranceOptions()
    stateful = reader.boolean(("stateful",)) if "stateful" in top else False
    marks = read_marks(reader) if "marks" in top else ()
    golden = read_golden(reader) if "golden" in top else GoldenOptions()
    paths = read_paths(reader, stateful=stateful, dtype=dtype) if "paths" in top else ()
    candidate = read_candidate(reader, model) if "candidate" in top else None
    torch = read_torch(reader, model) if "torch" in top else None
    timeout = read_timeout(reader) if "timeout" in top else None
    layer_lines: tuple[int, ...] = ()
    if isinstance(model, ModelGraph):
        layer_lines = tuple(node.line for node in model.layers)
    elif not isinstance(model, SavedModel):
        layer_lines = tuple(layer.line for layer in model)
    hashed = {
        "seed": seed,
        "data": data,
        "lookback": lookback,
        "model": model,
        "weights": weights,
        "dtype": dtype,
        "stateful": stateful,
        "golden": golden,
    }
    canonical = json.dumps(_canonical(hashed), sort_keys=True, separators=(",", ":"))
    return Spec(
        path=context.spec_path,
        name=name,
        variant=reader.variant,
        description=description,
        seed=seed,
        data=data,
        lookback=lookback,
        model=model,
        weights=weights,
        dtype=dtype,
        tolerance=tolerance,
        stateful=stateful,
        marks=marks,
        golden=golden,
        content_hash=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        line=reader.document.key_location(("model",)).line,
        layer_lines=layer_lines,
        paths=paths,
        candidate=candidate,
        torch=torch,
        timeout=timeout,
        display_path=context.display,
        locations=MappingProxyType(reader.lines()),
    )


def _check_saved_input(
    reader: Reader, context: SpecContext, model: SavedModel, data: DataSource, lookback: int
) -> None:
    """Refuse windows that do not fit the input a saved model declares (when it is known
    without Keras: see :mod:`.saved_model`)."""
    shape = saved_input_shape(model.path)
    if shape is None:
        return
    shown = resolved_display_path(model.path, context.root)
    problem = input_problem(shape, shown=shown, lookback=lookback, features=feature_count(data))
    if problem is not None:
        key, text = problem
        at = ("lookback",) if key == "lookback" else parse_path(feature_key(data))
        assert at is not None
        reader.fail(at, text)


def _canonical(value: Any) -> Any:
    """JSON-ready form: dataclasses and mappings keep their order as ``[key, value]`` pairs.

    Resolved paths and line numbers stay out: the hash must not change when the project
    moves or a comment is added; so do fields marked ``metadata={"hashed": False}``
    (``data.time``, which only names the rows).
    """
    if is_dataclass(value) and not isinstance(value, type):
        items = [
            (f.name, getattr(value, f.name))
            for f in fields(value)
            if f.name != "path" and f.name != "line" and f.metadata.get("hashed", True)
        ]
        return [type(value).__name__, [[key, _canonical(item)] for key, item in items]]
    if isinstance(value, Mapping):
        return [[str(key), _canonical(item)] for key, item in value.items()]
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value
