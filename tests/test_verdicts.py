"""Verdicts that libxml2 validating the whole document would give, in parts or not.

Each test reproduces a case where mcfcheck's verdict once differed from the reference
(``lxml.etree.XMLSchema`` on the whole document, which is libxml2's, as ``xmllint
--schema`` is), or where ``--jobs 2`` differed from ``--jobs 1``.
"""

from __future__ import annotations

import dataclasses
import multiprocessing.util
import re
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

import mcfcheck
from mcfcheck.check import spool
from mcfcheck.check.file import FileCheck
from mcfcheck.findings import FileReport, Finding
from mcfcheck.generate import MCFGenerator
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.registry import load_registry
from mcfcheck.run import batch
from mcfcheck.run.parts import ParallelFileCheck, worker_pool

from .conftest import SAMPLES, SCHEMAS

RULES = (load_registry(), RuleSettings())
#: Parts this small split a generated file of a few hundred installations in several.
PART_BYTES = 40_000
SAMPLE = (SAMPLES / "cb-valid.xml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with worker_pool(2) as executor:
        yield executor


def reference_lines(text: str) -> list[int]:
    """The lines of libxml2's errors validating the whole document (empty: valid)."""
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "mcf-1.0.xsd")))
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    if schema.validate(etree.fromstring(text.encode("utf-8"), parser)):
        return []
    return sorted(entry.line for entry in schema.error_log)


def schema_lines(path: Path) -> list[int]:
    report = mcfcheck.validate(path, rules=False)
    assert report.error is None
    return [finding.location.line or 0 for finding in report.findings]


def _ends(text: str) -> list[int]:
    return [match.end() for match in re.finditer("</Installation>", text)]


def _insert(text: str, at: int, what: str) -> str:
    return text[:at] + what + text[at:]


def _generated(installations: int = 300, seed: int = 3) -> str:
    return "".join(MCFGenerator(builtin_cohorts()["CB"], seed=seed).iter_text(installations))


def _single_and_parts(
    path: Path, pool: ProcessPoolExecutor, in_parts: bool | None = None
) -> tuple[list[Finding], list[Finding]]:
    """The findings of a single pass, and of ``--jobs 2`` (validated in parts, or not, as ``in_parts`` says)."""
    single = list(FileCheck(path, rules=RULES))
    check = ParallelFileCheck(path, lambda: pool, 2, rules=RULES, part_bytes=PART_BYTES)
    parts = list(check)
    if in_parts is not None:
        assert check.parallel is in_parts
    return single, parts


@pytest.mark.parametrize("content", ["junk", "<![CDATA[x]]>", "&#65;", "<!-- note -->junk", "\u00a0"])
@pytest.mark.parametrize("after", [0, 1, -1], ids=["first", "second", "last"])
def test_character_content_after_an_installation_is_reported(tmp_path: Path, content: str, after: int) -> None:
    """``</Installation>junk`` was judged valid: the text went with the released installation.

    libxml2 reports it at the start tag of the element holding the installations.
    """
    text = _insert(SAMPLE, _ends(SAMPLE)[after], content)
    path = tmp_path / "content.xml"
    path.write_text(text, encoding="utf-8")
    expected = reference_lines(text)
    assert expected == [13]
    report = mcfcheck.validate(path, rules=False)
    assert [(finding.code, finding.location.line) for finding in report.findings] == [("XSD002", 13)]
    assert "Character content other than whitespace" in report.findings[0].message


@pytest.mark.parametrize("content", ["<![CDATA[ ]]>", "&#32;", "<!-- note -->", "<?note?>", "\r\n"])
def test_white_space_and_markup_between_installations_stay_valid(tmp_path: Path, content: str) -> None:
    text = _insert(SAMPLE, _ends(SAMPLE)[1], content)
    path = tmp_path / "blank.xml"
    path.write_text(text, encoding="utf-8")
    assert reference_lines(text) == []
    assert schema_lines(path) == []


