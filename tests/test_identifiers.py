"""Check digits and formats of MPAN cores, MPRNs, ICCIDs and IMSIs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcfcheck.rules.identifiers import (
    MPAN_WEIGHTS,
    is_digits,
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


def _reference_mpan_valid(mpan: str) -> bool:
    """The MPAN check as the MRA states it, written for clarity, not speed."""
    weighted = sum(int(digit) * weight for digit, weight in zip(mpan[:12], MPAN_WEIGHTS, strict=True))
    return weighted % 11 % 10 == int(mpan[12])


def _reference_luhn_valid(number: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _reference_mprn_valid(mprn: str) -> bool:
    body = mprn[:-2]
    total = sum(int(digit) * (len(body) - index) for index, digit in enumerate(body))
    return f"{total % 11:02d}" == mprn[-2:]


@given(st.text(alphabet="0123456789", min_size=13, max_size=13))
def test_mpan_check_matches_the_plain_statement(mpan: str) -> None:
    assert is_valid_mpan_core(mpan) is _reference_mpan_valid(mpan)


@given(st.text(alphabet="0123456789", min_size=17, max_size=18))
def test_iccid_check_matches_the_plain_statement(body: str) -> None:
    iccid = "89" + body
    assert is_valid_iccid(iccid) is _reference_luhn_valid(iccid)


@given(st.text(alphabet="0123456789", min_size=6, max_size=10))
def test_mprn_check_matches_the_plain_statement(mprn: str) -> None:
    assert is_valid_mprn(mprn) is _reference_mprn_valid(mprn)


# Characters that str.isdigit() takes but that are not the schema's digits 0-9.
NOT_ASCII_DIGITS = "\u00b2\u00b3\u00b9\u0660\u0661\u0662\u0669\uff10\uff11\uff12"


@given(st.text(alphabet="0123456789" + NOT_ASCII_DIGITS + "aZ -", max_size=22))
def test_any_text_is_judged_without_error(text: str) -> None:
    # Identifiers come from the file as written; no text may raise instead of being judged.
    results = [is_valid_mpan_core(text), is_valid_iccid(text), is_valid_mprn(text), is_uk_imsi(text)]
    if not (text.isascii() and text.isdigit()):
        assert not any(results)
        assert not is_digits(text)


@pytest.mark.parametrize("text", ["11777777777\u00b22", "\u0661" * 12 + "\u0662", "\uff11" * 12 + "\uff12"])
def test_other_digits_are_not_digits(text: str) -> None:
    assert text.isdigit()
    assert not is_digits(text)
    assert not is_valid_mpan_core(text)
    with pytest.raises(ValueError, match="12 digits"):
        mpan_check_digit(text[:12])
