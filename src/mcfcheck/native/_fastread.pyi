"""Installations found and read on libxml2's tree in C (see _fastread.c)."""

from lxml import etree

from mcfcheck.rules.views import InstallationFields
from mcfcheck.schema.binding import PlanTuple

#: The lxml version the module was compiled against (it loads under that version only).
LXML_VERSION: str

def count_lines(data: bytes | bytearray | memoryview, /) -> int:
    """The line feeds in ``data`` (as ``data.count(b"\\n")``, many bytes at a time)."""

def line_feed_positions(data: bytes | bytearray | memoryview, /) -> bytes:
    """Where each line feed of ``data`` is, as native 4-byte unsigned integers (an ``array("I")``'s bytes)."""

def repeated_fingerprints(fingerprints: bytes | bytearray | memoryview, /) -> bytes:
    """The table of the fingerprints seen more than once; empty when none is.

    ``fingerprints`` holds native 4-byte unsigned integers. The table is a bitmap of the
    repeated fingerprints' low 20 bits (bit ``low & 7`` of byte ``low >> 3``, 128 KiB),
    then the repeated fingerprints, distinct and sorted, as native 4-byte integers.
    """

def repeated_positions(
    fingerprints: bytes | bytearray | memoryview, table: bytes | bytearray | memoryview, start: int, stop: int, /
) -> bytes:
    """The positions from ``start`` to ``stop`` (excluded) whose fingerprint is in ``table``, in order.

    As native 8-byte unsigned integers; ``table`` is made by :func:`repeated_fingerprints`.
    """

def held_identifiers(prefixes: tuple[bytes, ...], kinds: bytes, values: list[str], /) -> bytes:
    """For each value, its kind's number (a byte of ``kinds``) and the 8-byte BLAKE2b hash of
    ``prefixes[kind]`` followed by the value's UTF-8 bytes, one after the other: 9 bytes each."""

def fingerprints_in_range(fingerprints: bytes | bytearray | memoryview, low: int, high: int, /) -> bytes:
    """The fingerprints from ``low`` up to ``high`` (excluded), in their order (``high``: up to 2**32)."""

def fingerprints_at_most_twice(fingerprints: bytes | bytearray | memoryview, /) -> bytes:
    """The fingerprints sorted, each value kept at most twice (twice: it repeats)."""

def tune_allocator() -> bool:
    """Turn off glibc malloc's fast bins in this process (see _fastread.c); whether it did."""

class Plan:
    """A dialect's reading plan, in C structures for :func:`read_installation`.

    Made once from :meth:`mcfcheck.schema.binding.ReadingPlan.as_tuple`; its shape is
    checked here (TypeError for a wrong type, ValueError for a wrong value: a slot
    outside its reading, devices read into another slot than the list's, an action a
    device's tree may not have, a name that is empty or holds NUL or braces, two
    children of one node with one name, a tree deeper than 256 levels).
    """

    def __new__(cls, plan: PlanTuple, /) -> Plan: ...

def read_installation(element: etree._Element, plan: Plan, /) -> InstallationFields:
    """The installation's fields read by ``plan``, as :func:`mcfcheck.rules.views.read_installation_fields` reads them.

    The same values, the same types: texts as ``str`` (those the plan shares, one
    string per repeated value), lines as ``int``, the devices' elements as lxml's own
    proxies.
    """

class KeyBuffer:
    """A key store's occurrences in C: records written to ``fd``, their fingerprints to ``marks_fd``.

    Byte for byte what :class:`mcfcheck.rules.keys.KeyStore` records in Python: the
    record ``<IIB{value_bytes}s>`` (line, slot, length, value) and the CRC-32 of the
    value's UTF-8 bytes (a native 4-byte unsigned integer), both written once
    ``flush_bytes`` of records wait.
    """

    def __init__(self, fd: int, value_bytes: int, flush_bytes: int, marks_fd: int) -> None: ...
    def add(self, value: str, line: int, slot: int = 0, /) -> None:
        """Record an occurrence (slot: 0 to 2**32 - 1); a value longer than ``value_bytes`` (UTF-8) is skipped."""
    def flush(self) -> None:
        """Write the waiting records and fingerprints."""
    def waiting(self) -> bytes:
        """The fingerprints not written yet (native 4-byte unsigned integers): they follow those in ``marks_fd``."""
    def __len__(self) -> int:
        """How many occurrences were recorded."""

class RecordParser:
    """A push parser on libxml2 that reports each record element as its end is read.

    Its tree belongs to an lxml document; ``feed`` and ``close`` give the records (and,
    with ``padding_target``, the processing instructions of that target) completed
    since the last call, in document order. Beyond line 65,535 an element's
    ``sourceline`` is the line of its start tag, as below it, where libxml2's own tree
    builder places an element that holds others on the line its first text ends on.
    """

    def __init__(self, namespace: str | None, name: str, padding_target: str | None = None) -> None: ...
    def feed(self, data: bytes, /) -> list[etree._Element]: ...
    def close(self) -> list[etree._Element]: ...
    @property
    def root(self) -> etree._Element | None:
        """The document's root element, once it has been read."""
    @property
    def error(self) -> tuple[str, int, int, int] | None:
        """Why the parse failed (message, libxml2 error code, line, column); None while it has not."""

def cut_spans(
    data: bytes | bytearray | memoryview,
    position: int,
    record: bytes,
    ended: bool,
    counted: int,
    line: int,
    base: int,
    /,
) -> tuple[bytes, int, int, int, int]:
    """The installations (elements named ``record``, with any prefix) cut from ``data[position:]``.

    As :class:`mcfcheck.input.cut.Cutter` cuts them: returns ``(spans, position, status,
    counted, line)``. ``spans`` holds native 8-byte integers, three for each installation
    whose end is in ``data``: the line its start tag is on, and where it begins and ends
    (plus ``base``).
    ``status`` is 0 when more data is needed (the search goes on from ``position``), 1
    when the data (``ended``: no more comes) holds no more installations, -1 at a start
    tag that cannot be cut at (``/`` not followed by ``>``), -2 at an installation whose
    end tag is not found; ``position`` is then where that installation begins. Lines are
    counted from ``line``, the line position ``counted`` is on; the returned pair says
    where counting stopped.
    """
