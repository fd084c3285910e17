"""IOC: the Honeywell Elster device set, operated by the IOC SMSO (seed 001, section 1)."""

from __future__ import annotations

from mcfcheck.rules.packs.cohort_checks import DeviceSetRule, SmsoRule

IOC = frozenset({"IOC"})


class IocSmso(SmsoRule):
    """For IOC, the SMSO must be the IOC SMSO (configured in the cohort registry).

    Enforces the IOC cohort's definition (seed 001, section 1: the TMAD for IOC covers
    the Honeywell Elster device set and its SMSO).

    Fails: ``<SMSOName>MDS</SMSOName>``

    Passes: ``<SMSOName>Honeywell Elster</SMSOName>``
    """

    code = "IOC001"
    name = "ioc-smso"
    cohorts = IOC


class IocDeviceSet(DeviceSetRule):
    """For IOC, every device must be of the Honeywell Elster device set.

    Enforces the IOC cohort's definition (seed 001, section 2). Models come from the
    cohort registry.

    Fails: ``<Manufacturer>Landis+Gyr</Manufacturer><Model>E470</Model>``

    Passes: ``<Manufacturer>Honeywell Elster</Manufacturer><Model>AS300P</Model>``
    """

    code = "IOC002"
    name = "ioc-device-set"
    cohorts = IOC


RULES = (IocSmso, IocDeviceSet)
