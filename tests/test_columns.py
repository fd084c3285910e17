"""Finding the column of an element's start tag on a line, across chunk boundaries."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mcfcheck.check.columns import ColumnFinder

TEXT = (
    '<?xml version="1.0"?>\n'
    '<m:File xmlns:m="urn:x">\n'
    "  <m:Header><m:GroupID>CB</m:GroupID></m:Header>\n"
    "    <Status>Active</Status>\n"
    "  <Café>é</Café><Device/><Device/>\n"
    "</m:File>\n"
)


def _finder(text: bytes, cuts: list[int]) -> ColumnFinder:
    finder = ColumnFinder()
    previous = 0
    for cut in [*sorted(set(cuts)), len(text)]:
        if cut > previous:
            finder.add(text[previous:cut])
            previous = cut
    return finder


@settings(max_examples=300)
@given(st.lists(st.integers(min_value=1, max_value=len(TEXT.encode()) - 1), max_size=3))
def test_columns_are_found_however_the_text_is_chunked(cuts: list[int]) -> None:
    finder = _finder(TEXT.encode(), cuts)
    # Only the first and the last two chunks are kept; cut into at most four, the
    # lines asked about below are always among them when they are in the first or
    # last two chunks, and otherwise the answer is None, never a wrong column.
    answers = {
        (2, "File"): 1,
        (3, "GroupID"): 13,
        (4, "Status"): 5,
        (5, "Café"): 3,
    }
    for (line, name), column in answers.items():
        assert finder.column(line, name) in (column, None)
    if len(set(cuts)) <= 1:
        assert all(finder.column(line, name) == column for (line, name), column in answers.items())


def test_ambiguous_or_unknown_places_give_no_column() -> None:
    finder = _finder(TEXT.encode(), [])
    assert finder.column(5, "Device") is None
    assert finder.column(5, "Missing") is None
    assert finder.column(99, "Status") is None
    assert finder.column(None, "Status") is None


def test_a_line_split_between_two_chunks_is_joined() -> None:
    text = TEXT.encode()
    split = text.index(b"<Status>") + 3
    finder = _finder(text, [split])
    assert finder.column(4, "Status") == 5
