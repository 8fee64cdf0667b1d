"""The Python API: check a Keras model or a candidate implementation, raising on a mismatch.

The checks themselves are :mod:`pytest_rnnparity.check` (verdicts as data) and the text
of a failure is :mod:`pytest_rnnparity.report`; these functions put the two together
for a caller who wants an exception with the report in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pytest_rnnparity.check.candidate import (
    Candidate,
    CandidateCheck,
    compare_candidate,
    function_name,
    load_candidate,
    stateful_model,
    tolerances_of,
)
from pytest_rnnparity.check.parity import ParityResult, run_parity
from pytest_rnnparity.check.tolerance import Tolerance
from pytest_rnnparity.errors import ParityError
from pytest_rnnparity.reference.recurrent.mistakes import Setting
from pytest_rnnparity.report.parity import parity_message
from pytest_rnnparity.report.parity import parity_report as _parity_report
from pytest_rnnparity.report.ports import candidate_message


def check_parity(
    model: Any,
    x: Any,
    *,
    atol: float | None = None,
    rtol: float | None = None,
    dtype: Literal["float32", "float64"] = "float32",
    mask: Any = None,
    tolerances: Mapping[str, Tolerance] | None = None,
    hidden_only: bool = False,
    raise_on_mismatch: bool = True,
    run_eagerly: bool | None = None,
) -> ParityResult:
    """Compare a Keras recurrent model with the independent NumPy reference, step by step.

    Parameters
    ----------
    model
        A ``Sequential`` or functional Keras model: one chain of supported layers.
    x
        Inputs ``(batch, time, features)``. For a model with stateful layers, the rows
        are fed in successive batches of the model's fixed batch size, in order, after
        resetting the states, so state carries from one batch to the next.
    atol, rtol
        Tolerances (``|keras - reference| <= atol + rtol * |reference|``). Default:
        ``1e-5``/``1e-5`` when either side computes in float32, ``1e-10``/``1e-9``
        when both compute in float64.
    dtype
        The reference's computation dtype: ``"float32"`` mirrors Keras, ``"float64"``
        is the ground truth.
    mask
        Optional ``(batch, time)`` boolean mask passed to the model and the reference.
    tolerances
        Per-quantity overrides keyed ``"hidden"``, ``"cell"``, ``"output"``.
    hidden_only
        Keep only hidden-state traces in the result (less memory); gates are not kept.
    raise_on_mismatch
        Raise :class:`ParityError` when a comparison fails (default), else just return;
        :func:`pytest_rnnparity.report.parity.parity_message` gives the text.
    run_eagerly
        ``True`` runs Keras eagerly (``model(x)``), ``False`` as one ``tf.function``
        graph (as ``model.predict`` does) when the backend is TensorFlow. Default: a
        graph from 32 recurrent steps per call (timesteps x recurrent directions),
        where it is faster. Either way the NumPy reference runs on a second thread
        beside Keras when the machine has a spare core.

    Returns
    -------
    ParityResult
        Comparisons at every timestep of every recurrent layer (and final states and
        each layer's output), the reference traces and the Keras outputs.
    """
    __tracebackhide__ = True
    result = run_parity(
        model,
        x,
        atol=atol,
        rtol=rtol,
        dtype=dtype,
        mask=mask,
        tolerances=tolerances,
        hidden_only=hidden_only,
        run_eagerly=run_eagerly,
    )
    if raise_on_mismatch and not result.ok:
        raise ParityError(parity_message(result))
    return result


def parity_report(result: ParityResult) -> str:
    """What ``check_parity`` compared, as text: every layer call, its largest errors.

    A passing check lists each compared quantity with its error and tolerance, and each
    layer the reference did not compute as ``not computed … opaque``; a failing one
    gives the same text as its ``ParityError``.
    """
    return _parity_report(result)


def check_candidate(
    model: Any,
    x: Any,
    candidate: Candidate | str,
    *,
    layer: int | str | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    dtype: Literal["float32", "float64"] = "float32",
    tolerances: Mapping[str, Tolerance] | None = None,
    with_diagnosis: bool = True,
    raise_on_mismatch: bool = True,
    name: str | None = None,
) -> CandidateCheck:
    """Check a candidate implementation against the reference, and so against Keras.

    First :func:`~pytest_rnnparity.check_parity` proves the reference equals ``model``
    (it raises :class:`ParityError` if not); then ``candidate`` runs on the selected
    recurrent layer (default: the first) and every hidden state (and every gate it
    returns) is compared with the reference. See the module docstring for what a
    candidate receives and returns.

    Parameters
    ----------
    model
        A Keras model of a single chain of layers.
    x
        Inputs ``(batch, time, features)``.
    candidate
        The function, or ``"package.module:function"`` (imported with the current
        directory first on ``sys.path``).
    layer
        The recurrent layer the candidate implements: index among the model's layers
        (without the input layer) or Keras name. Default: the first recurrent layer.
    atol, rtol, dtype, tolerances
        As for :func:`~pytest_rnnparity.check_parity`.
    with_diagnosis
        On a mismatch, search for the classic mistakes that explain it.
    raise_on_mismatch
        Raise :class:`ParityError` with the report (and diagnosis) on a mismatch.
    name
        How the report names the candidate (default: ``module:qualname``).
    """
    __tracebackhide__ = True
    if isinstance(candidate, str):
        function, shown = load_candidate(candidate, root=Path.cwd()), candidate
    else:
        function, shown = candidate, function_name(candidate)
    parity = check_parity(model, x, atol=atol, rtol=rtol, dtype=dtype, tolerances=tolerances)
    check = compare_candidate(
        function,
        parity.chain("a candidate check"),
        parity.reference,
        np.asarray(parity.inputs, dtype=dtype),
        name=name or shown,
        tolerances=tolerances_of(parity.comparisons),
        layer=layer,
        setting=Setting(
            stateful=stateful_model(parity.chain("a candidate check")),
            keras_major=parity.keras_major,
        ),
        layer_classes=parity.layer_classes,
        dtype=dtype,
        with_diagnosis=with_diagnosis,
    )
    if raise_on_mismatch and not check.ok:
        raise ParityError(candidate_message(check))
    return check
