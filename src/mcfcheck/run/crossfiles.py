"""The checks across files of ``mcfcheck batch``: which identifiers of a file's installations
other files' installations hold (:class:`CrossFiles`).

Every identifier seen so far (those of the files the ledger holds, then those of each file
of the batch once it is checked) is kept as an entry of 12 bytes: its fingerprint
(:func:`mcfcheck.rules.holdings.fingerprint`, which covers the identifier's kind and value)
and the number of its installation. The entries are kept in sorted runs, as a
log-structured merge tree keeps them: each file's entries are sorted into a run of their
own, and the newest run is merged into the one before (a merge of two sorted arrays) while
that one is at most twice its size, up to :data:`RUN_ENTRIES` entries; past that, runs stay
as they are. A Bloom filter of every fingerprint held (12 bits or more an entry, 16 MiB at
least) stands in front of the runs: only a file's identifiers that pass it, those held and
about one in a hundred of the others, are looked up in each run by binary search. The work
for a file grows with its own identifiers, and no index is updated an entry at a time.

Each installation (its reference's key, its file and its position there: 16 bytes) and its
reference are appended to files of their own, read only for the installations an
identifier is found in. Runs of more than :data:`MEMORY_ENTRIES` entries, and those files,
are memory-mapped from a private temporary folder (deleted when closed), and the pages a
file's checks read are let go after them: the memory a batch uses is the filter, the
file's own identifiers, and a merge of two runs at most (:data:`RUN_ENTRIES`, 32 bytes an
entry), however many identifiers the ledger holds. (The pages of the runs' files that a
file's look-ups fault in are counted in the process's resident memory until they are let
go: the kernel maps the pages around each one it reads, from its cache.)
"""

from __future__ import annotations

import mmap
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

import numpy as np
import numpy.typing as npt

from mcfcheck.rules.holdings import HELD, KINDS, VALUE_SEPARATOR

#: A run merged from others holds this many entries at most (12 bytes each); larger ones stay as they are.
RUN_ENTRIES: Final = 1 << 20
#: Runs of more entries than this are memory-mapped files rather than arrays in memory.
MEMORY_ENTRIES: Final = 1 << 16
#: The filter of the fingerprints held: a blocked Bloom filter of at least 2 ** 27 bits (16 MiB) and of 12 bits
#: an entry, doubled (and filled again) as entries come; each fingerprint sets 4 bits of a 64-bit word. About
#: one identifier in a hundred that no file holds passes it (then looked for in the runs, and found absent).
_FILTER_SMALLEST: Final = 27
_FILTER_BITS_AN_ENTRY: Final = 12
_FILTER_HASHES: Final = 4
#: The entries of a page of a run's fingerprints (4 KiB): a fingerprint is looked for in one.
_PAGE: Final = 512
#: A filter of one 64-bit word.
_FILTER_SMALLEST_POSSIBLE: Final = 6
#: How many of the ledger's identifiers are read into one run at a time.
_LOAD_ENTRIES: Final = 1 << 19
#: An identifier kept one after the other in the holdings: its kind's number, then its fingerprint (big-endian).
_HELD: Final = np.dtype([("kind", "u1"), ("fingerprint", ">i8")])
#: What is kept of each installation: its reference's key (:func:`reference_key`), the file it came
#: from (a number of this index's: :attr:`CrossFiles.paths`) and its position in that file.
_INSTALLATION: Final = np.dtype([("reference", "<i8"), ("source", "<u4"), ("position", "<u4")])
#: What ends each reference in the file of references (XML text never holds it).
_END: Final = b"\x00"

Int64s = npt.NDArray[np.int64]
UInt32s = npt.NDArray[np.uint32]
#: Pairs of the same identifier: indexes of a batch's sorted identifiers, and the other installations' numbers.
_Pairs = tuple[npt.NDArray[np.intp], UInt32s]
_NO_PAIRS: Final[_Pairs] = (np.empty(0, np.intp), np.empty(0, np.uint32))


@dataclass(frozen=True)
class Shared:
    """An identifier of an installation that an installation with another reference holds in another file."""

    position: int
    reference: str | None
    kind: str
    other_path: str
    other_reference: str | None
    other_position: int
    #: The identifier (None where it was not kept).
    value: str | None = None
    #: Where the identifier is among its installation's (0: the first).
    place: int = 0


def reference_key(reference: str | None) -> int:
    """A reference's key: 0 for none, else a number that differs between two different references (a 64-bit
    hash, whose collisions are as unlikely as those of the fingerprints).
    """
    if reference is None:
        return 0
    return hash(reference) or 1


