"""The ledger: a record of every file checked, across batches (``mcfcheck batch``, ``mcfcheck ledger``).

A database (:mod:`mcfcheck.run.databases`): an SQLite file, or a PostgreSQL database that
batches on several machines share. Each run of a batch, and for each file checked its
path, size, SHA-256, header (supplier, GroupID, SMSO, file identifier), verdict,
installations and findings by code, written in one transaction per file, so that a batch
stopped at any moment leaves the ledger consistent, and a file already recorded (the same
bytes, checked with the same configuration) is skipped when the batch is run again. Two
batches that check the same file at once record it once: each file's transaction holds a
lock of its content and configuration, and records nothing where another batch recorded
them since it looked. The ledger's schema has a version; mcfcheck creates it, upgrades an
older one, and refuses a newer one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import operator
import queue
import re
import sqlite3
import threading
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from lxml import etree

import mcfcheck
from mcfcheck.errors import InputError, McfcheckError
from mcfcheck.findings import FileReport, Finding, Location, Severity
from mcfcheck.input.xml import CHUNK_BYTES, open_input, secure_pull_parser, split_tag
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.holdings import HOLDINGS_CODE, Holdings, HoldingsCollector
from mcfcheck.rules.registry import RuleRegistry
from mcfcheck.rules.views import concept_text
from mcfcheck.run.batch import ReportSink
from mcfcheck.run.crossfiles import CrossFiles, Shared
from mcfcheck.run.databases import database_of, is_postgresql, sqlite_path
from mcfcheck.run.parts import default_jobs
from mcfcheck.schema.binding import BindingSet

#: The ledger's schema version this mcfcheck writes (``meta.schema_version``).
LEDGER_VERSION: Final = 2
#: The ledger a batch writes where none is named, in the current folder.
DEFAULT_LEDGER: Final = "mcfcheck-ledger.sqlite"
#: The header fields the ledger keeps, by concept.
HEADER_FIELDS: Final = ("supplier", "group_id", "smso", "file_identifier")
#: How many files' records wait for the ledger's writer at most.
_RECORDS_AHEAD: Final = 4
#: How many installations' rows are written to the ledger at a time.
_ROWS: Final = 10_000
#: How many installations the ledger gives the checks across files at a time, at most.
_HELD_ROWS: Final = 100_000
#: How many bytes are read at a time to find a file's header.
_HEADER_SLICE_BYTES: Final = 4096
#: How many bytes of a file are read at most to find its header.
_HEADER_BYTES: Final = 1 << 24
#: The columns of an installation's row, in order.
_INSTALLATION_COLUMNS: Final = ("file", "position", "reference", "valid", "identifiers")
#: The number of the lock that creating or upgrading the ledger's schema holds.
_SCHEMA_LOCK: Final = int.from_bytes(b"mcfcheck", "big")
#: Each version's statements, applied in turn to bring a ledger from the version before to it.
_MIGRATIONS: Final = {
    # {key}, {big}, {bytes} and {rowid}: each database's words (Database.types).
    1: (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE runs (id {key}, started TEXT NOT NULL, finished TEXT, "
        "mcfcheck TEXT NOT NULL, configuration TEXT NOT NULL)",
        "CREATE TABLE files (id {key}, run INTEGER NOT NULL REFERENCES runs(id), "
        "path TEXT NOT NULL, size {big}, sha256 TEXT, configuration TEXT NOT NULL, "
        "supplier TEXT, group_id TEXT, smso TEXT, file_identifier TEXT, cohort TEXT, "
        "valid INTEGER NOT NULL, installations INTEGER NOT NULL, errors INTEGER NOT NULL, "
        "warnings INTEGER NOT NULL, error TEXT, checked TEXT NOT NULL)",
        "CREATE INDEX files_by_content ON files (sha256, configuration)",
        "CREATE TABLE finding_counts (file INTEGER NOT NULL REFERENCES files(id), code TEXT NOT NULL, "
        "count INTEGER NOT NULL, PRIMARY KEY (file, code))",
    ),
    # Each installation (its reference and verdict) and its identifiers; each file's accepted and rejected.
    2: (
        # Each installation's identifiers, one after the other, 9 bytes each: the kind's number and the
        # fingerprint (mcfcheck.rules.holdings.HELD).
        "CREATE TABLE installations (file INTEGER NOT NULL REFERENCES files(id), position INTEGER NOT NULL, "
        "reference TEXT, valid INTEGER NOT NULL, identifiers {bytes} NOT NULL, PRIMARY KEY (file, position))"
        "{rowid}",
        "CREATE INDEX installations_by_reference ON installations (reference)",
        "ALTER TABLE files ADD COLUMN accepted INTEGER",
        "ALTER TABLE files ADD COLUMN rejected INTEGER",
    ),
}


def configuration_of(settings: RuleSettings, schema: Path | None, fail_on: Severity) -> str:
    """A fingerprint of what decides a file's findings: mcfcheck's version, the rules chosen and
    their options, severities and cohorts, the bindings, the schema and list given, ``fail_on``.
    """

    def digest(path: Path | None) -> str | None:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None and path.is_file() else None

    described = {
        "mcfcheck": mcfcheck.__version__,
        "selection": repr(settings.selection),
        "options": repr(sorted((code, sorted(options.items())) for code, options in settings.options.items())),
        "severities": sorted((code, level.value) for code, level in settings.severities.items()),
        "cohorts": repr(sorted(settings.cohorts.items())),
        "bindings": repr((settings.bindings.bindings, settings.bindings.forced)),
        "epcl": digest(settings.epcl),
        "schema": digest(schema),
        "run_rules": settings.run_rules,
        "fail_on": fail_on.value,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def file_digest(path: Path) -> tuple[int, str] | None:
    """A file's size and SHA-256 (of its bytes as stored), or None where it cannot be read."""
    hashed = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(CHUNK_BYTES):
                hashed.update(chunk)
        return path.stat().st_size, hashed.hexdigest()
    except OSError:
        return None


