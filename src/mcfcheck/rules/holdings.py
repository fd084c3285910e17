"""What the ledger of ``mcfcheck batch`` keeps of each installation: its reference and identifiers.

The collector is run by the rule engine like a rule (:class:`HoldingsCollector`), beside
the rules a batch runs, through the dialect's binding: for each installation it writes
one record to a file of its own in a staging folder: the installation's reference and the
fingerprints of its identifiers (Device IDs, the Communications Hub's included; MPAN
core, MPRN, IMSI, ICCID, static IP address; :func:`fingerprint`), then their values (for
the findings across files to name; the ledger keeps the fingerprints). A part of a file writes
its own file; the merge keeps them in file order, so that the n-th record is the n-th
installation.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import ClassVar, Final

from mcfcheck.native import FAST
from mcfcheck.rules.base import Problem, RuleContext, StagedRule, Visit
from mcfcheck.rules.views import InstallationView

#: The collector's code in the registry ``batch`` runs with a ledger (never a rule's).
HOLDINGS_CODE: Final = "LDG000"
#: The kinds of identifier noted, as the ledger names them; each is kept as its number here.
KINDS: Final = ("device_id", "mpan", "mprn", "imsi", "iccid", "static_ip")
#: The bytes an identifier takes: its kind's number, then its 8-byte fingerprint.
HELD: Final = 9
_FIELD: Final = "\x1f"
#: Each installation's record in a staging file: its reference's length in bytes, how many
#: fingerprints follow it, and the length of its identifiers' values after them.
_HEADER: Final = struct.Struct("<HHI")
#: What separates an installation's identifiers' values in a staging file (XML text never holds it).
VALUE_SEPARATOR: Final = "\x1f"
#: The longest reference kept, in bytes (a reference that long breaks the schema anyway).
_MAX_REFERENCE: Final = 0xFFFF


#: What each kind's fingerprints hash before the value (:func:`fingerprint_bytes`).
_PREFIXES: Final = tuple(f"{kind}{_FIELD}".encode() for kind in KINDS)


def _hashed(prefix: bytes, value: str) -> bytes:
    return hashlib.blake2b(prefix + value.encode("utf-8"), digest_size=8).digest()


def fingerprint_bytes(kind: str, value: str) -> bytes:
    """An identifier's fingerprint as the ledger keeps it: the 8-byte BLAKE2b hash of its kind and
    value (Device IDs upper-cased).
    """
    return _hashed(_PREFIXES[KINDS.index(kind)], value.upper() if kind == "device_id" else value)


def _held_in_python(prefixes: tuple[bytes, ...], kinds: bytes, values: list[str]) -> bytes:
    return b"".join(bytes((kind,)) + _hashed(prefixes[kind], value) for kind, value in zip(kinds, values, strict=True))


#: Each value's kind and fingerprint, one after the other (:data:`HELD` bytes each), given the kinds'
#: prefixes, the kinds' numbers and the values (Device IDs upper-cased): in C where mcfcheck's module is built.
held_identifiers: Final[Callable[[tuple[bytes, ...], bytes, list[str]], bytes]] = (
    FAST.held_identifiers if FAST is not None else _held_in_python
)


def fingerprint(kind: str, value: str) -> int:
    """An identifier's fingerprint as a signed 64-bit number (:func:`fingerprint_bytes`, big-endian)."""
    return int.from_bytes(fingerprint_bytes(kind, value), "big", signed=True)


def fingerprints_of(data: bytes) -> list[tuple[str, int]]:
    """The identifiers kept one after the other (:data:`HELD`): each one's kind and fingerprint."""
    return [(KINDS[kind], value) for kind, value in numbered(data)]


def numbered(data: bytes) -> list[tuple[int, int]]:
    """The identifiers kept one after the other (:data:`HELD`): each one's kind's number and fingerprint."""
    return [
        (data[start], int.from_bytes(data[start + 1 : start + HELD], "big", signed=True))
        for start in range(0, len(data), HELD)
    ]


def read_holdings(path: str) -> Iterator[tuple[str | None, bytes, bytes]]:
    """The installations a staging file holds, in file order: each one's reference, its identifiers,
    one after the other, :data:`HELD` bytes each (its kind's number in :data:`KINDS`, its fingerprint),
    and their values in the same order (UTF-8, separated by :data:`VALUE_SEPARATOR`).
    """
    with Path(path).open("rb") as stream:
        while header := stream.read(_HEADER.size):
            length, count, size = _HEADER.unpack(header)
            # A reference cut at its 65,535th byte may end inside a character.
            reference = stream.read(length).decode("utf-8", errors="replace")
            yield reference or None, stream.read(HELD * count), stream.read(size)


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
        kinds = bytearray()
        keyed: list[str] = []
        values: list[str] = []
        hub = installation.hub
        for device in ((hub,) if hub is not None else ()) + tuple(installation.devices):
            if device.device_id:
                kinds.append(0)
                keyed.append(device.device_id.upper())
                values.append(device.device_id)
        for number, value in (
            (1, installation.mpan),
            (2, installation.mprn),
            (3, installation.imsi),
            (4, installation.iccid),
            (5, installation.static_ip),
        ):
            if value:
                kinds.append(number)
                keyed.append(value)
                values.append(value)
        held = held_identifiers(_PREFIXES, bytes(kinds), keyed)
        reference = (installation.reference or "").encode("utf-8")[:_MAX_REFERENCE]
        text = VALUE_SEPARATOR.join(values).encode("utf-8")
        self._stream.write(_HEADER.pack(len(reference), len(values), len(text)) + reference + held + text)
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

    def installations(self) -> Iterator[tuple[str | None, bytes, bytes]]:
        """Each installation's reference, identifiers and their values (:func:`read_holdings`), in file order."""
        for path in self.files:
            yield from read_holdings(path)

    def remove(self) -> None:
        for path in self.files:
            Path(path).unlink(missing_ok=True)
