"""``rnnparity`` / ``python -m pytest_rnnparity``: command-line helpers around the plugin.

Each subcommand is a function ``_<name>(args) -> int`` registered in :func:`_parser`.
Nothing here imports tensorflow; subcommands that need it import it themselves.

* ``schema``: the JSON Schema of spec files.
* ``explain SPEC``: the notebook's step-by-step view of a spec's model (the ``report``
  extra), optionally with plots.
* ``validate PATH...``: schema and data checks of spec files, without TensorFlow.
* ``new PATH``: a commented starter spec (``--arch``: a functional model of a common
  architecture).
* ``export SPEC --format json|npz|c-header OUT``: test vectors for ports (weights,
  inputs, every gate at every step), once the reference agrees with Keras;
  ``--format onnx|tflite [--quantize int8]``: the deployed artifact, checked like a
  runtime path, with the test vectors next to it (:mod:`.deploy`).
* ``merge-reports REPORT... -o FILE``: the JSON reports of CI shards as one.
* ``check MODEL --data FILE [--spec-out SPEC]``: a saved model checked on given data
  (:mod:`pytest_rnnparity.cli.check`); ``--spec-out`` writes the spec that repeats it.

Exit codes: 0 success, 1 a spec or a check failed, 2 a usage problem (bad arguments,
a missing optional package).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from pytest_rnnparity.spec import Spec

from pytest_rnnparity.report.explain import BRIEF_STEPS, FULL_STEPS, FULL_WINDOWS, PLOT_WINDOWS

REPORT_EXTRA = "pip install 'pytest-rnnparity[report]'"
SPEC_SUFFIXES = (".yaml", ".yml")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    code: int = args.run(args)
    return code


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _count(text: str) -> int:
    """A positive integer, or ``all``."""
    return sys.maxsize if text == "all" else _positive(text)


def _data_source(text: str) -> str:
    if text in ("synthetic", "sine", "random_walk", "normal") or text.startswith("csv:"):
        return text
    raise argparse.ArgumentTypeError(
        f"expected synthetic, csv:PATH or a synthetic kind (sine, random_walk, normal), "
        f"got {text!r}"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnparity",
        description="Helpers for pytest-rnnparity spec files.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of the spec format",
        description="Print the JSON Schema (draft 2020-12) of spec files, for editors:"
        " rnnparity schema > spec_schema.json",
    )
    schema.set_defaults(run=_schema)

    explain = commands.add_parser(
        "explain",
        help="show a spec's model at work: gates and states at every step, predictions",
        description="Run a spec and print, as the notebook did but with the correct pass:"
        " the model summary, the weights per gate, every gate and state at every step of"
        " each window, the predictions in the target's units, the comparison with Keras and"
        f" the parity verdict. A spec of more than {FULL_WINDOWS} windows or"
        f" {FULL_STEPS} steps in all is shown brief: its first window step by step, the"
        f" first {BRIEF_STEPS} steps in full and a table of the rest (--windows and"
        " --steps widen it). Needs the 'report' extra. Exit code 1 when parity fails.",
    )
    explain.add_argument("spec", type=Path, metavar="SPEC", help="a spec file (YAML)")
    explain.add_argument(
        "--windows",
        "--sequences",  # its name before 0.2.0
        dest="windows",
        type=_count,
        default=None,
        metavar="N|all",
        help="show the first N windows step by step (default: every window of a small"
        " spec, the first of a bigger one); the comparison table always lists every window",
    )
    explain.add_argument(
        "--steps",
        type=_count,
        default=None,
        metavar="N|all",
        help=f"show the first N steps of each window in full, the rest as one table row each"
        f" (default: every step of a small spec, {BRIEF_STEPS} of a bigger one)",
    )
    explain.add_argument(
        "--plots",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write PNG plots into DIR: hidden-state norm, predictions, gate heatmaps"
        f" (of the windows --windows shows, at least the first {PLOT_WINDOWS})",
    )
    explain.add_argument(
        "--variant",
        default=None,
        metavar="ID",
        help="only the matrix variants whose id contains ID (e.g. merge_mode=sum)",
    )
    _root_option(explain)
    explain.set_defaults(run=_explain)

    validate = commands.add_parser(
        "validate",
        help="check spec files (schema and data) without TensorFlow",
        description="Load each spec file, validate it and build its data windows, without"
        " importing TensorFlow (a saved .keras model's input is read from its config)."
        " Prints 'ok: FILE (N variants)' or 'FILE:LINE:COL: problem' per file; exit code 1"
        " if any file is invalid.",
    )
    validate.add_argument(
        "paths",
        type=Path,
        nargs="+",
        metavar="PATH",
        help="spec files, or directories searched for *.yaml / *.yml",
    )
    _root_option(validate)
    validate.set_defaults(run=_validate)

    new = commands.add_parser(
        "new",
        help="write a commented starter spec",
        description="Write a starter spec, every key commented, that validates as written:"
        " its parity item passes, its golden item fails until the golden is recorded"
        " (--record records it at once). Refuses to overwrite a file.",
    )
    new.add_argument("path", type=Path, metavar="PATH", help="the spec file to write")
    new.add_argument(
        "--arch",
        choices=("text-classifier", "cnn-lstm", "seq2seq", "attention", "autoencoder"),
        default=None,
        help="a functional model of a common architecture instead of a recurrent layer and"
        " a Dense: text-classifier (Embedding -> Bidirectional), cnn-lstm, seq2seq (an"
        " encoder's states start the decoder), attention, autoencoder (RepeatVector)",
    )
    new.add_argument(
        "--cell",
        choices=("gru", "lstm", "simple_rnn"),
        default=None,
        help="the recurrent layer (default gru; lstm with --arch)",
    )
    new.add_argument("--units", type=_positive, default=4, help="units of the cell (default 4)")
    new.add_argument(
        "--features",
        type=_positive,
        default=None,
        help="input features: synthetic columns (default 3), or the first N CSV columns"
        " other than the target (default all)",
    )
    new.add_argument("--lookback", type=_positive, default=5, help="rows per window (default 5)")
    new.add_argument(
        "--data",
        type=_data_source,
        default="synthetic",
        metavar="csv:PATH|synthetic",
        help="synthetic (a seeded sine; or name the kind: sine, random_walk, normal) or"
        " csv:PATH, a CSV file with a header row (default synthetic)",
    )
    new.add_argument(
        "--target",
        default=None,
        metavar="COLUMN",
        help="with csv:PATH, the column to predict (default: the last column)",
    )
    new.add_argument("--seed", type=int, default=0, help="the spec's seed (default 0)")
    new.add_argument(
        "--record",
        action="store_true",
        help="then record its golden: run pytest --rnn-parity --snapshot-update on it"
        " (imports TensorFlow)",
    )
    new.set_defaults(run=_new)

    export = commands.add_parser(
        "export",
        help="write test vectors for a port: per-gate weights, inputs, gate traces",
        description="Run a spec, check the reference against Keras, and write the per-gate"
        " weights, the inputs and every gate at every step of every recurrent layer, for a"
        " C, HLS or microcontroller unit test to compare against. The layout is in the"
        " README and in the file. Exit code 1 when the reference disagrees with Keras.",
    )
    export.add_argument("spec", type=Path, metavar="SPEC", help="a spec file (YAML)")
    export.add_argument(
        "--format",
        required=True,
        choices=("json", "npz", "c-header", "onnx", "tflite"),
        help="json (nested, with shapes), npz (flat names) or c-header (C99 arrays); onnx or"
        " tflite: the deployed artifact, checked against the reference, with npz test"
        " vectors next to it",
    )
    export.add_argument(
        "--quantize",
        choices=("dynamic", "int8"),
        default=None,
        help="tflite: dynamic-range or full int8 (calibrated on the spec's windows)",
    )
    export.add_argument("out", type=Path, metavar="OUT", help="the file to write")
    export.add_argument(
        "--sequences",
        type=_positive,
        default=None,
        metavar="N",
        help="export the first N windows only (default: all)",
    )
    export.add_argument(
        "--prefix",
        default="rnnp",
        help="c-header: the prefix of every C name (default rnnp)",
    )
    export.add_argument(
        "--variant",
        default=None,
        metavar="ID",
        help="the matrix variant whose id contains ID (needed when the spec has several)",
    )
    _root_option(export)
    export.set_defaults(run=_export)

    check = commands.add_parser(
        "check",
        help="check a saved Keras model on given data: the verdict and the per-layer table",
        description="Load a saved model (.keras with safe_mode, or .h5) with its own weights,"
        " run it and the NumPy reference on the data given (as given: no scaling), and print"
        " the verdict and the largest error per layer. --data is a .npy/.npz array of rows"
        " (N, features) or windows (batch, steps, features), or a CSV file with a header"
        " row. With --spec-out it writes the spec that repeats the check, so that"
        " `pytest --rnn-parity` gates it from then on. Exit code 1 when parity fails.",
    )
    check.add_argument("model", type=Path, metavar="MODEL", help="a saved model (.keras, .h5)")
    check.add_argument(
        "--data",
        type=Path,
        required=True,
        metavar="FILE",
        help="a .npy or .npz array (rows or windows) or a .csv file with a header row",
    )
    check.add_argument(
        "--lookback",
        type=_positive,
        default=None,
        metavar="N",
        help="steps per window when the data are rows (default: the steps the model's"
        " input declares)",
    )
    check.add_argument(
        "--spec-out",
        type=Path,
        default=None,
        metavar="SPEC",
        help="also write the spec that repeats this check (and, for an array, its data as"
        " data/<name>.csv beside it); never overwrites a file",
    )
    check.add_argument(
        "--array",
        default=None,
        metavar="NAME",
        help="the array of an .npz file that holds several (default: x, inputs or windows)",
    )
    check.add_argument(
        "--features",
        type=_columns,
        default=None,
        metavar="A,B,...",
        help="a CSV's input columns, in order (default: its numeric columns)",
    )
    check.add_argument(
        "--target",
        default=None,
        metavar="COLUMN",
        help="a CSV's column the spec names as its target (default: the last numeric one)",
    )
    _root_option(check)
    check.set_defaults(run=_check)

    merge = commands.add_parser(
        "merge-reports",
        help="merge the --rnn-parity-report files of CI shards into one",
        description="Merge the JSON reports of shards of one suite (pytest-split groups,"
        " xdist-free CI machines) into one report of every item, counted anew, and print"
        " its summary. An item in two reports is an error: the shards overlapped.",
    )
    merge.add_argument("reports", type=Path, nargs="+", metavar="REPORT")
    merge.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE", help="the merged report"
    )
    merge.set_defaults(run=_merge_reports)
    return parser


def _merge_reports(args: argparse.Namespace) -> int:
    import json

    from pytest_rnnparity.golden.files import atomic_write_text
    from pytest_rnnparity.report.summary import (
        merge_reports,
        report_text,
        session_error_line,
        summary_lines,
    )

    loaded = []
    for path in args.reports:
        try:
            loaded.append((str(path), json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as error:
            print(session_error_line(str(path), "cannot read the report", error), file=sys.stderr)
            return 1
    try:
        merged = merge_reports(loaded)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    try:  # a killed merge leaves the old file or the new one, never half
        atomic_write_text(args.output, report_text(merged))
    except OSError as error:
        line = session_error_line(str(args.output), "cannot write the merged report", error)
        print(line, file=sys.stderr)
        return 1
    print(f"merged {len(loaded)} report(s) into {args.output}")
    print("\n".join(summary_lines(merged)))
    return 0


def _columns(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected column names separated by commas, got {text!r}")
    return names


def _check(args: argparse.Namespace) -> int:
    from pytest_rnnparity.cli.check import check_command

    return check_command(args, root_for=_root_for)


def _root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rootdir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the project root the spec's files must stay inside (default: the current"
        " directory when the spec lies inside it, else the spec's directory)",
    )


def _root_for(path: Path, rootdir: Path | None) -> Path:
    if rootdir is not None:
        return rootdir.resolve()
    cwd = Path.cwd().resolve()
    resolved = path.resolve()
    return cwd if cwd in resolved.parents else resolved.parent


def _schema(args: argparse.Namespace) -> int:
    from pytest_rnnparity.spec import schema_text

    sys.stdout.write(schema_text())
    return 0


# ---------------------------------------------------------------------------- explain


def _missing_report_extra(*modules: str) -> bool:
    """Whether one of the report extra's packages cannot be imported."""
    for module in modules:
        try:
            __import__(module)
        except ImportError:
            return True
    return False


