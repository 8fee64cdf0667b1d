"""The items of a spec's runtime paths: ``::parity[runtime=onnx]``, ``::parity[runtime=tflite]``...

One :class:`RuntimePathItem` per runtime path of ``paths:``. The spec's artifacts are
converted together, in one child process, the first time one of its runtime items
runs (:class:`SpecArtifacts`, shared by those items only); each item then runs its
own artifact, compares it with the spec's reference and, read only, with its golden.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from pytest_rnnparity.collection.items import PathItem, item_name
from pytest_rnnparity.collection.state import RuntimeOutcome, SpecState
from pytest_rnnparity.errors import (
    ConversionFailed,
    ConversionRefused,
    GoldenMismatch,
    ParityError,
    RuntimeAdapterError,
    UnsupportedModelError,
)
from pytest_rnnparity.spec import ExecutionPath


class SpecArtifacts:
    """The artifacts of one spec's runtime paths, converted together on first use.

    Only the paths whose runtime is installed are converted. Results are keyed by the
    path's id: an :class:`~pytest_rnnparity.runtimes.manifest.Artifact`, or the
    converter's refusal or crash.
    """

    def __init__(self, state: SpecState) -> None:
        self.state = state
        self._results: dict[str, Any] | None = None

    def result(self, path: ExecutionPath, tmp_path_factory: pytest.TempPathFactory) -> Any:
        """The conversion of ``path`` (converting every installed runtime path on first use)."""
        if self._results is None:
            from pytest_rnnparity.check.deployed import convert_paths, runtime_skip_reason

            run = self.state.run()
            stem = re.sub(r"[^A-Za-z0-9_-]+", "_", self.state.spec.id)[:60]
            self._results = convert_paths(
                [p for p in self.state.spec.paths if runtime_skip_reason(p) is None],
                run.model,
                run.windows.x,
                tmp_path_factory.mktemp(f"rnnparity-{stem}"),
                spec_id=self.state.spec.id,
                keras_major=run.parity.keras_major,
            )
        return self._results[path.id]


def _skip(reason: str) -> BaseException:
    # reported at the spec's line, not at pytest's own frame
    return pytest.skip.Exception(reason, _use_item_location=True)


def runtime_path_test(state: SpecState, outcome: RuntimeOutcome, artifacts: SpecArtifacts) -> Any:
    """A runtime path's test: convert (shared), run, compare with the reference and golden."""
    path = outcome.path

    def runtime_parity(tmp_path_factory: pytest.TempPathFactory, request: Any) -> None:
        __tracebackhide__ = True
        from pytest_rnnparity.check.deployed import (
            check_runtime,
            expected_to_convert,
            runtime_skip_reason,
        )
        from pytest_rnnparity.check.spec_run import spec_tolerances
        from pytest_rnnparity.report.deployed import (
            quantized_report,
            runtime_failure_message,
            runtime_summary,
        )
        from pytest_rnnparity.runtimes.manifest import Artifact

        state.skip_if_reported()
        reason = runtime_skip_reason(path)
        if reason:
            raise _skip(reason)
        main = state.run().parity
        state.skip_if_non_finite()
        try:
            main.chain(f"the execution path {path.id}")
        except UnsupportedModelError as error:
            raise _skip(str(error)) from None
        result = artifacts.result(path, tmp_path_factory)
        if isinstance(result, ConversionRefused):
            if expected_to_convert(main.layers):
                raise RuntimeAdapterError(
                    f"execution path {path.id}: the converter refused a model made only of "
                    f"layers it converts: {result.reason}"
                )
            raise _skip(f"the converter cannot express this model: {result.reason}")
        if isinstance(result, ConversionFailed):
            raise result
        assert isinstance(result, Artifact)
        check = check_runtime(path, result, main, spec_tolerances(state.spec, path.tolerance))
        outcome.check = check
        if not check.ok:
            raise ParityError(runtime_failure_message(check))
        summary = runtime_summary(check)
        if check.artifact.quantization != "none":
            summary += "\n" + quantized_report(check)
        request.node.add_report_section("call", "rnn-parity", summary)
        _compare_with_golden(state, check, main)

    runtime_parity.__module__ = __name__
    return runtime_parity


def _compare_with_golden(state: SpecState, check: Any, main: Any) -> None:
    """The runtime's layer outputs against the recorded golden (read only; none: no check)."""
    __tracebackhide__ = True
    from pytest_rnnparity.golden.deployed import runtime_drift, runtime_golden
    from pytest_rnnparity.golden.files import read_text
    from pytest_rnnparity.golden.format import loads
    from pytest_rnnparity.report.drift import drift_message
    from pytest_rnnparity.spec import resolved_display_path

    where = resolved_display_path(state.golden_path, state.root)
    try:
        text = read_text(state.golden_path)
    except FileNotFoundError:
        return
    recorded = loads(text, location=where)
    current, tolerances = runtime_golden(check, main, name=state.spec.id, options=state.spec.golden)
    cut, drift = runtime_drift(recorded, current, tolerances)
    if drift.ok:
        return
    mismatch = GoldenMismatch(
        f"execution path {check.path.id}: "
        + drift_message(cut, current, drift, golden_path=where, update_command=state.update_command)
    )
    mismatch.drift = drift
    raise mismatch


class RuntimePathItem(PathItem):
    """The spec's model converted and run in a deployment runtime (ONNX, TFLite)."""

    def __init__(self, *, runtime: RuntimeOutcome, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime

    def runtest(self) -> None:
        from pytest_rnnparity.report.deployed import runtime_properties
        from pytest_rnnparity.report.summary import PREFIX

        try:
            super().runtest()
        except pytest.skip.Exception:
            raise
        except BaseException:
            if self.runtime.check is None:  # a crash or refusal: the JSON report lists it
                self.user_properties += [(PREFIX + "verdict", "fail")]
            raise
        finally:
            if self.runtime.check is not None:
                self.user_properties += runtime_properties(self.runtime.check)


def runtime_items(
    collector: pytest.Collector, state: SpecState, variant: str | None = None
) -> list[pytest.Item]:
    """One item per runtime path of the spec, sharing the spec's conversions; named
    ``parity[<variant>-<path>]`` as the other execution paths are."""
    from pytest_rnnparity.collection.state import PathOutcome

    artifacts = SpecArtifacts(state)
    items: list[pytest.Item] = []
    for path in state.spec.paths:
        if path.runtime is None:
            continue
        outcome = RuntimeOutcome(path)
        items.append(
            RuntimePathItem.from_parent(
                collector,
                name=item_name("parity", variant, path.id),
                callobj=runtime_path_test(state, outcome, artifacts),
                state=state,
                outcome=PathOutcome(path),
                runtime=outcome,
            )
        )
    return items
