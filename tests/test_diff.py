"""mcfcheck diff: a file against itself, planted changes found exactly, both dialects, in parts, the CLI."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import gzip
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from typer.testing import CliRunner

from mcfcheck.cli import app
from mcfcheck.dialects import translate
from mcfcheck.generate import MCFGenerator
from mcfcheck.reports.diff import CSV_COLUMNS, change_row
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.run.diff import FileDiff, diff_files
from mcfcheck.run.stats import Reading
from mcfcheck.schema.binding import BindingSet, default_binding

from .test_stats import BINDING, BINDING_FILE, INVENTORY_SCHEMA, PART_BYTES

ROOT = Path(__file__).resolve().parent.parent
DIFF_SCHEMA = ROOT / "schemas" / "mcfcheck-diff-1.0.schema.json"
NS = "{urn:mcfcheck:mcf}"
BOTH = RuleSettings(bindings=BindingSet.of([BINDING]))
COHORTS = sorted(builtin_cohorts())
runner = CliRunner()

#: A change as the CSV table gives it: reference, change, concept, device ID, old, new.
Row = tuple[str, str, str, str, str, str]


def _generated(cohort: str, seed: int, installations: int) -> str:
    return "".join(MCFGenerator(builtin_cohorts()[cohort], seed=seed).iter_text(installations))


def _other(text: str) -> str:
    return "".join(translate([text.encode()], default_binding(), BINDING))


def _rows(found: FileDiff) -> set[Row]:
    """Every difference as rows, as the CSV table gives them (without its header row)."""
    rows: set[Row] = set()
    rows.update(change_row("", change) for change in found.header)
    rows.update((reference, "added", "", "", "", "") for reference, _ in found.added())
    rows.update((reference, "removed", "", "", "", "") for reference, _ in found.removed())
    for changed in found.changed():
        assert changed.changes, changed
        rows.update(change_row(changed.reference, change) for change in changed.changes)
    for duplicate in found.duplicates():
        rows.add((duplicate.reference, "duplicate", duplicate.side, "", str(len(duplicate.lines)), ""))
    return rows


def _diff(
    old: Path, new: Path, jobs: int = 1, schema: Path | None = None, new_schema: Path | None = None
) -> tuple[set[Row], FileDiff]:
    reading = Reading(schema, jobs, part_bytes=PART_BYTES, batch_part_bytes=PART_BYTES)
    with diff_files(old, new, BOTH, reading, new_schema=new_schema) as found:
        return _rows(found), found


# -- planting changes with lxml -------------------------------------------------------


def _find(element: etree._Element, path: str) -> etree._Element | None:
    return element.find("/".join(NS + step for step in path.split("/")))


def _reference(installation: etree._Element) -> str:
    found = _find(installation, "InstallationReference")
    assert found is not None
    return found.text or ""


Plant = Callable[[etree._Element, int], set[Row] | None]


def _set(path: str, concept: str, new: Callable[[str], str]) -> Plant:
    """An edit of an installation's own concept at ``path``; None where the installation lacks it."""

    def plant(installation: etree._Element, n: int) -> set[Row] | None:
        element = _find(installation, path)
        if element is None or not element.text:
            return None
        old = element.text
        element.text = new(old)
        return {(_reference(installation), "changed", concept, "", old, element.text)}

    return plant


def _set_device(path: str, concept: str, new: Callable[[str], str], hub: bool = False) -> Plant:
    def plant(installation: etree._Element, n: int) -> set[Row] | None:
        devices = (
            [_find(installation, "CommunicationsHub")] if hub else installation.iterfind(f"{NS}Devices/{NS}Device")
        )
        for device in devices:
            element = _find(device, path) if device is not None else None
            if device is None or element is None or not element.text:
                continue
            device_id = _find(device, "DeviceID")
            assert device_id is not None
            old = element.text
            element.text = new(old)
            return {(_reference(installation), "device-changed", concept, device_id.text or "", old, element.text)}
        return None

    return plant


def _new_id(n: int) -> str:
    return f"AA-BB-CC-DD-EE-FF-{n // 256:02X}-{n % 256:02X}"


def _swap(installation: etree._Element, n: int) -> set[Row] | None:
    device = _find(installation, "Devices/Device")
    if device is None:
        return None
    device_id, device_type = _find(device, "DeviceID"), _find(device, "DeviceType")
    assert device_id is not None
    assert device_type is not None
    old = device_id.text or ""
    device_id.text = _new_id(n)
    return {(_reference(installation), "device-swapped", device_type.text or "", device_id.text, old, device_id.text)}


def _swap_hub(installation: etree._Element, n: int) -> set[Row] | None:
    device_id = _find(installation, "CommunicationsHub/DeviceID")
    if device_id is None:
        return None
    old = device_id.text or ""
    device_id.text = _new_id(n)
    return {(_reference(installation), "device-swapped", "CHF", device_id.text, old, device_id.text)}


