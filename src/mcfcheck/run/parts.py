"""Validating one large file in parts, in worker processes, with the findings of one pass.

A file is split at installation start tags that begin a line. Each worker validates
the document made of the file's head (up to its first installation), blank lines up to
its part's first line, the part's installations and the file's tail (from the end of
the last installation): a complete document whose every line keeps its number in the
file. A worker keeps the findings on its own part's lines (the first part's include the
head, the last part's the tail), and hands back what its cross-record rules gathered.
The parent merges those in file order and runs the trailer's rules and the rules'
finish step, over the head and tail alone.

The result is the single pass's: the same findings, in the same order, with the same
lines: each part numbers its installations from 1, and the parent shifts the positions
in its findings' XPaths by the installations of the parts before it. Whenever a part is
not well-formed (a split fell inside a comment or a CDATA section, or the file itself is
broken), the file is validated in a single pass instead.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import pickle
import re
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from io import FileIO
from pathlib import Path
from typing import TYPE_CHECKING, Final

from lxml import etree

from mcfcheck.check.file import FileCheck, Phase, load_schema_for
from mcfcheck.check.part import Part
from mcfcheck.check.spool import Anchored, FindingSpool, SpooledFindings, in_file_order
from mcfcheck.errors import InputError, McfcheckError
from mcfcheck.findings import FileReport, Finding
from mcfcheck.input.xml import DEFAULT_MAX_DECOMPRESSED_BYTES, is_gzip
from mcfcheck.native import line_feed_counter, tune_process
from mcfcheck.rules.engine import PartState, RuleSettings
from mcfcheck.rules.registry import RuleRegistry, load_registry
from mcfcheck.schema.binding import BindingSet
from mcfcheck.schema.loading import RECORD_ELEMENT, CompiledSchema

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.process import BaseProcess

# multiprocessing and the process pool are imported where a pool is made: a run on one
# small file makes none, and they are a few milliseconds of its start-up.

#: Files smaller than two parts of this size are validated in a single pass. On two
#: cores, a 20 MB file took 0.53-0.58 s in four parts against 0.78-0.83 s in one (16 MiB
#: parts had left it whole), and a 10 MB file 0.46 s in two against 0.52-0.60 s.
DEFAULT_PART_BYTES: Final = 4 << 20
#: In a batch of several files, files smaller than two parts of this size are validated
#: whole, several at once: a file in parts is finished, its last part waited for, before
#: the next file in parts starts.
BATCH_PART_BYTES: Final = 16 << 20
#: How many parts per worker: more, smaller parts even out the workers' loads (a core
#: waits, at the end, for the part another is finishing). On 1 GB with two workers,
#: four parts each took 26.7 s against 29.2 s for two (two alternating runs each).
PARTS_PER_JOB: Final = 4
#: How far the split points' searches read: an installation larger than this is not split at.
_SCAN_BYTES: Final = 8 << 20
#: The searches read 64 KB first, then eight times more each time, up to the limit.
_FIRST_WINDOW_BYTES: Final = 64 << 10


@dataclass(frozen=True)
class RecordPatterns:
    """How the planner finds a dialect's record elements (installations) in raw bytes."""

    #: A record's start tag at the start of a line (after indentation).
    line_start: re.Pattern[bytes]
    #: A record's start tag anywhere, and its end tag.
    start: re.Pattern[bytes]
    end: re.Pattern[bytes]
    #: The record's position in a finding's XPath (/Installations/Installation[12]/…).
    position: re.Pattern[str]


@cache
def record_patterns(record: str) -> RecordPatterns:
    """The patterns for records whose element's local name is ``record``."""
    name = re.escape(record.encode("ascii"))
    prefix = rb"(?:[A-Za-z_][\w.\-]*:)?"
    return RecordPatterns(
        line_start=re.compile(rb"\n[ \t]*<" + prefix + name + rb"[\s>/]"),
        start=re.compile(rb"<" + prefix + name + rb"[\s>/]"),
        end=re.compile(rb"</" + prefix + name + rb"\s*>"),
        position=re.compile(r"(/" + re.escape(record) + r"\[)(\d+)\]"),
    )


_INSTALLATION_START: Final = record_patterns(RECORD_ELEMENT).line_start
_INSTALLATION_END: Final = record_patterns(RECORD_ELEMENT).end
_NEWLINE: Final = re.compile(rb"\n")
#: How many bytes the line counter reads at a time, into a buffer it keeps.
_COUNT_BYTES: Final = 1 << 20
#: The signals that stop a run: the process that made the workers handles them, and
#: the workers leave them to it (see :func:`worker_pool`).
STOP_SIGNALS: Final = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)
#: How long stopped workers have to end on SIGTERM before they are killed.
_STOP_GRACE_SECONDS: Final = 5.0


