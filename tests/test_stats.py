"""mcfcheck stats: its counts equal those made independently with lxml, in both dialects, in parts too."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
from collections import Counter
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
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.statistics import DIMENSION_NAMES, HEADER_FIELDS, FileStatistics, Key, combine
from mcfcheck.run.stats import FileCount, count_files, statistics_pool, statistics_settings
from mcfcheck.schema.binding import BindingSet, default_binding, load_binding

from .conftest import ROOT, SAMPLES

runner = CliRunner()
INVENTORY = ROOT / "tests" / "data" / "inventory dialect"
BINDING_FILE = INVENTORY / "inventory.binding.toml"
BINDING = load_binding(BINDING_FILE)
INVENTORY_SCHEMA = INVENTORY / "Inventory Schema 2.0.xsd"
STATS_SCHEMA = ROOT / "schemas" / "mcfcheck-stats-1.0.schema.json"
PART_BYTES = 40_000
OWN = statistics_settings(RuleSettings())
OTHER = statistics_settings(RuleSettings(bindings=BindingSet.of([BINDING])))

Counts = dict[str, Counter[Key]]


# -- the counts, made independently with lxml -------------------------------------------


def _week(text: str | None) -> str | None:
    if text is None:
        return None
    year, week, _day = dt.date.fromisoformat(text).isocalendar()
    return f"{year}-W{week:02d}"


def _fuel(electricity: bool, gas: bool) -> str | None:
    if electricity and gas:
        return "dual fuel"
    return "electricity only" if electricity else "gas only" if gas else None


def _add(counts: Counts, name: str, *key: str | None, count: int = 1) -> None:
    counts[name][tuple(key)] += count


def _empty() -> Counts:
    return {name: Counter() for name in DIMENSION_NAMES}


def _text(element: etree._Element, path: str) -> str | None:
    found = element.find(path)
    return found.text.strip() if found is not None and found.text is not None else None


def _header(root: etree._Element, where: str, ns: str, names: tuple[str, ...]) -> dict[str, str | None]:
    """The header's fields, each at its element's name in ``names`` (in the order of HEADER_FIELDS)."""
    header = root.find(where)
    assert header is not None
    return {field: _text(header, ns + name) for field, name in zip(HEADER_FIELDS, names, strict=True)}


def own_counts(path: Path) -> tuple[Counts, dict[str, str | None], tuple[int, int, int, int]]:
    """The distributions, header and totals of a file in mcfcheck's dialect, by XPath."""
    ns = "{urn:mcfcheck:mcf}"
    root = etree.parse(str(path)).getroot()
    counts = _empty()
    installations = devices = 0
    names = ("FileIdentifier", "CreationDateTime", "GroupID", "SMSOName", "SupplierPartyID")
    fields = _header(root, f"{ns}Header", ns, names)
    for site in root.iterfind(f"{ns}Installations/{ns}Installation"):
        installations += 1
        status = _text(site, f"{ns}Status")
        _add(counts, "installations_by_status", status)
        mpan, mprn = site.find(f"{ns}MeterPoints/{ns}MPANCore"), site.find(f"{ns}MeterPoints/{ns}MPRN")
        _add(counts, "installations_by_meter_points", _fuel(mpan is not None, mprn is not None))
        hub = site.find(f"{ns}CommunicationsHub")
        if hub is not None:
            devices += 1
            model = [_text(hub, f"{ns}DeviceModel/{ns}{name}") for name in ("Manufacturer", "Model", "FirmwareVersion")]
            _add(counts, "devices_by_model", "CHF", *model)
        for device in site.iterfind(f"{ns}Devices/{ns}Device"):
            devices += 1
            model = [
                _text(device, f"{ns}DeviceModel/{ns}{name}") for name in ("Manufacturer", "Model", "FirmwareVersion")
            ]
            _add(counts, "devices_by_model", _text(device, f"{ns}DeviceType"), *model)
            mode = _text(device, f"{ns}PaymentMode")
            if mode is not None:
                _add(counts, "devices_by_payment_mode", mode)
        if site.find(f"{ns}Prepayment") is not None:
            _add(counts, "prepayment_by_utrn_cutover_hours", _text(site, f"{ns}Prepayment/{ns}UTRNCutoverHours"))
        if status == "Dormant":
            planned = _text(site, f"{ns}DormantNotice/{ns}PlannedMigrationDate")
            _add(counts, "dormant_by_planned_migration_week", _week(planned))
        wan = f"{ns}CommunicationsHub/{ns}WAN/{ns}"
        iccid, imsi, apn = (_text(site, wan + name) for name in ("ICCID", "IMSI", "APN"))
        if iccid is not None or imsi is not None or apn is not None:
            _add(counts, "sims_by_apn", apn)
            _add(counts, "sims_by_network", imsi[:5] if imsi is not None else None)
    _by_header(counts, fields, installations)
    trailer = root.find(f"{ns}Trailer")
    assert trailer is not None
    declared = (int(_text(trailer, f"{ns}InstallationCount") or -1), int(_text(trailer, f"{ns}DeviceCount") or -1))
    return counts, fields, (*declared, installations, devices)


