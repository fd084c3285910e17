"""Routing an MCF's installations by their findings (``mcfcheck extract``).

The file is first validated as ``validate`` validates it (the schema and the selected
rules, one streaming parse, large files in parts on every core), with the reshape
collector (:class:`mcfcheck.rules.reshape.ReshapeCollector`) beside the rules: it notes
each installation's line, devices and reference. Each finding is noted, on disk,
against the installations it concerns: the one its XPath names
(``…/Installation[42]/…``), and, for a finding about an identifier seen twice, the one
where it was first seen too (:attr:`mcfcheck.findings.Finding.related`), unless the
first is kept (``keep_first``). A finding in no installation (the header, the trailer)
concerns the file.

The installations are cut from the input's bytes as ``split`` cuts them
(:class:`mcfcheck.input.cut.Cutter`, in a thread while workers parse, where it can),
each checked against the line the parser gave it. Each installation goes to the
rejected file if a finding of at least ``fail_on``'s severity concerns it, else to the
accepted file, copied byte for byte in runs of the input. Both have the input's header
and a trailer with their own totals, so the trailer's totals are right in both whatever
the input's said. The response lists every installation once, in file order, with its
findings' codes, messages and the user's own codes for them, after the findings of the
file.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
from array import array
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import chain, count, islice
from pathlib import Path
from typing import BinaryIO, Final, TextIO

from mcfcheck.errors import InputError
from mcfcheck.findings import Finding, Severity
from mcfcheck.input.cut import Cutter
from mcfcheck.input.xml import is_gzip, iter_chunks, open_input, read_root
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.registry import RuleRegistry
from mcfcheck.rules.reshape import (
    RESHAPE_CODE,
    ReshapeCollector,
    ReshapeOutcome,
    read_numbers,
    references_of,
)
from mcfcheck.run.parts import record_patterns
from mcfcheck.run.reshape import Surveyed, check_cut, survey, with_totals
from mcfcheck.run.stats import Reading

#: The response's columns (CSV, RFC 4180, a header row).
RESPONSE_COLUMNS: Final = ("position", "reference", "line", "outcome", "codes", "reason_codes", "messages")
#: How the findings of one installation are joined in the response's ``messages`` column.
MESSAGE_SEPARATOR: Final = " | "
#: What ``--duplicates`` takes: reject every installation a repeated identifier is in, or all but the first.
DUPLICATES: Final = ("reject-all", "keep-first")
#: How many bytes are copied at a time where the kernel does not copy them itself.
_COPY_BYTES: Final = 1 << 20
#: How much of the file is read to tell its root's namespace.
_HEAD_BYTES: Final = 1 << 16
#: How many installations are routed at a time (their lines, offsets and devices in arrays).
_BATCH_INSTALLATIONS: Final = 1 << 16
#: How many findings are noted on disk at a time.
_BATCH: Final = 10_000
_ORDER: Final = {Severity.WARNING: 0, Severity.ERROR: 1}
#: A value written in a CSV field as it is (RFC 4180 quotes one with a comma, a quote or a line break).
_PLAIN: Final = re.compile(r"[^,\"\r\n]*")


def extract_registry(rules: RuleRegistry) -> RuleRegistry:
    """``rules`` with the collector ``extract`` runs beside them (the reshape collector's)."""
    return RuleRegistry(
        rules={RESHAPE_CODE: ReshapeCollector, **rules.rules},
        plugins={RESHAPE_CODE: "mcfcheck", **rules.plugins},
    )


def extract_settings(settings: RuleSettings, staging: Path) -> RuleSettings:
    """``settings`` (the user's selection of rules, and the schema's check) with the collector added."""
    chosen = settings.selection
    return dataclasses.replace(
        settings,
        selection=dataclasses.replace(chosen, extend_select=(*chosen.extend_select, RESHAPE_CODE)),
        options={**settings.options, RESHAPE_CODE: {"staging": str(staging), "identifiers": False, "numbers": True}},
        check_schema=True,
        run_rules=True,
    )


@dataclass(frozen=True)
class Extracted:
    """What :func:`extract_file` wrote."""

    installations: int
    accepted: int
    rejected: int
    accepted_devices: int
    rejected_devices: int
    #: Every finding of the validation.
    findings: int
    #: The findings in no installation (the header, the trailer), by code.
    file_findings: Mapping[str, int] = field(default_factory=dict)
    #: Of those, how many are of the severity that fails (``fail_on``) or above.
    file_failing: int = 0
    #: Of those, the errors that the outputs keep (not the trailer's totals, which they recompute).
    file_errors_kept: int = 0


class _Notes:
    """The findings, each noted against the places it concerns, in a SQLite file on disk.

    A place is kept as its XPath: which installation it names is read once the file's
    record element is known (:meth:`by_position`).
    """

    def __init__(self, folder: Path, keep_first: bool) -> None:
        self._keep_first = keep_first
        self._connection = sqlite3.connect(folder / "findings.sqlite")
        self._connection.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
            "CREATE TABLE findings (id INTEGER PRIMARY KEY, code TEXT, severity INTEGER, message TEXT, line INTEGER);"
            "CREATE TABLE marks (xpath TEXT, finding INTEGER);"
        )
        self._findings: list[tuple[int, str, int, str, int | None]] = []
        self._marks: list[tuple[str | None, int]] = []
        self.count = 0

    def add(self, finding: Finding) -> None:
        self.count += 1
        places = (finding.location,) if self._keep_first else (finding.location, *finding.related)
        self._findings.append(
            (self.count, finding.code, _ORDER[finding.severity], finding.message, finding.location.line)
        )
        self._marks.extend((place.xpath, self.count) for place in places)
        if len(self._findings) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        self._connection.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?)", self._findings)
        self._connection.executemany("INSERT INTO marks VALUES (?, ?)", self._marks)
        self._findings.clear()
        self._marks.clear()

    def by_position(self, record: str) -> Iterator[_Mark]:
        """Each place a finding concerns, by the 1-based position of the installation it is in (0: none,
        the header or the trailer), then in the order the findings came; a finding once per position.
        """
        pattern = record_patterns(record).position

        def position(xpath: str | None) -> int:
            found = pattern.search(xpath) if xpath is not None else None
            return int(found[2]) if found is not None else 0

        self._flush()
        self._connection.create_function("position", 1, position, deterministic=True)
        rows = self._connection.execute(
            "SELECT DISTINCT position(m.xpath) AS p, m.finding, f.code, f.severity, f.message, f.line "
            "FROM marks AS m JOIN findings AS f ON f.id = m.finding ORDER BY p, m.finding"
        )
        for place, _finding, code, severity, message, line in rows:
            yield _Mark(place, code, severity, message, line)

    def close(self) -> None:
        self._connection.close()


