"""Read-only views of the parts of an MCF that rules look at.

An installation is read in one walk over its elements into plain fields, so that the
dozens of rules that look at it pay for each element once. What is read, and where,
is the dialect's binding (:mod:`mcfcheck.schema.binding`): the rules see concepts, in
mcfcheck's terms, whatever the file's element names. Elements are found again only
when a problem needs a place. Views live only while their element does: rules must
not keep them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import cache
from typing import Final

from lxml import etree

from mcfcheck.input.xml import split_tag
from mcfcheck.native import FAST
from mcfcheck.schema import binding as binding_fields
from mcfcheck.schema.binding import (
    DEVICE,
    DEVICE_LINE_SLOTS,
    DEVICE_PLACE_SLOT,
    DEVICES_SLOT,
    FLAG,
    FLAG_SLOTS,
    HUB,
    TEXT,
    Binding,
    PlanNode,
    ReadingPlan,
    plan_of,
)


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def _integer(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _boolean(text: str | None) -> bool | None:
    if text is None:
        return None
    value = text.strip()
    return True if value in ("true", "1") else False if value in ("false", "0") else None


def _text(element: etree._Element) -> str | None:
    text = element.text
    return text.strip() if text is not None else None


def _line(element: etree._Element) -> int:
    return element.sourceline or 0


def _place(element: etree._Element, steps: tuple[str, ...]) -> etree._Element | None:
    """The element at ``steps`` under ``element`` (for an attribute, its element), in its namespace."""
    if steps and steps[-1].startswith("@"):
        steps = steps[:-1]
    if not steps:
        return element
    namespace = split_tag(element.tag)[0]
    prefix = f"{{{namespace}}}" if namespace else ""
    return element.find("/".join(prefix + step for step in steps))


def _value(element: etree._Element, steps: tuple[str, ...]) -> str | None:
    """The stripped text, or attribute value, at ``steps`` under ``element``."""
    target = _place(element, steps)
    if target is None:
        return None
    if steps and steps[-1].startswith("@"):
        found = target.get(steps[-1][1:])
        return found.strip() if found is not None else None
    return _text(target)


def concept_text(element: etree._Element, binding: Binding, concept: str) -> str | None:
    """The text of ``concept`` below ``element`` (its parent in the binding), in mcfcheck's terms."""
    steps = binding.paths.get(concept)
    if steps is None:
        return None
    found = _value(element, steps)
    mapping = binding.values.get(concept)
    return mapping.get(found, found) if mapping is not None and found is not None else found


def part_of(root: etree._Element, steps: tuple[str, ...] | None) -> etree._Element | None:
    """The element at ``steps`` below the document's root (the header, the trailer), if there is one."""
    return _place(root, steps) if steps is not None else None


class _Element:
    """A part of the file, read through its dialect's binding."""

    __slots__ = ("binding", "element")

    def __init__(self, element: etree._Element, binding: Binding) -> None:
        self.element = element
        self.binding = binding

    def text(self, concept: str) -> str | None:
        """The concept's stripped text (or attribute value), in mcfcheck's terms; None where absent."""
        return concept_text(self.element, self.binding, concept)

    def place(self, concept: str) -> etree._Element | None:
        """The element that holds ``concept`` (for an attribute, its element), to point a problem at."""
        steps = self.binding.paths.get(concept)
        return _place(self.element, steps) if steps is not None else None

    def container(self, concept: str) -> etree._Element | None:
        """The element that holds, or would hold, ``concept``: where to point at one that is missing."""
        steps = self.binding.paths.get(concept)
        return _place(self.element, steps[:-1]) if steps else None

    def find(self, path: str) -> etree._Element | None:
        """The first element at ``path`` (local names joined by /, in this element's namespace).

        ``path`` is in the file's own dialect: rules that should reach every dialect use
        :meth:`place` with a concept instead.
        """
        return _place(self.element, tuple(path.split("/")))


class HeaderView(_Element):
    """The file's header."""

    __slots__ = ()

    @property
    def group_id(self) -> str | None:
        return self.text("group_id")

    @property
    def smso_name(self) -> str | None:
        return self.text("smso")

    @property
    def creation_time(self) -> dt.datetime | None:
        text = self.text("creation_time")
        if text is None:
            return None
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return None


