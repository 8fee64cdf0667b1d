"""report/vectors.py: test vectors as JSON, npz and a C header that a C unit test reproduces."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pytest_rnnparity.check.parity import run_reference_chunks
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.cli.main import main
from pytest_rnnparity.reference import run_reference
from pytest_rnnparity.reference.types import (
    BidirectionalLayer,
    CellKind,
    DenseLayer,
    MaskingLayer,
    ReferenceLayer,
)
from pytest_rnnparity.report.vectors import (
    LAYOUT,
    Vectors,
    build_vectors,
    c_header_text,
    c_identifier,
    json_text,
    write_npz,
    write_vectors,
)

from ..helpers import UNIT, inputs, layer

C_TEST = UNIT / "c" / "check_vectors.c"
TOLERANCE = Tolerance(1e-5, 1e-5)
CC = shutil.which("cc")
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler (cc) on PATH")


def cell_vectors(kind: CellKind, *, reset_after: bool = True) -> Vectors:
    spec = layer(kind, features=3, units=5, reset_after=reset_after)
    x = inputs(batch=4, timesteps=6, features=3)
    dense = DenseLayer("dense", kernel=np.full((5, 1), 0.5, "float32"), bias=np.ones(1, "float32"))
    layers: list[ReferenceLayer] = [replace(spec, return_sequences=False), dense]
    return build_vectors(
        layers,
        run_reference(layers, x),
        x,
        dtype="float32",
        tolerance=TOLERANCE,
        layer_classes={"cell": kind.upper(), "dense": "Dense"},
        provenance={"spec": "unit", "spec_file": "specs/unit.yaml"},
    )


def test_the_layout_of_a_gru_and_dense() -> None:
    vectors = cell_vectors("gru")
    shapes = {name: array.shape for name, array in vectors.arrays.items()}
    gates = [
        f"cell/forward/{part}/{gate}"
        for part in ("kernel", "recurrent_kernel", "input_bias", "recurrent_bias")
        for gate in "zrh"
    ]
    traces = [f"cell/forward/trace/{name}" for name in ("update", "reset", "candidate", "hidden")]
    assert list(shapes) == [
        "inputs", "outputs", "cell/output", *gates, "cell/forward/inputs",
        "cell/forward/initial_state/hidden", *traces, "cell/forward/final_state/hidden",
        "dense/output", "dense/kernel", "dense/bias",
    ]  # fmt: skip
    assert shapes["cell/forward/kernel/z"] == (3, 5)
    assert shapes["cell/forward/recurrent_kernel/h"] == (5, 5)
    assert shapes["cell/forward/recurrent_bias/r"] == (5,)
    assert shapes["cell/forward/trace/update"] == (4, 6, 5)
    assert shapes["outputs"] == (4, 1)
    assert all(array.dtype == np.float32 for array in vectors.arrays.values())
    meta = vectors.meta
    assert (meta["batch"], meta["timesteps"], meta["features"]) == (4, 6, 3)
    assert meta["tolerance"] == {"atol": 1e-5, "rtol": 1e-5}
    assert meta["layers"][0]["directions"]["forward"] == {
        "kind": "gru", "units": 5, "features": 3, "gates": ["z", "r", "h"],
        "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
        "reset_after": True, "go_backwards": False, "stateful": False,
    }  # fmt: skip
    assert meta["layers"][1] == {
        "name": "dense", "class": "Dense", "activation": "linear", "time_distributed": False,
    }  # fmt: skip


def test_bidirectional_inputs_and_traces_are_in_processing_order() -> None:
    forward = layer("gru", features=3)
    backward = layer("gru", features=3, seed=4, go_backwards=True)
    layers: list[ReferenceLayer] = [
        BidirectionalLayer("bi", forward, backward, return_sequences=True)
    ]
    x = inputs(features=3)
    reference = run_reference(layers, x)
    arrays = build_vectors(layers, reference, x, dtype="float32", tolerance=TOLERANCE).arrays
    np.testing.assert_array_equal(arrays["bi/backward/inputs"], x[:, ::-1])
    np.testing.assert_array_equal(arrays["bi/forward/inputs"], x)
    np.testing.assert_array_equal(
        arrays["bi/backward/trace/hidden"], reference[0].directions["backward"].outputs
    )
    assert arrays["bi/output"].shape == (5, 4, 8)


def test_a_masked_layer_exports_its_mask() -> None:
    x = inputs(features=3)
    x[:2, -1] = 0
    layers: list[ReferenceLayer] = [MaskingLayer("masking"), layer("lstm", features=3)]
    vectors = build_vectors(layers, run_reference(layers, x), x, dtype="float32",
                            tolerance=TOLERANCE)  # fmt: skip
    mask = vectors.arrays["cell/forward/mask"]
    assert mask.dtype == np.uint8
    assert mask[:2, -1].tolist() == [0, 0]
    assert mask[2:].all()
    assert vectors.meta["layers"][0] == {"name": "masking", "class": "", "mask_value": 0.0}


def test_a_stateful_layer_starts_each_window_where_the_last_ended() -> None:
    spec = replace(layer("gru", features=3), stateful=True)
    x = inputs(features=3)
    reference = run_reference_chunks(
        [spec], x, [slice(i, i + 1) for i in range(5)], mask=None, dtype="float32",
        hidden_only=False, keras_major=3,
    )  # fmt: skip
    arrays = build_vectors([spec], reference, x, dtype="float32", tolerance=TOLERANCE,
                           batch_size=1, sequences=3).arrays  # fmt: skip
    initial = arrays["cell/forward/initial_state/hidden"]
    hidden = reference[0].directions["forward"].outputs
    assert initial.shape == (3, 4)
    assert not initial[0].any()
    np.testing.assert_array_equal(initial[1:], hidden[:2, -1])


def test_json_nests_the_names_with_shapes(tmp_path: Path) -> None:
    vectors = cell_vectors("lstm")
    path = tmp_path / "v.json"
    write_vectors(vectors, path, format="json")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "pytest-rnnparity test vectors"
    assert document["layout"] == LAYOUT.splitlines()
    assert document["meta"]["spec"] == "unit"
    leaf = document["arrays"]["cell"]["forward"]["trace"]["forget"]
    assert leaf["shape"] == [4, 6, 5]
    assert leaf["dtype"] == "float32"
    np.testing.assert_array_equal(
        np.array(leaf["values"], dtype=np.float32), vectors.arrays["cell/forward/trace/forget"]
    )
    assert json.loads(json_text(vectors)) == document


def test_npz_keeps_the_names_flat(tmp_path: Path) -> None:
    vectors = cell_vectors("simple_rnn")
    path = tmp_path / "v.npz"
    write_npz(vectors, path)
    with np.load(path) as loaded:
        assert set(loaded.files) == {"meta", *vectors.arrays}
        np.testing.assert_array_equal(loaded["cell/forward/kernel/h"],
                                      vectors.arrays["cell/forward/kernel/h"])  # fmt: skip
        meta = json.loads(str(loaded["meta"]))
    assert meta["layers"][0]["directions"]["forward"]["kind"] == "simple_rnn"
    assert meta["layout"] == LAYOUT.splitlines()


def test_the_c_header_declares_arrays_with_defined_dimensions() -> None:
    text = c_header_text(cell_vectors("gru"), prefix="v")
    assert text.startswith(
        "/* pytest-rnnparity test vectors, version 1: spec 'unit' (specs/unit.yaml).\n"
    )
    assert "#ifndef V_TEST_VECTORS_H\n#define V_TEST_VECTORS_H\n" in text
    assert text.endswith("#endif /* V_TEST_VECTORS_H */\n")
    assert (
        "#define V_CELL_FORWARD_KERNEL_Z_DIM0 3\n#define V_CELL_FORWARD_KERNEL_Z_DIM1 5\n"
        "static const float v_cell_forward_kernel_z[V_CELL_FORWARD_KERNEL_Z_DIM0]"
        "[V_CELL_FORWARD_KERNEL_Z_DIM1] = {\n  {"
    ) in text
    for line in (
        "#define V_CELL_FORWARD_KIND_GRU 1",
        "#define V_CELL_FORWARD_UNITS 5",
        "#define V_CELL_FORWARD_RESET_AFTER 1",
        '#define V_CELL_FORWARD_RECURRENT_ACTIVATION "sigmoid"',
        "#define V_ATOL 1e-05",
    ):
        assert line in text.splitlines()
    assert "*/" not in text[3 : text.index(" */\n#ifndef")]


def test_c_numbers_round_trip_float32() -> None:
    vectors = Vectors(
        meta=cell_vectors("gru").meta,
        arrays={"x": np.array([1.0, 0.1, -2.5e-8, 3.4028235e38], dtype=np.float32)},
    )
    text = c_header_text(vectors, prefix="p")
    literals = re.search(r"p_x\[P_X_DIM0\] = \{\n  (.*),\n\};", text)
    assert literals is not None
    assert literals.group(1) == "1.0f, 0.100000001f, -2.50000003e-08f, 3.40282347e+38f"
    values = [np.float32(v.rstrip("f")) for v in literals.group(1).split(", ")]
    np.testing.assert_array_equal(values, vectors.arrays["x"])


def test_c_names_must_not_collide() -> None:
    meta = cell_vectors("gru").meta
    with pytest.raises(ValueError, match="both become p_a_b in C"):
        c_header_text(Vectors(meta, {"a/b": np.zeros(1), "a_b": np.zeros(1)}), prefix="p")
    with pytest.raises(ValueError, match="must be a C identifier"):
        c_header_text(Vectors(meta, {}), prefix="1x")
    assert c_identifier("rnnp", "gru-1/forward/kernel/z") == "rnnp_gru_1_forward_kernel_z"


def compile_and_run(tmp_path: Path, header: str, source: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "vectors.h").write_text(header, encoding="utf-8")
    binary = tmp_path / "check"
    assert CC is not None
    subprocess.run(
        [CC, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", str(tmp_path),
         '-DVECTORS="vectors.h"', str(source), "-o", str(binary), "-lm"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return subprocess.run([str(binary)], capture_output=True, text=True, check=False)


@needs_cc
@pytest.mark.parametrize(
    ("kind", "reset_after"),
    [("gru", True), ("gru", False), ("lstm", False), ("simple_rnn", False)],
)
def test_a_c_unit_test_reproduces_the_exported_trace(
    tmp_path: Path, kind: CellKind, reset_after: bool
) -> None:
    header = c_header_text(cell_vectors(kind, reset_after=reset_after), prefix="v")
    result = compile_and_run(tmp_path, header, C_TEST)
    assert result.returncode == 0, result.stdout
    match = re.fullmatch(r"max abs error (\S+), 0 values beyond tolerance\n", result.stdout)
    assert match is not None, result.stdout
    assert float(match.group(1)) < 1e-6


@needs_cc
def test_a_c_unit_test_finds_a_wrong_trace(tmp_path: Path) -> None:
    vectors = cell_vectors("gru")
    vectors.arrays["cell/forward/trace/reset"][1, 2, 3] += 0.01
    result = compile_and_run(tmp_path, c_header_text(vectors, prefix="v"), C_TEST)
    assert result.returncode == 1
    assert result.stdout.startswith("reset[1][2][3]: C ")


@needs_cc
def test_every_kind_of_layer_gives_a_header_that_compiles(tmp_path: Path) -> None:
    forward = layer("gru", features=3)
    backward = layer("gru", features=3, seed=4, go_backwards=True)
    x = inputs(features=3)
    x[0, 0] = 0
    layers: list[ReferenceLayer] = [
        MaskingLayer("masking"),
        BidirectionalLayer("bi-gru", forward, backward, merge_mode="sum", return_sequences=True),
        replace(layer("lstm", features=4, seed=2, name="lstm.2"), return_sequences=True),
        DenseLayer("td", kernel=np.ones((4, 2), "float32"), bias=None, time_distributed=True),
    ]
    vectors = build_vectors(layers, run_reference(layers, x), x, dtype="float64",
                            tolerance=Tolerance(1e-10, 1e-9))  # fmt: skip
    vectors.arrays["td/output"][0, 0, 0] = np.nan
    header = c_header_text(vectors)
    assert "static const double rnnp_bi_gru_backward_trace_hidden" in header
    assert "static const unsigned char rnnp_lstm_2_forward_mask" in header
    assert "#include <math.h>" in header
    main_c = tmp_path / "main.c"
    main_c.write_text(
        textwrap.dedent(
            """\
            #include VECTORS
            int main(void) {
                return rnnp_lstm_2_forward_mask[1][0] == 1 && RNNP_BI_GRU_BACKWARD_GO_BACKWARDS
                    && rnnp_td_output[0][0][0] != rnnp_td_output[0][0][0] ? 0 : 1;
            }
            """
        ),
        encoding="utf-8",
    )
    result = compile_and_run(tmp_path, header, main_c)
    assert result.returncode == 0


# ------------------------------------------------------------------------------ CLI

CELL_SPEC = """\
name: cell-spec
seed: 5
data:
  synthetic: {kind: sine, length: 30, features: 3}
