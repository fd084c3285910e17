"""FOC: the Trilliant and Landis+Gyr device sets, operated by three SMSOs (seed 001, section 1)."""

from __future__ import annotations

from mcfcheck.rules.packs.cohort_checks import DeviceSetRule, SmsoRule

FOC = frozenset({"FOC"})


class FocSmso(SmsoRule):
    """For FOC, the SMSO must be one of the cohort's SMSOs (configured in the cohort registry).

    Enforces the FOC cohort's definition (seed 001, section 1: "the Trilliant and
    Landis+Gyr device set, currently operated by three SMSOs").

    Fails: ``<SMSOName>MDS</SMSOName>``

    Passes: ``<SMSOName>Trilliant</SMSOName>``
    """

    code = "FOC001"
    name = "foc-smso"
    cohorts = FOC


class FocDeviceSet(DeviceSetRule):
    """For FOC, every device must be of the Trilliant or Landis+Gyr device sets.

    Enforces the FOC cohort's definition (seed 001, section 1). Models come from the
    cohort registry.

    Fails: ``<Manufacturer>Secure Meters</Manufacturer><Model>Liberty 100</Model>``

    Passes: ``<Manufacturer>Landis+Gyr</Manufacturer><Model>E470</Model>``
    """

    code = "FOC002"
    name = "foc-device-set"
    cohorts = FOC


RULES = (FocSmso, FocDeviceSet)
