"""`mcfcheck bind`: a binding drafted from a dialect's XSD."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from mcfcheck.cli import main
from mcfcheck.dialects import translate
from mcfcheck.generate import MCFGenerator
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.schema.binding import default_binding, load_binding, parse_binding
from mcfcheck.schema.loading import XSD_NS, schema_model
from mcfcheck.schema.model import check_binding

from .conftest import SCHEMAS

INVENTORY = Path(__file__).parent / "data" / "inventory dialect"
INVENTORY_SCHEMA = INVENTORY / "Inventory Schema 2.0.xsd"
INVENTORY_BINDING = INVENTORY / "inventory.binding.toml"


def _bind(schema: Path, output: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """The draft's text and what ``bind`` said on standard error."""
    assert main(["bind", "--schema", str(schema), "-o", str(output)]) == 0
    return output.read_text(encoding="utf-8"), capsys.readouterr().err


def test_bind_places_every_concept_of_the_inventory_dialect_by_name_and_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, said = _bind(INVENTORY_SCHEMA, tmp_path / "draft.binding.toml", capsys)
    draft = parse_binding(text, "draft")
    assert draft.namespaces == ("urn:example:inventory",)
    assert draft.root == "Inventory"
    assert (draft.within, draft.record) == (("Sites",), "Site")
    assert (draft.header, draft.trailer) == (("FileHeader",), ("Totals",))
    assert {name: "/".join(steps) for name, steps in draft.paths.items()} == {
        "file_identifier": "FileRef",
        "creation_time": "Created",
        "group_id": "Cohort",
        "smso": "Operator",
        "supplier": "Supplier",
        "installation_count": "@sites",
        "device_count": "@devices",
        "reference": "@ref",
        "status": "@state",
        "mpan": "Supply/Electricity/Core",
        "mprn": "Supply/Gas/Reference",
        "hub": "Hub",
        "iccid": "Hub/Sim/@iccid",
        "imsi": "Hub/Sim/@imsi",
        "static_ip": "Hub/Sim/@ip",
        "apn": "Hub/Sim/@apn",
        "csp": "Hub/Sim/@csp",
        "prepayment": "Prepay",
        "utrn_cutover_hours": "Prepay/CutoverHours",
        "dormant_notice": "Notice",
        "firmware_notice_date": "Notice/FirmwareNotice",
        "planned_upgrade_date": "Notice/UpgradePlanned",
        "migration_notice_date": "Notice/MigrationNotice",
        "planned_migration_date": "Notice/MigrationPlanned",
        "shorter_notice_agreed": "Notice/ShortNoticeAgreed",
        "device_type": "@kind",
        "device_id": "EUI",
        "manufacturer": "Make",
        "model": "Variant",
        "firmware_version": "Firmware",
        "payment_mode": "Payment",
        "auxiliary_load": "AuxLoad",
    }
    # Devices filed by type where they stand: under Electricity, under Gas, and the others.
    assert {kind: "/".join(steps) for kind, steps in draft.devices.items()} == {
        "ESME": "Supply/Electricity/Meter",
        "GSME": "Supply/Gas/Meter",
        "GPF": "Supply/Gas/Meter",
        "*": "Units/Unit",
    }
    # In the schema's order, so that a writer writes valid files.
    assert draft.order == load_binding(INVENTORY_BINDING).order
    # Each guess says why it was made.
    assert re.search(
        r'^mpan = "Supply/Electricity/Core"  # named Core, under Electricity; its type is MPANCoreNumber; '
        r"its type's pattern takes a 13-digit MPAN core$",
        text,
        re.MULTILINE,
    )
    assert '\ndevice_id = "EUI"  # named EUI; its type is EUI64; its type\'s pattern takes an EUI-64\n' in text
    # Value maps are suggested, commented out, for the user to check.
    assert draft.values == {}
    assert '# [values.status]  @state takes A, D; mcfcheck\'s: Active, Dormant\n# A = "Active"\n' in text
    assert '# G = "GSME"  or GPF\n' in text
    assert '# K = ""  no guess\n' in text
    assert "33 of 33 concepts placed" in said
    assert "not placed" not in said
    assert "value maps suggested, commented out, to check: status, device_type, payment_mode" in said
    check_binding(draft, schema_model(INVENTORY_SCHEMA))


def test_bind_lists_what_it_cannot_place_and_the_user_finishes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(INVENTORY / "Inventory Types 2.0.xsd", tmp_path)
    schema = tmp_path / "Renamed.xsd"
    text = INVENTORY_SCHEMA.read_text(encoding="utf-8")
    text = text.replace('name="CutoverHours"', 'name="Window"').replace('name="Make"', 'name="Origin"')
    schema.write_text(text, encoding="utf-8")
    draft_text, said = _bind(schema, tmp_path / "draft.binding.toml", capsys)
    assert "31 of 33 concepts placed" in said
    assert "not placed, to finish by hand: utrn_cutover_hours (UTRN cutover hours), manufacturer (manufacturer)" in said
    assert '# utrn_cutover_hours = ""  # not placed: no element or attribute looks like the UTRN cutover hours\n' in (
        draft_text
    )
    draft = parse_binding(draft_text, "draft")
    assert "utrn_cutover_hours" not in draft.paths
    assert "manufacturer" not in draft.paths
    finished = draft_text.replace('# utrn_cutover_hours = ""', 'utrn_cutover_hours = "Prepay/Window"').replace(
        '# manufacturer = ""', 'manufacturer = "Origin"'
    )
    binding = parse_binding(finished, "finished")
    assert binding.paths["utrn_cutover_hours"] == ("Prepay", "Window")
    check_binding(binding, schema_model(schema))


