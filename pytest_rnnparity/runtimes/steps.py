"""Find the recurrent steps in a converted graph by the structure of the cell equations.

Each matcher starts from a candidate new state and checks that the ops around it are
the cell's equations, as Keras writes them (``keras/src/layers/rnn``)::

    GRU        h = z * h_tm1 + (1 - z) * hh
               (with a zero initial state the converter folds the first term away:
                h = (1 - z) * hh)
               r: the other output of z's activation upstream of hh
    LSTM       h = o * act(c),   c = f * c_tm1 + i * g   (first step: c = i * g)
    SimpleRNN  h = act(...),     h_tm1 the nearest earlier output of the same act

Roles are told apart by what they are computed from, never by their position in
the file: ``z`` is the operand of ``1 - z``; ``c_tm1`` is the operand of ``f * c_tm1``
that is not an activation; ``i`` is the operand of ``i * g`` computed by the same
activation as ``o``. A step is linked to the one before it through its previous
state, which gives processing order (reversed in time for ``go_backwards``) without
reading any index. Transparent ops (identity, quantize, dequantize) are looked
through, so an int8 model matches like its float original.

Anything that does not match exactly (an ambiguous operand, an activation the
converter rewrote) is left out rather than guessed: the reader then reports the
quantity as not exposed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pytest_rnnparity.reference.types import CellKind
from pytest_rnnparity.runtimes.dataflow import Dataflow

#: Keras activation names -> the op kind that computes them in one op.
ACTIVATION_KINDS = {
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "relu": "relu",
    "relu6": "relu6",
    "elu": "elu",
    "exponential": "exp",
    "softplus": "softplus",
    "softsign": "softsign",
}

#: How far upstream of ``hh`` the reset gate is looked for (reset_after=False: 4).
RESET_SEARCH_DEPTH = 5
#: How far upstream of a SimpleRNN output its previous output is looked for.
SIMPLE_RNN_SEARCH_DEPTH = 4


@dataclass(frozen=True)
class Step:
    """The tensors of one recurrent step.

    ``roles`` maps trace names (``TRACE_NAMES[kind]``) to tensor ids, for the roles
    that were identified. ``states`` maps the state the step is linked by (GRU and
    SimpleRNN ``hidden``, LSTM ``cell``; LSTM also ``hidden``) to the step's new
    state, ``previous`` to the state it started from (None when the converter
    folded a zero initial state away).
    """

    kind: CellKind
    roles: Mapping[str, str]
    states: Mapping[str, str]
    previous: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def link(self) -> str:
        """The state that links a step to the previous one."""
        return "cell" if self.kind == "lstm" else "hidden"


# -- GRU ------------------------------------------------------------------------------


def _one_minus_z_times_hh(flow: Dataflow, product: str) -> tuple[str, str] | None:
    """``(z, hh)`` when ``product`` is ``(1 - z) * hh``."""
    op = flow.maker(product)
    operands = flow.operands(product)
    if op is None or op.kind != "mul" or op.activation or operands is None or len(operands) != 2:
        return None
    found = []
    for s, hh in (operands, operands[::-1]):
        sub = flow.maker(s)
        if sub is None or sub.kind != "sub" or sub.activation or len(sub.inputs) != 2:
            continue
        if not flow.is_constant(sub.inputs[0]) or flow.is_constant(sub.inputs[1]):
            continue
        z = flow.canon(sub.inputs[1])
        if flow.is_activation_output(z) and flow.is_activation_output(hh):
            found.append((z, hh))
    return found[0] if len(found) == 1 else None


def _reset_gate(flow: Dataflow, z: str, hh: str, h_tm1: str | None) -> str | None:
    """The other output of z's activation upstream of ``hh`` (nearest, and unique)."""
    kind = flow.activation_kind(z)
    stop = {z} if h_tm1 is None else {z, h_tm1}
    candidates: list[tuple[int, str]] = []
    for depth, tensor in flow.ancestors(hh, max_depth=RESET_SEARCH_DEPTH):
        if tensor in stop or (h_tm1 is not None and tensor == h_tm1):
            continue
        if flow.is_activation_output(tensor) and flow.activation_kind(tensor) == kind:
            candidates.append((depth, tensor))
    if not candidates:
        return None
    nearest = min(depth for depth, _ in candidates)
    closest = [t for depth, t in candidates if depth == nearest]
    if len(closest) != 1:
        return None
    # r and z are computed from the same step's projections
    upstream_z = {t for _, t in flow.ancestors(z, max_depth=4)}
    upstream_r = {t for _, t in flow.ancestors(closest[0], max_depth=4)}
    return closest[0] if upstream_z & upstream_r else None