@dataclass(frozen=True, slots=True)
class _Mark:
    position: int
    code: str
    severity: int
    message: str
    line: int | None


class _Output:
    """One of the two MCFs written: the head, the installations routed to it, the tail.

    An installation is written with the bytes before it in the input (from the end of the
    installation before it), but for the output's first, which follows the head. The
    input's bytes are copied in runs: consecutive installations routed here are one range
    of the input, copied at once, by the kernel where it can (``copy_file_range``).
    """

    def __init__(self, stream: BinaryIO, head: bytes, source: int) -> None:
        self.stream = stream
        self.installations = 0
        self.devices = 0
        self._source = source
        try:
            self._target: int | None = stream.fileno()
        except (OSError, ValueError, io.UnsupportedOperation):
            self._target = None
        #: The range of the input waiting to be copied.
        self._start = self._end = -1
        stream.write(head)

    def add(self, begin: int, finish: int, previous: int, devices: int, installations: int = 1) -> None:
        """Add the installations from ``begin`` to ``finish`` in the input (consecutive ones, with the
        bytes between them), the one before them ending at ``previous``.
        """
        if self.installations and self._end == previous:
            self._end = finish
        else:
            self._copy()
            self._start, self._end = (previous if self.installations else begin), finish
        self.installations += installations
        self.devices += devices

    def _copy(self) -> None:
        start, end = self._start, self._end
        self._start = self._end = -1
        if start >= end:
            return
        if self._target is not None:
            self.stream.flush()
            try:
                while start < end:
                    done = os.copy_file_range(self._source, self._target, end - start, start)
                    if done == 0:
                        break
                    start += done
            except OSError:
                # Not between these two (a pipe, another file system, an old kernel): through memory,
                # where a fault of the output is told as such.
                self._target = None
        for data in _pieces(self._source, start, end):
            self.stream.write(data)

    def finish(self, tail: bytes, surveyed: Surveyed) -> None:
        self._copy()
        self.stream.write(with_totals(tail, surveyed, self.installations, self.devices))


