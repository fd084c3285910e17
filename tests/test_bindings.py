"""Bindings against the schemas they are used with: the schema model, and check_binding."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from mcfcheck.cli import main
from mcfcheck.dialects import translate
from mcfcheck.errors import ConfigError
from mcfcheck.generate import MCFGenerator
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.schema.binding import default_binding, load_binding, parse_binding
from mcfcheck.schema.loading import XSD_NS, schema_model
from mcfcheck.schema.model import SchemaModel, check_binding

from .conftest import ROOT, SAMPLES

BUNDLED_SCHEMA = ROOT / "schemas" / "mcf-1.0.xsd"
INVENTORY = Path(__file__).parent / "data" / "inventory dialect"
INVENTORY_SCHEMA = INVENTORY / "Inventory Schema 2.0.xsd"
INVENTORY_BINDING = INVENTORY / "inventory.binding.toml"


def test_the_bundled_binding_fits_the_bundled_schema() -> None:
    check_binding(default_binding(), schema_model(BUNDLED_SCHEMA))


def test_the_inventory_binding_fits_its_schema() -> None:
    check_binding(load_binding(INVENTORY_BINDING), schema_model(INVENTORY_SCHEMA))


def test_the_model_follows_references_named_types_and_imported_simple_types() -> None:
    model = schema_model(INVENTORY_SCHEMA)
    site = model.element("{urn:example:inventory}Site")
    assert site is not None
    assert site.child_names == ["Supply", "Hub", "Units", "Prepay", "Notice"]
    assert sorted(site.attributes) == ["ref", "state"]
    state = site.attributes["state"].type
    assert state is not None
    assert state.enumerations == ("A", "D")
    assert state.names == ("SiteState", "string")
    (electricity,) = site.children_named("Supply")[0].children_named("Electricity")
    core, meter = electricity.children
    assert core.element.name == "Core"
    assert not core.repeated
    assert core.element.text is not None
    assert core.element.text.patterns == (("[0-9]{13}",),)
    assert meter.element.name == "Meter"
    assert meter.repeated
    assert meter.element.child_names == ["EUI", "Make", "Variant", "Firmware", "Payment", "AuxLoad"]
    assert list(meter.element.attributes) == ["kind"]
    (sites,) = model.declarations("Sites")
    assert [(o.element.name, o.repeated) for o in sites.children] == [("Site", True)]


def _model(tmp_path: Path, body: str) -> SchemaModel:
    schema = tmp_path / "model.xsd"
    schema.write_text(
        f'<xs:schema xmlns:xs="{XSD_NS}" xmlns:m="urn:m" targetNamespace="urn:m" '
        f'elementFormDefault="qualified">{body}</xs:schema>',
        encoding="utf-8",
    )
    return schema_model(schema)


def test_the_model_follows_extensions_groups_attribute_groups_and_substitution_groups(tmp_path: Path) -> None:
    model = _model(
        tmp_path,
        '<xs:group name="G"><xs:sequence><xs:element name="FromGroup" type="xs:string"/></xs:sequence></xs:group>'
        '<xs:attributeGroup name="A"><xs:attribute name="fromGroup"/></xs:attributeGroup>'
        '<xs:complexType name="Base"><xs:sequence><xs:element name="FromBase" type="xs:string"/></xs:sequence>'
        '<xs:attribute name="base"/></xs:complexType>'
        '<xs:complexType name="Derived"><xs:complexContent><xs:extension base="m:Base">'
        '<xs:choice maxOccurs="unbounded"><xs:group ref="m:G"/><xs:element ref="m:Head"/></xs:choice>'
        '<xs:attributeGroup ref="m:A"/></xs:extension></xs:complexContent></xs:complexType>'
        '<xs:element name="Head" type="xs:string"/>'
        '<xs:element name="Member" substitutionGroup="m:Head"/>'
        '<xs:element name="Root" type="m:Derived"/>'
        '<xs:element name="Open"><xs:complexType><xs:sequence><xs:any/></xs:sequence>'
        "<xs:anyAttribute/></xs:complexType></xs:element>"
        '<xs:element name="Text"><xs:complexType><xs:simpleContent><xs:extension base="xs:date">'
        '<xs:attribute name="zone"/></xs:extension></xs:simpleContent></xs:complexType></xs:element>',
    )
    root = model.element("{urn:m}Root")
    assert root is not None
    assert [(o.element.name, o.repeated) for o in root.children] == [
        ("FromBase", False),
        ("FromGroup", True),
        ("Head", True),
        ("Member", True),
    ]
    assert sorted(root.attributes) == ["base", "fromGroup"]
    member = root.children_named("Member")[0]
    assert member.text is not None
    assert member.text.builtin == "string"  # its head's type
    opened = model.element("{urn:m}Open")
    assert opened is not None
    assert opened.open
    assert opened.open_attributes
    text = model.element("{urn:m}Text")
    assert text is not None
    assert text.simple
    assert text.text is not None
    assert text.text.builtin == "date"
    assert list(text.attributes) == ["zone"]


def _inventory_binding(tmp_path: Path, old: str, new: str) -> Path:
    text = INVENTORY_BINDING.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "broken.binding.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line(path: Path, text: str) -> int:
    """The line of the binding that starts with ``text``."""
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'mpan = "Supply/Electricity/Core"',
            'mpan = "Supply/Power/Core"',
            "installation.mpan = 'Supply/Power/Core': the schema Inventory Schema 2.0.xsd allows no element "
            "Power in Supply (allowed: Electricity, Gas)",
        ),
        (
            'static_ip = "Hub/Sim/@ip"',
            'static_ip = "Hub/Sim/@address"',
            "installation.static_ip = 'Hub/Sim/@address': the schema Inventory Schema 2.0.xsd allows no attribute "
            "address on Sim (allowed: @apn, @csp, @iccid, @imsi, @ip)",
        ),
        (
            'within = "Sites"',
            'within = "Places"',
            "installation.within = 'Places': the schema Inventory Schema 2.0.xsd allows no element Places in "
            "Inventory (allowed: FileHeader, Sites, Totals)",
        ),
        (
            'element = "Site"',
            'element = "Premises"',
            "installation.element = 'Premises': the schema Inventory Schema 2.0.xsd declares no element Premises",
        ),
        (
            'element = "FileHeader"',
            'element = "Head"',
            "header.element = 'Head': the schema Inventory Schema 2.0.xsd allows no element Head in Inventory "
            "(allowed: FileHeader, Sites, Totals)",
        ),
        (
            'installation_count = "@sites"',
            'installation_count = "Count"',
            "trailer.installation_count = 'Count': the schema Inventory Schema 2.0.xsd allows no element Count "
            "in Totals (allowed: none)",
        ),
        (
            'device_id = "EUI"',
            'device_id = "DeviceID"',
            # The hub is checked first: a Communications Hub has a Device ID too.
            "device.device_id = 'DeviceID': the schema Inventory Schema 2.0.xsd allows no element DeviceID in Hub "
            "(allowed: EUI, Make, Variant, Firmware, Sim)",
        ),
        (
            'payment_mode = "Payment"',
            'payment_mode = "Sim/@pay"',
            "device.payment_mode = 'Sim/@pay': the schema Inventory Schema 2.0.xsd allows no element Sim in Meter "
            "(allowed: EUI, Make, Variant, Firmware, Payment, AuxLoad) (the devices at Supply/Electricity/Meter)",
        ),
        (
            '"*" = "Units/Unit"',
            '"*" = "Units/Device"',
            "installation.devices.* = 'Units/Device': the schema Inventory Schema 2.0.xsd allows no element "
            "Device in Units (allowed: Unit)",
        ),
        (
            'element = "Inventory"',
            'element = "Stock"',
            "document.element = 'Stock': the schema Inventory Schema 2.0.xsd declares no global element Stock "
            "(global: Site, Inventory)",
        ),
    ],
)
def test_a_path_the_schema_does_not_allow_is_one_line_naming_the_binding_file_and_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = _inventory_binding(tmp_path, old, new)
    binding = load_binding(path)
    with pytest.raises(ConfigError) as raised:
        check_binding(binding, schema_model(INVENTORY_SCHEMA))
    line = _line(path, new if not new.startswith('"*"') else "devices")
    assert str(raised.value) == f"{path}:{line}: {message}"


def test_a_device_concept_the_hub_lacks_is_not_asked_of_the_hub() -> None:
    """The Communications Hub has no type, payment mode or auxiliary load: those are checked on devices only."""
    binding = default_binding()
    assert binding.paths["device_type"] == ("DeviceType",)
    model = schema_model(BUNDLED_SCHEMA)
    hub = model.declarations("CommunicationsHub")[0]
    assert "DeviceType" not in hub.child_names
    check_binding(binding, model)


def test_a_path_below_a_wildcard_is_allowed(tmp_path: Path) -> None:
    model = _model(
        tmp_path,
        '<xs:element name="File"><xs:complexType><xs:sequence>'
        '<xs:element name="Record" maxOccurs="unbounded"><xs:complexType><xs:sequence>'
        '<xs:element name="Ref" type="xs:string"/><xs:element name="Extra"><xs:complexType><xs:sequence>'
        '<xs:any processContents="lax" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>'
        "</xs:sequence></xs:complexType></xs:element></xs:sequence></xs:complexType></xs:element>",
    )
    binding = parse_binding(
        'namespaces = ["urn:m"]\n[installation]\nelement = "Record"\nreference = "Ref"\nmpan = "Extra/Any/MPAN"\n',
        "wild.binding.toml",
    )
    check_binding(binding, model)
    broken = parse_binding(
        'namespaces = ["urn:m"]\n[installation]\nelement = "Record"\nreference = "Reference"\n', "broken.binding.toml"
    )
    with pytest.raises(ConfigError, match=r"^broken.binding.toml:4: installation.reference = 'Reference': .*"):
        check_binding(broken, model)


# --- choosing bindings on the command line and in the configuration ----------------------


def _inventory_file(tmp_path: Path, name: str = "inventory.xml", installations: int = 6) -> Path:
    """A valid file of the inventory dialect: a generated MCF translated through its binding."""
    text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=3).iter_text(installations))
    path = tmp_path / name
    path.write_text("".join(translate([text.encode()], default_binding(), load_binding(INVENTORY_BINDING))))
    return path


def _codes(capsys: pytest.CaptureFixture[str]) -> list[str]:
    document = json.loads(capsys.readouterr().out)
    return [finding["code"] for file in document["files"] for finding in file["findings"]]


def test_binding_option_is_used_for_every_file_whatever_its_namespace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dialect in a namespace no binding claims: --binding reads it all the same."""
    stock_schema = tmp_path / "stock.xsd"
    stock_schema.write_text(
        INVENTORY_SCHEMA.read_text().replace('"urn:example:inventory"', '"urn:example:stock"'), encoding="utf-8"
    )
    shutil.copy(INVENTORY / "Inventory Types 2.0.xsd", tmp_path)
    stock = _inventory_file(tmp_path)
    text = stock.read_text().replace('"urn:example:inventory"', '"urn:example:stock"')
    first_core = re.search(r"<Core>(\d{13})</Core>", text)
    assert first_core is not None
    wrong = first_core[1][:-1] + str((int(first_core[1][-1]) + 1) % 10)
    stock.write_text(text.replace(first_core[0], f"<Core>{wrong}</Core>", 1), encoding="utf-8")
    assert main(["validate", "--format", "json", "--schema", str(stock_schema), str(stock)]) == 0
    assert _codes(capsys) == []  # the schema only: no binding for urn:example:stock
    arguments = ["validate", "--format", "json", "--schema", str(stock_schema), "--binding", str(INVENTORY_BINDING)]
    assert main([*arguments, str(stock)]) == 1
    assert _codes(capsys) == ["GEN001"]