class FileChangedError(InputError):
    """The file changed (another process wrote to it or truncated it) while it was being validated."""

    def __init__(self, path: Path, size: int) -> None:
        super().__init__(f"{path}: changed while being read (it was {size:,} bytes when validation began)")


class Plan:
    """Where a file is split: the parts' byte ranges, and the lines they start on.

    The lines are counted as they are asked for, so that the first parts can be
    validated while the rest of the file is still being counted.
    """

    def __init__(self, path: Path, size: int, head_end: int, tail_start: int, starts: tuple[int, ...]) -> None:
        self.path = path
        self.size = size
        self.head_end = head_end
        self.tail_start = tail_start
        self.starts = starts
        self._counter = _LineCounter(path, size)
        self._lines: list[int] = []

    def line(self, index: int) -> int:
        """The line part ``index`` starts on; ``len(starts)`` asks for the tail's."""
        positions = (*self.starts, self.tail_start)
        while len(self._lines) <= index:
            self._lines.append(self._counter.line_at(positions[len(self._lines)]))
        return self._lines[index]

    @property
    def lines(self) -> tuple[int, ...]:
        """The line each part starts on."""
        return tuple(self.line(index) for index in range(len(self.starts)))

    @property
    def tail_line(self) -> int:
        """The line the file's tail (after the last installation) starts on."""
        return self.line(len(self.starts))

    def part(self, index: int, spill_folder: Path) -> Part:
        """The document worker ``index`` validates."""
        start = self.starts[index]
        last = index == len(self.starts) - 1
        end = self.size if last else self.starts[index + 1]
        ranges = ((0, end),) if index == 0 else ((0, self.head_end), (start, end))
        if not last:
            ranges = (*ranges, (self.tail_start, self.size))
        head_lines = self.line(0) - 1
        return Part(
            ranges=ranges,
            padding_lines=0 if index == 0 else self.line(index) - 1 - head_lines,
            spill_folder=spill_folder,
        )

    def owns(self, index: int, line: int | None) -> bool:
        """Whether a finding on ``line`` belongs to part ``index`` (head to the first, tail to the last)."""
        if line is None:
            return index == 0
        first = 1 if index == 0 else self.line(index)
        last = self.line(index + 1) - 1 if index + 1 < len(self.starts) else None
        return line >= first and (last is None or line <= last)

    def check_unchanged(self) -> None:
        """Raise :class:`FileChangedError` if the file is no longer the size it was planned at."""
        try:
            unchanged = self.path.stat().st_size == self.size
        except OSError:
            unchanged = False
        if not unchanged:
            raise FileChangedError(self.path, self.size)


