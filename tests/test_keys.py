"""Duplicate identifiers in bounded memory: exact, whatever the fingerprints do; the installation ledger."""

from __future__ import annotations

import itertools
import os
import tempfile
import zlib
from array import array
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mcfcheck.rules import keys
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.keys import Duplicate, KeyStore, Occurrence
from mcfcheck.rules.ledger import InstallationLedger, Placed
from mcfcheck.testing import Edit, RuleCase, _device_xml, run_case

values = st.lists(st.sampled_from(["A", "B", "C", "00-0D-6F-00-00-00-00-01", "10.0.0.1", "é", "x" * 40]), max_size=60)


def _slot(line: int) -> int:
    """Slots of any size a record holds (an installation's 300th device, or its billionth)."""
    return line * 2_654_435_761 % (1 << 32)


def _expected(items: list[str]) -> list[Duplicate]:
    first: dict[str, Occurrence] = {}
    found = []
    for line, value in enumerate(items, start=1):
        occurrence = Occurrence(line, _slot(line))
        if value in first:
            found.append(Duplicate(value, first[value], occurrence))
        else:
            first[value] = occurrence
    return found


def _duplicates(items: list[str], fingerprint: Callable[[str], int] | None = None) -> list[Duplicate]:
    store = KeyStore(fingerprint=fingerprint)
    try:
        for line, value in enumerate(items, start=1):
            store.add(value, line, _slot(line))
        return list(store.duplicates())
    finally:
        store.close()


@given(values)
def test_duplicates_are_exactly_the_repeated_values_in_file_order(items: list[str]) -> None:
    assert _duplicates(items) == _expected(items)


def test_a_store_that_finds_no_duplicate_writes_nothing_more() -> None:
    """A small file's occurrences stay in memory: searched there, they never reach a disk that may be full."""
    store = KeyStore()
    for number in range(100):
        store.add(f"INST-{number}", number + 1)
    assert list(store.duplicates()) == []
    assert os.fstat(store._spill.fileno()).st_size == os.fstat(store._marks.fileno()).st_size == 0
    store.add("INST-7", 101)
    assert list(store.duplicates()) == [Duplicate("INST-7", Occurrence(8, 0), Occurrence(101, 0))]
    store.close()


def _crc32(value: str) -> int:
    """The default fingerprint, given explicitly: the store then runs in Python, with or without the C module."""
    return zlib.crc32(value.encode("utf-8"))


def _colliding(value: str) -> int:
    """Every value gets the same fingerprint: only the spilled values can tell them apart."""
    return 7


@given(
    st.lists(st.binary(min_size=3, max_size=3), max_size=80),
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=2, max_value=4),
)
def test_the_sort_on_disk_gives_every_item_in_order(items: list[bytes], run_items: int, fan_in: int) -> None:
    """Runs of a few items, merged a few at a time into longer runs, then merged as they are read."""
    with tempfile.TemporaryDirectory(prefix="mcfcheck-sort-") as folder:
        ordered = keys._ExternalSort(3, Path(folder), run_items, fan_in)
        for item in items:
            ordered.add(item)
        assert list(ordered) == sorted(items)
        assert list(ordered) == []


@given(values, st.lists(st.integers(min_value=0, max_value=60), max_size=4))
def test_the_duplicates_of_parts_merged_are_the_whole_file_s(items: list[str], cuts: list[int]) -> None:
    """Each part's store spills on its own: the records are read across the parts' spills."""
    bounds = [0, *sorted(cut for cut in cuts if cut <= len(items)), len(items)]
    with tempfile.TemporaryDirectory(prefix="mcfcheck-keys-") as folder:
        states = []
        for start, stop in itertools.pairwise(bounds):
            part = KeyStore(Path(folder))
            for line in range(start + 1, stop + 1):
                part.add(items[line - 1], line, _slot(line))
            states.append(part.export())
            part.close()
        merged = KeyStore(Path(folder))
        merged.merge(states)
        try:
            assert list(merged.duplicates()) == _expected(items)
        finally:
            merged.close()


