"""What a file holds, counted: the collector behind ``mcfcheck stats``.

The collector is run by the rule engine like a rule (:class:`StatisticsCollector`): it
visits the header, each installation and the trailer through the dialect's binding,
and it gathers a state per part of a file that the parts' merge adds up, so that a file
counted in parts gives the counts of one pass. It reports no problem: what it concluded
is its :meth:`~StatisticsCollector.outcome`, a :class:`FileStatistics`.

Counts are exact. A distribution keeps up to ``max_values`` distinct values in memory;
the values beyond are counted on disk (SQLite, in the part's spill folder), so memory
stays bounded whatever the file holds. A distribution with more distinct values than
``max_values`` shows the most frequent ``max_values`` of them, and one *other* row: how
many values it leaves out and their count.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Final

from mcfcheck.rules.base import Problem, Rule, RuleContext, Visit
from mcfcheck.rules.engine import field_values
from mcfcheck.rules.options import Option
from mcfcheck.rules.selection import Selection
from mcfcheck.rules.views import HeaderView, InstallationView, TrailerView

#: The collector's code in the private registry ``mcfcheck stats`` runs (never a rule's).
STATISTICS_CODE: Final = "STA000"
#: How many distinct values a distribution keeps in memory and shows, by default.
DEFAULT_MAX_VALUES: Final = 1000

#: A distribution's value: one text per key (None where the file holds none).
Key = tuple[str | None, ...]


@dataclass(frozen=True)
class Dimension:
    """A distribution ``mcfcheck stats`` counts: its name, what it counts, and by what."""

    name: str
    #: What is counted, in words ("installations", "devices").
    counts: str
    #: The keys of each value, in order.
    keys: tuple[str, ...]
    #: The concepts it reads (a binding that lacks one reads None there).
    reads: tuple[str, ...]
    #: What it is, in words.
    description: str
    #: Whether its values are times, which the console lists in order (the data, by count).
    chronological: bool = False

    def __reduce__(self) -> tuple[type[Dimension], tuple[object, ...]]:
        return type(self), field_values(self)


#: The distributions, in the order every output gives them.
DIMENSIONS: Final = (
    Dimension(
        "installations_by_status",
        "installations",
        ("status",),
        ("status",),
        "installations by status (Active, Dormant)",
    ),
    Dimension(
        "installations_by_group_id",
        "installations",
        ("group_id",),
        ("group_id",),
        "installations by the header's GroupID",
    ),
    Dimension(
        "installations_by_cohort",
        "installations",
        ("cohort",),
        ("group_id",),
        "installations by the cohort their GroupID names",
    ),
    Dimension("installations_by_smso", "installations", ("smso",), ("smso",), "installations by the header's SMSO"),
    Dimension(
        "installations_by_meter_points",
        "installations",
        ("meter_points",),
        ("mpan", "mprn"),
        "installations by their meter points: electricity only (an MPAN), gas only (an MPRN), dual fuel (both)",
    ),
    Dimension(
        "devices_by_model",
        "devices",
        ("device_type", "manufacturer", "model", "firmware_version"),
        ("hub", "devices", "device_type", "manufacturer", "model", "firmware_version"),
        "devices (Communications Hubs included, as CHF) by type, manufacturer, model and firmware version",
    ),
    Dimension(
        "devices_by_payment_mode",
        "devices with a payment mode",
        ("payment_mode",),
        ("devices", "payment_mode"),
        "devices that give a payment mode, by payment mode (Credit, Prepayment)",
    ),
    Dimension(
        "prepayment_by_utrn_cutover_hours",
        "installations with prepayment settings",
        ("utrn_cutover_hours",),
        ("prepayment", "utrn_cutover_hours"),
        "installations with prepayment settings by their UTRN cutover window, in hours",
    ),
    Dimension(
        "dormant_by_planned_migration_week",
        "Dormant installations",
        ("iso_week",),
        ("status", "planned_migration_date"),
        "Dormant installations by the ISO week of their planned migration date (2026-W18)",
        chronological=True,
    ),
    Dimension(
        "sims_by_apn",
        "SIMs",
        ("apn",),
        ("iccid", "imsi", "apn"),
        "SIMs (installations with an ICCID, IMSI or APN) by APN",
    ),
    Dimension(
        "sims_by_network",
        "SIMs",
        ("mcc_mnc",),
        ("iccid", "imsi", "apn"),
        "SIMs by mobile network: the IMSI's first five digits (MCC and two-digit MNC)",
    ),
)
DIMENSION_NAMES: Final = tuple(dimension.name for dimension in DIMENSIONS)
#: Every concept the collector reads: those a binding lacks are said with the counts.
READS: Final = frozenset(
    {"file_identifier", "creation_time", "supplier", "installation_count", "device_count", "reference"}
    | {concept for dimension in DIMENSIONS for concept in dimension.reads}
)
#: The header's fields, as the outputs name them: concept by name.
HEADER_FIELDS: Final = {
    "file_identifier": "file_identifier",
    "creation_time": "creation_time",
    "group_id": "group_id",
    "smso": "smso",
    "supplier": "supplier",
}

ELECTRICITY_ONLY: Final = "electricity only"
GAS_ONLY: Final = "gas only"
DUAL_FUEL: Final = "dual fuel"


def encode_key(key: Key) -> str:
    """A value as one string: how it is stored on disk, and what orders values of equal counts."""
    return json.dumps(key, ensure_ascii=False, separators=(",", ":"))


def decode_key(text: str) -> Key:
    return tuple(json.loads(text))


@dataclass(frozen=True)
class Distribution:
    """One distribution's counts: rows by count (most first, then by value), and what the cap left out."""

    name: str
    rows: tuple[tuple[Key, int], ...]
    #: How many distinct values, and how many counted, the rows leave out (beyond ``max_values``).
    other_values: int = 0
    other_count: int = 0

    @property
    def total(self) -> int:
        return sum(count for _key, count in self.rows) + self.other_count

    @property
    def distinct(self) -> int:
        return len(self.rows) + self.other_values

    def __reduce__(self) -> tuple[type[Distribution], tuple[object, ...]]:
        return type(self), field_values(self)