@pytest.mark.parametrize("where", ["container", "first part", "later part", "last installation"])
def test_character_content_among_installations_is_found_in_parts(
    tmp_path: Path, pool: ProcessPoolExecutor, where: str
) -> None:
    """Text right after ``<Installations>`` in a file over 8 MiB: ``--jobs 2`` said valid, ``--jobs 1`` invalid."""
    text = _generated()
    ends = _ends(text)
    at = {
        "container": text.index("<Installations>") + len("<Installations>"),
        "first part": ends[3],
        "later part": ends[len(ends) * 3 // 4],
        "last installation": ends[-1],
    }[where]
    path = tmp_path / "content.xml"
    path.write_text(_insert(text, at, "junk"), encoding="utf-8")
    single, parts = _single_and_parts(path, pool)
    assert parts == single
    assert [finding.code for finding in single if "Character content" in finding.message] == ["XSD002"]


@pytest.mark.parametrize("target", ["mcfcheck-padding", "mcfcheck-padding-0123456789abcdef0123456789abcdef"])
@pytest.mark.parametrize("place", ["in a value", "between installations", "in the container"])
def test_a_padding_instruction_written_by_the_input_is_the_input_s(
    tmp_path: Path, pool: ProcessPoolExecutor, target: str, place: str
) -> None:
    """``<MPANCore>BAD<?mcfcheck-padding?>1088725524746</MPANCore>`` was valid with ``--jobs 2``.

    The parts' padding was told apart by its processing instructions' target, which the
    input could write too: the text before it was dropped. Each run's target is now random.
    """
    text = _generated()
    mpans = re.findall(r"<MPANCore>(\d{13})</MPANCore>", text)
    late = mpans[len(mpans) * 3 // 4]
    instruction = f"<?{target}?>"
    if place == "in a value":
        text = text.replace(f"<MPANCore>{late}<", f"<MPANCore>BAD{instruction}{late}<")
    elif place == "between installations":
        text = _insert(text, _ends(text)[len(mpans) * 3 // 4], "junk" + instruction)
    else:
        text = text.replace("<Installations>", f"<Installations>{instruction}junk")
    path = tmp_path / "padding.xml"
    path.write_text(text, encoding="utf-8")
    single, parts = _single_and_parts(path, pool)
    assert parts == single
    assert single
    assert sorted({finding.location.line or 0 for finding in single}) == sorted(set(reference_lines(text)))


@pytest.mark.parametrize("into", ["Header", "Trailer", "MeterPoints", "Devices"])
def test_a_misplaced_installation_is_only_not_expected(tmp_path: Path, into: str) -> None:
    """An Installation moved into the header, the trailer or another element got findings inside it.

    libxml2 stops at the first "not expected" and looks no further into that element;
    an installation nested in another is validated with it (and found not expected there).
    """
    start = SAMPLE.index("<Installation>")
    installation = SAMPLE[start : _ends(SAMPLE)[0]].replace("Active", "Bogus").replace("<MPRN>", "<MPRN>X")
    closing = SAMPLE.index(f"</{into}>", start if into in ("MeterPoints", "Devices") else 0)
    text = _insert(SAMPLE, closing, installation)
    path = tmp_path / "misplaced.xml"
    path.write_text(text, encoding="utf-8")
    report = mcfcheck.validate(path, rules=False)
    assert [finding.location.line for finding in report.findings] == reference_lines(text)
    assert {finding.code for finding in report.findings} == {"XSD002"}


def test_findings_come_in_file_order(tmp_path: Path) -> None:
    """Header, trailer and structure findings came after every installation's (line 18 printed before line 8)."""
    text = SAMPLE.replace("<TMADVersion>2.0</TMADVersion>", "<TMADVersion>two</TMADVersion>")
    text = text.replace("<Status>Active</Status>", "<Status>Bogus</Status>", 1)
    text = text.replace("<DeviceCount>", "<Unknown/><DeviceCount>")
    text = _insert(text, _ends(text)[1], "<Unexpected/>")
    path = tmp_path / "order.xml"
    path.write_text(text, encoding="utf-8")
    for check in (FileCheck(path), FileCheck(path, rules=RULES)):
        lines = [finding.location.line or 0 for finding in check]
        assert lines == sorted(lines)
        assert len(lines) >= 4


def test_findings_come_in_file_order_in_parts(tmp_path: Path, pool: ProcessPoolExecutor) -> None:
    text = _generated().replace("<TMADVersion>2.0</TMADVersion>", "<TMADVersion>two</TMADVersion>")
    text = re.sub(r"<Status>Active</Status>", "<Status>Bogus</Status>", text, count=40)
    path = tmp_path / "order.xml"
    path.write_text(text, encoding="utf-8")
    single, parts = _single_and_parts(path, pool, in_parts=True)
    assert parts == single
    schema_findings = [finding.location.line or 0 for finding in single if finding.code.startswith("XSD")]
    assert schema_findings == sorted(schema_findings)
    assert len(schema_findings) == 41


def test_an_attribute_on_an_element_of_simple_type_is_an_attribute_finding(tmp_path: Path) -> None:
    """An unknown attribute on a simple-typed element was XSD000, where the README documents XSD003."""
    path = tmp_path / "attribute.xml"
    path.write_text(SAMPLE.replace("<Status>Active", '<Status note="x">Active', 1), encoding="utf-8")
    (finding,) = mcfcheck.validate(path, rules=False).findings
    assert finding.code == "XSD003"
    assert "attribute 'note'" in finding.message


@pytest.mark.parametrize(
    "where", ["first on the container's line", "first after CR line ends", "one more in the trailer"]
)
def test_an_installation_in_every_part_s_head_or_tail_is_counted_once(
    tmp_path: Path, pool: ProcessPoolExecutor, where: str
) -> None:
    """An installation that is not at the start of a line before the first split point was in every part.

    With the head's lines ending in CR alone (or the first installation on the
    container's line), the first split point fell at the second installation: the
    first was counted, and its identifiers recorded, in every part.
    """
    text = _generated()
    start = text.index("<Installation>")
    if where == "first on the container's line":
        text = text[: text.index("<Installations>") + len("<Installations>")] + text[start:]
    elif where == "first after CR line ends":
        text = text[:start].replace("\n", "\r") + text[start:]
    else:
        first = text[start : _ends(text)[0]]
        text = text.replace("<DeviceCount>", first + "<DeviceCount>")
    path = tmp_path / "head.xml"
    path.write_text(text, encoding="utf-8")
    whole = FileCheck(path, rules=RULES)
    single = list(whole)
    check = ParallelFileCheck(path, lambda: pool, 2, rules=RULES, part_bytes=PART_BYTES)
    assert list(check) == single
    assert check.installations == whole.installations
    assert not [finding for finding in single if finding.code in ("GEN010", "GEN011")]


class _Collected:
    """A report sink that keeps the findings (small runs only)."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def start(self) -> None: ...
    def file_started(self, path: str) -> None: ...
    def finish(self) -> None: ...

    def finding(self, finding: Finding) -> None:
        self.findings.append(finding)

    def file_finished(self, report: FileReport) -> None: ...


def test_a_batch_hands_back_a_whole_file_s_findings_spooled_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file validated whole by a worker in a batch once came back as a list of every finding.

    Its findings now wait in a spool (in memory up to a batch, then on disk); the parent
    reads them in order and removes the spool's file.
    """
    # multiprocessing makes its own folder (pymp-…) once a process, where TMPDIR says at the
    # time, and removes it when the process ends: made here first, it is not this test's.
    multiprocessing.util.get_temp_dir()
    monkeypatch.setattr(spool, "SPOOL_BATCH", 50)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)
    text = _generated(installations=60)
    text = re.sub(r"<Status>Active</Status>", "<Status>Bogus</Status>", text)
    text = re.sub(r"<Model>[^<]*</Model>", "<Model></Model>", text)
    many, other = tmp_path / "many.xml", tmp_path / "other.xml"
    many.write_text(text, encoding="utf-8")
    other.write_text(SAMPLE, encoding="utf-8")
    single = list(FileCheck(many, rules=RULES))
    assert len(single) > 3 * 50
    sink = _Collected()
    status = batch.validate_files([many, other], sink, rules=RULES, jobs=2)
    assert status == batch.ExitStatus.FINDINGS
    assert sink.findings == single
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("folder", [False, True])
def test_a_spool_gives_back_its_findings_in_order_from_memory_and_disk(tmp_path: Path, folder: bool) -> None:
    sample = mcfcheck.validate(SAMPLES / "mpan-format-invalid.xml").findings[0]
    findings = [dataclasses.replace(sample, message=f"finding {number}") for number in range(23)]
    spooled = spool.FindingSpool(tmp_path if folder else None, batch=5)
    for number, finding in enumerate(findings):
        spooled.add(number, finding)
    if folder:
        exported = spooled.export()
        assert exported.path is not None
        assert exported.path.parent == tmp_path
        assert [finding for _anchor, finding in exported] == findings
        assert len(exported.last) == 3
    else:
        # An anonymous temporary file: gone from the folder as soon as made, released on close.
        assert spooled._file is not None
        assert [(anchor, finding) for anchor, finding in spooled] == list(enumerate(findings))
        spooled.close()
        assert spooled._file is None
        assert list(spooled) == []


def test_a_finding_without_a_line_is_reported_once_in_parts(tmp_path: Path, pool: ProcessPoolExecutor) -> None:
    """The header moved into the first installation: COH001 (no GroupID, so no line) was lost in parts.

    Found by the differential test: a finding with no line was owned by no part.
    """
    text = _generated()
    header = text[text.index("<Header>") : text.index("</Header>") + len("</Header>")]
    reference = re.search(r"<InstallationReference>[^<]*</InstallationReference>", text)
    assert reference is not None
    text = text.replace(header, reference[0], 1)
    text = text.replace(reference[0], header, 2).replace(header, reference[0], 1)
    path = tmp_path / "header.xml"
    path.write_text(text, encoding="utf-8")
    single, parts = _single_and_parts(path, pool)
    assert parts == single
    assert [finding.location.line for finding in single if finding.code == "COH001"] == [None]
