"""Each installation's concepts, normalised and fingerprinted: the collector behind ``mcfcheck diff``.

The collector is run by the rule engine like a rule (:class:`FingerprintCollector`), beside
the statistics collector: it visits each installation through the dialect's binding, so
that two files of different dialects give the same concepts for the same installation.
Each installation's concepts (:func:`installation_concepts`) are written as canonical
JSON (a list of values, in a fixed order); its fingerprint is a 64-bit BLAKE2b hash of that text. Both go to a SQLite
database of the part's own in a staging folder, with the reference and the line: memory
stays bounded whatever the file's size, and the comparison is a join on disk
(:mod:`mcfcheck.run.diff`). No row depends on the part it was read in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar, Final

from mcfcheck.rules.base import Problem, RuleContext, StagedRule, Visit
from mcfcheck.rules.views import DeviceView, InstallationView

#: The collector's code in the private registry ``mcfcheck diff`` runs (never a rule's).
FINGERPRINTS_CODE: Final = "DIF000"

#: The installation's own concepts compared, by the name the diff gives them (``convert``'s columns).
INSTALLATION_CONCEPTS: Final = (
    "status",
    "mpan",
    "mprn",
    "iccid",
    "imsi",
    "static_ip",
    "apn",
    "csp",
    "prepayment",
    "utrn_cutover_hours",
    "dormant_notice",
    "firmware_notice_date",
    "planned_upgrade_date",
    "migration_notice_date",
    "planned_migration_date",
    "shorter_notice_agreed",
)
#: A device's concepts compared (its Device ID matches it within the installation).
DEVICE_CONCEPTS: Final = ("device_type", "manufacturer", "model", "firmware_version", "payment_mode", "auxiliary_load")

Value = str | int | bool | None
Concepts = dict[str, object]

#: Rows written between commits.
_BATCH: Final = 4096


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _device(device: DeviceView) -> list[Value]:
    """A device's concepts: its Device ID, then :data:`DEVICE_CONCEPTS` in order."""
    return [
        device.device_id,
        device.device_type,
        device.manufacturer,
        device.model,
        device.firmware_version,
        device.payment_mode,
        device.auxiliary_load,
    ]


def installation_concepts(installation: InstallationView) -> list[object]:
    """The installation's concepts, as the binding reads them: :data:`INSTALLATION_CONCEPTS` in order, then
    its devices (the hub first), each a list (:func:`_device`).
    """
    hub = installation.hub
    devices = [_device(hub)] if hub is not None else []
    devices.extend(_device(device) for device in installation.devices)
    return [
        installation.status,
        installation.mpan,
        installation.mprn,
        installation.iccid,
        installation.imsi,
        installation.static_ip,
        installation.apn,
        installation.csp,
        installation.prepayment_block,
        installation.utrn_cutover_hours,
        installation.dormant_notice,
        _day(installation.firmware_notice_date),
        _day(installation.planned_upgrade_date),
        _day(installation.migration_notice_date),
        _day(installation.planned_migration_date),
        installation.shorter_notice_agreed,
        devices,
    ]


#: One encoder for every installation (``json.dumps`` makes one per call).
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def canonical(concepts: list[object]) -> bytes:
    """The concepts as canonical JSON text (a list, no spaces): what is stored and fingerprinted."""
    return _ENCODER.encode(concepts).encode("utf-8")


def fingerprint(text: bytes) -> int:
    """A 64-bit fingerprint of the canonical text, as a signed integer (SQLite's)."""
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


def unpack(stored: bytes) -> Concepts:
    """The concepts back from their canonical text, by name (``devices``: a list of them, each by name)."""
    values = json.loads(stored)
    assert isinstance(values, list)
    concepts: Concepts = dict(zip(INSTALLATION_CONCEPTS, values, strict=False))
    concepts["devices"] = [
        dict(zip(("device_id", *DEVICE_CONCEPTS), device, strict=True)) for device in values[len(INSTALLATION_CONCEPTS)]
    ]
    return concepts


#: The table each part writes: its installations in file order.
SCHEMA: Final = (
    "CREATE TABLE installations (reference TEXT NOT NULL, line INTEGER NOT NULL, "
    "fingerprint INTEGER NOT NULL, concepts BLOB NOT NULL)"
)


class FingerprintCollector(StagedRule):
    """Writes each installation's reference, line, fingerprint and concepts to SQLite; reports nothing."""

    code = FINGERPRINTS_CODE
    name = "fingerprints"
    visits = frozenset({Visit.INSTALLATION})
    reads = frozenset[str]()
    defaults: ClassVar[Mapping[str, object]] = {"staging": ""}
    own_check = "Not a check: it fingerprints each installation for mcfcheck diff."

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        super().__init__(context, options)
        staging = self.options["staging"]
        assert isinstance(staging, str)
        assert staging, "the fingerprint collector needs a staging folder"
        descriptor, self.path = tempfile.mkstemp(prefix="fingerprints-", suffix=".sqlite", dir=staging)
        os.close(descriptor)
        self._database: sqlite3.Connection | None = sqlite3.connect(self.path, isolation_level=None)
        self._database.execute("PRAGMA journal_mode = OFF")
        self._database.execute("PRAGMA synchronous = OFF")
        self._database.execute(SCHEMA)
        self._rows: list[tuple[str, int, int, bytes]] = []

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        text = canonical(installation_concepts(installation))
        line = installation.element.sourceline or 0
        self._rows.append((installation.reference or "", line, fingerprint(text), text))
        if len(self._rows) >= _BATCH:
            self._flush()
        return iter(())

    def _flush(self) -> None:
        if self._database is not None and self._rows:
            with self._database:
                self._database.execute("BEGIN")
                self._database.executemany("INSERT INTO installations VALUES (?, ?, ?, ?)", self._rows)
            self._rows.clear()

    def staged(self) -> str:
        self._flush()
        if self._database is not None:
            self._database.close()
            self._database = None
        return self.path

    def outcome(self) -> object:
        """The databases, in file order: the parts' before this process's own."""
        return self.staged_files()

    def close(self) -> None:
        self.staged()


def staging_folder(parent: Path | None = None) -> Path:
    """A new folder for the collector's databases."""
    return Path(tempfile.mkdtemp(prefix="mcfcheck-diff-", dir=parent))