@dataclass
class _Run:
    """Entries sorted by fingerprint: the fingerprints, and the number of each one's installation; and where the
    run is in files, their memory maps.
    """

    fingerprints: Int64s
    installations: UInt32s
    maps: tuple[mmap.mmap, ...] = ()
    files: tuple[Path, ...] = ()
    #: The entries of a page (:data:`_PAGE`; tests make it tiny).
    page: int = _PAGE
    #: Every page's first fingerprint, in memory: where to look in the run for one (made from the fingerprints
    #: when not given: for a run in files, it is made before they are written, so as not to read every page).
    index: Int64s | None = None

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = np.array(self.fingerprints[:: self.page])

    def __len__(self) -> int:
        return len(self.fingerprints)

    def holding(self, fingerprints: Int64s) -> npt.NDArray[np.intp]:
        """The indexes of the (sorted) ``fingerprints`` the run holds, each looked for by a binary search within
        one page of the run (found through :attr:`index`), not over all its pages.
        """
        size = len(self)
        if not size or not len(fingerprints):
            return np.empty(0, np.intp)
        assert self.index is not None
        # The first of a fingerprint's entries, if any, comes after the first entry of the page whose first entry
        # is below it, and no later than the next page's first: the first entry not below it, among those of that
        # page and the next page's first, is it.
        low = np.maximum(np.searchsorted(self.index, fingerprints, side="left") - 1, 0) * self.page
        high = np.minimum(low + self.page, size)
        for _ in range(self.page.bit_length()):
            searching = low < high
            if not searching.any():
                break
            middle = (low + high) // 2
            below = self.fingerprints[np.minimum(middle, size - 1)] < fingerprints
            low = np.where(searching & below, middle + 1, low)
            high = np.where(searching & ~below, middle, high)
        return np.flatnonzero((low < size) & (self.fingerprints[np.minimum(low, size - 1)] == fingerprints))

    def shed(self) -> None:
        """Lets the pages of the run's files that were read go from this process's memory (they stay in the
        system's cache: read again, they are mapped again at little cost).
        """
        for mapped in self.maps:
            mapped.madvise(mmap.MADV_DONTNEED)


class _Filter:
    """A blocked Bloom filter of fingerprints: each sets :data:`_FILTER_HASHES` bits of one 64-bit word (the word
    chosen by the fingerprint's low half, the bits by its high half).
    """

    def __init__(self, bits: int = _FILTER_SMALLEST) -> None:
        self.bits = bits
        self.entries = 0
        self._words = np.zeros(1 << (bits - 6), np.uint64)

    def wants(self, entries: int) -> bool:
        """Whether this filter is too small for ``entries`` more."""
        return (self.entries + entries) * _FILTER_BITS_AN_ENTRY > 1 << self.bits

    def _places(self, fingerprints: Int64s) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.uint64]]:
        """Each fingerprint's word, and the bits it sets there."""
        halves = fingerprints.view(np.uint64)
        # Indexes of the platform's own integer: numpy's fast path (three times the speed of uint64 ones).
        words = (halves & np.uint64(len(self._words) - 1)).astype(np.intp)
        high = halves >> np.uint64(32)
        bits = np.zeros(len(fingerprints), np.uint64)
        for number in range(_FILTER_HASHES):
            bits |= np.left_shift(np.uint64(1), (high >> np.uint64(6 * number)) & np.uint64(63))
        return words, bits

    def add(self, fingerprints: Int64s) -> None:
        words, bits = self._places(fingerprints)
        np.bitwise_or.at(self._words, words, bits)
        self.entries += len(fingerprints)

    def maybe(self, fingerprints: Int64s) -> npt.NDArray[np.intp]:
        """The indexes of the fingerprints that may have been added (all those that were)."""
        words, bits = self._places(fingerprints)
        return np.flatnonzero(self._words[words] & bits == bits)