def _remove_device(installation: etree._Element, n: int) -> set[Row] | None:
    devices = list(installation.iterfind(f"{NS}Devices/{NS}Device"))
    if len(devices) < 2:
        return None
    device = devices[-1]
    device_id, device_type = _find(device, "DeviceID"), _find(device, "DeviceType")
    assert device_id is not None
    assert device_type is not None
    device.getparent().remove(device)  # type: ignore[union-attr]
    return {
        (
            _reference(installation),
            "device-removed",
            device_type.text or "",
            device_id.text or "",
            device_id.text or "",
            "",
        )
    }


def _add_device(installation: etree._Element, n: int) -> set[Row] | None:
    devices = list(installation.iterfind(f"{NS}Devices/{NS}Device"))
    if not devices:
        return None
    added = copy.deepcopy(devices[0])
    device_id, device_type = _find(added, "DeviceID"), _find(added, "DeviceType")
    assert device_id is not None
    assert device_type is not None
    device_id.text = _new_id(n)
    # No device is removed: an added one of a type already there is no swap.
    devices[-1].addnext(added)
    return {(_reference(installation), "device-added", device_type.text or "", device_id.text, "", device_id.text)}


def _payment(old: str) -> str:
    return "Credit" if old == "Prepayment" else "Prepayment"


def _status(old: str) -> str:
    return "Dormant" if old == "Active" else "Active"


def _day_later(old: str) -> str:
    return (dt.date.fromisoformat(old) + dt.timedelta(days=1)).isoformat()


def _digit(old: str) -> str:
    return old[:-1] + str((int(old[-1]) + 1) % 10)


#: Each kind of change a test plants in an installation.
PLANTS: dict[str, Plant] = {
    "status": _set("Status", "status", _status),
    "mpan": _set("MeterPoints/MPANCore", "mpan", _digit),
    "mprn": _set("MeterPoints/MPRN", "mprn", _digit),
    "iccid": _set("CommunicationsHub/WAN/ICCID", "iccid", _digit),
    "imsi": _set("CommunicationsHub/WAN/IMSI", "imsi", _digit),
    "static_ip": _set("CommunicationsHub/WAN/StaticIPAddress", "static_ip", lambda old: "10.1.2.3"),
    "apn": _set("CommunicationsHub/WAN/APN", "apn", lambda old: old + "-new"),
    "utrn_cutover_hours": _set("Prepayment/UTRNCutoverHours", "utrn_cutover_hours", lambda old: str(int(old) + 1)),
    "planned_migration_date": _set("DormantNotice/PlannedMigrationDate", "planned_migration_date", _day_later),
    "migration_notice_date": _set("DormantNotice/MigrationNoticeDate", "migration_notice_date", _day_later),
    "firmware_notice_date": _set("DormantNotice/FirmwareNoticeDate", "firmware_notice_date", _day_later),
    "hub_firmware": _set_device("DeviceModel/FirmwareVersion", "firmware_version", lambda old: old + ".1", hub=True),
    "firmware": _set_device("DeviceModel/FirmwareVersion", "firmware_version", lambda old: old + ".1"),
    "model": _set_device("DeviceModel/Model", "model", lambda old: old + "-B"),
    "manufacturer": _set_device("DeviceModel/Manufacturer", "manufacturer", lambda old: old + " Ltd"),
    "payment_mode": _set_device("PaymentMode", "payment_mode", _payment),
    "swap": _swap,
    "hub_swap": _swap_hub,
    "device_removed": _remove_device,
    "device_added": _add_device,
}
KINDS = sorted([*PLANTS, "added", "removed", "header"])


def _plant(text: str, kinds: list[str], start: int) -> tuple[str, set[Row]]:
    """``text`` with each kind of change planted in an installation of its own; the rows a diff should give."""
    root = etree.fromstring(text.encode())
    installations = list(root.iterfind(f"{NS}Installations/{NS}Installation"))
    free = installations[start:] + installations[:start]
    expected: set[Row] = set()
    for n, kind in enumerate(kinds):
        if kind == "header":
            identifier = _find(root, "Header/FileIdentifier")
            assert identifier is not None
            old = identifier.text or ""
            identifier.text = old + "-2"
            expected.add(("", "header", "file_identifier", "", old, identifier.text))
            continue
        for index, installation in enumerate(free):
            if kind == "added":
                added = copy.deepcopy(installation)
                reference = _find(added, "InstallationReference")
                assert reference is not None
                reference.text = f"ADDED-{n:06d}"
                installation.addnext(added)
                planted: set[Row] | None = {(reference.text, "added", "", "", "", "")}
            elif kind == "removed":
                planted = {(_reference(installation), "removed", "", "", "", "")}
                installation.getparent().remove(installation)  # type: ignore[union-attr]
            else:
                planted = PLANTS[kind](installation, n)
            if planted is not None:
                expected |= planted
                del free[index]
                break
    written = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
    return written, expected


