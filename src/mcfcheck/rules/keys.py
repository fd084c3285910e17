"""Duplicate identifiers across millions of installations, in bounded memory and exactly.

Each kind of identifier has a :class:`KeyStore`. It writes a 4-byte fingerprint per
occurrence (the CRC-32 of its UTF-8 bytes) to one temporary file, and the occurrence
itself (value, line, slot) as a fixed-width record to another, both in large writes:
no Python object per occurrence, and nothing held that grows with the file.

At the end the fingerprints seen more than once are looked for a range of fingerprint
values at a time: each range's are picked out of the file, read a block at a time, and
sorted; as many ranges as it takes for each to hold about :attr:`Buffers.gather_items`
(a range holding more, when one value repeats very often, is shrunk to two of each
value; one holding more distinct values than that is halved). The occurrences of the
repeated fingerprints are sorted by value on disk, in runs of bounded size, which gives
each value's first occurrence exactly (a fingerprint collision never produces a false
finding, nor hides a true one); the duplicates are sorted back into file order on disk,
and reported one at a time. However many occurrences a file holds, and however many
repeat, memory holds a range's fingerprints and a few runs of the sorts.

With mcfcheck's C module, a store records occurrences in C
(:class:`mcfcheck.native._fastread.KeyBuffer`) and searches the fingerprints in C: the same
fingerprints, the same records and the same results, byte for byte, for a fraction of
the cost.

Values longer than :data:`VALUE_BYTES` are not checked: no identifier the schema
admits is that long, so the schema already reports them.
"""

from __future__ import annotations

import heapq
import itertools
import os
import struct
import tempfile
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Final, NamedTuple, Protocol

from mcfcheck.native import FAST

#: The longest value a store checks, in UTF-8 bytes.
VALUE_BYTES: Final = 40
#: How many bytes of records wait before they are written to the spill.
_PENDING_BYTES: Final = 1 << 18
#: The low bits of a fingerprint that the first look for repeated ones goes by (a 128 KiB bitmap).
_FILTER_BITS: Final = 20
_FILTER_BYTES: Final = (1 << _FILTER_BITS) // 8
#: One spilled occurrence: line, slot (an installation's n-th device), value length, value.
_RECORD: Final = struct.Struct(f"<IIB{VALUE_BYTES}s")
#: The start of a record: line and slot.
_PLACE: Final = struct.Struct("<II")
#: Where a record's length and value start.
_LENGTH_AT: Final = 8
#: How many records are read from a spill at a time.
_WINDOW: Final = 256
#: An occurrence sorted by value: the value (padded), its length, its position (big-endian).
_BY_VALUE_BYTES: Final = VALUE_BYTES + 1 + 8
#: A duplicate sorted back into file order: its position, then its value's first (big-endian).
_BY_POSITION_BYTES: Final = 16
#: How many runs are merged at once.
_FAN_IN: Final = 32
#: How many items a run is read back by at a time.
_READ_ITEMS: Final = 512
#: All 32-bit fingerprints: the first range searched, before it is divided.
_ALL_FINGERPRINTS: Final = 1 << 32


class Buffers(NamedTuple):
    """How much the search for duplicates holds in memory at once, whatever the file's size."""

    #: How many fingerprints a range of the search gathers (4 bytes each): ranges are
    #: made narrow enough to hold about this many, so that their number grows with the file.
    gather_items: int = 1 << 20
    #: How many items a sort on disk holds: each full batch is sorted and written as a run.
    run_items: int = 1 << 15
    #: How many fingerprints are read from disk, and searched, at a time.
    block_items: int = 1 << 16


#: The buffers new stores use (tests make them tiny: the results do not depend on them).
buffers = Buffers()

#: Records an occurrence: value, line, slot.
Adder = Callable[[str, int, int], None]


class _Buffer(Protocol):
    """What a store needs of :class:`mcfcheck.native._fastread.KeyBuffer`."""

    def add(self, value: str, line: int, slot: int = 0, /) -> None: ...
    def flush(self) -> None: ...
    def waiting(self) -> bytes: ...
    def __len__(self) -> int: ...


#: mcfcheck's C key buffer, when the C module is used.
_KEY_BUFFER: Final[Callable[[int, int, int, int], _Buffer] | None] = FAST.KeyBuffer if FAST is not None else None


