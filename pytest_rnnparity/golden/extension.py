"""Golden gate traces through syrupy: a single-file extension that only overrides what differs.

* serialize  -> the canonical text of :mod:`.golden_format`
* location   -> ``<golden dir>/<spec path under its spec root>/<spec id>.golden``
* read       -> validates the file; a corrupt golden raises GoldenError (never regenerated)
* matches    -> numeric comparison within the spec's tolerance, so changes inside
  tolerance pass and ``--snapshot-update`` leaves the file untouched
* write      -> temporary file + ``os.replace``: a killed run leaves old or new, never half
* discovery  -> none: syrupy's unused-snapshot cleanup never sees (or deletes) a golden;
  :func:`find_orphans` reports goldens whose spec is gone, and the plugin removes them
  only on a full ``--snapshot-update`` run.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from syrupy.data import SnapshotCollections
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from pytest_rnnparity.check.compare import Tolerance
from pytest_rnnparity.errors import GoldenError, GoldenMismatch, SpecError
from pytest_rnnparity.golden.format import (
    Golden,
    GoldenArray,
    compare_goldens,
    drift_message,
    dumps,
    equivalent,
    golden_array,
    loads,
)
from pytest_rnnparity.model import environment
from pytest_rnnparity.reference.types import (
    GATES,
    BidirectionalSpec,
    CellWeights,
    DenseSpec,
    LayerSpec,
    MaskingSpec,
    RecurrentSpec,
)
from pytest_rnnparity.spec import GoldenOptions, resolved_display_path

if TYPE_CHECKING:
    from pytest_rnnparity.check.parity import ParityResult
    from pytest_rnnparity.check.spec_run import SpecRun


SUFFIX = ".golden"
DEFAULT_GOLDEN_OPTIONS = GoldenOptions()


def array_hash(arrays: Iterable[np.ndarray]) -> str:
    """sha256 over shapes, dtypes and bytes: the identity of weights or inputs."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def weights_hash(layers: Sequence[LayerSpec]) -> str:
    """sha256 of every weight the reference used, layer by layer, gate by gate."""
    arrays: list[np.ndarray] = []

    def cell(weights: CellWeights) -> None:
        for part in (
            weights.kernel,
            weights.recurrent_kernel,
            weights.input_bias,
            weights.recurrent_bias,
        ):
            if part is not None:
                arrays.extend(np.asarray(part[gate]) for gate in GATES[weights.kind])

    for layer in layers:
        if isinstance(layer, RecurrentSpec):
            cell(layer.weights)
        elif isinstance(layer, BidirectionalSpec):
            cell(layer.forward.weights)
            cell(layer.backward.weights)
        elif isinstance(layer, DenseSpec):
            arrays.append(layer.kernel)
            if layer.bias is not None:
                arrays.append(layer.bias)
    return array_hash(arrays)


def _keras_default_name(spec: LayerSpec) -> str:
    """The name Keras gives such a layer in a fresh session (``gru``, ``simple_rnn``...)."""
    if isinstance(spec, RecurrentSpec):
        return {"gru": "gru", "lstm": "lstm", "simple_rnn": "simple_rnn"}[spec.cell.kind]
    if isinstance(spec, BidirectionalSpec):
        return "bidirectional"
    if isinstance(spec, DenseSpec):
        return "time_distributed" if spec.time_distributed else "dense"
    if isinstance(spec, MaskingSpec):
        return "masking"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", spec.class_name).lower()


def stable_layer_names(layers: Sequence[LayerSpec]) -> list[str]:
    """Layer names for golden arrays that do not depend on what ran before.

    Keras numbers automatic names per process (``gru``, then ``gru_1``...), so a
    model built after another gets other names. A name of that automatic form is
    replaced by the one a fresh session would give this chain; a name the user chose
    is kept.
    """
    counts: dict[str, int] = {}
    names = []
    for spec in layers:
        base = _keras_default_name(spec)
        if re.fullmatch(rf"{re.escape(base)}(_\d+)?", spec.name) is None:
            names.append(spec.name)  # chosen by the user
            continue
        count = counts.get(base, 0)
        counts[base] = count + 1
        names.append(base if count == 0 else f"{base}_{count}")
    return names