class CrossFiles:
    """The identifiers of every file the ledger holds and of the batch's files so far, for the checks
    across files (:meth:`shared`).

    Each file the ledger holds counts once (its latest record); a file of the same bytes as one
    held is the same file.
    """

    def __init__(
        self,
        held: Iterable[tuple[str, str, list[tuple[int, str | None, bytes]]]],
        *,
        run_entries: int = RUN_ENTRIES,
        memory_entries: int = MEMORY_ENTRIES,
        filter_bits: int = _FILTER_SMALLEST,
        page: int = _PAGE,
    ) -> None:
        self._run_entries = run_entries
        self._page = page
        self._memory_entries = memory_entries
        self._folder = Path(tempfile.mkdtemp(prefix="mcfcheck-across-"))
        self._mapped = 0
        self._runs: list[_Run] = []
        self._filter = _Filter(filter_bits)
        self._contents: dict[str, int] = {}
        self._sources: dict[tuple[str, str], int] = {}
        #: Each source's path, and its content (a number of the file's SHA-256).
        self.paths: list[str] = []
        self._content_of: list[int] = []
        self._installations = _Appended(self._folder / "installations")
        self._references = _Appended(self._folder / "references")
        #: Where each installation's reference ends in the file of references.
        self._ends = _Appended(self._folder / "ends")
        self._count = 0
        self._referenced = 0
        try:
            self._load(held)
        except BaseException:
            self.close()
            raise

    def _source(self, sha256: str, path: str) -> int:
        content = self._contents.setdefault(sha256, len(self._contents))
        key = (sha256, path)
        if key not in self._sources:
            self._sources[key] = len(self.paths)
            self.paths.append(path)
            self._content_of.append(content)
        return self._sources[key]

    def _load(self, held: Iterable[tuple[str, str, list[tuple[int, str | None, bytes]]]]) -> None:
        parts: list[tuple[int, list[tuple[int, str | None, bytes]]]] = []
        identifiers = 0
        for sha256, path, installations in held:
            parts.append((self._source(sha256, path), installations))
            identifiers += sum(len(data) for _, _, data in installations) // HELD
            if identifiers >= _LOAD_ENTRIES:
                self._keep(_held(parts), filtered=False)
                parts, identifiers = [], 0
        if parts:
            self._keep(_held(parts), filtered=False)
        # The filter made once, of the size the ledger's identifiers need.
        if self._runs:
            self._refilter()

    def shared(self, path: str, sha256: str, installations: Iterable[tuple[str | None, bytes, bytes]]) -> list[Shared]:
        """What the file's installations (each one's reference, identifiers and their values, as
        :func:`mcfcheck.rules.holdings.read_holdings` gives them) share with other files'; then the file's
        are added to them, unless its bytes and path are there already. In the order of the installations,
        then of the kinds, of the identifiers in an installation, of the other files' paths and positions.
        """
        # A file already held under the same path (the ledger's record of it, checked again) is not added twice.
        known = (sha256, path) in self._sources
        source = self._source(sha256, path)
        found: list[Shared] = []
        first = 1
        # A large file a part at a time: what its parts share with each other is not looked for (the same bytes).
        for part in _parts(installations):
            count = len(part)
            batch = _Batch(
                [reference for reference, _, _ in part],
                [held for _, held, _ in part],
                np.full(count, source, np.uint32),
                np.arange(first, first + count, dtype=np.uint32),
            )
            if batch.identifiers and self._runs:
                maybe = self._filter.maybe(batch.fingerprints)
                pairs = [self._found(batch, maybe, run, source) for run in self._runs]
                for run in self._runs:
                    run.shed()
                found.extend(self._named(batch, [value for _, _, value in part], pairs))
            if not known:
                self._keep(batch)
            first += count
        found.sort(key=_in_order)
        return found

    def _found(self, batch: _Batch, maybe: npt.NDArray[np.intp], run: _Run, source: int) -> _Pairs:
        """The pairs of an identifier of the batch's (among ``maybe``: indexes of its sorted identifiers)
        and the same of ``run``'s, of another content, whose installations have other references: the
        index of the batch's, and the installation of the other.
        """
        fingerprints = batch.fingerprints[maybe]
        hit = run.holding(fingerprints)
        if not len(hit):
            return _NO_PAIRS
        # Where the run holds them (rare: a binary search each), and how many times.
        low = np.searchsorted(run.fingerprints, fingerprints[hit], side="left")
        counts = np.searchsorted(run.fingerprints, fingerprints[hit], side="right") - low
        ours = np.repeat(maybe[hit], counts)
        theirs = run.installations[np.repeat(low - (np.cumsum(counts) - counts), counts) + np.arange(len(ours))]
        others = self._installations.read(_INSTALLATION, self._count)[theirs]
        own, other = batch.keys[batch.numbers[ours]], others["reference"]
        content_of = np.asarray(self._content_of, dtype=np.int64)
        keep = np.flatnonzero(
            (content_of[others["source"]] != content_of[source]) & ((own == 0) | (other == 0) | (own != other))
        )
        return ours[keep], theirs[keep]

    def _named(self, batch: _Batch, values: list[bytes], pairs: list[_Pairs]) -> list[Shared]:
        """The pairs as findings say them, with the identifier's value and the other installation's reference."""
        ours = np.concatenate([mine for mine, _ in pairs])
        theirs = np.concatenate([other for _, other in pairs])
        if not len(ours):
            return []
        others = self._installations.read(_INSTALLATION, self._count)[theirs]
        numbers = batch.numbers[ours]
        # Where each identifier is among its installation's: its place before sorting, less its installation's first.
        places = batch.order[ours] - batch.starts[numbers]
        return [
            Shared(
                position,
                batch.references[number],
                KINDS[kind],
                self.paths[other_source],
                self._reference(other_number),
                other_position,
                _value(values[number], place),
                place,
            )
            for number, position, kind, place, other_source, other_position, other_number in zip(
                numbers.tolist(),
                batch.positions[numbers].tolist(),
                batch.kinds[ours].tolist(),
                places.tolist(),
                others["source"].tolist(),
                others["position"].tolist(),
                theirs.tolist(),
                strict=True,
            )
        ]

    def _reference(self, number: int) -> str | None:
        ends = self._ends.read(np.dtype(np.int64), self._count)
        start = int(ends[number - 1]) if number else 0
        text = self._references.read(np.dtype(np.uint8), self._referenced)[start : int(ends[number]) - 1]
        return bytes(text).decode("utf-8", errors="replace") if len(text) or self._keyed(number) else None

    def _keyed(self, number: int) -> bool:
        return bool(self._installations.read(_INSTALLATION, self._count)["reference"][number] != 0)

    def _keep(self, batch: _Batch, filtered: bool = True) -> None:
        """Adds a batch's installations and their identifiers (to the filter too, unless not ``filtered``)."""
        if not batch.installations:
            return
        first = self._count
        installations = np.empty(batch.installations, _INSTALLATION)
        installations["reference"] = batch.keys
        installations["source"] = batch.sources
        installations["position"] = batch.positions
        self._installations.write(installations.tobytes())
        text = _END.join(reference.encode("utf-8") if reference else b"" for reference in batch.references) + _END
        ends = np.flatnonzero(np.frombuffer(text, np.uint8) == 0) + 1 + self._referenced
        self._references.write(text)
        self._ends.write(ends.astype(np.int64).tobytes())
        self._referenced += len(text)
        self._count += batch.installations
        if batch.identifiers:
            if filtered:
                if self._filter.wants(batch.identifiers):
                    self._refilter(batch.identifiers)
                self._filter.add(batch.fingerprints)
            self._add(_Run(batch.fingerprints, (batch.numbers + first).astype(np.uint32), page=self._page))

    def _refilter(self, more: int = 0) -> None:
        """A filter large enough for the entries held and ``more``, filled with those held."""
        entries = sum(len(run) for run in self._runs)
        bits = self._filter.bits
        while (entries + more) * _FILTER_BITS_AN_ENTRY > 1 << bits:
            bits += 1
        # The old filter goes before the new one is made: never both in memory.
        self._filter = _Filter(_FILTER_SMALLEST_POSSIBLE)
        held = _Filter(bits)
        for run in self._runs:
            for start in range(0, len(run), _LOAD_ENTRIES):
                held.add(np.asarray(run.fingerprints[start : start + _LOAD_ENTRIES]))
            run.shed()
        self._filter = held

    def _add(self, run: _Run) -> None:
        runs = self._runs
        runs.append(self._placed(run))
        while (
            len(runs) >= 2 and len(runs[-2]) <= 2 * len(runs[-1]) and len(runs[-2]) + len(runs[-1]) <= self._run_entries
        ):
            newer = runs.pop()
            runs[-1] = self._merged(runs[-1], newer)

    def _merged(self, older: _Run, newer: _Run) -> _Run:
        """The entries of two runs as one run, sorted by fingerprint."""
        # A stable sort of two sorted runs one after the other is one merge of them (numpy's is a timsort).
        fingerprints = np.concatenate((older.fingerprints, newer.fingerprints))
        order = np.argsort(fingerprints, kind="stable")
        installations = np.concatenate((older.installations, newer.installations))
        self._release(older)
        self._release(newer)
        return self._placed(_Run(fingerprints[order], installations[order], page=self._page))

    def _placed(self, run: _Run) -> _Run:
        """The run in memory, or past :data:`MEMORY_ENTRIES` entries in files of its own, memory-mapped."""
        if len(run) <= self._memory_entries:
            return run
        self._mapped += 1
        stem = self._folder / f"run-{self._mapped}"
        files = (stem.with_suffix(".fingerprints"), stem.with_suffix(".installations"))
        maps = []
        arrays: tuple[npt.NDArray[Any], ...] = (run.fingerprints, run.installations)
        for path, array in zip(files, arrays, strict=True):
            array.tofile(path)
            with path.open("rb") as stream:
                maps.append(mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ))
        fingerprints, installations = np.frombuffer(maps[0], np.int64), np.frombuffer(maps[1], np.uint32)
        return _Run(fingerprints, installations, tuple(maps), files, self._page, run.index)

    @staticmethod
    def _release(run: _Run) -> None:
        """Removes a run's files (their space is freed once the arrays mapping them are gone)."""
        for path in run.files:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        for appended in (self._installations, self._references, self._ends):
            appended.close()
        self._runs.clear()
        shutil.rmtree(self._folder, ignore_errors=True)


