"""Benchmark: ``mcfcheck extract`` against ``mcfcheck validate`` on the same files.

On two CB files of about ``--size`` MB, generated once (cached in bench/data/): one
valid, one with ``--error-rate`` of its installations given a planted schema error. In
one run, each command as its own process (wall time; its peak RSS from ``wait4``),
``--rounds`` times over in turn, with ``--jobs`` workers:

* ``mcfcheck validate --quiet`` (the schema and every rule);
* ``mcfcheck extract --accepted … --rejected … --response …``: the same validation, then
  the installations copied byte for byte into the two MCFs, and the response.

Prints a Markdown table (median time, range, throughput, highest peak RSS) and, per
file, extract's time as a multiple of validate's (the median of the rounds' ratios, each
between runs made one after the other) and its peak RSS as a multiple of validate's.

    build/wheel-venv/bin/python bench/extract.py [--size 100] [--rounds 3] [--jobs 0] [--error-rate 0.01] \\
        [--outputs DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BIN, BYTES_PER_INSTALLATION, generated
from stats import measure, paired


def with_errors(megabytes: int, rate: float) -> Path:
    """A CB file of about ``megabytes`` MB with ``rate`` of its installations given a schema error."""
    clean = generated(megabytes)
    path = clean.with_name(f"cb-{megabytes}mb-errors-{rate:g}.xml")
    if not path.exists():
        installations = max(1, megabytes * 1_000_000 // BYTES_PER_INSTALLATION)
        planted = str(path.with_suffix(".planted.csv"))
        command = [str(BIN / "mcfcheck"), "generate", "-q", "-o", str(path), "--cohort", "CB", "-n", str(installations)]
        subprocess.run([*command, "--error-rate", str(rate), "--planted", planted], check=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--size", type=int, default=100, help="megabytes of the generated files")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=0, help="worker processes (0: every core)")
    parser.add_argument("--error-rate", type=float, default=0.01)
    parser.add_argument(
        "--outputs",
        type=Path,
        default=None,
        help="the folder extract writes in (default: beside the files); /dev/shm leaves the disk out",
    )
    arguments = parser.parse_args()
    mcfcheck = str(BIN / "mcfcheck")
    jobs = ["--jobs", str(arguments.jobs)]
    files = {"valid": generated(arguments.size), "with errors": with_errors(arguments.size, arguments.error_rate)}
    times: dict[tuple[str, str], list[float]] = {}
    peaks: dict[tuple[str, str], float] = {}
    where = arguments.outputs or files["valid"].parent
    with tempfile.TemporaryDirectory(prefix="bench-extract-", dir=where) as name:
        scratch = Path(name)
        outputs = [
            *("--accepted", str(scratch / "ok.xml"), "--rejected", str(scratch / "bad.xml")),
            *("--response", str(scratch / "response.csv")),
        ]
        for _round in range(arguments.rounds):
            for kind, path in files.items():
                for label, command in (
                    ("validate", [mcfcheck, "validate", "--quiet", *jobs, str(path)]),
                    ("extract", [mcfcheck, "extract", "--quiet", *jobs, *outputs, str(path)]),
                ):
                    for made in scratch.iterdir():
                        # Each run writes new files, as a first run would (replacing costs an unlink).
                        made.unlink()
                    # Each run starts with nothing left to write back: the previous run's gigabyte, still
                    # being written to disk, slowed the next run by up to 2 s (whichever command it was).
                    os.sync()
                    elapsed, peak = measure(command, allowed=(0, 1))
                    times.setdefault((kind, label), []).append(elapsed)
                    peaks[kind, label] = max(peaks.get((kind, label), 0.0), peak)
    print(f"{arguments.rounds} rounds, --jobs {arguments.jobs}, outputs in {where}\n")
    print("| file | command | seconds, median (range) | MB/s | peak RSS (MB) |")
    print("|---|---|---:|---:|---:|")
    for (kind, label), runs in times.items():
        size = files[kind].stat().st_size / 1e6
        median = statistics.median(runs)
        print(
            f"| {files[kind].name} | mcfcheck {label} | {median:.2f} ({min(runs):.2f}-{max(runs):.2f}) "
            f"| {size / median:,.1f} | {peaks[kind, label]:.0f} |"
        )
    print()
    for kind in files:
        # Each round's ratio is taken between runs made one after the other (the machine's speed drifts).
        ratio = paired(times[kind, "extract"], times[kind, "validate"])
        memory = peaks[kind, "extract"] / peaks[kind, "validate"]
        print(f"- {files[kind].name}: extract takes {ratio} times validate's time, {memory:.2f} times its memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
