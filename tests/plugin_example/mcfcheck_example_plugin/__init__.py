"""An example rule pack: a supplier's own convention for installation references."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar

from mcfcheck.rules import Problem, Rule, Visit
from mcfcheck.rules.views import InstallationView


class ReferencePrefix(Rule):
    """Installation references must start with the supplier's prefix (option ``prefix``).

    A supplier's own convention, as an example of a third-party rule.

    Fails: ``<InstallationReference>X-1</InstallationReference>``

    Passes: ``<InstallationReference>INST-1</InstallationReference>``
    """

    code = "XMP001"
    name = "reference-prefix"
    visits = frozenset({Visit.INSTALLATION})
    defaults: ClassVar[Mapping[str, object]] = {"prefix": "INST-"}

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        prefix = str(self.options["prefix"])
        if installation.reference is not None and not installation.reference.startswith(prefix):
            yield Problem(
                f"reference {installation.reference!r} does not start with {prefix!r}",
                installation.find("InstallationReference"),
            )


class Miscoded(ReferencePrefix):
    """A rule whose code breaks the scheme."""

    code = "x1"
    name = "miscoded"


class Duplicate(ReferencePrefix):
    """A rule that takes a built-in rule's code."""

    code = "GEN001"
    name = "duplicate-code"


RULES = [ReferencePrefix]
MISCODED = [Miscoded]
DUPLICATE = [Duplicate]
