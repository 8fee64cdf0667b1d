"""benchmarks/run.py: each row's verdict is read from its target, and printed."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

import pytest

from .helpers import REPO


def _run_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmarks_run", REPO / "benchmarks" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("benchmarks_run", module)
    spec.loader.exec_module(module)
    return module


RUN = _run_module()


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"target": "<= 1.25", "ratio": 1.25}, "met"),
        ({"target": "<= 1.25", "ratio": 1.26}, "NOT MET"),
        ({"target": "<= 1.2", "ratio": 1.204}, "met"),  # as printed: 1.20x
        ({"target": "speedup >= 1.6", "ratio": 1.7}, "met"),
        ({"target": "speedup >= 1.6", "ratio": 1.5}, "NOT MET"),
        ({"target": "(report)", "ratio": 0.8}, "-"),
        ({"target": "<= 1 MB each", "ratio": float("nan"), "met": True}, "met"),
        ({"target": "<= 1.1 + reference", "ratio": 1.05, "met": False}, "NOT MET"),
    ],
)
def test_a_rows_verdict_follows_its_target(row: dict[str, Any], expected: str) -> None:
    assert RUN.verdict(row) == expected


def test_the_table_prints_the_verdict_beside_the_target() -> None:
    rows = [
        {"benchmark": "1. large", "ratio": 1.5, "target": "<= 1.25", "detail": "slow"},
        {"benchmark": "3. sizes", "ratio": float("nan"), "target": "(report)", "detail": "1 KB"},
    ]
    assert RUN.table(rows).splitlines() == [
        "benchmark | ratio | target   | verdict | detail",
        "----------|-------|----------|---------|-------",
        "1. large  | 1.50x | <= 1.25  | NOT MET | slow  ",
        "3. sizes  | -     | (report) | -       | 1 KB  ",
    ]
