"""What ``rnnparity check MODEL --data FILE`` prints: what was checked, the verdict, the table.

Pure functions of a :class:`~pytest_rnnparity.check.spec_run.SpecRun`; the command line
(:mod:`pytest_rnnparity.cli.check`) prints them.
"""

from __future__ import annotations

from pytest_rnnparity.check.spec_run import SpecRun
from pytest_rnnparity.report.diagnosis import keras_diagnosis_lines
from pytest_rnnparity.report.parity import checked_lines, error_table, parity_message

__all__ = ["check_report", "spec_written_lines"]


def check_report(run: SpecRun, *, model: str, data: str) -> str:
    """``Checked MODEL on DATA: ...``, then OK with the largest error per layer, or FAIL."""
    batch, steps, features = run.windows.x.shape
    parity = run.parity
    lines = [
        f"Checked {model} on {data}: {batch} window{'s' * (batch != 1)} of {steps}"
        f" step{'s' * (steps != 1)} x {features} feature{'s' * (features != 1)}"
    ]
    if parity.ok:
        first, *rest = checked_lines(parity)
        lines += [f"OK: {first}", *rest, "", *error_table(parity.comparisons, parity.layer_classes)]
    else:
        lines += ["FAIL: " + parity_message(parity), *keras_diagnosis_lines(parity)]
    return "\n".join(lines) + "\n"


def spec_written_lines(spec: str, written_data: str | None, *, ok: bool) -> list[str]:
    """What ``--spec-out`` wrote, and how ``pytest --rnn-parity`` takes it over."""
    files = spec if written_data is None else f"{spec} and {written_data}"
    lines = [f"wrote {files}:", "`pytest --rnn-parity` repeats this check from now on."]
    if not ok:
        lines.append("It fails there too until Keras and the reference agree.")
    lines.append(f"Record its golden once: pytest --rnn-parity --snapshot-update {spec}")
    return lines
