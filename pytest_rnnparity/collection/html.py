"""Pictures where people look: a failing spec item's figures in pytest-html's report.

With pytest-html (the ``html`` extra) and ``--html=report.html``, the
``pytest_runtest_makereport`` hook of :mod:`pytest_rnnparity.plugin` hands every failed
call here. A failing ``::parity`` item (or ``::parity[<path>]``) gets the heatmaps of
:func:`~pytest_rnnparity.report.plots.failure_pictures` and the largest error per layer;
a drifted ``::golden`` item gets :func:`~pytest_rnnparity.report.plots.drift_pictures`
and the table of the blocks that moved. They go in through pytest-html's own API
(``extras.png``, ``extras.text`` on ``report.extras``), so pytest-html embeds them
(``--self-contained-html``) or writes them beside the report as it does any extra.

The figures are drawn once per item (:func:`item_pictures`) and ``--rnn-parity-plots``
writes those same bytes, so the PNG files and the report's images are the same.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from pytest_rnnparity.errors import GoldenMismatch, ParityError
from pytest_rnnparity.report.plots import Picture

__all__ = ["PICTURES", "TABLE_NAMES", "attach_extras", "item_pictures", "item_table"]

#: An item's figures, drawn on first use.
PICTURES = pytest.StashKey[list[Picture]]()
#: What the text extra holding the item's table is called in the report.
TABLE_NAMES = {"parity": "largest errors per layer", "drift": "golden blocks that moved"}


def _parity_result(item: Any, error: BaseException) -> Any:
    """The failed ParityResult of a parity or execution-path item, or None."""
    from pytest_rnnparity.collection.items import ParityItem, PathItem

    if not isinstance(error, ParityError):
        return None
    if isinstance(item, ParityItem):
        return item.state.run().parity
    if isinstance(item, PathItem):
        return item.outcome.result
    return None


def _drift(item: Any, error: BaseException) -> Any:
    """The Drift of a golden item whose run moved from its golden, or None."""
    from pytest_rnnparity.collection.items import GoldenItem

    if isinstance(item, GoldenItem) and isinstance(error, GoldenMismatch):
        return getattr(error, "drift", None)
    return None


def item_table(item: Any, error: BaseException) -> tuple[str, list[str]] | None:
    """``("parity" | "drift", table lines)`` of a failed spec item; None for other failures."""
    result = _parity_result(item, error)
    if result is not None:
        from pytest_rnnparity.report.parity import error_table

        return "parity", error_table(result.comparisons, result.layer_classes)
    drift = _drift(item, error)
    if drift is not None:
        from pytest_rnnparity.report.drift import drift_table

        return "drift", drift_table(drift)
    return None


def item_pictures(item: Any, error: BaseException) -> list[Picture]:
    """The figures of a failed spec item, drawn on first use; [] for other failures.

    Raises ImportError without matplotlib (the ``report`` extra).
    """
    if PICTURES in item.stash:
        cached: list[Picture] = item.stash[PICTURES]
        return cached
    pictures: list[Picture] = []
    result = _parity_result(item, error)
    drift = None if result is not None else _drift(item, error)
    if result is not None:
        from pytest_rnnparity.report.plots import failure_pictures

        pictures = failure_pictures(result)
    elif drift is not None:
        pictures = _drift_pictures(item, drift)
    item.stash[PICTURES] = pictures
    return pictures


def _drift_pictures(item: Any, drift: Any) -> list[Picture]:
    """The recorded golden against the run's, as the golden item compared them."""
    from pytest_rnnparity.check.spec_run import spec_tolerances
    from pytest_rnnparity.golden.document import spec_golden
    from pytest_rnnparity.golden.files import read_text
    from pytest_rnnparity.golden.format import loads
    from pytest_rnnparity.report.plots import drift_pictures

    state = item.state
    try:
        text = read_text(item.golden_path)
    except (OSError, UnicodeDecodeError):  # gone or changed since: nothing to draw
        return []
    recorded = loads(text, location=str(item.golden_path))
    current = spec_golden(
        state.run(), tolerance=spec_tolerances(state.spec)["hidden"], spec_file=state.display_path
    )
    return drift_pictures(recorded, current, drift)


def attach_extras(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> None:
    """Add a failed spec item's figures and table to ``report.extras`` for pytest-html."""
    if report.when != "call" or not report.failed or call.excinfo is None:
        return
    if not item.config.getoption("htmlpath", None):
        return  # pytest-html is installed, but no HTML report is written
    plugin = item.config.pluginmanager.getplugin("html")
    extras = getattr(plugin, "extras", None)
    if extras is None:
        return
    error = call.excinfo.value
    table = item_table(item, error)
    if table is None:
        return
    kind, lines = table
    attached = list(getattr(report, "extras", []))
    try:
        pictures = item_pictures(item, error)
    except ImportError:  # matplotlib is the 'report' extra: the table still goes in
        pictures = []
    for picture in pictures:
        content = base64.b64encode(picture.png).decode("ascii")
        attached.append(extras.png(content, name=picture.title))
    attached.append(extras.text("\n".join(lines) + "\n", name=TABLE_NAMES[kind]))
    report.extras = attached  # type: ignore[attr-defined]  # pytest-html's attribute
