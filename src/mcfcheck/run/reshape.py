"""Splitting an MCF into several and merging several into one (``mcfcheck split``, ``mcfcheck merge``).

Each input is first read as ``stats`` reads it (:mod:`mcfcheck.run.stats`: one streaming
parse, gzip, the guards against hostile input, large files in parts on every core),
with the reshape collector (:class:`mcfcheck.rules.reshape.ReshapeCollector`) beside the
statistics: through the file's binding, it notes each installation's line, devices,
reference, status, planned migration week and Device IDs, and the statistics give the
header. Then the input's bytes are read once more, in order, and cut at its
installations' start and end tags: each installation is copied byte for byte, never
re-serialised. Each cut is checked against the parse: the n-th installation found in the
bytes must start on the line the parser gave the n-th installation, or the file is
refused (a start tag in a comment or a CDATA section, say), so that what is copied is
exactly what the parser read as installations.

An output is the input's head (up to its first installation) with the file identifier
made unique, the installations, and the input's tail (from the end of its last
installation) with the trailer's totals recomputed: the binding says where the
identifier and the totals are.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final
from xml.sax.saxutils import escape

from mcfcheck.errors import InputError, McfcheckError
from mcfcheck.input.cut import PREFIX, Cutter
from mcfcheck.input.xml import open_input
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.keys import KeyStore
from mcfcheck.rules.registry import RuleRegistry
from mcfcheck.rules.reshape import RESHAPE_CODE, InstallationFacts, ReshapeCollector, ReshapeOutcome
from mcfcheck.rules.selection import Selection
from mcfcheck.rules.statistics import STATISTICS_CODE
from mcfcheck.run.stats import Reading, statistics_registry, statistics_settings

#: How ``split --by`` groups installations: the option's value, and the identifier suffix's word.
BY: Final = {"groupid": "group", "smso": "smso", "status": "status", "planned-migration-week": "week"}
#: The longest file identifier the bundled schema (and the inventory test dialect) admits.
MAX_IDENTIFIER: Final = 64
#: The header fields the inputs of a merge must agree on.
MERGE_FIELDS: Final = (("group_id", "GroupID"), ("smso", "SMSO"), ("supplier", "supplier"))


class RefusedError(McfcheckError):
    """The inputs can be read, but what they hold refuses the operation (duplicates in a merge): exit 1."""


@dataclass
class Surveyed:
    """What the first pass learnt of one input."""

    path: Path
    header: Mapping[str, str | None]
    outcome: ReshapeOutcome
    installations: int
    devices: int


def reshape_registry() -> RuleRegistry:
    """The collectors ``split`` and ``merge`` run: the statistics and the reshape collector."""
    return statistics_registry(ReshapeCollector)


def reshape_settings(settings: RuleSettings, staging: Path, identifiers: bool = True) -> RuleSettings:
    """``settings`` made to run the statistics and the reshape collector (writing in ``staging``) alone."""
    counting = statistics_settings(settings)
    return dataclasses.replace(
        counting,
        selection=Selection(select=(STATISTICS_CODE, RESHAPE_CODE)),
        options={**counting.options, RESHAPE_CODE: {"staging": str(staging), "identifiers": identifiers}},
    )


def survey(
    paths: Sequence[Path],
    settings: RuleSettings,
    reading: Reading,
    staging: Path,
    identifiers: bool = True,
    registry: RuleRegistry | None = None,
) -> list[Surveyed]:
    """Read each input once with the collectors; a file that cannot be read is an :class:`InputError`.

    ``settings`` are made to run the collectors alone (:func:`reshape_settings`), unless
    ``registry`` is given: then they run as they are, with ``registry``'s rules (the
    reshape collector must be among them and selected: ``extract``'s). Without the
    statistics among them, the header is not read and the totals are not counted (0).
    """
    if registry is None:
        settings, registry = reshape_settings(settings, staging, identifiers), reshape_registry()
    found: list[Surveyed] = []
    for count in reading.files(paths, settings, registry):
        if count.error is not None:
            raise InputError(count.error)
        outcome = count.outcomes.get(RESHAPE_CODE)
        statistics = count.statistics
        if not isinstance(outcome, ReshapeOutcome):
            raise InputError(f"{count.path}: no binding reads its installations")
        if statistics is None:
            found.append(Surveyed(Path(count.path), {}, outcome, 0, 0))
            continue
        totals = statistics.totals
        found.append(Surveyed(Path(count.path), statistics.header, outcome, totals.installations, totals.devices))
    return found


# -- Cutting the bytes ---------------------------------------------------------------------


@dataclass
class Cut:
    """An installation's bytes and the line it starts on."""

    line: int
    data: bytes


