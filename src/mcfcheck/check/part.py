"""A part of a large file, validated as a document of its own with the file's lines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final

from lxml import etree

from mcfcheck.check.tree import content_kept, keep_content
from mcfcheck.errors import InputError
from mcfcheck.input.xml import CHUNK_BYTES, padding_target
from mcfcheck.rules.engine import PartState, field_values

#: Blank lines of padding between a processing instruction and the next: libxml2 keeps
#: each run of them as one text node, which must stay under its 10 MB limit.
PADDING_LINES_PER_NODE: Final = 1_000_000


@dataclass(frozen=True)
class Part:
    """A part of a file to validate as a document of its own.

    The document is the byte ``ranges`` of the file, in order, with
    ``padding_lines`` blank lines after the first range, so that every line of the
    later ranges keeps its line number in the file; the processing instructions that
    break the padding up have the target ``padding_target``, random for each run, so
    that none the file holds is taken for padding. With ``finish``, the trailer's rules and the
    rules' finish step run, after merging ``merge_states`` (the other parts').
    """

    ranges: tuple[tuple[int, int], ...]
    padding_lines: int = 0
    finish: bool = False
    merge_states: list[PartState] = field(default_factory=list)
    spill_folder: Path | None = None
    padding_target: str = field(default_factory=padding_target)

    def __reduce__(self) -> tuple[type[Part], tuple[object, ...]]:
        return type(self), field_values(self)


def padding_chunks(lines: int, target: str) -> Iterator[bytes]:
    """``lines`` blank lines, broken by a processing instruction every million lines."""
    while lines > 0:
        count = min(lines, PADDING_LINES_PER_NODE)
        yield b"\n" * count + (f"<?{target}?>".encode() if lines > count else b"")
        lines -= count


def part_chunks(stream: BinaryIO, path: Path, part: Part) -> Iterator[bytes]:
    """The bytes of a part's document, in chunks."""
    for index, (start, end) in enumerate(part.ranges):
        stream.seek(start)
        remaining = end - start
        while remaining > 0:
            try:
                chunk = stream.read(min(CHUNK_BYTES, remaining))
            except OSError as error:
                raise InputError(f"{path}: cannot be read ({error.strerror or error})") from None
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
        if index == 0:
            yield from padding_chunks(part.padding_lines, part.padding_target)


def release_padding_before(node: etree._Element, target: str) -> None:
    """Release the padding parsed before one of the padding's breaks, as the parse goes.

    The blank lines go; character content among them (the file's own, after the
    container's start tag) stays for the skeleton's validation.
    """
    if not isinstance(node, etree._ProcessingInstruction) or node.target != target:
        return
    parent: etree._Element | None = node.getparent()
    previous: etree._Element | None = node.getprevious()
    if parent is None:
        return
    if previous is None:
        parent.text = content_kept(parent.text)
        return
    kept = content_kept(previous.tail)
    if isinstance(previous, etree._ProcessingInstruction) and previous.target == target:
        before = previous.getprevious()
        parent.remove(previous)
        keep_content(parent, before, kept)
    else:
        previous.tail = kept
