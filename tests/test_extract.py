"""mcfcheck extract: installations routed by their findings, byte for byte, in both dialects."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import mcfcheck
from mcfcheck.cli import app
from mcfcheck.dialects import translate
from mcfcheck.findings import Finding, Severity
from mcfcheck.generate import MCFGenerator, PlantedKind
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.registry import load_registry
from mcfcheck.run.extract import RESPONSE_COLUMNS, Extracted, extract_file, extract_registry
from mcfcheck.run.stats import Reading, statistics_pool
from mcfcheck.schema.binding import default_binding

from .test_split import DIALECTS, _installations
from .test_stats import BINDING, PART_BYTES, _vary

runner = CliRunner()
REGISTRY = load_registry()
RECORD = {"own": "Installation", "inventory": "Site"}
_SEVERITY = {Severity.WARNING: 0, Severity.ERROR: 1}


def _planted(cohort: str, seed: int, installations: int, schema_errors: dict[int, PlantedKind], copies: int) -> str:
    """A generated file with schema errors planted, ``copies`` Device IDs copied into a later installation,
    and what :func:`_vary` does (Dormant installations without a date, a wrong device total).
    """
    generator = MCFGenerator(builtin_cohorts()[cohort], seed=seed, planted_at=schema_errors)
    text = _vary("".join(generator.iter_text(installations)), seed)
    for copy in range(copies):
        ids = list(re.finditer(r"<DeviceID>([^<]*)</DeviceID>", text))
        if len(ids) < 2:
            break
        source = ids[(seed + copy * 7) % len(ids)]
        target = ids[(seed * 3 + copy * 11 + 1) % len(ids)]
        if source.start() == target.start():
            continue
        text = text[: target.start(1)] + source[1] + text[target.end(1) :]
    return text


def _positions(finding: Finding, record: str, keep_first: bool) -> set[int]:
    """The installations a finding concerns, read from its XPaths (and its first place's, for a duplicate)."""
    places = [finding.location] if keep_first else [finding.location, *finding.related]
    found = set()
    for place in places:
        match = re.search(rf"/{record}\[(\d+)\]", place.xpath or "")
        if match:
            found.add(int(match[1]))
    return found


def _extract(
    source: Path, folder: Path, dialect: str, jobs: int, fail_on: Severity, keep_first: bool
) -> tuple[Extracted, list[dict[str, str]]]:
    settings_, schema, _pattern = DIALECTS[dialect]
    pool = statistics_pool(jobs, extract_registry(REGISTRY)) if jobs > 1 else None
    reading = Reading(schema, jobs, pool, part_bytes=PART_BYTES)
    response = io.BytesIO()
    with (folder / "accepted.xml").open("wb") as accepted, (folder / "rejected.xml").open("wb") as rejected:
        done = extract_file(
            source, settings_, REGISTRY, reading, accepted, rejected, folder, response, fail_on, keep_first
        )
    if pool is not None:
        pool.shutdown()
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode("utf-8"), newline="")))
    assert response.getvalue().startswith((",".join(RESPONSE_COLUMNS) + "\r\n").encode())
    return done, rows


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("cohort", sorted(builtin_cohorts()))
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    installations=st.integers(min_value=1, max_value=50),
    schema_errors=st.dictionaries(
        st.integers(min_value=1, max_value=50), st.sampled_from(list(PlantedKind)), max_size=4
    ),
    copies=st.integers(min_value=0, max_value=3),
    fail_on=st.sampled_from([Severity.ERROR, Severity.WARNING]),
    keep_first=st.booleans(),
    jobs=st.sampled_from([1, 2]),
)
def test_extract_partitions_the_installations_and_accepted_is_clean(
    cohort: str,
    dialect: str,
    seed: int,
    installations: int,
    schema_errors: dict[int, PlantedKind],
    copies: int,
    fail_on: Severity,
    keep_first: bool,
    jobs: int,
) -> None:
    settings_, schema, _pattern = DIALECTS[dialect]
    record = RECORD[dialect]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        text = _planted(cohort, seed, installations, schema_errors, copies)
        if dialect == "inventory":
            text = "".join(translate([text.encode()], default_binding(), BINDING))
        source = tmp / "source.xml"
        source.write_text(text, encoding="utf-8")
        before = _installations(source, dialect)
        # What validate finds, and which installations its failing findings concern: computed here.
        report = mcfcheck.validate(source, schema=schema, settings=settings_)
        assert report.error is None
        failing = [f for f in report.findings if _SEVERITY[f.severity] >= _SEVERITY[fail_on]]
        expected = set().union(*(_positions(f, record, keep_first) for f in failing))

        done, rows = _extract(source, tmp, dialect, jobs, fail_on, keep_first)

        assert source.read_text(encoding="utf-8") == text
        accepted = _installations(tmp / "accepted.xml", dialect)
        rejected = _installations(tmp / "rejected.xml", dialect)
        # A partition, each side in the input's order, byte for byte.
        assert accepted == [item for number, item in enumerate(before, 1) if number not in expected]
        assert rejected == [item for number, item in enumerate(before, 1) if number in expected]
        assert (done.installations, done.accepted, done.rejected) == (len(before), len(accepted), len(rejected))
        assert done.findings == len(report.findings)
        # Every installation once in the response, in order, with its outcome and its findings' codes.
        listed = [row for row in rows if row["outcome"] != "file"]
        assert [int(row["position"]) for row in listed] == list(range(1, len(before) + 1))
        assert {int(row["position"]) for row in listed if row["outcome"] == "rejected"} == expected
        for row in listed:
            codes = {
                f.code for f in report.findings if int(row["position"]) in _positions(f, record, keep_first=keep_first)
            }
            assert set(row["codes"].split()) == codes
        file_level = [f for f in report.findings if not _positions(f, record, keep_first=True)]
        assert sorted(row["codes"] for row in rows if row["outcome"] == "file") == sorted(f.code for f in file_level)
        # The accepted file, validated again, has no finding that fails; the rejected one is fully
        # accounted for; both have their own totals.
        for path, count in ((tmp / "accepted.xml", len(accepted)), (tmp / "rejected.xml", len(rejected))):
            again = mcfcheck.validate(path, schema=schema, settings=settings_)
            assert again.error is None
            assert again.installations == count
            assert not [f for f in again.findings if f.code in ("GEN020", "GEN021")]
            if path.name == "accepted.xml" and count:
                assert [f for f in again.findings if _SEVERITY[f.severity] >= _SEVERITY[fail_on]] == []


