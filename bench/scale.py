"""Benchmark: ``mcfcheck batch`` at scale: many files, a large ledger, a loopback Dask cluster.

Two sets of generated files (every cohort in turn, each file a seed of its own, so that no
two share an identifier; generated in this process, as ``mcfcheck generate`` does, and
cached in bench/data/):

* ``--files`` files (default 200) of ``--smallest`` to ``--largest`` MB (default 5 to 50),
  their sizes spread evenly between the two;
* ``--small-files`` files (default 2,000) of 3 to 12 installations each.

On each set, each as its own process (wall time; the peak RSS of ``mcfcheck batch``'s own
process from ``wait4``, its workers' not counted), in turn, ``--rounds`` times over:

* ``mcfcheck batch --no-ledger``;
* ``mcfcheck batch`` with a new SQLite ledger (each file and installation recorded, and the
  checks across files);
* the same on the workers of a Dask cluster started once on loopback for the benchmark
  (``dask scheduler``, ``dask worker --nworkers`` one a core).

Then, with the ledger of the large files (its identifiers counted), ``--probe`` new files
of 5 MB checked by a batch against it and against an empty ledger: what holding that
many identifiers costs a batch; and, in this process, how long reading them into the
checks across files takes (``CrossFiles``), with this process's peak RSS.

Prints Markdown tables, the ledger's cost as a multiple of the batch without it (the
median of the rounds' ratios, each between runs made one after the other), and the
ledger's size per installation.

    build/wheel-venv/bin/python bench/scale.py [--files 200] [--small-files 2000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import loopback_cluster
from mcfcheck.generate import MCFGenerator
from mcfcheck.rules.cohorts import builtin_cohorts
from run import BIN, BYTES_PER_INSTALLATION, DATA
from stats import measure, paired, print_table

COHORTS = ("IOC", "CB", "SECURE", "FOC")
#: The seeds of the probe's files: far from those of the sets, so that they share no identifier.
PROBE_SEEDS = 900_000


def generated(folder: Path, counts: list[int], first_seed: int = 0) -> Path:
    """A folder of generated files, one of each count of installations, made once."""
    made = sorted(folder.glob("*.xml")) if folder.is_dir() else []
    if len(made) != len(counts):
        folder.mkdir(parents=True, exist_ok=True)
        cohorts = builtin_cohorts()
        for number, count in enumerate(counts):
            path = folder / f"file-{number:05d}.xml"
            if path.is_file():
                continue
            generator = MCFGenerator(cohorts[COHORTS[number % len(COHORTS)]], seed=first_seed + number)
            part = path.with_suffix(".part")
            with part.open("w", encoding="utf-8") as written:
                written.writelines(generator.iter_text(count))
            part.rename(path)
        print(f"generated {len(counts)} files in {folder.name}", file=sys.stderr)
    return folder


def large_files(files: int, smallest: int, largest: int) -> Path:
    sizes = [smallest + (largest - smallest) * number / max(1, files - 1) for number in range(files)]
    counts = [max(1, round(size * 1e6 / BYTES_PER_INSTALLATION)) for size in sizes]
    return generated(DATA / f"scale-{files}x{smallest}-{largest}mb", counts)


def small_files(files: int) -> Path:
    return generated(DATA / f"scale-{files}-small", [3 + number % 10 for number in range(files)], first_seed=100_000)


def batches(folder: Path, rounds: int, work: Path, address: str) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Each kind of batch over ``folder``, ``rounds`` times over in turn."""
    batch = [str(BIN / "mcfcheck"), "batch", "-q", str(folder)]
    labels = ("batch --no-ledger", "batch, new ledger", "batch --dask (loopback), new ledger")
    times: dict[str, list[float]] = {label: [] for label in labels}
    peaks: dict[str, float] = dict.fromkeys(labels, 0.0)
    for number in range(rounds):
        ledgers = [work / f"{folder.name}-{number}-{kind}.sqlite" for kind in ("local", "dask")]
        commands = (
            [*batch, "--no-ledger"],
            [*batch, "--ledger", str(ledgers[0])],
            [*batch, "--ledger", str(ledgers[1]), "--dask", address],
        )
        for label, command in zip(labels, commands, strict=True):
            os.sync()
            elapsed, peak = measure(command, allowed=(0, 1))
            times[label].append(elapsed)
            peaks[label] = max(peaks[label], peak)
    return times, peaks