def read_header(path: Path, bindings: BindingSet) -> tuple[dict[str, str | None], str | None]:
    """The header fields a file's binding places (:data:`HEADER_FIELDS`), read from its first bytes
    with the parser's safe settings, and the binding's record element; nothing where the file
    cannot be read that far or its dialect has no binding.
    """
    parser = secure_pull_parser("{*}*")
    record: str | None = None
    try:
        with open_input(path) as stream:
            read = 0
            # A slice at a time: the header is in the first few, and a tree of what is fed whole
            # (a megabyte: some 20,000 elements) stays in a reference cycle until a full collection.
            while read < _HEADER_BYTES and (chunk := stream.read(_HEADER_SLICE_BYTES)):
                read += len(chunk)
                parser.feed(chunk)
                for _event, element in parser.read_events():
                    root = element.getroottree().getroot()
                    binding = bindings.for_namespace(split_tag(root.tag)[0])
                    if binding is None:
                        return {}, None
                    record = binding.record
                    name = split_tag(element.tag)[1]
                    if binding.header and name == binding.header[-1]:
                        return {concept: concept_text(element, binding, concept) for concept in HEADER_FIELDS}, record
                    if name == record:
                        return {}, record
    except (InputError, OSError, EOFError, zlib.error, etree.XMLSyntaxError):
        # The check of the file says what is wrong with it.
        return {}, record
    return {}, record


@dataclass(frozen=True)
class Recorded:
    """A file the ledger holds: which run checked it, when, and its verdict."""

    run: int
    checked: str
    valid: bool
    errors: int
    warnings: int
    #: The record's number: later records have larger ones.
    file: int = 0


