"""Which installation a line belongs to, for problems reported once the file has ended."""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NamedTuple

from mcfcheck.rules.keys import Spill

#: A spilled installation: its reference's length, its status, and up to 64 UTF-8 bytes of reference.
_REFERENCE: Final = struct.Struct("<BB64s")
#: The statuses the ledger keeps, by their code in the spill (0: not known).
_STATUSES: Final = (None, "Active", "Dormant")
_STATUS_CODES: Final = {status: code for code, status in enumerate(_STATUSES) if status is not None}
#: How many bytes of references wait in memory before they go to the spill file (about 16,000 installations).
_PENDING_BYTES: Final = 1 << 20


class Placed(NamedTuple):
    """Where an installation sits: its 1-based position (0: before the first), reference and status."""

    position: int
    reference: str | None
    status: str | None


class InstallationLedger:
    """Every installation's first line (4 bytes in memory), reference and status (on disk, past the first megabyte)."""

    def __init__(
        self, folder: Path | None = None, record: str = "Installation", pending_bytes: int = _PENDING_BYTES
    ) -> None:
        #: The local name of the record element, for XPaths.
        self.record = record
        self._pending_bytes = pending_bytes
        self._lines = array("I")
        self._folder = folder
        # The references go to a spill file only once they are many: a small file's
        # stay in memory (a temporary file costs more than checking a small file's installations).
        self._references: Spill | None = None
        self._spilled = 0
        self._pending = bytearray()
        # The parts' spills, once merged, with the position each starts at.
        self._segments: list[tuple[int, Spill]] = []
        self.parent_path = ""

    def __len__(self) -> int:
        return len(self._lines)

    def add(self, line: int, reference: str | None, parent_path: str, status: str | None = None) -> None:
        """Record the next installation: where it starts, its reference and its status."""
        self.parent_path = parent_path
        self._lines.append(min(line, 0xFFFFFFFF))
        encoded = (reference or "").encode("utf-8")[:64]
        self._pending += _REFERENCE.pack(len(encoded), _STATUS_CODES.get(status or "", 0), encoded)
        if len(self._pending) >= self._pending_bytes:
            self._spill()

    def _spill(self) -> Spill:
        """The spill file, with every reference added so far written to it."""
        if self._references is None:
            self._references = Spill(_REFERENCE.size, self._folder)
        if self._pending:
            self._references.append_many(self._pending)
            self._spilled += len(self._pending) // _REFERENCE.size
            self._pending.clear()
        return self._references

    def _reference(self, index: int) -> bytes:
        """The spilled record of the installation at 0-based ``index``."""
        if self._segments:
            segment = bisect_right(self._segments, index, key=lambda each: each[0]) - 1
            start, spill = self._segments[segment]
            return spill.read(index - start)
        if index >= self._spilled:
            offset = (index - self._spilled) * _REFERENCE.size
            return bytes(self._pending[offset : offset + _REFERENCE.size])
        assert self._references is not None, "the records before the pending ones are spilled"
        return self._references.read(index)

    def locate(self, line: int) -> Placed:
        """The installation holding ``line``."""
        position = bisect_right(self._lines, line)
        if position == 0:
            return Placed(0, None, None)
        length, status, encoded = _REFERENCE.unpack(self._reference(position - 1))
        reference = encoded[:length].decode("utf-8", errors="replace") or None
        return Placed(position, reference, _STATUSES[status] if status < len(_STATUSES) else None)

    def xpath(self, position: int, inner: str = "") -> str:
        """The XPath of the installation at ``position``, with ``inner`` (starting with /) appended."""
        return f"{self.parent_path}/{self.record}[{position}]{inner}"

    def export(self) -> tuple[bytes, Path, str]:
        """The ledger's contents, for merging in another process."""
        return self._lines.tobytes(), self._spill().export(), self.parent_path

    def merge(self, parts: Sequence[tuple[bytes, Path, str]]) -> None:
        """Take the parts' installations, in order, in place of this ledger's own."""
        assert not self._lines, "parts are merged into an empty ledger"
        if self._references is not None:
            self._references.close()
            self._references = None
        self._pending.clear()
        self._segments = []
        for lines, path, parent_path in parts:
            self._segments.append((len(self._lines), Spill.open(_REFERENCE.size, path)))
            self._lines.frombytes(lines)
            self.parent_path = parent_path or self.parent_path

    def close(self) -> None:
        """Release the spill files."""
        if self._references is not None:
            self._references.close()
        for _start, spill in self._segments:
            spill.close()
