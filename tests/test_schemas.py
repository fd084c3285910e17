"""Loading schemas: the bundled one, and users' XSD sets as the DCC distributes them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

import mcfcheck
from mcfcheck.cli import main
from mcfcheck.errors import SchemaError
from mcfcheck.schema.loading import BUNDLED, MCF_NAMESPACE, XSD_NS, load_schema

from .conftest import SAMPLES, SCHEMAS, Listener

DATA = Path(__file__).parent / "data"
DCC_STYLE = DATA / "dcc-style schema"
DCC_MAIN = DCC_STYLE / "Migration Schema V1.0 TMAD 2.0.xsd"
XS = {"xs": XSD_NS}


def test_libxml2_alone_cannot_load_the_dcc_style_set() -> None:
    # Why mcfcheck resolves imports itself: libxml2 escapes the spaces and finds nothing.
    with pytest.raises(etree.XMLSchemaParseError):
        etree.XMLSchema(etree.parse(str(DCC_MAIN)))


def test_dcc_style_schema_set_validates_streaming_with_lines_and_installations() -> None:
    report = mcfcheck.validate(DATA / "dcc-style-invalid.xml", schema=DCC_MAIN)
    assert report.error is None
    assert report.installations == 3
    found = [(f.code, f.location.line, f.location.installation, f.location.xpath) for f in report.findings]
    assert found == [
        ("XSD001", 11, "REF-2", "/MigrationFile/Installation[2]/MPANCore"),
        ("XSD001", 12, "REF-2", "/MigrationFile/Installation[2]/DeviceID"),
        ("XSD001", 19, None, "/MigrationFile/Signed"),
    ]


def test_a_local_installation_declaration_is_streamed_as_a_record() -> None:
    compiled = load_schema(DCC_MAIN)
    assert compiled.record_tag == "{urn:example:migration}Installation"


def test_schema_doctypes_naming_remote_dtds_are_never_fetched(tmp_path: Path, listener: Listener) -> None:
    copied = tmp_path / "dcc style"
    shutil.copytree(DCC_STYLE, copied)
    for schema in copied.glob("*.xsd"):
        text = schema.read_text(encoding="utf-8")
        schema.write_text(
            text.replace("http://www.w3.org/2001/XMLSchema.dtd", f"http://127.0.0.1:{listener.port}/XMLSchema.dtd"),
            encoding="utf-8",
        )
    report = mcfcheck.validate(DATA / "dcc-style-invalid.xml", schema=copied / DCC_MAIN.name)
    assert len(report.findings) == 3
    assert listener.connections == 0


def test_a_remote_import_is_refused_with_a_clear_error(tmp_path: Path, listener: Listener) -> None:
    schema = tmp_path / "remote.xsd"
    schema.write_text(
        f'<xs:schema xmlns:xs="{XSD_NS}" targetNamespace="urn:a">'
        f'<xs:import namespace="urn:b" schemaLocation="http://127.0.0.1:{listener.port}/b.xsd"/>'
        "</xs:schema>"
    )
    with pytest.raises(SchemaError, match="remote schema") as raised:
        load_schema(schema)
    assert "offline" in str(raised.value)
    assert listener.connections == 0


def test_a_missing_import_names_the_importing_schema(tmp_path: Path) -> None:
    schema = tmp_path / "Main Schema.xsd"
    schema.write_text(
        f'<xs:schema xmlns:xs="{XSD_NS}" targetNamespace="urn:a">'
        '<xs:import namespace="urn:b" schemaLocation="Missing Types.xsd"/></xs:schema>'
    )
    with pytest.raises(SchemaError, match=r"Missing Types\.xsd: schema not found \(referenced by Main Schema\.xsd\)"):
        load_schema(schema)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "not a well-formed schema document"),
        ("<xs:schema", "not a well-formed schema document"),
        ("<notaschema/>", "not an XML Schema"),
        (f'<xs:schema xmlns:xs="{XSD_NS}"><xs:element name="a" type="nope"/></xs:schema>', "not a usable XML Schema"),
    ],
    ids=["empty", "truncated", "not-a-schema", "unresolved-type"],
)
def test_unusable_schemas_are_one_line_errors(tmp_path: Path, text: str, expected: str) -> None:
    schema = tmp_path / "bad.xsd"
    schema.write_text(text)
    report = mcfcheck.validate(SAMPLES / "cb-valid.xml", schema=schema)
    assert report.error is not None
    assert expected in report.error
    assert "\n" not in report.error


def test_a_schema_that_includes_itself_is_a_clear_error(tmp_path: Path) -> None:
    schema = tmp_path / "self.xsd"
    schema.write_text(
        f'<xs:schema xmlns:xs="{XSD_NS}"><xs:include schemaLocation="self.xsd"/>'
        '<xs:element name="Installation" type="xs:string"/></xs:schema>'
    )
    with pytest.raises(SchemaError, match="must not import/include/redefine itself") as raised:
        load_schema(schema)
    assert "\n" not in str(raised.value)
    assert "schema-0.xsd" not in str(raised.value)


def test_bundled_schema_names_its_version_in_file_and_document() -> None:
    for (namespace, version), file_name in BUNDLED.items():
        root = etree.parse(str(SCHEMAS / file_name)).getroot()
        assert version in file_name
        assert root.get("version") == version
        assert root.get("targetNamespace") == namespace == MCF_NAMESPACE


def test_every_bundled_declaration_and_type_is_documented() -> None:
    for file_name in BUNDLED.values():
        root = etree.parse(str(SCHEMAS / file_name)).getroot()
        declarations = root.xpath(
            "//xs:element[@name] | //xs:attribute[@name] | //xs:simpleType[@name] | //xs:complexType[@name]",
            namespaces=XS,
        )
        assert isinstance(declarations, list)
        assert len(declarations) > 40
        for declaration in declarations:
            assert isinstance(declaration, etree._Element)
            text = declaration.xpath("string(xs:annotation/xs:documentation)", namespaces=XS)
            assert isinstance(text, str)
            assert text.strip(), f"{declaration.get('name')} has no xs:documentation"


def test_a_file_the_rules_cannot_read_says_that_no_rule_ran() -> None:
    """A DCC-style file with --schema: the schema ran, no rule ran, and nothing said so (a wrong check
    digit and a duplicate Device ID gave "valid" and exit 0). Now the report says which rules did not run."""
    report = mcfcheck.validate(DATA / "dcc-style-invalid.xml", schema=DCC_MAIN)
    assert report.rules_not_run == (
        "schema only: no rules ran (namespace 'urn:example:migration' has no binding; see `mcfcheck bind`)"
    )
    assert mcfcheck.validate(DATA / "dcc-style-invalid.xml", schema=DCC_MAIN, rules=False).rules_not_run is None
    assert mcfcheck.validate(SAMPLES / "cb-valid.xml").rules_not_run is None


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_console_verdict_says_the_file_was_checked_against_the_schema_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    copy = tmp_path / "dcc.xml"
    shutil.copy(DATA / "dcc-style-invalid.xml", copy)
    files = [str(copy), str(copy)] if jobs == "2" else [str(copy)]  # two files: the workers validate them
    status = main(["validate", "--jobs", jobs, "--schema", str(DCC_MAIN), *files])
    assert status == 1
    verdicts = [line for line in capsys.readouterr().out.splitlines() if line.startswith(f"{copy}: invalid")]
    assert verdicts
    for verdict in verdicts:
        assert verdict.endswith(
            f"(3 installations, schema {DCC_MAIN.name}; schema only: no rules ran "
            "(namespace 'urn:example:migration' has no binding; see `mcfcheck bind`))"
        )
