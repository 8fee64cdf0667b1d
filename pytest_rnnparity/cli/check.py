"""``rnnparity check MODEL --data FILE``: a saved model checked on the data it is given.

The check runs through a spec, so that what ``--spec-out`` writes is what ran:

1. the data become a CSV the spec reads as given (``scale: none``): a CSV file is read
   in place; a ``.npy``/``.npz`` array of rows ``(N, F)`` (or ``(N,)``) is written as
   columns ``x0, x1, ...``; windows ``(B, T, F)`` are written one after another, with
   ``stride: T`` and one more row (the last window's target), so that the spec cuts
   exactly these windows;
2. the spec (:func:`~pytest_rnnparity.spec.checked.checked_spec`) names the model file
   with its own weights; without ``--spec-out`` it lives in a temporary directory;
3. it is loaded and run as ``pytest --rnn-parity`` runs it, and the verdict and the
   per-layer table are printed (:mod:`pytest_rnnparity.report.check`).

With ``--spec-out`` the spec (and a written CSV, under ``data/`` beside it) stay, and
``pytest --rnn-parity`` gates the check from then on. Files are never overwritten.
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CheckUsageError", "GivenData", "check_command", "read_given_data"]

#: What ``--data`` may name.
DATA_SUFFIXES = (".npy", ".npz", ".csv")
#: Array names taken from an ``.npz`` holding several, in this order.
NPZ_NAMES = ("x", "inputs", "windows")


class CheckUsageError(Exception):
    """A problem with the command's arguments or files: one line, exit code 2."""


@dataclass(frozen=True)
class GivenData:
    """The data as a CSV the spec can read.

    ``rows`` are the rows to write (from an array), or None when ``csv`` is the user's
    own file; ``stride`` is the step between window starts.
    """

    csv: Path | None
    rows: Any
    features: tuple[str, ...]
    target: str
    lookback: int
    stride: int = 1


def _model_steps_and_features(model: Path) -> tuple[int | None, int | None]:
    from pytest_rnnparity.spec.saved_model import saved_input_shape

    shape = saved_input_shape(model)
    if shape is None or len(shape) != 3:
        return None, None
    return shape[1], shape[2]


def _load_array(path: Path, name: str | None) -> Any:
    import numpy as np

    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise CheckUsageError(f"{path}: cannot read the array: {error}") from None
    if path.suffix != ".npz":
        if name is not None:
            raise CheckUsageError(f"--array names an array of an .npz file; {path} is .npy")
        return loaded
    with loaded:
        names = list(loaded.files)
        if name is None:
            chosen = (
                names[0] if len(names) == 1 else next((n for n in NPZ_NAMES if n in names), None)
            )
            if chosen is None:
                raise CheckUsageError(
                    f"{path} holds the arrays {', '.join(names)}: name one with --array NAME"
                )
            name = chosen
        if name not in names:
            raise CheckUsageError(f"{path} has no array {name!r}; it holds {', '.join(names)}")
        return loaded[name]


def _array_data(
    path: Path, *, name: str | None, lookback: int | None, steps: int | None
) -> GivenData:
    import numpy as np

    array = _load_array(path, name)
    if not np.issubdtype(array.dtype, np.integer) and not np.issubdtype(array.dtype, np.floating):
        raise CheckUsageError(f"{path}: expected real numbers, got an array of {array.dtype}")
    if not np.isfinite(array).all():
        raise CheckUsageError(f"{path}: the array holds NaN or inf")
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim == 3:
        windows, window_steps, width = array.shape
        if lookback is not None and lookback != window_steps:
            raise CheckUsageError(
                f"{path} holds windows of {window_steps} steps; --lookback {lookback} does not"
                " fit them (leave it out, or give rows (N, features))"
            )
        if windows < 1 or window_steps < 1:
            raise CheckUsageError(f"{path}: no windows in an array of shape {array.shape}")
        rows = np.concatenate([array.reshape(windows * window_steps, width), array[-1, -1:]])
        names = tuple(f"x{index}" for index in range(width))
        return GivenData(None, rows, names, names[0], window_steps, stride=window_steps)
    if array.ndim != 2:
        raise CheckUsageError(
            f"{path}: expected rows (N, features) or windows (batch, steps, features),"
            f" got shape {array.shape}"
        )
    names = tuple(f"x{index}" for index in range(array.shape[1]))
    return GivenData(None, array, names, names[0], _lookback(path, lookback, steps, len(array)))


