"""Reading MCF input safely: the parser settings, the prolog check, and the root element."""

from __future__ import annotations

import codecs
import gzip
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final, Literal, Protocol

from lxml import etree

from mcfcheck.errors import InputError
from mcfcheck.native import FAST

if TYPE_CHECKING:
    from mcfcheck.native._fastread import RecordParser

MINIMUM_LXML: Final = (6, 1)

#: How many bytes are read and handed to the parser at a time. Large enough that the
#: per-call overhead vanishes, small enough to keep memory flat.
CHUNK_BYTES: Final = 1 << 20

#: How far into a file its root element must start. A prolog (XML declaration,
#: comments, processing instructions) longer than this is refused rather than buffered.
PROLOG_LIMIT_BYTES: Final = 1 << 20


def secure_pull_parser(
    tag: str | None = None, *, root_only: bool = False, processing_instructions: bool = False
) -> etree.XMLPullParser:
    """A streaming parser for MCF input, reporting the end of each ``tag`` element.

    With ``root_only``, it reports the start of elements instead (the first is the root);
    with ``processing_instructions``, it reports those too.

    Every safety setting is passed explicitly rather than left to the library's
    defaults: no entity expansion, no DTD loading or validation, no attribute
    defaults from a DTD, no network, and libxml2's size limits kept (no huge_tree).
    XInclude is never processed: mcfcheck never calls ``xinclude()`` on its input.
    """
    events: tuple[Literal["start", "end", "pi"], ...] = ("start",) if root_only else ("end",) if tag is not None else ()
    tags: str | list[str | Callable[..., etree._Element]] | None = tag
    if processing_instructions:
        events = (*events, "pi")
        tags = [tag, etree.PI] if tag is not None else [etree.PI]
    return etree.XMLPullParser(
        events=events,
        tag=tags,
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        no_network=True,
        huge_tree=False,
    )


#: The start of the target of the processing instructions that break up the blank lines
#: a part of a file is padded with (see mcfcheck.check.file.Part). Each run adds a random
#: suffix of its own (:func:`padding_target`), so that no input can write one.
PADDING_PREFIX: Final = "mcfcheck-padding-"


def padding_target() -> str:
    """A padding target no input can hold: the prefix and 128 random bits."""
    return PADDING_PREFIX + os.urandom(16).hex()


#: mcfcheck's own push parser, when its C module is used (:data:`mcfcheck.native.FAST`).
_RECORD_PARSER: Final[type[RecordParser] | None] = FAST.RecordParser if FAST is not None else None
#: Whether records are found by mcfcheck's own parser rather than lxml's pull parser.
NATIVE_PARSER = _RECORD_PARSER is not None

#: What a record source gives for each chunk: the nodes completed, and the error that stopped the parse.
Completed = tuple[list[etree._Element], etree.XMLSyntaxError | None]


class RecordSource(Protocol):
    """A streaming parse that reports each record element (and padding instruction) as it ends."""

    def feed(self, chunk: bytes) -> Completed:
        """Parse the next bytes of the document."""

    def close(self) -> Completed:
        """Finish the document."""

    def root(self) -> etree._Element | None:
        """The document's root element, once the document is finished."""


class _PullSource:
    """Records reported by lxml's pull parser."""

    def __init__(self, tag: str | None, padding: str | None) -> None:
        self._parser = secure_pull_parser(tag, processing_instructions=padding is not None)
        self._root: etree._Element | None = None

    def _events(self, error: etree.XMLSyntaxError | None) -> Completed:
        return [node for _event, node in self._parser.read_events()], error

    def feed(self, chunk: bytes) -> Completed:
        try:
            self._parser.feed(chunk)
        except etree.XMLSyntaxError as error:
            return self._events(error)
        return self._events(None)

    def close(self) -> Completed:
        try:
            self._root = self._parser.close()
        except etree.XMLSyntaxError as error:
            # What libxml2 reports when the input ends in error are the elements it closes
            # itself, whose end tags are not in the file (a start tag cut short, say): no
            # record ends there, as mcfcheck's own parser says too.
            for _event in self._parser.read_events():
                pass
            return [], error
        return self._events(None)

    def root(self) -> etree._Element | None:
        return self._root


