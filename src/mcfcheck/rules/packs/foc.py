"""FOC, the final operating capability: the Trilliant and Landis+Gyr device set, operated by three SMSOs."""

from __future__ import annotations

from mcfcheck.rules.packs.cohort_checks import COHORT_REGISTRY_READING, DeviceSetRule, SmsoRule
from mcfcheck.rules.provenance import TMAD_MDS_CONSULTATION, Source

FOC = frozenset({"FOC"})

_FOC = Source(
    TMAD_MDS_CONSULTATION,
    "section 1",
    "The FOC release covers the Trilliant and Landis+Gyr device set, currently operated by three SMSOs.",
)


class FocSmso(SmsoRule):
    """For FOC, the SMSO must be one of the cohort's SMSOs (configured in the cohort registry).

    Fails: ``<SMSOName>MDS</SMSOName>``

    Passes: ``<SMSOName>Trilliant</SMSOName>``
    """

    code = "FOC001"
    name = "foc-smso"
    sources = (_FOC,)
    reading = COHORT_REGISTRY_READING
    cohorts = FOC


class FocDeviceSet(DeviceSetRule):
    """For FOC, every device must be of the Trilliant or Landis+Gyr device sets.

    Fails: ``<Manufacturer>Secure Meters</Manufacturer><Model>Liberty 100</Model>``

    Passes: ``<Manufacturer>Landis+Gyr</Manufacturer><Model>E470</Model>``
    """

    code = "FOC002"
    name = "foc-device-set"
    sources = (_FOC,)
    reading = COHORT_REGISTRY_READING
    cohorts = FOC


RULES = (FocSmso, FocDeviceSet)
