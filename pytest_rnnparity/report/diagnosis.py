"""The diagnosis as a person reads it: the sentence a failure report ends with.

    Diagnosis: the candidate matches Keras within 1e-07 if the recurrent bias row is
    dropped and the update convention is inverted.

Pure functions of :class:`~pytest_rnnparity.check.diagnosis.Diagnosis`; asserted verbatim.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pytest_rnnparity.check.diagnosis import Diagnosis, keras_diagnosis
from pytest_rnnparity.check.parity import ParityResult
from pytest_rnnparity.reference.recurrent.mistakes import explain


def within(max_abs: float) -> str:
    """``within 1e-07``: the max abs error rounded up to a power of ten; ``exactly`` at 0."""
    if max_abs == 0:
        return "exactly"
    if not math.isfinite(max_abs):
        return "nowhere near"
    return f"within {10.0 ** math.ceil(math.log10(max_abs)):.0e}"


def join_clauses(clauses: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(clauses) <= 1:
        return "".join(clauses)
    return ", ".join(clauses[:-1]) + " and " + clauses[-1]


def diagnosis_sentence(diagnosis: Diagnosis) -> str:
    """The diagnosis as the sentence a failure report ends with.

    Found: ``Diagnosis: the candidate matches Keras within 1e-07 if the recurrent bias
    row is dropped and the update convention is inverted.`` (other sets of the same size
    that also explain it follow as ``Equally, if ...``). Not found: which set came
    closest and how close.
    """
    d = diagnosis
    if d.found:
        best = d.found[0]
        if not best.names:
            return (
                f"Diagnosis: {d.subject} matches {d.target} {within(best.max_abs)}; "
                "no mistake is needed to explain it."
            )
        text = (
            f"Diagnosis: {d.subject} matches {d.target} {within(best.max_abs)} "
            f"if {join_clauses(explain(best.names))}."
        )
        for other in d.found[1:]:
            text += f" Equally, {within(other.max_abs)} if {join_clauses(explain(other.names))}."
        return text
    text = (
        f"Diagnosis: no classic mistake, nor any combination of up to {d.max_size}, "
        f"explains the mismatch ({d.tried} tried)"
    )
    if d.closest is not None:
        text += (
            f"; the closest, if {join_clauses(explain(d.closest.names))}, still leaves a max "
            f"abs error of {d.closest.max_abs:.2e} (without any: {d.baseline:.2e})"
        )
    return text + "."


def diagnosis_lines(diagnosis: Diagnosis) -> list[str]:
    """The sentence, then the mistake names a spec's ``candidate.diagnosis`` can list."""
    lines = [diagnosis_sentence(diagnosis)]
    if diagnosis.mistakes:
        lines.append(
            f"  (mistakes: {', '.join(diagnosis.mistakes)}; "
            f"{diagnosis.tried} combinations of the reference tried)"
        )
    return lines


def keras_diagnosis_lines(result: ParityResult) -> list[str]:
    """A blank line and the diagnosis of a failed parity check, or nothing."""
    diagnosis = keras_diagnosis(result)
    if diagnosis is None:
        return []
    return ["", *diagnosis_lines(diagnosis)]
