"""Which Keras built a model: Keras 3 (``keras``) or Keras 2 (``tf.keras`` / ``tf_keras``).

Nothing here imports TensorFlow by itself: the Keras module is found from the
model's own class, so the plugin stays inert until a model exists.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


def keras_module(obj: Any) -> ModuleType:
    """The top-level Keras package whose class ``obj`` is (``keras`` or ``tf_keras``)."""
    top = type(obj).__module__.split(".")[0]
    if top == "tensorflow":  # tf.keras of TensorFlow <= 2.15 lives in keras 2 proper
        top = "keras"
    module = sys.modules.get(top)
    if module is None:
        module = importlib.import_module(top)
    return module


def keras_major(module: ModuleType) -> int:
    """The major version of a Keras package (2 or 3)."""
    return int(str(module.__version__).split(".")[0])
