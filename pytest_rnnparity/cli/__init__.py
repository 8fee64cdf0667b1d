"""The ``rnnparity`` command line."""

from __future__ import annotations

from pytest_rnnparity.cli.main import main

__all__ = ["main"]
