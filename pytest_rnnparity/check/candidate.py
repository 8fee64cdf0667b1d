"""Bring your own implementation: check a user's recurrent pass against the reference.

A *candidate* is a plain Python function, named in a spec as ``candidate:
package.module:function`` or passed to :func:`check_candidate`::

    def candidate(weights: CellWeights, inputs: np.ndarray, initial_state: dict[str, np.ndarray]
                  ) -> np.ndarray | dict[str, np.ndarray]

* ``weights``: the per-gate weights of one recurrent layer (one direction),
  :class:`~pytest_rnnparity.reference.types.CellWeights`: ``weights.kind`` (``"gru"``,
  ``"lstm"``, ``"simple_rnn"``), ``weights.kernel[gate]`` ``(features, units)``,
  ``weights.recurrent_kernel[gate]`` ``(units, units)``, ``weights.input_bias[gate]``
  and (GRU ``reset_after=True`` only) ``weights.recurrent_bias[gate]`` ``(units,)``, or
  None without biases; gates ``z, r, h`` (GRU), ``i, f, c, o`` (LSTM), ``h`` (SimpleRNN).
  ``pytest_rnnparity.model.weights.join_gates(weights)`` gives back Keras' fused arrays.
* ``inputs``: ``(batch, time, features)``, in the order the layer processes it (already
  reversed in time for a ``go_backwards`` layer or the backward half of a Bidirectional).
* ``initial_state``: ``{"hidden": (batch, units)}`` (and ``"cell"`` for an LSTM), zeros.
* returns the hidden state at every step, ``(batch, time, units)``, or a dict with
  ``"hidden"`` and optionally any of the gate traces (GRU ``update``, ``reset``,
  ``candidate``; LSTM ``input``, ``forget``, ``candidate``, ``output``, ``cell``),
  each ``(batch, time, units)``; what is returned is compared.

The candidate covers one recurrent layer: the first one, or the one ``layer:`` names
(its index in ``model:`` or its Keras name). A layer after the first receives the
reference's output of the layer before it, so each layer is checked on its own. A
Bidirectional layer calls the candidate twice, once per direction. With ``stateful:
true`` the windows are consecutive rows of one batch and the candidate is expected to
carry the state from each row into the next, as Keras does.

Nothing here imports keras at import time; :func:`check_candidate` runs Keras through
:func:`~pytest_rnnparity.check.parity.check_parity`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pytest_rnnparity.check.compare import Comparison, compare
from pytest_rnnparity.check.diagnosis import Diagnosis, diagnose
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.errors import CandidateLoadError, ParityError, UnsupportedModelError
from pytest_rnnparity.reference.recurrent.mistakes import Setting
from pytest_rnnparity.reference.types import (
    STATE_NAMES,
    TRACE_NAMES,
    Array,
    BidirectionalLayer,
    CellWeights,
    LayerResult,
    RecurrentLayer,
    RecurrentTrace,
    ReferenceLayer,
    recurrent_directions,
)
from pytest_rnnparity.spec import CANDIDATE_PATTERN

CandidateOutput = Array | Mapping[str, Array]
Candidate = Callable[[CellWeights, Array, dict[str, Array]], CandidateOutput]


def load_candidate(reference: str, *, root: Path) -> Candidate:
    """Import ``package.module:function`` with ``root`` first on ``sys.path``.

    Raises
    ------
    CandidateLoadError
        If the reference is malformed, the module cannot be imported (any exception
        while importing it), the attribute is missing or not callable.
    """
    if not CANDIDATE_PATTERN.match(reference):
        raise CandidateLoadError(
            f"expected package.module:function, such as examples.my_gru:forward, got {reference!r}"
        )
    module_name, _, attribute = reference.partition(":")
    entry = str(root)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise CandidateLoadError(
            f"cannot import {module_name!r}: {error} (imported with the project root "
            f"{root} first on sys.path)"
        ) from None
    except Exception as error:  # the user's module failed while importing
        raise CandidateLoadError(
            f"importing {module_name!r} raised {type(error).__name__}: {error}"
        ) from None
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise CandidateLoadError(f"module {module_name!r} has no attribute {attribute!r}")
        found = getattr(found, part)
    if not callable(found):
        raise CandidateLoadError(f"{reference} is a {type(found).__name__}, not a function")
    function: Candidate = found
    return function


# ---------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class CandidateTarget:
    """One direction of the layer a candidate implements, with what it gets and must give.

    ``inputs`` ``(B, T, F)`` and every array of ``reference`` ``(B, T, units)`` are in
    processing order. ``layer`` is the name of the model's layer (the Bidirectional
    wrapper for both its directions); ``layer_index`` its position in the chain.
    """

    layer: str
    layer_index: int
    direction: str
    recurrent: RecurrentLayer
    inputs: Array
    reference: RecurrentTrace


def select_layer(layers: Sequence[ReferenceLayer], selector: int | str | None) -> int:
    """The index of the recurrent layer ``selector`` names (default: the first one).

    Raises
    ------
    UnsupportedModelError
        If there is no such layer, or it is not recurrent.
    """
    recurrent = [
        index
        for index, layer in enumerate(layers)
        if isinstance(layer, RecurrentLayer | BidirectionalLayer)
    ]
    if selector is None:
        if not recurrent:
            raise UnsupportedModelError("the model has no recurrent layer for a candidate")
        return recurrent[0]
    names = [layer.name for layer in layers]
    if isinstance(selector, str):
        if selector not in names:
            raise UnsupportedModelError(
                f"the model has no layer {selector!r}; its layers: {', '.join(names)}"
            )
        index = names.index(selector)
    else:
        if not 0 <= selector < len(layers):
            raise UnsupportedModelError(
                f"the model has {len(layers)} layers; there is no layer {selector}"
            )
        index = selector
    if index not in recurrent:
        raise UnsupportedModelError(
            f"layer {names[index]!r} is not a recurrent layer (GRU, LSTM, SimpleRNN or a "
            "Bidirectional of one); a candidate implements a recurrent layer"
        )
    return index


def candidate_targets(
    layers: Sequence[ReferenceLayer],
    reference: Sequence[LayerResult],
    x: Array,
    *,
    layer: int | str | None = None,
) -> list[CandidateTarget]:
    """The direction(s) of the selected layer, with their inputs and reference traces."""
    index = select_layer(layers, layer)
    described = layers[index]
    if index == 0:
        inputs = np.asarray(x)
    else:
        previous = reference[index - 1]
        if previous.mask is not None:
            raise UnsupportedModelError(
                f"layer {described.name!r} receives a mask (from a Masking layer); a candidate "
                "gets no mask, so it cannot be checked on this layer"
            )
        if isinstance(previous.output, tuple):
            raise UnsupportedModelError(f"layer {described.name!r} follows a merge_mode=None layer")
        inputs = np.asarray(previous.output)
    directions = recurrent_directions(described)
    assert directions  # select_layer chose a recurrent layer
    targets = []
    for direction, direction_layer in directions:
        processed = inputs[:, ::-1] if direction_layer.go_backwards else inputs
        targets.append(
            CandidateTarget(
                layer=described.name,
                layer_index=index,
                direction=direction,
                recurrent=direction_layer,
                inputs=np.ascontiguousarray(processed),
                reference=reference[index].directions[direction],
            )
        )
    return targets


# ---------------------------------------------------------------------------- running


def _copied(weights: CellWeights) -> CellWeights:
    """Fresh copies, so a candidate that writes into its arguments cannot change the reference."""

    def copy(per_gate: Mapping[str, Array]) -> dict[str, Array]:
        return {gate: np.array(array) for gate, array in per_gate.items()}

    return CellWeights(
        kind=weights.kind,
        kernel=copy(weights.kernel),
        recurrent_kernel=copy(weights.recurrent_kernel),
        input_bias=None if weights.input_bias is None else copy(weights.input_bias),
        recurrent_bias=None if weights.recurrent_bias is None else copy(weights.recurrent_bias),
    )


def run_candidate(function: Candidate, target: CandidateTarget) -> dict[str, Array]:
    """Call ``function`` on one direction; its outputs by trace name, shapes checked.

    Raises
    ------
    ParityError
        If it returns something other than an array or a dict of the trace names, an
        array of the wrong shape, or anything but real numbers (:func:`real_array`).
    """
    kind = target.recurrent.cell.kind
    batch, timesteps = target.inputs.shape[:2]
    units = target.recurrent.cell.units
    dtype = target.reference.outputs.dtype
    initial_state = {name: np.zeros((batch, units), dtype=dtype) for name in STATE_NAMES[kind]}
    returned = function(_copied(target.recurrent.weights), target.inputs.copy(), initial_state)
    if isinstance(returned, Mapping):
        outputs = dict(returned)
    elif isinstance(returned, np.ndarray | list | tuple):
        outputs = {"hidden": returned}
    else:
        raise ParityError(
            f"the candidate returned a {type(returned).__name__}; expected the hidden states "
            "(batch, time, units) or a dict of them and the gates"
        )
    allowed = TRACE_NAMES[kind]
    unknown = [name for name in outputs if name not in allowed]
    if unknown or "hidden" not in outputs:
        problem = f"unknown name {unknown[0]!r}" if unknown else "no 'hidden'"
        raise ParityError(
            f"the candidate returned a dict with {problem}; a {kind} candidate returns "
            f"'hidden' and optionally {', '.join(repr(n) for n in allowed if n != 'hidden')}"
        )
    expected = (batch, timesteps, units)
    arrays = {}
    for name in allowed:
        if name not in outputs:
            continue
        array = real_array(name, outputs[name], expected)
        if array.shape != expected:
            raise ParityError(
                f"the candidate returned {name!r} of shape {array.shape}; expected "
                f"(batch, time, units) = {expected}"
            )
        arrays[name] = array
    return arrays


def real_array(name: str, value: Any, expected: tuple[int, ...]) -> np.ndarray:
    """What a candidate returned as ``name``, as an array of real numbers.

    Raises
    ------
    ParityError
        If it is not one: a ragged nested list, objects, strings or complex numbers
        (whose imaginary part a comparison would drop).
    """
    wanted = f"expected real numbers of shape (batch, time, units) = {expected}"
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # NumPy refuses rows of different lengths
        raise ParityError(
            f"the candidate returned {name!r} as a ragged sequence (its rows differ in"
            f" length); {wanted}"
        ) from None
    if array.dtype.kind == "c":
        raise ParityError(f"the candidate returned {name!r} as complex numbers; {wanted}")
    if array.dtype.kind not in "fiu":
        raise ParityError(
            f"the candidate returned {name!r} as an array of dtype {array.dtype}; {wanted}"
        )
    return array


@dataclass(frozen=True)
class CandidateCheck:
    """A candidate against the reference: comparisons, and a diagnosis per failing direction."""

    name: str
    comparisons: tuple[Comparison, ...]
    diagnoses: tuple[tuple[str, Diagnosis], ...]
    layer_classes: Mapping[str, str]
    layer_names: tuple[str, ...]
    dtype: str

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.comparisons)

    @property
    def failures(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if not c.ok)

    def __repr__(self) -> str:
        verdict = "ok" if self.ok else f"{len(self.failures)} of {len(self.comparisons)} failed"
        found = sorted({m for _, d in self.diagnoses for m in d.mistakes})
        diagnosis = f", diagnosis {', '.join(found)}" if found else ""
        return (
            f"CandidateCheck({self.name!r}, {verdict}, max abs error "
            f"{max((c.max_abs for c in self.comparisons), default=0.0):.1e}{diagnosis})"
        )


def compare_candidate(
    function: Candidate,
    layers: Sequence[ReferenceLayer],
    reference: Sequence[LayerResult],
    x: Array,
    *,
    name: str,
    tolerances: Mapping[str, Tolerance],
    layer: int | str | None = None,
    setting: Setting | None = None,
    layer_classes: Mapping[str, str] | None = None,
    dtype: str = "float32",
    with_diagnosis: bool = True,
    target: Literal["Keras", "the reference"] = "Keras",
) -> CandidateCheck:
    """Run the candidate on the selected layer and compare it with the reference traces.

    ``reference`` is the reference pass of ``layers`` on ``x`` with gate traces (as in
    :attr:`ParityResult.reference`); ``tolerances`` maps ``hidden`` and ``cell`` to
    tolerances (gates use ``hidden``'s). A failing direction is diagnosed (see
    :func:`~pytest_rnnparity.check.diagnosis.diagnose`) unless ``with_diagnosis`` is False;
    ``target`` names what the reference stands for in the diagnosis.
    """
    setting = setting or Setting()
    comparisons: list[Comparison] = []
    diagnoses: list[tuple[str, Diagnosis]] = []
    targets = candidate_targets(layers, reference, x, layer=layer)
    for item in targets:
        outputs = run_candidate(function, item)
        direction_comparisons = [
            compare(
                item.reference.outputs if trace == "hidden" else item.reference.traces[trace],
                array,
                tolerances["cell" if trace == "cell" else "hidden"],
                layer=item.layer,
                quantity=trace,
                axes=("row", "timestep", "unit"),
                direction=item.direction,
                time_axis=1,
            )
            for trace, array in outputs.items()
        ]
        comparisons.extend(direction_comparisons)
        if with_diagnosis and not all(c.ok for c in direction_comparisons):
            diagnosis = diagnose(
                replace(item.recurrent, go_backwards=False),  # inputs are in processing order
                item.inputs,
                outputs["hidden"],
                tolerance=tolerances["hidden"],
                setting=Setting(
                    stateful=setting.stateful or item.recurrent.stateful,
                    keras_major=setting.keras_major,
                ),
                subject="the candidate",
                target=target,
                dtype=str(item.reference.outputs.dtype),
            )
            diagnoses.append((item.direction, diagnosis))
    return CandidateCheck(
        name=name,
        comparisons=tuple(comparisons),
        diagnoses=tuple(diagnoses),
        layer_classes=dict(layer_classes or {}),
        layer_names=tuple(layer.name for layer in layers),
        dtype=dtype,
    )


def tolerances_of(comparisons: Sequence[Comparison]) -> dict[str, Tolerance]:
    """The hidden and cell tolerances a parity check used (cell falls back to hidden)."""
    by_quantity = {c.quantity: c.tolerance for c in comparisons}
    hidden = by_quantity.get("hidden", Tolerance(1e-5, 1e-5))
    return {"hidden": hidden, "cell": by_quantity.get("final cell", hidden)}


def stateful_model(layers: Sequence[ReferenceLayer]) -> bool:
    """Whether any recurrent layer of the chain is stateful."""
    return any(_stateful(layer) for layer in layers)


def _stateful(layer: ReferenceLayer) -> bool:
    if isinstance(layer, RecurrentLayer):
        return layer.stateful
    if isinstance(layer, BidirectionalLayer):
        return layer.forward.stateful
    return False


def function_name(function: Callable[..., Any]) -> str:
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None) or repr(function)
    return f"{module}:{qualname}" if module else qualname