class Occurrence(NamedTuple):
    """Where an identifier was seen: the line, and the slot within its installation."""

    line: int
    slot: int


class Duplicate(NamedTuple):
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
            self._file = _SPARE.pop() if _SPARE else tempfile.TemporaryFile(prefix="mcfcheck-keys-")  # noqa: SIM115 - closed by close()
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

    def read(self, position: int, count: int = 1) -> bytes:
        """The records from ``position`` on: ``count`` of them, or as many as there are."""
        if not self._flushed:
            self._file.flush()
            self._flushed = True
        return os.pread(self._file.fileno(), count * self.record_size, position * self.record_size)

    def export(self) -> Path:
        """Finish writing a named spill and return its path."""
        assert self.path is not None, "only a spill with a folder can be exported"
        self._file.flush()
        self._file.close()
        return self.path

    def close(self) -> None:
        # An anonymous spill's file is emptied and kept for the next spill of this process: making one
        # costs about 0.2 ms on ext4, more than checking a small file's installations.
        if self.path is None and not self._file.closed and len(_SPARE) < _SPARE_FILES:
            try:
                self._file.seek(0)
                self._file.truncate()
            except OSError:
                pass
            else:
                _SPARE.append(self._file)
                return
        self._file.close()


#: Anonymous spill files emptied for reuse in this process (see :meth:`Spill.close`), at most so many.
_SPARE: list[BinaryIO] = []
_SPARE_FILES: Final = 32


def _forget_spare_files() -> None:
    """In a forked process: the parent's spare files are its own (their offsets are shared with it)."""
    for spare in _SPARE:
        spare.close()
    _SPARE.clear()


os.register_at_fork(after_in_child=_forget_spare_files)


#: What a store hands to another process: the files of its fingerprints and of its spill.
StoreState = tuple[Path, Path]


#: Makes the table of a store's repeated fingerprints.
TableMaker = Callable[[bytes | bytearray], bytes]
#: Finds, in a range of a store's fingerprints, the positions of those in the table.
PositionFinder = Callable[[bytes | bytearray, bytes, int, int], bytes]
#: Picks the fingerprints from a low value up to (not including) a high one.
RangePicker = Callable[[bytes | bytearray, int, int], bytes]
#: Sorts fingerprints and keeps each value at most twice.
Shrinker = Callable[[bytes | bytearray], bytes]


class _Search(NamedTuple):
    """The functions of the search for repeated fingerprints."""

    table: TableMaker
    positions: PositionFinder
    in_range: RangePicker
    at_most_twice: Shrinker


def _search_functions() -> _Search:
    """mcfcheck's C search for repeated fingerprints, when the C module is used; else numpy's."""
    if FAST is None:
        return _Search(_repeated_fingerprints, _repeated_positions, _fingerprints_in_range, _fingerprints_at_most_twice)
    return _Search(
        FAST.repeated_fingerprints, FAST.repeated_positions, FAST.fingerprints_in_range, FAST.fingerprints_at_most_twice
    )


def _repeated_fingerprints(data: bytes | bytearray) -> bytes:
    """The table of the fingerprints seen more than once (as the C module makes it); empty when none is.

    A bitmap of their low bits (bit ``low & 7`` of byte ``low >> 3``), then the
    fingerprints themselves, distinct and sorted.
    """
    # Imported here: only the end of a file with rules needs it, and only without the C module.
    import numpy as np

    ordered = np.sort(np.frombuffer(data, dtype=np.uint32))
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    if repeated.size == 0:
        return b""
    low_bits = np.zeros(1 << _FILTER_BITS, dtype=bool)
    low_bits[repeated & ((1 << _FILTER_BITS) - 1)] = True
    return np.packbits(low_bits, bitorder="little").tobytes() + repeated.tobytes()


def _repeated_positions(data: bytes | bytearray, table: bytes, start: int, stop: int) -> bytes:
    """The positions from ``start`` to ``stop`` whose fingerprint is in ``table``, as 8-byte integers."""
    import numpy as np

    if not table:
        return b""
    repeated = np.frombuffer(table, dtype=np.uint32, offset=_FILTER_BYTES)
    block = np.frombuffer(data, dtype=np.uint32)[start:stop]
    slots = np.minimum(np.searchsorted(repeated, block), repeated.size - 1)
    return (np.flatnonzero(repeated[slots] == block) + start).astype(np.uint64).tobytes()


