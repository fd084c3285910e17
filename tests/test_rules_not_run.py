"""Nothing runs silently short: every report says which selected rules did not run on each file, and why.

Two kinds of file the rules cannot fully read: one whose binding (here mcfcheck's own,
without the IMSI and the static IP address) lacks concepts some rules read, and one
whose dialect has no binding at all (the DCC-style test file, or a file in mcfcheck's
namespace when no binding is given for it).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

import mcfcheck
from mcfcheck.check.file import FileCheck, check_file
from mcfcheck.findings import FileReport
from mcfcheck.generate import MCFGenerator
from mcfcheck.reports.base import Reporter, ReportSettings
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.engine import UNKNOWN_GROUP_ID, RuleSettings
from mcfcheck.rules.registry import load_registry
from mcfcheck.rules.selection import Selection
from mcfcheck.run import batch
from mcfcheck.run.parts import ParallelFileCheck, worker_pool
from mcfcheck.schema.binding import Binding, BindingSet, parse_binding

from .conftest import ROOT, SAMPLES, SCHEMAS

REGISTRY = load_registry()
DATA = ROOT / "tests" / "data"
DCC_FILE = DATA / "dcc-style-invalid.xml"
DCC_SCHEMA = DATA / "dcc-style schema" / "Migration Schema V1.0 TMAD 2.0.xsd"
CB_FILE = SAMPLES / "cb-valid.xml"
PART_BYTES = 40_000


def _binding_without(*concepts: str) -> Binding:
    """mcfcheck's own binding, without the lines that place ``concepts``."""
    lines = (SCHEMAS / "mcf-1.0.binding.toml").read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line.split("=")[0].strip() not in concepts]
    assert len(kept) == len(lines) - len(concepts)
    return parse_binding("\n".join(kept), "without-imsi.binding.toml")


PARTIAL = _binding_without("imsi", "static_ip")
#: Every file read through the binding without the IMSI and the static IP address.
SHORT_SETTINGS = RuleSettings(bindings=BindingSet((PARTIAL,), forced=PARTIAL))
#: No binding for any namespace: not even mcfcheck's own.
UNBOUND_SETTINGS = RuleSettings(bindings=BindingSet(()))
#: The rules a CB file cannot run without the IMSI and the static IP address.
SHORT = ("GEN004", "GEN014", "GEN015", "MDS001", "MDS002")


def _for_cohort(cohort: str | None) -> tuple[str, ...]:
    """What does not run on a file of ``cohort`` without a binding: its rules, and the GroupID's check."""
    codes = [
        code for code, rule in REGISTRY.rules.items() if cohort is None or not rule.cohorts or cohort in rule.cohorts
    ]
    return tuple(sorted([*codes, UNKNOWN_GROUP_ID]))


class Recorder(Reporter):
    """Keeps what each file's report says (no findings)."""

    def __init__(self) -> None:
        super().__init__(io.StringIO(), ReportSettings())
        self.reports: list[FileReport] = []

    def file_finished(self, report: FileReport) -> None:
        self.reports.append(report)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with worker_pool(2) as executor:
        yield executor


