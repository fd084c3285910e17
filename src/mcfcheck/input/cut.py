"""Cutting an MCF's installations from its bytes, as they are, without parsing them.

``split``, ``merge`` and ``extract`` copy installations byte for byte: the parser says
where each installation starts (its line), and :class:`Cutter` finds the bytes, checked
against those lines by the caller. The bytes are searched by mcfcheck's C module where it is
built (:func:`mcfcheck.native._fastread.cut_spans`), else by the regular expressions
below, alike (compiled with mypyc where it can be).
"""

from __future__ import annotations

import re
import struct
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from mcfcheck.errors import InputError
from mcfcheck.input.xml import iter_chunks, open_input
from mcfcheck.native import FAST

#: A namespace prefix, as start tags may have one.
PREFIX: Final = rb"(?:[A-Za-z_][\w.\-]*:)?"


class _Window:
    """The input's bytes from a point on, with the line each position is on, read chunk by chunk."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.data = b""
        #: Where ``data`` starts in the input.
        self.base = 0
        self.ended = False
        self._counted = 0
        self._line = 1

    def more(self, keep_from: int) -> int:
        """Read on, dropping the bytes before ``keep_from``; how far positions moved back.

        At least as many bytes are read as are kept, so that an installation (or a head)
        far longer than a chunk is copied a bounded number of times, not once a chunk.
        """
        kept = len(self.data) - keep_from
        chunks = [self.data[keep_from:]]
        read = 0
        while read == 0 or read < kept:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.ended = True
                break
            chunks.append(chunk)
            read += len(chunk)
        if read == 0:
            return 0
        if keep_from > self._counted:
            self._line += self.data.count(b"\n", self._counted, keep_from)
            self._counted = 0
        else:
            self._counted -= keep_from
        self.data = b"".join(chunks)
        self.base += keep_from
        return keep_from

    def line_at(self, position: int) -> int:
        """The line ``position`` is on (positions asked for must not go backwards)."""
        self._line += self.data.count(b"\n", self._counted, position)
        self._counted = position
        return self._line

    def counted(self) -> tuple[int, int]:
        """Where the lines are counted up to, and the line that position is on."""
        return self._counted, self._line

    def count_to(self, position: int, line: int) -> None:
        """Say that ``position`` is on ``line`` (counted elsewhere; positions must not go backwards)."""
        self._counted, self._line = position, line


#: How far back a search starts again once more bytes are read (a tag split between chunks).
_OVERLAP: Final = 512


#: How many numbers (three an installation) :meth:`Cutter.span_batches` gathers at a time without the C module.
_BATCH: Final = 3 * 4096
#: What :func:`mcfcheck.native._fastread.cut_spans` says after the installations it cut.
_CUT_DONE, _CUT_SELF_CLOSING, _CUT_NO_END_TAG = 1, -1, -2

#: White space between installations, skipped to look for the next one where it usually is.
_SPACE: Final = re.compile(rb"[ \t\r\n]*")
#: What may follow an end tag's name up to its ``>``.
_END_REST: Final = re.compile(rb"[ \t\r\n]*>")


class Cutter:
    """An input's installations cut from its bytes, in order.

    Iterate for each one's line, the bytes between the previous one and it (``b""`` for
    the first), and its bytes; :attr:`head` (the bytes before the first installation) is
    set once the first is given, :attr:`tail` (the bytes after the last) once the last
    has been. Or, to copy them without holding them, :meth:`spans` gives each one's line
    and where its bytes begin and end in the (decompressed) input. A file with no
    installation, or one whose installation cannot be cut, is an :class:`InputError`.

    An installation ends at the first end tag of the same name as its start tag (XML
    requires the two names to be equal, prefix included), found as plain bytes; the next
    installation is looked for first right after the white space that follows.
    """

    def __init__(self, path: Path, record: str, max_bytes: int, shown: Path | None = None) -> None:
        self.path = path
        #: The name errors give the file (another than ``path``: a copy of it is read).
        self.shown = shown or path
        self.record = record
        self.max_bytes = max_bytes
        self.head = b""
        self.tail = b""
        #: Where the first installation begins, and where the bytes after the last begin (once known).
        self.head_end = 0
        self.tail_start = 0

    def __iter__(self) -> Iterator[tuple[int, bytes, bytes]]:
        first = True
        for line, gap, begin, finish, data in self._scan(keep=True):
            if first:
                self.head = data[gap:begin]
                first = False
                yield line, b"", data[begin:finish]
            else:
                yield line, data[gap:begin], data[begin:finish]

    def spans(self) -> Iterator[tuple[int, int, int]]:
        """Each installation's line, and the offsets in the input where its bytes begin and end."""
        for line, _gap, begin, finish, _data in self._scan(keep=False):
            yield line, begin, finish

    def _scan(self, keep: bool) -> Iterator[tuple[int, int, int, int, bytes]]:
        """Each installation: its line, where the bytes before it and it begin, where it ends, and the
        bytes those positions are in (``keep``), or, without ``keep``, offsets in the input and ``b""``.
        """
        return self._scan_fast(keep) if FAST is not None else self._scan_plain(keep)

    def span_batches(self) -> Iterator[array[int]]:
        """What :meth:`spans` gives, as arrays of (line, begin, end, line, …), many installations at a time."""
        if FAST is not None:
            for _data, _gap, cut in self._cut_batches(keep=False):
                batch = array("q")
                batch.frombytes(cut)
                yield batch
            return
        batch = array("q")
        for span in self.spans():
            batch.extend(span)
            if len(batch) >= _BATCH:
                yield batch
                batch = array("q")
        yield batch

    def _scan_fast(self, keep: bool) -> Iterator[tuple[int, int, int, int, bytes]]:
        """:meth:`_scan` by mcfcheck's C module."""
        for data, gap, cut in self._cut_batches(keep):
            for line, begin, finish in struct.iter_unpack("=qqq", cut):
                yield line, gap, begin, finish, data
                gap = finish

    def _cut_batches(self, keep: bool) -> Iterator[tuple[bytes, int, bytes]]:
        """The installations cut by mcfcheck's C module, each read's at once: the bytes read (``keep``; else
        ``b""``), where the bytes before the first installation begin, and (line, begin, end) for each, as
        native 8-byte integers; positions in those bytes with ``keep``, else offsets in the input.
        """
        assert FAST is not None
        path = self.shown
        record = self.record.encode("ascii")
        stream = open_input(self.path)
        with stream:
            window = _Window(iter_chunks(stream, path, self.max_bytes))
            gap = position = 0
            seen = False
            while True:
                data, base = window.data, window.base
                counted, line = window.counted()
                cut, position, status, counted, line = FAST.cut_spans(
                    data, position, record, window.ended, counted, line, 0 if keep else base
                )
                window.count_to(counted, line)
                if cut:
                    shift = 0 if keep else base
                    (first,) = struct.unpack_from("=q", cut, 8)
                    if not seen:
                        self.head_end = first + base - shift
                        seen = True
                    yield (data, gap, cut) if keep else (b"", base + gap, cut)
                    (last,) = struct.unpack_from("=q", cut, len(cut) - 8)
                    gap = last - shift
                if status == _CUT_DONE:
                    break
                if status == _CUT_SELF_CLOSING:
                    raise InputError(f"{path}: an installation's start tag cannot be cut at")
                if status == _CUT_NO_END_TAG:
                    raise InputError(f"{path}: an installation's end tag cannot be found")
                # Without ``keep``, the bytes before the search's position are not needed again.
                moved = window.more(gap if keep else position)
                gap, position = gap - moved, position - moved
            if not seen:
                raise InputError(f"{path}: holds no installation")
            self.tail = window.data[gap:] if keep else b""
            self.tail_start = window.base + gap

    def _scan_plain(self, keep: bool) -> Iterator[tuple[int, int, int, int, bytes]]:
        """:meth:`_scan` in Python: an installation at a time, by regular expressions."""
        path = self.shown
        start = re.compile(rb"<" + PREFIX + re.escape(self.record.encode("ascii")) + rb"([\s>/])")
        space, end_rest, overlap = _SPACE, _END_REST, _OVERLAP
        stream = open_input(self.path)
        with stream:
            window = _Window(iter_chunks(stream, path, self.max_bytes))
            gap = 0  # where the bytes not yet handed on start
            position = 0  # where the next search starts
            seen = False
            while True:
                data = window.data
                found = None
                if seen:
                    skipped = space.match(data, position)
                    found = start.match(data, skipped.end() if skipped is not None else position)
                if found is None:
                    found = start.search(data, position)
                if found is None:
                    if window.ended:
                        break
                    position = max(gap, len(data) - overlap)
                    moved = window.more(gap)
                    gap, position = gap - moved, position - moved
                    continue
                begin = found.start()
                if found.group(1) == b"/" and found.end() == len(data) and not window.ended:
                    # The ">" that must follow is in the next chunk.
                    moved = window.more(gap)
                    gap, position = gap - moved, begin - moved
                    continue
                if found.group(1) == b"/":
                    closed_at = data.find(b">", found.end())
                    if closed_at != found.end():
                        raise InputError(f"{path}: an installation's start tag cannot be cut at")
                    finish = closed_at + 1
                else:
                    closing = b"</" + data[begin + 1 : found.end() - 1]
                    look = found.end()
                    while True:
                        at = data.find(closing, look)
                        if at >= 0:
                            rest = end_rest.match(data, at + len(closing))
                            if rest is not None:
                                finish = rest.end()
                                break
                            if at + len(closing) + overlap < len(data) or window.ended:
                                # A longer name that starts with this one (</InstallationReference>): look on.
                                look = at + 1
                                continue
                        elif window.ended:
                            raise InputError(f"{path}: an installation's end tag cannot be found")
                        # The end tag is not in the window yet, or may be cut at its end: read more.
                        look = max(begin + 1, len(data) - overlap if at < 0 else at)
                        moved = window.more(gap)
                        gap, look, begin = gap - moved, look - moved, begin - moved
                        data = window.data
                line = window.line_at(begin)
                if not seen:
                    self.head_end = window.base + begin
                    seen = True
                if keep:
                    yield line, gap, begin, finish, data
                else:
                    base = window.base
                    yield line, base + gap, base + begin, base + finish, b""
                gap = position = finish
            if not seen:
                raise InputError(f"{path}: holds no installation")
            self.tail = window.data[gap:] if keep else b""
            self.tail_start = window.base + gap
