"""The JUnit XML report, for CI dashboards: one test suite per file, one test case per check.

A file's test cases are the checks of its cohort (those of every cohort, and its own; all
of them where the cohort is not known). A test case fails when its check found errors in
the file (warnings are written as system output); a selected rule that did not run on the file (its dialect has no
binding, or its binding lacks what the rule reads) is a skipped test case, with the
file's reason as its message; a file that could not be checked is an errored test case.
Memory holds one file's counts and its first few messages per check, never all the findings.
"""

from __future__ import annotations

import re
from collections import defaultdict
from xml.sax.saxutils import escape, quoteattr

from mcfcheck.findings import FileReport, Finding, Severity
from mcfcheck.reports.base import DataReporter

#: How many findings of one check a failure message quotes; the count says the rest.
QUOTED_FINDINGS = 20

#: What XML 1.0 cannot hold, even escaped: most control characters, and the lone
#: surrogates that stand for the bytes of a file name that are not UTF-8.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    """``text`` with every character XML cannot hold replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _describe(finding: Finding) -> str:
    where = finding.location
    place = f"{where.file}:{where.line}" if where.line is not None else where.file
    context = f" ({where.installation})" if where.installation else ""
    return f"{place}: {finding.message}{context}"


class JunitReporter(DataReporter):
    """Writes JUnit XML, one test suite per file as each file finishes."""

    def start(self) -> None:
        self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="mcfcheck">\n')

    def file_started(self, path: str) -> None:
        self._counts: dict[tuple[str, Severity], int] = defaultdict(int)
        self._quoted: dict[str, list[str]] = defaultdict(list)

    def finding(self, finding: Finding) -> None:
        self._counts[finding.code, finding.severity] += 1
        quoted = self._quoted[finding.code]
        if len(quoted) < QUOTED_FINDINGS:
            quoted.append(_describe(finding))

    def file_finished(self, report: FileReport) -> None:
        path = report.path
        cases: list[str] = []
        failures = 0
        skipped = set(report.skipped_rules)
        reason = quoteattr(report.rules_not_run or "not run on this file")
        if report.error is not None:
            cases.append(
                f'    <testcase classname={quoteattr(path)} name="read">'
                f"<error message={quoteattr(report.error)}/></testcase>\n"
            )
        for code, check in self.checks.items():
            if not check.applies_to(report.cohort) and code not in skipped:
                # Another cohort's rule: no test of this file.
                continue
            errors = self._counts.get((code, Severity.ERROR), 0)
            warnings = self._counts.get((code, Severity.WARNING), 0)
            name = quoteattr(f"{code} {check.name}")
            body = ""
            if code in skipped:
                body = f"<skipped message={reason}/>"
            elif errors:
                failures += 1
                text = escape("\n".join(self._quoted[code]))
                more = errors + warnings - len(self._quoted[code])
                if more > 0:
                    text += escape(f"\n… and {more} more")
                body = f"<failure message={quoteattr(f'{errors} finding(s): {check.summary}')}>{text}</failure>"
            elif warnings:
                body = f"<system-out>{escape(chr(10).join(self._quoted[code]))}</system-out>"
            cases.append(f"    <testcase classname={quoteattr(path)} name={name}>{body}</testcase>\n")
        for code in report.skipped_rules:
            if code not in self.checks:
                # A rule the catalogue does not describe still says it did not run.
                cases.append(
                    f"    <testcase classname={quoteattr(path)} name={quoteattr(code)}>"
                    f"<skipped message={reason}/></testcase>\n"
                )
        errored = 1 if report.error is not None else 0
        self.out.write(
            _xml(
                f'  <testsuite name={quoteattr(path)} tests="{len(cases)}" failures="{failures}" '
                f'errors="{errored}" skipped="{len(skipped)}">\n{"".join(cases)}  </testsuite>\n'
            )
        )

    def finish(self) -> None:
        self.out.write("</testsuites>\n")