def test_configuration_bindings_are_relative_to_the_configuration_and_chosen_by_namespace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "dialects"
    folder.mkdir()
    shutil.copy(INVENTORY_BINDING, folder / "inventory.binding.toml")
    config = tmp_path / "mcfcheck.toml"
    config.write_text('bindings = ["dialects/inventory.binding.toml"]\n', encoding="utf-8")
    inventory = _inventory_file(tmp_path)
    arguments = ["validate", "-q", "--schema", str(INVENTORY_SCHEMA), str(inventory)]
    assert main(arguments) == 0
    assert "schema only: no rules ran" in capsys.readouterr().out
    assert main([*arguments, "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"{inventory}: valid (6 installations, schema {INVENTORY_SCHEMA.name})" in out
    assert "no rules ran" not in out


def _fails_with(capsys: pytest.CaptureFixture[str], arguments: list[str], message: str) -> None:
    assert main(arguments) == 2
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {message}"], captured.err


def test_two_bindings_claiming_one_namespace_exit_2_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy.binding.toml"
    shutil.copy(INVENTORY_BINDING, copy)
    config = tmp_path / "mcfcheck.toml"
    config.write_text(f'bindings = ["{INVENTORY_BINDING}", "copy.binding.toml"]\n', encoding="utf-8")
    line = _line(INVENTORY_BINDING, "namespaces")
    _fails_with(
        capsys,
        ["validate", "--config", str(config), str(_inventory_file(tmp_path))],
        f"{copy}:{line}: namespace 'urn:example:inventory' is already bound by {INVENTORY_BINDING}:{line}",
    )


def test_a_binding_with_an_unknown_key_exits_2_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _inventory_binding(tmp_path, 'apn = "Hub/Sim/@apn"', 'access_point = "Hub/Sim/@apn"')
    _fails_with(
        capsys,
        ["validate", "--binding", str(path), "--schema", str(INVENTORY_SCHEMA), str(_inventory_file(tmp_path))],
        f"{path}:{_line(path, 'access_point')}: unknown key 'access_point' in [installation]; known: apn, "
        "csp, devices, dormant_notice, element, firmware_notice_date, hub, iccid, imsi, migration_notice_date, mpan, "
        "mprn, planned_migration_date, planned_upgrade_date, prepayment, reference, shorter_notice_agreed, "
        "static_ip, status, utrn_cutover_hours, within",
    )
    config = tmp_path / "mcfcheck.toml"
    config.write_text(f'bindings = ["{path.name}"]\n', encoding="utf-8")
    assert main(["validate", "--config", str(config), str(_inventory_file(tmp_path))]) == 2


def test_a_binding_path_the_schema_forbids_exits_2_before_any_file_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _inventory_binding(tmp_path, 'mprn = "Supply/Gas/Reference"', 'mprn = "Supply/Gas/MPRN"')
    message = (
        f"{path}:{_line(path, 'mprn')}: installation.mprn = 'Supply/Gas/MPRN': the schema Inventory Schema 2.0.xsd "
        "allows no element MPRN in Gas (allowed: Reference, Meter)"
    )
    missing = tmp_path / "never-read.xml"
    _fails_with(capsys, ["validate", "--binding", str(path), "--schema", str(INVENTORY_SCHEMA), str(missing)], message)
    # Chosen by the configuration, with the user's schema.
    config = tmp_path / "mcfcheck.toml"
    config.write_text(f'bindings = ["{path.name}"]\n', encoding="utf-8")
    _fails_with(capsys, ["validate", "--config", str(config), "--schema", str(INVENTORY_SCHEMA), str(missing)], message)


def test_a_users_binding_is_checked_against_the_bundled_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "schemas" / "mcf-1.0.binding.toml").read_text(encoding="utf-8")
    path = tmp_path / "mine.binding.toml"
    path.write_text(text.replace('apn = "CommunicationsHub/WAN/APN"', 'apn = "CommunicationsHub/APN"'))
    _fails_with(
        capsys,
        ["validate", "--binding", str(path), str(SAMPLES / "cb-valid.xml")],
        f"{path}:{_line(path, 'apn')}: installation.apn = 'CommunicationsHub/APN': the schema mcf-1.0.xsd allows "
        "no element APN in CommunicationsHub (allowed: DeviceID, DeviceModel, WAN)",
    )
    path.write_text(text)
    assert main(["validate", "-q", "--binding", str(path), str(SAMPLES / "cb-valid.xml")]) == 0


def test_the_bundled_binding_is_checked_against_a_users_schema_in_its_namespace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = tmp_path / "trimmed.xsd"
    schema.write_text(
        BUNDLED_SCHEMA.read_text(encoding="utf-8").replace(
            '<xs:element name="APN" type="mcf:ShortText" minOccurs="0">', '<xs:element name="AP" type="mcf:ShortText">'
        ),
        encoding="utf-8",
    )
    line = _line(ROOT / "schemas" / "mcf-1.0.binding.toml", "apn")
    _fails_with(
        capsys,
        ["validate", "--schema", str(schema), str(SAMPLES / "cb-valid.xml")],
        f"bundled:mcf-1.0.binding.toml:{line}: installation.apn = 'CommunicationsHub/WAN/APN': the schema "
        "trimmed.xsd allows no element APN in WAN (allowed: ICCID, IMSI, StaticIPAddress, AP, "
        "CommunicationsServiceProvider)",
    )


# --- generating files in a dialect -------------------------------------------------------


@pytest.mark.parametrize("cohort", ["IOC", "CB", "SECURE", "FOC"])
def test_a_file_generated_in_the_inventory_dialect_validates_with_no_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cohort: str
) -> None:
    path = tmp_path / f"{cohort}.xml"
    generated = [
        "generate",
        "-q",
        "-o",
        str(path),
        "--binding",
        str(INVENTORY_BINDING),
        "-n",
        "120",
        "--cohort",
        cohort,
    ]
    assert main(generated) == 0
    text = path.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Inventory xmlns="urn:example:inventory">')
    assert "<Installation" not in text
    checked = ["validate", "-q", "--schema", str(INVENTORY_SCHEMA), "--binding", str(INVENTORY_BINDING), str(path)]
    assert main(checked) == 0
    verdict = capsys.readouterr().out.strip().splitlines()[0]
    assert verdict == f"{path}: valid (120 installations, schema {INVENTORY_SCHEMA.name})"


