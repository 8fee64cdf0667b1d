"""Wrong verdicts (issue 17, cases 4-6, 12, 13): a spec is green only when its model is.

Matrix variants never share a node id or a golden; NaN or inf never passes parity and
never enters a golden silently; a drift report never shows ``0.00e+00`` for a change; a
candidate's garbage output is one clear error; a saved model whose input does not fit the
spec is a located error before Keras runs.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_rnnparity.spec.matrix import expand_matrix
from pytest_rnnparity.spec.reader import Reader
from pytest_rnnparity.spec.yaml_loader import parse_yaml

from .conftest import FUZZ
from .test_golden_safety import update

# -- case 4: variant ids are unique by construction ---------------------------------

#: The issue's spec: ids joined with '-' let a value holding '-description=' pass for the
#: next label, so two variants got the id path=data%2Fa.csv-description=b-description=c.
CLASHING_MATRIX = """\
name: mx
data:
  csv: {path: data/a.csv, features: [x], target: y}
  scale: none
lookback: 2
model:
  - GRU: {units: 2}
matrix:
  data.csv.path: [data/a.csv, data/a.csv-description=b]
  description: ["b-description=c", "c"]
"""
CSV = "x,y\n0.1,1\n0.5,2\n-0.3,3\n0.8,4\n0.2,5\n"


def test_values_holding_the_separator_give_distinct_ids_and_goldens(
    inner_run: pytest.Pytester,
) -> None:
    project = inner_run.path
    (project / "specs" / "data").mkdir(parents=True)
    (project / "specs" / "mx.yaml").write_text(CLASHING_MATRIX, encoding="utf-8")
    for name in ("a.csv", "a.csv-description=b"):
        (project / "specs" / "data" / name).write_text(CSV, encoding="utf-8")

    result = update(inner_run)

    result.assert_outcomes(passed=8)
    assert sorted(p.name for p in (project / "golden" / "mx").iterdir()) == [
        f"mx[{variant}].golden"
        for variant in sorted(
            [
                "path=data%2Fa.csv-description=b-description%3Dc",
                "path=data%2Fa.csv-description=c",
                "path=data%2Fa.csv-description%3Db-description=b-description%3Dc",
                "path=data%2Fa.csv-description%3Db-description=c",
            ]
        )
    ]
    # a second update changes nothing: the spec is green, and stays so
    before = {p: p.read_bytes() for p in (project / "golden" / "mx").iterdir()}
    update(inner_run).assert_outcomes(passed=8)
    assert {p: p.read_bytes() for p in (project / "golden" / "mx").iterdir()} == before


#: Values made of the characters an id is built from, so that clashes are likely.
ID_TEXT = st.text(alphabet="ab-=:%/", min_size=1, max_size=6)


@FUZZ
@given(
    first=st.lists(ID_TEXT, min_size=1, max_size=4, unique=True),
    second=st.lists(ID_TEXT, min_size=1, max_size=4, unique=True),
    names=st.sampled_from([("description", "name"), ("name", "description")]),
)
def test_every_variant_of_a_file_has_its_own_id(
    first: list[str], second: list[str], names: tuple[str, str]
) -> None:
    matrix = dict(zip(names, [first, second], strict=True))
    document = {"data": {}, "lookback": 1, "model": [], "matrix": matrix}
    located = parse_yaml(json.dumps(document), path="x.yaml")
    variants = expand_matrix(located, Reader(located, display="x.yaml", variant=None))

    ids = [variant for variant, _ in variants]
    assert len(set(ids)) == len(ids) == len(first) * len(second)
    assert all("/" not in variant and "::" not in variant for variant in ids if variant)
