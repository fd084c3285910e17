"""mcfcheck split and merge: parts that validate, installations byte for byte, in both dialects."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from typer.testing import CliRunner

import mcfcheck
from mcfcheck.cli import app
from mcfcheck.errors import McfcheckError
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.run.reshape import RefusedError, merge_files, reshape_registry, split_file
from mcfcheck.run.stats import Reading, statistics_pool
from mcfcheck.schema.binding import BindingSet

from .test_stats import BINDING, BINDING_FILE, INVENTORY_SCHEMA, PART_BYTES, _write_both

runner = CliRunner()
OWN = RuleSettings()
OTHER = RuleSettings(bindings=BindingSet.of([BINDING]))
#: Each dialect: its settings, its schema (None: the bundled one), its record's pattern.
DIALECTS = {
    "own": (OWN, None, re.compile(rb"<Installation[\s>].*?</Installation>", re.DOTALL)),
    "inventory": (OTHER, INVENTORY_SCHEMA, re.compile(rb"<Site[\s>].*?</Site>", re.DOTALL)),
}


def _installations(path: Path, dialect: str) -> list[bytes]:
    """A file's installations as its bytes hold them (generated files have no comments or CDATA)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    found = DIALECTS[dialect][2].findall(data)
    # The same number as the parser sees.
    record = "Installation" if dialect == "own" else "Site"
    assert len(found) == sum(1 for _element in etree.fromstring(data).iter("{*}" + record))
    return found


def _reading(jobs: int = 1, schema: Path | None = None) -> Reading:
    pool = statistics_pool(jobs, reshape_registry()) if jobs > 1 else None
    return Reading(schema, jobs, pool, part_bytes=PART_BYTES)


def _codes(path: Path, dialect: str) -> Counter[str]:
    settings_, schema, _pattern = DIALECTS[dialect]
    report = mcfcheck.validate(path, schema=schema, settings=settings_)
    assert report.error is None, report.error
    return Counter(finding.code for finding in report.findings)


def _split(path: Path, folder: Path, dialect: str, jobs: int = 1, **how: Any) -> list[Path]:
    settings_, schema, _pattern = DIALECTS[dialect]
    folder.mkdir()
    written = split_file(path, settings_, _reading(jobs, schema), folder, **how)
    manifest = json.loads((folder / "manifest.json").read_text())
    paths = [folder / part.path for part in written]
    assert [part["path"] for part in manifest["parts"]] == [part.path for part in written]
    for part, path_ in zip(manifest["parts"], paths, strict=True):
        assert part["sha256"] == hashlib.sha256(path_.read_bytes()).hexdigest()
        assert part["installations"] == len(_installations(path_, dialect))
    assert sum(part["installations"] for part in manifest["parts"]) == manifest["installations"]
    assert sorted(p.name for p in folder.iterdir()) == sorted([*(p.name for p in paths), "manifest.json"])
    return paths


def _merge(paths: list[Path], output: Path, dialect: str, **how: Any) -> None:
    settings_, schema, _pattern = DIALECTS[dialect]
    with output.open("wb") as stream:
        merge_files(paths, settings_, _reading(1, schema), stream, output.parent, **how)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("cohort", sorted(builtin_cohorts()))
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    installations=st.integers(min_value=1, max_value=60),
    how=st.one_of(
        st.integers(min_value=1, max_value=25).map(lambda n: {"max_installations": n}),
        st.integers(min_value=1, max_value=7).map(lambda k: {"parts": k}),
        st.sampled_from(["groupid", "smso", "status", "planned-migration-week"]).map(lambda by: {"by": by}),
    ),
)
def test_split_parts_validate_and_merge_gives_the_installations_back(
    cohort: str, dialect: str, seed: int, installations: int, how: dict[str, Any]
) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        own, other = _write_both(tmp, cohort, seed, installations)
        original = own if dialect == "own" else other
        # The generated file, its totals made right (the helper varies them).
        source = tmp / "source.xml"
        text = original.read_bytes()
        source.write_bytes(text)
        before = _installations(source, dialect)
        parts = _split(source, tmp / "parts", dialect, **how)
        assert source.read_bytes() == text
        found = [installation for part in parts for installation in _installations(part, dialect)]
        if "by" in how:
            # Grouped: each group in file order, every installation once.
            assert sorted(found) == sorted(before)
            for part in parts:
                inside = _installations(part, dialect)
                assert inside == [item for item in before if item in inside]
        else:
            assert found == before
        codes = _codes(source, dialect)
        for part in parts:
            # A part has no finding its input has not (its totals are its own).
            part_codes = _codes(part, dialect)
            assert not (part_codes - codes), (part, part_codes, codes)
        merged = tmp / "merged.xml"
        _merge(parts, merged, dialect, allow_duplicates=False)
        if "by" not in how:
            assert _installations(merged, dialect) == before
            # Validates as the input does, but for the trailer's device count (the helper
            # makes it wrong in some inputs; a merge recomputes it).
            assert _codes(merged, dialect) == Counter({code: n for code, n in codes.items() if code != "GEN021"})


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_split_in_parts_on_two_workers_and_gzip(tmp_path: Path, dialect: str) -> None:
    own, other = _write_both(tmp_path, "CB", 7, 400)
    source = own if dialect == "own" else other
    before = _installations(source, dialect)
    parts = _split(source, tmp_path / "parts", dialect, jobs=2, max_installations=90)
    assert [len(_installations(part, dialect)) for part in parts] == [90, 90, 90, 90, 40]
    assert [item for part in parts for item in _installations(part, dialect)] == before
    packed = tmp_path / "source.xml.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    again = _split(packed, tmp_path / "gz", dialect, parts=3)
    assert [item for part in again for item in _installations(part, dialect)] == before