def golden_document(
    parity: ParityResult,
    *,
    name: str,
    tolerance: Tolerance,
    options: GoldenOptions = DEFAULT_GOLDEN_OPTIONS,
    meta: Mapping[str, str] | None = None,
) -> Golden:
    """The golden of a parity result: Keras layer outputs and the reference traces.

    ``meta`` adds entries such as ``spec_file`` and ``spec_hash``.
    """
    rows = options.sequences
    document_meta = {
        "atol": repr(tolerance.atol),
        "dtype": parity.dtype,
        "max_values": str(options.max_values),
        "inputs_hash": array_hash([parity.inputs]),
        "rows_kept": str(rows),
        "rtol": repr(tolerance.rtol),
        "spec": name,
        "traces": options.traces,
        "weights_hash": weights_hash(parity.layers),
        **(meta or {}),
    }
    arrays: dict[str, GoldenArray] = {}

    def add(key: str, values: np.ndarray) -> None:
        arrays[key] = golden_array(
            values, rows=rows, summaries=options.summaries, max_values=options.max_values
        )

    names = stable_layer_names(parity.layers)
    for layer, name in zip(parity.keras, names, strict=True):
        if isinstance(layer.output, tuple):
            add(f"keras/{name}/output_forward", layer.output[0])
            add(f"keras/{name}/output_backward", layer.output[1])
        else:
            add(f"keras/{name}/output", layer.output)
    for result, name in zip(parity.reference, names, strict=True):
        for direction, trace in result.directions.items():
            for trace_name, values in trace.traces.items():
                if options.traces == "hidden" and trace_name != "hidden":
                    continue
                add(f"reference/{name}/{direction}/{trace_name}", values)
    return Golden(meta=document_meta, environment=environment.capture(), arrays=arrays)


def spec_golden(run: SpecRun, *, tolerance: Tolerance, spec_file: str) -> Golden:
    """The golden of a spec run (adds the spec's file and content hash)."""
    return golden_document(
        run.parity,
        name=run.spec.id,
        tolerance=tolerance,
        options=run.spec.golden,
        meta={"spec_file": spec_file, "spec_hash": run.spec.content_hash},
    )


def tolerance_of(golden: Golden) -> Tolerance:
    """The tolerance a golden document was made with (its ``atol``/``rtol`` meta)."""
    return Tolerance(float(golden.meta["atol"]), float(golden.meta["rtol"]))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; a golden is shared
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


#: Golden paths of Python tests using the ``rnn_parity`` fixture, by snapshot index.
GOLDEN_PATHS = pytest.StashKey[dict[Any, Path]]()


def item_golden_path(item: Any, index: Any) -> Path:
    """A spec item's golden path, or the one the fixture registered for this index."""
    if hasattr(item, "golden_path"):
        return Path(item.golden_path)
    path: Path = item.stash[GOLDEN_PATHS][index]
    return path


class GoldenExtension(SingleFileSnapshotExtension):
    """syrupy extension for golden gate traces (see the module docstring)."""

    file_extension = SUFFIX[1:]
    _write_mode = WriteMode.TEXT

    def serialize(self, data: Any, **kwargs: Any) -> str:
        if isinstance(data, Golden):
            text = dumps(data)
            # matches() gets this text back: keep the document so it is not parsed again
            self._serialized = (text, data)
            return text
        raise TypeError(f"golden files hold Golden documents, not {type(data).__name__}")

    _serialized: tuple[str, Golden] | None = None
    _recorded: tuple[str, Golden] | None = None

    @classmethod
    def get_location(cls, *, test_location: Any, index: Any) -> str:
        return str(item_golden_path(test_location.item, index))

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        item = test_location.item
        if hasattr(item, "golden_path") or GOLDEN_PATHS in item.stash:
            return str(item_golden_path(item, 0).parent)
        return cls.discovery_dirname(test_location=test_location)

    @classmethod
    def discovery_dirname(cls, *, test_location: Any) -> str:
        # syrupy asks this for any collected item of a spec file, golden or not
        from pytest_rnnparity.collection.nodes import golden_dir

        return str(golden_dir(test_location.item.config))

    def discover_snapshots(self, **kwargs: Any) -> SnapshotCollections:
        # Goldens are never offered to syrupy's unused-snapshot cleanup: a run that
        # selected only some specs must not delete the goldens of the others.
        return SnapshotCollections()

    def read_snapshot_data_from_location(
        self, *, snapshot_location: str, snapshot_name: str, session_id: str
    ) -> str | None:
        try:
            text = Path(snapshot_location).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise GoldenError(
                f"{snapshot_location}: cannot read the golden file: {error}"
            ) from None
        # raises GoldenError when corrupt; kept so that matches() does not parse it again
        self._recorded = (text, loads(text, location=snapshot_location))
        return text

    def matches(self, *, serialized_data: Any, snapshot_data: Any) -> bool:
        if self._serialized is not None and self._serialized[0] is serialized_data:
            current = self._serialized[1]
        else:
            current = loads(serialized_data, location="<current run>")
        if self._recorded is not None and self._recorded[0] is snapshot_data:
            recorded = self._recorded[1]
        else:
            recorded = loads(snapshot_data, location="<golden>")
        if recorded.meta.get("spec") != current.meta.get("spec"):
            # Raising here keeps syrupy from overwriting another spec's golden.
            raise GoldenError(
                f"the golden was recorded for spec '{recorded.meta.get('spec')}', "
                f"not '{current.meta.get('spec')}'"
            )
        return equivalent(recorded, current, tolerance_of(current))

    @classmethod
    def write_snapshot_collection(
        cls, *, snapshot_collection: Any, name_order: dict[str, int] | None = None
    ) -> None:
        data = next(iter(snapshot_collection)).data
        atomic_write_text(Path(snapshot_collection.location), data)


