"""Rules for every cohort: check digits, identifier formats, uniqueness, totals, structure, dates.

Most are mcfcheck's own checks, not clauses of the TMAD: they follow from what an
inventory of installations must be if each one is to be migrated as a whole (every
installation, device, meter point and SIM listed once and with its own identifier;
identifiers whose check digits hold; meters with the meter point and proxy they need;
control totals that agree with the file). Each rule says why a correct file passes it,
and cites a document where one gives it (GEN033, GEN040).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import ClassVar

from mcfcheck.findings import Location, Severity
from mcfcheck.rules.base import Problem, Rule, RuleContext, Visit
from mcfcheck.rules.identifiers import (
    UK_IMSI_COUNTRY_CODES,
    is_digits,
    is_valid_iccid,
    is_valid_mpan_core,
    is_valid_mprn,
)
from mcfcheck.rules.keys import KeyStore
from mcfcheck.rules.options import Option
from mcfcheck.rules.packs.dormant import DCC_GIVES_NOTICE
from mcfcheck.rules.provenance import BEIS_DIRECTION_JULY_2020, NOTIFICATION_PERIODS_CONCLUSIONS, Source
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
    23, 29, 31, 37, 41, 43, modulo 11, modulo 10.

    Fails: ``<MPANCore>1800021679847</MPANCore>``

    Passes: ``<MPANCore>1800021679848</MPANCore>``
    """

    code = "GEN001"
    name = "mpan-check-digit"
    own_check = (
        "Every MPAN core ends with a check digit computed from its first twelve digits; a core whose last "
        "digit is not that check digit was mistyped or damaged, and names no meter point."
    )

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
    own_check = (
        "An ICCID ends with a Luhn check digit (ITU-T E.118); one whose last digit fails the Luhn check was "
        "mistyped or damaged, and names no SIM."
    )

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
    own_check = (
        "The MPRN check digits are widely used but not published officially, so a failure is a warning "
        "to look at, not an error."
    )

    reads = frozenset({"mprn"})
    severity = Severity.WARNING
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        mprn = installation.mprn
        if mprn is not None and is_digits(mprn) and 6 <= len(mprn) <= 10 and not is_valid_mprn(mprn):
            yield Problem(f"MPRN {mprn} fails the usual check digits", installation.place("mprn"))


