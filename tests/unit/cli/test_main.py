"""cli/main.py: explain, validate, new (and schema) as a user runs them."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_rnnparity.cli.main import main
from pytest_rnnparity.spec import schema_text

from ..helpers import REPO as ROOT
from ..helpers import UNIT

EXPECTED = UNIT / "expected" / "explain_power_gru.txt"


def _without_error_sizes(text: str) -> str:
    return re.sub(r"\b\d\.\d+e[-+]\d\d\b", "<error>", text)


MISSING_EXTRA = "explain needs the 'report' extra: pip install 'pytest-rnnparity[report]'\n"

BAD_UNITS = """\
data:
  features:
    a: [1.0, 2.0, 3.0, 4.0, 5.0]
  target: {column: a}
lookback: 2
model:
  - GRU: {units: -4}
"""

MISSING_COLUMN = """\
data:
  csv: {path: data.csv, features: [temperature], target: power}
lookback: 2
model:
  - GRU: {units: 2}
"""


@pytest.fixture(scope="module")
def ran_a_spec_once() -> None:
    """Import everything an in-process ``pytester`` run would import, by running a spec.

    The ``pytester`` fixture drops every module imported after it was set up, and
    TensorFlow (which imports parts of itself lazily, on the first model) cannot be
    imported twice into a process: this module-scoped fixture runs before it.
    """
    import pkgutil

    pytest.importorskip("keras")
    import pytest_rnnparity
    from pytest_rnnparity.check.spec_run import run_spec
    from pytest_rnnparity.model import environment
    from pytest_rnnparity.model.build import import_keras
    from pytest_rnnparity.spec import load_specs

    for module in pkgutil.iter_modules(pytest_rnnparity.__path__):
        if module.name != "__main__":
            importlib.import_module(f"pytest_rnnparity.{module.name}")
    (spec,) = load_specs(ROOT / "specs" / "power_gru.yaml", root=ROOT)
    run_spec(spec, root=ROOT)
    environment.capture()
    import_keras().backend.clear_session()


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "explain" in capsys.readouterr().err


def test_schema_is_still_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert '"$schema"' in capsys.readouterr().out


def test_cli_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == schema_text()


def test_cli_without_a_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "schema" in capsys.readouterr().err


# --------------------------------------------------------------------------- validate


def test_validate_the_bundled_specs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["validate", "specs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "ok: specs/power_gru.yaml (1 variant)" in out
    assert "ok: specs/bidirectional_gru.yaml (4 variants)" in out
    assert len(out) == len(list((ROOT / "specs").glob("*.yaml")))


def test_validate_reports_one_located_error_per_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "bad_units.yaml").write_text(BAD_UNITS, encoding="utf-8")
    (tmp_path / "specs" / "bad_data.yaml").write_text(MISSING_COLUMN, encoding="utf-8")
    (tmp_path / "specs" / "data.csv").write_text("temperature,load\n1,2\n3,4\n5,6\n")
    (tmp_path / "specs" / "good.yaml").write_text(
        BAD_UNITS.replace("units: -4", "units: 4"), encoding="utf-8"
    )
    assert main(["validate", "specs", "missing.yaml"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "specs/bad_data.yaml:2:58: data.csv.target: column 'power' not found in specs/data.csv;"
        " columns: temperature, load",
        "specs/bad_units.yaml:7:18: model[0].GRU.units: expected a positive integer, got -4",
        "ok: specs/good.yaml (1 variant)",
        "missing.yaml: no such file or directory",
    ]


def test_validate_checks_the_data_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.yaml").write_text(MISSING_COLUMN.replace("power", "load"), encoding="utf-8")
    (tmp_path / "data.csv").write_text("temperature,load\n1,2\n3,four\n5,6\n")
    assert main(["validate", "x.yaml"]) == 1
    assert capsys.readouterr().out == "data.csv:3: load: expected a number, got 'four'\n"


def test_validate_does_not_import_tensorflow() -> None:
    code = textwrap.dedent(
        """\
        import sys
        from pytest_rnnparity.cli.main import main
        code = main(["validate", "specs"])
        heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
        print("exit", code, "imported", heavy)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == "exit 0 imported []"


# -------------------------------------------------------------------------------- new


