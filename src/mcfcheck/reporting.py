"""Reporters: turn the stream of findings into output, one file at a time.

A reporter has a streaming lifecycle (start, file started, finding, file finished,
finish) and writes to the console it is given. Reporters are chosen by name from
:data:`REPORTERS`.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from mcfcheck.findings import FileReport, Finding, Severity

_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow"}


class Reporter:
    """The lifecycle every reporter follows; each step does nothing by default."""

    def __init__(self, out: Console, err: Console) -> None:
        self.out = out
        self.err = err

    def start(self) -> None:
        """Called once before the first file."""

    def file_started(self, path: str) -> None:
        """Called before a file is read."""

    def finding(self, finding: Finding) -> None:
        """Called for each finding, in file order, as soon as it is made."""

    def file_finished(self, report: FileReport) -> None:
        """Called when a file is done; the report holds counts, not the findings."""

    def finish(self) -> None:
        """Called once after the last file."""


class TextReporter(Reporter):
    """One line per finding (``file:line:column: CODE message``) and a verdict per file."""

    def __init__(self, out: Console, err: Console, quiet: bool = False) -> None:
        super().__init__(out, err)
        self.quiet = quiet
        self._findings = 0

    def file_started(self, path: str) -> None:
        self._findings = 0

    def finding(self, finding: Finding) -> None:
        self._findings += 1
        if self.quiet:
            return
        where = finding.location
        place = escape(where.file)
        if where.line is not None:
            place += f":{where.line}"
            if where.column is not None:
                place += f":{where.column}"
        context = []
        if where.installation is not None:
            context.append(f"installation {escape(where.installation)}")
        if where.xpath is not None:
            context.append(escape(where.xpath))
        suffix = f" [dim]({'; '.join(context)})[/dim]" if context else ""
        style = _SEVERITY_STYLE[finding.severity]
        self.out.print(f"{place}: [{style}]{finding.code}[/{style}] {escape(finding.message)}{suffix}", highlight=False)

    def file_finished(self, report: FileReport) -> None:
        path = escape(report.path)
        if report.error is not None:
            self.err.print(f"[bold red]error:[/bold red] {escape(report.error)}", highlight=False)
            return
        counted = f"{report.installations:,} installation{'s' if report.installations != 1 else ''}"
        if self._findings == 0:
            self.out.print(f"{path}: [green]valid[/green] ({counted}, schema {report.schema})", highlight=False)
        else:
            plural = "s" if self._findings != 1 else ""
            verdict = f"[bold red]invalid[/bold red], {self._findings:,} finding{plural}"
            self.out.print(f"{path}: {verdict} ({counted}, schema {report.schema})", highlight=False)


#: Reporters by the name ``--format`` takes.
REPORTERS: dict[str, type[TextReporter]] = {"text": TextReporter}
