"""The rules reach any bound dialect: the same content gives the same findings in each, in parts too."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcfcheck.check.file import FileCheck, load_schema_for
from mcfcheck.dialects import DialectWriter, translate
from mcfcheck.findings import Finding
from mcfcheck.generate import MCFGenerator
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.registry import load_registry
from mcfcheck.run.parts import ParallelFileCheck, worker_pool
from mcfcheck.schema.binding import BindingSet, default_binding, load_binding
from tests.test_parallel import PART_BYTES, _spoil

INVENTORY = Path(__file__).parent / "data" / "inventory dialect"
BINDING = load_binding(INVENTORY / "inventory.binding.toml")
SCHEMA = INVENTORY / "Inventory Schema 2.0.xsd"
REGISTRY = load_registry()
OWN = (REGISTRY, RuleSettings())
OTHER = (REGISTRY, RuleSettings(bindings=BindingSet.of([BINDING])))


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with worker_pool(2) as executor:
        yield executor


def _concepts(findings: list[Finding]) -> Counter[tuple[str, str | None, str | None]]:
    """What a finding says whatever the dialect: its code, its installation and that one's status."""
    return Counter((f.code, f.location.installation, f.location.status) for f in findings)


def _dormant(text: str, seed: int) -> str:
    """Some installations Dormant (without their notice dates)."""
    statuses = list(re.finditer(r"<Status>Active</Status>", text))
    for match in reversed(statuses[seed % 5 :: 37]):
        text = text[: match.start()] + "<Status>Dormant</Status>" + text[match.end() :]
    return text


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cohort=st.sampled_from(sorted(builtin_cohorts())),
    seed=st.integers(min_value=0, max_value=1000),
    spoil=st.booleans(),
)
def test_findings_are_equal_concept_for_concept_in_both_dialects_whole_and_in_parts(
    tmp_path: Path, pool: ProcessPoolExecutor, cohort: str, seed: int, spoil: bool
) -> None:
    text = "".join(MCFGenerator(builtin_cohorts()[cohort], seed=seed).iter_text(300))
    if spoil:
        text = _dormant(_spoil(text, seed), seed)
    own_path, other_path = tmp_path / "own.xml", tmp_path / "other.xml"
    own_path.write_text(text, encoding="utf-8")
    other_path.write_text("".join(translate([text.encode()], default_binding(), BINDING)), encoding="utf-8")
    compiled = load_schema_for(SCHEMA, OTHER[1].bindings)
    own = list(FileCheck(own_path, rules=OWN))
    other_check = FileCheck(other_path, compiled, rules=OTHER)
    other = list(other_check)
    assert other_check.rules_not_run is None
    assert other_check.installations == 300
    assert _concepts(other) == _concepts(own)
    if spoil:
        assert {"GEN001", "GEN010", "GEN011", "GEN020", "GEN033"} <= {f.code for f in other}
    # In parts, the other dialect gives exactly its single pass's findings.
    parts = ParallelFileCheck(other_path, lambda: pool, 2, SCHEMA, compiled, OTHER, part_bytes=PART_BYTES)
    assert list(parts) == other
    assert parts.parallel, "the file was not validated in parts"


def test_findings_in_the_other_dialect_point_at_its_own_elements(tmp_path: Path) -> None:
    text = _spoil("".join(MCFGenerator(builtin_cohorts()["CB"], seed=5).iter_text(40)), 5)
    path = tmp_path / "other.xml"
    path.write_text("".join(translate([text.encode()], default_binding(), BINDING)), encoding="utf-8")
    findings = list(FileCheck(path, load_schema_for(SCHEMA, OTHER[1].bindings), rules=OTHER))
    lines = path.read_text(encoding="utf-8").splitlines()
    by_code = {finding.code: finding for finding in findings}
    mpan = by_code["GEN001"]
    assert mpan.location.xpath is not None
    assert re.fullmatch(r"/Inventory/Sites/Site\[\d+\]/Supply/Electricity/Core", mpan.location.xpath)
    assert mpan.location.line is not None
    assert "<Core>" in lines[mpan.location.line - 1]
    duplicate = by_code["GEN010"]
    assert duplicate.location.xpath is not None
    assert re.search(
        r"/Sites/Site\[\d+\]/(Supply/(Electricity|Gas)/Meter|Units/Unit|Hub)(\[\d+\])?/EUI$", duplicate.location.xpath
    )
    assert duplicate.location.line is not None
    assert "<EUI>" in lines[duplicate.location.line - 1]
    total = by_code["GEN020"]
    assert total.location.line is not None
    assert "<Totals " in lines[total.location.line - 1]