def test_new_writes_a_commented_spec_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["new", "specs/my model.yaml", "--cell", "lstm", "--units", "6", "--lookback", "3"]
    assert main(args) == 0
    text = (tmp_path / "specs" / "my model.yaml").read_text(encoding="utf-8")
    assert "name: my-model" in text
    assert "  - LSTM: {units: 6}" in text
    assert "lookback: 3" in text
    for line in text.splitlines():
        if line and not line.startswith(("#", " ")) and not line.startswith("description"):
            assert "#" in line, f"top-level key without a comment: {line}"
    assert max(len(line) for line in text.splitlines()) <= 100
    assert capsys.readouterr().out.splitlines() == [
        "wrote specs/my model.yaml",
        "its parity item passes as written; its golden item fails until the golden is"
        " recorded: pytest --rnn-parity --snapshot-update specs/my model.yaml"
        " (or rnnparity new --record)",
    ]
    assert main(args) == 1
    assert "exists; refusing to overwrite it" in capsys.readouterr().err
    assert (tmp_path / "specs" / "my model.yaml").read_text(encoding="utf-8") == text


def test_new_from_a_csv_reads_its_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    rows = "\n".join(f"{i},{i % 3},{i * 2}" for i in range(20))
    (tmp_path / "data" / "load.csv").write_text(f"hour,weekday,load\n{rows}\n")
    assert main(["new", "specs/load.yaml", "--data", "csv:data/load.csv", "--features", "1"]) == 0
    text = (tmp_path / "specs" / "load.yaml").read_text(encoding="utf-8")
    assert "    path: ../data/load.csv" in text
    assert "    features: [hour]" in text
    assert "    target: load" in text
    assert main(["validate", "specs/load.yaml"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "ok: specs/load.yaml (1 variant)"


def test_new_rejects_an_unknown_data_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["new", "x.yaml", "--data", "parquet:x"])
    assert excinfo.value.code == 2
    assert "expected synthetic, csv:PATH" in capsys.readouterr().err


@pytest.mark.keras
def test_new_then_validate_then_pytest_round_trips(
    ran_a_spec_once: None, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("keras")
    pytester.makeini("[pytest]\n")
    rows = "\n".join(f"{i},{(i * 7) % 5},{(i * 3) % 11}" for i in range(30))
    pytester.makefile(".csv", **{"specs/data/meters": f"hour,weekday,load\n{rows}"})
    assert main(["new", "specs/gru.yaml"]) == 0
    assert main(["new", "specs/lstm.yaml", "--cell", "lstm", "--data", "random_walk"]) == 0
    assert (
        main(
            ["new", "specs/rnn.yaml", "--cell", "simple_rnn", "--data", "csv:specs/data/meters.csv"]
        )
        == 0
    )
    assert main(["validate", "specs"]) == 0
    capsys.readouterr()
    recorded = pytester.runpytest("--rnn-parity", "--snapshot-update", "-p", "no:cacheprovider")
    recorded.assert_outcomes(passed=6)
    checked = pytester.runpytest("--rnn-parity", "-p", "no:cacheprovider")
    checked.assert_outcomes(passed=6)


ARCHITECTURES = ("text-classifier", "cnn-lstm", "seq2seq", "attention", "autoencoder")


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_new_arch_writes_a_commented_functional_spec_that_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, arch: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", f"specs/{arch}.yaml", "--arch", arch, "--lookback", "6"]) == 0
    text = (tmp_path / "specs" / f"{arch}.yaml").read_text(encoding="utf-8")
    assert f"name: {arch}" in text
    assert "  layers:" in text
    assert "LSTM" in text  # the default cell of an architecture
    for line in text.splitlines():
        if line and not line.startswith(("#", " ")) and not line.startswith("description"):
            assert "#" in line, f"top-level key without a comment: {line}"
    assert max(len(line) for line in text.splitlines()) <= 100
    capsys.readouterr()
    assert main(["validate", f"specs/{arch}.yaml"]) == 0
    assert capsys.readouterr().out == f"ok: specs/{arch}.yaml (1 variant)\n"


def test_new_arch_takes_the_cell_units_and_csv_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rows = "\n".join(f"{i},{i % 3},{i * 2}" for i in range(40))
    (tmp_path / "load.csv").write_text(f"hour,weekday,load\n{rows}\n", encoding="utf-8")
    assert main(["new", "s2s.yaml", "--arch", "seq2seq", "--cell", "gru", "--units", "3"]) == 0
    assert main(["new", "ae.yaml", "--arch", "autoencoder", "--data", "csv:load.csv"]) == 0

    seq2seq = (tmp_path / "s2s.yaml").read_text(encoding="utf-8")
    assert "      GRU: {units: 3, return_state: true}" in seq2seq
    assert "      initial_state: [encoder.state]" in seq2seq
    autoencoder = (tmp_path / "ae.yaml").read_text(encoding="utf-8")
    assert "        features: [hour, weekday]" in autoencoder
    assert "      TimeDistributed: {layer: {Dense: {units: 2}}}" in autoencoder
    capsys.readouterr()
    assert main(["validate", "s2s.yaml", "ae.yaml"]) == 0


@pytest.mark.parametrize("arch", ["text-classifier", "seq2seq"])
def test_new_arch_refuses_csv_data_where_its_inputs_are_synthetic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, arch: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "x.yaml", "--arch", arch, "--data", "csv:load.csv"]) == 2
    assert capsys.readouterr().err == (
        f"--arch {arch} reads synthetic data only; --data csv:PATH goes with cnn-lstm,"
        " attention, autoencoder\n"
    )
    assert not (tmp_path / "x.yaml").exists()


