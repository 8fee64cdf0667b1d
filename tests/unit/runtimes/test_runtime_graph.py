"""Step matching, scopes, read plans and departures on small hand-built graphs (no runtime)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from pytest_rnnparity.check.departures import compare_readout, first_departure
from pytest_rnnparity.reference.types import LayerResult, RecurrentTrace
from pytest_rnnparity.report.deployed import departure_table
from pytest_rnnparity.runtimes.dataflow import Dataflow, Op
from pytest_rnnparity.runtimes.manifest import (
    Artifact,
    DirectionInfo,
    LayerInfo,
    ModelManifest,
)
from pytest_rnnparity.runtimes.readout import ReadPlan, assemble
from pytest_rnnparity.runtimes.scopes import Place, Scopes
from pytest_rnnparity.runtimes.steps import (
    find_steps,
    link_steps,
    match_gru,
    match_lstm,
    match_simple_rnn,
)

Spec = Sequence[tuple[str, Sequence[str], Sequence[str]]]


def flow(ops: Spec, inputs: Sequence[str], constants: Sequence[str] = ()) -> Dataflow:
    return Dataflow(
        ops=tuple(Op(kind, out[0], tuple(ins), tuple(out)) for kind, ins, out in ops),
        inputs=tuple(inputs),
        outputs=(),
        initializers=frozenset(constants),
    )


def gru_step(t: int, h_tm1: str, *, swap: bool = False) -> list[tuple[str, list[str], list[str]]]:
    """One Keras GRU step (reset_after=True) as a converter writes it."""
    p = f"s{t}/"
    blend = [f"{p}omz", f"{p}hh"]
    keep = [f"{p}z", h_tm1]
    return [
        ("fully_connected", [f"x{t}", "W", "b"], [f"{p}px"]),
        ("split", ["axis", f"{p}px"], [f"{p}xz", f"{p}xr", f"{p}xh"]),
        ("fully_connected", [h_tm1, "U"], [f"{p}ph"]),
        ("strided_slice", [f"{p}ph", "k0"], [f"{p}rz"]),
        ("strided_slice", [f"{p}ph", "k1"], [f"{p}rr"]),
        ("strided_slice", [f"{p}ph", "k2"], [f"{p}rh"]),
        ("add", [f"{p}xz", f"{p}rz"], [f"{p}az"]),
        ("sigmoid", [f"{p}az"], [f"{p}z"]),
        ("add", [f"{p}xr", f"{p}rr"], [f"{p}ar"]),
        ("sigmoid", [f"{p}ar"], [f"{p}r"]),
        ("mul", [f"{p}r", f"{p}rh"], [f"{p}rrh"]),
        ("add", [f"{p}xh", f"{p}rrh"], [f"{p}ah"]),
        ("tanh", [f"{p}ah"], [f"{p}hh"]),
        ("mul", keep[::-1] if swap else keep, [f"{p}zh"]),
        ("sub", ["one", f"{p}z"], [f"{p}omz"]),
        ("mul", blend[::-1] if swap else blend, [f"{p}b"]),
        ("add", [f"{p}b", f"{p}zh"] if swap else [f"{p}zh", f"{p}b"], [f"h{t}"]),
    ]


CONSTANTS = ("W", "b", "U", "axis", "k0", "k1", "k2", "one")


@pytest.mark.parametrize("swap", [False, True], ids=["keras_order", "operands_swapped"])
def test_a_gru_step_is_told_apart_by_what_each_role_is_computed_from(swap: bool) -> None:
    graph = flow(gru_step(1, "h0", swap=swap), ["x1", "h0"], CONSTANTS)
    step = match_gru(graph, "h1")
    assert step is not None
    assert dict(step.roles) == {
        "update": "s1/z",
        "candidate": "s1/hh",
        "hidden": "h1",
        "reset": "s1/r",
    }
    assert step.previous == {"hidden": "h0"}


def test_z_minus_one_is_not_a_gru_step() -> None:
    ops = [(k, ["s1/z", "one"] if k == "sub" else i, o) for k, i, o in gru_step(1, "h0")]
    assert match_gru(flow(ops, ["x1", "h0"], CONSTANTS), "h1") is None


def test_gru_steps_link_in_processing_order_and_inner_blends_are_dropped() -> None:
    ops = gru_step(1, "h0") + gru_step(2, "h1") + gru_step(3, "h2")
    graph = flow(ops[::-1][::-1], ["x1", "x2", "x3", "h0"], CONSTANTS)
    steps = find_steps(graph, "gru")
    assert [s.states["hidden"] for s in steps] == ["h1", "h2", "h3"]  # no "(1 - z) * hh"
    shuffled = [steps[2], steps[0], steps[1]]
    (chain,) = link_steps(shuffled)
    assert [s.states["hidden"] for s in chain] == ["h1", "h2", "h3"]


def lstm_step(t: int, c_tm1: str | None, h_tm1: str | None, act: str = "tanh") -> Spec:
    p = f"s{t}/"
    pre = [("fully_connected", [f"x{t}", "W", "b"], [f"{p}pre"])]
    if h_tm1 is not None:
        pre = [
            ("fully_connected", [f"x{t}", "W", "b"], [f"{p}px"]),
            ("fully_connected", [h_tm1, "U"], [f"{p}ph"]),
            ("add", [f"{p}px", f"{p}ph"], [f"{p}pre"]),
        ]
    cell = [("mul", [f"{p}i", f"{p}g"], [f"c{t}"] if c_tm1 is None else [f"{p}ig"])]
    if c_tm1 is not None:
        cell += [
            ("sigmoid", [f"{p}af"], [f"{p}f"]),
            ("mul", [f"{p}f", c_tm1], [f"{p}fc"]),
            ("add", [f"{p}fc", f"{p}ig"], [f"c{t}"]),
        ]
    return [
        *pre,
        ("split", ["axis", f"{p}pre"], [f"{p}ai", f"{p}af", f"{p}ac", f"{p}ao"]),
        ("sigmoid", [f"{p}ai"], [f"{p}i"]),
        (act, [f"{p}ac"], [f"{p}g"]),
        ("sigmoid", [f"{p}ao"], [f"{p}o"]),
        *cell,
        (act, [f"c{t}"], [f"{p}tc"]),
        ("mul", [f"{p}o", f"{p}tc"], [f"h{t}"]),
    ]


def test_lstm_steps_with_a_folded_first_forget_gate() -> None:
    graph = flow([*lstm_step(1, None, None), *lstm_step(2, "c1", "h1")], ["x1", "x2"], CONSTANTS)
    (chain,) = link_steps(find_steps(graph, "lstm"))
    first, second = chain
    assert dict(first.roles) == {
        "output": "s1/o",
        "cell": "c1",
        "hidden": "h1",
        "input": "s1/i",
        "candidate": "s1/g",
    }
    assert second.roles["forget"] == "s2/f"
    assert second.previous == {"cell": "c1"}


def test_lstm_input_and_candidate_are_left_out_when_one_activation_computes_both() -> None:
    graph = flow(lstm_step(1, None, None, act="sigmoid"), ["x1"], CONSTANTS)
    step = match_lstm(graph, "h1")
    assert step is not None
    assert "input" not in step.roles
    assert "candidate" not in step.roles
    assert step.roles["cell"] == "c1"


def test_simple_rnn_steps_link_through_their_activation() -> None:
    ops: Spec = [
        ("fully_connected", ["x1", "W", "b"], ["p1"]),
        ("tanh", ["p1"], ["h1"]),
        ("fully_connected", ["x2", "W", "b"], ["px2"]),
        ("fully_connected", ["h1", "U"], ["ph2"]),
        ("add", ["px2", "ph2"], ["p2"]),
        ("tanh", ["p2"], ["h2"]),
    ]
    graph = flow(ops, ["x1", "x2"], CONSTANTS)
    assert match_simple_rnn(graph, "h2", "relu") is None
    (chain,) = link_steps(find_steps(graph, "simple_rnn", activation="tanh"))
    assert [s.roles["hidden"] for s in chain] == ["h1", "h2"]


MANIFEST = ModelManifest(
    layers=(
        LayerInfo("gru", "GRU", (None, 5, 4), "gru", 4, (DirectionInfo("forward", "gru", False),)),
        LayerInfo(
            "gru_1",
            "Bidirectional",
            (None, 8),
            "gru",
            4,
            (
                DirectionInfo("forward", "forward_gru_1", False),
                DirectionInfo("backward", "backward_gru_1", True),
            ),
        ),
        LayerInfo("head", "Dense", (None, 2)),
    ),
    input_shape=(None, 5, 3),
    keras_version="3.15.1",
)


@pytest.mark.parametrize(
    ("name", "place"),
    [
        ("m_1/gru_1/gru_cell_3/Sigmoid", Place("gru", "forward")),
        ("m_1/gru_1_1/forward_gru_1_1/gru_cell_1/Tanh;m_1/x", Place("gru_1", "forward")),
        ("m_1/gru_1_1/backward_gru_1_1/while/add:0", Place("gru_1", "backward")),
        ("m_1/gru_1_1/concat", Place("gru_1", None)),
        ("m_1/head_1/BiasAdd", Place("head", None)),
        ("StatefulPartitionedCall_1:0", None),
        ("arith.constant3", None),
        ("m_1/gru/Sigmoid", None),  # Keras 3 scopes always carry a suffix
    ],
)
def test_names_resolve_to_their_keras_layer_and_direction(name: str, place: Place | None) -> None:
    assert Scopes(MANIFEST).resolve(name) == place


def test_names_of_two_layers_do_not_resolve_together() -> None:
    scopes = Scopes(MANIFEST)
    assert scopes.resolve_all(["m_1/gru_1/a", "m_1/head_1/b"]) is None
    assert scopes.resolve_all(
        ["m_1/gru_1_1/x", "m_1/gru_1_1/backward_gru_1_1/y", "tfl.quantize"]
    ) == (Place("gru_1", "backward"))


def _readout_of(values: dict[str, np.ndarray]) -> tuple[ReadPlan, object]:
    manifest = ModelManifest(
        layers=(
            LayerInfo(
                "rnn",
                "SimpleRNN",
                (None, 3, 2),
                "simple_rnn",
                2,
                (DirectionInfo("forward", "rnn", False),),
                return_sequences=True,
            ),
        ),
        input_shape=(None, 3, 1),
        keras_version="3.15.1",
    )
    plan = ReadPlan(manifest=manifest, timesteps=3)
    plan.add_steps(("rnn", "forward", "hidden"), {0: "h0", 2: "h2"}, "two step tensors")
    plan.add_final(("rnn", "forward", "hidden"), "h2", "h2")
    artifact = Artifact(
        path=__import__("pathlib").Path("m.onnx"),
        format="onnx",
        quantization="none",
        manifest=manifest,
    )
    readout = assemble(
        plan,
        plan.evaluate(values.__getitem__, rows=2),
        artifact=artifact,
        runtime="test",
        inputs=np.zeros((2, 3, 1)),
        outputs=[np.zeros((2, 3, 2))],
    )
    return plan, readout


def test_a_step_the_runtime_does_not_expose_is_nan_and_listed() -> None:
    h0 = np.full((2, 2), 0.5)
    h2 = np.full((2, 2), -0.25)
    _, readout = _readout_of({"h0": h0, "h2": h2})
    read = readout.layer("rnn").directions["forward"]  # type: ignore[attr-defined]
    assert read.missing_steps == {"hidden": (1,)}
    assert np.isnan(read.traces["hidden"][:, 1]).all()
    np.testing.assert_array_equal(read.traces["hidden"][:, 2], h2)
    np.testing.assert_array_equal(read.final_states["hidden"], h2)


def test_departures_skip_missing_steps_and_place_the_first_one() -> None:
    expected = np.zeros((2, 3, 2))
    expected[:, 2] = -0.25
    expected[1, 2, 1] = -0.2  # the runtime is 0.05 off here, at step 2
    _, readout = _readout_of({"h0": np.zeros((2, 2)), "h2": np.full((2, 2), -0.25)})
    reference = [
        LayerResult(
            name="rnn",
            output=np.zeros((2, 3, 2)),
            directions={
                "forward": RecurrentTrace(
                    kind="simple_rnn",
                    outputs=expected,
                    final_states={"hidden": expected[:, 2]},
                    traces={"hidden": expected},
                )
            },
        )
    ]
    departures = compare_readout(readout, reference, 0.01)  # type: ignore[arg-type]
    hidden = departures[0]
    assert (hidden.quantity, hidden.compared, hidden.exceeding, hidden.where) == (
        "hidden",
        8,
        1,
        (1, 2, 1),
    )
    assert hidden.first_step == 2
    assert first_departure(departures) is not None
    assert first_departure(departures).step == 2  # type: ignore[union-attr]
    assert departure_table(departures).splitlines() == [
        "  layer  direction  quantity      steps  max abs   mean abs  largest at  first step beyond"
        "  tolerance  beyond",
        "  rnn    forward    hidden        0,2    5.00e-02  6.25e-03  1,2,1       2"
        "                  atol=0.01  1/8",
        "  rnn    forward    final hidden  -      5.00e-02  1.25e-02  1,1         -"
        "                  atol=0.01  1/4",
        "  rnn    -          output        0-2    0.00e+00  0.00e+00  0,0,0       -"
        "                  atol=0.01  ok",
    ]
