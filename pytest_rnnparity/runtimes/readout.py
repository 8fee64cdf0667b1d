"""What a runtime let us read back, in the names and layouts of the reference traces.

A reader first writes a :class:`ReadPlan`: which tensor of the artifact holds which
quantity (a whole sequence, one step, a final state, a layer's output) and how to
bring it to our layout. The runner fetches those tensors (batch by batch for a
fixed-batch artifact), :meth:`ReadPlan.evaluate` turns each batch into batch-first
arrays, and :func:`assemble` joins them into a :class:`Readout`.

Layouts (as :mod:`pytest_rnnparity.reference.types`): traces ``(batch, time, units)``
in processing order (reversed in time for ``go_backwards`` and for the backward half
of a ``Bidirectional``), final states ``(batch, units)``. A step the runtime does not
compute (a converter folds the forget gate of the first step away when the initial
state is zero) or does not keep (a loop body holds its last iteration only) is NaN,
and listed in ``missing_steps``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from pytest_rnnparity.reference.types import STATE_NAMES, TRACE_NAMES, Array, CellKind
from pytest_rnnparity.runtimes.manifest import Artifact, ModelManifest

Transform = Callable[[Array], Array]
Fetch = Callable[[str], Array]


def _identity(value: Array) -> Array:
    return value


def time_major(value: Array) -> Array:
    """``(time, batch, ...)`` -> ``(batch, time, ...)``."""
    return np.swapaxes(value, 0, 1)


@dataclass(frozen=True)
class Unexposed:
    """A quantity the runtime does not let us read, and why.

    ``quantity`` is a trace name, ``final hidden``/``final cell`` or ``output``;
    ``direction`` is None for the layer's output.
    """

    direction: str | None
    quantity: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.direction} " if self.direction else ""
        return f"{where}{self.quantity}: {self.reason}"


@dataclass(frozen=True)
class DirectionReadout:
    """One direction of a recurrent layer, as read from the runtime.

    ``traces`` maps trace names to ``(batch, time, units)``, NaN at the steps listed
    in ``missing_steps``; ``final_states`` maps state names to ``(batch, units)``;
    ``sources`` says which artifact tensor(s) each quantity was read from;
    ``scales`` the quantization step of those tensors (the largest over the steps;
    only for quantities read from quantized tensors).
    """

    kind: CellKind
    traces: Mapping[str, Array]
    final_states: Mapping[str, Array]
    missing_steps: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    scales: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LayerReadout:
    """One Keras layer: its output (None when not exposed) and recurrent directions."""

    name: str
    class_name: str
    output: Array | None
    directions: Mapping[str, DirectionReadout] = field(default_factory=dict)
    not_exposed: tuple[Unexposed, ...] = ()


@dataclass(frozen=True)
class Readout:
    """Everything one run of an artifact exposed, layer by layer, in our names.

    ``outputs`` are the model's outputs from the same run as every other value;
    ``deployed_outputs`` the outputs as the runtime computes them by default (TFLite:
    with the XNNPACK delegate, which keeps no intermediate tensors); ``notes`` what
    a reader of a comparison should know (how the artifact was converted, what its
    runtime hides). ``output_scales``: the quantization step of each model output
    (quantized artifacts only).
    """

    artifact: Artifact
    runtime: str
    inputs: Array
    outputs: tuple[Array, ...]
    layers: tuple[LayerReadout, ...]
    notes: tuple[str, ...] = ()
    deployed_outputs: tuple[Array, ...] = ()
    output_scales: tuple[float | None, ...] = ()

    def layer(self, name: str) -> LayerReadout:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def exposure(self) -> dict[tuple[str, str], str]:
        """``(layer, direction) -> "update, ..., final hidden; missing steps: forget@0"``."""
        table = {}
        for layer in self.layers:
            for direction, read in layer.directions.items():
                names = [*read.traces, *(f"final {s}" for s in read.final_states)]
                missing = [
                    f"{name}@{','.join(map(str, steps))}"
                    for name, steps in read.missing_steps.items()
                    if steps
                ]
                text = ", ".join(names) or "nothing"
                if missing:
                    text += "; missing steps: " + " ".join(missing)
                table[(layer.name, direction)] = text
        return table


# -- the plan -------------------------------------------------------------------------

TraceKey = tuple[str, str, str]  # layer, direction, trace or state name


@dataclass
class ReadPlan:
    """Which artifact tensor holds which quantity; filled in by a format's reader.

    ``sequences``: a tensor holding a whole trace, with the transform to
    ``(batch, time, units)``. ``steps``: one ``(batch, units)`` tensor per processing
    step. ``finals``: a tensor and transform to ``(batch, units)``. ``outputs``:
    candidate tensors for each layer's output (the one of the expected shape is
    kept). ``reasons``: why a quantity is not exposed, keyed like the others with
    ``None`` as direction for a layer's output.
    """

    manifest: ModelManifest
    timesteps: int
    sequences: dict[TraceKey, tuple[str, Transform]] = field(default_factory=dict)
    steps: dict[TraceKey, dict[int, str]] = field(default_factory=dict)
    finals: dict[TraceKey, tuple[str, Transform]] = field(default_factory=dict)
    outputs: dict[str, list[str]] = field(default_factory=dict)
    reasons: dict[tuple[str, str | None, str], str] = field(default_factory=dict)
    sources: dict[TraceKey, str] = field(default_factory=dict)
    read_from: dict[TraceKey, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def tensors(self) -> set[str]:
        """Every tensor the plan reads."""
        wanted = {tensor for tensor, _ in self.sequences.values()}
        wanted |= {tensor for tensor, _ in self.finals.values()}
        wanted |= {tensor for per_step in self.steps.values() for tensor in per_step.values()}
        wanted |= {tensor for candidates in self.outputs.values() for tensor in candidates}
        return wanted

    def add_sequence(self, key: TraceKey, tensor: str, transform: Transform, source: str) -> None:
        self.sequences[key] = (tensor, transform)
        self.sources[key] = source
        self.read_from[key] = [tensor]

    def add_final(
        self, key: TraceKey, tensor: str, source: str, transform: Transform = _identity
    ) -> None:
        self.finals[key] = (tensor, transform)
        self.sources[(key[0], key[1], f"final {key[2]}")] = source
        self.read_from[(key[0], key[1], f"final {key[2]}")] = [tensor]

    def add_steps(self, key: TraceKey, per_step: Mapping[int, str], source: str) -> None:
        self.steps[key] = dict(per_step)
        self.sources[key] = source
        self.read_from[key] = list(per_step.values())

    def evaluate(self, fetch: Fetch, rows: int) -> dict[tuple[str, ...], Array]:
        """Batch-first arrays for one batch of ``rows`` rows, keyed ``("trace", layer,
        direction, name)``, ``("final", ...)``, ``("output", layer, index)``.

        An output candidate is kept only when it has the layer's output shape, or is
        its time-major twin (a converter that drops the transpose pair between two
        layers leaves only the loop's stacked outputs); ``rows`` != timesteps tells
        the two layouts apart.
        """
        values: dict[tuple[str, ...], Array] = {}
        for key, (tensor, transform) in self.sequences.items():
            values[("trace", *key)] = np.asarray(transform(fetch(tensor)))
        for key, per_step in self.steps.items():
            if key in self.sequences or not per_step:
                continue
            fetched = {step: np.asarray(fetch(tensor)) for step, tensor in per_step.items()}
            first = next(iter(fetched.values()))
            stacked = np.full(
                (first.shape[0], self.timesteps, *first.shape[1:]), np.nan, dtype=np.float64
            )
            for step, value in fetched.items():
                stacked[:, step] = value
            values[("trace", *key)] = stacked
        for key, (tensor, transform) in self.finals.items():
            values[("final", *key)] = np.asarray(transform(fetch(tensor)))
        for layer, candidates in self.outputs.items():
            expected = (rows, *self.manifest.layer(layer).output_shape[1:])
            time_first = (expected[1], expected[0], *expected[2:]) if len(expected) == 3 else ()
            for index, tensor in enumerate(candidates):
                value = np.asarray(fetch(tensor))
                if value.shape == expected:
                    values[("output", layer, str(index))] = value
                elif value.shape == time_first and rows != expected[1]:
                    values[("output", layer, str(index))] = time_major(value)
        return values


def concat_batches(
    batches: Sequence[Mapping[tuple[str, ...], Array]], rows: int
) -> dict[tuple[str, ...], Array]:
    """Join per-batch values along the batch axis and drop padding rows past ``rows``."""
    if len(batches) == 1:
        return {key: value[:rows] for key, value in batches[0].items()}
    return {key: np.concatenate([batch[key] for batch in batches])[:rows] for key in batches[0]}


def _layer_output(
    plan: ReadPlan, values: Mapping[tuple[str, ...], Array], layer: str
) -> tuple[Array | None, str | None]:
    candidates = plan.outputs.get(layer, [])
    keys = [("output", layer, str(i)) for i in range(len(candidates))]
    fitting = [values[key] for key in keys if key in values]
    if len(fitting) == 1:
        return fitting[0], None
    if len(fitting) > 1 and all(np.array_equal(fitting[0], f) for f in fitting[1:]):
        return fitting[0], None
    reason = plan.reasons.get((layer, None, "output"))
    if reason is None:
        reason = (
            "no tensor of the layer's output shape leaves the layer's ops"
            if not fitting
            else f"{len(fitting)} different tensors of the output shape leave the layer's ops"
        )
    return None, reason


def assemble(
    plan: ReadPlan,
    values: Mapping[tuple[str, ...], Array],
    *,
    artifact: Artifact,
    runtime: str,
    inputs: Array,
    outputs: Sequence[Array],
    notes: Sequence[str] = (),
    deployed_outputs: Sequence[Array] = (),
    scale_of: Callable[[str], float | None] | None = None,
    output_scales: Sequence[float | None] = (),
) -> Readout:
    """The :class:`Readout` of one run from the plan and the values it evaluated to.

    ``scale_of`` gives a tensor's quantization step (None when not quantized).
    """

    def scale(key: TraceKey) -> float | None:
        if scale_of is None:
            return None
        found = [scale_of(t) for t in plan.read_from.get(key, ())]
        known = [value for value in found if value is not None]
        return max(known) if known else None

    layers = []
    last = plan.manifest.layers[-1].name if plan.manifest.layers else None
    for info in plan.manifest.layers:
        not_exposed: list[Unexposed] = []
        if info.name == last and len(outputs) == 1:
            output: Array | None = outputs[0]
        else:
            output, reason = _layer_output(plan, values, info.name)
            if output is None:
                not_exposed.append(Unexposed(None, "output", reason or "not found"))
        directions: dict[str, DirectionReadout] = {}
        for direction in info.directions:
            assert info.kind is not None
            d = direction.direction
            traces: dict[str, Array] = {}
            missing: dict[str, tuple[int, ...]] = {}
            sources: dict[str, str] = {}
            scales: dict[str, float] = {}
            for name in TRACE_NAMES[info.kind]:
                value = values.get(("trace", info.name, d, name))
                if value is None:
                    reason = plan.reasons.get((info.name, d, name), "not found in the artifact")
                    not_exposed.append(Unexposed(d, name, reason))
                    continue
                traces[name] = value
                sources[name] = plan.sources.get((info.name, d, name), "")
                if (step := scale((info.name, d, name))) is not None:
                    scales[name] = step
                gaps = tuple(int(t) for t in np.flatnonzero(np.isnan(value).all(axis=(0, 2))))
                if gaps:
                    missing[name] = gaps
            finals: dict[str, Array] = {}
            for state in STATE_NAMES[info.kind]:
                value = values.get(("final", info.name, d, state))
                if value is None:
                    reason = plan.reasons.get(
                        (info.name, d, f"final {state}"), "not found in the artifact"
                    )
                    not_exposed.append(Unexposed(d, f"final {state}", reason))
                    continue
                finals[state] = value
                sources[f"final {state}"] = plan.sources.get((info.name, d, f"final {state}"), "")
                if (step := scale((info.name, d, f"final {state}"))) is not None:
                    scales[f"final {state}"] = step
            directions[d] = DirectionReadout(
                kind=info.kind,
                traces=traces,
                final_states=finals,
                missing_steps=missing,
                sources=sources,
                scales=scales,
            )
        layers.append(
            LayerReadout(
                name=info.name,
                class_name=info.class_name,
                output=output,
                directions=directions,
                not_exposed=tuple(not_exposed),
            )
        )
    return Readout(
        artifact=artifact,
        runtime=runtime,
        inputs=inputs,
        outputs=tuple(outputs),
        layers=tuple(layers),
        notes=(*artifact.notes, *plan.notes, *notes),
        deployed_outputs=tuple(deployed_outputs),
        output_scales=tuple(output_scales),
    )
