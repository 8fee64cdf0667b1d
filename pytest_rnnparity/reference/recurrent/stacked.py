"""Keras 3's ``RNN`` layer over ``StackedRNNCells`` (``RNN([cell, cell, ...])``), in NumPy.

Mirrors ``keras/src/layers/rnn/stacked_rnn_cells.py`` run by ``rnn.py`` and the
time loop of ``keras/src/backend/tensorflow/rnn.py``. At every step the cells run
in order, each on the output of the one below, in one loop over time; the cells
are the ones of :mod:`.cells` (GRU with either ``reset_after``, LSTM, SimpleRNN).
The first cell's input projection does not depend on any state, so it is one
matmul for all steps (:func:`.cells.project_inputs`); the projection of each
higher cell needs the step's output of the cell below and is made per step.

Masks
-----
Keras' loop sees the stack as *one* cell: at a masked step every cell still steps,
each on the new output of the cell below, and only then is the whole stacked
state put back to its previous value. Therefore, at a masked step,

* every cell's states (the ``"hidden"``/``"cell"`` traces and ``final_states``)
  keep their previous value, as for a single layer;
* the gate traces of the first cell hold what it computed from its carried state
  and the step's input, then discarded;
* the gate traces of every higher cell hold what it computed from its carried
  state and the *discarded* new hidden state of the cell below, which is not that
  cell's ``"hidden"`` trace (that holds the carried state) but
  ``StackedResult.passed_up``;
* the layer's output repeats the previous output (zero before the first unmasked
  step, whatever the initial state), or is zero with ``zero_output_for_mask``.

Returned states
---------------
Keras' ``return_state=True`` returns the output and then the final states *nested
per cell*, each cell's states in ``STATE_NAMES`` order. Called eagerly, every cell's
states come as a list (``[out, [h_gru], [h_lstm, c_lstm]]``); a symbolic
(functional) model returns a one-state cell's state bare (``[out, h_gru, [h_lstm,
c_lstm]]``). Flattened, both are the order of ``StackedResult.states``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from pytest_rnnparity.reference.masks import check_mask
from pytest_rnnparity.reference.recurrent.cells import (
    FusedWeights,
    fuse_weights,
    make_step,
    project_inputs,
)
from pytest_rnnparity.reference.types import (
    STATE_NAMES,
    TRACE_NAMES,
    Array,
    BoolArray,
    CellConfig,
    CellKind,
    CellWeights,
    RecurrentTrace,
    StateMap,
    resolve_dtype,
)


class StackedCell(NamedTuple):
    """One cell of the stack: its options and its per-gate weights (see :mod:`.types`)."""

    config: CellConfig
    weights: CellWeights


@dataclass(frozen=True)
class StackedResult:
    """What ``RNN(StackedRNNCells(...))`` returns, the mask it passes on, and every step.

    ``output`` is the last cell's output: ``(B, T, units_last)`` with
    ``return_sequences`` (processing order, reversed in time with ``go_backwards``),
    else ``(B, units_last)``. ``states`` holds, with ``return_state``, one tuple per
    cell of its final states in ``STATE_NAMES`` order (``()`` without).
    ``mask`` is the input mask with ``return_sequences``, else None.

    ``cells`` holds one :class:`RecurrentTrace` per cell, bottom first: its traces
    ``(B, T, units_k)`` in processing order, its final states, and as ``outputs``
    the sequence this cell would return as the last cell of the stack (masked steps
    repeat the previous output); the last cell's is the layer's output sequence.
    ``passed_up[k]`` ``(B, T, units_k)`` is what cell ``k`` fed to cell ``k + 1`` at
    every step: its new hidden state before the mask, which differs from its
    ``"hidden"`` trace only at masked steps. There is one entry per cell but the last.
    """

    output: Array
    states: tuple[tuple[Array, ...], ...]
    mask: BoolArray | None
    cells: tuple[RecurrentTrace, ...]
    passed_up: tuple[Array, ...]


def run_stacked_cells(
    cells: Sequence[StackedCell | tuple[CellConfig, CellWeights]],
    inputs: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    initial_states: Sequence[StateMap] | None = None,
    return_sequences: bool = False,
    return_state: bool = False,
    go_backwards: bool = False,
    zero_output_for_mask: bool = False,
    dtype: DTypeLike = "float32",
    hidden_only: bool = False,
    keras_major: int = 3,
) -> StackedResult:
    """Run ``keras.layers.RNN`` over a stack of cells, all cells per step in one loop.

    Parameters
    ----------
    cells : sequence of (CellConfig, CellWeights)
        Bottom first. Cell ``k``'s kernel has ``features = units_{k-1}`` rows (the
        input's features for the first cell).
    inputs : array, shape (B, T, F)
    mask : array, shape (B, T), optional
        True (nonzero) where a step is used, in input time order. See the module
        docstring for what the traces hold at masked steps.
    initial_states : sequence of mappings, optional
        One per cell, state name (``STATE_NAMES[kind]``) -> ``(B, units_k)``; all
        cells or none. Default zeros.
    return_sequences, return_state, go_backwards : bool
        As in Keras.
    zero_output_for_mask : bool
        Output zero at masked steps instead of repeating the previous output.
    dtype : "float32" or "float64"
        The computation dtype; weights, inputs and states are cast to it once.
    hidden_only : bool
        Keep only each cell's ``"hidden"`` trace.
    keras_major : int
        Which Keras' activation definitions to use (see ``get_activation``).

    Returns
    -------
    StackedResult

    Raises
    ------
    ValueError
        If the stack is empty, a cell's weights do not fit it or the cell below, or
        the inputs, mask or initial states do not fit.
    UnsupportedModelError
        If an activation is not supported.
    """
    if not cells:
        raise ValueError("StackedRNNCells: the stack has no cells")
    compute_dtype = resolve_dtype(dtype)
    stack = [StackedCell(*cell) for cell in cells]
    fused = [fuse_weights(cell.config, cell.weights, dtype=compute_dtype) for cell in stack]
    _check_chain(stack, fused)
    x = np.asarray(inputs, dtype=compute_dtype)
    features = fused[0].kernel.shape[0]
    if x.ndim != 3 or x.shape[1] == 0 or x.shape[2] != features:
        raise ValueError(
            f"StackedRNNCells: expected inputs of shape (batch, timesteps >= 1, "
            f"features={features}), got shape {x.shape}"
        )
    batch, timesteps, _ = x.shape
    input_mask = check_mask(mask, batch, timesteps, "StackedRNNCells")
    states = _initial_states(initial_states, stack, batch, compute_dtype)
    steps = [
        make_step(cell.config, f, keras_major=keras_major)
        for cell, f in zip(stack, fused, strict=True)
    ]

    matrix_x = project_inputs(x, fused[0].kernel, fused[0].input_bias)
    step_mask = input_mask
    if go_backwards:
        matrix_x = matrix_x[:, ::-1]
        if step_mask is not None:
            step_mask = step_mask[:, ::-1]

    kinds = [cell.config.kind for cell in stack]
    state_names = [STATE_NAMES[kind] for kind in kinds]

    def recorded(kind: CellKind) -> tuple[str, ...]:
        names = ("hidden",) if hidden_only else TRACE_NAMES[kind]
        if step_mask is None:
            # Without a mask the hidden state is the output and what is passed up:
            # the output array serves as the trace (set after the loop).
            return tuple(name for name in names if name != "hidden")
        return names

    trace_names = [recorded(kind) for kind in kinds]
    shapes = [(batch, timesteps, cell.config.units) for cell in stack]
    traces = [
        {name: np.empty(shape, dtype=compute_dtype) for name in names}
        for names, shape in zip(trace_names, shapes, strict=True)
    ]
    outputs = [np.empty(shape, dtype=compute_dtype) for shape in shapes]
    passed_up = (
        [np.empty(shape, dtype=compute_dtype) for shape in shapes[:-1]]
        if step_mask is not None
        else []
    )
    previous_outputs = [np.zeros((batch, shape[2]), dtype=compute_dtype) for shape in shapes]

    for t in range(timesteps):
        step_values: list[Mapping[str, Array]] = []
        for k, step in enumerate(steps):
            if k == 0:
                cell_input = matrix_x[:, t]
            else:
                below = step_values[-1]["hidden"]
                cell_input = _project_step(below, fused[k])
                if passed_up:
                    passed_up[k - 1][:, t] = below
            step_values.append(step(cell_input, states[k]))
        keep = None if step_mask is None else step_mask[:, t, np.newaxis]
        for k, values in enumerate(step_values):
            new_states = tuple(values[name] for name in state_names[k])
            output = values["hidden"]
            if keep is not None:
                new_states = tuple(
                    np.where(keep, new, old) for new, old in zip(new_states, states[k], strict=True)
                )
                fallback = np.zeros_like(output) if zero_output_for_mask else previous_outputs[k]
                output = np.where(keep, output, fallback)
            carried = dict(zip(state_names[k], new_states, strict=True))
            for name in trace_names[k]:
                traces[k][name][:, t] = carried.get(name, values[name])
            outputs[k][:, t] = output
            previous_outputs[k] = output
            states[k] = new_states

    if step_mask is None:
        for k in range(len(stack)):
            traces[k]["hidden"] = outputs[k]
        passed_up = outputs[:-1]
    results = tuple(
        RecurrentTrace(
            kind=kind,
            outputs=outputs[k],
            final_states=dict(zip(state_names[k], states[k], strict=True)),
            traces={name: traces[k][name] for name in TRACE_NAMES[kind] if name in traces[k]},
        )
        for k, kind in enumerate(kinds)
    )
    return StackedResult(
        output=outputs[-1] if return_sequences else outputs[-1][:, -1],
        states=tuple(states) if return_state else (),
        mask=input_mask if return_sequences else None,
        cells=results,
        passed_up=tuple(passed_up),
    )


def _project_step(h: Array, fused: FusedWeights) -> Array:
    """``h W + b_x`` for one step, ``(B, G * units)``: the input projection of a higher cell."""
    matrix_x_t = h @ fused.kernel
    if fused.input_bias is not None:
        matrix_x_t += fused.input_bias
    return matrix_x_t


def _check_chain(stack: Sequence[StackedCell], fused: Sequence[FusedWeights]) -> None:
    """Each cell's kernel must take the units of the cell below."""
    for k in range(1, len(stack)):
        below = stack[k - 1].config.units
        features = fused[k].kernel.shape[0]
        if features != below:
            raise ValueError(
                f"StackedRNNCells: cell {k} ({stack[k].config.kind}) takes {features} "
                f"features, but cell {k - 1} outputs {below} units"
            )


