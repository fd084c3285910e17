"""Benchmark: ``mcfcheck stats`` against ``mcfcheck validate --no-rules`` on the same file.

Generates a CB file of about ``--size`` MB with ``mcfcheck generate`` (the file ``make
bench`` uses, cached in bench/data/), then runs ``mcfcheck stats --format json`` and
``mcfcheck validate --quiet --no-rules`` on it, alternating, ``--rounds`` times over,
with ``--jobs`` workers, each as its own process: wall time and that process's peak RSS
(``wait4``). Prints each one's median time (and range), throughput and highest peak
RSS, and the ratio of throughputs (stats / validate --no-rules) as the median of the
rounds' ratios, each between runs made one after the other. The goal: at least 1.

    build/wheel-venv/bin/python bench/stats.py [--size 100] [--rounds 5] [--jobs 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from run import BIN, generated


def measure(
    command: list[str], allowed: tuple[int, ...] = (0,), environment: dict[str, str] | None = None
) -> tuple[float, float]:
    """Run ``command`` as a child process (in ``environment``, or this one's): its wall time and its own peak RSS in MB.

    An exit status outside ``allowed`` stops the benchmark, with the command's error.
    """
    # Standard error goes to a file, not a pipe: a command that writes more than a pipe holds
    # (xmllint's line per file) would wait for a reader while this process waits for it.
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, env=environment)
        _pid, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        errors.seek(0)
        error = errors.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code not in allowed:
        raise SystemExit(f"bench: {' '.join(command)} failed ({code}): {error.strip()}")
    return elapsed, usage.ru_maxrss / 1024


def paired(mine: list[float], theirs: list[float]) -> str:
    """The median of the rounds' ratios (each between runs made one after the other), and each round's."""
    ratios = [one / other for one, other in zip(mine, theirs, strict=True)]
    return f"{statistics.median(ratios):.2f} (rounds: {', '.join(f'{ratio:.2f}' for ratio in ratios)})"


def print_table(times: dict[str, list[float]], peaks: dict[str, float], megabytes: float) -> None:
    """A Markdown table of each command's median time and range, throughput and highest peak RSS."""
    print("| command | seconds, median (range) | MB/s | peak RSS (MB) |")
    print("|---|---:|---:|---:|")
    for label, runs in times.items():
        median = statistics.median(runs)
        spread = f"{min(runs):.2f}-{max(runs):.2f}"
        print(f"| {label} | {median:.2f} ({spread}) | {megabytes / median:,.1f} | {peaks[label]:.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--size", type=int, default=100, help="megabytes of the generated file")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1)
    arguments = parser.parse_args()
    path = generated(arguments.size)
    jobs = ["--jobs", str(arguments.jobs)]
    commands = {
        "mcfcheck stats": [str(BIN / "mcfcheck"), "stats", "--quiet", "--format", "json", *jobs, str(path)],
        "mcfcheck validate --no-rules": [str(BIN / "mcfcheck"), "validate", "--quiet", "--no-rules", *jobs, str(path)],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, float] = dict.fromkeys(commands, 0.0)
    ratios: list[float] = []
    for _round in range(arguments.rounds):
        for name, command in commands.items():
            elapsed, peak = measure(command)
            times[name].append(elapsed)
            peaks[name] = max(peaks[name], peak)
        # Throughput of stats over validate's: validate's time over stats'.
        ratios.append(times["mcfcheck validate --no-rules"][-1] / times["mcfcheck stats"][-1])
    size = path.stat().st_size / 1e6
    print(f"{path.name}: {size:,.0f} MB, {arguments.rounds} rounds, --jobs {arguments.jobs}\n")
    print("| command | seconds, median (range) | MB/s | peak RSS (MB) |")
    print("|---|---:|---:|---:|")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"| {name} | {median:.2f} ({min(runs):.2f}-{max(runs):.2f}) | {size / median:,.1f} | {peaks[name]:.0f} |")
    print(f"\nthroughput ratio (stats / validate --no-rules), median of the rounds: {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