@dataclass
class FileRecord:
    """What the ledger keeps of one file checked."""

    path: str
    size: int | None
    sha256: str | None
    header: Mapping[str, str | None]
    report: FileReport
    codes: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    warnings: int = 0
    #: The findings that fail the file (errors; warnings too with ``--fail-on warning``).
    failures: int = 0
    #: The record element's name, where the file's binding says it.
    record: str | None = None
    #: A bit for each installation (by position) a finding that fails concerns.
    failing: bytearray = field(default_factory=bytearray)

    def fail(self, position: int) -> None:
        index, bit = divmod(position, 8)
        if index >= len(self.failing):
            self.failing.extend(bytes(index + 1 - len(self.failing)))
        self.failing[index] |= 1 << bit

    def fails(self, position: int) -> bool:
        index, bit = divmod(position, 8)
        return index < len(self.failing) and bool(self.failing[index] >> bit & 1)


@dataclass(frozen=True)
class Submission:
    """One time an installation was recorded: the run, when, the file, its place in it, its verdict."""

    run: int
    checked: str
    path: str
    file_identifier: str | None
    supplier: str | None
    position: int
    valid: bool


@dataclass(frozen=True)
class Rollup:
    """Files, installations and findings by code, for one value of a header field."""

    value: str | None
    files: int
    valid_files: int
    installations: int
    findings: Mapping[str, int]
    accepted: int = 0
    rejected: int = 0


