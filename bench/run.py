"""Benchmark: mcfcheck against its peers on the same generated MCFs, in one run.

Generates files of the sizes asked for (default about 100 MB and 1 GB) with
``mcfcheck generate``, then validates each with:

* ``mcfcheck validate`` (streaming, bundled schema, every rule of the file's cohort),
  and ``mcfcheck validate --no-rules`` (schema only);
* ``xmllint --noout --stream --schema`` with the same XSD (installed with apt-get
  when missing);
* xmlschema's lazy validation, on the 100 MB file by default (pure Python: over a minute).

Each tool runs as its own process; wall time and that process's peak RSS (from
``wait4``) are measured. On each file the tools run in turn, ``--rounds`` times over
(xmlschema once, after as many runs of mcfcheck on its file, whose median it is
compared with): the table gives each tool's median time (and the range), and each
ratio to xmllint is the median of the rounds' ratios, each taken between runs made one
after the other. A shared machine's speed drifts by tens of percent over minutes; a
single run of each can be off by as much. Prints a Markdown table and the ratios, for
BENCHMARKS.md.

    build/wheel-venv/bin/python bench/run.py [--sizes 100 1000] [--slice 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
SCHEMA = ROOT / "schemas" / "mcf-1.0.xsd"
BIN = Path(sys.executable).parent
#: Bytes per generated installation, measured on CB files; used to size the files.
BYTES_PER_INSTALLATION = 2004


@dataclass(frozen=True)
class Measurement:
    """One tool's run on one file."""

    tool: str
    file: Path
    seconds: float
    peak_rss_mb: float
    exit_status: int


def measure(tool: str, command: list[str], file: Path) -> Measurement:
    """Run ``command`` as a child process; its wall time and its own peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measurement(tool, file, elapsed, usage.ru_maxrss / 1024, process.returncode)


def ensure_xmllint() -> str:
    """The xmllint executable, installed from the distribution's packages if missing."""
    found = shutil.which("xmllint")
    if found:
        return found
    print("xmllint is missing: installing libxml2-utils", file=sys.stderr)
    # apt's chatter goes to stderr, so that stdout holds only the results.
    subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", "libxml2-utils"], check=True, stdout=sys.stderr)
    found = shutil.which("xmllint")
    if not found:
        raise SystemExit("bench: xmllint could not be installed")
    return found


