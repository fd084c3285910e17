"""Every rule against its data-driven cases, and every rule documented and covered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mcfcheck.rules.base import source_docstrings
from mcfcheck.rules.provenance import KNOWN_DOCUMENTS
from mcfcheck.rules.registry import load_registry
from mcfcheck.testing import Dialect, RuleCase, load_cases, run_case

CASES = Path(__file__).parent / "rule_cases"
ALL_CASES = [case for path in sorted(CASES.glob("*.toml")) for case in load_cases(path)]
REGISTRY = load_registry()
INVENTORY = Path(__file__).parent / "data" / "inventory dialect"
#: A second dialect: other names and namespace, devices under their meter points,
#: attributes, coded values; its schema's file names have spaces and it imports a sibling.
SECOND_DIALECT = Dialect(INVENTORY / "inventory.binding.toml", INVENTORY / "Inventory Schema 2.0.xsd")


@pytest.mark.parametrize("case", ALL_CASES, ids=str)
def test_rule_case(case: RuleCase, tmp_path: Path) -> None:
    findings = run_case(case, tmp_path)
    assert [finding.code for finding in findings] == list(case.expect)
    if case.severity is not None:
        assert {finding.severity.value for finding in findings if finding.code == case.code} == {case.severity}
    for finding in findings:
        assert finding.location.line is not None, finding
        assert finding.location.xpath is not None, finding
        if finding.code == case.code:
            assert finding.rule == REGISTRY.rules[case.code].name


@pytest.mark.parametrize("case", ALL_CASES, ids=str)
def test_rule_case_in_a_second_dialect(case: RuleCase, tmp_path: Path) -> None:
    """The same case, its file translated to another dialect, gives the same codes: the rules reach it."""
    findings = run_case(case, tmp_path, dialect=SECOND_DIALECT)
    text = (tmp_path / f"{case.code}-case.xml").read_text(encoding="utf-8")
    assert "urn:example:inventory" in text
    assert "<Installation" not in text
    assert sorted(finding.code for finding in findings) == sorted(case.expect)
    for finding in findings:
        assert finding.location.line is not None, finding
        assert finding.location.xpath is not None, finding


def test_built_in_packs_load_without_problems() -> None:
    assert REGISTRY.problems == []
    assert len(REGISTRY.rules) >= 35


@pytest.mark.parametrize("code", sorted(code for code, rule in REGISTRY.rules.items() if not rule.across_files))
def test_every_rule_has_failing_and_passing_cases(code: str) -> None:
    # The rules across files (XFL) have their cases in tests/test_batch.py: a case file holds one file.
    path = CASES / f"{code}.toml"
    assert path.is_file(), f"{code} has no case file"
    cases = load_cases(path)
    assert any(code in case.expect for case in cases), f"{code} has no failing case"
    assert any(not case.expect for case in cases), f"{code} has no passing case"


@pytest.mark.parametrize("code", sorted(REGISTRY.rules))
def test_every_rule_is_documented(code: str) -> None:
    rule = REGISTRY.rules[code]
    documentation = rule.documentation()
    assert rule.summary()
    assert rule.summary().endswith((".", ")")) or len(rule.summary()) > 20
    assert "Fails:" in documentation, f"{code} shows no failing example"
    assert "Passes:" in documentation, f"{code} shows no passing example"


@pytest.mark.parametrize("code", sorted(REGISTRY.rules))
def test_every_rule_says_where_it_comes_from(code: str) -> None:
    """A source in a known document, with its clause and words, or mcfcheck's own check: said apart."""
    rule = REGISTRY.rules[code]
    assert rule.sources or rule.own_check, f"{code} has neither a source nor an own check"
    documentation = rule.documentation()
    for source in rule.sources:
        assert source.document in KNOWN_DOCUMENTS.values(), f"{code} cites {source.document.title!r}"
        assert source.clause, f"{code} cites no clause"
        assert len(source.quote) >= 10, f"{code} quotes no words"
        assert source.document.title in documentation
        assert f"\u201c{source.quote}\u201d" in documentation
    if rule.own_check:
        assert "mcfcheck's own check: " in documentation
    if rule.reading:
        assert rule.sources, f"{code} reads into sources it does not cite"
        assert "mcfcheck's reading: " in documentation
    # What it checks comes first, where it comes from next, then the examples.
    summary_at, examples_at = documentation.index(rule.summary()), documentation.index("Fails:")
    basis_at = documentation.index("Source: " if rule.sources else "mcfcheck's own check: ")
    assert summary_at < basis_at < examples_at


@pytest.mark.parametrize("code", sorted(REGISTRY.rules))
def test_no_rule_text_names_a_document_no_reader_can_look_up(code: str) -> None:
    rule = REGISTRY.rules[code]
    module_doc = __import__(rule.__module__, fromlist=["_"]).__doc__ or source_docstrings(rule.__module__)[""]
    for text in (rule.documentation(), module_doc):
        assert not re.search(r"\bseeds?\b", text, re.IGNORECASE), code


def test_the_readme_shows_a_rule_s_documentation_as_the_command_prints_it() -> None:
    from typer.testing import CliRunner

    from mcfcheck.cli import app

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    shown = readme.split("$ mcfcheck rules MDS002\n", 1)[1].split("\n…\n", 1)[0]
    printed = CliRunner().invoke(app, ["rules", "MDS002"], terminal_width=1000).stdout
    assert printed.startswith(shown)