def test_a_clean_file_splits_into_clean_parts_and_merges_back(tmp_path: Path) -> None:
    source = tmp_path / "f.xml"
    assert runner.invoke(app, ["generate", "-o", str(source), "-n", "50", "-q"]).exit_code == 0
    assert mcfcheck.validate(source).findings == ()
    result = runner.invoke(app, ["split", str(source), "--parts", "3", "-o", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    parts = sorted((tmp_path / "out").glob("*.xml"))
    assert [p.name for p in parts] == ["f-part-0001.xml", "f-part-0002.xml", "f-part-0003.xml"]
    for part in parts:
        report = mcfcheck.validate(part)
        assert report.error is None
        assert report.findings == ()
    identifiers = {etree.parse(str(part)).findtext(".//{urn:mcfcheck:mcf}FileIdentifier") for part in parts}
    assert len(identifiers) == 3
    merged = tmp_path / "m.xml"
    result = runner.invoke(app, ["merge", *map(str, parts), "-o", str(merged), "-q"])
    assert result.exit_code == 0, result.output
    assert mcfcheck.validate(merged).findings == ()
    assert _installations(merged, "own") == _installations(source, "own")
    # With the input's identifier back, the merge of the parts is the input, byte for byte.
    identifier = etree.parse(str(source)).findtext(".//{urn:mcfcheck:mcf}FileIdentifier")
    assert identifier is not None
    args = ["merge", *map(str, parts), "-o", str(merged), "-q", "--force", "--file-identifier", identifier]
    assert runner.invoke(app, args).exit_code == 0
    assert merged.read_bytes() == source.read_bytes()


def _one_line_error(args: list[str], status: int = 2) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == status, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return lines[0]


def test_usage_errors_are_one_line_and_status_2(tmp_path: Path) -> None:
    own, _other = _write_both(tmp_path, "CB", 1, 10)
    out = tmp_path / "out"
    assert "--by 'week'" in _one_line_error(["split", str(own), "--by", "week", "-o", str(out)])
    assert "give one of" in _one_line_error(["split", str(own), "-o", str(out)])
    assert "give one of" in _one_line_error(["split", str(own), "--parts", "2", "--by", "status", "-o", str(out)])
    out.mkdir()
    assert "exists" in _one_line_error(["split", str(own), "--parts", "2", "-o", str(out)])
    assert not list(out.iterdir())
    assert "input" in _one_line_error(["split", str(own), "--parts", "2", "-o", str(own), "--force"])
    existing = tmp_path / "existing.xml"
    existing.write_text("x")
    assert "exists" in _one_line_error(["merge", str(own), "-o", str(existing)])
    assert existing.read_text() == "x"
    text = own.read_bytes()
    assert "input" in _one_line_error(["merge", str(own), "-o", str(own), "--force"])
    assert own.read_bytes() == text
    assert "no such file" in _one_line_error(
        ["split", str(tmp_path / "none.xml"), "--parts", "2", "-o", str(out / "x")]
    )


def test_merge_refuses_headers_that_disagree(tmp_path: Path) -> None:
    one, _ = _write_both(tmp_path, "CB", 1, 5)
    other = tmp_path / "other.xml"
    other.write_bytes(re.sub(rb"<SMSOName>[^<]*<", b"<SMSOName>OTHER<", one.read_bytes()))
    line = _one_line_error(["merge", str(one), str(other), "-o", str(tmp_path / "m.xml")])
    assert "SMSO" in line
    assert str(one) in line
    assert str(other) in line
    assert not (tmp_path / "m.xml").exists()


def test_merge_refuses_duplicates_unless_allowed(tmp_path: Path) -> None:
    one, _ = _write_both(tmp_path, "CB", 3, 6)
    parts_folder = tmp_path / "parts"
    parts = _split(one, parts_folder, "own", parts=2)
    output = tmp_path / "m.xml"
    result = runner.invoke(app, ["merge", str(parts[0]), str(parts[0]), "-o", str(output)])
    assert result.exit_code == 1
    assert "duplicate: installation reference" in result.output
    assert result.output.strip().splitlines()[-1].startswith("error: cannot merge:")
    assert not output.exists()
    with pytest.raises(RefusedError):
        _merge([parts[0], parts[0]], tmp_path / "m2.xml", "own")
    result = runner.invoke(app, ["merge", str(parts[0]), str(parts[0]), "-o", str(output), "--allow-duplicates"])
    assert result.exit_code == 0, result.output
    assert _installations(output, "own") == _installations(parts[0], "own") * 2
    # Parts of one file share nothing.
    assert runner.invoke(app, ["merge", *map(str, parts), "-o", str(tmp_path / "m3.xml"), "-q"]).exit_code == 0


def test_split_and_merge_through_the_binding_on_the_command_line(tmp_path: Path) -> None:
    _own, other = _write_both(tmp_path, "FOC", 5, 30)
    out = tmp_path / "out"
    args = ["--binding", str(BINDING_FILE), "--schema", str(INVENTORY_SCHEMA)]
    result = runner.invoke(app, ["split", str(other), "--by", "status", "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    parts = sorted(out.glob("*.xml"))
    assert all("-status-" in part.name for part in parts)
    merged = tmp_path / "m.xml"
    result = runner.invoke(app, ["merge", *map(str, parts), "-o", str(merged), *args, "--file-identifier", "X-1"])
    assert result.exit_code == 0, result.output
    assert sorted(_installations(merged, "inventory")) == sorted(_installations(other, "inventory"))
    assert etree.parse(str(merged)).findtext(".//{urn:example:inventory}FileRef") == "X-1"


def test_identifier_and_totals_are_set_as_elements_or_attributes() -> None:
    from mcfcheck.run.reshape import replace_at, suffixed

    head = b'<Inv><FileHeader ref="a"><FileRef>OLD</FileRef></FileHeader><Sites>\n  '
    assert replace_at(head, ("FileHeader", "FileRef"), "N&1", "id") == head.replace(b"OLD", b"N&amp;1")
    assert replace_at(head, ("FileHeader", "@ref"), "b", "id") == head.replace(b'"a"', b'"b"')
    tail = b"\n</Sites><Totals sites=\"3\" devices='9'/></Inv>"
    assert replace_at(tail, ("Totals", "@devices"), "12", "n") == tail.replace(b"'9'", b'"12"')
    with pytest.raises(McfcheckError):
        replace_at(tail, ("Totals", "@missing"), "1", "n")
    assert suffixed("x" * 64, "-part-0001") == "x" * 54 + "-part-0001"
    assert suffixed(None, "-part-0001") is None


def test_a_start_tag_in_a_comment_is_refused_in_one_line(tmp_path: Path) -> None:
    own, _ = _write_both(tmp_path, "CB", 2, 5)
    text = own.read_bytes()
    second = text.index(b"<Installation>", text.index(b"<Installation>") + 1)
    tricky = tmp_path / "tricky.xml"
    tricky.write_bytes(text[:second] + b"<!-- <Installation> kept out -->\n    " + text[second:])
    line = _one_line_error(["split", str(tricky), "--parts", "2", "-o", str(tmp_path / "out")])
    assert "cannot be cut byte for byte" in line
    assert not (tmp_path / "out").exists()
    # Comments without a start tag are copied with the installations.
    fine = tmp_path / "fine.xml"
    fine.write_bytes(text[:second] + b"<!-- a note -->\n    " + text[second:])
    parts = _split(fine, tmp_path / "parts", "own", max_installations=5)
    assert b"<!-- a note -->" in parts[0].read_bytes()


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_cuts_across_chunk_boundaries_give_the_file_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    from mcfcheck.input import cut

    own, _ = _write_both(tmp_path, "IOC", 4, 12)
    data = own.read_bytes()

    def small_chunks(stream: Any, _path: Path, _max: int) -> Any:
        while piece := stream.read(chunk):
            yield piece

    monkeypatch.setattr(cut, "iter_chunks", small_chunks)
    cutter = cut.Cutter(own, "Installation", 1 << 30)
    pieces = list(cutter)
    assert [piece for _line, _before, piece in pieces] == _installations(own, "own")
    assert cutter.head + b"".join(before + piece for _line, before, piece in pieces) + cutter.tail == data
    lines = [data.count(b"\n", 0, data.index(piece)) + 1 for _line, _before, piece in pieces]
    assert [line for line, _before, _piece in pieces] == lines


def test_merge_refuses_inputs_that_declare_namespaces_differently(tmp_path: Path) -> None:
    one, _ = _write_both(tmp_path, "CB", 8, 4)
    parts = _split(one, tmp_path / "parts", "own", parts=2)
    other = tmp_path / "prefixed.xml"
    other.write_bytes(
        parts[1].read_bytes().replace(b'xmlns="urn:mcfcheck:mcf"', b'xmlns="urn:mcfcheck:mcf" xmlns:x="urn:x"', 1)
    )
    line = _one_line_error(["merge", str(parts[0]), str(other), "-o", str(tmp_path / "m.xml")])
    assert "declare their namespaces differently" in line
