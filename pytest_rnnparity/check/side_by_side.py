"""Run the NumPy reference on a second thread while Keras runs on the calling thread.

Why: on CPU, TensorFlow's generic recurrent loop (the only one it runs without a
GPU) issues small ops one timestep after another and keeps about one core busy,
whatever the batch size. The reference is an independent second forward pass of the
same size; run after Keras it nearly doubles a parity check. Both release the GIL in
their heavy parts (TensorFlow's kernels, NumPy's matmuls and ufuncs), so on a machine
with a spare core the reference runs beside Keras almost for free.

OpenBLAS would otherwise start one thread per core for the reference's matmuls and
spin them against Keras' core; while both run, BLAS is held to the cores Keras leaves
free, then restored.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

R = TypeVar("R")
K = TypeVar("K")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


@cache
def _blas_controller() -> Any:
    # Scanning the loaded libraries takes ~10 ms with TensorFlow loaded: once per process.
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return None
    return ThreadpoolController()


@contextmanager
def blas_threads(limit: int) -> Iterator[None]:
    """Hold NumPy's BLAS to ``limit`` threads inside the block (a no-op without threadpoolctl)."""
    controller = _blas_controller()
    if controller is None:  # pragma: no cover
        yield
        return
    with controller.limit(limits=limit, user_api="blas"):
        yield


def side_by_side(
    reference: Callable[[], R], keras: Callable[[], K], *, cores: int | None = None
) -> tuple[R, K]:
    """``(reference(), keras())``, the reference on a second thread when there is a spare core.

    ``keras`` always runs on the calling thread (TensorFlow's eager context is per
    thread). With one core the two run one after the other, Keras first. An exception
    from ``keras`` wins over one from ``reference``, as it would in that order; either
    way the reference thread is finished before this returns or raises.
    """
    cores = available_cores() if cores is None else cores
    if cores < 2:
        keras_result = keras()
        return reference(), keras_result

    outcome: dict[str, Any] = {}

    def run_reference() -> None:
        try:
            outcome["value"] = reference()
        except BaseException as error:  # re-raised on the calling thread
            outcome["error"] = error

    thread = threading.Thread(target=run_reference, name="rnn-parity-reference", daemon=True)
    with blas_threads(cores - 1):
        thread.start()
        try:
            keras_result = keras()
        finally:
            thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"], keras_result
