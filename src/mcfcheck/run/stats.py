"""Counting what files hold (``mcfcheck stats``) on the streaming engine that validates them.

Each file is read as ``validate`` reads it (one streaming parse, gzip, the guards
against hostile input, large files in parts on every core, small files several at once
in the workers), with the rule engine running one "rule" alone: the statistics collector
(:class:`mcfcheck.rules.statistics.StatisticsCollector`). The schema still says where
installations stand, but installations are not validated against it: ``stats`` counts
what the binding reads, and leaves the verdict to ``validate``.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from mcfcheck.check.file import FileCheck, load_schema_for
from mcfcheck.errors import InternalError, McfcheckError
from mcfcheck.findings import Finding
from mcfcheck.input.xml import DEFAULT_MAX_DECOMPRESSED_BYTES
from mcfcheck.rules.base import Rule
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.registry import RuleRegistry
from mcfcheck.rules.statistics import (
    DEFAULT_MAX_VALUES,
    STATISTICS_CODE,
    FileStatistics,
    StatisticsCollector,
    statistics_selection,
)
from mcfcheck.run.batch import WHOLE_FILES_AHEAD, pool_guarded
from mcfcheck.run.parts import (
    BATCH_PART_BYTES,
    DEFAULT_PART_BYTES,
    ParallelFileCheck,
    splits,
    worker_pool,
)
from mcfcheck.schema.loading import CompiledSchema


@dataclass(frozen=True)
class FileCount:
    """One file's statistics, or the error that stopped its reading."""

    path: str
    statistics: FileStatistics | None
    error: str | None = None
    #: The schema that placed its installations.
    schema: str | None = None
    #: What the other collectors run with the statistics concluded, by code (``convert``'s rows).
    outcomes: Mapping[str, object] = field(default_factory=dict)


def statistics_registry(*others: type[Rule]) -> RuleRegistry:
    """The registry ``stats`` runs: the collector alone, or with ``others`` (``convert``'s)."""
    rules: dict[str, type[Rule]] = {STATISTICS_CODE: StatisticsCollector}
    rules.update((other.code, other) for other in others)
    return RuleRegistry(rules=rules, plugins=dict.fromkeys(rules, "mcfcheck"))


def statistics_settings(settings: RuleSettings, max_values: int = DEFAULT_MAX_VALUES) -> RuleSettings:
    """``settings`` (their bindings and cohorts) made to run the collector alone, without the schema's check."""
    return dataclasses.replace(
        settings,
        selection=statistics_selection(),
        options={STATISTICS_CODE: {"max_values": max_values}},
        check_schema=False,
        run_rules=True,
    )


def statistics_pool(jobs: int, registry: RuleRegistry | None = None) -> ProcessPoolExecutor:
    """Worker processes that have the collectors (forked with them, where they can be)."""
    return worker_pool(jobs, registry or statistics_registry())


def _no_statistics(path: Path, reason: str | None) -> str:
    """Why a file read without error gave no statistics (its dialect has no binding), in one line."""
    why = reason or "no binding reads its installations"
    prefix, suffix = "schema only: no rules ran (", ")"
    if why.startswith(prefix) and why.endswith(suffix):
        why = why[len(prefix) : -len(suffix)]
    return f"{path}: no statistics: {why}"


def _count_file(
    path: Path,
    compiled: CompiledSchema | None,
    rules: tuple[RuleRegistry, RuleSettings],
    max_decompressed: int,
    on_progress: Callable[[int, int], None] | None = None,
    executor: Callable[[], ProcessPoolExecutor] | None = None,
    jobs: int = 1,
    schema: Path | None = None,
    part_bytes: int = DEFAULT_PART_BYTES,
    on_finding: Callable[[Finding], None] | None = None,
) -> FileCount:
    """Count one file: in parts with ``executor``'s workers where it is large enough, else in this process."""
    check: FileCheck | ParallelFileCheck
    if executor is not None and jobs > 1:
        check = ParallelFileCheck(
            path, executor, jobs, schema, compiled, rules, part_bytes, on_progress, max_decompressed, ship_rules=True
        )
    else:
        check = FileCheck(path, compiled, on_progress, rules, max_decompressed=max_decompressed)
    try:
        for finding in check:
            # The collectors report nothing: findings come from rules and the schema, where asked for.
            if on_finding is not None:
                on_finding(finding)
    except McfcheckError as error:
        return FileCount(str(path), None, str(error), check.schema_name)
    except (BrokenProcessPool, OSError):
        raise
    except Exception as error:
        raise InternalError(str(path), error) from error
    found = check.outcomes.get(STATISTICS_CODE)
    others = {code: outcome for code, outcome in check.outcomes.items() if code != STATISTICS_CODE}
    if isinstance(found, FileStatistics) or others:
        # Other collectors alone (``extract``'s) give no statistics.
        statistics = found if isinstance(found, FileStatistics) else None
        return FileCount(str(path), statistics, None, check.schema_name, others)
    return FileCount(str(path), None, _no_statistics(path, check.rules_not_run), check.schema_name)


