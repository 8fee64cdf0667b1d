"""YAML spec files -> validated, frozen dataclasses.

A spec names the data, the lookback window, the model and how to compare; see
``spec_schema.json`` (printed by ``python -m pytest_rnnparity schema``) for every key.
Parsing is done by :mod:`pytest_rnnparity.yaml_loader`, which keeps the ``line:column`` of
every value, so that each problem is raised once as a :class:`SpecError` reading
``specs/x.yaml:7:5: model[0].GRU.units: expected a positive integer, got -4``.

Where things live:

* ``data.scale``, ``data.stride`` (step between window starts) and ``data.batch`` (at most
  this many windows) sit under ``data:`` next to the source, because they shape the data.
* ``weights`` defaults to ``seeded`` for a declared layer stack and to ``keras`` (the
  weights the file carries) for ``model: {path: ...}``.
* ``matrix:`` expands one file into variants before validation; each variant is then
  validated on its own, and errors point at the matrix value that produced them.
* ``content_hash`` covers what determines the computed numbers (seed, data, lookback,
  model, weights, dtype, stateful, golden): renaming a spec, editing its description,
  marks or tolerance does not invalidate its golden files. Files a spec names (CSV, saved
  model, weights) enter by their path only, not their content.

Nothing here imports keras or tensorflow: specs are loaded at collection time.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import MappingProxyType
from typing import Any, Literal, NoReturn, TypeAlias, cast
from urllib.parse import quote

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.yaml_loader import (
    KeyPath,
    LocatedDocument,
    describe,
    parse_path,
    parse_yaml,
    render_path,
    undecodable,
)

__all__ = [
    "LAYER_ARGUMENTS",
    "RECURRENT_LAYERS",
    "CandidateOptions",
    "ColumnTarget",
    "CsvData",
    "DataOptions",
    "DataSource",
    "GoldenOptions",
    "InlineData",
    "LayerDecl",
    "LinearTarget",
    "SavedModel",
    "Spec",
    "SyntheticData",
    "Target",
    "Tolerance",
    "ToleranceLimits",
    "TorchOptions",
    "ValuesTarget",
    "WeightsFile",
    "load_specs",
    "schema_text",
]

Scale = Literal["minmax", "standard", "none"]
SyntheticKind = Literal["sine", "random_walk", "normal"]
DType = Literal["float32", "float64"]
Quantity = Literal["hidden", "cell", "output"]
Traces = Literal["all", "hidden"]

MAX_SPEC_BYTES = 10_000_000
MAX_UNITS = 65_536
MAX_SYNTHETIC_LENGTH = 1_000_000
MAX_SYNTHETIC_FEATURES = 1_024
MAX_SYNTHETIC_VALUES = 10_000_000
MAX_VARIANTS = 256
MAX_SEED = 2**32 - 1
#: At most this many weights in a declared model (GRU(2500) has about 19 million).
MAX_WEIGHTS = 20_000_000
#: At most this many values in one array of a run: windows x lookback x widest layer.
MAX_RUN_VALUES = 20_000_000

# fmt: off
TOP_LEVEL_KEYS = (
    "name", "description", "seed", "data", "lookback", "model", "weights", "dtype", "tolerance",
    "stateful", "marks", "golden", "paths", "matrix", "candidate", "torch",
)
PATH_KEYS = ("backend", "implementation", "unroll", "use_cudnn", "run_eagerly", "tolerance")
CANDIDATE_KEYS = ("function", "layer", "expect", "diagnosis")
TORCH_KEYS = ("tolerance",)
BACKENDS = ("tensorflow", "jax", "torch", "numpy")
DATA_KEYS = ("features", "target", "csv", "synthetic", "scale", "stride", "batch")
TARGET_KEYS = ("name", "linear", "noise_std", "values", "column")
CSV_KEYS = ("path", "features", "target")
SYNTHETIC_KEYS = ("kind", "length", "features")
TOLERANCE_KEYS = ("atol", "rtol", "hidden", "cell", "output")
QUANTITIES: tuple[Quantity, ...] = ("hidden", "cell", "output")
GOLDEN_KEYS = ("sequences", "summaries", "traces", "max_values")
MAX_GOLDEN_VALUES = 10_000_000

RECURRENT_LAYERS = ("GRU", "LSTM", "SimpleRNN")
_RECURRENT_ARGUMENTS = (
    "units", "activation", "use_bias", "return_sequences", "return_state", "go_backwards",
    "stateful", "unroll", "dropout", "recurrent_dropout", "zero_output_for_mask",
    "kernel_initializer", "recurrent_initializer", "bias_initializer", "name",
)
#: The layers a spec may declare and the arguments each accepts. SimpleRNN takes no
#: ``implementation``: Keras 3 passes it on to ``Layer`` which refuses it.
LAYER_ARGUMENTS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "GRU": (*_RECURRENT_ARGUMENTS, "recurrent_activation", "reset_after", "implementation"),
    "LSTM": (*_RECURRENT_ARGUMENTS, "recurrent_activation", "unit_forget_bias", "implementation"),
    "SimpleRNN": _RECURRENT_ARGUMENTS,
    "Dense": ("units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "name"),
    "Dropout": ("rate", "name"),
    "Masking": ("mask_value", "name"),
    "Bidirectional": ("layer", "merge_mode", "backward_layer", "name"),
    "TimeDistributed": ("layer", "name"),
})
_REQUIRED_ARGUMENTS: Mapping[str, tuple[str, ...]] = {
    "GRU": ("units",), "LSTM": ("units",), "SimpleRNN": ("units",), "Dense": ("units",),
    "Dropout": ("rate",), "Bidirectional": ("layer",), "TimeDistributed": ("layer",),
}
#: What each wrapper may wrap.
_WRAPPABLE: Mapping[str, tuple[str, ...]] = {
    "Bidirectional": RECURRENT_LAYERS,
    "TimeDistributed": ("Dense", "Dropout"),
}
#: Keras 3 activation names (``keras.activations.get``).
ACTIVATIONS = (
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
    "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh",
    "tanh_shrink", "threshold",
)
#: Keras 3 initializer names (``keras.initializers.get``); CamelCase spellings also work.
INITIALIZERS = (
    "constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity",
    "lecun_normal", "lecun_uniform", "normal", "one", "ones", "orthogonal", "random_normal",
    "random_uniform", "truncated_normal", "uniform", "variance_scaling", "zero", "zeros",
)
MERGE_MODES = ("concat", "sum", "mul", "ave", None)
# fmt: on
_NAME_FORBIDDEN = re.compile(r"[\s\[\]/\\\x00-\x1f\x7f]|::")


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class LinearTarget:
    """``y = sum(coefficient * feature) + RandomState(seed).normal(0, noise_std, rows)``.

    The sum runs in the order the coefficients are written, so that a spec reproduces a
    notebook's ``2.5*t - 0.5*h + 1.2*w + np.random.normal(0, 5, n)`` bit for bit.
    """

    name: str
    coefficients: Mapping[str, float]
    noise_std: float = 0.0


@dataclass(frozen=True)
class ValuesTarget:
    """An explicit target column, one value per row."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class ColumnTarget:
    """Forecast a feature: the target of a window is that feature in the row after it."""

    name: str
    column: str


Target: TypeAlias = LinearTarget | ValuesTarget | ColumnTarget


