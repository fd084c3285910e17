"""Columns for schema findings: libxml2 gives the line of an invalid element, not its column.

The validator keeps the file's first chunk (the header) and the last chunks it read
(the installation just completed, the trailer), and on demand finds the element's
start tag on its line. Memory stays bounded: a few chunks, and a line index built
only for chunks in which a finding falls.
"""

from __future__ import annotations

import re
from array import array
from collections import deque
from typing import Final

from mcfcheck.native import line_feed_counter, line_feed_finder

#: How many recent chunks are kept besides the first. An installation spans at most
#: two chunks unless it is larger than a chunk.
RECENT_CHUNKS: Final = 2
#: Counts a chunk's line feeds: in C when mcfcheck's C module is built.
_COUNT_LINES: Final = line_feed_counter()
#: Finds where a chunk's line feeds are: in C when mcfcheck's C module is built (a tenth of the time of a
#: regular expression's matches, made once for each chunk in which a finding falls).
_FIND_LINE_FEEDS: Final = line_feed_finder()


class _Chunk:
    """A chunk of the file, with its place: its sequence number and the line it starts on."""

    __slots__ = ("_newlines", "data", "first_line", "last_line", "sequence", "starts_line")

    def __init__(self, data: bytes, sequence: int, first_line: int, starts_line: bool) -> None:
        self.data = data
        self.sequence = sequence
        self.first_line = first_line
        self.last_line = first_line + (_COUNT_LINES(data) if _COUNT_LINES is not None else data.count(b"\n"))
        self.starts_line = starts_line
        self._newlines: array[int] | None = None

    def line_bounds(self, line: int) -> tuple[int, int]:
        """The byte range of ``line`` within this chunk (it may run on into the next)."""
        if self._newlines is None:
            if _FIND_LINE_FEEDS is not None:
                self._newlines = array("I", _FIND_LINE_FEEDS(self.data))
            else:
                self._newlines = array("I", [match.start() for match in re.finditer(b"\n", self.data)])
        offset = line - self.first_line
        start = 0 if offset == 0 else self._newlines[offset - 1] + 1
        end = self._newlines[offset] if offset < len(self._newlines) else len(self.data)
        return start, end


class ColumnFinder:
    """Finds the column of an element's start tag on a line of the bytes read so far."""

    def __init__(self) -> None:
        self._first: _Chunk | None = None
        self._recent: deque[_Chunk] = deque(maxlen=RECENT_CHUNKS)
        self._sequence = 0
        self._next_line = 1
        self._at_line_start = True

    def add(self, data: bytes) -> None:
        """Remember a chunk that has just been given to the parser."""
        if not data:
            return
        chunk = _Chunk(data, self._sequence, self._next_line, self._at_line_start)
        self._sequence += 1
        self._next_line = chunk.last_line
        self._at_line_start = data.endswith(b"\n")
        if self._first is None:
            self._first = chunk
        else:
            self._recent.append(chunk)

    def _line_text(self, line: int) -> bytes | None:
        """The bytes of ``line``, if its start and end are in the chunks kept."""
        chunks = [self._first] if self._first is not None else []
        chunks.extend(self._recent)
        for index, chunk in enumerate(chunks):
            if not chunk.first_line <= line <= chunk.last_line:
                continue
            if line == chunk.first_line and not chunk.starts_line:
                continue  # the line starts in an earlier chunk, found before or not kept.
            start, end = chunk.line_bounds(line)
            text = chunk.data[start:end]
            while end == len(chunks[index].data):
                if index + 1 == len(chunks) or chunks[index + 1].sequence != chunks[index].sequence + 1:
                    return None  # the rest of the line is not kept (or not read yet).
                index += 1
                end = chunks[index].line_bounds(line)[1]
                text += chunks[index].data[:end]
            return text
        return None

    def column(self, line: int | None, local_name: str) -> int | None:
        """The 1-based column of the one start tag of ``local_name`` on ``line``, if it is unique there."""
        if line is None:
            return None
        text = self._line_text(line)
        if text is None:
            return None
        pattern = re.compile(rb"<(?:[\w.\-]+:)?" + re.escape(local_name.encode("utf-8")) + rb"(?=[\s/>])")
        starts = [match.start() for match in pattern.finditer(text)]
        if len(starts) != 1:
            return None
        return len(text[: starts[0]].decode("utf-8", errors="replace")) + 1
