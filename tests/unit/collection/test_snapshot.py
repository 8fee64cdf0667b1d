"""collection/snapshot.py: the syrupy extension that reads, compares and writes goldens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pytest_rnnparity.collection.snapshot import GoldenExtension
from pytest_rnnparity.errors import GoldenError
from pytest_rnnparity.golden.format import Golden, dumps, golden_array

from ..helpers import touch


def _text(
    spec: str,
    values: np.ndarray,
    *,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    rows: int = 3,
    max_values: int = 4096,
) -> str:
    array = golden_array(values, rows=rows, summaries=True, max_values=max_values)
    return dumps(
        Golden(
            meta={"spec": spec, "atol": repr(atol), "rtol": repr(rtol)},
            environment={"keras": "3.15.1"},
            arrays={"keras/gru/output": array},
        )
    )


VALUES = np.linspace(-1.0, 1.0, 8).reshape(4, 2)


@pytest.mark.parametrize(
    ("shift", "matches"),
    [(0.0, True), (9e-7, True), (2e-5, False)],
    ids=["same", "within-atol", "beyond"],
)
def test_matches_within_the_tolerance_of_the_run(shift: float, matches: bool) -> None:
    extension = GoldenExtension()
    recorded = _text("power-gru", VALUES)
    current = _text("power-gru", VALUES + shift)
    assert extension.matches(serialized_data=current, snapshot_data=recorded) is matches


#: 10,000 kept values: written as hex
MANY = np.random.default_rng(3).normal(size=(5000, 2))


@pytest.mark.parametrize(
    ("shift", "matches"),
    [(0.0, True), (9e-7, True), (2e-5, False)],
    ids=["same", "within-atol", "beyond"],
)
def test_matches_hex_goldens_within_the_tolerance_of_the_run(shift: float, matches: bool) -> None:
    extension = GoldenExtension()
    recorded = _text("power-gru", MANY, rows=5000, max_values=10_000)
    current = _text("power-gru", MANY + shift, rows=5000, max_values=10_000)
    assert "encoding = hex <f8" in recorded.splitlines()
    assert extension.matches(serialized_data=current, snapshot_data=recorded) is matches


def test_matches_uses_the_tolerance_the_run_asks_for_not_the_recorded_one() -> None:
    extension = GoldenExtension()
    recorded = _text("power-gru", VALUES, atol=1e-9, rtol=0.0)
    current = _text("power-gru", VALUES + 1e-3, atol=1e-2, rtol=0.0)
    assert extension.matches(serialized_data=current, snapshot_data=recorded)


def test_matches_refuses_a_golden_recorded_for_another_spec() -> None:
    extension = GoldenExtension()
    with pytest.raises(GoldenError) as raised:
        extension.matches(
            serialized_data=_text("power-lstm", VALUES), snapshot_data=_text("power-gru", VALUES)
        )
    assert str(raised.value) == "the golden was recorded for spec 'power-gru', not 'power-lstm'"


def test_serialize_refuses_anything_but_a_golden() -> None:
    with pytest.raises(TypeError, match="golden files hold Golden documents, not dict"):
        GoldenExtension().serialize({})


def test_read_returns_the_text_of_a_valid_golden(tmp_path: Path) -> None:
    path = touch(tmp_path / "g.golden", _text("power-gru", VALUES))
    text = GoldenExtension().read_snapshot_data_from_location(
        snapshot_location=str(path), snapshot_name="g", session_id="s"
    )
    assert text == _text("power-gru", VALUES)


def test_read_returns_none_for_a_missing_golden(tmp_path: Path) -> None:
    location = str(tmp_path / "missing.golden")
    assert (
        GoldenExtension().read_snapshot_data_from_location(
            snapshot_location=location, snapshot_name="g", session_id="s"
        )
        is None
    )


def test_read_raises_golden_error_for_a_corrupt_golden(tmp_path: Path) -> None:
    path = touch(tmp_path / "g.golden", "not a golden\n")
    with pytest.raises(GoldenError) as raised:
        GoldenExtension().read_snapshot_data_from_location(
            snapshot_location=str(path), snapshot_name="g", session_id="s"
        )
    assert str(raised.value) == (
        f"{path}:1: corrupt golden file: expected the first line "
        "'# pytest-rnnparity golden, format 1'; fix or delete it, then re-record it with "
        "--snapshot-update"
    )


def test_read_raises_golden_error_for_a_file_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "g.golden"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(GoldenError, match=r"g\.golden: cannot read the golden file: "):
        GoldenExtension().read_snapshot_data_from_location(
            snapshot_location=str(path), snapshot_name="g", session_id="s"
        )
