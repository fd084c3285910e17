"""Machine-readable reports: JSON (against its schema), SARIF (by the SARIF Multitool's validator), JUnit."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from lxml import etree
from typer.testing import CliRunner

from mcfcheck.cli import app
from mcfcheck.rules.registry import load_registry

from .conftest import ROOT, SAMPLES
from .sarif_validator import sarif_errors

runner = CliRunner()
REPORT_SCHEMA = ROOT / "schemas" / "mcfcheck-report-1.1.schema.json"
INPUTS = [
    SAMPLES / "cb-valid.xml",
    SAMPLES / "GEN003-mprn-check-digits-invalid.xml",
    SAMPLES / "mpan-format-invalid.xml",
    SAMPLES / "GEN010-unique-device-id-invalid.xml",
]


def _run(tmp_path: Path, *options: str, inputs: list[Path] | None = None) -> tuple[int, dict[str, Path]]:
    outputs = {name: tmp_path / f"report.{name}" for name in ("json", "sarif", "junit")}
    arguments = ["validate", "--jobs", "1", *options]
    for name, path in outputs.items():
        arguments += ["--output", f"{name}={path}"]
    result = runner.invoke(app, [*arguments, *map(str, inputs if inputs is not None else INPUTS)])
    return result.exit_code, outputs


def test_json_report_follows_its_schema_and_counts(tmp_path: Path) -> None:
    gone = tmp_path / "gone.xml"
    status, outputs = _run(tmp_path, inputs=[*INPUTS, gone])
    assert status == 2
    report = json.loads(outputs["json"].read_text())
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(report)
    assert [file["path"] for file in report["files"]] == [*map(str, INPUTS), str(gone)]
    assert report["summary"] == {"files": 5, "valid": 2, "unusable": 1, "rules_not_run": 0, "errors": 2, "warnings": 1}
    assert {(file["summary"]["rules_not_run"], len(file["summary"]["skipped_rules"])) for file in report["files"]} == {
        (None, 0)
    }
    codes = [finding["code"] for file in report["files"] for finding in file["findings"]]
    assert codes == ["GEN003", "XSD001", "GEN010"]
    # Each finding tells its installation's status: a schema finding, an installation
    # rule's, and a duplicate reported once the file has ended (from the ledger).
    statuses = [finding["location"]["status"] for file in report["files"] for finding in file["findings"]]
    assert statuses == ["Active", "Active", "Active"]
    assert [file["summary"]["cohort"] for file in report["files"]] == ["CB", "CB", "CB", "CB", None]
    assert report["files"][4]["summary"]["error"].endswith("no such file")


def test_sarif_report_passes_the_sarif_validator(tmp_path: Path) -> None:
    status, outputs = _run(tmp_path, inputs=[*INPUTS, tmp_path / "gone.xml"])
    assert status == 2
    assert sarif_errors(outputs["sarif"]) == []
    log = json.loads(outputs["sarif"].read_text())
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    ids = [rule["id"] for rule in rules]
    assert set(load_registry().rules) <= set(ids)
    assert {"XSD001", "COH001"} <= set(ids)
    gen003 = rules[ids.index("GEN003")]
    assert gen003["defaultConfiguration"]["level"] == "warning"
    assert "check digits" in gen003["shortDescription"]["text"]
    assert "Fails:" in gen003["help"]["text"]
    # Each rule's help says where it comes from, in words a reader can look up.
    assert "mcfcheck's own check: " in gen003["help"]["text"]
    drm002 = rules[ids.index("DRM002")]["help"]["text"]
    assert "Source: DCC, SMETS1 regulatory changes to the TMAD" in drm002
    assert "4 June 2020" in drm002
    assert "mcfcheck's reading: mcfcheck reads TMAD 4.29-4.30 as notices the DCC gives the supplier" in drm002
    for rule in rules:
        assert not re.search(r"\bseeds?\b", rule["help"]["text"], re.IGNORECASE), rule["id"]
    results = run["results"]
    assert [result["ruleId"] for result in results] == ["GEN003", "XSD001", "GEN010"]
    for result in results:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        (location,) = result["locations"]
        assert location["physicalLocation"]["region"]["startLine"] >= 1
        assert location["logicalLocations"][0]["fullyQualifiedName"].startswith("/MigrationFile")
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    assert "no such file" in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_the_sarif_validator_finds_a_broken_report(tmp_path: Path) -> None:
    _status, outputs = _run(tmp_path)
    log = json.loads(outputs["sarif"].read_text())
    del log["runs"][0]["tool"]["driver"]["name"]
    log["runs"][0]["results"][0]["level"] = "fatal"
    broken = tmp_path / "broken.sarif"
    broken.write_text(json.dumps(log), encoding="utf-8")
    errors = sarif_errors(broken)
    assert any(error.endswith("runs[0].tool.driver, name") for error in errors), errors
    assert any(error.startswith("JSON1019: runs[0].results[0].level") for error in errors), errors


def test_junit_report_has_a_suite_per_file_and_a_case_per_check(tmp_path: Path) -> None:
    _status, outputs = _run(tmp_path)
    suites = etree.parse(str(outputs["junit"])).getroot()
    assert suites.tag == "testsuites"
    assert [suite.get("name") for suite in suites] == [str(path) for path in INPUTS]
    # The inputs are CB files: a case for each check of every cohort and of CB's, no other's.
    cases_per_file = {len(suite) for suite in suites}
    assert len(cases_per_file) == 1
    for_cb = [rule for rule in load_registry().rules.values() if not rule.cohorts or "CB" in rule.cohorts]
    assert cases_per_file.pop() >= len(for_cb)
    failures = {
        suite.get("name"): [case.get("name") for case in suite if case.find("failure") is not None] for suite in suites
    }
    assert failures[str(INPUTS[0])] == []
    assert failures[str(INPUTS[1])] == []  # GEN003 is a warning: system output, not a failure
    assert failures[str(INPUTS[2])] == ["XSD001 schema"]
    assert failures[str(INPUTS[3])] == ["GEN010 unique-device-id"]


@pytest.mark.parametrize("name", ["json", "sarif", "junit", "html"])
def test_a_report_can_be_the_standard_output(name: str) -> None:
    result = runner.invoke(app, ["validate", "--jobs", "1", "--format", name, str(INPUTS[2])])
    assert result.exit_code == 1
    assert "XSD001" in result.stdout
    if name in ("json", "sarif"):
        json.loads(result.stdout)
    elif name == "html":
        assert result.stdout.startswith("<!DOCTYPE html>")
        assert result.stdout.rstrip().endswith("</html>")


def test_report_files_appear_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("previous")
    result = runner.invoke(app, ["validate", "--output", f"nope={target}", str(INPUTS[0])])
    assert result.exit_code == 2
    assert "unknown format 'nope'" in result.output
    assert target.read_text() == "previous"
    _status, outputs = _run(tmp_path)
    assert not list(tmp_path.glob("*.part"))
    assert all(path.stat().st_size > 0 for path in outputs.values())


def test_fail_on_warning(tmp_path: Path) -> None:
    sample = str(INPUTS[1])
    assert runner.invoke(app, ["validate", sample]).exit_code == 0
    assert runner.invoke(app, ["validate", "--fail-on", "warning", sample]).exit_code == 1


STREAM = """
import io, os, sys
from mcfcheck.rules.catalogue import catalogue
from mcfcheck.findings import FileReport, Finding, Location, Severity
from mcfcheck.reports.base import ReportSettings
from mcfcheck.reports.formats import reporter_class
from mcfcheck.rules.registry import load_registry

