"""MOC (MDS), GroupID "CB": the Honeywell Elster device set operated by MDS.

Seed 001 (DCC's TMAD v1.4 consultation, Figure 1, rows 8 to 11; TMAD 14.3 and
14.14): before migration each SIM is given a static IP address for post-migration
use, its IMSI is transferred to MDS and a new APN exclusive to the DCC is created;
after migration, migrated SIMs sit on a communications plan that supports only the
"elster" APN.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from mcfcheck.rules.base import Problem, Rule, Visit
from mcfcheck.rules.packs.cohort_checks import DeviceSetRule, SmsoRule
from mcfcheck.rules.views import InstallationView

MDS = frozenset({"CB"})


class MdsImsiRequired(Rule):
    """For GroupID "CB", every Communications Hub's SIM must carry its IMSI.

    Enforces TMAD 14.3 (seed 001, Figure 1, row 9: "Transfer of the SIM IMSI value to MDS").

    Fails: a ``<WAN>`` with no ``<IMSI>``.

    Passes: ``<IMSI>234150000000001</IMSI>``.
    """

    code = "MDS001"
    name = "mds-imsi-required"

    reads = frozenset({"hub", "imsi"})
    cohorts = MDS
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        if installation.hub is not None and installation.imsi is None:
            yield Problem("the SIM has no IMSI, which MOC (MDS) requires", installation.container("imsi"))


class MdsStaticIpRequired(Rule):
    """For GroupID "CB", every SIM must carry the static IPv4 address allocated for use after migration.

    Enforces TMAD 14.3 (seed 001, Figure 1, row 9: "Allocation of a Static IP Address
    for each SIM to be used post-migration"). Uniqueness is GEN015.

    Fails: a ``<WAN>`` with no ``<StaticIPAddress>``.

    Passes: ``<StaticIPAddress>10.0.0.1</StaticIPAddress>``.
    """

    code = "MDS002"
    name = "mds-static-ip-required"

    reads = frozenset({"hub", "static_ip"})
    cohorts = MDS
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        if installation.hub is not None and installation.static_ip is None:
            yield Problem(
                "the SIM has no static IP address, which MOC (MDS) requires",
                installation.container("static_ip"),
            )


class MdsDccApn(Rule):
    """For GroupID "CB", every SIM must use the DCC's APN (option ``apn``, default "elster").

    Enforces TMAD 14.14 (seed 001, Figure 1, row 10: after migration, SIMs sit on a
    communications plan that only supports the "elster" APN).

    Fails: ``<APN>smso.private</APN>`` or no ``<APN>``.

    Passes: ``<APN>elster</APN>``.
    """

    code = "MDS003"
    name = "mds-dcc-apn"

    reads = frozenset({"hub", "apn"})
    cohorts = MDS
    visits = frozenset({Visit.INSTALLATION})
    defaults: ClassVar[Mapping[str, object]] = {"apn": "elster"}

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        expected = str(self.options["apn"])
        if installation.hub is not None and installation.apn != expected:
            found = f"APN {installation.apn!r}" if installation.apn is not None else "no APN"
            place = installation.place("apn")
            yield Problem(
                f"the SIM has {found}; MOC (MDS) SIMs use the DCC's APN {expected!r}",
                place if place is not None else installation.container("apn"),
            )


class MdsSmso(SmsoRule):
    """For GroupID "CB", the SMSO must be MDS.

    Enforces the MOC (MDS) cohort's definition (seed 001, section 1: "a Honeywell
    Elster device set operated via MDS as the SMSO").

    Fails: ``<SMSOName>Secure</SMSOName>``

    Passes: ``<SMSOName>MDS</SMSOName>``
    """

    code = "MDS004"
    name = "mds-smso"
    cohorts = MDS


class MdsDeviceSet(DeviceSetRule):
    """For GroupID "CB", every device must be of the Honeywell Elster device set.

    Enforces the MOC (MDS) cohort's definition (seed 001, section 2: "the same Honeywell
    Elster device set being included in IOC"). Models come from the cohort registry.

    Fails: ``<Manufacturer>Landis+Gyr</Manufacturer><Model>E470</Model>``

    Passes: ``<Manufacturer>Honeywell Elster</Manufacturer><Model>AS300P</Model>``
    """

    code = "MDS005"
    name = "mds-device-set"
    cohorts = MDS


RULES = (MdsImsiRequired, MdsStaticIpRequired, MdsDccApn, MdsSmso, MdsDeviceSet)
