"""The C reader of installations gives exactly what the reader through lxml's Python API gives, in any dialect."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

from mcfcheck.generate import MCFGenerator, PlantedKind
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.views import (
    DEVICE_FIELDS,
    FAST_READER,
    INSTALLATION_FIELDS,
    InstallationFields,
    Reader,
    fast_plan,
    read_installation_fields,
)
from mcfcheck.schema.binding import (
    CONCEPTS,
    DEVICE,
    HUB,
    TEXT,
    Binding,
    PlanNode,
    ReadingPlan,
    concept,
    default_binding,
    parse_binding,
    plan_of,
    reading_plan,
)

if os.environ.get("MCFCHECK_BUILD") in ("plain", "mypyc"):
    # make compile could not build the C reader here (no C compiler, or no lxml headers):
    # test_native checks that it says so; there is nothing to compare.
    pytest.skip("the C reader was not built", allow_module_level=True)

from mcfcheck.native import _fastread as fastread

NAMESPACE = "urn:mcfcheck:mcf"
BUNDLED_PLAN = plan_of(default_binding())
BUNDLED = fastread.Plan(BUNDLED_PLAN.as_tuple())
OTHER = "urn:example:other"
# The readings' slots of the devices and of the hub (written out, as mypy reads fixed indexes only).
assert (INSTALLATION_FIELDS[15], INSTALLATION_FIELDS[7]) == ("devices", "hub")


def test_the_view_reads_in_c_where_it_was_built() -> None:
    assert FAST_READER


def _installations(path: Path, namespace: str = NAMESPACE, name: str = "Installation") -> list[etree._Element]:
    return [element for _, element in etree.iterparse(str(path), tag=f"{{{namespace}}}{name}")]


def _typed(value: object) -> object:
    """``value`` with each item's type beside it, elements by identity: True is not 1, nor "1" 1."""
    if isinstance(value, etree._Element):
        return ("element", id(value), value.tag)
    if isinstance(value, tuple | list):
        return (type(value).__name__, [_typed(item) for item in value])
    return (type(value).__name__, value)


def _same_reading(element: etree._Element, plan: ReadingPlan = BUNDLED_PLAN) -> InstallationFields:
    fast = fastread.read_installation(element, fastread.Plan(plan.as_tuple()) if plan is not BUNDLED_PLAN else BUNDLED)
    python = read_installation_fields(element, plan)
    assert _typed(fast) == _typed(python)
    # The devices' and the hub's elements are lxml's own proxies of the same nodes.
    for fast_device, python_device in zip(fast[15], python[15], strict=True):
        assert fast_device[0] is python_device[0]
    if python[7] is not None:
        assert fast[7] is not None
        assert fast[7][0] is python[7][0]
    return fast


@pytest.mark.parametrize("cohort", sorted(builtin_cohorts()))
def test_generated_files_read_alike(tmp_path: Path, cohort: str) -> None:
    path = tmp_path / "file.xml"
    planted = dict(enumerate(PlantedKind, start=2))
    MCFGenerator(builtin_cohorts()[cohort], seed=7, error_rate=0.2, planted_at=planted).write(path, 60)
    elements = _installations(path)
    assert len(elements) == 60
    for element in elements:
        _same_reading(element)


def test_lines_beyond_65535_are_libxml2s(tmp_path: Path) -> None:
    # libxml2 keeps lines above 65535 outside the node's 16-bit field; both readers must find them.
    path = tmp_path / "long.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=3).write(path, 1_500)
    elements = _installations(path)
    last = fastread.read_installation(elements[-1], BUNDLED)
    assert last[1] is not None
    assert last[1] > 65_535
    for element in elements[-50:]:
        _same_reading(element)
        reference = element.find(f"{{{NAMESPACE}}}InstallationReference")
        assert reference is not None
        assert fastread.read_installation(element, BUNDLED)[1] == reference.sourceline


def test_it_takes_an_lxml_element_and_a_plan() -> None:
    element = etree.fromstring("<Installation/>")
    with pytest.raises(TypeError, match="lxml element"):
        fastread.read_installation("<Installation/>", BUNDLED)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Plan"):
        fastread.read_installation(element, BUNDLED_PLAN.as_tuple())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="two arguments"):
        fastread.read_installation(element)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="an element"):
        fastread.read_installation(etree.Comment("c"), BUNDLED)