def _load_variants(args: argparse.Namespace, root: Path) -> tuple[list[Spec], list[Spec]] | None:
    """The specs of ``args.spec`` and those whose id contains ``--variant`` (all without it).

    None after printing why the file does not load (its located SpecError).
    """
    from pytest_rnnparity.errors import RnnParityError
    from pytest_rnnparity.spec import load_specs

    try:
        specs = load_specs(args.spec, root=root)
    except RnnParityError as error:
        print(error, file=sys.stderr)
        return None
    if args.variant is None:
        return specs, specs
    return specs, [spec for spec in specs if args.variant in (spec.variant or "")]


def _explain(args: argparse.Namespace) -> int:
    needed = ("tabulate", "matplotlib") if args.plots is not None else ("tabulate",)
    if _missing_report_extra(*needed):
        print(f"explain needs the 'report' extra: {REPORT_EXTRA}", file=sys.stderr)
        return 2
    from pytest_rnnparity.errors import RnnParityError

    root = _root_for(args.spec, args.rootdir)
    loaded = _load_variants(args, root)
    if loaded is None:
        return 1
    _, specs = loaded
    if not specs:
        print(f"{args.spec}: no matrix variant matches {args.variant!r}", file=sys.stderr)
        return 2
    from pytest_rnnparity.check.spec_run import run_spec
    from pytest_rnnparity.model.build import import_keras
    from pytest_rnnparity.report.explain import explain_text

    plot_windows = max(PLOT_WINDOWS, args.windows or 0)
    failed = False
    for index, spec in enumerate(specs):
        # a fresh session: Keras numbers layer names per session (gru, gru_1, ...)
        import_keras().backend.clear_session()
        try:
            run = run_spec(spec, root=root)
        except RnnParityError as error:
            print(error, file=sys.stderr)
            return 1
        try:
            text = explain_text(run, windows=args.windows, steps=args.steps)
        except RnnParityError as error:  # a model explain cannot show yet
            print(error, file=sys.stderr)
            return 1
        if index:
            sys.stdout.write("\n")
        sys.stdout.write(text)
        failed = failed or not run.parity.ok
        if args.plots is not None:
            from pytest_rnnparity.report.plots import explain_plots, safe_name

            directory = args.plots if len(specs) == 1 else args.plots / safe_name(spec.id)
            written = explain_plots(run, directory, windows=plot_windows)
            sys.stdout.write("\nPlots:\n" + "".join(f"  {path}\n" for path in written))
        sys.stdout.flush()
    return 1 if failed else 0


