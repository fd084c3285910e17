"""The base of every reporter, what reporters are told, and the base of those that write documents."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar, TextIO

from mcfcheck import __version__
from mcfcheck.findings import FileReport, Finding

if TYPE_CHECKING:
    from rich.console import Console

    from mcfcheck.rules.catalogue import Check

TOOL_NAME = "mcfcheck"


def dumps(value: object) -> str:
    """``value`` as JSON, not ASCII-escaped.

    So that the report's text layer writes the bytes of a file name that are not UTF-8
    (held as surrogate escapes) as U+FFFD: an escaped lone surrogate (``\\udce9``) is
    not valid UTF-8 JSON.
    """
    return json.dumps(value, ensure_ascii=False)


@dataclass
class ReportSettings:
    """What a reporter is told besides the stream it writes to.

    ``errors`` is where the console writes the errors that stop a file (None: its own
    stream); ``quiet`` keeps it to verdicts; ``max_findings`` caps the findings it prints;
    ``statistics`` has it count them by check instead.
    ``checks_of`` makes the catalogue of checks that data reports describe, when one asks.
    """

    checks_of: Callable[[], Mapping[str, Check]] = dict
    errors: TextIO | None = None
    quiet: bool = False
    max_findings: int | None = None
    #: ``--statistics``: the console prints a count per check instead of each finding.
    statistics: bool = False
    #: The console the console report prints with, where it shares one with progress bars
    #: (on one terminal, so that neither erases the other); None: its own, on its stream.
    console: Console | None = None

    @cached_property
    def checks(self) -> Mapping[str, Check]:
        """Every check, by code (made once, on first use)."""
        return self.checks_of()


class Reporter:
    """The base of every reporter: a streaming lifecycle, writing to ``out`` as the files are checked.

    Reporters keep only summaries in memory, never the findings: a run may report
    millions of them. A reporter registers by name in :mod:`mcfcheck.reports.formats`
    (built-in) or in the ``mcfcheck.reporters`` entry-point group (installed).
    """

    #: Whether the reporter tells each file's verdict and errors itself; for one that does
    #: not, the console tells them on standard error.
    tells_verdicts: ClassVar[bool] = False
    #: Whether file names are written as their bytes (those that are not UTF-8 included),
    #: as a console shows them; else their undecodable bytes are U+FFFD.
    keeps_name_bytes: ClassVar[bool] = False

    def __init__(self, out: TextIO, settings: ReportSettings) -> None:
        self.out = out
        self.settings = settings

    def start(self) -> None:
        """Called once before the first file."""

    def file_started(self, path: str) -> None:
        """Called before a file is read."""

    def finding(self, finding: Finding) -> None:
        """Called for each finding, in file order."""

    def file_finished(self, report: FileReport) -> None:
        """Called when a file is done; the report holds counts, not the findings."""

    def finish(self) -> None:
        """Called once after the last file."""


class DataReporter(Reporter):
    """A reporter that writes a document describing the checks (``self.checks``) and the findings."""

    def __init__(self, out: TextIO, settings: ReportSettings) -> None:
        super().__init__(out, settings)
        self.checks = settings.checks
        self.version = __version__