def _fingerprints_in_range(data: bytes | bytearray, low: int, high: int) -> bytes:
    """The fingerprints from ``low`` up to (not including) ``high``, in their order."""
    import numpy as np

    block = np.frombuffer(data, dtype=np.uint32)
    return bytes(block[(block >= low) & (block < high)].tobytes())


def _fingerprints_at_most_twice(data: bytes | bytearray) -> bytes:
    """The fingerprints sorted, each value kept at most twice (twice: it repeats)."""
    import numpy as np

    ordered = np.sort(np.frombuffer(data, dtype=np.uint32))
    kept = np.ones(ordered.size, dtype=bool)
    kept[2:] = ordered[2:] != ordered[:-2]
    return bytes(ordered[kept].tobytes())


#: Finds the repeated fingerprints and where they occur: in C when it can, else with numpy.
_SEARCH: Final = _search_functions()


class _ExternalSort:
    """Byte strings of one width, sorted in bounded memory: sorted runs on disk, merged as they are read.

    Memory holds one run's items while they are added, and a buffer per run while they
    are read back; runs are merged into longer ones whenever :data:`_FAN_IN` of one
    length are written, so that they stay few however many items there are.
    """

    def __init__(self, width: int, folder: Path | None, run_items: int | None = None, fan_in: int = _FAN_IN) -> None:
        self._width = width
        self._folder = folder
        self._run_items = run_items if run_items is not None else buffers.run_items
        self._fan_in = fan_in
        self._pending: list[bytes] = []
        # The runs written so far, each with how many merges made it, longest first.
        self._runs: list[tuple[int, BinaryIO]] = []

    def add(self, item: bytes) -> None:
        self._pending.append(item)
        if len(self._pending) >= self._run_items:
            self._write_run()

    def _write_run(self) -> None:
        self._pending.sort()
        self._runs.append((0, self._run_of(self._pending)))
        self._pending.clear()
        fan_in = self._fan_in
        while len(self._runs) >= fan_in and self._runs[-fan_in][0] == self._runs[-1][0]:
            level = self._runs[-1][0]
            merging = [run for _level, run in self._runs[-fan_in:]]
            del self._runs[-fan_in:]
            self._runs.append((level + 1, self._run_of(heapq.merge(*(self._read(run) for run in merging)))))
            for run in merging:
                run.close()

    def _run_of(self, items: Iterable[bytes]) -> BinaryIO:
        run: BinaryIO = tempfile.TemporaryFile(prefix="mcfcheck-sort-", dir=self._folder)  # noqa: SIM115 - closed by close()
        waiting = bytearray()
        for item in items:
            waiting += item
            if len(waiting) >= _READ_ITEMS * self._width:
                run.write(waiting)
                waiting.clear()
        run.write(waiting)
        return run

    def _read(self, run: BinaryIO) -> Iterator[bytes]:
        run.seek(0)
        width = self._width
        while chunk := run.read(_READ_ITEMS * width):
            for offset in range(0, len(chunk), width):
                yield chunk[offset : offset + width]

    def __iter__(self) -> Iterator[bytes]:
        """The items, in order (once)."""
        if not self._runs:
            self._pending.sort()
            yield from self._pending
        else:
            if self._pending:
                self._write_run()
            yield from heapq.merge(*(self._read(run) for _level, run in self._runs))
        self.close()

    def close(self) -> None:
        """Release the runs."""
        self._pending.clear()
        for _level, run in self._runs:
            run.close()
        self._runs.clear()


class _Records:
    """A store's spilled records, read by position a window at a time (mostly ascending positions)."""

    def __init__(self, read: Callable[[int, int], bytes]) -> None:
        self._read = read
        self._start = 0
        self._window = b""

    def _offset(self, position: int) -> int:
        """Where record ``position`` starts in the window, once the window holds it."""
        offset = (position - self._start) * _RECORD.size
        if not 0 <= offset < len(self._window):
            self._start, self._window, offset = position, self._read(position, _WINDOW), 0
        return offset

    def record(self, position: int) -> bytes:
        offset = self._offset(position)
        return self._window[offset : offset + _RECORD.size]

    def occurrence(self, position: int) -> tuple[str, Occurrence]:
        """The value of record ``position``, and where it is."""
        line, slot, length, value = _RECORD.unpack(self.record(position))
        return value[:length].decode("utf-8"), Occurrence(line, slot)

    def place(self, position: int) -> Occurrence:
        """Where record ``position`` is."""
        offset = self._offset(position)
        line, slot = _PLACE.unpack_from(self._window, offset)
        return Occurrence(line, slot)