@dataclass(frozen=True)
class Totals:
    """The trailer's control totals and what the file holds (or, from :func:`combine`, several files)."""

    #: The totals the trailer declares (None where it gives none, or not a whole number).
    declared_installations: int | None
    declared_devices: int | None
    installations: int
    devices: int
    #: Whether the declared installation count is the file's (None where none is
    #: declared); for several files, whether every file's is (None where one declares none).
    installations_agree: bool | None
    devices_agree: bool | None

    @classmethod
    def of(
        cls, declared_installations: int | None, declared_devices: int | None, installations: int, devices: int
    ) -> Totals:
        """A file's totals: what its trailer declares, and what it holds."""
        return cls(
            declared_installations,
            declared_devices,
            installations,
            devices,
            None if declared_installations is None else declared_installations == installations,
            None if declared_devices is None else declared_devices == devices,
        )

    def __reduce__(self) -> tuple[type[Totals], tuple[object, ...]]:
        return type(self), field_values(self)


@dataclass(frozen=True)
class FileStatistics:
    """What ``mcfcheck stats`` found in one file (or, from :func:`combine`, in several)."""

    #: The header's fields (:data:`HEADER_FIELDS`), as written; None where absent.
    header: Mapping[str, str | None]
    #: The cohort the header's GroupID names (None: no known one).
    cohort: str | None
    totals: Totals
    distributions: Mapping[str, Distribution]
    #: The concepts the collector reads that the file's binding does not place.
    not_bound: tuple[str, ...] = ()
    #: Whether the file has a trailer.
    trailer: bool = True

    def __reduce__(self) -> tuple[type[FileStatistics], tuple[object, ...]]:
        return type(self), field_values(self)