def _held(parts: list[tuple[int, list[tuple[int, str | None, bytes]]]]) -> _Batch:
    """The installations the ledger holds, as a batch: for each source, each one's position, reference and
    identifiers.
    """
    return _Batch(
        [reference for _, installations in parts for _, reference, _ in installations],
        [data for _, installations in parts for _, _, data in installations],
        np.concatenate([np.full(len(installations), source, np.uint32) for source, installations in parts]),
        np.fromiter(
            (position for _, installations in parts for position, _, _ in installations),
            np.uint32,
            sum(len(installations) for _, installations in parts),
        ),
    )


def _in_order(shared: Shared) -> tuple[int, int, int, str, int, bool, str]:
    """The order of the findings: by installation, kind, the identifier's place in the installation, the other
    file's path and position, and the other installation's reference (of two files of one path, one the ledger
    holds and one of the batch).
    """
    other = shared.other_reference
    return (
        shared.position,
        KINDS.index(shared.kind),
        shared.place,
        shared.other_path,
        shared.other_position,
        other is not None,
        other or "",
    )


def _value(values: bytes, place: int) -> str | None:
    """The value at ``place`` of an installation's values (:func:`mcfcheck.rules.holdings.read_holdings`)."""
    every = values.decode("utf-8", errors="replace").split(VALUE_SEPARATOR) if values else []
    return every[place] if place < len(every) else None


