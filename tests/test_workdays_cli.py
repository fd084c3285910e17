"""mcfcheck workdays: notice periods planned from a date, checked between two, and a schedule checked row by row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from lxml import etree
from typer.testing import CliRunner

from mcfcheck.cli import app
from mcfcheck.rules.workdays import CONVENTION
from mcfcheck.run.schedule import default_working_days

from .conftest import ROOT, SAMPLES
from .sarif_validator import sarif_errors
from .test_reports import REPORT_SCHEMA

runner = CliRunner()


def _workdays(*args: str) -> tuple[int, list[str], str]:
    """The exit status, standard output's lines and standard error of ``mcfcheck workdays ARGS``."""
    result = runner.invoke(app, ["workdays", *args], terminal_width=400)
    return result.exit_code, result.stdout.splitlines(), result.stderr


def _fact(lines: list[str], label: str) -> str:
    (found,) = [line.removeprefix(f"{label}: ") for line in lines if line.startswith(f"{label}: ")]
    return found


def _finding_messages(*samples: Path) -> dict[str, str]:
    """What validate says of each sample, by code."""
    result = runner.invoke(app, ["validate", "--jobs", "1", "--format", "json", *map(str, samples)])
    report = json.loads(result.stdout)
    return {finding["code"]: finding["message"] for file in report["files"] for finding in file["findings"]}


def test_notice_on_a_monday_for_a_firmware_upgrade_plans_it_for_the_monday_after() -> None:
    status, lines, errors = _workdays("--notice", "2026-03-02", "--kind", "firmware")
    assert (status, errors) == (0, "")
    assert lines == [
        "notice period: 5 Working Days before a firmware upgrade (DRM001)",
        "calendar: england-and-wales",
        "notice date: 2026-03-02 (Monday)",
        "earliest planned date: 2026-03-09 (Monday)",
        "bank holidays not counted: none",
        f"counting: {CONVENTION}",
    ]
    assert "mcfcheck's reading" in CONVENTION


# Easter 2026: Good Friday (3 April) is a bank holiday everywhere, Easter Monday (6 April)
# in England and Wales and in Northern Ireland, not in Scotland; St Patrick's Day (Tuesday
# 17 March) in Northern Ireland only.
@pytest.mark.parametrize(
    ("kind", "calendar", "notice", "planned"),
    [
        ("firmware", "england-and-wales", "2026-03-30 (Monday)", "2026-04-08 (Wednesday)"),
        ("firmware", "scotland", "2026-03-30 (Monday)", "2026-04-07 (Tuesday)"),
        ("firmware", "northern-ireland", "2026-03-30 (Monday)", "2026-04-08 (Wednesday)"),
        ("migration", "england-and-wales", "2026-03-02 (Monday)", "2026-03-23 (Monday)"),
        ("migration", "scotland", "2026-03-02 (Monday)", "2026-03-23 (Monday)"),
        ("migration", "northern-ireland", "2026-03-02 (Monday)", "2026-03-24 (Tuesday)"),
    ],
)
def test_each_kind_and_calendar_plans_from_the_notice_and_back_from_the_planned_date(
    kind: str, calendar: str, notice: str, planned: str
) -> None:
    status, lines, _errors = _workdays("--notice", notice[:10], "--kind", kind, "--calendar", calendar)
    assert status == 0
    assert _fact(lines, "earliest planned date") == planned
    assert _fact(lines, "calendar") == calendar
    days = default_working_days(kind)
    assert _fact(lines, "notice period").startswith(f"{days} Working Days before a ")
    status, lines, _errors = _workdays("--planned", planned[:10], "--kind", kind, "--calendar", calendar)
    assert status == 0
    # The latest notice date is the notice date itself, or the weekend day before it.
    assert _fact(lines, "latest notice date") == notice
    assert _fact(lines, "planned date") == planned


def test_easter_monday_is_counted_in_scotland_only() -> None:
    args = ("--notice", "2026-03-30", "--planned", "2026-04-07", "--kind", "firmware")
    status, lines, _errors = _workdays(*args)
    assert status == 1
    assert _fact(lines, "Working Days of notice") == "4"
    assert _fact(lines, "bank holidays not counted") == "2026-04-03 (Friday), 2026-04-06 (Monday)"
    assert _fact(lines, "period met").startswith("no: the firmware upgrade on 2026-04-07 has 4 Working Days' notice")
    status, lines, _errors = _workdays(*args, "--calendar", "scotland")
    assert status == 0
    assert _fact(lines, "Working Days of notice") == "5"
    assert _fact(lines, "bank holidays not counted") == "2026-04-03 (Friday)"
    assert _fact(lines, "period met") == "yes"


