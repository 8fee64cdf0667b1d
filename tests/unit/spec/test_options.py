"""spec/options.py: weights, tolerance, execution paths, marks and golden options."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.spec import GoldenOptions, ToleranceLimits, load_specs

from .helpers import SMALL, error_of, load_one


def test_reads_every_optional_key(tmp_path: Path) -> None:
    spec = load_one(
        tmp_path,
        SMALL
        + textwrap.dedent(
            """\
            dtype: float64
            stateful: true
            marks: [slow, gpu_free]
            golden: {sequences: 0, summaries: false, traces: hidden}
            tolerance:
              atol: 1e-6
              hidden: {rtol: 0.001}
              cell: {atol: 0, rtol: 1}
            """
        ),
    )

    assert spec.dtype == "float64"
    assert spec.stateful is True
    assert spec.marks == ("slow", "gpu_free")
    assert spec.golden == GoldenOptions(sequences=0, summaries=False, traces="hidden")
    assert spec.tolerance.atol == 1e-6  # YAML 1.1 would have read "1e-6" as a string
    assert spec.tolerance.rtol is None
    assert spec.tolerance.hidden == ToleranceLimits(atol=None, rtol=0.001)
    assert spec.tolerance.overall == ToleranceLimits(atol=1e-6, rtol=None)
    assert spec.tolerance.group("hidden") == ToleranceLimits(atol=None, rtol=0.001)
    assert spec.tolerance.group("cell") == ToleranceLimits(atol=0.0, rtol=1.0)
    assert spec.tolerance.group("output") == ToleranceLimits()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("seed: -1", "8:7: seed: expected a non-negative integer, got -1"),
        ("seed: 4294967296", "8:7: seed: expected at most 4294967295, got 4294967296"),
        (
            "name: 'my spec'",
            "8:7: name: expected a name without spaces, brackets or slashes, got 'my spec'",
        ),
        (
            'name: "nul\\0byte"',
            "8:7: name: expected a name without spaces, brackets or slashes, got 'nul\\x00byte'",
        ),
        (
            "dtype: float16",
            "8:8: dtype: expected one of float32, float64, got 'float16'; did you mean 'float64'?",
        ),
        (
            "weights: seed",
            "8:10: weights: expected seeded, keras or {path: <file>}, got"
            " 'seed'; did you mean 'seeded'?",
        ),
        ("tolerance: {atol: -1}", "8:19: tolerance.atol: expected a non-negative number, got -1"),
        (
            "tolerance: {hiden: {atol: 1}}",
            "8:13: tolerance: unknown key 'hiden'; did you mean 'hidden'?",
        ),
        (
            "marks: [slow, 'not a mark']",
            "8:15: marks[1]: expected a pytest mark name (a Python identifier), got 'not a mark'",
        ),
        ("marks: slow", "8:8: marks: expected a list of pytest mark names, got 'slow'"),
        ("stateful: 'true'", "8:11: stateful: expected true or false, got 'true'"),
        (
            "golden: {sequences: -1}",
            "8:21: golden.sequences: expected a non-negative integer, got -1",
        ),
        (
            "golden: {traces: gates}",
            "8:18: golden.traces: expected one of all, hidden, got 'gates'",
        ),
    ],
)
def test_remaining_keys(tmp_path: Path, extra: str, message: str) -> None:
    assert error_of(tmp_path, SMALL + extra + "\n") == f"specs/x.yaml:{message}"


def test_execution_paths_are_parsed_with_ids_and_overrides(tmp_path: Path) -> None:
    spec_file = tmp_path / "p.yaml"
    spec_file.write_text(
        textwrap.dedent(
            """\
            data: {synthetic: {kind: sine, length: 20}}
            lookback: 4
            model:
              - GRU: {units: 2}
            paths:
              - {backend: jax, tolerance: {atol: 1.0e-5}}
              - {implementation: 1, unroll: true}
              - {use_cudnn: true}
              - {run_eagerly: false}
            """
        )
    )
    (spec,) = load_specs(spec_file, root=tmp_path)
    assert [p.id for p in spec.paths] == [
        "backend=jax",
        "implementation=1-unroll=true",
        "use_cudnn=true",
        "run_eagerly=false",
    ]
    assert spec.paths[0].tolerance.atol == 1e-5
    assert spec.paths[1].layer_overrides() == {"implementation": 1, "unroll": True}
    assert spec.paths[3].run_eagerly is False
    assert spec.paths[3].layer_overrides() == {}  # not a layer argument
    assert [p.line for p in spec.paths] == [6, 7, 8, 9]


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        ("paths: []", "5:8: paths: expected a list of execution paths such as"),
        ("paths: [{tolerance: {atol: 1.0}}]", "5:9: paths[0]: expected at least one of backend"),
        ("paths: [{backend: jaxx}]", "5:19: paths[0].backend: expected one of tensorflow, jax"),
        ("paths: [{implementation: 3}]", "5:26: paths[0].implementation: expected"),
        ("paths: [{run_eagerly: sometimes}]", "5:23: paths[0].run_eagerly: expected"),
        (
            "paths: [{unroll: true}, {unroll: true}]",
            "5:25: paths[1]: the execution path unroll=true is listed twice",
        ),
    ],
)
def test_bad_execution_paths(tmp_path: Path, paths: str, message: str) -> None:
    spec_file = tmp_path / "p.yaml"
    spec_file.write_text(
        "data: {synthetic: {kind: sine, length: 20}}\nlookback: 4\nmodel:\n  - GRU: {units: 2}\n"
        + paths
        + "\n"
    )
    with pytest.raises(SpecError) as excinfo:
        load_specs(spec_file, root=tmp_path)
    assert str(excinfo.value).startswith(f"{spec_file.name}:{message}")