@dataclass(frozen=True, kw_only=True)
class DataOptions:
    """What every data source shares: scaling and which windows to cut."""

    scale: Scale = "minmax"
    stride: int = 1
    batch: int | None = None


@dataclass(frozen=True, kw_only=True)
class InlineData(DataOptions):
    """Columns written in the spec; every column has the same number of rows."""

    features: Mapping[str, tuple[float, ...]]
    target: Target

    @property
    def rows(self) -> int:
        """Number of rows (time steps) in every column."""
        return len(next(iter(self.features.values())))


@dataclass(frozen=True, kw_only=True)
class CsvData(DataOptions):
    """Columns read from a CSV file with a header row."""

    path: Path
    declared: str
    features: tuple[str, ...]
    target: str


@dataclass(frozen=True, kw_only=True)
class SyntheticData(DataOptions):
    """Generated columns ``x0 .. x{features-1}``, seeded by the spec's seed."""

    kind: SyntheticKind
    length: int
    features: int
    target: Target

    @property
    def feature_names(self) -> tuple[str, ...]:
        """``("x0", "x1", ...)``."""
        return tuple(f"x{index}" for index in range(self.features))


DataSource: TypeAlias = InlineData | CsvData | SyntheticData


@dataclass(frozen=True)
class LayerDecl:
    """One Keras layer: its class name and the keyword arguments written for it.

    ``kwargs`` holds only what the spec wrote; a wrapped ``layer`` or ``backward_layer``
    (Bidirectional, TimeDistributed) is itself a :class:`LayerDecl`.
    """

    class_name: str
    kwargs: Mapping[str, Any]
    line: int

    @property
    def is_recurrent(self) -> bool:
        """Whether this is a GRU, LSTM or SimpleRNN (not a wrapper)."""
        return self.class_name in RECURRENT_LAYERS


@dataclass(frozen=True)
class SavedModel:
    """A saved Keras model file; ``path`` is resolved, ``declared`` is as written."""

    path: Path
    declared: str


@dataclass(frozen=True)
class WeightsFile:
    """A Keras weights file; ``path`` is resolved, ``declared`` is as written."""

    path: Path
    declared: str


@dataclass(frozen=True)
class ToleranceLimits:
    """Absolute and relative tolerance; ``None`` leaves the dtype default to the caller."""

    atol: float | None = None
    rtol: float | None = None


@dataclass(frozen=True)
class Tolerance:
    """Overall limits plus optional per-quantity overrides."""

    atol: float | None = None
    rtol: float | None = None
    hidden: ToleranceLimits = ToleranceLimits()
    cell: ToleranceLimits = ToleranceLimits()
    output: ToleranceLimits = ToleranceLimits()

    @property
    def per_quantity(self) -> Mapping[Quantity, ToleranceLimits]:
        """The quantities the spec gave limits of its own, and those limits (unmerged)."""
        return MappingProxyType(
            {
                quantity: getattr(self, quantity)
                for quantity in QUANTITIES
                if getattr(self, quantity) != ToleranceLimits()
            }
        )

    def limits(self, quantity: Quantity) -> ToleranceLimits:
        """The limits for ``quantity``: its own where given, else the overall ones."""
        own: ToleranceLimits = getattr(self, quantity)
        return ToleranceLimits(
            atol=self.atol if own.atol is None else own.atol,
            rtol=self.rtol if own.rtol is None else own.rtol,
        )


@dataclass(frozen=True)
class GoldenOptions:
    """What golden files record: how many sequences, summaries, which traces.

    ``max_values`` caps the values kept in full per array: fewer sequences, or the
    first timesteps of one, when ``sequences`` complete ones would exceed it. This is
    what keeps a golden under 1 MB for any batch or sequence length.
    """

    sequences: int = 3
    summaries: bool = True
    traces: Traces = "all"
    max_values: int = 4096


@dataclass(frozen=True)
class CandidateOptions:
    """``candidate:``: a user's implementation of one recurrent layer, checked as its own item.

    ``function`` is ``package.module:function``, imported with the project root first on
    ``sys.path``; ``layer`` the index in ``model:`` or the Keras name of the layer it
    implements (None: the first recurrent layer). ``expect: mismatch`` makes the item
    pass only when the candidate disagrees, and, with ``diagnosis``, only when exactly
    those mistakes explain it (see :mod:`pytest_rnnparity.reference.mistakes`).
    """

    function: str
    layer: int | str | None = None
    expect: Literal["match", "mismatch"] = "match"
    diagnosis: tuple[str, ...] | None = None
    line: int = 0


@dataclass(frozen=True)
class TorchOptions:
    """``torch:``: every recurrent layer also runs as the ``torch.nn`` module its weights map to."""

    tolerance: ToleranceLimits = ToleranceLimits()
    line: int = 0


@dataclass(frozen=True)
class ExecutionPath:
    """Another way to run the same model: a Keras backend and/or recurrent-layer options.

    ``implementation``, ``unroll`` and ``use_cudnn`` are set on every recurrent layer
    that takes them; ``backend`` runs the model under that Keras 3 backend in a
    subprocess; ``run_eagerly`` runs TensorFlow's Keras eagerly (true) or as one
    ``tf.function`` graph (false) whatever the sequence length. ``tolerance``
    overrides the spec's for this path.
    """

    backend: str | None = None
    implementation: int | None = None
    unroll: bool | None = None
    use_cudnn: bool | None = None
    run_eagerly: bool | None = None
    tolerance: ToleranceLimits = ToleranceLimits()
    line: int = 0

    @property
    def id(self) -> str:
        """``backend=jax-unroll=true``: the item's suffix, in key order."""
        parts = []
        for key in ("backend", "implementation", "unroll", "use_cudnn", "run_eagerly"):
            value = getattr(self, key)
            if value is not None:
                text = str(value).lower() if isinstance(value, bool) else str(value)
                parts.append(f"{key}={text}")
        return "-".join(parts)

    def layer_overrides(self) -> dict[str, Any]:
        """The recurrent-layer arguments this path sets."""
        return {
            key: getattr(self, key)
            for key in ("implementation", "unroll", "use_cudnn")
            if getattr(self, key) is not None
        }


@dataclass(frozen=True)
class Spec:
    """One validated spec (one matrix variant of a spec file)."""

    path: Path
    name: str
    variant: str | None
    description: str
    seed: int
    data: DataSource
    lookback: int
    model: tuple[LayerDecl, ...] | SavedModel
    weights: Literal["seeded", "keras"] | WeightsFile
    dtype: DType
    tolerance: Tolerance
    stateful: bool
    marks: tuple[str, ...]
    golden: GoldenOptions
    content_hash: str
    line: int
    layer_lines: tuple[int, ...]
    #: Other execution paths of the same model (``paths:``), each its own item.
    paths: tuple[ExecutionPath, ...] = ()
    #: A user's implementation of one layer, checked as the item ``::candidate``.
    candidate: CandidateOptions | None = None
    #: Run the layers as torch.nn modules too, as the item ``::torch``.
    torch: TorchOptions | None = None
    #: The spec file's path as errors show it (relative to the project root).
    display_path: str = field(default="", compare=False)
    #: ``"model[0].GRU.units" -> (line, column)`` for every value, for later errors.
    locations: Mapping[str, tuple[int, int]] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )

    @property
    def id(self) -> str:
        """``name``, or ``name[variant]`` for a matrix variant."""
        return self.name if self.variant is None else f"{self.name}[{self.variant}]"

    @property
    def weights_line(self) -> int | None:
        """Line of the ``weights`` value, ``None`` when the spec leaves the default."""
        where = self.locations.get("weights")
        return where[0] if where else None

    def location(self, key: str) -> tuple[int, int] | None:
        """``(line, column)`` of ``key`` (or of its nearest written ancestor)."""
        steps = parse_path(key) or ()
        for end in range(len(steps), 0, -1):
            found = self.locations.get(render_path(steps[:end]))
            if found is not None:
                return found
        return None

    def error(self, key: str, problem: str) -> SpecError:
        """A :class:`SpecError` about ``key`` of this spec, located in its file."""
        where = self.location(key)
        if self.variant is not None:
            problem += f" (matrix variant {self.variant})"
        return SpecError(
            one_line(problem),
            path=self.display_path,
            line=where[0] if where else None,
            column=where[1] if where else None,
            key=key,
        )