class _NativeSource:
    """Records reported by mcfcheck's own push parser on libxml2 (see _fastread.c)."""

    def __init__(self, parser: RecordParser) -> None:
        self._parser = parser

    def _checked(self, nodes: list[etree._Element]) -> Completed:
        error = self._parser.error
        if error is None:
            return nodes, None
        message, code, line, column = error
        if line > 0:
            message = f"{message}, line {line}, column {column}" if column > 0 else f"{message}, line {line}"
        # As lxml raises it for a document parsed from bytes.
        return nodes, etree.XMLSyntaxError(message, code, line, column, "<string>")

    def feed(self, chunk: bytes) -> Completed:
        return self._checked(self._parser.feed(chunk))

    def close(self) -> Completed:
        return self._checked(self._parser.close())

    def root(self) -> etree._Element | None:
        return self._parser.root


def record_source(tag: str | None, padding: str | None) -> RecordSource:
    """The fastest source of ``tag`` records there is: mcfcheck's own parser when it is built.

    With ``padding``, the processing instructions of that target are reported too.
    """
    if _RECORD_PARSER is None or tag is None:
        return _PullSource(tag, padding)
    name = etree.QName(tag)
    return _NativeSource(_RECORD_PARSER(name.namespace, name.localname, padding))


def require_lxml() -> None:
    """Refuse to run on an lxml older than the one whose safe defaults mcfcheck relies on."""
    if etree.LXML_VERSION[:2] < MINIMUM_LXML:
        found = ".".join(str(part) for part in etree.LXML_VERSION[:3])
        wanted = ".".join(str(part) for part in MINIMUM_LXML)
        raise InputError(f"mcfcheck needs lxml >= {wanted}, found {found}")


#: The first bytes of a gzip stream.
GZIP_MAGIC: Final = b"\x1f\x8b"

#: The default cap on what a compressed input may decompress to, against
#: decompression bombs (``--max-decompressed``): far beyond any real MCF.
DEFAULT_MAX_DECOMPRESSED_BYTES: Final = 64 << 30


def is_gzip(path: Path) -> bool:
    """Whether the file is gzip-compressed (by its first bytes, whatever its name)."""
    try:
        with path.open("rb") as stream:
            return stream.read(2) == GZIP_MAGIC
    except OSError:
        return False


def open_input(path: Path) -> BinaryIO:
    """Open an input file for binary reading (decompressing gzip), with one-line input errors."""
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an MCF file")
    if path.exists() and not path.is_file():
        # A named pipe would block the open until a writer came; a device may never end.
        raise InputError(f"{path}: is not a regular file (a pipe, socket or device), not an MCF file")
    try:
        stream = path.open("rb")
        if stream.read(2) == GZIP_MAGIC:
            stream.seek(0)
            return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
        stream.seek(0)
        return stream
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror or error})") from None


def iter_chunks(stream: BinaryIO, path: Path, max_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> Iterator[bytes]:
    """The stream's bytes in chunks of :data:`CHUNK_BYTES`; a compressed stream stops at ``max_bytes``."""
    compressed = isinstance(stream, gzip.GzipFile)
    total = 0
    while True:
        try:
            chunk = stream.read(CHUNK_BYTES)
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            raise InputError(f"{path}: a broken gzip stream ({error or 'it ends too soon'})") from None
        except OSError as error:
            raise InputError(f"{path}: cannot be read ({error.strerror or error})") from None
        if not chunk:
            return
        total += len(chunk)
        if compressed and total > max_bytes:
            raise InputError(
                f"{path}: decompresses to more than {max_bytes:,} bytes; refused as a possible decompression "
                "bomb (raise the limit with --max-decompressed)"
            )
        yield chunk


@dataclass(frozen=True, slots=True)
class RootElement:
    """The document's root element as its start tag declares it."""

    namespace: str | None
    local_name: str
    attributes: dict[str, str]


def _sniff_encoding(head: bytes) -> str:
    """The encoding to read the prolog in, from a byte order mark or the first bytes."""
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    )
    for bom, name in boms:
        if head.startswith(bom):
            return name
    for prefix, name in (
        (b"<\0\0\0", "utf-32-le"),
        (b"\0\0\0<", "utf-32-be"),
        (b"<\0", "utf-16-le"),
        (b"\0<", "utf-16-be"),
    ):
        if head.startswith(prefix):
            return name
    # Markup characters are ASCII in every ASCII-compatible encoding, which is all
    # the prolog check needs to see.
    return "latin-1"


