"""Duplicate identifiers across millions of installations, in bounded memory and exactly.

Each kind of identifier has a :class:`KeyStore`. In memory it keeps one 4-byte
fingerprint per occurrence (the CRC-32 of its UTF-8 bytes), in a compact array: no
Python object per occurrence. The occurrence itself (value, line, slot) goes to a
fixed-width record in a temporary spill file. At the end the fingerprints are sorted;
those seen more than once are confirmed by comparing the spilled values, so a
fingerprint collision never produces a false finding.

With mcfcheck's C module, a store records occurrences in C
(:class:`mcfcheck._fastread.KeyBuffer`): the same fingerprints and the same records,
byte for byte, for a fraction of the cost.

Values longer than :data:`VALUE_BYTES` are not checked: no identifier the schema
admits is that long, so the schema already reports them.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, Protocol

#: The longest value a store checks, in UTF-8 bytes.
VALUE_BYTES: Final = 40
#: How many bytes of records wait before they are written to the spill.
_PENDING_BYTES: Final = 1 << 18
#: How many fingerprints are matched against the repeated ones at a time.
_BLOCK: Final = 1 << 20
#: The low bits of a fingerprint that the first look for repeated ones goes by (a 1 MB table).
_FILTER_BITS: Final = 20
_FILTER_MASK: Final = (1 << _FILTER_BITS) - 1
#: One spilled occurrence: line, slot, value length, value.
_RECORD: Final = struct.Struct(f"<IBB{VALUE_BYTES}s")

#: Records an occurrence: value, line, slot.
Adder = Callable[[str, int, int], None]


class _Buffer(Protocol):
    """What a store needs of :class:`mcfcheck._fastread.KeyBuffer`."""

    def add(self, value: str, line: int, slot: int = 0, /) -> None: ...
    def flush(self) -> None: ...
    def fingerprints(self) -> bytes: ...
    def forget(self) -> None: ...
    def __len__(self) -> int: ...


def _buffer_class() -> Callable[[int, int, int], _Buffer] | None:
    """mcfcheck's C key buffer, when it is built."""
    try:
        from mcfcheck._fastread import KeyBuffer
    except ImportError:
        return None
    return KeyBuffer


_KEY_BUFFER: Final = _buffer_class()


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
    """A temporary file of fixed-width records, written in order and read back by position.

    With ``folder``, the file is named and outlives :meth:`close`, so that another
    process can read it (see :meth:`export` and :meth:`open`); the folder's owner
    removes it.
    """

    def __init__(self, record_size: int, folder: Path | None = None, written: Path | None = None) -> None:
        self.record_size = record_size
        self.path: Path | None = written
        if written is not None:
            self._file: BinaryIO = written.open("rb")
        elif folder is None:
            self._file = tempfile.TemporaryFile(prefix="mcfcheck-keys-")  # noqa: SIM115 - closed by close()
        else:
            descriptor, name = tempfile.mkstemp(prefix="keys-", dir=folder)
            self._file = os.fdopen(descriptor, "w+b")
            self.path = Path(name)
        self._flushed = True

    @classmethod
    def open(cls, record_size: int, path: Path) -> Spill:
        """A spill another process wrote, for reading."""
        return cls(record_size, written=path)

    def append(self, record: bytes) -> None:
        self._file.write(record)
        self._flushed = False

    def append_many(self, records: bytes | bytearray) -> None:
        """Append several records at once."""
        self._file.write(records)
        self._flushed = False

    def fileno(self) -> int:
        return self._file.fileno()

    def read(self, position: int) -> bytes:
        if not self._flushed:
            self._file.flush()
            self._flushed = True
        return os.pread(self._file.fileno(), self.record_size, position * self.record_size)

    def export(self) -> Path:
        """Finish writing a named spill and return its path."""
        assert self.path is not None, "only a spill with a folder can be exported"
        self._file.flush()
        self._file.close()
        return self.path

    def close(self) -> None:
        self._file.close()


#: What a store hands to another process: the files of its fingerprints and of its spill.
StoreState = tuple[Path, Path]


def _positions_in_c() -> Callable[[bytes | bytearray], list[tuple[int, int]]] | None:
    """mcfcheck's C search for repeated fingerprints, when it is built."""
    try:
        from mcfcheck._fastread import repeated_positions
    except ImportError:
        return None
    return repeated_positions


#: Finds the repeated fingerprints: in C when it can, else with numpy.
_REPEATED_POSITIONS: Final = _positions_in_c()


def _repeated_positions(data: bytes | bytearray) -> list[tuple[int, int]]:
    """Each occurrence of a fingerprint seen more than once, as (fingerprint, position), in file order."""
    # Imported here: only the end of a file with rules needs it, and only without the C module.
    import numpy as np

    fingerprints = np.frombuffer(data, dtype=np.uint32)
    if len(fingerprints) < 2:
        return []
    ordered = np.sort(fingerprints)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    if repeated.size == 0:
        return []
    found: list[tuple[int, int]] = []
    # Which fingerprints are repeated ones: a table of the repeated ones' low bits lets
    # through, in one lookup each, the few that may be; those are then matched exactly.
    # Blockwise, so that the temporaries stay a few megabytes whatever the file's size.
    maybe_repeated = np.zeros(1 << _FILTER_BITS, dtype=bool)
    maybe_repeated[repeated & _FILTER_MASK] = True
    for start in range(0, len(fingerprints), _BLOCK):
        block = fingerprints[start : start + _BLOCK]
        maybe = np.flatnonzero(maybe_repeated[block & _FILTER_MASK])
        if maybe.size == 0:
            continue
        values = block[maybe]
        slots = np.minimum(np.searchsorted(repeated, values), repeated.size - 1)
        exact = maybe[repeated[slots] == values]
        found.extend(zip(block[exact].tolist(), (exact + start).tolist(), strict=True))
    return found