_STATUS = {"A": "Active", "D": "Dormant"}
_TYPE = {"E": "ESME", "G": "GSME", "P": "GPF", "K": "PPMID", "L": "HCALCS", "I": "IHD"}
_PAYMENT = {"CR": "Credit", "PP": "Prepayment"}


def inventory_counts(path: Path) -> tuple[Counts, dict[str, str | None], tuple[int, int, int, int]]:
    """The same, by hand, in the inventory dialect (its names, attributes and codes)."""
    ns = "{urn:example:inventory}"
    root = etree.parse(str(path)).getroot()
    counts = _empty()
    installations = devices = 0
    fields = _header(root, f"{ns}FileHeader", ns, ("FileRef", "Created", "Cohort", "Operator", "Supplier"))
    for site in root.iterfind(f"{ns}Sites/{ns}Site"):
        installations += 1
        status = _STATUS.get(site.get("state", ""), site.get("state"))
        _add(counts, "installations_by_status", status)
        electricity = site.find(f"{ns}Supply/{ns}Electricity/{ns}Core") is not None
        gas = site.find(f"{ns}Supply/{ns}Gas/{ns}Reference") is not None
        _add(counts, "installations_by_meter_points", _fuel(electricity, gas))
        hub = site.find(f"{ns}Hub")
        if hub is not None:
            devices += 1
            _add(
                counts, "devices_by_model", "CHF", *(_text(hub, ns + name) for name in ("Make", "Variant", "Firmware"))
            )
        units = [
            *site.iterfind(f"{ns}Supply/{ns}Electricity/{ns}Meter"),
            *site.iterfind(f"{ns}Supply/{ns}Gas/{ns}Meter"),
            *site.iterfind(f"{ns}Units/{ns}Unit"),
        ]
        for unit in units:
            devices += 1
            kind = unit.get("kind")
            model = (_text(unit, ns + name) for name in ("Make", "Variant", "Firmware"))
            _add(counts, "devices_by_model", _TYPE.get(kind or "", kind), *model)
            payment = _text(unit, f"{ns}Payment")
            if payment is not None:
                _add(counts, "devices_by_payment_mode", _PAYMENT.get(payment, payment))
        if site.find(f"{ns}Prepay") is not None:
            _add(counts, "prepayment_by_utrn_cutover_hours", _text(site, f"{ns}Prepay/{ns}CutoverHours"))
        if status == "Dormant":
            _add(counts, "dormant_by_planned_migration_week", _week(_text(site, f"{ns}Notice/{ns}MigrationPlanned")))
        sim = site.find(f"{ns}Hub/{ns}Sim")
        if sim is not None and any(sim.get(name) is not None for name in ("iccid", "imsi", "apn")):
            imsi = sim.get("imsi")
            _add(counts, "sims_by_apn", sim.get("apn"))
            _add(counts, "sims_by_network", imsi[:5] if imsi is not None else None)
    _by_header(counts, fields, installations)
    totals = root.find(f"{ns}Totals")
    assert totals is not None
    declared = (int(totals.get("sites", "-1")), int(totals.get("devices", "-1")))
    return counts, fields, (*declared, installations, devices)