class ValueTable:
    """Exact counts of values: up to ``limit`` distinct in memory, the rest on disk."""

    __slots__ = ("_connection", "_folder", "_owned", "_path", "_pending", "counts", "limit")

    def __init__(self, limit: int, folder: Path | None) -> None:
        self.limit = limit
        self.counts: dict[Key, int] = {}
        self._folder = folder
        self._pending: dict[Key, int] = {}
        self._connection: sqlite3.Connection | None = None
        self._path: Path | None = None
        #: Whether the file on disk is this table's to remove (not once handed to another process).
        self._owned = True

    def add(self, key: Key, count: int = 1) -> None:
        counts = self.counts
        found = counts.get(key)
        if found is not None:
            counts[key] = found + count
        elif len(counts) < self.limit:
            counts[key] = count
        else:
            pending = self._pending
            pending[key] = pending.get(key, 0) + count
            if len(pending) >= self.limit:
                self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        connection = self._connection
        if connection is None:
            descriptor, name = tempfile.mkstemp(prefix="stats-", suffix=".sqlite", dir=self._folder)
            os.close(descriptor)  # SQLite makes a database of the empty file
            self._path = Path(name)
            connection = self._connection = sqlite3.connect(name)
            connection.execute("PRAGMA journal_mode = OFF")
            connection.execute("PRAGMA synchronous = OFF")
            connection.execute("CREATE TABLE counts (value TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID")
        connection.executemany(
            "INSERT INTO counts VALUES (?, ?) ON CONFLICT (value) DO UPDATE SET count = count + excluded.count",
            [(encode_key(key), count) for key, count in self._pending.items()],
        )
        self._pending.clear()

    def export(self) -> tuple[dict[Key, int], str | None]:
        """The counts, and the file on disk with the rest (handed over: not removed here)."""
        self._flush()
        if self._connection is not None:
            self._connection.commit()
            self._connection.close()
            self._connection = None
            self._owned = False
        return self.counts, str(self._path) if self._path is not None else None

    def merge(self, state: tuple[dict[Key, int], str | None]) -> None:
        """Add a table's counts (what :meth:`export` gave)."""
        counts, path = state
        for key, count in counts.items():
            self.add(key, count)
        if path is not None:
            with contextlib.closing(sqlite3.connect(path)) as spilled:
                for value, count in spilled.execute("SELECT value, count FROM counts"):
                    self.add(decode_key(value), count)

    def distribution(self, name: str) -> Distribution:
        """The counts, the most frequent ``limit`` values apart and the rest as *other*."""
        if self._connection is None and not self._pending:
            ordered = sorted(self.counts.items(), key=lambda item: (-item[1], encode_key(item[0])))
            return Distribution(name, tuple(ordered))
        # Some values are on disk: all go there, and the disk orders them.
        # A value is counted in memory or on disk, never both.
        self._pending.update(self.counts)
        self.counts = {}
        self._flush()
        connection = self._connection
        assert connection is not None
        rows = tuple(
            (decode_key(value), count)
            for value, count in connection.execute(
                "SELECT value, count FROM counts ORDER BY count DESC, value LIMIT ?", (self.limit,)
            )
        )
        distinct, total = connection.execute("SELECT COUNT(*), TOTAL(count) FROM counts").fetchone()
        shown = sum(count for _key, count in rows)
        return Distribution(name, rows, distinct - len(rows), int(total) - shown)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._path is not None and self._owned:
            self._path.unlink(missing_ok=True)


def _week(installation: InstallationView) -> str | None:
    date = installation.planned_migration_date
    if date is None:
        return None
    year, week, _day = date.isocalendar()
    return f"{year}-W{week:02d}"


def _meter_points(installation: InstallationView) -> str | None:
    electricity, gas = installation.mpan is not None, installation.mprn is not None
    if electricity:
        return DUAL_FUEL if gas else ELECTRICITY_ONLY
    return GAS_ONLY if gas else None


