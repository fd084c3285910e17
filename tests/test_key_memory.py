"""The search for duplicate identifiers holds the same memory however many installations a file has.

What it holds at once is set by :class:`mcfcheck.rules.keys.Buffers` (and the ledger's
:data:`mcfcheck.rules.ledger.index_every`): made tiny, the search goes through many
ranges, shrinks and halves them, and sorts on disk in many runs, and a file's findings
are still exactly those of a single pass with the defaults, in parts or whole.
"""

from __future__ import annotations

import random
import re
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcfcheck.check.file import FileCheck
from mcfcheck.findings import Finding
from mcfcheck.generate import MCFGenerator
from mcfcheck.rules import keys, ledger
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.keys import Buffers, KeyStore
from mcfcheck.rules.registry import load_registry
from mcfcheck.run.parts import ParallelFileCheck, worker_pool

RULES = (load_registry(), RuleSettings())
#: Parts small enough for a file of 300 installations to be validated in several.
PART_BYTES = 64 << 10
#: Buffers far smaller than the identifiers of the files below: a few dozen fingerprints per range.
TINY = Buffers(gather_items=16, run_items=4, block_items=8)
#: The identifiers the uniqueness rules check, as they are written in a generated file.
IDENTIFIER = re.compile(r"<(DeviceID|InstallationReference|MPANCore|MPRN|IMSI|StaticIPAddress|ICCID)>([^<]+)</")
#: The uniqueness rules' codes.
UNIQUENESS = {f"GEN01{digit}" for digit in range(7)}


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with worker_pool(2) as executor:
        yield executor


def _planted(text: str, seed: int, copies: int, spread: int) -> str:
    """``text`` with identifiers copied over others of their kind: ``spread`` values, ``copies`` times in all."""
    found = [(match.start(2), match.end(2), match[1], match[2]) for match in IDENTIFIER.finditer(text)]
    chooser = random.Random(seed)
    sources = chooser.sample(found, spread)
    replaced: dict[int, tuple[int, str]] = {}
    for _copy in range(copies):
        source, _end, kind, value = chooser.choice(sources)
        start, end, _kind, _value = chooser.choice([item for item in found if item[2] == kind and item[0] != source])
        replaced[start] = (end, value)
    pieces, at = [], 0
    for start in sorted(replaced):
        end, value = replaced[start]
        pieces += [text[at:start], value]
        at = end
    return "".join([*pieces, text[at:]])


def _single_pass(path: Path) -> list[Finding]:
    return list(FileCheck(path, rules=RULES))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cohort=st.sampled_from(sorted(builtin_cohorts())),
    seed=st.integers(min_value=0, max_value=10_000),
    copies=st.integers(min_value=1, max_value=300),
    spread=st.integers(min_value=1, max_value=40),
    every=st.integers(min_value=1, max_value=7),
)
def test_tiny_buffers_give_the_single_pass_findings_in_parts_or_whole(
    tmp_path: Path, pool: ProcessPoolExecutor, cohort: str, seed: int, copies: int, spread: int, every: int
) -> None:
    text = "".join(MCFGenerator(builtin_cohorts()[cohort], seed=seed).iter_text(300))
    path = tmp_path / "file.xml"
    path.write_text(_planted(text, seed, copies, spread), encoding="utf-8")
    expected = _single_pass(path)
    assert any(finding.code in UNIQUENESS for finding in expected), "no duplicate was planted"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keys, "buffers", TINY)
        patch.setattr(ledger, "index_every", every)
        assert _single_pass(path) == expected
        check = ParallelFileCheck(path, lambda: pool, 2, rules=RULES, part_bytes=PART_BYTES)
        assert list(check) == expected
        assert check.parallel, "the file was not validated in parts"


def _search_peak(occurrences: int) -> tuple[int, int]:
    """How many duplicates ``occurrences`` identifiers hold (an eighth), and the peak memory of their search."""
    store = KeyStore(sizes=Buffers(gather_items=2048, run_items=8192, block_items=1024))
    add = store.adder()
    for number in range(occurrences):
        add(f"D{number // 2 if number % 4 == 0 else number}", number + 1, 0)
    try:
        tracemalloc.start()
        found = sum(1 for _duplicate in store.duplicates())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        store.close()
    return found, peak


def test_the_search_holds_the_same_memory_for_four_times_the_identifiers() -> None:
    """Four times the identifiers (and duplicates): the search gathers as much at a time, in four times the ranges.

    Were the fingerprints gathered whole, as they once were, the peak would grow by
    about 12 bytes per identifier (the fingerprints, a sorted copy and its scratch):
    1.4 MB more here, against a peak of about 1.6 MB.
    """
    # Whatever the search imports the first time is imported before it is measured.
    _search_peak(100)
    small_found, small_peak = _search_peak(40_000)
    large_found, large_peak = _search_peak(160_000)
    assert large_found == 4 * small_found > 0
    assert large_peak < 1.2 * small_peak
