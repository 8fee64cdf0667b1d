"""The numerical environment a golden was recorded in: versions, platform, CPU, GPU.

Read from modules already imported (a spec run has imported Keras by then), so
calling this never imports TensorFlow by itself.
"""

from __future__ import annotations

import os
import platform
import sys
from functools import cache
from pathlib import Path

import numpy as np


@cache
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def gpu_count() -> int:
    """How many GPUs TensorFlow sees (0 when it is not imported or cannot tell)."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return 0
    try:
        return len(tf.config.list_physical_devices("GPU"))
    except Exception:
        return 0


def _gpu(tf: object | None) -> str:
    if tf is None:
        return "none"
    try:
        devices = tf.config.list_physical_devices("GPU")  # type: ignore[attr-defined]
    except Exception:
        return "unknown"
    if not devices:
        return "none"
    info = tf.sysconfig.get_build_info()  # type: ignore[attr-defined]
    cudnn = info.get("cudnn_version", "?")
    return f"{len(devices)} GPU(s), cuDNN {cudnn}"


def capture() -> dict[str, str]:
    """The environment as sorted ``name -> value`` strings (the golden's ``[environment]``)."""
    tf = sys.modules.get("tensorflow")
    keras = sys.modules.get("keras")
    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorflow": str(getattr(tf, "__version__", "not imported")),
        "keras": str(getattr(keras, "__version__", "not imported")),
        "keras_backend": _keras_backend(keras),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu": _cpu_model(),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset"),
        "gpu": _gpu(tf),
    }
    return dict(sorted(env.items()))


def _keras_backend(keras: object | None) -> str:
    if keras is None:
        return "not imported"
    backend = getattr(getattr(keras, "backend", None), "backend", None)
    return str(backend()) if callable(backend) else "tensorflow"


def versions_line(env: dict[str, str]) -> str:
    """``TensorFlow 2.21.0 / Keras 3.15.1 (tensorflow backend)``: the versions that matter most."""
    return (
        f"TensorFlow {env.get('tensorflow', '?')} / Keras {env.get('keras', '?')} "
        f"({env.get('keras_backend', '?')} backend)"
    )
