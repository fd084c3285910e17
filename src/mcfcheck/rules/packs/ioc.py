"""IOC, the initial operating capability: the Honeywell Elster device set, operated by the IOC SMSO."""

from __future__ import annotations

from mcfcheck.rules.packs.cohort_checks import COHORT_REGISTRY_READING, DeviceSetRule, SmsoRule
from mcfcheck.rules.provenance import TMAD_MDS_CONSULTATION, Source

IOC = frozenset({"IOC"})

_IOC_TMAD = Source(
    TMAD_MDS_CONSULTATION,
    "section 1",
    "The current TMAD (which covers requirements for the initial operating capability (known as 'IOC') "
    "for SMETS1 Services)",
)
_IOC_DEVICE_SET = Source(
    TMAD_MDS_CONSULTATION, "section 2", "the same Honeywell Elster device set being included in IOC"
)


class IocSmso(SmsoRule):
    """For IOC, the SMSO must be the IOC SMSO (configured in the cohort registry).

    Fails: ``<SMSOName>MDS</SMSOName>``

    Passes: ``<SMSOName>Honeywell Elster</SMSOName>``
    """

    code = "IOC001"
    name = "ioc-smso"
    sources = (_IOC_TMAD, _IOC_DEVICE_SET)
    reading = COHORT_REGISTRY_READING
    cohorts = IOC


class IocDeviceSet(DeviceSetRule):
    """For IOC, every device must be of the Honeywell Elster device set.

    Fails: ``<Manufacturer>Landis+Gyr</Manufacturer><Model>E470</Model>``

    Passes: ``<Manufacturer>Honeywell Elster</Manufacturer><Model>AS300P</Model>``
    """

    code = "IOC002"
    name = "ioc-device-set"
    sources = (_IOC_DEVICE_SET,)
    reading = COHORT_REGISTRY_READING
    cohorts = IOC


RULES = (IocSmso, IocDeviceSet)
