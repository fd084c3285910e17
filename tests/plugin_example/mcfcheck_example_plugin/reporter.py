"""An example reporter: one line per finding, with its code only."""

from __future__ import annotations

from mcfcheck.findings import Finding
from mcfcheck.reports import DataReporter


class CodesReporter(DataReporter):
    """Writes ``file CODE`` for every finding."""

    def finding(self, finding: Finding) -> None:
        self.out.write(f"{finding.location.file} {finding.code}\n")