def test_validate_a_functional_spec_checks_its_graph_and_every_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ids.csv").write_text("1,2,3\n4,5\n6,x\n", encoding="utf-8")
    graph = (
        "data:\n  inputs:\n    t: {tokens: {path: ids.csv, length: 4}}\n"
        "model:\n  layers:\n"
        "    emb: {Embedding: {input_dim: 10, output_dim: 2}, inputs: t}\n"
        "    lstm: {LSTM: {units: 2}, inputs: emb}\n"
    )
    (tmp_path / "bad_ids.yaml").write_text(graph, encoding="utf-8")
    (tmp_path / "typo.yaml").write_text(graph.replace("inputs: emb", "inputs: emd"))

    assert main(["validate", "bad_ids.yaml", "typo.yaml"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "ids.csv:3: expected a token id (an integer >= 0) in field 2, got 'x'",
        "typo.yaml:7:38: model.layers.lstm.inputs: unknown layer or input 'emd'; did you mean"
        " 'emb'?",
    ]


@pytest.mark.keras
def test_new_arch_starters_pass_once_their_goldens_are_recorded(
    ran_a_spec_once: None, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makeini("[pytest]\n")
    for arch in ARCHITECTURES:
        assert main(["new", f"specs/{arch}.yaml", "--arch", arch]) == 0
    assert main(["new", "specs/s2s_gru.yaml", "--arch", "seq2seq", "--cell", "gru"]) == 0
    assert main(["validate", "specs"]) == 0
    capsys.readouterr()
    recorded = pytester.runpytest("--rnn-parity", "--snapshot-update", "-p", "no:cacheprovider")
    recorded.assert_outcomes(passed=12)
    checked = pytester.runpytest("--rnn-parity", "-p", "no:cacheprovider")
    checked.assert_outcomes(passed=12)


@pytest.mark.keras
def test_new_record_records_the_golden_so_the_first_run_passes(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    assert main(["new", "specs/gru.yaml", "--record"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "wrote specs/gru.yaml",
        "recording its golden: pytest --rnn-parity --snapshot-update specs/gru.yaml",
    ]
    assert (pytester.path / "golden" / "gru" / "gru.golden").is_file()
    pytester.runpytest("--rnn-parity").assert_outcomes(passed=2)


# ---------------------------------------------------------------------------- explain


def test_explain_without_the_report_extra_says_what_to_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setitem(sys.modules, "tabulate", None)
    assert main(["explain", "specs/power_gru.yaml"]) == 2
    assert capsys.readouterr() == ("", MISSING_EXTRA)


def test_explain_plots_without_matplotlib_says_what_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["explain", "specs/power_gru.yaml", "--plots", str(tmp_path)]) == 2
    assert capsys.readouterr() == ("", MISSING_EXTRA)


def test_explain_an_invalid_spec_fails_with_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text(BAD_UNITS, encoding="utf-8")
    assert main(["explain", "bad.yaml"]) == 1
    assert capsys.readouterr().err == (
        "bad.yaml:7:18: model[0].GRU.units: expected a positive integer, got -4\n"
    )


@pytest.mark.keras
def test_explain_prints_the_golden_text_and_writes_the_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("keras")
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(ROOT)
    assert main(["explain", "specs/power_gru.yaml"]) == 0
    out = capsys.readouterr().out
    # error sizes are the installed TensorFlow's float32 rounding: see test_explain
    assert _without_error_sizes(out) == _without_error_sizes(EXPECTED.read_text(encoding="utf-8"))
    plots = tmp_path / "plots"
    assert main(["explain", "specs/power_gru.yaml", "--windows", "3", "--plots", str(plots)]) == 0
    out = capsys.readouterr().out
    names = ["hidden_norm.png", "predictions.png", "gates_gru.png"]
    assert out.endswith("\nPlots:\n" + "".join(f"  {plots / name}\n" for name in names))
    assert "(showing 3 of 8 windows; --windows N shows more)" in out
    for name in names:
        assert (plots / name).read_bytes().startswith(b"\x89PNG")


@pytest.mark.keras
def test_explain_prints_no_tensorflow_line() -> None:
    pytest.importorskip("keras")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest_rnnparity", "explain", "specs/power_gru.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert _without_error_sizes(done.stdout) == _without_error_sizes(
        EXPECTED.read_text(encoding="utf-8")
    )


@pytest.mark.keras
def test_explain_one_matrix_variant(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("keras")
    monkeypatch.chdir(ROOT)
    args = [
        "explain",
        "specs/bidirectional_gru.yaml",
        "--variant",
        "merge_mode=sum",
        "--windows",
        "1",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("=" * 80 + "\nEXPLAIN bidirectional-gru[merge_mode=sum]: ")
    assert out.count("EXPLAIN ") == 1
    assert main(["explain", "specs/bidirectional_gru.yaml", "--variant", "nope"]) == 2


@pytest.mark.keras
def test_explain_shows_the_failure_and_exits_1_when_parity_fails(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("keras")
    from pytest_rnnparity.reference.recurrent import cells

    original = cells.gru_step

    def notebook_update_rule(*args: object, **kwargs: object) -> object:
        right = original(*args, **kwargs)  # type: ignore[arg-type]
        hidden = (1 - right.update) * args[1] + right.update * right.candidate  # type: ignore[operator]
        return cells.GRUStep(right.update, right.reset, right.candidate, hidden)

    monkeypatch.setattr(cells, "gru_step", notebook_update_rule)
    monkeypatch.chdir(ROOT)
    # --sequences: the name of --windows before 0.2.0, still understood
    assert main(["explain", "specs/power_gru.yaml", "--sequences", "1"]) == 1
    out = capsys.readouterr().out
    assert "FAIL: Keras and the float32 reference disagree in 4 of 4 checks." in out
    assert "  at timestep 0, row 0, unit 0:" in out


@pytest.mark.keras
def test_explain_and_export_of_a_functional_spec_say_what_they_cannot_show(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("keras")
    pytest.importorskip("tabulate")
    monkeypatch.chdir(ROOT)
    assert main(["explain", "specs/seq2seq.yaml"]) == 1
    assert capsys.readouterr().err == (
        "specs/seq2seq.yaml: explain shows the data of one input, and this spec is a"
        " functional model (inputs: history, decoder_input)\n"
    )
    assert main(["export", "specs/seq2seq.yaml", "--format", "json", str(tmp_path / "v")]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_merge_reports_names_an_unreadable_report_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    out = tmp_path / "merged.json"
    assert main(["merge-reports", str(tmp_path / "broken.json"), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path / 'broken.json'}: cannot read the report: ")
    assert err.count("\n") == 1  # one line, no traceback
    assert not out.exists()


def test_merge_reports_prints_the_merged_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_rnnparity.report import summary

    for name, status in (("a", "passed"), ("b", "failed")):
        properties = summary.identity_properties("parity", name)
        if status == "failed":  # a mismatch, as the parity item records it
            properties.append(summary.failure_property("failed"))
        record = summary.item_record(f"specs/{name}.yaml::{name}::parity", status, properties)
        text = json.dumps(summary.build_report([record]))
        (tmp_path / f"{name}.json").write_text(text, encoding="utf-8")
    out = tmp_path / "merged.json"
    args = ["merge-reports", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "-o", str(out)]
    assert main(args) == 0
    assert capsys.readouterr().out == (
        f"merged 2 report(s) into {out}\n2 spec(s), 2 item(s): 1 passed, 1 failed\n"
    )
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["counts"]["failed"] == 1
