"""Fuzzing: whatever a spec file holds, loading it gives a spec or our one-line SpecError.

Random YAML documents, spec-shaped documents, and structural and textual mutations of
the bundled specs are written to ``specs/fuzz.yaml`` of a project (a copy of the
repository's ``specs/``, so CSV paths resolve) and loaded the way a run loads them, up
to the windows fed to Keras. A loaded spec must give finite windows. Golden files get
the same treatment: a mutated golden reads, compares and reports, or is a GoldenError.

``HYPOTHESIS_PROFILE=thorough`` runs many more examples (see conftest).
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.errors import GoldenError, SpecError
from pytest_rnnparity.golden.drift import compare_goldens
from pytest_rnnparity.golden.format import Golden, dumps, golden_array, loads
from pytest_rnnparity.report.drift import drift_message
from pytest_rnnparity.spec import (
    ACTIVATIONS,
    CSV_KEYS,
    DATA_KEYS,
    GOLDEN_KEYS,
    LAYER_ARGUMENTS,
    SYNTHETIC_KEYS,
    TARGET_KEYS,
    TOLERANCE_KEYS,
    TOP_LEVEL_KEYS,
)

from .conftest import FUZZ, REPOSITORY, load_fully

BUNDLED = {path.name: path.read_text(encoding="utf-8") for path in REPOSITORY.glob("specs/*.yaml")}
ARGUMENTS = sorted({argument for arguments in LAYER_ARGUMENTS.values() for argument in arguments})
WORDS = sorted(
    {
        *TOP_LEVEL_KEYS, *DATA_KEYS, *TARGET_KEYS, *CSV_KEYS, *SYNTHETIC_KEYS, *TOLERANCE_KEYS,
        *GOLDEN_KEYS, *LAYER_ARGUMENTS, *ARGUMENTS, "path", "x", "y", "sine", "normal",
        "random_walk", "minmax", "standard", "none", "seeded", "keras", "float32", "float64",
        "concat", "sum", "all", "hidden", "data/nile.csv", "../README.md", "/etc/passwd",
        "model[0].GRU.units", "model[9].LSTM.units", "data.stride", "tanh", "relu",
    }
)  # fmt: skip

keys = st.sampled_from(WORDS) | st.text(max_size=8)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, 2, 3, -1, 4096, 10**6, 10**9, 2**64]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=4),
    max_leaves=16,
)
numbers = st.lists(st.floats(-1e6, 1e6) | scalars, min_size=0, max_size=9)


@pytest.fixture(scope="session")
def fuzz_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's ``specs/`` (with its CSV data) in a project of its own."""
    project = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(REPOSITORY / "specs", project / "specs")
    return project


def assert_loads_or_refuses(project: Path, text: str) -> None:
    """Loading ``text`` gives finite windows or a one-line SpecError naming a file."""
    path = project / "specs" / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        windows = load_fully(path, root=project)
    except SpecError as error:
        message = str(error)
        event(f"refused at {(error.key or 'the top level').split('.')[0].split('[')[0]}")
        assert message.startswith(("specs/fuzz.yaml", "specs/data/")), message
        assert "\n" not in message
        return
    event("loaded")
    for window in windows:
        assert np.isfinite(window.x).all()
        assert np.isfinite(window.y).all()


