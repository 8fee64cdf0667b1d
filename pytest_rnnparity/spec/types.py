"""What a validated spec is made of: the limits, the keys each section allows, and the
frozen dataclasses that :func:`~pytest_rnnparity.spec.load_specs` returns.

The key tuples double as the vocabulary for error suggestions and for the fuzzing tests;
nothing here reads YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

from pytest_rnnparity.errors import SpecError
from pytest_rnnparity.spec.yaml_loader import parse_path, render_path

Scale = Literal["minmax", "standard", "none"]
SyntheticKind = Literal["sine", "random_walk", "normal"]
DType = Literal["float32", "float64"]
#: The groups a tolerance applies to: hidden states and gates, LSTM cell states, layer outputs.
ToleranceGroup = Literal["hidden", "cell", "output"]
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
#: A spec id names its golden file ``<id>.golden``, written through a temporary
#: ``.<id>.golden.<random>.tmp``: with a name of at most 100 bytes (UTF-8) and a variant
#: id of at most 120, the temporary name stays within the 255 bytes file systems allow.
MAX_NAME_BYTES = 100
MAX_VARIANT_ID_BYTES = 120
#: A CSV file larger than this is refused before it is read (and it is read as a stream).
MAX_CSV_BYTES = 50_000_000
#: The longest time limit an item may have, in seconds (a day).
MAX_TIMEOUT = 86_400

# fmt: off
TOP_LEVEL_KEYS = (
    "name", "description", "seed", "data", "lookback", "model", "weights", "dtype", "tolerance",
    "stateful", "marks", "golden", "paths", "matrix", "candidate", "torch", "timeout",
)
PATH_KEYS = (
    "backend", "implementation", "unroll", "use_cudnn", "run_eagerly", "runtime", "quantize",
    "tolerance",
)
#: Deployment runtimes an execution path can run the converted model in, and how a
#: TFLite artifact may be quantized.
RUNTIMES = ("onnx", "tflite")
QUANTIZATIONS = ("dynamic", "int8")
CANDIDATE_KEYS = ("function", "layer", "expect", "diagnosis")
TORCH_KEYS = ("tolerance",)
BACKENDS = ("tensorflow", "jax", "torch", "numpy")
DATA_KEYS = ("features", "target", "csv", "synthetic", "scale", "stride", "batch", "time")
TIME_KEYS = ("column",)
TARGET_KEYS = ("name", "linear", "noise_std", "values", "column")
CSV_KEYS = ("path", "features", "target")
SYNTHETIC_KEYS = ("kind", "length", "features")
TOLERANCE_KEYS = ("atol", "rtol", "hidden", "cell", "output")
TOLERANCE_GROUPS: tuple[ToleranceGroup, ...] = ("hidden", "cell", "output")
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

# -- the functional form (model: {layers: {...}, outputs: [...]}, data: {inputs: {...}})
#: The keys of ``model:`` in the functional form, of one of its layers, of ``data:`` there
#: and of one model input's data.
GRAPH_KEYS = ("layers", "outputs")
NODE_KEYS = ("inputs", "initial_state", "use_causal_mask")
GRAPH_DATA_KEYS = ("inputs", "stride", "batch")
INPUT_KEYS = ("features", "target", "csv", "synthetic", "tokens", "scale", "lookback")
TOKEN_KEYS = (
    "vocabulary", "sequences", "length", "min_length", "padding", "classes", "path", "labels",
)
#: Which side of a token sequence its padding (id 0) goes: ``right`` is Keras'
#: ``pad_sequences(padding="post")``, ``left`` its ``"pre"``, ``mixed`` a seeded side per row.
PADDINGS = ("right", "left", "mixed")
#: At most this many token ids (``Embedding.input_dim``, ``tokens.vocabulary``).
MAX_VOCABULARY = 10_000_000
#: At most this many token sequences, and steps in one, in a token input.
MAX_SEQUENCES = 1_000_000
MAX_SEQUENCE_LENGTH = 100_000
#: A token file (``.csv`` or ``.npy``) larger than this is refused before it is read.
MAX_TOKEN_FILE_BYTES = 50_000_000
RNN_CELLS = ("GRUCell", "LSTMCell", "SimpleRNNCell")
_CELL_ARGUMENTS = (
    "units", "activation", "use_bias", "dropout", "recurrent_dropout", "kernel_initializer",
    "recurrent_initializer", "bias_initializer",
)
#: The cells ``RNN: {cell: [...]}`` stacks (``StackedRNNCells``) and their arguments.
CELL_ARGUMENTS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "GRUCell": (*_CELL_ARGUMENTS, "recurrent_activation", "reset_after"),
    "LSTMCell": (*_CELL_ARGUMENTS, "recurrent_activation", "unit_forget_bias"),
    "SimpleRNNCell": _CELL_ARGUMENTS,
})
_POOLING = ("pool_size", "strides", "padding", "name")
_GLOBAL_POOLING = ("keepdims", "name")
_NORMALIZATION = ("axis", "epsilon", "center", "scale", "name")
#: The layers of the functional form and their arguments: the chain's
#: (:data:`LAYER_ARGUMENTS`) and the layers around recurrent ones. A layer's ``name`` is
#: its key under ``model.layers``; ``name:`` stays for a layer a wrapper holds.
GRAPH_LAYER_ARGUMENTS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    **LAYER_ARGUMENTS,
    "Embedding": ("input_dim", "output_dim", "mask_zero", "embeddings_initializer", "name"),
    "Conv1D": (
        "filters", "kernel_size", "strides", "padding", "dilation_rate", "groups", "activation",
        "use_bias", "kernel_initializer", "bias_initializer", "name",
    ),
    "MaxPooling1D": _POOLING,
    "AveragePooling1D": _POOLING,
    "GlobalAveragePooling1D": _GLOBAL_POOLING,
    "GlobalMaxPooling1D": _GLOBAL_POOLING,
    "Flatten": ("name",),
    "Reshape": ("target_shape", "name"),
    "Permute": ("dims", "name"),
    "RepeatVector": ("n", "name"),
    "Activation": ("activation", "name"),
    "ZeroPadding1D": ("padding", "name"),
    "Cropping1D": ("cropping", "name"),
    "UpSampling1D": ("size", "name"),
    "LayerNormalization": _NORMALIZATION,
    "BatchNormalization": (*_NORMALIZATION[:-1], "momentum", "name"),
    "Concatenate": ("axis", "name"),
    "Add": ("name",),
    "Subtract": ("name",),
    "Multiply": ("name",),
    "Average": ("name",),
    "Maximum": ("name",),
    "Minimum": ("name",),
    "Dot": ("axes", "normalize", "name"),
    "Attention": ("use_scale", "score_mode", "dropout", "name"),
    "AdditiveAttention": ("use_scale", "dropout", "name"),
    "MultiHeadAttention": (
        "num_heads", "key_dim", "value_dim", "dropout", "use_bias", "kernel_initializer",
        "bias_initializer", "name",
    ),
    "RNN": (
        "cell", "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
        "zero_output_for_mask", "name",
    ),
    "ConvLSTM1D": (
        "filters", "kernel_size", "strides", "padding", "dilation_rate", "activation",
        "recurrent_activation", "use_bias", "unit_forget_bias", "dropout", "recurrent_dropout",
        "return_sequences", "return_state", "go_backwards", "stateful", "kernel_initializer",
        "recurrent_initializer", "bias_initializer", "name",
    ),
})
#: Layers that take several inputs (``inputs: [a, b]``).
MERGE_LAYERS = (
    "Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Dot",
)
ATTENTION_LAYERS = ("Attention", "AdditiveAttention", "MultiHeadAttention")
#: Layers whose steps the reference traces: what makes a model worth checking.
STEPPING_LAYERS = (*RECURRENT_LAYERS, "Bidirectional", "RNN", "ConvLSTM1D")
# fmt: on


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


@dataclass(frozen=True)
class TimeColumn:
    """``data.time: {column: NAME}``: each row is labelled with the text of a CSV column."""

    column: str


#: ``data.time``: the unit rows are counted in (``step``, ``day``, ``hour``: Day 1, Day 2,
#: ...), or a CSV column whose text labels each row.
TimeOption: TypeAlias = str | TimeColumn


@dataclass(frozen=True, kw_only=True)
class DataOptions:
    """What every data source shares: scaling, which windows to cut, and how rows are named.

    ``time`` only labels what a person reads (``explain``, plots): it is left out of the
    spec's ``content_hash``, so naming the unit never invalidates a golden.
    """

    scale: Scale = "minmax"
    stride: int = 1
    batch: int | None = None
    time: TimeOption = field(default="step", metadata={"hashed": False})


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

#: Which side of a token sequence its padding goes (see :data:`PADDINGS`).
Padding = Literal["right", "left", "mixed"]


@dataclass(frozen=True, kw_only=True)
class SyntheticTokens:
    """``tokens: {vocabulary, sequences, length, ...}``: seeded integer token sequences.

    Row ``i`` holds ``lengths[i]`` ids drawn uniformly from ``1 .. vocabulary - 1``, its
    length drawn from ``min_length .. length``, padded with id 0 to ``length`` on the
    ``padding`` side; its label (the target) is drawn from ``0 .. classes - 1``.
    """

    vocabulary: int
    sequences: int
    length: int
    min_length: int
    padding: Padding
    classes: int


@dataclass(frozen=True)
class TokenLabels:
    """The labels file of a token file: one integer per sequence (``.csv`` or ``.npy``)."""

    path: Path
    declared: str


@dataclass(frozen=True, kw_only=True)
class TokenFile:
    """``tokens: {path: ids.csv | ids.npy, ...}``: token ids read from a file.

    A ``.csv`` holds one sequence per line (integer ids, no header; lines may differ in
    length and are padded with 0 to ``length`` on the ``padding`` side); a ``.npy`` one
    integer array ``(sequences, length)`` (its ``length`` read from the file's header).
    Without ``labels`` the labels are drawn as for :class:`SyntheticTokens`.
    """

    path: Path
    declared: str
    length: int
    padding: Padding
    vocabulary: int | None
    classes: int
    labels: TokenLabels | None = None


TokenSource: TypeAlias = SyntheticTokens | TokenFile


@dataclass(frozen=True)
class ModelInput:
    """One input of a functional model (``data.inputs.<name>``) and its data.

    A series input (``features``, ``csv`` or ``synthetic``) is cut into windows of
    ``lookback`` rows as the chain's data is; a token input (``tokens``) gives one
    sequence per row and has no lookback.
    """

    name: str
    data: DataSource | TokenSource
    lookback: int | None
    line: int = 0

    @property
    def is_tokens(self) -> bool:
        """Whether the input holds integer token ids (``tokens:``)."""
        return isinstance(self.data, SyntheticTokens | TokenFile)


@dataclass(frozen=True)
class GraphData:
    """``data: {inputs: {...}, stride, batch}``: the data of each input of a functional model.

    ``stride`` and ``batch`` apply to every input (stride to series inputs only), so that
    every input gives the same number of rows.
    """

    inputs: tuple[ModelInput, ...]
    stride: int = 1
    batch: int | None = None

    def input(self, name: str) -> ModelInput:
        """The input named ``name``."""
        return next(model_input for model_input in self.inputs if model_input.name == name)


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
class LayerNode:
    """One layer of the functional form (``model.layers.<name>``) and what it reads.

    ``inputs`` and ``initial_state`` are references: a model input's name, a layer's
    name (its output), or ``layer.part`` for one of a layer's outputs (``encoder.state_h``;
    see :mod:`pytest_rnnparity.spec.graph`). ``use_causal_mask`` is passed to an attention
    layer's call.
    """

    name: str
    layer: LayerDecl
    inputs: tuple[str, ...]
    initial_state: tuple[str, ...] = ()
    use_causal_mask: bool | None = None
    line: int = 0


@dataclass(frozen=True)
class ModelGraph:
    """``model: {layers: {...}, outputs: [...]}``: a functional Keras model.

    ``inputs`` are the model's inputs (the names under ``data.inputs``, in that order),
    ``layers`` the layers as written, ``order`` their names in an order where each layer
    comes after what it reads, ``outputs`` the model's outputs (references).
    """

    inputs: tuple[str, ...]
    layers: tuple[LayerNode, ...]
    outputs: tuple[str, ...]
    order: tuple[str, ...]

    def node(self, name: str) -> LayerNode:
        """The layer named ``name``."""
        return next(node for node in self.layers if node.name == name)


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
class ToleranceOptions:
    """``tolerance:``: overall limits plus optional limits per tolerance group.

    How they combine with the dtype default and other limits is
    :func:`pytest_rnnparity.check.tolerance.resolve_tolerances`.
    """

    atol: float | None = None
    rtol: float | None = None
    hidden: ToleranceLimits = ToleranceLimits()
    cell: ToleranceLimits = ToleranceLimits()
    output: ToleranceLimits = ToleranceLimits()

    @property
    def overall(self) -> ToleranceLimits:
        """The limits written for every group (``tolerance.atol``, ``tolerance.rtol``)."""
        return ToleranceLimits(atol=self.atol, rtol=self.rtol)

    def group(self, group: ToleranceGroup) -> ToleranceLimits:
        """The limits written for ``group`` alone (``tolerance.hidden`` ...)."""
        limits: ToleranceLimits = getattr(self, group)
        return limits


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
    those mistakes explain it (see :mod:`pytest_rnnparity.reference.recurrent.mistakes`).
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
    ``tf.function`` graph (false) whatever the sequence length. ``runtime``
    converts the model to an ONNX or TFLite artifact and runs that (``quantize``:
    TFLite dynamic-range or int8; ``unroll`` then says how the recurrent layers are
    converted, by default unrolled for TFLite). ``tolerance`` overrides the spec's for
    this path (and a quantized artifact's budget).
    """

    backend: str | None = None
    implementation: int | None = None
    unroll: bool | None = None
    use_cudnn: bool | None = None
    run_eagerly: bool | None = None
    runtime: Literal["onnx", "tflite"] | None = None
    quantize: Literal["dynamic", "int8"] | None = None
    tolerance: ToleranceLimits = ToleranceLimits()
    line: int = 0

    @property
    def id(self) -> str:
        """``backend=jax-unroll=true``: the item's suffix, in key order (a runtime path's
        runtime first: ``runtime=tflite-quantize=int8-unroll=false``)."""
        parts = []
        keys: tuple[str, ...] = PATH_KEYS[:-1]
        if self.runtime is not None:
            keys = ("runtime", "quantize", "unroll")
        for key in keys:
            value = getattr(self, key)
            if value is not None:
                text = str(value).lower() if isinstance(value, bool) else str(value)
                parts.append(f"{key}={text}")
        return "-".join(parts)

    def layer_overrides(self) -> dict[str, Any]:
        """The recurrent-layer arguments this path sets (none for a runtime path: its
        ``unroll`` is how the artifact is converted)."""
        if self.runtime is not None:
            return {}
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
    #: The chain's one data source, or a functional model's data per input.
    data: DataSource | GraphData
    #: The chain's window length; for a functional model, the default of its series inputs
    #: (0 when the spec gives none: then every series input gives its own).
    lookback: int
    model: tuple[LayerDecl, ...] | SavedModel | ModelGraph
    weights: Literal["seeded", "keras"] | WeightsFile
    dtype: DType
    tolerance: ToleranceOptions
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
    #: Seconds each of the spec's items may run (``timeout:``); None: the ini's limit.
    timeout: float | None = None
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
