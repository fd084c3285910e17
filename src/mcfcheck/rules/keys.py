"""Duplicate identifiers across millions of installations, in bounded memory and exactly.

Each kind of identifier has a :class:`KeyStore` holding, per occurrence, a 64-bit key,
its line and a one-byte slot (which of the installation's places it came from): 13
bytes, in compact arrays, no Python object per occurrence. Values with a lossless
64-bit form (EUI-64 Device IDs, IPv4 addresses, strings of up to 15 digits) are their
own key, so equal keys are equal values. Other values (installation references,
ICCIDs) are keyed by a 64-bit hash and written to a temporary spill file; keys that
collide are confirmed by comparing the spilled values, so a hash collision never
produces a false finding. Duplicates are found at the end by sorting the keys.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import tempfile
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

import numpy as np

_EUI64: Final = re.compile(r"^[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){7}$")
_HASHED_FLAG: Final = 1 << 63


def eui64_key(value: str) -> int | None:
    """An EUI-64 Device ID as its 64-bit number (case does not matter), or None."""
    if not _EUI64.match(value):
        return None
    return int(value.replace("-", ""), 16)


def digits_key(value: str) -> int | None:
    """A string of 1 to 15 digits as a number tagged with its length (leading zeros kept)."""
    if not (0 < len(value) <= 15 and value.isascii() and value.isdigit()):
        return None
    return (len(value) << 50) | int(value)


def ipv4_key(value: str) -> int | None:
    """An IPv4 address as its 32-bit number, or None."""
    try:
        return int(ipaddress.IPv4Address(value))
    except ValueError:
        return None


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
    """A temporary file of values, written once and read back only to confirm duplicates."""

    def __init__(self) -> None:
        self._file: BinaryIO = tempfile.TemporaryFile(prefix="mcfcheck-keys-")  # noqa: SIM115 - closed by close()
        self._size = 0

    def write(self, value: bytes) -> int:
        """Append ``value`` and return where it starts."""
        offset = self._size
        self._file.write(len(value).to_bytes(4, "little") + value)
        self._size += 4 + len(value)
        return offset

    def read(self, offset: int) -> bytes:
        self._file.flush()
        self._file.seek(offset)
        length = int.from_bytes(self._file.read(4), "little")
        value = self._file.read(length)
        self._file.seek(0, 2)
        return value

    def close(self) -> None:
        self._file.close()


class KeyStore:
    """Occurrences of one kind of identifier; duplicates are reported by :meth:`duplicates`."""

    def __init__(self, encode: Callable[[str], int | None], spill: Spill) -> None:
        self._encode = encode
        self._spill = spill
        self._keys = array("Q")
        self._lines = array("I")
        self._slots = array("B")
        # For hashed keys: the occurrence's index and where its value was spilled.
        self._hashed_index = array("I")
        self._hashed_offsets = array("Q")

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, value: str, line: int, slot: int = 0) -> None:
        """Record one occurrence of ``value`` at ``line`` (slot: 0 to 255)."""
        key = self._encode(value)
        if key is None:
            encoded = value.encode("utf-8")
            key = int.from_bytes(hashlib.blake2b(encoded, digest_size=8).digest(), "big") | _HASHED_FLAG
            self._hashed_index.append(len(self._keys))
            self._hashed_offsets.append(self._spill.write(encoded))
        self._keys.append(key)
        self._lines.append(min(line, 0xFFFFFFFF))
        self._slots.append(slot)

    def _value(self, index: int, key: int) -> str:
        if key & _HASHED_FLAG:
            position = bisect_right(self._hashed_index, index) - 1
            return self._spill.read(self._hashed_offsets[position]).decode("utf-8")
        return self._decode(key)

    def _decode(self, key: int) -> str:
        for decode in (_decode_digits, _decode_ipv4, _decode_eui64):
            value = decode(key)
            if value is not None and self._encode(value) == key:
                return value
        return str(key)

    def duplicates(self) -> Iterator[Duplicate]:
        """Every occurrence of a value already seen, in the order of the file."""
        count = len(self._keys)
        if count < 2:
            return
        keys = np.frombuffer(self._keys, dtype=np.uint64)
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        starts = np.ones(count, dtype=bool)
        starts[1:] = ordered[1:] != ordered[:-1]
        # For each sorted position, the position where its group of equal keys starts.
        group_start = np.maximum.accumulate(np.where(starts, np.arange(count), 0))
        found: list[tuple[int, int, str]] = []
        for position in np.flatnonzero(~starts).tolist():
            start = int(group_start[position])
            again = int(order[position])
            key = int(ordered[position])
            value = self._value(again, key)
            first = int(order[start])
            if key & _HASHED_FLAG:
                # Equal hashes: confirm with the values, the first equal one is the original.
                matches = [int(order[p]) for p in range(start, position) if self._value(int(order[p]), key) == value]
                if not matches:
                    continue
                first = matches[0]
            found.append((again, first, value))
        found.sort()
        for again, first, value in found:
            yield Duplicate(
                value,
                Occurrence(self._lines[first], self._slots[first]),
                Occurrence(self._lines[again], self._slots[again]),
            )


def _decode_digits(key: int) -> str | None:
    length = key >> 50
    if not 0 < length <= 15:
        return None
    return str(key & ((1 << 50) - 1)).zfill(length)


def _decode_ipv4(key: int) -> str | None:
    return str(ipaddress.IPv4Address(key)) if key < 1 << 32 else None


def _decode_eui64(key: int) -> str | None:
    text = f"{key:016X}"
    return "-".join(text[i : i + 2] for i in range(0, 16, 2)) if key < 1 << 64 else None
