"""Nothing runs silently short: every report says which selected rules did not run on each file, and why.

Two kinds of file the rules cannot fully read: one whose binding (here mcfcheck's own,
without the IMSI and the static IP address) lacks concepts some rules read, and one
whose dialect has no binding at all (the DCC-style test file, or a file in mcfcheck's
namespace when no binding is given for it).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jsonschema
import pytest
from lxml import etree, html
from typer.testing import CliRunner

import mcfcheck
from mcfcheck.check.file import FileCheck, check_file
from mcfcheck.cli import app
from mcfcheck.findings import FileReport
from mcfcheck.generate import MCFGenerator
from mcfcheck.reports.base import Reporter, ReportSettings
from mcfcheck.reports.console import ConsoleReporter
from mcfcheck.reports.html import HtmlReporter
from mcfcheck.reports.json_report import FORMAT_VERSION, JsonReporter
from mcfcheck.reports.junit import JunitReporter
from mcfcheck.reports.sarif import SarifReporter
from mcfcheck.rules.catalogue import catalogue
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.engine import UNKNOWN_GROUP_ID, RuleSettings
from mcfcheck.rules.registry import load_registry
from mcfcheck.rules.selection import Selection
from mcfcheck.run import batch
from mcfcheck.run.parts import ParallelFileCheck, worker_pool
from mcfcheck.schema.binding import Binding, BindingSet, parse_binding

from .conftest import ROOT, SAMPLES, SCHEMAS
from .sarif_validator import check_sarif, sarif_errors

runner = CliRunner()
REGISTRY = load_registry()
DATA = ROOT / "tests" / "data"
DCC_FILE = DATA / "dcc-style-invalid.xml"
DCC_SCHEMA = DATA / "dcc-style schema" / "Migration Schema V1.0 TMAD 2.0.xsd"
REPORT_SCHEMA = SCHEMAS / "mcfcheck-report-1.1.schema.json"
CB_FILE = SAMPLES / "cb-valid.xml"
GEN003_FILE = SAMPLES / "GEN003-mprn-check-digits-invalid.xml"
PART_BYTES = 40_000


def _binding_without(*concepts: str) -> Binding:
    """mcfcheck's own binding, without the lines that place ``concepts``."""
    lines = (SCHEMAS / "mcf-1.0.binding.toml").read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line.split("=")[0].strip() not in concepts]
    assert len(kept) == len(lines) - len(concepts)
    return parse_binding("\n".join(kept), "without-imsi.binding.toml")


PARTIAL = _binding_without("imsi", "static_ip")
#: Every file read through the binding without the IMSI and the static IP address.
SHORT_SETTINGS = RuleSettings(bindings=BindingSet((PARTIAL,), forced=PARTIAL))
#: No binding for any namespace: not even mcfcheck's own.
UNBOUND_SETTINGS = RuleSettings(bindings=BindingSet(()))
#: The rules a CB file cannot run without the IMSI and the static IP address.
SHORT = ("GEN004", "GEN014", "GEN015", "MDS001", "MDS002")


def _for_cohort(cohort: str | None) -> tuple[str, ...]:
    """What does not run on a file of ``cohort`` without a binding: its rules, and the GroupID's check."""
    codes = [
        code
        for code, rule in REGISTRY.rules.items()
        if (cohort is None or not rule.cohorts or cohort in rule.cohorts) and not rule.across_files
    ]
    return tuple(sorted([*codes, UNKNOWN_GROUP_ID]))


#: The rules that run on a file (those across files look at none alone).
IN_FILE = {code: rule for code, rule in REGISTRY.rules.items() if not rule.across_files}


class Recorder(Reporter):
    """Keeps what each file's report says (no findings)."""

    def __init__(self) -> None:
        super().__init__(io.StringIO(), ReportSettings())
        self.reports: list[FileReport] = []

    def file_finished(self, report: FileReport) -> None:
        self.reports.append(report)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with worker_pool(2) as executor:
        yield executor


