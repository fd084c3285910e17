"""Which installation a line belongs to, for problems reported once the file has ended.

Every installation's first line (4 bytes), reference and status go to temporary files
as the installations are read. Memory holds one line in :data:`index_every`, which
says which block of lines on disk to read, and the last few blocks read: problems
reported at the end come mostly in file order, one block after another.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_right
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, NamedTuple, TypeVar

from mcfcheck.rules.keys import Spill

#: A spilled installation: its reference's length, its status, and up to 64 UTF-8 bytes of reference.
_REFERENCE: Final = struct.Struct("<BB64s")
#: A spilled installation's first line.
_LINE: Final = struct.Struct("<I")
#: The statuses the ledger keeps, by their code in the spill (0: not known).
_STATUSES: Final = (None, "Active", "Dormant")
_STATUS_CODES: Final = {status: code for code, status in enumerate(_STATUSES) if status is not None}
#: One installation's line in this many is kept in memory: a block of lines on disk is 4 KiB
#: (tests make it tiny: what the ledger tells does not depend on it).
index_every = 1024
#: How many references are read from disk at a time (4 KiB or so).
_REFERENCES_READ: Final = 64
#: How many blocks of lines, and pieces of references, are kept once read: the problems
#: reported at the end go through the file in order, and look back at their values' first.
_PIECES_KEPT: Final = 8

#: What a ledger keeps of its spills once read: blocks of lines, pieces of references.
Piece = TypeVar("Piece", bytes, "array[int]")

#: What a ledger hands to another process: the files of its lines and of its references, and its parent path.
LedgerState = tuple[Path, Path, str]


def _kept(kept: dict[tuple[int, int], Piece], key: tuple[int, int], read: Callable[[], Piece]) -> Piece:
    """What ``kept`` holds under ``key``, else what ``read`` gives, kept in place of the least recently used."""
    found = kept.pop(key, None)
    if found is None:
        found = read()
        if len(kept) >= _PIECES_KEPT:
            del kept[next(iter(kept))]
    kept[key] = found
    return found


class Placed(NamedTuple):
    """Where an installation sits: its 1-based position (0: before the first), reference and status."""

    position: int
    reference: str | None
    status: str | None


class _Segment:
    """The installations of one part of a file: their lines and references on disk, every n-th line in memory."""

    def __init__(self, start: int, lines: Spill, references: Spill, index_every: int) -> None:
        #: The position, in the file, of the installation before the segment's first.
        self.start = start
        self.lines = lines
        self.references = references
        self.count = 0
        #: The first line of every ``index_every``-th installation of the segment.
        self.index = array("I")
        self.index_every = index_every

    def note(self, line: int) -> None:
        """Count one more installation, starting at ``line`` (already written to :attr:`lines`)."""
        if self.count % self.index_every == 0:
            self.index.append(line)
        self.count += 1

    def read_index(self) -> None:
        """Count the installations of a spill another process wrote, and index their lines."""
        at, block_items = 0, self.index_every * 64
        while block := self.lines.read(at, block_items):
            lines = array("I")
            lines.frombytes(block)
            self.index.extend(lines[:: self.index_every])
            at += len(lines)
        self.count = at


class InstallationLedger:
    """Every installation's first line, reference and status (on disk), for :meth:`locate`."""

    def __init__(self, folder: Path | None = None, record: str = "Installation", every: int | None = None) -> None:
        #: The local name of the record element, for XPaths.
        self.record = record
        self._index_every = every if every is not None else index_every
        self._own = _Segment(0, Spill(_LINE.size, folder), Spill(_REFERENCE.size, folder), self._index_every)
        self._segments: list[_Segment] = [self._own]
        #: Blocks of the lines read, and pieces of the references, by segment and number (the latest last).
        self._blocks: dict[tuple[int, int], array[int]] = {}
        self._pieces: dict[tuple[int, int], bytes] = {}
        self.parent_path = ""

    def __len__(self) -> int:
        return sum(segment.count for segment in self._segments)

    def add(self, line: int, reference: str | None, parent_path: str, status: str | None = None) -> None:
        """Record the next installation: where it starts, its reference and its status."""
        self.parent_path = parent_path
        line = min(line, 0xFFFFFFFF)
        own = self._own
        own.lines.append(_LINE.pack(line))
        own.note(line)
        encoded = (reference or "").encode("utf-8")[:64]
        own.references.append(_REFERENCE.pack(len(encoded), _STATUS_CODES.get(status or "", 0), encoded))
        if self._blocks or self._pieces:
            # Located before this one was added: what was read may end before it.
            self._blocks.clear()
            self._pieces.clear()

    def _block(self, number: int, block: int) -> array[int]:
        """Block ``block`` of segment ``number``'s lines."""
        segment = self._segments[number]

        def read() -> array[int]:
            lines = array("I")
            lines.frombytes(segment.lines.read(block * segment.index_every, segment.index_every))
            return lines

        return _kept(self._blocks, (number, block), read)

    def _piece(self, number: int, piece: int) -> bytes:
        """Piece ``piece`` of segment ``number``'s references."""
        references = self._segments[number].references
        return _kept(self._pieces, (number, piece), lambda: references.read(piece * _REFERENCES_READ, _REFERENCES_READ))

    def locate(self, line: int) -> Placed:
        """The installation holding ``line``."""
        # The last segment whose first installation starts at or before the line.
        number = len(self._segments) - 1
        while number >= 0 and not (self._segments[number].count and self._segments[number].index[0] <= line):
            number -= 1
        if number < 0:
            return Placed(0, None, None)
        segment = self._segments[number]
        block = bisect_right(segment.index, line) - 1
        # The installation's index in the segment (its block's first starts at or before the line).
        at = block * segment.index_every + bisect_right(self._block(number, block), line) - 1
        references = self._piece(number, at // _REFERENCES_READ)
        length, status, encoded = _REFERENCE.unpack_from(references, at % _REFERENCES_READ * _REFERENCE.size)
        reference = encoded[:length].decode("utf-8", errors="replace") or None
        return Placed(segment.start + at + 1, reference, _STATUSES[status] if status < len(_STATUSES) else None)

    def xpath(self, position: int, inner: str = "") -> str:
        """The XPath of the installation at ``position``, with ``inner`` (starting with /) appended."""
        return f"{self.parent_path}/{self.record}[{position}]{inner}"

    def export(self) -> LedgerState:
        """The ledger's contents, for merging in another process."""
        return self._own.lines.export(), self._own.references.export(), self.parent_path

    def merge(self, parts: Sequence[LedgerState]) -> None:
        """Take the parts' installations, in order, in place of this ledger's own."""
        assert not len(self), "parts are merged into an empty ledger"
        self.close()
        self._segments, self._blocks, self._pieces = [], {}, {}
        start = 0
        for lines, references, parent_path in parts:
            segment = _Segment(
                start, Spill.open(_LINE.size, lines), Spill.open(_REFERENCE.size, references), self._index_every
            )
            segment.read_index()
            self._segments.append(segment)
            start += segment.count
            self.parent_path = parent_path or self.parent_path

    def close(self) -> None:
        """Release the spill files."""
        for segment in self._segments:
            segment.lines.close()
            segment.references.close()