def test_the_period_met_or_not_says_what_the_rules_say_of_an_mcf() -> None:
    messages = _finding_messages(
        SAMPLES / "DRM001-firmware-notice-period-invalid.xml", SAMPLES / "DRM002-migration-notice-period-invalid.xml"
    )
    # The samples' dates: a firmware upgrade with 4 Working Days' notice, a migration with 10.
    _status, lines, _errors = _workdays("--notice", "2026-02-23", "--planned", "2026-02-27", "--kind", "firmware")
    assert _fact(lines, "period met") == f"no: {messages['DRM001']}"
    status, lines, _errors = _workdays("--notice", "2026-03-02", "--planned", "2026-03-16", "--kind", "migration")
    assert status == 1
    assert _fact(lines, "period met") == f"no: {messages['DRM002']}"
    assert messages["DRM002"].endswith("unless a shorter period was agreed with the DCC")


def test_another_period_and_json() -> None:
    status, lines, _errors = _workdays("--notice", "2026-03-02", "--kind", "migration", "--working-days", "3")
    assert status == 0
    assert _fact(lines, "earliest planned date") == "2026-03-05 (Thursday)"
    assert _fact(lines, "notice period") == (
        "3 Working Days before a migration (DRM002), unless a shorter period was agreed with the DCC"
    )
    status, lines, _errors = _workdays(
        "--notice", "2026-03-30", "--planned", "2026-04-07", "--kind", "firmware", "--format", "json"
    )
    assert status == 1
    (line,) = lines
    assert json.loads(line) == {
        "kind": "firmware",
        "code": "DRM001",
        "working_days_required": 5,
        "calendar": "england-and-wales",
        "notice_date": "2026-03-30",
        "planned_date": "2026-04-07",
        "working_days": 4,
        "bank_holidays": ["2026-04-03", "2026-04-06"],
        "met": False,
        "convention": CONVENTION,
    }
    _status, lines, _errors = _workdays("--planned", "2026-04-07", "--kind", "firmware", "--format", "json")
    assert json.loads(lines[0])["latest_notice_date"] == "2026-03-29"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--notice", "2026-02-30", "--kind", "firmware"], "--notice '2026-02-30' is not a date (day is out of range"),
        (["--planned", "30/03/2026", "--kind", "firmware"], "--planned '30/03/2026' is not a date as YYYY-MM-DD"),
        (["--notice", "2026-03-02", "--kind", "upgrade"], "--kind upgrade: give --kind firmware or --kind migration"),
        (["--notice", "2026-03-02"], "give --kind firmware or --kind migration"),
        (["--notice", "2026-03-02", "--kind", "firmware", "--calendar", "wales"], "--calendar wales: unknown calendar"),
        ([], "give --notice DATE, --planned DATE or both"),
        (["--notice", "2026-03-10", "--planned", "2026-03-02", "--kind", "firmware"], "is before the notice date"),
        (["--notice", "9999-12-30", "--kind", "firmware"], "no planned date up to 9999-12-31 has 5 Working Days'"),
        (["--planned", "0001-01-02", "--kind", "migration"], "no notice date from 0001-01-01 gives 15 Working Days'"),
        (["--notice", "2026-03-02", "--kind", "firmware", "--format", "sarif"], "--format sarif: the dates are"),
        (["--notice", "2026-03-02", "--kind", "firmware", "-o", "json=x.json"], "--output is for --check"),
        (["--check", "x.csv", "--kind", "firmware", "--notice", "2026-03-02"], "--check takes no --notice, --kind"),
    ],
)
def test_usage_errors_exit_2_in_one_line(args: list[str], error: str) -> None:
    status, lines, errors = _workdays(*args)
    assert status == 2
    assert lines == []
    (line,) = errors.splitlines()
    assert line.startswith("error: ")
    assert error in line


