"""Read-only views of the parts of an MCF that rules look at.

An installation is read in one walk over its elements into plain fields, so that the
dozens of rules that look at it pay for each element once. Elements are found again
only when a problem needs a place. Views live only while their element does: rules
must not keep them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Final

from lxml import etree

from mcfcheck.input.xml import split_tag
from mcfcheck.native import FAST


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


class _Names:
    """The Clark names of the elements the views read, in one namespace.

    Comparing an element's tag with these is cheaper than taking its local name:
    the walk over an installation compares some forty tags.
    """

    def __init__(self, namespace: str | None) -> None:
        prefix = f"{{{namespace}}}" if namespace else ""
        self.InstallationReference = prefix + "InstallationReference"
        self.Status = prefix + "Status"
        self.MeterPoints = prefix + "MeterPoints"
        self.MPANCore = prefix + "MPANCore"
        self.MPRN = prefix + "MPRN"
        self.CommunicationsHub = prefix + "CommunicationsHub"
        self.Devices = prefix + "Devices"
        self.Device = prefix + "Device"
        self.Prepayment = prefix + "Prepayment"
        self.UTRNCutoverHours = prefix + "UTRNCutoverHours"
        self.DormantNotice = prefix + "DormantNotice"
        self.FirmwareNoticeDate = prefix + "FirmwareNoticeDate"
        self.PlannedUpgradeDate = prefix + "PlannedUpgradeDate"
        self.MigrationNoticeDate = prefix + "MigrationNoticeDate"
        self.PlannedMigrationDate = prefix + "PlannedMigrationDate"
        self.ShorterNoticeAgreed = prefix + "ShorterNoticeAgreed"
        self.WAN = prefix + "WAN"
        self.ICCID = prefix + "ICCID"
        self.IMSI = prefix + "IMSI"
        self.StaticIPAddress = prefix + "StaticIPAddress"
        self.APN = prefix + "APN"
        self.DeviceType = prefix + "DeviceType"
        self.DeviceID = prefix + "DeviceID"
        self.DeviceModel = prefix + "DeviceModel"
        self.Manufacturer = prefix + "Manufacturer"
        self.Model = prefix + "Model"
        self.FirmwareVersion = prefix + "FirmwareVersion"
        self.PaymentMode = prefix + "PaymentMode"
        self.AuxiliaryLoad = prefix + "AuxiliaryLoad"


@cache
def _names(namespace: str | None) -> _Names:
    return _Names(namespace)


def _names_of(element: etree._Element) -> _Names:
    tag = element.tag
    assert isinstance(tag, str)
    return _names(tag[1 : tag.index("}")] if tag.startswith("{") else None)


class _Element:
    """Finding elements under one element by local names, in its namespace."""

    __slots__ = ("element",)

    def __init__(self, element: etree._Element) -> None:
        self.element = element

    def _path(self, path: str) -> str:
        namespace = split_tag(self.element.tag)[0]
        prefix = f"{{{namespace}}}" if namespace else ""
        return "/".join(prefix + step for step in path.split("/"))

    def text(self, path: str) -> str | None:
        """The stripped text of the first element at ``path`` (local names joined by /)."""
        found = self.element.findtext(self._path(path))
        return found.strip() if found is not None else None

    def find(self, path: str) -> etree._Element | None:
        """The first element at ``path``, to point a problem at."""
        return self.element.find(self._path(path))


class HeaderView(_Element):
    """The file's header."""

    __slots__ = ()

    @property
    def group_id(self) -> str | None:
        return self.text("GroupID")

    @property
    def smso_name(self) -> str | None:
        return self.text("SMSOName")

    @property
    def creation_time(self) -> dt.datetime | None:
        text = self.text("CreationDateTime")
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
        return _integer(self.text("InstallationCount"))

    @property
    def device_count(self) -> int | None:
        return _integer(self.text("DeviceCount"))


_Text = str | None
_Line = int | None

