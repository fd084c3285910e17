"""What the ledger of ``mcfcheck batch`` keeps of each installation: its reference and identifiers.

The collector is run by the rule engine like a rule (:class:`HoldingsCollector`), beside
the rules a batch runs, through the dialect's binding: for each installation it writes
one line to a file of its own in a staging folder: the installation's reference and its
identifiers (Device IDs, the Communications Hub's included; MPAN core, MPRN, IMSI,
ICCID, static IP address), each with its kind. A part of a file writes its own file;
the merge keeps them in file order, so that the n-th line is the n-th installation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar, Final

from mcfcheck.rules.base import Problem, RuleContext, StagedRule, Visit
from mcfcheck.rules.views import InstallationView

#: The collector's code in the registry ``batch`` runs with a ledger (never a rule's).
HOLDINGS_CODE: Final = "LDG000"
#: The kinds of identifier noted, as the ledger names them.
KINDS: Final = ("device_id", "mpan", "mprn", "imsi", "iccid", "static_ip")
_FIELD: Final = "\x1f"


def _clean(value: str) -> str:
    return value.replace(_FIELD, " ").replace("\n", " ").replace("\r", " ")


def read_holdings(path: str) -> Iterator[tuple[str | None, list[tuple[str, str]]]]:
    """The installations a staging file holds, in file order: each one's reference and identifiers."""
    with Path(path).open(encoding="utf-8", newline="\n") as stream:
        for row in stream:
            reference, *pairs = row.rstrip("\n").split(_FIELD)
            identifiers = [(KINDS[int(pairs[index])], pairs[index + 1]) for index in range(0, len(pairs), 2)]
            yield reference or None, identifiers


class HoldingsCollector(StagedRule):
    """Writes each installation's reference and identifiers; reports nothing."""

    code = HOLDINGS_CODE
    name = "ledger-holdings"
    visits = frozenset({Visit.INSTALLATION})
    reads = frozenset[str]()
    defaults: ClassVar[Mapping[str, object]] = {"staging": ""}
    own_check = "Not a check: it notes each installation's identifiers, for the ledger of mcfcheck batch."

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        super().__init__(context, options)
        self.path, self._stream = self.staging_file("holdings-")

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        fields = [_clean(installation.reference or "")]
        hub = installation.hub
        for device in ((hub,) if hub is not None else ()) + tuple(installation.devices):
            if device.device_id:
                fields += ("0", _clean(device.device_id.upper()))
        for kind, value in (
            (1, installation.mpan),
            (2, installation.mprn),
            (3, installation.imsi),
            (4, installation.iccid),
            (5, installation.static_ip),
        ):
            if value:
                fields += (str(kind), _clean(value))
        self._stream.write((_FIELD.join(fields) + "\n").encode("utf-8"))
        return iter(())

    def staged(self) -> str:
        if not self._stream.closed:
            self._stream.close()
        return self.path

    def outcome(self) -> object:
        """The staging files, in file order, and the record element's name."""
        return Holdings(tuple(str(path) for path in self.staged_files()), self.context.binding.record)

    def close(self) -> None:
        self.staged()


class Holdings:
    """A file's staging files of holdings, in order, and its record element's name."""

    def __init__(self, files: tuple[str, ...], record: str) -> None:
        self.files = files
        self.record = record

    def __reduce__(self) -> tuple[type[Holdings], tuple[object, ...]]:
        return type(self), (self.files, self.record)

    def installations(self) -> Iterator[tuple[str | None, list[tuple[str, str]]]]:
        for path in self.files:
            yield from read_holdings(path)

    def remove(self) -> None:
        for path in self.files:
            Path(path).unlink(missing_ok=True)
