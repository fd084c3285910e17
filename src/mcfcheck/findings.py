"""Findings: one immutable record per problem found in a Migration Common File."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Severity(enum.StrEnum):
    """How much a finding matters; errors make a file invalid."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding sits: the file, the place in it, and the installation it concerns.

    ``line`` and ``column`` are 1-based; either is ``None`` when the parser could not
    tell. ``xpath`` names the element by local names with positions, for example
    ``/MigrationFile/Installations/Installation[42]/Devices/Device[2]/DeviceID``.
    ``installation`` is the reference of the installation the element belongs to, and
    ``status`` that installation's Status (``Active`` or ``Dormant``) when it is known.
    """

    file: str
    line: int | None = None
    column: int | None = None
    xpath: str | None = None
    installation: str | None = None
    status: str | None = None

    def __reduce__(self) -> tuple[type[Location], tuple[object, ...]]:
        # Pickled as the constructor's arguments: the dataclass default for slots walks the
        # fields for every object, which took most of the time spooling a million findings.
        return type(self), (self.file, self.line, self.column, self.xpath, self.installation, self.status)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: its code, the rule's name, what is wrong, how much it matters, and where.

    ``related`` are the other places in the same file the problem concerns: for an
    identifier found twice, where it was first seen (the finding is where it is again).
    """

    code: str
    message: str
    severity: Severity
    location: Location
    rule: str = "schema"
    related: tuple[Location, ...] = ()

    def __reduce__(self) -> tuple[type[Finding], tuple[object, ...]]:
        return type(self), (self.code, self.message, self.severity, self.location, self.rule, self.related)


@dataclass(frozen=True, slots=True)
class FileReport:
    """The outcome of checking one file.

    ``error`` is set when the file could not be checked to its end (it is not
    well-formed XML, or cannot be read); the findings are then those found before
    the problem was met. ``cohort`` is the name of the cohort the header's GroupID
    names (``IOC``, ``CB``, ...), when the header was read and the GroupID is known.
    ``rules_not_run`` says, in one line, which selected rules did not run on a file the
    rules were asked for, and why (the file's dialect has no binding, or its binding
    does not place what they read); ``skipped_rules`` are their codes, in code order.
    They are None and empty where every selected rule ran, or no rule was asked for.
    """

    path: str
    schema: str | None
    installations: int
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    error: str | None = None
    cohort: str | None = None
    rules_not_run: str | None = None
    skipped_rules: tuple[str, ...] = ()
    #: What the collectors run beside the rules concluded, by code (``mcfcheck batch``'s ledger
    #: collector: the files it wrote); empty where none ran.
    outcomes: Mapping[str, object] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """True when the file was read to its end and no finding is an error."""
        return self.error is None and not any(f.severity is Severity.ERROR for f in self.findings)
