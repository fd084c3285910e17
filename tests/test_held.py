"""Identifiers' fingerprints for the ledger: mcfcheck's C module hashes exactly as Python's hashlib does."""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mcfcheck.rules.holdings import KINDS, fingerprint_bytes

if os.environ.get("MCFCHECK_BUILD") in ("plain", "mypyc"):
    # The C module was not built here: test_native checks that it says so.
    pytest.skip("the C module was not built", allow_module_level=True)

from mcfcheck.native import _fastread as fastread

PREFIXES = tuple(f"{kind}\x1f".encode() for kind in KINDS)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(KINDS) - 1), st.text(max_size=300)),
        max_size=12,
    )
)
# Messages of one block, of two, and at each edge of a block of 128 bytes (prefix included).
@example([(0, "A" * (128 - 10 - 1))])
@example([(0, "A" * (128 - 10))])
@example([(0, "A" * (128 - 10 + 1))])
@example([(1, "1" * (256 - 5))])
@example([(2, "")])
def test_the_c_module_hashes_as_hashlib(identifiers: list[tuple[int, str]]) -> None:
    kinds = bytes(kind for kind, _ in identifiers)
    values = [value for _, value in identifiers]
    if any("\ud800" <= character <= "\udfff" for character in "".join(values)):
        # A lone surrogate has no UTF-8: refused, as Python refuses to encode it.
        with pytest.raises(UnicodeEncodeError):
            fastread.held_identifiers(PREFIXES, kinds, values)
        return
    expected = b"".join(
        bytes((kind,)) + hashlib.blake2b(PREFIXES[kind] + value.encode("utf-8"), digest_size=8).digest()
        for kind, value in identifiers
    )
    assert fastread.held_identifiers(PREFIXES, kinds, values) == expected


def test_fingerprints_in_c_are_those_the_ledger_has_always_kept() -> None:
    held = fastread.held_identifiers(PREFIXES, bytes((0, 1)), ["00-0D-6F-00-00-00-01-02", "1200023305967"])
    assert held == b"\x00" + fingerprint_bytes("device_id", "00-0d-6f-00-00-00-01-02") + b"\x01" + fingerprint_bytes(
        "mpan", "1200023305967"
    )


def test_bad_arguments_are_errors_not_crashes() -> None:
    with pytest.raises(ValueError, match="a kind for each value"):
        fastread.held_identifiers(PREFIXES, b"\x00", [])
    with pytest.raises(ValueError, match="without a prefix"):
        fastread.held_identifiers(PREFIXES, bytes((len(KINDS),)), ["x"])
    with pytest.raises(TypeError):
        fastread.held_identifiers(list(PREFIXES), b"", [])  # type: ignore[arg-type]