@pytest.fixture(scope="module")
def large_cb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CB file large enough for parts of PART_BYTES."""
    path = tmp_path_factory.mktemp("large") / "large.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=3).write(path, 300)
    assert path.stat().st_size >= 4 * PART_BYTES
    return path


# --- what a file's check says -----------------------------------------------------------------


def test_a_binding_that_lacks_concepts_lists_the_rules_that_did_not_run() -> None:
    report = mcfcheck.validate(CB_FILE, settings=SHORT_SETTINGS)
    assert report.skipped_rules == SHORT
    assert report.rules_not_run is not None
    assert report.rules_not_run.startswith(f"{len(SHORT)} of ")
    assert report.rules_not_run.endswith("rules not run: no binding for imsi, static_ip; see `mcfcheck bind`")
    assert report.valid
    # With the whole binding every rule runs; without rules nothing is said.
    assert mcfcheck.validate(CB_FILE).skipped_rules == ()
    assert mcfcheck.validate(CB_FILE, rules=False, settings=SHORT_SETTINGS).skipped_rules == ()


def test_a_file_with_no_binding_lists_every_selected_rule() -> None:
    report = mcfcheck.validate(DCC_FILE, schema=DCC_SCHEMA)
    assert report.rules_not_run == (
        "schema only: no rules ran (namespace 'urn:example:migration' has no binding; see `mcfcheck bind`)"
    )
    # The header's GroupID cannot be read: no rule can be told not to apply.
    assert report.cohort is None
    assert report.skipped_rules == _for_cohort(None)
    ignoring = RuleSettings(selection=Selection(ignore=("GEN", "COH")))
    selected = mcfcheck.validate(DCC_FILE, schema=DCC_SCHEMA, settings=ignoring).skipped_rules
    assert selected == tuple(code for code in _for_cohort(None) if not code.startswith(("GEN", "COH")))
    assert mcfcheck.validate(DCC_FILE, schema=DCC_SCHEMA, rules=False).skipped_rules == ()


def test_a_file_with_no_binding_and_a_known_cohort_lists_that_cohorts_rules() -> None:
    report = check_file(CB_FILE, rules=(REGISTRY, UNBOUND_SETTINGS))
    assert report.cohort == "CB"
    assert report.rules_not_run == (
        "schema only: no rules ran (namespace 'urn:mcfcheck:mcf' has no binding; see `mcfcheck bind`)"
    )
    assert report.skipped_rules == _for_cohort("CB")
    assert "IOC001" not in report.skipped_rules


def test_a_binding_without_the_group_id_says_its_check_did_not_run() -> None:
    report = mcfcheck.validate(CB_FILE, settings=RuleSettings(bindings=BindingSet((_binding_without("group_id"),))))
    # The cohort cannot be read: the cohorts' rules and the GroupID's own check did not run.
    cohort_rules = sorted(code for code, rule in REGISTRY.rules.items() if rule.cohorts)
    assert report.skipped_rules == tuple(sorted([*cohort_rules, UNKNOWN_GROUP_ID]))
    assert report.rules_not_run is not None
    assert report.rules_not_run.startswith(f"{len(cohort_rules) + 1} of {len(IN_FILE) + 1} rules not run")


# --- workers: a file in parts, files whole ----------------------------------------------------


@pytest.mark.parametrize("settings", [SHORT_SETTINGS, UNBOUND_SETTINGS], ids=["partial", "unbound"])
def test_a_file_in_parts_says_what_its_single_pass_says(
    large_cb: Path, pool: ProcessPoolExecutor, settings: RuleSettings
) -> None:
    rules = (REGISTRY, settings)
    single = FileCheck(large_cb, rules=rules)
    single_findings = list(single)
    check = ParallelFileCheck(large_cb, lambda: pool, 2, rules=rules, part_bytes=PART_BYTES)
    assert list(check) == single_findings
    assert check.parallel, "the file was not validated in parts"
    assert single.skipped_rules == (SHORT if settings is SHORT_SETTINGS else _for_cohort("CB"))
    assert (check.rules_not_run, check.skipped_rules) == (single.rules_not_run, single.skipped_rules)


def test_every_way_of_running_a_batch_carries_the_rules_not_run(tmp_path: Path, large_cb: Path) -> None:
    small = tmp_path / "small.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=4).write(small, 5)
    rules = (REGISTRY, SHORT_SETTINGS)

    def run(paths: Sequence[Path], jobs: int) -> list[FileReport]:
        sink = Recorder()
        status = batch.validate_files(paths, sink, rules=rules, jobs=jobs, part_bytes=PART_BYTES)
        assert status == batch.ExitStatus.VALID
        return sink.reports

    single = run([small, large_cb], 1)
    # Two files: the workers validate the small one whole; the large one alone is split.
    for reports in (single, run([small, large_cb], 2), run([large_cb], 2)):
        assert {report.skipped_rules for report in reports} == {SHORT}
        assert {report.rules_not_run for report in reports} == {single[0].rules_not_run}


# --- the reports ------------------------------------------------------------------------------


def _reports(paths: Sequence[Path], settings: RuleSettings) -> dict[str, str]:
    """Every built-in report of one run over ``paths``."""
    outs = {name: io.StringIO() for name in ("console", "json", "junit", "sarif", "html")}
    report_settings = ReportSettings(lambda: catalogue(REGISTRY), errors=io.StringIO())
    sinks = [
        ConsoleReporter(outs["console"], report_settings),
        JsonReporter(outs["json"], report_settings),
        JunitReporter(outs["junit"], report_settings),
        SarifReporter(outs["sarif"], report_settings),
        HtmlReporter(outs["html"], report_settings),
    ]
    batch.validate_files(paths, batch.Tee(sinks), rules=(REGISTRY, settings), jobs=1)
    return {name: out.getvalue() for name, out in outs.items()}


@pytest.fixture(scope="module")
def short_reports() -> dict[str, str]:
    """The reports of a run over two files, the first of them short of rules (the second valid and whole)."""
    return _reports([CB_FILE, GEN003_FILE], SHORT_SETTINGS)


def test_the_json_report_lists_each_files_skipped_rules(short_reports: dict[str, str]) -> None:
    report = json.loads(short_reports["json"])
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(report)
    assert report["version"] == FORMAT_VERSION == "1.1"
    first, second = (file["summary"] for file in report["files"])
    assert first["skipped_rules"] == list(SHORT)
    assert first["rules_not_run"].endswith("no binding for imsi, static_ip; see `mcfcheck bind`")
    assert second["skipped_rules"] == list(SHORT)
    assert report["summary"]["rules_not_run"] == 2


def _skipped_cases(suite: etree._Element) -> dict[str, str | None]:
    """The skipped test cases of a JUnit suite: each one's code, and its message."""
    cases: dict[str, str | None] = {}
    for case in suite:
        skipped = case.find("skipped")
        if skipped is not None:
            cases[str(case.get("name")).split()[0]] = skipped.get("message")
    return cases