# --------------------------------------------------------------------------- validate


def _spec_files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.suffix in SPEC_SUFFIXES)
    else:
        yield path


def _validate_file(path: Path, root: Path) -> str:
    """``ok: FILE (N variants)``; raises SpecError for the first problem.

    The windows of a saved model are checked against the input its ``.keras`` config
    declares; a model whose input cannot be read without Keras (an ``.h5`` file) is
    named, with what checks it.
    """
    from pytest_rnnparity.inputs import load_inputs
    from pytest_rnnparity.spec import SavedModel, load_specs, resolved_display_path
    from pytest_rnnparity.spec.saved_model import saved_input_shape

    specs = load_specs(path, root=root)
    unread: dict[Path, None] = {}
    for spec in specs:
        load_inputs(spec, root=root)  # every input's windows, as a run cuts them
        if isinstance(spec.model, SavedModel) and saved_input_shape(spec.model.path) is None:
            unread[spec.model.path] = None
    shown = specs[0].display_path if specs else str(path)
    count = len(specs)
    line = f"ok: {shown} ({count} variant{'' if count == 1 else 's'})"
    for model in unread:
        line += (
            f"; the input of {resolved_display_path(model, root)} cannot be read without"
            " TensorFlow: pytest --rnn-parity checks lookback and features against it"
        )
    return line


