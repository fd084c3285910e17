"""Benchmark: what the ledger costs a batch (``mcfcheck batch`` with and without ``--no-ledger``).

On ``--files`` generated files of about ``--size`` MB each (every cohort in turn, cached
in bench/data/batch-…/), in one run, each as its own process (wall time; peak RSS from
``wait4``), ``--rounds`` times over in turn, on every core:

* ``mcfcheck batch --no-ledger -q DIR``: the files validated, nothing recorded;
* ``mcfcheck batch --ledger NEW -q DIR``: the same, each file hashed (SHA-256), its header
  read and its record written to a new ledger;
* ``mcfcheck batch --ledger SAME -q DIR`` once the ledger holds them: every file hashed
  and skipped.

Prints a Markdown table, the ledger's cost as a multiple of the batch without it (the
median of the rounds' ratios, each between runs made one after the other), and the
ledger's size per file.

    build/wheel-venv/bin/python bench/batch.py [--files 20] [--size 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BIN, BYTES_PER_INSTALLATION, DATA
from stats import measure, paired, print_table

COHORTS = ("IOC", "CB", "SECURE", "FOC")


def files(count: int, megabytes: int) -> Path:
    """A folder of ``count`` generated files of about ``megabytes`` MB each, made once."""
    folder = DATA / f"batch-{count}x{megabytes}mb"
    made = sorted(folder.glob("*.xml")) if folder.is_dir() else []
    if len(made) != count:
        folder.mkdir(parents=True, exist_ok=True)
        installations = max(1, megabytes * 1_000_000 // BYTES_PER_INSTALLATION)
        for number in range(count):
            path = folder / f"file-{number:04d}.xml"
            cohort = COHORTS[number % len(COHORTS)]
            command = [str(BIN / "mcfcheck"), "generate", "-q", "-o", str(path), "--cohort", cohort]
            subprocess.run([*command, "-n", str(installations), "--seed", str(number)], check=True)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--size", type=int, default=5, help="megabytes of each generated file")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    folder = files(arguments.files, arguments.size)
    mcfcheck = str(BIN / "mcfcheck")
    labels = ("batch --no-ledger", "batch, new ledger", "batch, ledger holding them")
    times: dict[str, list[float]] = {label: [] for label in labels}
    peaks: dict[str, float] = dict.fromkeys(labels, 0.0)
    ledger_bytes = 0
    with tempfile.TemporaryDirectory(prefix="bench-batch-", dir=DATA) as name:
        for number in range(arguments.rounds):
            ledger = Path(name) / f"ledger-{number}.sqlite"
            for label, command in (
                (labels[0], [mcfcheck, "batch", "-q", "--no-ledger", str(folder)]),
                (labels[1], [mcfcheck, "batch", "-q", "--ledger", str(ledger), str(folder)]),
                (labels[2], [mcfcheck, "batch", "-q", "--ledger", str(ledger), str(folder)]),
            ):
                elapsed, peak = measure(command, allowed=(0, 1))
                times[label].append(elapsed)
                peaks[label] = max(peaks[label], peak)
            ledger_bytes = ledger.stat().st_size
    size = sum(path.stat().st_size for path in folder.glob("*.xml")) / 1e6
    print(f"{arguments.files} files, {size:,.0f} MB in all, {arguments.rounds} rounds, every core\n")
    print_table(times, peaks, size)
    print(f"\n- the ledger costs {paired(times[labels[1]], times[labels[0]])} times the batch without it")
    print(f"- the ledger: {ledger_bytes:,} bytes, {ledger_bytes / arguments.files:,.0f} per file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
