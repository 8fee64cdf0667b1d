"""pytest-html: a failing parity or golden item shows its heatmaps and its table in the report.

pytest-html keeps its report's data as JSON in the page (``data-jsonblob``); each test
lists its extras there, with ``--self-contained-html`` as ``data:`` URIs.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import golden_path, perturb, run, write_spec

pytest.importorskip("pytest_html")
pytest.importorskip("matplotlib")
pytestmark = pytest.mark.keras

PNG_URI = "data:image/png;base64,"
TEXT_URI = "data:text/plain;charset=utf-8;base64,"


def report_extras(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Each test's extras in a pytest-html report, by node id (its call phase)."""
    page = path.read_text(encoding="utf-8")
    match = re.search(r'data-jsonblob="([^"]*)"', page)
    assert match is not None, "no data-jsonblob in the report: a pytest-html other than 4.x?"
    tests = json.loads(html.unescape(match.group(1)))["tests"]
    return {
        node: [extra for phase in phases for extra in phase.get("extras", [])]
        for node, phases in tests.items()
    }


def _inverted_update(monkeypatch: pytest.MonkeyPatch) -> None:
    """The notebook's update rule in the reference: Keras and it part at step 0."""
    from pytest_rnnparity.reference.recurrent import cells

    original = cells.gru_step

    def step(*args: Any, **kwargs: Any) -> Any:
        right = original(*args, **kwargs)
        hidden = (1 - right.update) * args[1] + right.update * right.candidate
        return cells.GRUStep(right.update, right.reset, right.candidate, hidden)

    monkeypatch.setattr(cells, "gru_step", step)


def _decoded(extra: dict[str, Any], prefix: str) -> bytes:
    assert extra["content"].startswith(prefix), extra["content"][:60]
    return base64.b64decode(extra["content"].removeprefix(prefix))


def test_a_failing_parity_item_shows_the_plots_files_and_its_table(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_spec(project, "alpha")
    _inverted_update(monkeypatch)
    args = ["-k", "parity", "--rnn-parity-plots", "plots"]
    result = run(project, *args, "--html=report.html", "--self-contained-html")
    result.assert_outcomes(failed=1, deselected=1)
    extras = report_extras(project.path / "report.html")["specs/alpha.yaml::alpha::parity"]
    images = [extra for extra in extras if extra["format_type"] == "image"]
    names = ["gru_hidden", "gru_final_hidden", "gru_output", "error_over_time"]
    plots = project.path / "plots" / "alpha"
    assert sorted(path.stem for path in plots.iterdir()) == sorted(names)
    # the report's pictures are the --rnn-parity-plots files, byte for byte
    assert [_decoded(extra, PNG_URI) for extra in images] == [
        (plots / f"{name}.png").read_bytes() for name in names
    ]
    assert images[0]["name"].startswith("layer 'gru', hidden: row 0, tolerance atol=1e-05")
    (table,) = [extra for extra in extras if extra["format_type"] == "text"]
    assert table["name"] == "largest errors per layer"
    lines = _decoded(table, TEXT_URI).decode().splitlines()
    assert lines[0].split() == [
        "layer", "class", "quantity", "shape", "max", "abs", "max", "rel", "tolerance", "verdict"
    ]  # fmt: skip
    assert [line.split()[:3] for line in lines[1:]] == [
        ["gru", "GRU", "hidden"],
        ["gru", "GRU", "final"],
        ["gru", "GRU", "output"],
    ]
    assert all(line.endswith("FAIL") for line in lines[1:])


def test_a_drifted_golden_item_shows_recorded_and_now(project: pytest.Pytester) -> None:
    write_spec(project, "alpha")
    run(project, "--snapshot-update").assert_outcomes(passed=2)
    perturb(golden_path(project, "alpha"), "reference/gru/forward/update", "row 1 t 1", 1, 0.1)
    result = run(project, "--html=report.html", "--self-contained-html")
    result.assert_outcomes(passed=1, failed=1)
    extras = report_extras(project.path / "report.html")
    assert extras["specs/alpha.yaml::alpha::parity"] == []  # passing items show nothing
    golden = extras["specs/alpha.yaml::alpha::golden"]
    (image,) = [extra for extra in golden if extra["format_type"] == "image"]
    assert image["name"].startswith("golden drift of reference/gru/forward/update: row 1,")
    assert _decoded(image, PNG_URI).startswith(b"\x89PNG\r\n\x1a\n")
    (table,) = [extra for extra in golden if extra["format_type"] == "text"]
    assert table["name"] == "golden blocks that moved"
    lines = _decoded(table, TEXT_URI).decode().splitlines()
    assert lines[0].split() == ["part", "array", "block", "max", "abs", "moved"]
    assert lines[1].split()[:5] == ["reference", "trace", "gru/forward/update", "rows", "1.00e-01"]


def test_without_html_nothing_is_drawn(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_spec(project, "alpha")
    _inverted_update(monkeypatch)
    import pytest_rnnparity.report.plots as plots

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no figure is drawn without --html or --rnn-parity-plots")

    monkeypatch.setattr(plots, "failure_pictures", never)
    run(project, "-k", "parity").assert_outcomes(failed=1, deselected=1)