def one_line(text: str) -> str:
    """``text`` with newlines and other unprintable characters escaped (``\\n``): a spec
    quoted in a message cannot break the message over lines."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


# ------------------------------------------------------------------------------ loading


def schema_text() -> str:
    """The JSON Schema (draft 2020-12) of the spec format, as stored in the package."""
    return Path(__file__).with_name("spec_schema.json").read_text(encoding="utf-8")


def load_specs(path: Path, *, root: Path) -> list[Spec]:
    """Load a spec file: one :class:`Spec` per matrix variant (one without a matrix).

    Args:
        path: The YAML file.
        root: The project root; every file a spec names must resolve inside it.

    Raises:
        SpecError: the first problem found, located ``file:line:column``.
    """
    display = display_path(path, root)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SpecError(f"cannot read the spec: {error.strerror}", path=display) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(
            f"the spec is larger than {MAX_SPEC_BYTES} bytes; put large data in a CSV file",
            path=display,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        where, byte = undecodable(error)
        raise SpecError(
            f"the spec is not UTF-8 text (byte {byte}); save it as UTF-8",
            path=display,
            line=where.line,
            column=where.column,
        ) from None
    document = parse_yaml(text, path=display)
    reader = _Reader(document, display=display, variant=None)
    reader.fields((), TOP_LEVEL_KEYS, required=("data", "lookback", "model"))
    context = _Context(spec_path=path, root=root.resolve(), display=display)
    return [
        _build_spec(_Reader(variant_document, display=display, variant=variant), context)
        for variant, variant_document in _expand_matrix(document, reader)
    ]


def display_path(path: Path, root: Path) -> str:
    """``path`` as the user wrote it (links kept), relative to ``root`` when inside it."""
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return str(path)


def resolved_display_path(path: Path | str, root: Path) -> str:
    """``path`` with links resolved, relative to the resolved ``root`` when inside it."""
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class _Context:
    spec_path: Path
    root: Path
    display: str


_MISSING: Any = object()


class _Reader:
    """Reads values out of a located document, failing with located :class:`SpecError`."""

    def __init__(self, document: LocatedDocument, *, display: str, variant: str | None) -> None:
        self.document = document
        self.display = display
        self.variant = variant

    def fail(
        self, at: KeyPath, problem: str, *, at_key: bool = False, key: KeyPath | None = None
    ) -> NoReturn:
        """Raise about the value at ``at`` (its key with ``at_key``), named ``key`` or ``at``."""
        where = self.document.key_location(at) if at_key else self.document.value_location(at)
        if self.variant is not None:
            problem += f" (matrix variant {self.variant})"
        raise SpecError(
            one_line(problem),
            path=self.display,
            line=where.line,
            column=where.column,
            key=render_path(at if key is None else key) or None,
        )

    def get(self, at: KeyPath, default: Any = _MISSING) -> Any:
        try:
            return self.document.get(at)
        except KeyError:
            if default is _MISSING:
                raise
            return default

    def fields(
        self,
        at: KeyPath,
        allowed: Sequence[str],
        *,
        required: Sequence[str] = (),
        what: str = "key",
        null_is_empty: bool = False,
    ) -> dict[str, Any]:
        """The mapping at ``at``, checked for unknown and missing keys."""
        value = self.get(at)
        if value is None and null_is_empty:
            value = {}
        if not isinstance(value, dict):
            self.fail(at, f"expected a mapping, got {describe(value)}")
        for key in value:
            if key not in allowed:
                self.fail((*at, key), _unknown(what, key, allowed), at_key=True, key=at)
        for key in required:
            if key not in value:
                self.fail(at, f"missing required {what} {key!r}")
        return value

    def integer(self, at: KeyPath, *, minimum: int, maximum: int | None = None) -> int:
        value = self.get(at)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            expected = {0: "a non-negative integer", 1: "a positive integer"}.get(
                minimum, f"an integer of at least {minimum}"
            )
            self.fail(at, f"expected {expected}, got {describe(value)}")
        if maximum is not None and value > maximum:
            self.fail(at, f"expected at most {maximum}, got {describe(value)}")
        return value

    def number(
        self, at: KeyPath, *, minimum: float | None = None, below: float | None = None
    ) -> float:
        value = self.get(at)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(at, f"expected a number, got {describe(value)}")
        if not math.isfinite(value):
            self.fail(at, f"expected a finite number, got {describe(value)}")
        if below is not None and minimum is not None and not minimum <= value < below:
            self.fail(at, f"expected a number in [{minimum:g}, {below:g}), got {describe(value)}")
        if minimum is not None and value < minimum:
            expected = "a non-negative number" if minimum == 0 else f"a number >= {minimum:g}"
            self.fail(at, f"expected {expected}, got {describe(value)}")
        return float(value)

    def boolean(self, at: KeyPath) -> bool:
        value = self.get(at)
        if not isinstance(value, bool):
            self.fail(at, f"expected true or false, got {describe(value)}")
        return value

    def string(self, at: KeyPath) -> str:
        value = self.get(at)
        if not isinstance(value, str) or not value.strip():
            self.fail(at, f"expected a non-empty string, got {describe(value)}")
        return value

    def choice(self, at: KeyPath, choices: Sequence[str | None]) -> Any:
        value = self.get(at)
        if value in choices and not isinstance(value, bool):
            return value
        listed = ", ".join(describe(choice).strip("'") for choice in choices)
        problem = f"expected one of {listed}, got {describe(value)}"
        if isinstance(value, str):
            suggestion = _suggest(value, [c for c in choices if c is not None])
            if suggestion:
                problem += f"; did you mean {suggestion!r}?"
        self.fail(at, problem)

    def lines(self) -> dict[str, tuple[int, int]]:
        return {
            render_path(path): (where.line, where.column)
            for path, where in self.document.values.items()
            if path
        }


def _suggest(word: str, candidates: Sequence[str]) -> str | None:
    lowered = {candidate.lower(): candidate for candidate in candidates}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def _unknown(what: str, word: str, allowed: Sequence[str]) -> str:
    suggestion = _suggest(word, allowed)
    if suggestion is not None:
        return f"unknown {what} {word!r}; did you mean {suggestion!r}?"
    return f"unknown {what} {word!r}; expected one of: {', '.join(allowed)}"


# ------------------------------------------------------------------------------- matrix


def _expand_matrix(
    document: LocatedDocument, reader: _Reader
) -> list[tuple[str | None, LocatedDocument]]:
    """Each variant's id and document, in cartesian-product order; ``(None, doc)`` alone."""
    if "matrix" not in document.value:
        return [(None, document)]
    matrix = document.value["matrix"]
    if not isinstance(matrix, dict) or not matrix:
        reader.fail(
            ("matrix",),
            "expected a mapping of key paths to lists of values, such as"
            " 'model[0].GRU.units: [4, 64]'",
        )
    paths: list[KeyPath] = []
    for key, values in matrix.items():
        at: KeyPath = ("matrix", key)
        path = _matrix_path(document, reader, key)
        for earlier in paths:
            shorter, longer = sorted((earlier, path), key=len)
            if longer[: len(shorter)] == shorter:
                reader.fail(
                    at,
                    f"overlaps {render_path(earlier)!r}; one matrix key cannot contain another",
                    at_key=True,
                )
        paths.append(path)
        if not isinstance(values, list) or not values:
            reader.fail(at, f"expected a non-empty list of values, got {describe(values)}")
        seen: dict[str, int] = {}
        for index, value in enumerate(values):
            label = _id_value(value)
            if label in seen:
                reader.fail(
                    (*at, index),
                    f"repeats the value {label} (item {seen[label]}); each variant needs its"
                    " own value",
                )
            seen[label] = index
    count = math.prod(len(values) for values in matrix.values())
    if count > MAX_VARIANTS:
        reader.fail(("matrix",), f"expands to {count} variants; at most {MAX_VARIANTS} allowed")
    base = LocatedDocument(
        value={key: value for key, value in document.value.items() if key != "matrix"},
        values={p: loc for p, loc in document.values.items() if p[:1] != ("matrix",)},
        keys={p: loc for p, loc in document.keys.items() if p[:1] != ("matrix",)},
    )
    labels = _labels(paths)
    variants: list[tuple[str | None, LocatedDocument]] = []
    keys = list(matrix)
    for choice in itertools.product(*(range(len(matrix[key])) for key in keys)):
        variant = base
        parts = []
        for key, path, label, index in zip(keys, paths, labels, choice, strict=True):
            variant = variant.replaced(path, document.subtree(("matrix", key, index)))
            parts.append(f"{label}={_id_value(matrix[key][index])}")
        variants.append((_safe_id("-".join(parts)), variant))
    return variants