def generated(megabytes: int) -> Path:
    """A CB file of about ``megabytes`` MB, generated once and reused."""
    path = DATA / f"cb-{megabytes}mb.xml"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        installations = max(1, megabytes * 1_000_000 // BYTES_PER_INSTALLATION)
        subprocess.run(
            [str(BIN / "mcfcheck"), "generate", "-q", "-o", str(path), "--cohort", "CB", "-n", str(installations)],
            check=True,
        )
    return path


XMLSCHEMA_LAZY = """
import sys, xmlschema
schema = xmlschema.XMLSchema(sys.argv[1])
errors = sum(1 for _ in schema.iter_errors(xmlschema.XMLResource(sys.argv[2], lazy=True)))
sys.exit(1 if errors else 0)
"""


@dataclass(frozen=True)
class Summary:
    """One tool's runs on one file: the median time, its range, the highest peak RSS."""

    tool: str
    file: Path
    runs: list[Measurement]

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def megabytes(self) -> float:
        return self.file.stat().st_size / 1e6

    @property
    def throughput(self) -> float:
        return self.megabytes / self.seconds

    @property
    def peak_rss_mb(self) -> float:
        return max(run.peak_rss_mb for run in self.runs)

    @property
    def exit_statuses(self) -> str:
        return ",".join(sorted({str(run.exit_status) for run in self.runs}))

    def row(self) -> str:
        spread = (
            f" ({min(r.seconds for r in self.runs):,.1f}-{max(r.seconds for r in self.runs):,.1f})"
            if len(self.runs) > 1
            else ""
        )
        return (
            f"| {self.tool} | {self.file.name} | {self.megabytes:,.0f} | {len(self.runs)} | "
            f"{self.seconds:,.1f}{spread} | {self.throughput:,.1f} | {self.peak_rss_mb:,.0f} | {self.exit_statuses} |"
        )


def paired_ratio(ours: Summary, theirs: Summary) -> float:
    """The median over rounds of their time over ours (our throughput over theirs)."""
    return statistics.median(their.seconds / our.seconds for our, their in zip(ours.runs, theirs.runs, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="file sizes in MB")
    parser.add_argument(
        "--slice", type=int, default=100, help="size in MB of the file given to xmlschema (slow: over a minute for 100)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="how many times each tool runs on each file, in turn")
    options = parser.parse_args()
    if options.rounds < 1:
        parser.error("--rounds must be at least 1")
    xmllint = ensure_xmllint()
    version = subprocess.run([str(BIN / "mcfcheck"), "--version"], capture_output=True, text=True, check=True)
    xmllint_version = subprocess.run([xmllint, "--version"], capture_output=True, text=True)
    print(f"{version.stdout.strip()}; {xmllint_version.stderr.splitlines()[0]}\n")
    summaries: dict[tuple[str, str], Summary] = {}

    def record(result: Measurement) -> None:
        key = (result.tool, result.file.name)
        summaries.setdefault(key, Summary(result.tool, result.file, [])).runs.append(result)

    for size in options.sizes:
        path = generated(size)
        for _ in range(options.rounds):
            record(measure("mcfcheck", [str(BIN / "mcfcheck"), "validate", "-q", str(path)], path))
            record(
                measure("mcfcheck --no-rules", [str(BIN / "mcfcheck"), "validate", "-q", "--no-rules", str(path)], path)
            )
            record(
                measure("xmllint --stream", [xmllint, "--noout", "--stream", "--schema", str(SCHEMA), str(path)], path)
            )
    slice_path = generated(options.slice)
    # mcfcheck runs on the slice just before xmlschema, as many times as the rounds: one
    # run of a couple of seconds can be off by a third on a shared machine (xmlschema's
    # minute evens that out by itself).
    slice_ours = Summary(
        "mcfcheck",
        slice_path,
        [
            measure("mcfcheck", [str(BIN / "mcfcheck"), "validate", "-q", str(slice_path)], slice_path)
            for _ in range(options.rounds)
        ],
    )
    slice_theirs = Summary(
        "xmlschema (lazy)",
        slice_path,
        [measure("xmlschema (lazy)", [sys.executable, "-c", XMLSCHEMA_LAZY, str(SCHEMA), str(slice_path)], slice_path)],
    )
    print("| tool | file | MB | runs | seconds, median (range) | MB/s | peak RSS (MB) | exit |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for summary in summaries.values():
        print(summary.row())
    print(slice_ours.row())
    print(slice_theirs.row())
    print()
    for size in options.sizes:
        name = generated(size).name
        ours, theirs = summaries[("mcfcheck", name)], summaries[("xmllint --stream", name)]
        schema_only = summaries[("mcfcheck --no-rules", name)]
        rounds = ", ".join(
            f"{their.seconds / our.seconds:.2f}" for our, their in zip(ours.runs, theirs.runs, strict=True)
        )
        print(
            f"- {name}: mcfcheck (schema + rules)/xmllint throughput = {paired_ratio(ours, theirs):.2f}x "
            f"(rounds: {rounds}); schema only = {paired_ratio(schema_only, theirs):.2f}x"
        )
    print(f"- {slice_path.name}: mcfcheck/xmlschema throughput = {slice_theirs.seconds / slice_ours.seconds:.1f}x")
    if len(options.sizes) >= 2:
        small, large = min(options.sizes), max(options.sizes)
        peak_small = summaries[("mcfcheck", generated(small).name)].peak_rss_mb
        peak_large = summaries[("mcfcheck", generated(large).name)].peak_rss_mb
        print(
            f"- mcfcheck peak RSS: {peak_large:,.0f} MB on {large} MB vs {peak_small:,.0f} MB on {small} MB "
            f"= {peak_large / peak_small:.2f}x"
        )


if __name__ == "__main__":
    main()
