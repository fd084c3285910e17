"""Bounded memory: validating a file ten times larger must not need more memory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcfcheck.cohorts import builtin_cohorts
from mcfcheck.generate import MCFGenerator

MCFCHECK = Path(sys.executable).with_name("mcfcheck")


def _peak_rss_mb(path: Path) -> float:
    """Validate ``path`` in a child process and return that process's peak RSS."""
    process = subprocess.Popen([str(MCFCHECK), "validate", "-q", str(path)], stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return usage.ru_maxrss / 1024


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    cohort = builtin_cohorts()["CB"]
    small, large = tmp_path / "small.xml", tmp_path / "large.xml"
    MCFGenerator(cohort, seed=1).write(small, 2_000)
    MCFGenerator(cohort, seed=1).write(large, 20_000)
    assert large.stat().st_size > 9 * small.stat().st_size
    small_peak, large_peak = _peak_rss_mb(small), _peak_rss_mb(large)
    assert large_peak <= 1.3 * small_peak, (small_peak, large_peak)
    assert large_peak < 200