#: The last line up to which libxml2 places every element on the line of its start tag.
LXML_LAST_LINE: Final = 65535


def check_cut(path: Path, line: int, noted: int | None, before: int = 0) -> None:
    """The installation cut from the bytes on ``line`` must be the one the parser noted on line
    ``noted`` (None: the parser noted no more); ``before`` is the parser's line of the one before it
    (0 for the first).

    Beyond line 65,535, where installations are read through lxml's Python API
    (mcfcheck not compiled), libxml2 places an element that holds others on the line of
    its first child: the parser's line is then at or after the cut's, and the
    installation before it must be before the cut.
    """
    if noted is not None and (noted == line or (line > LXML_LAST_LINE and noted >= line and before < line)):
        return
    raise InputError(
        f"{path}: line {line}: what looks like an installation's start tag is not one the parser "
        "read (in a comment or a CDATA section?): the file cannot be cut byte for byte"
    )


def cuts(
    path: Path, surveyed: Surveyed, max_bytes: int
) -> tuple[bytes, Iterator[tuple[Cut, InstallationFacts, bytes]], list[bytes]]:
    """The head; each installation with its facts and the bytes after it; the tail (once the
    installations have all been taken, in ``tail[0]``).

    The n-th installation cut from the bytes must start on the n-th installation's line.
    """
    cutter = Cutter(path, surveyed.outcome.record, max_bytes)
    pieces = iter(cutter)
    first = next(pieces)
    tail: list[bytes] = []

    def installations() -> Iterator[tuple[Cut, InstallationFacts, bytes]]:
        facts = surveyed.outcome.facts()
        line, _before, data = first
        previous = 0
        while True:
            fact = next(facts, None)
            check_cut(path, line, fact.line if fact is not None else None, previous)
            assert fact is not None
            previous = fact.line
            following = next(pieces, None)
            if following is None:
                tail.append(cutter.tail)
                yield Cut(line, data), fact, b""
                if next(facts, None) is not None:
                    raise InputError(f"{path}: the parser read installations the bytes do not show")
                return
            yield Cut(line, data), fact, following[1]
            line, _before, data = following

    return cutter.head, installations(), tail


def _xml_text(value: str) -> bytes:
    """``value`` as character data in any ASCII-compatible encoding."""
    return escape(value).encode("ascii", "xmlcharrefreplace")


def _element(name: str) -> re.Pattern[bytes]:
    return re.compile(rb"<" + PREFIX + re.escape(name.encode("utf-8")) + rb"(?=[\s>/])[^>]*>")


def replace_at(data: bytes, place: tuple[str, ...], value: str, what: str) -> bytes:
    """``data`` with the text (or attribute) at ``place`` (a container's name, then the path in it) set to ``value``."""
    position = 0
    tag: re.Match[bytes] | None = None
    *elements, last = place
    steps = elements if last.startswith("@") else [*elements, last]
    for step in steps:
        tag = _element(step).search(data, position)
        if tag is None:
            raise InputError(f"cannot find {what} ({'/'.join(place)}) to set it")
        position = tag.end()
    assert tag is not None
    if last.startswith("@"):
        attribute = re.compile(rb"(\s" + re.escape(last[1:].encode("utf-8")) + rb"\s*=\s*)(\"[^\"]*\"|'[^']*')")
        found = attribute.search(data, tag.start(), tag.end())
        if found is None:
            raise InputError(f"cannot find {what} ({'/'.join(place)}) to set it")
        return data[: found.start(2)] + b'"' + _xml_text(value).replace(b'"', b"&quot;") + b'"' + data[found.end(2) :]
    if tag.group().endswith(b"/>"):
        raise InputError(f"{what} ({'/'.join(place)}) is empty: cannot set it")
    closing = data.find(b"<", tag.end())
    if closing < 0:
        raise InputError(f"cannot find {what} ({'/'.join(place)}) to set it")
    return data[: tag.end()] + _xml_text(value) + data[closing:]


def with_identifier(head: bytes, surveyed: Surveyed, identifier: str | None) -> bytes:
    place = surveyed.outcome.places.get("file_identifier")
    if identifier is None or place is None:
        return head
    try:
        return replace_at(head, place, identifier, "the file identifier")
    except InputError as error:
        raise InputError(f"{surveyed.path}: {error}") from None


def with_totals(tail: bytes, surveyed: Surveyed, installations: int, devices: int) -> bytes:
    places = surveyed.outcome.places
    for concept, value, what in (
        ("installation_count", installations, "the trailer's installation count"),
        ("device_count", devices, "the trailer's device count"),
    ):
        place = places.get(concept)
        if place is not None:
            try:
                tail = replace_at(tail, place, str(value), what)
            except InputError as error:
                raise InputError(f"{surveyed.path}: {error}") from None
    return tail


