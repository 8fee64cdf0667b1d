"""A default tolerance for a quantized artifact, derived from its own quantization scales.

Every value of a quantized artifact is off from the float computation by rounding:
its own, that of the values it was computed from, and that carried over from
earlier steps through the state. The budget adds those up per quantity, in units
the artifact itself declares. It is a rule of thumb measured against the reference
(GRU, LSTM, SimpleRNN, 4 to 64 units, 5 to 20 steps, random weights, TF 2.21 /
LiteRT 2.3: the largest int8 error was half the budget, gates a tenth of it), not a
bound.

**int8** (full integer; ``s`` is a tensor's quantization step, ``scale``)::

    recurrent quantity q   atol = 6 s_q + 3 s_state + 2 s_in
    the layer's output     the budget of its hidden state
    Dense output           atol = 6 s_out + 2 s_in sqrt(fan_in) max|W|

``s_q``: the step of the tensor q is read from (the largest over the steps);
``s_state``: the largest step of the layer's states (hidden, cell); ``s_in``: the
step of what the layer reads (the model's input quantization for the first layer,
else the previous layer's ``s_state``).

**dynamic range** (int8 weights, float activations; the fully-connected ops quantize
their input per row on the fly): a step's pre-activation error adds, over the
layer's distinct quantized weight matrices ``W`` (``fan_in`` inputs, per-channel
step ``s_W``), the weight rounding and the input rounding::

    e_own = sum over W of sqrt(fan_in) (s_W rms|a| + max|a| / 127 rms|W|)
    atol  = e_own + spread x atol(previous layer)   (+ the float tolerance)

``rms|a|`` and ``max|a|`` are over the run's inputs and hidden states; ``spread =
sqrt(fan_in) max|W|`` over the layer's weights carries the previous layer's error
through (a Dense head whose weights stayed float32 still inherits it). Layers whose
weights the converter left in float32 (it quantizes only large tensors) add no
error of their own. Measured like the int8 rule: the largest error was about half
the budget (SimpleRNN), a tenth to a fifth for GRU and LSTM.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from pytest_rnnparity.runtimes.dataflow import Op
from pytest_rnnparity.runtimes.readout import Readout
from pytest_rnnparity.runtimes.scopes import Scopes
from pytest_rnnparity.runtimes.tflite_model import TFLiteModel, read_model

#: The float tolerance every budget starts from.
FLOAT_TOLERANCE = 1e-5
#: int8: steps of the quantity's own tensor, of the layer's states, of its input.
OWN_STEPS = 6.0
STATE_STEPS = 3.0
INPUT_STEPS = 2.0
#: dynamic range: multiple of the summed pre-activation error of a step.
DYNAMIC_FACTOR = 1.0

BudgetKey = tuple[str, str | None, str]  # layer, direction (None: layer output), quantity


@dataclass(frozen=True)
class Budget:
    """Per-quantity absolute tolerance; call it as ``budget(layer, direction, quantity)``.

    ``atols`` holds the derived values (keyed ``(layer, direction, quantity)``, the
    direction None for a layer's output); anything else gets ``default``.
    ``derivation`` says how each was reached, in the artifact's numbers.
    """

    quantization: str
    atols: Mapping[BudgetKey, float]
    default: float = FLOAT_TOLERANCE
    derivation: Mapping[BudgetKey, str] = field(default_factory=dict)

    def __call__(self, layer: str, direction: str | None, quantity: str) -> float:
        return self.atols.get((layer, direction, quantity), self.default)

    def describe(self) -> str:
        """One line per derived tolerance: ``layer (direction) quantity: atol = ...``."""
        lines = []
        for (layer, direction, quantity), atol in self.atols.items():
            where = f"{layer} ({direction})" if direction else layer
            how = self.derivation.get((layer, direction, quantity), "")
            lines.append(f"{where} {quantity}: {atol:.3g}" + (f" = {how}" if how else ""))
        return "\n".join(lines)


def _matrix(model: TFLiteModel, op: Op) -> tuple[np.ndarray, float | None] | None:
    """A fully-connected op's weights ``(out, in)`` in real units, and their largest
    per-channel int8 step (None when stored in float)."""
    if op.kind != "fully_connected" or len(op.inputs) < 2:
        return None
    weight = op.inputs[1]
    info = model.tensors.get(weight)
    data = model.constant_data.get(weight)
    if info is None or data is None or len(info.shape) != 2:
        return None
    if info.dtype == "int8" and info.quant is not None:
        return info.quant.dequantize(np.asarray(data)), float(np.max(info.quant.scale))
    if info.dtype == "float32":
        return np.asarray(data, dtype=np.float64), None
    return None


def _layer_matrices(
    readout: Readout, model: TFLiteModel
) -> dict[str, list[tuple[np.ndarray, float | None]]]:
    """Each layer's weight matrices, by the scope of the op that uses them."""
    scopes = Scopes(readout.artifact.manifest)
    flow = model.main
    last = readout.artifact.manifest.layers[-1].name
    outputs = {flow.canon(t) for t in flow.outputs} | set(flow.outputs)
    found: dict[str, list[tuple[np.ndarray, float | None]]] = {}
    seen: set[str] = set()
    for op in flow.ops:
        matrix = _matrix(model, op)
        if matrix is None or op.inputs[1] in seen:
            continue  # an unrolled layer applies the same weights at every step
        seen.add(op.inputs[1])
        place = scopes.resolve(op.name) if op.name else None
        layer = place.layer if place is not None else (last if outputs & set(op.outputs) else None)
        if layer is not None:
            found.setdefault(layer, []).append(matrix)
    return found


def _spread(matrices: list[tuple[np.ndarray, float | None]]) -> float:
    """How much an input error can grow through a layer: ``sqrt(fan_in) max|W|``."""
    return max(
        (math.sqrt(real.shape[1]) * float(np.max(np.abs(real))) for real, _ in matrices),
        default=1.0,
    )


def _input_step(model: TFLiteModel) -> float:
    """The quantization step of the model's input (the first quantize op after it)."""
    flow = model.main
    for tensor in flow.inputs:
        for op in flow.consumers(tensor):
            info = model.tensors.get(op.outputs[0]) if op.outputs else None
            if info is not None and info.quant is not None:
                return float(np.max(info.quant.scale))
    return 0.0


def _keys(readout: Readout, layer: str) -> list[BudgetKey]:
    keys: list[BudgetKey] = [(layer, None, "output")]
    for direction, read in readout.layer(layer).directions.items():
        keys += [(layer, direction, q) for q in read.traces]
        keys += [(layer, direction, f"final {s}") for s in read.final_states]
    return keys


def _int8_budget(readout: Readout, model: TFLiteModel) -> Budget:
    atols: dict[BudgetKey, float] = {}
    how: dict[BudgetKey, str] = {}
    matrices = _layer_matrices(readout, model)
    s_prev = _input_step(model)
    manifest = readout.artifact.manifest
    for index, info in enumerate(manifest.layers):
        layer = readout.layer(info.name)
        if not info.recurrent:
            last = index == len(manifest.layers) - 1
            s_out = readout.output_scales[0] if last and readout.output_scales else None
            if s_out:
                spread = _spread(matrices.get(info.name, []))
                atols[(info.name, None, "output")] = (
                    OWN_STEPS * s_out + INPUT_STEPS * s_prev * spread
                )
                how[(info.name, None, "output")] = (
                    f"{OWN_STEPS:g} x {s_out:.3g} + {INPUT_STEPS:g} x {s_prev:.3g} x {spread:.3g}"
                )
            continue
        s_layer = 0.0
        hidden_atol = 0.0
        for direction, read in layer.directions.items():
            states = [read.scales.get(q) for q in ("hidden", "cell", "final hidden", "final cell")]
            s_state = max((s for s in states if s), default=0.0)
            s_layer = max(s_layer, s_state)
            for quantity, s_q in read.scales.items():
                atols[(info.name, direction, quantity)] = (
                    OWN_STEPS * s_q + STATE_STEPS * s_state + INPUT_STEPS * s_prev
                )
                how[(info.name, direction, quantity)] = (
                    f"{OWN_STEPS:g} x {s_q:.3g} + {STATE_STEPS:g} x {s_state:.3g} "
                    f"+ {INPUT_STEPS:g} x {s_prev:.3g}"
                )
            hidden_atol = max(hidden_atol, atols.get((info.name, direction, "hidden"), 0.0))
        if hidden_atol:
            atols[(info.name, None, "output")] = hidden_atol
            how[(info.name, None, "output")] = "the budget of its hidden state"
        s_prev = s_layer or s_prev
    return Budget("int8", atols, derivation=how)


def _dynamic_budget(readout: Readout, model: TFLiteModel) -> Budget:
    atols: dict[BudgetKey, float] = {}
    how: dict[BudgetKey, str] = {}
    matrices = _layer_matrices(readout, model)
    values = [np.asarray(readout.inputs, dtype=np.float64).ravel()] + [
        np.asarray(read.traces["hidden"], dtype=np.float64).ravel()
        for layer in readout.layers
        for read in layer.directions.values()
        if "hidden" in read.traces
    ]
    joined = np.concatenate(values)
    joined = joined[~np.isnan(joined)]
    a_max = float(np.max(np.abs(joined), initial=0.0))
    a_rms = float(np.sqrt(np.mean(joined**2))) if joined.size else 0.0
    previous = 0.0
    for info in readout.artifact.manifest.layers:
        own = 0.0
        for real, step in matrices.get(info.name, []):
            if step is not None:
                w_rms = float(np.sqrt(np.mean(real**2)))
                own += math.sqrt(real.shape[1]) * (step * a_rms + a_max / 127.0 * w_rms)
        spread = _spread(matrices.get(info.name, []))
        carried = spread * previous
        atol = DYNAMIC_FACTOR * own + carried + FLOAT_TOLERANCE
        for key in _keys(readout, info.name):
            atols[key] = atol
            how[key] = (
                f"{DYNAMIC_FACTOR:g} x {own:.3g} + {spread:.3g} x {previous:.3g} "
                f"(+ {FLOAT_TOLERANCE:g})"
            )
        previous = atol - FLOAT_TOLERANCE
    return Budget("dynamic", atols, derivation=how)


def quantization_budget(readout: Readout) -> Budget:
    """The default tolerance of each quantity of ``readout`` (see the module docstring).

    Float artifacts (ONNX, TFLite float32) get the float tolerance everywhere.
    """
    artifact = readout.artifact
    if artifact.format != "tflite" or artifact.quantization == "none":
        return Budget(artifact.quantization, {})
    model = read_model(artifact.path)
    if artifact.quantization == "int8":
        return _int8_budget(readout, model)
    return _dynamic_budget(readout, model)
