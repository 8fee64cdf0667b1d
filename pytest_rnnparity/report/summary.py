"""Figures for CI: per-item properties (junit-xml), the JSON report and the end summary.

Pure functions. Items record ``(name, value)`` pairs in ``item.user_properties``, as
``record_property`` does, so ``--junitxml`` carries them and pytest-xdist brings them
back to the controller, which builds the report from the test reports alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_rnnparity.check.compare import Comparison
from pytest_rnnparity.golden.drift import Drift
from pytest_rnnparity.golden.orphans import Orphan
from pytest_rnnparity.report.drift import reshaped_texts
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
    """Properties of a golden item: verdict (match, created, updated, missing, drift, error)
    and, for a drift, where: the largest change of value, and every changed shape."""
    properties = [(PREFIX + "kind", "golden"), (PREFIX + "verdict", verdict)]
    if drift is not None:
        moved = [c for c in drift.comparisons if not c.ok and c.layer not in drift.reshaped]
        per_array = _max_by_key(moved, with_label=False)
        largest = max(moved, key=lambda c: c.max_abs, default=None)
        where = largest.layer if largest else next(iter(sorted(drift.reshaped)), "")
        properties += [
            (PREFIX + "max_drift", repr(largest.max_abs if largest else 0.0)),
            (PREFIX + "drift_where", where),
            (PREFIX + "drift", json.dumps(per_array)),
        ]
        if drift.reshaped:
            properties.append((PREFIX + "reshaped", json.dumps(reshaped_texts(drift))))
    return properties


def environment_property(environment: Mapping[str, str]) -> tuple[str, str]:
    """The environment as one JSON property."""
    return PREFIX + "environment", json.dumps(dict(environment), sort_keys=True)


def identity_properties(kind: str, spec: str) -> list[tuple[str, str]]:
    """What every spec item records from collection on: its kind and its spec's id.

    Every report of the item carries them (a failed setup and a skip too), so the JSON
    report sees every item, under pytest-xdist as well.
    """
    return [(PREFIX + "kind", kind), (PREFIX + "spec", spec)]


def failure_property(status: str) -> tuple[str, str]:
    """How an item failed: ``failed`` (a mismatch), ``golden_missing``, ``drifted``, ``error``."""
    return PREFIX + "status", status


#: An item's status in the JSON report and the summary, in the order the summary counts.
STATUSES = (
    "passed",
    "failed",
    "golden_missing",
    "drifted",
    "error",
    "skipped",
    "xfailed",
    "xpassed",
)
_FAILURE_STATUSES = frozenset(("failed", "golden_missing", "drifted", "error"))
#: A failure's message is kept whole up to this many characters.
MESSAGE_CHARS = 20_000
_NOT_FINITE = {"nan": "nan", "inf": "inf", "-inf": "-inf"}


def _number(value: float) -> float | str:
    """``value``, or ``"nan"``, ``"inf"``, ``"-inf"``: JSON has no such numbers."""
    return value if math.isfinite(value) else _NOT_FINITE[repr(value)]


def _numbers(values: Mapping[str, float]) -> dict[str, float | str]:
    return {key: _number(float(value)) for key, value in values.items()}


def _shortened(text: str) -> str:
    if len(text) <= MESSAGE_CHARS:
        return text
    return f"{text[:MESSAGE_CHARS]}... ({len(text) - MESSAGE_CHARS} more characters)"


def item_record(
    nodeid: str,
    outcome: str,
    properties: Iterable[tuple[str, Any]],
    *,
    message: str | None = None,
    wasxfail: str | None = None,
) -> dict[str, Any]:
    """One item of the JSON report, from a test report's nodeid, outcome and properties.

    ``message`` is the failure's text (or a skip's reason); ``wasxfail`` the reason of an
    expected failure. ``status`` is what the summary counts the item as (:data:`STATUSES`).
    """
    record: dict[str, Any] = {"nodeid": nodeid, "outcome": outcome}
    for name, value in properties:
        if not name.startswith(PREFIX):
            continue
        key = name[len(PREFIX) :]
        if key in ("max_errors", "drift"):
            record[key] = _numbers(json.loads(value))
        elif key in ("environment", "reshaped", "compared", "not_exposed"):
            record[key] = json.loads(value)
        elif key in ("max_abs_error", "max_drift"):
            record[key] = _number(float(value))
        else:
            record[key] = value
    # an item whose run raised before it could record anything still counts
    if "kind" not in record:
        item = nodeid.rsplit("::", 1)[-1].split("[", 1)[0]
        record["kind"] = item if item in ("golden", "candidate", "torch", "spec") else "parity"
    failure = record.pop("status", None)
    if wasxfail is not None:
        status = "xfailed" if outcome == "skipped" else "xpassed"
    elif outcome in ("passed", "skipped"):
        status = outcome
    else:
        status = failure if failure in _FAILURE_STATUSES else "error"
    record["status"] = status
    default_verdict = {
        "passed": "pass",
        "xpassed": "pass",
        "skipped": "skipped",
        "xfailed": "skipped",
        "golden_missing": "missing",
        "drifted": "drift",
    }
    record.setdefault("verdict", default_verdict.get(status, "error"))
    if status in ("skipped", "xfailed"):
        record["reason"] = wasxfail if wasxfail else (message or "")
    elif message and status in _FAILURE_STATUSES:
        record["message"] = _shortened(message)
    return record


def _spec_key(record: Mapping[str, Any]) -> tuple[str, str]:
    """The spec an item belongs to: its file and the spec's id (with the variant)."""
    path, _, rest = record["nodeid"].partition("::")
    return path, record.get("spec") or rest.rsplit("::", 1)[0]


