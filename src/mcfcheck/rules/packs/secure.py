"""MOC (Secure): the Secure device set operated by Secure.

Seed 003 (BEIS direction, July 2020, paragraph 4): the UTRN cutover period was
raised from 48 to 336 hours.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from mcfcheck.rules.base import Problem, Rule, Visit
from mcfcheck.rules.options import Option
from mcfcheck.rules.packs.cohort_checks import DeviceSetRule, SmsoRule
from mcfcheck.rules.views import InstallationView

SECURE = frozenset({"SECURE"})


class SecureSmso(SmsoRule):
    """For MOC (Secure), the SMSO must be Secure.

    Enforces the MOC (Secure) cohort's definition (seed 001, section 1: "a Secure device
    set operated by Secure as the SMSO").

    Fails: ``<SMSOName>MDS</SMSOName>``

    Passes: ``<SMSOName>Secure</SMSOName>``
    """

    code = "SEC001"
    name = "secure-smso"
    cohorts = SECURE


class SecureDeviceSet(DeviceSetRule):
    """For MOC (Secure), every device must be of the Secure device set.

    Enforces the MOC (Secure) cohort's definition (seed 001, section 1). Models come from
    the cohort registry.

    Fails: ``<Manufacturer>Honeywell Elster</Manufacturer><Model>AS300P</Model>``

    Passes: ``<Manufacturer>Secure Meters</Manufacturer><Model>Liberty 100</Model>``
    """

    code = "SEC002"
    name = "secure-device-set"
    cohorts = SECURE


class SecureUtrnCutover(Rule):
    """For MOC (Secure), a prepayment installation's UTRN cutover must be at least 336 hours.

    Enforces the TMAD for Secure as re-designated in 2020 (seed 003, paragraph 4: "DCC
    has accordingly amended the drafting to increase the period to 336 hours").
    Option: ``minimum_hours`` (336).

    Fails: ``<UTRNCutoverHours>48</UTRNCutoverHours>`` with a prepayment meter.

    Passes: ``<UTRNCutoverHours>336</UTRNCutoverHours>``.
    """

    code = "SEC003"
    name = "secure-utrn-cutover"

    reads = frozenset({"devices", "payment_mode", "utrn_cutover_hours"})
    cohorts = SECURE
    visits = frozenset({Visit.INSTALLATION})
    defaults: ClassVar[Mapping[str, object]] = {"minimum_hours": Option(336, minimum=0)}

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        minimum = int(str(self.options["minimum_hours"]))
        hours = installation.utrn_cutover_hours
        if installation.prepayment and hours is not None and hours < minimum:
            yield Problem(
                f"the UTRN cutover window is {hours} hours; MOC (Secure) requires at least {minimum}",
                installation.place("utrn_cutover_hours"),
            )


RULES = (SecureSmso, SecureDeviceSet, SecureUtrnCutover)