def _by_header(counts: Counts, fields: dict[str, str | None], installations: int) -> None:
    if not installations:
        return
    group_id = fields["group_id"]
    cohort = next((c.name for c in builtin_cohorts().values() if c.group_id == group_id), None)
    _add(counts, "installations_by_group_id", group_id, count=installations)
    _add(counts, "installations_by_cohort", cohort, count=installations)
    _add(counts, "installations_by_smso", fields["smso"], count=installations)


def _counted(statistics: FileStatistics) -> Counts:
    """The distributions ``stats`` gave, as counters (every value must be listed: no cap reached)."""
    found: Counts = {}
    for name, distribution in statistics.distributions.items():
        assert distribution.other_values == 0, name
        found[name] = Counter(dict(distribution.rows))
        # Most counted first, then by value.
        counts = [count for _key, count in distribution.rows]
        assert counts == sorted(counts, reverse=True)
    return found


def _assert_counts(statistics: FileStatistics, expected: tuple[Counts, dict[str, str | None], tuple[int, ...]]) -> None:
    counts, fields, (declared_installations, declared_devices, installations, devices) = expected
    assert _counted(statistics) == counts
    assert dict(statistics.header) == fields
    totals = statistics.totals
    assert (totals.declared_installations, totals.declared_devices) == (declared_installations, declared_devices)
    assert (totals.installations, totals.devices) == (installations, devices)
    assert totals.installations_agree is (declared_installations == installations)
    assert totals.devices_agree is (declared_devices == devices)


# -- generated files ---------------------------------------------------------------------


def _vary(text: str, seed: int) -> str:
    """What generated files do not have: Dormant installations without a planned date, a wrong total."""
    dates = list(re.finditer(r"\s*<PlannedMigrationDate>[^<]*</PlannedMigrationDate>", text))
    for match in reversed(dates[seed % 3 :: 4]):
        text = text[: match.start()] + text[match.end() :]
    if seed % 2:
        text = re.sub(r"<DeviceCount>(\d+)<", lambda m: f"<DeviceCount>{int(m[1]) + 2}<", text)
    return text


def _write_both(tmp_path: Path, cohort: str, seed: int, installations: int) -> tuple[Path, Path]:
    text = _vary("".join(MCFGenerator(builtin_cohorts()[cohort], seed=seed).iter_text(installations)), seed)
    own, other = tmp_path / f"own-{seed}.xml", tmp_path / f"other-{seed}.xml"
    own.write_text(text, encoding="utf-8")
    other.write_text("".join(translate([text.encode()], default_binding(), BINDING)), encoding="utf-8")
    return own, other


def _one(paths: list[Path], settings: RuleSettings, jobs: int = 1, schema: Path | None = None) -> list[FileCount]:
    pool = statistics_pool(jobs) if jobs > 1 else None
    return list(count_files(paths, settings, schema=schema, jobs=jobs, pool=pool, part_bytes=PART_BYTES))


@pytest.mark.parametrize("cohort", sorted(builtin_cohorts()))
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=10_000), installations=st.integers(min_value=1, max_value=150))
def test_stats_equal_lxml_counts_in_both_dialects(tmp_path: Path, cohort: str, seed: int, installations: int) -> None:
    own, other = _write_both(tmp_path, cohort, seed, installations)
    [own_count] = _one([own], OWN)
    [other_count] = _one([other], OTHER, schema=INVENTORY_SCHEMA)
    assert own_count.error is None
    assert other_count.error is None
    assert own_count.statistics is not None
    assert other_count.statistics is not None
    _assert_counts(own_count.statistics, own_counts(own))
    _assert_counts(other_count.statistics, inventory_counts(other))
    # The same content, whatever the dialect (the inventory dialect has no static IP addresses).
    assert own_count.statistics.distributions == other_count.statistics.distributions
    assert own_count.statistics.cohort == other_count.statistics.cohort == cohort
    assert own_count.statistics.not_bound == other_count.statistics.not_bound == ()


