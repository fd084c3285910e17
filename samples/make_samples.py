"""Regenerate the shipped sample MCFs (``make samples``); the output is deterministic.

``<cohort>-valid.xml`` is a valid file for each cohort. ``<what-is-wrong>-invalid.xml``
holds one schema error of each kind; its first comment says where it is.
``<CODE>-<rule-name>-invalid.xml`` breaks one rule, as the rule's first failing test
case does (with ``<CODE>-<rule-name>.csv`` beside it when the rule needs a list).
"""

from __future__ import annotations

from pathlib import Path

from mcfcheck.generate import MCFGenerator, PlantedKind
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.registry import load_registry
from mcfcheck.testing import build_document, load_cases

SAMPLES = Path(__file__).resolve().parent
RULE_CASES = SAMPLES.parent / "tests" / "rule_cases"
INSTALLATIONS = 4

# Errors outside the installations, made by editing a valid file: (name, old, new).
DOCUMENT_EDITS = (
    ("group-id-format", "<GroupID>CB</GroupID>", "<GroupID>cb</GroupID>"),
    ("creation-time-without-zone", "Z</CreationDateTime>", "</CreationDateTime>"),
    (
        "trailer-count-not-a-number",
        "<InstallationCount>4</InstallationCount>",
        "<InstallationCount>four</InstallationCount>",
    ),
    ("schema-version-attribute", 'schemaVersion="1.0">', 'schemaVersion="1.0" revision="2">'),
)


def _with_note(text: str, note: str) -> str:
    declaration, rest = text.split("\n", 1)
    return f"{declaration}\n<!-- {note} -->\n{rest}"


def main() -> None:
    cohorts = builtin_cohorts()
    for name, cohort in cohorts.items():
        text = "".join(MCFGenerator(cohort, seed=1).iter_text(INSTALLATIONS))
        (SAMPLES / f"{name.lower()}-valid.xml").write_text(text, encoding="utf-8")
    for kind in PlantedKind:
        generator = MCFGenerator(cohorts["CB"], seed=2, planted_at={2: kind})
        text = "".join(generator.iter_text(INSTALLATIONS))
        (planted,) = generator.planted
        # The note adds one line before the error.
        note = (
            f"{kind.value}: {planted.code} expected at line {planted.line + 1}, column {planted.column}, "
            f"installation {planted.installation}"
        )
        (SAMPLES / f"{kind.value}-invalid.xml").write_text(_with_note(text, note), encoding="utf-8")
    base = "".join(MCFGenerator(cohorts["CB"], seed=3).iter_text(INSTALLATIONS))
    for name, old, new in DOCUMENT_EDITS:
        assert base.count(old) == 1, name
        note = f"{name}: {old.strip()} replaced by {new.strip()}"
        (SAMPLES / f"{name}-invalid.xml").write_text(_with_note(base.replace(old, new), note), encoding="utf-8")
    start, end = base.index("  <Trailer>"), base.index("</MigrationFile>")
    without_trailer = base[:start] + base[end:]
    note = "missing-trailer: the Trailer is removed"
    (SAMPLES / "missing-trailer-invalid.xml").write_text(_with_note(without_trailer, note), encoding="utf-8")
    write_rule_samples()


def write_rule_samples() -> None:
    """One sample per rule, from the rule's first failing test case."""
    for code, rule in sorted(load_registry().rules.items()):
        case = next(case for case in load_cases(RULE_CASES / f"{code}.toml") if code in case.expect)
        stem = f"{code}-{rule.name}"
        note = f"{code} {rule.name}: {case.name}"
        (SAMPLES / f"{stem}-invalid.xml").write_text(_with_note(build_document(case), note), encoding="utf-8")
        if case.epcl is not None:
            (SAMPLES / f"{stem}.csv").write_text(case.epcl, encoding="utf-8")


if __name__ == "__main__":
    main()