class TrailerView(_Element):
    """The file's trailer, with its control totals."""

    __slots__ = ()

    @property
    def installation_count(self) -> int | None:
        return _integer(self.text("installation_count"))

    @property
    def device_count(self) -> int | None:
        return _integer(self.text("device_count"))


def concept_xpath(binding: Binding, concept: str) -> str:
    """The XPath of a concept below its parent ("/MeterPoints/MPANCore"), "" where it is the parent itself."""
    steps = binding.paths.get(concept, ())
    return "".join(f"/{step}" for step in steps)


def device_slots(installation: InstallationView) -> list[int]:
    """Each device's slot for places written after it is gone: its position among those of its path.

    A binding may place devices at several paths (by device type); the slot is then the
    index of the path times :data:`DEVICE_PATH_SLOTS`, plus the position (from 1).
    """
    if len(installation.binding.devices) <= 1:
        return list(range(1, len(installation.devices) + 1))
    counts: dict[int, int] = {}
    slots: list[int] = []
    for device in installation.devices:
        place = device.path_index
        counts[place] = position = counts.get(place, 0) + 1
        slots.append(place * DEVICE_PATH_SLOTS + position)
    return slots


#: How device slots are numbered per device path (see :func:`device_slots`).
DEVICE_PATH_SLOTS: Final = 1 << 20


def device_xpath(binding: Binding, slot: int, concept: str) -> str:
    """The XPath below the installation of a device's concept, from its slot (0 for the hub)."""
    if slot == 0:
        hub = binding.paths.get("hub", ())
        return "".join(f"/{step}" for step in hub) + concept_xpath(binding, concept)
    paths = list(dict.fromkeys(binding.devices.values()))
    index, position = divmod(slot, DEVICE_PATH_SLOTS)
    steps = paths[index] if index < len(paths) else ()
    if not steps:
        return concept_xpath(binding, concept)
    where = "".join(f"/{step}" for step in steps[:-1])
    return f"{where}/{steps[-1]}[{position}]" + concept_xpath(binding, concept)


_Text = str | None
_Line = int | None

#: The names of a device's fields, in the order of :data:`DeviceFields` (the reading
#: plan's slots, which both readers take from the plan).
DEVICE_FIELDS: Final = binding_fields.DEVICE_FIELDS
#: The names of an installation's fields, in the order of :data:`InstallationFields`.
INSTALLATION_FIELDS: Final = binding_fields.INSTALLATION_FIELDS

#: What a device's view is made from: its element, device type, Device ID and its line,
#: manufacturer, model, firmware version, payment mode and auxiliary load, where the
#: binding places them, texts stripped (where an element repeats, the last one counts);
#: and its place: the index of the device path it was found at (-1 for the hub).
DeviceFields = tuple[etree._Element, _Text, _Text, int, _Text, _Text, _Text, _Text, _Text, int]

#: What an installation's view is made from, in this order. Texts are stripped; a line
#: is None when its element is absent; where an element repeats, the last one counts.
# fmt: off
InstallationFields = tuple[
    _Text, _Line, _Text,                                # reference and its line, status
    _Text, _Line, _Text, _Line,                         # MPAN core, MPRN, each with its line
    DeviceFields | None,                                # the Communications Hub
    _Text, _Line, _Text, _Line, _Text, _Line, _Text,    # its SIM: ICCID, IMSI, static IP address, APN
    list[DeviceFields],                                 # the devices
    bool, _Text,                                        # prepayment settings, UTRN cutover hours
    bool, _Text, _Text, _Text, _Text, _Text,            # a dormant notice: its four dates, shorter notice agreed
    _Text,                                              # the hub's communications service provider
]
# fmt: on


class _Node:
    """A reading plan's node, with its children keyed by Clark name in one namespace."""

    __slots__ = ("actions", "attributes", "children", "flag", "line", "value")

    def __init__(self, node: PlanNode, prefix: str) -> None:
        _name, self.actions, self.value, self.line, self.flag, self.attributes, children = node
        self.children = {prefix + child[0]: _Node(child, prefix) for child in children}


@cache
def _python_plan(plan: ReadingPlan, namespace: str | None) -> tuple[_Node, _Node]:
    prefix = f"{{{namespace}}}" if namespace else ""
    return _Node(plan.installation, prefix), _Node(plan.device, prefix)


