"""Run one spec end to end: data -> windows -> Keras model -> :func:`run_parity`.

Shared by the pytest items and the command line, so both compute the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_rnnparity.check.parity import ParityResult, run_parity
from pytest_rnnparity.check.tolerance import Tolerance, resolve_tolerances
from pytest_rnnparity.inputs import Dataset, Windows, load_dataset, spec_windows
from pytest_rnnparity.spec import Spec, ToleranceLimits


@dataclass(frozen=True)
class SpecRun:
    """What running a spec produced; ``parity`` holds the traces and the verdict."""

    spec: Spec
    dataset: Dataset
    windows: Windows
    model: Any
    parity: ParityResult

    def __repr__(self) -> str:
        batch, steps, features = self.windows.x.shape
        return f"SpecRun({self.spec.id!r}, {batch} windows of {steps}x{features}, {self.parity!r})"


def spec_tolerances(spec: Spec, *limits: ToleranceLimits) -> dict[str, Tolerance]:
    """The spec's tolerance per group, with ``limits`` (a path's, the torch item's) over it."""
    return resolve_tolerances(dtypes=[spec.dtype], declared=spec.tolerance, limits=limits)


def prepare(
    spec: Spec, *, root: Path, overrides: Mapping[str, Any] | None = None
) -> tuple[Dataset, Windows, Any]:
    """The spec's dataset, its windows and its Keras model (weights set)."""
    from pytest_rnnparity.model.build import build_model

    dataset = load_dataset(spec, root=root)
    windows = spec_windows(spec, dataset)
    model = build_model(spec, features=windows.x.shape[-1], root=root, overrides=overrides)
    return dataset, windows, model


def run_spec(
    spec: Spec,
    *,
    root: Path,
    hidden_only: bool = False,
    overrides: Mapping[str, Any] | None = None,
    tolerances: Mapping[str, Tolerance] | None = None,
) -> SpecRun:
    """Build the spec's data and model and run the parity check (never raises ParityError).

    ``overrides`` and ``tolerances`` are those of an execution path, if any.
    """
    dataset, windows, model = prepare(spec, root=root, overrides=overrides)
    parity = run_parity(
        model,
        windows.x,
        tolerances=tolerances or spec_tolerances(spec),
        dtype=spec.dtype,
        hidden_only=hidden_only,
    )
    return SpecRun(spec=spec, dataset=dataset, windows=windows, model=model, parity=parity)
