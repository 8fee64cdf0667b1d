"""Determinism: the same specs recorded twice, once under ``-n 2``, give the same bytes."""

from __future__ import annotations

from types import ModuleType

import pytest

from .conftest import NEW_SEED, Recording, record_in_process

pytestmark = pytest.mark.keras


def test_recording_again_gives_byte_identical_goldens(
    pytester: pytest.Pytester, keras_loaded: ModuleType, new_recording: Recording
) -> None:
    # the recording (two xdist workers) runs in other processes meanwhile
    again = record_in_process(pytester, keras_loaded, NEW_SEED)

    first = new_recording.goldens()
    assert len(first) == 7
    assert again == first
