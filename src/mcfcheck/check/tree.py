"""Keeping the tree small as installations are released, without changing the skeleton's verdict.

Comments and processing instructions between installations are removed; character
content among them (which the schema does not allow there) is kept, shortened, for the
skeleton's validation to report it.
"""

from __future__ import annotations

from typing import Final

from lxml import etree

#: XML's white space: text of nothing else is allowed in element-only content.
_XML_BLANKS: Final = " \t\r\n"
#: How much of the character content an element-only parent must not hold is kept for
#: the skeleton's validation: that it is there is all that counts, not what it says.
_CONTENT_KEPT: Final = 64


def content_kept(text: str | None) -> str | None:
    """Text that is more than XML white space (shortened), or None: what the skeleton must still see."""
    if not text or (text.isascii() and text.isspace()):
        # In ASCII, XML allows no other character that Python calls white space (form
        # feed, vertical tab, separators): a quick look, for a part's million blank lines.
        return None
    stripped = text.strip(_XML_BLANKS)
    return stripped[:_CONTENT_KEPT] if stripped else None


def keep_content(parent: etree._Element, before: etree._Element | None, text: str | None) -> None:
    """Put character content back after ``before`` (or first in ``parent``), unless some is there already."""
    if text is None:
        return
    if before is None:
        if content_kept(parent.text) is None:
            parent.text = text
    elif content_kept(before.tail) is None:
        before.tail = text


def remove_markup_before(parent: etree._Element, record: etree._Element) -> etree._Element | None:
    """Remove the comments and processing instructions just before ``record``; the element before them.

    Neither counts in schema validation, and left in place they would keep every
    installation after them as a placeholder: memory growing with the file. Character
    content they were followed by is kept for the skeleton's validation.
    """
    node = record.getprevious()
    kept: str | None = None
    while isinstance(node, (etree._Comment, etree._ProcessingInstruction)):
        before = node.getprevious()
        kept = kept or content_kept(node.tail)
        parent.remove(node)
        node = before
    keep_content(parent, node, kept)
    return node


def release_into_run(parent: etree._Element, record: etree._Element) -> bool:
    """Release ``record`` where it continues a run of elements of its tag; whether it was released.

    The comments and processing instructions before it go first. Released, its character
    content after it is kept after the element before; kept, its own tail is shortened
    to that content, and the caller empties it.
    """
    tail = content_kept(record.tail)
    previous = remove_markup_before(parent, record)
    if previous is not None and previous.tag == record.tag:
        # Emptied first: lxml frees the children at once, where removing the whole
        # installation would first re-home each of its elements' namespaces (a walk
        # that measured 6% of a validation's instructions).
        record.clear(keep_tail=False)
        parent.remove(record)
        keep_content(parent, previous, tail)
        return True
    record.tail = tail
    return False