@pytest.mark.parametrize("cohort", sorted(builtin_cohorts()))
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=10_000), max_values=st.sampled_from([1, 2, 3, 1000]))
def test_stats_in_parts_equal_one_pass_and_lxml(tmp_path: Path, cohort: str, seed: int, max_values: int) -> None:
    own, other = _write_both(tmp_path, cohort, seed, 400)
    for path, settings_, schema in ((own, OWN, None), (other, OTHER, INVENTORY_SCHEMA)):
        capped = statistics_settings(settings_, max_values)
        [whole] = _one([path], capped, schema=schema)
        [parts] = _one([path], capped, jobs=2, schema=schema)
        assert whole.statistics is not None
        assert parts == whole
        if max_values == 1000:
            expected = own_counts(path) if path is own else inventory_counts(path)
            _assert_counts(whole.statistics, expected)


def test_stats_are_read_in_parts(tmp_path: Path) -> None:
    """A file large enough is split (the parts' merge is what the test above compares)."""
    from mcfcheck.run.parts import ParallelFileCheck
    from mcfcheck.run.stats import statistics_registry

    own, _other = _write_both(tmp_path, "CB", 7, 400)
    with statistics_pool(2) as pool:
        check = ParallelFileCheck(own, lambda: pool, 2, rules=(statistics_registry(), OWN), part_bytes=PART_BYTES)
        assert list(check) == []
        assert check.parallel
    _assert_counts(check.outcomes["STA000"], own_counts(own))  # type: ignore[arg-type]


def test_cap_lists_the_most_frequent_values_and_one_other_row(tmp_path: Path) -> None:
    own, _other = _write_both(tmp_path, "FOC", 11, 300)
    counts, _fields, _totals = own_counts(own)
    models = counts["devices_by_model"]
    assert len(models) > 3
    for max_values in (1, 3):
        [count] = _one([own], statistics_settings(RuleSettings(), max_values))
        assert count.statistics is not None
        found = count.statistics.distributions["devices_by_model"]
        ranked = sorted(models.items(), key=lambda item: (-item[1], json.dumps(item[0], separators=(",", ":"))))
        assert list(found.rows) == ranked[:max_values]
        assert found.other_values == len(models) - max_values
        assert found.other_count == sum(count for _key, count in ranked[max_values:])
        assert found.total == sum(models.values())


def test_several_files_per_file_and_in_total(tmp_path: Path) -> None:
    paths = [_write_both(tmp_path, cohort, seed, 60)[0] for cohort, seed in (("CB", 1), ("IOC", 2), ("CB", 3))]
    counts = _one(paths, OWN, jobs=2)
    assert [count.path for count in counts] == list(map(str, paths))
    files = [count.statistics for count in counts]
    assert all(statistics is not None for statistics in files)
    total = combine([statistics for statistics in files if statistics is not None], 1000)
    expected = _empty()
    for path in paths:
        for name, counter in own_counts(path)[0].items():
            expected[name].update(counter)
    assert _counted(total) == expected
    assert total.totals.installations == 180
    assert total.header["group_id"] is None  # the files differ
    assert total.cohort is None
    # Seeds 1 and 3 declare two devices too many (see _vary): the total says so, whatever the sums.
    assert (total.totals.installations_agree, total.totals.devices_agree) == (True, False)
    assert total.totals.declared_devices == total.totals.devices + 4


# -- the command line ----------------------------------------------------------------------


def _stats(*arguments: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["stats", "--jobs", "1", *map(str, arguments)])
    # As written (the runner's stdout turns CRLF into LF).
    return result.exit_code, result.stdout_bytes.decode(), result.stderr


