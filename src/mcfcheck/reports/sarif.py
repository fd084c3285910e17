"""The SARIF 2.1.0 report, for code-scanning dashboards, written as the files are checked.

Every check is a rule of the tool's driver (its summary as the short description, its
documentation as help); every finding a result with its physical location (file, line,
column) and its logical location (the element's XPath). Files that could not be
checked are tool execution notifications of the run's invocation (level "error"); so
is each selected rule that did not run on a file (level "warning", with the file's
reason and a reference to the rule's descriptor), which does not make the execution
unsuccessful.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from mcfcheck.findings import FileReport, Finding, Location, Severity
from mcfcheck.reports.base import TOOL_NAME, DataReporter, dumps

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning"}


def _uri(path: str) -> str:
    """A file's URI: relative (percent-encoded) or ``file:``; the bytes of a name that are not UTF-8 kept exactly."""
    candidate = Path(path)
    return candidate.as_uri() if candidate.is_absolute() else quote(os.fsencode(candidate.as_posix()))


def _markdown(text: str) -> str:
    """A check's documentation as Markdown: its ``code`` (reStructuredText's literals) as `code`."""
    return text.replace("``", "`")


class SarifReporter(DataReporter):
    """Writes a SARIF 2.1.0 log with one run; memory holds the notices (files unusable, rules not run) only."""

    def start(self) -> None:
        self._index = {code: index for index, code in enumerate(self.checks)}
        rules = [
            {
                "id": check.code,
                "name": check.name,
                "shortDescription": {"text": check.summary},
                "fullDescription": {"text": check.summary},
                "help": {"text": check.help, "markdown": _markdown(check.help)},
                "defaultConfiguration": {"level": _LEVELS[check.severity]},
            }
            for check in self.checks.values()
        ]
        driver = {
            "name": TOOL_NAME,
            "version": self.version,
            "rules": rules,
        }
        self.out.write(f'{{"$schema": "{SARIF_SCHEMA}", "version": "2.1.0", "runs": [{{')
        self.out.write(f'"tool": {{"driver": {dumps(driver)}}}, "results": [')
        self._results = 0
        #: The files with notices: (path, error, why rules did not run, the codes of those rules).
        self._notices: list[tuple[str, str | None, str | None, tuple[str, ...]]] = []

    def finding(self, finding: Finding) -> None:
        where = finding.location
        result: dict[str, object] = {
            "ruleId": finding.code,
            "level": _LEVELS[finding.severity],
            "message": {"text": finding.message},
            "locations": [_location(where)],
        }
        if finding.related:
            result["relatedLocations"] = [
                {"id": number, **_location(place)} for number, place in enumerate(finding.related, start=1)
            ]
        if finding.code in self._index:
            result["ruleIndex"] = self._index[finding.code]
        if where.installation is not None:
            result["properties"] = {"installation": where.installation}
        separator = ", " if self._results else ""
        self.out.write(separator + dumps(result))
        self._results += 1

    def file_finished(self, report: FileReport) -> None:
        if report.error is not None or report.skipped_rules:
            # Held as the file's facts, one per file: the notifications are made as they are written.
            self._notices.append((report.path, report.error, report.rules_not_run, report.skipped_rules))

    def _notifications(self) -> Iterator[dict[str, object]]:
        for path, error, reason, skipped in self._notices:
            locations = [{"physicalLocation": {"artifactLocation": {"uri": _uri(path)}}}]
            if error is not None:
                yield {"level": "error", "message": {"text": error}, "locations": locations}
            for code in skipped:
                rule: dict[str, object] = {"id": code}
                if code in self._index:
                    rule["index"] = self._index[code]
                yield {
                    "level": "warning",
                    "message": {"text": f"{code} did not run on this file: {reason or 'no reason known'}"},
                    "locations": locations,
                    "associatedRule": rule,
                }

    def finish(self) -> None:
        failed = any(error is not None for _path, error, _reason, _skipped in self._notices)
        self.out.write(f'], "invocations": [{{"executionSuccessful": {dumps(not failed)}, ')
        self.out.write('"toolExecutionNotifications": [')
        for index, notification in enumerate(self._notifications()):
            self.out.write((", " if index else "") + dumps(notification))
        self.out.write("]}]}]}\n")


def _location(where: Location) -> dict[str, object]:
    """A SARIF location: the file, line and column, and the element's XPath as a logical location."""
    physical: dict[str, object] = {"artifactLocation": {"uri": _uri(where.file)}}
    if where.line is not None:
        region: dict[str, int] = {"startLine": where.line}
        if where.column is not None:
            region["startColumn"] = where.column
        physical["region"] = region
    location: dict[str, object] = {"physicalLocation": physical}
    if where.xpath is not None:
        location["logicalLocations"] = [{"fullyQualifiedName": where.xpath, "kind": "element"}]
    return location