#: Characters XML admits in text and attribute values: not surrogates, controls, or the
#: non-characters U+FFFE and U+FFFF (which libxml2 rightly refuses).
_XML_CHARACTERS = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff")

# Text as it may be written: plain, padded with ASCII or Unicode space, split by a
# comment or a processing instruction (lxml's .text stops there), in CDATA, with an entity.
_texts = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "\n  ", "A", "Active", " 2026-01-05 ", "\u00a0x\u2003", "true", " 12 "]),
    # Around the length up to which the C reader shares repeated texts.
    st.sampled_from(["M" * 31, " " + "M" * 31, "M" * 32, "M" * 33, "M" * 32 + "\u00e9"]),
    st.text(alphabet=_XML_CHARACTERS, max_size=12),
).map(lambda text: None if text is None else text.replace("<", "").replace("&", "").replace("]]>", ""))
_decorations = st.sampled_from(["plain", "comment", "pi", "cdata", "entity", "child"])


def _body(text: str, decoration: str) -> str:
    return {
        "plain": text,
        "comment": f"{text}<!-- note -->tail",
        "pi": f"{text}<?pi x?>tail",
        "cdata": f"<![CDATA[{text}]]>",
        "entity": f"{text}&amp;{text}",
        "child": f"{text}<Inner>x</Inner>",
    }[decoration]


def _leaf(name: str, text: str | None, decoration: str, namespace: str = NAMESPACE) -> str:
    xmlns = "" if namespace == NAMESPACE else f' xmlns="{namespace}"'
    if text is None:
        return f"<{name}{xmlns}/>"
    return f"<{name}{xmlns}>{_body(text, decoration)}</{name}>"


@st.composite
def _elements(draw: st.DrawFn, names: list[str]) -> str:
    """Some of ``names`` as leaves, in any order, some repeated, some in another namespace."""
    chosen = draw(st.lists(st.sampled_from(names), max_size=len(names) + 3))
    parts = []
    for name in chosen:
        namespace = draw(st.sampled_from([NAMESPACE, NAMESPACE, NAMESPACE, OTHER]))
        parts.append(_leaf(name, draw(_texts), draw(_decorations), namespace))
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(["<!-- c -->", "<?pi?>", "\n    "])))
    return "".join(parts)


@st.composite
def _device(draw: st.DrawFn, element: str) -> str:
    model = draw(_elements(["Manufacturer", "Model", "FirmwareVersion"]))
    leaves = draw(_elements(["DeviceType", "DeviceID", "PaymentMode", "AuxiliaryLoad"]))
    extra = draw(st.sampled_from(["", "<WAN/>", "<Unknown>y</Unknown>"]))
    models = "".join(f"<DeviceModel>{model}</DeviceModel>" for _ in range(draw(st.integers(0, 2))))
    return f"<{element}>{leaves}{models}{extra}</{element}>"


@st.composite
def _installation(draw: st.DrawFn) -> str:
    parts = [draw(_elements(["InstallationReference", "Status"]))]
    for _ in range(draw(st.integers(0, 2))):
        parts.append(f"<MeterPoints>{draw(_elements(['MPANCore', 'MPRN']))}</MeterPoints>")
    for _ in range(draw(st.integers(0, 2))):
        wan = draw(_elements(["ICCID", "IMSI", "StaticIPAddress", "APN", "CommunicationsServiceProvider"]))
        hub = draw(_device("CommunicationsHub"))
        parts.append(hub.replace("</CommunicationsHub>", f"<WAN>{wan}</WAN></CommunicationsHub>"))
    for _ in range(draw(st.integers(0, 2))):
        devices = [draw(_device("Device")) for _ in range(draw(st.integers(0, 4)))]
        parts.append(f"<Devices>{''.join(devices)}<Other/></Devices>")
    if draw(st.booleans()):
        parts.append(f"<Prepayment>{draw(_elements(['UTRNCutoverHours']))}</Prepayment>")
    for _ in range(draw(st.integers(0, 2))):
        names = ["FirmwareNoticeDate", "PlannedUpgradeDate", "MigrationNoticeDate", "PlannedMigrationDate"]
        parts.append(f"<DormantNotice>{draw(_elements([*names, 'ShorterNoticeAgreed']))}</DormantNotice>")
    order = draw(st.permutations(range(len(parts))))
    body = "\n".join(parts[index] for index in order)
    namespace = draw(st.sampled_from([f' xmlns="{NAMESPACE}"', f' xmlns:m="{NAMESPACE}"', ""]))
    return f'<?xml version="1.0"?>\n<Installation{namespace}>{body}</Installation>'