def _pieces(source: int, start: int, end: int) -> Iterator[bytes]:
    """The input's bytes from ``start`` to ``end``, :data:`_COPY_BYTES` at a time."""
    while start < end:
        data = os.pread(source, min(_COPY_BYTES, end - start), start)
        if not data:
            raise InputError("the input changed while it was read")
        yield data
        start += len(data)


def _read(source: int, start: int, end: int) -> bytes:
    """The input's bytes from ``start`` to ``end``."""
    return b"".join(_pieces(source, start, end))


class _Response:
    """The response: a CSV row per finding of the file, then one per installation."""

    def __init__(self, stream: BinaryIO | None, reason_codes: Mapping[str, str]) -> None:
        self._text = io.TextIOWrapper(stream, encoding="utf-8", newline="") if stream is not None else None
        self._writer = csv.writer(self._text) if self._text is not None else None
        self._reasons = reason_codes
        if self._writer is not None:
            self._writer.writerow(RESPONSE_COLUMNS)

    def _reason(self, codes: list[str]) -> str:
        return " ".join(dict.fromkeys(self._reasons[code] for code in codes if code in self._reasons))

    def file_finding(self, code: str, message: str, line: int | None) -> None:
        if self._writer is not None:
            self._writer.writerow(("", "", line or "", "file", code, self._reason([code]), f"{code}: {message}"))

    def installation(
        self, position: int, reference: str | None, line: int, outcome: str, found: list[tuple[str, str]]
    ) -> None:
        if self._writer is None:
            return
        codes = [code for code, _message in found]
        self._writer.writerow(
            (
                position,
                reference or "",
                line,
                outcome,
                " ".join(dict.fromkeys(codes)),
                self._reason(codes),
                MESSAGE_SEPARATOR.join(f"{code}: {message}" for code, message in found),
            )
        )

    def accepted(self, first: int, references: list[str], lines: array[int]) -> None:
        """The rows of installations accepted without a finding, from position ``first`` on."""
        if self._text is None:
            return
        if _PLAIN.fullmatch("".join(references)):
            # Most rows: nothing to quote, nothing to join.
            self._text.write(
                "".join(
                    f"{position},{reference},{line},accepted,,,\r\n"
                    for position, reference, line in zip(count(first), references, lines)
                )
            )
            return
        for position, reference, line in zip(count(first), references, lines):
            self.installation(position, reference, line, "accepted", [])

    def close(self) -> None:
        if self._text is not None:
            self._text.flush()
            self._text.detach()


#: What the outputs put right by construction: the trailer's totals (each output's are its own).
TOTALS: Final = frozenset({"installation_count", "device_count"})


def totals_codes(rules: RuleRegistry) -> frozenset[str]:
    """The codes of the rules that check the trailer's totals, which the outputs recompute."""
    return frozenset(code for code, rule in rules.rules.items() if rule.reads is not None and rule.reads & TOTALS)


def extract_file(
    path: Path,
    settings: RuleSettings,
    rules: RuleRegistry,
    reading: Reading,
    accepted: BinaryIO,
    rejected: BinaryIO,
    scratch: Path,
    response: BinaryIO | None = None,
    fail_on: Severity = Severity.ERROR,
    keep_first: bool = False,
    reason_codes: Mapping[str, str] | None = None,
) -> Extracted:
    """Validate ``path`` with ``settings``' selection of ``rules``, and write its installations to
    ``accepted`` or ``rejected`` by their findings (at least ``fail_on``: rejected), and the
    response (CSV) to ``response``. ``scratch`` holds the notes on the way.

    A file that cannot be read or cut is an :class:`mcfcheck.errors.InputError`, before
    anything is written.
    """
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=scratch))
    notes = _Notes(staging, keep_first)
    surveyed: Surveyed | None = None
    scan: _Scan | None = None
    try:
        scan = _start_scan(path, settings, reading, staging)
        reading = dataclasses.replace(reading, on_finding=notes.add)
        how = extract_settings(settings, staging)
        (surveyed,) = survey([path], how, reading, staging, registry=extract_registry(rules))
        routing = _Routing(fail_on, reason_codes or {}, totals_codes(rules))
        return _route(path, surveyed, notes, reading, (accepted, rejected, response), routing, staging, scan)
    finally:
        if scan is not None:
            scan.stop()
        notes.close()
        if surveyed is not None:
            surveyed.outcome.remove()
        shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class _Routing:
    fail_on: Severity
    reason_codes: Mapping[str, str]
    #: The codes of findings the outputs put right.
    totals: frozenset[str]


