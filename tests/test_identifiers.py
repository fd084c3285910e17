"""Check digits and formats of MPAN cores, MPRNs, ICCIDs and IMSIs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcfcheck.identifiers import (
    is_uk_imsi,
    is_valid_iccid,
    is_valid_mpan_core,
    is_valid_mprn,
    luhn_check_digit,
    mpan_check_digit,
    mprn_check_digits,
)

digits = st.text(alphabet="0123456789", min_size=1, max_size=30)


@pytest.mark.parametrize(
    ("mpan", "valid"),
    [
        ("1800021679848", True),
        ("1312345678907", True),
        ("1800021679847", False),
        ("180002167984", False),
        ("18000216798A8", False),
    ],
)
def test_mpan_core_known_values(mpan: str, valid: bool) -> None:
    assert is_valid_mpan_core(mpan) is valid


@pytest.mark.parametrize(("mprn", "valid"), [("3938424403", True), ("3938424404", False), ("12345", False)])
def test_mprn_known_values(mprn: str, valid: bool) -> None:
    assert is_valid_mprn(mprn) is valid


@pytest.mark.parametrize(
    ("iccid", "valid"),
    [
        ("89014103211118510720", True),  # a widely published example ICCID
        ("89014103211118510721", False),
        ("89441000000000000000", True),
        ("8944100000", False),
        ("79441000000000000000", False),
    ],
)
def test_iccid_known_values(iccid: str, valid: bool) -> None:
    assert is_valid_iccid(iccid) is valid


def test_luhn_reference_value() -> None:
    # The worked example of ISO/IEC 7812-1: 7992739871 takes check digit 3.
    assert luhn_check_digit("7992739871") == 3


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_mpan_with_its_check_digit_is_valid(body: str) -> None:
    assert is_valid_mpan_core(body + str(mpan_check_digit(body)))


@given(st.text(alphabet="0123456789", min_size=4, max_size=8))
def test_mprn_with_its_check_digits_is_valid(body: str) -> None:
    assert is_valid_mprn(body + mprn_check_digits(body))


@given(st.text(alphabet="0123456789", min_size=18, max_size=18), st.data())
def test_iccid_luhn_detects_every_single_digit_change(body: str, data: st.DataObject) -> None:
    payload = "89" + body[:-1]
    iccid = payload + str(luhn_check_digit(payload))
    assert is_valid_iccid(iccid)
    position = data.draw(st.integers(min_value=2, max_value=len(iccid) - 1))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != iccid[position]]))
    assert not is_valid_iccid(iccid[:position] + replacement + iccid[position + 1 :])


@given(digits)
def test_check_digit_functions_accept_any_digits_or_refuse_clearly(text: str) -> None:
    if len(text) == 12:
        assert 0 <= mpan_check_digit(text) <= 9
    else:
        with pytest.raises(ValueError, match="12 digits"):
            mpan_check_digit(text)
    assert 0 <= luhn_check_digit(text) <= 9


@pytest.mark.parametrize(
    ("imsi", "uk"), [("234150123456789", True), ("235000000000000", True), ("310150123456789", False), ("2341", False)]
)
def test_imsi_country(imsi: str, uk: bool) -> None:
    assert is_uk_imsi(imsi) is uk
