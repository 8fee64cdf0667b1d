"""Which classic mistakes explain a mismatch: re-run the reference making them, and say so.

When a port of a recurrent layer (a candidate implementation, or Keras itself) disagrees
with the reference, :func:`diagnose` re-runs the reference with each applicable mistake
of :mod:`.reference.mistakes`, then with pairs and triples of them (a bounded search,
cheapest first), and keeps the smallest sets whose output matches the observed hidden
states within tolerance.
:func:`~pytest_rnnparity.report.diagnosis.diagnosis_sentence` turns the result into
the sentence a failure report ends with::

    Diagnosis: the candidate matches Keras within 1e-07 if the recurrent bias row is
    dropped and the update convention is inverted.

Pure NumPy; no keras, no pytest.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from pytest_rnnparity.check.compare import exceeds
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.reference.recurrent.mistakes import (
    MISTAKE_NAMES,
    Setting,
    applicable,
    apply_mistakes,
    is_redundant,
    run_variant,
)
from pytest_rnnparity.reference.types import Array, BidirectionalLayer, RecurrentLayer

if TYPE_CHECKING:
    from pytest_rnnparity.check.parity import ParityResult

#: At most this many mistakes are combined (the notebook's pass needs three).
MAX_SIZE = 3
#: The search looks at the first windows only: a mistake shows in every window.
MAX_WINDOWS = 32
#: Each set is first tried on this many windows; only a set that explains them runs on all.
SCREEN_WINDOWS = 2


@dataclass(frozen=True)
class Explanation:
    """A set of mistakes (names, catalogue order) and how far the result is from the observed."""

    names: tuple[str, ...]
    max_abs: float


@dataclass(frozen=True)
class Diagnosis:
    """What the search found.

    ``found`` holds every smallest set of mistakes that explains the observed outputs
    within tolerance, closest first (empty when none does); ``closest`` the set that came
    nearest when none explains them; ``baseline`` the max abs error against the correct
    reference; ``tried`` how many sets were run.
    """

    subject: str
    target: str
    found: tuple[Explanation, ...]
    closest: Explanation | None
    baseline: float
    tried: int
    max_size: int
    seconds: float = field(default=0.0, compare=False)

    @property
    def explained(self) -> bool:
        """Whether some set of mistakes explains the observed outputs."""
        return bool(self.found)

    @property
    def mistakes(self) -> tuple[str, ...]:
        """The names of the best explanation (empty when there is none)."""
        return self.found[0].names if self.found else ()


def diagnose(
    layer: RecurrentLayer,
    inputs: ArrayLike,
    observed: ArrayLike,
    *,
    tolerance: Tolerance,
    setting: Setting | None = None,
    initial_state: Mapping[str, ArrayLike] | None = None,
    max_size: int = MAX_SIZE,
    max_windows: int | None = MAX_WINDOWS,
    subject: str = "the candidate",
    target: str = "Keras",
    dtype: str = "float64",
) -> Diagnosis:
    """Find the smallest sets of classic mistakes that turn the reference into ``observed``.

    Sets are tried by size (one mistake, then pairs, then triples, up to ``max_size``),
    cheapest first within a size; the search stops after the first size where some set
    explains the observed hidden states within ``tolerance``. Each set runs on the first
    ``SCREEN_WINDOWS`` windows first, and on all ``max_windows`` only if it explains those.

    Parameters
    ----------
    layer : RecurrentLayer
        One direction of the layer, as the reference runs it (``go_backwards`` included).
    inputs : array, shape (B, T, F)
        The layer's input, in input time order.
    observed : array, shape (B, T, units)
        The hidden state at every step, in processing order, as the port computed it.
    tolerance : Tolerance
        What "explains" means: every value within ``atol + rtol * |reference|``.
    setting : Setting, optional
        Whether the layer is stateful and which Keras generation runs it.
    initial_state : mapping, optional
        State name -> ``(B, units)``; default zeros.
    max_size : int
        The largest number of mistakes combined.
    max_windows : int or None
        Use only the first windows (rows); None for all.
    subject, target : str
        Who disagrees with whom, for the sentence ("the candidate", "Keras").
    dtype : "float32" or "float64"
        The computation dtype of the reference runs: that of the reference the port
        was compared with (float32 rounding over a long sequence can exceed the
        tolerance of a float64 comparison).

    Returns
    -------
    Diagnosis
    """
    started = time.perf_counter()
    setting = setting or Setting()
    x = np.asarray(inputs)
    seen = np.asarray(observed)
    rows = slice(None) if max_windows is None else slice(0, max_windows)
    x, seen = x[rows], seen[rows]
    states = None
    if initial_state is not None:
        states = {name: np.asarray(value)[rows] for name, value in initial_state.items()}

    def distance(names: Sequence[str], windows: slice = slice(None)) -> tuple[bool, float]:
        variant = apply_mistakes(layer, setting, names)
        window_states = None
        if states is not None:
            window_states = {name: value[windows] for name, value in states.items()}
        expected = run_variant(
            variant, x[windows], initial_state=window_states, dtype=dtype
        ).outputs
        if expected.shape != seen[windows].shape:
            return False, math.inf
        bad = bool(exceeds(expected, seen[windows], tolerance).any())
        return not bad, _max_abs(expected, seen[windows])

    screen = slice(0, SCREEN_WINDOWS) if len(x) > SCREEN_WINDOWS else slice(None)

    def result(found: Sequence[Explanation], closest: Explanation | None) -> Diagnosis:
        return Diagnosis(
            subject=subject,
            target=target,
            found=tuple(sorted(found, key=lambda e: e.max_abs)),
            closest=closest,
            baseline=baseline,
            tried=tried,
            max_size=max_size,
            seconds=time.perf_counter() - started,
        )

    ok, baseline = distance(())
    tried = 1
    if ok:
        return result([Explanation((), baseline)], None)
    candidates = sorted(applicable(layer, setting), key=lambda mistake: mistake.cost)
    closest: Explanation | None = None
    for size in range(1, max_size + 1):
        found: list[Explanation] = []
        for combination in itertools.combinations(candidates, size):
            names = tuple(sorted((m.name for m in combination), key=MISTAKE_NAMES.index))
            if is_redundant(names):
                continue
            tried += 1
            explains, error = distance(names, screen)
            if explains and screen != slice(None):
                explains, error = distance(names)
            if explains:
                found.append(Explanation(names, error))
            elif closest is None or error < closest.max_abs:
                closest = Explanation(names, error)
        if found:
            return result(found, None)
    if closest is not None and screen != slice(None):
        # ranked on the first windows; reported on all of them
        closest = Explanation(closest.names, distance(closest.names)[1])
    return result((), closest)


def _max_abs(expected: Array, actual: Array) -> float:
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(np.asarray(actual, np.float64) - np.asarray(expected, np.float64))
    if error.size == 0:
        return 0.0
    if not np.isfinite(error).all():
        return math.inf
    return float(error.max())


# ----------------------------------------------------------------------------- text


# -------------------------------------------------------------- Keras against the reference


def keras_diagnosis(result: ParityResult, *, max_windows: int = 8) -> Diagnosis | None:
    """Which mistakes turn the reference into what Keras computed, for a failed parity check.

    Looks at the first recurrent direction whose hidden states disagree (a layer whose
    input is masked is left out: the mistakes are run without masks) and searches its
    first ``max_windows`` windows. None when there is no such direction.
    """
    if result.non_finite is not None:
        return None  # NaN or inf: no mistake of a port explains garbage
    first = next((c for c in result.failures if c.quantity == "hidden" and c.problem is None), None)
    if first is None:
        return None
    index = [layer.name for layer in result.layers].index(first.layer)
    described = result.layers[index]
    direction = first.direction or "forward"
    if isinstance(described, BidirectionalLayer):
        layer = described.forward if direction == "forward" else described.backward
    elif isinstance(described, RecurrentLayer):
        layer = described
    else:
        return None
    if index == 0:
        inputs: Array = result.inputs
    else:
        previous = result.reference[index - 1]
        if previous.mask is not None or isinstance(previous.output, tuple):
            return None
        inputs = previous.output
    return diagnose(
        layer,
        inputs,
        result.keras[index].directions[direction].sequence,
        tolerance=first.tolerance,
        setting=Setting(stateful=layer.stateful, keras_major=result.keras_major),
        max_windows=max_windows,
        subject="Keras",
        target="the reference",
        dtype=result.dtype,
    )
