"""S1SR v4.0, Aclara: dormant meters with Auxiliary Load circuits are not migrated until a workaround exists.

The SMETS1 Supporting Requirements (S1SR, SEC Appendix AM) v4.0, designated with
effect from 26 July 2020, hold the DCC's proposal that such meters are not migrated
"until a root cause analysis indicates a reliable workaround" (BEIS direction of 24
July 2020, paragraphs 7 and 11). A later S1SR may lift it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from mcfcheck.rules.base import Problem, Rule, Visit
from mcfcheck.rules.provenance import BEIS_DIRECTION_JULY_2020, Source
from mcfcheck.rules.views import InstallationView


class DormantAclaraAuxiliaryLoad(Rule):
    """A Dormant installation must not hold an Aclara ESME with an auxiliary load circuit.

    When a later S1SR lifts the exclusion, ignore ACL001 (``ignore = ["ACL001"]``).
    Option: ``manufacturer`` ("Aclara").

    Fails: ``<Status>Dormant</Status>`` with an ESME of ``<Manufacturer>Aclara</Manufacturer>``
    and ``<AuxiliaryLoad>true</AuxiliaryLoad>``.

    Passes: the same meter in an Active installation, or without an auxiliary load.
    """

    code = "ACL001"
    name = "dormant-aclara-auxiliary-load"
    sources = (
        Source(
            BEIS_DIRECTION_JULY_2020,
            "paragraph 7 (the S1SR changes for Aclara)",
            "proposed that dormant meters with Auxiliary Load circuits are not migrated until a root cause "
            "analysis indicates a reliable workaround",
        ),
        Source(
            BEIS_DIRECTION_JULY_2020,
            "paragraph 11",
            "for the new version of the S1SR (V4.0) to be designated on 26 July 2020",
        ),
    )
    reading = (
        "The direction speaks of Aclara meters with Auxiliary Load circuits; mcfcheck finds them as an ESME "
        "whose manufacturer is ``manufacturer`` and whose AuxiliaryLoad is true, in a Dormant installation. "
        "It holds under the S1SR v4.0 (SEC Appendix AM, designated with effect from 26 July 2020), and only "
        "while the S1SR in force keeps the exclusion: \u201cuntil ... a reliable workaround\u201d."
    )

    reads = frozenset({"devices", "device_type", "status", "manufacturer", "model", "auxiliary_load"})
    visits = frozenset({Visit.INSTALLATION})
    defaults: ClassVar[Mapping[str, object]] = {"manufacturer": "Aclara"}

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        if not installation.dormant:
            return
        manufacturer = str(self.options["manufacturer"])
        for meter in installation.devices_of_type("ESME"):
            if meter.manufacturer == manufacturer and meter.auxiliary_load:
                yield Problem(
                    f"a Dormant {manufacturer} ESME ({meter.model}) with an auxiliary load circuit is not "
                    "migrated under S1SR v4.0 until a reliable workaround exists",
                    meter.element,
                )


RULES = (DormantAclaraAuxiliaryLoad,)
