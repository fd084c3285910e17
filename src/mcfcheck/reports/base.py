"""The base of machine-readable reporters: a text stream and the catalogue of checks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TextIO

from mcfcheck import __version__
from mcfcheck.findings import FileReport, Finding
from mcfcheck.rules.catalogue import Check

TOOL_NAME = "mcfcheck"
TOOL_URI = "https://github.com/mcfcheck/mcfcheck"


def dumps(value: object) -> str:
    """``value`` as JSON, not ASCII-escaped.

    So that the report's text layer writes the bytes of a file name that are not UTF-8
    (held as surrogate escapes) as U+FFFD: an escaped lone surrogate (``\\udce9``) is
    not valid UTF-8 JSON.
    """
    return json.dumps(value, ensure_ascii=False)


class DataReporter:
    """A reporter that writes a document to ``out`` as the files are checked.

    Subclasses keep only summaries in memory, never the findings: a run may report
    millions of them.
    """

    def __init__(self, out: TextIO, checks: Mapping[str, Check]) -> None:
        self.out = out
        self.checks = checks
        self.version = __version__

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