def _lookback(path: Path, lookback: int | None, steps: int | None, rows: int) -> int:
    chosen = lookback if lookback is not None else steps
    if chosen is None:
        raise CheckUsageError(
            f"{path} holds rows and the model takes any number of steps: give --lookback N"
        )
    if chosen >= rows:
        raise CheckUsageError(
            f"{path} has {rows} rows; a lookback of {chosen} needs at least {chosen + 1}"
            " (each window predicts the row after it)"
        )
    return chosen


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_data(
    path: Path,
    *,
    features: tuple[str, ...] | None,
    target: str | None,
    lookback: int | None,
    steps: int | None,
    width: int | None,
) -> GivenData:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            records = [
                [cell.strip() for cell in record]
                for record in csv.reader(handle)
                if any(cell.strip() for cell in record)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CheckUsageError(f"{path}: cannot read the CSV: {error}") from None
    if len(records) < 2:
        raise CheckUsageError(f"{path}: expected a header row and rows of numbers below it")
    header, first = records[0], records[1]
    numeric = [name for name, cell in zip(header, first, strict=False) if _numeric(cell)]
    if features is None:
        if width is not None and len(numeric) != width:
            raise CheckUsageError(
                f"{path} has {len(numeric)} numeric columns ({', '.join(numeric)}) but the"
                f" model reads {width} features: name them with --features A,B,..."
            )
        features = tuple(numeric)
    for name in [*features, *([target] if target else [])]:
        if name not in header:
            raise CheckUsageError(f"{path}: no column {name!r}; columns: {', '.join(header)}")
    if not features:
        raise CheckUsageError(f"{path}: no numeric column to read")
    chosen_target = target or (numeric[-1] if numeric else features[-1])
    return GivenData(
        path, None, features, chosen_target, _lookback(path, lookback, steps, len(records) - 1)
    )


def read_given_data(
    path: Path,
    *,
    model: Path,
    lookback: int | None = None,
    array: str | None = None,
    features: tuple[str, ...] | None = None,
    target: str | None = None,
) -> GivenData:
    """The ``--data`` file as a CSV the spec reads; raises CheckUsageError."""
    if path.suffix not in DATA_SUFFIXES:
        raise CheckUsageError(f"{path}: --data names a .npy, .npz or .csv file")
    if not path.is_file():
        raise CheckUsageError(f"{path}: no such file")
    steps, width = _model_steps_and_features(model)
    if path.suffix == ".csv":
        if array is not None:
            raise CheckUsageError("--array names an array of an .npz file, not a CSV column")
        return _csv_data(
            path, features=features, target=target, lookback=lookback, steps=steps, width=width
        )
    if features is not None or target is not None:
        raise CheckUsageError("--features and --target name CSV columns; arrays have none")
    given = _array_data(path, name=array, lookback=lookback, steps=steps)
    if width is not None and len(given.features) != width:
        raise CheckUsageError(
            f"{path}: {len(given.features)} features per row, but {model} reads {width}"
        )
    return given


def _write_rows(path: Path, given: GivenData) -> None:
    """The rows as CSV, each value as Python's shortest text that reads back the same."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(given.features)
        for row in given.rows.tolist():
            writer.writerow([repr(float(value)) for value in row])


def _relative(target: Path, directory: Path) -> str:
    return Path(os.path.relpath(target.resolve(), directory.resolve())).as_posix()


def _command(args: argparse.Namespace) -> str:
    words = ["rnnparity", "check", str(args.model), "--data", str(args.data)]
    for option in ("lookback", "array", "features", "target"):
        value = getattr(args, option)
        if value is not None:
            words += [f"--{option}", ",".join(value) if option == "features" else str(value)]
    return shlex.join(words)


def _inside(path: Path, root: Path, what: str) -> None:
    if not path.resolve().is_relative_to(root):
        raise CheckUsageError(
            f"{what} {path} lies outside the project root {root}: a spec names files inside"
            " it (move the file in, or give --rootdir)"
        )


def check_command(args: argparse.Namespace, *, root_for: Any) -> int:
    """Run ``rnnparity check``; ``root_for(path, rootdir)`` is the CLI's project root rule."""
    from pytest_rnnparity.spec.checked import CheckedData, checked_spec
    from pytest_rnnparity.spec.starter import spec_name

    model: Path = args.model
    if not model.is_file():
        print(f"{model}: no such model file", file=sys.stderr)
        return 2
    spec_out: Path | None = args.spec_out
    try:
        given = read_given_data(
            args.data,
            model=model,
            lookback=args.lookback,
            array=args.array,
            features=None if args.features is None else tuple(args.features),
            target=args.target,
        )
        if spec_out is not None:
            root = root_for(spec_out, args.rootdir)
            if spec_out.suffix not in (".yaml", ".yml"):
                raise CheckUsageError(f"{spec_out}: a spec file name ends in .yaml or .yml")
            if spec_out.exists():
                raise CheckUsageError(f"{spec_out} exists; refusing to overwrite it")
            _inside(spec_out.parent.resolve() / spec_out.name, root, "the spec")
            _inside(model, root, "the model")
            if given.csv is not None:
                _inside(given.csv, root, "the data")
    except CheckUsageError as error:
        print(error, file=sys.stderr)
        return 2
    name = spec_name(spec_out if spec_out is not None else model)
    with tempfile.TemporaryDirectory(prefix="rnnparity-check-") as scratch:
        if spec_out is None:
            directory = Path(scratch)
            spec_path = directory / f"{name}.yaml"
        else:
            directory = spec_out.parent
            spec_path = spec_out
        csv_path = given.csv
        written_csv: Path | None = None
        if csv_path is None:
            csv_path = written_csv = directory / "data" / f"{name}.csv"
            if written_csv.exists():
                print(f"{written_csv} exists; refusing to overwrite it", file=sys.stderr)
                return 2
            _write_rows(written_csv, given)
        data = CheckedData(
            path=_relative(csv_path, directory),
            features=given.features,
            target=given.target,
            stride=given.stride,
        )
        text = checked_spec(
            name=name,
            model=_relative(model, directory),
            data=data,
            lookback=given.lookback,
            command=_command(args),
            description=f"{model} on {args.data}",
        )
        directory.mkdir(parents=True, exist_ok=True)
        with spec_path.open("x", encoding="utf-8") as handle:
            handle.write(text)
        if spec_out is None:
            root = Path(os.path.commonpath([p.resolve() for p in (directory, model, csv_path)]))
        code = _run_and_report(spec_path, root=root, model=str(model), data=str(args.data))
        if spec_out is not None:
            if code == 2:  # the spec does not run: leave nothing behind
                spec_path.unlink()
                if written_csv is not None:
                    written_csv.unlink()
                return 1
            from pytest_rnnparity.report.check import spec_written_lines
            from pytest_rnnparity.spec import resolved_display_path

            shown_csv = None if written_csv is None else resolved_display_path(written_csv, root)
            shown = resolved_display_path(spec_path, root)
            print("\n".join(spec_written_lines(shown, shown_csv, ok=code == 0)))
        return min(code, 1)


def _run_and_report(spec_path: Path, *, root: Path, model: str, data: str) -> int:
    """Load and run the spec, print the report: 0 parity holds, 1 it fails, 2 it cannot run."""
    from pytest_rnnparity.errors import RnnParityError
    from pytest_rnnparity.model.build import import_keras

    keras = import_keras()
    from pytest_rnnparity.check.spec_run import run_spec
    from pytest_rnnparity.report.check import check_report
    from pytest_rnnparity.spec import load_specs

    keras.backend.clear_session()
    try:
        (spec,) = load_specs(spec_path, root=root)
        run = run_spec(spec, root=root)
    except RnnParityError as error:
        print(error, file=sys.stderr)
        return 2
    sys.stdout.write(check_report(run, model=model, data=data))
    sys.stdout.flush()
    return 0 if run.parity.ok else 1