def test_the_junit_report_skips_each_rule_that_did_not_run(short_reports: dict[str, str]) -> None:
    suites = etree.fromstring(short_reports["junit"].encode())
    for suite in suites:
        skipped = _skipped_cases(suite)
        assert list(skipped) == list(SHORT)
        assert suite.get("skipped") == str(len(SHORT))
        assert set(skipped.values()) == {mcfcheck.validate(CB_FILE, settings=SHORT_SETTINGS).rules_not_run}
        # The other checks of the file's cohort are there as before, passed or failed.
        assert len(suite) == sum(check.applies_to("CB") for check in catalogue(REGISTRY).values())


def test_the_sarif_report_notes_each_rule_that_did_not_run(short_reports: dict[str, str], tmp_path: Path) -> None:
    check_sarif(short_reports["sarif"], tmp_path)
    log = json.loads(short_reports["sarif"])
    (run,) = log["runs"]
    ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    (invocation,) = run["invocations"]
    # Rules not run do not make the execution unsuccessful: a file that cannot be checked does.
    assert invocation["executionSuccessful"] is True
    notices = invocation["toolExecutionNotifications"]
    assert [notice["associatedRule"]["id"] for notice in notices] == [*SHORT, *SHORT]
    for notice in notices:
        rule = notice["associatedRule"]
        assert ids[rule["index"]] == rule["id"]
        assert notice["level"] == "warning"
        assert "no binding for imsi, static_ip" in notice["message"]["text"]
    uris = [notice["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for notice in notices]
    assert uris == [CB_FILE.as_uri()] * len(SHORT) + [GEN003_FILE.as_uri()] * len(SHORT)


def test_the_html_report_shows_why_rules_did_not_run(short_reports: dict[str, str]) -> None:
    page = html.fromstring(short_reports["html"])
    notes = page.find_class("rules-not-run")
    assert len(notes) == 2
    for note in notes:
        assert "no binding for imsi, static_ip" in note.text_content()
        assert ", ".join(SHORT) in note.text_content()
    tiles = {tile.get("data-tile"): tile[0].text_content() for tile in page.find_class("tile")}
    assert tiles["rules not run"] == "2"


def test_the_console_verdicts_and_closing_summary_say_so(short_reports: dict[str, str]) -> None:
    lines = short_reports["console"].splitlines()
    verdicts = [line for line in lines if line.startswith((f"{CB_FILE}: valid", f"{GEN003_FILE}: valid"))]
    assert len(verdicts) == 2
    assert all("no binding for imsi, static_ip" in line for line in verdicts)
    assert lines[-1] == (f"rules not run on 2 of 2 files (each verdict says which and why): {CB_FILE}, {GEN003_FILE}")


def test_reports_say_nothing_where_every_rule_ran() -> None:
    reports = _reports([CB_FILE], RuleSettings())
    summary = json.loads(reports["json"])["files"][0]["summary"]
    assert (summary["rules_not_run"], summary["skipped_rules"]) == (None, [])
    assert json.loads(reports["sarif"])["runs"][0]["invocations"][0]["toolExecutionNotifications"] == []
    assert "<skipped" not in reports["junit"]
    assert html.fromstring(reports["html"]).find_class("rules-not-run") == []
    assert "rules not run" not in reports["console"]


def test_the_command_line_reports_a_file_with_no_binding(tmp_path: Path) -> None:
    outputs = {name: tmp_path / f"report.{name}" for name in ("json", "sarif", "junit", "html")}
    arguments = ["validate", "--jobs", "1", "--schema", str(DCC_SCHEMA)]
    for name, path in outputs.items():
        arguments += ["--output", f"{name}={path}"]
    result = runner.invoke(app, [*arguments, str(DCC_FILE)])
    assert result.exit_code == 1, result.output
    everything = _for_cohort(None)
    report = json.loads(outputs["json"].read_text())
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(report)
    summary = report["files"][0]["summary"]
    assert summary["skipped_rules"] == list(everything)
    assert summary["rules_not_run"].startswith("schema only: no rules ran")
    assert sarif_errors(outputs["sarif"]) == []
    log = json.loads(outputs["sarif"].read_text())
    notices = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [notice["associatedRule"]["id"] for notice in notices] == list(everything)
    (suite,) = etree.parse(str(outputs["junit"])).getroot()
    assert list(_skipped_cases(suite)) == list(everything)
    assert (
        "schema only: no rules ran"
        in html.fromstring(outputs["html"].read_text()).find_class("rules-not-run")[0].text_content()
    )
    assert result.stdout.splitlines()[-1].startswith("rules not run on 1 of 1 file")


def test_the_report_format_1_0_schema_stays_for_older_reports() -> None:
    old = json.loads((SCHEMAS / "mcfcheck-report-1.0.schema.json").read_text())
    assert old["properties"]["version"]["const"] == "1.0"
    new = json.loads(REPORT_SCHEMA.read_text())
    assert new["properties"]["version"]["const"] == "1.1"