def _matrix_path(document: LocatedDocument, reader: _Reader, key: str) -> KeyPath:
    at: KeyPath = ("matrix", key)
    path = parse_path(key)
    if path is None or path[0] == "matrix":
        reader.fail(at, f"{key!r} is not a key path such as model[0].GRU.units", at_key=True)
    try:
        document.get(path)
        return path
    except KeyError:
        pass
    parent = path[:-1]
    allowed: Sequence[str] = ()
    try:
        if isinstance(document.get(parent), dict):
            allowed = _allowed_keys(document, parent)
    except KeyError:
        pass
    if path[-1] in allowed:
        return path
    problem = f"{key!r} names nothing in the spec"
    missing = next(end for end in range(1, len(path) + 1) if not _exists(document, path[:end]))
    if missing < len(path):
        problem += f" (it has no {render_path(path[:missing])})"
    suggestion = _suggest(str(path[-1]), [*allowed, *_present_keys(document, parent)])
    if suggestion is not None:
        problem += f"; did you mean {render_path((*parent, suggestion))!r}?"
    reader.fail(at, problem, at_key=True)


def _exists(document: LocatedDocument, path: KeyPath) -> bool:
    try:
        document.get(path)
    except KeyError:
        return False
    return True


def _present_keys(document: LocatedDocument, parent: KeyPath) -> list[str]:
    try:
        value = document.get(parent)
    except KeyError:
        return []
    return list(value) if isinstance(value, dict) else []


def _allowed_keys(document: LocatedDocument, parent: KeyPath) -> Sequence[str]:
    """Keys a matrix may add under ``parent`` although the spec does not write them."""
    fixed: dict[KeyPath, Sequence[str]] = {
        (): [key for key in TOP_LEVEL_KEYS if key != "matrix"],
        ("data",): DATA_KEYS,
        ("data", "target"): TARGET_KEYS,
        ("data", "csv"): CSV_KEYS,
        ("data", "synthetic"): SYNTHETIC_KEYS,
        ("tolerance",): TOLERANCE_KEYS,
        ("golden",): GOLDEN_KEYS,
        ("candidate",): CANDIDATE_KEYS,
        ("torch",): TORCH_KEYS,
        ("torch", "tolerance"): ("atol", "rtol"),
        **{("tolerance", quantity): ("atol", "rtol") for quantity in QUANTITIES},
    }
    if parent in fixed:
        return fixed[parent]
    in_layer_slot = len(parent) >= 2 and (
        (parent[0] == "model" and len(parent) == 3 and isinstance(parent[1], int))
        or parent[-2] in ("layer", "backward_layer")
    )
    if in_layer_slot and isinstance(parent[-1], str):
        return LAYER_ARGUMENTS.get(parent[-1], ())
    return ()


def _labels(paths: Sequence[KeyPath]) -> list[str]:
    """The shortest unique path suffix of each matrix key (the last step where unique)."""
    lengths = [1] * len(paths)
    while True:
        labels = [_suffix(path, length) for path, length in zip(paths, lengths, strict=True)]
        clashes = {label for label in labels if labels.count(label) > 1}
        if not clashes:
            return labels
        for index, label in enumerate(labels):
            if label in clashes:
                lengths[index] += 1


def _suffix(path: KeyPath, length: int) -> str:
    start = max(len(path) - length, 0)
    while start > 0 and isinstance(path[start], int):
        start -= 1  # an index reads only after the name it indexes
    return render_path(path[start:])


def _safe_id(text: str) -> str:
    """A variant id fit for a file name and a node id: ``/``, ``\\``, ``%``, ``::`` and
    unprintable characters are percent-encoded (``%2F``), so that ids stay distinct."""
    chars = []
    for index, char in enumerate(text):
        in_pair = "::" in (text[max(index - 1, 0) : index + 1], text[index : index + 2])
        unsafe = char in "/\\%" or not char.isprintable() or in_pair
        chars.append(quote(char, safe="") if unsafe else char)
    return "".join(chars)


def _id_value(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return describe(value)
    if isinstance(value, list):
        return "[" + ",".join(_id_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_id_value(v)}" for k, v in value.items()) + "}"
    return str(value)


# ---------------------------------------------------------------------------- the spec