# -- properties -------------------------------------------------------------------------


@pytest.mark.parametrize("cohort", COHORTS)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), installations=st.integers(0, 12))
def test_a_file_against_itself_has_no_difference(tmp_path: Path, cohort: str, seed: int, installations: int) -> None:
    text = _generated(cohort, seed, installations)
    own, other = tmp_path / f"own-{seed}.xml", tmp_path / f"other-{seed}.xml"
    own.write_text(text, encoding="utf-8")
    other.write_text(_other(text), encoding="utf-8")
    assert _diff(own, own)[0] == set()
    assert _diff(other, other, schema=INVENTORY_SCHEMA)[0] == set()
    # The same installations in another dialect are the same concepts.
    rows, found = _diff(own, other, new_schema=INVENTORY_SCHEMA)
    assert rows == set()
    assert found.summary.unchanged == installations
    assert not found.summary.differences


@pytest.mark.parametrize("cohort", COHORTS)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=6, unique=True),
    start=st.integers(0, 20),
)
def test_planted_changes_are_found_exactly(
    tmp_path: Path, cohort: str, seed: int, kinds: list[str], start: int
) -> None:
    text = _generated(cohort, seed, 24)
    changed, expected = _plant(text, kinds, start)
    old, new = tmp_path / f"old-{seed}.xml", tmp_path / f"new-{seed}.xml"
    old.write_text(text, encoding="utf-8")
    new.write_text(changed, encoding="utf-8")
    rows, found = _diff(old, new)
    assert rows == expected
    assert found.summary.differences == bool(expected)
    # The second dialect, and one file in each.
    other_old, other_new = tmp_path / f"other-old-{seed}.xml", tmp_path / f"other-new-{seed}.xml"
    other_old.write_text(_other(text), encoding="utf-8")
    other_new.write_text(_other(changed), encoding="utf-8")
    assert _diff(other_old, other_new, schema=INVENTORY_SCHEMA)[0] == expected
    assert _diff(old, other_new, new_schema=INVENTORY_SCHEMA)[0] == expected


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_change_in_parts(tmp_path: Path, kind: str) -> None:
    """Every kind, on files read in parts by two workers: the same as in one pass."""
    text = _generated(COHORTS[0], 7, 60)
    changed, expected = _plant(text, [kind], 30)
    assert expected, kind
    old, new = tmp_path / "old.xml", tmp_path / "new.xml"
    old.write_text(text, encoding="utf-8")
    new.write_text(changed, encoding="utf-8")
    assert old.stat().st_size > 2 * PART_BYTES
    assert _diff(old, new, jobs=2)[0] == expected
    assert _diff(old, new)[0] == expected


def test_duplicate_references_are_reported_not_matched(tmp_path: Path) -> None:
    text = _generated(COHORTS[0], 3, 6)
    root = etree.fromstring(text.encode())
    first = root.find(f"{NS}Installations/{NS}Installation")
    assert first is not None
    twin = copy.deepcopy(first)
    status = _find(twin, "Status")
    assert status is not None
    status.text = _status(status.text or "")
    first.addnext(twin)
    reference = _reference(first)
    doubled = tmp_path / "doubled.xml"
    doubled.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    plain = tmp_path / "plain.xml"
    plain.write_text(text, encoding="utf-8")
    rows, found = _diff(plain, doubled)
    assert rows == {(reference, "duplicate", "new", "", "2", "")}
    assert found.summary.differences
    # The same installations under a duplicated reference in both files: no difference.
    assert _diff(doubled, doubled)[0] == set()


# -- the command line -----------------------------------------------------------------------


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path, set[Row]]:
    text = _generated(COHORTS[0], 11, 20)
    changed, expected = _plant(text, ["added", "removed", "status", "swap", "firmware", "header"], 3)
    old, new = tmp_path / "old.xml", tmp_path / "new.xml"
    old.write_text(text, encoding="utf-8")
    new.write_text(changed, encoding="utf-8")
    return old, new, expected


