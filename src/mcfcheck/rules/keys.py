"""Duplicate identifiers across millions of installations, in bounded memory and exactly.

Each kind of identifier has a :class:`KeyStore`. In memory it keeps one 4-byte
fingerprint per occurrence, in a compact array: no Python object per occurrence.
The occurrence itself (value, line, slot) goes to a fixed-width record in a
temporary spill file. At the end the fingerprints are sorted; those seen more than
once are confirmed by comparing the spilled values, so a fingerprint collision never
produces a false finding.

Values longer than :data:`VALUE_BYTES` are not checked: no identifier the schema
admits is that long, so the schema already reports them.
"""

from __future__ import annotations

import os
import struct
import tempfile
from array import array
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

#: The longest value a store checks, in UTF-8 bytes.
VALUE_BYTES: Final = 40
#: How many fingerprints are matched against the repeated ones at a time.
_BLOCK: Final = 1 << 20
#: One spilled occurrence: line, slot, value length, value.
_RECORD: Final = struct.Struct(f"<IBB{VALUE_BYTES}s")


@dataclass(frozen=True, slots=True)
class Occurrence:
    """Where an identifier was seen: the line, and the slot within its installation."""

    line: int
    slot: int


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An identifier seen again: the value, where it was first seen, and where again."""

    value: str
    first: Occurrence
    again: Occurrence


class Spill:
    """A temporary file of fixed-width records, written in order and read back by position."""

    def __init__(self, record_size: int) -> None:
        self._file: BinaryIO = tempfile.TemporaryFile(prefix="mcfcheck-keys-")  # noqa: SIM115 - closed by close()
        self.record_size = record_size
        self._flushed = True

    def append(self, record: bytes) -> None:
        self._file.write(record)
        self._flushed = False

    def read(self, position: int) -> bytes:
        if not self._flushed:
            self._file.flush()
            self._flushed = True
        return os.pread(self._file.fileno(), self.record_size, position * self.record_size)

    def close(self) -> None:
        self._file.close()


def fingerprint(value: str) -> int:
    """A 32-bit fingerprint of a value, stable within one process."""
    return hash(value) & 0xFFFFFFFF


class KeyStore:
    """Occurrences of one kind of identifier; :meth:`duplicates` reports the repeated ones."""

    def __init__(self) -> None:
        self._fingerprints = array("I")
        self._spill = Spill(_RECORD.size)
        self._pack = _RECORD.pack

    def __len__(self) -> int:
        return len(self._fingerprints)

    def add(self, value: str, line: int, slot: int = 0) -> None:
        """Record one occurrence of ``value`` at ``line`` (slot: 0 to 255)."""
        encoded = value.encode("utf-8")
        if len(encoded) > VALUE_BYTES:
            return
        self._fingerprints.append(hash(value) & 0xFFFFFFFF)
        self._spill.append(self._pack(min(line, 0xFFFFFFFF), slot, len(encoded), encoded))

    def _occurrence(self, position: int) -> tuple[str, Occurrence]:
        line, slot, length, value = _RECORD.unpack(self._spill.read(position))
        return value[:length].decode("utf-8"), Occurrence(line, slot)

    def duplicates(self) -> Iterator[Duplicate]:
        """Every occurrence of a value already seen, in the order of the file."""
        if len(self._fingerprints) < 2:
            return
        # Imported here: only the end of a file with rules needs it, not schema-only runs.
        import numpy as np

        fingerprints = np.frombuffer(self._fingerprints, dtype=np.uint32)
        ordered = np.sort(fingerprints)
        repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        del ordered
        if repeated.size == 0:
            return
        candidates: list[int] = []
        # Blockwise, so that the temporaries stay a few megabytes whatever the file's size.
        for start in range(0, len(fingerprints), _BLOCK):
            block = fingerprints[start : start + _BLOCK]
            slots = np.minimum(np.searchsorted(repeated, block), repeated.size - 1)
            candidates.extend((np.flatnonzero(repeated[slots] == block) + start).tolist())
        first_seen: dict[str, Occurrence] = {}
        found: list[tuple[int, Duplicate]] = []
        by_fingerprint: dict[int, list[int]] = defaultdict(list)
        for position in candidates:
            by_fingerprint[int(fingerprints[position])].append(position)
        for positions in by_fingerprint.values():
            first_seen.clear()
            for position in positions:
                value, occurrence = self._occurrence(position)
                if value in first_seen:
                    found.append((position, Duplicate(value, first_seen[value], occurrence)))
                else:
                    first_seen[value] = occurrence
        found.sort(key=lambda item: item[0])
        for _position, duplicate in found:
            yield duplicate

    def close(self) -> None:
        """Release the spill file."""
        self._spill.close()