def test_help_says_the_counting_is_mcfchecks_reading_and_gives_the_rules_defaults() -> None:
    result = runner.invoke(app, ["workdays", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "mcfcheck's reading of the TMAD" in text
    assert "counted after the notice date, up to and including the planned date" in text
    assert f"firmware (DRM001: {default_working_days('firmware')} Working Days by default)" in text
    assert f"migration (DRM002: {default_working_days('migration')} by default)" in text
    assert "Exit status: 0" in text
    assert "installation, kind (firmware or migration), notice_date and planned_date" in text


SCHEDULE = (
    "installation,kind,notice_date,planned_date,shorter_notice_agreed\r\n"  # 1
    "INST-1,firmware,2026-03-02,2026-03-09,\r\n"  # 2: 5 Working Days
    "INST-2,firmware,2026-03-30,2026-04-07,\r\n"  # 3: 4 (Easter)
    "\r\n"  # 4: blank
    "INST-3,migration,2026-03-02,2026-03-16,no\r\n"  # 5: 10
    "INST-4,Migration,2026-03-02,2026-03-16,YES\r\n"  # 6: 10, agreed
    "INST-5,migration,2026-03-02,2026-03-23\r\n"  # 7: 15, the last field left out
    "INST-6,upgrade,2026-02-30,2026-03-16,maybe\r\n"  # 8: three problems
    "INST-7,firmware,2026-03-10\r\n"  # 9: too few fields
    'INST-8,"firmware",2026-03-10,2026-03-02,"a\r\nb"\r\n'  # 10-11: before the notice, a bad flag
    ",firmware,2026-03-02,2026-03-09,,extra\r\n"  # 12: no reference, a field too many
    "INST-9,firmware,2026-03-05,2026-03-12,true\r\n"  # 13: 5 Working Days; agreement is for migrations
)
EXPECTED = [
    (3, "DRM001", "INST-2", "the firmware upgrade on 2026-04-07 has 4 Working Days' notice (from 2026-03-30); "),
    (5, "DRM002", "INST-3", "the migration on 2026-03-16 has 10 Working Days' notice (from 2026-03-02); "),
    (8, "DRM000", "INST-6", "kind 'upgrade' is neither firmware nor migration"),
    (8, "DRM000", "INST-6", "notice_date '2026-02-30' is not a date (day is out of range for month)"),
    (8, "DRM000", "INST-6", "shorter_notice_agreed 'maybe' is not true, false, yes, no, 1, 0 or empty"),
    (9, "DRM000", "INST-7", "no planned_date: the row has 3 fields, the header 5"),
    (10, "DRM000", "INST-8", "shorter_notice_agreed 'a\\r\\nb' is not true, false, yes, no, 1, 0 or empty"),
    (10, "DRM000", "INST-8", "the planned date 2026-03-02 is before the notice date 2026-03-10"),
    (12, "DRM000", None, "the row has 6 fields, the header 5: the fields after the header's are not read"),
    (12, "DRM000", None, "installation is empty"),
]


def _schedule(tmp_path: Path, text: str = SCHEDULE) -> Path:
    path = tmp_path / "schedule.csv"
    path.write_bytes(text.encode("utf-8-sig"))
    return path


def test_a_schedule_is_checked_row_by_row_at_its_lines(tmp_path: Path) -> None:
    schedule = _schedule(tmp_path)
    status, lines, errors = _workdays("--check", str(schedule))
    assert status == 1
    assert errors == ""
    findings = [line for line in lines if line.startswith(f"{schedule}:") and not line.startswith(f"{schedule}: ")]
    assert len(findings) == len(EXPECTED)
    for line, (number, code, installation, message) in zip(findings, EXPECTED, strict=True):
        assert line.startswith(f"{schedule}:{number}: {code} {message}")
        assert line.endswith(f"(installation {installation})" if installation else message)
    assert f"{schedule}: invalid, 10 errors (9 installations)" in lines


def test_a_schedule_says_what_the_rules_say_of_an_mcf(tmp_path: Path) -> None:
    messages = _finding_messages(
        SAMPLES / "DRM001-firmware-notice-period-invalid.xml", SAMPLES / "DRM002-migration-notice-period-invalid.xml"
    )
    schedule = _schedule(
        tmp_path,
        "installation,kind,notice_date,planned_date\nINST-1,firmware,2026-02-23,2026-02-27\n"
        "INST-1,migration,2026-03-02,2026-03-16\n",
    )
    result = runner.invoke(app, ["workdays", "--check", str(schedule), "--format", "json"])
    report = json.loads(result.stdout)
    assert {finding["code"]: finding["message"] for finding in report["files"][0]["findings"]} == messages


@pytest.mark.parametrize("calendar", ["england-and-wales", "scotland"])
def test_a_schedule_that_meets_every_period_exits_0(tmp_path: Path, calendar: str) -> None:
    schedule = _schedule(
        tmp_path,
        "Kind, Installation ,Notice_Date,Planned_Date\n"  # any order, case and spaces
        "firmware,INST-1,2026-03-30,2026-04-08\n"
        "migration,INST-1,2026-03-02,2026-03-23\n",
    )
    status, lines, _errors = _workdays("--check", str(schedule), "--calendar", calendar)
    assert status == 0
    assert lines == [f"{schedule}: valid (1 installation)"]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "cannot be read (No such file or directory)"),
        ("", "is empty, not a notification schedule"),
        ("installation,kind,notice\nA,firmware,2026-03-02\n", ":1: the notification schedule has no column"),
        ("installation,kind,kind,notice_date,planned_date\n", ":1: the header names kind more than once"),
        (b"installation,kind,notice_date,planned_date\nA,firmware,2026-03-02,2026-03-09\n\xff,x\n", ":3: not UTF-8"),
        (
            "installation,kind,notice_date,planned_date\nA,firmware,2026-03-02," + "9" * 200_000,
            ":2: not a readable CSV file (field larger than field limit (131072))",
        ),
    ],
)
def test_a_schedule_that_cannot_be_read_exits_2_in_one_line(
    tmp_path: Path, content: str | bytes | None, error: str
) -> None:
    schedule = tmp_path / "schedule.csv"
    if isinstance(content, str):
        schedule.write_text(content)
    elif isinstance(content, bytes):
        schedule.write_bytes(content)
    status, _lines, errors = _workdays("--check", str(schedule))
    assert status == 2
    (line,) = errors.splitlines()
    assert line.startswith(f"error: {schedule}")
    assert error in line
    assert "Traceback" not in errors


