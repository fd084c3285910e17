"""Validating many files in turn and deciding the exit status."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from mcfcheck.errors import McfcheckError, SchemaError
from mcfcheck.findings import FileReport, Finding, Severity
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.registry import RuleRegistry
from mcfcheck.schemas import CompiledSchema, load_schema
from mcfcheck.validator import FileCheck


class ExitStatus(enum.IntEnum):
    """What mcfcheck's exit status means."""

    VALID = 0
    FINDINGS = 1
    UNUSABLE = 2


class ReportSink(Protocol):
    """What a batch tells as it goes: the lifecycle every reporter implements."""

    def start(self) -> None: ...
    def file_started(self, path: str) -> None: ...
    def finding(self, finding: Finding) -> None: ...
    def file_finished(self, report: FileReport) -> None: ...
    def finish(self) -> None: ...


ProgressFactory = Callable[[Path], Callable[[int], None] | None]


def validate_files(
    paths: Iterable[Path],
    sink: ReportSink,
    schema: Path | None = None,
    progress: ProgressFactory | None = None,
    rules: tuple[RuleRegistry, RuleSettings] | None = None,
) -> ExitStatus:
    """Validate each file, streaming findings to ``sink``; the worst outcome decides the status.

    With ``rules``, the selected rules of each file's cohort run in the same pass, and
    the selection applies to schema findings' codes too. A schema that cannot be
    loaded stops the batch before any file is read.
    """
    selection = rules[1].selection if rules is not None else None
    compiled: CompiledSchema | None = None
    sink.start()
    status = ExitStatus.VALID
    try:
        compiled = load_schema(schema) if schema is not None else None
    except SchemaError as error:
        sink.file_finished(FileReport(str(schema), None, 0, (), str(error)))
        sink.finish()
        return ExitStatus.UNUSABLE
    for path in paths:
        sink.file_started(str(path))
        check = FileCheck(path, compiled, progress(path) if progress is not None else None, rules)
        errors = 0
        problem: str | None = None
        try:
            for finding in check:
                if selection is not None and not selection.is_selected(finding.code):
                    continue
                sink.finding(finding)
                errors += finding.severity is Severity.ERROR
        except McfcheckError as error:
            problem = str(error)
        sink.file_finished(FileReport(str(path), check.schema_name, check.installations, (), problem))
        outcome = ExitStatus.UNUSABLE if problem else ExitStatus.FINDINGS if errors else ExitStatus.VALID
        status = max(status, outcome)
    sink.finish()
    return status
