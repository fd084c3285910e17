"""Streaming schema validation: every error, with its line, XPath and installation."""

from __future__ import annotations

import dataclasses
import gzip
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mcfcheck
from mcfcheck.check.file import RECORD_BATCH, check_file
from mcfcheck.findings import Severity
from mcfcheck.generate import MCFGenerator, PlantedKind
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.registry import load_registry
from mcfcheck.schema.codes import CODE_INVALID_VALUE, CODE_STRUCTURE, SCHEMA_CODES, schema_error_code

from .conftest import ROOT, SAMPLES

NOTE = re.compile(r"<!-- ([a-z-]+): (XSD\d{3}) expected at line (\d+), column (\d+), installation (\S+) -->")


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*-valid.xml")), ids=lambda path: path.name)
def test_valid_samples_are_valid(sample: Path) -> None:
    report = mcfcheck.validate(sample)
    assert report.error is None
    assert report.findings == ()
    assert report.valid
    assert report.installations == 4


def test_there_is_a_valid_sample_per_cohort() -> None:
    assert {f"{name.lower()}-valid.xml" for name in builtin_cohorts()} <= {p.name for p in SAMPLES.iterdir()}


RULE_SAMPLE = re.compile(r"^[A-Z]{3}[0-9]{3}-")
SCHEMA_SAMPLES = sorted(path for path in SAMPLES.glob("*-invalid.xml") if not RULE_SAMPLE.match(path.name))
RULE_SAMPLES = sorted(path for path in SAMPLES.glob("*-invalid.xml") if RULE_SAMPLE.match(path.name))


@pytest.mark.parametrize("sample", SCHEMA_SAMPLES, ids=lambda path: path.name)
def test_invalid_schema_samples_have_exactly_their_schema_error(sample: Path) -> None:
    report = mcfcheck.validate(sample, rules=False)
    assert report.error is None
    assert not report.valid
    assert len(report.findings) == 1, report.findings
    (finding,) = report.findings
    assert finding.severity is Severity.ERROR
    assert finding.location.file == str(sample)
    assert finding.location.line is not None
    assert finding.location.xpath is not None
    assert finding.location.xpath.startswith("/MigrationFile")
    planted = NOTE.search(sample.read_text(encoding="utf-8"))
    if planted is not None:
        _kind, code, line, column, installation = planted.groups()
        where = finding.location
        assert (finding.code, where.line, where.column, where.installation) == (
            code,
            int(line),
            int(column),
            installation,
        )
        assert finding.location.xpath.startswith("/MigrationFile/Installations/Installation[2]/")
    else:
        assert finding.location.installation is None


def test_there_is_an_invalid_sample_per_planted_kind() -> None:
    assert {f"{kind.value}-invalid.xml" for kind in PlantedKind} <= {p.name for p in SAMPLES.iterdir()}


def test_every_error_is_reported_not_only_the_first(tmp_path: Path) -> None:
    generator = MCFGenerator(builtin_cohorts()["FOC"], seed=11, error_rate=0.5)
    path = tmp_path / "many.xml"
    summary = generator.write(path, 60)
    assert len(summary.planted) > 10
    report = mcfcheck.validate(path)
    found = [(f.location.line, f.location.column, f.location.installation, f.code) for f in report.findings]
    assert found == [(p.line, p.column, p.installation, p.code) for p in summary.planted]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cohort=st.sampled_from(sorted(builtin_cohorts())),
    seed=st.integers(min_value=0, max_value=10_000),
    installations=st.integers(min_value=1, max_value=12),
)
def test_generated_files_are_valid(tmp_path: Path, cohort: str, seed: int, installations: int) -> None:
    path = tmp_path / f"{cohort}-{seed}-{installations}.xml"
    summary = MCFGenerator(builtin_cohorts()[cohort], seed=seed).write(path, installations)
    report = mcfcheck.validate(path)
    assert report.findings == ()
    assert report.error is None
    assert report.installations == summary.installations == installations


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    installations=st.integers(min_value=1, max_value=8),
    data=st.data(),
)
def test_a_mutation_at_a_known_place_is_reported_at_that_line(
    tmp_path: Path, seed: int, installations: int, data: st.DataObject
) -> None:
    at = data.draw(st.integers(min_value=1, max_value=installations), label="installation")
    kind = data.draw(st.sampled_from(list(PlantedKind)), label="kind")
    generator = MCFGenerator(builtin_cohorts()["CB"], seed=seed, planted_at={at: kind})
    path = tmp_path / "mutated.xml"
    generator.write(path, installations)
    (planted,) = generator.planted
    report = mcfcheck.validate(path)
    assert [(f.code, f.location.line, f.location.column, f.location.installation) for f in report.findings] == [
        (planted.code, planted.line, planted.column, planted.installation)
    ]
    assert report.findings[0].location.xpath is not None
    assert f"/Installation[{at}]" in report.findings[0].location.xpath


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    cohort = builtin_cohorts()["SECURE"]
    first, second = tmp_path / "a.xml", tmp_path / "b.xml"
    MCFGenerator(cohort, seed=9, error_rate=0.2).write(first, 50)
    MCFGenerator(cohort, seed=9, error_rate=0.2).write(second, 50)
    assert first.read_bytes() == second.read_bytes()
    MCFGenerator(cohort, seed=10, error_rate=0.2).write(second, 50)
    assert first.read_bytes() != second.read_bytes()