lookback: 5
model:
  - GRU: {units: 4, name: cell}
  - Dense: {units: 1}
"""


@pytest.mark.keras
@needs_cc
def test_export_a_spec_and_reproduce_it_in_c(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keras = pytest.importorskip("keras")
    spec = tmp_path / "cell.yaml"
    spec.write_text(CELL_SPEC, encoding="utf-8")
    out = tmp_path / "out"
    try:
        code = main(["export", str(spec), "--format", "c-header", str(out / "vectors.h"),
                     "--prefix", "v", "--rootdir", str(tmp_path)])  # fmt: skip
        assert code == 0
        assert main(["export", str(spec), "--format", "npz", str(out / "v.npz"),
                     "--sequences", "3", "--rootdir", str(tmp_path)]) == 0  # fmt: skip
    finally:
        keras.backend.clear_session()
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"wrote {out / 'vectors.h'}: 25 arrays, 3213 values, 25 windows (c-header)"
    assert printed[1].endswith("3 windows (npz)")
    header = (out / "vectors.h").read_text(encoding="utf-8")
    assert " * the reference agrees with Keras " in header
    result = compile_and_run(tmp_path, header, C_TEST)
    assert result.returncode == 0, result.stdout
    with np.load(out / "v.npz") as loaded:
        assert loaded["cell/forward/trace/update"].shape == (3, 5, 4)


def test_export_needs_one_variant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "m.yaml"
    spec.write_text(CELL_SPEC + "matrix:\n  model[0].GRU.units: [2, 3]\n", encoding="utf-8")
    code = main(["export", str(spec), "--format", "json", str(tmp_path / "v.json"),
                 "--rootdir", str(tmp_path)])  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err == (
        f"{spec}: 2 matrix variants match; choose one with --variant ID (variants:"
        " cell-spec[units=2], cell-spec[units=3])\n"
    )


def test_a_variant_that_matches_none_lists_them_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "m.yaml"
    spec.write_text(CELL_SPEC + "matrix:\n  model[0].GRU.units: [2, 3]\n", encoding="utf-8")
    for command in (["export", str(spec), "--format", "json", str(tmp_path / "v.json")],
                    ["explain", str(spec)]):  # fmt: skip
        code = main([*command, "--variant", "units=9", "--rootdir", str(tmp_path)])
        assert code == 2
    explain_err = f"{spec}: no matrix variant matches 'units=9'\n"
    assert capsys.readouterr().err == (
        f"{spec}: no matrix variants match; choose one with --variant ID (variants:"
        f" cell-spec[units=2], cell-spec[units=3])\n{explain_err}"
    )


def test_export_refuses_a_bad_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export", "x.yaml", "--format", "c-header", "v.h", "--prefix", "my-port"])
    assert code == 2
    assert capsys.readouterr().err == "--prefix must be a C identifier, got 'my-port'\n"
