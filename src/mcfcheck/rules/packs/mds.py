"""MOC (MDS), GroupID "CB": the Honeywell Elster device set operated by MDS.

The DCC's consultation on TMAD v1.4 (9 August 2019) introduces GroupID "CB" for this
cohort (Figure 1, rows 8 and 11) and two clauses, 14.3 and 14.14, whose rationale
(Figure 1, rows 9 and 10) explains what they are for: the transition of the SIMs
supports the allocation of a static IP address for each SIM to be used after migration,
the transfer of the SIM's IMSI to MDS and a new APN for the DCC's exclusive use; once
every installation that can be migrated has been, the migrated SIMs are moved to a
communications plan that supports only the "elster" APN. Those clauses bind the DCC and
its communications service provider, not DCC Users (section 2). That a "CB" file carries
each hub's IMSI, a static IP address and the DCC's APN is mcfcheck's inference from
them, and the rules below say so.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from mcfcheck.rules.base import Problem, Rule, Visit
from mcfcheck.rules.packs.cohort_checks import COHORT_REGISTRY_READING, DeviceSetRule, SmsoRule
from mcfcheck.rules.provenance import TMAD_MDS_CONSULTATION, Source
from mcfcheck.rules.views import InstallationView

MDS = frozenset({"CB"})

#: What the consultation says of the clauses behind MDS001 to MDS003.
_NOT_DCC_USERS = Source(
    TMAD_MDS_CONSULTATION,
    "section 2",
    "The new clauses in TMAD (14.3 and 14.14) define the relationship between DCC and its service "
    "providers and does not affect DCC Users.",
)
_INFERENCE = (
    "TMAD 14.3 and 14.14 bind the DCC and its communications service provider, not the supplier. That a "
    '"CB" file must carry {what} is mcfcheck\'s inference from them.'
)


class MdsImsiRequired(Rule):
    """For GroupID "CB", every Communications Hub's SIM must carry its IMSI.

    Fails: a ``<WAN>`` with no ``<IMSI>``.

    Passes: ``<IMSI>234150000000001</IMSI>``.
    """

    code = "MDS001"
    name = "mds-imsi-required"
    sources = (
        Source(
            TMAD_MDS_CONSULTATION, "Figure 1 row 9, rationale for TMAD 14.3", "Transfer of the SIM IMSI value to MDS"
        ),
        _NOT_DCC_USERS,
    )
    reading = _INFERENCE.format(what="each hub's IMSI")

    reads = frozenset({"hub", "imsi"})
    cohorts = MDS
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        if installation.hub is not None and installation.imsi is None:
            yield Problem(
                "the SIM has no IMSI, which mcfcheck expects for MOC (MDS) (see MDS001)", installation.container("imsi")
            )


class MdsStaticIpRequired(Rule):
    """For GroupID "CB", every SIM must carry the static IPv4 address allocated for use after migration.

    Uniqueness is GEN015.

    Fails: a ``<WAN>`` with no ``<StaticIPAddress>``.

    Passes: ``<StaticIPAddress>10.0.0.1</StaticIPAddress>``.
    """

    code = "MDS002"
    name = "mds-static-ip-required"
    sources = (
        Source(
            TMAD_MDS_CONSULTATION,
            "Figure 1 row 9, rationale for TMAD 14.3",
            "Allocation of a Static IP Address for each SIM to be used post-migration",
        ),
        _NOT_DCC_USERS,
    )
    reading = _INFERENCE.format(what="the static IP address allocated to each SIM")

    reads = frozenset({"hub", "static_ip"})
    cohorts = MDS
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        if installation.hub is not None and installation.static_ip is None:
            yield Problem(
                "the SIM has no static IP address, which mcfcheck expects for MOC (MDS) (see MDS002)",
                installation.container("static_ip"),
            )


class MdsDccApn(Rule):
    """For GroupID "CB", every SIM must name the DCC's APN (option ``apn``, default "elster").

    Fails: ``<APN>smso.private</APN>`` or no ``<APN>``.

    Passes: ``<APN>elster</APN>``.
    """

    code = "MDS003"
    name = "mds-dcc-apn"
    sources = (
        Source(
            TMAD_MDS_CONSULTATION,
            "Figure 1 row 9, rationale for TMAD 14.3",
            "Creation of a new APN for exclusive use by the DCC.",
        ),
        Source(
            TMAD_MDS_CONSULTATION,
            "Figure 1 row 10, rationale for TMAD 14.14",
            "Those that have been successfully migrated to the DCC will be transferred to a Communications "
            "Plan that only supports the \u201celster\u201d APN.",
        ),
        _NOT_DCC_USERS,
    )
    reading = (
        _INFERENCE.format(what="the DCC's APN for each SIM")
        + ' The consultation does not name the new APN; "elster" is the APN of the state after migration, '
        "\u201conce the Migration process has completed, i.e. all Installations that can be migrated have been "
        "migrated\u201d (row 10). Set ``apn`` to the APN the DCC gives you."
    )

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
                f"the SIM has {found}; mcfcheck expects the DCC's APN {expected!r} for MOC (MDS) (see MDS003)",
                place if place is not None else installation.container("apn"),
            )


class MdsSmso(SmsoRule):
    """For GroupID "CB", the SMSO must be MDS.

    Fails: ``<SMSOName>Secure</SMSOName>``

    Passes: ``<SMSOName>MDS</SMSOName>``
    """

    code = "MDS004"
    name = "mds-smso"
    sources = (
        Source(TMAD_MDS_CONSULTATION, "section 1", "a Honeywell Elster device set operated via MDS as the SMSO"),
        Source(
            TMAD_MDS_CONSULTATION,
            "Figure 1 row 8 (TMAD section 14)",
            'Inclusion of new GroupID = "CB" for MOC MDS cohort.',
        ),
    )
    reading = COHORT_REGISTRY_READING
    cohorts = MDS


class MdsDeviceSet(DeviceSetRule):
    """For GroupID "CB", every device must be of the Honeywell Elster device set.

    Fails: ``<Manufacturer>Landis+Gyr</Manufacturer><Model>E470</Model>``

    Passes: ``<Manufacturer>Honeywell Elster</Manufacturer><Model>AS300P</Model>``
    """

    code = "MDS005"
    name = "mds-device-set"
    sources = (
        Source(TMAD_MDS_CONSULTATION, "section 2", "the same Honeywell Elster device set being included in IOC"),
    )
    reading = COHORT_REGISTRY_READING
    cohorts = MDS


RULES = (MdsImsiRequired, MdsStaticIpRequired, MdsDccApn, MdsSmso, MdsDeviceSet)