@dataclass(frozen=True)
class _WholeFile:
    path: Path
    schema: Path | None
    settings: RuleSettings
    max_decompressed: int
    registry: RuleRegistry


def _count_whole_file(task: _WholeFile) -> FileCount:
    """Run in a worker: count a whole small file in one pass."""
    compiled = load_schema_for(task.schema, task.settings.bindings) if task.schema is not None else None
    return _count_file(task.path, compiled, (task.registry, task.settings), task.max_decompressed)


@dataclass
class Reading:
    """How files are read: their schema, the workers and their pool, progress, the guards, part sizes."""

    schema: Path | None = None
    jobs: int = 1
    pool: ProcessPoolExecutor | None = None
    progress: Callable[[Path], Callable[[int, int], None] | None] | None = None
    max_decompressed: int = DEFAULT_MAX_DECOMPRESSED_BYTES
    part_bytes: int = DEFAULT_PART_BYTES
    batch_part_bytes: int = BATCH_PART_BYTES
    #: Told each finding, where the settings run rules or the schema's check (``convert --with-findings``).
    on_finding: Callable[[Finding], None] | None = None

    def files(self, paths: Sequence[Path], settings: RuleSettings, registry: RuleRegistry) -> Iterator[FileCount]:
        """:func:`count_files` read so."""
        return count_files(
            paths,
            settings,
            self.schema,
            self.jobs,
            self.pool,
            self.progress,
            self.max_decompressed,
            self.part_bytes,
            self.batch_part_bytes,
            registry,
            self.on_finding,
        )


def count_files(
    paths: Sequence[Path],
    settings: RuleSettings,
    schema: Path | None = None,
    jobs: int = 1,
    pool: ProcessPoolExecutor | None = None,
    progress: Callable[[Path], Callable[[int, int], None] | None] | None = None,
    max_decompressed: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    part_bytes: int = DEFAULT_PART_BYTES,
    batch_part_bytes: int = BATCH_PART_BYTES,
    registry: RuleRegistry | None = None,
    on_finding: Callable[[Finding], None] | None = None,
) -> Iterator[FileCount]:
    """Each file's statistics, in the order given, with ``settings`` (from :func:`statistics_settings`).

    With ``jobs`` above 1, a large file is read in parts by that many workers, and, of
    several files, the small ones are read whole by the workers, several at once. A
    schema that cannot be loaded raises :class:`mcfcheck.errors.SchemaError` before any
    file is read. ``pool`` is shut down at the end, as one made here is. ``registry`` runs
    other collectors beside the statistics (see :func:`statistics_registry`), and rules
    too; ``on_finding`` is told their findings, and the schema's, in file order (each
    file is then read in this process or in parts, never whole by a worker).
    """
    compiled = load_schema_for(schema, settings.bindings) if schema is not None else None
    registry = registry or statistics_registry()
    rules = (registry, settings)

    def executor() -> ProcessPoolExecutor:
        nonlocal pool
        if pool is None:
            pool = statistics_pool(jobs, registry)
        return pool

    whole: deque[int] = deque()
    if jobs > 1 and len(paths) > 1 and on_finding is None:
        whole.extend(index for index, path in enumerate(paths) if not splits(path, max(part_bytes, batch_part_bytes)))
    ahead: dict[int, Future[FileCount]] = {}
    path = paths[0] if paths else Path()
    with pool_guarded(lambda: pool, lambda: f"counting {path}"):
        for index, path in enumerate(paths):
            while whole and len(ahead) < WHOLE_FILES_AHEAD * jobs:
                submitted = whole.popleft()
                task = _WholeFile(paths[submitted], schema, settings, max_decompressed, registry)
                ahead[submitted] = executor().submit(_count_whole_file, task)
            if index in ahead:
                yield ahead.pop(index).result()
                continue
            on_progress = progress(path) if progress is not None else None
            yield _count_file(
                path,
                compiled,
                rules,
                max_decompressed,
                on_progress,
                executor if jobs > 1 else None,
                jobs,
                schema,
                part_bytes,
                on_finding,
            )