def match_gru(flow: Dataflow, tensor: str) -> Step | None:
    """The GRU step whose new hidden state is ``tensor``, or None."""
    h = flow.canon(tensor)
    op = flow.maker(h)
    operands = flow.operands(h)
    if op is None or op.activation or operands is None or len(operands) != 2:
        return None
    found: list[tuple[str, str, str | None]] = []
    if op.kind == "mul":
        pair = _one_minus_z_times_hh(flow, h)
        if pair is not None:
            found.append((*pair, None))
    elif op.kind == "add":
        for kept, blended in (operands, operands[::-1]):
            pair = _one_minus_z_times_hh(flow, blended)
            kept_op = flow.maker(kept)
            kept_operands = flow.operands(kept)
            if pair is None or kept_op is None or kept_op.kind != "mul" or not kept_operands:
                continue
            z, hh = pair
            if len(kept_operands) == 2 and z in kept_operands:
                carried = kept_operands[1] if kept_operands[0] == z else kept_operands[0]
                found.append((z, hh, carried))
    if len(found) != 1:
        return None
    z, hh, h_tm1 = found[0]
    roles: dict[str, str] = {"update": z, "candidate": hh, "hidden": h}
    reset = _reset_gate(flow, z, hh, h_tm1)
    if reset is not None:
        roles["reset"] = reset
    return Step(kind="gru", roles=roles, states={"hidden": h}, previous={"hidden": h_tm1})


# -- LSTM -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cell:
    ig: tuple[str, str]  # i and g, not yet told apart
    forget: str | None
    c_tm1: str | None


def _both_activations(flow: Dataflow, product: str) -> tuple[str, str] | None:
    op = flow.maker(product)
    operands = flow.operands(product)
    if op is None or op.kind != "mul" or op.activation or operands is None or len(operands) != 2:
        return None
    if all(flow.is_activation_output(t) for t in operands):
        return operands[0], operands[1]
    return None


def _match_cell(flow: Dataflow, c: str) -> _Cell | None:
    """``c = f * c_tm1 + i * g`` (or ``i * g`` with a folded zero state)."""
    op = flow.maker(c)
    operands = flow.operands(c)
    if op is None or op.activation or operands is None or len(operands) != 2:
        return None
    if op.kind == "mul":
        pair = _both_activations(flow, c)
        return None if pair is None else _Cell(ig=pair, forget=None, c_tm1=None)
    if op.kind != "add":
        return None
    found = []
    for carried, fresh in (operands, operands[::-1]):
        pair = _both_activations(flow, fresh)
        carried_op = flow.maker(carried)
        carried_operands = flow.operands(carried)
        if pair is None or carried_op is None or carried_op.kind != "mul":
            continue
        if carried_operands is None or len(carried_operands) != 2:
            continue
        gates = [t for t in carried_operands if flow.is_activation_output(t)]
        others = [t for t in carried_operands if not flow.is_activation_output(t)]
        if len(gates) == 1 and len(others) == 1:
            found.append(_Cell(ig=pair, forget=gates[0], c_tm1=others[0]))
    return found[0] if len(found) == 1 else None