class _Scan:
    """The input's installations cut (their lines and offsets) into a file in ``staging``, in a thread.

    Started before the validation when the record element can be told from the file's
    namespace, it runs while worker processes parse (the parent waits for them); its
    work is then done when the routing starts. Where it cannot run or guessed the record
    wrong, the routing cuts the file itself (:meth:`written` says None).
    """

    def __init__(self, path: Path, record: str, max_bytes: int, staging: Path) -> None:
        self.record = record
        self.cutter = Cutter(path, record, max_bytes)
        self._file = staging / "spans.bin"
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run, name="mcfcheck-cut", daemon=True)
        self._worker.start()

    def _run(self) -> None:
        try:
            with self._file.open("wb") as written:
                for batch in self.cutter.span_batches():
                    if self._stop.is_set():
                        return
                    batch.tofile(written)
        except BaseException as error:
            self._error = error

    def stop(self) -> None:
        self._stop.set()
        self._worker.join()

    def written(self, record: str) -> Path | None:
        """The file of the installations cut (line, begin, end, …), once the thread is done; None where
        the record was guessed wrong.
        """
        self._worker.join()
        if record != self.record:
            return None
        if self._error is not None:
            raise self._error
        return self._file


def _start_scan(path: Path, settings: RuleSettings, reading: Reading, staging: Path) -> _Scan | None:
    """A scan of ``path`` in a thread, where workers parse it and its record element can be told."""
    if reading.jobs < 2 or is_gzip(path):
        return None
    try:
        with open_input(path) as stream:
            root = read_root(stream.read(_HEAD_BYTES))
    except (InputError, OSError):
        return None
    binding = settings.bindings.for_namespace(root.namespace if root is not None else None)
    if binding is None:
        return None
    return _Scan(path, binding.record, reading.max_decompressed, staging)


