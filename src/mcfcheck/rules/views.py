"""Read-only views of the parts of an MCF that rules look at, built on lxml elements.

Fields are read on demand with lxml's C-level search, so a rule pays only for what it
reads. Views live only while their element does: rules must not keep them.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property

from lxml import etree


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


class _View:
    """Access to named children of one element, in the element's namespace."""

    def __init__(self, element: etree._Element) -> None:
        self.element = element
        namespace = etree.QName(element).namespace
        self._prefix = f"{{{namespace}}}" if namespace else ""

    def _path(self, path: str) -> str:
        return "/".join(self._prefix + step for step in path.split("/"))

    def text(self, path: str) -> str | None:
        """The stripped text of the first element at ``path`` (local names joined by /)."""
        found = self.element.findtext(self._path(path))
        return found.strip() if found is not None else None

    def find(self, path: str) -> etree._Element | None:
        """The first element at ``path``, to point a problem at."""
        return self.element.find(self._path(path))

    def findall(self, path: str) -> list[etree._Element]:
        """Every element at ``path``."""
        return self.element.findall(self._path(path))


class HeaderView(_View):
    """The file's header."""

    @cached_property
    def group_id(self) -> str | None:
        return self.text("GroupID")

    @cached_property
    def smso_name(self) -> str | None:
        return self.text("SMSOName")

    @cached_property
    def creation_time(self) -> dt.datetime | None:
        text = self.text("CreationDateTime")
        if text is None:
            return None
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return None


class DeviceView(_View):
    """A device: the Communications Hub or one of the devices of an installation."""

    @cached_property
    def device_type(self) -> str:
        """ESME, GSME, GPF, PPMID, HCALCS or IHD; CHF for the Communications Hub."""
        if etree.QName(self.element).localname == "CommunicationsHub":
            return "CHF"
        return self.text("DeviceType") or ""

    @cached_property
    def device_id(self) -> str | None:
        return self.text("DeviceID")

    @cached_property
    def manufacturer(self) -> str | None:
        return self.text("DeviceModel/Manufacturer")

    @cached_property
    def model(self) -> str | None:
        return self.text("DeviceModel/Model")

    @cached_property
    def firmware_version(self) -> str | None:
        return self.text("DeviceModel/FirmwareVersion")

    @cached_property
    def payment_mode(self) -> str | None:
        return self.text("PaymentMode")

    @cached_property
    def auxiliary_load(self) -> bool | None:
        return _boolean(self.text("AuxiliaryLoad"))


class InstallationView(_View):
    """One SMETS1 Installation, as the rules see it."""

    @cached_property
    def reference(self) -> str | None:
        return self.text("InstallationReference")

    @cached_property
    def status(self) -> str | None:
        return self.text("Status")

    @property
    def dormant(self) -> bool:
        return self.status == "Dormant"

    @cached_property
    def mpan(self) -> str | None:
        return self.text("MeterPoints/MPANCore")

    @cached_property
    def mprn(self) -> str | None:
        return self.text("MeterPoints/MPRN")

    @cached_property
    def hub(self) -> DeviceView | None:
        found = self.find("CommunicationsHub")
        return DeviceView(found) if found is not None else None

    @cached_property
    def iccid(self) -> str | None:
        return self.text("CommunicationsHub/WAN/ICCID")

    @cached_property
    def imsi(self) -> str | None:
        return self.text("CommunicationsHub/WAN/IMSI")

    @cached_property
    def static_ip(self) -> str | None:
        return self.text("CommunicationsHub/WAN/StaticIPAddress")

    @cached_property
    def apn(self) -> str | None:
        return self.text("CommunicationsHub/WAN/APN")

    @cached_property
    def devices(self) -> list[DeviceView]:
        """The devices other than the Communications Hub."""
        return [DeviceView(element) for element in self.findall("Devices/Device")]

    def devices_of_type(self, device_type: str) -> list[DeviceView]:
        return [device for device in self.devices if device.device_type == device_type]

    @cached_property
    def prepayment(self) -> bool:
        return any(device.payment_mode == "Prepayment" for device in self.devices)

    @cached_property
    def utrn_cutover_hours(self) -> int | None:
        return _integer(self.text("Prepayment/UTRNCutoverHours"))

    @cached_property
    def firmware_notice_date(self) -> dt.date | None:
        return _date(self.text("DormantNotice/FirmwareNoticeDate"))

    @cached_property
    def planned_upgrade_date(self) -> dt.date | None:
        return _date(self.text("DormantNotice/PlannedUpgradeDate"))

    @cached_property
    def migration_notice_date(self) -> dt.date | None:
        return _date(self.text("DormantNotice/MigrationNoticeDate"))

    @cached_property
    def planned_migration_date(self) -> dt.date | None:
        return _date(self.text("DormantNotice/PlannedMigrationDate"))

    @cached_property
    def shorter_notice_agreed(self) -> bool:
        return _boolean(self.text("DormantNotice/ShorterNoticeAgreed")) is True


class TrailerView(_View):
    """The file's trailer, with its control totals."""

    @cached_property
    def installation_count(self) -> int | None:
        return _integer(self.text("InstallationCount"))

    @cached_property
    def device_count(self) -> int | None:
        return _integer(self.text("DeviceCount"))
