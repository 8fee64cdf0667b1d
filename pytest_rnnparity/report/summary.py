"""Figures for CI: per-item properties (junit-xml), the JSON report and the end summary.

Pure functions. Items record ``(name, value)`` pairs in ``item.user_properties``, as
``record_property`` does, so ``--junitxml`` carries them and pytest-xdist brings them
back to the controller, which builds the report from the test reports alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_rnnparity.check.compare import Comparison
from pytest_rnnparity.golden.drift import Drift
from pytest_rnnparity.golden.orphans import Orphan
from pytest_rnnparity.spec import display_path

PREFIX = "rnn_parity."


def _max_by_key(comparisons: Iterable[Comparison], *, with_label: bool = True) -> dict[str, float]:
    """Largest absolute error per ``layer/quantity`` (or per ``layer`` alone)."""
    worst: dict[str, float] = {}
    for c in comparisons:
        key = f"{c.layer}/{c.label}" if with_label else c.layer
        worst[key] = max(worst.get(key, 0.0), c.max_abs)
    return dict(sorted(worst.items()))


def parity_properties(
    comparisons: Sequence[Comparison],
    *,
    ok: bool,
    kind: str = "parity",
    verdict: str | None = None,
) -> list[tuple[str, str]]:
    """Properties of a parity-like item (parity, candidate, torch): verdict, largest error,
    largest error per layer and quantity."""
    errors = _max_by_key(comparisons)
    return [
        (PREFIX + "kind", kind),
        (PREFIX + "verdict", verdict or ("pass" if ok else "fail")),
        (PREFIX + "max_abs_error", repr(max(errors.values(), default=0.0))),
        (PREFIX + "max_errors", json.dumps(errors)),
    ]


def golden_properties(verdict: str, drift: Drift | None = None) -> list[tuple[str, str]]:
    """Properties of a golden item: verdict (match, created, updated, drift, error), drift."""
    properties = [(PREFIX + "kind", "golden"), (PREFIX + "verdict", verdict)]
    if drift is not None:
        moved = [c for c in drift.comparisons if not c.ok]
        per_array = _max_by_key(moved, with_label=False)
        largest = max(moved, key=lambda c: c.max_abs, default=None)
        properties += [
            (PREFIX + "max_drift", repr(largest.max_abs if largest else 0.0)),
            (PREFIX + "drift_where", largest.layer if largest else ""),
            (PREFIX + "drift", json.dumps(per_array)),
        ]
    return properties


def environment_property(environment: Mapping[str, str]) -> tuple[str, str]:
    """The environment as one JSON property."""
    return PREFIX + "environment", json.dumps(dict(environment), sort_keys=True)


def item_record(nodeid: str, outcome: str, properties: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """One item of the JSON report, from a test report's nodeid, outcome and properties."""
    record: dict[str, Any] = {"nodeid": nodeid, "outcome": outcome}
    for name, value in properties:
        if not name.startswith(PREFIX):
            continue
        key = name[len(PREFIX) :]
        if key in ("max_errors", "drift", "environment", "compared", "not_exposed"):
            record[key] = json.loads(value)
        elif key in ("max_abs_error", "max_drift"):
            record[key] = float(value)
        else:
            record[key] = value
    # an item whose run raised before it could record anything still counts
    if "kind" not in record:
        item = nodeid.rsplit("::", 1)[-1]
        record["kind"] = "golden" if item == "golden" else "parity"
    record.setdefault("verdict", "pass" if outcome == "passed" else "error")
    return record


def build_report(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON report: per item records plus a summary."""
    items = sorted(records, key=lambda r: r["nodeid"])
    specs = {r["nodeid"].rsplit("::", 1)[0] for r in items}
    parity = [r for r in items if r.get("kind") == "parity"]
    golden = [r for r in items if r.get("kind") == "golden"]
    drifted = [r for r in golden if r.get("verdict") == "drift"]
    largest = max(drifted, key=lambda r: r.get("max_drift", 0.0), default=None)
    environment: dict[str, str] = next((r["environment"] for r in items if "environment" in r), {})
    return {
        "environment": environment,
        "summary": {
            "specs": len(specs),
            "parity_checked": len(parity),
            "parity_failed": sum(r.get("verdict") != "pass" for r in parity),
            "goldens_checked": len(golden),
            "drifted": len(drifted),
            "largest_drift": None
            if largest is None
            else {
                "item": largest["nodeid"],
                "where": largest.get("drift_where", ""),
                "max_abs": largest.get("max_drift", 0.0),
            },
        },
        "items": items,
    }


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """The short summary printed at the end of a ``pytest --rnn-parity`` run."""
    s = report["summary"]
    lines = [
        f"{s['specs']} spec(s): parity failed in {s['parity_failed']} of {s['parity_checked']}, "
        f"{s['drifted']} of {s['goldens_checked']} golden(s) drifted"
    ]
    largest = s["largest_drift"]
    if largest:
        lines.append(
            f"largest drift {largest['max_abs']:.2e} in {largest['where']} ({largest['item']})"
        )
    return lines


def orphan_lines(orphans: Sequence[Orphan], removed: bool, root: Path) -> list[str]:
    """Each golden without a spec and why, then whether they were removed."""
    lines = [f"{display_path(orphan.path, root)}: {orphan.reason}" for orphan in orphans]
    if removed:
        lines.append(f"removed {len(orphans)} golden file(s).")
    else:
        lines.append(
            "they are kept; a full run of `pytest --rnn-parity --snapshot-update` "
            "(no -k, -m, --deselect, --lf or paths) removes them."
        )
    return lines


def session_error_line(subject: str, action: str, error: BaseException) -> str:
    """``<subject>: <action>: <reason>``, one line, for what fails at a session's finish.

    ``reason`` is the operating system's words for an :class:`OSError` (``Read-only file
    system``, ``No space left on device``), else the error's first line.
    """
    if isinstance(error, OSError) and error.strerror:
        reason = error.strerror
    else:
        text = str(error).strip().splitlines()
        reason = text[0] if text else type(error).__name__
    return f"{subject}: {action}: {reason}"
