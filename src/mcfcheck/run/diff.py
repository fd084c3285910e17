"""Comparing two files (``mcfcheck diff``) on the streaming engine that validates them.

Each file is read as ``stats`` reads it (:mod:`mcfcheck.run.stats`: one streaming parse,
gzip, the guards against hostile input, large files in parts on every core), with two
collectors: the statistics (the header's fields) and the fingerprints
(:class:`mcfcheck.rules.fingerprints.FingerprintCollector`), which write each
installation's reference, line, fingerprint and normalised concepts to SQLite in a
staging folder. The two files' tables are then joined on disk by reference: memory
stays bounded whatever the files' sizes. Only installations whose fingerprints differ
have their concepts compared, concept by concept.

A reference held by more than one installation of either file is not matched: it is
reported as a duplicate, and counts as a difference unless both files hold the same
installations under it.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from mcfcheck.errors import McfcheckError
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.fingerprints import (
    DEVICE_CONCEPTS,
    FINGERPRINTS_CODE,
    INSTALLATION_CONCEPTS,
    SCHEMA,
    Concepts,
    FingerprintCollector,
    staging_folder,
    unpack,
)
from mcfcheck.rules.registry import RuleRegistry
from mcfcheck.rules.selection import Selection
from mcfcheck.rules.statistics import HEADER_FIELDS, STATISTICS_CODE, FileStatistics
from mcfcheck.run.stats import FileCount, Reading, statistics_registry, statistics_settings

#: The version of the JSON document (``schemas/mcfcheck-diff-1.0.schema.json``).
DIFF_FORMAT_VERSION: Final = "1.0"

#: The kinds of change, as the outputs name them.
ADDED: Final = "added"
REMOVED: Final = "removed"
CHANGED: Final = "changed"
DEVICE_ADDED: Final = "device-added"
DEVICE_REMOVED: Final = "device-removed"
DEVICE_SWAPPED: Final = "device-swapped"
DEVICE_CHANGED: Final = "device-changed"
HEADER: Final = "header"
DUPLICATE: Final = "duplicate"

Value = str | int | bool | None


def diff_registry() -> RuleRegistry:
    """The collectors ``diff`` runs: the statistics and the fingerprints."""
    return statistics_registry(FingerprintCollector)


def diff_settings(settings: RuleSettings, staging: Path) -> RuleSettings:
    """``settings`` made to run both collectors, the fingerprints written to ``staging``."""
    counting = statistics_settings(settings)
    return dataclasses.replace(
        counting,
        selection=Selection(select=(STATISTICS_CODE, FINGERPRINTS_CODE)),
        options={**counting.options, FINGERPRINTS_CODE: {"staging": str(staging)}},
    )


@dataclass(frozen=True)
class Change:
    """One difference within an installation (or the header)."""

    change: str
    concept: str
    device_id: str | None
    old: Value
    new: Value


@dataclass(frozen=True)
class Changed:
    """An installation in both files whose concepts differ."""

    reference: str
    old_line: int
    new_line: int
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Duplicate:
    """A reference held by more than one installation of a file."""

    side: str
    reference: str
    lines: tuple[int, ...]


@dataclass(frozen=True)
class Summary:
    added: int
    removed: int
    changed: int
    unchanged: int
    duplicates: int
    header: int
    old_installations: int
    new_installations: int

    @property
    def differences(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.duplicates or self.header)


def _device_key(devices: list[dict[str, Value]]) -> dict[str, dict[str, Value]]:
    """The installation's devices by Device ID (a missing or repeated one gets its position)."""
    keyed: dict[str, dict[str, Value]] = {}
    for position, device in enumerate(devices):
        device_id = device.get("device_id")
        key = device_id if isinstance(device_id, str) and device_id not in keyed else f"#{position}"
        keyed[key] = device
    return keyed