class KeyStore:
    """Occurrences of one kind of identifier; :meth:`duplicates` reports the repeated ones.

    Stores filled by several processes, each over a part of a file, are merged in
    file order with :meth:`merge`.
    """

    def __init__(
        self,
        folder: Path | None = None,
        fingerprint: Callable[[str], int] | None = None,
        sizes: Buffers | None = None,
    ) -> None:
        self._folder = folder
        # Another fingerprint than the default (CRC-32): tests make them collide.
        self._fingerprint = fingerprint
        self._sizes = sizes if sizes is not None else buffers
        # The fingerprints of the records waiting in _pending.
        self._fingerprints = array("I")
        self._count = 0
        self._spill = Spill(_RECORD.size, folder)
        self._marks = Spill(4, folder)
        # Earlier parts' spills, with the position each starts at; the own spill last.
        self._segments: list[tuple[int, Spill]] = [(0, self._spill)]
        # The fingerprints' files, in the same order.
        self._mark_files: list[Spill] = [self._marks]
        self._pack = _RECORD.pack
        # Records wait here and go to the spill in large writes.
        self._pending = bytearray()
        # In C, when it is built: waiting fingerprints and records then live there.
        self._buffer: _Buffer | None = None
        if _KEY_BUFFER is not None and fingerprint is None:
            self._buffer = _KEY_BUFFER(self._spill.fileno(), VALUE_BYTES, _PENDING_BYTES, self._marks.fileno())

    def __len__(self) -> int:
        return len(self._buffer) if self._buffer is not None else self._count

    def adder(self) -> Adder:
        """This store's :meth:`add`, for a rule to keep and call: C's own when the store runs in C."""
        return self._buffer.add if self._buffer is not None else self.add

    def add(self, value: str, line: int, slot: int = 0) -> None:
        """Record one occurrence of ``value`` at ``line`` (slot: 0 to 2**32 - 1)."""
        if self._buffer is not None:
            self._buffer.add(value, line, slot)
            return
        encoded = value.encode("utf-8")
        if len(encoded) > VALUE_BYTES:
            return
        mark = zlib.crc32(encoded) if self._fingerprint is None else self._fingerprint(value)
        self._fingerprints.append(mark & 0xFFFFFFFF)
        self._count += 1
        self._pending += self._pack(min(line, 0xFFFFFFFF), slot, len(encoded), encoded)
        if len(self._pending) >= _PENDING_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._buffer is not None:
            self._buffer.flush()
        elif self._pending:
            self._spill.append_many(self._pending)
            self._marks.append_many(self._fingerprints.tobytes())
            self._pending.clear()
            self._fingerprints = array("I")

    def export(self) -> StoreState:
        """This store's contents, as files another process can merge."""
        assert self._folder is not None, "only a store with a folder can be exported"
        self._flush()
        return self._marks.export(), self._spill.export()

    def merge(self, parts: Sequence[StoreState]) -> None:
        """Take the parts' occurrences, in order, in place of this store's own (which must be empty)."""
        assert not len(self), "parts are merged into an empty store"
        self._flush()
        self._spill.close()
        self._marks.close()
        # The buffer wrote to the files just closed: from now on nothing is added.
        self._buffer = None
        self._segments, self._mark_files = [], []
        for fingerprints, spill in parts:
            self._segments.append((self._count, Spill.open(_RECORD.size, spill)))
            self._mark_files.append(Spill.open(4, fingerprints))
            self._count += fingerprints.stat().st_size // 4

    def _records(self, position: int, count: int) -> bytes:
        """Up to ``count`` spilled records from ``position`` on, across the parts' spills."""
        self._flush()
        index = bisect_right(self._segments, position, key=lambda segment: segment[0]) - 1
        records = b""
        while count > 0 and index < len(self._segments):
            start, spill = self._segments[index]
            read = spill.read(position - start, count)
            records += read
            position += len(read) // _RECORD.size
            count -= len(read) // _RECORD.size
            # The window may go on into the next part's spill.
            index += 1
        return records

    def _blocks(self) -> Iterator[tuple[int, bytes]]:
        """Every occurrence's fingerprint, in file order, a block at a time: where each block starts, and it.

        Those still waiting to be written come last, from memory: a store that finds no
        duplicate writes nothing more (a small file's records may never reach the disk).
        """
        start, block_items = 0, self._sizes.block_items
        for marks in self._mark_files:
            at = 0
            while block := marks.read(at, block_items):
                yield start, block
                count = len(block) // 4
                at += count
                start += count
        waiting = self._buffer.waiting() if self._buffer is not None else self._fingerprints.tobytes()
        if waiting:
            yield start, waiting

    def _gathered(self, low: int, high: int) -> bytes | bytearray | None:
        """The fingerprints from ``low`` up to ``high``, each value at least as often as the table needs.

        None when the range holds too many distinct values to be gathered at once.
        """
        in_range, at_most_twice = _SEARCH.in_range, _SEARCH.at_most_twice
        limit = 4 * self._sizes.gather_items
        whole = low == 0 and high == _ALL_FINGERPRINTS
        gathered = bytearray()
        for _start, block in self._blocks():
            gathered += block if whole else in_range(block, low, high)
            if len(gathered) > limit:
                gathered = bytearray(at_most_twice(gathered))
                if len(gathered) > limit // 2 and high - low > 1:
                    return None
        return gathered

    def _repeated_tables(self) -> Iterator[bytes]:
        """The tables of the repeated fingerprints, a range of fingerprint values at a time."""
        ranges = max(1, -(-len(self) // self._sizes.gather_items))
        bounds = [_ALL_FINGERPRINTS * index // ranges for index in range(ranges + 1)]
        # The ranges still to search, the next one last.
        waiting = list(reversed(list(itertools.pairwise(bounds))))
        while waiting:
            low, high = waiting.pop()
            gathered = self._gathered(low, high)
            if gathered is None:
                # More distinct values than a range may hold: its halves are searched in turn.
                middle = (low + high) // 2
                waiting += [(middle, high), (low, middle)]
                continue
            table = _SEARCH.table(gathered)
            del gathered
            if table:
                yield table

    def _sort_by_value(self, by_value: _ExternalSort) -> None:
        """Add the occurrences of repeated fingerprints to ``by_value``: value, length, position."""
        records = _Records(self._records)
        find = _SEARCH.positions
        for table in self._repeated_tables():
            for start, block in self._blocks():
                positions = array("Q")
                positions.frombytes(find(block, table, 0, len(block) // 4))
                for found in positions:
                    position = start + found
                    record = records.record(position)
                    value, length = record[_LENGTH_AT + 1 :], record[_LENGTH_AT : _LENGTH_AT + 1]
                    by_value.add(value + length + position.to_bytes(8, "big"))

    def duplicates(self) -> Iterator[Duplicate]:
        """Every occurrence of a value already seen, in the order of the file, with the value's first.

        The repeated fingerprints are found a range at a time, and their occurrences
        sorted by value (then position) on disk: each value's occurrences come together,
        its first one first. Each later one is paired with that first, and the pairs
        sorted back into file order, on disk too; the values and lines are read back from
        the spill as they are reported.
        """
        by_value = _ExternalSort(_BY_VALUE_BYTES, self._folder, self._sizes.run_items)
        by_position = _ExternalSort(_BY_POSITION_BYTES, self._folder, self._sizes.run_items)
        try:
            self._sort_by_value(by_value)
            value, first = b"", b""
            for item in by_value:
                if item[:-8] != value:
                    value, first = item[:-8], item[-8:]
                else:
                    by_position.add(item[-8:] + first)
            again_records, first_records = _Records(self._records), _Records(self._records)
            first_position, text, first_occurrence = -1, "", Occurrence(0, 0)
            for item in by_position:
                position = int.from_bytes(item[8:], "big")
                if position != first_position:
                    # A value repeated many times is read once.
                    first_position, (text, first_occurrence) = position, first_records.occurrence(position)
                yield Duplicate(text, first_occurrence, again_records.place(int.from_bytes(item[:8], "big")))
        finally:
            by_value.close()
            by_position.close()

    def close(self) -> None:
        """Release the spill files (C's buffer, which writes to them, is let go first: they may be reused)."""
        self._buffer = None
        for _start, spill in self._segments:
            spill.close()
        for marks in self._mark_files:
            marks.close()
