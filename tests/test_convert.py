"""mcfcheck convert: every installation and device with every field, in both dialects, in parts too."""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from typer.testing import CliRunner

from mcfcheck.cli import app
from mcfcheck.generate import MCFGenerator
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.parquet import ROW_GROUP_ROWS, ParquetRows, ParquetTable
from mcfcheck.rules.registry import load_registry
from mcfcheck.run.convert import TABLES, convert_files, convert_registry
from mcfcheck.run.stats import Reading, statistics_pool
from mcfcheck.schema.binding import BindingSet

from .conftest import SAMPLES
from .test_stats import BINDING, BINDING_FILE, INVENTORY_SCHEMA, PART_BYTES, _write_both

runner = CliRunner()
OWN = RuleSettings()
OTHER = RuleSettings(bindings=BindingSet.of([BINDING]))
NS = "{urn:mcfcheck:mcf}"

Table = list[dict[str, Any]]


def _convert(
    paths: list[Path],
    folder: Path,
    output_format: str,
    settings_: RuleSettings,
    jobs: int = 1,
    schema: Path | None = None,
) -> dict[str, Table]:
    folder.mkdir()
    pool = statistics_pool(jobs, convert_registry()) if jobs > 1 else None
    reading = Reading(schema, jobs, pool, part_bytes=PART_BYTES)
    counts = list(convert_files(paths, settings_, output_format, folder, reading))
    assert all(count.error is None for count in counts)
    assert sorted(path.name for path in folder.iterdir()) == sorted(f"{name}.{output_format}" for name in TABLES)
    return {name: _read(folder / f"{name}.{output_format}") for name in TABLES}


def _typed(name: str, kind: str, text: str) -> Any:
    if text == "":
        return None
    if kind == "int":
        return int(text)
    if kind == "bool":
        return {"true": True, "false": False}[text]
    return text


def _read(path: Path) -> Table:
    """A table read back as an analyst would: CSV through the csv module, JSON Lines line by line,
    Parquet with pyarrow (its dates as ISO text, as the other formats write them).
    """
    if path.suffix == ".parquet":
        rows = pq.read_table(path).to_pylist()
        return [{k: v.isoformat() if isinstance(v, dt.date) else v for k, v in row.items()} for row in rows]
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    columns = dict(TABLES[path.stem])
    with path.open(newline="", encoding="utf-8") as stream:
        return [
            {name: _typed(name, columns[name], text) for name, text in row.items()} for row in csv.DictReader(stream)
        ]


def _text(element: etree._Element, path: str) -> str | None:
    found = element.find(path)
    return found.text.strip() if found is not None and found.text is not None else None


def _expected(path: Path) -> tuple[Table, Table]:
    """The installations' and devices' fields, read independently with lxml (mcfcheck's dialect)."""
    root = etree.parse(str(path)).getroot()
    installations: Table = []
    devices: Table = []
    for site in root.iterfind(f"{NS}Installations/{NS}Installation"):
        reference = _text(site, f"{NS}InstallationReference")
        hub = site.find(f"{NS}CommunicationsHub")
        assert hub is not None
        units = [hub, *site.iterfind(f"{NS}Devices/{NS}Device")]
        wan = f"{NS}CommunicationsHub/{NS}WAN/{NS}"
        notice = f"{NS}DormantNotice/{NS}"
        cutover = _text(site, f"{NS}Prepayment/{NS}UTRNCutoverHours")
        installations.append(
            {
                "file": str(path),
                "line": site.sourceline,
                "reference": reference,
                "status": _text(site, f"{NS}Status"),
                "mpan": _text(site, f"{NS}MeterPoints/{NS}MPANCore"),
                "mprn": _text(site, f"{NS}MeterPoints/{NS}MPRN"),
                "hub_device_id": _text(hub, f"{NS}DeviceID"),
                "hub_manufacturer": _text(hub, f"{NS}DeviceModel/{NS}Manufacturer"),
                "hub_model": _text(hub, f"{NS}DeviceModel/{NS}Model"),
                "hub_firmware_version": _text(hub, f"{NS}DeviceModel/{NS}FirmwareVersion"),
                "iccid": _text(site, wan + "ICCID"),
                "imsi": _text(site, wan + "IMSI"),
                "static_ip": _text(site, wan + "StaticIPAddress"),
                "apn": _text(site, wan + "APN"),
                "devices": len(units),
                "prepayment": site.find(f"{NS}Prepayment") is not None,
                "utrn_cutover_hours": int(cutover) if cutover is not None else None,
                "dormant_notice": site.find(f"{NS}DormantNotice") is not None,
                "firmware_notice_date": _text(site, notice + "FirmwareNoticeDate"),
                "planned_upgrade_date": _text(site, notice + "PlannedUpgradeDate"),
                "migration_notice_date": _text(site, notice + "MigrationNoticeDate"),
                "planned_migration_date": _text(site, notice + "PlannedMigrationDate"),
                "shorter_notice_agreed": _text(site, notice + "ShorterNoticeAgreed") == "true",
            }
        )
        for position, unit in enumerate(units):
            auxiliary = _text(unit, f"{NS}AuxiliaryLoad")
            devices.append(
                {
                    "file": str(path),
                    "installation_reference": reference,
                    "installation_line": site.sourceline,
                    "position": position,
                    "device_type": "CHF" if unit is hub else _text(unit, f"{NS}DeviceType"),
                    "device_id": _text(unit, f"{NS}DeviceID"),
                    "manufacturer": _text(unit, f"{NS}DeviceModel/{NS}Manufacturer"),
                    "model": _text(unit, f"{NS}DeviceModel/{NS}Model"),
                    "firmware_version": _text(unit, f"{NS}DeviceModel/{NS}FirmwareVersion"),
                    "payment_mode": _text(unit, f"{NS}PaymentMode"),
                    "auxiliary_load": None if auxiliary is None else auxiliary == "true",
                }
            )
    return installations, devices


