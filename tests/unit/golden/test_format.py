"""golden/format.py: canonical text, hex arrays, the size budget, corrupt files."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from pytest_rnnparity.errors import GoldenError
from pytest_rnnparity.golden.format import (
    DATA_LINE,
    HEADER,
    Golden,
    decode_hex,
    dumps,
    golden_array,
    kept_extent,
    loads,
    summarize,
)

from .helpers import VALID, every_row, golden_with

FIX = "; fix or delete it, then re-record it with --snapshot-update"


# -- dumps / loads ------------------------------------------------------------------------


def test_dumps_text_is_canonical() -> None:
    golden = Golden(
        meta={"spec": "power-gru", "dtype": "float32", "atol": "1e-06"},
        environment={"numpy": "2.4.6", "keras": "3.15.1"},
        arrays={
            "reference/gru/forward/hidden": golden_array(
                np.array([[[0.1, 0.5], [0.25, -1.0]]], dtype=np.float32), rows=1, summaries=True
            ),
            "keras/dense/output": golden_array(
                np.array([[0.5], [-0.25]], dtype=np.float32), rows=1, summaries=True
            ),
        },
    )
    assert dumps(golden).splitlines() == [
        "# pytest-rnnparity golden, format 1",
        "[meta]",
        "atol = 1e-06",
        "dtype = float32",
        "spec = power-gru",
        "[environment]",
        "keras = 3.15.1",
        "numpy = 2.4.6",
        "[array keras/dense/output]",
        "dtype = float32",
        "shape = 2x1",
        "kept = 1",
        "row 0: 0.5",
        "summary unit 0: -0.25 0.5 0.125",
        "[array reference/gru/forward/hidden]",
        "dtype = float32",
        "shape = 1x2x2",
        "kept = 1x2",
        "row 0 t 0: 0.1 0.5",
        "row 0 t 1: 0.25 -1.0",
        "summary t 0: 0.1 0.5 0.3",
        "summary t 1: -1.0 0.25 -0.375",
    ]


def test_dumps_does_not_depend_on_insertion_order() -> None:
    a = golden_array(np.ones((2, 2)), rows=2, summaries=True)
    b = golden_array(np.zeros((2, 3, 1)), rows=2, summaries=True)
    one = Golden(
        meta={"spec": "s", "z": "1"}, environment={"b": "2", "a": "1"}, arrays={"x": a, "y": b}
    )
    other = Golden(
        meta={"z": "1", "spec": "s"}, environment={"a": "1", "b": "2"}, arrays={"y": b, "x": a}
    )
    assert dumps(one) == dumps(other)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_exact_and_redump_is_byte_identical(dtype: str) -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(scale=3.0, size=(4, 5, 3)).astype(dtype)
    values[0, 0, :] = [np.nextafter(np.array(1, dtype), np.array(2, dtype)), -0.0, 1e-30]
    golden = Golden(
        meta={"spec": "s"},
        environment={"keras": "3"},
        arrays={
            "a": golden_array(values, rows=3, summaries=True),
            "b": golden_array(values[:, -1, :], rows=4, summaries=True),
        },
    )
    text = dumps(golden)
    parsed = loads(text, location="g.golden")
    assert dumps(parsed) == text
    for name, array in golden.arrays.items():
        back = parsed.arrays[name]
        assert (back.shape, back.dtype) == (array.shape, array.dtype)
        assert back.rows.dtype == np.dtype(dtype)
        # bit for bit, including the sign of -0.0
        assert back.rows.tobytes() == array.rows.tobytes()
        assert back.summary is not None
        assert array.summary is not None
        assert back.summary.tobytes() == array.summary.tobytes()
    assert parsed.meta == {"spec": "s"}
    assert parsed.environment == {"keras": "3"}


def test_floats_use_the_shortest_text_of_their_dtype() -> None:
    single = golden_array(np.array([[0.1, 1 / 3]], dtype=np.float32), rows=1, summaries=False)
    double = golden_array(np.array([[0.1, 1 / 3]], dtype=np.float64), rows=1, summaries=False)
    assert "row 0: 0.1 0.33333334" in dumps(golden_with({"a": single})).splitlines()
    assert "row 0: 0.1 0.3333333333333333" in dumps(golden_with({"a": double})).splitlines()


def test_many_float32_values_round_trip_exactly() -> None:
    bits = np.random.default_rng(11).integers(0, 2**32, size=20_000, dtype=np.uint64)
    values = bits.astype(np.uint32).view(np.float32)
    values = values[np.isfinite(values)][:10_000].reshape(100, 100)
    golden = golden_with({"a": golden_array(values, rows=100, summaries=False, max_values=10_000)})
    back = loads(dumps(golden), location="g").arrays["a"].rows
    assert back.view(np.uint32).tolist() == values.view(np.uint32).tolist()


def test_one_dimensional_array_round_trips() -> None:
    golden = golden_with({"a": golden_array(np.arange(3.0), rows=2, summaries=False)})
    text = dumps(golden)
    assert dumps(loads(text, location="g")) == text


# -- hex arrays ---------------------------------------------------------------------------


def _special(dtype: str, size: int) -> np.ndarray:
    """``size`` random values of ``dtype`` that start with NaN, infinities, -0.0 and subnormals."""
    info = np.finfo(dtype)
    values = np.random.default_rng(7).normal(scale=3.0, size=size).astype(dtype)
    values[:8] = [
        np.nan,
        np.inf,
        -np.inf,
        -0.0,
        info.smallest_subnormal,
        -info.smallest_subnormal * 3,
        info.max,
        info.tiny,
    ]
    return values


@pytest.mark.parametrize(("dtype", "encoding"), [("float32", "<f4"), ("float64", "<f8")])
def test_hex_round_trip_is_bit_exact(dtype: str, encoding: str) -> None:
    values = _special(dtype, 6 * 30 * 40).reshape(6, 30, 40)
    array = golden_array(values, rows=5, summaries=True, max_values=10_000)
    text = dumps(golden_with({"a": array}))
    assert f"encoding = hex {encoding}" in text.splitlines()
    back = loads(text, location="g.golden").arrays["a"]
    assert (back.shape, back.dtype) == ((6, 30, 40), dtype)
    assert back.rows.dtype == np.dtype(dtype)
    assert back.rows.flags.writeable
    # bit for bit: the NaN, the sign of -0.0, the subnormals
    assert back.rows.tobytes() == array.rows.tobytes()
    assert back.summary is not None
    assert array.summary is not None
    assert back.summary.tobytes() == array.summary.tobytes()
    assert dumps(loads(text, location="g.golden")) == text


def _array_lines(text: str) -> list[str]:
    return text.splitlines()[text.splitlines().index("[array a]") :]


def test_4096_kept_values_stay_text_4097_are_hex() -> None:
    at_limit = _array_lines(dumps(golden_with({"a": every_row(np.arange(4096.0).reshape(64, 64))})))
    assert at_limit[:5] == [
        "[array a]",
        "dtype = float64",
        "shape = 64x64",
        "kept = 64",
        "row 0: " + " ".join(str(float(v)) for v in range(64)),
    ]
    assert len(at_limit) == 4 + 64

    values = np.arange(4097.0).reshape(4097, 1)
    lines = _array_lines(dumps(golden_with({"a": every_row(values)})))
    assert lines[:5] == [
        "[array a]",
        "dtype = float64",
        "shape = 4097x1",
        "kept = 4097",
        "encoding = hex <f8",
    ]
    data = lines[5:]
    assert all(line.startswith("data: ") for line in data)
    # 4097 x 8 bytes are 65,552 hex characters: eight lines of 8,192 and the rest
    assert [len(line) - len("data: ") for line in data] == [DATA_LINE] * 8 + [16]
    joined = "".join(line[len("data: ") :] for line in data)
    assert joined == values.astype("<f8").tobytes().hex()
    assert data[0].startswith("data: 0000000000000000" + "000000000000f03f")  # 0.0, 1.0
    assert data[-1] == "data: 000000000000b040"  # 4096.0, little-endian


def test_hex_dumps_is_deterministic_and_writes_one_nan() -> None:
    values = _special("float32", 5000).reshape(50, 100)
    odd_nans = values.copy()
    odd_nans.view(np.uint32)[0, 0] = 0xFFC00001  # a negative NaN with a payload
    one = dumps(golden_with({"a": golden_array(values, rows=50, summaries=True, max_values=5000)}))
    assert one == dumps(
        golden_with({"a": golden_array(values, rows=50, summaries=True, max_values=5000)})
    )
    assert one == dumps(
        golden_with({"a": golden_array(odd_nans, rows=50, summaries=True, max_values=5000)})
    )
    assert "data: 0000c07f0000807f" in one  # NumPy's nan, then inf


def test_hex_golden_with_crlf_line_ends_loads_the_same() -> None:
    values = _special("float32", 5000).reshape(50, 100)
    text = dumps(golden_with({"a": golden_array(values, rows=50, summaries=True, max_values=5000)}))
    back = loads(text.replace("\n", "\r\n"), location="g").arrays["a"]
    assert (
        back.rows.tobytes()
        == golden_array(values, rows=50, summaries=False, max_values=5000).rows.tobytes()
    )


def test_float16_stays_text_at_any_size() -> None:
    values = np.zeros((50, 100), dtype=np.float16)
    text = dumps(
        golden_with({"a": golden_array(values, rows=50, summaries=False, max_values=5000)})
    )
    assert "encoding" not in text
    assert "row 49: " in text


@pytest.mark.parametrize(
    "text",
    [
        "0000803g",  # not a hex digit
        "0000803f" * 3 + "00!0",  # in the last characters
        "0000803",  # half a byte
        "0",
        "0000803f00é0",  # not ASCII
        "0000803f 00000040",  # white space
        "0x0000803f",
        "+1",
    ],
)
def test_decode_hex_refuses_what_is_not_hex(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - binascii.Error, a ValueError
        decode_hex(text)


def test_decode_hex_takes_either_case() -> None:
    assert decode_hex("0000803F") == decode_hex("0000803f") == b"\x00\x00\x80\x3f"
    assert decode_hex("") == b""


# -- the size budget ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "rows", "max_values", "expected"),
    [
        ((8, 4), 3, 4096, (3, None)),  # the rows asked for fit
        ((8, 4), 3, 8, (2, None)),  # whole rows while they fit
        ((8, 4), 3, 2, (1, None)),  # a 2-D row cannot be cut: one row anyway
        ((2, 4), 3, 4096, (2, None)),  # no more rows than the array has
        ((8, 4), 0, 4096, (0, None)),
        ((5, 3, 4), 3, 30, (2, 3)),  # whole 3-D rows while they fit
        ((5, 3, 4), 3, 10, (1, 2)),  # one row does not fit: first timesteps of row 0
        ((5, 3, 4), 3, 3, (1, 1)),  # at least one timestep
        ((5, 3, 4), 0, 30, (0, 3)),
        ((0, 3, 4), 3, 30, (0, 3)),
    ],
)
def test_kept_extent(
    shape: tuple[int, ...], rows: int, max_values: int, expected: tuple[int, int | None]
) -> None:
    assert kept_extent(shape, rows=rows, max_values=max_values) == expected


def test_golden_array_keeps_whole_rows_within_the_budget() -> None:
    values = np.arange(5 * 3 * 4, dtype=np.float64).reshape(5, 3, 4)
    array = golden_array(values, rows=3, summaries=False, max_values=24)
    assert array.shape == (5, 3, 4)
    np.testing.assert_array_equal(array.rows, values[:2])
    assert array.summary is None


def test_golden_array_keeps_first_timesteps_of_row_zero_when_one_row_is_too_big() -> None:
    values = np.arange(5 * 3 * 4, dtype=np.float64).reshape(5, 3, 4)
    array = golden_array(values, rows=3, summaries=False, max_values=9)
    np.testing.assert_array_equal(array.rows, values[:1, :2])
    text = dumps(golden_with({"a": array}))
    assert "kept = 1x2" in text.splitlines()
    np.testing.assert_array_equal(loads(text, location="g").arrays["a"].rows, values[:1, :2])


def test_3d_summary_is_per_timestep_over_the_whole_batch() -> None:
    values = np.random.default_rng(2).normal(size=(6, 4, 3))
    values[5, 2, 1] = 40.0  # beyond the kept rows: the summary must still see it
    array = golden_array(values, rows=1, summaries=True)
    assert array.summary is not None
    assert array.summary.shape == (4, 3)
    assert array.summary_axis == "timestep"
    np.testing.assert_array_equal(array.summary[:, 0], values.min(axis=(0, 2)))
    np.testing.assert_array_equal(array.summary[:, 1], values.max(axis=(0, 2)))
    np.testing.assert_array_equal(array.summary[:, 2], values.mean(axis=(0, 2)))
    assert array.summary[2, 1] == 40.0
    summaries = [
        line for line in dumps(golden_with({"a": array})).splitlines() if "summary" in line
    ]
    assert summaries[0].startswith("summary t 0: ")
    assert summaries[2].split()[4] == "40.0"  # the maximum at timestep 2


def test_2d_summary_is_per_unit_over_the_whole_batch() -> None:
    values = np.random.default_rng(3).normal(size=(7, 3)).astype(np.float32)
    values[6, 0] = -9.0
    array = golden_array(values, rows=2, summaries=True)
    assert array.summary is not None
    assert array.summary.shape == (3, 3)
    assert array.summary_axis == "unit"
    assert array.summary.dtype == np.float32
    as64 = values.astype(np.float64)
    np.testing.assert_array_equal(array.summary[:, 0], values.min(axis=0))
    np.testing.assert_array_equal(array.summary[:, 1], values.max(axis=0))
    np.testing.assert_array_equal(array.summary[:, 2], as64.mean(axis=0).astype(np.float32))
    assert array.summary[0, 0] == -9.0


def test_summarize_makes_no_float64_copy() -> None:
    values = np.random.default_rng(9).normal(size=(50, 200, 100)).astype(np.float32)  # 4 MB
    tracemalloc.start()
    try:
        summary = summarize(values)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    as64 = values.astype(np.float64)
    np.testing.assert_array_equal(summary[:, 0], as64.min(axis=(0, 2)))
    np.testing.assert_array_equal(summary[:, 1], as64.max(axis=(0, 2)))
    np.testing.assert_array_equal(summary[:, 2], as64.mean(axis=(0, 2)))


# -- corrupt files ------------------------------------------------------------------------


def _edit(index: int, line: str | None) -> Callable[[list[str]], list[str]]:
    """Replace line ``index`` (0-based) or, with None, delete it."""

    def apply(lines: list[str]) -> list[str]:
        edited = list(lines)
        if line is None:
            del edited[index]
        else:
            edited[index] = line
        return edited

    return apply


def test_the_valid_text_loads() -> None:
    golden = loads("\n".join(VALID) + "\n", location="g.golden")
    array = golden.arrays["keras/dense/output"]
    assert (array.shape, array.dtype) == ((2, 1), "float32")
    np.testing.assert_array_equal(array.rows, [[0.5], [-0.25]])
    assert array.summary is not None
    np.testing.assert_array_equal(array.summary, [[-0.25, 0.5, 0.125]])


@pytest.mark.parametrize(
    ("edit", "line", "problem"),
    [
        pytest.param(
            _edit(0, None),
            1,
            "expected the first line '# pytest-rnnparity golden, format 1'",
            id="missing-header",
        ),
        pytest.param(
            lambda lines: [],
            1,
            "expected the first line '# pytest-rnnparity golden, format 1'",
            id="empty-file",
        ),
        pytest.param(
            _edit(3, "[environmnet]"), 4, "unknown section '[environmnet]'", id="unknown-section"
        ),
        pytest.param(
            lambda lines: [*lines[:3], "garbage", *lines[3:]],
            4,
            "unexpected line 'garbage'",
            id="garbage-line",
        ),
        pytest.param(
            _edit(10, "row 1: -0.2x5"),
            11,
            "array 'keras/dense/output': a value is not a number",
            id="not-a-number",
        ),
        pytest.param(
            _edit(10, "column 1: -0.25"),
            11,
            "array 'keras/dense/output': unexpected line 'column 1: -0.25'",
            id="garbage-in-array",
        ),
        pytest.param(
            _edit(10, None),
            6,
            "array 'keras/dense/output': its rows do not match shape 2x1",
            id="row-missing",
        ),
        pytest.param(
            _edit(10, "row 1: -0.25 1.0"),
            6,
            "array 'keras/dense/output': its rows do not match shape 2x1",
            id="row-too-wide",
        ),
        pytest.param(
            _edit(8, "kept = 3"),
            6,
            "array 'keras/dense/output': its rows do not match shape 2x1",
            id="kept-beyond-shape",
        ),
        pytest.param(
            _edit(11, "summary unit 0: -0.25 0.5"),
            6,
            "array 'keras/dense/output': summary does not match shape",
            id="summary-short",
        ),
        pytest.param(
            _edit(6, None),
            6,
            "array 'keras/dense/output' has no valid 'shape', 'kept' and 'dtype'",
            id="no-dtype",
        ),
        pytest.param(
            _edit(6, "dtype = datetime64"),
            6,
            "array 'keras/dense/output' has no valid 'shape', 'kept' and 'dtype'",
            id="dtype-not-float",
        ),
        pytest.param(
            _edit(8, "kept = -1"),
            6,
            "array 'keras/dense/output' has no valid 'shape', 'kept' and 'dtype'",
            id="kept-negative",
        ),
        pytest.param(
            lambda lines: _edit(7, "shape = 99999999999x1")(_edit(8, "kept = 99999999999")(lines)),
            6,
            "array 'keras/dense/output': its rows do not match shape 99999999999x1",
            id="kept-huge",
        ),
        pytest.param(
            lambda lines: [*lines, *lines[5:9], "row 0: 1.0", "row 1: 2.0"],
            13,
            "array 'keras/dense/output' appears twice",
            id="duplicated-array",
        ),
        pytest.param(
            _edit(2, "name = power-gru"),
            2,
            "the [meta] section has no 'spec' entry",
            id="no-spec",
        ),
    ],
)
def test_corrupt_file_error_names_location_and_line(
    edit: Callable[[list[str]], list[str]], line: int, problem: str
) -> None:
    assert_corrupt(edit(VALID), line, problem)


def assert_corrupt(lines: list[str], line: int, problem: str) -> None:
    """Loading ``lines`` fails with exactly the located message for ``problem``."""
    with pytest.raises(GoldenError) as raised:
        loads("\n".join(lines) + "\n", location="goldens/power_gru/power-gru.golden")
    assert str(raised.value) == (
        f"goldens/power_gru/power-gru.golden:{line}: corrupt golden file: {problem}{FIX}"
    )


#: A hex array small enough to read: dumps writes hex above 4,096 values only, loads takes
#: it at any size. Two data lines, 20 and 12 bytes.
VALID_HEX = [
    HEADER,  # 1
    "[meta]",  # 2
    "spec = power-gru",  # 3
    "[array keras/gru/output]",  # 4
    "dtype = float32",  # 5
    "shape = 3x2x2",  # 6
    "kept = 2x2",  # 7
    "encoding = hex <f4",  # 8
    "data: 0000003f000080be0000803f000000400000c0bf",  # 9
    "data: 0000003e00004040000080c0",  # 10
    "summary t 0: -1.5 3.0 0.5",  # 11
    "summary t 1: -4.0 2.0 -0.25",  # 12
]
HEX_ROWS = np.array([[[0.5, -0.25], [1.0, 2.0]], [[-1.5, 0.125], [3.0, -4.0]]])


def test_the_valid_hex_text_loads() -> None:
    array = loads("\n".join(VALID_HEX) + "\n", location="g.golden").arrays["keras/gru/output"]
    assert (array.shape, array.dtype, array.rows.dtype) == ((3, 2, 2), "float32", np.float32)
    np.testing.assert_array_equal(array.rows, HEX_ROWS)
    assert array.summary is not None
    np.testing.assert_array_equal(array.summary, [[-1.5, 3.0, 0.5], [-4.0, 2.0, -0.25]])


@pytest.mark.parametrize(
    "data",
    [
        ["data: 0000003F000080BE0000803F000000400000C0BF", "data: 0000003E00004040000080C0"],
        ["data: 0000003f000080be0000803f000000400000c0bf0000003e00004040000080c0"],
        ["data: 0000003f000080be0000803f000000400000c0bf0", "data: 000003e00004040000080c0"],
    ],
    ids=["upper-case", "one-line", "a-byte-across-lines"],
)
def test_hex_data_loads_in_either_case_and_cut_anywhere(data: list[str]) -> None:
    lines = [*VALID_HEX[:8], *data, *VALID_HEX[10:]]
    array = loads("\n".join(lines) + "\n", location="g.golden").arrays["keras/gru/output"]
    np.testing.assert_array_equal(array.rows, HEX_ROWS)


@pytest.mark.parametrize(
    ("edit", "line", "problem"),
    [
        pytest.param(
            _edit(7, "encoding = base64 <f4"),
            8,
            "array 'keras/gru/output': unknown encoding 'base64 <f4'",
            id="base64-encoding",
        ),
        pytest.param(
            _edit(7, "encoding = hex >f4"),
            8,
            "array 'keras/gru/output': unknown encoding 'hex >f4'",
            id="big-endian",
        ),
        pytest.param(
            _edit(7, "encoding = hex"),
            8,
            "array 'keras/gru/output': unknown encoding 'hex'",
            id="unknown-encoding",
        ),
        pytest.param(
            _edit(7, "encoding = hex <f2"),
            8,
            "array 'keras/gru/output': unknown encoding 'hex <f2'",
            id="unknown-width",
        ),
        pytest.param(
            _edit(7, "encoding = hex <f8"),
            8,
            "array 'keras/gru/output': encoding 'hex <f8' does not match dtype float32",
            id="encoding-of-another-dtype",
        ),
        pytest.param(
            _edit(7, None),
            8,
            "array 'keras/gru/output': data lines without an 'encoding'",
            id="no-encoding",
        ),
        pytest.param(
            lambda lines: [*lines[:10], "row 1 t 0: 1.0 2.0", *lines[10:]],
            11,
            "array 'keras/gru/output': both row lines and data lines",
            id="row-among-data",
        ),
        pytest.param(
            lambda lines: [*lines[:8], "row 0 t 0: 0.5 -0.25", "row 0 t 1: 1.0 2.0", *lines[10:]],
            9,
            "array 'keras/gru/output': row lines with an 'encoding'",
            id="rows-with-encoding",
        ),
        pytest.param(
            _edit(9, "data: 0000003e00004g40000080c0"),
            10,
            "array 'keras/gru/output': its data is not valid hex",
            id="not-a-hex-digit",
        ),
        pytest.param(
            _edit(8, "data: 0000003f000080be0000803f00000040é000c0bf"),
            9,
            "array 'keras/gru/output': its data is not valid hex",
            id="not-ascii",
        ),
        pytest.param(
            _edit(8, "data: 0000003f000080be0000803f00000040 0000c0bf"),
            9,
            "array 'keras/gru/output': its data is not valid hex",
            id="a-space",
        ),
        pytest.param(
            _edit(9, "data: 0000003e00004040000080c0 "),
            10,
            "array 'keras/gru/output': its data is not valid hex",
            id="a-trailing-space",
        ),
        pytest.param(
            _edit(8, "data: 0000003f000080be0000803f000000400000c0b"),
            9,
            "array 'keras/gru/output': its data is not valid hex",
            id="a-character-lost",
        ),
        pytest.param(
            _edit(9, "data: 0000003e00004040000080c"),
            10,
            "array 'keras/gru/output': its data is not valid hex",
            id="a-last-character-lost",
        ),
        pytest.param(
            _edit(9, "data: 0000003e00004040000080"),
            4,
            "array 'keras/gru/output': its data holds 31 bytes; kept 2x2 of shape 3x2x2 needs 32",
            id="a-byte-lost",
        ),
        pytest.param(
            _edit(9, None),
            4,
            "array 'keras/gru/output': its data holds 20 bytes; kept 2x2 of shape 3x2x2 needs 32",
            id="a-line-lost",
        ),
        pytest.param(
            lambda lines: [*lines[:8], *lines[10:]],
            4,
            "array 'keras/gru/output': its data holds 0 bytes; kept 2x2 of shape 3x2x2 needs 32",
            id="no-data",
        ),
        pytest.param(
            _edit(6, "kept = 1x2"),
            4,
            "array 'keras/gru/output': its data holds 32 bytes; kept 1x2 of shape 3x2x2 needs 16",
            id="kept-smaller",
        ),
        pytest.param(
            _edit(6, "kept = 2"),
            4,
            "array 'keras/gru/output': its rows do not match shape 3x2x2",
            id="kept-of-another-rank",
        ),
        pytest.param(  # the data lines are one block to the parser, numbered still
            _edit(10, "summary t 0: -1.5 x 0.5"),
            11,
            "array 'keras/gru/output': a value is not a number",
            id="a-line-after-the-data",
        ),
        pytest.param(
            lambda lines: [*lines[:3], lines[8], *lines[3:]],
            4,
            "unexpected line 'data: 0000003f000080be0000803f000000400000c0bf'",
            id="data-outside-an-array",
        ),
    ],
)
def test_corrupt_hex_error_names_location_and_line(
    edit: Callable[[list[str]], list[str]], line: int, problem: str
) -> None:
    assert_corrupt(edit(VALID_HEX), line, problem)


def test_a_hostile_kept_with_a_little_data_allocates_nothing() -> None:
    lines = _edit(5, "shape = 100000x100000x1000")(_edit(6, "kept = 100000x100000")(VALID_HEX))
    tracemalloc.start()
    try:
        with pytest.raises(GoldenError) as raised:
            loads("\n".join(lines) + "\n", location="g.golden")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(raised.value) == (
        "g.golden:4: corrupt golden file: array 'keras/gru/output': its data holds 32 bytes; "
        "kept 100000x100000 of shape 100000x100000x1000 needs 40000000000000" + FIX
    )
    assert peak < 1_000_000