def plan(
    path: Path, parts: int, part_bytes: int = DEFAULT_PART_BYTES, workers: int = 1, record: str = RECORD_ELEMENT
) -> Plan | None:
    """Split points for about ``parts`` parts of at least ``part_bytes``, or None for one pass.

    ``record`` is the local name of the dialect's record element (the installation).

    Where the file is too small for ``parts`` parts, it gets as many as it can hold that
    ``workers`` can share evenly: five parts on two workers left one idle for the last
    part's time (a fifth of the whole, on 100 MB).
    """
    size = path.stat().st_size
    parts = min(parts, size // max(part_bytes, 1))
    if parts > workers:
        parts -= parts % workers
    if parts < 2 or is_gzip(path):
        return None
    patterns = record_patterns(record)
    with path.open("rb", buffering=0) as stream:
        first = _search_forward(stream, 0, patterns.line_start)
        if first is None:
            return None
        head_end = first + 1
        last_end = _search_backward(stream, size, patterns.end)
        if last_end is None:
            return None
        newline = _search_forward(stream, last_end, _NEWLINE)
        tail_start = newline + 1 if newline is not None else size
        if _holds_record(stream, 0, head_end, patterns) or _holds_record(stream, tail_start, size, patterns):
            # Every part holds the head and the tail: an installation there (the first on
            # the container's line, one in the trailer) would be counted in each.
            return None
        targets = [head_end + (tail_start - head_end) * k // parts for k in range(1, parts)]
        starts = [head_end]
        for target in targets:
            found = _search_forward(stream, target, patterns.line_start)
            if found is None:
                continue
            split = found + 1
            if split > starts[-1] and split < tail_start:
                starts.append(split)
    if len(starts) < 2:
        return None
    return Plan(path, size, head_end, tail_start, tuple(starts))


def _holds_record(stream: FileIO, start: int, end: int, patterns: RecordPatterns) -> bool:
    """Whether the bytes from ``start`` to ``end`` hold an installation's start tag (or what looks like one)."""
    return patterns.start.search(os.pread(stream.fileno(), end - start, start)) is not None


def _windows() -> Iterator[int]:
    """The sizes of the windows a search reads: small first (a match is usually near), up to the limit."""
    window = _FIRST_WINDOW_BYTES
    while window < _SCAN_BYTES:
        yield window
        window *= 8
    yield _SCAN_BYTES


def _search_forward(stream: FileIO, position: int, pattern: re.Pattern[bytes]) -> int | None:
    """Where the first match of ``pattern`` at or after ``position`` starts, within the scan limit."""
    for window in _windows():
        data = os.pread(stream.fileno(), window, position)
        found = pattern.search(data)
        if found is not None:
            return position + found.start()
        if len(data) < window:
            return None
    return None


def _search_backward(stream: FileIO, end: int, pattern: re.Pattern[bytes]) -> int | None:
    """Where the last match of ``pattern`` before ``end`` ends, within the scan limit."""
    for window in _windows():
        start = max(0, end - window)
        matches = list(pattern.finditer(os.pread(stream.fileno(), end - start, start)))
        if matches:
            return start + matches[-1].end()
        if start == 0:
            return None
    return None


_COUNT_LINES: Final = line_feed_counter()


class _LineCounter:
    """Counts a file's lines up to ascending byte positions, reading each byte once.

    It runs beside the workers, on the cores they use: with mcfcheck's C module it counts
    many bytes at a time, about a fifth of the CPU time of counting in Python. It reads
    into a buffer of its own, never maps the file: a process that reads a mapped file
    which another process has just truncated is killed (SIGBUS). A file that ends before
    ``size`` (by default, its size when first read) has changed meanwhile.
    """

    def __init__(self, path: Path, size: int | None = None) -> None:
        self.path = path
        self.size = size
        self.offset = 0
        self.line = 1
        self._buffer: bytearray | None = None

    def line_at(self, position: int) -> int:
        """The line byte ``position`` is on (positions must not go backwards)."""
        if position <= self.offset:
            return self.line
        if self._buffer is None:
            self._buffer = bytearray(_COUNT_BYTES)
        buffer = self._buffer
        with self.path.open("rb", buffering=0) as stream, memoryview(buffer) as view:
            if self.size is None:
                self.size = os.fstat(stream.fileno()).st_size
            stream.seek(self.offset)
            while self.offset < position:
                read = stream.readinto(view[: position - self.offset])
                if not read:
                    if self.offset < self.size:
                        raise FileChangedError(self.path, self.size)
                    break
                self.line += _COUNT_LINES(view[:read]) if _COUNT_LINES is not None else buffer.count(b"\n", 0, read)
                self.offset += read
        return self.line


#: The most skeleton findings a part hands back: a part with more is broken in its
#: structure, and the file is validated in a single pass instead.
_MAX_SKELETON_FINDINGS: Final = 1000


@dataclass
class PartResult:
    """What a worker found in its part.

    ``findings`` are those of the installation step (with the header's rules), spooled;
    ``skeleton`` the schema findings of the part's document once its installations were
    released, with the line of the element holding its first installation in
    ``container_line``; ``single_pass`` asks for the file to be validated in a single
    pass (the skeleton found too much to hand back).
    """

    findings: SpooledFindings = field(default_factory=lambda: SpooledFindings(None))
    skeleton: list[Anchored] = field(default_factory=list)
    container_line: int | None = None
    single_pass: bool = False
    installations: int = 0
    schema_name: str | None = None
    cohort: str | None = None
    rules_not_run: str | None = None
    skipped_rules: tuple[str, ...] = ()
    states: PartState | None = None
    error: str | None = None


@dataclass(frozen=True)
class _Task:
    path: Path
    schema: Path | None
    settings: RuleSettings | None
    part: Part
    #: The rules to run, handed over (else the worker's own: see :func:`worker_pool`).
    registry: RuleRegistry | None = None
    #: Where the worker tells how far it has read: a file of :class:`_PartProgress`, and the part's slot.
    progress: tuple[Path, int] | None = None


@cache
def _worker_schema(path: Path, bindings: BindingSet | None) -> CompiledSchema:
    """A user's schema, with the record element of its binding."""
    return load_schema_for(path, bindings if bindings is not None else BindingSet.of())


#: The rules the process that made the pool had loaded: forked workers have them already.
_inherited_registry: RuleRegistry | None = None


@cache
def _worker_registry() -> RuleRegistry:
    return _inherited_registry if _inherited_registry is not None else load_registry()


def _validate_part(task: _Task) -> PartResult:
    """Run in a worker: validate one part and return its findings and states."""
    schema = (
        _worker_schema(task.schema, task.settings.bindings if task.settings else None)
        if task.schema is not None
        else None
    )
    registry = task.registry if task.registry is not None else _worker_registry()
    rules = (registry, task.settings) if task.settings is not None else None
    with _PartProgress.teller(task) as told:
        return _validated_part(task, FileCheck(task.path, schema, told, rules=rules, part=task.part))


def _validated_part(task: _Task, check: FileCheck) -> PartResult:
    """The result of validating ``task``'s part with ``check``."""
    result = PartResult()
    spool = FindingSpool(task.part.spill_folder)
    try:
        for phase, anchor, finding in check.tagged():
            if phase is Phase.INSTALLATIONS:
                spool.add(anchor, finding)
            elif len(result.skeleton) < _MAX_SKELETON_FINDINGS:
                result.skeleton.append((anchor, finding))
            else:
                result.single_pass = True
    except McfcheckError as error:
        result.error = str(error)
    result.findings = spool.export()
    result.container_line = check.container_line
    result.installations = check.installations
    result.schema_name = check.schema_name
    result.cohort = check.cohort
    result.rules_not_run = check.rules_not_run
    result.skipped_rules = check.skipped_rules
    result.states = check.states
    return result


class _PartProgress:
    """How far each part of a file has been read, told by the workers through a file of their own.

    Each part has a slot of two 8-byte integers (bytes read, installations checked) that
    its worker writes as it reads (:meth:`teller`, every chunk) and the process that
    waits for the parts reads (:meth:`read`): the file's bar then moves as the parts
    are read, not in steps as they end. A file in the parts' temporary folder, which the
    workers use already (a Dask cluster's included).
    """

    _SLOT: Final = struct.Struct("=qq")

    def __init__(self, folder: Path, parts: int) -> None:
        self.path = folder / "progress"
        self.path.write_bytes(bytes(self._SLOT.size * parts))
        self.parts = parts

    @classmethod
    @contextmanager
    def teller(cls, task: _Task) -> Iterator[Callable[[int, int], None] | None]:
        """Run in a worker: what tells the progress of ``task``'s part, if it is asked for."""
        if task.progress is None:
            yield None
            return
        path, slot = task.progress
        descriptor = os.open(path, os.O_WRONLY)
        offset = slot * cls._SLOT.size

        def tell(done: int, installations: int) -> None:
            os.pwrite(descriptor, cls._SLOT.pack(done, installations), offset)

        try:
            yield tell
        finally:
            os.close(descriptor)

    def read(self) -> list[tuple[int, int]]:
        """Each part's (bytes read, installations checked) so far."""
        data = self.path.read_bytes()
        return [self._SLOT.unpack_from(data, slot * self._SLOT.size) for slot in range(self.parts)]


#: How often, in seconds, the bar of a file read in parts is moved while its parts are read.
PROGRESS_SECONDS: Final = 0.5


class ParallelFileCheck:
    """Validation of one file by ``jobs`` worker processes, with a single pass's findings.

    The same interface as :class:`FileCheck`: iterate for the findings (yielded once
    every part is done), then read ``installations``, ``schema_name``, ``cohort``,
    ``rules_not_run`` and ``skipped_rules``.
    """

    def __init__(
        self,
        path: Path,
        executor: Callable[[], Executor],
        jobs: int,
        schema: Path | None = None,
        compiled: CompiledSchema | None = None,
        rules: tuple[RuleRegistry, RuleSettings] | None = None,
        part_bytes: int = DEFAULT_PART_BYTES,
        on_progress: Callable[[int, int], None] | None = None,
        max_decompressed: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
        ship_rules: bool = False,
    ) -> None:
        self.path = path
        self.max_decompressed = max_decompressed
        #: Whether the workers are handed the rules with each part (rules other than the
        #: installed ones: ``mcfcheck stats``' collector), rather than using their own.
        self.ship_rules = ship_rules
        self.executor = executor
        self.jobs = jobs
        self.schema = schema
        self.compiled = compiled
        self.rules = rules
        self.part_bytes = part_bytes
        self.on_progress = on_progress
        self.installations = 0
        self.schema_name: str | None = compiled.name if compiled is not None else None
        self.cohort: str | None = None
        self.rules_not_run: str | None = None
        self.skipped_rules: tuple[str, ...] = ()
        #: What the rules concluded over the whole file (:attr:`FileCheck.outcomes`), once it is read.
        self.outcomes: dict[str, object] = {}
        #: Whether the parts were used (False: the file was validated in a single pass).
        self.parallel = False
        #: The local name of the record element: the bundled schemas' unless the schema says.
        self._record = (
            etree.QName(compiled.record_tag).localname if compiled and compiled.record_tag else RECORD_ELEMENT
        )
        self._pool: Executor | None = None
        #: The bytes read and installations checked the bar was last moved to.
        self._told = (0, 0)

    def _workers(self) -> Executor:
        self._pool = self.executor()
        return self._pool

    def _single_pass(self) -> Iterator[Finding]:
        check = FileCheck(
            self.path, self.compiled, self.on_progress, self.rules, max_decompressed=self.max_decompressed
        )
        try:
            yield from check
        finally:
            self.installations = check.installations
            self.schema_name = check.schema_name
            self.cohort = check.cohort
            self.rules_not_run = check.rules_not_run
            self.skipped_rules = check.skipped_rules
            self.outcomes = check.outcomes

    def __iter__(self) -> Iterator[Finding]:
        try:
            layout = (
                plan(self.path, self.jobs * PARTS_PER_JOB, self.part_bytes, self.jobs, self._record)
                if self.jobs > 1
                else None
            )
        except OSError:
            layout = None
        if layout is None:
            yield from self._single_pass()
            return
        with _temporary_folder("mcfcheck-parts-") as folder:
            try:
                merged = self._run_parts(layout, folder)
            except McfcheckError:
                # The file's own problem: its parts are done or cancelled by now.
                raise
            except BaseException:
                # A signal, or a worker that died: the parts still running write into the
                # folder about to be removed, and the run is over.
                if self._pool is not None:
                    stop_workers(self._pool)
                raise
            if merged is None:
                yield from self._single_pass()
                return
            self.parallel = True
            yield from merged

    def _shifted(self, finding: Finding, offset: int) -> Finding:
        """A part's finding with its installation's position counted from the start of the file."""
        xpath = finding.location.xpath
        if not offset or xpath is None:
            return finding
        shifted = record_patterns(self._record).position.sub(
            lambda match: f"{match[1]}{int(match[2]) + offset}]", xpath, count=1
        )
        return dataclasses.replace(finding, location=dataclasses.replace(finding.location, xpath=shifted))

    def _run_parts(self, layout: Plan, folder: Path) -> Iterator[Finding] | None:
        """The merged findings, or None to fall back to a single pass."""
        settings = self.rules[1] if self.rules is not None else None
        registry = self.rules[0] if self.rules is not None and self.ship_rules else None
        results: list[PartResult] = []
        futures: list[Future[PartResult]] = []
        told = _PartProgress(folder, len(layout.starts)) if self.on_progress is not None else None
        try:
            # Each part is handed over as soon as the lines before it are counted.
            for index in range(len(layout.starts)):
                progress = (told.path, index) if told is not None else None
                task = _Task(self.path, self.schema, settings, layout.part(index, folder), registry, progress)
                futures.append(self._workers().submit(_validate_part, task))
        except (OSError, FileChangedError) as error:
            for pending in futures:
                pending.cancel()
            wait(futures)
            if isinstance(error, FileChangedError):
                raise
            return None
        for future in futures:
            if told is not None:
                while not wait([future], timeout=PROGRESS_SECONDS).done:
                    self._tell_progress(layout, results, told)
            result = future.result()
            index = len(results)
            if result.error is not None or result.single_pass:
                # A single pass decides what a broken file reports: libxml2 rejects a chunk
                # with a bad byte before parsing any of it, so which installations come
                # before the error depends on where the chunks begin. The other parts are
                # stopped or waited for, as they write into the folder about to be removed.
                for pending in futures:
                    pending.cancel()
                wait(futures)
                # Or the file was cut short, or written to, meanwhile.
                layout.check_unchanged()
                return None
            results.append(result)
            if told is not None:
                self._tell_progress(layout, results, told)
        skeleton = _skeleton_findings(layout, results)
        if skeleton is None:
            return None
        self.installations = sum(result.installations for result in results)
        self.schema_name = results[0].schema_name
        self.cohort = results[0].cohort
        # Every part reads the file's head: the first part's cohort and binding are every part's.
        self.rules_not_run = results[0].rules_not_run
        self.skipped_rules = results[0].skipped_rules
        states = [result.states for result in results if result.states is not None]
        for result in results:
            result.states = None
        return itertools.chain(
            in_file_order(skeleton, self._installation_findings(layout, results)), self._finish(layout, states)
        )

    def _tell_progress(self, layout: Plan, results: list[PartResult], told: _PartProgress) -> None:
        """Move the file's bar to what the parts have read so far: the parts done whole, the others
        as far as their workers have told (each at most its own size).
        """
        assert self.on_progress is not None
        ends = [*layout.starts[1:], layout.size]
        if len(results) == len(ends):
            self.on_progress(layout.size, sum(result.installations for result in results))
            return
        done = layout.starts[len(results)] if results else 0
        installations = sum(result.installations for result in results)
        for index, (read, checked) in enumerate(told.read()[len(results) :], len(results)):
            done += min(read, ends[index] - layout.starts[index])
            installations += checked
        # What a worker told may lag what an earlier one's end says: the bar never goes back.
        self._told = (max(done, self._told[0]), max(installations, self._told[1]))
        self.on_progress(*self._told)

    def _finish(self, layout: Plan, states: list[PartState]) -> Iterator[Finding]:
        """The trailer's rules and the checks across installations, over the parts' merged states.

        They run on the document of the file's head and tail, which every part has read
        already: the file is not broken there, unless it changed meanwhile (then that is
        the file's error). Their findings stream: as many duplicates as identifiers.
        """
        if self.rules is None or not self.rules[1].run_rules:
            return
        finishing = Part(
            ranges=((0, layout.head_end), (layout.tail_start, layout.size)),
            padding_lines=layout.tail_line - layout.lines[0],
            finish=True,
            merge_states=states,
        )
        check = FileCheck(self.path, self.compiled, rules=self.rules, part=finishing)
        for phase, _anchor, finding in check.tagged():
            if phase is Phase.FINISH:
                yield finding
        self.outcomes = check.outcomes

    def _installation_findings(self, layout: Plan, results: list[PartResult]) -> Iterator[Anchored]:
        """The parts' installation findings, each part's own, in file order, positioned in the file."""
        offset = 0
        for index, result in enumerate(results):
            for anchor, finding in result.findings:
                # Anchor 0: a finding with no line (about a header that is not there): the first part's.
                if layout.owns(index, anchor or None):
                    yield anchor, self._shifted(finding, offset)
            offset += result.installations


def _skeleton_findings(layout: Plan, results: list[PartResult]) -> list[Anchored] | None:
    """The skeleton findings of the whole file, from its parts'; None where the parts cannot tell.

    Each part's document is the file's head and tail around the part's installations. A
    finding before the element that holds the installations is about the head: every
    part must make the same ones (else something in a part, such as a second container,
    decided it). A finding after the last installation is about the tail, and the last
    part's lines there are the file's. A finding in between is about what lies among
    the installations, where the skeleton's verdict depends on all of it at once
    (libxml2 reports character content at the container's start tag, and stops at the
    first element it did not expect): the file is then validated in a single pass.
    """
    container = results[0].container_line
    if container is None or any(result.container_line != container for result in results):
        return None
    head = [item for item in results[0].skeleton if item[0] < container]
    skeleton = list(head)
    last = len(results) - 1
    for index, result in enumerate(results):
        part_end = layout.tail_line if index == last else layout.line(index + 1)
        if [item for item in result.skeleton if item[0] < container] != head:
            return None
        if any(container <= anchor < part_end for anchor, _finding in result.skeleton):
            return None
        if index == last:
            skeleton += [item for item in result.skeleton if item[0] >= part_end]
    return skeleton


@dataclass(frozen=True)
class _WholeFile:
    path: Path
    schema: Path | None
    settings: RuleSettings | None
    max_decompressed: int
    #: The rules to run, handed over (else the worker's own: see :func:`worker_pool`).
    registry: RuleRegistry | None = None

    def __reduce__(self) -> tuple[Callable[..., _WholeFile], tuple[object, ...]]:
        # The settings go with every file, the same for the whole run: pickled once here,
        # unpickled once by each worker (that took longer than checking a small file's installations).
        settings = _settings_sent(self.settings) if self.settings is not None else None
        return _whole_file, (self.path, self.schema, settings, self.max_decompressed, self.registry)


def _whole_file(
    path: Path,
    schema: Path | None,
    settings: tuple[bytes, bytes] | None,
    max_decompressed: int,
    registry: RuleRegistry | None,
) -> _WholeFile:
    return _WholeFile(
        path, schema, _settings_received(settings) if settings is not None else None, max_decompressed, registry
    )


#: How many runs' settings a process keeps pickled (as sent) or unpickled (as received).
_SETTINGS_KEPT: Final = 4
#: The settings this process sent, by their identity: each with its token and its pickle.
_sent: dict[int, tuple[RuleSettings, bytes, bytes]] = {}
#: The settings this process received, by the sender's token.
_received: dict[bytes, RuleSettings] = {}


def _settings_sent(settings: RuleSettings) -> tuple[bytes, bytes]:
    """A token for ``settings`` (unique to them, whichever process sends them) and their pickle, made once."""
    sent = _sent.get(id(settings))
    if sent is None or sent[0] is not settings:
        if len(_sent) >= _SETTINGS_KEPT:
            _sent.pop(next(iter(_sent)), None)
        sent = _sent[id(settings)] = (settings, os.urandom(16), pickle.dumps(settings, pickle.HIGHEST_PROTOCOL))
    return sent[1], sent[2]


def _settings_received(sent: tuple[bytes, bytes]) -> RuleSettings:
    """The settings a token stands for: unpickled the first time it is received."""
    token, pickled = sent
    settings = _received.get(token)
    if settings is None:
        if len(_received) >= _SETTINGS_KEPT:
            _received.pop(next(iter(_received)), None)
        received = pickle.loads(pickled)  # noqa: S301 - sent by the process that made this worker
        assert isinstance(received, RuleSettings)
        settings = _received[token] = received
    return settings


@dataclass(frozen=True)
class WholeFileResult:
    """A whole file validated by a worker: its report (counts, no findings) and its findings, spooled."""

    report: FileReport
    findings: SpooledFindings


def _validate_whole_file(task: _WholeFile) -> WholeFileResult:
    """Run in a worker: validate a whole file in one pass, its findings spooled in its temporary folder.

    That is the pool's (see :func:`worker_pool`), which outlives the results; the parent
    removes the spool once it has read it.
    """
    schema = (
        _worker_schema(task.schema, task.settings.bindings if task.settings else None)
        if task.schema is not None
        else None
    )
    registry = task.registry if task.registry is not None else _worker_registry()
    rules = (registry, task.settings) if task.settings is not None else None
    check = FileCheck(task.path, schema, rules=rules, max_decompressed=task.max_decompressed)
    spool = FindingSpool(Path(tempfile.gettempdir()))
    error: str | None = None
    try:
        for finding in check:
            spool.add(0, finding)
    except McfcheckError as problem:
        error = str(problem)
    report = FileReport(
        str(task.path),
        check.schema_name,
        check.installations,
        (),
        error,
        check.cohort,
        check.rules_not_run,
        check.skipped_rules,
        dict(check.outcomes),
    )
    return WholeFileResult(report, spool.export())


def submit_whole_file(
    executor: Executor,
    path: Path,
    schema: Path | None,
    settings: RuleSettings | None,
    max_decompressed: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    registry: RuleRegistry | None = None,
) -> Future[WholeFileResult]:
    """Validate a file in one pass in a worker, while the parent goes on; with ``registry``, its rules."""
    return executor.submit(_validate_whole_file, _WholeFile(path, schema, settings, max_decompressed, registry))


def splits(path: Path, part_bytes: int = DEFAULT_PART_BYTES) -> bool:
    """Whether a file is large enough to be validated in parts."""
    try:
        return path.stat().st_size >= 2 * part_bytes and not is_gzip(path)
    except OSError:
        return False


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _ready() -> None:
    """A task that does nothing: handed to each worker as the pool is made, to start them all."""


#: prctl's option that has the kernel signal a process when its parent ends (Linux).
_PR_SET_PDEATHSIG: Final = 1


def _start_worker(creator: int, forked: bool, folder: str) -> None:
    """Run in each worker as it starts: signals are the parent's to handle, and it dies with its parent.

    Ctrl-C and a terminal's hang-up reach the whole process group: the workers ignore
    them, and the process that made them decides (it stops them). SIGTERM ends a worker.
    On Linux the kernel kills a worker whose parent ends, even by SIGKILL: the process
    that made the pool, or the process server that started the worker (which ends with it).
    Its temporary files go in ``folder``, which the pool removes: a worker ended by a
    signal cannot.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform == "linux":
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), ctypes.c_ulong(0), ctypes.c_ulong(0))
        # The parent may have ended before the line above: then no signal will come.
        if (os.getppid() != creator) if forked else not _running(creator):
            os._exit(1)
    # A forked worker starts with the signals held that its parent held while forking it.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    tempfile.tempdir = folder
    tune_process()


def _running(pid: int) -> bool:
    """Whether process ``pid`` (one of this user's) still runs."""
    try:
        os.kill(pid, 0)
    except OSError:
        # None by that number, or another user's by now.
        return False
    return True


def worker_pool(jobs: int, registry: RuleRegistry | None = None) -> ProcessPoolExecutor:
    """A pool of ``jobs`` worker processes, started without copying the parent's threads.

    While this process runs no other thread (and on Linux, where forking such a process
    is safe), the workers are forked from it at once, with all it has imported: they are
    ready in milliseconds. Otherwise a fresh process server starts them, and each imports
    mcfcheck anew (about half a second). The workers tune their allocator for
    validation (:func:`mcfcheck.native.tune_process`), leave the signals that stop a run
    to this process, end with it, and keep their temporary files in a folder the pool
    removes when it is shut down (see :func:`_start_worker`). Forked workers use
    ``registry``, the rules this process has loaded (with what the rule packs import),
    instead of loading them again.
    """
    forked = sys.platform == "linux" and threading.active_count() == 1
    if forked:
        global _inherited_registry
        _inherited_registry = registry
    pool: ProcessPoolExecutor | None = None
    try:
        # The signals that stop a run wait meanwhile: a forked worker has this process's
        # handlers until it sets its own, and the pool's threads, started here, keep them
        # held (so that they reach this process's main thread, which handles them).
        with signals_held():
            pool = _worker_pool_class()(jobs, forked)
            if forked:
                # The first task forks every worker, before the pool starts its own threads.
                pool.submit(_ready)
    except BaseException:
        if pool is not None:
            stop_workers(pool)
            pool.shutdown()
        raise
    return pool


@cache
def _worker_pool_class() -> Callable[[int, bool], ProcessPoolExecutor]:
    """The class of the pools :func:`worker_pool` makes (defined once a pool is made)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    class _WorkerPool(ProcessPoolExecutor):
        """The pool :func:`worker_pool` makes, with a folder for its workers' temporary files."""

        def __init__(self, jobs: int, forked: bool) -> None:
            self.folder = Path(tempfile.mkdtemp(prefix="mcfcheck-workers-"))
            context = multiprocessing.get_context("fork" if forked else "forkserver")
            try:
                super().__init__(jobs, context, _start_worker, (os.getpid(), forked, str(self.folder)))
            except BaseException:
                self.folder.rmdir()
                raise

        def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
            try:
                super().shutdown(wait, cancel_futures=cancel_futures)
            finally:
                if wait:
                    # A worker ended by a signal leaves what it was writing (a schema being
                    # compiled); a signal during the shutdown must not leave the folder either.
                    with signals_held():
                        shutil.rmtree(self.folder, ignore_errors=True)

    return _WorkerPool


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold the signals that stop a run for the block's duration: they are handled after it.

    Threads started meanwhile keep them held for good.
    """
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


@contextmanager
def _temporary_folder(prefix: str) -> Iterator[Path]:
    """A temporary folder, made and removed with the signals that stop a run held: none is left by one."""
    folder: str | None = None
    try:
        with signals_held():
            folder = tempfile.mkdtemp(prefix=prefix)
        yield Path(folder)
    finally:
        if folder is not None:
            with signals_held():
                shutil.rmtree(folder, ignore_errors=True)


def _processes(pool: Executor) -> list[BaseProcess]:
    """The pool's worker processes (none once it is shut down, or for workers that are not its processes)."""
    # The executor has no public list of its processes (Python 3.14 adds terminate_workers).
    processes: dict[int, BaseProcess] | None = getattr(pool, "_processes", None)
    return list(processes.values()) if processes else []


def stop_workers(pool: Executor) -> None:
    """End the pool's worker processes now, abandoning their tasks, and wait until they are gone.

    The pool is broken then (its futures fail with ``BrokenProcessPool``): shut it down.
    """
    processes = _processes(pool)
    for process in processes:
        process.terminate()
    running = _wait_for_exits(processes, _STOP_GRACE_SECONDS)
    for process in running:
        process.kill()
    _wait_for_exits(running, None)


def _wait_for_exits(processes: list[BaseProcess], timeout: float | None) -> list[BaseProcess]:
    """Wait until ``processes`` have ended, at most ``timeout`` seconds; those still running."""
    from multiprocessing.connection import wait as wait_for_exits

    deadline = None if timeout is None else time.monotonic() + timeout
    running = {process.sentinel: process for process in processes}
    while running:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        ended = wait_for_exits(list(running), left)
        if not ended:
            break
        running = {sentinel: process for sentinel, process in running.items() if sentinel not in ended}
    return list(running.values())


def lost_worker(pool: ProcessPoolExecutor) -> str:
    """How the worker whose end broke ``pool`` ended, in words; the others are stopped and the pool shut down."""
    processes = _processes(pool)
    stop_workers(pool)
    # Shutting the pool down joins its thread, which waits for every worker: their exit
    # codes are known then.
    pool.shutdown()
    codes = [process.exitcode for process in processes if process.exitcode is not None]
    # The pool and stop_workers end the others with SIGTERM: any other code broke the pool.
    code = next((code for code in codes if code != -signal.SIGTERM), codes[0] if codes else None)
    if code is None:
        return "a worker process ended unexpectedly"
    if code > 0:
        return f"a worker process exited (status {code})"
    try:
        name = f", {signal.Signals(-code).name}"
    except ValueError:
        name = ""
    return f"a worker process died (signal {-code}{name})"


def needs_workers(paths: Sequence[Path], jobs: int, part_bytes: int = DEFAULT_PART_BYTES, split: bool = True) -> bool:
    """Whether validating ``paths`` with ``jobs`` uses worker processes: several files, or one in parts."""
    return jobs > 1 and (len(paths) > 1 or (split and any(splits(path, part_bytes) for path in paths)))
