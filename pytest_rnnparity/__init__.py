"""pytest-rnnparity: prove a Keras recurrent model computes what its equations say.

``check_parity(model, x)`` runs an independent NumPy pass beside Keras and compares
every timestep of every recurrent layer; ``pytest --rnn-parity`` does the same for
YAML specs and keeps golden gate traces. Importing this package does not import
TensorFlow; ``import_keras()`` imports Keras without TensorFlow's start-up lines.
"""

from __future__ import annotations

from pytest_rnnparity.api import check_candidate, check_parity, parity_report
from pytest_rnnparity.check.diagnosis import diagnose
from pytest_rnnparity.check.parity import ParityResult
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.check.torch_port import to_torch_state_dict
from pytest_rnnparity.errors import (
    GoldenError,
    GoldenMissing,
    ParityError,
    RnnParityError,
    SpecError,
    UnsupportedModelError,
)
from pytest_rnnparity.model.build import import_keras

__version__ = "0.2.0"

__all__ = [
    "GoldenError",
    "GoldenMissing",
    "ParityError",
    "ParityResult",
    "RnnParityError",
    "SpecError",
    "Tolerance",
    "UnsupportedModelError",
    "__version__",
    "check_candidate",
    "check_parity",
    "diagnose",
    "import_keras",
    "parity_report",
    "to_torch_state_dict",
]