def _walk(element: etree._Element, node: _Node, slots: list[object], device: _Node) -> None:
    """Put what ``node`` reads from ``element`` and its descendants in ``slots``."""
    for name, value, line, _shared in node.attributes:
        found = element.get(name)
        if found is not None:
            slots[value] = found.strip()
            if line >= 0:
                slots[line] = _line(element)
    children = node.children
    for child in element:
        sub = children.get(child.tag)  # type: ignore[arg-type]
        if sub is None:
            continue
        actions = sub.actions
        if actions & TEXT:
            slots[sub.value] = _text(child)
            if sub.line >= 0:
                slots[sub.line] = _line(child)
        if actions & FLAG:
            slots[sub.flag] = True
        if actions & HUB:
            slots[sub.flag] = _read_device(child, device, -1)
        if actions & DEVICE:
            devices = slots[sub.value]
            assert isinstance(devices, list)
            devices.append(_read_device(child, device, sub.line))
        if sub.children or sub.attributes:
            _walk(child, sub, slots, device)


def _own_text(element: etree._Element, node: _Node, slots: list[object]) -> None:
    """A concept bound to the element itself (path "."): its own text."""
    if node.actions & TEXT:
        slots[node.value] = _text(element)
        if node.line >= 0:
            slots[node.line] = _line(element)


def _read_device(element: etree._Element, device: _Node, place: int) -> DeviceFields:
    slots: list[object] = [None] * len(DEVICE_FIELDS)
    slots[0] = element
    slots[DEVICE_PLACE_SLOT] = place
    _own_text(element, device, slots)
    _walk(element, device, slots, device)
    for line in DEVICE_LINE_SLOTS:
        if slots[line] is None:
            slots[line] = 0
    return tuple(slots)  # type: ignore[return-value]


def read_installation_fields(element: etree._Element, plan: ReadingPlan) -> InstallationFields:
    """An installation's fields, read through lxml's Python API (what the C reader also gives)."""
    tag = element.tag
    assert isinstance(tag, str)
    installation, device = _python_plan(plan, tag[1 : tag.index("}")] if tag.startswith("{") else None)
    slots: list[object] = [None] * len(INSTALLATION_FIELDS)
    slots[DEVICES_SLOT] = []
    for flag in FLAG_SLOTS:
        slots[flag] = False
    _own_text(element, installation, slots)
    _walk(element, installation, slots, device)
    return tuple(slots)  # type: ignore[return-value]


@cache
def fast_plan(plan: ReadingPlan) -> object:
    """The C reader's form of ``plan`` (``_fastread.Plan``), made once per plan; needs the C module."""
    assert FAST is not None
    made: object = FAST.Plan(plan.as_tuple())
    return made


#: Whether installations are read in C (see :mod:`mcfcheck.native._fastread`).
FAST_READER = FAST is not None


class Reader:
    """Reads the installations of one dialect into views: in C where the C module is built, else through lxml."""

    __slots__ = ("binding", "device_maps", "fast", "installation_maps", "plan", "read_fast")

    def __init__(self, binding: Binding) -> None:
        self.binding = binding
        self.plan = plan_of(binding)
        #: The dialect's value maps, by the slot of the reading they apply to.
        self.installation_maps = [
            (INSTALLATION_FIELDS.index(name), mapping)
            for name, mapping in binding.values.items()
            if name in INSTALLATION_FIELDS
        ]
        self.device_maps = [
            (DEVICE_FIELDS.index(name), mapping) for name, mapping in binding.values.items() if name in DEVICE_FIELDS
        ]
        #: The C reader, and the plan it reads by; None without the C module.
        self.read_fast: Callable[[etree._Element, object], InstallationFields] | None = None
        self.fast: object = None
        if FAST is not None:
            self.read_fast = FAST.read_installation
            self.fast = fast_plan(self.plan)

    def fields(self, element: etree._Element) -> InstallationFields:
        """An installation's fields, before value maps."""
        read = self.read_fast
        return read(element, self.fast) if read is not None else read_installation_fields(element, self.plan)

    def installation(self, element: etree._Element) -> InstallationView:
        """The rules' view of an installation, its values in mcfcheck's terms."""
        fields = self.fields(element)
        if self.installation_maps or self.device_maps:
            fields = self.mapped(fields)
        return InstallationView(element, self.binding, fields)

    def mapped(self, fields: InstallationFields) -> InstallationFields:
        """``fields`` with the dialect's values mapped to mcfcheck's."""
        slots = _mapped_slots(fields, self.installation_maps)
        if self.device_maps:
            hub = slots[_HUB]
            if isinstance(hub, tuple):
                slots[_HUB] = tuple(_mapped_slots(hub, self.device_maps))
            devices = slots[DEVICES_SLOT]
            assert isinstance(devices, list)
            slots[DEVICES_SLOT] = [tuple(_mapped_slots(device, self.device_maps)) for device in devices]
        return tuple(slots)  # type: ignore[return-value]


