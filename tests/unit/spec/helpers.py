"""Spec texts and loaders the spec tests share: the notebook spec, a small spec, and
``error_of``, the one message a spec is refused with (never chained)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.spec import Spec, load_specs

NOTEBOOK = """\
# yaml-language-server: $schema=../spec_schema.json
name: power-gru
description: Weather -> power consumption GRU from the notebook
seed: 42
data:
  features:
    temperature: [18.2, 19.5, 20.1, 22.4, 23.8, 25.0, 23.2, 21.5, 19.8, 17.5]
    humidity:    [65.2, 62.8, 58.5, 55.0, 45.2, 42.1, 48.5, 52.3, 60.5, 67.8]
    wind_speed:  [5.2, 6.8, 8.5, 10.2, 12.5, 14.8, 13.2, 11.5, 9.2, 6.5]
  target:
    name: power_kwh
    linear: {temperature: 2.5, humidity: -0.5, wind_speed: 1.2}
    noise_std: 5.0
  scale: minmax
lookback: 2
model:
  - GRU: {units: 4}
  - Dense: {units: 1}
weights: seeded
tolerance: {atol: 1.0e-6, rtol: 1.0e-5}
"""


#: A short valid spec whose model block starts on line 5 (tests append to it).
SMALL_HEAD = """\
data:
  features: {a: [1.0, 2.0, 3.0, 4.0], b: [4.0, 3.0, 2.0, 1.0]}
  target: {column: a}
lookback: 2
"""


SMALL = SMALL_HEAD + "model:\n  - GRU: {units: 4}\n  - Dense: {units: 1}\n"


def write(root: Path, text: str, name: str = "specs/x.yaml") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(root: Path, text: str, name: str = "specs/x.yaml") -> list[Spec]:
    return load_specs(write(root, text, name), root=root)


def load_one(root: Path, text: str) -> Spec:
    (spec,) = load(root, text)
    return spec


def error_of(root: Path, text: str, name: str = "specs/x.yaml") -> str:
    with pytest.raises(SpecError) as caught:
        load(root, text, name)
    # Our errors never chain: the user sees one message, not our traceback.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    return str(caught.value)


def with_model(model: str) -> str:
    return SMALL_HEAD + "model:\n" + textwrap.indent(textwrap.dedent(model), "  ")


def csv_spec(path: str) -> str:
    return (
        f"data:\n  csv: {{path: {path}, features: [a], target: a}}\nlookback: 1\n"
        "model:\n  - GRU: {units: 1}\n"
    )
