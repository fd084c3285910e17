"""The console report's lines off a terminal: written as they are, the same text as rich writes."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from mcfcheck.findings import FileReport, Finding, Location, Severity
from mcfcheck.reports.base import ReportSettings
from mcfcheck.reports.console import ConsoleReporter, new_console

#: Text that rich would take for markup, emoji or escapes if it were not escaped.
tricky = st.text(alphabet=st.sampled_from("ab [/]\\:smile:=#bold red()\t\r\x07;é"), max_size=30)
locations = st.builds(
    Location,
    file=tricky.filter(bool),
    line=st.none() | st.integers(1, 10**6),
    column=st.none() | st.integers(1, 500),
    xpath=st.none() | tricky,
    installation=st.none() | tricky,
)
findings = st.builds(
    Finding,
    code=st.sampled_from(("XSD001", "GEN010", "XFL012")),
    message=tricky,
    severity=st.sampled_from(Severity),
    location=locations,
    rule=st.just("a-rule"),
)


def _report(found: list[Finding], plain: bool) -> str:
    out = io.StringIO()
    reporter = ConsoleReporter(out, ReportSettings(console=new_console(out)))
    assert reporter._plain, "off a terminal, without colour, lines are written as they are"
    reporter._plain = plain
    reporter.start()
    reporter.file_started("f.xml")
    for finding in found:
        reporter.finding(finding)
    reporter.file_finished(FileReport("f.xml", None, len(found)))
    reporter.finish()
    return out.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.lists(findings, max_size=5))
def test_lines_written_as_they_are_read_as_rich_writes_them(found: list[Finding]) -> None:
    assert _report(found, plain=True) == _report(found, plain=False)
