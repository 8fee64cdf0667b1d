"""golden.py: hashes, atomic writes, golden locations, orphans, the syrupy extension."""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pytest_rnnparity.collection.snapshot import GoldenExtension
from pytest_rnnparity.errors import GoldenError, SpecError
from pytest_rnnparity.golden.document import array_hash, weights_hash
from pytest_rnnparity.golden.files import atomic_write_text
from pytest_rnnparity.golden.format import Golden, dumps, golden_array
from pytest_rnnparity.golden.orphans import Orphan, find_orphans, golden_relative_dir
from pytest_rnnparity.reference.types import (
    BidirectionalLayer,
    CellConfig,
    CellWeights,
    DenseLayer,
    IdentityLayer,
    MaskingLayer,
    RecurrentLayer,
)

# -- array_hash ---------------------------------------------------------------------------


def test_array_hash_is_a_stable_sha256() -> None:
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    digest = array_hash([values])
    assert len(digest) == 64
    assert digest == array_hash([values.copy()])
    # a strided view hashes as its contents, not its memory layout
    assert array_hash([np.arange(12, dtype=np.float32).reshape(2, 6)[:, ::2]]) == array_hash(
        [np.arange(12, dtype=np.float32).reshape(2, 6)[:, ::2].copy()]
    )


def test_array_hash_sees_dtype_shape_and_value() -> None:
    values = np.zeros((2, 3), dtype=np.float32)
    changed = values.copy()
    changed[1, 2] = 1e-30
    digests = {
        array_hash([values]),
        array_hash([values.astype(np.float64)]),
        array_hash([values.view(np.int32)]),  # same bytes, other dtype
        array_hash([values.reshape(3, 2)]),  # same bytes, other shape
        array_hash([values.reshape(6)]),
        array_hash([changed]),
        array_hash([values[:1], values[1:]]),  # same bytes split in two arrays
    }
    assert len(digests) == 7


def test_array_hash_depends_on_order() -> None:
    a, b = np.zeros(2), np.ones(2)
    assert array_hash([a, b]) != array_hash([b, a])


# -- weights_hash -------------------------------------------------------------------------


def _gru_weights(seed: int, *, features: int = 3, units: int = 2) -> CellWeights:
    rng = np.random.default_rng(seed)
    return CellWeights(
        kind="gru",
        kernel={g: rng.normal(size=(features, units)) for g in "zrh"},
        recurrent_kernel={g: rng.normal(size=(units, units)) for g in "zrh"},
        input_bias={g: rng.normal(size=units) for g in "zrh"},
        recurrent_bias={g: rng.normal(size=units) for g in "zrh"},
    )


def _gru(name: str, weights: CellWeights, *, go_backwards: bool = False) -> RecurrentLayer:
    return RecurrentLayer(
        name=name,
        cell=CellConfig(kind="gru", units=weights.units),
        weights=weights,
        go_backwards=go_backwards,
    )


def _dense(seed: int) -> DenseLayer:
    rng = np.random.default_rng(seed)
    return DenseLayer(name="dense", kernel=rng.normal(size=(2, 1)), bias=rng.normal(size=1))


def test_weights_hash_covers_every_gate_and_the_dense_head_in_order() -> None:
    weights = _gru_weights(1)
    dense = _dense(2)
    expected = array_hash(
        [
            *(weights.kernel[g] for g in "zrh"),
            *(weights.recurrent_kernel[g] for g in "zrh"),
            *(weights.input_bias[g] for g in "zrh"),  # type: ignore[index]
            *(weights.recurrent_bias[g] for g in "zrh"),  # type: ignore[index]
            dense.kernel,
            dense.bias,  # type: ignore[list-item]
        ]
    )
    assert weights_hash([_gru("gru", weights), dense]) == expected


def test_weights_hash_ignores_names_and_weightless_layers() -> None:
    weights = _gru_weights(1)
    plain = weights_hash([_gru("gru", weights), _dense(2)])
    assert plain == weights_hash(
        [
            MaskingLayer(name="masking"),
            _gru("renamed", weights),
            IdentityLayer(name="dropout", class_name="Dropout"),
            dataclasses.replace(_dense(2), name="head"),
        ]
    )