def test_cli_exit_status_and_formats(tmp_path: Path, pair: tuple[Path, Path, set[Row]]) -> None:
    old, new, expected = pair
    same = runner.invoke(app, ["diff", str(old), str(old), "-q", "-j", "1"])
    assert same.exit_code == 0, same.output
    assert "no differences" in same.stdout
    console_run = runner.invoke(app, ["diff", str(old), str(new), "-q", "-j", "1"])
    assert console_run.exit_code == 1, console_run.output
    assert "1 added, 1 removed, 3 changed" in console_run.stdout
    assert "header file_identifier:" in console_run.stdout

    report, table = tmp_path / "diff.json", tmp_path / "diff.csv"
    args = ["diff", str(old), str(new), "-q", "--format", "json", "-o", f"csv={table}", "-o", f"json={report}"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, json.loads(DIFF_SCHEMA.read_text(encoding="utf-8")))
    assert json.loads(report.read_text(encoding="utf-8")) == document
    assert document["summary"] == {
        "differences": True,
        "added": 1,
        "removed": 1,
        "changed": 3,
        "unchanged": 16,
        "duplicates": 0,
        "header": 1,
    }
    with table.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert {tuple(row) for row in rows[1:]} == expected
    assert len(rows) - 1 == len(expected)

    same_json = runner.invoke(app, ["diff", str(old), str(old), "-q", "--format", "json"])
    assert same_json.exit_code == 0
    empty = json.loads(same_json.stdout)
    jsonschema.validate(empty, json.loads(DIFF_SCHEMA.read_text(encoding="utf-8")))
    assert empty["added"] == empty["removed"] == empty["changed"] == empty["header"] == []


def test_cli_gzip_and_dialects(tmp_path: Path, pair: tuple[Path, Path, set[Row]]) -> None:
    old, new, expected = pair
    zipped = tmp_path / "old.xml.gz"
    zipped.write_bytes(gzip.compress(old.read_bytes()))
    other = tmp_path / "new-other.xml"
    other.write_text(_other(new.read_text(encoding="utf-8")), encoding="utf-8")
    config = tmp_path / "mcfcheck.toml"
    config.write_text(f'bindings = ["{BINDING_FILE.as_posix()}"]\n', encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "diff",
            str(zipped),
            str(other),
            "-q",
            "--format",
            "csv",
            "--config",
            str(config),
            "--new-schema",
            str(INVENTORY_SCHEMA),
        ],
    )
    assert result.exit_code == 1, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert {tuple(row) for row in rows[1:]} == expected


@pytest.mark.parametrize(
    "problem",
    ["missing", "not-xml", "format", "output-format", "output-is-input", "output-folder"],
)
def test_cli_unusable_is_one_line_and_status_2(tmp_path: Path, pair: tuple[Path, Path, set[Row]], problem: str) -> None:
    old, new, _ = pair
    bad = tmp_path / "bad.xml"
    bad.write_text("not xml at all", encoding="utf-8")
    args = {
        "missing": [str(old), str(tmp_path / "absent.xml")],
        "not-xml": [str(bad), str(new)],
        "format": [str(old), str(new), "--format", "html"],
        "output-format": [str(old), str(new), "-o", f"html={tmp_path / 'x.html'}"],
        "output-is-input": [str(old), str(new), "-o", f"json={new}"],
        "output-folder": [str(old), str(new), "-o", f"json={tmp_path}"],
    }[problem]
    before = new.read_bytes()
    result = runner.invoke(app, ["diff", *args, "-q"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert new.read_bytes() == before


# -- memory ---------------------------------------------------------------------------------

#: Run in a child of its own: ``diff`` of two files, then that process's peak RSS in KB
#: (``VmHWM``: a forked child's ``ru_maxrss`` would count pytest's memory too).
_MEASURE = """
import sys
from mcfcheck.cli import main
status = main(["diff", "-q", "--format", "csv", "--jobs", sys.argv[3], sys.argv[1], sys.argv[2]])
with open("/proc/self/status") as proc:
    peak_kb = next(int(line.split()[1]) for line in proc if line.startswith("VmHWM:"))
print(peak_kb)
"""


def _diff_peak_mb(old: Path, new: Path, jobs: int) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(old), str(new), str(jobs)], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip().splitlines()[-1]) / 1024


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_peak_memory_does_not_grow_with_the_files(tmp_path: Path, jobs: int) -> None:
    """Ten times the installations, a tenth of them changed: the same peak memory, under 200 MB."""
    peaks = []
    for installations in (2_000, 20_000):
        text = _generated("CB", 5, installations)
        changed, expected = _plant(text, ["added", "removed", "status", "swap", "firmware"], 0)
        changed = changed.replace("<Status>Active<", "<Status>Dormant<", installations // 10)
        old, new = tmp_path / f"old-{installations}.xml", tmp_path / f"new-{installations}.xml"
        old.write_text(text, encoding="utf-8")
        new.write_text(changed, encoding="utf-8")
        assert expected
        peaks.append(_diff_peak_mb(old, new, jobs))
    small, large = peaks
    assert large <= 1.3 * small, peaks
    assert large < 200, peaks
