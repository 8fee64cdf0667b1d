"""check/side_by_side.py: the reference beside Keras on a second thread, errors, BLAS threads."""

from __future__ import annotations

import threading
import time

import pytest
from threadpoolctl import threadpool_info

from pytest_rnnparity.check.side_by_side import available_cores, side_by_side


def blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_reference_runs_on_a_second_thread_while_keras_runs_here() -> None:
    started = threading.Event()
    seen: dict[str, threading.Thread] = {}

    def reference() -> str:
        seen["reference"] = threading.current_thread()
        started.set()
        return "reference"

    def keras() -> str:
        seen["keras"] = threading.current_thread()
        # the reference starts while Keras still runs, not after it
        assert started.wait(timeout=10)
        return "keras"

    assert side_by_side(reference, keras, cores=2) == ("reference", "keras")
    assert seen["keras"] is threading.current_thread()
    assert seen["reference"] is not threading.current_thread()


def test_one_core_runs_keras_then_the_reference_on_this_thread() -> None:
    order: list[tuple[str, threading.Thread]] = []

    def reference() -> int:
        order.append(("reference", threading.current_thread()))
        return 1

    def keras() -> int:
        order.append(("keras", threading.current_thread()))
        return 2

    assert side_by_side(reference, keras, cores=1) == (1, 2)
    here = threading.current_thread()
    assert order == [("keras", here), ("reference", here)]


def test_a_keras_error_wins_and_the_reference_is_finished_first() -> None:
    finished = threading.Event()

    def reference() -> None:
        time.sleep(0.05)
        finished.set()
        raise ValueError("reference failed too")

    def keras() -> None:
        raise RuntimeError("keras failed")

    with pytest.raises(RuntimeError, match="keras failed"):
        side_by_side(reference, keras, cores=2)
    assert finished.is_set()


def test_a_reference_error_reaches_the_caller() -> None:
    def reference() -> None:
        raise ValueError("layer 'gru': mask has shape (2, 3), expected (2, 4)")

    with pytest.raises(ValueError, match=r"mask has shape \(2, 3\)"):
        side_by_side(reference, lambda: "keras", cores=2)


@pytest.mark.skipif(not blas_threads(), reason="NumPy's BLAS is not visible to threadpoolctl")
def test_blas_leaves_keras_its_core_and_is_restored() -> None:
    before = blas_threads()
    during = side_by_side(blas_threads, lambda: None, cores=2)[0]
    assert during == [1] * len(before)
    assert blas_threads() == before


def test_available_cores_is_positive() -> None:
    assert available_cores() >= 1
