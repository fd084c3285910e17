"""What ``mcfcheck split``, ``merge`` and ``extract`` need to know of each installation.

The collector is run by the rule engine like a rule (:class:`ReshapeCollector`), beside
the statistics collector, through the dialect's binding: for each installation it
writes one line to a file of its own in a staging folder: the installation's line, its
devices (the Communications Hub included), its reference, status, planned migration
week and Device IDs. A part of a file writes its own file; the merge keeps them in file
order. The installations' bytes are not read here: the caller copies them from the
input (:mod:`mcfcheck.run.reshape`), checking that they start on the lines given here.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar, Final

from mcfcheck.rules.base import Problem, RuleContext, StagedRule, Visit
from mcfcheck.rules.engine import field_values
from mcfcheck.rules.views import InstallationView

#: The collector's code in the private registry ``split`` and ``merge`` run (never a rule's).
RESHAPE_CODE: Final = "RSH000"
_FIELD: Final = "\x1f"
_ID: Final = "\x1e"


def _clean(value: str | None) -> str:
    """A value made safe for the staging file's separators (which no identifier holds)."""
    if value is None:
        return "\x00"
    return value.replace(_FIELD, " ").replace(_ID, " ").replace("\n", " ")


def _value(text: str) -> str | None:
    return None if text == "\x00" else text


@dataclass(frozen=True)
class InstallationFacts:
    """One installation, as split and merge need it."""

    line: int
    devices: int
    reference: str | None
    status: str | None
    week: str | None
    device_ids: tuple[str, ...]


def read_facts(path: str) -> Iterator[InstallationFacts]:
    """The installations a staging file holds, in file order."""
    with Path(path).open(encoding="utf-8", newline="\n") as stream:
        for row in stream:
            line, devices, reference, status, week, ids = row.rstrip("\n").split(_FIELD)
            yield InstallationFacts(
                int(line),
                int(devices),
                _value(reference),
                _value(status),
                _value(week),
                tuple(ids.split(_ID)) if ids else (),
            )


#: An installation's line and devices, as the collector notes them with ``numbers``.
_NUMBERS: Final = struct.Struct("=qq")


def references_of(path: str) -> str:
    """The file beside a staging file of numbers that holds the installations' references, one a line."""
    return path + ".references"


def read_numbers(stream: BinaryIO, count: int) -> array[int]:
    """Up to ``count`` installations' numbers from ``stream`` (a staging file of numbers): line, devices, …"""
    numbers = array("q")
    with suppress(EOFError):
        # Fewer at the end: those there are read all the same.
        numbers.fromfile(stream, 2 * count)
    return numbers


class ReshapeCollector(StagedRule):
    """Writes each installation's line, devices, reference, status, week and Device IDs; reports nothing."""

    code = RESHAPE_CODE
    name = "reshape"
    visits = frozenset({Visit.INSTALLATION})
    reads = frozenset[str]()
    #: ``identifiers``: note Device IDs too (``merge``'s duplicates; ``split`` and ``extract`` need none).
    #: ``numbers``: note each installation's line and devices only, as two 64-bit numbers, and its
    #: reference in a file beside (:func:`references_of`), as ``extract`` reads them (see :func:`read_numbers`).
    defaults: ClassVar[Mapping[str, object]] = {"staging": "", "identifiers": True, "numbers": False}
    own_check = "Not a check: it notes where each installation is, for split, merge and extract."

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        super().__init__(context, options)
        self.path, self._stream = self.staging_file("installations-")
        self._identifiers = bool(self.options["identifiers"])
        self._numbers = bool(self.options["numbers"])
        self._references: BinaryIO | None = None
        if self._numbers:
            self._references = Path(references_of(self.path)).open("wb", buffering=1 << 20)  # noqa: SIM115 - closed by staged()

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        hub = installation.hub
        devices = installation.devices
        if self._references is not None:
            self._stream.write(_NUMBERS.pack(installation.element.sourceline or 0, len(devices) + (hub is not None)))
            reference = installation.reference
            self._references.write((_clean(reference) if reference is not None else "").encode("utf-8") + b"\n")
            return iter(())
        reference, ids = _clean(installation.reference), ""
        if self._identifiers:
            found = [device.device_id for device in ((hub,) if hub is not None else ()) + tuple(devices)]
            ids = _ID.join(_clean(value) for value in found if value)
        date = installation.planned_migration_date
        week = None
        if date is not None:
            year, number, _day = date.isocalendar()
            week = f"{year}-W{number:02d}"
        row = _FIELD.join(
            (
                str(installation.element.sourceline or 0),
                str(len(devices) + (hub is not None)),
                reference,
                _clean(installation.status),
                _clean(week),
                ids,
            )
        )
        self._stream.write((row + "\n").encode("utf-8"))
        return iter(())

    def staged(self) -> str:
        if not self._stream.closed:
            self._stream.close()
        if self._references is not None and not self._references.closed:
            self._references.close()
        return self.path

    def outcome(self) -> object:
        """The staging files, in file order: the parts' and this process's own."""
        files = tuple(str(path) for path in self.staged_files())
        return ReshapeOutcome(files, self.context.binding.record, self._places())

    def _places(self) -> dict[str, tuple[str, ...]]:
        binding = self.context.binding
        places: dict[str, tuple[str, ...]] = {}
        for concept, container in (
            ("file_identifier", binding.header),
            ("installation_count", binding.trailer),
            ("device_count", binding.trailer),
        ):
            path = binding.paths.get(concept)
            if path is not None and container:
                places[concept] = (*container[-1:], *path)
        return places

    def close(self) -> None:
        self.staged()


@dataclass(frozen=True)
class ReshapeOutcome:
    """A file's staging files in order, its record element's name, and where its header's identifier
    and trailer's totals are (the container's name, then the path within it).
    """

    files: tuple[str, ...]
    record: str
    places: Mapping[str, tuple[str, ...]]

    def __reduce__(self) -> tuple[type[ReshapeOutcome], tuple[object, ...]]:
        return type(self), field_values(self)

    def facts(self) -> Iterator[InstallationFacts]:
        for path in self.files:
            yield from read_facts(path)

    def remove(self) -> None:
        for path in self.files:
            Path(path).unlink(missing_ok=True)
            Path(references_of(path)).unlink(missing_ok=True)