class _Facts:
    """The installations' lines, devices and references as the collector noted them, a batch at a time."""

    def __init__(self, outcome: ReshapeOutcome, references: bool) -> None:
        self._files = iter(outcome.files)
        self._references = references
        self._numbers: BinaryIO | None = None
        self._lines: TextIO | None = None

    def batch(self) -> tuple[array[int], list[str]]:
        """The next numbers (line, devices, …) and, if asked for, references; empty at the end."""
        while True:
            if self._numbers is None:
                path = next(self._files, None)
                if path is None:
                    return array("q"), []
                self._numbers = Path(path).open("rb")  # noqa: SIM115 - closed by close()
                if self._references:
                    self._lines = Path(references_of(path)).open(encoding="utf-8", newline="\n")  # noqa: SIM115
            numbers = read_numbers(self._numbers, _BATCH_INSTALLATIONS)
            if numbers:
                lines = self._lines
                references = [lines.readline()[:-1] for _ in range(len(numbers) // 2)] if lines is not None else []
                return numbers, references
            self.close()

    def close(self) -> None:
        for stream in (self._numbers, self._lines):
            if stream is not None:
                stream.close()
        self._numbers = self._lines = None


class _Spans:
    """The installations cut from the bytes (line, begin, end, …), ``count`` at a time: as a cutter
    gives them, or from the file a scan wrote.
    """

    def __init__(self, spans: Iterator[tuple[int, int, int]] | None, written: BinaryIO | None = None) -> None:
        self._spans = spans
        self._written = written

    def take(self, count: int) -> array[int]:
        taken = array("q")
        if self._written is not None:
            with suppress(EOFError):
                taken.fromfile(self._written, 3 * count)
            return taken
        assert self._spans is not None
        for line, begin, finish in islice(self._spans, count):
            taken.extend((line, begin, finish))
        return taken


def _plain(path: Path, staging: Path, max_bytes: int) -> Path:
    """``path``, or, for a gzip-compressed file, a decompressed copy of it in ``staging`` (to copy ranges from)."""
    if not is_gzip(path):
        return path
    copy = staging / "input.xml"
    with open_input(path) as stream, copy.open("wb") as written:
        for chunk in iter_chunks(stream, path, max_bytes):
            written.write(chunk)
    return copy


def _check_lines(path: Path, cut: array[int], noted: array[int], before: int) -> None:
    """Each installation cut from the bytes must start on the line the parser gave it (see :func:`check_cut`)."""
    if cut == noted:
        return
    for line, noted_line in zip(cut, noted, strict=False):
        check_cut(path, line, noted_line, before)
        before = noted_line
    if len(cut) < len(noted):
        raise InputError(f"{path}: the parser read installations the bytes do not show")


def _route(
    path: Path,
    surveyed: Surveyed,
    notes: _Notes,
    reading: Reading,
    outputs: tuple[BinaryIO, BinaryIO, BinaryIO | None],
    routing: _Routing,
    staging: Path,
    scan: _Scan | None,
) -> Extracted:
    threshold = _ORDER[routing.fail_on]
    record = surveyed.outcome.record
    scanned = scan.written(record) if scan is not None else None
    written: BinaryIO | None = None
    if scan is not None and scanned is not None:
        source, cutter = path, scan.cutter
        written = scanned.open("rb")
        cut = _Spans(None, written)
    else:
        source = _plain(path, staging, reading.max_decompressed)
        cutter = Cutter(source, record, reading.max_decompressed, shown=path)
        spans = cutter.spans()
        # The first is cut before the head is read: it ends where the first begins.
        cut = _Spans(chain((next(spans),), spans))
    descriptor = os.open(source, os.O_RDONLY)
    facts = _Facts(surveyed.outcome, references=outputs[2] is not None)
    try:
        head = _read(descriptor, 0, cutter.head_end)
        good, bad = _Output(outputs[0], head, descriptor), _Output(outputs[1], head, descriptor)
        answer = _Response(outputs[2], routing.reason_codes)
        marks = notes.by_position(record)
        mark = next(marks, None)
        file_findings: dict[str, int] = {}
        file_errors_kept = file_failing = 0
        while mark is not None and mark.position == 0:
            file_findings[mark.code] = file_findings.get(mark.code, 0) + 1
            file_failing += mark.severity >= threshold
            if mark.severity >= _ORDER[Severity.ERROR] and mark.code not in routing.totals:
                file_errors_kept += 1
            answer.file_finding(mark.code, mark.message, mark.line)
            mark = next(marks, None)
        # The position of the next installation a finding concerns: those before it are accepted as they are.
        upcoming = mark.position if mark is not None else sys.maxsize
        done = before = 0  # installations routed; the parser's line of the last
        previous = cutter.head_end
        while True:
            numbers, references = facts.batch()
            if not numbers:
                break
            noted_lines, devices = numbers[0::2], numbers[1::2]
            size = len(noted_lines)
            taken = cut.take(size)
            lines, begins, finishes = taken[0::3], taken[1::3], taken[2::3]
            _check_lines(path, lines, noted_lines, before)
            before = noted_lines[-1]
            index = 0
            while index < size:
                position = done + index + 1
                if position < upcoming:
                    # A run of installations no finding concerns: accepted together.
                    end = min(size, upcoming - 1 - done)
                    good.add(begins[index], finishes[end - 1], previous, sum(devices[index:end]), end - index)
                    answer.accepted(position, references[index:end], lines[index:end])
                    previous = finishes[end - 1]
                    index = end
                    continue
                found: list[tuple[str, str]] = []
                output = good
                while mark is not None and mark.position <= position:
                    found.append((mark.code, mark.message))
                    if mark.severity >= threshold:
                        output = bad
                    mark = next(marks, None)
                upcoming = mark.position if mark is not None else sys.maxsize
                output.add(begins[index], finishes[index], previous, devices[index])
                reference = references[index] if references else None
                outcome = "accepted" if output is good else "rejected"
                answer.installation(position, reference, lines[index], outcome, found)
                previous = finishes[index]
                index += 1
            done += size
        extra = cut.take(1)
        if extra:
            check_cut(path, extra[0], None)
        tail = _read(descriptor, cutter.tail_start, os.fstat(descriptor).st_size)
        for output in (good, bad):
            output.finish(tail, surveyed)
        answer.close()
    finally:
        facts.close()
        os.close(descriptor)
        if written is not None:
            written.close()
    if mark is not None:
        raise AssertionError(f"{path}: a finding names installation {mark.position}, past the last ({done})")
    return Extracted(
        installations=done,
        accepted=good.installations,
        rejected=bad.installations,
        accepted_devices=good.devices,
        rejected_devices=bad.devices,
        findings=notes.count,
        file_findings=file_findings,
        file_failing=file_failing,
        file_errors_kept=file_errors_kept,
    )
