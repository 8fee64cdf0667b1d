"""Test vectors for ports: per-gate weights, inputs and per-step gate traces, as JSON, npz or C.

``rnnparity export SPEC --format json|npz|c-header OUT`` runs the spec, refuses to
export unless the reference agrees with Keras, and writes what a C, HLS or
microcontroller unit test needs to compare its own pass with, step by step. The layout
(the same names in every format; ``L`` is a layer's name, ``D`` a direction)::

    inputs                      (B, T, F)   the model's input windows
    outputs                     (B, ...)    the model's output (last layer)
    L/output                    (B, ...)    every layer's output
    L/D/kernel/<gate>           (F, U)      W of each gate, Keras' layout: x @ W
    L/D/recurrent_kernel/<gate> (U, U)      U of each gate: h_tm1 @ U
    L/D/input_bias/<gate>       (U,)        b_x (the only bias of an LSTM/SimpleRNN,
                                            and of a GRU with reset_after=False)
    L/D/recurrent_bias/<gate>   (U,)        b_h (GRU reset_after=True: bias row 1)
    L/D/inputs                  (B, T, F)   the layer's input, in processing order
    L/D/mask                    (B, T)      1 where a step is used (only if masked)
    L/D/initial_state/<state>   (B, U)      the state each window starts from
    L/D/trace/<name>            (B, T, U)   every step, in processing order
    L/D/final_state/<state>     (B, U)
    L/kernel, L/bias            (in, out)   Dense / TimeDistributed(Dense)

Gates are Keras' (GRU ``z, r, h``; LSTM ``i, f, c, o``; SimpleRNN ``h``); traces GRU
``update, reset, candidate, hidden``; LSTM ``input, forget, candidate, output, cell,
hidden``; SimpleRNN ``hidden``. ``D`` is ``forward`` (and ``backward`` for a
Bidirectional, whose inputs and traces are reversed in time: processing order). The
equations::

    GRU   z  = rec_act(x W_z + b_xz + h_tm1 U_z + b_hz)
          r  = rec_act(x W_r + b_xr + h_tm1 U_r + b_hr)
          hh = act(x W_h + b_xh + r * (h_tm1 U_h + b_hh))   reset_after=True
          hh = act(x W_h + b_xh + (r * h_tm1) U_h)          reset_after=False
          h  = z * h_tm1 + (1 - z) * hh
    LSTM  i, f, o = rec_act(x W_g + h_tm1 U_g + b_g);  g = act(x W_c + h_tm1 U_c + b_c)
          c = f * c_tm1 + i * g;  h = o * act(c)
    RNN   h = act(x W + h_tm1 U + b)

JSON nests the names (``arrays.gru.forward.kernel.z``), each leaf ``{"shape", "dtype",
"values"}``; npz keeps them flat (``gru/forward/kernel/z``) with ``meta`` a JSON string;
the C header has one ``static const float`` array per name (``/`` becomes ``_``, after
a prefix), a ``#define`` for every dimension (``<NAME>_DIM0``...) and for each layer's
configuration, and include guards.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.reference.types import (
    GATES,
    STATE_NAMES,
    Array,
    BidirectionalLayer,
    DenseLayer,
    LayerResult,
    MaskingLayer,
    ReferenceLayer,
    recurrent_directions,
)

if TYPE_CHECKING:
    from pytest_rnnparity.check.spec_run import SpecRun

FORMAT = "pytest-rnnparity test vectors"
VERSION = 1
FORMATS = ("json", "npz", "c-header")
#: The module docstring's layout, repeated in every exported file.
LAYOUT = (__doc__ or "").split("::", 1)[1].strip("\n").replace("``", "").replace("::", ":")


@dataclass(frozen=True)
class Vectors:
    """What is exported: ``meta`` (JSON-ready) and the arrays by name (see the layout)."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]


def _safe(name: str) -> str:
    return name.replace("/", "_")