def test_json_follows_its_schema_per_file_and_in_total(tmp_path: Path) -> None:
    own, _other = _write_both(tmp_path, "SECURE", 5, 80)
    status, out, _err = _stats(own, SAMPLES / "cb-valid.xml", "--format", "json")
    assert status == 0
    document = json.loads(out)
    jsonschema.Draft202012Validator(json.loads(STATS_SCHEMA.read_text())).validate(document)
    assert document["format"] == "mcfcheck-stats"
    assert document["version"] == "1.0"
    first = document["files"][0]["statistics"]
    status_rows = {tuple(row["values"]): row["count"] for row in first["distributions"][0]["rows"]}
    assert status_rows == dict(own_counts(own)[0]["installations_by_status"])
    total = document["total"]
    assert (total["files"], total["counted"], total["unusable"]) == (2, 2, 0)
    assert total["statistics"]["installations"] == 84
    assert total["trailers_agree"] == 2 - own_counts(own)[2][1] % 2  # _vary spoils the device count of odd seeds


def test_csv_is_one_tidy_table_that_adds_up(tmp_path: Path) -> None:
    own, _other = _write_both(tmp_path, "IOC", 4, 50)
    status, out, _err = _stats(own, SAMPLES / "cb-valid.xml", "--format", "csv")
    assert status == 0
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == ["file", "dimension", "value", "count"]
    assert out.count("\r\n") == len(rows)
    by: Counter[tuple[str, str]] = Counter()
    for file, dimension, _value, count in rows[1:]:
        by[file, dimension] += int(count)
    for file in (str(own), str(SAMPLES / "cb-valid.xml"), "(total)"):
        assert by[file, "installations_by_status"] == by[file, "installations"]
    assert by["(total)", "installations"] == 54
    expected = own_counts(own)[0]["devices_by_model"]
    found = {
        tuple(value.split(" | ")): int(count)
        for file, dimension, value, count in rows
        if file == str(own) and dimension == "devices_by_model"
    }
    assert found == dict(expected)


def test_outputs_are_written_atomically_and_never_over_an_input(tmp_path: Path) -> None:
    sample = SAMPLES / "cb-valid.xml"
    json_path, csv_path = tmp_path / "s.json", tmp_path / "s.csv"
    status, out, _err = _stats(sample, "-o", f"json={json_path}", "-o", f"csv={csv_path}", "--format", "csv")
    assert status == 0
    assert csv_path.read_bytes() == out.encode()
    assert json.loads(json_path.read_text())["files"][0]["path"] == str(sample)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["s.csv", "s.json"]
    copy = tmp_path / "copy.xml"
    copy.write_bytes(sample.read_bytes())
    status, _out, err = _stats(copy, "-o", f"json={copy}")
    assert status == 2
    assert "error:" in err
    assert copy.read_bytes() == sample.read_bytes()
    status, _out, err = _stats(sample, "-o", f"sarif={tmp_path / 'x.sarif'}")
    assert status == 2
    assert "choose a format" in err
    status, _out, err = _stats(sample, "--format", "junit")
    assert status == 2
    assert "choose from" in err


def test_bad_input_gives_validates_errors_and_status(tmp_path: Path) -> None:
    not_xml = tmp_path / "not.xml"
    not_xml.write_text("hello")
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes((SAMPLES / "cb-valid.xml").read_bytes()[:1500])
    missing = tmp_path / "missing.xml"
    foreign = tmp_path / "foreign.xml"
    foreign.write_text('<?xml version="1.0"?><Migration xmlns="urn:example:other"><Header/></Migration>')
    doctype = tmp_path / "doctype.xml"
    text = (SAMPLES / "cb-valid.xml").read_text()
    doctype.write_text(text.replace("?>", '?>\n<!DOCTYPE MigrationFile [<!ENTITY e "e">]>', 1))
    bomb = tmp_path / "bomb.xml.gz"
    bomb.write_bytes(gzip.compress(text.encode() + b"<!--" + b" " * 3_000_000 + b"-->"))
    guard = ("--max-decompressed", "0.001")
    for path, options in ((not_xml, ()), (truncated, ()), (missing, ()), (foreign, ()), (doctype, ()), (bomb, guard)):
        status, out, err = _stats(path, "--format", "json", *options)
        validate = runner.invoke(app, ["validate", "--jobs", "1", "--format", "json", *options, str(path)])
        assert (status, validate.exit_code) == (2, 2)
        assert err.strip().splitlines() == validate.stderr.strip().splitlines()
        document = json.loads(out)
        assert document["files"][0]["error"] == json.loads(validate.stdout)["files"][0]["summary"]["error"]
        assert document["total"]["statistics"] is None


