"""Installations cut from bytes: mcfcheck's C module cuts exactly as the Python cutter does."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mcfcheck.errors import InputError
from mcfcheck.input import cut

if os.environ.get("MCFCHECK_BUILD") in ("plain", "mypyc"):
    # make compile could not build the C module here: test_native checks that it says so.
    pytest.skip("the C module was not built", allow_module_level=True)

from mcfcheck.native import _fastread as fastread

HEAD = b'<?xml version="1.0"?>\n<MCF xmlns="urn:x" xmlns:p="urn:x">\n  <Header><GroupID>CB</GroupID></Header>\n'
TAIL = b"</MCF>\n"
#: Pieces of a document's body: installations in their forms, and what must not be taken for one.
PIECES = (
    b'<Installation a="1"><InstallationReference>R1</InstallationReference><Device/></Installation>',
    b"<p:Installation>\n  <p:InstallationReference>R2</p:InstallationReference>\n</p:Installation>",
    b"<Installation/>",
    b"<Installation>\n</Installation \n\t>",
    b"<Installation><![CDATA[</InstallationZ]]></Installation>",
    b"<Installations>not one</Installations>",
    b"<InstallationX>t</InstallationX>",
    b"<q:Installation>x</q:Installation>",
    b"<!-- a note -->",
    b"\n  ",
    b"\r\n",
    b" ",
    b"<a:b:Installation/>",
)
#: Pieces that make the cut fail (an end tag missing, a start tag that is not cut at).
BROKEN = (b"<Installation/ >", b"<Installation>no end")


def _cut(path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch, fast: bool) -> dict[str, Any]:
    """Everything a cutter gives of ``path`` read ``chunk`` bytes at a time, or its error."""

    def chunks(stream: Any, _path: Path, _max: int) -> Iterator[bytes]:
        while piece := stream.read(chunk):
            yield piece

    with monkeypatch.context() as patch:
        patch.setattr(cut, "iter_chunks", chunks)
        patch.setattr(cut, "FAST", fastread if fast else None)
        result: dict[str, Any] = {}
        try:
            cutter = cut.Cutter(path, "Installation", 1 << 30)
            result["pieces"] = list(cutter)
            result["ends"] = (cutter.head, cutter.tail, cutter.head_end, cutter.tail_start)
            spanner = cut.Cutter(path, "Installation", 1 << 30)
            result["spans"] = list(spanner.spans())
            result["span ends"] = (spanner.head_end, spanner.tail_start)
            numbers = [number for batch in cut.Cutter(path, "Installation", 1 << 30).span_batches() for number in batch]
            result["batches"] = list(zip(numbers[::3], numbers[1::3], numbers[2::3], strict=True))
        except InputError as error:
            result["error"] = str(error)
        return result


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.lists(st.sampled_from(PIECES), max_size=12),
    broken=st.sampled_from((b"", *BROKEN)),
    chunk=st.sampled_from((1, 2, 3, 7, 64, 4096)),
)
@example(body=[PIECES[2], PIECES[3]], broken=b"", chunk=1)
@example(body=[PIECES[0]], broken=BROKEN[0], chunk=2)
def test_the_c_module_cuts_as_the_python_cutter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: list[bytes], broken: bytes, chunk: int
) -> None:
    data = HEAD + b"\n".join(body) + broken + TAIL
    path = tmp_path / "file.xml"
    path.write_bytes(data)
    fast = _cut(path, chunk, monkeypatch, fast=True)
    assert fast == _cut(path, chunk, monkeypatch, fast=False)
    if "error" in fast:
        return
    # The cuts give the file back, each installation on the line it starts on.
    head, tail, head_end, tail_start = fast["ends"]
    pieces = fast["pieces"]
    assert head + b"".join(before + piece for _line, before, piece in pieces) + tail == data
    assert data[:head_end] == head
    assert data[tail_start:] == tail
    assert fast["batches"] == fast["spans"]
    for (line, begin, finish), (_line, _before, piece) in zip(fast["spans"], pieces, strict=True):
        assert data[begin:finish] == piece
        assert line == data.count(b"\n", 0, begin) + 1
        assert piece.startswith((b"<Installation", b"<p:Installation", b"<q:Installation"))


def test_cut_spans_refuses_what_it_cannot_take() -> None:
    with pytest.raises(ValueError, match="counted"):
        fastread.cut_spans(b"<a/>", 5, b"Installation", True, 0, 1, 0)
    with pytest.raises(TypeError, match="non-empty bytes"):
        fastread.cut_spans(b"<a/>", 0, b"", True, 0, 1, 0)
    with pytest.raises(TypeError, match="seven arguments"):
        fastread.cut_spans(b"<a/>", 0)  # type: ignore[call-arg]