class Ledger:
    """An open ledger, in the database ``address`` names (see :func:`~mcfcheck.run.databases.database_of`);
    created, or upgraded, on opening (with ``create`` False, one that does not exist yet is refused).
    """

    def __init__(self, address: str | None = None, *, create: bool = True) -> None:
        given = address if address is not None else DEFAULT_LEDGER
        # Before SQLite makes the file.
        if not create and not is_postgresql(given) and not sqlite_path(given).is_file():
            raise McfcheckError(f"{sqlite_path(given)}: no such ledger")
        database = database_of(given)
        self._database = database
        self.name = database.name
        try:
            self._prepare(create)
            database.ready()
        except database.errors as error:
            database.close()
            raise McfcheckError(f"{self.name}: not a ledger mcfcheck can use ({database.say(error)})") from None
        except McfcheckError:
            database.close()
            raise

    def _version(self) -> int:
        tables = self._database.tables()
        if not tables:
            return 0
        if "meta" not in tables:
            raise McfcheckError(f"{self.name}: not an mcfcheck ledger (it holds other tables)")
        rows = self._database.execute("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(rows[0][0]) if rows else 0

    def _prepare(self, create: bool) -> None:
        # Under a lock of its own: two batches that start at once on a new ledger create it once.
        with self._database.transaction(lock=_SCHEMA_LOCK):
            version = self._version()
            if version > LEDGER_VERSION:
                raise McfcheckError(
                    f"{self.name}: written by a newer mcfcheck (ledger schema version {version}; this mcfcheck "
                    f"knows versions up to {LEDGER_VERSION}): upgrade mcfcheck to use it"
                )
            if version == 0 and not create:
                raise McfcheckError(f"{self.name}: no such ledger (the database holds no ledger yet)")
            if version == LEDGER_VERSION:
                return
            for step in range(version + 1, LEDGER_VERSION + 1):
                for statement in _MIGRATIONS[step]:
                    self._database.execute(statement.format_map(self._database.types))
            self._database.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(LEDGER_VERSION),),
            )

    def begin_run(self, configuration: str) -> int:
        """Record a new run of a batch; its number."""
        with self.used():
            rows = self._database.execute(
                "INSERT INTO runs (started, mcfcheck, configuration) VALUES (?, ?, ?) RETURNING id",
                (_now(), mcfcheck.__version__, configuration),
            )
        return int(rows[0][0])

    def finish_run(self, run: int) -> None:
        with self.used():
            self._database.execute("UPDATE runs SET finished = ? WHERE id = ?", (_now(), run))

    def known(self, sha256: str, configuration: str) -> Recorded | None:
        """The latest record of a file with these bytes, checked with this configuration."""
        with self.used():
            rows = self._database.execute(
                "SELECT run, checked, valid, errors, warnings, id FROM files WHERE sha256 = ? AND configuration = ? "
                "AND error IS NULL ORDER BY id DESC LIMIT 1",
                (sha256, configuration),
            )
        if not rows:
            return None
        run, checked, valid, errors, warnings, file = rows[0]
        return Recorded(run, checked, bool(valid), errors, warnings, file)

    def record(
        self,
        run: int,
        configuration: str,
        record: FileRecord,
        installations: Iterator[tuple[str | None, bytes, bytes]] | None = None,
        seen: int = 0,
    ) -> bool:
        """Record one file checked, with its findings by code and, where given, each installation
        (its reference and its identifiers' fingerprints, in file order), in one transaction.

        ``seen`` is the latest record of the file's bytes and configuration when the batch looked
        (:attr:`Recorded.file`; 0: none). Where another batch has recorded them since (a record
        without error), nothing is written and the answer is False: a file is recorded once
        however many batches check it at once. The transaction holds a lock of the bytes and
        configuration, so that of two batches the second sees what the first wrote.
        """
        report, header = record.report, record.header
        unique = record.sha256 is not None and report.error is None
        database = self._database
        try:
            with database.transaction(lock=_content_lock(record.sha256, configuration) if unique else None):
                if unique and database.execute(
                    "SELECT 1 FROM files WHERE sha256 = ? AND configuration = ? AND error IS NULL "
                    "AND run != ? AND id > ? LIMIT 1",
                    (record.sha256, configuration, run, seen),
                ):
                    return False
                file = database.execute(
                    "INSERT INTO files (run, path, size, sha256, configuration, supplier, group_id, smso, "
                    "file_identifier, cohort, valid, installations, errors, warnings, error, checked) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (
                        run,
                        record.path,
                        record.size,
                        record.sha256,
                        configuration,
                        *(header.get(name) for name in HEADER_FIELDS),
                        report.cohort,
                        int(report.valid and not record.failures),
                        report.installations,
                        record.errors,
                        record.warnings,
                        report.error,
                        _now(),
                    ),
                )[0][0]
                database.insert(
                    "finding_counts",
                    ("file", "code", "count"),
                    [(file, code, count) for code, count in sorted(record.codes.items())],
                )
                if installations is not None:
                    accepted = rejected = 0
                    rows: list[tuple[object, ...]] = []
                    for position, (reference, held, _) in enumerate(installations, start=1):
                        valid = not record.fails(position)
                        accepted += valid
                        rejected += not valid
                        rows.append((file, position, reference, int(valid), held))
                        if len(rows) >= _ROWS:
                            database.insert("installations", _INSTALLATION_COLUMNS, rows)
                            rows.clear()
                    database.insert("installations", _INSTALLATION_COLUMNS, rows)
                    database.execute(
                        "UPDATE files SET accepted = ?, rejected = ? WHERE id = ?", (accepted, rejected, file)
                    )
        except database.errors as error:
            raise McfcheckError(f"{self.name}: the ledger cannot be written ({database.say(error)})") from None
        return True

    def history(self, reference: str) -> list[Submission]:
        """Each time an installation with ``reference`` was recorded, oldest first."""
        with self.used():
            rows = self._database.execute(
                "SELECT f.run, f.checked, f.path, f.file_identifier, f.supplier, i.position, i.valid "
                "FROM installations AS i JOIN files AS f ON f.id = i.file WHERE i.reference = ? "
                "ORDER BY f.id, i.position",
                (reference,),
            )
        return [Submission(*row) for row in rows]

    def summary(self, by: str) -> list[Rollup]:
        """For each value of header field ``by`` (supplier, smso, group_id), the latest record of each
        file (by content and configuration): files, valid files, installations, findings by code;
        no value first, then by value (in the order of their characters, whatever the database's collation).
        """
        assert by in HEADER_FIELDS
        latest = (
            "SELECT * FROM files WHERE id IN (SELECT MAX(id) FROM files WHERE sha256 IS NOT NULL "
            "GROUP BY sha256, configuration)"
        )
        with self.used():
            rows = self._database.execute(
                f"SELECT {by}, COUNT(*), SUM(valid), SUM(installations), SUM(accepted), SUM(rejected) "  # noqa: S608 - by is a known column
                f"FROM ({latest}) AS latest GROUP BY {by}"
            )
            counted = self._database.execute(
                f"SELECT f.{by}, c.code, SUM(c.count) FROM ({latest}) AS f JOIN finding_counts AS c ON c.file = f.id "  # noqa: S608
                f"GROUP BY f.{by}, c.code"
            )
        counts: dict[str | None, dict[str, int]] = {}
        for value, code, count in sorted(counted, key=lambda row: row[1]):
            counts.setdefault(value, {})[code] = int(count)
        return [
            Rollup(value, files, valid or 0, installations or 0, counts.get(value, {}), accepted or 0, rejected or 0)
            for value, files, valid, installations, accepted, rejected in sorted(
                rows, key=lambda row: (row[0] is not None, row[0] or "")
            )
        ]

    def runs(self) -> list[tuple[int, str, str | None, int]]:
        """Each run: its number, start, end (None: stopped before its end) and files recorded."""
        with self.used():
            return [
                (number, started, finished, files)
                for number, started, finished, files in self._database.execute(
                    "SELECT r.id, r.started, r.finished, COUNT(f.id) FROM runs AS r "
                    "LEFT JOIN files AS f ON f.run = r.id GROUP BY r.id ORDER BY r.id"
                )
            ]

    def held(self) -> Iterator[tuple[str, str, list[tuple[int, str | None, bytes]]]]:
        """The installations of the latest record of each file (by content) recorded with its installations,
        a file at a time (a large one in several parts): the file's SHA-256 and path, and each installation's
        position, reference and identifiers; read a few at a time through a connection of their own.
        """
        latest = "SELECT MAX(id) FROM files WHERE sha256 IS NOT NULL AND accepted IS NOT NULL GROUP BY sha256"
        with self.used():
            files = {
                file: (sha256, path)
                for file, sha256, path in self._database.execute(
                    f"SELECT id, sha256, path FROM files WHERE id IN ({latest})"  # noqa: S608 - the ledger's own words
                )
            }
            if not files:
                return
            # Those files by number (another batch may record more meanwhile), in the order of the
            # key (file, position): one pass over the table, no sort.
            numbers = ", ".join(str(int(file)) for file in sorted(files))
            rows = self._database.read(
                "SELECT file, position, reference, identifiers FROM installations "  # noqa: S608 - numbers and the ledger's words
                f"WHERE file IN ({numbers}) ORDER BY file, position"
            )
            for file, installations in itertools.groupby(rows, key=operator.itemgetter(0)):
                sha256, path = files[file]
                while part := [(row[1], row[2], row[3]) for row in itertools.islice(installations, _HELD_ROWS)]:
                    yield sha256, path, part

    @contextmanager
    def used(self) -> Iterator[None]:
        """Errors of the database while the ledger is used (a full disk, a lock held too long, a server gone),
        as one line.
        """
        try:
            yield
        except self._database.errors as error:
            raise McfcheckError(f"{self.name}: the ledger cannot be used ({self._database.say(error)})") from None

    def close(self) -> None:
        self._database.close()