@pytest.fixture(scope="module")
def large_cb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CB file large enough for parts of PART_BYTES."""
    path = tmp_path_factory.mktemp("large") / "large.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=3).write(path, 300)
    assert path.stat().st_size >= 4 * PART_BYTES
    return path


# --- what a file's check says -----------------------------------------------------------------


def test_a_binding_that_lacks_concepts_lists_the_rules_that_did_not_run() -> None:
    report = mcfcheck.validate(CB_FILE, settings=SHORT_SETTINGS)
    assert report.skipped_rules == SHORT
    assert report.rules_not_run is not None
    assert report.rules_not_run.startswith(f"{len(SHORT)} of ")
    assert report.rules_not_run.endswith("rules not run: no binding for imsi, static_ip; see `mcfcheck bind`")
    assert report.valid
    # With the whole binding every rule runs; without rules nothing is said.
    assert mcfcheck.validate(CB_FILE).skipped_rules == ()
    assert mcfcheck.validate(CB_FILE, rules=False, settings=SHORT_SETTINGS).skipped_rules == ()


def test_a_file_with_no_binding_lists_every_selected_rule() -> None:
    report = mcfcheck.validate(DCC_FILE, schema=DCC_SCHEMA)
    assert report.rules_not_run == (
        "schema only: no rules ran (namespace 'urn:example:migration' has no binding; see `mcfcheck bind`)"
    )
    # The header's GroupID cannot be read: no rule can be told not to apply.
    assert report.cohort is None
    assert report.skipped_rules == _for_cohort(None)
    ignoring = RuleSettings(selection=Selection(ignore=("GEN", "COH")))
    selected = mcfcheck.validate(DCC_FILE, schema=DCC_SCHEMA, settings=ignoring).skipped_rules
    assert selected == tuple(code for code in _for_cohort(None) if not code.startswith(("GEN", "COH")))
    assert mcfcheck.validate(DCC_FILE, schema=DCC_SCHEMA, rules=False).skipped_rules == ()


def test_a_file_with_no_binding_and_a_known_cohort_lists_that_cohorts_rules() -> None:
    report = check_file(CB_FILE, rules=(REGISTRY, UNBOUND_SETTINGS))
    assert report.cohort == "CB"
    assert report.rules_not_run == (
        "schema only: no rules ran (namespace 'urn:mcfcheck:mcf' has no binding; see `mcfcheck bind`)"
    )
    assert report.skipped_rules == _for_cohort("CB")
    assert "IOC001" not in report.skipped_rules


def test_a_binding_without_the_group_id_says_its_check_did_not_run() -> None:
    report = mcfcheck.validate(CB_FILE, settings=RuleSettings(bindings=BindingSet((_binding_without("group_id"),))))
    # The cohort cannot be read: the cohorts' rules and the GroupID's own check did not run.
    cohort_rules = sorted(code for code, rule in REGISTRY.rules.items() if rule.cohorts)
    assert report.skipped_rules == tuple(sorted([*cohort_rules, UNKNOWN_GROUP_ID]))
    assert report.rules_not_run is not None
    assert report.rules_not_run.startswith(f"{len(cohort_rules) + 1} of {len(REGISTRY.rules) + 1} rules not run")


# --- workers: a file in parts, files whole ----------------------------------------------------


@pytest.mark.parametrize("settings", [SHORT_SETTINGS, UNBOUND_SETTINGS], ids=["partial", "unbound"])
def test_a_file_in_parts_says_what_its_single_pass_says(
    large_cb: Path, pool: ProcessPoolExecutor, settings: RuleSettings
) -> None:
    rules = (REGISTRY, settings)
    single = FileCheck(large_cb, rules=rules)
    single_findings = list(single)
    check = ParallelFileCheck(large_cb, lambda: pool, 2, rules=rules, part_bytes=PART_BYTES)
    assert list(check) == single_findings
    assert check.parallel, "the file was not validated in parts"
    assert single.skipped_rules == (SHORT if settings is SHORT_SETTINGS else _for_cohort("CB"))
    assert (check.rules_not_run, check.skipped_rules) == (single.rules_not_run, single.skipped_rules)


def test_every_way_of_running_a_batch_carries_the_rules_not_run(tmp_path: Path, large_cb: Path) -> None:
    small = tmp_path / "small.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=4).write(small, 5)
    rules = (REGISTRY, SHORT_SETTINGS)

    def run(paths: Sequence[Path], jobs: int) -> list[FileReport]:
        sink = Recorder()
        status = batch.validate_files(paths, sink, rules=rules, jobs=jobs, part_bytes=PART_BYTES)
        assert status == batch.ExitStatus.VALID
        return sink.reports

    single = run([small, large_cb], 1)
    # Two files: the workers validate the small one whole; the large one alone is split.
    for reports in (single, run([small, large_cb], 2), run([large_cb], 2)):
        assert {report.skipped_rules for report in reports} == {SHORT}
        assert {report.rules_not_run for report in reports} == {single[0].rules_not_run}