def _without_places(table: Table) -> Table:
    """Rows less what differs between dialects: the file and the lines."""
    return [{k: v for k, v in row.items() if k not in ("file", "line", "installation_line")} for row in table]


@pytest.mark.parametrize("cohort", sorted(builtin_cohorts()))
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=10_000), output_format=st.sampled_from(["csv", "jsonl", "parquet"]))
def test_every_installation_and_device_with_every_field_in_both_dialects(
    tmp_path: Path, cohort: str, seed: int, output_format: str
) -> None:
    own, other = _write_both(tmp_path, cohort, seed, 60)
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    mine = _convert([own], folder / "own", output_format, OWN)
    theirs = _convert([other], folder / "other", output_format, OTHER, schema=INVENTORY_SCHEMA)
    installations, devices = _expected(own)
    assert mine["installations"] == installations
    assert mine["devices"] == devices
    # The same content in the other dialect: the same rows but for the file and the lines.
    assert _without_places(theirs["installations"]) == _without_places(installations)
    assert _without_places(theirs["devices"]) == _without_places(devices)
    (row,) = mine["files"]
    assert (row["installations"], row["devices"]) == (len(installations), len(devices))
    assert row["installations_agree"] is True
    assert row["cohort"] == cohort


def test_in_parts_the_tables_are_those_of_one_pass(tmp_path: Path) -> None:
    own, other = _write_both(tmp_path, "CB", 8, 400)
    for path, settings_, schema in ((own, OWN, None), (other, OTHER, INVENTORY_SCHEMA)):
        for output_format in ("csv", "jsonl", "parquet"):
            whole = tmp_path / f"whole-{path.stem}-{output_format}"
            parts = tmp_path / f"parts-{path.stem}-{output_format}"
            in_one_pass = _convert([path], whole, output_format, settings_, schema=schema)
            in_parts = _convert([path], parts, output_format, settings_, jobs=2, schema=schema)
            assert in_parts == in_one_pass
            if output_format != "parquet":  # whose row groups are the parts'
                for name in TABLES:
                    table = f"{name}.{output_format}"
                    assert (parts / table).read_bytes() == (whole / table).read_bytes(), table
            else:
                assert pq.ParquetFile(parts / "devices.parquet").num_row_groups > 1


