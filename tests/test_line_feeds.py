"""Line feeds found in C, for the columns of schema findings: where Python finds them."""

from __future__ import annotations

import os
import re
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcfcheck.check.columns import ColumnFinder

if os.environ.get("MCFCHECK_BUILD") in ("plain", "mypyc"):
    # The C module was not built here: test_native checks that it says so.
    pytest.skip("the C module was not built", allow_module_level=True)

from mcfcheck.native import _fastread as fastread


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=3000)
    | st.lists(st.sampled_from((b"\n", b"<a>", b"\r\n", b"x" * 40)), max_size=200).map(b"".join)
)
def test_line_feeds_are_where_python_finds_them(data: bytes) -> None:
    found = array("I", fastread.line_feed_positions(data))
    assert list(found) == [match.start() for match in re.finditer(b"\n", data)]
    assert fastread.line_feed_positions(memoryview(data)) == found.tobytes()


def test_columns_are_found_on_lines_of_a_large_chunk() -> None:
    lines = [b"  <Installation>", b"    <MPRN>1</MPRN>", b"  </Installation>"] * 30_000
    finder = ColumnFinder()
    finder.add(b"\n".join(lines) + b"\n")
    assert finder.column(2, "MPRN") == 5
    assert finder.column(3 * 29_999 + 2, "MPRN") == 5
    assert finder.column(3 * 29_999 + 1, "Installation") == 3
    assert finder.column(3 * 30_000 + 5, "MPRN") is None