def assert_golden(
    snapshot: Any,
    current: Golden,
    *,
    golden_path: Path,
    root: Path,
    update_command: str,
    name: str | None = None,
) -> str:
    """Compare ``current`` with its golden through syrupy; raise GoldenError/GoldenMismatch.

    ``name`` tells several goldens of one test apart (syrupy's snapshot name).
    Returns ``"match"``, ``"created"`` or ``"updated"``; a GoldenMismatch carries
    the :class:`Drift` as its ``drift`` attribute.
    """
    __tracebackhide__ = True
    assertion = snapshot.use_extension(GoldenExtension)
    if name:
        assertion = assertion(name=name)
    matched = assertion == current
    result = assertion.executions[max(assertion.executions)]
    if matched:
        return "created" if result.created else "updated" if result.updated else "match"
    where = resolved_display_path(golden_path, root)
    if isinstance(result.exception, GoldenError):
        message = str(result.exception)
        if not message.startswith(str(golden_path)) and not message.startswith(where):
            message = f"{where}: {message}"
        raise GoldenError(message.replace(str(golden_path), where)) from None
    if result.exception is not None:
        raise result.exception
    if result.recalled_data is None:
        raise GoldenError(
            f"{where}: no golden file yet for spec '{current.meta['spec']}'. "
            f"Record it with: {update_command}"
        )
    recorded = loads(result.recalled_data, location=where)
    drift = compare_goldens(recorded, current, tolerance_of(current))
    mismatch = GoldenMismatch(
        drift_message(recorded, current, drift, golden_path=where, update_command=update_command)
    )
    mismatch.drift = drift
    raise mismatch


def compare_keras_with_golden(
    current: Golden, *, golden_path: Path, root: Path, label: str, update_command: str
) -> str:
    """Read-only check of ``current``'s Keras outputs against the recorded golden.

    For execution paths: they never write a golden. Returns ``"match"`` or
    ``"no golden"``; raises GoldenMismatch (or GoldenError for a corrupt file).
    """
    __tracebackhide__ = True
    where = resolved_display_path(golden_path, root)
    try:
        text = golden_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "no golden"
    recorded = loads(text, location=where)

    def keras_only(golden: Golden) -> Golden:
        arrays = {k: v for k, v in golden.arrays.items() if k.startswith("keras/")}
        return Golden(meta=golden.meta, environment=golden.environment, arrays=arrays)

    old, new = keras_only(recorded), keras_only(current)
    drift = compare_goldens(old, new, tolerance_of(current))
    if drift.ok:
        return "match"
    mismatch = GoldenMismatch(
        f"{label}: "
        + drift_message(old, new, drift, golden_path=where, update_command=update_command)
    )
    mismatch.drift = drift
    raise mismatch


# -- goldens whose spec is gone ------------------------------------------------------------


@dataclass(frozen=True)
class Orphan:
    """A golden file that no spec produces any more, and why."""

    path: Path
    reason: str


def golden_relative_dir(spec_path: Path, spec_roots: Sequence[Path], root: Path) -> Path:
    """``power_gru`` for ``specs/power_gru.yaml``: the spec's path under its spec root."""
    resolved = spec_path.resolve()
    for spec_root in spec_roots:
        spec_root = spec_root.resolve()
        if spec_root.is_dir() and spec_root in resolved.parents:
            return resolved.relative_to(spec_root).with_suffix("")
    try:
        return resolved.relative_to(root.resolve()).with_suffix("")
    except ValueError:
        return Path(resolved.stem)


def find_orphans(
    golden_dir: Path, spec_roots: Sequence[Path], root: Path, *, load: Any
) -> list[Orphan]:
    """Goldens whose spec file is gone, or whose spec no longer has that name/variant.

    ``load(path) -> list of spec ids`` loads a spec file; a spec that fails to load
    does not make its goldens orphans (it is reported as the error it is).
    """
    if not golden_dir.is_dir():
        return []
    candidates_roots = [r for r in spec_roots if r.is_dir()] + [root]
    orphans = []
    for golden in sorted(golden_dir.rglob(f"*{SUFFIX}")):
        relative = golden.parent.relative_to(golden_dir)
        spec_id = golden.name[: -len(SUFFIX)]
        spec_files = [
            base / relative.parent / f"{relative.name}{suffix}"
            for base in candidates_roots
            for suffix in (".yaml", ".yml")
            if relative != Path(".")
        ]
        existing = [f for f in spec_files if f.is_file()]
        if not existing:
            orphans.append(
                Orphan(
                    golden,
                    f"no spec file {resolved_display_path(spec_files[0], root)}"
                    if spec_files
                    else "not under a spec's directory",
                )
            )
            continue
        ids: set[str] = set()
        try:
            for spec_file in existing:
                ids.update(load(spec_file))
        except SpecError:
            continue
        if spec_id not in ids:
            orphans.append(
                Orphan(
                    golden, f"{resolved_display_path(existing[0], root)} has no spec '{spec_id}'"
                )
            )
    return orphans