def test_weights_hash_changes_with_any_weight() -> None:
    weights = _gru_weights(1)
    base = weights_hash([_gru("gru", weights), _dense(2)])
    recurrent_bias = dict(weights.recurrent_bias or {})
    recurrent_bias["h"] = recurrent_bias["h"] + np.array([0.0, 1e-12])
    bias_moved = dataclasses.replace(weights, recurrent_bias=recurrent_bias)
    no_bias = dataclasses.replace(weights, recurrent_bias=None)
    dense = _dense(2)
    assert (
        len(
            {
                base,
                weights_hash([_gru("gru", bias_moved), dense]),
                weights_hash([_gru("gru", no_bias), dense]),
                weights_hash([_gru("gru", weights), dataclasses.replace(dense, bias=None)]),
                weights_hash(
                    [_gru("gru", weights), dataclasses.replace(dense, bias=dense.bias * 2)]
                ),
            }
        )
        == 5
    )


def test_weights_hash_of_bidirectional_is_forward_then_backward() -> None:
    forward, backward = _gru_weights(3), _gru_weights(4)
    layer = BidirectionalLayer(
        name="bi",
        forward=_gru("forward", forward),
        backward=_gru("backward", backward, go_backwards=True),
    )
    assert weights_hash([layer]) == weights_hash([_gru("a", forward), _gru("b", backward)])
    swapped = dataclasses.replace(layer, forward=layer.backward, backward=layer.forward)
    assert weights_hash([swapped]) != weights_hash([layer])


# -- atomic_write_text --------------------------------------------------------------------


@pytest.fixture
def umask() -> Iterator[int]:
    """A known umask for the test, restored afterwards."""
    previous = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(previous)


def test_atomic_write_creates_parents_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "goldens" / "power_gru" / "power-gru.golden"
    atomic_write_text(path, "first\n")
    assert path.read_text(encoding="utf-8") == "first\n"
    atomic_write_text(path, "second\n")
    assert path.read_bytes() == b"second\n"
    assert list(path.parent.iterdir()) == [path]


