"""Goldens through syrupy: a single-file extension that only overrides what differs.

* serialize  -> the canonical text of :mod:`pytest_rnnparity.golden.format`
* location   -> the golden path the item (or the fixture) names
* read       -> validates the file; a corrupt golden raises GoldenError (never regenerated)
* matches    -> numeric comparison within the spec's tolerance, so changes inside
  tolerance pass and ``--snapshot-update`` leaves the file untouched
* write      -> :func:`~pytest_rnnparity.golden.files.atomic_write_text`: a killed run
  leaves old or new, never half
* discovery  -> none: syrupy's unused-snapshot cleanup never sees (or deletes) a golden;
  :mod:`pytest_rnnparity.golden.orphans` reports goldens whose spec is gone.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from syrupy.data import SnapshotCollections
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from pytest_rnnparity.errors import GoldenError, GoldenMismatch, GoldenMissing
from pytest_rnnparity.golden.document import non_finite_arrays, tolerance_of
from pytest_rnnparity.golden.drift import compare_goldens, equivalent, same_spec
from pytest_rnnparity.golden.files import atomic_write_text, read_text
from pytest_rnnparity.golden.format import SUFFIX, Golden, dumps, loads
from pytest_rnnparity.report.drift import drift_message, missing_golden_message
from pytest_rnnparity.spec import resolved_display_path

if TYPE_CHECKING:
    pass


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
    def matches_test_location(cls, *, test_location: Any, snapshot_location: str) -> bool:
        # a golden lives in golden/<spec file>/, where this extension put it, not beside
        # a test module: syrupy's own check would warn "Can not relate snapshot
        # location" for every golden written (shown under pytest-xdist)
        return Path(snapshot_location).parent == Path(cls.dirname(test_location=test_location))

    @classmethod
    def discovery_dirname(cls, *, test_location: Any) -> str:
        # syrupy asks this for any collected item of a spec file, golden or not
        from pytest_rnnparity.collection.config import golden_dir

        return str(golden_dir(test_location.item.config))

    def discover_snapshots(self, **kwargs: Any) -> SnapshotCollections:
        # Goldens are never offered to syrupy's unused-snapshot cleanup: a run that
        # selected only some specs must not delete the goldens of the others.
        return SnapshotCollections()

    def read_snapshot_data_from_location(
        self, *, snapshot_location: str, snapshot_name: str, session_id: str
    ) -> str | None:
        try:
            text = read_text(Path(snapshot_location))
        except FileNotFoundError:
            return None
        except OSError as error:
            raise GoldenError(
                f"{snapshot_location}: cannot read the golden file: {write_problem(error)}"
            ) from None
        except UnicodeDecodeError as error:
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
        if not same_spec(recorded, current):
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
    where = resolved_display_path(golden_path, root)
    garbage = non_finite_arrays(current)
    if garbage:
        raise GoldenError(
            f"{where}: neither compared nor recorded: the run holds NaN or inf in"
            f" {len(garbage)} array(s), first {garbage[0]}; a golden never stores them"
        )
    assertion = snapshot.use_extension(GoldenExtension)
    if name:
        assertion = assertion(name=name)
    matched = assertion == current
    result = assertion.executions[max(assertion.executions)]
    if matched:
        return "created" if result.created else "updated" if result.updated else "match"
    if isinstance(result.exception, GoldenError):
        message = str(result.exception)
        if not message.startswith(str(golden_path)) and not message.startswith(where):
            message = f"{where}: {message}"
        raise GoldenError(message.replace(str(golden_path), where)) from None
    if isinstance(result.exception, OSError):
        # a read-only file system, a full disk, a file size limit: atomic_write_text
        # left the old file (or none) and no temporary file behind
        raise GoldenError(
            f"{where}: cannot write the golden: {write_problem(result.exception)}"
            " (the file on disk, if any, is unchanged)"
        ) from None
    if result.exception is not None:
        raise result.exception
    if result.recalled_data is None:
        raise GoldenMissing(missing_golden_message(where, current.meta["spec"], update_command))
    recorded = loads(result.recalled_data, location=where)
    drift = compare_goldens(recorded, current, tolerance_of(current))
    mismatch = GoldenMismatch(
        drift_message(recorded, current, drift, golden_path=where, update_command=update_command)
    )
    mismatch.drift = drift
    raise mismatch


def write_problem(error: OSError) -> str:
    """The operating system's words for why a read or write failed (``Is a directory``)."""
    return error.strerror or str(error) or type(error).__name__


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
        text = read_text(golden_path)
    except FileNotFoundError:
        return "no golden"
    recorded = loads(text, location=where)

    def keras_only(golden: Golden) -> Golden:
        arrays = {k: v for k, v in golden.arrays.items() if k.startswith("keras/")}
        return replace(golden, arrays=arrays)

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
