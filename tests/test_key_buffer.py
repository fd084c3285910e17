"""Key stores in C record exactly what key stores in Python record: fingerprints and spill, byte for byte."""

from __future__ import annotations

import itertools
import os
import tempfile
import zlib
from array import array
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcfcheck.rules import keys
from mcfcheck.rules.keys import KeyStore

if os.environ.get("MCFCHECK_BUILD") in ("plain", "mypyc"):
    # make compile could not build the C module here: test_native checks that it says so.
    pytest.skip("the C module was not built", allow_module_level=True)

from mcfcheck.native._fastread import (
    KeyBuffer,
    fingerprints_at_most_twice,
    fingerprints_in_range,
    repeated_fingerprints,
    repeated_positions,
)

from .test_keys import _positions, _repeated_by_definition, _table_by_definition, fingerprints


def _in_python(value: str) -> int:
    """The Python path's own fingerprint, given explicitly: a store with it never runs in C."""
    return zlib.crc32(value.encode("utf-8"))


#: Identifiers, and what the schema would reject: non-ASCII, empty, longer than a store keeps.
values = st.one_of(
    st.text(max_size=keys.VALUE_BYTES + 5),
    st.sampled_from(["00-0D-6F-00-00-00-00-01", "é" * 20, "é" * 21, "x" * keys.VALUE_BYTES, "€"]),
)
occurrences = st.lists(
    st.tuples(
        values,
        st.integers(min_value=0, max_value=(1 << 33)),
        st.integers(min_value=0, max_value=(1 << 32) - 1),
    ),
    max_size=80,
)


def _exported(store: KeyStore, items: list[tuple[str, int, int]], add_through_adder: bool) -> tuple[bytes, bytes]:
    add = store.adder() if add_through_adder else store.add
    for value, line, slot in items:
        add(value, line, slot)
    fingerprints, spill = store.export()
    return fingerprints.read_bytes(), spill.read_bytes()


@given(occurrences, st.booleans())
def test_c_and_python_stores_write_the_same_fingerprints_and_records(
    items: list[tuple[str, int, int]], add_through_adder: bool
) -> None:
    with tempfile.TemporaryDirectory(prefix="mcfcheck-keys-") as folder:
        in_c = KeyStore(Path(folder))
        in_python = KeyStore(Path(folder), fingerprint=_in_python)
        assert in_c.adder() != in_python.adder()
        assert _exported(in_c, items, add_through_adder) == _exported(in_python, items, add_through_adder)
        in_c.close()
        in_python.close()


def test_the_fingerprint_is_the_crc32_of_the_utf8_bytes() -> None:
    with tempfile.TemporaryFile() as spill, tempfile.TemporaryFile() as fingerprints:
        buffer = KeyBuffer(spill.fileno(), keys.VALUE_BYTES, 1 << 16, fingerprints.fileno())
        for value in ("INST-1", "é", ""):
            buffer.add(value, 1)
        buffer.flush()
        marks = array("I", os.pread(fingerprints.fileno(), 100, 0)).tolist()
    assert marks == [zlib.crc32(value.encode()) for value in ("INST-1", "é", "")]


