"""Duplicate identifiers in bounded memory: exact, whatever the fingerprints do; the installation ledger."""

from __future__ import annotations

import tempfile
from array import array
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mcfcheck.rules import keys
from mcfcheck.rules.keys import Duplicate, KeyStore, Occurrence
from mcfcheck.rules.ledger import InstallationLedger, Placed

values = st.lists(st.sampled_from(["A", "B", "C", "00-0D-6F-00-00-00-00-01", "10.0.0.1", "é", "x" * 40]), max_size=60)


def _expected(items: list[str]) -> list[Duplicate]:
    first: dict[str, Occurrence] = {}
    found = []
    for line, value in enumerate(items, start=1):
        occurrence = Occurrence(line, line % 256)
        if value in first:
            found.append(Duplicate(value, first[value], occurrence))
        else:
            first[value] = occurrence
    return found


def _duplicates(items: list[str], fingerprint: Callable[[str], int] | None = None) -> list[Duplicate]:
    store = KeyStore(fingerprint=fingerprint)
    try:
        for line, value in enumerate(items, start=1):
            store.add(value, line, line % 256)
        return list(store.duplicates())
    finally:
        store.close()


@given(values)
def test_duplicates_are_exactly_the_repeated_values_in_file_order(items: list[str]) -> None:
    assert _duplicates(items) == _expected(items)


def _colliding(value: str) -> int:
    """Every value gets the same fingerprint: only the spilled values can tell them apart."""
    return 7


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


def test_memory_is_four_bytes_per_occurrence() -> None:
    store = KeyStore()
    for number in range(10_000):
        store.add(f"INST-{number}", number + 1)
    assert len(store) == 10_000
    assert len(store._own_fingerprints()) == 4 * 10_000
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


@given(installations, st.integers(min_value=0, max_value=30))
def test_the_ledger_places_a_line_in_its_installation_whole_or_in_parts(
    spans: list[tuple[int, str | None, str | None]], cut: int
) -> None:
    starts, line = [], 1
    for length, _, _ in spans:
        starts.append(line)
        line += length
    folder = tempfile.TemporaryDirectory(prefix="mcfcheck-ledger-")
    whole = InstallationLedger()
    parts = [InstallationLedger(Path(folder.name)), InstallationLedger(Path(folder.name))]
    try:
        for index, ((_, reference, status), start) in enumerate(zip(spans, starts, strict=True)):
            whole.add(start, reference, "/MigrationFile/Installations", status)
            parts[index >= cut].add(start, reference, "/MigrationFile/Installations", status)
        merged = InstallationLedger()
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


def _repeated_by_definition(marks: list[int]) -> list[tuple[int, int]]:
    seen = Counter(marks)
    return [(mark, position) for position, mark in enumerate(marks) if seen[mark] > 1]


#: Fingerprints that repeat (a few small values) among ones that do not (any 32 bits).
fingerprints = st.lists(
    st.one_of(st.integers(min_value=0, max_value=5), st.integers(min_value=0, max_value=0xFFFFFFFF)), max_size=200
)


@given(fingerprints)
def test_repeated_fingerprints_are_found_where_they_occur(marks: list[int]) -> None:
    """The search for repeated fingerprints in numpy, used where mcfcheck's C module is not built."""
    assert keys._repeated_positions(array("I", marks).tobytes()) == _repeated_by_definition(marks)
