"""Rules for every cohort: check digits, identifier formats, uniqueness, totals, structure, dates.

Their source is the domain model's rules for every cohort (unique Device IDs,
installation references, MPxNs, IMSIs and static IPs across the file; check digits; a
GSME needs a GPF and an MPRN; an ESME needs an MPAN; trailer totals equal what the file
holds; timestamps sane), which follow from the TMAD's requirement that each SMETS1
Installation be identified and migrated as a whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import ClassVar

from mcfcheck.findings import Severity
from mcfcheck.rules.base import Problem, Rule, RuleContext, Visit
from mcfcheck.rules.identifiers import is_digits, is_uk_imsi, is_valid_iccid, is_valid_mpan_core, is_valid_mprn
from mcfcheck.rules.keys import KeyStore
from mcfcheck.rules.options import Option
from mcfcheck.rules.views import (
    HeaderView,
    InstallationView,
    TrailerView,
    concept_xpath,
    device_slots,
    device_xpath,
)


class MpanCheckDigit(Rule):
    """An MPAN core's last digit must be its check digit.

    The check digit is the sum of the first twelve digits weighted 3, 5, 7, 13, 17, 19,
    23, 29, 31, 37, 41, 43, modulo 11, modulo 10 (the MRA's MPAN check).

    Fails: ``<MPANCore>1800021679847</MPANCore>``

    Passes: ``<MPANCore>1800021679848</MPANCore>``
    """

    code = "GEN001"
    name = "mpan-check-digit"

    reads = frozenset({"mpan"})
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        mpan = installation.mpan
        if mpan is not None and len(mpan) == 13 and is_digits(mpan) and not is_valid_mpan_core(mpan):
            yield Problem(f"MPAN core {mpan} has a wrong check digit", installation.place("mpan"))


class IccidCheckDigit(Rule):
    """A SIM's ICCID must end with its Luhn check digit.

    Fails: ``<ICCID>89441000000000000001</ICCID>``

    Passes: ``<ICCID>89441000000000000000</ICCID>``
    """

    code = "GEN002"
    name = "iccid-check-digit"

    reads = frozenset({"iccid"})
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        iccid = installation.iccid
        # A malformed ICCID is the schema's to report; this rule adds only the check digit.
        well_formed = iccid is not None and is_digits(iccid) and len(iccid) in (19, 20) and iccid.startswith("89")
        if iccid is not None and well_formed and not is_valid_iccid(iccid):
            yield Problem(f"ICCID {iccid} has a wrong Luhn check digit", installation.place("iccid"))


class MprnCheckDigits(Rule):
    """An MPRN should end with the two check digits of the widely used scheme (a warning).

    The scheme (sum of each digit times its distance from the end, modulo 11) is used
    widely but is not published officially, so a failure is a warning.

    Fails: ``<MPRN>3938424404</MPRN>``

    Passes: ``<MPRN>3938424403</MPRN>``
    """

    code = "GEN003"
    name = "mprn-check-digits"

    reads = frozenset({"mprn"})
    severity = Severity.WARNING
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        mprn = installation.mprn
        if mprn is not None and is_digits(mprn) and 6 <= len(mprn) <= 10 and not is_valid_mprn(mprn):
            yield Problem(f"MPRN {mprn} fails the usual check digits", installation.place("mprn"))


class ImsiCountryCode(Rule):
    """A SIM's IMSI must have a United Kingdom mobile country code (234 or 235).

    Fails: ``<IMSI>310150123456789</IMSI>``

    Passes: ``<IMSI>234150123456789</IMSI>``
    """

    code = "GEN004"
    name = "imsi-country-code"

    reads = frozenset({"imsi"})
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        imsi = installation.imsi
        if imsi is not None and len(imsi) == 15 and is_digits(imsi) and not is_uk_imsi(imsi):
            yield Problem(
                f"IMSI {imsi} has country code {imsi[:3]}, not the UK's 234 or 235",
                installation.place("imsi"),
            )


class _UniqueIdentifier(Rule):
    """Shared mechanism of the uniqueness rules: a compact key store, reported at the end.

    A rule for an identifier that an installation holds once names the view's field
    (``field``, a concept of the binding); Device IDs, held by every device, override
    :meth:`installation`.
    """

    label: ClassVar[str]
    field: ClassVar[str] = ""
    visits = frozenset({Visit.INSTALLATION})

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        super().__init__(context, options)
        self._store = KeyStore(context.spill_folder)
        self._add = self._store.adder()

    def state(self) -> object:
        return self._store.export()

    def merge(self, states: Sequence[object]) -> None:
        self._store.merge([state for state in states if isinstance(state, tuple)])

    def normalise(self, value: str) -> str:
        """The form in which equal identifiers are equal strings."""
        return value

    def inner_path(self, slot: int) -> str:
        """Where, inside an installation, the value in ``slot`` sits."""
        return concept_xpath(self.context.binding, self.field)

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        value = getattr(installation, self.field)
        if value:
            self._add(value, installation.lines.get(self.field, 0), 0)
        return iter(())

    def finish(self) -> Iterator[Problem]:
        ledger = self.context.ledger
        first_line, first = -1, ledger.locate(0)
        for duplicate in self._store.duplicates():
            again = ledger.locate(duplicate.again.line)
            if duplicate.first.line != first_line:
                # A value repeated many times is placed once.
                first_line, first = duplicate.first.line, ledger.locate(duplicate.first.line)
            yield Problem(
                f"{self.label} {duplicate.value} is also at line {duplicate.first.line} "
                f"(installation {first.reference or first.position})",
                line=duplicate.again.line,
                xpath=ledger.xpath(again.position, self.inner_path(duplicate.again.slot)),
                installation=again.reference,
                status=again.status,
            )

    def close(self) -> None:
        self._store.close()


class UniqueDeviceId(_UniqueIdentifier):
    """Every Device ID must be unique in the file (Communications Hubs included, where the dialect has them).

    Fails: two devices with ``<DeviceID>00-0D-6F-00-00-00-01-02</DeviceID>`` (in any case).

    Passes: each device with its own Device ID.
    """

    code = "GEN010"
    name = "unique-device-id"

    reads = frozenset({"devices", "device_id"})
    label = "Device ID"

    def normalise(self, value: str) -> str:
        # The DUIS schema admits either case; a Device ID is the same device in both.
        return value.upper()

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        add = self._add
        hub = installation.hub
        if hub is not None and hub.device_id:
            add(self.normalise(hub.device_id), hub.device_id_line, 0)
        for slot, device in zip(device_slots(installation), installation.devices, strict=True):
            if device.device_id:
                add(self.normalise(device.device_id), device.device_id_line, slot)
        return iter(())

    def inner_path(self, slot: int) -> str:
        return device_xpath(self.context.binding, slot, "device_id")


class UniqueInstallationReference(_UniqueIdentifier):
    """Every installation reference must be unique in the file.

    Fails: two installations with ``<InstallationReference>INST-1</InstallationReference>``.

    Passes: each installation with its own reference.
    """

    code = "GEN011"
    name = "unique-installation-reference"

    reads = frozenset({"reference"})
    label = "Installation reference"

    field = "reference"


class UniqueMpan(_UniqueIdentifier):
    """Every MPAN core must be unique in the file.

    Fails: two installations with ``<MPANCore>1800021679848</MPANCore>``.

    Passes: each installation with its own MPAN core.
    """

    code = "GEN012"
    name = "unique-mpan"

    reads = frozenset({"mpan"})
    label = "MPAN core"

    field = "mpan"


class UniqueMprn(_UniqueIdentifier):
    """Every MPRN must be unique in the file.

    Fails: two installations with ``<MPRN>3938424403</MPRN>``.

    Passes: each installation with its own MPRN.
    """

    code = "GEN013"
    name = "unique-mprn"

    reads = frozenset({"mprn"})
    label = "MPRN"

    field = "mprn"


class UniqueImsi(_UniqueIdentifier):
    """Every SIM's IMSI must be unique in the file.

    Fails: two Communications Hubs with ``<IMSI>234150000000001</IMSI>``.

    Passes: each SIM with its own IMSI.
    """

    code = "GEN014"
    name = "unique-imsi"

    reads = frozenset({"imsi"})
    label = "IMSI"

    field = "imsi"


class UniqueStaticIp(_UniqueIdentifier):
    """Every static IP address must be unique in the file.

    For MOC (MDS), each SIM is allocated its own static IP address for use after
    migration (TMAD v1.4 consultation, Figure 1, row 9; TMAD 14.3).

    Fails: two SIMs with ``<StaticIPAddress>10.0.0.1</StaticIPAddress>``.

    Passes: each SIM with its own address.
    """

    code = "GEN015"
    name = "unique-static-ip"

    reads = frozenset({"static_ip"})
    label = "Static IP address"

    field = "static_ip"


class UniqueIccid(_UniqueIdentifier):
    """Every SIM's ICCID must be unique in the file.

    Fails: two Communications Hubs with ``<ICCID>89441000000000000000</ICCID>``.

    Passes: each SIM with its own ICCID.
    """

    code = "GEN016"
    name = "unique-iccid"

    reads = frozenset({"iccid"})
    label = "ICCID"

    field = "iccid"


class _ControlTotal(Rule):
    """Shared mechanism of the control totals: count while reading, compare with the trailer."""

    label: ClassVar[str]
    #: The concept of the trailer that declares the total.
    concept: ClassVar[str]
    visits = frozenset({Visit.INSTALLATION, Visit.TRAILER})

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        super().__init__(context, options)
        self.counted = 0

    def state(self) -> object:
        return self.counted

    def merge(self, states: Sequence[object]) -> None:
        self.counted = sum(state for state in states if isinstance(state, int))

    def declared(self, trailer: TrailerView) -> int | None:
        raise NotImplementedError

    def trailer(self, trailer: TrailerView) -> Iterator[Problem]:
        declared = self.declared(trailer)
        if declared is not None and declared != self.counted:
            yield Problem(
                f"the trailer declares {declared:,} {self.label}, the file holds {self.counted:,}",
                trailer.place(self.concept),
            )


class InstallationCountTotal(_ControlTotal):
    """The trailer's InstallationCount must equal the number of installations in the file.

    Fails: three installations and ``<InstallationCount>4</InstallationCount>``.

    Passes: three installations and ``<InstallationCount>3</InstallationCount>``.
    """

    code = "GEN020"
    name = "installation-count-total"

    reads = frozenset({"installation_count"})
    label = "installations"
    concept = "installation_count"

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        self.counted += 1
        return iter(())

    def declared(self, trailer: TrailerView) -> int | None:
        return trailer.installation_count


class DeviceCountTotal(_ControlTotal):
    """The trailer's DeviceCount must equal the number of devices, Communications Hubs included.

    Fails: one installation with a hub and three devices, and ``<DeviceCount>3</DeviceCount>``.

    Passes: the same with ``<DeviceCount>4</DeviceCount>``.
    """

    code = "GEN021"
    name = "device-count-total"

    reads = frozenset({"device_count", "hub", "devices"})
    label = "devices"
    concept = "device_count"

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        self.counted += len(installation.devices) + (installation.hub is not None)
        return iter(())

    def declared(self, trailer: TrailerView) -> int | None:
        return trailer.device_count


class GasMeterNeedsProxyAndMprn(Rule):
    """An installation with a gas meter (GSME) must have a gas proxy function (GPF) and an MPRN.

    Fails: a ``<DeviceType>GSME</DeviceType>`` device and no GPF, or no ``<MPRN>``.

    Passes: GSME, GPF and ``<MPRN>3938424403</MPRN>`` together.
    """

    code = "GEN030"
    name = "gas-meter-needs-gpf-and-mprn"

    reads = frozenset({"devices", "device_type", "mprn"})
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        meters = installation.devices_of_type("GSME")
        if not meters:
            return
        if not installation.devices_of_type("GPF"):
            yield Problem("the installation has a gas meter (GSME) but no gas proxy function (GPF)", meters[0].element)
        if installation.mprn is None:
            yield Problem("the installation has a gas meter (GSME) but no MPRN", meters[0].element)


class ElectricityMeterNeedsMpan(Rule):
    """An installation with an electricity meter (ESME) must have an MPAN core.

    Fails: a ``<DeviceType>ESME</DeviceType>`` device in an installation with only an MPRN.

    Passes: an ESME and ``<MPANCore>1800021679848</MPANCore>``.
    """

    code = "GEN031"
    name = "electricity-meter-needs-mpan"

    reads = frozenset({"devices", "device_type", "mpan"})
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        meters = installation.devices_of_type("ESME")
        if meters and installation.mpan is None:
            yield Problem("the installation has an electricity meter (ESME) but no MPAN core", meters[0].element)


class PrepaymentNeedsCutover(Rule):
    """An installation with a prepayment meter must declare its UTRN cutover window.

    Fails: ``<PaymentMode>Prepayment</PaymentMode>`` and no ``<Prepayment>`` element.

    Passes: ``<Prepayment><UTRNCutoverHours>336</UTRNCutoverHours></Prepayment>``.
    """

    code = "GEN032"
    name = "prepayment-needs-cutover"

    reads = frozenset({"devices", "payment_mode", "prepayment"})
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        if not installation.prepayment_block and installation.prepayment:
            meter = next(d for d in installation.devices if d.payment_mode == "Prepayment")
            yield Problem("a prepayment installation must declare its UTRN cutover window", meter.element)


class DormantNeedsNotice(Rule):
    """A Dormant installation must carry its notice dates (TMAD 4.29 and 4.30).

    Fails: ``<Status>Dormant</Status>`` and no ``<DormantNotice>``.

    Passes: a Dormant installation with its ``<DormantNotice>``; an Active one without.
    """

    code = "GEN033"
    name = "dormant-needs-notice"

    reads = frozenset({"status", "dormant_notice"})
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        if installation.dormant and not installation.dormant_notice:
            yield Problem("a Dormant installation must carry its notice dates", installation.place("status"))


class CreationTimeSane(Rule):
    """The file's creation time must be neither in the future nor before the earliest date.

    Options: ``earliest`` (ISO date, default 2019-06-21, when the first TMAD was
    designated), ``future_tolerance_hours`` (default 24).

    Fails: ``<CreationDateTime>2099-01-01T00:00:00Z</CreationDateTime>``

    Passes: ``<CreationDateTime>2026-01-05T09:00:00Z</CreationDateTime>``
    """

    code = "GEN040"
    name = "creation-time-sane"

    reads = frozenset({"creation_time"})
    visits = frozenset({Visit.HEADER})
    defaults: ClassVar[Mapping[str, object]] = {
        "earliest": Option("2019-06-21", iso_date=True),
        # Up to a year: beyond, a creation time would never be in the future.
        "future_tolerance_hours": Option(24.0, minimum=0, maximum=8784),
    }

    def header(self, header: HeaderView) -> Iterator[Problem]:
        created = header.creation_time
        if created is None or created.tzinfo is None:
            return
        earliest = dt.datetime.fromisoformat(str(self.options["earliest"])).replace(tzinfo=dt.UTC)
        tolerance = dt.timedelta(hours=float(str(self.options["future_tolerance_hours"])))
        now = dt.datetime.now(dt.UTC)
        if created > now + tolerance:
            yield Problem(
                f"the file's creation time {created.isoformat()} is in the future", header.place("creation_time")
            )
        elif created < earliest:
            yield Problem(
                f"the file's creation time {created.isoformat()} is before {earliest.date()}",
                header.place("creation_time"),
            )


class NoticeDatesInOrder(Rule):
    """A Dormant installation's notices must come before their plans, and upgrade before migration.

    Fails: ``<FirmwareNoticeDate>2026-03-10</FirmwareNoticeDate>`` with
    ``<PlannedUpgradeDate>2026-03-02</PlannedUpgradeDate>``.

    Passes: each notice date before its planned date, the upgrade before the migration.
    """

    code = "GEN041"
    name = "notice-dates-in-order"

    reads = frozenset(
        {
            "dormant_notice",
            "firmware_notice_date",
            "planned_upgrade_date",
            "migration_notice_date",
            "planned_migration_date",
        }
    )
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        pairs = (
            (
                "firmware notice",
                installation.firmware_notice_date,
                "planned upgrade",
                installation.planned_upgrade_date,
            ),
            (
                "migration notice",
                installation.migration_notice_date,
                "planned migration",
                installation.planned_migration_date,
            ),
            (
                "planned upgrade",
                installation.planned_upgrade_date,
                "planned migration",
                installation.planned_migration_date,
            ),
        )
        for first_name, first, second_name, second in pairs:
            if first is not None and second is not None and first > second:
                yield Problem(
                    f"the {first_name} date {first} is after the {second_name} date {second}",
                    installation.place("dormant_notice"),
                )


RULES = (
    MpanCheckDigit,
    IccidCheckDigit,
    MprnCheckDigits,
    ImsiCountryCode,
    UniqueDeviceId,
    UniqueInstallationReference,
    UniqueMpan,
    UniqueMprn,
    UniqueImsi,
    UniqueStaticIp,
    UniqueIccid,
    InstallationCountTotal,
    DeviceCountTotal,
    GasMeterNeedsProxyAndMprn,
    ElectricityMeterNeedsMpan,
    PrepaymentNeedsCutover,
    DormantNeedsNotice,
    CreationTimeSane,
    NoticeDatesInOrder,
)
