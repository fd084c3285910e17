"""Every check mcfcheck can report, with what reports say of it: name, summary, help."""

from __future__ import annotations

from dataclasses import dataclass

from mcfcheck.findings import Severity
from mcfcheck.rules.engine import UNKNOWN_GROUP_ID, UNKNOWN_GROUP_ID_SUMMARY
from mcfcheck.rules.registry import RuleRegistry
from mcfcheck.schema.codes import SCHEMA_CODES


@dataclass(frozen=True, slots=True)
class Check:
    """A check as reports describe it."""

    code: str
    name: str
    severity: Severity
    summary: str
    help: str
    #: The cohorts (IOC, CB, SECURE, FOC) the check applies to; empty: every cohort.
    cohorts: frozenset[str] = frozenset()

    def applies_to(self, cohort: str | None) -> bool:
        """Whether the check applies to a file of ``cohort`` (one whose cohort is not known: every check)."""
        return cohort is None or not self.cohorts or cohort in self.cohorts


def catalogue(registry: RuleRegistry) -> dict[str, Check]:
    """The schema checks, the cohort check and every registered rule, by code."""
    checks = {
        code: Check(code, "schema", Severity.ERROR, summary, f"{code}: {summary} (XML Schema validation).")
        for code, summary in SCHEMA_CODES.items()
    }
    checks[UNKNOWN_GROUP_ID] = Check(
        UNKNOWN_GROUP_ID, "unknown-group-id", Severity.ERROR, UNKNOWN_GROUP_ID_SUMMARY, UNKNOWN_GROUP_ID_SUMMARY
    )
    for code, rule in sorted(registry.rules.items()):
        checks[code] = Check(code, rule.name, rule.severity, rule.summary(), rule.documentation(), rule.cohorts)
    return dict(sorted(checks.items()))
