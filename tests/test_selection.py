"""Select and ignore by code prefix: explicit beats implicit, the longest prefix wins."""

from __future__ import annotations

import pytest

from mcfcheck.rules.selection import ALL, Selection


@pytest.mark.parametrize(
    ("select", "ignore", "extend", "code", "selected"),
    [
        ((ALL,), (), (), "GEN001", True),
        ((ALL,), ("GEN",), (), "GEN001", False),
        ((ALL,), ("GEN",), (), "MDS001", True),
        (("GEN001",), ("GEN",), (), "GEN001", True),
        (("GEN001",), ("GEN",), (), "GEN002", False),
        (("GEN",), ("GEN001",), (), "GEN001", False),
        (("GEN",), ("GEN001",), (), "GEN002", True),
        (("GEN",), ("GEN",), (), "GEN002", False),
        (("MDS",), (), (), "GEN001", False),
        (("MDS",), (), ("EPC",), "EPC001", True),
        (("MDS",), ("EPC001",), ("EPC",), "EPC001", False),
        ((ALL,), (ALL,), (), "GEN001", False),
        (("XSD",), (), (), "XSD001", True),
        ((ALL,), ("XSD003",), (), "XSD003", False),
    ],
)
def test_decision(
    select: tuple[str, ...], ignore: tuple[str, ...], extend: tuple[str, ...], code: str, selected: bool
) -> None:
    assert Selection(select, ignore, extend).is_selected(code) is selected
