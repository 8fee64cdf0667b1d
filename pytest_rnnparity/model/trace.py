"""Run a Keras model so that every layer's output and every recurrent step can be read.

A Keras recurrent layer with ``return_sequences=False`` only returns its last
output, and an LSTM never returns its cell state unless asked. To compare every
timestep, each recurrent layer (each direction of a ``Bidirectional``) gets a
*probe*: a copy built from the layer's own config with ``return_sequences=True``
and ``return_state=True`` and the same weights, fed the same (masked) input as the
real layer. One functional "trace model" chains the user's layers with the probes
beside them, so one forward call yields everything.

A GRU, LSTM or SimpleRNN returns exactly its probe's sequence, or that sequence's
last step (in processing order), computed by the same Keras loop; so the trace
model feeds the next layer from the probe and does not run that layer twice. A
``Bidirectional`` (whose merge happens inside the wrapper) and a layer with
``zero_output_for_mask`` and ``return_sequences=False`` still run themselves.

On TensorFlow the trace model runs eagerly for short sequences and as one
``tf.function`` (a graph, as ``model.predict`` runs) for long ones: eagerly, Keras
spends ~2 ms of Python per recurrent step; a graph costs ~80 ms once to trace and
then runs the whole loop in C++ (``GRAPH_FROM_STEPS``). Both run the same kernels;
the choice can be forced with ``run_eagerly``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pytest_rnnparity.model.keras_version import keras_major, keras_module
from pytest_rnnparity.reference.types import (
    STATE_NAMES,
    Array,
    BidirectionalLayer,
    RecurrentLayer,
    ReferenceLayer,
    recurrent_directions,
)

#: From this many recurrent steps per call (timesteps x recurrent directions) the
#: trace model runs as a graph. Measured on TF 2.21, CPU: eager ~20 ms + ~2 ms per
#: step, a first graph call ~80 ms whatever the length; they cross near 30 steps.
GRAPH_FROM_STEPS = 32


@dataclass(frozen=True)
class KerasDirection:
    """One direction of a recurrent layer as Keras computed it (a probe's outputs).

    ``sequence`` is ``(batch, time, units)`` in processing order; ``final_states``
    maps ``STATE_NAMES[kind]`` to ``(batch, units)``.
    """

    sequence: Array
    final_states: dict[str, Array]


@dataclass(frozen=True)
class KerasLayerOutputs:
    """The output of one layer of the user's model, and its probed directions."""

    name: str
    output: Array | tuple[Array, Array]
    directions: dict[str, KerasDirection] = field(default_factory=dict)


def _directions(layer: Any, described: ReferenceLayer) -> list[tuple[str, Any, RecurrentLayer]]:
    if isinstance(described, RecurrentLayer):
        return [("forward", layer, described)]
    if isinstance(described, BidirectionalLayer):
        return [
            ("forward", layer.forward_layer, described.forward),
            ("backward", layer.backward_layer, described.backward),
        ]
    return []


def _probe_suffices(layer: RecurrentLayer) -> bool:
    """True when the layer's own output can be read off its probe.

    With ``return_sequences=False`` and ``zero_output_for_mask`` Keras' last output
    at a masked final step is not the probe's last step, so the layer runs itself.
    """
    return layer.return_sequences or not layer.zero_output_for_mask


#: Initializers a probe is built with: its weights are overwritten with the layer's
#: at once, and an orthogonal or Glorot draw costs more than the rest of a small build.
_PROBE_INITIALIZERS = ("kernel_initializer", "recurrent_initializer", "bias_initializer")


def _probe(layer: Any, suffix: str) -> Any:
    config = dict(layer.get_config())
    config.update(return_sequences=True, return_state=True, name=f"{layer.name}_{suffix}")
    for key in _PROBE_INITIALIZERS:
        if key in config:
            config[key] = "zeros"
    return type(layer).from_config(config)


class TraceModel:
    """A functional model over the user's layers plus probes; see the module docstring."""

    def __init__(
        self,
        model: Any,
        described_layers: Sequence[ReferenceLayer],
        *,
        run_eagerly: bool | None = None,
    ) -> None:
        self.keras = keras_module(model)
        self.major = keras_major(self.keras)
        self.described_layers = tuple(described_layers)
        #: True: always eager; False: a graph whenever the backend is TensorFlow;
        #: None: a graph from ``GRAPH_FROM_STEPS`` recurrent steps per call.
        self.run_eagerly = run_eagerly
        self._graph: Any = None
        self._recurrent_directions = sum(
            len(recurrent_directions(described)) for described in self.described_layers
        )
        layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
        input_shape = tuple(model.inputs[0].shape)
        self.batch_size: int | None = input_shape[0]
        dtype = model.inputs[0].dtype  # a string in Keras 3, a tf.DType in Keras 2
        #: The NumPy dtype the model's input expects.
        self.input_dtype = np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
        inputs = self.keras.Input(
            shape=input_shape[1:], batch_size=input_shape[0], dtype=model.inputs[0].dtype
        )
        outputs: list[Any] = []
        self._layout: list[tuple[str, int, list[tuple[str, str, int]]]] = []
        pending: list[tuple[Any, Any]] = []
        tensor = inputs
        for layer, described in zip(layers, self.described_layers, strict=True):
            probes: list[tuple[str, str, int]] = []
            for direction, sublayer, direction_layer in _directions(layer, described):
                probe = _probe(sublayer, f"rnnparity_{direction}_probe")
                probe_outputs = probe(tensor)
                pending.append((probe, sublayer))
                probes.append((direction, direction_layer.cell.kind, len(outputs)))
                outputs.extend(probe_outputs)
            if isinstance(described, RecurrentLayer) and _probe_suffices(described):
                # The probe ran the layer's own loop; its last step (or whole sequence)
                # is what the layer returns, so the layer is not run a second time.
                sequence = outputs[probes[0][2]]
                if described.return_sequences:
                    self._layout.append((described.name, probes[0][2], probes))
                    tensor = sequence
                else:
                    self._layout.append((described.name, len(outputs), probes))
                    tensor = sequence[:, -1, :]
                    outputs.append(tensor)
                continue
            result = layer(tensor)
            merge_none = isinstance(described, BidirectionalLayer) and described.merge_mode is None
            if isinstance(result, (list, tuple)):
                main = list(result[:2]) if merge_none else [result[0]]
            else:
                main = [result]
            self._layout.append((described.name, len(outputs), probes))
            outputs.extend(main)
            tensor = main[0]
        self.model = self.keras.Model(inputs, outputs, name="rnnparity_trace")
        for probe, sublayer in pending:
            probe.set_weights(sublayer.get_weights())
        self._merge_none = [
            isinstance(described, BidirectionalLayer) and described.merge_mode is None
            for described in self.described_layers
        ]

    def reset_states(self) -> None:
        """Reset the states of stateful layers (real and probes) to zeros."""
        for layer in self.model.layers:
            if getattr(layer, "stateful", False):
                if hasattr(layer, "reset_states"):
                    layer.reset_states()
                else:
                    layer.reset_state()

    def _to_numpy(self, tensor: Any) -> Array:
        if self.major >= 3:
            return np.asarray(self.keras.ops.convert_to_numpy(tensor))
        return np.asarray(tensor)

    def runs_eagerly(self, timesteps: int) -> bool:
        """Whether a call with ``timesteps`` steps runs eagerly (else as a graph)."""
        tensorflow = self.major < 3 or self.keras.backend.backend() == "tensorflow"
        if not tensorflow or self.run_eagerly:
            return True
        if self.run_eagerly is False:
            return False
        return timesteps * self._recurrent_directions < GRAPH_FROM_STEPS

    def _forward(self, x: Array, mask: Array | None, *, eagerly: bool) -> Any:
        if eagerly:
            return self._call_model(x, mask)
        if self._graph is None:
            import tensorflow as tf

            # One function per trace model; TensorFlow traces once per input shape
            # and mask presence, so the batches of a stateful model share one graph.
            # A partial, not the bound method: TensorFlow counts traces per code object,
            # and every trace model's first trace would read as "retracing" after five.
            self._graph = tf.function(functools.partial(TraceModel._call_model, self))
        return self._graph(x, mask)

    def _call_model(self, x: Any, mask: Any) -> Any:
        if mask is None:
            return self.model(x, training=False)
        return self.model(x, training=False, mask=mask)

    def __call__(self, x: Array, *, mask: Array | None = None) -> list[KerasLayerOutputs]:
        """Run one batch through the trace model (inference mode)."""
        eagerly = self.runs_eagerly(x.shape[1])
        with warnings.catch_warnings():
            # With a mask, Keras warns that the trace model's own output carries no
            # mask onwards; the layers inside it do receive the mask.
            warnings.filterwarnings("ignore", message=".*does not support masking.*")
            raw = self._forward(x, mask, eagerly=eagerly)
        if not isinstance(raw, (list, tuple)):
            raw = [raw]
        values = [self._to_numpy(t) for t in raw]
        results = []
        for (name, out_index, probes), merge_none in zip(
            self._layout, self._merge_none, strict=True
        ):
            directions = {}
            for direction, kind, index in probes:
                names = STATE_NAMES[kind]
                directions[direction] = KerasDirection(
                    sequence=values[index],
                    final_states={state: values[index + 1 + i] for i, state in enumerate(names)},
                )
            output: Array | tuple[Array, Array] = (
                (values[out_index], values[out_index + 1]) if merge_none else values[out_index]
            )
            results.append(KerasLayerOutputs(name=name, output=output, directions=directions))
        return results


def concat_batches(chunks: Sequence[list[KerasLayerOutputs]]) -> list[KerasLayerOutputs]:
    """Join the per-call results of successive batches along the batch axis."""
    if len(chunks) == 1:
        return chunks[0]
    joined = []
    for per_layer in zip(*chunks, strict=True):
        first = per_layer[0]
        if isinstance(first.output, tuple):
            output: Array | tuple[Array, Array] = (
                np.concatenate([c.output[0] for c in per_layer]),
                np.concatenate([c.output[1] for c in per_layer]),
            )
        else:
            output = np.concatenate([c.output for c in per_layer])
        directions = {
            d: KerasDirection(
                sequence=np.concatenate([c.directions[d].sequence for c in per_layer]),
                final_states={
                    s: np.concatenate([c.directions[d].final_states[s] for c in per_layer])
                    for s in first.directions[d].final_states
                },
            )
            for d in first.directions
        }
        joined.append(KerasLayerOutputs(name=first.name, output=output, directions=directions))
    return joined
