"""Hostile and broken input: a clear verdict in bounded time, nothing fetched, nothing leaked."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcfcheck.cli import app
from mcfcheck.generate import MCFGenerator
from mcfcheck.rules.cohorts import builtin_cohorts

from .conftest import SAMPLES, Listener, child_peak_rss_mb

runner = CliRunner()
CANARY = "CANARY-7f3a91"
VALID = (SAMPLES / "cb-valid.xml").read_text(encoding="utf-8")
DECLARATION, BODY = VALID.split("\n", 1)


def _with_doctype(doctype: str, body: str = BODY) -> bytes:
    return f"{DECLARATION}\n{doctype}\n{body}".encode()


def _split_sequence_at(boundary: int) -> bytes:
    """A file whose first 64 KiB end inside a truncated UTF-8 sequence (in a comment before the root)."""
    head = f"{DECLARATION}\n<!-- ".encode()
    filler = b"x" * (boundary - len(head) - 1)
    data = head + filler + b"\xe2\x82" + b" -->\n" + BODY.encode()
    assert data[boundary - 1 : boundary + 1] == b"\xe2\x82"
    return data


def _notice_dates(notice: str, planned: str) -> bytes:
    """A Dormant installation's firmware notice and planned upgrade dates, set to ``notice`` and ``planned``."""
    dormant = (SAMPLES / "DRM001-firmware-notice-period-invalid.xml").read_text(encoding="utf-8")
    dormant = re.sub(r"<FirmwareNoticeDate>[^<]*<", f"<FirmwareNoticeDate>{notice}<", dormant)
    return re.sub(r"<PlannedUpgradeDate>[^<]*<", f"<PlannedUpgradeDate>{planned}<", dormant).encode()


def _inside_installation(markup: str) -> bytes:
    return VALID.replace("<Status>", f"{markup}<Status>", 1).encode()