def concept_changes(old: Concepts, new: Concepts) -> tuple[Change, ...]:
    """Which concepts differ between two versions of an installation, with old and new values.

    Devices are matched by Device ID; a device removed and one added of the same type
    are one swap (the old and new Device IDs); a matched device's concepts are compared.
    """
    changes: list[Change] = []
    for name in INSTALLATION_CONCEPTS:
        before, after = old.get(name), new.get(name)
        if before != after:
            changes.append(Change(CHANGED, name, None, _plain(before), _plain(after)))
    old_devices = old.get("devices")
    new_devices = new.get("devices")
    assert isinstance(old_devices, list)
    assert isinstance(new_devices, list)
    before_devices, after_devices = _device_key(old_devices), _device_key(new_devices)
    removed = [key for key in before_devices if key not in after_devices]
    added = [key for key in after_devices if key not in before_devices]
    for key, device in before_devices.items():
        other = after_devices.get(key)
        if other is None:
            continue
        for name in DEVICE_CONCEPTS:
            if device.get(name) != other.get(name):
                changes.append(Change(DEVICE_CHANGED, name, _id(device), device.get(name), other.get(name)))
    for key in removed:
        device = before_devices[key]
        swap = next((a for a in added if after_devices[a].get("device_type") == device.get("device_type")), None)
        if swap is not None:
            added.remove(swap)
            replacement = after_devices[swap]
            changes.append(
                Change(
                    DEVICE_SWAPPED,
                    str(device.get("device_type") or ""),
                    _id(replacement),
                    _id(device),
                    _id(replacement),
                )
            )
        else:
            changes.append(Change(DEVICE_REMOVED, str(device.get("device_type") or ""), _id(device), _id(device), None))
    for key in added:
        device = after_devices[key]
        changes.append(Change(DEVICE_ADDED, str(device.get("device_type") or ""), _id(device), None, _id(device)))
    return tuple(changes)


def _id(device: dict[str, Value]) -> str | None:
    value = device.get("device_id")
    return value if isinstance(value, str) else None


def _plain(value: object) -> Value:
    return value if value is None or isinstance(value, bool | int | str) else str(value)


@dataclass(frozen=True)
class Side:
    """One file read: its name, its header's fields, its number of installations."""

    path: str
    header: dict[str, str | None]
    installations: int


class FileDiff:
    """Two files' differences, read from their tables on disk (iterate as often as needed)."""

    def __init__(self, old: Side, new: Side, staging: Path) -> None:
        self.old = old
        self.new = new
        self._database = sqlite3.connect(":memory:")
        for name in ("old", "new"):
            self._database.execute(f"ATTACH DATABASE ? AS {name}", (str(staging / f"{name}.sqlite"),))
        self._staging = staging
        self.header = tuple(
            Change(HEADER, name, None, old.header.get(name), new.header.get(name))
            for name in HEADER_FIELDS
            if old.header.get(name) != new.header.get(name)
        )
        self._prepare()
        self.summary = self._summary()

    def _prepare(self) -> None:
        run = self._database.executescript
        run(
            """
            CREATE TEMP TABLE duplicated AS
                SELECT reference FROM old.installations GROUP BY reference HAVING COUNT(*) > 1
                UNION SELECT reference FROM new.installations GROUP BY reference HAVING COUNT(*) > 1;
            CREATE UNIQUE INDEX temp.duplicated_reference ON duplicated (reference);
            """
        )

    def _count(self, query: str) -> int:
        row = self._database.execute(query).fetchone()
        return int(row[0])

    def _summary(self) -> Summary:
        changed = self._count(
            "SELECT COUNT(*) FROM old.installations o JOIN new.installations n ON o.reference = n.reference "
            "WHERE o.reference NOT IN duplicated AND o.fingerprint != n.fingerprint"
        )
        both = self._count(
            "SELECT COUNT(*) FROM old.installations o JOIN new.installations n ON o.reference = n.reference "
            "WHERE o.reference NOT IN duplicated"
        )
        return Summary(
            added=sum(1 for _ in self.added()),
            removed=sum(1 for _ in self.removed()),
            changed=changed,
            unchanged=both - changed,
            duplicates=sum(1 for _ in self.duplicates()),
            header=len(self.header),
            old_installations=self.old.installations,
            new_installations=self.new.installations,
        )

    def _only(self, side: str, other: str) -> Iterator[tuple[str, int]]:
        query = (
            f"SELECT reference, line FROM {side}.installations s WHERE reference NOT IN duplicated AND NOT EXISTS "  # noqa: S608 (the databases' own names)
            f"(SELECT 1 FROM {other}.installations t WHERE t.reference = s.reference) ORDER BY s.rowid"
        )
        for reference, line in self._database.execute(query):
            yield str(reference), int(line)

    def added(self) -> Iterator[tuple[str, int]]:
        """The references and lines of NEW's installations that OLD lacks, in NEW's order."""
        return self._only("new", "old")

    def removed(self) -> Iterator[tuple[str, int]]:
        """The references and lines of OLD's installations that NEW lacks, in OLD's order."""
        return self._only("old", "new")

    def changed(self) -> Iterator[Changed]:
        """The installations in both whose concepts differ, in NEW's order, with what changed."""
        query = (
            "SELECT n.reference, o.line, n.line, o.concepts, n.concepts FROM new.installations n "
            "JOIN old.installations o ON o.reference = n.reference "
            "WHERE n.reference NOT IN duplicated AND o.fingerprint != n.fingerprint ORDER BY n.rowid"
        )
        for reference, old_line, new_line, old, new in self._database.execute(query):
            yield Changed(str(reference), int(old_line), int(new_line), concept_changes(unpack(old), unpack(new)))

    def duplicates(self) -> Iterator[Duplicate]:
        """The references held by more than one installation of a file whose installations differ between
        the files (the same installations under a duplicated reference in both is no difference).
        """
        query = (
            "SELECT reference, (SELECT group_concat(fingerprint) FROM (SELECT fingerprint FROM old.installations "
            "WHERE reference = d.reference ORDER BY fingerprint)), (SELECT group_concat(fingerprint) FROM "
            "(SELECT fingerprint FROM new.installations WHERE reference = d.reference ORDER BY fingerprint)) "
            "FROM duplicated d ORDER BY reference"
        )
        for reference, old_prints, new_prints in self._database.execute(query).fetchall():
            if old_prints == new_prints:
                continue
            for side in ("old", "new"):
                lines = tuple(
                    int(line)
                    for (line,) in self._database.execute(
                        f"SELECT line FROM {side}.installations WHERE reference = ? ORDER BY rowid",  # noqa: S608
                        (reference,),
                    )
                )
                if len(lines) > 1:
                    yield Duplicate(side, str(reference), lines)

    def close(self) -> None:
        self._database.close()
        shutil.rmtree(self._staging, ignore_errors=True)

    def __enter__(self) -> FileDiff:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _table(name: Path, parts: list[object]) -> int:
    """The parts' tables joined, in file order, into ``name``; the number of installations."""
    target = sqlite3.connect(name, isolation_level=None)
    try:
        target.execute("PRAGMA journal_mode = OFF")
        target.execute("PRAGMA synchronous = OFF")
        target.execute(SCHEMA)
        for part in parts:
            assert isinstance(part, str)
            target.execute("ATTACH DATABASE ? AS part", (part,))
            target.execute("INSERT INTO installations SELECT * FROM part.installations ORDER BY rowid")
            target.execute("DETACH DATABASE part")
            Path(part).unlink()
        target.execute("CREATE INDEX installations_reference ON installations (reference)")
        return int(target.execute("SELECT COUNT(*) FROM installations").fetchone()[0])
    finally:
        target.close()