def test_the_writer_codes_values_and_places_devices_by_type() -> None:
    text = "".join(MCFGenerator(builtin_cohorts()["SECURE"], seed=1).iter_text(3))
    written = "".join(translate([text.encode()], default_binding(), BINDING))
    assert 'state="A"' in written
    assert '<Meter kind="E">' in written
    assert re.search(r"<Gas>\s*<Reference>\d+</Reference>\s*<Meter kind=\"G\">", written)
    assert "<Status>" not in written
    # Back again: the same concepts.
    back = "".join(translate([written.encode()], BINDING, default_binding()))
    again = "".join(translate([back.encode()], default_binding(), BINDING))
    assert again == written


def test_a_writer_needs_the_document_element() -> None:
    binding = load_binding(INVENTORY / "inventory.binding.toml")
    stripped = type(binding)(**{**binding.__dict__, "root": None})
    with pytest.raises(ValueError, match=r"\[document\] element"):
        DialectWriter(stripped)


DCC_STYLE = Path(__file__).parent / "data" / "dcc-style schema"


def test_a_partial_binding_runs_the_rules_it_can_and_names_those_it_cannot(tmp_path: Path) -> None:
    """A DCC-style file with a wrong MPAN check digit and a duplicate Device ID was 'valid' (no rule ran)."""
    path = tmp_path / "dcc.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<MigrationFile xmlns="urn:example:migration">\n'
        "  <GroupID>CB</GroupID>\n"
        "  <Installation>\n"
        "    <InstallationReference>REF-1</InstallationReference>\n"
        "    <MPANCore>1800021679847</MPANCore>\n"
        "    <DeviceID>70-B3-D5-1F-30-00-A0-08</DeviceID>\n"
        "  </Installation>\n"
        "  <Installation>\n"
        "    <InstallationReference>REF-2</InstallationReference>\n"
        "    <MPANCore>1800021679848</MPANCore>\n"
        "    <DeviceID>70-B3-D5-1F-30-00-A0-08</DeviceID>\n"
        "  </Installation>\n"
        "</MigrationFile>\n",
        encoding="utf-8",
    )
    binding = load_binding(DCC_STYLE / "dcc-style.binding.toml")
    rules = (REGISTRY, RuleSettings(bindings=BindingSet.of([binding])))
    check = FileCheck(
        path, load_schema_for(DCC_STYLE / "Migration Schema V1.0 TMAD 2.0.xsd", rules[1].bindings), rules=rules
    )
    findings = list(check)
    assert [(f.code, f.location.line, f.location.installation) for f in findings] == [
        ("GEN001", 6, "REF-1"),
        ("GEN010", 12, "REF-2"),
    ]
    assert findings[1].location.xpath == "/MigrationFile/Installation[2]/DeviceID[1]"
    assert check.cohort == "CB"
    assert check.rules_not_run is not None
    ran = {"GEN001", "GEN010", "GEN011", "GEN012"}
    selected = {
        code
        for code, rule in REGISTRY.rules.items()
        if (not rule.cohorts or "CB" in rule.cohorts) and not rule.across_files
    }
    assert check.rules_not_run.startswith(f"{len(selected - ran)} of {len(selected)} rules not run: no binding for ")
    assert "status" in check.rules_not_run
    assert check.rules_not_run.endswith("see `mcfcheck bind`")
    assert set(check.skipped_rules) == selected - ran


def test_schema_only_still_reads_records_through_the_binding(tmp_path: Path) -> None:
    """With --no-rules, --binding was ignored: the schema was compiled for 'Installation' and a
    file of another dialect was validated as one tree, its findings naming no installation."""
    import json

    from mcfcheck.cli import main

    text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=2).iter_text(3))
    written = "".join(translate([text.encode()], default_binding(), BINDING))
    path = tmp_path / "other.xml"
    path.write_text(written.replace('state="A"', 'state="X"', 1), encoding="utf-8")
    report = tmp_path / "report.json"
    binding = str(INVENTORY / "inventory.binding.toml")
    arguments = ["validate", "--no-rules", "--schema", str(SCHEMA), "--binding", binding, str(path)]
    assert main([*arguments, "--output", f"json={report}"]) == 1
    findings = json.loads(report.read_text(encoding="utf-8"))["files"][0]["findings"]
    assert [(f["code"], f["location"]["installation"]) for f in findings] == [("XSD001", "CB002-000000001")]