def test_generate_in_a_dialect_streams_the_generators_own_text(tmp_path: Path) -> None:
    """The same installations as in mcfcheck's own dialect, translated one at a time."""
    generator = MCFGenerator(builtin_cohorts()["FOC"], seed=9)
    pieces = list(generator.iter_text_in(load_binding(INVENTORY_BINDING), 5))
    assert len(pieces) == 1 + 5 + 1  # the start, each installation, the end
    own = "".join(MCFGenerator(builtin_cohorts()["FOC"], seed=9).iter_text(5))
    assert "".join(pieces) == "".join(translate([own.encode()], default_binding(), load_binding(INVENTORY_BINDING)))


def test_errors_are_planted_in_mcfchecks_own_dialect_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "planted.xml"
    for extra in (["--error-rate", "0.1"], ["--planted", str(tmp_path / "planted.csv")]):
        assert main(["generate", "-o", str(output), "--binding", str(INVENTORY_BINDING), *extra]) == 2
        said = " ".join(re.sub("[│╭╮╰╯─]", " ", capsys.readouterr().err).split())  # typer's box, unwrapped
        assert "Invalid value for --binding: errors are planted in mcfcheck's own dialect only" in said
    assert not output.exists()
    with pytest.raises(ValueError, match="own dialect only"):
        MCFGenerator(builtin_cohorts()["CB"], error_rate=0.5).write(output, 3, binding=load_binding(INVENTORY_BINDING))


