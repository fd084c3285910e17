"""Bounded memory: validating a file ten times larger must not need more memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcfcheck.cohorts import builtin_cohorts
from mcfcheck.generate import MCFGenerator

from .conftest import child_peak_rss_mb


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    cohort = builtin_cohorts()["CB"]
    small, large = tmp_path / "small.xml", tmp_path / "large.xml"
    MCFGenerator(cohort, seed=1).write(small, 2_000)
    MCFGenerator(cohort, seed=1).write(large, 20_000)
    assert large.stat().st_size > 9 * small.stat().st_size
    small_peak, large_peak = child_peak_rss_mb(small), child_peak_rss_mb(large)
    assert large_peak <= 1.3 * small_peak, (small_peak, large_peak)
    assert large_peak < 200