def prolog_verdict(head: bytes, complete: bool) -> bool | None:
    """Whether the prolog in ``head`` is free of a DOCTYPE, or None if more bytes are needed.

    Raises :class:`ValueError` naming the problem when the prolog declares a DOCTYPE,
    or when the document is in UTF-32, which libxml2 does not read.
    ``complete`` says that ``head`` holds the whole file.
    """
    encoding = _sniff_encoding(head)
    if encoding.startswith("utf-32"):
        raise ValueError(
            "the document is encoded in UTF-32, which mcfcheck cannot read; convert it to UTF-8 "
            "(for example with iconv -f UTF-32 -t UTF-8)"
        )
    text = head.decode(encoding, errors="replace")
    position = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n\ufeff":
            position += 1
        rest = text[position:]
        if rest.startswith("<!--"):
            end = rest.find("-->", 4)
            if end < 0:
                return True if complete else None
            position += end + 3
        elif rest.startswith("<?"):
            end = rest.find("?>", 2)
            if end < 0:
                return True if complete else None
            position += end + 2
        elif rest.startswith("<!") and len(rest) < len("<!DOCTYPE") and not complete:
            return None
        elif rest[:9].upper() == "<!DOCTYPE":
            raise ValueError("the document declares a DOCTYPE, which mcfcheck refuses to process")
        elif not rest and not complete:
            return None
        else:
            return True


def split_tag(tag: object) -> tuple[str | None, str]:
    """A tag's namespace and local name.

    Unlike ``etree.QName``, it accepts what libxml2 builds for an unbound prefix
    (``pre:name``, no namespace), which is not a valid name for lxml.
    """
    text = str(tag)
    if text.startswith("{") and "}" in text:
        namespace, local_name = text[1:].split("}", 1)
        return namespace, local_name
    return None, text


#: How much of the head the root's reading parses at a time: it stops at the root's start tag.
_ROOT_SLICE_BYTES: Final = 4096


def read_root(head: bytes) -> RootElement | None:
    """The root element of the document that starts with ``head``, or None if not yet in it.

    The head is parsed a slice at a time, up to the root's start tag: parsed whole (a
    megabyte), its tree was left in a reference cycle of some 20,000 elements that only a
    full collection frees, which mcfcheck's processes make rarely.
    """
    parser = secure_pull_parser(root_only=True)
    try:
        for start in range(0, len(head), _ROOT_SLICE_BYTES):
            parser.feed(head[start : start + _ROOT_SLICE_BYTES])
            for _event, element in parser.read_events():
                namespace, local_name = split_tag(element.tag)
                return RootElement(namespace, local_name, {str(k): str(v) for k, v in element.attrib.items()})
    except etree.XMLSyntaxError:
        # The main pass reports the syntax error with its place.
        return None
    return None


def describe_syntax_error(path: Path, error: etree.XMLSyntaxError) -> tuple[str, int | None, int | None]:
    """A one-line description of a well-formedness error, with its line and column."""
    line, column = error.position if error.position != (0, 0) else (None, None)
    message = str(error.msg or error).strip()
    # A few of libxml2's messages hold a line break of their own ("...range\n, line 1").
    message = message.replace("\n,", ",").replace("\n", " ")
    # libxml2 appends its own "(<string>, line N)" note; the place is given separately.
    if message.endswith(")") and ", line " in message:
        message = message[: message.rfind(" (")].rstrip()
    return message, line, column
