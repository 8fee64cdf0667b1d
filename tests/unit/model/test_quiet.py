"""model/quiet.py: TensorFlow's start-up lines are dropped from stderr, nothing else is."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from pytest_rnnparity.model.quiet import is_log_line

from ..helpers import REPO as ROOT

#: What TensorFlow 2.21 wrote on a machine without a GPU driver, verbatim.
TENSORFLOW_LINES = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1796166692.290419   23904 port.cc:153] oneDNN custom operations are on. You"
    b" may see slightly different numerical results due to floating-point round-off errors.",
    b"I0000 00:00:1796166692.293885   23904 cudart_stub.cc:31] Could not find cuda drivers on"
    b" your machine, GPU will not be used.",
    b"E0000 00:00:1796166698.109179   23904 cuda_platform.cc:52] failed call to cuInit:"
    b" INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    b"I0000 00:00:1796166776.744463   24878 cpu_feature_guard.cc:227] This TensorFlow binary is"
    b" optimized to use available CPU instructions in performance-critical operations.",
    b"To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow"
    b" with the appropriate compiler flags.",
    b"W0123 12:34:56.789012    4242 some/dir/file-name.cc:7] a glog-style warning",
    # TensorFlow 2.15's own format, verbatim
    b"2026-12-02 01:39:45.850283: E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:9261]"
    b" Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when"
    b" one has already been registered",
    b"2026-12-02 01:41:46.534473: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] TF-TRT"
    b" Warning: Could not find TensorRT",
]

OTHER_LINES = [
    b"Traceback (most recent call last):",
    b"WARNING: something of the user's",
    b"I0000 is not a log line without its time and file",
    b"E: 00:00 port.cc:153] not absl's format",
    b"2026-12-02 01:39:45: E port.cc:153] no fraction of a second: not TensorFlow's",
    b"2026-12-02 01:39:45.850283: X port.cc:153] no such level",
    b"",
]


@pytest.mark.parametrize("line", TENSORFLOW_LINES)
def test_tensorflow_lines_are_recognised(line: bytes) -> None:
    assert is_log_line(line)
    assert is_log_line(line + b"\n")


@pytest.mark.parametrize("line", OTHER_LINES)
def test_other_lines_are_not(line: bytes) -> None:
    assert not is_log_line(line)


def test_the_filter_drops_only_tensorflow_lines_written_to_the_descriptor() -> None:
    code = textwrap.dedent(
        """\
        import os, sys
        from pytest_rnnparity.model.quiet import filtered_stderr
        lines = %r
        sys.stderr.write("before\\n")
        with filtered_stderr():
            # as C++ writes: straight to descriptor 2, in pieces that split lines
            blob = b"".join(line + b"\\n" for line in lines) + b"kept 1\\nkept"
            for start in range(0, len(blob), 7):
                os.write(2, blob[start : start + 7])
            os.write(2, b" 2\\n")
            print("python's stderr passes", file=sys.stderr)
            os.write(2, b"no newline at the end")
        sys.stderr.write("\\nafter\\n")
        """
    ) % (TENSORFLOW_LINES,)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, check=True, timeout=60
    )
    assert done.stderr.decode() == (
        "before\nkept 1\nkept 2\npython's stderr passes\nno newline at the end\nafter\n"
    )


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


@pytest.mark.keras
def test_importing_keras_prints_nothing_to_stderr() -> None:
    pytest.importorskip("keras")
    code = textwrap.dedent(
        """\
        from pytest_rnnparity.model.build import import_keras
        keras = import_keras()
        model = keras.Sequential([keras.Input((2, 3)), keras.layers.GRU(2)])
        model.predict(__import__("numpy").zeros((1, 2, 3)), verbose=0)
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=_environment(),
        timeout=300,
    )
    assert (done.stdout, done.stderr) == ("ok\n", "")


@pytest.mark.keras
def test_a_log_level_asked_for_shows_tensorflow_lines_again() -> None:
    pytest.importorskip("keras")
    code = "from pytest_rnnparity.model.build import import_keras; import_keras()"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        check=True,
        env=_environment(TF_CPP_MIN_LOG_LEVEL="0"),
        timeout=300,
    )
    assert any(is_log_line(line) for line in done.stderr.splitlines())