#: The names of a device's fields, in the order of :data:`DeviceFields` (the C reader
#: exports the names of its slots, and a test checks that they agree).
DEVICE_FIELDS: Final = (
    "element",
    "device_type",
    "device_id",
    "device_id_line",
    "manufacturer",
    "model",
    "firmware_version",
    "payment_mode",
    "auxiliary_load",
)
#: The names of an installation's fields, in the order of :data:`InstallationFields`.
INSTALLATION_FIELDS: Final = (
    "reference",
    "reference_line",
    "status",
    "mpan",
    "mpan_line",
    "mprn",
    "mprn_line",
    "hub",
    "iccid",
    "iccid_line",
    "imsi",
    "imsi_line",
    "static_ip",
    "static_ip_line",
    "apn",
    "devices",
    "prepayment",
    "utrn_cutover_hours",
    "dormant_notice",
    "firmware_notice_date",
    "planned_upgrade_date",
    "migration_notice_date",
    "planned_migration_date",
    "shorter_notice_agreed",
)

#: What a device's view is made from: its element, DeviceType (None without one),
#: DeviceID and its line, Manufacturer, Model, FirmwareVersion, PaymentMode and
#: AuxiliaryLoad, texts stripped. Where an element repeats, the last one counts.
DeviceFields = tuple[etree._Element, _Text, _Text, int, _Text, _Text, _Text, _Text, _Text]

#: What an installation's view is made from, in this order. Texts are stripped; a line
#: is None when its element is absent; where an element repeats, the last one counts.
# fmt: off
InstallationFields = tuple[
    _Text, _Line, _Text,                                # InstallationReference and its line, Status
    _Text, _Line, _Text, _Line,                         # MPANCore, MPRN, each with its line
    DeviceFields | None,                                # the CommunicationsHub
    _Text, _Line, _Text, _Line, _Text, _Line, _Text,    # its WAN: ICCID, IMSI, StaticIPAddress, APN
    list[DeviceFields],                                 # the Devices
    bool, _Text,                                        # a Prepayment block, its UTRNCutoverHours
    bool, _Text, _Text, _Text, _Text, _Text,            # a DormantNotice: its four dates, ShorterNoticeAgreed
]
# fmt: on


def _line(element: etree._Element) -> int:
    return element.sourceline or 0


def _read_texts(parent: etree._Element, tags: tuple[str, ...], texts: list[str | None]) -> None:
    """Put the text of each child of ``parent`` whose tag is in ``tags`` at that tag's index in ``texts``."""
    for child in parent:
        tag = child.tag
        if tag in tags:
            texts[tags.index(tag)] = _text(child)


def read_device_fields(device: etree._Element, n: _Names) -> DeviceFields:
    """A device's fields, read through lxml's Python API."""
    device_type: str | None = None
    device_id: str | None = None
    device_id_line = 0
    payment_mode = auxiliary_load = None
    # Manufacturer, Model and FirmwareVersion, from any DeviceModel (the last one given counts).
    model: list[str | None] = [None, None, None]
    for child in device:
        tag = child.tag
        if tag == n.DeviceID:
            device_id = _text(child)
            device_id_line = _line(child)
        elif tag == n.DeviceType:
            device_type = _text(child) or ""
        elif tag == n.DeviceModel:
            _read_texts(child, (n.Manufacturer, n.Model, n.FirmwareVersion), model)
        elif tag == n.PaymentMode:
            payment_mode = _text(child)
        elif tag == n.AuxiliaryLoad:
            auxiliary_load = _text(child)
    return (
        device,
        device_type,
        device_id,
        device_id_line,
        model[0],
        model[1],
        model[2],
        payment_mode,
        auxiliary_load,
    )


