"""The golden file format: canonical text a reviewer can read in a pull request.

Pure functions, no pytest, no syrupy, no keras. A golden holds metadata, the
environment it was recorded in, and arrays. Each array keeps its first rows in
full (one line per row and timestep) and a per-timestep (3-D) or per-unit (2-D)
``min max mean`` summary over the whole batch, so the file stays small for any
batch or sequence length while a drift anywhere in the batch still shows::

    # pytest-rnnparity golden, format 1
    [meta]
    dtype = float32
    spec = power-gru
    ...
    [environment]
    keras = 3.15.1
    ...
    [array keras/gru/output]
    shape = 8x4
    row 0: 0.1234567 -0.5 0.25 0.75
    summary unit 0: -0.5 0.9 0.12
    ...

A spec's golden written since the effective spec is kept also holds, after ``[meta]``::

    [spec]
    model[0].GRU.units = 4
    weights = "seeded"
    ...

(:mod:`pytest_rnnparity.golden.effective`); the section is optional, so that a golden
written before it still reads, matches and is never rewritten for lacking it.

Sections come in a fixed order, keys sorted, arrays sorted by name, and every
float is the shortest text that round-trips in the array's dtype, so the same
numbers always give the same bytes.

An array whose kept rows hold more than ``TEXT_VALUES`` (4,096, the default
``golden.max_values``) values keeps them as hex instead: decimal text takes
~0.3 s per million values to parse, hex ~3 ms to decode. Its summary stays text,
so a drift still shows in a diff::

    [array reference/gru/forward/update]
    dtype = float32
    shape = 50x200x25
    kept = 50x200x25
    encoding = hex <f4
    data: 0000803f00000040...
    summary t 0: -3.1 2.9 0.012

The data is the kept values in C order, as little-endian bytes of the array's
dtype (``<f4`` or ``<f8``; float16 stays text), in lowercase hex, two characters a
byte, cut into lines of ``DATA_LINE`` characters. As in text, every NaN is written as
NumPy's ``nan``, whatever its sign and payload. Hex rather than base64: Python's
``binascii`` decodes it ~5x faster, for files 1.5x the size of base64.
"""

from __future__ import annotations

import binascii
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pytest_rnnparity.errors import GoldenError

#: The file suffix of every golden.
SUFFIX = ".golden"
FORMAT_VERSION = "1"
HEADER = f"# pytest-rnnparity golden, format {FORMAT_VERSION}"
SUMMARY_FIELDS = ("min", "max", "mean")

#: Kept rows of up to this many values are decimal text, larger ones hex.
TEXT_VALUES = 4096
#: hex characters per ``data:`` line, even: each line is whole bytes (8,192 characters
#: are 1,024 float32 values). Reading pays per line: ``loads`` of a golden of 1,000,000
#: float32 values took 14.0 ms with 1,024-character lines, 11.1 ms with 4,096, 10.4 ms
#: with 8,192, 10.4 ms with 16,384 and 10.0-10.4 ms with 65,536 (decoding the hex is
#: 2.6 ms of it). 8,192 is within noise of the fastest while an editor or a diff still
#: shows a line whole.
DATA_LINE = 8192
DATA_PREFIX = "data: "
#: The ``encoding`` values a golden may hold, and the dtype of their bytes.
ENCODINGS: dict[str, np.dtype[Any]] = {
    "hex <f4": np.dtype("<f4"),
    "hex <f8": np.dtype("<f8"),
}
_NOT_HEX = re.compile(r"[^0-9a-fA-F]")


@dataclass(frozen=True)
class GoldenArray:
    """One array of a golden: ``rows`` (its first rows, complete) and ``summary``.

    ``shape`` is the full array's shape. ``summary`` is ``(timesteps, 3)`` for a 3-D
    array (over rows and units) or ``(units, 3)`` for 2-D (over rows), or None.
    """

    shape: tuple[int, ...]
    dtype: str
    rows: np.ndarray
    summary: np.ndarray | None = None

    @property
    def summary_axis(self) -> str:
        return "timestep" if len(self.shape) == 3 else "unit"


@dataclass(frozen=True)
class Golden:
    """A golden document: metadata, environment and named arrays.

    ``spec`` is the effective spec (key path -> canonical JSON value), empty for a golden
    that does not keep it (the ``rnn_parity`` fixture's, or one written before).
    """

    meta: Mapping[str, str]
    environment: Mapping[str, str]
    arrays: Mapping[str, GoldenArray] = field(default_factory=dict)
    spec: Mapping[str, str] = field(default_factory=dict)


