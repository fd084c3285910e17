"""mcfcheck's own push parser finds the records lxml's pull parser finds, and fails where it fails."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from mcfcheck.check.file import FileCheck
from mcfcheck.errors import McfcheckError
from mcfcheck.findings import Finding
from mcfcheck.generate import MCFGenerator, PlantedKind
from mcfcheck.input import xml as xmlinput
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.registry import load_registry

from .conftest import SAMPLES
from .test_fuzz import mutated

if os.environ.get("MCFCHECK_BUILD") in ("plain", "mypyc"):
    # make compile could not build the C module here: test_native checks that it says so.
    pytest.skip("mcfcheck's C module was not built", allow_module_level=True)

from mcfcheck.native._fastread import RecordParser

NAMESPACE = "urn:mcfcheck:mcf"
RECORD = f"{{{NAMESPACE}}}Installation"
RULES = (load_registry(), RuleSettings())
MB = 1 << 20


def test_validation_uses_the_native_parser_where_it_was_built() -> None:
    assert xmlinput.NATIVE_PARSER
    assert isinstance(xmlinput.record_source(RECORD, padding=None), xmlinput._NativeSource)


#: Every finding a check yields, the error that stops it, and the installations checked.
Outcome = tuple[list[Finding], str | None, int]


def _outcome(path: Path) -> Outcome:
    """Every finding a check yields, the error that stops it, and the installations checked."""
    check = FileCheck(path, rules=RULES)
    findings: list[Finding] = []
    error = None
    try:
        for finding in check:
            findings.append(finding)
    except McfcheckError as problem:
        error = str(problem)
    return findings, error, check.installations


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Outcome, Outcome]:
    native = _outcome(path)
    with monkeypatch.context() as patch:
        patch.setattr(xmlinput, "_RECORD_PARSER", None)
        assert isinstance(xmlinput.record_source(RECORD, padding=None), xmlinput._PullSource)
        pulled = _outcome(path)
    return native, pulled


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.xml")), ids=lambda path: path.name)
def test_samples_get_the_same_findings(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    native, pulled = _both(sample, monkeypatch)
    assert native == pulled


@pytest.mark.parametrize("cohort", sorted(builtin_cohorts()))
def test_generated_files_get_the_same_findings(tmp_path: Path, cohort: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "file.xml"
    planted = dict(enumerate(PlantedKind, start=2))
    MCFGenerator(builtin_cohorts()[cohort], seed=11, error_rate=0.2, planted_at=planted).write(path, 80)
    native, pulled = _both(path, monkeypatch)
    assert native == pulled
    findings, error, installations = native
    assert error is None
    assert installations == 80
    assert {finding.code for finding in findings} >= {"XSD001", "XSD002"}


def _undeclared_entity(error: str | None) -> bool:
    # lxml ignores libxml2's report of an undeclared entity and parses on without
    # building the tree (what it then says depends on where the chunks begin); the
    # native parser stops there and names the entity.
    return error is not None and "Entity '" in error and "' not defined" in error


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutated())
def test_damaged_files_get_the_same_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes) -> None:
    path = tmp_path / "mutated.xml"
    path.write_bytes(content)
    native, pulled = _both(path, monkeypatch)
    if _undeclared_entity(native[1]):
        assert pulled[1] is not None
        assert native[0] == pulled[0][: len(native[0])]
    else:
        assert native == pulled


def test_an_undeclared_entity_is_named(tmp_path: Path) -> None:
    path = tmp_path / "entity.xml"
    text = (SAMPLES / "cb-valid.xml").read_text()
    path.write_text(text.replace("<Status>Active</Status>", "<Status>&foo;</Status>", 1))
    _findings, error, installations = _outcome(path)
    assert error is not None
    assert "not well-formed XML: Entity 'foo' not defined" in error
    assert error.startswith(f"{path}:")
    assert installations == 0


def _records(parser: RecordParser, data: bytes, step: int) -> list[etree._Element]:
    found: list[etree._Element] = []
    for start in range(0, len(data), step):
        found += parser.feed(data[start : start + step])
    found += parser.close()
    assert parser.error is None
    return found


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=5000))
def test_records_do_not_depend_on_where_chunks_begin(step: int) -> None:
    data = (SAMPLES / "cb-valid.xml").read_bytes()
    whole = _records(RecordParser(NAMESPACE, "Installation"), data, len(data))
    parts = _records(RecordParser(NAMESPACE, "Installation"), data, step)
    assert len(whole) == 4
    assert [(record.sourceline, etree.tostring(record)) for record in whole] == [
        (record.sourceline, etree.tostring(record)) for record in parts
    ]


def test_records_come_in_the_order_they_end() -> None:
    document = (
        b"<?pad before?><r xmlns='urn:a' xmlns:b='urn:b'><x>1</x><x><x>2</x><?pad inner?></x>"
        b"<b:x>other</b:x><y><x/></y><?other?><?pad last?></r>"
    )
    parser = RecordParser("urn:a", "x", "pad")
    found = _records(parser, document, len(document))
    pulled = etree.XMLPullParser(events=("end", "pi"), tag=["{urn:a}x", etree.PI])
    pulled.feed(document)
    pulled.close()
    expected = [
        node
        for _, node in pulled.read_events()
        if not isinstance(node, etree._ProcessingInstruction) or node.target == "pad"
    ]
    assert [etree.tostring(node) for node in found] == [etree.tostring(node) for node in expected]
    assert [node.text for node in found if isinstance(node, etree._ProcessingInstruction)] == [
        "before",
        "inner",
        "last",
    ]
    root = parser.root
    assert root is not None
    assert root.tag == "{urn:a}r"
    # The records are elements of the document lxml now owns.
    assert found[1].getparent() is root
    assert found[1].getroottree().getroot() is root


def test_records_without_a_namespace() -> None:
    document = b"<r><x a='1'/><x xmlns='urn:a'/><x a='2'/></r>"
    found = _records(RecordParser(None, "x"), document, 5)
    assert [node.get("a") for node in found] == ["1", "2"]


#: Lines libxml2 keeps in a node's own 16-bit field; beyond, it finds them from text nodes.
LINE_FIELD = 65_535
#: Blank lines put before a document's root to move all of it beyond that field.
PADDING = 70_000

_blanks = st.sampled_from(["\n", "\n  ", "\n\n    ", " ", "\t\n"])
_start_tags = st.sampled_from(["<a>", "<a k='1'>", "<a\n   k='1'>", "<b\n>"])
_leaves = st.one_of(
    st.sampled_from(["<c/>", "<c></c>", "<c\n/>"]),
    st.builds(lambda text: f"<c>{text}</c>", st.text(alphabet="xy \n", min_size=1, max_size=6)),
)


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """An element whose children each follow a blank, as in a file printed with indentation."""
    return st.builds(
        lambda start, inner, end: start + "".join(blank + child for blank, child in inner) + end + start[1:2] + ">",
        _start_tags,
        st.lists(st.tuples(_blanks, children), min_size=1, max_size=3),
        _blanks.map(lambda blank: blank + "</"),
    )


_trees = st.recursive(_leaves, _element, max_leaves=8)
_documents = st.lists(_element(_trees).map(lambda record: "<x" + record[2:-2] + "x>"), min_size=1, max_size=3).map(
    lambda records: "<r>" + "".join(f"\n  {record}" for record in records) + "\n</r>"
)


def _lines(records: list[etree._Element], offset: int = 0) -> list[list[tuple[str, int | None]]]:
    return [[(str(node.tag), (node.sourceline or 0) - offset) for node in record.iter()] for record in records]


@settings(max_examples=150, deadline=None)
@given(_documents, st.integers(min_value=1, max_value=200))
def test_lines_beyond_65535_are_the_lines_below_it_shifted(document: str, step: int) -> None:
    # The same document, moved beyond the 16-bit field by blank lines before its root:
    # every element's line is the line libxml2 gives it below the field, moved as much.
    data = document.encode()
    below = _records(RecordParser(None, "x"), data, len(data))
    beyond = _records(RecordParser(None, "x"), b"\n" * PADDING + data, step)
    assert min(node.sourceline or 0 for record in beyond for node in record.iter()) > LINE_FIELD
    assert _lines(beyond, PADDING) == _lines(below)


def test_lines_beyond_65535_are_those_of_the_start_tags(tmp_path: Path) -> None:
    path = tmp_path / "long.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=3).write(path, 1_500)
    data = path.read_bytes()
    lines = data.decode().split("\n")
    found = _records(RecordParser(NAMESPACE, "Installation"), data, MB)
    assert found[-1].sourceline is not None
    assert found[-1].sourceline > LINE_FIELD
    for record in found[-20:]:
        for node in record.iter():
            assert node.sourceline is not None
            name = etree.QName(node).localname
            assert lines[node.sourceline - 1].lstrip().startswith(f"<{name}>"), (name, node.sourceline)
    # Each element beyond the field, once; below it, as lxml's parser has them.
    pulled = [element for _, element in etree.iterparse(str(path), tag=RECORD)]
    assert [record.sourceline for record in found[:30]] == [record.sourceline for record in pulled[:30]]


def test_a_failed_parse_stays_failed() -> None:
    document = b"<r xmlns='urn:mcfcheck:mcf'><Installation/><Installation></r>"
    parser = RecordParser(NAMESPACE, "Installation")
    assert parser.root is None
    assert parser.feed(document) != []
    assert parser.error is not None
    message, code, line, column = parser.error
    with pytest.raises(etree.XMLSyntaxError) as raised:
        etree.fromstring(document)
    assert message == raised.value.msg.split(", line ")[0]
    assert message.startswith("Opening and ending tag mismatch")
    assert (code, line, column) == (raised.value.code, *raised.value.position)
    assert parser.feed(b"<Installation/>") == []
    assert parser.close() == []
    assert parser.error[0] == message


def test_the_end_of_the_document_is_checked() -> None:
    parser = RecordParser(NAMESPACE, "Installation")
    assert len(parser.feed(b"<r xmlns='urn:mcfcheck:mcf'><Installation/>")) == 1
    assert parser.error is None
    assert parser.close() == []
    assert parser.error is not None
    assert parser.error[0].startswith("Premature end of data")


def test_parsers_leak_nothing() -> None:
    def resident_kb() -> int:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024

    data = (SAMPLES / "cb-valid.xml").read_bytes()
    broken = data[: len(data) // 2] + b"</Nope>"

    def parse_many() -> None:
        for _ in range(2_000):
            for document in (data, broken):
                parser = RecordParser(NAMESPACE, "Installation")
                parser.feed(document)
                parser.close()

    parse_many()
    before = resident_kb()
    parse_many()
    assert resident_kb() - before < 2_048


def test_a_finding_beyond_65535_on_an_element_holding_others_has_its_tag_s_line(tmp_path: Path) -> None:
    path = tmp_path / "long.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=3).write(path, 1_500)
    lines = path.read_text().split("\n")
    # The last Communications Hub loses its DeviceModel: the WAN after it is not expected.
    hub = max(number for number, line in enumerate(lines) if line.strip() == "<CommunicationsHub>")
    start = next(number for number in range(hub, len(lines)) if lines[number].strip() == "<DeviceModel>")
    end = next(number for number in range(start, len(lines)) if lines[number].strip() == "</DeviceModel>")
    del lines[start : end + 1]
    path.write_text("\n".join(lines))
    wan = lines.index("        <WAN>", hub) + 1
    assert wan > LINE_FIELD
    findings = [finding for finding in FileCheck(path) if finding.code == "XSD002"]
    assert [(finding.location.line, finding.location.column) for finding in findings] == [(wan, 9)]
    assert "Element 'WAN'" in findings[0].message


#: Content put inside elements: child elements in simple content, text and blanks after
#: elements, comments, processing instructions, CDATA, character references, long runs
#: of blanks, CR LF line ends.
_INSERTIONS = (
    "<X/>",
    "<X>1</X>\n      ",
    "\n      <X>1</X>\n    ",
    "<X>1</X>\n  <!-- a comment -->\n  ",
    "<X>1</X>" + " " * 400 + "q",
    "<X>1</X>&#32;&#10;",
    "<X></X>\n  ",
    "<X/>\n  <Y>2</Y> \n ",
    "text<X>1</X>\n   more",
    "  <!--x-->  ",
    "<?pi x?>\n ",
    "<![CDATA[  ]]>",
    "<X>1</X>\r\n",
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(sorted(SAMPLES.glob("*.xml"))),
    st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(_INSERTIONS), st.booleans()), max_size=6),
)
def test_content_inside_elements_gets_the_same_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample: Path, insertions: list[tuple[int, str, bool]]
) -> None:
    # The C parser leaves out blank text after elements that hold something; lxml's keeps
    # it. Whatever the content, the findings must not differ.
    text = sample.read_text()
    tags = [match.start() for match in re.finditer(r"</[A-Za-z]+>", text)]
    places = sorted(
        ((tags[index % len(tags)], insertion, before) for index, insertion, before in insertions), reverse=True
    )
    for place, insertion, before in places:
        at = place if before else text.index(">", place) + 1
        text = text[:at] + insertion + text[at:]
    path = tmp_path / "inserted.xml"
    path.write_text(text)
    native, pulled = _both(path, monkeypatch)
    assert native == pulled


def test_blanks_after_elements_that_hold_something_are_left_out_of_the_tree() -> None:
    document = b"<r><x>\n  <a>1</a>\n  <b/>\n  <c><d>2</d>\n  </c>\n  <e>3</e>\n  text\n</x></r>"
    (record,) = _records(RecordParser(None, "x"), document, len(document))
    a, b, c, e = record
    # Kept: an element's first text, the text after an empty element, text that is not blank.
    assert record.text == "\n  "
    assert b.tail == "\n  "
    assert e.tail == "\n  text\n"
    # Left out: the blanks after elements that hold something, up to the next tag.
    assert a.tail is None
    assert c[0].tail is None
    assert c.tail is None
    pulled = etree.fromstring(document)[0]
    assert [node.text for node in record.iter()] == [node.text for node in pulled.iter()]
