"""The port items of a spec: ``::candidate`` (a user's implementation) and ``::torch``.

Like the items of :mod:`.items`, they are ``pytest.Function`` objects handed the
spec's :class:`~.state.SpecState`: the reference traces (checked against Keras by the
``::parity`` item) are computed once per spec.

* ``specs/x.yaml::x::candidate`` runs ``candidate.function`` on the selected layer and
  compares every step (and every gate it returns) with the reference; on a mismatch
  the report ends with the diagnosis (which classic mistakes explain it). With
  ``expect: mismatch`` it passes when the candidate disagrees (and, with
  ``diagnosis:``, for exactly those mistakes); the diagnosis is then shown as a report
  section (``pytest -rP``) and recorded as the ``rnn_parity.diagnosis`` property.
* ``specs/x.yaml::x::torch`` runs each recurrent layer as the torch module its weights
  map to (:mod:`pytest_rnnparity.check.torch_port`); skipped with the reason when torch
  is not installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_rnnparity.collection.items import SpecItemMixin, item_name
from pytest_rnnparity.collection.state import CandidateOutcome, SpecState, TorchOutcome
from pytest_rnnparity.errors import ParityError, UnsupportedModelError
from pytest_rnnparity.report.diagnosis import diagnosis_sentence
from pytest_rnnparity.report.ports import candidate_message, torch_message
from pytest_rnnparity.report.summary import PREFIX, parity_properties

if TYPE_CHECKING:
    from pytest_rnnparity.check.candidate import CandidateCheck


def port_items(
    parent: pytest.Collector, state: SpecState, variant: str | None = None
) -> list[pytest.Item]:
    """The ``candidate`` and ``torch`` items the spec asks for (none without the keys),
    named ``candidate[<variant>]`` and ``torch[<variant>]`` for a matrix variant."""
    items: list[pytest.Item] = []
    if state.spec.candidate is not None:
        candidate = CandidateOutcome()
        items.append(
            CandidateItem.from_parent(
                parent,
                name=item_name("candidate", variant),
                callobj=_candidate_test(state, candidate),
                state=state,
                outcome=candidate,
            )
        )
    if state.spec.torch is not None:
        torch = TorchOutcome()
        items.append(
            TorchItem.from_parent(
                parent,
                name=item_name("torch", variant),
                callobj=_torch_test(state, torch),
                state=state,
                outcome=torch,
            )
        )
    return items


def candidate_check(state: SpecState) -> CandidateCheck:
    """Run the spec's candidate against its reference (the spec's run is shared)."""
    __tracebackhide__ = True
    from pytest_rnnparity.check.candidate import compare_candidate, load_candidate
    from pytest_rnnparity.check.spec_run import spec_tolerances
    from pytest_rnnparity.errors import CandidateLoadError
    from pytest_rnnparity.reference.recurrent.mistakes import Setting

    spec = state.spec
    options = spec.candidate
    assert options is not None
    run = state.run()
    state.skip_if_non_finite()
    try:
        function = load_candidate(options.function, root=state.root)
    except CandidateLoadError as error:
        key = "candidate.function" if "candidate.function" in spec.locations else "candidate"
        raise spec.error(key, str(error)) from None
    parity = run.parity
    try:
        return compare_candidate(
            function,
            parity.chain("a candidate check"),
            parity.reference,
            parity.inputs,
            name=options.function,
            tolerances=spec_tolerances(spec),
            layer=options.layer,
            setting=Setting(stateful=spec.stateful, keras_major=parity.keras_major),
            layer_classes=parity.layer_classes,
            dtype=spec.dtype,
            target="Keras" if parity.ok else "the reference",
        )
    except UnsupportedModelError as error:
        raise spec.error("candidate.layer", str(error)) from None


def expectation_problem(
    check: CandidateCheck, *, expect: str, diagnosis: Sequence[str] | None
) -> str | None:
    """Why the check's outcome is not what the spec's ``candidate:`` expects, or None."""
    if expect == "match":
        return None if check.ok else candidate_message(check)
    if check.ok:
        return (
            f"The candidate {check.name} matches the {check.dtype} reference within "
            "tolerance, but the spec expects a mismatch (candidate.expect: mismatch)."
        )
    if diagnosis is None:
        return None
    expected = set(diagnosis)
    wrong = [d for _, d in check.diagnoses if set(d.mistakes) != expected]
    if not wrong:
        return None
    return (
        f"The candidate {check.name} disagrees, as the spec expects, but the spec expects "
        f"the diagnosis {', '.join(diagnosis)}.\n\n{candidate_message(check)}"
    )


def _candidate_test(state: SpecState, outcome: CandidateOutcome) -> Any:
    def candidate() -> None:
        __tracebackhide__ = True
        options = state.spec.candidate
        assert options is not None
        check = candidate_check(state)
        outcome.check = check
        problem = expectation_problem(check, expect=options.expect, diagnosis=options.diagnosis)
        if problem is not None:
            raise ParityError(problem)

    candidate.__module__ = __name__
    return candidate


def _torch_test(state: SpecState, outcome: TorchOutcome) -> Any:
    def torch() -> None:
        __tracebackhide__ = True
        from pytest_rnnparity.check.parity import batch_chunks
        from pytest_rnnparity.check.spec_run import spec_tolerances
        from pytest_rnnparity.check.torch_port import compare_torch, import_torch

        spec = state.spec
        assert spec.torch is not None
        try:
            import_torch()
        except ImportError as error:
            raise pytest.skip.Exception(str(error), _use_item_location=True) from None
        parity = state.run().parity
        state.skip_if_non_finite()
        check = compare_torch(
            parity.chain("the torch item"),
            parity.reference,
            parity.inputs,
            tolerances=spec_tolerances(spec, spec.torch.tolerance),
            chunks=batch_chunks(len(parity.inputs), 1 if spec.stateful else None),
            layer_classes=parity.layer_classes,
            dtype=spec.dtype,
        )
        outcome.check = check
        if not check.ok:
            raise ParityError(torch_message(check))

    torch.__module__ = __name__
    return torch


class CandidateItem(SpecItemMixin, pytest.Function):
    """A user's implementation of one layer against the reference (and so Keras)."""

    kind = "candidate"

    def __init__(self, *, outcome: CandidateOutcome, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outcome = outcome

    def runtest(self) -> None:
        try:
            super().runtest()
        finally:
            self._record()

    def _record(self) -> None:
        check = self.outcome.check
        if check is None:
            return
        self.record(
            parity_properties(
                check.comparisons,
                ok=check.ok,
                kind="candidate",
                verdict="match" if check.ok else "mismatch",
            )
        )
        for direction, diagnosis in check.diagnoses:
            self.user_properties.append((PREFIX + "diagnosis", diagnosis_sentence(diagnosis)))
            self.user_properties.append((PREFIX + "mistakes", ",".join(diagnosis.mistakes)))
            candidate = self.state.spec.candidate
            if candidate is not None and candidate.expect == "mismatch":
                # a failure's report holds the diagnosis already; a pass shows it here (-rP)
                self.add_report_section(
                    "call", f"diagnosis ({direction})", diagnosis_sentence(diagnosis)
                )

    def reportinfo(self) -> tuple[Path, int | None, str]:
        spec = self.state.spec
        line = spec.candidate.line if spec.candidate is not None else spec.line
        return spec.path, line - 1, f"{spec.name}::{self.name}"


class TorchItem(SpecItemMixin, pytest.Function):
    """Each recurrent layer as its torch.nn module, against the reference."""

    kind = "torch"

    def __init__(self, *, outcome: TorchOutcome, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outcome = outcome

    def runtest(self) -> None:
        try:
            super().runtest()
        finally:
            check = self.outcome.check
            if check is not None:
                self.record(parity_properties(check.comparisons, ok=check.ok, kind="torch"))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        spec = self.state.spec
        line = spec.torch.line if spec.torch is not None else spec.line
        return spec.path, line - 1, f"{spec.name}::{self.name}"
