"""model/environment.py: what a golden records about the machine, read without TensorFlow."""

from __future__ import annotations

import platform
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from pytest_rnnparity.model.environment import capture, versions_line

KEYS = [
    "TF_ENABLE_ONEDNN_OPTS",
    "cpu",
    "gpu",
    "keras",
    "keras_backend",
    "numpy",
    "platform",
    "python",
    "tensorflow",
]


@pytest.fixture
def no_frameworks(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if neither TensorFlow nor Keras had been imported."""
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    monkeypatch.delitem(sys.modules, "keras", raising=False)


def _fake_tensorflow(gpus: list[str]) -> SimpleNamespace:
    return SimpleNamespace(
        __version__="2.21.0",
        config=SimpleNamespace(list_physical_devices=lambda kind: gpus if kind == "GPU" else []),
        sysconfig=SimpleNamespace(get_build_info=lambda: {"cudnn_version": "9"}),
    )


def test_capture_keys_are_sorted_and_complete(no_frameworks: None) -> None:
    env = capture()
    assert list(env) == KEYS
    assert all(isinstance(value, str) and value for value in env.values())
    assert env["python"] == platform.python_version()
    assert env["numpy"] == np.__version__
    assert env["platform"] == f"{platform.system()} {platform.machine()}"


def test_capture_does_not_import_frameworks(no_frameworks: None) -> None:
    env = capture()
    assert env["tensorflow"] == env["keras"] == env["keras_backend"] == "not imported"
    assert env["gpu"] == "none"
    assert "tensorflow" not in sys.modules


def test_capture_reads_imported_frameworks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow", _fake_tensorflow([]))
    keras = SimpleNamespace(__version__="3.15.1", backend=SimpleNamespace(backend=lambda: "jax"))
    monkeypatch.setitem(sys.modules, "keras", keras)
    env = capture()
    assert (env["tensorflow"], env["keras"], env["keras_backend"], env["gpu"]) == (
        "2.21.0",
        "3.15.1",
        "jax",
        "none",
    )


def test_capture_describes_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow", _fake_tensorflow(["gpu:0", "gpu:1"]))
    assert capture()["gpu"] == "2 GPU(s), cuDNN 9"


def test_onednn_setting_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, no_frameworks: None
) -> None:
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert capture()["TF_ENABLE_ONEDNN_OPTS"] == "0"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    assert capture()["TF_ENABLE_ONEDNN_OPTS"] == "1"
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    assert capture()["TF_ENABLE_ONEDNN_OPTS"] == "unset"


def test_versions_line() -> None:
    env = {"tensorflow": "2.21.0", "keras": "3.15.1", "keras_backend": "tensorflow", "cpu": "x"}
    assert versions_line(env) == "TensorFlow 2.21.0 / Keras 3.15.1 (tensorflow backend)"


def test_versions_line_marks_unknown_versions() -> None:
    assert versions_line({"keras": "3.15.1"}) == "TensorFlow ? / Keras 3.15.1 (? backend)"