class ImsiCountryCode(Rule):
    """A SIM's IMSI should have one of the expected mobile country codes (a warning; UK by default).

    Option: ``country_codes`` (["234", "235"], the United Kingdom's): the mobile country
    codes the SIMs of your files are expected to have.

    Fails: ``<IMSI>310150123456789</IMSI>`` (a warning).

    Passes: ``<IMSI>234150123456789</IMSI>``, or a country code listed in ``country_codes``.
    """

    code = "GEN004"
    name = "imsi-country-code"
    own_check = (
        "An IMSI's first three digits are its mobile country code (ITU-T E.212). No document requires a "
        "meter's SIM to be British, and meter SIMs are often issued by networks outside the UK, so a country "
        "code outside ``country_codes`` is a warning: a sign of a mistyped IMSI, or of a SIM to confirm."
    )
    severity = Severity.WARNING

    reads = frozenset({"imsi"})
    visits = frozenset({Visit.INSTALLATION})
    defaults: ClassVar[Mapping[str, object]] = {
        "country_codes": Option(
            tuple(sorted(UK_IMSI_COUNTRY_CODES)), pattern="[0-9]{3}", pattern_says="three-digit country codes"
        )
    }

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        super().__init__(context, options)
        codes = self.options["country_codes"]
        self.country_codes = frozenset(str(code) for code in codes) if isinstance(codes, list | tuple) else frozenset()

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        imsi = installation.imsi
        if imsi is not None and len(imsi) == 15 and is_digits(imsi) and imsi[:3] not in self.country_codes:
            expected = ", ".join(sorted(self.country_codes)) or "none"
            yield Problem(
                f"IMSI {imsi} has mobile country code {imsi[:3]}, not one expected (country_codes: {expected})",
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
            earlier = Location(
                self.context.file,
                duplicate.first.line,
                xpath=ledger.xpath(first.position, self.inner_path(duplicate.first.slot)),
                installation=first.reference,
                status=first.status,
            )
            yield Problem(
                f"{self.label} {duplicate.value} is also at line {duplicate.first.line} "
                f"(installation {first.reference or first.position})",
                line=duplicate.again.line,
                xpath=ledger.xpath(again.position, self.inner_path(duplicate.again.slot)),
                installation=again.reference,
                status=again.status,
                related=(earlier,),
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
    own_check = (
        "A device is in one installation, once: a Device ID listed twice is a device listed twice or a "
        "mistyped ID, and one device cannot be migrated as part of two installations."
    )

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
    own_check = (
        "The installation reference is how the file's installations are told apart: two with one reference "
        "cannot be told apart in a response."
    )

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
    own_check = (
        "A meter point belongs to one installation: an MPAN core listed twice is an installation listed twice "
        "or a mistyped core."
    )

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
    own_check = (
        "A meter point belongs to one installation: an MPRN listed twice is an installation listed twice or a "
        "mistyped MPRN."
    )

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
    own_check = (
        "An IMSI identifies one SIM, in one Communications Hub: an IMSI listed twice is a hub listed twice or "
        "a mistyped IMSI."
    )

    reads = frozenset({"imsi"})
    label = "IMSI"

    field = "imsi"


class UniqueStaticIp(_UniqueIdentifier):
    """Every static IP address must be unique in the file.

    For MOC (MDS), the transition of the SIMs supports the "Allocation of a Static IP
    Address for each SIM to be used post-migration" (see MDS002).

    Fails: two SIMs with ``<StaticIPAddress>10.0.0.1</StaticIPAddress>``.

    Passes: each SIM with its own address.
    """

    code = "GEN015"
    name = "unique-static-ip"
    own_check = (
        "A static IP address allocated to a SIM for use after migration addresses that SIM alone: two SIMs "
        "with one address cannot both be reached."
    )

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
    own_check = (
        "An ICCID identifies one SIM card, in one Communications Hub: an ICCID listed twice is a hub listed "
        "twice or a mistyped ICCID."
    )

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
    own_check = (
        "The trailer's totals are the file's control totals: one that disagrees with what the file holds "
        "means a file cut short, joined, or edited after it was written."
    )

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
    own_check = (
        "The trailer's totals are the file's control totals: one that disagrees with what the file holds "
        "means a file cut short, joined, or edited after it was written."
    )

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
    own_check = (
        "A SMETS1 gas meter reaches the Communications Hub through a gas proxy function and is identified by "
        "its meter point's MPRN: without either, the installation is not whole."
    )

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
    own_check = (
        "An electricity meter is identified by its meter point's MPAN core: without it, the installation is not whole."
    )

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
    own_check = (
        "mcfcheck's schema records each prepayment installation's UTRN cutover window; without it, the "
        "cutover period (SEC003 for MOC (Secure)) cannot be checked."
    )

    reads = frozenset({"devices", "payment_mode", "prepayment"})
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        if not installation.prepayment_block and installation.prepayment:
            meter = next(d for d in installation.devices if d.payment_mode == "Prepayment")
            yield Problem("a prepayment installation must declare its UTRN cutover window", meter.element)


class DormantNeedsNotice(Rule):
    """A Dormant installation must carry the dates of the notices it was given (those of TMAD 4.29-4.30).

    Fails: ``<Status>Dormant</Status>`` and no ``<DormantNotice>``.

    Passes: a Dormant installation with its ``<DormantNotice>``; an Active one without.
    """

    code = "GEN033"
    name = "dormant-needs-notice"
    sources = (
        Source(
            NOTIFICATION_PERIODS_CONCLUSIONS,
            "section 4.2.1 (TMAD 4.29-4.30, Table 2)",
            "reduce the notification period from 15 working days to 5 Working Days for to the upgrade of "
            "firmware / application of configuration",
        ),
    )
    reading = (
        DCC_GIVES_NOTICE + " mcfcheck's schema records the notices given (DormantNotice), and DRM001 and "
        "DRM002 check that the dates recorded met the periods: without the dates recorded, neither period can "
        "be checked."
    )

    reads = frozenset({"status", "dormant_notice"})
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        if installation.dormant and not installation.dormant_notice:
            yield Problem("a Dormant installation must carry its notice dates", installation.place("status"))


class CreationTimeSane(Rule):
    """The file's creation time must be neither in the future nor before the earliest date.

    Options: ``earliest`` (ISO date, default 2019-02-14, when the TMAD was first
    incorporated into the SEC), ``future_tolerance_hours`` (default 24).

    Fails: ``<CreationDateTime>2099-01-01T00:00:00Z</CreationDateTime>``

    Passes: ``<CreationDateTime>2026-01-05T09:00:00Z</CreationDateTime>``
    """

    code = "GEN040"
    name = "creation-time-sane"
    sources = (
        Source(
            BEIS_DIRECTION_JULY_2020,
            "paragraph 2",
            "It was first incorporated into the SEC as Annex AL by the Secretary of State on 14 February 2019.",
        ),
    )
    reading = (
        "A Migration Common File is made under the TMAD, so mcfcheck takes one created before the TMAD was "
        "first in the SEC, or more than ``future_tolerance_hours`` ahead of the clock, for a wrong clock or "
        "a mistyped time."
    )

    reads = frozenset({"creation_time"})
    visits = frozenset({Visit.HEADER})
    defaults: ClassVar[Mapping[str, object]] = {
        "earliest": Option("2019-02-14", iso_date=True),
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
    own_check = (
        "A notice comes before what it announces. And mcfcheck takes the firmware upgrade or configuration "
        "change of Dormant Devices to be one of the actions that enable them for migration (TMAD 3.17, as the "
        "DCC's consultation of 9 August 2019 describes it in Figure 1 row 3), so it expects the upgrade "
        "planned no later than the migration."
    )

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