def test_atomic_write_respects_the_umask(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "g.golden"
    atomic_write_text(path, "text\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask == 0o640


def test_atomic_write_keeps_newlines_as_lf(tmp_path: Path) -> None:
    path = tmp_path / "g.golden"
    atomic_write_text(path, "a\nb\n")
    assert path.read_bytes() == b"a\nb\n"


def test_failed_write_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "g.golden"
    path.write_text("old\n", encoding="utf-8")

    def interrupted(source: object, target: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("pytest_rnnparity.golden.files.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(path, "new\n")
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "old\n"
    assert list(tmp_path.iterdir()) == [path]


# -- golden locations ---------------------------------------------------------------------


def _touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_golden_relative_dir_is_the_spec_path_under_its_spec_root(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    spec = _touch(specs / "lstm" / "nile.yaml")
    assert golden_relative_dir(spec, [specs], tmp_path) == Path("lstm/nile")
    # the first spec root that holds the file wins
    assert golden_relative_dir(spec, [specs / "lstm", specs], tmp_path) == Path("nile")


def test_golden_relative_dir_falls_back_to_the_root_then_the_stem(tmp_path: Path) -> None:
    spec = _touch(tmp_path / "specs" / "power_gru.yaml")
    missing_root = tmp_path / "nowhere"
    assert golden_relative_dir(spec, [missing_root], tmp_path) == Path("specs/power_gru")
    outside = _touch(tmp_path / "elsewhere" / "power_gru.yaml")
    assert golden_relative_dir(outside, [], tmp_path / "project") == Path("power_gru")


def test_golden_relative_dir_keeps_dots_in_the_stem(tmp_path: Path) -> None:
    spec = _touch(tmp_path / "specs" / "gru.v2.yaml")
    assert golden_relative_dir(spec, [tmp_path / "specs"], tmp_path) == Path("gru.v2")


# -- orphans ------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """specs/power_gru.yaml (ids power-gru, power-gru[x]) and specs/broken.yml (fails)."""
    _touch(tmp_path / "specs" / "power_gru.yaml", "ids: power-gru power-gru[x]")
    _touch(tmp_path / "specs" / "broken.yml", "broken")
    return tmp_path


def _load(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if text == "broken":
        raise SpecError("bad spec", path=str(path))
    return text.removeprefix("ids: ").split()


def _orphans(project: Path) -> list[Orphan]:
    return find_orphans(project / "goldens", [project / "specs"], project, load=_load)


def test_no_golden_directory_no_orphans(project: Path) -> None:
    assert _orphans(project) == []


def test_goldens_of_existing_specs_are_not_orphans(project: Path) -> None:
    goldens = project / "goldens"
    _touch(goldens / "power_gru" / "power-gru.golden")
    _touch(goldens / "power_gru" / "power-gru[x].golden")
    _touch(goldens / "power_gru" / "notes.txt")  # not a golden: ignored
    assert _orphans(project) == []


def test_golden_of_a_deleted_spec_file_is_an_orphan(project: Path) -> None:
    golden = _touch(project / "goldens" / "gone" / "gone.golden")
    assert _orphans(project) == [Orphan(golden, "no spec file specs/gone.yaml")]


def test_golden_of_a_spec_id_no_longer_in_its_file_is_an_orphan(project: Path) -> None:
    golden = _touch(project / "goldens" / "power_gru" / "power-gru[y].golden")
    assert _orphans(project) == [Orphan(golden, "specs/power_gru.yaml has no spec 'power-gru[y]'")]


def test_golden_of_a_spec_that_fails_to_load_is_not_an_orphan(project: Path) -> None:
    _touch(project / "goldens" / "broken" / "anything.golden")
    assert _orphans(project) == []


def test_golden_outside_any_spec_directory_is_an_orphan(project: Path) -> None:
    golden = _touch(project / "goldens" / "stray.golden")
    assert _orphans(project) == [Orphan(golden, "not under a spec's directory")]


def test_spec_found_under_the_project_root_too(project: Path) -> None:
    _touch(project / "tests" / "specs" / "local.yaml", "ids: local")
    _touch(project / "goldens" / "tests" / "specs" / "local" / "local.golden")
    assert _orphans(project) == []


def test_golden_of_a_spec_with_a_dot_in_its_name_is_not_an_orphan(project: Path) -> None:
    _touch(project / "specs" / "gru.v2.yaml", "ids: gru")
    _touch(project / "goldens" / "gru.v2" / "gru.golden")
    assert _orphans(project) == []


# -- the syrupy extension -----------------------------------------------------------------


def _text(
    spec: str,
    values: np.ndarray,
    *,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    rows: int = 3,
    max_values: int = 4096,
) -> str:
    array = golden_array(values, rows=rows, summaries=True, max_values=max_values)
    return dumps(
        Golden(
            meta={"spec": spec, "atol": repr(atol), "rtol": repr(rtol)},
            environment={"keras": "3.15.1"},
            arrays={"keras/gru/output": array},
        )
    )


VALUES = np.linspace(-1.0, 1.0, 8).reshape(4, 2)


@pytest.mark.parametrize(
    ("shift", "matches"),
    [(0.0, True), (9e-7, True), (2e-5, False)],
    ids=["same", "within-atol", "beyond"],
)
def test_matches_within_the_tolerance_of_the_run(shift: float, matches: bool) -> None:
    extension = GoldenExtension()
    recorded = _text("power-gru", VALUES)
    current = _text("power-gru", VALUES + shift)
    assert extension.matches(serialized_data=current, snapshot_data=recorded) is matches


#: 10,000 kept values: written as hex
MANY = np.random.default_rng(3).normal(size=(5000, 2))


@pytest.mark.parametrize(
    ("shift", "matches"),
    [(0.0, True), (9e-7, True), (2e-5, False)],
    ids=["same", "within-atol", "beyond"],
)
def test_matches_hex_goldens_within_the_tolerance_of_the_run(shift: float, matches: bool) -> None:
    extension = GoldenExtension()
    recorded = _text("power-gru", MANY, rows=5000, max_values=10_000)
    current = _text("power-gru", MANY + shift, rows=5000, max_values=10_000)
    assert "encoding = hex <f8" in recorded.splitlines()
    assert extension.matches(serialized_data=current, snapshot_data=recorded) is matches


def test_matches_uses_the_tolerance_the_run_asks_for_not_the_recorded_one() -> None:
    extension = GoldenExtension()
    recorded = _text("power-gru", VALUES, atol=1e-9, rtol=0.0)
    current = _text("power-gru", VALUES + 1e-3, atol=1e-2, rtol=0.0)
    assert extension.matches(serialized_data=current, snapshot_data=recorded)


def test_matches_refuses_a_golden_recorded_for_another_spec() -> None:
    extension = GoldenExtension()
    with pytest.raises(GoldenError) as raised:
        extension.matches(
            serialized_data=_text("power-lstm", VALUES), snapshot_data=_text("power-gru", VALUES)
        )
    assert str(raised.value) == "the golden was recorded for spec 'power-gru', not 'power-lstm'"


def test_serialize_refuses_anything_but_a_golden() -> None:
    with pytest.raises(TypeError, match="golden files hold Golden documents, not dict"):
        GoldenExtension().serialize({})


def test_read_returns_the_text_of_a_valid_golden(tmp_path: Path) -> None:
    path = _touch(tmp_path / "g.golden", _text("power-gru", VALUES))
    text = GoldenExtension().read_snapshot_data_from_location(
        snapshot_location=str(path), snapshot_name="g", session_id="s"
    )
    assert text == _text("power-gru", VALUES)


def test_read_returns_none_for_a_missing_golden(tmp_path: Path) -> None:
    location = str(tmp_path / "missing.golden")
    assert (
        GoldenExtension().read_snapshot_data_from_location(
            snapshot_location=location, snapshot_name="g", session_id="s"
        )
        is None
    )


def test_read_raises_golden_error_for_a_corrupt_golden(tmp_path: Path) -> None:
    path = _touch(tmp_path / "g.golden", "not a golden\n")
    with pytest.raises(GoldenError) as raised:
        GoldenExtension().read_snapshot_data_from_location(
            snapshot_location=str(path), snapshot_name="g", session_id="s"
        )
    assert str(raised.value) == (
        f"{path}:1: corrupt golden file: expected the first line "
        "'# pytest-rnnparity golden, format 1'; fix or delete it, then re-record it with "
        "--snapshot-update"
    )


def test_read_raises_golden_error_for_a_file_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "g.golden"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(GoldenError, match=r"g\.golden: cannot read the golden file: "):
        GoldenExtension().read_snapshot_data_from_location(
            snapshot_location=str(path), snapshot_name="g", session_id="s"
        )


def test_stable_layer_names_do_not_depend_on_earlier_models() -> None:
    from pytest_rnnparity.golden.document import stable_layer_names
    from pytest_rnnparity.model.weights import split_gates
    from pytest_rnnparity.reference.types import (
        BidirectionalLayer,
        CellConfig,
        IdentityLayer,
        MaskingLayer,
        RecurrentLayer,
    )

    def gru(name: str, *, go_backwards: bool = False) -> RecurrentLayer:
        weights = split_gates("gru", np.zeros((2, 6)), np.zeros((2, 6)), None)
        return RecurrentLayer(
            name=name,
            cell=CellConfig(kind="gru", units=2),
            weights=weights,
            go_backwards=go_backwards,
        )

    dense = DenseLayer(name="dense_7", kernel=np.zeros((2, 1)), bias=None)
    layers = [
        MaskingLayer(name="masking_3"),
        BidirectionalLayer(
            name="bidirectional_2", forward=gru("f"), backward=gru("b", go_backwards=True)
        ),
        gru("gru_12"),
        gru("encoder"),  # a name the user chose is kept
        gru("gru_4"),
        IdentityLayer(name="dropout_9", class_name="Dropout"),
        dense,
    ]
    assert stable_layer_names(layers) == [
        "masking",
        "bidirectional",
        "gru",
        "encoder",
        "gru_1",
        "dropout",
        "dense",
    ]