def report(title: str, folder: Path, times: dict[str, list[float]], peaks: dict[str, float], ledger: Path) -> None:
    files = sorted(folder.glob("*.xml"))
    size = sum(path.stat().st_size for path in files) / 1e6
    with sqlite3.connect(ledger) as connection:
        installations, identifiers = connection.execute(
            "SELECT COUNT(*), SUM(LENGTH(identifiers)) / 9 FROM installations"
        ).fetchone()
    labels = list(times)
    print(f"\n### {title}: {len(files):,} files, {size:,.0f} MB, {installations:,} installations\n")
    print_table(times, peaks, size)
    print(f"\n- the ledger costs {paired(times[labels[1]], times[labels[0]])} times the batch without it")
    print(f"- on Dask: {paired(times[labels[2]], times[labels[1]])} times the same batch on its own workers")
    print(f"- files a second: {len(files) / min(times[labels[1]]):,.1f} with the ledger")
    ledger_bytes = ledger.stat().st_size
    print(
        f"- the ledger: {ledger_bytes / 1e6:,.1f} MB, {ledger_bytes / installations:,.0f} bytes an installation "
        f"({identifiers:,} identifiers)"
    )


def probe(ledger: Path, count: int, work: Path) -> None:
    """A batch of new files against the large ledger and against an empty one; reading the ledger's identifiers."""
    folder = generated(
        DATA / f"scale-probe-{count}", [round(5e6 / BYTES_PER_INSTALLATION)] * count, first_seed=PROBE_SEEDS
    )
    times: dict[str, list[float]] = {"against an empty ledger": [], "against the large ledger": []}
    peaks: dict[str, float] = dict.fromkeys(times, 0.0)
    for number in range(3):
        empty, copy = work / f"empty-{number}.sqlite", work / f"copy-{number}.sqlite"
        shutil.copyfile(ledger, copy)
        for label, path in zip(times, (empty, copy), strict=True):
            elapsed, peak = measure([str(BIN / "mcfcheck"), "batch", "-q", str(folder), "--ledger", str(path)], (0, 1))
            times[label].append(elapsed)
            peaks[label] = max(peaks[label], peak)
        copy.unlink()
    size = sum(path.stat().st_size for path in folder.glob("*.xml")) / 1e6
    print(f"\n### {count} new files of 5 MB against the large ledger, 3 rounds\n")
    print_table(times, peaks, size)
    labels = list(times)
    print(f"\n- {paired(times[labels[1]], times[labels[0]])} times the same batch against an empty ledger")
    from mcfcheck.run.crossfiles import CrossFiles
    from mcfcheck.run.ledger import Ledger

    book = Ledger(f"sqlite:///{ledger}", create=False)
    started = time.perf_counter()
    index = CrossFiles(book.held())
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"- reading the ledger's identifiers into the checks across files: {elapsed:.2f} s, peak RSS {peak:.0f} MB")
    index.close()
    book.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--smallest", type=int, default=5, help="MB")
    parser.add_argument("--largest", type=int, default=50, help="MB")
    parser.add_argument("--small-files", type=int, default=2000)
    parser.add_argument("--probe", type=int, default=4, help="new files of 5 MB checked against the large ledger")
    parser.add_argument("--rounds", type=int, default=1)
    arguments = parser.parse_args()
    large = large_files(arguments.files, arguments.smallest, arguments.largest)
    small = small_files(arguments.small_files)
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores, {arguments.rounds} round(s)")
    with tempfile.TemporaryDirectory(prefix="bench-scale-", dir=DATA) as name:
        work = Path(name)
        with loopback_cluster(work, cores) as address:
            for title, folder in (("Large files", large), ("Small files", small)):
                times, peaks = batches(folder, arguments.rounds, work, address)
                report(title, folder, times, peaks, work / f"{folder.name}-0-local.sqlite")
        probe(work / f"{large.name}-0-local.sqlite", arguments.probe, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