def _build_spec(reader: _Reader, context: _Context) -> Spec:
    top = reader.fields((), TOP_LEVEL_KEYS, required=("data", "lookback", "model"))
    name = reader.string(("name",)) if "name" in top else context.spec_path.stem
    if _NAME_FORBIDDEN.search(name):
        if "name" in top:
            reader.fail(
                ("name",),
                f"expected a name without spaces, brackets or slashes, got {describe(name)}",
            )
        raise SpecError(
            f"the file name gives the spec name {name!r}, which has spaces, brackets or"
            " slashes; set name:",
            path=context.display,
        )
    description = reader.string(("description",)) if "description" in top else ""
    seed = reader.integer(("seed",), minimum=0, maximum=MAX_SEED) if "seed" in top else 0
    data = _data(reader, context)
    lookback = _lookback(reader, data)
    model = _model(reader, context)
    _check_size(reader, data, lookback, model)
    weights = _weights(reader, context, saved=isinstance(model, SavedModel))
    dtype = (
        cast(DType, reader.choice(("dtype",), ("float32", "float64")))
        if "dtype" in top
        else "float32"
    )
    tolerance = _tolerance(reader) if "tolerance" in top else Tolerance()
    stateful = reader.boolean(("stateful",)) if "stateful" in top else False
    marks = _marks(reader) if "marks" in top else ()
    golden = _golden(reader) if "golden" in top else GoldenOptions()
    paths = _paths(reader) if "paths" in top else ()
    candidate = _candidate(reader, model) if "candidate" in top else None
    torch = _torch(reader, model) if "torch" in top else None
    layer_lines: tuple[int, ...] = ()
    if not isinstance(model, SavedModel):
        layer_lines = tuple(layer.line for layer in model)
    hashed = {
        "seed": seed,
        "data": data,
        "lookback": lookback,
        "model": model,
        "weights": weights,
        "dtype": dtype,
        "stateful": stateful,
        "golden": golden,
    }
    canonical = json.dumps(_canonical(hashed), sort_keys=True, separators=(",", ":"))
    return Spec(
        path=context.spec_path,
        name=name,
        variant=reader.variant,
        description=description,
        seed=seed,
        data=data,
        lookback=lookback,
        model=model,
        weights=weights,
        dtype=dtype,
        tolerance=tolerance,
        stateful=stateful,
        marks=marks,
        golden=golden,
        content_hash=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        line=reader.document.key_location(("model",)).line,
        layer_lines=layer_lines,
        paths=paths,
        candidate=candidate,
        torch=torch,
        display_path=context.display,
        locations=MappingProxyType(reader.lines()),
    )


def _canonical(value: Any) -> Any:
    """JSON-ready form: dataclasses and mappings keep their order as ``[key, value]`` pairs.

    Resolved paths and line numbers stay out: the hash must not change when the project
    moves or a comment is added.
    """
    if is_dataclass(value) and not isinstance(value, type):
        items = [
            (f.name, getattr(value, f.name))
            for f in fields(value)
            if f.name != "path" and f.name != "line"
        ]
        return [type(value).__name__, [[key, _canonical(item)] for key, item in items]]
    if isinstance(value, Mapping):
        return [[str(key), _canonical(item)] for key, item in value.items()]
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


# --------------------------------------------------------------------------------- data


def _data(reader: _Reader, context: _Context) -> DataSource:
    at: KeyPath = ("data",)
    data = reader.fields(at, DATA_KEYS)
    sources = [key for key in ("features", "csv", "synthetic") if key in data]
    if not sources:
        reader.fail(at, "missing the data source: give features (inline columns), csv or synthetic")
    if len(sources) > 1:
        reader.fail(
            (*at, sources[1]),
            f"give only one data source, got {' and '.join(sources)}",
            at_key=True,
        )
    options: dict[str, Any] = {}
    if "scale" in data:
        options["scale"] = reader.choice((*at, "scale"), ("minmax", "standard", "none"))
    if "stride" in data:
        options["stride"] = reader.integer((*at, "stride"), minimum=1)
    if data.get("batch") is not None:
        options["batch"] = reader.integer((*at, "batch"), minimum=1)
    if sources[0] == "csv":
        if "target" in data:
            reader.fail(
                (*at, "target"),
                "with csv, name the target column inside csv: (csv.target)",
                at_key=True,
            )
        return _csv(reader, context, options)
    if sources[0] == "synthetic":
        synthetic = _synthetic(reader, options)
        if "target" not in data:
            return synthetic
        target = _target(reader, synthetic.feature_names, rows=synthetic.length)
        return dataclasses.replace(synthetic, target=target)
    if "target" not in data:
        reader.fail(at, "missing required key 'target'")
    features = _inline_features(reader)
    rows = len(next(iter(features.values())))
    return InlineData(
        features=MappingProxyType(features),
        target=_target(reader, tuple(features), rows=rows),
        **options,
    )


def _inline_features(reader: _Reader) -> dict[str, tuple[float, ...]]:
    at: KeyPath = ("data", "features")
    columns = reader.get(at)
    if not isinstance(columns, dict) or not columns:
        reader.fail(
            at,
            "expected a mapping of one or more column names to lists of numbers, such as"
            f" {{temperature: [18.2, 19.5]}}, got {describe(columns)}",
        )
    features: dict[str, tuple[float, ...]] = {}
    first: str | None = None
    for name, values in columns.items():
        column_at = (*at, name)
        if not isinstance(values, list) or not values:
            reader.fail(column_at, f"expected a non-empty list of numbers, got {describe(values)}")
        column = tuple(reader.number((*column_at, index)) for index in range(len(values)))
        if first is not None and len(column) != len(features[first]):
            reader.fail(
                column_at,
                f"column {name!r} has {len(column)} values but {first!r} has"
                f" {len(features[first])}; every column needs one value per row",
            )
        first = first or name
        features[name] = column
    return features


def _target(reader: _Reader, feature_names: Sequence[str], *, rows: int) -> Target:
    at: KeyPath = ("data", "target")
    target = reader.fields(at, TARGET_KEYS)
    kinds = [key for key in ("linear", "values", "column") if key in target]
    if len(kinds) != 1:
        reader.fail(
            at,
            "give exactly one of linear (coefficients per feature), values (one per row) or"
            f" column (a feature to forecast), got {len(kinds)}",
        )
    kind = kinds[0]
    if "noise_std" in target and kind != "linear":
        reader.fail((*at, "noise_std"), "applies to linear targets only", at_key=True)
    name = reader.string((*at, "name")) if "name" in target else None
    if kind == "column":
        column = reader.string((*at, "column"))
        if column not in feature_names:
            reader.fail((*at, "column"), _unknown("feature", column, feature_names))
        return ColumnTarget(name=name or column, column=column)
    if kind == "values":
        values = target["values"]
        if not isinstance(values, list) or len(values) != rows:
            got = f"{len(values)}" if isinstance(values, list) else describe(values)
            reader.fail((*at, "values"), f"expected {rows} values (one per row), got {got}")
        numbers = tuple(reader.number((*at, "values", index)) for index in range(rows))
        return ValuesTarget(name=name or "target", values=numbers)
    linear_at = (*at, "linear")
    linear = reader.fields(linear_at, feature_names, what="feature")
    if not linear:
        reader.fail(linear_at, "expected at least one coefficient, such as {temperature: 2.5}")
    coefficients = {key: reader.number((*linear_at, key)) for key in linear}
    noise = reader.number((*at, "noise_std"), minimum=0) if "noise_std" in target else 0.0
    return LinearTarget(
        name=name or "target", coefficients=MappingProxyType(coefficients), noise_std=noise
    )


def _csv(reader: _Reader, context: _Context, options: dict[str, Any]) -> CsvData:
    at: KeyPath = ("data", "csv")
    reader.fields(at, CSV_KEYS, required=CSV_KEYS)
    resolved, declared = _project_file(reader, context, (*at, "path"))
    features = reader.get((*at, "features"))
    if not isinstance(features, list) or not features:
        reader.fail(
            (*at, "features"),
            f"expected a non-empty list of column names, got {describe(features)}",
        )
    names = tuple(reader.string((*at, "features", index)) for index in range(len(features)))
    for index, column in enumerate(names):
        if column in names[:index]:
            reader.fail((*at, "features", index), f"column {column!r} is listed twice")
    return CsvData(
        path=resolved,
        declared=declared,
        features=names,
        target=reader.string((*at, "target")),
        **options,
    )


