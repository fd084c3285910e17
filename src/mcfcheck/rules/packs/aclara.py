"""S1SR, Aclara: dormant meters with Auxiliary Load circuits are not migrated (seed 003, paragraph 7)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from mcfcheck.rules.base import Problem, Rule, Visit
from mcfcheck.rules.views import InstallationView


class DormantAclaraAuxiliaryLoad(Rule):
    """A Dormant installation must not hold an Aclara ESME with an auxiliary load circuit.

    Enforces the S1SR change for Aclara devices (seed 003, paragraph 7: DCC "proposed
    that dormant meters with Auxiliary Load circuits are not migrated until a root cause
    analysis indicates a reliable workaround"). Option: ``manufacturer`` ("Aclara").

    Fails: ``<Status>Dormant</Status>`` with an ESME of ``<Manufacturer>Aclara</Manufacturer>``
    and ``<AuxiliaryLoad>true</AuxiliaryLoad>``.

    Passes: the same meter in an Active installation, or without an auxiliary load.
    """

    code = "ACL001"
    name = "dormant-aclara-auxiliary-load"

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
                    "migrated until a reliable workaround exists",
                    meter.element,
                )


RULES = (DormantAclaraAuxiliaryLoad,)
