"""spec/matrix.py: a spec file expanded into variants, their ids, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import NOTEBOOK, SMALL, error_of, load, with_model


def test_matrix_expands_to_the_cartesian_product_in_order(tmp_path: Path) -> None:
    text = NOTEBOOK + (
        "matrix:\n  model[0].GRU.units: [4, 64]\n  model[0].GRU.reset_after: [true, false]\n"
    )

    specs = load(tmp_path, text)

    assert [spec.id for spec in specs] == [
        "power-gru[units=4-reset_after=true]",
        "power-gru[units=4-reset_after=false]",
        "power-gru[units=64-reset_after=true]",
        "power-gru[units=64-reset_after=false]",
    ]
    assert specs[0].variant == "units=4-reset_after=true"
    assert [dict(spec.model[0].kwargs) for spec in specs] == [  # type: ignore[index]
        {"units": 4, "reset_after": True},
        {"units": 4, "reset_after": False},
        {"units": 64, "reset_after": True},
        {"units": 64, "reset_after": False},
    ]
    assert len({spec.content_hash for spec in specs}) == 4
    assert all(spec.layer_lines == (17, 18) for spec in specs)
    assert specs[3].location("model[0].GRU.units") == (22, 27)


def test_colliding_matrix_labels_grow_until_they_differ(tmp_path: Path) -> None:
    text = with_model("- GRU: {units: 2, return_sequences: true}\n- GRU: {units: 2}\n")
    text += "matrix:\n  model[0].GRU.units: [2]\n  model[1].GRU.units: [3]\n  dtype: [float64]\n"

    (spec,) = load(tmp_path, text)

    assert spec.variant == "model[0].GRU.units=2-model[1].GRU.units=3-dtype=float64"


def test_matrix_labels_spell_values_as_yaml(tmp_path: Path) -> None:
    text = with_model("- Bidirectional: {layer: {GRU: {units: 2}}}\n")
    text += "matrix:\n  model[0].Bidirectional.merge_mode: [null, sum]\n  tolerance.atol: [0.001]\n"
    text = text.replace("matrix:", "tolerance: {}\nmatrix:")

    assert [spec.variant for spec in load(tmp_path, text)] == [
        "merge_mode=null-atol=0.001",
        "merge_mode=sum-atol=0.001",
    ]


def test_matrix_ids_are_safe_as_file_names_and_node_ids(tmp_path: Path) -> None:
    # the id names the golden file: a value must not reach outside the golden directory
    text = SMALL + 'matrix:\n  description: ["a/../../x", "b::c", "new\\nline", "50%"]\n'
    assert [spec.id for spec in load(tmp_path, text)] == [
        "x[description=a%2F..%2F..%2Fx]",
        "x[description=b%3A%3Ac]",
        "x[description=new%0Aline]",
        "x[description=50%25]",
    ]


def test_a_key_with_a_newline_is_shown_escaped_on_one_line(tmp_path: Path) -> None:
    assert error_of(tmp_path, SMALL + 'matrix: {"\\n": [1]}\n') == (
        "specs/x.yaml:8:10: matrix['\\n']: '\\n' names nothing in the spec"
    )


def test_matrix_key_naming_nothing(tmp_path: Path) -> None:
    text = SMALL + "matrix:\n  model[0].GRU.unitz: [4, 8]\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:9:3: matrix.model[0].GRU.unitz: 'model[0].GRU.unitz' names nothing in"
        " the spec; did you mean 'model[0].GRU.units'?"
    )
    text = SMALL + "matrix:\n  model[5].GRU.units: [4, 8]\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:9:3: matrix.model[5].GRU.units: 'model[5].GRU.units' names nothing in"
        " the spec (it has no model[5])"
    )
    text = SMALL + "matrix:\n  tolerance.atol: [0.1]\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:9:3: matrix.tolerance.atol: 'tolerance.atol' names nothing in the spec"
        " (it has no tolerance)"
    )
    text = SMALL + "matrix:\n  'model[0]..units': [4]\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:9:3: matrix.model[0]..units: 'model[0]..units' is not a key path such"
        " as model[0].GRU.units"
    )


def test_errors_in_a_variant_point_at_the_matrix_value(tmp_path: Path) -> None:
    text = SMALL + "matrix:\n  model[0].GRU.units: [4, -1]\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:9:27: model[0].GRU.units: expected a positive integer, got -1 (matrix"
        " variant units=-1)"
    )


def test_a_matrix_may_add_an_allowed_argument(tmp_path: Path) -> None:
    specs = load(tmp_path, SMALL + "matrix:\n  model[0].GRU.activation: [relu, null]\n")
    assert [spec.model[0].kwargs["activation"] for spec in specs] == ["relu", None]  # type: ignore[index]
    assert [spec.variant for spec in specs] == ["activation=relu", "activation=null"]
    text = SMALL + "matrix:\n  model[0].GRU.activation: [relu, tahn]\n"
    assert error_of(tmp_path, text) == (
        "specs/x.yaml:9:35: model[0].GRU.activation: unknown activation 'tahn'; did you mean"
        " 'tanh'? (matrix variant activation=tahn)"
    )


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (
            "matrix: [1]",
            "8:9: matrix: expected a mapping of key paths to lists of values, such"
            " as 'model[0].GRU.units: [4, 64]'",
        ),
        (
            "matrix: {lookback: 3}",
            "8:20: matrix.lookback: expected a non-empty list of values, got 3",
        ),
        (
            "matrix: {lookback: [1, 1]}",
            "8:24: matrix.lookback[1]: repeats the value 1 (item"
            " 0); each variant needs its own value",
        ),
        (
            "matrix:\n  model[0].GRU: [{units: 3}]\n  model[0].GRU.units: [4]",
            "10:3:"
            " matrix.model[0].GRU.units: overlaps 'model[0].GRU'; one matrix key cannot contain"
            " another",
        ),
        (
            "matrix: {seed: ["
            + ", ".join(map(str, range(17)))
            + "], lookback: ["
            + ", ".join(map(str, range(1, 17)))
            + "]}",
            "8:9: matrix: expands to 272 variants; at most 256 allowed",
        ),
    ],
    ids=["not-a-mapping", "not-a-list", "repeated-value", "overlap", "too-many"],
)
def test_matrix_problems(tmp_path: Path, matrix: str, message: str) -> None:
    assert error_of(tmp_path, SMALL + matrix + "\n") == f"specs/x.yaml:{message}"
