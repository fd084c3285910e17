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


class Placed(NamedTuple):
    """Where an installation sits: its 1-based position (0: before the first), reference and status."""

    position: int
    reference: str | None
    status: str | None


class InstallationLedger:
    """Every installation's first line (4 bytes in memory), reference and status (on disk)."""

    def __init__(self, folder: Path | None = None, record: str = "Installation") -> None:
        #: The local name of the record element, for XPaths.
        self.record = record
        self._lines = array("I")
        self._references = Spill(_REFERENCE.size, folder)
        self._segments: list[tuple[int, Spill]] = [(0, self._references)]
        self.parent_path = ""

    def __len__(self) -> int:
        return len(self._lines)

    def add(self, line: int, reference: str | None, parent_path: str, status: str | None = None) -> None:
        """Record the next installation: where it starts, its reference and its status."""
        self.parent_path = parent_path
        self._lines.append(min(line, 0xFFFFFFFF))
        encoded = (reference or "").encode("utf-8")[:64]
        self._references.append(_REFERENCE.pack(len(encoded), _STATUS_CODES.get(status or "", 0), encoded))

    def locate(self, line: int) -> Placed:
        """The installation holding ``line``."""
        position = bisect_right(self._lines, line)
        if position == 0:
            return Placed(0, None, None)
        index = bisect_right(self._segments, position - 1, key=lambda segment: segment[0]) - 1
        start, spill = self._segments[index]
        length, status, encoded = _REFERENCE.unpack(spill.read(position - 1 - start))
        reference = encoded[:length].decode("utf-8", errors="replace") or None
        return Placed(position, reference, _STATUSES[status] if status < len(_STATUSES) else None)

    def xpath(self, position: int, inner: str = "") -> str:
        """The XPath of the installation at ``position``, with ``inner`` (starting with /) appended."""
        return f"{self.parent_path}/{self.record}[{position}]{inner}"

    def export(self) -> tuple[bytes, Path, str]:
        """The ledger's contents, for merging in another process."""
        return self._lines.tobytes(), self._references.export(), self.parent_path

    def merge(self, parts: Sequence[tuple[bytes, Path, str]]) -> None:
        """Take the parts' installations, in order, in place of this ledger's own."""
        assert not self._lines, "parts are merged into an empty ledger"
        self._references.close()
        self._segments = []
        for lines, path, parent_path in parts:
            self._segments.append((len(self._lines), Spill.open(_REFERENCE.size, path)))
            self._lines.frombytes(lines)
            self.parent_path = parent_path or self.parent_path

    def close(self) -> None:
        """Release the spill files."""
        for _start, spill in self._segments:
            spill.close()