def test_values_repeated_more_often_than_a_sort_holds_in_memory() -> None:
    """Runs are written to disk and merged back: the duplicates are still each value's, in file order."""
    items = [("A", "B", "C")[number % 3] if number % 5 else f"U{number}" for number in range(100_000)]
    assert _duplicates(items) == _expected(items)


def test_colliding_fingerprints_never_make_a_false_duplicate() -> None:
    items = ["A", "B", "C", "B", "D"]
    store = KeyStore(fingerprint=_colliding)
    for line, value in enumerate(items, start=1):
        store.add(value, line)
    assert set(store._fingerprints) == {7}
    store.close()
    assert _duplicates(items, _colliding) == _expected(items)
    assert [duplicate.value for duplicate in _duplicates(items, _colliding)] == ["B"]


def test_values_too_long_to_be_identifiers_are_left_to_the_schema() -> None:
    items = ["y" * (keys.VALUE_BYTES + 1)] * 2
    assert _duplicates(items) == []


def test_a_store_writes_its_fingerprints_as_it_goes() -> None:
    """What a store holds does not grow with its occurrences: their fingerprints go to disk, 4 bytes each."""
    store = KeyStore(fingerprint=_crc32)
    for number in range(20_000):
        store.add(f"INST-{number}", number + 1)
    assert len(store) == 20_000
    assert len(store._pending) < keys._PENDING_BYTES
    assert len(store._fingerprints) * keys._RECORD.size == len(store._pending)
    assert sum(len(block) for _start, block in store._blocks()) == 4 * 20_000
    assert list(store.duplicates()) == []
    store.close()


installations = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=20),
        st.one_of(st.none(), st.text(max_size=70)),
        st.sampled_from([None, "Active", "Dormant", "Sleeping"]),
    ),
    min_size=1,
    max_size=30,
)


@given(installations, st.integers(min_value=0, max_value=30), st.integers(min_value=1, max_value=5))
def test_the_ledger_places_a_line_in_its_installation_whole_or_in_parts(
    spans: list[tuple[int, str | None, str | None]], cut: int, every: int
) -> None:
    """Whatever share of the installations' lines the ledger keeps in memory (one in ``every``)."""
    starts, line = [], 1
    for length, _, _ in spans:
        starts.append(line)
        line += length
    folder = tempfile.TemporaryDirectory(prefix="mcfcheck-ledger-")
    whole = InstallationLedger(every=every)
    parts = [InstallationLedger(Path(folder.name), every=every), InstallationLedger(Path(folder.name), every=every)]
    try:
        for index, ((_, reference, status), start) in enumerate(zip(spans, starts, strict=True)):
            whole.add(start, reference, "/MigrationFile/Installations", status)
            parts[index >= cut].add(start, reference, "/MigrationFile/Installations", status)
            # Asked before every installation is added, the ledger still places the later ones.
            assert whole.locate(start).position == index + 1
        merged = InstallationLedger(every=every)
        merged.merge([part.export() for part in parts])
        for ledger in (whole, merged):
            assert ledger.locate(0) == Placed(0, None, None)
            for position, ((length, reference, status), start) in enumerate(zip(spans, starts, strict=True), 1):
                expected_reference = (reference or "").encode()[:64].decode(errors="replace") or None
                expected = Placed(position, expected_reference, status if status != "Sleeping" else None)
                assert ledger.locate(start) == ledger.locate(start + length - 1) == expected
        merged.close()
    finally:
        whole.close()
        for part in parts:
            part.close()
        folder.cleanup()


def _numeric(value: str) -> int:
    return int(value)


@given(st.lists(st.integers(min_value=0, max_value=7), max_size=40), st.integers(min_value=0, max_value=(1 << 20) - 1))
def test_fingerprints_that_share_low_bits_with_a_repeated_one_are_not_taken_for_it(
    multiples: list[int], low: int
) -> None:
    """The first look for repeated fingerprints goes by their low bits: values that only share those are sorted out."""
    items = [str(multiple * (1 << 20) + low) for multiple in multiples]
    assert _duplicates(items, _numeric) == _expected(items)


