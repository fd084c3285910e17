"""Validating many files in turn and deciding the exit status."""

from __future__ import annotations

import enum
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Final, Protocol

from mcfcheck.check.file import FileCheck, load_schema_for
from mcfcheck.errors import InputError, InternalError, McfcheckError, SchemaError
from mcfcheck.findings import FileReport, Finding, Severity
from mcfcheck.input.xml import DEFAULT_MAX_DECOMPRESSED_BYTES
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.registry import RuleRegistry
from mcfcheck.run.parts import (
    BATCH_PART_BYTES,
    DEFAULT_PART_BYTES,
    STOP_SIGNALS,
    ParallelFileCheck,
    WholeFileResult,
    lost_worker,
    splits,
    stop_workers,
    submit_whole_file,
    worker_pool,
)
from mcfcheck.schema.binding import BindingSet
from mcfcheck.schema.loading import CompiledSchema

#: How many files per worker are handed to the workers ahead of the file being reported.
WHOLE_FILES_AHEAD: Final = 2


class ExitStatus(enum.IntEnum):
    """What mcfcheck's exit status means."""

    VALID = 0
    FINDINGS = 1
    UNUSABLE = 2
    #: A fault of mcfcheck's own (a bug, a worker process that died): never a verdict.
    INTERNAL = 3
    #: Ended by a signal: 128 plus its number, as shells report it.
    HANGUP = 129
    INTERRUPTED = 130
    TERMINATED = 143


class StoppedError(BaseException):
    """The run ends before its verdict: ``status`` says why, the message says it in one line.

    Raised by a signal (see :func:`stop_on_signals`) or when a worker process dies. Not
    an ``Exception``, like ``KeyboardInterrupt``: nothing on the way may take it for a
    problem with one file, and every cleanup on the way runs.
    """

    def __init__(self, message: str, status: ExitStatus) -> None:
        super().__init__(message)
        self.status = status


_SignalHandler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


