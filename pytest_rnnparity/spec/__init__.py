"""YAML spec files -> validated, frozen dataclasses.

A spec names the data, the lookback window, the model and how to compare; see
``spec_schema.json`` (printed by ``python -m pytest_rnnparity schema``) for every key.
Parsing is done by :mod:`pytest_rnnparity.spec.yaml_loader`, which keeps the ``line:column`` of
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

This package re-exports the public names of its modules: :mod:`.types` (limits, allowed
keys, the frozen dataclasses), :mod:`.reader` (reading values with located errors),
:mod:`.matrix` (variants), one module per section (:mod:`.data`, :mod:`.layers` for
``model:``, :mod:`.options` for the rest) and :mod:`.load` (:func:`load_specs`).
"""

from __future__ import annotations

from pytest_rnnparity.spec.data import layer_weights, size_problem, widths
from pytest_rnnparity.spec.load import display_path, load_specs, resolved_display_path, schema_text
from pytest_rnnparity.spec.options import CANDIDATE_PATTERN
from pytest_rnnparity.spec.types import (
    ACTIVATIONS,
    BACKENDS,
    CANDIDATE_KEYS,
    CSV_KEYS,
    DATA_KEYS,
    GOLDEN_KEYS,
    INITIALIZERS,
    LAYER_ARGUMENTS,
    MAX_CSV_BYTES,
    MAX_GOLDEN_VALUES,
    MAX_NAME_BYTES,
    MAX_RUN_VALUES,
    MAX_SEED,
    MAX_SPEC_BYTES,
    MAX_SYNTHETIC_FEATURES,
    MAX_SYNTHETIC_LENGTH,
    MAX_SYNTHETIC_VALUES,
    MAX_TIMEOUT,
    MAX_UNITS,
    MAX_VARIANT_ID_BYTES,
    MAX_VARIANTS,
    MAX_WEIGHTS,
    MERGE_MODES,
    PATH_KEYS,
    QUANTIZATIONS,
    RECURRENT_LAYERS,
    RUNTIMES,
    SYNTHETIC_KEYS,
    TARGET_KEYS,
    TOLERANCE_GROUPS,
    TOLERANCE_KEYS,
    TOP_LEVEL_KEYS,
    TORCH_KEYS,
    CandidateOptions,
    ColumnTarget,
    CsvData,
    DataOptions,
    DataSource,
    DType,
    ExecutionPath,
    GoldenOptions,
    InlineData,
    LayerDecl,
    LinearTarget,
    SavedModel,
    Scale,
    Spec,
    SyntheticData,
    SyntheticKind,
    Target,
    ToleranceGroup,
    ToleranceLimits,
    ToleranceOptions,
    TorchOptions,
    Traces,
    ValuesTarget,
    WeightsFile,
    one_line,
)

__all__ = [
    "ACTIVATIONS",
    "BACKENDS",
    "CANDIDATE_KEYS",
    "CANDIDATE_PATTERN",
    "CSV_KEYS",
    "DATA_KEYS",
    "GOLDEN_KEYS",
    "INITIALIZERS",
    "LAYER_ARGUMENTS",
    "MAX_CSV_BYTES",
    "MAX_GOLDEN_VALUES",
    "MAX_NAME_BYTES",
    "MAX_RUN_VALUES",
    "MAX_SEED",
    "MAX_SPEC_BYTES",
    "MAX_SYNTHETIC_FEATURES",
    "MAX_SYNTHETIC_LENGTH",
    "MAX_SYNTHETIC_VALUES",
    "MAX_TIMEOUT",
    "MAX_UNITS",
    "MAX_VARIANTS",
    "MAX_VARIANT_ID_BYTES",
    "MAX_WEIGHTS",
    "MERGE_MODES",
    "PATH_KEYS",
    "QUANTIZATIONS",
    "RECURRENT_LAYERS",
    "RUNTIMES",
    "SYNTHETIC_KEYS",
    "TARGET_KEYS",
    "TOLERANCE_GROUPS",
    "TOLERANCE_KEYS",
    "TOP_LEVEL_KEYS",
    "TORCH_KEYS",
    "CandidateOptions",
    "ColumnTarget",
    "CsvData",
    "DType",
    "DataOptions",
    "DataSource",
    "ExecutionPath",
    "GoldenOptions",
    "InlineData",
    "LayerDecl",
    "LinearTarget",
    "SavedModel",
    "Scale",
    "Spec",
    "SyntheticData",
    "SyntheticKind",
    "Target",
    "ToleranceGroup",
    "ToleranceLimits",
    "ToleranceOptions",
    "TorchOptions",
    "Traces",
    "ValuesTarget",
    "WeightsFile",
    "display_path",
    "layer_weights",
    "load_specs",
    "one_line",
    "resolved_display_path",
    "schema_text",
    "size_problem",
    "widths",
]