name, count = sys.argv[1], int(sys.argv[2])
out = open(os.devnull, "w")
reporter = reporter_class(name)(out, ReportSettings(lambda: catalogue(load_registry())))
reporter.start()
reporter.file_started("big.xml")
for number in range(count):
    xpath = f"/MigrationFile/Installations/Installation[{number + 1}]/Status"
    location = Location("big.xml", number + 1, 9, xpath, f"INST-{number}", ("Active", "Dormant")[number % 2])
    code, severity = ("XSD001", Severity.ERROR) if number % 3 else ("GEN003", Severity.WARNING)
    reporter.finding(Finding(code, f"Element 'Status': value {number} is wrong", severity, location))
reporter.file_finished(FileReport("big.xml", "mcf-1.0.xsd", count, (), None, "CB"))
reporter.finish()
with open("/proc/self/status") as proc:
    print(next(int(line.split()[1]) for line in proc if line.startswith("VmHWM:")))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["json", "sarif", "junit", "html"])
def test_reporters_stream_without_holding_findings(name: str) -> None:
    def peak(count: int) -> int:
        done = subprocess.run(
            [sys.executable, "-c", STREAM, name, str(count)], capture_output=True, text=True, check=True
        )
        return int(done.stdout.strip())

    small, large = peak(50_000), peak(1_000_000)
    assert large <= 1.3 * small, (small, large)
