"""Bounded memory: validating a file ten times larger must not need more memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mcfcheck.cohorts import builtin_cohorts
from mcfcheck.generate import MCFGenerator

# The child reports its own high-water mark (VmHWM of its memory after exec): the
# ru_maxrss that wait4 gives a forked child counts the forking parent's memory too, and
# pytest's grows over a run.
MEASURE = """
import sys
from mcfcheck.cli import main
status = main(["validate", "-q", "--jobs", "1", sys.argv[1]])
with open("/proc/self/status") as proc:
    peak_kb = next(int(line.split()[1]) for line in proc if line.startswith("VmHWM:"))
print(peak_kb)
sys.exit(status)
"""


def _peak_rss_mb(path: Path) -> float:
    """Validate ``path`` in a child process and return that process's own peak RSS."""
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1]) / 1024


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
