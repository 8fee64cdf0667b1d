"""Importing Keras without TensorFlow's start-up lines on the terminal.

TensorFlow's C++ side writes to file descriptor 2 while it loads and when it first looks
for devices::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796166692.290419   23904 port.cc:153] oneDNN custom operations are on. ...
    I0000 00:00:1796166692.293885   23904 cudart_stub.cc:31] Could not find cuda drivers ...
    E0000 00:00:1796166698.109179   23904 cuda_platform.cc:52] failed call to cuInit: ...

TensorFlow 2.15 and older write in their own format instead, date and time first::

    2026-12-02 01:39:45.850283: E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:9261] ...
    2026-12-02 01:39:47.106518: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] ...

``TF_CPP_MIN_LOG_LEVEL`` does not reach the lines written before absl's
``InitializeLog()``, and Python's ``sys.stderr`` cannot catch any of them. So
:func:`import_keras_quietly`, when TensorFlow is not imported yet:

1. sets ``TF_CPP_MIN_LOG_LEVEL=2`` (warnings and info off) unless the environment sets it,
   and Python absl's level to ERROR unless absl is already imported (configured by
   someone else);
2. imports Keras, and lets TensorFlow look for its devices (where ``cuInit`` fails on a
   machine without a GPU driver), with descriptor 2 read through a pipe that drops
   the lines in either log format (:data:`LOG_LINE`) and passes every other byte on.

A ``TF_CPP_MIN_LOG_LEVEL`` of ``0`` or ``1`` set by the user (to debug TensorFlow)
turns the filter off: what they asked to see is shown. Later C++ errors still reach
the terminal.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import ModuleType

__all__ = ["LOG_LINE", "filtered_stderr", "import_keras_quietly", "is_log_line"]

#: A line of TensorFlow's C++ logging (absl/glog format: ``I0000 00:00:17.. 123 file.cc:45] ``;
#: TensorFlow <= 2.15's own: ``2026-12-02 01:39:45.850283: E path/file.cc:45] ``) or the
#: notices that come with it.
LOG_LINE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./+-]+:\d+\] "
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [\w./+-]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .* rebuild TensorFlow with the appropriate"
    rb" compiler flags\.)"
)
#: How long the filter waits for its reader thread after the import (it ends at once
#: unless something else still holds the pipe).
_JOIN_SECONDS = 5.0


def is_log_line(line: bytes) -> bool:
    """Whether ``line`` (bytes, with or without its newline) is one of TensorFlow's."""
    return LOG_LINE.match(line) is not None


def _pump(read_fd: int, write_fd: int) -> None:
    """Copy the pipe to the real stderr line by line, without TensorFlow's log lines."""
    pending = b""
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not is_log_line(line))
            if kept:
                os.write(write_fd, kept)
    if pending and not is_log_line(pending):
        os.write(write_fd, pending)


@contextmanager
def filtered_stderr() -> Iterator[None]:
    """File descriptor 2 without TensorFlow's C++ log lines while the block runs."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to filter
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    reader = threading.Thread(
        target=_pump, args=(read_fd, saved), name="rnnparity-stderr", daemon=True
    )
    reader.start()
    try:
        yield
    finally:
        if sys.stderr is not None:
            sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last writer: the reader sees the end
        reader.join(_JOIN_SECONDS)
        os.close(saved)


def import_keras_quietly() -> ModuleType:
    """``import keras``, without TensorFlow's start-up lines (see the module docstring)."""
    quiet = "keras" not in sys.modules and "tensorflow" not in sys.modules
    if not quiet or os.environ.get("TF_CPP_MIN_LOG_LEVEL") in ("0", "1"):
        import keras

        module: ModuleType = keras
        return module
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "absl" not in sys.modules:
        try:
            from absl import logging as absl_logging
        except ImportError:  # absl comes with TensorFlow; Keras on another backend may lack it
            pass
        else:
            absl_logging.set_verbosity(absl_logging.ERROR)
    with filtered_stderr():
        import keras

        tf = sys.modules.get("tensorflow")
        if tf is not None:
            # the device search is where cuInit fails on a machine without a GPU driver
            with suppress(Exception):  # reported again where devices are used
                tf.config.list_physical_devices()
    imported: ModuleType = keras
    return imported