class KeyStore:
    """Occurrences of one kind of identifier; :meth:`duplicates` reports the repeated ones.

    Stores filled by several processes, each over a part of a file, are merged in
    file order with :meth:`merge`.
    """

    def __init__(self, folder: Path | None = None, fingerprint: Callable[[str], int] | None = None) -> None:
        self._folder = folder
        # Another fingerprint than the default (CRC-32): tests make them collide.
        self._fingerprint = fingerprint
        self._fingerprints = array("I")
        # Merged parts' fingerprint files, read only when the duplicates are looked for.
        self._fingerprint_files: list[Path] = []
        self._spill = Spill(_RECORD.size, folder)
        # Earlier parts' spills, with the position each starts at; the own spill last.
        self._segments: list[tuple[int, Spill]] = [(0, self._spill)]
        self._pack = _RECORD.pack
        # Records wait here and go to the spill in large writes.
        self._pending = bytearray()
        # In C, when it is built: fingerprints and waiting records then live there.
        self._buffer: _Buffer | None = None
        if _KEY_BUFFER is not None and fingerprint is None:
            self._buffer = _KEY_BUFFER(self._spill.fileno(), VALUE_BYTES, _PENDING_BYTES)

    def __len__(self) -> int:
        merged = sum(path.stat().st_size // 4 for path in self._fingerprint_files)
        return self._own_count() + merged

    def _own_count(self) -> int:
        return len(self._buffer) if self._buffer is not None else len(self._fingerprints)

    def _own_fingerprints(self) -> bytes:
        return self._buffer.fingerprints() if self._buffer is not None else self._fingerprints.tobytes()

    def adder(self) -> Adder:
        """This store's :meth:`add`, for a rule to keep and call: C's own when the store runs in C."""
        return self._buffer.add if self._buffer is not None else self.add

    def add(self, value: str, line: int, slot: int = 0) -> None:
        """Record one occurrence of ``value`` at ``line`` (slot: 0 to 255)."""
        if self._buffer is not None:
            self._buffer.add(value, line, slot)
            return
        encoded = value.encode("utf-8")
        if len(encoded) > VALUE_BYTES:
            return
        mark = zlib.crc32(encoded) if self._fingerprint is None else self._fingerprint(value)
        self._fingerprints.append(mark & 0xFFFFFFFF)
        self._pending += self._pack(min(line, 0xFFFFFFFF), slot, len(encoded), encoded)
        if len(self._pending) >= _PENDING_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._buffer is not None:
            self._buffer.flush()
        elif self._pending:
            self._spill.append_many(self._pending)
            self._pending.clear()

    def export(self) -> StoreState:
        """This store's contents, as files another process can merge."""
        assert self._folder is not None, "only a store with a folder can be exported"
        self._flush()
        descriptor, name = tempfile.mkstemp(prefix="fingerprints-", dir=self._folder)
        with os.fdopen(descriptor, "wb") as fingerprints:
            fingerprints.write(self._own_fingerprints())
        self._forget()
        return Path(name), self._spill.export()

    def _forget(self) -> None:
        """Let this store's own fingerprints go."""
        self._fingerprints = array("I")
        if self._buffer is not None:
            self._buffer.forget()

    def merge(self, parts: Sequence[StoreState]) -> None:
        """Take the parts' occurrences, in order, in place of this store's own (which must be empty).

        The parts' fingerprints stay in their files until :meth:`duplicates` reads
        them, so that a process merging many stores holds one store's at a time.
        """
        assert not self._own_count(), "parts are merged into an empty store"
        self._flush()
        self._spill.close()
        # The buffer wrote to the spill just closed: from now on nothing is added.
        self._buffer = None
        self._segments = []
        start = 0
        for fingerprints, spill in parts:
            self._segments.append((start, Spill.open(_RECORD.size, spill)))
            self._fingerprint_files.append(fingerprints)
            start += fingerprints.stat().st_size // 4

    def _occurrence(self, position: int) -> tuple[str, Occurrence]:
        self._flush()
        index = bisect_right(self._segments, position, key=lambda segment: segment[0]) - 1
        start, spill = self._segments[index]
        line, slot, length, value = _RECORD.unpack(spill.read(position - start))
        return value[:length].decode("utf-8"), Occurrence(line, slot)

    def _all_fingerprints(self) -> bytes | bytearray:
        """Every occurrence's fingerprint, in file order: the merged parts', or this store's own."""
        if not self._fingerprint_files:
            return self._own_fingerprints()
        merged = bytearray()
        for path in self._fingerprint_files:
            merged += path.read_bytes()
        return merged

    def duplicates(self) -> Iterator[Duplicate]:
        """Every occurrence of a value already seen, in the order of the file."""
        fingerprints = self._all_fingerprints()
        if _REPEATED_POSITIONS is not None:
            occurrences = _REPEATED_POSITIONS(fingerprints)
        else:
            occurrences = _repeated_positions(fingerprints)
        by_fingerprint: dict[int, list[int]] = defaultdict(list)
        for mark, position in occurrences:
            by_fingerprint[mark].append(position)
        first_seen: dict[str, Occurrence] = {}
        found: list[tuple[int, Duplicate]] = []
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
        """Release the spill files."""
        for _start, spill in self._segments:
            spill.close()