def test_findings_are_immutable_records() -> None:
    (finding,) = mcfcheck.validate(SAMPLES / "mpan-format-invalid.xml").findings
    assert finding.code == "XSD001"
    assert "XSD001" not in finding.message
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.code = "X"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.location.line = 1  # type: ignore[misc]


def test_messages_drop_namespaces_but_keep_patterns() -> None:
    (finding,) = mcfcheck.validate(SAMPLES / "mpan-format-invalid.xml").findings
    assert "{urn:mcfcheck:mcf}" not in finding.message
    assert "'[0-9]{13}'" in finding.message


def test_installations_in_a_one_line_file_are_told_apart(write_mcf) -> None:  # type: ignore[no-untyped-def]
    generator = MCFGenerator(builtin_cohorts()["CB"], seed=4, planted_at={3: PlantedKind.STATUS_VALUE})
    one_line = re.sub(r">\s+<", "><", "".join(generator.iter_text(5)))
    report = mcfcheck.validate(write_mcf(one_line))
    (finding,) = report.findings
    assert finding.location.installation == generator.planted[0].installation
    assert finding.location.xpath == "/MigrationFile/Installations/Installation[3]/Status"
    assert finding.location.line == 1
    # Five Status tags share that line: the column is not guessed.
    assert finding.location.column is None


@pytest.mark.parametrize(
    ("type_name", "code"),
    [
        ("SCHEMAV_CVC_PATTERN_VALID", CODE_INVALID_VALUE),
        ("SCHEMAV_CVC_ENUMERATION_VALID", CODE_INVALID_VALUE),
        ("SCHEMAV_CVC_DATATYPE_VALID_1_2_1", CODE_INVALID_VALUE),
        ("SCHEMAV_ELEMENT_CONTENT", CODE_STRUCTURE),
        ("SCHEMAV_CVC_COMPLEX_TYPE_3_2_2", "XSD003"),
        ("SCHEMAV_CVC_COMPLEX_TYPE_4", "XSD003"),
        ("SCHEMAV_CVC_IDC", "XSD004"),
        ("SCHEMAV_MISC", "XSD000"),
    ],
)
def test_schema_error_codes(type_name: str, code: str) -> None:
    assert schema_error_code(type_name) == code


# -- input that cannot be validated -------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"   \n", "is empty"),
        (b"this is not xml", "not well-formed XML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not well-formed XML"),
        (b'<?xml version="1.0"?>\n<MigrationFile xmlns="urn:mcfcheck:mcf" schemaVersion="1.0">\n<Hea', "line 3"),
    ],
    ids=["empty", "blank", "text", "binary", "truncated"],
)
def test_unusable_input_is_one_line_error(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(content)
    report = mcfcheck.validate(path)
    assert report.error is not None
    assert "\n" not in report.error
    assert report.error.startswith(str(path))
    assert expected in report.error
    assert not report.valid


def test_truncated_after_valid_installations_is_unusable(write_mcf) -> None:  # type: ignore[no-untyped-def]
    text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=1).iter_text(20))
    path = write_mcf(text[: len(text) * 3 // 4])
    report = mcfcheck.validate(path)
    assert report.error is not None
    assert "not well-formed" in report.error
    assert report.installations > 5


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = mcfcheck.validate(tmp_path / "nothere.xml")
    assert missing.error == f"{tmp_path / 'nothere.xml'}: no such file"
    folder = mcfcheck.validate(tmp_path)
    assert folder.error is not None
    assert "is a directory" in folder.error


def test_unknown_namespace_names_the_known_schemas(write_mcf) -> None:  # type: ignore[no-untyped-def]
    report = mcfcheck.validate(write_mcf('<?xml version="1.0"?>\n<Other xmlns="urn:other"/>\n'))
    assert report.error is not None
    assert "urn:other" in report.error
    assert "urn:mcfcheck:mcf version 1.0" in report.error
    assert "--schema" in report.error


def test_unknown_schema_version_names_the_known_ones(write_mcf) -> None:  # type: ignore[no-untyped-def]
    text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=1).iter_text(2))
    report = mcfcheck.validate(write_mcf(text.replace('schemaVersion="1.0"', 'schemaVersion="9.9"')))
    assert report.error is not None
    assert "'9.9'" in report.error
    assert "version 1.0" in report.error