@given(_installation())
@settings(max_examples=300, deadline=None)
def test_any_installation_reads_alike(document: str) -> None:
    element = etree.fromstring(document.encode("utf-8"))
    _same_reading(element)
    # The view made from the fields holds the same values whichever reader made them.
    view = Reader(default_binding()).installation(element)
    fields = read_installation_fields(element, BUNDLED_PLAN)
    assert (view.reference, view.status, view.mpan, view.mprn) == (fields[0], fields[2], fields[3], fields[5])
    assert [device.device_id for device in view.devices] == [device[2] for device in fields[15]]


# --- any dialect --------------------------------------------------------------------

#: Element names of random dialects: some share their first letter, some are others' prefixes.
_NAMES = ("A", "Ab", "B", "Bc", "C", "Dev", "Hub")
_ATTRIBUTES = ("id", "i", "ref")
_DEVICE_TYPES = ("*", "ESME", "GSME", "CHF", "PPMID")


def _concepts(parent: str, kind: str) -> list[str]:
    return [item.name for item in CONCEPTS if item.parent == parent and item.kind == kind]


@st.composite
def _path(draw: st.DrawFn, low: int, high: int, attribute: bool = True) -> tuple[str, ...]:
    """A path of ``low`` to ``high`` element names, and perhaps an attribute as its last step."""
    steps = tuple(draw(st.lists(st.sampled_from(_NAMES), min_size=low, max_size=high)))
    if attribute and draw(st.booleans()):
        steps += (f"@{draw(st.sampled_from(_ATTRIBUTES))}",)
    return steps


@st.composite
def _bindings(draw: st.DrawFn) -> Binding:
    """A dialect: its names, attributes as some concepts' last steps, devices at several paths by
    type, the hub with installation concepts under it, nested paths; some concepts not placed."""
    paths: dict[str, tuple[str, ...]] = {}
    # Now and then the hub, or devices, at the installation itself ("."): neither reader reads them there.
    hub = draw(_path(0 if draw(st.integers(0, 7)) == 0 else 1, 2, attribute=False)) if draw(st.integers(0, 3)) else None
    if hub is not None:
        paths["hub"] = hub
    for name in _concepts("installation", "text"):
        if draw(st.integers(0, 3)):
            under_hub = hub is not None and draw(st.booleans())
            paths[name] = (hub if under_hub and hub is not None else ()) + draw(_path(0, 3))
    for name in _concepts("installation", "flag"):
        if draw(st.booleans()):
            paths[name] = draw(_path(0, 3, attribute=False))
    devices = {
        device_type: draw(_path(0 if draw(st.integers(0, 7)) == 0 else 1, 3, attribute=False))
        for device_type in draw(
            st.lists(st.sampled_from(_DEVICE_TYPES), unique=True, min_size=min(1, draw(st.integers(0, 4))), max_size=3)
        )
    }
    for name in _concepts("device", "text"):
        if draw(st.integers(0, 3)):
            paths[name] = draw(_path(0, 2))
    # A concept's text cannot be where devices are, nor two of the hub and the flags at
    # one place: a plan's node has one value slot and one flag slot.
    places = set(devices.values())
    paths = {name: steps for name, steps in paths.items() if steps not in places}
    # Nor two texts in one element or attribute (a binding that asks it is refused).
    texts: set[tuple[str, tuple[str, ...]]] = set()
    for name in list(paths):
        steps = paths[name]
        item = concept(name)
        if item.kind != "text":
            continue
        if (item.parent, steps) in texts:
            del paths[name]
        else:
            texts.add((item.parent, steps))
    flagged: set[tuple[str, ...]] = set()
    for name in ("hub", "prepayment", "dormant_notice"):
        if name in paths and paths[name] in flagged:
            del paths[name]
        elif name in paths:
            flagged.add(paths[name])
    order = draw(st.permutations(list(paths)))
    return Binding(
        source="random",
        name="random",
        namespaces=(NAMESPACE,),
        record=draw(st.sampled_from(["Rec", "A", "Dev"])),
        paths={name: paths[name] for name in order},
        devices=devices,
    )