def _initial_states(
    final_states: Mapping[str, Array], *, carried: bool, batch_size: int | None
) -> dict[str, Array]:
    """Zeros, or for a stateful layer each batch's start: the previous batch's final state."""
    states = {}
    for name, final in final_states.items():
        initial = np.zeros_like(final)
        if carried:
            step = batch_size or len(final)
            initial[step:] = final[:-step]
        states[name] = initial
    return states


def build_vectors(
    layers: Sequence[ReferenceLayer],
    reference: Sequence[LayerResult],
    inputs: Array,
    *,
    dtype: str,
    tolerance: Tolerance,
    layer_classes: Mapping[str, str] | None = None,
    sequences: int | None = None,
    batch_size: int | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> Vectors:
    """The test vectors of a reference run (see the module docstring for the names).

    Parameters
    ----------
    layers, reference, inputs
        The chain, its reference pass (with gate traces) and the model input ``(B, T, F)``.
    dtype
        The computation dtype; every array is stored in it (masks as uint8).
    tolerance
        What a port's unit test should allow (stored in ``meta``).
    sequences
        Keep the first windows only (rows of the batch); None keeps all.
    batch_size
        The model's fixed batch size (stateful models): the initial state of each batch
        is the final state of the one before.
    provenance
        More ``meta`` entries (spec, versions, how the reference was verified).
    """
    classes = dict(layer_classes or {})
    rows = slice(None) if sequences is None else slice(0, sequences)
    cast = np.dtype(dtype)
    arrays: dict[str, np.ndarray] = {}

    def put(name: str, value: Any, kind: Any = cast) -> None:
        arrays[name] = np.ascontiguousarray(np.asarray(value, dtype=kind))

    x = np.asarray(inputs)
    put("inputs", x[rows])
    last = reference[-1].output
    if not isinstance(last, tuple):
        put("outputs", np.asarray(last)[rows])
    described: list[dict[str, Any]] = []
    current_mask = None
    for index, (spec, result) in enumerate(zip(layers, reference, strict=True)):
        name = _safe(spec.name)
        layer_input = x if index == 0 else reference[index - 1].output
        entry: dict[str, Any] = {"name": spec.name, "class": classes.get(spec.name, "")}
        if not isinstance(result.output, tuple):
            put(f"{name}/output", np.asarray(result.output)[rows])
        if isinstance(spec, DenseLayer):
            entry.update(
                activation=spec.activation or "linear", time_distributed=spec.time_distributed
            )
            put(f"{name}/kernel", spec.kernel)
            if spec.bias is not None:
                put(f"{name}/bias", spec.bias)
        elif isinstance(spec, MaskingLayer):
            entry["mask_value"] = spec.mask_value
        directions = recurrent_directions(spec)
        if isinstance(spec, BidirectionalLayer):
            entry["merge_mode"] = spec.merge_mode
        if directions:
            entry["directions"] = {}
        for direction, layer in directions:
            prefix = f"{name}/{direction}"
            cell = layer.cell
            weights = layer.weights
            entry["directions"][direction] = {
                "kind": cell.kind,
                "units": cell.units,
                "features": weights.features,
                "gates": list(GATES[cell.kind]),
                "activation": cell.activation or "linear",
                "recurrent_activation": cell.recurrent_activation,
                "use_bias": cell.use_bias,
                "reset_after": cell.reset_after if cell.kind == "gru" else None,
                "go_backwards": layer.go_backwards,
                "stateful": layer.stateful,
            }
            for part in ("kernel", "recurrent_kernel", "input_bias", "recurrent_bias"):
                per_gate = getattr(weights, part)
                if per_gate is not None:
                    for gate in GATES[cell.kind]:
                        put(f"{prefix}/{part}/{gate}", per_gate[gate])
            processed = np.asarray(layer_input)
            mask = current_mask
            if layer.go_backwards:
                processed = processed[:, ::-1]
                mask = None if mask is None else mask[:, ::-1]
            put(f"{prefix}/inputs", processed[rows])
            if mask is not None:
                put(f"{prefix}/mask", np.asarray(mask)[rows], np.uint8)
            trace = result.directions[direction]
            initial = _initial_states(
                trace.final_states, carried=layer.stateful, batch_size=batch_size
            )
            for state in STATE_NAMES[cell.kind]:
                put(f"{prefix}/initial_state/{state}", initial[state][rows])
            for trace_name, values in trace.traces.items():
                put(f"{prefix}/trace/{trace_name}", values[rows])
            for state, values in trace.final_states.items():
                put(f"{prefix}/final_state/{state}", values[rows])
        described.append(entry)
        current_mask = result.mask
    batch, timesteps, features = arrays["inputs"].shape
    meta = {
        "format": FORMAT,
        "version": VERSION,
        **dict(provenance or {}),
        "dtype": str(cast),
        "tolerance": {"atol": tolerance.atol, "rtol": tolerance.rtol},
        "batch": int(batch),
        "timesteps": int(timesteps),
        "features": int(features),
        "layers": described,
    }
    return Vectors(meta=meta, arrays=arrays)


def vectors_of_run(run: SpecRun, *, sequences: int | None = None) -> Vectors:
    """The test vectors of a spec's run (its reference, checked against Keras)."""
    from pytest_rnnparity.check.spec_run import spec_tolerances
    from pytest_rnnparity.model.environment import capture

    spec = run.spec
    parity = run.parity
    largest = max((c.max_abs for c in parity.comparisons), default=0.0)
    environment = capture()
    return build_vectors(
        parity.chain("exporting test vectors"),
        parity.reference,
        parity.inputs,
        dtype=spec.dtype,
        tolerance=spec_tolerances(spec)["hidden"],
        layer_classes=parity.layer_classes,
        sequences=sequences,
        batch_size=1 if spec.stateful else None,
        provenance={
            "spec": spec.id,
            "spec_file": spec.display_path,
            "verified": f"the reference agrees with Keras {parity.keras_version} at every "
            f"step of every layer (max abs error {largest:.2e})",
            "environment": {k: environment[k] for k in sorted(environment)},
        },
    )


# ---------------------------------------------------------------------------- writers


def _nested(arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, array in arrays.items():
        node = tree
        *parents, leaf = name.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = {
            "shape": list(array.shape),
            "dtype": str(array.dtype),
            "values": array.tolist(),
        }
    return tree


def json_text(vectors: Vectors) -> str:
    """The vectors as JSON: ``format``, ``layout`` (lines), ``meta``, nested ``arrays``."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "layout": LAYOUT.splitlines(),
        "meta": vectors.meta,
        "arrays": _nested(vectors.arrays),
    }
    return json.dumps(document, indent=1, allow_nan=True) + "\n"


def write_npz(vectors: Vectors, path: Path) -> None:
    """The vectors as ``.npz``: flat names, plus ``meta`` (a JSON string with the layout)."""
    meta = json.dumps({**vectors.meta, "layout": LAYOUT.splitlines()})
    arrays: dict[str, Any] = {"meta": np.array(meta), **vectors.arrays}
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


def c_identifier(prefix: str, name: str) -> str:
    """``prefix_gru_forward_kernel_z``: the C name of an array (lower case)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{prefix}_{name}".replace("/", "_")).lower()


def _c_number(value: float, double: bool) -> str:
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INFINITY" if value > 0 else "-INFINITY"
    text = f"{value:.17g}" if double else f"{value:.9g}"
    if not any(ch in text for ch in ".e"):
        text += ".0"
    return text if double else text + "f"


def _c_values(array: np.ndarray, double: bool, indent: str) -> Iterator[str]:
    """The initializer lines of ``array``: nested braces, a short last axis on one line."""

    def numbers(row: np.ndarray) -> list[str]:
        if row.dtype == np.uint8:
            return [str(int(v)) for v in row]
        return [_c_number(float(v), double) for v in row]

    if array.ndim == 1:
        values = numbers(array)
        for start in range(0, len(values), 8):
            yield indent + ", ".join(values[start : start + 8]) + ","
    elif array.ndim == 2 and array.shape[1] <= 8:
        for row in array:
            yield indent + "{" + ", ".join(numbers(row)) + "},"
    else:
        for row in array:
            yield indent + "{"
            yield from _c_values(row, double, indent + "  ")
            yield indent + "},"


def c_header_text(vectors: Vectors, *, prefix: str = "rnnp") -> str:
    """The vectors as a C99 header (see the module docstring).

    Raises
    ------
    ValueError
        If ``prefix`` is not a C identifier or two names map to the same identifier.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", prefix):
        raise ValueError(f"the prefix must be a C identifier, got {prefix!r}")
    upper = prefix.upper()
    meta = vectors.meta
    guard = f"{upper}_TEST_VECTORS_H"
    lines = [
        f"/* {FORMAT}, version {VERSION}: spec '{meta.get('spec', '?')}'"
        f" ({meta.get('spec_file', '?')}).",
        f" * {meta.get('verified', '')}".rstrip(),
        " * Generated by `rnnparity export`; do not edit.",
        " *",
        *(f" * {line}".rstrip() for line in LAYOUT.replace("*/", "* /").splitlines()),
        " */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
    ]
    if any(not np.isfinite(a).all() for a in vectors.arrays.values() if a.dtype != np.uint8):
        lines += ["#include <math.h>", ""]
    tolerance = meta["tolerance"]
    lines += [
        f"#define {upper}_BATCH {meta['batch']}",
        f"#define {upper}_TIMESTEPS {meta['timesteps']}",
        f"#define {upper}_FEATURES {meta['features']}",
        f"#define {upper}_ATOL {tolerance['atol']!r}",
        f"#define {upper}_RTOL {tolerance['rtol']!r}",
        "",
    ]
    for layer in meta["layers"]:
        for direction, config in layer.get("directions", {}).items():
            name = c_identifier(prefix, f"{_safe(layer['name'])}/{direction}").upper()
            lines += [
                f"/* layer '{layer['name']}' ({layer['class']}), {direction} direction */",
                f"#define {name}_KIND_{config['kind'].upper()} 1",
                f"#define {name}_UNITS {config['units']}",
                f"#define {name}_FEATURES {config['features']}",
                f"#define {name}_USE_BIAS {int(config['use_bias'])}",
                f"#define {name}_GO_BACKWARDS {int(config['go_backwards'])}",
                f'#define {name}_ACTIVATION "{config["activation"]}"',
            ]
            if config["recurrent_activation"] is not None:
                lines.append(
                    f'#define {name}_RECURRENT_ACTIVATION "{config["recurrent_activation"]}"'
                )
            if config["reset_after"] is not None:
                lines.append(f"#define {name}_RESET_AFTER {int(config['reset_after'])}")
            lines.append("")
    seen: dict[str, str] = {}
    for key, array in vectors.arrays.items():
        identifier = c_identifier(prefix, key)
        if identifier in seen:
            raise ValueError(
                f"the arrays {seen[identifier]!r} and {key!r} both become {identifier} in C"
            )
        seen[identifier] = key
        macro = identifier.upper()
        double = array.dtype == np.float64
        c_type = "unsigned char" if array.dtype == np.uint8 else "double" if double else "float"
        dims = [f"{macro}_DIM{axis}" for axis in range(array.ndim)]
        lines += [f"#define {dim} {size}" for dim, size in zip(dims, array.shape, strict=True)]
        declaration = f"static const {c_type} {identifier}" + "".join(f"[{d}]" for d in dims)
        if array.ndim == 0:
            lines.append(f"{declaration} = {_c_number(float(array), double)};")
        else:
            lines.append(f"{declaration} = {{")
            lines.extend(_c_values(array, double, "  "))
            lines.append("};")
        lines.append("")
    lines.append(f"#endif /* {guard} */")
    return "\n".join(lines) + "\n"


def write_vectors(vectors: Vectors, path: Path, *, format: str, prefix: str = "rnnp") -> None:
    """Write ``vectors`` to ``path`` as ``json``, ``npz`` or ``c-header``."""
    if format == "json":
        path.write_text(json_text(vectors), encoding="utf-8")
    elif format == "npz":
        write_npz(vectors, path)
    elif format == "c-header":
        path.write_text(c_header_text(vectors, prefix=prefix), encoding="utf-8")
    else:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
