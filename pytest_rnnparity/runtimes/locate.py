"""Shared by the ONNX and TFLite readers: find unrolled steps and layer outputs in a graph.

* :func:`plan_unrolled` finds every step of every recurrent cell in a flat graph
  (an unrolled layer), links them into chains (:func:`.steps.link_steps`), and
  assigns each chain to a layer and direction by the names of its tensors. A chain
  is kept only when its length is the number of timesteps and its place is a
  recurrent layer of the matching kind.
* :func:`plan_layer_outputs` takes as a layer's output candidates the tensors its
  ops compute that ops of a later layer consume; the reader keeps the one whose
  shape is the layer's output shape. An op the converter left without a scope
  (tf2onnx's ``Transpose__157``) belongs to the layer whose values it reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pytest_rnnparity.reference.types import TRACE_NAMES, CellKind
from pytest_rnnparity.runtimes.dataflow import Dataflow, Op
from pytest_rnnparity.runtimes.readout import ReadPlan
from pytest_rnnparity.runtimes.scopes import Place, Scopes
from pytest_rnnparity.runtimes.steps import Step, find_steps, link_steps


def step_names(flow: Dataflow, steps: Iterable[Step]) -> list[str]:
    """The display names of the tensors of ``steps`` (for resolving their place)."""
    return [flow.name(t) for step in steps for t in step.roles.values()]


def add_step_traces(
    plan: ReadPlan,
    place: tuple[str, str],
    chain: list[Step],
    *,
    kind: CellKind,
    flow: Dataflow,
    folded_reason: str,
) -> None:
    """Plan per-step reads of every role the chain's steps expose, and its final states."""
    layer, direction = place
    for name in TRACE_NAMES[kind]:
        per_step = {t: step.roles[name] for t, step in enumerate(chain) if name in step.roles}
        if not per_step:
            plan.reasons[(layer, direction, name)] = folded_reason
            continue
        first = flow.name(next(iter(per_step.values())))
        plan.add_steps(
            (layer, direction, name), per_step, f"{len(per_step)} step tensors ({first}, ...)"
        )
    last = chain[-1]
    for state, tensor in last.states.items():
        plan.add_final((layer, direction, state), tensor, flow.name(tensor))


def plan_unrolled(
    flow: Dataflow, plan: ReadPlan, scopes: Scopes, *, skip: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Plan the per-step reads of every unrolled recurrent direction in ``flow``.

    ``skip``: places already read another way. Returns the places planned.
    """
    manifest = plan.manifest
    planned: set[tuple[str, str]] = set()
    kinds: dict[tuple[CellKind, str | None], list[str]] = {}
    for layer in manifest.layers:
        if layer.kind is not None:
            activation = layer.activation if layer.kind == "simple_rnn" else None
            kinds.setdefault((layer.kind, activation), []).append(layer.name)
    for (kind, activation), layer_names in kinds.items():
        for chain in link_steps(find_steps(flow, kind, activation=activation)):
            place = scopes.resolve_all(step_names(flow, chain))
            if place is None or place.layer not in layer_names:
                continue
            info = manifest.layer(place.layer)
            direction = place.direction or ("forward" if len(info.directions) == 1 else None)
            if direction is None or (place.layer, direction) in skip:
                continue
            if len(chain) != plan.timesteps:
                plan.notes.append(
                    f"{place.layer} ({direction}): found a chain of {len(chain)} steps, "
                    f"expected {plan.timesteps}; not read step by step"
                )
                continue
            add_step_traces(
                plan,
                (place.layer, direction),
                chain,
                kind=kind,
                flow=flow,
                folded_reason="not computed by the artifact at any step, or not recognised",
            )
            planned.add((place.layer, direction))
    return planned


def plan_layer_outputs(
    flow: Dataflow, plan: ReadPlan, place_of: Callable[[Op], Place | None]
) -> None:
    """Candidates for every layer's output but the last (that one is the model's output)."""
    order = {layer.name: i for i, layer in enumerate(plan.manifest.layers)}
    placed: dict[int, Place | None] = {}
    last = plan.manifest.layers[-1].name if plan.manifest.layers else None
    # the ops that compute the model's outputs (through a final dequantize)
    graph_outputs = set(flow.outputs) | {flow.canon(t) for t in flow.outputs}
    for op in flow.ops:  # topological: an op without a scope joins the layer it reads from
        place = place_of(op)
        if place is None and last is not None and graph_outputs & set(op.outputs):
            place = Place(last, None)  # TFLite names the model's outputs, not their layer
        if place is None:
            sources = {
                placed.get(id(producer)) if (producer := flow.producer(t)) is not None else None
                for t in flow.variable_inputs(op)
            }
            layers = {p.layer for p in sources if p is not None}
            if len(layers) == 1 and None not in sources:
                place = Place(next(iter(layers)), None)
        placed[id(op)] = place
    for op in flow.ops:
        place = placed[id(op)]
        if place is None or place.layer not in order:
            continue
        index = order[place.layer]
        for tensor in op.outputs:
            if not tensor or flow.is_constant(tensor):
                continue
            later = [placed[id(c)] for c in flow.consumers(tensor)]
            if any(p is not None and order.get(p.layer, -1) > index for p in later):
                candidates = plan.outputs.setdefault(place.layer, [])
                if tensor not in candidates:
                    candidates.append(tensor)