def _content_lock(sha256: str | None, configuration: str) -> int:
    """The number of the lock of a file's bytes and configuration (a signed 64-bit integer, as PostgreSQL's
    advisory locks take).
    """
    digest = hashlib.blake2b(f"{sha256} {configuration}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class CrossCheck:
    """One check across files (a rule with ``across_files``): its code, name, label and severity."""

    code: str
    name: str
    label: str
    severity: Severity


def cross_checks(registry: RuleRegistry, settings: RuleSettings) -> dict[str, CrossCheck]:
    """The checks across files ``settings`` select, by the kind of identifier each looks at."""
    checks: dict[str, CrossCheck] = {}
    for code, rule in sorted(registry.rules.items()):
        kind = getattr(rule, "kind", None)
        if rule.across_files and isinstance(kind, str) and settings.selection.is_selected(code):
            label = str(getattr(rule, "label", code))
            checks[kind] = CrossCheck(code, rule.name, label, settings.severities.get(code, rule.severity))
    return checks


class LedgerSink:
    """A report sink before the reports: it records each file checked in the ledger, with the facts
    gathered before and, where the holdings collector ran, each installation with its verdict and
    identifiers; and, with ``checks``, it tells the reports the findings across files of each file
    (an identifier another file holds), before its end.

    The records are written by a thread of their own while the next files are checked (a few
    files behind at most); :meth:`finish` waits for the last and raises what stopped it, if
    anything did. :attr:`status` is findings where a finding across files fails.
    """

    def __init__(
        self,
        ledger: Ledger,
        run: int,
        configuration: str,
        digests: Mapping[str, tuple[int, str] | None],
        bindings: BindingSet,
        fail_on: Severity = Severity.ERROR,
        checks: Mapping[str, CrossCheck] | None = None,
        seen: Mapping[str, int] | None = None,
    ) -> None:
        self._ledger = ledger
        self._seen = dict(seen or {})
        self._run = run
        self._configuration = configuration
        self._digests = digests
        self._bindings = bindings
        self._fail_on = fail_on
        self._checks = dict(checks or {})
        self._record: FileRecord | None = None
        self._position: re.Pattern[str] | None = None
        self._waiting: queue.Queue[tuple[FileRecord, Holdings | None] | None] = queue.Queue(_RECORDS_AHEAD)
        self._error: BaseException | None = None
        self._writer = threading.Thread(target=self._write, name="mcfcheck-ledger", daemon=True)
        # Made when the first file with installations is checked: a batch with nothing to check reads nothing.
        self._cross: CrossFiles | None = None
        self.downstream: ReportSink | None = None
        #: 1 (findings) once a finding across files fails, else 0.
        self.status = 0
        #: The files another batch recorded while this one checked them (recorded once, by the other).
        self.recorded_elsewhere: list[str] = []

    def start(self) -> None:
        self._writer.start()
        if self.downstream is not None:
            self.downstream.start()

    def file_started(self, path: str) -> None:
        if path not in self._digests:
            # Not an input (a schema that could not be loaded, named in its place): nothing to record.
            self._record = None
            if self.downstream is not None:
                self.downstream.file_started(path)
            return
        digest = self._digests.get(path)
        header, record = read_header(Path(path), self._bindings)
        self._record = FileRecord(
            path,
            digest[0] if digest is not None else None,
            digest[1] if digest is not None else None,
            header,
            FileReport(path, None, 0),
            record=record,
        )
        self._position = re.compile(r"/" + re.escape(record) + r"\[(\d+)\]") if record is not None else None
        if self.downstream is not None:
            self.downstream.file_started(path)

    def finding(self, finding: Finding) -> None:
        record = self._record
        if record is None:
            if self.downstream is not None:
                self.downstream.finding(finding)
            return
        self._count(record, finding)
        if self._position is not None and self._fails(finding.severity):
            found = self._position.search(finding.location.xpath or "")
            if found is not None:
                record.fail(int(found[1]))
        if self.downstream is not None:
            self.downstream.finding(finding)

    def _fails(self, severity: Severity) -> bool:
        return severity is Severity.ERROR or self._fail_on is Severity.WARNING

    def _count(self, record: FileRecord, finding: Finding) -> None:
        record.codes[finding.code] += 1
        if finding.severity is Severity.ERROR:
            record.errors += 1
        else:
            record.warnings += 1
        record.failures += self._fails(finding.severity)

    def file_finished(self, report: FileReport) -> None:
        record = self._record
        if record is None or record.path != report.path:
            # A schema that could not be loaded: no file was checked.
            if self.downstream is not None:
                self.downstream.file_finished(report)
            return
        record.report = report
        holdings = report.outcomes.get(HOLDINGS_CODE)
        if isinstance(holdings, Holdings) and self._checks and record.sha256 is not None:
            try:
                with self._ledger.used():
                    if self._cross is None:
                        self._cross = CrossFiles(self._ledger.held())
                    found = self._cross.shared(record.path, record.sha256, holdings.installations())
            except sqlite3.Error as error:
                raise McfcheckError(f"the checks across files cannot go on ({error})") from None
            for shared in found:
                self._across(record, shared)
        self._waiting.put((record, holdings if isinstance(holdings, Holdings) else None))
        self._record = None
        if self.downstream is not None:
            self.downstream.file_finished(report)

    def _across(self, record: FileRecord, shared: Shared) -> None:
        check = self._checks.get(shared.kind)
        if check is None:
            return
        other = shared.other_reference or f"at position {shared.other_position}"
        finding = Finding(
            code=check.code,
            message=f"{check.label} {shared.value} of this installation is also in installation {other} of "
            f"{shared.other_path}"
            if shared.value is not None
            else f"a {check.label} of this installation is also in installation {other} of {shared.other_path}",
            severity=check.severity,
            location=Location(record.path, installation=shared.reference),
            rule=check.name,
            related=(Location(shared.other_path, installation=shared.other_reference),),
        )
        self._count(record, finding)
        if self._fails(finding.severity):
            record.fail(shared.position)
            self.status = 1
        if self.downstream is not None:
            self.downstream.finding(finding)

    def _write(self) -> None:
        while (waiting := self._waiting.get()) is not None:
            record, holdings = waiting
            try:
                if self._error is None:
                    installations = holdings.installations() if holdings is not None else None
                    seen = self._seen.get(record.path, 0)
                    if not self._ledger.record(self._run, self._configuration, record, installations, seen):
                        self.recorded_elsewhere.append(record.path)
            except BaseException as error:
                self._error = error
            finally:
                if holdings is not None:
                    holdings.remove()

    def finish(self) -> None:
        try:
            if self.downstream is not None:
                self.downstream.finish()
        finally:
            self._waiting.put(None)
            self._writer.join()
            if self._cross is not None:
                self._cross.close()
        if self._error is not None:
            raise self._error
        self._ledger.finish_run(self._run)


def holdings_collected(
    registry: RuleRegistry, settings: RuleSettings, staging: Path
) -> tuple[RuleRegistry, RuleSettings]:
    """``registry`` and ``settings`` with the holdings collector beside the rules, writing in ``staging``."""
    rules = {**registry.rules, HOLDINGS_CODE: HoldingsCollector}
    plugins = {**registry.plugins, HOLDINGS_CODE: "mcfcheck"}
    chosen = settings.selection
    return (
        dataclasses.replace(registry, rules=rules, plugins=plugins),
        dataclasses.replace(
            settings,
            selection=dataclasses.replace(chosen, extend_select=(*chosen.extend_select, HOLDINGS_CODE)),
            options={**settings.options, HOLDINGS_CODE: {"staging": str(staging)}},
        ),
    )


def digests(paths: Sequence[Path]) -> dict[str, tuple[int, str] | None]:
    """Each file's size and SHA-256, by path as given: on every core (hashlib lets threads hash at once)."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(paths), default_jobs()))) as pool:
        return {str(path): digest for path, digest in zip(paths, pool.map(file_digest, paths), strict=True)}