def build_report(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON report: per item records plus a summary (``report_schema.json``)."""
    items = sorted(records, key=lambda r: r["nodeid"])
    counts = dict.fromkeys(STATUSES, 0)
    reasons: dict[str, list[str]] = {}
    for r in items:
        counts[r["status"]] += 1
        if r["status"] == "skipped":
            reasons.setdefault(r.get("reason", ""), []).append(r["nodeid"])
    checked = [r for r in items if r["status"] not in ("skipped", "xfailed")]
    parity = [r for r in checked if r.get("kind") == "parity"]
    golden = [r for r in checked if r.get("kind") == "golden"]
    drifted = [r for r in golden if r.get("verdict") == "drift"]
    numeric = [r for r in drifted if isinstance(r.get("max_drift"), float) and r["max_drift"]]
    largest = max(numeric, key=lambda r: r["max_drift"], default=None)
    environment: dict[str, str] = next((r["environment"] for r in items if "environment" in r), {})
    return {
        "environment": environment,
        "summary": {
            "specs": len({_spec_key(r) for r in items}),
            "items": len(items),
            "counts": counts,
            "skipped": [
                {"reason": reason, "items": nodeids}
                for reason, nodeids in sorted(reasons.items(), key=lambda kv: (-len(kv[1]), kv[0]))
            ],
            "parity_checked": len(parity),
            "parity_failed": sum(r.get("verdict") != "pass" for r in parity),
            "goldens_checked": len(golden),
            "drifted": len(drifted),
            "largest_drift": None
            if largest is None
            else {
                "item": largest["nodeid"],
                "where": largest.get("drift_where", ""),
                "max_abs": largest["max_drift"],
            },
        },
        "items": items,
    }


def merge_reports(reports: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """One report of several shards' (``(file, report)`` pairs): their items, counted anew.

    Raises
    ------
    ValueError
        If an item appears in two reports (the shards overlapped: an item ran twice),
        naming it and both files; or if a report has no ``items`` list, or an item
        without a ``nodeid``.
    """
    seen: dict[str, str] = {}
    records: list[Mapping[str, Any]] = []
    for name, report in reports:
        items = report.get("items") if isinstance(report, Mapping) else None
        if not isinstance(items, list):
            raise ValueError(f"{name}: not a --rnn-parity-report file (no items list)")
        for index, record in enumerate(items):
            nodeid = record.get("nodeid") if isinstance(record, Mapping) else None
            if not isinstance(nodeid, str):
                raise ValueError(f"{name}: items[{index}] has no nodeid")
            if nodeid in seen:
                raise ValueError(
                    f"{nodeid} is in both {seen[nodeid]} and {name}: the shards overlap,"
                    " so it ran twice"
                )
            seen[nodeid] = name
            records.append(record)
    return build_report(records)


def report_text(report: Mapping[str, Any]) -> str:
    """The ``--rnn-parity-report`` file's text: indented JSON, keys sorted."""
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


def report_schema_text() -> str:
    """The JSON Schema (draft 2020-12) of ``--rnn-parity-report``, as stored in the package."""
    return (Path(__file__).parent.parent / "report_schema.json").read_text(encoding="utf-8")


_COUNT_WORDS = {"golden_missing": "golden missing"}


def _counted(status: str, count: int) -> str:
    if status == "error":
        return f"{count} error" + ("s" if count != 1 else "")
    return f"{count} {_COUNT_WORDS.get(status, status)}"


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """The short summary printed at the end of a ``pytest --rnn-parity`` run.

    Every item counted by status, the largest drift, the first changed shapes, and the
    reasons of skipped items with how many each.
    """
    s = report["summary"]
    counts = [_counted(status, s["counts"][status]) for status in STATUSES if s["counts"][status]]
    lines = [f"{s['specs']} spec(s), {s['items']} item(s): {', '.join(counts) or 'none ran'}"]
    largest = s["largest_drift"]
    if largest:
        lines.append(
            f"largest drift {largest['max_abs']:.2e} in {largest['where']} ({largest['item']})"
        )
    for item in report["items"]:
        if item.get("reshaped"):
            (first, change), *rest = item["reshaped"].items()
            more = f" and {len(rest)} more array(s)" if rest else ""
            lines.append(f"shape changed: {first} {change}{more} ({item['nodeid']})")
    if s["skipped"]:
        lines.append("skipped, by reason:")
        width = len(str(max(len(group["items"]) for group in s["skipped"])))
        lines += [f"  {len(group['items']):>{width}}  {group['reason']}" for group in s["skipped"]]
    return lines


def orphan_lines(orphans: Sequence[Orphan], removed: bool, root: Path) -> list[str]:
    """Each golden without a spec and why, then whether they were removed."""
    lines = [f"{display_path(orphan.path, root)}: {orphan.reason}" for orphan in orphans]
    if removed:
        lines.append(f"removed {len(orphans)} golden file(s).")
    else:
        lines.append(
            "they are kept; a full run of `pytest --rnn-parity --snapshot-update` "
            "(every spec directory, no -k, -m, --deselect or --lf) removes them."
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
