"""Benchmark: peak memory on adversarial files against a normal file of the same size.

Builds three files of about ``--size`` MB (default 1 GB) in bench/data:

* a normal CB file (``mcfcheck generate``, as bench/run.py makes it);
* the same file with every identifier the uniqueness rules check (installation
  reference, MPAN core, MPRN, Device ID, ICCID, IMSI, static IP address) rewritten to
  one value per kind: every occurrence after the first of each is a duplicate, and a
  finding;
* the same file with a comment (``<!-- c -->``) after every installation.

Then validates each with ``mcfcheck validate --jobs 1`` and ``--jobs 2`` and prints,
as a Markdown table, the peak RSS of the process tree (mcfcheck and its worker
processes, added up, sampled every 20 ms from /proc), the peak of the largest single
process (exact, from ``wait4``), and each one's ratio to the normal file's under the
same ``--jobs``. The memory a file's findings take in the reports is not held:
findings stream to the reporters (the runs write no report, and print only a verdict).

    build/wheel-venv/bin/python bench/memory.py [--size 1000] [--jobs 1 2] [--files normal duplicates comments]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from run import BIN, DATA, generated

#: The identifiers the uniqueness rules check, each rewritten to one value (valid for the schema and its check digits).
SAME_VALUES: dict[bytes, bytes] = {
    b"InstallationReference": b"CB000-000000001",
    b"MPANCore": b"1800021679848",
    b"MPRN": b"3938424403",
    b"DeviceID": b"00-0D-6F-00-00-00-01-02",
    b"ICCID": b"89441000000000000000",
    b"IMSI": b"234150123456789",
    b"StaticIPAddress": b"10.0.0.1",
}
_IDENTIFIER = re.compile(rb"<(" + b"|".join(SAME_VALUES) + rb")>[^<]*</")
_INSTALLATION_END = re.compile(rb"(</Installation>)")
#: How often the process tree's memory is sampled, in seconds.
SAMPLE_SECONDS = 0.02


def rewritten(source: Path, name: str, rewrite: Callable[[bytes], bytes]) -> Path:
    """``source`` with ``rewrite`` applied to each line, written once to bench/data/``name``."""
    path = DATA / name
    if not path.exists():
        partial = path.with_suffix(".partial")
        with source.open("rb") as lines, partial.open("wb") as out:
            for line in lines:
                out.write(rewrite(line))
        partial.replace(path)
    return path


def all_duplicates(source: Path) -> Path:
    """``source`` with every checked identifier the same as every other of its kind."""

    def same(line: bytes) -> bytes:
        return _IDENTIFIER.sub(lambda found: b"<" + found[1] + b">" + SAME_VALUES[found[1]] + b"</", line)

    return rewritten(source, f"{source.stem}-all-duplicates.xml", same)


def commented(source: Path) -> Path:
    """``source`` with a comment after every installation."""
    return rewritten(source, f"{source.stem}-comments.xml", lambda line: _INSTALLATION_END.sub(rb"\1<!-- c -->", line))


#: The files the benchmark can build from the normal one: each one's label, and how it is made.
KINDS: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "normal": ("normal", lambda normal: normal),
    "duplicates": ("all duplicates", all_duplicates),
    "comments": ("comment per installation", commented),
}


def _tree_rss_kb(root: int) -> int:
    """The resident memory of ``root`` and all its descendants, added up (kB)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The fields after the command name, which may hold spaces and parentheses.
                fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    tree, total = {root}, 0
    grown = True
    while grown:
        grown = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grown = True
    for pid in tree:
        try:
            with Path(f"/proc/{pid}/status").open() as status:
                total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
        except OSError:
            continue
    return total


@dataclass(frozen=True)
class Peak:
    """One run's peaks: of the process tree (sampled) and of its largest process (exact)."""

    tree_mb: float
    process_mb: float
    seconds: float
    exit_status: int


def measure(command: list[str]) -> Peak:
    """Run ``command``; sample its process tree's memory while it runs."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    highest = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal highest
        while not done.wait(SAMPLE_SECONDS):
            highest = max(highest, _tree_rss_kb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _pid, status, usage = os.wait4(process.pid, 0)
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    return Peak(highest / 1024, usage.ru_maxrss / 1024, elapsed, process.returncode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1000, help="file size in MB (default 1000)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="the --jobs values to run with")
    parser.add_argument(
        "--files",
        nargs="+",
        choices=list(KINDS),
        default=list(KINDS),
        help="which files to build and validate (default: all three; the ratios are to the first)",
    )
    options = parser.parse_args()
    normal = generated(options.size)
    files = {KINDS[kind][0]: KINDS[kind][1](normal) for kind in options.files}
    version = subprocess.run([str(BIN / "mcfcheck"), "--version"], capture_output=True, text=True, check=True)
    print(f"{version.stdout.strip()}; {os.cpu_count()} cores\n")
    print("| file | MB | --jobs | seconds | peak RSS, tree (MB) | ratio | largest process (MB) | ratio | exit |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for jobs in options.jobs:
        baseline: Peak | None = None
        for label, path in files.items():
            peak = measure([str(BIN / "mcfcheck"), "validate", "-q", "--jobs", str(jobs), str(path)])
            baseline = baseline or peak
            print(
                f"| {label} | {path.stat().st_size / 1e6:,.0f} | {jobs} | {peak.seconds:,.1f} | "
                f"{peak.tree_mb:,.0f} | {peak.tree_mb / baseline.tree_mb:.2f}x | "
                f"{peak.process_mb:,.0f} | {peak.process_mb / baseline.process_mb:.2f}x | {peak.exit_status} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
