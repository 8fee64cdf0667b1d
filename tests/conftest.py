"""Shared test setup: TensorFlow's C++ logging off before anything imports it."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