def stop_on_signals() -> dict[int, _SignalHandler]:
    """Make SIGHUP, SIGINT and SIGTERM raise :class:`StoppedError` here; the handlers they had.

    The run then unwinds as from an error: workers stopped, temporary folders and
    unfinished reports removed. Signals after the first are ignored while it does.
    Only the main thread can handle signals: elsewhere this changes nothing. It changes
    the whole process, so the library API never calls it; :func:`restore_signals` undoes it.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    stopping = False

    def stop(number: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        name = signal.Signals(number).name
        raise StoppedError(f"stopped by {name}", ExitStatus(128 + number))

    return {number: signal.signal(number, stop) for number in STOP_SIGNALS}


def restore_signals(handlers: dict[int, _SignalHandler]) -> None:
    """Give the signals back the handlers :func:`stop_on_signals` replaced."""
    for number, handler in handlers.items():
        signal.signal(number, handler)


class ReportSink(Protocol):
    """What a batch tells as it goes: the lifecycle every reporter implements."""

    def start(self) -> None: ...
    def file_started(self, path: str) -> None: ...
    def finding(self, finding: Finding) -> None: ...
    def file_finished(self, report: FileReport) -> None: ...
    def finish(self) -> None: ...


#: Per file, a callback told the bytes read and the installations checked so far.
ProgressFactory = Callable[[Path], Callable[[int, int], None] | None]


def validate_files(
    paths: Iterable[Path],
    sink: ReportSink,
    schema: Path | None = None,
    progress: ProgressFactory | None = None,
    rules: tuple[RuleRegistry, RuleSettings] | None = None,
    jobs: int = 1,
    part_bytes: int = DEFAULT_PART_BYTES,
    max_decompressed: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    fail_on: Severity = Severity.ERROR,
    pool: Executor | None = None,
    batch_part_bytes: int = BATCH_PART_BYTES,
    split: bool = True,
    cluster: bool = False,
) -> ExitStatus:
    """Validate each file, streaming findings to ``sink``; the worst outcome decides the status.

    With ``rules``, the selected rules of each file's cohort run in the same pass, and
    the selection applies to schema findings' codes too. With ``jobs`` above 1, a file
    of at least two ``part_bytes`` is validated in parts by that many worker processes;
    in a batch of several files, files smaller than two ``batch_part_bytes`` are
    validated whole by the workers, several at once, and larger ones in parts;
    the findings and their order are those of single passes. A schema that cannot be
    loaded stops the batch before any file is read. ``pool`` is a pool of workers already
    started (see :func:`mcfcheck.run.parts.worker_pool`), used instead of starting one; it
    is shut down at the end either way. Without ``split``, no file is validated in parts
    (a selected rule cannot merge what it gathers across parts: see
    :meth:`mcfcheck.rules.Rule.merges_parts`); workers still validate several files at once.
    With ``cluster``, ``pool`` is a cluster's workers (:mod:`mcfcheck.run.cluster`), running
    ``jobs`` tasks at once: every file goes to them, whole or in parts, with the rules to run.
    """
    compiled: CompiledSchema | None = None
    sink.start()
    status = ExitStatus.VALID
    try:
        bindings = rules[1].bindings if rules is not None else BindingSet.of()
        compiled = load_schema_for(schema, bindings) if schema is not None else None
    except SchemaError as error:
        sink.file_started(str(schema))
        sink.file_finished(FileReport(str(schema), None, 0, (), str(error)))
        sink.finish()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        return ExitStatus.UNUSABLE
    files = list(paths)

    def executor() -> Executor:
        nonlocal pool
        if pool is None:
            pool = worker_pool(jobs)
        return pool

    settings = rules[1] if rules is not None else None
    # The files validated whole by the workers, submitted a few ahead of the one reported:
    # each result waits in this process until its turn (with up to a spool's batch of
    # findings), so no more wait than keep the workers busy.
    whole: deque[int] = deque()
    if cluster or (jobs > 1 and len(files) > 1):
        smallest = max(part_bytes, batch_part_bytes) if len(files) > 1 else part_bytes
        whole.extend(index for index, path in enumerate(files) if jobs < 2 or not split or not splits(path, smallest))
    registry = rules[0] if rules is not None and cluster else None
    ahead: dict[int, Future[WholeFileResult]] = {}
    path = files[0] if files else Path()
    # The pool may be made on the way (executor()): the guard asks for it at the end.
    with pool_guarded(lambda: pool, lambda: f"validating {path}"):
        for index, path in enumerate(files):
            while whole and len(ahead) < WHOLE_FILES_AHEAD * jobs:
                submitted = whole.popleft()
                ahead[submitted] = submit_whole_file(
                    executor(), files[submitted], schema, settings, max_decompressed, registry
                )
            sink.file_started(str(path))
            on_progress = progress(path) if progress is not None else None
            check: Iterable[Finding]
            if index in ahead:
                check = _WorkerResult(ahead.pop(index), on_progress)
            elif jobs > 1 and split:
                check = ParallelFileCheck(
                    path,
                    executor,
                    jobs,
                    schema,
                    compiled,
                    rules,
                    part_bytes,
                    on_progress,
                    max_decompressed,
                    ship_rules=cluster,
                )
            else:
                check = FileCheck(path, compiled, on_progress, rules, max_decompressed=max_decompressed)
            status = max(status, report_file(check, path, sink, fail_on))
    sink.finish()
    return status


@contextmanager
def pool_guarded(pool: Callable[[], Executor | None], doing: Callable[[], str]) -> Iterator[None]:
    """Work on the workers of the pool that ``pool()`` gives at the end (None: none was made), shut down after it.

    A worker that died (killed, or out of memory) stops the run: neither the pool nor
    the run can go on, and the error says what was being done (``doing()``, e.g.
    "validating FILE"). A signal or a fault abandons the workers' tasks rather than
    waiting for them.
    """
    try:
        yield
    except BrokenExecutor:
        # A process pool's (one was made, so its module is loaded by now).
        from concurrent.futures import ProcessPoolExecutor

        broken = pool()
        assert isinstance(broken, ProcessPoolExecutor)
        raise StoppedError(f"internal error: {lost_worker(broken)} while {doing()}", ExitStatus.INTERNAL) from None
    except BaseException:
        stopped = pool()
        if stopped is not None:
            stop_workers(stopped)
        raise
    finally:
        made = pool()
        if made is not None:
            made.shutdown(cancel_futures=True)


def report_file(
    check: Iterable[Finding], path: Path, sink: ReportSink, fail_on: Severity = Severity.ERROR
) -> ExitStatus:
    """Tell ``sink`` the findings of one file's ``check``, then the file's report; the file's outcome.

    The check's error (a :class:`McfcheckError`) ends the file, whose report then says
    it; what the report counts, the check tells in its attributes (``installations``,
    ``schema_name``, ``cohort``, ``rules_not_run``, ``skipped_rules``), where it has them.
    """
    errors = 0
    problem: str | None = None
    try:
        for finding in _faults_named(check, path):
            sink.finding(finding)
            errors += finding.severity is Severity.ERROR or fail_on is Severity.WARNING
    except McfcheckError as error:
        problem = str(error)
    installations, schema_name = getattr(check, "installations", 0), getattr(check, "schema_name", None)
    cohort, rules_not_run = getattr(check, "cohort", None), getattr(check, "rules_not_run", None)
    skipped: tuple[str, ...] = getattr(check, "skipped_rules", ())
    outcomes = dict(getattr(check, "outcomes", {}))
    sink.file_finished(
        FileReport(str(path), schema_name, installations, (), problem, cohort, rules_not_run, skipped, outcomes)
    )
    return ExitStatus.UNUSABLE if problem else ExitStatus.FINDINGS if errors else ExitStatus.VALID


def _faults_named(check: Iterable[Finding], path: Path) -> Iterator[Finding]:
    """The check's findings; a fault of the check's own (a bug, in mcfcheck or a rule pack) is
    an :class:`InternalError` naming the file, never taken for findings or for the file's error.
    """
    try:
        yield from check
    except (McfcheckError, BrokenExecutor, OSError):
        raise
    except Exception as error:
        raise InternalError(str(path), error) from error


class Tee:
    """A sink that hands every step of the lifecycle to several reporters."""

    def __init__(self, sinks: Sequence[ReportSink]) -> None:
        self.sinks = sinks

    def start(self) -> None:
        for sink in self.sinks:
            sink.start()

    def file_started(self, path: str) -> None:
        for sink in self.sinks:
            sink.file_started(path)

    def finding(self, finding: Finding) -> None:
        for sink in self.sinks:
            sink.finding(finding)

    def file_finished(self, report: FileReport) -> None:
        for sink in self.sinks:
            sink.file_finished(report)

    def finish(self) -> None:
        for sink in self.sinks:
            sink.finish()


class _WorkerResult:
    """A whole file validated by a worker, read like a :class:`FileCheck`; ``on_progress`` told once it is done."""

    def __init__(self, future: Future[WholeFileResult], on_progress: Callable[[int, int], None] | None = None) -> None:
        self.future = future
        self.on_progress = on_progress
        self.installations = 0
        self.schema_name: str | None = None
        self.cohort: str | None = None
        self.rules_not_run: str | None = None
        self.skipped_rules: tuple[str, ...] = ()
        self.outcomes: Mapping[str, object] = {}

    def __iter__(self) -> Iterator[Finding]:
        result = self.future.result()
        report = result.report
        self.installations = report.installations
        self.schema_name = report.schema
        self.cohort = report.cohort
        self.rules_not_run = report.rules_not_run
        self.skipped_rules = report.skipped_rules
        self.outcomes = report.outcomes
        if self.on_progress is not None:
            try:
                size = Path(report.path).stat().st_size
            except OSError:
                size = 0
            self.on_progress(size, report.installations)
        try:
            for _anchor, finding in result.findings:
                yield finding
        finally:
            if result.findings.path is not None:
                result.findings.path.unlink(missing_ok=True)
        if report.error is not None:
            raise InputError(report.error)