def _initial_states(
    given: Sequence[StateMap] | None,
    stack: Sequence[StackedCell],
    batch: int,
    dtype: np.dtype[np.floating],
) -> list[tuple[Array, ...]]:
    """Each cell's states in ``STATE_NAMES`` order: zeros, or the given ones checked and cast."""
    if given is None:
        return [
            tuple(
                np.zeros((batch, cell.config.units), dtype=dtype)
                for _ in STATE_NAMES[cell.config.kind]
            )
            for cell in stack
        ]
    if len(given) != len(stack):
        raise ValueError(
            f"StackedRNNCells: initial_states must give one mapping per cell "
            f"({len(stack)}), got {len(given)}"
        )
    states = []
    for k, (cell, cell_states) in enumerate(zip(stack, given, strict=True)):
        names = STATE_NAMES[cell.config.kind]
        if set(cell_states) != set(names):
            raise ValueError(
                f"StackedRNNCells: cell {k} ({cell.config.kind}) initial state must give "
                f"exactly the states {', '.join(names)}; got {', '.join(cell_states) or 'none'}"
            )
        arrays = tuple(np.asarray(cell_states[name], dtype=dtype) for name in names)
        expected = (batch, cell.config.units)
        for name, array in zip(names, arrays, strict=True):
            if array.shape != expected:
                raise ValueError(
                    f"StackedRNNCells: cell {k} initial state {name!r} must have shape "
                    f"{expected}, got {array.shape}"
                )
        states.append(arrays)
    return states
