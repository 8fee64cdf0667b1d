"""The bad-input corpus (``corpus/``): every file and the one error it must give, verbatim.

The corpus is checked as ``specs/`` of a project (see ``conftest.copy_corpus``), so the
messages name ``specs/<case>.yaml``. Each file's first line says what is wrong with it.
"""

from __future__ import annotations

EXPECTED: dict[str, str] = {
    # -- YAML syntax and structure
    "yaml_unclosed_bracket.yaml": (
        "specs/yaml_unclosed_bracket.yaml:6:9: invalid YAML: the list opened at line 5,"
        " column 8 is not closed: expected ',' or ']', but got ':'"
    ),
    "yaml_unclosed_quote.yaml": (
        "specs/yaml_unclosed_quote.yaml:2:7: invalid YAML: this quoted string is never closed"
    ),
    "yaml_bad_indentation.yaml": (
        "specs/yaml_bad_indentation.yaml:7:5: invalid YAML: the indentation of this line"
        " does not fit the mapping that starts at line 4, column 3; the entries of one"
        " mapping line up in one column"
    ),
    "yaml_colon_in_value.yaml": (
        "specs/yaml_colon_in_value.yaml:2:21: invalid YAML: ':' is not allowed here; quote a"
        " value that contains ': ', and check the indentation of this line"
    ),
    "tab_indentation.yaml": (
        "specs/tab_indentation.yaml:5:1: tab character in indentation; YAML indents with"
        " spaces only"
    ),
    "duplicate_key.yaml": (
        "specs/duplicate_key.yaml:11:1: duplicate key 'lookback' (first defined at line 8)"
    ),
    "duplicate_nested_key.yaml": (
        "specs/duplicate_nested_key.yaml:10:21: duplicate key 'units' (first defined at line"
        " 10, column 11)"
    ),
    "undefined_alias.yaml": (
        "specs/undefined_alias.yaml:5:8: invalid YAML: the alias *columns refers to no"
        " anchor &columns defined before it"
    ),
    "merge_key.yaml": (
        "specs/merge_key.yaml:13:3: merge keys (<<) are not supported; repeat the values or"
        " use matrix:"
    ),
    "two_documents.yaml": (
        "specs/two_documents.yaml:11:1: more than one YAML document; a spec file holds exactly one"
    ),
    "empty_file.yaml": (
        "specs/empty_file.yaml: the file holds no YAML document; expected a mapping with"
        " data, lookback and model"
    ),
    "top_level_list.yaml": (
        "specs/top_level_list.yaml:2:1: the top level must be a mapping of keys such as"
        " data, lookback and model, got a list"
    ),
    "not_utf8.yaml": (
        "specs/not_utf8.yaml:2:6: the spec is not UTF-8 text (byte 0xe9); save it as UTF-8"
    ),
    # -- hostile YAML
    "python_tag.yaml": (
        "specs/python_tag.yaml:11:14: explicit YAML tags are not allowed, found"
        " !!python/object/apply:os.system"
    ),
    "python_object_tag.yaml": (
        "specs/python_object_tag.yaml:11:14: explicit YAML tags are not allowed, found"
        " !!python/object:collections.OrderedDict"
    ),
    "billion_laughs.yaml": (
        "specs/billion_laughs.yaml:6:4: aliases expand to more than 10000 nodes; refusing to load"
    ),
    "deep_nesting.yaml": ("specs/deep_nesting.yaml:2:78: collections nest deeper than 64 levels"),
    # -- keys
    "unknown_key.yaml": (
        "specs/unknown_key.yaml:8:1: unknown key 'lookbak'; did you mean 'lookback'?"
    ),
    "unknown_layer_argument.yaml": (
        "specs/unknown_layer_argument.yaml:10:21: model[0].GRU: unknown GRU argument"
        " 'reset_afterr'; did you mean 'reset_after'?"
    ),
    "unsupported_argument.yaml": (
        "specs/unsupported_argument.yaml:10:21: model[0].GRU: unknown GRU argument"
        " 'time_major'; expected one of: units, activation, use_bias, return_sequences,"
        " return_state, go_backwards, stateful, unroll, dropout, recurrent_dropout,"
        " zero_output_for_mask, kernel_initializer, recurrent_initializer, bias_initializer,"
        " name, recurrent_activation, reset_after, implementation"
    ),
    "argument_of_another_layer.yaml": (
        "specs/argument_of_another_layer.yaml:11:23: model[1].Dense: Dense does not take"
        " 'return_sequences' (GRU, LSTM, SimpleRNN does)"
    ),
    "unsupported_layer.yaml": (
        "specs/unsupported_layer.yaml:10:5: model[0].Conv1D: Conv1D is a layer of the"
        " functional form only (model: {layers: {name: {Conv1D: {...}, inputs: ...}}}); a"
        " chain holds GRU, LSTM, SimpleRNN, Dense, Dropout, Masking, Bidirectional,"
        " TimeDistributed"
    ),
    "misspelled_layer.yaml": (
        "specs/misspelled_layer.yaml:10:5: model[0].GUR: unknown layer 'GUR'; did you mean 'GRU'?"
    ),
    "bidirectional_wraps_dense.yaml": (
        "specs/bidirectional_wraps_dense.yaml:10:29: model[0].Bidirectional.layer.Dense:"
        " Dense cannot be used here; expected one of: GRU, LSTM, SimpleRNN"
    ),
    "stack_needs_sequence.yaml": (
        "specs/stack_needs_sequence.yaml:11:5: model[1]: GRU needs a sequence but model[0]"
        " (GRU) returns only the last step; set return_sequences: true on model[0]"
    ),
    "missing_model.yaml": ("specs/missing_model.yaml:2:1: missing required key 'model'"),
    "missing_units.yaml": (
        "specs/missing_units.yaml:10:10: model[0].GRU: missing required GRU argument 'units'"
    ),
    # -- wrong types
    "units_word.yaml": (
        "specs/units_word.yaml:10:18: model[0].GRU.units: expected a positive integer, got 'two'"
    ),
    "lookback_string.yaml": (
        "specs/lookback_string.yaml:8:11: lookback: expected a positive integer, got '2'"
    ),
    "seed_float.yaml": (
        "specs/seed_float.yaml:2:7: seed: expected a non-negative integer, got 1.5"
    ),
    "boolean_string.yaml": (
        "specs/boolean_string.yaml:10:39: model[0].GRU.return_sequences: expected true or"
        " false, got 'true'"
    ),
    "model_not_a_list.yaml": (
        "specs/model_not_a_list.yaml:9:8: model: expected a list of layers such as [{GRU:"
        " {units: 4}}, {Dense: {units: 1}}] or {path: model.keras}, got 'GRU'"
    ),
    "negative_tolerance.yaml": (
        "specs/negative_tolerance.yaml:11:19: tolerance.atol: expected a non-negative"
        " number, got -1e-06"
    ),
    "dropout_above_one.yaml": (
        "specs/dropout_above_one.yaml:10:30: model[0].GRU.dropout: expected a number in [0,"
        " 1), got 1.5"
    ),
    # -- sizes: zero, negative, huge (refused before anything is allocated)
    "units_zero.yaml": (
        "specs/units_zero.yaml:10:18: model[0].GRU.units: expected a positive integer, got 0"
    ),
    "units_negative.yaml": (
        "specs/units_negative.yaml:10:18: model[0].GRU.units: expected a positive integer, got -4"
    ),
    "units_huge.yaml": (
        "specs/units_huge.yaml:10:18: model[0].GRU.units: expected at most 65536, got 1000000000"
    ),
    "model_too_many_weights.yaml": (
        "specs/model_too_many_weights.yaml:10:5: model[0]: the model would hold about"
        " 12,885,491,712 weights up to this layer; at most 20,000,000: use fewer units"
    ),
    "synthetic_huge.yaml": (
        "specs/synthetic_huge.yaml:3:35: data.synthetic.length: expected at most 1000000,"
        " got 1000000000"
    ),
    "windows_too_large.yaml": (
        "specs/windows_too_large.yaml:4:11: lookback: 500,000 windows of 500,000 steps"
        " through layers up to 2 wide make 500,000,000,000 values per array; at most"
        " 20,000,000: set data.batch or data.stride, or shorten the lookback"
    ),
    "lookback_zero.yaml": (
        "specs/lookback_zero.yaml:8:11: lookback: expected a positive integer, got 0"
    ),
    "lookback_equals_rows.yaml": (
        "specs/lookback_equals_rows.yaml:8:11: lookback: expected a positive integer smaller"
        " than the number of rows (6), got 6"
    ),
    "lookback_beyond_csv_rows.yaml": (
        "specs/lookback_beyond_csv_rows.yaml:5:11: lookback: expected a positive integer"
        " smaller than the number of rows (6), got 9"
    ),
    "matrix_explosion.yaml": (
        "specs/matrix_explosion.yaml:12:3: matrix: expands to 320 variants; at most 256 allowed"
    ),
    "seed_huge.yaml": (
        "specs/seed_huge.yaml:2:7: seed: expected an integer of at most 100 digits, got one"
        " of 5,000"
    ),
    "units_huge_digits.yaml": (
        "specs/units_huge_digits.yaml:10:18: model[0].GRU.units: expected an integer of at"
        " most 100 digits, got one of 200"
    ),
    "name_too_long.yaml": (
        "specs/name_too_long.yaml:2:7: name: expected a name of at most 100 bytes (it names"
        " the golden file), got 300"
    ),
    "matrix_value_too_long.yaml": (
        "specs/matrix_value_too_long.yaml:11:24: matrix.description[1]: this value makes a"
        " variant id of 312 bytes; at most 120 are allowed (the id names the golden file)"
    ),
    "csv_huge.yaml": (
        "specs/csv_huge.yaml:3:15: data.csv.path: 'data/huge.csv' is 2,000,000,000 bytes; at"
        " most 50,000,000 are read: cut the rows the spec needs into a smaller file"
    ),
    "timeout_zero.yaml": (
        "specs/timeout_zero.yaml:10:10: timeout: expected a positive number of seconds, got 0"
    ),
    # -- runtime execution paths
    "path_quantize_without_runtime.yaml": (
        "specs/path_quantize_without_runtime.yaml:11:16: paths[0].quantize: quantize is for a"
        " runtime path: add runtime: tflite"
    ),
    "path_onnx_quantized.yaml": (
        "specs/path_onnx_quantized.yaml:11:31: paths[0].quantize: quantize is for runtime:"
        " tflite, not onnx"
    ),
    "path_runtime_with_backend.yaml": (
        "specs/path_runtime_with_backend.yaml:11:32: paths[0].backend: a runtime path converts"
        " the model as the spec builds it; backend does not apply (a runtime path takes"
        " quantize, unroll and tolerance)"
    ),
    "path_runtime_stateful.yaml": (
        "specs/path_runtime_stateful.yaml:12:15: paths[0].runtime: a runtime path runs every"
        " batch from a zero state; this spec is stateful: true"
    ),
    "path_runtime_unknown.yaml": (
        "specs/path_runtime_unknown.yaml:11:15: paths[0].runtime: expected one of onnx, tflite,"
        " got 'coreml'"
    ),
    # -- what pytest itself refuses
    "marks_parametrize.yaml": (
        "specs/marks_parametrize.yaml:10:15: marks[1]: pytest's parametrize mark needs"
        " argument names and values, which a spec cannot give; write the variants as matrix:"
    ),
    # -- data
    "data_empty.yaml": (
        "specs/data_empty.yaml:2:7: data: missing the data source: give features (inline"
        " columns), csv or synthetic"
    ),
    "column_empty.yaml": (
        "specs/column_empty.yaml:5:8: data.features.x: expected a non-empty list of numbers,"
        " got an empty list"
    ),
    "columns_different_lengths.yaml": (
        "specs/columns_different_lengths.yaml:6:8: data.features.z: column 'z' has 3 values"
        " but 'x' has 6; every column needs one value per row"
    ),
    "target_values_short.yaml": (
        "specs/target_values_short.yaml:6:29: data.target.values: expected 6 values (one per"
        " row), got 3"
    ),
    "nan_in_data.yaml": (
        "specs/nan_in_data.yaml:5:19: data.features.x[2]: expected a finite number, got .nan"
    ),
    "inf_in_data.yaml": (
        "specs/inf_in_data.yaml:5:25: data.features.x[3]: expected a finite number, got .inf"
    ),
    "inf_in_target.yaml": (
        "specs/inf_in_target.yaml:6:33: data.target.values[1]: expected a finite number, got -.inf"
    ),
    # -- CSV files
    "csv_missing.yaml": (
        "specs/csv_missing.yaml:3:15: data.csv.path: file not found: 'data/missing.csv'"
        " (paths are relative to the spec file)"
    ),
    "csv_directory.yaml": (
        "specs/csv_directory.yaml:3:15: data.csv.path: 'data' is a directory; name a file"
    ),
    "csv_not_text.yaml": (
        "specs/data/not_text.csv:2:1: the file is not UTF-8 text (byte 0xff); save it as UTF-8"
    ),
    "csv_wrong_column.yaml": (
        "specs/csv_wrong_column.yaml:3:49: data.csv.features[0]: column 'x' not found in"
        " specs/data/wrong_header.csv; did you mean 'X'?"
    ),
    "time_column_missing.yaml": (
        "specs/time_column_missing.yaml:5:18: data.time.column: column 'date' not found in"
        " specs/data/dated.csv; did you mean 'Date'?"
    ),
    "time_column_without_csv.yaml": (
        "specs/time_column_without_csv.yaml:6:9: data.time: {column: ...} names a CSV column;"
        " inline and synthetic data name the unit their rows are counted in, such as day"
    ),
    "time_unit_number.yaml": (
        "specs/time_unit_number.yaml:6:9: data.time: expected the unit the rows are counted in"
        " (a word such as day, hour or step) or, with csv, {column: NAME} of a column labelling"
        " each row, got 24"
    ),
    "csv_non_numeric.yaml": ("specs/data/non_numeric.csv:4: x: expected a number, got 'n/a'"),
    "csv_nan_cell.yaml": ("specs/data/nan_cell.csv:5: x: expected a finite number, got 'nan'"),
    "csv_ragged_row.yaml": ("specs/data/ragged.csv:4: expected 2 fields as in the header, got 1"),
    "csv_empty.yaml": (
        "specs/data/empty.csv: the file is empty; expected a header row naming the columns"
    ),
    "csv_header_only.yaml": ("specs/data/header_only.csv:1: no data rows below the header"),
    # -- paths out of the project
    "path_traversal.yaml": (
        "specs/path_traversal.yaml:3:15: data.csv.path: '../../etc/passwd' resolves outside"
        " the project root"
    ),
    "path_absolute.yaml": (
        "specs/path_absolute.yaml:3:15: data.csv.path: absolute paths are not allowed, got"
        " '/etc/passwd'; write the path relative to the spec file"
    ),
    "path_symlink_out.yaml": (
        "specs/path_symlink_out.yaml:3:15: data.csv.path: 'data/outside.csv' resolves"
        " outside the project root"
    ),
    "model_path_traversal.yaml": (
        "specs/model_path_traversal.yaml:9:15: model.path: '../../../../etc/passwd' resolves"
        " outside the project root"
    ),
    "weights_path_absolute.yaml": (
        "specs/weights_path_absolute.yaml:11:17: weights.path: absolute paths are not"
        " allowed, got '/root/.ssh/id_rsa'; write the path relative to the spec file"
    ),
    # -- matrix
    "matrix_names_nothing.yaml": (
        "specs/matrix_names_nothing.yaml:12:3: matrix.model[0].GRU.unitz:"
        " 'model[0].GRU.unitz' names nothing in the spec; did you mean 'model[0].GRU.units'?"
    ),
    "matrix_layer_out_of_range.yaml": (
        "specs/matrix_layer_out_of_range.yaml:12:3: matrix.model[3].GRU.units:"
        " 'model[3].GRU.units' names nothing in the spec (it has no model[3])"
    ),
    "matrix_bad_variant.yaml": (
        "specs/matrix_bad_variant.yaml:12:27: model[0].GRU.units: expected a positive"
        " integer, got -1 (matrix variant units=-1)"
    ),
    # -- Keras files and goldens: these load, and fail in a real run
    "lambda_model.yaml": (
        "specs/lambda_model.yaml:9:15: model.path: cannot load the model file"
        " specs/models/lambda.keras: it holds a Lambda layer, whose Python code is refused:"
        " models are loaded with safe_mode=True"
    ),
    "model_not_a_zip.yaml": (
        "specs/model_not_a_zip.yaml:9:15: model.path: specs/models/not_a_zip.keras is not a"
        " .keras file (a zip archive)"
    ),
    "weights_wrong_shape.yaml": (
        "specs/weights_wrong_shape.yaml:11:17: weights.path: cannot load the weights file"
        " specs/weights/gru3.weights.h5 into this model: the file has a weight of shape (1, 9)"
        " where the model's is (1, 6)"
    ),
    "saved_model_lookback.yaml": (
        "specs/saved_model_lookback.yaml:4:11: lookback: the model specs/models/gru_10x3.keras"
        " takes windows of 10 steps (input shape (None, 10, 3)), but lookback is 4"
    ),
    "saved_model_features.yaml": (
        "specs/saved_model_features.yaml:3:49: data.synthetic.features: the model"
        " specs/models/gru_10x3.keras takes 3 features per step (input shape (None, 10, 3)),"
        " but the data has 2"
    ),
    "corrupt_golden.yaml": (
        "golden/corrupt_golden/corrupt_golden.golden:6: corrupt golden file: array"
        " 'keras/gru/output': its rows do not match shape 4x2; fix or delete it, then"
        " re-record it with --snapshot-update"
    ),
    "golden_for_another_spec.yaml": (
        "golden/golden_for_another_spec/golden_for_another_spec.golden: the golden was"
        " recorded for spec 'power-gru', not 'golden_for_another_spec'"
    ),
    # -- the functional form (model: {layers: ...}, data: {inputs: ...})
    "graph_unknown_input.yaml": (
        "specs/graph_unknown_input.yaml:11:38: model.layers.lstm.inputs: unknown layer or"
        " input 'embeding'; did you mean 'embedding'?"
    ),
    "graph_cycle.yaml": (
        "specs/graph_cycle.yaml:11:63: model.layers.first.inputs: the layers read each other in"
        " a cycle: first reads second, second reads first"
    ),
    "graph_merge_shapes.yaml": (
        "specs/graph_merge_shapes.yaml:13:31: model.layers.merged.inputs: Add needs inputs of"
        " one shape (or of size 1 where they differ), but 'text' has shape (4,) and 'numbers'"
        " (3,)"
    ),
    "graph_state_units.yaml": (
        "specs/graph_state_units.yaml:12:68: model.layers.decoder.initial_state[0]: decoder"
        " starts from states of shape (8,); 'encoder.state_h' has shape (4,)"
    ),
    "graph_attention_features.yaml": (
        "specs/graph_attention_features.yaml:13:40: model.layers.attention.inputs: Attention"
        " compares query and key feature by feature, but 'text' has 4 features and 'numbers' 3"
    ),
    "graph_integer_to_float.yaml": (
        "specs/graph_integer_to_float.yaml:10:38: model.layers.lstm.inputs: 'tokens' holds"
        " integer token ids; LSTM computes on floats: read them through an Embedding"
    ),
    "graph_float_to_embedding.yaml": (
        "specs/graph_float_to_embedding.yaml:10:68: model.layers.embedding.inputs: Embedding"
        " looks up integer token ids but 'series' holds floats; give it a tokens: input"
    ),
    "graph_vocabulary.yaml": (
        "specs/graph_vocabulary.yaml:10:40: model.layers.embedding.Embedding.input_dim: the"
        " Embedding has rows for 10 ids, but data.inputs.tokens has a vocabulary of 20 (ids up"
        " to 19); set input_dim to at least 20"
    ),
    "graph_needs_sequence.yaml": (
        "specs/graph_needs_sequence.yaml:12:40: model.layers.second.inputs: LSTM needs a"
        " sequence (steps, features) but 'first' has shape (2,); set return_sequences: true on"
        " model.layers.first"
    ),
    "graph_state_not_returned.yaml": (
        "specs/graph_state_not_returned.yaml:12:68: model.layers.decoder.initial_state[0]:"
        " encoder returns only its output; set return_state: true on model.layers.encoder to"
        " read encoder.state_h"
    ),
    "graph_unused_layer.yaml": (
        "specs/graph_unused_layer.yaml:12:5: model.layers.gru: no model output depends on gru;"
        " read it from another layer or list it in model.outputs"
    ),
    "graph_kernel_too_long.yaml": (
        "specs/graph_kernel_too_long.yaml:12:46: model.layers.conv.Conv1D.kernel_size: Conv1D's"
        " kernel spans 7 steps but it reads only 6; use padding: same or a smaller window"
    ),
    "graph_rows_differ.yaml": (
        "specs/graph_rows_differ.yaml:6:5: data.inputs.series: gives 14 windows but"
        " data.inputs.tokens gives 6 sequences; every input needs one row per example: set"
        " data.batch to at most 6, or change their lengths"
    ),
    "graph_chain_data.yaml": (
        "specs/graph_chain_data.yaml:4:3: data: a functional model (model: {layers: ...})"
        " names its inputs: put each input's data under data.inputs.<name>, such as {inputs:"
        " {x: {synthetic: {kind: sine, length: 60}}}}"
    ),
    "graph_no_lookback.yaml": (
        "specs/graph_no_lookback.yaml:5:13: data.inputs.series: missing lookback: give"
        " data.inputs.series.lookback, or lookback: at the top level for every series input"
    ),
    "graph_layer_name_argument.yaml": (
        "specs/graph_layer_name_argument.yaml:9:27: model.layers.gru.GRU: the layer's name is"
        " its key under model.layers (gru); remove name:"
    ),
    "graph_windows_too_large.yaml": (
        "specs/graph_windows_too_large.yaml:5:5: data.inputs.series: 999,500 rows of shape (500,"
        " 10) make 4,997,500,000 values per array; at most 20,000,000: set data.batch or"
        " data.stride, or shorten the lookback"
    ),
    "tokens_csv_bad_id.yaml": (
        "specs/data/token_ids.csv:3: expected a token id (an integer >= 0) in field 2, got 'eight'"
    ),
}

#: Cases that need a run: Keras (a model or weights file the test writes, which some refuse
#: at load once it exists) or a golden file (``goldens/``).
NEEDS_A_RUN = frozenset(
    {
        "lambda_model.yaml",
        "model_not_a_zip.yaml",
        "weights_wrong_shape.yaml",
        "saved_model_lookback.yaml",
        "saved_model_features.yaml",
        "corrupt_golden.yaml",
        "golden_for_another_spec.yaml",
    }
)
