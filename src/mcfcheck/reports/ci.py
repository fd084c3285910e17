"""Reports for CI services: GitHub Actions' workflow annotations and GitLab's Code Quality report.

``github`` writes one workflow command a finding (``::error file=…,line=…,col=…,title=…::…``),
which GitHub Actions shows as an annotation on the file's line; ``gitlab`` writes the JSON
array of GitLab's Code Quality report (``codequality`` in a job's ``artifacts:reports``).
Both stream: memory holds nothing of the findings already written. Neither tells the files'
verdicts: the console tells them on standard error.
"""

from __future__ import annotations

import hashlib

from mcfcheck.findings import FileReport, Finding, Severity
from mcfcheck.reports.base import Reporter, dumps

#: The workflow command of each severity.
_GITHUB_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning"}
#: Code Quality's severity of each severity.
_GITLAB_SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor"}


def _github_data(text: str) -> str:
    """``text`` as a workflow command's message may hold it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    """``text`` as a workflow command's property value may hold it."""
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


def _message(finding: Finding) -> str:
    installation = finding.location.installation
    return f"{finding.message} (installation {installation})" if installation else finding.message


class GithubReporter(Reporter):
    """Writes a GitHub Actions workflow command for each finding, and for each file that cannot be checked."""

    def finding(self, finding: Finding) -> None:
        where = finding.location
        properties = [f"file={_github_property(where.file)}"]
        if where.line is not None:
            properties.append(f"line={where.line}")
        if where.column is not None:
            properties.append(f"col={where.column}")
        properties.append(f"title={_github_property(f'{finding.code} {finding.rule}')}")
        command = _GITHUB_COMMANDS[finding.severity]
        self.out.write(f"::{command} {','.join(properties)}::{_github_data(_message(finding))}\n")

    def file_finished(self, report: FileReport) -> None:
        if report.error is not None:
            self.out.write(f"::error file={_github_property(report.path)}::{_github_data(report.error)}\n")


class GitlabReporter(Reporter):
    """Writes GitLab's Code Quality report: a JSON array with an issue for each finding.

    Each issue's fingerprint is the SHA-256 of its file, code, line, column and message
    (and, for the same finding repeated at one place, its repetition): the same finding
    keeps its fingerprint from one run to the next, as GitLab compares them.
    """

    def start(self) -> None:
        self.out.write("[")
        self._written = 0
        self._last = ""
        self._repeated = 0

    def _issue(self, path: str, code: str, line: int | None, description: str, severity: str) -> None:
        key = f"{path}\0{code}\0{line}\0{description}"
        self._repeated = self._repeated + 1 if key == self._last else 0
        self._last = key
        fingerprint = hashlib.sha256(f"{key}\0{self._repeated}".encode("utf-8", "surrogateescape")).hexdigest()
        issue = {
            "description": description,
            "check_name": code,
            "fingerprint": fingerprint,
            "severity": severity,
            "location": {"path": path, "lines": {"begin": line or 1}},
        }
        self.out.write((",\n" if self._written else "\n") + dumps(issue))
        self._written += 1

    def finding(self, finding: Finding) -> None:
        where = finding.location
        description = f"{finding.code}: {_message(finding)}"
        self._issue(where.file, finding.code, where.line, description, _GITLAB_SEVERITIES[finding.severity])

    def file_finished(self, report: FileReport) -> None:
        if report.error is not None:
            self._issue(report.path, "unusable", None, report.error, "blocker")

    def finish(self) -> None:
        self.out.write("\n]\n" if self._written else "]\n")