def test_doctype_is_refused_before_anything_is_processed(write_mcf, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    canary = tmp_path / "canary.txt"
    canary.write_text("CANARY-CONTENT")
    text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=1).iter_text(2))
    declaration, rest = text.split("\n", 1)
    doctype = f'<!DOCTYPE MigrationFile [<!ENTITY leak SYSTEM "{canary.as_uri()}">]>'
    path = write_mcf(f"{declaration}\n<!-- a comment first -->\n{doctype}\n{rest.replace('CB001', '&leak;')}")
    report = mcfcheck.validate(path)
    assert report.error is not None
    assert "DOCTYPE" in report.error
    assert report.installations == 0
    assert "CANARY" not in repr(report)


def test_schema_location_in_a_document_is_not_followed(write_mcf, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A schema that would accept anything: if it were followed, the planted error would vanish.
    lax = tmp_path / "lax.xsd"
    lax.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:mcfcheck:mcf">'
        '<xs:element name="MigrationFile"/></xs:schema>'
    )
    generator = MCFGenerator(builtin_cohorts()["CB"], seed=1, planted_at={1: PlantedKind.STATUS_VALUE})
    text = "".join(generator.iter_text(2)).replace(
        'schemaVersion="1.0">',
        'schemaVersion="1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="urn:mcfcheck:mcf {lax.as_uri()}">',
    )
    report = mcfcheck.validate(write_mcf(text))
    assert [f.code for f in report.findings] == ["XSD001"]


def test_gzip_input_is_read_transparently_with_the_same_findings(tmp_path: Path) -> None:
    sample = SAMPLES / "mpan-format-invalid.xml"
    compressed = tmp_path / "file.xml.gz"
    compressed.write_bytes(gzip.compress(sample.read_bytes()))
    plain, packed = mcfcheck.validate(sample), mcfcheck.validate(compressed)
    assert packed.error is None
    assert [(f.code, f.location.line, f.location.column) for f in packed.findings] == [
        (f.code, f.location.line, f.location.column) for f in plain.findings
    ]


def test_gzip_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    hidden = tmp_path / "file.xml"
    hidden.write_bytes(gzip.compress((SAMPLES / "cb-valid.xml").read_bytes()))
    assert mcfcheck.validate(hidden).valid
    fake = tmp_path / "plain.xml.gz"
    fake.write_bytes((SAMPLES / "cb-valid.xml").read_bytes())
    assert mcfcheck.validate(fake).valid


def test_a_truncated_gzip_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "file.xml.gz"
    path.write_bytes(gzip.compress((SAMPLES / "cb-valid.xml").read_bytes())[:300])
    report = mcfcheck.validate(path)
    assert report.error is not None
    assert "broken gzip stream" in report.error
    assert "\n" not in report.error


def test_a_decompression_bomb_is_refused_at_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml.gz"
    head = (SAMPLES / "cb-valid.xml").read_bytes()[:400]
    path.write_bytes(gzip.compress(head + b"<!--" + b" " * (8 << 20) + b"-->"))
    report = check_file(path, max_decompressed=2 << 20)
    assert report.error is not None
    assert "decompression bomb" in report.error
    assert "--max-decompressed" in report.error


def test_every_schema_code_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code in SCHEMA_CODES:
        assert re.search(rf"^\| {code} \| \S", readme, re.MULTILINE), f"{code} is not in the README's table"


@pytest.mark.parametrize("sample", RULE_SAMPLES, ids=lambda path: path.name)
def test_rule_samples_break_their_rule(sample: Path) -> None:
    code = sample.name[:6]
    listing = next(SAMPLES.glob(f"{code}-*.csv"), None)
    settings = RuleSettings(epcl=listing)
    report = mcfcheck.validate(sample, settings=settings)
    assert report.error is None
    codes = [finding.code for finding in report.findings]
    assert code in codes
    assert not [c for c in codes if c.startswith("XSD")], report.findings