def _mapped_slots(fields: tuple[object, ...], maps: list[tuple[int, Mapping[str, str]]]) -> list[object]:
    """``fields`` as a list, each text in a mapped slot replaced by its mapping's value for it."""
    slots = list(fields)
    for slot, mapping in maps:
        text = slots[slot]
        if isinstance(text, str):
            slots[slot] = mapping.get(text, text)
    return slots


_HUB: Final = INSTALLATION_FIELDS.index("hub")


class DeviceView(_Element):
    """A device: the Communications Hub (type CHF) or one of the installation's devices."""

    __slots__ = (
        "auxiliary_load",
        "device_id",
        "device_id_line",
        "device_type",
        "firmware_version",
        "manufacturer",
        "model",
        "path_index",
        "payment_mode",
    )

    def __init__(self, fields: DeviceFields, binding: Binding, default_type: str = "") -> None:
        element, device_type, device_id, device_id_line, manufacturer, model, firmware, payment, auxiliary, place = (
            fields
        )
        super().__init__(element, binding)
        self.device_type = device_type or default_type
        self.device_id = device_id
        self.device_id_line = device_id_line
        self.manufacturer = manufacturer
        self.model = model
        self.firmware_version = firmware
        self.payment_mode = payment
        self.auxiliary_load = _boolean(auxiliary)
        #: The index of the binding's device path it was found at (-1 for the hub).
        self.path_index = place


class InstallationView(_Element):
    """One SMETS1 Installation, as the rules see it."""

    __slots__ = (
        "apn",
        "csp",
        "devices",
        "dormant_notice",
        "firmware_notice_date",
        "hub",
        "iccid",
        "imsi",
        "lines",
        "migration_notice_date",
        "mpan",
        "mprn",
        "planned_migration_date",
        "planned_upgrade_date",
        "prepayment_block",
        "reference",
        "shorter_notice_agreed",
        "static_ip",
        "status",
        "utrn_cutover_hours",
    )

    def __init__(self, element: etree._Element, binding: Binding, fields: InstallationFields) -> None:
        super().__init__(element, binding)
        (
            self.reference,
            reference_line,
            status,
            self.mpan,
            mpan_line,
            self.mprn,
            mprn_line,
            hub,
            self.iccid,
            iccid_line,
            self.imsi,
            imsi_line,
            self.static_ip,
            static_ip_line,
            self.apn,
            devices,
            self.prepayment_block,
            utrn,
            self.dormant_notice,
            firmware_notice,
            planned_upgrade,
            migration_notice,
            planned_migration,
            shorter_notice,
            self.csp,
        ) = fields
        self.status = status
        self.hub = DeviceView(hub, binding, "CHF") if hub is not None else None
        self.devices = [DeviceView(device, binding) for device in devices]
        self.utrn_cutover_hours = _integer(utrn)
        self.firmware_notice_date = _date(firmware_notice)
        self.planned_upgrade_date = _date(planned_upgrade)
        self.migration_notice_date = _date(migration_notice)
        self.planned_migration_date = _date(planned_migration)
        self.shorter_notice_agreed = _boolean(shorter_notice) is True
        #: The lines of the identifiers, by field name (reference, mpan, mprn, iccid, imsi, static_ip).
        self.lines: dict[str, int] = {}
        for name, line in (
            ("reference", reference_line),
            ("mpan", mpan_line),
            ("mprn", mprn_line),
            ("iccid", iccid_line),
            ("imsi", imsi_line),
            ("static_ip", static_ip_line),
        ):
            if line is not None:
                self.lines[name] = line

    @property
    def dormant(self) -> bool:
        return self.status == "Dormant"

    @property
    def prepayment(self) -> bool:
        """Whether a meter of the installation is paid for by prepayment."""
        return any(device.payment_mode == "Prepayment" for device in self.devices)

    def devices_of_type(self, device_type: str) -> list[DeviceView]:
        return [device for device in self.devices if device.device_type == device_type]
