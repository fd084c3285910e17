"""The console report, and the consoles mcfcheck writes to (standard output and error)."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import MutableMapping
from typing import Final, TextIO

from rich.console import Console
from rich.control import strip_control_codes
from rich.markup import escape
from rich.text import Text

from mcfcheck.findings import FileReport, Finding, Severity
from mcfcheck.outputs import STANDARD_ERROR_NAME, STANDARD_OUTPUT_NAME, standard_text
from mcfcheck.reports.base import Reporter, ReportSettings

_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow"}

#: The variables that set the console's width: rich reads COLUMNS, typer's help TERMINAL_WIDTH.
WIDTH_VARIABLES: Final = ("COLUMNS", "TERMINAL_WIDTH")
#: How many files the closing summary names among those with rules not run; it counts the rest.
NAMED_FILES: Final = 10
#: The narrowest and widest console a width variable may ask for.
MIN_WIDTH: Final = 20
MAX_WIDTH: Final = 1000


def sane_widths(environ: MutableMapping[str, str] = os.environ) -> None:
    """Drop a width variable that is not a positive whole number, and bring the others within bounds.

    rich takes ``COLUMNS=0`` as a console no column wide and prints nothing at all, not
    even errors; typer stops on a ``TERMINAL_WIDTH`` that is not a number; a width of a
    billion pads each line of the help to a billion spaces. Without the variable, the
    console is as wide as the terminal, or 80 columns.
    """
    for name in WIDTH_VARIABLES:
        value = environ.get(name)
        if value is None:
            continue
        try:
            width = int(value)
        except ValueError:
            width = 0
        if width < 1:
            del environ[name]
        else:
            environ[name] = str(min(max(width, MIN_WIDTH), MAX_WIDTH))


#: What ``--color`` takes: colour where the output is a terminal (and NO_COLOR is not set), always, or never.
COLOR_CHOICES: Final = ("auto", "always", "never")
_color = "auto"


def set_color(when: str) -> None:
    """Colour the consoles made from now on ``when`` (one of :data:`COLOR_CHOICES`)."""
    if when not in COLOR_CHOICES:
        raise ValueError(f"--color {when!r}: choose from {', '.join(COLOR_CHOICES)}")
    global _color
    _color = when


def new_console(stream: TextIO | None) -> Console:
    """A console on ``stream`` with the colour ``--color`` asks for; each line whole (soft wrap).

    ``always`` writes colour even to a pipe or a file (as ``--color always`` does in ruff
    and grep) but draws no progress bar there: the output is still not a terminal.
    """
    colour: dict[str, object] = {}
    if _color == "always":
        colour = {"color_system": "standard"}
    elif _color == "never":
        colour = {"color_system": None, "no_color": True}
    # No emoji codes: a file's name or a message holding ":smile:" is printed as it is (and
    # rich's table of codes is not loaded while a small file is checked).
    return Console(file=stream, highlight=False, soft_wrap=True, emoji=False, **colour)  # type: ignore[arg-type]


def console(stderr: bool = False) -> Console:
    """A console on standard output (or error) that fails in one line, and is quiet once its reader is gone.

    File names are written as their bytes, those that are not UTF-8 included; a reader
    that went away (``| head``) leaves the run to finish with the status its files
    decide; any other failure to write (a full disk) is an
    :class:`mcfcheck.outputs.OutputError`.
    """
    stream = (
        standard_text(sys.stderr, STANDARD_ERROR_NAME) if stderr else standard_text(sys.stdout, STANDARD_OUTPUT_NAME)
    )
    # Soft wrap keeps each line whole (a finding, an error), for grep and for editors.
    return new_console(stream)


def _place_and_context(finding: Finding) -> tuple[str, str]:
    """Where a finding is (``file:line:column``), and what follows its message (`` (installation R; xpath)``)."""
    where = finding.location
    place = where.file
    if where.line is not None:
        place += f":{where.line}"
        if where.column is not None:
            place += f":{where.column}"
    context = []
    if where.installation is not None:
        context.append(f"installation {where.installation}")
    if where.xpath is not None:
        context.append(where.xpath)
    return place, f" ({'; '.join(context)})" if context else ""


def _as_rich_writes(line: str) -> str:
    """The text as rich writes it: the control codes that move the cursor left out, then tabs expanded."""
    line = strip_control_codes(line)
    return line.expandtabs(8) if "\t" in line else line


class ConsoleReporter(Reporter):
    """The console report: findings by file and installation, verdicts, a closing summary.

    Each finding is one line (``file:line:column: CODE message``), for grep and for
    editors that jump to a place; a line names each installation before its findings.
    A file's verdict says which selected rules did not run on it, and why. The closing
    summary is a table of findings by check, and a line naming the files on which rules
    did not run. ``max_findings`` caps the lines printed (the summary still counts every
    finding); ``quiet`` prints only the verdicts. Colour and box drawing only on a terminal.
    """

    tells_verdicts = True
    keeps_name_bytes = True

    def __init__(self, out: TextIO, settings: ReportSettings) -> None:
        super().__init__(out, settings)
        # Soft wrap keeps each finding on one line, for grep and for editors that jump to file:line.
        self.console = settings.console or new_console(out)
        errors = settings.errors
        self.err = new_console(errors) if errors is not None and settings.console is None else self.console
        self.quiet = settings.quiet
        self.statistics = settings.statistics
        self.max_findings = settings.max_findings
        self._by_check: Counter[tuple[str, str, Severity]] = Counter()
        self._shown = 0
        self._errors = self._warnings = self._hidden = 0
        self._installation: str | None = None
        self._files = 0
        #: The files on which rules did not run: how many, and the first few names.
        self._short_files = 0
        self._short_names: list[str] = []
        #: Lines without style: written as they are, not through rich.
        self._plain = not self.console.is_terminal and self.console.color_system is None

    def file_started(self, path: str) -> None:
        self._errors = self._warnings = self._hidden = 0
        self._installation = None

    def finding(self, finding: Finding) -> None:
        self._by_check[finding.code, finding.rule, finding.severity] += 1
        if finding.severity is Severity.ERROR:
            self._errors += 1
        else:
            self._warnings += 1
        if self.quiet or self.statistics:
            return
        if self.max_findings is not None and self._shown >= self.max_findings:
            self._hidden += 1
            return
        self._shown += 1
        where = finding.location
        place, context = _place_and_context(finding)
        if self._plain:
            # No terminal and no colour: the line as rich would write it, without rich's work (a tenth of
            # a millisecond a line), into the stream's buffer.
            self.console.file.write(_as_rich_writes(f"{place}: {finding.code} {finding.message}{context}") + "\n")
            return
        # On a terminal, a line names the installation before its findings; elsewhere each line
        # is a finding (which names its installation), for grep and for the tools that read them.
        if where.installation is not None and where.installation != self._installation and self.console.is_terminal:
            self.console.print(f"[bold]installation {escape(where.installation)}[/bold]", highlight=False)
        self._installation = where.installation
        style = _SEVERITY_STYLE[finding.severity]
        line = Text.assemble(f"{place}: ", (finding.code, style), f" {finding.message}", (context, "dim"))
        self.console.print(line, highlight=False)

    def file_finished(self, report: FileReport) -> None:
        path = escape(report.path)
        self._files += 1
        if self._hidden:
            hidden = f"{self._hidden:,}{' more' if self._shown else ''} finding{'' if self._hidden == 1 else 's'}"
            self.console.print(f"[dim]… {hidden} in {path} not shown (--max-findings)[/dim]")
        if report.error is not None:
            self.err.print(f"[bold red]error:[/bold red] {escape(report.error)}", highlight=False)
            return
        counted = f"{report.installations:,} installation{'s' if report.installations != 1 else ''}"
        # A notification schedule (mcfcheck workdays --check) has no schema.
        details = f"{counted}, schema {report.schema}" if report.schema is not None else counted
        if report.rules_not_run is not None:
            details += f"; {escape(report.rules_not_run)}"
            self._short_files += 1
            if len(self._short_names) < NAMED_FILES:
                self._short_names.append(report.path)
        if self._errors:
            verdict = f"[bold red]invalid[/bold red], {_count(self._errors, 'error')}"
            if self._warnings:
                verdict += f", {_count(self._warnings, 'warning')}"
        elif self._warnings:
            verdict = f"[green]valid[/green], [yellow]{_count(self._warnings, 'warning')}[/yellow]"
        else:
            verdict = "[green]valid[/green]"
        self.console.print(f"{path}: {verdict} ({details})", highlight=False)

    def finish(self) -> None:
        if self.quiet:
            return
        if self.statistics:
            self._statistics()
        elif self._by_check:
            self._table()
        if self._short_files:
            names = ", ".join(escape(name) for name in self._short_names)
            if self._short_files > len(self._short_names):
                names += f" and {self._short_files - len(self._short_names):,} more"
            self.console.print(
                f"[yellow]rules not run[/yellow] on {self._short_files:,} of {_count(self._files, 'file')} "
                f"(each verdict says which and why): {names}",
                highlight=False,
            )

    def _statistics(self) -> None:
        """A line per check that found something, the most found first: count, code, check, severity,
        separated by tabs (for ``cut`` and ``sort``).
        """
        ranked = sorted(self._by_check.items(), key=lambda item: (-item[1], item[0][0]))
        for (code, rule, severity), count in ranked:
            self.out.write(f"{count}\t{code}\t{rule}\t{severity.value}\n")
        self.out.flush()

    def _table(self) -> None:
        # Imported here: a run without findings draws no table, and starts sooner without.
        from rich import box
        from rich.table import Table

        terminal = self.console.is_terminal
        table = Table(title="findings by check", box=box.SIMPLE if terminal else box.ASCII, title_justify="left")
        for column in ("code", "check", "severity", "findings"):
            table.add_column(column, justify="right" if column == "findings" else "left")
        for (code, rule, severity), count in sorted(self._by_check.items()):
            style = _SEVERITY_STYLE[severity] if terminal else ""
            table.add_row(code, rule, f"[{style}]{severity.value}[/{style}]" if style else severity.value, f"{count:,}")
        self.console.print(table)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'s' if number != 1 else ''}"