def test_a_binding_the_writer_cannot_write_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _inventory_binding(tmp_path, 'element = "FileHeader"', 'element = "."')
    output = tmp_path / "out.xml"
    assert main(["generate", "-o", str(output), "--binding", str(path)]) == 2
    assert capsys.readouterr().err == (f"error: {path}: a writer cannot put the header or trailer on the root\n")
    assert not output.exists()
    assert main(["generate", "-o", str(INVENTORY_BINDING), "--binding", str(INVENTORY_BINDING)]) == 2
    assert "is an input of this run" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "key", "other"),
    [
        (('mprn = "MeterPoints/MPRN"', 'mprn = "MeterPoints/MPANCore"'), "installation.mprn", "installation.mpan"),
        (
            ('prepayment = "Prepayment"', 'prepayment = "DormantNotice"'),
            "installation.dormant_notice",
            "installation.prepayment",
        ),
        (('hub = "CommunicationsHub"', 'hub = "Prepayment"'), "installation.prepayment", "installation.hub"),
        (('status = "Status"', 'status = "Devices/Device"'), "installation.devices", "installation.status"),
    ],
)
def test_two_concepts_one_element_cannot_hold_are_one_line_naming_the_second(
    change: tuple[str, str], key: str, other: str
) -> None:
    """A plan node holds one value and one flag: the second concept there was silently not read."""
    text = (ROOT / "schemas" / "mcf-1.0.binding.toml").read_text(encoding="utf-8")
    assert change[0] in text
    changed = text.replace(change[0], change[1])
    line = next(
        number for number, row in enumerate(changed.splitlines(), 1) if row.startswith(key.split(".")[1] + " =")
    )
    with pytest.raises(ConfigError) as raised:
        parse_binding(changed, "b.toml")
    assert str(raised.value).startswith(f"b.toml:{line}: {key} is at the element of {other}: an element can hold one ")


