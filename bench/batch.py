"""Benchmark: what the ledger costs a batch (``mcfcheck batch`` with and without ``--no-ledger``).

On ``--files`` generated files of about ``--size`` MB each (every cohort in turn, cached
in bench/data/batch-…/), in one run, each as its own process (wall time; peak RSS from
``wait4``), ``--rounds`` times over in turn, on every core:

* ``mcfcheck batch --no-ledger -q DIR``: the files validated, nothing recorded;
* ``mcfcheck batch --ledger NEW -q DIR``: the same, each file hashed (SHA-256), its header
  read and its record written to a new ledger;
* ``mcfcheck batch --ledger SAME -q DIR`` once the ledger holds them: every file hashed
  and skipped;
* ``mcfcheck batch --ledger postgresql://... -q DIR``: the same as the second, into a new
  database of a PostgreSQL server on this machine, started for the benchmark in a
  temporary folder as the tests start theirs (tests/postgresql.py), over loopback TCP
  (left out, saying why, where no server can start; ``--no-postgresql`` leaves it out).

Prints a Markdown table, the ledger's cost as a multiple of the batch without it (the
median of the rounds' ratios, each between runs made one after the other), a PostgreSQL
ledger's as a multiple of an SQLite one's, and the ledger's size per file.

    build/wheel-venv/bin/python bench/batch.py [--files 20] [--size 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BIN, BYTES_PER_INSTALLATION, DATA, ROOT
from stats import measure, paired, print_table

sys.path.insert(0, str(ROOT))

from tests.postgresql import Server, ServerUnavailableError

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


def postgresql_server() -> Server | None:
    """A throwaway PostgreSQL server, as the tests start theirs; None (saying why) where none can start."""
    try:
        return Server()
    except ServerUnavailableError as error:
        print(f"no PostgreSQL ledger: {error}", file=sys.stderr)
        return None


def batch_benchmark(description: str) -> tuple[argparse.Namespace, Path]:
    """A batch benchmark's options (``--files``, ``--size``, ``--rounds``) and its folder of generated files."""
    parser = argparse.ArgumentParser(description=description.split("\n\n", 1)[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--size", type=int, default=5, help="megabytes of each generated file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgresql", action="store_true", help="leave out the PostgreSQL ledger")
    arguments = parser.parse_args()
    return arguments, files(arguments.files, arguments.size)


def main() -> int:
    arguments, folder = batch_benchmark(__doc__)
    mcfcheck = str(BIN / "mcfcheck")
    server = None if arguments.no_postgresql else postgresql_server()
    labels: tuple[str, ...] = (
        "batch --no-ledger",
        "batch, new ledger",
        "batch, ledger holding them",
        "batch, new PostgreSQL ledger",
    )
    labels = labels if server is not None else labels[:3]
    times: dict[str, list[float]] = {label: [] for label in labels}
    peaks: dict[str, float] = dict.fromkeys(labels, 0.0)
    ledger_bytes = 0
    try:
        with tempfile.TemporaryDirectory(prefix="bench-batch-", dir=DATA) as name:
            for number in range(arguments.rounds):
                ledger = Path(name) / f"ledger-{number}.sqlite"
                commands = [
                    [mcfcheck, "batch", "-q", "--no-ledger", str(folder)],
                    [mcfcheck, "batch", "-q", "--ledger", str(ledger), str(folder)],
                    [mcfcheck, "batch", "-q", "--ledger", str(ledger), str(folder)],
                ]
                if server is not None:
                    commands.append([mcfcheck, "batch", "-q", "--ledger", server.database(), str(folder)])
                for label, command in zip(labels, commands, strict=True):
                    elapsed, peak = measure(command, allowed=(0, 1))
                    times[label].append(elapsed)
                    peaks[label] = max(peaks[label], peak)
                ledger_bytes = ledger.stat().st_size
    finally:
        if server is not None:
            server.stop()
    size = sum(path.stat().st_size for path in folder.glob("*.xml")) / 1e6
    print(f"{arguments.files} files, {size:,.0f} MB in all, {arguments.rounds} rounds, every core\n")
    print_table(times, peaks, size)
    print(f"\n- the ledger costs {paired(times[labels[1]], times[labels[0]])} times the batch without it")
    if server is not None:
        print(f"- a PostgreSQL ledger takes {paired(times[labels[3]], times[labels[1]])} times an SQLite one's time")
    print(f"- the ledger: {ledger_bytes:,} bytes, {ledger_bytes / arguments.files:,.0f} per file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
