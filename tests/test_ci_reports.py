"""The reports for CI services (GitHub Actions' workflow annotations, GitLab's Code Quality JSON), and
the console's conventions: a finding a line off a terminal, --statistics, --color."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from mcfcheck.cli import app
from mcfcheck.findings import FileReport, Finding, Location, Severity
from mcfcheck.reports.base import ReportSettings
from mcfcheck.reports.ci import GithubReporter, GitlabReporter
from mcfcheck.reports.console import ConsoleReporter, set_color

from .conftest import SAMPLES

runner = CliRunner()
INVALID = SAMPLES / "status-value-invalid.xml"
#: A workflow command as GitHub Actions reads it: the command, its properties, its message.
COMMAND = re.compile(r"::(error|warning) ([^:]*)::(.*)")


def _undo_data(text: str) -> str:
    return text.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def _undo_property(text: str) -> str:
    return _undo_data(text.replace("%3A", ":").replace("%2C", ","))


def _github_commands(output: str) -> list[tuple[str, dict[str, str], str]]:
    commands = []
    # The runner reads a command a line, lines ending at line feeds (and nothing else).
    for line in output.rstrip("\n").split("\n"):
        matched = COMMAND.fullmatch(line)
        assert matched is not None, line
        properties = dict(pair.split("=", 1) for pair in matched.group(2).split(","))
        commands.append((matched.group(1), {k: _undo_property(v) for k, v in properties.items()}, matched.group(3)))
    return commands


#: Text of any characters but lone surrogates (which a report's text layer replaces).
TEXT = st.characters(exclude_categories=["Cs"])


@given(
    file=st.text(TEXT, min_size=1, max_size=30),
    message=st.text(TEXT, max_size=60),
    line=st.none() | st.integers(1, 10**7),
    severity=st.sampled_from(Severity),
)
def test_github_annotations_give_back_the_finding_whatever_its_text(
    file: str, message: str, line: int | None, severity: Severity
) -> None:
    out = io.StringIO()
    reporter = GithubReporter(out, ReportSettings())
    reporter.start()
    reporter.file_started(file)
    finding = Finding("GEN001", message, severity, Location(file, line, 3, None, "REF-1"), rule="mpan-check-digit")
    reporter.finding(finding)
    reporter.file_finished(FileReport(file, None, 1))
    reporter.finish()
    # One line a finding, whatever the text holds (line feeds, colons, commas, percent signs).
    [(command, properties, data)] = _github_commands(out.getvalue())
    assert command == severity.value
    assert properties["file"] == file
    assert properties.get("line") == (str(line) if line is not None else None)
    assert properties["col"] == "3"
    assert properties["title"] == "GEN001 mpan-check-digit"
    assert _undo_data(data) == f"{message} (installation REF-1)"


def test_github_format_on_the_command_line() -> None:
    result = runner.invoke(app, ["validate", "--format", "github", str(INVALID), str(SAMPLES / "cb-valid.xml")])
    assert result.exit_code == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    [(command, properties, data)] = _github_commands("\n".join(annotations))
    assert (command, properties["file"], properties["line"], properties["col"]) == ("error", str(INVALID), "93", "7")
    assert properties["title"] == "XSD001 schema"
    assert "'Sleeping'" in data
    # The verdicts are told on standard error, not among the annotations.
    assert f"{INVALID}: invalid, 1 error" in result.stderr


def _gitlab(*files: Path) -> list[dict[str, object]]:
    result = runner.invoke(app, ["validate", "--format", "gitlab", *map(str, files)])
    assert result.exit_code in (1, 2), result.output
    issues = json.loads(result.stdout)
    assert isinstance(issues, list)
    return issues


def test_gitlab_code_quality_issues_have_what_gitlab_reads(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes((SAMPLES / "cb-valid.xml").read_bytes()[:500])
    files = (INVALID, SAMPLES / "missing-trailer-invalid.xml", SAMPLES / "cb-valid.xml", broken)
    issues = _gitlab(*files)
    for issue in issues:
        assert set(issue) == {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        location = issue["location"]
        assert isinstance(location, dict)
        assert isinstance(location["path"], str)
        assert isinstance(location["lines"]["begin"], int)
        assert location["lines"]["begin"] >= 1
    paths = [issue["location"]["path"] for issue in issues]  # type: ignore[index]
    assert paths.count(str(INVALID)) == 1
    assert str(SAMPLES / "cb-valid.xml") not in paths
    assert [issue["severity"] for issue in issues if issue["location"]["path"] == str(broken)] == ["blocker"]  # type: ignore[index]
    # Fingerprints tell issues apart, and stay the same from one run to the next.
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(set(fingerprints)) == len(fingerprints)
    assert [issue["fingerprint"] for issue in _gitlab(*files)] == fingerprints


def test_gitlab_report_with_no_finding_is_an_empty_array() -> None:
    result = runner.invoke(app, ["validate", "--format", "gitlab", str(SAMPLES / "cb-valid.xml")])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_gitlab_fingerprints_of_one_finding_repeated_at_one_place_differ() -> None:
    out = io.StringIO()
    reporter = GitlabReporter(out, ReportSettings())
    reporter.start()
    reporter.file_started("a.xml")
    finding = Finding("GEN010", "repeated", Severity.ERROR, Location("a.xml", 7, 1), rule="duplicate-device-id")
    reporter.finding(finding)
    reporter.finding(finding)
    reporter.file_finished(FileReport("a.xml", None, 1))
    reporter.finish()
    issues = json.loads(out.getvalue())
    assert len(issues) == 2
    assert issues[0]["fingerprint"] != issues[1]["fingerprint"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_console_names_installations_on_a_terminal_only() -> None:
    findings = [
        Finding("GEN001", "bad MPAN", Severity.ERROR, Location("a.xml", 7, 1, None, "INST-1"), rule="mpan"),
        Finding("GEN002", "bad ICCID", Severity.ERROR, Location("a.xml", 8, 1, None, "INST-1"), rule="iccid"),
    ]
    outputs = {}
    set_color("never")
    for name, stream in (("terminal", _Terminal()), ("pipe", io.StringIO())):
        reporter = ConsoleReporter(stream, ReportSettings())
        reporter.start()
        reporter.file_started("a.xml")
        for finding in findings:
            reporter.finding(finding)
        reporter.file_finished(FileReport("a.xml", "mcf-1.0.xsd", 1))
        reporter.finish()
        outputs[name] = stream.getvalue()
    set_color("auto")
    assert "installation INST-1\n" in outputs["terminal"]
    assert outputs["terminal"].count("installation INST-1\n") == 1
    assert "installation INST-1\n" not in outputs["pipe"]
    assert outputs["pipe"].startswith("a.xml:7:1: GEN001 bad MPAN (installation INST-1)\na.xml:8:1: GEN002")


def test_statistics_count_the_findings_by_check_instead_of_printing_them() -> None:
    files = [SAMPLES / "GEN010-unique-device-id-invalid.xml", INVALID, SAMPLES / "missing-trailer-invalid.xml"]
    result = runner.invoke(app, ["validate", "--statistics", *map(str, files)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    counts = [line.split("\t") for line in lines if "\t" in line]
    assert [(code, rule, severity) for _count, code, rule, severity in counts] == [
        ("GEN010", "unique-device-id", "error"),
        ("XSD001", "schema", "error"),
        ("XSD002", "schema", "error"),
    ]
    assert all(count.strip() == "1" for count, *_rest in counts)
    assert not [line for line in lines if ": XSD001" in line]
    assert f"{INVALID}: invalid, 1 error (4 installations, schema mcf-1.0.xsd)" in lines


def test_color_always_colours_a_pipe_and_never_colours_nothing() -> None:
    always = runner.invoke(app, ["--color", "always", "validate", str(INVALID)])
    assert "\x1b[1;31mXSD001\x1b[0m" in always.stdout
    never = runner.invoke(app, ["--color", "never", "validate", str(INVALID)], env={"FORCE_COLOR": "1"})
    assert "\x1b[1;31m" not in never.stdout
    wrong = runner.invoke(app, ["--color", "purple", "validate", str(INVALID)])
    assert wrong.exit_code == 2
    assert "choose from auto, always, never" in wrong.output


def _junit_cases(*files: Path) -> dict[str, list[str]]:
    from lxml import etree

    result = runner.invoke(app, ["validate", "--format", "junit", *map(str, files)])
    suites = etree.fromstring(result.stdout.encode())
    return {
        str(suite.get("name")): [str(case.get("name")).split()[0] for case in suite.iter("testcase")]
        for suite in suites
    }


def test_junit_lists_the_checks_of_each_files_cohort() -> None:
    from mcfcheck.rules.registry import load_registry

    rules = load_registry().rules
    files = {cohort: SAMPLES / f"{cohort.lower()}-valid.xml" for cohort in ("IOC", "CB", "SECURE", "FOC")}
    cases = _junit_cases(*files.values())
    for cohort, path in files.items():
        listed = set(cases[str(path)])
        expected = {code for code, rule in rules.items() if not rule.cohorts or cohort in rule.cohorts}
        assert expected <= listed
        others = {code for code, rule in rules.items() if rule.cohorts and cohort not in rule.cohorts}
        assert others
        assert not listed & others, cohort
        assert {"XSD001", "COH001"} <= listed


def test_sarif_rules_carry_their_help_as_markdown() -> None:
    result = runner.invoke(app, ["validate", "--format", "sarif", str(SAMPLES / "cb-valid.xml")])
    rules = {rule["id"]: rule for rule in json.loads(result.stdout)["runs"][0]["tool"]["driver"]["rules"]}
    help_ = rules["GEN001"]["help"]
    assert help_["text"].startswith("GEN001") or len(help_["text"]) > 40
    assert help_["markdown"] == help_["text"].replace("``", "`")
    assert any("``" in rule["help"]["text"] for rule in rules.values())
    assert not any("``" in rule["help"]["markdown"] for rule in rules.values())
