"""Mutation fuzzing over valid files: whatever the damage, a verdict, never a crash or a hang."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mcfcheck

from .conftest import SAMPLES

SEEDS = [path.read_bytes() for path in sorted(SAMPLES.glob("*-valid.xml"))]
INJECTIONS = [
    b"&x;",
    b"&#0;",
    b"&#x110000;",
    b"<!DOCTYPE MigrationFile [<!ENTITY x 'y'>]>",
    b"<!ENTITY % p SYSTEM 'http://127.0.0.1:9/p'>",
    b"]]>",
    b"<![CDATA[",
    b"<?xml version='1.0'?>",
    b"<",
    b"</",
    b"/>",
    b'"',
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"<Installation>",
    b"</Installation>",
    b"xmlns:x='urn:x'",
    b"<xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='/etc/passwd'/>",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "inject", "delete"]))
        position = draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "inject":
            data[position:position] = draw(st.sampled_from(INJECTIONS))
        elif kind == "delete":
            del data[position : position + draw(st.integers(min_value=1, max_value=64))]
    return bytes(data)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutated())
def test_mutated_files_get_a_verdict(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "mutated.xml"
    path.write_bytes(content)
    started = time.monotonic()
    report = mcfcheck.validate(path)  # anything but mcfcheck's own errors would raise here
    assert time.monotonic() - started < 5
    if report.error is not None:
        assert "\n" not in report.error
        assert report.error.startswith(str(path))
    else:
        for finding in report.findings:
            assert finding.location.file == str(path)
            assert finding.message
