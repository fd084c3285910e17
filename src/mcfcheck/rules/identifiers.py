"""Formats and check digits of the identifiers an MCF carries (MPAN, MPRN, ICCID, IMSI).

A digit here is an ASCII digit, 0 to 9, as the schema's patterns say: ``str.isdigit``
alone would also take other scripts' digits and superscripts.

The check digits run once per identifier of every installation, so they are written
as plain loops over the bytes of the digits, which the compiled module (``make
compile``) turns into machine arithmetic.
"""

from __future__ import annotations

from typing import Final

MPAN_WEIGHTS: Final = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
_MPAN_WEIGHTS: Final = bytes(MPAN_WEIGHTS)
_ZERO: Final = ord("0")
UK_IMSI_COUNTRY_CODES: Final = ("234", "235")


def is_digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits."""
    return text.isascii() and text.isdigit()


def _weighted_mpan_sum(digits: bytes) -> int:
    total = 0
    for index in range(12):
        total += _MPAN_WEIGHTS[index] * (digits[index] - _ZERO)
    return total


def mpan_check_digit(first_twelve: str) -> int:
    """The check digit of an MPAN core whose first twelve digits are given."""
    if len(first_twelve) != 12 or not is_digits(first_twelve):
        raise ValueError(f"an MPAN core starts with 12 digits, not {first_twelve!r}")
    return _weighted_mpan_sum(first_twelve.encode("ascii")) % 11 % 10


def is_valid_mpan_core(mpan: str) -> bool:
    """Whether ``mpan`` is 13 digits whose last is the MPAN check digit."""
    if len(mpan) != 13 or not is_digits(mpan):
        return False
    digits = mpan.encode("ascii")
    return _weighted_mpan_sum(digits) % 11 % 10 == digits[12] - _ZERO


def _mprn_sum(body: bytes) -> int:
    """Each digit times its distance from the end of ``body`` (the last digit weighs 1)."""
    total = 0
    weight = len(body)
    for digit in body:
        total += weight * (digit - _ZERO)
        weight -= 1
    return total


def mprn_check_digits(body: str) -> str:
    """The two trailing check digits of an MPRN whose leading digits are given.

    This is the widely used, unofficial scheme: the sum of each digit times its
    distance from the end of ``body`` (the last digit weighs 1), modulo 11, written
    with two digits.
    """
    if not is_digits(body):
        raise ValueError(f"an MPRN is made of digits, not {body!r}")
    return f"{_mprn_sum(body.encode('ascii')) % 11:02d}"


def is_valid_mprn(mprn: str) -> bool:
    """Whether ``mprn`` (6 to 10 digits) ends with the two check digits of the unofficial scheme."""
    if not 6 <= len(mprn) <= 10 or not is_digits(mprn):
        return False
    digits = mprn.encode("ascii")
    check = _mprn_sum(digits[:-2]) % 11
    return digits[-2] - _ZERO == check // 10 and digits[-1] - _ZERO == check % 10


def _luhn_sum(digits: bytes, double_first: bool) -> int:
    """Luhn's sum of ``digits`` read from the right, doubling every other one."""
    total = 0
    doubled = double_first
    for index in range(len(digits) - 1, -1, -1):
        digit = digits[index] - _ZERO
        if doubled:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
        doubled = not doubled
    return total


def luhn_check_digit(payload: str) -> int:
    """The Luhn check digit to append to the digits ``payload``."""
    if not is_digits(payload):
        raise ValueError(f"a Luhn payload is made of digits, not {payload!r}")
    # From the right, the payload's first, third, ... digits are doubled.
    return (10 - _luhn_sum(payload.encode("ascii"), True) % 10) % 10


def is_valid_iccid(iccid: str) -> bool:
    """Whether ``iccid`` is 19 or 20 digits starting 89 with a correct Luhn check digit."""
    if len(iccid) not in (19, 20) or not is_digits(iccid) or not iccid.startswith("89"):
        return False
    # The check digit itself is the first from the right, and is not doubled.
    return _luhn_sum(iccid.encode("ascii"), False) % 10 == 0


def is_uk_imsi(imsi: str) -> bool:
    """Whether ``imsi`` is 15 digits with a United Kingdom mobile country code."""
    return len(imsi) == 15 and is_digits(imsi) and imsi[:3] in UK_IMSI_COUNTRY_CODES
