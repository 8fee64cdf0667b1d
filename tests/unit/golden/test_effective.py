"""golden/effective.py: the effective spec a golden keeps, and the changes between two."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_rnnparity.golden.effective import (
    changed_keys,
    changes_weights,
    effective_spec,
    render_key,
    spec_changes,
)
from pytest_rnnparity.golden.format import Golden, dumps, loads
from pytest_rnnparity.spec import load_specs

SPEC = """\
name: lstm
seed: 1
data:
  features:
    x: [0.1, 0.5, -0.3, 0.8, 0.2, -0.6]
  target: {name: y, linear: {x: 2.0}, noise_std: 0.5}
  scale: none
lookback: 2
model:
  - Bidirectional: {layer: {LSTM: {units: 8}}, merge_mode: sum}
  - Dense: {units: 1}
tolerance: {atol: 1.0e-6}
marks: [slow]
"""


def _effective(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "specs" / "lstm.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    (spec,) = load_specs(path, root=tmp_path)
    return effective_spec(spec)


def test_the_effective_spec_is_every_key_that_made_the_numbers_sorted(tmp_path: Path) -> None:
    assert _effective(tmp_path, SPEC) == {
        "data.batch": "null",
        "data.features.x": "[0.1, 0.5, -0.3, 0.8, 0.2, -0.6]",
        "data.scale": '"none"',
        "data.stride": "1",
        "data.target.linear.x": "2.0",
        "data.target.name": '"y"',
        "data.target.noise_std": "0.5",
        "dtype": '"float32"',
        "golden.max_values": "4096",
        "golden.sequences": "3",
        "golden.summaries": "true",
        "golden.traces": '"all"',
        "lookback": "2",
        "model[0].Bidirectional.layer.LSTM.units": "8",
        "model[0].Bidirectional.merge_mode": '"sum"',
        "model[1].Dense.units": "1",
        "seed": "1",
        "stateful": "false",
        "weights": '"seeded"',
    }


def test_what_does_not_change_the_numbers_is_left_out(tmp_path: Path) -> None:
    renamed = SPEC.replace("name: lstm", "name: other").replace("marks: [slow]", "")
    assert _effective(tmp_path, renamed) == _effective(tmp_path, SPEC)
    written_defaults = SPEC.replace("seed: 1", "seed: 1\nweights: seeded\ndtype: float32")
    assert _effective(tmp_path, written_defaults) == _effective(tmp_path, SPEC)


def test_csv_synthetic_and_files_enter_by_what_was_written(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "d.csv").write_text("a,b\n" + "1,2\n" * 6, encoding="utf-8")
    csv = _effective(
        tmp_path,
        SPEC.replace(
            SPEC[SPEC.index("  features:") : SPEC.index("  scale:")],
            "  csv: {path: d.csv, features: [a], target: b}\n",
        ),
    )
    assert {k: v for k, v in csv.items() if k.startswith("data.csv")} == {
        "data.csv.features": '["a"]',
        "data.csv.path": '"d.csv"',
        "data.csv.target": '"b"',
    }
    synthetic = _effective(
        tmp_path,
        SPEC.replace(
            SPEC[SPEC.index("  features:") : SPEC.index("  scale:")],
            "  synthetic: {kind: sine, length: 40, features: 2}\n",
        ),
    )
    assert {k: v for k, v in synthetic.items() if k.startswith("data.synthetic")} == {
        "data.synthetic.features": "2",
        "data.synthetic.kind": '"sine"',
        "data.synthetic.length": "40",
    }


def test_the_effective_spec_round_trips_through_a_golden(tmp_path: Path) -> None:
    spec = _effective(tmp_path, SPEC)
    golden = Golden(meta={"spec": "lstm"}, environment={}, spec=spec)
    text = dumps(golden)
    assert text.splitlines()[:5] == [
        "# pytest-rnnparity golden, format 1",
        "[meta]",
        "spec = lstm",
        "[spec]",
        "data.batch = null",
    ]
    assert loads(text, location="g").spec == spec
    assert "[spec]" not in dumps(Golden(meta={"spec": "lstm"}, environment={}))


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("model", 0, "LSTM", "units"), "model[0].LSTM.units"),
        (("data", "features", "wind speed"), 'data.features["wind speed"]'),
        (("data", "features", "a = b"), 'data.features["a \\u003d b"]'),
        (("data", "features", "x\u2028y"), 'data.features["x\\u2028y"]'),
        (("data", "features", "temp.c"), 'data.features["temp.c"]'),
    ],
)
def test_keys_stay_one_unambiguous_line(path: tuple[str | int, ...], text: str) -> None:
    assert render_key(path) == text
    golden = Golden(meta={"spec": "s"}, environment={}, spec={text: json.dumps("v = w")})
    assert loads(dumps(golden), location="g").spec == {text: '"v = w"'}


def test_changes_are_listed_key_by_key_and_long_values_shortened() -> None:
    old = {"model[0].LSTM.units": "8", "seed": "1", "data.features.x": json.dumps(list(range(40)))}
    new = {"model[0].LSTM.units": "16", "seed": "1", "model[0].LSTM.unroll": "true"}
    assert spec_changes(old, new) == [
        "data.features.x: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16..."
        " -> (not set)",
        "model[0].LSTM.units: 8 -> 16",
        "model[0].LSTM.unroll: (not set) -> true",
    ]
    assert changed_keys(old, new) == [
        "data.features.x",
        "model[0].LSTM.units",
        "model[0].LSTM.unroll",
    ]
    assert changes_weights(["model[0].LSTM.units"])
    assert changes_weights(["weights.path"])
    assert changes_weights(["seed"])
    assert not changes_weights(["data.features.x", "golden.sequences", "lookback"])