def match_lstm(flow: Dataflow, tensor: str) -> Step | None:
    """The LSTM step whose new hidden state ``o * act(c)`` is ``tensor``, or None."""
    h = flow.canon(tensor)
    pair = _both_activations(flow, h)
    if pair is None:
        return None
    found = []
    for o, activated in (pair, pair[::-1]):
        c = flow.activation_root(activated)
        cell = _match_cell(flow, c) if c != activated else None
        if cell is None or _match_cell(flow, flow.activation_root(o)) is not None:
            continue
        found.append((o, c, cell))
    if len(found) != 1:
        return None
    o, c, cell = found[0]
    roles = {"output": o, "cell": c, "hidden": h}
    if cell.forget is not None:
        roles["forget"] = cell.forget
    gate_kind = flow.activation_kind(o)
    first, second = cell.ig
    kinds = (flow.activation_kind(first), flow.activation_kind(second))
    if kinds[0] == gate_kind and kinds[1] != gate_kind:
        roles["input"], roles["candidate"] = first, second
    elif kinds[1] == gate_kind and kinds[0] != gate_kind:
        roles["input"], roles["candidate"] = second, first
    return Step(
        kind="lstm",
        roles=roles,
        states={"cell": c, "hidden": h},
        previous={"cell": cell.c_tm1},
    )


# -- SimpleRNN ------------------------------------------------------------------------


def match_simple_rnn(
    flow: Dataflow,
    tensor: str,
    activation: str | None,
    carried: frozenset[str] = frozenset(),
) -> Step | None:
    """The SimpleRNN step whose output ``act(...)`` is ``tensor``, or None.

    Only activations computed by one op (:data:`ACTIVATION_KINDS`) can be found.
    ``carried``: the state values a loop body receives (its previous output).
    """
    kind = ACTIVATION_KINDS.get(activation or "")
    h = flow.canon(tensor)
    op = flow.maker(h)
    if kind is None or op is None or flow.activation_kind(h) != kind:
        return None
    previous = None
    for _, upstream in flow.ancestors(h, max_depth=SIMPLE_RNN_SEARCH_DEPTH):
        # the previous output: an earlier act(...), or the state a loop body receives
        if flow.activation_kind(upstream) == kind or upstream in carried:
            previous = upstream
            break
    return Step(
        kind="simple_rnn", roles={"hidden": h}, states={"hidden": h}, previous={"hidden": previous}
    )


# -- all steps, linked ----------------------------------------------------------------


def find_steps(
    flow: Dataflow,
    kind: CellKind,
    *,
    activation: str | None = None,
    carried: frozenset[str] = frozenset(),
) -> list[Step]:
    """Every step of cells of ``kind`` in ``flow`` (file order).

    ``carried``: in a loop body, the inputs that carry state from one iteration to
    the next (not the weights a converter passes through unchanged).
    """
    steps = []
    seen = set()
    for tensor in flow.tensors():
        canonical = flow.canon(tensor)
        if canonical in seen:
            continue
        seen.add(canonical)
        if kind == "gru":
            step = match_gru(flow, canonical)
        elif kind == "lstm":
            step = match_lstm(flow, canonical)
        else:
            step = match_simple_rnn(flow, canonical, activation, carried)
        if step is not None:
            steps.append(step)
    # ``(1 - z) * hh`` inside a full GRU step also reads as a step from a zero state
    inner = {t for step in steps for t in flow.operands(step.states[step.link]) or ()}
    return [step for step in steps if step.states[step.link] not in inner]


def link_steps(steps: Sequence[Step]) -> list[list[Step]]:
    """Chains of steps, each in processing order, linked through their previous state.

    A step whose previous state no other step computes starts a chain. Where two
    steps claim the same previous state the chain stops there (the graph is not a
    plain recurrence) and the claimants start chains of their own.
    """
    by_state = {step.states[step.link]: step for step in steps}
    claims: dict[str, list[Step]] = {}
    for step in steps:
        previous = step.previous.get(step.link)
        if previous is not None and previous in by_state:
            claims.setdefault(previous, []).append(step)
    following = {state: group[0] for state, group in claims.items() if len(group) == 1}
    followers = {id(step) for step in following.values()}
    chains = []
    for step in steps:
        if id(step) in followers:
            continue
        chain = [step]
        while (nxt := following.get(chain[-1].states[chain[-1].link])) is not None:
            chain.append(nxt)
        chains.append(chain)
    return chains
