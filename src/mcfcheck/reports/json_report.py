"""The JSON report: one versioned document, written as the files are checked.

Its shape is described by ``schemas/mcfcheck-report-1.1.schema.json``::

    {"format": "mcfcheck-report", "version": "1.1", "tool": {...},
     "files": [{"path": ..., "findings": [...], "summary": {...}}, ...],
     "summary": {"files": ..., "valid": ..., "unusable": ..., "rules_not_run": ..., "errors": ..., "warnings": ...}}

Version 1.1 added, to each file's summary, ``rules_not_run`` (why selected rules did
not run on the file, or null) and ``skipped_rules`` (their codes), and to the run's
summary ``rules_not_run`` (how many files had rules not run). 1.0's schema stays in
``schemas/`` for the readers of older reports.
"""

from __future__ import annotations

from mcfcheck.findings import FileReport, Finding, Severity
from mcfcheck.reports.base import TOOL_NAME, DataReporter, dumps

FORMAT_VERSION = "1.1"


def finding_record(finding: Finding) -> dict[str, object]:
    """A finding as the JSON report writes it."""
    where = finding.location
    return {
        "code": finding.code,
        "rule": finding.rule,
        "severity": finding.severity.value,
        "message": finding.message,
        "location": {
            "line": where.line,
            "column": where.column,
            "xpath": where.xpath,
            "installation": where.installation,
            "status": where.status,
        },
    }


class JsonReporter(DataReporter):
    """Writes the JSON report; memory holds counts, not findings."""

    def start(self) -> None:
        tool = {"name": TOOL_NAME, "version": self.version}
        self.out.write(f'{{"format": "mcfcheck-report", "version": "{FORMAT_VERSION}", "tool": {dumps(tool)}, ')
        self.out.write('"files": [')
        self._files = 0
        self._totals = {"files": 0, "valid": 0, "unusable": 0, "rules_not_run": 0, "errors": 0, "warnings": 0}

    def file_started(self, path: str) -> None:
        separator = ", " if self._files else ""
        self.out.write(f'{separator}{{"path": {dumps(path)}, "findings": [')
        self._files += 1
        self._in_file = 0
        self._errors = self._warnings = 0

    def finding(self, finding: Finding) -> None:
        separator = ", " if self._in_file else ""
        self.out.write(separator + dumps(finding_record(finding)))
        self._in_file += 1
        if finding.severity is Severity.ERROR:
            self._errors += 1
        else:
            self._warnings += 1

    def file_finished(self, report: FileReport) -> None:
        valid = report.error is None and self._errors == 0
        summary = {
            "valid": valid,
            "installations": report.installations,
            "schema": report.schema,
            "cohort": report.cohort,
            "error": report.error,
            "rules_not_run": report.rules_not_run,
            "skipped_rules": list(report.skipped_rules),
            "errors": self._errors,
            "warnings": self._warnings,
        }
        self.out.write(f'], "summary": {dumps(summary)}}}')
        totals = self._totals
        totals["files"] += 1
        totals["valid"] += valid
        totals["unusable"] += report.error is not None
        totals["rules_not_run"] += report.rules_not_run is not None
        totals["errors"] += self._errors
        totals["warnings"] += self._warnings

    def finish(self) -> None:
        self.out.write(f'], "summary": {dumps(self._totals)}}}\n')