def _synthetic(reader: _Reader, options: dict[str, Any]) -> SyntheticData:
    at: KeyPath = ("data", "synthetic")
    synthetic = reader.fields(at, SYNTHETIC_KEYS, required=("kind", "length"))
    kind = reader.choice((*at, "kind"), ("sine", "random_walk", "normal"))
    length = reader.integer((*at, "length"), minimum=2, maximum=MAX_SYNTHETIC_LENGTH)
    count = 1
    if "features" in synthetic:
        count = reader.integer((*at, "features"), minimum=1, maximum=MAX_SYNTHETIC_FEATURES)
    if length * count > MAX_SYNTHETIC_VALUES:
        reader.fail(at, f"length * features is {length * count}; at most {MAX_SYNTHETIC_VALUES}")
    return SyntheticData(
        kind=kind,
        length=length,
        features=count,
        target=ColumnTarget(name="x0", column="x0"),
        **options,
    )


def _lookback(reader: _Reader, data: DataSource) -> int:
    at: KeyPath = ("lookback",)
    lookback = reader.integer(at, minimum=1)
    rows = None
    if isinstance(data, InlineData):
        rows = data.rows
    elif isinstance(data, SyntheticData):
        rows = data.length
    if rows is not None and lookback >= rows:
        reader.fail(
            at,
            f"expected a positive integer smaller than the number of rows ({rows}), got {lookback}",
        )
    return lookback


def _check_size(
    reader: _Reader, data: DataSource, lookback: int, model: tuple[LayerDecl, ...] | SavedModel
) -> None:
    """Refuse, before anything is allocated, a model or windows too large to check."""
    features = len(data.features) if isinstance(data, InlineData | CsvData) else data.features
    width = features
    if not isinstance(model, SavedModel):
        inputs = widths(model, features)
        width = max(inputs)
        total = 0
        for index, layer in enumerate(model):
            total += layer_weights(layer, inputs[index])
            if total > MAX_WEIGHTS:
                reader.fail(
                    ("model", index),
                    f"the model would hold about {total:,} weights up to this layer; at most"
                    f" {MAX_WEIGHTS:,}: use fewer units",
                )
    rows = data.length if isinstance(data, SyntheticData) else None
    if isinstance(data, InlineData):
        rows = data.rows
    problem = None if rows is None else size_problem(rows, lookback, data, width)
    if problem is not None:
        reader.fail(("lookback",), problem)


def widths(model: Sequence[LayerDecl], features: int) -> list[int]:
    """The width of the model's input, then of each layer's output: ``[features, units...]``."""
    result = [features]
    for layer in model:
        units = layer.kwargs.get("layer", layer).kwargs.get("units", result[-1])
        merge_mode = layer.kwargs.get("merge_mode", "concat")
        if layer.class_name == "Bidirectional" and merge_mode == "concat":
            units *= 2
        result.append(units)
    return result


_GATES = {"GRU": 3, "LSTM": 4, "SimpleRNN": 1}


def layer_weights(layer: LayerDecl, width: int) -> int:
    """About how many weights ``layer`` holds for inputs ``width`` wide (for the size budget)."""
    if layer.class_name in ("Bidirectional", "TimeDistributed"):
        copies = 2 if layer.class_name == "Bidirectional" else 1
        return copies * layer_weights(layer.kwargs["layer"], width)
    units: int = layer.kwargs.get("units", 0)
    if layer.class_name in _GATES:  # kernel, recurrent kernel and (up to) two biases per gate
        return _GATES[layer.class_name] * units * (width + units + 2)
    return units * (width + 1)  # Dense: kernel and bias; Dropout and Masking: none


def size_problem(rows: int, lookback: int, data: DataOptions, width: int) -> str | None:
    """Why the windows cut from ``rows`` rows are too large to run; None when they fit."""
    windows = len(range(0, rows - lookback, data.stride))
    if data.batch is not None:
        windows = min(windows, data.batch)
    values = windows * lookback * width
    if values <= MAX_RUN_VALUES:
        return None
    return (
        f"{windows:,} windows of {lookback:,} steps through layers up to {width:,} wide make"
        f" {values:,} values per array; at most {MAX_RUN_VALUES:,}: set data.batch or"
        " data.stride, or shorten the lookback"
    )


def _project_file(reader: _Reader, context: _Context, at: KeyPath) -> tuple[Path, str]:
    """A file named relative to the spec that must resolve inside the project root."""
    declared = reader.string(at)
    if PurePosixPath(declared).is_absolute() or PureWindowsPath(declared).anchor:
        reader.fail(
            at,
            f"absolute paths are not allowed, got {declared!r}; write the path relative to"
            " the spec file",
        )
    resolved = (context.spec_path.parent / declared).resolve()
    if not resolved.is_relative_to(context.root):
        reader.fail(at, f"{declared!r} resolves outside the project root")
    if resolved.is_dir():
        reader.fail(at, f"{declared!r} is a directory; name a file")
    if not resolved.is_file():
        reader.fail(at, f"file not found: {declared!r} (paths are relative to the spec file)")
    return resolved, declared


# -------------------------------------------------------------------------------- model


def _model(reader: _Reader, context: _Context) -> tuple[LayerDecl, ...] | SavedModel:
    at: KeyPath = ("model",)
    model = reader.get(at)
    if isinstance(model, dict):
        reader.fields(at, ("path",), required=("path",))
        resolved, declared = _project_file(reader, context, (*at, "path"))
        return SavedModel(path=resolved, declared=declared)
    if not isinstance(model, list) or not model:
        reader.fail(
            at,
            "expected a list of layers such as [{GRU: {units: 4}}, {Dense: {units: 1}}] or"
            f" {{path: model.keras}}, got {describe(model)}",
        )
    layers = tuple(
        _layer(reader, (*at, index), tuple(LAYER_ARGUMENTS)) for index in range(len(model))
    )
    if not any(_recurrent_inside(layer) for layer in layers):
        reader.fail(
            at,
            "the model has no recurrent layer (GRU, LSTM, SimpleRNN, or one wrapped in"
            " Bidirectional); there is nothing to check",
        )
    _check_stack(reader, layers)
    return layers


def _recurrent_inside(layer: LayerDecl) -> bool:
    return layer.is_recurrent or layer.class_name == "Bidirectional"


def _layer(reader: _Reader, at: KeyPath, classes: Sequence[str]) -> LayerDecl:
    entry = reader.get(at)
    if not isinstance(entry, dict) or len(entry) != 1:
        got = (
            f"{len(entry)} keys ({', '.join(entry)})"
            if isinstance(entry, dict)
            else describe(entry)
        )
        reader.fail(
            at,
            f"expected one layer as a single-key mapping such as {{GRU: {{units: 4}}}}, got {got}",
        )
    (class_name,) = entry
    if class_name not in classes:
        if class_name in LAYER_ARGUMENTS:
            reader.fail(
                (*at, class_name),
                f"{class_name} cannot be used here; expected one of: {', '.join(classes)}",
                at_key=True,
            )
        reader.fail((*at, class_name), _unknown("layer", class_name, classes), at_key=True)
    args_at = (*at, class_name)
    arguments = reader.get(args_at)
    for argument in arguments if isinstance(arguments, dict) else ():
        owners = [c for c, allowed in LAYER_ARGUMENTS.items() if argument in allowed]
        if argument not in LAYER_ARGUMENTS[class_name] and owners:
            reader.fail(
                (*args_at, argument),
                f"{class_name} does not take {argument!r} ({', '.join(owners)} does)",
                at_key=True,
                key=args_at,
            )
    written = reader.fields(
        args_at,
        LAYER_ARGUMENTS[class_name],
        required=_REQUIRED_ARGUMENTS.get(class_name, ()),
        what=f"{class_name} argument",
        null_is_empty=True,
    )
    kwargs: dict[str, Any] = {}
    for argument in written:
        argument_at = (*args_at, argument)
        if argument in ("layer", "backward_layer"):
            kwargs[argument] = _layer(reader, argument_at, _WRAPPABLE[class_name])
        else:
            kwargs[argument] = _ARGUMENT_CHECKS[argument](reader, argument_at)
    if "backward_layer" in kwargs:
        _check_backward(reader, args_at, kwargs["layer"], kwargs["backward_layer"])
    return LayerDecl(
        class_name=class_name,
        kwargs=MappingProxyType(kwargs),
        line=reader.document.value_location(at).line,
    )


