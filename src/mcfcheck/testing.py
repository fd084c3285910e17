"""Data-driven tests for rules, reusable by third-party rule authors.

A case file (TOML) holds the cases of one rule code. Each case starts from a valid MCF
of a cohort (``installations`` copies of a known, valid base installation), applies
edits given as XML snippets, and lists the codes it expects, in order. Only the rule
under test runs, with schema validation and the cohort check, so a case whose snippet
breaks the schema fails loudly instead of passing by accident::

    code = "GEN001"

    [[cases]]
    name = "a wrong MPAN check digit"
    expect = ["GEN001"]
    [[cases.edits]]
    path = "MeterPoints/MPANCore"            # in installation 1 unless `installation` says
    xml = "<MPANCore>1800021679847</MPANCore>"

    [[cases]]
    name = "the base installation passes"
    expect = []

An edit replaces the element at ``path`` with ``xml`` (an empty ``xml`` removes it),
or with ``append = true`` adds ``xml`` as the last child of the element at ``path``.
``path`` is made of local names with optional positions (``Devices/Device[2]``);
``"."`` is the installation itself.
Other case keys: ``cohort`` (default CB), ``installations`` (default 1), ``header``
and ``trailer`` (element text overrides), ``options`` (the rule's options), ``epcl``
(the text of an Eligible Product Combinations CSV), ``severity`` (the severity the
rule's findings must have: "error" or "warning").

In a test suite::

    from mcfcheck.testing import load_cases, run_case

    @pytest.mark.parametrize("case", load_cases(Path("cases/XYZ001.toml")), ids=str)
    def test_rule(case, tmp_path):
        assert [f.code for f in run_case(case, tmp_path)] == list(case.expect)

A case runs in another dialect with ``run_case(case, tmp_path, dialect=Dialect(binding,
schema))``: its file is written in mcfcheck's own dialect, then translated through the
binding.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from lxml import etree

from mcfcheck.api import validate
from mcfcheck.dialects import translate
from mcfcheck.findings import Finding
from mcfcheck.rules.cohorts import Cohort, builtin_cohorts
from mcfcheck.rules.engine import UNKNOWN_GROUP_ID, RuleSettings
from mcfcheck.rules.identifiers import luhn_check_digit, mpan_check_digit, mprn_check_digits
from mcfcheck.rules.selection import Selection
from mcfcheck.schema.binding import BindingSet, default_binding, load_binding
from mcfcheck.schema.loading import MCF_NAMESPACE


@dataclass(frozen=True)
class Edit:
    """A change to one installation: replace (or remove) the element at ``path``, or append to it."""

    path: str
    xml: str
    installation: int = 1
    append: bool = False


@dataclass(frozen=True)
class RuleCase:
    """One case of a rule: the file to build, and the codes expected from it."""

    code: str
    name: str
    expect: tuple[str, ...]
    cohort: str = "CB"
    installations: int = 1
    edits: tuple[Edit, ...] = ()
    header: Mapping[str, str] = field(default_factory=dict)
    trailer: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, object] = field(default_factory=dict)
    epcl: str | None = None
    severity: str | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"


def load_cases(path: Path) -> list[RuleCase]:
    """The cases of a case file."""
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    code = document["code"]
    cases = []
    for entry in document.get("cases", []):
        edits = tuple(
            Edit(
                path=edit["path"],
                xml=edit.get("xml", ""),
                installation=int(edit.get("installation", 1)),
                append=bool(edit.get("append", False)),
            )
            for edit in entry.get("edits", [])
        )
        cases.append(
            RuleCase(
                code=code,
                name=entry["name"],
                expect=tuple(entry.get("expect", [])),
                cohort=entry.get("cohort", "CB"),
                installations=int(entry.get("installations", 1)),
                edits=edits,
                header=dict(entry.get("header", {})),
                trailer={key: str(value) for key, value in entry.get("trailer", {}).items()},
                options=dict(entry.get("options", {})),
                epcl=entry.get("epcl"),
                severity=entry.get("severity"),
            )
        )
    return cases


def _device_xml(device_type: str, device_id: str, cohort: Cohort, extra: str = "") -> str:
    model = cohort.device_sets[0].models[device_type][0]
    return (
        f"<Device><DeviceType>{device_type}</DeviceType><DeviceID>{device_id}</DeviceID>"
        f"<DeviceModel><Manufacturer>{model.manufacturer}</Manufacturer><Model>{model.model}</Model>"
        f"<FirmwareVersion>{model.firmware_versions[0]}</FirmwareVersion></DeviceModel>{extra}</Device>"
    )


def base_installation(cohort: Cohort, number: int) -> str:
    """A valid installation of ``cohort`` whose identifiers are unique by ``number`` (1 to 65535).

    Active, dual fuel, credit: a Communications Hub, an ESME without auxiliary load, a
    GSME, a GPF and an IHD, each of the cohort's first device set's first model.
    """
    oui = cohort.device_sets[0].oui

    def device_id(slot: int) -> str:
        return f"{oui}-00-{number >> 8 & 255:02X}-{number & 255:02X}-00-{slot:02X}"

    mpan_body = f"{10 + number % 14:02d}{number:010d}"
    mprn_body = f"{10_000_000 + number:08d}"
    iccid_body = f"894410{number:012d}"
    hub_model = cohort.device_sets[0].models["CHF"][0]
    static_ip = (
        f"<StaticIPAddress>10.0.{number >> 8 & 255}.{number & 255}</StaticIPAddress>" if cohort.name == "CB" else ""
    )
    return (
        f"<Installation><InstallationReference>INST-{number}</InstallationReference><Status>Active</Status>"
        f"<MeterPoints><MPANCore>{mpan_body}{mpan_check_digit(mpan_body)}</MPANCore>"
        f"<MPRN>{mprn_body}{mprn_check_digits(mprn_body)}</MPRN></MeterPoints>"
        f"<CommunicationsHub><DeviceID>{device_id(0)}</DeviceID>"
        f"<DeviceModel><Manufacturer>{hub_model.manufacturer}</Manufacturer><Model>{hub_model.model}</Model>"
        f"<FirmwareVersion>{hub_model.firmware_versions[0]}</FirmwareVersion></DeviceModel>"
        f"<WAN><ICCID>{iccid_body}{luhn_check_digit(iccid_body)}</ICCID><IMSI>23415{number:010d}</IMSI>"
        f"{static_ip}<APN>{cohort.apn}</APN></WAN></CommunicationsHub>"
        "<Devices>"
        + _device_xml(
            "ESME", device_id(1), cohort, "<PaymentMode>Credit</PaymentMode><AuxiliaryLoad>false</AuxiliaryLoad>"
        )
        + _device_xml("GSME", device_id(2), cohort, "<PaymentMode>Credit</PaymentMode>")
        + _device_xml("GPF", device_id(3), cohort)
        + _device_xml("IHD", device_id(4), cohort)
        + "</Devices></Installation>"
    )


def _elements(xml: str) -> list[etree._Element]:
    wrapper = etree.fromstring(f'<wrapper xmlns="{MCF_NAMESPACE}">{xml}</wrapper>')
    return list(wrapper)


def _qualified(path: str) -> str:
    return "/".join(f"{{{MCF_NAMESPACE}}}{step}" for step in path.split("/"))


def _set_texts(parent: etree._Element, values: Mapping[str, str]) -> None:
    for name, text in values.items():
        element = parent.find(_qualified(name))
        if element is None:
            raise ValueError(f"no element {name!r} to set")
        element.text = text


def build_document(case: RuleCase) -> str:
    """The MCF a case describes, pretty-printed."""
    cohort = builtin_cohorts()[case.cohort]
    installations = "".join(base_installation(cohort, number) for number in range(1, case.installations + 1))
    root = etree.fromstring(
        f'<MigrationFile xmlns="{MCF_NAMESPACE}" schemaVersion="1.0"><Header>'
        "<FileIdentifier>CASE-1</FileIdentifier><CreationDateTime>2026-01-05T09:00:00Z</CreationDateTime>"
        f"<SchemaVersion>1.0</SchemaVersion><TMADVersion>2.0</TMADVersion><GroupID>{cohort.group_id}</GroupID>"
        f"<SMSOName>{cohort.smso[0]}</SMSOName><SupplierPartyID>SUPP01</SupplierPartyID>"
        "<SupplierDCCUserID>90-B3-D5-1F-30-01-00-01</SupplierDCCUserID></Header>"
        f"<Installations>{installations}</Installations>"
        "<Trailer><InstallationCount>0</InstallationCount><DeviceCount>0</DeviceCount></Trailer></MigrationFile>"
    )
    records = root.findall(_qualified("Installations/Installation"))
    for edit in case.edits:
        record = records[edit.installation - 1]
        target = record if edit.path == "." else record.find(_qualified(edit.path))
        if target is None:
            raise ValueError(f"{case}: no element {edit.path!r} in installation {edit.installation}")
        if edit.append:
            target.extend(_elements(edit.xml))
            continue
        parent = target.getparent()
        assert parent is not None
        position = parent.index(target)
        parent.remove(target)
        for offset, element in enumerate(_elements(edit.xml)):
            parent.insert(position + offset, element)
    devices = sum(
        len(record.findall(_qualified("Devices/Device"))) + len(record.findall(_qualified("CommunicationsHub")))
        for record in records
    )
    trailer = {"InstallationCount": str(len(records)), "DeviceCount": str(devices), **case.trailer}
    trailer_element = root.find(_qualified("Trailer"))
    assert trailer_element is not None
    _set_texts(trailer_element, trailer)
    header_element = root.find(_qualified("Header"))
    assert header_element is not None
    _set_texts(header_element, case.header)
    etree.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="unicode") + "\n"


@dataclass(frozen=True)
class Dialect:
    """A dialect to run cases in: its binding and its schema (mcfcheck's own by default).

    A case is written in mcfcheck's own dialect; in another, its file is translated
    through the binding (:func:`mcfcheck.dialects.translate`) before it is validated, so
    the same case checks that a rule reaches files of that dialect.
    """

    binding: Path | None = None
    schema: Path | None = None

    def __str__(self) -> str:
        return self.binding.stem if self.binding is not None else "mcf"


#: mcfcheck's own dialect: its bundled schema and binding.
OWN_DIALECT: Final = Dialect()


def run_case(
    case: RuleCase,
    folder: Path,
    also: Sequence[str] = ("XSD", UNKNOWN_GROUP_ID),
    dialect: Dialect = OWN_DIALECT,
) -> list[Finding]:
    """Build the case's file in ``folder`` and return the findings of its rule (and of ``also``)."""
    path = folder / f"{case.code}-case.xml"
    text = build_document(case)
    bindings = BindingSet.of()
    if dialect.binding is not None:
        binding = load_binding(dialect.binding)
        bindings = BindingSet.of([binding])
        text = "".join(translate([text.encode("utf-8")], default_binding(), binding))
    path.write_text(text, encoding="utf-8")
    epcl = None
    if case.epcl is not None:
        epcl = folder / f"{case.code}-epcl.csv"
        epcl.write_text(case.epcl, encoding="utf-8")
    settings = RuleSettings(
        selection=Selection(select=(case.code, *also)),
        options={case.code: dict(case.options)},
        epcl=epcl,
        bindings=bindings,
    )
    report = validate(path, schema=dialect.schema, settings=settings)
    if report.error is not None:
        raise AssertionError(f"{case}: {report.error}")
    return list(report.findings)
