"""An example rule pack: a supplier's own convention for installation references."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import ClassVar

from mcfcheck.findings import Severity
from mcfcheck.rules import Problem, Rule, RuleContext, Visit
from mcfcheck.rules.views import InstallationView


class ReferencePrefix(Rule):
    """Installation references must start with the supplier's prefix (option ``prefix``).

    A supplier's own convention, as an example of a third-party rule.

    Fails: ``<InstallationReference>X-1</InstallationReference>``

    Passes: ``<InstallationReference>INST-1</InstallationReference>``
    """

    code = "XMP001"
    name = "reference-prefix"
    own_check = "The supplier numbers its installations with this prefix: any other reference is mistyped."
    visits = frozenset({Visit.INSTALLATION})
    reads = frozenset({"reference"})
    defaults: ClassVar[Mapping[str, object]] = {"prefix": "INST-"}

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        prefix = str(self.options["prefix"])
        if installation.reference is not None and not installation.reference.startswith(prefix):
            yield Problem(
                f"reference {installation.reference!r} does not start with {prefix!r}",
                installation.place("reference"),
            )


class InstallationTally(Rule):
    """Say how many installations the file holds (a count kept across installations).

    An example of a rule that reports from its finish step without saying how to merge
    what it counted across parts: mcfcheck validates files in a single pass when it is
    selected.

    Fails: every file (it reports its count).

    Passes: none.
    """

    code = "XMP002"
    name = "installation-tally"
    own_check = "None: it reports a count, to show how a rule reports from its finish step."
    severity = Severity.WARNING
    visits = frozenset({Visit.INSTALLATION})
    #: It counts installations and reads none of their concepts: it runs in any dialect.
    reads: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        super().__init__(context, options)
        self.count = 0

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        self.count += 1
        return iter(())

    def finish(self) -> Iterator[Problem]:
        yield Problem(f"{self.count} installations")


class MergedTally(InstallationTally):
    """Say how many installations the file holds, merging the counts of a file's parts.

    The same count as XMP002, with the state and merge steps that let a file be
    validated in parts.

    Fails: every file (it reports its count).

    Passes: none.
    """

    code = "XMP003"
    name = "merged-tally"

    def state(self) -> object:
        return self.count

    def merge(self, states: Sequence[object]) -> None:
        self.count = sum(int(str(state)) for state in states)


class Miscoded(ReferencePrefix):
    """A rule whose code breaks the scheme."""

    code = "x1"
    name = "miscoded"


class Duplicate(ReferencePrefix):
    """A rule that takes a built-in rule's code."""

    code = "GEN001"
    name = "duplicate-code"


RULES = [ReferencePrefix, InstallationTally, MergedTally]
MISCODED = [Miscoded]
DUPLICATE = [Duplicate]