_attribute_values = st.one_of(
    st.sampled_from(["", " ", "x", " Active ", "a&amp;b", "&#233;t&#233;", "\t1\n", "M" * 31, "M" * 33, "\u00e9"]),
    st.text(alphabet=_XML_CHARACTERS, max_size=6).map(
        lambda text: text.replace("<", "").replace("&", "").replace('"', "")
    ),
)
#: A DTD with an attribute's default (lxml's get() gives it where the attribute is
#: absent) and an entity (left as a reference in values where entities are not resolved).
_DOCTYPE = '<!DOCTYPE {root} [<!ATTLIST Dev id CDATA "dflt"><!ATTLIST Rec ref CDATA " r "><!ENTITY e "ent">]>\n'


@st.composite
def _documents(draw: st.DrawFn, binding: Binding) -> tuple[str, bool]:
    """An installation of ``binding``'s names; and whether entities are to be left unresolved.

    Its elements mostly follow the binding's paths (those below a device or the hub the
    device's too), so that deep paths are met; the others are any of the names.
    """
    plan = reading_plan(binding)
    mode = draw(st.sampled_from(["default", "prefix", "none"]))
    doctype = draw(st.booleans())
    prefix = "m:" if mode == "prefix" else ""

    def attributes(nodes: list[PlanNode]) -> str:
        planned = sorted({attribute[0] for node in nodes for attribute in node[5]})
        pool = [*planned, *planned, *_ATTRIBUTES, "other", "o:id", *(["m:id"] if mode == "prefix" else [])]
        written = []
        for name in draw(st.lists(st.sampled_from(pool), unique=True, max_size=3)):
            value = draw(_attribute_values)
            if doctype and draw(st.booleans()):
                value += "&e;"
            written.append(f' {name}="{value}"')
        return "".join(written)

    def element(depth: int, nodes: list[PlanNode]) -> str:
        planned = sorted({child[0] for node in nodes for child in node[6]})
        follows = bool(planned) and draw(st.integers(0, 3)) > 0
        name = draw(st.sampled_from(planned if follows else [*_NAMES, "Other"]))
        below = [child for node in nodes for child in node[6] if child[0] == name]
        if any(child[1] & (DEVICE | HUB) for child in below):
            below.append(plan.device)
        qualified = f"o:{name}" if draw(st.integers(0, 7)) == 0 else prefix + name
        text = draw(_texts)
        children = [element(depth + 1, below) for _ in range(draw(st.integers(0, max(0, 3 - depth // 2))))]
        for index in range(len(children) - 1, -1, -1):
            if draw(st.integers(0, 5)) == 0:
                children.insert(index, draw(st.sampled_from(["<!-- c -->", "<?pi?>", "\n  "])))
        if text is None and not children:
            return f"<{qualified}{attributes(below)}/>"
        body = _body(text, draw(_decorations)) if text is not None else ""
        return f"<{qualified}{attributes(below)}>{body}{''.join(children)}</{qualified}>"

    root = prefix + binding.record
    declaration = {"default": f' xmlns="{NAMESPACE}"', "prefix": f' xmlns:m="{NAMESPACE}"', "none": ""}[mode]
    declaration += f' xmlns:o="{OTHER}"'
    children = "".join(
        element(1, [plan.installation]) for _ in range(draw(st.integers(0, 5)) or draw(st.integers(0, 5)))
    )
    document = f"<{root}{declaration}{attributes([plan.installation])}>{children}</{root}>"
    return (_DOCTYPE.format(root=root) if doctype else "") + document, doctype and draw(st.booleans())


#: A dialect placed by hand, for the examples every run reads (see test_a_dialect_of_its_own_reads_as_placed).
OWN_DIALECT = """
name = "own"
namespaces = ["urn:example:own"]
[installation]
element = "Site"
reference = "@ref"
status = "State/@code"
mpan = "Supply/Electricity/Core"
mprn = "Supply/Gas/@mprn"
hub = "Gateway"
iccid = "Gateway/Sim/@iccid"
imsi = "Gateway/Sim/Imsi"
apn = "Gateway/Sim/@apn"
prepayment = "Payment"
utrn_cutover_hours = "Payment/@cutover"
devices = { ESME = "Supply/Electricity/Meter", GSME = "Supply/Gas/Meter", "*" = "Extras/Device" }
[device]
device_type = "@type"
device_id = "@id"
model = "Model"
manufacturer = "Model/@maker"
payment_mode = "Mode"
"""
OWN_DOCUMENT = """<Site xmlns="urn:example:own" ref=" S-1 ">
  <State code="Active"/>
  <Gateway type="CHF" id="G-1"><Sim iccid="89" apn="web"><Imsi> 234 </Imsi></Sim><Model maker="AC">G</Model></Gateway>
  <Supply>
    <Electricity><Core>1200000000001</Core><Meter id="E-1" type="ESME"><Mode>Credit</Mode></Meter></Electricity>
    <Gas mprn="42"><Meter id="G-2" type="GSME"/></Gas>
    <Electricity><Meter id="E-2"/></Electricity>
  </Supply>
  <Extras><Device id="X-1" type="PPMID"/><Device xmlns="urn:example:other" id="X-2"/></Extras>
  <Payment cutover="24"/>
</Site>"""


@given(_bindings().flatmap(lambda binding: st.tuples(st.just(binding), _documents(binding))))
@settings(max_examples=400, deadline=None)
@example((parse_binding(OWN_DIALECT, "own"), (OWN_DOCUMENT, False)))
@example((parse_binding(OWN_DIALECT, "own"), (OWN_DOCUMENT.replace(' ref=" S-1 "', ""), True)))
def test_any_dialect_reads_alike(case: tuple[Binding, tuple[str, bool]]) -> None:
    binding, (document, unresolved) = case
    parser = etree.XMLParser(resolve_entities=False) if unresolved else etree.XMLParser()
    element = etree.fromstring(document.encode("utf-8"), parser)
    plan = reading_plan(binding)
    _same_reading(element, plan)
    # The view reads in C whatever the binding, and holds what the Python reader reads.
    reader = Reader(binding)
    assert reader.fast is not None
    assert _typed(reader.fields(element)) == _typed(read_installation_fields(element, plan))


def test_a_dialect_of_its_own_reads_as_placed() -> None:
    """Both readers read the hand-placed dialect as a person reads it: the property test's examples are not vacuous."""
    binding = parse_binding(OWN_DIALECT, "own")
    element = etree.fromstring(OWN_DOCUMENT.encode())
    fields = dict(zip(INSTALLATION_FIELDS, _same_reading(element, reading_plan(binding)), strict=True))
    assert (fields["reference"], fields["reference_line"], fields["status"]) == ("S-1", 1, "Active")
    assert (fields["mpan"], fields["mpan_line"], fields["mprn"], fields["mprn_line"]) == ("1200000000001", 5, "42", 6)
    assert (fields["iccid"], fields["iccid_line"], fields["imsi"], fields["apn"]) == ("89", 3, "234", "web")
    assert (fields["prepayment"], fields["utrn_cutover_hours"], fields["dormant_notice"]) == (True, "24", False)
    hub = fields["hub"]
    assert isinstance(hub, tuple)
    assert {name: value for name, value in zip(DEVICE_FIELDS, hub, strict=True) if name != "element"} == {
        "device_type": "CHF",
        "device_id": "G-1",
        "device_id_line": 3,
        "manufacturer": "AC",
        "model": "G",
        "firmware_version": None,
        "payment_mode": None,
        "auxiliary_load": None,
        "place": -1,
    }
    devices = fields["devices"]
    assert isinstance(devices, list)
    # Every device at any of the paths, in document order; the one in another namespace is not one.
    # Each with its place: the index of its path among the binding's device paths.
    assert [(device[1], device[2], device[3], device[7], device[-1]) for device in devices] == [
        ("ESME", "E-1", 5, "Credit", 0),
        ("GSME", "G-2", 6, None, 1),
        (None, "E-2", 7, None, 0),
        ("PPMID", "X-1", 9, None, 2),
    ]


def test_attributes_in_a_dtd_and_entities_read_as_lxml_reads_them() -> None:
    """Where libxml2 does not hold an attribute's value as one text, the C reader asks lxml."""
    binding = parse_binding(OWN_DIALECT, "own")
    document = (
        b'<!DOCTYPE Site [<!ATTLIST Site ref CDATA " R-0 "><!ENTITY e "nt">]>'
        b'<Site xmlns="urn:example:own"><State code="A&e;ive"/><Extras><Device id="&e;"/></Extras></Site>'
    )
    for resolve in (True, False):
        element = etree.fromstring(document, etree.XMLParser(resolve_entities=resolve))
        fields = dict(zip(INSTALLATION_FIELDS, _same_reading(element, reading_plan(binding)), strict=True))
        assert (fields["reference"], fields["status"]) == ("R-0", "Antive")
        devices = fields["devices"]
        assert isinstance(devices, list)
        assert devices[0][2] == "nt"


def test_the_readings_have_the_views_fields() -> None:
    """The C module knows no field: the plan's sizes and default slots are the views' fields'."""
    plan = BUNDLED_PLAN.as_tuple()
    assert (plan[2], plan[3]) == (len(INSTALLATION_FIELDS), len(DEVICE_FIELDS))
    assert INSTALLATION_FIELDS[plan[4]] == "devices"
    assert [INSTALLATION_FIELDS[slot] for slot in plan[5]] == ["prepayment", "dormant_notice"]
    assert [DEVICE_FIELDS[slot] for slot in plan[6]] == ["device_id_line"]
    assert DEVICE_FIELDS[plan[7]] == "place"
    element = etree.fromstring(b"<Installation><CommunicationsHub/></Installation>")
    fields = dict(zip(INSTALLATION_FIELDS, fastread.read_installation(element, BUNDLED), strict=True))
    hub = fields.pop("hub")
    assert fields == {
        name: [] if name == "devices" else False if name in ("prepayment", "dormant_notice") else None
        for name in INSTALLATION_FIELDS
        if name != "hub"
    }
    assert isinstance(hub, tuple)
    assert dict(zip(DEVICE_FIELDS, hub, strict=True)) == {
        name: element[0] if name == "element" else 0 if name == "device_id_line" else -1 if name == "place" else None
        for name in DEVICE_FIELDS
    }
    element = etree.fromstring(
        b"<Installation><InstallationReference>R-1</InstallationReference><Status>Active</Status>"
        b"<CommunicationsHub><DeviceID>00-0D-6F-00-00-00-00-01</DeviceID></CommunicationsHub></Installation>"
    )
    view = Reader(default_binding()).installation(element)
    named = dict(zip(INSTALLATION_FIELDS, fastread.read_installation(element, BUNDLED), strict=True))
    for name in ("reference", "status", "mpan", "iccid", "apn", "utrn_cutover_hours"):
        assert getattr(view, name) == named[name], name
    assert view.hub is not None
    assert view.hub.device_id == "00-0D-6F-00-00-00-00-01"


def test_the_reader_builds_each_plan_once() -> None:
    own = parse_binding(OWN_DIALECT, "own")
    first, second = Reader(own), Reader(parse_binding(OWN_DIALECT, "own"))
    assert isinstance(first.fast, fastread.Plan)
    assert first.fast is second.fast is fast_plan(reading_plan(own))
    assert first.read_fast is fastread.read_installation
    assert Reader(default_binding()).fast is not first.fast


def test_repeated_texts_are_shared_and_unique_ones_are_not(tmp_path: Path) -> None:
    path = tmp_path / "file.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=4).write(path, 20)
    first, second = (fastread.read_installation(element, BUNDLED) for element in _installations(path)[:2])
    assert first[2] == second[2] == "Active"
    assert first[2] is second[2]
    # Manufacturer, model, payment mode: repeated from one installation to the next.
    for field in (1, 4, 5, 7):
        assert first[15][0][field] is second[15][0][field]
    # Identifiers are the installation's own.
    assert first[0] != second[0]
    assert first[15][0][2] is not second[15][0][2]


def test_shared_attributes_are_shared_and_others_are_not() -> None:
    plan = fastread.Plan(reading_plan(parse_binding(OWN_DIALECT, "own")).as_tuple())
    document = b"""<Site xmlns="urn:example:own" ref="R-1"><State code="Active"/><Extras>
        <Device type="ESME" id="X-1"/><Device type="ESME" id="X-1"/></Extras></Site>"""
    first, second = (fastread.read_installation(etree.fromstring(document), plan) for _ in range(2))
    # Status and device type are shared concepts, the reference and the Device ID are not.
    assert first[2] == "Active"
    assert first[2] is second[2]
    devices = first[15]
    assert devices[0][1] == "ESME"
    assert devices[0][1] is devices[1][1]
    assert devices[0][2] == devices[1][2] == "X-1"
    assert devices[0][2] is not devices[1][2]
    assert first[0] is not second[0]


def _replace(value: tuple[object, ...], index: int, item: object) -> tuple[object, ...]:
    return (*value[:index], item, *value[index + 1 :])


def _node(value: PlanNode, index: int, item: object) -> tuple[object, ...]:
    """A plan's node with its item ``index`` replaced."""
    return _replace(value, index, item)


def _deep(depth: int) -> tuple[object, ...]:
    node: tuple[object, ...] = ("X", 0, -1, -1, -1, (), ())
    for _ in range(depth):
        node = ("X", 0, -1, -1, -1, (), (node,))
    return node


_PLAN = BUNDLED_PLAN.as_tuple()
_INSTALLATION, _DEVICE = _PLAN[0], _PLAN[1]
_TEXT_INTO_DEVICES = ("Odd", TEXT, _PLAN[4], -1, -1, (), ())
_MISPLACED: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("a list", lambda: list(_PLAN), TypeError, "must be a tuple"),
    ("too short", lambda: _PLAN[:4], ValueError, "8 items"),
    ("a place beyond a device's reading", lambda: _replace(_PLAN, 7, 10), ValueError, "device place's slot"),
    ("a place in the element's slot", lambda: _replace(_PLAN, 7, 0), ValueError, "device place's slot"),
    ("a size as text", lambda: _replace(_PLAN, 2, "24"), TypeError, "must be an int"),
    ("no slots", lambda: _replace(_PLAN, 3, 0), ValueError, "a device's size"),
    ("a huge size", lambda: _replace(_PLAN, 2, 2**80), ValueError, "installation's size"),
    ("devices beyond the reading", lambda: _replace(_PLAN, 4, len(INSTALLATION_FIELDS)), ValueError, "devices' slot"),
    ("a flag in the devices' slot", lambda: _replace(_PLAN, 5, (16, _PLAN[4])), ValueError, "list of devices"),
    ("a device line in the element's slot", lambda: _replace(_PLAN, 6, (0,)), ValueError, "device's element"),
    ("a node as a list", lambda: _replace(_PLAN, 0, list(_INSTALLATION)), TypeError, "must be a tuple"),
    ("a node's name as bytes", lambda: _replace(_PLAN, 1, _node(_DEVICE, 0, b"*")), TypeError, "must be a str"),
    ("an empty name", lambda: _replace(_PLAN, 0, _node(_INSTALLATION, 0, "")), ValueError, "not a name"),
    ("a name with NUL", lambda: _replace(_PLAN, 0, _node(_INSTALLATION, 0, "A\0B")), ValueError, "not a name"),
    ("a Clark name", lambda: _replace(_PLAN, 0, _node(_INSTALLATION, 0, "{u}A")), ValueError, "not a name"),
    ("an unknown action", lambda: _replace(_PLAN, 0, _node(_INSTALLATION, 1, 32)), ValueError, "actions"),
    ("a slot beyond", lambda: _replace(_PLAN, 1, _node(_DEVICE, 2, 10)), ValueError, "value slot"),
    ("a line below -1", lambda: _replace(_PLAN, 1, _node(_DEVICE, 3, -2)), ValueError, "line slot"),
    (
        "text into the devices' slot",
        lambda: _replace(_PLAN, 0, _node(_INSTALLATION, 6, (*_INSTALLATION[6], _TEXT_INTO_DEVICES))),
        ValueError,
        "list of devices",
    ),
    (
        "devices into another slot",
        lambda: _replace(_PLAN, 0, _node(_INSTALLATION, 6, (("Odd", DEVICE, 3, 0, -1, (), ()),))),
        ValueError,
        "not the list of devices",
    ),
    (
        "devices without their place",
        lambda: _replace(_PLAN, 0, _node(_INSTALLATION, 6, (("Odd", DEVICE, 15, -1, -1, (), ()),))),
        ValueError,
        "without their place",
    ),
    (
        "devices in a device",
        lambda: _replace(_PLAN, 1, _node(_DEVICE, 6, (("Odd", DEVICE, -1, -1, -1, (), ()),))),
        ValueError,
        "device tree",
    ),
    (
        "text into a device's element",
        lambda: _replace(_PLAN, 1, _node(_DEVICE, 6, (("Odd", TEXT, 0, -1, -1, (), ()),))),
        ValueError,
        "device's element",
    ),
    (
        "an attribute of three",
        lambda: _replace(_PLAN, 1, _node(_DEVICE, 5, (("id", 2, 3),))),
        ValueError,
        "4 items",
    ),
    (
        "an attribute shared as 1",
        lambda: _replace(_PLAN, 1, _node(_DEVICE, 5, (("id", 2, 3, 1),))),
        TypeError,
        "must be a bool",
    ),
    ("children as a list", lambda: _replace(_PLAN, 1, _node(_DEVICE, 6, [])), TypeError, "must be a tuple"),
    (
        "two children of one name",
        lambda: _replace(_PLAN, 1, _node(_DEVICE, 6, (_DEVICE[6][0], _DEVICE[6][0]))),
        ValueError,
        "two children",
    ),
    ("a tree too deep", lambda: _replace(_PLAN, 1, _deep(300)), ValueError, "deeper than"),
]


@pytest.mark.parametrize(
    ("source", "error", "message"), [case[1:] for case in _MISPLACED], ids=[c[0] for c in _MISPLACED]
)
def test_a_misshapen_plan_is_refused(source: Callable[[], object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        fastread.Plan(source())  # type: ignore[arg-type]


def test_a_plan_takes_one_tuple() -> None:
    with pytest.raises(TypeError):
        fastread.Plan()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        fastread.Plan(plan=_PLAN)  # type: ignore[call-arg]
    with pytest.raises(UnicodeEncodeError):
        fastread.Plan(_replace(_PLAN, 0, _node(_INSTALLATION, 0, "\ud800")))  # type: ignore[arg-type]
    # A tree just within the depth is taken.
    assert isinstance(fastread.Plan(_replace(_PLAN, 1, _deep(255))), fastread.Plan)  # type: ignore[arg-type]


def _resident_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def test_reading_leaks_nothing(tmp_path: Path) -> None:
    # Every object the C reader makes must be released with its tuple: read 100,000
    # installations' worth and watch the process's resident memory.
    path = tmp_path / "file.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=2).write(path, 50)
    elements = _installations(path)
    # And a dialect read through attributes (one of them through lxml, from the DTD).
    own = fastread.Plan(reading_plan(parse_binding(OWN_DIALECT, "own")).as_tuple())
    site = etree.fromstring(OWN_DOCUMENT.encode())
    dtd_site = etree.fromstring(b'<!DOCTYPE Site [<!ATTLIST Site ref CDATA "R">]>' + OWN_DOCUMENT.encode())

    def read_all() -> None:
        for element in elements:
            fastread.read_installation(element, BUNDLED)
        fastread.read_installation(site, own)
        fastread.read_installation(dtd_site, own)

    read_all()
    before = _resident_mb()
    for _ in range(2_000):
        read_all()
    # A leak of one small object per installation would be several megabytes.
    assert _resident_mb() - before < 2.0


def test_plans_leak_nothing() -> None:
    # A plan's structures are freed with it, and those of a plan refused half-built.
    refused = _replace(_PLAN, 1, _node(_DEVICE, 6, (*_DEVICE[6], ("Odd", DEVICE, -1, -1, -1, (), ()))))
    own = reading_plan(parse_binding(OWN_DIALECT, "own")).as_tuple()

    def build() -> None:
        fastread.Plan(_PLAN)
        fastread.Plan(own)
        with pytest.raises(ValueError, match="device tree"):
            fastread.Plan(refused)  # type: ignore[arg-type]

    # A first round as long as the measured one: what the allocator takes once for its own
    # pools (a couple of megabytes, now and then, in a process the test suite has grown)
    # is no leak; a leak grows again in every round.
    for _ in range(20_000):
        build()
    before = _resident_mb()
    for _ in range(20_000):
        build()
    assert _resident_mb() - before < 2.0