def _duplicated(tmp_path: Path) -> Path:
    """Four installations; the second's first Device ID is the fourth's too."""
    text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=11).iter_text(4))
    ids = list(re.finditer(r"<DeviceID>([^<]*)</DeviceID>", text))
    second = next(m for m in ids if text.count("<Installation>", 0, m.start()) == 2)
    fourth = next(m for m in ids if text.count("<Installation>", 0, m.start()) == 4)
    text = text[: fourth.start(1)] + second[1] + text[fourth.end(1) :]
    path = tmp_path / "duplicated.xml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("how", "rejected"), [("reject-all", ["2", "4"]), ("keep-first", ["4"])])
def test_a_duplicate_rejects_every_installation_or_all_but_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, rejected: list[str]
) -> None:
    source = _duplicated(tmp_path)
    monkeypatch.chdir(tmp_path)
    Path("mcfcheck.toml").write_text('[reason-codes]\nGEN010 = "R-DUP"\n', encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "extract",
            str(source),
            "--accepted",
            "ok.xml",
            "--rejected",
            "bad.xml",
            "--response",
            "response.csv",
            "--duplicates",
            how,
        ],
    )
    assert result.exit_code == 1, result.output
    assert (
        f"4 installations: {4 - len(rejected)} accepted (ok.xml), {len(rejected)} rejected (bad.xml)" in result.stdout
    )
    with Path("response.csv").open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["position"] for row in rows if row["outcome"] == "rejected"] == rejected
    for row in rows:
        if row["outcome"] == "rejected":
            assert row["codes"] == "GEN010"
            assert row["reason_codes"] == "R-DUP"
            assert row["messages"].startswith("GEN010: Device ID ")
        else:
            assert row["codes"] == row["reason_codes"] == row["messages"] == ""
    again = mcfcheck.validate(Path("ok.xml"))
    assert again.valid, again.findings
    assert again.installations == 4 - len(rejected)


def test_the_duplicate_finding_names_where_the_identifier_was_first_seen(tmp_path: Path) -> None:
    report = mcfcheck.validate(_duplicated(tmp_path))
    [finding] = [f for f in report.findings if f.code == "GEN010"]
    [first] = finding.related
    assert "/Installation[2]/" in (first.xpath or "")
    assert "/Installation[4]/" in (finding.location.xpath or "")
    assert f"also at line {first.line} " in finding.message
    assert first.file == finding.location.file