def _parts(
    installations: Iterable[tuple[str | None, bytes, bytes]],
) -> Iterator[list[tuple[str | None, bytes, bytes]]]:
    """The installations a few at a time: about :data:`_LOAD_ENTRIES` identifiers (at least one installation)."""
    part: list[tuple[str | None, bytes, bytes]] = []
    identifiers = 0
    for installation in installations:
        part.append(installation)
        identifiers += len(installation[1]) // HELD
        if identifiers >= _LOAD_ENTRIES:
            yield part
            part, identifiers = [], 0
    if part:
        yield part


class _Appended:
    """A file written at its end, read through a memory map of what was written."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stream: BinaryIO = path.open("wb")
        self._map: np.memmap | None = None

    def write(self, data: bytes) -> None:
        self._stream.write(data)
        self._map = None

    def read(self, dtype: np.dtype[Any], count: int) -> npt.NDArray[Any]:
        """The first ``count`` records of ``dtype`` written."""
        if self._map is None or self._map.dtype != dtype:
            self._stream.flush()
            self._map = np.memmap(self._path, dtype, "r", shape=(count,)) if count else None
        return self._map if self._map is not None else np.empty(0, dtype)

    def close(self) -> None:
        self._map = None
        self._stream.close()


class _Batch:
    """Installations and their identifiers, gathered: each installation's reference, its identifiers (as the
    holdings keep them), its file and position there; and its reference's key (:func:`reference_key`).
    """

    def __init__(self, references: list[str | None], data: list[bytes], sources: UInt32s, positions: UInt32s) -> None:
        self.references = references
        self.sources = sources
        self.positions = positions
        self.keys = np.fromiter(map(reference_key, references), np.int64, len(references))
        self.installations = len(references)
        held = np.frombuffer(b"".join(data), dtype=_HELD)
        self.identifiers = len(held)
        counts = np.fromiter(map(len, data), np.int64, len(data)) // HELD
        #: Where each installation's identifiers start among the batch's, before sorting.
        self.starts = np.cumsum(counts) - counts
        numbers = np.repeat(np.arange(self.installations, dtype=np.uint32), counts)
        # Native integers first: a sort of big-endian fields, a stride apart, takes ten times as long.
        fingerprints = held["fingerprint"].astype(np.int64)
        order = np.argsort(fingerprints)
        #: Where each identifier was before sorting.
        self.order = order
        #: The identifiers sorted by fingerprint: the fingerprints, kinds and installations (numbered from 0).
        self.fingerprints: Int64s = fingerprints[order]
        self.kinds: npt.NDArray[np.uint8] = held["kind"][order]
        self.numbers: UInt32s = numbers[order]