def test_records_and_fingerprints_are_written_once_enough_wait() -> None:
    size = 9 + keys.VALUE_BYTES
    with tempfile.TemporaryFile() as spill, tempfile.TemporaryFile() as fingerprints:
        buffer = KeyBuffer(spill.fileno(), keys.VALUE_BYTES, 3 * size, fingerprints.fileno())

        def written() -> tuple[int, int]:
            return os.fstat(spill.fileno()).st_size, os.fstat(fingerprints.fileno()).st_size

        buffer.add("A", 1)
        buffer.add("B", 2)
        assert written() == (0, 0)
        buffer.add("C", 3)
        assert written() == (3 * size, 3 * 4)
        buffer.add("D", 4)
        buffer.flush()
        assert written() == (4 * size, 4 * 4)
        assert len(buffer) == 4


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ((b"bytes", 1), TypeError),
        (("A",), TypeError),
        (("A", -1), ValueError),
        (("A", 1, 1 << 32), ValueError),
        (("A", 1, 1 << 70), ValueError),
        (("A", 1, -1), ValueError),
        (("\ud800", 1), UnicodeEncodeError),
    ],
)
def test_bad_occurrences_are_refused(arguments: tuple[object, ...], error: type[Exception]) -> None:
    with tempfile.TemporaryFile() as spill:
        buffer = KeyBuffer(spill.fileno(), keys.VALUE_BYTES, 1 << 16, spill.fileno())
        with pytest.raises(error):
            buffer.add(*arguments)  # type: ignore[arg-type] # wrong on purpose
        assert len(buffer) == 0


def test_a_failed_write_is_an_os_error() -> None:
    reading, writing = os.pipe()
    os.close(writing)
    try:
        buffer = KeyBuffer(reading, keys.VALUE_BYTES, 1, reading)
        with pytest.raises(OSError, match="Bad file descriptor"):
            buffer.add("A", 1)
    finally:
        os.close(reading)


@given(fingerprints, st.integers(min_value=0, max_value=210), st.integers(min_value=0, max_value=210))
def test_repeated_fingerprints_are_found_in_c_as_numpy_finds_them(marks: list[int], start: int, stop: int) -> None:
    data = array("I", marks).tobytes()
    table = repeated_fingerprints(data)
    assert table == _table_by_definition(marks) == keys._repeated_fingerprints(data)
    expected = [position for position in _repeated_by_definition(marks) if start <= position < stop]
    assert _positions(repeated_positions(data, table, start, stop)) == expected
    assert repeated_positions(data, table, start, stop) == keys._repeated_positions(data, table, start, stop)


@given(fingerprints, st.integers(min_value=0, max_value=1 << 32), st.integers(min_value=0, max_value=1 << 32))
def test_a_range_s_fingerprints_are_picked_and_shrunk_in_c_as_numpy_does(marks: list[int], low: int, high: int) -> None:
    data = array("I", marks).tobytes()
    picked = fingerprints_in_range(data, low, high)
    assert array("I", picked).tolist() == [mark for mark in marks if low <= mark < high]
    assert picked == keys._fingerprints_in_range(data, low, high)
    shrunk = fingerprints_at_most_twice(data)
    assert array("I", shrunk).tolist() == sorted(
        itertools.chain.from_iterable([mark] * min(count, 2) for mark, count in Counter(marks).items())
    )
    assert shrunk == keys._fingerprints_at_most_twice(data)


def test_the_c_search_sorts_every_bit_of_the_fingerprints() -> None:
    # Values that differ only in the top, middle or bottom bits of each radix pass.
    marks = [1 << bit for bit in range(32)] * 2 + [0xFFFFFFFF, 0, 0x7FF, 0x800, 0x3FFFFF, 0x400000]
    data = array("I", marks).tobytes()
    table = repeated_fingerprints(data)
    assert table == _table_by_definition(marks)
    assert _positions(repeated_positions(data, table, 0, len(marks))) == _repeated_by_definition(marks)


def test_the_c_search_takes_whole_fingerprints_and_its_own_tables_only() -> None:
    with pytest.raises(ValueError, match="4-byte"):
        repeated_fingerprints(b"abc")
    with pytest.raises(ValueError, match="4-byte"):
        repeated_positions(b"abc", b"", 0, 1)
    with pytest.raises(ValueError, match="table"):
        repeated_positions(b"abcd", b"xyz", 0, 1)
    assert repeated_positions(b"abcd", b"", 0, 1) == b""
    with pytest.raises(ValueError, match="4-byte"):
        fingerprints_in_range(b"abc", 0, 1)
    with pytest.raises(ValueError, match="4-byte"):
        fingerprints_at_most_twice(b"abcde")