def _validate(args: argparse.Namespace) -> int:
    from pytest_rnnparity.errors import SpecError

    failed = False
    for given in args.paths:
        if not given.exists():
            print(f"{given}: no such file or directory")
            failed = True
            continue
        files = list(_spec_files(given))
        if not files:
            print(f"{given}: no *.yaml or *.yml spec files here")
            failed = True
        for path in files:
            try:
                print(_validate_file(path, _root_for(path, args.rootdir)))
            except SpecError as error:
                print(error)
                failed = True
    return 1 if failed else 0


# -------------------------------------------------------------------------------- new


def _relative_to_spec(target: Path, spec_path: Path) -> str:
    return Path(os.path.relpath(target.resolve(), spec_path.resolve().parent)).as_posix()


def _new(args: argparse.Namespace) -> int:
    from pytest_rnnparity.spec.starter import (
        CSV_ARCHITECTURES,
        CsvSource,
        SyntheticKind,
        SyntheticSource,
        architecture_spec,
        csv_header,
        spec_name,
        starter_spec,
    )

    path: Path = args.path
    if path.suffix not in SPEC_SUFFIXES:
        print(f"{path}: a spec file name ends in .yaml or .yml", file=sys.stderr)
        return 2
    if (
        args.arch is not None
        and args.data.startswith("csv:")
        and args.arch not in CSV_ARCHITECTURES
    ):
        print(
            f"--arch {args.arch} reads synthetic data only; --data csv:PATH goes with"
            f" {', '.join(CSV_ARCHITECTURES)}",
            file=sys.stderr,
        )
        return 2
    if path.exists():
        print(f"{path} exists; refusing to overwrite it", file=sys.stderr)
        return 1
    source: SyntheticSource | CsvSource
    if args.data.startswith("csv:"):
        csv_path = Path(args.data.removeprefix("csv:"))
        try:
            header = csv_header(csv_path)
        except (OSError, ValueError) as error:
            print(f"cannot read the CSV header of {csv_path}: {error}", file=sys.stderr)
            return 2
        target = args.target or header[-1]
        if target not in header:
            print(
                f"{csv_path}: no column {target!r}; columns: {', '.join(header)}",
                file=sys.stderr,
            )
            return 2
        candidates = [name for name in header if name != target] or [target]
        count = len(candidates) if args.features is None else args.features
        if count > len(candidates):
            print(
                f"{csv_path}: --features {count}, but only {len(candidates)} columns"
                f" besides the target: {', '.join(candidates)}",
                file=sys.stderr,
            )
            return 2
        source = CsvSource(
            path=_relative_to_spec(csv_path, path),
            features=tuple(candidates[:count]),
            target=target,
        )
    else:
        kind = "sine" if args.data == "synthetic" else args.data
        source = SyntheticSource(features=args.features or 3, kind=cast(SyntheticKind, kind))
    if args.arch is None:
        text = starter_spec(
            name=spec_name(path),
            cell=args.cell or "gru",
            units=args.units,
            lookback=args.lookback,
            source=source,
            seed=args.seed,
        )
    else:
        text = architecture_spec(
            arch=args.arch,
            name=spec_name(path),
            cell=args.cell or "lstm",
            units=args.units,
            lookback=args.lookback,
            source=source,
            seed=args.seed,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:  # created since the check above
        print(f"{path} exists; refusing to overwrite it", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    record = ["pytest", "--rnn-parity", "--snapshot-update", path.as_posix()]
    if not args.record:
        print(
            "its parity item passes as written; its golden item fails until the golden is"
            f" recorded: {' '.join(record)} (or rnnparity new --record)"
        )
        return 0
    print(f"recording its golden: {' '.join(record)}", flush=True)
    import subprocess

    return subprocess.call([sys.executable, "-m", *record, "-q"])


# ----------------------------------------------------------------------------- export


def _export(args: argparse.Namespace) -> int:
    import re

    from pytest_rnnparity.errors import RnnParityError

    if args.quantize is not None and args.format != "tflite":
        print(f"--quantize is for --format tflite, not {args.format}", file=sys.stderr)
        return 2
    if args.format == "c-header" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", args.prefix):
        print(f"--prefix must be a C identifier, got {args.prefix!r}", file=sys.stderr)
        return 2
    root = _root_for(args.spec, args.rootdir)
    loaded = _load_variants(args, root)
    if loaded is None:
        return 1
    every, specs = loaded
    if len(specs) != 1:
        ids = ", ".join(spec.id for spec in every)
        print(
            f"{args.spec}: {'no' if not specs else len(specs)} matrix variants match; "
            f"choose one with --variant ID (variants: {ids})",
            file=sys.stderr,
        )
        return 2
    from pytest_rnnparity.check.spec_run import run_spec
    from pytest_rnnparity.report.parity import parity_message
    from pytest_rnnparity.report.vectors import vectors_of_run, write_vectors

    try:
        run = run_spec(specs[0], root=root)
    except RnnParityError as error:
        print(error, file=sys.stderr)
        return 1
    if not run.parity.ok:
        print(
            "not exported: the reference disagrees with Keras, so its traces are no test"
            f" vectors.\n{parity_message(run.parity)}",
            file=sys.stderr,
        )
        return 1
    if args.format in ("onnx", "tflite"):
        from pytest_rnnparity.cli.deploy import export_artifact

        return export_artifact(run, format=args.format, quantize=args.quantize, out=args.out)
    try:
        vectors = vectors_of_run(run, sequences=args.sequences)
    except RnnParityError as error:  # a model the vectors cannot lay out yet
        print(error, file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_vectors(vectors, args.out, format=args.format, prefix=args.prefix)
    count = sum(array.size for array in vectors.arrays.values())
    print(
        f"wrote {args.out}: {len(vectors.arrays)} arrays, {count} values, "
        f"{vectors.meta['batch']} windows ({args.format})"
    )
    return 0