def _table_by_definition(marks: list[int]) -> bytes:
    """The repeated fingerprints' table: a bitmap of their low 20 bits, then themselves, sorted."""
    repeated = sorted(mark for mark, count in Counter(marks).items() if count > 1)
    if not repeated:
        return b""
    low_bits = bytearray(1 << 17)
    for mark in repeated:
        low = mark & ((1 << 20) - 1)
        low_bits[low >> 3] |= 1 << (low & 7)
    return bytes(low_bits) + array("I", repeated).tobytes()


def _repeated_by_definition(marks: list[int], start: int = 0, stop: int | None = None) -> list[int]:
    seen = Counter(marks)
    return [position for position, mark in enumerate(marks) if seen[mark] > 1][start:stop]


def _positions(found: bytes) -> list[int]:
    return array("Q", found).tolist()


#: Fingerprints that repeat (a few small values) among ones that do not (any 32 bits).
fingerprints = st.lists(
    st.one_of(st.integers(min_value=0, max_value=5), st.integers(min_value=0, max_value=0xFFFFFFFF)), max_size=200
)


# No deadline: the first call imports numpy.
@settings(deadline=None)
@given(fingerprints, st.integers(min_value=0, max_value=210), st.integers(min_value=0, max_value=210))
def test_repeated_fingerprints_are_found_where_they_occur(marks: list[int], start: int, stop: int) -> None:
    """The search for repeated fingerprints in numpy, used where mcfcheck's C module is not built."""
    data = array("I", marks).tobytes()
    table = keys._repeated_fingerprints(data)
    assert table == _table_by_definition(marks)
    expected = [position for position in _repeated_by_definition(marks) if start <= position < stop]
    assert _positions(keys._repeated_positions(data, table, start, stop)) == expected


def test_a_duplicate_device_id_is_found_on_any_device_of_an_installation(tmp_path: Path) -> None:
    """An installation of 300 devices whose 250th and later reuse Device IDs: each is found, at its own XPath.

    A store's record once kept a device's position in one byte, and the rule looked at
    the first 255 devices only: the duplicates on the 256th and later went unreported.
    """
    cohort = builtin_cohorts()["CB"]

    def device_id(slot: int) -> str:
        return f"00-0D-6F-00-00-AA-{slot >> 8:02X}-{slot & 255:02X}"

    # Devices 5 to 300 join the base installation's four; from the 250th on, each
    # reuses the Device ID of the device 200 places before it.
    extra = "".join(_device_xml("IHD", device_id(slot if slot < 250 else slot - 200), cohort) for slot in range(5, 301))
    case = RuleCase("GEN010", "300 devices", ("GEN010",), edits=(Edit("Devices", extra, append=True),))
    findings = run_case(case, tmp_path, also=("XSD",))
    assert [finding.code for finding in findings] == ["GEN010"] * 51
    assert [finding.location.xpath for finding in findings] == [
        f"/MigrationFile/Installations/Installation[1]/Devices/Device[{slot}]/DeviceID" for slot in range(250, 301)
    ]


def test_an_anonymous_spill_s_file_is_emptied_and_reused_never_across_a_fork() -> None:
    first = keys.Spill(4)
    first.append_many(b"abcdefgh")
    assert first.read(1) == b"efgh"
    number = os.fstat(first.fileno()).st_ino
    first.close()
    second = keys.Spill(4)
    try:
        # The same file, emptied: nothing of the first spill's records is read back.
        assert os.fstat(second.fileno()).st_ino == number
        assert second.read(0, 2) == b""
        second.append(b"wxyz")
        assert second.read(0, 2) == b"wxyz"
    finally:
        second.close()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        spill = keys.Spill(4)
        os.write(write, b"reused" if os.fstat(spill.fileno()).st_ino == number else b"own")
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    assert os.read(read, 16) == b"own"
    os.close(read)