def test_file_findings_are_listed_and_the_totals_put_right(tmp_path: Path) -> None:
    text = "".join(MCFGenerator(builtin_cohorts()["IOC"], seed=2).iter_text(3))
    source = tmp_path / "totals.xml"
    source.write_text(re.sub(r"<InstallationCount>\d+<", "<InstallationCount>9<", text), encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "extract",
            str(source),
            "--accepted",
            str(tmp_path / "ok.xml"),
            "--rejected",
            str(tmp_path / "bad.xml"),
            "--response",
            str(tmp_path / "r.csv"),
        ],
    )
    # A finding in the input: exit 1, though every installation is accepted and the outputs are right.
    assert result.exit_code == 1, result.output
    assert "3 accepted" in result.stdout
    assert "GEN020 (1)" in result.stdout
    rows = list(csv.DictReader((tmp_path / "r.csv").open(newline="", encoding="utf-8")))
    assert (rows[0]["outcome"], rows[0]["codes"]) == ("file", "GEN020")
    assert mcfcheck.validate(tmp_path / "ok.xml").valid
    assert "<InstallationCount>0<" in (tmp_path / "bad.xml").read_text(encoding="utf-8")


def test_a_clean_file_is_all_accepted_with_exit_status_0(tmp_path: Path) -> None:
    source = Path(__file__).parent.parent / "samples" / "cb-valid.xml"
    result = runner.invoke(
        app, ["extract", str(source), "--accepted", str(tmp_path / "ok.xml"), "--rejected", str(tmp_path / "bad.xml")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ok.xml").read_bytes() == source.read_bytes()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--duplicates", "keep-last"], "--duplicates 'keep-last': choose from reject-all, keep-first"),
        (["--response", "ok.xml"], "must be three different files"),
        (["--rejected", "source.xml"], "is an input of this run"),
    ],
)
def test_usage_errors_are_one_line_and_status_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("source.xml").write_bytes((Path(__file__).parent.parent / "samples" / "cb-valid.xml").read_bytes())
    given = {"--accepted": "ok.xml", "--rejected": "bad.xml"}
    for option, value in zip(arguments[::2], arguments[1::2], strict=True):
        given[option] = value
    result = runner.invoke(app, ["extract", "source.xml", *[part for pair in given.items() for part in pair]])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["source.xml"]


def test_an_existing_output_needs_force_and_bad_input_writes_nothing(tmp_path: Path) -> None:
    ok, bad = tmp_path / "ok.xml", tmp_path / "bad.xml"
    ok.write_text("keep me", encoding="utf-8")
    source = Path(__file__).parent.parent / "samples" / "cb-valid.xml"
    result = runner.invoke(app, ["extract", str(source), "--accepted", str(ok), "--rejected", str(bad)])
    assert result.exit_code == 2
    assert f"{ok}: exists; give --force to replace it" in result.stderr
    broken = tmp_path / "broken.xml"
    broken.write_bytes(source.read_bytes()[:2000])
    result = runner.invoke(app, ["extract", str(broken), "--accepted", str(ok), "--rejected", str(bad), "--force"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(broken) in result.stderr
    assert ok.read_text(encoding="utf-8") == "keep me"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["broken.xml", "ok.xml"]


def test_an_unknown_reason_code_is_a_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("mcfcheck.toml").write_text('[reason-codes]\nGEN999 = "R-1"\n', encoding="utf-8")
    source = Path(__file__).parent.parent / "samples" / "cb-valid.xml"
    result = runner.invoke(app, ["extract", str(source), "--accepted", "ok.xml", "--rejected", "bad.xml"])
    assert result.exit_code == 2
    assert "reason-codes.GEN999 is not a code of mcfcheck's" in result.stderr


def test_sarif_gives_the_first_place_of_a_duplicate_as_a_related_location(tmp_path: Path) -> None:
    import json

    from .sarif_validator import check_sarif

    source = _duplicated(tmp_path)
    result = runner.invoke(app, ["validate", str(source), "--format", "sarif"])
    assert result.exit_code == 1
    check_sarif(result.stdout, tmp_path)
    log = json.loads(result.stdout)
    [duplicate] = [item for item in log["runs"][0]["results"] if item["ruleId"] == "GEN010"]
    [related] = duplicate["relatedLocations"]
    assert related["id"] == 1
    line = int(re.search(r"also at line (\d+)", duplicate["message"]["text"])[1])  # type: ignore[index]
    assert related["physicalLocation"]["region"]["startLine"] == line
    assert "/Installation[2]/" in related["logicalLocations"][0]["fullyQualifiedName"]


def _expected_outputs(tmp_path: Path) -> tuple[Path, bytes, bytes]:
    """A file with planted errors, and its accepted and rejected outputs as extract writes them from it."""
    source = tmp_path / "planted.xml"
    planted = {2: PlantedKind.MPAN_FORMAT, 5: PlantedKind.MISSING_STATUS}
    source.write_text("".join(MCFGenerator(builtin_cohorts()["CB"], seed=5, planted_at=planted).iter_text(7)))
    result = runner.invoke(
        app, ["extract", str(source), "--accepted", str(tmp_path / "a.xml"), "--rejected", str(tmp_path / "r.xml")]
    )
    assert result.exit_code == 1, result.output
    assert len(_installations(tmp_path / "r.xml", "own")) == 2
    return source, (tmp_path / "a.xml").read_bytes(), (tmp_path / "r.xml").read_bytes()


def test_a_compressed_input_gives_the_same_outputs(tmp_path: Path) -> None:
    import gzip

    source, accepted, rejected = _expected_outputs(tmp_path)
    packed = tmp_path / "planted.xml.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    ok, bad = tmp_path / "gz-a.xml", tmp_path / "gz-r.xml"
    result = runner.invoke(app, ["extract", str(packed), "--accepted", str(ok), "--rejected", str(bad)])
    assert result.exit_code == 1, result.output
    assert (ok.read_bytes(), bad.read_bytes()) == (accepted, rejected)
    # The decompressed copy the bytes were cut from is gone.
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["planted.xml", "planted.xml.gz", "a.xml", "r.xml", "gz-a.xml", "gz-r.xml"]
    )


def test_outputs_the_kernel_cannot_copy_to_are_written_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    source, accepted, rejected = _expected_outputs(tmp_path)
    calls = []

    def refuse(*arguments: object) -> int:
        calls.append(arguments)
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refuse)
    ok, bad = tmp_path / "b-a.xml", tmp_path / "b-r.xml"
    result = runner.invoke(app, ["extract", str(source), "--accepted", str(ok), "--rejected", str(bad)])
    assert result.exit_code == 1, result.output
    assert calls, "copy_file_range was not tried"
    assert (ok.read_bytes(), bad.read_bytes()) == (accepted, rejected)
    # Standard output, which no file copy reaches.
    result = runner.invoke(app, ["extract", str(source), "--accepted", "-", "--rejected", str(tmp_path / "c-r.xml")])
    assert result.exit_code == 1
    assert result.stdout_bytes.startswith(accepted)