def _counts(
    old: Path, new: Path, settings: RuleSettings, reading: Reading, new_schema: Path | None
) -> Iterator[FileCount]:
    """Each file read, with the one schema of ``reading`` or with ``new_schema`` for ``new``."""
    registry = diff_registry()
    if new_schema is None or new_schema == reading.schema:
        yield from reading.files([old, new], settings, registry)
        return
    # A pool is shut down once its files are read: the second file gets a pool of its own.
    yield from reading.files([old], settings, registry)
    yield from dataclasses.replace(reading, schema=new_schema, pool=None).files([new], settings, registry)


def diff_files(
    old: Path,
    new: Path,
    settings: RuleSettings,
    reading: Reading,
    temporary: Path | None = None,
    new_schema: Path | None = None,
) -> FileDiff:
    """The differences between ``old`` and ``new``; close it when done (it removes its staging folder).

    ``settings`` gives the bindings (the files may be in different dialects), ``reading``
    how the files are read (:class:`mcfcheck.run.stats.Reading`; its pool is shut down at
    the end), ``new_schema`` another schema for ``new`` (another dialect's). The tables
    go to a new folder in ``temporary`` (by default the system's). A file that cannot be
    read raises :class:`mcfcheck.errors.McfcheckError` in one line.
    """
    staging = staging_folder(temporary)
    try:
        parts = staging / "parts"
        parts.mkdir()
        sides: list[Side] = []
        counts = _counts(old, new, diff_settings(settings, parts), reading, new_schema)
        for name, count in zip(("old", "new"), counts, strict=True):
            if count.error is not None:
                raise McfcheckError(count.error)
            statistics = count.statistics
            tables = count.outcomes.get(FINGERPRINTS_CODE)
            assert isinstance(statistics, FileStatistics)
            assert isinstance(tables, list)
            installations = _table(staging / f"{name}.sqlite", tables)
            sides.append(Side(count.path, dict(statistics.header), installations))
        return FileDiff(sides[0], sides[1], staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