def test_a_folder_is_not_a_schedule(tmp_path: Path) -> None:
    status, _lines, errors = _workdays("--check", str(tmp_path))
    assert status == 2
    assert errors == f"error: {tmp_path}: is a directory, not a notification schedule\n"


def test_the_schedules_reports_follow_their_schemas(tmp_path: Path) -> None:
    schedule = _schedule(tmp_path)
    outputs = {name: tmp_path / f"report.{name}" for name in ("json", "sarif", "junit", "html")}
    args = [f"--output={name}={path}" for name, path in outputs.items()]
    status, lines, errors = _workdays("--check", str(schedule), "--format", "json", *args)
    assert status == 1
    # Standard output is the JSON report; the verdict is on standard error.
    assert json.loads("\n".join(lines)) == json.loads(outputs["json"].read_text())
    assert errors == f"{schedule}: invalid, 10 errors (9 installations)\n"
    report = json.loads(outputs["json"].read_text())
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(report)
    (file,) = report["files"]
    assert [(f["location"]["line"], f["code"], f["location"]["installation"]) for f in file["findings"]] == [
        (number, code, installation) for number, code, installation, _message in EXPECTED
    ]
    assert file["summary"]["schema"] is None
    assert report["summary"] == {"files": 1, "valid": 0, "unusable": 0, "rules_not_run": 0, "errors": 10, "warnings": 0}
    assert sarif_errors(outputs["sarif"]) == []
    log = json.loads(outputs["sarif"].read_text())
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["DRM000", "DRM001", "DRM002"]
    assert "mcfcheck's reading" in rules[1]["help"]["text"]
    results = run["results"]
    assert [result["ruleId"] for result in results] == [code for _number, code, _installation, _message in EXPECTED]
    for result, (number, _code, _installation, _message) in zip(results, EXPECTED, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": number}
    suites = etree.parse(outputs["junit"]).getroot()
    assert [case.get("name") for case in suites.iter("testcase")] == [
        "DRM000 notice-schedule-row",
        "DRM001 firmware-notice-period",
        "DRM002 migration-notice-period",
    ]
    assert "INST-2" in outputs["html"].read_text()


def test_a_report_may_not_replace_the_schedule(tmp_path: Path) -> None:
    schedule = _schedule(tmp_path)
    status, _lines, errors = _workdays("--check", str(schedule), "-o", f"json={schedule}")
    assert status == 2
    assert "is an input of this run; a report must not replace it" in errors
    assert schedule.read_bytes().startswith(b"\xef\xbb\xbfinstallation")


def test_rules_documents_the_code_of_a_row_that_cannot_be_read() -> None:
    result = runner.invoke(app, ["rules", "DRM000"])
    assert result.exit_code == 0
    assert result.output.startswith("DRM000 notice-schedule-row (error; workdays --check)")
    assert "2026-02-30" in result.output


def test_the_console_script_plans_as_a_user_would_run_it(tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("mcfcheck")
    done = subprocess.run(
        [str(executable), "workdays", "--notice", "2026-03-02", "--kind", "firmware"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert "earliest planned date: 2026-03-09 (Monday)" in done.stdout.splitlines()
    done = subprocess.run(
        [str(executable), "workdays", "--check", str(_schedule(tmp_path))], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert f"{tmp_path / 'schedule.csv'}:3: DRM001 the firmware upgrade on 2026-04-07" in done.stdout


def test_the_readmes_example_is_what_the_command_prints() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ mcfcheck workdays --notice 2026-03-30 --kind firmware\n"
    shown = readme[readme.index(command) + len(command) :].split("```", 1)[0].splitlines()
    _status, lines, _errors = _workdays(*command.split()[3:])
    assert lines == shown


def test_the_configuration_s_periods_and_calendar_are_the_rules_and_the_command_line_stands_over_them(
    tmp_path: Path,
) -> None:
    """A supplier who configured DRM002 for 10 Working Days in Scotland plans and checks with the same."""
    config = tmp_path / "mcfcheck.toml"
    config.write_text('[rules.DRM002]\nworking_days = 10\ncalendar = "northern-ireland"\n', encoding="utf-8")
    status, lines, _errors = _workdays("--notice", "2026-03-09", "--kind", "migration", "--config", str(config))
    assert status == 0
    assert _fact(lines, "notice period").startswith("10 Working Days before a migration")
    assert _fact(lines, "calendar") == "northern-ireland"
    # St Patrick's Day, Tuesday 17 March 2026, is not counted in Northern Ireland.
    assert _fact(lines, "earliest planned date") == "2026-03-24 (Tuesday)"
    _status, lines, _errors = _workdays(
        "--notice", "2026-03-09", "--kind", "migration", "--config", str(config), "--calendar", "scotland"
    )
    assert _fact(lines, "earliest planned date") == "2026-03-23 (Monday)"
    # Firmware keeps its own rule's defaults.
    _status, lines, _errors = _workdays("--notice", "2026-03-02", "--kind", "firmware", "--config", str(config))
    assert _fact(lines, "notice period").startswith("5 Working Days before a firmware upgrade")
    schedule = tmp_path / "schedule.csv"
    schedule.write_text(
        "installation,kind,notice_date,planned_date\nA,migration,2026-03-09,2026-03-23\nB,migration,2026-03-09,2026-03-24\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["workdays", "--check", str(schedule), "--config", str(config), "--format", "json"])
    report = json.loads(result.stdout)
    findings = [(finding["code"], finding["location"]["line"]) for finding in report["files"][0]["findings"]]
    assert (result.exit_code, findings) == (1, [("DRM002", 2)])
    assert "9 Working Days' notice" in report["files"][0]["findings"][0]["message"]


def test_a_configuration_that_is_wrong_is_one_line_and_status_2(tmp_path: Path) -> None:
    config = tmp_path / "mcfcheck.toml"
    config.write_text("[rules.DRM002]\nworking_days = -1\n", encoding="utf-8")
    status, lines, errors = _workdays("--notice", "2026-03-02", "--kind", "migration", "--config", str(config))
    assert (status, lines) == (2, [])
    assert "rules.DRM002.working_days of DRM002 must be" in errors
    assert len(errors.strip().splitlines()) == 1


def test_the_latest_notice_date_on_a_day_off_names_the_working_day_before_it() -> None:
    status, lines, _errors = _workdays("--planned", "2026-04-07", "--kind", "firmware")
    assert status == 0
    assert _fact(lines, "latest notice date") == "2026-03-29 (Sunday)"
    assert _fact(lines, "latest Working Day for it") == "2026-03-27 (Friday)"
    status, lines, _errors = _workdays("--planned", "2026-03-09", "--kind", "firmware")
    assert _fact(lines, "latest notice date") == "2026-03-02 (Monday)"
    assert not [line for line in lines if line.startswith("latest Working Day")]
