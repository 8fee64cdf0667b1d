"""Keras recurrent weights as ``torch.nn.GRU`` / ``LSTM`` / ``RNN`` state dicts, and a parity check.

:func:`to_torch_state_dict` maps one Keras layer (or its reference description) to the
state dict of the equivalent single-layer, ``batch_first`` torch module. With Keras'
per-gate arrays (``W_g`` ``(features, units)``, ``U_g`` ``(units, units)``, biases
``(units,)``)::

    GRU (reset_after=True)   torch's gate order is r, z, n (n is Keras' h)
        weight_ih_l0 = [W_r | W_z | W_h]^T              (3 units, features)
        weight_hh_l0 = [U_r | U_z | U_h]^T              (3 units, units)
        bias_ih_l0   = [b_xr, b_xz, b_xh]  (bias row 0) (3 units,)
        bias_hh_l0   = [b_hr, b_hz, b_hh]  (bias row 1) (3 units,)
    LSTM                     torch's i, f, g, o is Keras' i, f, c, o
        weight_ih_l0 = W^T, weight_hh_l0 = U^T, bias_ih_l0 = b, bias_hh_l0 = 0
    SimpleRNN                torch.nn.RNN, nonlinearity tanh or relu
        weight_ih_l0 = W^T, weight_hh_l0 = U^T, bias_ih_l0 = b, bias_hh_l0 = 0

torch computes ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` and ``h' = (1 - z) * n +
z * h``: exactly Keras' ``reset_after=True`` GRU. A ``Bidirectional`` layer becomes a
``bidirectional=True`` module, its backward layer's arrays under the ``_reverse``
suffix. torch has no ``reset_after=False`` GRU, no activations other than tanh and
sigmoid in its GRU/LSTM, and no masks: those raise
:class:`~pytest_rnnparity.errors.UnsupportedModelError`.

torch is an optional extra (``pip install 'pytest-rnnparity[torch]'``), imported only
when a function here needs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_rnnparity.check.compare import Comparison, compare
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.errors import UnsupportedModelError
from pytest_rnnparity.reference.types import (
    STATE_NAMES,
    Array,
    BidirectionalLayer,
    CellWeights,
    DenseLayer,
    IdentityLayer,
    LayerResult,
    MaskingLayer,
    RecurrentLayer,
    ReferenceLayer,
)
from pytest_rnnparity.spec.torch_support import TORCH_MODULES, cell_problem

TORCH_EXTRA = "pip install 'pytest-rnnparity[torch]'"
TORCH_GATE_ORDER: Mapping[str, tuple[str, ...]] = {
    "gru": ("r", "z", "h"),
    "lstm": ("i", "f", "c", "o"),
    "simple_rnn": ("h",),
}
_DEFAULT_ACTIVATIONS = {"activation": "tanh", "recurrent_activation": "sigmoid"}


def import_torch() -> Any:
    """Import torch, or raise ImportError saying how to install the extra."""
    try:
        return importlib.import_module("torch")
    except ImportError:
        raise ImportError(f"torch is not installed: {TORCH_EXTRA}") from None


# ----------------------------------------------------------------------------- checks


def _check(layer: RecurrentLayer) -> None:
    cell = layer.cell
    problem = cell_problem(cell.kind, cell.activation, cell.recurrent_activation, cell.reset_after)
    if problem is not None:
        raise UnsupportedModelError(f"layer {layer.name!r}: {problem[1]}")


def reference_layer(layer: Any) -> RecurrentLayer | BidirectionalLayer:
    """``layer`` as a reference description: a Keras GRU/LSTM/SimpleRNN/Bidirectional, or one."""
    if isinstance(layer, RecurrentLayer | BidirectionalLayer):
        return layer
    if isinstance(layer, DenseLayer | MaskingLayer | IdentityLayer):
        raise UnsupportedModelError(
            f"layer {layer.name!r} is not a GRU, LSTM, SimpleRNN or Bidirectional layer"
        )
    from pytest_rnnparity.model.keras_version import keras_major, keras_module
    from pytest_rnnparity.model.reference_layers import describe_layer

    described = describe_layer(layer, keras_major=keras_major(keras_module(layer)))
    if not isinstance(described, RecurrentLayer | BidirectionalLayer):
        raise UnsupportedModelError(
            f"layer {described.name!r} is not a GRU, LSTM, SimpleRNN or Bidirectional layer"
        )
    return described


def _directions(layer: RecurrentLayer | BidirectionalLayer) -> list[RecurrentLayer]:
    if isinstance(layer, RecurrentLayer):
        _check(layer)
        return [layer]
    forward, backward = layer.forward, layer.backward
    _check(forward)
    _check(backward)
    if forward.cell != backward.cell:
        raise UnsupportedModelError(
            f"layer {layer.name!r}: torch runs both directions of a bidirectional module "
            f"with one configuration, but the forward ({forward.cell}) and backward "
            f"({backward.cell}) layers differ"
        )
    return [forward, backward]


# ------------------------------------------------------------------------- state dict


def _rows(per_gate: Mapping[str, Array], order: Sequence[str], *, transpose: bool) -> Array:
    blocks = [np.asarray(per_gate[gate]) for gate in order]
    if transpose:
        return np.concatenate([block.T for block in blocks], axis=0)
    return np.concatenate(blocks, axis=0)


def _direction_arrays(weights: CellWeights, suffix: str) -> dict[str, Array]:
    order = TORCH_GATE_ORDER[weights.kind]
    arrays = {
        f"weight_ih_l0{suffix}": _rows(weights.kernel, order, transpose=True),
        f"weight_hh_l0{suffix}": _rows(weights.recurrent_kernel, order, transpose=True),
    }
    if weights.input_bias is not None:
        bias_ih = _rows(weights.input_bias, order, transpose=False)
        arrays[f"bias_ih_l0{suffix}"] = bias_ih
        arrays[f"bias_hh_l0{suffix}"] = (
            np.zeros_like(bias_ih)
            if weights.recurrent_bias is None
            else _rows(weights.recurrent_bias, order, transpose=False)
        )
    return arrays


def state_dict_arrays(layer: Any) -> dict[str, Array]:
    """The torch state dict of ``layer`` as NumPy arrays (see the module docstring).

    Parameters
    ----------
    layer
        A Keras ``GRU`` (``reset_after=True``), ``LSTM``, ``SimpleRNN`` or a
        ``Bidirectional`` of one, or its :class:`RecurrentLayer` / :class:`BidirectionalLayer`.

    Raises
    ------
    UnsupportedModelError
        For a ``reset_after=False`` GRU, activations torch does not offer, or two
        directions configured differently.
    """
    directions = _directions(reference_layer(layer))
    arrays: dict[str, Array] = {}
    for described, suffix in zip(directions, ("", "_reverse"), strict=False):
        arrays.update(_direction_arrays(described.weights, suffix))
    return arrays


def to_torch_state_dict(layer: Any, *, dtype: Any = None) -> dict[str, Any]:
    """The ``torch.nn.GRU`` / ``LSTM`` / ``RNN`` state dict of a Keras layer (torch tensors).

    ``dtype`` is a torch dtype (default: that of the Keras weights). See
    :func:`state_dict_arrays` for what is accepted and :func:`to_torch_module` for the
    module the state dict loads into.
    """
    torch = import_torch()
    return {
        name: torch.as_tensor(np.ascontiguousarray(array), dtype=dtype)
        for name, array in state_dict_arrays(layer).items()
    }


def to_torch_module(layer: Any, *, dtype: Any = None) -> Any:
    """The ``batch_first`` torch module equivalent to ``layer``, weights loaded, in eval mode."""
    torch = import_torch()
    described = reference_layer(layer)
    directions = _directions(described)
    first = directions[0]
    cell = first.cell
    options: dict[str, Any] = {
        "input_size": first.weights.features,
        "hidden_size": cell.units,
        "batch_first": True,
        "bias": cell.use_bias,
        "bidirectional": len(directions) == 2,
    }
    if cell.kind == "simple_rnn":
        options["nonlinearity"] = cell.activation
    state = to_torch_state_dict(described, dtype=dtype)
    module = getattr(torch.nn, TORCH_MODULES[cell.kind])(**options)
    module = module.to(dtype=next(iter(state.values())).dtype)
    module.load_state_dict(state)
    return module.eval()


@dataclass(frozen=True)
class TorchDirection:
    """One direction as torch computed it: ``sequence`` ``(B, T, units)`` in processing
    order and ``final_states`` (``hidden``, and ``cell`` for an LSTM) ``(B, units)``."""

    sequence: Array
    final_states: dict[str, Array]


def run_torch(
    layer: Any,
    inputs: Array,
    *,
    initial_states: Mapping[str, Mapping[str, Array]] | None = None,
    module: Any = None,
) -> dict[str, TorchDirection]:
    """Run ``layer`` as its torch module on ``inputs`` ``(B, T, F)`` (input time order).

    Returns each direction (``forward``, and ``backward`` for a Bidirectional) in
    processing order, as the reference traces are: the backward direction's outputs,
    which torch aligns with the input time, are flipped, and a ``go_backwards`` layer
    runs on the flipped input. ``initial_states`` maps direction -> state name ->
    ``(B, units)``; default zeros. ``module`` reuses a module from
    :func:`to_torch_module`.
    """
    torch = import_torch()
    described = reference_layer(layer)
    directions = _directions(described)
    names = ("forward", "backward")[: len(directions)]
    module = module if module is not None else to_torch_module(described)
    dtype = next(module.parameters()).dtype
    x = np.asarray(inputs)
    if isinstance(described, RecurrentLayer) and described.go_backwards:
        x = x[:, ::-1]
    kind = directions[0].cell.kind
    hx: Any = None
    if initial_states is not None:
        stacked = {
            state: torch.as_tensor(
                np.stack([np.asarray(initial_states[d][state]) for d in names]), dtype=dtype
            )
            for state in STATE_NAMES[kind]
        }
        hx = (stacked["hidden"], stacked["cell"]) if kind == "lstm" else stacked["hidden"]
    with torch.no_grad():
        output, final = module(torch.as_tensor(np.ascontiguousarray(x), dtype=dtype), hx)
    sequence = output.numpy()
    finals = [final[0].numpy(), final[1].numpy()] if kind == "lstm" else [final.numpy()]
    units = directions[0].cell.units
    result = {}
    for index, name in enumerate(names):
        part = sequence[..., index * units : (index + 1) * units]
        result[name] = TorchDirection(
            sequence=part[:, ::-1] if name == "backward" else part,
            final_states={state: finals[i][index] for i, state in enumerate(STATE_NAMES[kind])},
        )
    return result


# ----------------------------------------------------------------------------- parity


@dataclass(frozen=True)
class TorchCheck:
    """Every recurrent layer run as its torch module, compared with the reference."""

    comparisons: tuple[Comparison, ...]
    layer_names: tuple[str, ...]
    layer_classes: Mapping[str, str]
    dtype: str
    torch_version: str

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.comparisons)

    def __repr__(self) -> str:
        failed = sum(not c.ok for c in self.comparisons)
        verdict = "ok" if self.ok else f"{failed} of {len(self.comparisons)} failed"
        return (
            f"TorchCheck({verdict}, {len(self.layer_names)} layer(s), torch "
            f"{self.torch_version}, max abs error "
            f"{max((c.max_abs for c in self.comparisons), default=0.0):.1e})"
        )


def compare_torch(
    layers: Sequence[ReferenceLayer],
    reference: Sequence[LayerResult],
    x: Array,
    *,
    tolerances: Mapping[str, Tolerance],
    chunks: Sequence[slice] | None = None,
    layer_classes: Mapping[str, str] | None = None,
    dtype: str = "float32",
) -> TorchCheck:
    """Convert each recurrent layer to torch, run it on its reference input, compare.

    Each layer gets the reference's output of the layer before it (or ``x``), so a
    difference is located in the layer that makes it. ``chunks`` are the successive
    batches of a stateful model (the state carried from one to the next); default one.
    Compared per direction: the hidden state at every step and the final states.

    Raises
    ------
    UnsupportedModelError
        If a layer has no torch equivalent or receives a mask.
    """
    torch = import_torch()
    rows = list(chunks) if chunks else [slice(0, len(x))]
    comparisons: list[Comparison] = []
    current: Any = np.asarray(x)
    for index, described in enumerate(layers):
        if isinstance(described, RecurrentLayer | BidirectionalLayer):
            if index and reference[index - 1].mask is not None:
                raise UnsupportedModelError(
                    f"layer {described.name!r} receives a mask; torch modules take none"
                )
            module = to_torch_module(described, dtype=getattr(torch, dtype))
            runs = []
            states: dict[str, dict[str, Array]] | None = None
            for row in rows:
                ran = run_torch(described, current[row], initial_states=states, module=module)
                runs.append(ran)
                if len(rows) > 1:
                    states = {d: r.final_states for d, r in ran.items()}
            for direction in runs[0]:
                expected = reference[index].directions[direction]
                sequence = np.concatenate([r[direction].sequence for r in runs])
                comparisons.append(
                    compare(
                        expected.outputs,
                        sequence,
                        tolerances["hidden"],
                        layer=described.name,
                        quantity="hidden",
                        axes=("row", "timestep", "unit"),
                        direction=direction,
                        time_axis=1,
                    )
                )
                for state, value in expected.final_states.items():
                    got = np.concatenate([r[direction].final_states[state] for r in runs])
                    comparisons.append(
                        compare(
                            value,
                            got,
                            tolerances["cell" if state == "cell" else "hidden"],
                            layer=described.name,
                            quantity=f"final {state}",
                            axes=("row", "unit"),
                            direction=direction,
                        )
                    )
        current = reference[index].output
    return TorchCheck(
        comparisons=tuple(comparisons),
        layer_names=tuple(described.name for described in layers),
        layer_classes=dict(layer_classes or {}),
        dtype=dtype,
        torch_version=str(torch.__version__),
    )