# --- bindings that passed every check and read nothing, or read wrongly ------------


def _schema_copy(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "schema"
    shutil.copytree(INVENTORY, folder)
    main_schema = folder / INVENTORY_SCHEMA.name
    text = main_schema.read_text(encoding="utf-8")
    assert old in text
    main_schema.write_text(text.replace(old, new), encoding="utf-8")
    return main_schema


def test_an_element_the_schema_declares_unqualified_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The readers look in the installation's namespace: an unqualified Core was never read (false GEN031s)."""
    schema = _schema_copy(
        tmp_path,
        '<xs:element name="Core" type="t:MPANCoreNumber"',
        '<xs:element name="Core" form="unqualified" type="t:MPANCoreNumber"',
    )
    _fails_with(
        capsys,
        ["validate", "--binding", str(INVENTORY_BINDING), "--schema", str(schema), str(tmp_path / "never-read.xml")],
        f"{INVENTORY_BINDING}:{_line(INVENTORY_BINDING, 'mpan')}: installation.mpan = 'Supply/Electricity/Core': "
        "the schema Inventory Schema 2.0.xsd declares Core in Electricity with no namespace (unqualified), not in "
        "the installation's namespace 'urn:example:inventory', where mcfcheck reads it",
    )


def test_a_text_concept_at_an_element_that_holds_elements_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """mpan = 'Supply/Electricity' read '' and lost every check digit finding."""
    path = _inventory_binding(tmp_path, 'mpan = "Supply/Electricity/Core"', 'mpan = "Supply/Electricity"')
    _fails_with(
        capsys,
        ["validate", "--binding", str(path), "--schema", str(INVENTORY_SCHEMA), str(tmp_path / "never-read.xml")],
        f"{path}:{_line(path, 'mpan')}: installation.mpan = 'Supply/Electricity': the schema Inventory Schema 2.0.xsd "
        "lets Electricity hold elements, not the text of the MPAN core",
    )


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        (
            'hub = "Hub"',
            'hub = "Supply/Electricity/Meter"',
            "devices",
            "installation.devices is at the element of installation.hub: the hub would be read as a device too",
        ),
        (
            'status = "@state"',
            'status = "@ref"',
            "status",
            "installation.status is the attribute @ref of installation.reference: an attribute holds one",
        ),
        (
            'hub = "Hub"',
            'hub = "."',
            "hub",
            "installation.hub is an element below the installation, not the installation itself",
        ),
        (
            'prepayment = "Prepay"',
            'prepayment = "."',
            "prepayment",
            "installation.prepayment is an element below the installation, not the installation itself",
        ),
    ],
)
def test_a_binding_that_would_read_wrongly_is_refused_when_read(
    tmp_path: Path, old: str, new: str, key: str, message: str
) -> None:
    path = _inventory_binding(tmp_path, old, new)
    with pytest.raises(ConfigError) as raised:
        load_binding(path)
    assert str(raised.value) == f"{path}:{_line(path, key + ' =')}: {message}"


