"""The C reader of installations gives exactly what the reader through lxml's Python API gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from mcfcheck.generate import MCFGenerator, PlantedKind
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.views import (
    DEVICE_FIELDS,
    FAST_READER,
    INSTALLATION_FIELDS,
    Reader,
    read_installation_fields,
)
from mcfcheck.schema.binding import default_binding, plan_of

if os.environ.get("MCFCHECK_BUILD") in ("plain", "mypyc"):
    # make compile could not build the C reader here (no C compiler, or no lxml headers):
    # test_native checks that it says so; there is nothing to compare.
    pytest.skip("the C reader was not built", allow_module_level=True)

from mcfcheck.native import _fastread as fastread

NAMESPACE = "urn:mcfcheck:mcf"
BUNDLED_PLAN = plan_of(default_binding())
OTHER = "urn:example:other"


def test_the_view_reads_in_c_where_it_was_built() -> None:
    assert FAST_READER


def _installations(path: Path) -> list[etree._Element]:
    return [element for _, element in etree.iterparse(str(path), tag=f"{{{NAMESPACE}}}Installation")]


def _same_reading(element: etree._Element) -> None:
    fast = fastread.read_installation(element)
    python = read_installation_fields(element, BUNDLED_PLAN)
    assert fast == python
    # The devices' elements are lxml's own proxies of the same nodes.
    for fast_device, python_device in zip(fast[15], python[15], strict=True):
        assert fast_device[0] is python_device[0]


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
    last = fastread.read_installation(elements[-1])
    assert last[1] is not None
    assert last[1] > 65_535
    for element in elements[-50:]:
        _same_reading(element)
        reference = element.find(f"{{{NAMESPACE}}}InstallationReference")
        assert reference is not None
        assert fastread.read_installation(element)[1] == reference.sourceline


def test_it_takes_only_lxml_elements() -> None:
    with pytest.raises(TypeError):
        fastread.read_installation("<Installation/>")  # type: ignore[arg-type]


# Text as it may be written: plain, padded with ASCII or Unicode space, split by a
# comment or a processing instruction (lxml's .text stops there), in CDATA, with an entity.
_texts = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "\n  ", "A", "Active", " 2026-01-05 ", "\u00a0x\u2003", "true", " 12 "]),
    # Around the length up to which the C reader shares repeated texts.
    st.sampled_from(["M" * 31, " " + "M" * 31, "M" * 32, "M" * 33, "M" * 32 + "\u00e9"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
).map(lambda text: None if text is None else text.replace("<", "").replace("&", "").replace("]]>", ""))
_decorations = st.sampled_from(["plain", "comment", "pi", "cdata", "entity", "child"])


def _leaf(name: str, text: str | None, decoration: str, namespace: str = NAMESPACE) -> str:
    xmlns = "" if namespace == NAMESPACE else f' xmlns="{namespace}"'
    if text is None:
        return f"<{name}{xmlns}/>"
    body = {
        "plain": text,
        "comment": f"{text}<!-- note -->tail",
        "pi": f"{text}<?pi x?>tail",
        "cdata": f"<![CDATA[{text}]]>",
        "entity": f"{text}&amp;{text}",
        "child": f"{text}<Inner>x</Inner>",
    }[decoration]
    return f"<{name}{xmlns}>{body}</{name}>"


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
        wan = draw(_elements(["ICCID", "IMSI", "StaticIPAddress", "APN"]))
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


def test_repeated_texts_are_shared_and_unique_ones_are_not(tmp_path: Path) -> None:
    path = tmp_path / "file.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=4).write(path, 20)
    first, second = (fastread.read_installation(element) for element in _installations(path)[:2])
    assert first[2] == second[2] == "Active"
    assert first[2] is second[2]
    # Manufacturer, model, payment mode: repeated from one installation to the next.
    for field in (1, 4, 5, 7):
        assert first[15][0][field] is second[15][0][field]
    # Identifiers are the installation's own.
    assert first[0] != second[0]
    assert first[15][0][2] is not second[15][0][2]


def test_reading_leaks_nothing(tmp_path: Path) -> None:
    # Every object the C reader makes must be released with its tuple: read 100,000
    # installations' worth and watch the process's resident memory.
    path = tmp_path / "file.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=2).write(path, 50)
    elements = _installations(path)

    def resident_mb() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

    for element in elements:
        fastread.read_installation(element)
    before = resident_mb()
    for _ in range(2_000):
        for element in elements:
            fastread.read_installation(element)
    # A leak of one small object per installation would be several megabytes.
    assert resident_mb() - before < 2.0


def test_the_c_reader_names_its_slots_as_the_views_do() -> None:
    """The fields' order is defined once: the C module exports its slots' names, which must be the views'."""
    assert fastread.INSTALLATION_FIELDS == INSTALLATION_FIELDS
    assert fastread.DEVICE_FIELDS == DEVICE_FIELDS
    element = etree.fromstring(
        b"<Installation><InstallationReference>R-1</InstallationReference><Status>Active</Status>"
        b"<CommunicationsHub><DeviceID>00-0D-6F-00-00-00-00-01</DeviceID></CommunicationsHub></Installation>"
    )
    fields = read_installation_fields(element, BUNDLED_PLAN)
    assert len(fields) == len(INSTALLATION_FIELDS)
    hub = dict(zip(INSTALLATION_FIELDS, fields, strict=True))["hub"]
    assert isinstance(hub, tuple)
    assert len(hub) == len(DEVICE_FIELDS)
    assert dict(zip(DEVICE_FIELDS, hub, strict=True))["device_id"] == "00-0D-6F-00-00-00-00-01"
    view = Reader(default_binding()).installation(element)
    named = dict(zip(INSTALLATION_FIELDS, fields, strict=True))
    for name in ("reference", "status", "mpan", "iccid", "apn", "utrn_cutover_hours"):
        assert getattr(view, name) == named[name], name
