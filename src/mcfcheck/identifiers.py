"""Formats and check digits of the identifiers an MCF carries (MPAN, MPRN, ICCID, IMSI)."""

from __future__ import annotations

import operator

MPAN_WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
# A digit doubled, less 9 when that makes two digits: Luhn's step, as a table.
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
UK_IMSI_COUNTRY_CODES = ("234", "235")


def mpan_check_digit(first_twelve: str) -> int:
    """The check digit of an MPAN core whose first twelve digits are given."""
    if len(first_twelve) != 12 or not first_twelve.isdigit():
        raise ValueError(f"an MPAN core starts with 12 digits, not {first_twelve!r}")
    total: int = sum(map(operator.mul, map(int, first_twelve), MPAN_WEIGHTS))
    return total % 11 % 10


def is_valid_mpan_core(mpan: str) -> bool:
    """Whether ``mpan`` is 13 digits whose last is the MPAN check digit."""
    return len(mpan) == 13 and mpan.isdigit() and mpan_check_digit(mpan[:12]) == int(mpan[12])


def mprn_check_digits(body: str) -> str:
    """The two trailing check digits of an MPRN whose leading digits are given.

    This is the widely used, unofficial scheme: the sum of each digit times its
    distance from the end of ``body`` (the last digit weighs 1), modulo 11, written
    with two digits.
    """
    if not body.isdigit():
        raise ValueError(f"an MPRN is made of digits, not {body!r}")
    total: int = sum(map(operator.mul, map(int, body), range(len(body), 0, -1)))
    return f"{total % 11:02d}"


def is_valid_mprn(mprn: str) -> bool:
    """Whether ``mprn`` (6 to 10 digits) ends with the two check digits of the unofficial scheme."""
    return 6 <= len(mprn) <= 10 and mprn.isdigit() and mprn_check_digits(mprn[:-2]) == mprn[-2:]


def luhn_check_digit(payload: str) -> int:
    """The Luhn check digit to append to the digits ``payload``."""
    if not payload.isdigit():
        raise ValueError(f"a Luhn payload is made of digits, not {payload!r}")
    # From the right, the payload's first, third, ... digits are doubled.
    doubled = sum(map(_LUHN_DOUBLED.__getitem__, map(int, payload[::-1][::2])))
    kept = sum(map(int, payload[::-1][1::2]))
    return (10 - (doubled + kept) % 10) % 10


def is_valid_iccid(iccid: str) -> bool:
    """Whether ``iccid`` is 19 or 20 digits starting 89 with a correct Luhn check digit."""
    return (
        len(iccid) in (19, 20)
        and iccid.isdigit()
        and iccid.startswith("89")
        and luhn_check_digit(iccid[:-1]) == int(iccid[-1])
    )


def is_uk_imsi(imsi: str) -> bool:
    """Whether ``imsi`` is 15 digits with a United Kingdom mobile country code."""
    return len(imsi) == 15 and imsi.isdigit() and imsi[:3] in UK_IMSI_COUNTRY_CODES