def test_bind_on_the_bundled_schema_gives_the_bundled_binding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, said = _bind(SCHEMAS / "mcf-1.0.xsd", tmp_path / "mcf.binding.toml", capsys)
    draft = parse_binding(text, "draft")
    bundled = default_binding()
    assert draft.paths == bundled.paths
    assert draft.devices == bundled.devices
    assert (draft.record, draft.within, draft.header, draft.trailer) == (
        bundled.record,
        bundled.within,
        bundled.header,
        bundled.trailer,
    )
    assert (draft.root, draft.root_attributes, draft.namespaces) == (
        bundled.root,
        bundled.root_attributes,
        bundled.namespaces,
    )
    assert draft.order == bundled.order
    assert "[values." not in text  # the bundled schema's values are mcfcheck's
    assert "33 of 33 concepts placed" in said


def _translated(tmp_path: Path) -> Path:
    """A file of the inventory dialect with findings of several rules: translated, then spoilt."""
    text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=11).iter_text(30))
    inventory = "".join(translate([text.encode()], default_binding(), load_binding(INVENTORY_BINDING)))
    core = re.search(r"<Core>(\d{13})</Core>", inventory)
    assert core is not None
    wrong = core[1][:-1] + str((int(core[1][-1]) + 1) % 10)
    inventory = inventory.replace(core[0], f"<Core>{wrong}</Core>", 1)
    euis = re.findall(r"<EUI>([0-9A-F-]+)</EUI>", inventory)
    inventory = inventory.replace(f"<EUI>{euis[5]}</EUI>", f"<EUI>{euis[2]}</EUI>", 1)  # a duplicate Device ID
    inventory = re.sub(r'sites="\d+"', 'sites="29"', inventory)  # a wrong control total
    path = tmp_path / "inventory.xml"
    path.write_text(inventory, encoding="utf-8")
    return path


def _findings(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    assert main([*arguments, "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    (report,) = document["files"]
    assert report["summary"]["error"] is None
    findings: list[dict[str, object]] = report["findings"]
    return findings


def test_a_finished_draft_finds_what_the_dialects_own_binding_finds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    draft_text, _said = _bind(INVENTORY_SCHEMA, tmp_path / "draft.binding.toml", capsys)
    # Finished by hand: the value maps checked and written (the dialect's own, as its documentation says).
    own = INVENTORY_BINDING.read_text(encoding="utf-8")
    maps = own[own.index("[values.status]") :]
    finished = tmp_path / "finished.binding.toml"
    finished.write_text(draft_text + "\n" + maps, encoding="utf-8")
    path = _translated(tmp_path)
    common = ["validate", "--schema", str(INVENTORY_SCHEMA), str(path)]
    expected = _findings([*common, "--binding", str(INVENTORY_BINDING)], capsys)
    found = _findings([*common, "--binding", str(finished)], capsys)
    assert found == expected
    assert {finding["code"] for finding in found} == {"GEN001", "GEN010", "GEN020"}


def test_bind_refuses_to_replace_the_schema_and_says_why_it_cannot_draft(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = tmp_path / "copy.xsd"
    shutil.copy(SCHEMAS / "mcf-1.0.xsd", schema)
    before = schema.read_bytes()
    assert main(["bind", "--schema", str(schema), "-o", str(schema)]) == 2
    assert "is an input of this run" in capsys.readouterr().err
    assert schema.read_bytes() == before
    flat = tmp_path / "flat.xsd"
    flat.write_text(
        f'<xs:schema xmlns:xs="{XSD_NS}"><xs:element name="Note" type="xs:string"/></xs:schema>', encoding="utf-8"
    )
    assert main(["bind", "--schema", str(flat)]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: {flat.name}: no element of the schema looks like an installation"
    )


def test_bind_writes_to_standard_output_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bind", "--schema", str(INVENTORY_SCHEMA)]) == 0
    captured = capsys.readouterr()
    assert parse_binding(captured.out, "draft").record == "Site"
    assert "drafted standard output: 33 of 33 concepts placed" in captured.err


def test_bind_reads_a_header_the_document_element_holds_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The DCC-style schema has no header element: its GroupID stands beside the installations."""
    folder = Path(__file__).parent / "data" / "dcc-style schema"
    schema = folder / "Migration Schema V1.0 TMAD 2.0.xsd"
    text, said = _bind(schema, tmp_path / "dcc.binding.toml", capsys)
    draft = parse_binding(text, "draft")
    assert (draft.header, draft.within, draft.record) == ((), (), "Installation")
    # Its Device IDs repeat in each installation, held by no element: each is a device of its own.
    assert draft.paths == {
        "group_id": ("GroupID",),
        "reference": ("InstallationReference",),
        "mpan": ("MPANCore",),
        "device_id": (),
    }
    assert draft.devices == {"*": ("DeviceID",)}
    hand_written = load_binding(folder / "dcc-style.binding.toml")
    assert (draft.paths, draft.devices) == (hand_written.paths, hand_written.devices)
    assert "5 of 33 concepts placed" in said
    assert "devices (devices)" not in said
    path = Path(__file__).parent / "data" / "dcc-style-invalid.xml"
    arguments = [
        "validate",
        "--format",
        "json",
        "--schema",
        str(schema),
        "--binding",
        str(tmp_path / "dcc.binding.toml"),
    ]
    assert main([*arguments, str(path)]) == 1
    (report,) = json.loads(capsys.readouterr().out)["files"]
    assert report["summary"]["cohort"] == "CB"
    # The rules that read what it placed ran.
    assert "GEN010" not in report["summary"]["skipped_rules"]
    assert "GEN001" not in report["summary"]["skipped_rules"]