def dump(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


@FUZZ
@given(st.dictionaries(st.sampled_from(TOP_LEVEL_KEYS) | keys, values, max_size=8))
def test_random_yaml_documents(fuzz_project: Path, document: dict[str, Any]) -> None:
    assert_loads_or_refuses(fuzz_project, dump(document))


@st.composite
def layers(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    """``{Class: {argument: value}}`` with real classes and arguments, values mostly sane."""
    class_name = draw(st.sampled_from([*LAYER_ARGUMENTS, "Conv1D"]))
    allowed = LAYER_ARGUMENTS.get(class_name, ("filters",))
    arguments: dict[str, Any] = {}
    for argument in draw(st.lists(st.sampled_from(allowed), max_size=4, unique=True)):
        if argument in ("layer", "backward_layer") and depth == 0:
            arguments[argument] = draw(layers(depth=1))
        elif argument in ("units", "implementation", "rate"):
            arguments[argument] = draw(st.integers(1, 5) | scalars)
        elif argument.endswith("activation"):
            arguments[argument] = draw(st.sampled_from(ACTIVATIONS) | scalars)
        else:
            arguments[argument] = draw(st.booleans() | st.floats(0, 1) | scalars)
    return {class_name: arguments}


#: Valid data sections: a spec-shaped document starts from one of them half of the time.
GOOD_DATA = [
    {"features": {"x": [0.1, 0.5, -0.3, 0.8, 0.2, -0.6]}, "target": {"column": "x"}},
    {"synthetic": {"kind": "sine", "length": 30, "features": 2}, "stride": 2},
    {"csv": {"path": "data/nile.csv", "features": ["flow"], "target": "flow"}, "batch": 8},
]
#: Matrix keys that name something in most spec-shaped documents.
MATRIX_KEYS = ["lookback", "seed", "model[0].GRU.units", "model[0].LSTM.units", "data.scale"]


@st.composite
def random_data(draw: st.DrawFn) -> dict[str, Any]:
    """A data section of the right shape whose values are anything."""
    source = draw(st.sampled_from(["features", "synthetic", "csv"]))
    if source == "features":
        columns = draw(st.dictionaries(st.sampled_from(["x", "y", "z"]), numbers, max_size=3))
        target = draw(
            st.fixed_dictionaries(
                {}, optional={"column": st.sampled_from(["x", "y", "q"]), "values": numbers}
            )
            | st.fixed_dictionaries({"linear": st.dictionaries(keys, scalars, max_size=3)})
        )
        return {"features": columns, "target": target}
    if source == "synthetic":
        synthetic = {
            "kind": draw(st.sampled_from(["sine", "normal", "random_walk", "saw"])),
            "length": draw(st.integers(-1, 300) | scalars),
            "features": draw(st.integers(0, 4) | scalars),
        }
        return {"synthetic": synthetic}
    csv = {
        "path": draw(st.sampled_from(["data/nile.csv", "data/none.csv", "data", "../x"])),
        "features": draw(st.lists(st.sampled_from(["year", "flow", "x"]), max_size=3)),
        "target": draw(st.sampled_from(["flow", "year", "x"])),
    }
    return {"csv": csv}


@st.composite
def spec_shaped(draw: st.DrawFn) -> dict[str, Any]:
    """A document shaped like a spec, often valid in parts, so that fuzzing gets past the
    first checks to the model, the matrix and the data."""
    data = copy.deepcopy(draw(st.sampled_from(GOOD_DATA) | random_data()))
    options = {
        "scale": st.sampled_from(["minmax", "standard", "none", "log"]),
        "stride": st.integers(1, 4) | scalars,
        "batch": st.integers(1, 4) | scalars,
    }
    data.update(draw(st.fixed_dictionaries({}, optional=options)))
    model = draw(st.lists(layers(), max_size=2))
    if draw(st.booleans()):
        model.append({"GRU": {"units": draw(st.integers(1, 3))}})
    document = {"data": data, "lookback": draw(st.integers(1, 5) | scalars), "model": model}
    extras = {
        "seed": st.integers(0, 9) | scalars,
        "dtype": st.sampled_from(["float32", "float64", "float16"]),
        "weights": st.sampled_from(["seeded", "keras", "seed"]) | values,
        "tolerance": st.dictionaries(st.sampled_from(TOLERANCE_KEYS), scalars, max_size=2),
        "golden": st.dictionaries(st.sampled_from(GOLDEN_KEYS), scalars, max_size=2),
        "matrix": st.dictionaries(
            st.sampled_from(MATRIX_KEYS) | keys,
            st.lists(st.integers(1, 4) | scalars, max_size=3),
            max_size=2,
        ),
        "stateful": st.booleans() | scalars,
        "marks": st.lists(st.sampled_from(["slow", "x y"]) | scalars, max_size=2),
    }
    document.update(draw(st.fixed_dictionaries({}, optional=extras)))
    return document


@FUZZ
@given(spec_shaped())
def test_spec_shaped_documents(fuzz_project: Path, document: dict[str, Any]) -> None:
    assert_loads_or_refuses(fuzz_project, dump(document))


def nodes(document: Any) -> list[tuple[Any, Any]]:
    """``(container, key)`` of every value below the top of ``document``."""
    found = []
    pending = [document]
    while pending:
        container = pending.pop()
        pairs = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in pairs:
            found.append((container, key))
            if isinstance(value, dict | list):
                pending.append(value)
    return found


@st.composite
def mutated_bundled_spec(draw: st.DrawFn) -> Any:
    """A bundled spec with one to three values deleted, replaced, renamed or wrapped."""
    document = copy.deepcopy(yaml.safe_load(BUNDLED[draw(st.sampled_from(sorted(BUNDLED)))]))
    for _ in range(draw(st.integers(1, 3))):
        container, key = draw(st.sampled_from(nodes(document)))
        operation = draw(st.sampled_from(["delete", "replace", "rename", "wrap", "duplicate"]))
        if operation == "delete":
            del container[key]
        elif operation == "replace":
            container[key] = draw(values)
        elif operation == "rename" and isinstance(container, dict):
            container[draw(keys)] = container.pop(key)
        elif operation == "wrap":
            container[key] = draw(st.sampled_from([[container[key]], {"x": container[key]}]))
        elif isinstance(container, list):
            container.insert(key, copy.deepcopy(container[key]))
        if not nodes(document):
            break
    return document


@FUZZ
@given(mutated_bundled_spec())
def test_mutated_bundled_specs(fuzz_project: Path, document: Any) -> None:
    assert_loads_or_refuses(fuzz_project, dump(document))


@st.composite
def edited_text(draw: st.DrawFn, text: str) -> str:
    """``text`` with one to four characters or lines inserted, deleted or replaced."""
    alphabet = st.sampled_from(list(" :-[]{},&*!|>'\"#?\t\n.0123456789eaxZ\\%@`"))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        operation = draw(st.sampled_from(["insert", "delete", "replace", "line"]))
        if operation == "insert":
            text = text[:at] + draw(alphabet) + text[at:]
        elif operation == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
        elif operation == "replace":
            text = text[:at] + draw(alphabet) + text[at + 1 :]
        else:
            lines = text.splitlines(keepends=True) or [""]
            line = draw(st.integers(0, len(lines) - 1))
            lines.insert(draw(st.integers(0, len(lines))), lines[line])
            text = "".join(lines)
    return text


@FUZZ
@given(st.data())
def test_edited_bundled_spec_text(fuzz_project: Path, data: st.DataObject) -> None:
    text = data.draw(edited_text(BUNDLED[data.draw(st.sampled_from(sorted(BUNDLED)))]))
    assert_loads_or_refuses(fuzz_project, text)


# -- goldens -------------------------------------------------------------------------------

GOLDEN = Golden(
    meta={"spec": "fuzz", "atol": "1e-06", "rtol": "1e-05"},
    environment={"keras": "3.15.1"},
    arrays={
        "keras/dense/output": golden_array(
            np.linspace(-1, 1, 4).reshape(4, 1), rows=2, summaries=True
        ),
        "reference/gru/forward/hidden": golden_array(
            np.linspace(-1, 1, 24).reshape(4, 3, 2).astype(np.float32), rows=2, summaries=True
        ),
    },
)
GOLDEN_TEXT = dumps(GOLDEN)
#: 5,120 kept values: hex data lines, five of them
GOLDEN_HEX = Golden(
    meta={"spec": "fuzz", "atol": "1e-06", "rtol": "1e-05"},
    environment={"keras": "3.15.1"},
    arrays={
        "reference/gru/forward/hidden": golden_array(
            np.linspace(-1, 1, 5120).reshape(4, 64, 20).astype(np.float32),
            rows=4,
            summaries=True,
            max_values=8192,
        ),
    },
)
GOLDEN_HEX_TEXT = dumps(GOLDEN_HEX)
TOLERANCE = Tolerance(atol=1e-6, rtol=1e-5)


@st.composite
def edited_golden(draw: st.DrawFn, golden_text: str = GOLDEN_TEXT) -> str:
    """The golden text with lines cut, repeated or given other words or characters, or truncated."""
    lines = golden_text.splitlines()
    words = st.sampled_from(
        ["-1", "0", "99999999999", "2x99", "x", "nan", "-inf", "1e999", "datetime64", "V8",
         "float16", "int8", "[array a]", "[meta]", "row 0: 1", "summary t 0: 1 2 3", "=",
         "data: 0000803f", "data: 000", "encoding = hex <f4", "encoding = hex <f8",
         "encoding = base64 <f4", "encoding = hex", "hex", "base64"]
    )  # fmt: skip
    characters = st.sampled_from(["!", "=", "A", "f", "g", "+", "0", "-", " ", "\r", "é"])
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines) - 1)) if lines else 0
        operation = draw(
            st.sampled_from(["word", "character", "delete", "repeat", "line", "truncate"])
        )
        if not lines:
            lines = [draw(words)]
        elif operation == "word":
            parts = lines[at].split(" ")
            parts[draw(st.integers(0, len(parts) - 1))] = draw(words)
            lines[at] = " ".join(parts)
        elif operation == "character" and lines[at]:
            where = draw(st.integers(0, len(lines[at]) - 1))
            lines[at] = lines[at][:where] + draw(characters) + lines[at][where + 1 :]
        elif operation == "delete":
            del lines[at]
        elif operation == "repeat":
            lines.insert(draw(st.integers(0, len(lines))), lines[at])
        elif operation == "line":
            lines[at] = draw(words)
        elif operation == "truncate":
            text = "\n".join(lines)
            lines = text[: draw(st.integers(0, len(text)))].split("\n")
    return "\n".join(lines) + "\n"


def assert_reads_compares_and_reports_or_refuses(text: str, golden: Golden) -> None:
    """A mutated golden reads, compares and reports, or is a GoldenError naming its line."""
    try:
        recorded = loads(text, location="golden/fuzz/fuzz.golden")
    except GoldenError as error:
        message = str(error)
        event("refused")
        assert message.startswith("golden/fuzz/fuzz.golden:")
        return
    event("read")
    drift = compare_goldens(recorded, golden, TOLERANCE)
    if not drift.ok:
        drift_message(recorded, golden, drift, golden_path="g", update_command="u")
    # what was read can be written again (as --snapshot-update would, were it allowed to)
    loads(dumps(recorded), location="golden/fuzz/fuzz.golden")


@FUZZ
@given(edited_golden())
def test_edited_goldens_read_compare_and_report_or_are_golden_errors(text: str) -> None:
    assert_reads_compares_and_reports_or_refuses(text, GOLDEN)


@FUZZ
@given(edited_golden(GOLDEN_HEX_TEXT))
def test_edited_hex_goldens_read_compare_and_report_or_are_golden_errors(text: str) -> None:
    assert_reads_compares_and_reports_or_refuses(text, GOLDEN_HEX)