def test_there_is_a_sample_for_every_rule() -> None:
    # The rules across files (XFL) look at no file alone: tests/test_batch.py plants their cases.
    codes = {path.name[:6] for path in RULE_SAMPLES}
    assert codes == {code for code, rule in load_registry().rules.items() if not rule.across_files}


def test_findings_come_installation_by_installation_across_batches(tmp_path: Path) -> None:
    # Installations are checked in batches (the schema for all of a batch, then the rules);
    # the findings must still come in file order, each installation's schema findings first.
    path = tmp_path / "many.xml"
    cohort = builtin_cohorts()["CB"]
    planted = {index: kind for index, kind in enumerate([*PlantedKind] * 12, start=3) if index % 5 == 0}
    MCFGenerator(cohort, seed=11, error_rate=0.3, planted_at=planted).write(path, 300)
    # And rule findings: every third MPAN core gets a wrong check digit (GEN001).
    count = iter(range(10**6))

    def wrong_check_digit(match: re.Match[str]) -> str:
        mpan = match.group(1)
        return match.group(0) if next(count) % 3 else f"<MPANCore>{mpan[:12]}{(int(mpan[12]) + 1) % 10}</MPANCore>"

    path.write_text(re.sub(r"<MPANCore>([0-9]{13})</MPANCore>", wrong_check_digit, path.read_text()))
    report = check_file(path, rules=(load_registry(), RuleSettings()))
    assert report.error is None
    per_installation = [
        finding for finding in report.findings if finding.location.installation and finding.location.line
    ]
    # Duplicates are reported once the file has ended; the rest in file order.
    ordered = [finding for finding in per_installation if not finding.code.startswith("GEN01")]
    starts = [int(finding.location.xpath.split("Installation[")[1].split("]")[0]) for finding in ordered]  # type: ignore[union-attr]
    assert starts == sorted(starts)
    assert max(starts) > 2 * RECORD_BATCH
    for position in set(starts):
        codes = [finding.code for finding, start in zip(ordered, starts, strict=True) if start == position]
        schema = [code.startswith("XSD") for code in codes]
        assert schema == sorted(schema, reverse=True), codes
    assert any(code.startswith("XSD") for code in (finding.code for finding in ordered))
    assert any(not code.startswith("XSD") for code in (finding.code for finding in ordered))


def test_an_installation_nested_in_another_is_checked_with_it(write_mcf) -> None:  # type: ignore[no-untyped-def]
    text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=6).iter_text(4))
    installations = text.split("<Installation>")
    # The third installation's devices hold a copy of the first whole installation,
    # and the fourth has a Status the schema refuses.
    first = "<Installation>" + installations[1].split("</Installation>")[0] + "</Installation>"
    installations[3] = installations[3].replace("</Devices>", first + "</Devices>", 1)
    installations[4] = re.sub("<Status>[^<]*</Status>", "<Status>Asleep</Status>", installations[4])
    report = check_file(write_mcf("<Installation>".join(installations)), rules=(load_registry(), RuleSettings()))
    assert report.error is None
    assert report.installations == 4
    schema = [finding for finding in report.findings if finding.code.startswith("XSD")]
    assert [(finding.code, finding.location.xpath) for finding in schema] == [
        (CODE_STRUCTURE, "/MigrationFile/Installations/Installation[3]/Devices/Installation"),
        (CODE_INVALID_VALUE, "/MigrationFile/Installations/Installation[4]/Status"),
    ]


def test_large_generated_files_are_valid_dormant_aclara_meters_included(tmp_path: Path) -> None:
    """Generated FOC files once gave a Dormant Aclara ESME an auxiliary load circuit (ACL001)."""
    path = tmp_path / "foc.xml"
    MCFGenerator(builtin_cohorts()["FOC"], seed=3).write(path, 2495)
    text = path.read_text(encoding="utf-8")
    installations = re.findall(r"<Installation>.*?</Installation>", text, re.DOTALL)
    dormant_aclara = [item for item in installations if "<Status>Dormant<" in item and "<Manufacturer>Aclara<" in item]
    assert len(dormant_aclara) > 20
    assert "<AuxiliaryLoad>true<" in text
    report = mcfcheck.validate(path)
    assert report.error is None
    assert report.findings == ()