def test_a_file_with_schema_errors_is_counted_with_status_0() -> None:
    invalid = SAMPLES / "mpan-format-invalid.xml"
    status, out, err = _stats(invalid, "--format", "json")
    assert (status, err) == (0, "")
    statistics = json.loads(out)["files"][0]["statistics"]
    assert statistics["installations"] == 4
    meter_points = statistics["distributions"][4]
    assert meter_points["name"] == "installations_by_meter_points"
    assert meter_points["total"] == 4


def test_gzip_and_the_second_dialect_on_the_command_line(tmp_path: Path) -> None:
    _own, other = _write_both(tmp_path, "MOC" if "MOC" in builtin_cohorts() else "CB", 3, 40)
    packed = tmp_path / "other.xml.gz"
    packed.write_bytes(gzip.compress(other.read_bytes()))
    status, out, err = _stats(packed, "--schema", INVENTORY_SCHEMA, "--binding", BINDING_FILE, "--format", "json")
    assert (status, err) == (0, "")
    statistics = json.loads(out)["files"][0]["statistics"]
    counts = inventory_counts(other)[0]
    assert {tuple(r["values"]): r["count"] for r in statistics["distributions"][0]["rows"]} == dict(
        counts["installations_by_status"]
    )
    # Without the binding, the inventory file has none: one line, status 2.
    status, _out, err = _stats(other, "--schema", INVENTORY_SCHEMA)
    assert status == 2
    assert err.startswith(f"error: {other}: no statistics: namespace 'urn:example:inventory' has no binding")


def test_console_tables() -> None:
    status, out, _err = _stats(SAMPLES / "cb-valid.xml", SAMPLES / "cb-valid.xml")
    assert status == 0
    assert "installations by status" in out
    assert "4 (the trailer agrees)" in out
    assert "(total): 2 of 2 files" in out
    assert "8 (every trailer agrees)" in out


@pytest.mark.parametrize("max_values", ["0", "x"])
def test_usage_errors(max_values: str) -> None:
    status, _out, _err = _stats(SAMPLES / "cb-valid.xml", "--max-values", max_values)
    assert status == 2


def test_a_binding_that_places_less_counts_what_it_places() -> None:
    dcc = ROOT / "tests" / "data" / "dcc-style schema"
    status, out, err = _stats(
        ROOT / "tests" / "data" / "dcc-style-invalid.xml",
        "--schema",
        dcc / "Migration Schema V1.0 TMAD 2.0.xsd",
        "--binding",
        dcc / "dcc-style.binding.toml",
        "--format",
        "json",
    )
    assert (status, err) == (0, "")
    statistics = json.loads(out)["files"][0]["statistics"]
    assert statistics["installations"] == 3
    assert {"status", "device_type", "apn"} <= set(statistics["not_bound"])
    by_status = statistics["distributions"][0]
    assert by_status["rows"] == [{"values": [None], "count": 3}]


@pytest.mark.slow
def test_the_command_in_parts_gives_the_single_pass_document(tmp_path: Path) -> None:
    path = tmp_path / "large.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=9).write(path, 5000)
    assert path.stat().st_size > 8 << 20
    documents = []
    for jobs in ("1", "2"):
        result = runner.invoke(app, ["stats", "--jobs", jobs, "--format", "json", str(path)])
        assert result.exit_code == 0
        documents.append(json.loads(result.stdout))
    assert documents[0] == documents[1]
    assert documents[0]["files"][0]["statistics"]["installations"] == 5000
