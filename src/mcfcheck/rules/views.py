"""Read-only views of the parts of an MCF that rules look at.

An installation is read in one walk over its elements into plain fields, so that the
dozens of rules that look at it pay for each element once. Elements are found again
only when a problem needs a place. Views live only while their element does: rules
must not keep them.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from lxml import etree

from mcfcheck.xmlinput import split_tag


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

    def __init__(self, element: etree._Element, device_type: str | None = None, names: _Names | None = None) -> None:
        super().__init__(element)
        n = names or _names_of(element)
        self.device_type = device_type or ""
        self.device_id: str | None = None
        self.device_id_line = 0
        self.manufacturer: str | None = None
        self.model: str | None = None
        self.firmware_version: str | None = None
        self.payment_mode: str | None = None
        self.auxiliary_load: bool | None = None
        for child in element:
            tag = child.tag
            if tag == n.DeviceID:
                self.device_id = _text(child)
                self.device_id_line = child.sourceline or 0
            elif tag == n.DeviceType:
                self.device_type = _text(child) or ""
            elif tag == n.DeviceModel:
                for part in child:
                    part_tag = part.tag
                    if part_tag == n.Manufacturer:
                        self.manufacturer = _text(part)
                    elif part_tag == n.Model:
                        self.model = _text(part)
                    elif part_tag == n.FirmwareVersion:
                        self.firmware_version = _text(part)
            elif tag == n.PaymentMode:
                self.payment_mode = _text(child)
            elif tag == n.AuxiliaryLoad:
                self.auxiliary_load = _boolean(_text(child))


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
        self.reference: str | None = None
        self.status: str | None = None
        self.mpan: str | None = None
        self.mprn: str | None = None
        self.hub: DeviceView | None = None
        self.iccid: str | None = None
        self.imsi: str | None = None
        self.static_ip: str | None = None
        self.apn: str | None = None
        self.devices: list[DeviceView] = []
        self.prepayment_block = False
        self.utrn_cutover_hours: int | None = None
        self.dormant_notice = False
        self.firmware_notice_date: dt.date | None = None
        self.planned_upgrade_date: dt.date | None = None
        self.migration_notice_date: dt.date | None = None
        self.planned_migration_date: dt.date | None = None
        self.shorter_notice_agreed = False
        #: The lines of the identifiers, by field name (reference, mpan, mprn, iccid, imsi, static_ip).
        self.lines: dict[str, int] = {}
        n = _names_of(element)
        for child in element:
            tag = child.tag
            if tag == n.InstallationReference:
                self.reference = _text(child)
                self.lines["reference"] = child.sourceline or 0
            elif tag == n.Status:
                self.status = _text(child)
            elif tag == n.MeterPoints:
                for point in child:
                    point_tag = point.tag
                    if point_tag == n.MPANCore:
                        self.mpan = _text(point)
                        self.lines["mpan"] = point.sourceline or 0
                    elif point_tag == n.MPRN:
                        self.mprn = _text(point)
                        self.lines["mprn"] = point.sourceline or 0
            elif tag == n.CommunicationsHub:
                self._read_hub(child, n)
            elif tag == n.Devices:
                self.devices = [DeviceView(device, None, n) for device in child if device.tag == n.Device]
            elif tag == n.Prepayment:
                self.prepayment_block = True
                for setting in child:
                    if setting.tag == n.UTRNCutoverHours:
                        self.utrn_cutover_hours = _integer(setting.text)
            elif tag == n.DormantNotice:
                self._read_notice(child, n)

    def _read_hub(self, hub: etree._Element, n: _Names) -> None:
        self.hub = DeviceView(hub, "CHF", n)
        for child in hub:
            if child.tag != n.WAN:
                continue
            for setting in child:
                setting_tag = setting.tag
                if setting_tag == n.ICCID:
                    self.iccid = _text(setting)
                    self.lines["iccid"] = setting.sourceline or 0
                elif setting_tag == n.IMSI:
                    self.imsi = _text(setting)
                    self.lines["imsi"] = setting.sourceline or 0
                elif setting_tag == n.StaticIPAddress:
                    self.static_ip = _text(setting)
                    self.lines["static_ip"] = setting.sourceline or 0
                elif setting_tag == n.APN:
                    self.apn = _text(setting)

    def _read_notice(self, notice: etree._Element, n: _Names) -> None:
        self.dormant_notice = True
        for child in notice:
            tag = child.tag
            if tag == n.FirmwareNoticeDate:
                self.firmware_notice_date = _date(child.text)
            elif tag == n.PlannedUpgradeDate:
                self.planned_upgrade_date = _date(child.text)
            elif tag == n.MigrationNoticeDate:
                self.migration_notice_date = _date(child.text)
            elif tag == n.PlannedMigrationDate:
                self.planned_migration_date = _date(child.text)
            elif tag == n.ShorterNoticeAgreed:
                self.shorter_notice_agreed = _boolean(_text(child)) is True

    @property
    def dormant(self) -> bool:
        return self.status == "Dormant"

    @property
    def prepayment(self) -> bool:
        """Whether a meter of the installation is paid for by prepayment."""
        return any(device.payment_mode == "Prepayment" for device in self.devices)

    def devices_of_type(self, device_type: str) -> list[DeviceView]:
        return [device for device in self.devices if device.device_type == device_type]