class StatisticsCollector(Rule):
    """Counts what a file holds, for ``mcfcheck stats``; reports nothing."""

    code = STATISTICS_CODE
    name = "statistics"
    visits = frozenset({Visit.HEADER, Visit.INSTALLATION, Visit.TRAILER})
    # Whatever the binding places is counted; what it does not is counted as absent.
    reads = frozenset[str]()
    #: ``distributions`` false counts the installations and devices alone (the header and
    #: trailer are read still): what ``mcfcheck convert`` needs for its ``files`` table.
    defaults: ClassVar[Mapping[str, object]] = {
        "max_values": Option(DEFAULT_MAX_VALUES, minimum=1),
        "distributions": Option(True),
    }
    own_check = "Not a check: it counts what the file holds."

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        super().__init__(context, options)
        limit = self.options["max_values"]
        assert isinstance(limit, int)
        self.distributions = self.options["distributions"] is True
        folder = context.spill_folder
        self.tables = {name: ValueTable(limit, folder) for name in DIMENSION_NAMES}
        self.installations = 0
        self.devices = 0
        self.header_fields: dict[str, str | None] = dict.fromkeys(HEADER_FIELDS)
        self.totals: tuple[int | None, int | None] | None = None
        self._status = self.tables["installations_by_status"].add
        self._meter_points = self.tables["installations_by_meter_points"].add
        self._models = self.tables["devices_by_model"].add
        self._payment = self.tables["devices_by_payment_mode"].add
        self._cutover = self.tables["prepayment_by_utrn_cutover_hours"].add
        self._weeks = self.tables["dormant_by_planned_migration_week"].add
        self._apn = self.tables["sims_by_apn"].add
        self._network = self.tables["sims_by_network"].add

    def header(self, header: HeaderView) -> Iterator[Problem]:
        self.header_fields = {name: header.text(concept) for name, concept in HEADER_FIELDS.items()}
        return iter(())

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        self.installations += 1
        if not self.distributions:
            self.devices += len(installation.devices) + (installation.hub is not None)
            return iter(())
        self._status((installation.status,))
        self._meter_points((_meter_points(installation),))
        models = self._models
        payment = self._payment
        hub = installation.hub
        devices = installation.devices
        self.devices += len(devices) + (hub is not None)
        if hub is not None:
            models((hub.device_type, hub.manufacturer, hub.model, hub.firmware_version))
        for device in devices:
            models((device.device_type, device.manufacturer, device.model, device.firmware_version))
            mode = device.payment_mode
            if mode is not None:
                payment((mode,))
        if installation.prepayment_block:
            hours = installation.utrn_cutover_hours
            self._cutover((str(hours) if hours is not None else None,))
        if installation.dormant:
            self._weeks((_week(installation),))
        imsi = installation.imsi
        apn = installation.apn
        if imsi is not None or apn is not None or installation.iccid is not None:
            self._apn((apn,))
            self._network((imsi[:5] if imsi is not None and len(imsi) >= 5 else None,))
        return iter(())

    def trailer(self, trailer: TrailerView) -> Iterator[Problem]:
        self.totals = (trailer.installation_count, trailer.device_count)
        return iter(())

    def state(self) -> object:
        return (self.installations, self.devices, {name: table.export() for name, table in self.tables.items()})

    def merge(self, states: Sequence[object]) -> None:
        for state in states:
            assert isinstance(state, tuple)
            installations, devices, tables = state
            self.installations += installations
            self.devices += devices
            for name, table in tables.items():
                self.tables[name].merge(table)

    def outcome(self) -> object:
        group_id = self.header_fields["group_id"]
        cohort = self.context.cohort
        cohort_name = cohort.name if cohort.group_id == group_id and cohort.name != "UNKNOWN" else None
        if self.installations:
            self.tables["installations_by_group_id"].add((group_id,), self.installations)
            self.tables["installations_by_cohort"].add((cohort_name,), self.installations)
            self.tables["installations_by_smso"].add((self.header_fields["smso"],), self.installations)
        declared = self.totals or (None, None)
        return FileStatistics(
            header=self.header_fields,
            cohort=cohort_name,
            totals=Totals.of(declared[0], declared[1], self.installations, self.devices),
            distributions={name: table.distribution(name) for name, table in self.tables.items()},
            not_bound=tuple(self.context.binding.missing(READS)),
            trailer=self.totals is not None,
        )

    def close(self) -> None:
        for table in self.tables.values():
            table.close()


def statistics_selection() -> Selection:
    """The selection that runs the collector alone (no schema finding, no rule)."""
    return Selection(select=(STATISTICS_CODE,))


def combine(files: Iterable[FileStatistics], limit: int) -> FileStatistics:
    """The statistics of several files together: counts added, header fields where all files agree.

    A value a file's distribution left in *other* stays there in the total: where no file
    has more than ``limit`` distinct values, the total is exact.
    """
    files = list(files)
    header: dict[str, str | None] = {}
    for name in HEADER_FIELDS:
        values = {statistics.header.get(name) for statistics in files}
        header[name] = values.pop() if len(values) == 1 else None
    cohorts = {statistics.cohort for statistics in files}
    distributions: dict[str, Distribution] = {}
    for name in DIMENSION_NAMES:
        counts: dict[Key, int] = {}
        other_values = other_count = 0
        for statistics in files:
            found = statistics.distributions.get(name)
            if found is None:
                continue
            for key, count in found.rows:
                counts[key] = counts.get(key, 0) + count
            other_values += found.other_values
            other_count += found.other_count
        ordered = sorted(counts.items(), key=lambda item: (-item[1], encode_key(item[0])))
        kept, rest = ordered[:limit], ordered[limit:]
        distributions[name] = Distribution(
            name,
            tuple(kept),
            other_values + len(rest),
            other_count + sum(count for _key, count in rest),
        )

    def declared(values: Iterable[int | None]) -> int | None:
        found = list(values)
        return None if any(value is None for value in found) else sum(value for value in found if value is not None)

    def agree(values: Iterable[bool | None]) -> bool | None:
        found = list(values)
        return None if any(value is None for value in found) else all(found)

    totals = Totals(
        declared(statistics.totals.declared_installations for statistics in files),
        declared(statistics.totals.declared_devices for statistics in files),
        sum(statistics.totals.installations for statistics in files),
        sum(statistics.totals.devices for statistics in files),
        agree(statistics.totals.installations_agree for statistics in files),
        agree(statistics.totals.devices_agree for statistics in files),
    )
    return FileStatistics(
        header=header,
        cohort=cohorts.pop() if len(cohorts) == 1 else None,
        totals=totals,
        distributions=distributions,
        not_bound=tuple(sorted({name for statistics in files for name in statistics.not_bound})),
        trailer=all(statistics.trailer for statistics in files),
    )
