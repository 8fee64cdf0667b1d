"""Detection: Keras computing something else at one timestep, by just over tolerance, fails
parity, and the report names that timestep; just under tolerance, parity passes.

The project's conftest adds an offset to what the GRU's probe reads from Keras (every
step of the hidden state) at timestep 3 only, as a Keras upgrade that moved one step
would (the GRU returns its last step, so its own output, which the probe is checked
against, is untouched). The spec's tolerance is ``atol=1e-5, rtol=0``.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from .conftest import good_spec, write_project

pytestmark = pytest.mark.keras

ATOL = 1e-5
STEP = 3
PERTURBING_CONFTEST = """\
import dataclasses

from pytest_rnnparity.model import capture
ORIGINAL = capture.ModelCapture.__call__


def perturbed(self, inputs, masks):
    run = ORIGINAL(self, inputs, masks)
    name, values = next((k, v) for k, v in run.calls.items() if v.directions)
    direction = values.directions["forward"]
    sequence = direction.sequence.copy()  # some Keras versions hand out read-only arrays
    sequence[:, {step}, :] += {offset!r}
    directions = {{"forward": dataclasses.replace(direction, sequence=sequence)}}
    calls = {{**run.calls, name: dataclasses.replace(values, directions=directions)}}
    return dataclasses.replace(run, calls=calls)


def pytest_configure(config):
    capture.ModelCapture.__call__ = perturbed


def pytest_unconfigure(config):
    capture.ModelCapture.__call__ = ORIGINAL
"""


def run_perturbed(pytester: pytest.Pytester, offset: float) -> pytest.RunResult:
    write_project(pytester.path, {"gru.yaml": good_spec("gru-spec")})
    pytester.makeconftest(PERTURBING_CONFTEST.format(step=STEP, offset=offset))
    return pytester.runpytest_inprocess("--rnn-parity", "-k", "parity")


def test_an_offset_just_above_tolerance_at_one_timestep_fails_and_is_located(
    pytester: pytest.Pytester, fresh_keras: ModuleType
) -> None:
    result = run_perturbed(pytester, 1.5 * ATOL)

    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.re_match_lines(
        [
            r"Keras and the float32 reference disagree in 1 of \d+ checks\.$",
            r"First: layer 'gru' \(GRU, layer 1 of 2\), hidden state \(every timestep\)$",
            rf"  at timestep {STEP}, row 0, unit 0:$",
            r"    abs error 1\.[45]\de-05, rel error .* \(tolerance atol=1e-05, rtol=0\)$",
            rf"  Timesteps 0-{STEP - 1} agree: check what carries over between steps: .*",
        ]
    )


def test_an_offset_just_below_tolerance_passes(
    pytester: pytest.Pytester, fresh_keras: ModuleType
) -> None:
    result = run_perturbed(pytester, 0.5 * ATOL)

    result.assert_outcomes(passed=1, deselected=1)