def _check_backward(
    reader: _Reader, args_at: KeyPath, forward: LayerDecl, backward: LayerDecl
) -> None:
    at = (*args_at, "backward_layer")
    forward_backwards = forward.kwargs.get("go_backwards", False)
    if backward.kwargs.get("go_backwards", False) == forward_backwards:
        reader.fail(
            at,
            "go_backwards must differ between layer and backward_layer (both are"
            f" {describe(forward_backwards)}); set go_backwards: true on backward_layer",
        )
    for attribute in ("stateful", "return_sequences", "return_state"):
        forward_value = forward.kwargs.get(attribute, False)
        backward_value = backward.kwargs.get(attribute, False)
        if forward_value != backward_value:
            reader.fail(
                at,
                f"{attribute} must be the same for layer and backward_layer, got"
                f" {describe(forward_value)} and {describe(backward_value)}",
            )


def _check_stack(reader: _Reader, layers: Sequence[LayerDecl]) -> None:
    """Refuse a layer that needs a sequence after one that returns only its last step."""
    sequence_from: int | None = None
    for index, layer in enumerate(layers):
        needs_sequence = layer.class_name in (*RECURRENT_LAYERS, "Bidirectional", "TimeDistributed")
        if needs_sequence and sequence_from is not None:
            previous = layers[sequence_from]
            reader.fail(
                ("model", index),
                f"{layer.class_name} needs a sequence but model[{sequence_from}]"
                f" ({previous.class_name}) returns only the last step; set"
                f" return_sequences: true on model[{sequence_from}]",
            )
        if layer.class_name in (*RECURRENT_LAYERS, "Bidirectional"):
            wrapped = layer.kwargs.get("layer", layer)
            if not wrapped.kwargs.get("return_sequences", False):
                sequence_from = index
    names: dict[str, int] = {}
    for index, layer in enumerate(layers):
        for declared in (layer, *(v for v in layer.kwargs.values() if isinstance(v, LayerDecl))):
            name = declared.kwargs.get("name")
            if name is None:
                continue
            if name in names:
                reader.fail(
                    ("model", index),
                    f"layer name {name!r} is already used by model[{names[name]}]",
                )
            names[name] = index


def _units(reader: _Reader, at: KeyPath) -> int:
    return reader.integer(at, minimum=1, maximum=MAX_UNITS)


def _activation(reader: _Reader, at: KeyPath) -> str | None:
    value = reader.get(at)
    if value is None:
        return None
    if not isinstance(value, str):
        reader.fail(at, f"expected an activation name such as tanh, got {describe(value)}")
    if value not in ACTIVATIONS:
        reader.fail(at, _unknown("activation", value, ACTIVATIONS))
    return value


def _initializer(reader: _Reader, at: KeyPath) -> str:
    value = reader.get(at)
    if not isinstance(value, str):
        reader.fail(
            at, f"expected an initializer name such as glorot_uniform, got {describe(value)}"
        )
    snake = re.sub(r"([a-z])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", value))
    snake = snake.lower().removesuffix("_initializer")
    if snake not in INITIALIZERS:
        reader.fail(at, _unknown("initializer", value, INITIALIZERS))
    return value


def _layer_name(reader: _Reader, at: KeyPath) -> str:
    name = reader.string(at)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", name):
        reader.fail(at, f"expected a layer name of letters, digits and _ . -, got {describe(name)}")
    return name


def _rate(reader: _Reader, at: KeyPath) -> float:
    return reader.number(at, minimum=0, below=1)


def _implementation(reader: _Reader, at: KeyPath) -> int:
    value = reader.get(at)
    if value not in (1, 2) or isinstance(value, bool):
        reader.fail(at, f"expected 1 or 2, got {describe(value)}")
    return cast(int, value)


_ARGUMENT_CHECKS: Mapping[str, Callable[[_Reader, KeyPath], Any]] = {
    "units": _units,
    "activation": _activation,
    "recurrent_activation": _activation,
    "use_bias": _Reader.boolean,
    "reset_after": _Reader.boolean,
    "return_sequences": _Reader.boolean,
    "return_state": _Reader.boolean,
    "go_backwards": _Reader.boolean,
    "stateful": _Reader.boolean,
    "unroll": _Reader.boolean,
    "zero_output_for_mask": _Reader.boolean,
    "unit_forget_bias": _Reader.boolean,
    "implementation": _implementation,
    "dropout": _rate,
    "recurrent_dropout": _rate,
    "rate": _rate,
    "kernel_initializer": _initializer,
    "recurrent_initializer": _initializer,
    "bias_initializer": _initializer,
    "name": _layer_name,
    "mask_value": _Reader.number,
    "merge_mode": lambda reader, at: reader.choice(at, MERGE_MODES),
}


# ------------------------------------------------------------------- the remaining keys


def _weights(
    reader: _Reader, context: _Context, *, saved: bool
) -> Literal["seeded", "keras"] | WeightsFile:
    at: KeyPath = ("weights",)
    weights = reader.get(at, None)
    if weights is None:
        return "keras" if saved else "seeded"
    if isinstance(weights, dict):
        reader.fields(at, ("path",), required=("path",))
        resolved, declared = _project_file(reader, context, (*at, "path"))
        return WeightsFile(path=resolved, declared=declared)
    if weights in ("seeded", "keras"):
        return cast(Literal["seeded", "keras"], weights)
    problem = f"expected seeded, keras or {{path: <file>}}, got {describe(weights)}"
    suggestion = _suggest(weights, ("seeded", "keras")) if isinstance(weights, str) else None
    if suggestion is not None:
        problem += f"; did you mean {suggestion!r}?"
    reader.fail(at, problem)


def _tolerance(reader: _Reader) -> Tolerance:
    at: KeyPath = ("tolerance",)
    tolerance = reader.fields(at, TOLERANCE_KEYS)
    overall = _limits(reader, at, tolerance)
    quantities: dict[str, ToleranceLimits] = {}
    for quantity in QUANTITIES:
        if quantity in tolerance:
            quantity_at = (*at, quantity)
            quantities[quantity] = _limits(
                reader, quantity_at, reader.fields(quantity_at, ("atol", "rtol"))
            )
    return Tolerance(atol=overall.atol, rtol=overall.rtol, **quantities)


def _limits(reader: _Reader, at: KeyPath, written: Mapping[str, Any]) -> ToleranceLimits:
    atol = reader.number((*at, "atol"), minimum=0) if "atol" in written else None
    rtol = reader.number((*at, "rtol"), minimum=0) if "rtol" in written else None
    return ToleranceLimits(atol=atol, rtol=rtol)