# Each case: (name, builder of the file's bytes from the canary path and the listener's URL,
# the exit status, a text the one-line message must hold).
Case = tuple[str, Callable[[Path, str], bytes], int, str]
CASES: list[Case] = [
    (
        "billion laughs in content",
        lambda canary, url: _with_doctype(
            '<!DOCTYPE MigrationFile [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
            BODY.replace("CB001-000000001", "&d;&d;&d;"),
        ),
        2,
        "DOCTYPE",
    ),
    (
        "billion laughs in a root attribute",
        lambda canary, url: _with_doctype(
            '<!DOCTYPE MigrationFile [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
            BODY.replace('schemaVersion="1.0"', 'schemaVersion="1.0" note="&b;&b;&b;"'),
        ),
        2,
        "DOCTYPE",
    ),
    (
        "quadratic blowup",
        lambda canary, url: _with_doctype(
            f'<!DOCTYPE MigrationFile [<!ENTITY a "{"x" * 50_000}">]>', BODY.replace("CB001-000000001", "&a;" * 50_000)
        ),
        2,
        "DOCTYPE",
    ),
    (
        "parameter entities and a cycle",
        lambda canary, url: _with_doctype('<!DOCTYPE MigrationFile [<!ENTITY % p "%p;"> %p; <!ENTITY x "&x;">]>'),
        2,
        "DOCTYPE",
    ),
    (
        "external entity to a local file",
        lambda canary, url: _with_doctype(
            f'<!DOCTYPE MigrationFile [<!ENTITY leak SYSTEM "{canary.as_uri()}">]>',
            BODY.replace("CB001-000000001", "&leak;"),
        ),
        2,
        "DOCTYPE",
    ),
    (
        "external DTD by SYSTEM and PUBLIC id on loopback",
        lambda canary, url: _with_doctype(f'<!DOCTYPE MigrationFile PUBLIC "-//X//DTD X//EN" "{url}/x.dtd">'),
        2,
        "DOCTYPE",
    ),
    (
        "parameter entity fetching from loopback",
        lambda canary, url: _with_doctype(
            f'<!DOCTYPE MigrationFile [<!ENTITY % remote SYSTEM "{url}/p.ent"> %remote;]>'
        ),
        2,
        "DOCTYPE",
    ),
    (
        "XInclude of a local file",
        lambda canary, url: _inside_installation(
            f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{canary.as_uri()}" parse="text"/>'
        ),
        1,
        "include",
    ),
    (
        "an xml-stylesheet processing instruction",
        lambda canary, url: f'{DECLARATION}\n<?xml-stylesheet type="text/xsl" href="{url}/s.xsl"?>\n{BODY}'.encode(),
        0,
        "valid",
    ),
    (
        "noNamespaceSchemaLocation pointing to loopback",
        lambda canary, url: VALID.replace(
            'schemaVersion="1.0">',
            'schemaVersion="1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:noNamespaceSchemaLocation="{url}/s.xsd" xsi:schemaLocation="urn:mcfcheck:mcf {url}/t.xsd">',
        ).encode(),
        0,
        "valid",
    ),
    (
        "a 20 MB text node",
        lambda canary, url: _inside_installation("<X>" + "x" * (20 << 20) + "</X>"),
        2,
        "not well-formed",
    ),
    ("a 60,000-character name", lambda canary, url: _inside_installation(f"<{'N' * 60_000}/>"), 2, "Name too long"),
    (
        "a 20 MB attribute",
        lambda canary, url: _inside_installation(f'<X a="{"v" * (20 << 20)}"/>'),
        2,
        "not well-formed",
    ),
    (
        "200,000 attributes on one element",
        lambda canary, url: _inside_installation("<X " + " ".join(f"a{i}='1'" for i in range(200_000)) + "/>"),
        1,
        "not expected",
    ),
    (
        "nesting 100,000 deep",
        lambda canary, url: _inside_installation("<X>" * 100_000 + "</X>" * 100_000),
        2,
        "not well-formed",
    ),
    ("invalid UTF-8", lambda canary, url: VALID.encode().replace(b"MDS", b"M\xff\xfeS"), 2, "not well-formed"),
    (
        "invalid UTF-8 across a 64 KiB boundary",
        lambda canary, url: _split_sequence_at(65536),
        2,
        "not well-formed",
    ),
    ("an overlong encoding", lambda canary, url: VALID.encode().replace(b"MDS", b"M\xc0\xafS"), 2, "not well-formed"),
    (
        "an encoded surrogate",
        lambda canary, url: VALID.encode().replace(b"MDS", b"M\xed\xa0\x80S"),
        2,
        "not well-formed",
    ),
    ("a NUL byte", lambda canary, url: VALID.encode().replace(b"MDS", b"M\x00S"), 2, "not well-formed"),
    ("a control character", lambda canary, url: VALID.encode().replace(b"MDS", b"M\x07S"), 2, "not well-formed"),
    (
        "an unsupported encoding name",
        lambda canary, url: VALID.replace('encoding="UTF-8"', 'encoding="X-NO-SUCH-8"').encode(),
        2,
        "",
    ),
    (
        "UTF-16 with its BOM",
        lambda canary, url: VALID.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
        0,
        "valid",
    ),
    # Found by the mutation fuzzer: libxml2's message for it spans two lines.
    ("a NUL inside the XML declaration", lambda canary, url: b"<\x00" + VALID.encode()[1:], 2, "not well-formed"),
    # Found by atheris: libxml2 builds the root of an unbound prefix as "Migr:tionFile".
    (
        "an unbound prefix on the root",
        lambda canary, url: (
            VALID.replace("<MigrationFile ", "<Migr:tionFile ").replace("</MigrationFile>", "</Migr:tionFile>").encode()
        ),
        2,
        "no bundled schema",
    ),
    (
        "a UTF-8 BOM with a UTF-16 declaration (the BOM wins)",
        lambda canary, url: b"\xef\xbb\xbf" + VALID.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode(),
        0,
        "valid",
    ),
    (
        "UTF-16 bytes with a UTF-8 declaration (the BOM wins)",
        lambda canary, url: VALID.encode("utf-16"),
        0,
        "valid",
    ),
    (
        "UTF-32",
        lambda canary, url: VALID.replace('encoding="UTF-8"', 'encoding="UTF-32"').encode("utf-32"),
        2,
        "UTF-32",
    ),
    (
        "UTF-8 bytes declared as ISO-8859-1 are read as declared",
        lambda canary, url: (
            VALID.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
            .replace("<SMSOName>MDS<", "<SMSOName>MDS\u00e9<")
            .encode()
        ),
        1,
        "MDS004 SMSO 'MDS\u00c3\u00a9'",
    ),
    ("only a BOM", lambda canary, url: b"\xef\xbb\xbf", 2, "is empty"),
    ("two roots", lambda canary, url: (VALID + "<MigrationFile/>").encode(), 2, "not well-formed"),
    ("text after the root", lambda canary, url: (VALID + "trailing text").encode(), 2, "not well-formed"),
    (
        "truncated mid-character",
        lambda canary, url: VALID.replace("<SMSOName>MDS<", "<SMSOName>MD\u00e9S<").encode()[
            : VALID.index("<SMSOName>") + len("<SMSOName>MD") + 1
        ],
        2,
        "not well-formed",
    ),
    ("truncated mid-tag", lambda canary, url: VALID.encode()[: VALID.index("<Devices>") + 4], 2, "not well-formed"),
    ("binary junk", lambda canary, url: bytes(range(256)) * 100, 2, "not well-formed"),
    # Any date xs:date admits: the notice rules count Working Days without stepping past them.
    (
        "notice dates 8,000 years apart",
        lambda canary, url: _notice_dates("0001-01-01", "9999-12-31"),
        1,
        "GEN041",
    ),
    (
        "a notice on the last days of the calendar",
        lambda canary, url: _notice_dates("9999-12-30", "9999-12-31"),
        1,
        "DRM001",
    ),
]