def suffixed(identifier: str | None, suffix: str) -> str | None:
    """``identifier`` with ``suffix``, cut to :data:`MAX_IDENTIFIER` characters (the suffix kept whole)."""
    if identifier is None:
        return None
    return identifier[: max(MAX_IDENTIFIER - len(suffix), 0)] + suffix


def _slug(value: str | None) -> str:
    if value is None:
        return "none"
    slug = re.sub(r"[^A-Za-z0-9_.\-]+", "_", value).strip("_")
    return slug or "none"


# -- Split ---------------------------------------------------------------------------------


@dataclass
class _Part:
    name: str
    suffix: str
    stream: BinaryIO
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    installations: int = 0
    devices: int = 0
    pending: bytes = b""
    identifier: str | None = None

    def write(self, data: bytes) -> None:
        self.stream.write(data)
        self.digest.update(data)


@dataclass(frozen=True)
class SplitPart:
    """One part written by :func:`split_file`."""

    path: str
    file_identifier: str | None
    installations: int
    devices: int
    sha256: str


def split_file(
    path: Path,
    settings: RuleSettings,
    reading: Reading,
    folder: Path,
    max_installations: int | None = None,
    parts: int | None = None,
    by: str | None = None,
    keep_identifier: bool = False,
) -> list[SplitPart]:
    """Split ``path`` into MCFs in ``folder`` (which exists): at most ``max_installations`` each, or
    ``parts`` of as even sizes as can be, or one per value of ``by`` (:data:`BY`), in order of
    first appearance. Writes ``manifest.json`` too; returns the parts.
    """
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    try:
        (surveyed,) = survey([path], settings, reading, staging, identifiers=False)
        total = surveyed.installations
        if total == 0:
            raise InputError(f"{path}: holds no installation: nothing to split")
        stem = path.name.removesuffix(".gz").removesuffix(".xml")
        extension = ".xml"
        header = surveyed.header
        open_parts: dict[object, _Part] = {}
        order: list[_Part] = []
        head, installations, tail = cuts(path, surveyed, reading.max_decompressed)

        def key_of(index: int, fact: InstallationFacts) -> tuple[object, str]:
            if max_installations is not None:
                number = index // max_installations
                return number, f"-part-{number + 1:04d}"
            if parts is not None:
                number = index * parts // total
                return number, f"-part-{number + 1:04d}"
            assert by is not None
            value = {
                "groupid": header.get("group_id"),
                "smso": header.get("smso"),
                "status": fact.status,
                "planned-migration-week": fact.week,
            }[by]
            return value, f"-{BY[by]}-{_slug(value)}"

        last: _Part | None = None
        for index, (piece, fact, after) in enumerate(installations):
            key, suffix = key_of(index, fact)
            part = open_parts.get(key)
            if part is None:
                if last is not None and by is None:
                    # Parts of consecutive installations: the previous one is complete but for its tail.
                    open_parts.pop(next(iter(open_parts))).stream.close()
                name = f"{stem}{suffix}{extension}"
                identifier = None if keep_identifier else suffixed(header.get("file_identifier"), suffix)
                part = _Part(name, suffix, (folder / name).open("wb"), identifier=identifier)
                part.write(with_identifier(head, surveyed, identifier))
                open_parts[key] = part
                order.append(part)
            else:
                part.write(part.pending)
            part.write(piece.data)
            part.pending = after
            part.installations += 1
            part.devices += fact.devices
            last = part
        for part in order:
            if part.stream.closed:
                part.stream = (folder / part.name).open("ab")
            part.write(with_totals(tail[0], surveyed, part.installations, part.devices))
            part.stream.close()
        written = [
            SplitPart(part.name, part.identifier, part.installations, part.devices, part.digest.hexdigest())
            for part in order
        ]
        manifest = {
            "input": str(path),
            "installations": total,
            "devices": surveyed.devices,
            "parts": [dataclasses.asdict(part) for part in written],
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# -- Merge ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Merged:
    """What :func:`merge_files` wrote: installations and devices, from how many inputs."""

    installations: int
    devices: int
    inputs: int


_DECLARATION: Final = re.compile(rb"""\sxmlns(?::[\w.\-]+)?\s*=\s*(?:"[^"]*"|'[^']*')""")


def _declarations(path: Path, record: str) -> frozenset[bytes]:
    """The namespace declarations before a file's first installation (in its first 64 KB)."""
    with open_input(path) as stream:
        head = stream.read(1 << 16)
    first = re.search(rb"<" + PREFIX + re.escape(record.encode("ascii")) + rb"[\s>/]", head)
    if first is not None:
        head = head[: first.start()]
    return frozenset(re.sub(rb"\s+", b" ", found.group()).strip() for found in _DECLARATION.finditer(head))


def _disagreement(found: Sequence[Surveyed]) -> str | None:
    for concept, label in MERGE_FIELDS:
        values: dict[str | None, list[str]] = {}
        for surveyed in found:
            values.setdefault(surveyed.header.get(concept), []).append(str(surveyed.path))
        if len(values) > 1:
            said = "; ".join(
                f"{value if value is not None else '(none)'} in {', '.join(files)}" for value, files in values.items()
            )
            return f"the headers disagree on {label}: {said}"
    return None


def _duplicates(found: Sequence[Surveyed], staging: Path, report: Callable[[str], None]) -> int:
    """Report each installation reference and Device ID held by two inputs; how many."""
    references, devices = KeyStore(staging), KeyStore(staging)
    try:
        for slot, surveyed in enumerate(found):
            for fact in surveyed.outcome.facts():
                if fact.reference is not None:
                    references.add(fact.reference, fact.line, slot)
                for device_id in fact.device_ids:
                    devices.add(device_id, fact.line, slot)
        count = 0
        for what, store in (("installation reference", references), ("Device ID", devices)):
            for duplicate in store.duplicates():
                first, again = duplicate.first, duplicate.again
                if first.slot == again.slot:
                    continue
                count += 1
                report(
                    f"{what} {duplicate.value}: in {found[first.slot].path} (line {first.line}) "
                    f"and {found[again.slot].path} (line {again.line})"
                )
        return count
    finally:
        references.close()
        devices.close()


def merge_files(
    paths: Sequence[Path],
    settings: RuleSettings,
    reading: Reading,
    output: BinaryIO,
    scratch: Path,
    allow_duplicates: bool = False,
    identifier: str | None = None,
    report: Callable[[str], None] = lambda _message: None,
) -> Merged:
    """Write one MCF from ``paths`` to ``output``: the first input's head (with ``identifier`` as its file
    identifier, where given), every input's installations in order, the first input's tail with the totals.

    Headers that disagree on GroupID, SMSO or supplier are an :class:`McfcheckError`; an
    installation reference or Device ID in two inputs is told to ``report``, and, unless
    ``allow_duplicates``, a :class:`RefusedError` (before anything is written).
    """
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=scratch))
    try:
        found = survey(paths, settings, reading, staging)
        mismatch = _disagreement(found)
        if mismatch is not None:
            raise McfcheckError(f"cannot merge: {mismatch}")
        records = {surveyed.outcome.record for surveyed in found}
        if len(records) > 1:
            raise McfcheckError(f"cannot merge: the inputs are of different dialects ({', '.join(sorted(records))})")
        duplicates = _duplicates(found, staging, report)
        if duplicates and not allow_duplicates:
            raise RefusedError(
                f"cannot merge: {duplicates} installation reference(s) or Device ID(s) in two inputs "
                "(give --allow-duplicates to merge all the same)"
            )
        first = found[0]
        declared: dict[frozenset[bytes], list[str]] = {}
        for surveyed in found:
            declared.setdefault(_declarations(surveyed.path, surveyed.outcome.record), []).append(str(surveyed.path))
        if len(declared) > 1:
            said = "; ".join(", ".join(files) for files in declared.values())
            raise McfcheckError(
                f"cannot merge: the inputs declare their namespaces differently ({said}): "
                "installations copied byte for byte would change meaning"
            )
        installations = sum(surveyed.installations for surveyed in found)
        devices = sum(surveyed.devices for surveyed in found)
        separator: bytes | None = None
        first_tail = b""
        for number, surveyed in enumerate(found):
            head, pieces, tail = cuts(surveyed.path, surveyed, reading.max_decompressed)
            if number == 0:
                output.write(with_identifier(head, first, identifier))
            indentation = head[head.rfind(b"\n") :] if b"\n" in head else b"\n"
            pending: bytes | None = None
            for piece, _fact, after in pieces:
                if pending is not None:
                    output.write(pending)
                elif number > 0:
                    output.write(separator if separator is not None else indentation)
                output.write(piece.data)
                pending = after
                if separator is None and after:
                    separator = after
            if number == 0:
                first_tail = tail[0]
        output.write(with_totals(first_tail, first, installations, devices))
        return Merged(installations, devices, len(found))
    finally:
        for surveyed in locals().get("found", []):
            surveyed.outcome.remove()
        shutil.rmtree(staging, ignore_errors=True)
