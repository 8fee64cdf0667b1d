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
from pytest_rnnparity.inputs import Dataset, ModelData, Windows, load_inputs
from pytest_rnnparity.spec import ModelGraph, Spec, ToleranceLimits


@dataclass(frozen=True)
class SpecRun:
    """What running a spec produced; ``parity`` holds the traces and the verdict.

    ``data`` holds every model input's dataset and windows; ``dataset`` and ``windows``
    are a chain's one input (what ``explain`` and the plots show).
    """

    spec: Spec
    data: ModelData
    model: Any
    parity: ParityResult

    @property
    def dataset(self) -> Dataset:
        """The chain's dataset (raises UnsupportedModelError for a functional model)."""
        return self.data.one_input("explain")[0]

    @property
    def windows(self) -> Windows:
        """The chain's windows (raises UnsupportedModelError for a functional model)."""
        return self.data.one_input("explain")[1]

    def __repr__(self) -> str:
        rows = self.data.rows
        if len(self.data.windows) == 1:
            (windows,) = self.data.windows.values()
            shape = "x".join(str(n) for n in windows.x.shape[1:])
            return f"SpecRun({self.spec.id!r}, {rows} windows of {shape}, {self.parity!r})"
        inputs = len(self.data.windows)
        return f"SpecRun({self.spec.id!r}, {rows} rows of {inputs} inputs, {self.parity!r})"


def spec_tolerances(spec: Spec, *limits: ToleranceLimits) -> dict[str, Tolerance]:
    """The spec's tolerance per group, with ``limits`` (a path's, the torch item's) over it."""
    return resolve_tolerances(dtypes=[spec.dtype], declared=spec.tolerance, limits=limits)


def prepare(
    spec: Spec, *, root: Path, overrides: Mapping[str, Any] | None = None
) -> tuple[ModelData, Any]:
    """The spec's data (every input's windows) and its Keras model (weights set)."""
    from pytest_rnnparity.model.build import build_model

    data = load_inputs(spec, root=root)
    if isinstance(spec.model, ModelGraph):
        shapes = {name: tuple(w.x.shape[1:]) for name, w in data.windows.items()}
        model = build_model(spec, root=root, overrides=overrides, shapes=shapes)
    else:
        features = data.windows[""].x.shape[-1]
        model = build_model(spec, features=features, root=root, overrides=overrides)
    return data, model


def run_spec(
    spec: Spec,
    *,
    root: Path,
    hidden_only: bool = False,
    overrides: Mapping[str, Any] | None = None,
    tolerances: Mapping[str, Tolerance] | None = None,
) -> SpecRun:
    """Build the spec's data and model and run the parity check (never raises ParityError).

    A functional model's inputs are fed by name; ``overrides`` and ``tolerances`` are
    those of an execution path, if any.
    """
    data, model = prepare(spec, root=root, overrides=overrides)
    parity = run_parity(
        model,
        data.x,
        tolerances=tolerances or spec_tolerances(spec),
        dtype=spec.dtype,
        hidden_only=hidden_only,
    )
    return SpecRun(spec=spec, data=data, model=model, parity=parity)