def _paths(reader: _Reader) -> tuple[ExecutionPath, ...]:
    at: KeyPath = ("paths",)
    entries = reader.get(at)
    if not isinstance(entries, list) or not entries:
        reader.fail(
            at,
            "expected a list of execution paths such as [{backend: jax}, {unroll: true}],"
            f" got {describe(entries)}",
        )
    paths: list[ExecutionPath] = []
    for index in range(len(entries)):
        entry_at: KeyPath = (*at, index)
        written = reader.fields(entry_at, PATH_KEYS)
        if not set(written) - {"tolerance"}:
            reader.fail(
                entry_at,
                "expected at least one of backend, implementation, unroll, use_cudnn, run_eagerly",
            )
        limits = ToleranceLimits()
        if "tolerance" in written:
            tolerance_at = (*entry_at, "tolerance")
            limits = _limits(reader, tolerance_at, reader.fields(tolerance_at, ("atol", "rtol")))
        path = ExecutionPath(
            backend=reader.choice((*entry_at, "backend"), BACKENDS)
            if "backend" in written
            else None,
            implementation=(
                reader.integer((*entry_at, "implementation"), minimum=1, maximum=2)
                if "implementation" in written
                else None
            ),
            unroll=reader.boolean((*entry_at, "unroll")) if "unroll" in written else None,
            use_cudnn=reader.boolean((*entry_at, "use_cudnn")) if "use_cudnn" in written else None,
            run_eagerly=(
                reader.boolean((*entry_at, "run_eagerly")) if "run_eagerly" in written else None
            ),
            tolerance=limits,
            line=reader.document.key_location(entry_at).line,
        )
        if any(other.id == path.id for other in paths):
            reader.fail(entry_at, f"the execution path {path.id} is listed twice")
        paths.append(path)
    return tuple(paths)


#: ``package.module:function`` (the function may be ``Class.attribute``).
CANDIDATE_PATTERN = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def _candidate(reader: _Reader, model: tuple[LayerDecl, ...] | SavedModel) -> CandidateOptions:
    at: KeyPath = ("candidate",)
    line = reader.document.key_location(at).line
    if isinstance(reader.get(at), str):
        written: dict[str, Any] = {}
        function_at: KeyPath = at
    else:
        written = reader.fields(at, CANDIDATE_KEYS, required=("function",))
        function_at = (*at, "function")
    function = reader.string(function_at)
    if not CANDIDATE_PATTERN.match(function):
        reader.fail(
            function_at,
            f"expected package.module:function, such as examples.my_gru:forward, got"
            f" {describe(function)}",
        )
    layer: int | str | None = None
    if "layer" in written:
        layer_at: KeyPath = (*at, "layer")
        value = reader.get(layer_at)
        if isinstance(value, str):
            layer = _layer_name(reader, layer_at)
        else:
            layer = reader.integer(layer_at, minimum=0)
            if not isinstance(model, SavedModel):
                if layer >= len(model):
                    reader.fail(layer_at, f"the model has {len(model)} layers; no layer {layer}")
                if not _recurrent_inside(model[layer]):
                    reader.fail(
                        layer_at,
                        f"model[{layer}] is a {model[layer].class_name}; a candidate implements"
                        " a recurrent layer (GRU, LSTM, SimpleRNN or a Bidirectional one)",
                    )
    expect: Literal["match", "mismatch"] = "match"
    if "expect" in written:
        expect = reader.choice((*at, "expect"), ("match", "mismatch"))
    diagnosis = None
    if "diagnosis" in written:
        from pytest_rnnparity.reference.mistakes import MISTAKE_NAMES

        diagnosis_at: KeyPath = (*at, "diagnosis")
        if expect != "mismatch":
            reader.fail(diagnosis_at, "applies with expect: mismatch only", at_key=True)
        names = reader.get(diagnosis_at)
        if not isinstance(names, list) or not names:
            reader.fail(diagnosis_at, f"expected a list of mistake names, got {describe(names)}")
        for index, name in enumerate(names):
            if name not in MISTAKE_NAMES:
                reader.fail(
                    (*diagnosis_at, index),
                    _unknown("mistake", str(name), MISTAKE_NAMES),
                )
        diagnosis = tuple(names)
    return CandidateOptions(
        function=function, layer=layer, expect=expect, diagnosis=diagnosis, line=line
    )


def _torch(reader: _Reader, model: tuple[LayerDecl, ...] | SavedModel) -> TorchOptions | None:
    at: KeyPath = ("torch",)
    value = reader.get(at)
    if isinstance(value, bool):
        if not value:
            return None
        written: dict[str, Any] = {}
    else:
        written = reader.fields(at, TORCH_KEYS, null_is_empty=True)
    limits = ToleranceLimits()
    if "tolerance" in written:
        tolerance_at: KeyPath = (*at, "tolerance")
        limits = _limits(reader, tolerance_at, reader.fields(tolerance_at, ("atol", "rtol")))
    if not isinstance(model, SavedModel):
        from pytest_rnnparity.torch_port import torch_problem

        for index, layer in enumerate(model):
            for wrapped, where in _torch_layers(layer, ("model", index)):
                problem = torch_problem(wrapped.class_name, wrapped.kwargs)
                if problem is not None:
                    key, text = problem
                    place = (*where, wrapped.class_name, key) if key in wrapped.kwargs else where
                    reader.fail(place, f"{text}; remove torch: or change the layer")
    return TorchOptions(tolerance=limits, line=reader.document.key_location(at).line)


def _torch_layers(layer: LayerDecl, at: KeyPath) -> list[tuple[LayerDecl, KeyPath]]:
    """The layer (or the layers a wrapper holds) with the key path of each."""
    if layer.class_name == "Bidirectional":
        inner = [(layer.kwargs["layer"], (*at, "Bidirectional", "layer"))]
        if "backward_layer" in layer.kwargs:
            inner.append((layer.kwargs["backward_layer"], (*at, "Bidirectional", "backward_layer")))
        return inner
    return [(layer, at)]


def _marks(reader: _Reader) -> tuple[str, ...]:
    at: KeyPath = ("marks",)
    marks = reader.get(at)
    if not isinstance(marks, list):
        reader.fail(at, f"expected a list of pytest mark names, got {describe(marks)}")
    for index, mark in enumerate(marks):
        if not isinstance(mark, str) or not mark.isidentifier():
            reader.fail(
                (*at, index),
                f"expected a pytest mark name (a Python identifier), got {describe(mark)}",
            )
    return tuple(marks)


def _golden(reader: _Reader) -> GoldenOptions:
    at: KeyPath = ("golden",)
    golden = reader.fields(at, GOLDEN_KEYS)
    defaults = GoldenOptions()
    return GoldenOptions(
        sequences=(
            reader.integer((*at, "sequences"), minimum=0)
            if "sequences" in golden
            else defaults.sequences
        ),
        summaries=(
            reader.boolean((*at, "summaries")) if "summaries" in golden else defaults.summaries
        ),
        traces=(
            reader.choice((*at, "traces"), ("all", "hidden"))
            if "traces" in golden
            else defaults.traces
        ),
        max_values=(
            reader.integer((*at, "max_values"), minimum=1, maximum=MAX_GOLDEN_VALUES)
            if "max_values" in golden
            else defaults.max_values
        ),
    )