def read_installation_fields(element: etree._Element) -> InstallationFields:
    """An installation's fields, read through lxml's Python API (what the C reader also gives)."""
    n = _names_of(element)
    reference = status = mpan = mprn = iccid = imsi = static_ip = apn = utrn = None
    reference_line = mpan_line = mprn_line = iccid_line = imsi_line = static_ip_line = None
    hub: DeviceFields | None = None
    devices: list[DeviceFields] = []
    prepayment = notice = False
    # The DormantNotice's four dates and ShorterNoticeAgreed.
    notice_texts: list[str | None] = [None] * 5
    for child in element:
        tag = child.tag
        if tag == n.InstallationReference:
            reference, reference_line = _text(child), _line(child)
        elif tag == n.Status:
            status = _text(child)
        elif tag == n.MeterPoints:
            for point in child:
                if point.tag == n.MPANCore:
                    mpan, mpan_line = _text(point), _line(point)
                elif point.tag == n.MPRN:
                    mprn, mprn_line = _text(point), _line(point)
        elif tag == n.CommunicationsHub:
            hub = read_device_fields(child, n)
            for wan in child:
                if wan.tag != n.WAN:
                    continue
                for setting in wan:
                    setting_tag = setting.tag
                    if setting_tag == n.ICCID:
                        iccid, iccid_line = _text(setting), _line(setting)
                    elif setting_tag == n.IMSI:
                        imsi, imsi_line = _text(setting), _line(setting)
                    elif setting_tag == n.StaticIPAddress:
                        static_ip, static_ip_line = _text(setting), _line(setting)
                    elif setting_tag == n.APN:
                        apn = _text(setting)
        elif tag == n.Devices:
            devices = [read_device_fields(device, n) for device in child if device.tag == n.Device]
        elif tag == n.Prepayment:
            prepayment = True
            for setting in child:
                if setting.tag == n.UTRNCutoverHours:
                    utrn = _text(setting)
        elif tag == n.DormantNotice:
            notice = True
            dates = (n.FirmwareNoticeDate, n.PlannedUpgradeDate, n.MigrationNoticeDate, n.PlannedMigrationDate)
            _read_texts(child, (*dates, n.ShorterNoticeAgreed), notice_texts)
    return (
        reference,
        reference_line,
        status,
        mpan,
        mpan_line,
        mprn,
        mprn_line,
        hub,
        iccid,
        iccid_line,
        imsi,
        imsi_line,
        static_ip,
        static_ip_line,
        apn,
        devices,
        prepayment,
        utrn,
        notice,
        notice_texts[0],
        notice_texts[1],
        notice_texts[2],
        notice_texts[3],
        notice_texts[4],
    )


#: Reads an installation's fields: in C when the C module is used, else through lxml's Python API.
_FAST_READER: Final[Callable[[etree._Element], InstallationFields] | None] = (
    FAST.read_installation if FAST is not None else None
)
#: Whether installations are read in C (see :mod:`mcfcheck.native._fastread`).
FAST_READER = _FAST_READER is not None


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
        "payment_mode",
    )

    def __init__(self, fields: DeviceFields, default_type: str = "") -> None:
        element, device_type, device_id, device_id_line, manufacturer, model, firmware, payment, auxiliary = fields
        super().__init__(element)
        self.device_type = device_type if device_type is not None else default_type
        self.device_id = device_id
        self.device_id_line = device_id_line
        self.manufacturer = manufacturer
        self.model = model
        self.firmware_version = firmware
        self.payment_mode = payment
        self.auxiliary_load = _boolean(auxiliary)


class InstallationView(_Element):
    """One SMETS1 Installation, as the rules see it."""

    __slots__ = (
        "apn",
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

    def __init__(self, element: etree._Element) -> None:
        super().__init__(element)
        fields = _FAST_READER(element) if _FAST_READER is not None else read_installation_fields(element)
        (
            self.reference,
            reference_line,
            self.status,
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
        ) = fields
        self.hub = DeviceView(hub, "CHF") if hub is not None else None
        self.devices = [DeviceView(device) for device in devices]
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
