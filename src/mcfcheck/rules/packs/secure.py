"""MOC (Secure): the Secure device set operated by Secure, and its UTRN cutover period.

The BEIS direction of 24 July 2020 (paragraph 4) notes that the DCC raised the UTRN
cutover period of the TMAD for Secure from 48 to 336 hours.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from mcfcheck.rules.base import Problem, Rule, Visit
from mcfcheck.rules.options import Option
from mcfcheck.rules.packs.cohort_checks import COHORT_REGISTRY_READING, DeviceSetRule, SmsoRule
from mcfcheck.rules.provenance import BEIS_DIRECTION_JULY_2020, TMAD_MDS_CONSULTATION, Source
from mcfcheck.rules.views import InstallationView

SECURE = frozenset({"SECURE"})

_SECURE = Source(TMAD_MDS_CONSULTATION, "section 1", "a Secure device set operated by Secure as the SMSO")


class SecureSmso(SmsoRule):
    """For MOC (Secure), the SMSO must be Secure.

    Fails: ``<SMSOName>MDS</SMSOName>``

    Passes: ``<SMSOName>Secure</SMSOName>``
    """

    code = "SEC001"
    name = "secure-smso"
    sources = (_SECURE,)
    reading = COHORT_REGISTRY_READING
    cohorts = SECURE


class SecureDeviceSet(DeviceSetRule):
    """For MOC (Secure), every device must be of the Secure device set.

    Fails: ``<Manufacturer>Honeywell Elster</Manufacturer><Model>AS300P</Model>``

    Passes: ``<Manufacturer>Secure Meters</Manufacturer><Model>Liberty 100</Model>``
    """

    code = "SEC002"
    name = "secure-device-set"
    sources = (_SECURE,)
    reading = COHORT_REGISTRY_READING
    cohorts = SECURE


class SecureUtrnCutover(Rule):
    """For MOC (Secure), a prepayment installation's UTRN cutover must be at least 336 hours.

    Option: ``minimum_hours`` (336).

    Fails: ``<UTRNCutoverHours>48</UTRNCutoverHours>`` with a prepayment meter.

    Passes: ``<UTRNCutoverHours>336</UTRNCutoverHours>``.
    """

    code = "SEC003"
    name = "secure-utrn-cutover"
    sources = (
        Source(
            BEIS_DIRECTION_JULY_2020,
            "paragraph 4",
            "DCC has accordingly amended the drafting to increase the period to 336 hours",
        ),
    )
    reading = (
        "The TMAD sets the period of the DCC's UTRN cutover arrangements. mcfcheck's schema records each "
        "prepayment installation's UTRN cutover window (UTRNCutoverHours); the rule checks that the window "
        "recorded is at least that period. That the TMAD's period is a window each prepayment installation "
        "declares is mcfcheck's inference."
    )

    reads = frozenset({"devices", "payment_mode", "utrn_cutover_hours"})
    cohorts = SECURE
    visits = frozenset({Visit.INSTALLATION})
    defaults: ClassVar[Mapping[str, object]] = {"minimum_hours": Option(336, minimum=0)}

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        minimum = int(str(self.options["minimum_hours"]))
        hours = installation.utrn_cutover_hours
        if installation.prepayment and hours is not None and hours < minimum:
            yield Problem(
                f"the UTRN cutover window is {hours} hours; at least {minimum} are expected for MOC (Secure)",
                installation.place("utrn_cutover_hours"),
            )


RULES = (SecureSmso, SecureDeviceSet, SecureUtrnCutover)