def test_several_files_and_one_that_cannot_be_read(tmp_path: Path) -> None:
    own, _other = _write_both(tmp_path, "IOC", 2, 30)
    out = tmp_path / "tables"
    missing = tmp_path / "missing.xml"
    result = runner.invoke(
        app,
        [
            "convert",
            "--jobs",
            "1",
            "--to",
            "csv",
            "-o",
            str(out),
            str(own),
            str(missing),
            str(SAMPLES / "cb-valid.xml"),
        ],
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {missing}: no such file"
    assert result.stdout.splitlines()[0].startswith(f"{own}: 30 installations (the trailer agrees), ")
    files = _read(out / "files.csv")
    assert [row["file"] for row in files] == [str(own), str(missing), str(SAMPLES / "cb-valid.xml")]
    assert files[1]["error"] == f"{missing}: no such file"
    assert files[1]["installations"] is None
    installations = _read(out / "installations.csv")
    assert len(installations) == 34
    assert {row["file"] for row in installations} == {str(own), str(SAMPLES / "cb-valid.xml")}
    assert sum(row["devices"] for row in installations) == len(_read(out / "devices.csv"))


def test_the_folder_appears_whole_and_is_replaced_only_with_force(tmp_path: Path) -> None:
    sample = SAMPLES / "cb-valid.xml"
    out = tmp_path / "tables"
    out.mkdir()
    (out / "old.txt").write_text("old")
    result = runner.invoke(app, ["convert", "-j", "1", "--to", "jsonl", "-o", str(out), str(sample)])
    assert result.exit_code == 2
    assert "exists; give --force to replace it" in result.stderr
    assert [path.name for path in out.iterdir()] == ["old.txt"]
    result = runner.invoke(app, ["convert", "-j", "1", "--to", "jsonl", "-o", str(out), "--force", str(sample)])
    assert result.exit_code == 0
    assert sorted(path.name for path in out.iterdir()) == ["devices.jsonl", "files.jsonl", "installations.jsonl"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tables"]
    # A folder that holds an input is never replaced.
    inside = out / "input.xml"
    inside.write_bytes(sample.read_bytes())
    result = runner.invoke(app, ["convert", "-j", "1", "--to", "csv", "-o", str(out), "--force", str(inside)])
    assert result.exit_code == 2
    assert "an input of this run" in result.stderr
    assert inside.exists()
    # Nor an input itself.
    result = runner.invoke(app, ["convert", "-j", "1", "--to", "csv", "-o", str(inside), "--force", str(inside)])
    assert result.exit_code == 2
    assert "is an input of this run" in result.stderr
    assert inside.read_bytes() == sample.read_bytes()
    # A format that is not one: nothing is written.
    result = runner.invoke(app, ["convert", "-j", "1", "--to", "xlsx", "-o", str(tmp_path / "new"), str(sample)])
    assert result.exit_code == 2
    assert not (tmp_path / "new").exists()


def test_the_second_dialect_on_the_command_line(tmp_path: Path) -> None:
    _own, other = _write_both(tmp_path, "SECURE", 6, 20)
    out = tmp_path / "tables"
    arguments = ["convert", "-j", "1", "--to", "csv", "-o", str(out), "--schema", str(INVENTORY_SCHEMA)]
    result = runner.invoke(app, [*arguments, "--binding", str(BINDING_FILE), str(other)])
    assert result.exit_code == 0, result.output
    assert len(_read(out / "installations.csv")) == 20


def test_duckdb_queries_the_parquet_tables_as_an_analyst_would(tmp_path: Path) -> None:
    own, _other = _write_both(tmp_path, "FOC", 12, 200)
    tables = _convert([own], tmp_path / "tables", "parquet", OWN)
    connection = duckdb.connect()
    for name in TABLES:
        connection.read_parquet(str(tmp_path / "tables" / f"{name}.parquet")).create_view(name)
    by_type = dict(connection.execute("SELECT device_type, count(*) FROM devices GROUP BY 1").fetchall())
    expected: dict[str, int] = {}
    for row in tables["devices"]:
        expected[row["device_type"]] = expected.get(row["device_type"], 0) + 1
    assert by_type == expected
    relation = connection.table("installations")
    types = dict(zip(relation.columns, map(str, relation.types), strict=True))
    assert (types["line"], types["prepayment"], types["planned_migration_date"]) == ("BIGINT", "BOOLEAN", "DATE")
    found = connection.execute(
        "SELECT count(*), min(planned_migration_date) FROM installations WHERE status = 'Dormant'"
    ).fetchone()
    planned = [row["planned_migration_date"] for row in tables["installations"] if row["status"] == "Dormant"]
    first = min((dt.date.fromisoformat(day) for day in planned if day is not None), default=None)
    assert found == (len(planned), first)
    joined = connection.execute(
        "SELECT count(*) FROM devices d JOIN installations i ON d.installation_reference = i.reference"
    ).fetchone()
    assert joined == (len(tables["devices"]),)
    assert connection.execute("SELECT installations_agree, devices_agree FROM files").fetchall() == [(True, True)]


def test_parquet_without_pyarrow_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mcfcheck.rules.parquet.parquet_available", lambda: False)
    out = tmp_path / "tables"
    arguments = ["convert", "-j", "1", "--to", "parquet", "-o", str(out), str(SAMPLES / "cb-valid.xml")]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2
    assert result.stderr == "error: --to parquet needs pyarrow: pip install 'mcfcheck[parquet]'\n"
    assert not out.exists()


def _fields(finding: dict[str, Any]) -> dict[str, Any]:
    return {key: finding[key] for key in ("code", "rule", "severity", "message")}


def _report_findings(paths: list[Path], jobs: str) -> Table:
    result = runner.invoke(app, ["validate", "--jobs", jobs, "--format", "json", *map(str, paths)])
    assert result.exit_code == 1
    return [
        {"file": file["path"], **finding["location"], **_fields(finding)}
        for file in json.loads(result.stdout)["files"]
        for finding in file["findings"]
    ]


def test_with_findings_the_findings_table_is_validates_report(tmp_path: Path) -> None:
    jobs = "1"
    spoiled = tmp_path / "spoiled.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=3, error_rate=0.05).write(spoiled, 400)
    inputs = [spoiled, SAMPLES / "GEN010-unique-device-id-invalid.xml", SAMPLES / "mpan-format-invalid.xml"]
    out = tmp_path / "tables"
    arguments = ["convert", "--jobs", jobs, "--to", "jsonl", "--with-findings", "-o", str(out)]
    result = runner.invoke(app, [*arguments, *map(str, inputs)])
    assert result.exit_code == 0, result.output
    findings = _read(out / "findings.jsonl")
    assert findings == _report_findings(inputs, jobs)
    assert len(findings) > 10
    assert {row["code"] for row in findings} >= {"XSD001", "GEN010"}
    # The other tables are those of a conversion without findings.
    plain = tmp_path / "plain"
    result = runner.invoke(app, ["convert", "--jobs", jobs, "--to", "jsonl", "-o", str(plain), *map(str, inputs)])
    assert result.exit_code == 0
    for name in TABLES:
        assert (out / f"{name}.jsonl").read_bytes() == (plain / f"{name}.jsonl").read_bytes()


def test_with_findings_in_parts(tmp_path: Path) -> None:
    spoiled = tmp_path / "spoiled.xml"
    MCFGenerator(builtin_cohorts()["IOC"], seed=5, error_rate=0.05).write(spoiled, 400)
    registry = load_registry()
    tables = []
    for jobs in (1, 2):
        folder = tmp_path / f"jobs-{jobs}"
        folder.mkdir()
        pool = statistics_pool(jobs, convert_registry(registry)) if jobs > 1 else None
        reading = Reading(None, jobs, pool, part_bytes=PART_BYTES)
        assert [count.error for count in convert_files([spoiled], OWN, "csv", folder, reading, registry)] == [None]
        tables.append({path.name: path.read_bytes() for path in folder.iterdir()})
    assert tables[0] == tables[1]
    assert tables[0]["findings.csv"].count(b"\r\n") > 10


def test_the_parts_parquet_files_are_joined_as_they_are(tmp_path: Path) -> None:
    """The join copies the parts' column chunks: the table reads (in pyarrow and DuckDB) as the parts'
    rows one after another, with every row group (more than a short Thrift list holds), numbered anew.
    """
    columns = (("name", "str"), ("count", "int"), ("flag", "bool"), ("day", "date"))
    rows: list[tuple[Any, ...]] = []
    parts: list[str] = []
    for part in range(5):
        writer = ParquetRows(tmp_path, f"part{part}-", columns)
        for number in range(0 if part == 2 else 7 * ROW_GROUP_ROWS // 2 + part):
            row = (f"{part}-{number % 97}", number if number % 5 else None, number % 3 == 0, dt.date(2026, 1, 1 + part))
            writer.write(row)
            rows.append(row)
        parts.append(writer.close())
    joined = tmp_path / "joined.parquet"
    table = ParquetTable(joined, columns)
    for written in parts:
        table.add(written)
    table.close()
    assert not any(Path(written).exists() for written in parts)
    described = pq.ParquetFile(joined).metadata
    assert (described.num_rows, described.num_row_groups) == (len(rows), 16)
    assert [tuple(row.values()) for row in pq.read_table(joined).to_pylist()] == rows
    assert duckdb.connect().read_parquet(str(joined)).fetchall() == rows
    empty = tmp_path / "empty.parquet"
    ParquetTable(empty, columns).close()
    assert pq.read_table(empty).num_rows == 0
    assert pq.read_table(empty).schema.names == [name for name, _kind in columns]


def test_the_command_line_converts_to_parquet_without_importing_numpy(tmp_path: Path) -> None:
    # mcfcheck's own process keeps pyarrow from importing numpy (which it does not use), and
    # the tables are as complete as the in-process runs above.
    script = (
        "import sys\n"
        "from mcfcheck.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "print('numpy' in sys.modules)\n"
        "sys.exit(status)\n"
    )
    out = tmp_path / "tables"
    done = subprocess.run(
        [sys.executable, "-c", script, "convert", str(SAMPLES / "cb-valid.xml"), "--to", "parquet", "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
    table = pq.read_table(out / "installations.parquet")
    assert table.num_rows == len(etree.parse(SAMPLES / "cb-valid.xml").getroot().findall(".//{*}Installation"))
    assert str(table.schema.field("planned_migration_date").type) == "date32[day]"