@pytest.mark.parametrize("pure", ["0", "1"])
def test_files_beyond_line_65535_are_cut_with_either_parser(tmp_path: Path, pure: str) -> None:
    """Beyond line 65,535, lxml's own parser puts an installation on its first child's line:
    the cuts still match the parser's installations (split and extract alike)."""
    import os
    import subprocess
    import sys

    source = tmp_path / "long.xml"
    planted = {1400: PlantedKind.STATUS_VALUE}
    source.write_text("".join(MCFGenerator(builtin_cohorts()["IOC"], seed=3, planted_at=planted).iter_text(1500)))
    assert source.read_bytes().count(b"\n") > 70_000
    environment = {**{k: v for k, v in os.environ.items() if k != "MCFCHECK_PURE"}, "MCFCHECK_PURE": pure}
    run = [sys.executable, "-m", "mcfcheck"]
    extracted = subprocess.run(
        [*run, "extract", str(source), "--accepted", str(tmp_path / "a.xml"), "--rejected", str(tmp_path / "r.xml")],
        capture_output=True,
        text=True,
        env=environment,
    )
    assert extracted.returncode == 1, extracted.stderr
    assert "1,499 accepted" in extracted.stdout
    assert len(_installations(tmp_path / "r.xml", "own")) == 1
    split = subprocess.run(
        [*run, "split", str(source), "--parts", "3", "-q", "-o", str(tmp_path / "parts")],
        capture_output=True,
        text=True,
        env=environment,
    )
    assert split.returncode == 0, split.stderr
    parts = sorted((tmp_path / "parts").glob("*.xml"))
    assert [i for part in parts for i in _installations(part, "own")] == _installations(source, "own")


def test_standard_output_takes_one_output_at_most_and_scratch_stays_out_of_devices(tmp_path: Path) -> None:
    source = Path(__file__).parent.parent / "samples" / "cb-valid.xml"
    result = runner.invoke(app, ["extract", str(source), "--accepted", "-", "--rejected", "-"])
    assert result.exit_code == 2
    assert "standard output for one at most" in result.stderr
    before = {path.name for path in Path("/dev").iterdir()}
    result = runner.invoke(
        app, ["extract", str(source), "--accepted", "/dev/null", "--rejected", str(tmp_path / "bad.xml")]
    )
    assert result.exit_code == 0, result.output
    assert not [name for name in {path.name for path in Path("/dev").iterdir()} - before if "staging" in name]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.xml"]
