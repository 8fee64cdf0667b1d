"""Goldens built in one call, for the tests of the golden format, drift and its report."""

from __future__ import annotations

import numpy as np

from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.golden.format import HEADER, Golden, GoldenArray

TOL = Tolerance(atol=1e-6, rtol=1e-5)


def golden_with(arrays: dict[str, GoldenArray], **meta: str) -> Golden:
    """A golden of spec ``power-gru`` holding ``arrays``, with ``meta`` added."""
    return Golden(meta={"spec": "power-gru", **meta}, environment={}, arrays=arrays)


def every_row(values: np.ndarray, dtype: str = "float64") -> GoldenArray:
    """Every row kept, no summary."""
    values = np.asarray(values, dtype=dtype)
    return GoldenArray(shape=values.shape, dtype=dtype, rows=values)


#: A valid golden file, line by line (each comment is the line's number).
VALID = [
    HEADER,  # 1
    "[meta]",  # 2
    "spec = power-gru",  # 3
    "[environment]",  # 4
    "keras = 3.15.1",  # 5
    "[array keras/dense/output]",  # 6
    "dtype = float32",  # 7
    "shape = 2x1",  # 8
    "kept = 2",  # 9
    "row 0: 0.5",  # 10
    "row 1: -0.25",  # 11
    "summary unit 0: -0.25 0.5 0.125",  # 12
]
