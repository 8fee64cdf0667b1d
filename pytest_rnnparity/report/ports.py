"""Failure text for ports (a candidate implementation, a torch module) against the reference.

The same localized report as a Keras parity failure (:mod:`.parity`): the first
mismatch with its place and both values, then the table of the largest errors. Pure
functions; asserted verbatim in the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pytest_rnnparity.check.candidate import CandidateCheck
from pytest_rnnparity.check.compare import Comparison
from pytest_rnnparity.check.torch_port import TorchCheck
from pytest_rnnparity.report.diagnosis import diagnosis_lines
from pytest_rnnparity.report.parity import QUANTITY_TITLES, error_table, mismatch_lines

#: How each quantity a port is compared on is named in a failure's headline. A port is
#: compared on states and gates (never on a layer's output), so here "output" is the
#: LSTM's output gate o, which Keras' trace names ``output``.
TRACE_TITLES: Mapping[str, str] = {
    "hidden": QUANTITY_TITLES["hidden"],
    "final hidden": QUANTITY_TITLES["final hidden"],
    "final cell": QUANTITY_TITLES["final cell"],
    "cell": "cell state (every timestep)",
    "update": "update gate z (every timestep)",
    "reset": "reset gate r (every timestep)",
    "input": "input gate i (every timestep)",
    "forget": "forget gate f (every timestep)",
    "output": "output gate o (every timestep)",
    "candidate": "candidate (every timestep)",
}


def port_failure_message(
    comparisons: Sequence[Comparison],
    *,
    port: str,
    short_name: str,
    layer_names: Sequence[str],
    layer_classes: Mapping[str, str],
    reference_dtype: str,
) -> str:
    """``<port> and the float32 reference disagree in 2 of 4 checks.``, the first, the table.

    ``port`` names the implementation in the headline (``The candidate m:f``, ``torch``);
    ``short_name`` labels its values (``candidate``, ``torch``); ``layer_names`` is the
    model's chain, for "layer 1 of 2".
    """
    failed = [c for c in comparisons if not c.ok]
    if not failed:
        raise ValueError("port_failure_message needs at least one failed comparison")
    first = failed[0]
    position = ""
    if first.layer in layer_names:
        position = f", layer {list(layer_names).index(first.layer) + 1} of {len(layer_names)}"
    title = TRACE_TITLES.get(first.quantity, first.quantity)
    direction = "" if first.direction in (None, "forward") else f", {first.direction} direction"
    layer_class = layer_classes.get(first.layer, "?")
    return "\n".join(
        [
            f"{port} and the {reference_dtype} reference disagree in "
            f"{len(failed)} of {len(comparisons)} checks.",
            f"First: layer '{first.layer}' ({layer_class}{position}), {title}{direction}",
            *mismatch_lines(first, expected_name="reference", actual_name=short_name),
            "",
            "Largest errors:",
            *("  " + line for line in error_table(comparisons, dict(layer_classes))),
        ]
    )


def candidate_message(check: CandidateCheck) -> str:
    """The failure text: the first mismatch localized, the table, then the diagnosis."""
    lines = [
        port_failure_message(
            check.comparisons,
            port=f"The candidate {check.name}",
            short_name="candidate",
            layer_names=check.layer_names,
            layer_classes=check.layer_classes,
            reference_dtype=check.dtype,
        )
    ]
    for direction, diagnosis in check.diagnoses:
        lines.append("")
        diagnosis_text = diagnosis_lines(diagnosis)
        if len(check.diagnoses) > 1:
            diagnosis_text[0] = f"{direction.capitalize()} direction: {diagnosis_text[0]}"
        lines.extend(diagnosis_text)
    return "\n".join(lines)


def torch_message(check: TorchCheck) -> str:
    """The failure text of the torch item: the first mismatch localized, then the table."""
    return port_failure_message(
        check.comparisons,
        port=f"torch {check.torch_version}",
        short_name="torch",
        layer_names=check.layer_names,
        layer_classes=check.layer_classes,
        reference_dtype=check.dtype,
    )