def summarize(values: np.ndarray) -> np.ndarray:
    """Per-timestep (3-D, over rows and units) or per-unit (2-D, over rows) min/max/mean.

    ``(timesteps, 3)`` or ``(units, 3)``, float64. min and max are exact in the
    values' own dtype and the mean sums in float64, so no float64 copy of a
    ``(batch, timesteps, units)`` array is made.
    """
    values = np.asarray(values)
    axes = (0, 2) if values.ndim == 3 else (0,)
    with np.errstate(invalid="ignore"):
        return np.stack(
            [
                values.min(axis=axes).astype(np.float64),
                values.max(axis=axes).astype(np.float64),
                values.mean(axis=axes, dtype=np.float64),
            ],
            axis=-1,
        )


def kept_extent(shape: tuple[int, ...], *, rows: int, max_values: int) -> tuple[int, int | None]:
    """How many rows (and, 3-D, timesteps) to keep in full within ``max_values``.

    Whole rows while they fit; when not even one 3-D row fits, the first timesteps
    of row 0 that do (at least one).
    """
    if len(shape) < 2:
        return min(rows, shape[0] if shape else 0), None
    per_row = int(np.prod(shape[1:], dtype=np.int64))
    kept_rows = min(rows, shape[0], max(max_values // max(per_row, 1), 0))
    if len(shape) != 3:
        return (kept_rows if kept_rows or not rows else min(1, shape[0])), None
    if kept_rows or not rows or not shape[0]:
        return kept_rows, shape[1]
    return 1, max(1, min(shape[1], max_values // max(shape[2], 1)))


def golden_array(
    values: np.ndarray,
    *,
    rows: int,
    summaries: bool,
    max_values: int = 4096,
    dtype: str | None = None,
) -> GoldenArray:
    """Keep the first rows of ``values`` within ``max_values`` and (optionally) its summary."""
    values = np.asarray(values)
    dtype = dtype or str(values.dtype)
    kept_rows, kept_steps = kept_extent(values.shape, rows=rows, max_values=max_values)
    kept = values[:kept_rows] if kept_steps is None else values[:kept_rows, :kept_steps]
    return GoldenArray(
        shape=tuple(int(n) for n in values.shape),
        dtype=dtype,
        rows=kept.astype(dtype),
        summary=summarize(values).astype(dtype) if summaries and values.ndim in (2, 3) else None,
    )


# -- text -------------------------------------------------------------------------------


def _format_values(values: np.ndarray) -> str:
    # str() of a NumPy scalar is the shortest text that round-trips in its dtype
    return " ".join(str(v) for v in values.reshape(-1))


def _data_lines(rows: np.ndarray, encoding: np.dtype[Any]) -> list[str]:
    """``data:`` lines: the little-endian bytes of ``rows`` in C order, in hex."""
    values = np.ascontiguousarray(rows, dtype=encoding)
    nan = np.isnan(values)
    if nan.any():
        # text writes any NaN as 'nan': hex too keeps no sign or payload, so the
        # same numbers give the same bytes on every CPU
        values = np.where(nan, np.nan, values).astype(encoding)
    encoded = values.tobytes().hex()
    return [
        DATA_PREFIX + encoded[start : start + DATA_LINE]
        for start in range(0, len(encoded), DATA_LINE)
    ]


def dumps(golden: Golden) -> str:
    """The canonical text of a golden."""
    lines = [HEADER, "[meta]"]
    lines += [f"{k} = {v}" for k, v in sorted(golden.meta.items())]
    if golden.spec:
        lines.append("[spec]")
        lines += [f"{k} = {v}" for k, v in sorted(golden.spec.items())]
    lines.append("[environment]")
    lines += [f"{k} = {v}" for k, v in sorted(golden.environment.items())]
    for name in sorted(golden.arrays):
        array = golden.arrays[name]
        lines.append(f"[array {name}]")
        lines.append(f"dtype = {array.dtype}")
        lines.append("shape = " + "x".join(str(n) for n in array.shape))
        kept = array.rows.shape[: max(len(array.shape) - 1, 1)]
        lines.append("kept = " + "x".join(str(n) for n in kept))
        encoding = "hex " + np.dtype(array.dtype).newbyteorder("<").str
        if array.rows.size > TEXT_VALUES and encoding in ENCODINGS:
            lines.append(f"encoding = {encoding}")
            lines += _data_lines(array.rows, ENCODINGS[encoding])
        else:  # small, or float16 (hex is for float32 and float64, the spec dtypes)
            for r, row in enumerate(array.rows):
                if row.ndim == 2:
                    lines += [
                        f"row {r} t {t}: {_format_values(step)}" for t, step in enumerate(row)
                    ]
                else:
                    lines.append(f"row {r}: {_format_values(row)}")
        if array.summary is not None:
            axis = "t" if array.summary_axis == "timestep" else "unit"
            lines += [
                f"summary {axis} {i}: {_format_values(stats)}"
                for i, stats in enumerate(array.summary)
            ]
    return "\n".join(lines) + "\n"


# -- hex ---------------------------------------------------------------------------------


def decode_hex(text: str) -> bytes:
    """The bytes ``text`` encodes, two hex digits a byte (either case).

    ValueError (binascii.Error) when it is not hex: a character that is not a hex
    digit, or an odd length. One C call, no Python work per byte.
    """
    return binascii.unhexlify(text)


@dataclass(frozen=True)
class DataBlock:
    """Consecutive ``data:`` lines of a golden, read in place: where each line's hex is.

    The hex of an array's data is most of a large golden's bytes. A block is one entry
    for the parser and holds offsets into the text, not copies: each line's hex is
    decoded straight into the array's buffer (:meth:`decode_into`), so reading a golden
    makes no large buffer but the array itself.
    """

    text: str = field(repr=False)
    #: ``(start, stop)`` of each line's hex in ``text``.
    spans: tuple[tuple[int, int], ...]

    @property
    def chunks(self) -> list[str]:
        """Each line's hex."""
        return [self.text[start:stop] for start, stop in self.spans]

    @property
    def first_line(self) -> str:
        start, stop = self.spans[0]
        return DATA_PREFIX + self.text[start:stop]

    @property
    def digits(self) -> int:
        """How many hex digits it holds (two a byte)."""
        return sum(stop - start for start, stop in self.spans)

    @property
    def whole_bytes(self) -> bool:
        """Whether every line holds whole bytes (an even number of digits), as written."""
        return all((stop - start) % 2 == 0 for start, stop in self.spans)

    def decode_into(self, out: bytearray, offset: int) -> int:
        """Decode each line into ``out`` from ``offset``; the offset after the last.

        Every line must hold whole bytes (:attr:`whole_bytes`). Raises ValueError
        (binascii.Error) when a line is not hex.
        """
        text = self.text
        for start, stop in self.spans:
            decoded = decode_hex(text[start:stop])
            out[offset : offset + len(decoded)] = decoded
            offset += len(decoded)
        return offset


def numbered_lines(text: str) -> list[tuple[int, str | DataBlock]]:
    """The lines of ``text`` with their numbers (from 1), each run of ``data:`` lines one
    :class:`DataBlock` numbered by its first line.

    Lines end at ``\\n`` only: ``str.splitlines`` tests every character against
    Unicode's line breaks (2.4 ms for a golden of 7.7 MB, where finding each ``\\n``
    takes a fraction of that). A golden is written with ``\\n``; any other break
    character stays in its line, which then does not parse and is named.
    """
    entries: list[tuple[int, str | DataBlock]] = []
    start, end, number = 0, len(text), 1
    prefix = len(DATA_PREFIX)
    while start < end:
        if text.startswith(DATA_PREFIX, start):
            spans: list[tuple[int, int]] = []
            first = number
            while start < end and text.startswith(DATA_PREFIX, start):
                stop = text.find("\n", start)
                stop = end if stop < 0 else stop
                spans.append((start + prefix, stop))
                start, number = stop + 1, number + 1
            entries.append((first, DataBlock(text, tuple(spans))))
            continue
        stop = text.find("\n", start)
        stop = end if stop < 0 else stop
        entries.append((number, text[start:stop]))
        start, number = stop + 1, number + 1
    return entries


class _Parser:
    def __init__(self, text: str, location: str) -> None:
        self.lines = numbered_lines(text)
        self.location = location

    def fail(self, number: int, problem: str) -> GoldenError:
        return GoldenError(
            f"{self.location}:{number}: corrupt golden file: {problem}; "
            "fix or delete it, then re-record it with --snapshot-update"
        )

    def parse(self) -> Golden:
        if not self.lines or self.lines[0][1] != HEADER:
            raise self.fail(1, f"expected the first line {HEADER!r}")
        meta: dict[str, str] = {}
        spec: dict[str, str] = {}
        environment: dict[str, str] = {}
        arrays: dict[str, GoldenArray] = {}
        section: dict[str, str] | None = None
        array_lines: list[tuple[int, str | DataBlock]] = []
        array_name: str | None = None
        array_start = 0

        def finish_array() -> None:
            if array_name is not None:
                arrays[array_name] = self._array(array_name, array_start, array_lines)

        for number, line in self.lines[1:]:
            if isinstance(line, DataBlock):
                if array_name is None:
                    raise self.fail(number, f"unexpected line {line.first_line!r}")
                array_lines.append((number, line))
            elif line.startswith("["):
                finish_array()
                array_name, array_lines = None, []
                if line == "[meta]":
                    section = meta
                elif line == "[spec]":
                    section = spec
                elif line == "[environment]":
                    section = environment
                elif line.startswith("[array ") and line.endswith("]"):
                    section = None
                    array_name, array_start = line[len("[array ") : -1], number
                    if array_name in arrays:
                        raise self.fail(number, f"array {array_name!r} appears twice")
                else:
                    raise self.fail(number, f"unknown section {line!r}")
            elif array_name is not None:
                array_lines.append((number, line))
            elif section is not None and " = " in line:
                key, value = line.split(" = ", 1)
                section[key] = value
            else:
                raise self.fail(number, f"unexpected line {line!r}")
        finish_array()
        if "spec" not in meta:
            raise self.fail(2, "the [meta] section has no 'spec' entry")
        return Golden(meta=meta, environment=environment, arrays=arrays, spec=spec)

    def _array(
        self, name: str, start: int, lines: list[tuple[int, str | DataBlock]]
    ) -> GoldenArray:
        header: dict[str, str] = {}
        header_lines: dict[str, int] = {}
        row_lines: list[tuple[int, str]] = []
        data_lines: list[tuple[int, DataBlock]] = []
        summary_lines: list[tuple[int, str]] = []
        for number, line in lines:
            if isinstance(line, DataBlock):
                data_lines.append((number, line))
            elif line.startswith("row "):
                row_lines.append((number, line))
            elif line.startswith("summary "):
                summary_lines.append((number, line))
            elif " = " in line:
                key, value = line.split(" = ", 1)
                header[key] = value
                header_lines[key] = number
            else:
                raise self.fail(number, f"array {name!r}: unexpected line {line!r}")
        try:
            shape = tuple(int(n) for n in header["shape"].split("x"))
            kept = tuple(int(n) for n in header["kept"].split("x"))
            dtype = header["dtype"]
            valid = np.dtype(dtype).kind == "f" and min(*shape, *kept) >= 0
        except (KeyError, ValueError, TypeError):
            valid = False
        if not valid:
            raise self.fail(start, f"array {name!r} has no valid 'shape', 'kept' and 'dtype'")
        width = shape[-1] if len(shape) >= 2 else 1
        mismatch = self.fail(
            start, f"array {name!r}: its rows do not match shape {header['shape']}"
        )
        if len(kept) != max(len(shape) - 1, 1) or any(
            k > n for k, n in zip(kept, shape, strict=False)
        ):
            raise mismatch
        full_shape = (*kept, *shape[len(kept) :])
        if data_lines or "encoding" in header:
            row_array = self._data(
                name,
                start,
                header,
                header_lines.get("encoding", start),
                row_lines,
                data_lines,
                full_shape,
            )
        else:
            labels, values = self._block(name, row_lines, width)
            # counted before listing: a hostile 'kept' must not allocate its product
            if len(labels) != math.prod(kept) or values is None:
                raise mismatch
            expected_labels = [
                f"row {index[0]} t {index[1]}" if len(index) == 2 else f"row {index[0]}"
                for index in np.ndindex(*kept)
            ]
            if [" ".join(label.split()) for label in labels] != expected_labels:
                raise mismatch
            row_array = values.astype(dtype).reshape(full_shape)
        summary_array = None
        if summary_lines:
            _, summary = self._block(name, summary_lines, len(SUMMARY_FIELDS))
            expected = shape[1] if len(shape) == 3 else width
            if summary is None or len(summary) != expected:
                raise self.fail(start, f"array {name!r}: summary does not match shape")
            summary_array = summary.astype(dtype)
        return GoldenArray(shape=shape, dtype=dtype, rows=row_array, summary=summary_array)

    def _data(
        self,
        name: str,
        start: int,
        header: dict[str, str],
        encoding_line: int,
        row_lines: list[tuple[int, str]],
        data_lines: list[tuple[int, DataBlock]],
        full_shape: tuple[int, ...],
    ) -> np.ndarray:
        """The kept values of a hex array: ``full_shape``, in its dtype.

        ``header`` holds a valid dtype. Nothing is allocated from a hostile ``kept``:
        the data, whose size the text bounds, is decoded and its byte count checked
        before the values are made.
        """
        if row_lines and data_lines:
            later = max(row_lines[0][0], data_lines[0][0])
            raise self.fail(later, f"array {name!r}: both row lines and data lines")
        encoding = header.get("encoding")
        if encoding is None:
            raise self.fail(data_lines[0][0], f"array {name!r}: data lines without an 'encoding'")
        if row_lines:
            raise self.fail(row_lines[0][0], f"array {name!r}: row lines with an 'encoding'")
        if encoding not in ENCODINGS:
            raise self.fail(encoding_line, f"array {name!r}: unknown encoding {encoding!r}")
        little, dtype = ENCODINGS[encoding], np.dtype(header["dtype"])
        if dtype.newbyteorder("<") != little:
            raise self.fail(
                encoding_line,
                f"array {name!r}: encoding {encoding!r} does not match dtype {header['dtype']}",
            )
        needed = math.prod(full_shape) * little.itemsize
        digits = sum(block.digits for _, block in data_lines)  # bounded by the text's size
        if digits % 2:  # half a byte
            raise self.fail(
                self._bad_data_line(data_lines), f"array {name!r}: its data is not valid hex"
            )
        held = digits // 2
        if held != needed:
            raise self.fail(
                start,
                f"array {name!r}: its data holds {held} bytes; kept {header['kept']} "
                f"of shape {header['shape']} needs {needed}",
            )
        buffer = bytearray(needed)
        offset = 0
        try:  # C calls a line each, into one buffer: no Python work per value
            if all(block.whole_bytes for _, block in data_lines):
                for _, block in data_lines:
                    offset = block.decode_into(buffer, offset)
            else:  # cut by hand inside a byte: the lines are read as one
                joined = "".join(chunk for _, block in data_lines for chunk in block.chunks)
                buffer[:] = decode_hex(joined)
        except ValueError:
            raise self.fail(
                self._bad_data_line(data_lines), f"array {name!r}: its data is not valid hex"
            ) from None
        # writable (a bytearray's), and in the machine's byte order
        return np.frombuffer(buffer, dtype=little).astype(dtype, copy=False).reshape(full_shape)

    def _bad_data_line(self, data_lines: list[tuple[int, DataBlock]]) -> int:
        """The line to blame for data that is not hex.

        The first with a character that is not a hex digit or an odd length (half a
        byte); else the last.
        """
        for first, block in data_lines:
            for number, chunk in enumerate(block.chunks, start=first):
                if _NOT_HEX.search(chunk) or len(chunk) % 2:
                    return number
        last, block = data_lines[-1]
        return last + len(block.chunks) - 1

    def _block(
        self, name: str, numbered: list[tuple[int, str]], width: int
    ) -> tuple[list[str], np.ndarray | None]:
        """Labels and ``(lines, width)`` values of ``label: v v v`` lines.

        Values is None when a line does not hold ``width`` numbers; a value that is not
        a number raises, naming its line. All lines are parsed by one C call when they
        are as :func:`dumps` writes them; the line-by-line path only finds the culprit.
        """
        labels: list[str] = []
        texts: list[str] = []
        for number, line in numbered:
            label, separator, numbers = line.partition(": ")
            if not separator:
                raise self.fail(number, f"array {name!r}: unexpected line {line!r}")
            labels.append(label)
            texts.append(numbers)
        if all(text.count(" ") == width - 1 for text in texts):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                try:
                    flat = np.fromstring(" ".join(texts), dtype=np.float64, sep=" ")
                except (DeprecationWarning, ValueError):
                    flat = None
            if flat is not None and flat.size == len(texts) * width:
                return labels, flat.reshape(len(texts), width)
        rows: list[list[float]] = []
        for (number, _), text in zip(numbered, texts, strict=True):
            try:
                rows.append([float(v) for v in text.split()])
            except ValueError:
                raise self.fail(number, f"array {name!r}: a value is not a number") from None
        if any(len(row) != width for row in rows):
            return labels, None
        return labels, np.array(rows, dtype=np.float64).reshape(len(rows), width)


def loads(text: str, *, location: str) -> Golden:
    """Parse golden text; a corrupt file raises GoldenError naming ``location:line``.

    ``\\r\\n`` line ends (a Windows checkout) read as ``\\n``.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return _Parser(text, location).parse()