def test_every_value_map_applies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A map for the MPAN core (or any text concept but a few) was accepted and ignored."""
    source = _inventory_file(tmp_path, installations=2)
    text = source.read_text(encoding="utf-8")
    core = re.search(r"<Core>(\d{13})</Core>", text)
    assert core is not None
    wrong = core[1][:-1] + str((int(core[1][-1]) + 1) % 10)
    source.write_text(text.replace(core[0], f"<Core>{wrong}</Core>"), encoding="utf-8")
    arguments = ["validate", "--format", "json", "--schema", str(INVENTORY_SCHEMA), str(source)]
    assert main([*arguments, "--binding", str(INVENTORY_BINDING)]) == 1
    assert _codes(capsys) == ["GEN001"]
    mapped = _inventory_binding(
        tmp_path, "[values.status]", f'[values.mpan]\n"{wrong}" = "{core[1]}"\n\n[values.status]'
    )
    assert main([*arguments, "--binding", str(mapped)]) == 0
    assert _codes(capsys) == []


def test_names_may_be_any_xml_names(tmp_path: Path) -> None:
    """bind drafted 'Électricité' and the binding reader refused it."""
    binding = parse_binding(
        INVENTORY_BINDING.read_text(encoding="utf-8").replace("Electricity", "Électricité"), "b.toml"
    )
    assert binding.paths["mpan"] == ("Supply", "Électricité", "Core")


def test_a_binding_for_no_bundled_namespace_without_schema_asks_for_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was checked against the bundled schema and said that schema declares no Inventory."""
    _fails_with(
        capsys,
        ["validate", "--binding", str(INVENTORY_BINDING), str(_inventory_file(tmp_path))],
        f"{tmp_path / 'inventory.xml'}: no bundled schema for namespace 'urn:example:inventory' version None "
        "(known: urn:mcfcheck:mcf version 1.0); pass the schema with --schema PATH",
    )


def test_a_group_that_holds_itself_is_the_schemas_error_not_an_internal_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = _schema_copy(
        tmp_path,
        '<xs:complexType name="Hub">',
        '<xs:group name="Loop"><xs:sequence><xs:group ref="i:Loop"/></xs:sequence></xs:group>\n'
        '  <xs:complexType name="Hub">',
    )
    status = main(
        ["validate", "--binding", str(INVENTORY_BINDING), "--schema", str(schema), str(_inventory_file(tmp_path))]
    )
    assert status == 2
    assert "Circular reference to the model group definition" in capsys.readouterr().err
    assert main(["bind", "--schema", str(schema), "-o", str(tmp_path / "draft.toml")]) in (0, 2)


def test_a_file_of_any_size_translates(tmp_path: Path) -> None:
    """libxml2's limit on a text (10 MB) stopped translate() unless it lifts it."""
    text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=3).iter_text(1))
    big = "X" * 11_000_000
    text = re.sub(r"<FileIdentifier>[^<]*<", f"<FileIdentifier>{big}<", text)
    written = "".join(translate([text.encode()], default_binding(), load_binding(INVENTORY_BINDING)))
    assert f"<FileRef>{big}</FileRef>" in written