@pytest.mark.parametrize(("name", "build", "status", "expected"), CASES, ids=[case[0] for case in CASES])
def test_hostile_input(
    tmp_path: Path, listener: Listener, name: str, build: Callable[[Path, str], bytes], status: int, expected: str
) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text(CANARY)
    path = tmp_path / "input.xml"
    path.write_bytes(build(canary, f"http://127.0.0.1:{listener.port}"))
    started = time.monotonic()
    result = runner.invoke(app, ["validate", "--jobs", "1", str(path)])
    elapsed = time.monotonic() - started
    assert result.exit_code == status, result.output
    assert elapsed < 10, f"{name} took {elapsed:.1f} s"
    assert "Traceback" not in result.output
    assert CANARY not in result.output
    assert listener.connections == 0
    if status == 2:
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, result.output
        assert str(path) in errors[0]
        assert expected in errors[0]
    else:
        assert expected in result.output


SIZE_AND_SHAPE = [case for case in CASES if case[0].startswith(("a 20 MB", "a 60,000", "200,000", "nesting"))]


@pytest.mark.parametrize(("name", "build", "status", "expected"), SIZE_AND_SHAPE, ids=[c[0] for c in SIZE_AND_SHAPE])
def test_size_and_shape_stay_within_a_few_hundred_megabytes(
    tmp_path: Path, name: str, build: Callable[[Path, str], bytes], status: int, expected: str
) -> None:
    path = tmp_path / "input.xml"
    path.write_bytes(build(tmp_path / "canary.txt", "http://127.0.0.1:9"))
    assert child_peak_rss_mb(path) < 300, name


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_special_files_are_refused_without_waiting(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "pipe.xml"
        os.mkfifo(path)  # opening it for reading would block until a writer came
    else:
        path = Path("/dev/zero")  # endless
    started = time.monotonic()
    result = runner.invoke(app, ["validate", str(path)])
    assert time.monotonic() - started < 5
    assert result.exit_code == 2
    assert f"error: {path}: is not a regular file" in result.output


def test_a_file_that_fails_to_read_is_one_line() -> None:
    # Tests run as root here, where permissions cannot deny a read; /proc/self/mem is a
    # regular file whose first read fails (EIO), as an unreadable disk's would.
    result = runner.invoke(app, ["validate", "/proc/self/mem"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: /proc/self/mem: cannot be read (Input/output error)"


@pytest.mark.slow
def test_a_large_truncated_file_is_invalid_though_its_first_installations_passed(tmp_path: Path) -> None:
    path = tmp_path / "large.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=8).write(path, 25_000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 9 // 10])
    started = time.monotonic()
    result = runner.invoke(app, ["validate", "--jobs", "2", str(path)])
    assert time.monotonic() - started < 120
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "not well-formed XML" in errors[0]
    assert "valid (" not in result.output


def test_an_old_lxml_is_refused_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from lxml import etree

    monkeypatch.setattr(etree, "LXML_VERSION", (5, 3, 0, 0))
    result = runner.invoke(app, ["validate", str(SAMPLES / "cb-valid.xml")])
    assert result.exit_code == 2
    assert "mcfcheck needs lxml >= 6.1, found 5.3.0" in result.output
    assert "Traceback" not in result.output
