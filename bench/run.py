"""Benchmark: mcfcheck against its peers on the same generated MCFs, in one run.

Generates files of the sizes asked for (default about 100 MB and 1 GB) with
``mcfcheck generate``, then validates each with:

* ``mcfcheck validate`` (streaming, bundled schema, every rule of the file's cohort),
  and ``mcfcheck validate --no-rules`` (schema only);
* ``xmllint --noout --stream --schema`` with the same XSD (installed with apt-get
  when missing);
* xmlschema's lazy validation, on the 100 MB file by default (pure Python: over a minute).

Each tool runs as its own process; wall time and that process's peak RSS (from
``wait4``) are measured. Prints a Markdown table and the ratios, for BENCHMARKS.md.

    .venv/bin/python bench/run.py [--sizes 100 1000] [--slice 100]
"""

from __future__ import annotations

import argparse
import os
import shutil
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

    @property
    def megabytes(self) -> float:
        return self.file.stat().st_size / 1e6

    @property
    def throughput(self) -> float:
        return self.megabytes / self.seconds


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="file sizes in MB")
    parser.add_argument(
        "--slice", type=int, default=100, help="size in MB of the file given to xmlschema (slow: over a minute for 100)"
    )
    options = parser.parse_args()
    xmllint = ensure_xmllint()
    version = subprocess.run([str(BIN / "mcfcheck"), "--version"], capture_output=True, text=True, check=True)
    xmllint_version = subprocess.run([xmllint, "--version"], capture_output=True, text=True)
    print(f"{version.stdout.strip()}; {xmllint_version.stderr.splitlines()[0]}\n")
    results: list[Measurement] = []
    for size in options.sizes:
        path = generated(size)
        results.append(measure("mcfcheck", [str(BIN / "mcfcheck"), "validate", "-q", str(path)], path))
        results.append(
            measure("mcfcheck --no-rules", [str(BIN / "mcfcheck"), "validate", "-q", "--no-rules", str(path)], path)
        )
        results.append(
            measure("xmllint --stream", [xmllint, "--noout", "--stream", "--schema", str(SCHEMA), str(path)], path)
        )
    slice_path = generated(options.slice)
    results.append(measure("mcfcheck", [str(BIN / "mcfcheck"), "validate", "-q", str(slice_path)], slice_path))
    results.append(
        measure("xmlschema (lazy)", [sys.executable, "-c", XMLSCHEMA_LAZY, str(SCHEMA), str(slice_path)], slice_path)
    )
    print("| tool | file | MB | seconds | MB/s | peak RSS (MB) | exit |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for result in results:
        print(
            f"| {result.tool} | {result.file.name} | {result.megabytes:,.0f} | {result.seconds:,.1f} | "
            f"{result.throughput:,.1f} | {result.peak_rss_mb:,.0f} | {result.exit_status} |"
        )
    print()
    by_key = {(r.tool, r.file.name): r for r in results}
    for size in options.sizes:
        name = generated(size).name
        ours, theirs = by_key[("mcfcheck", name)], by_key[("xmllint --stream", name)]
        schema_only = by_key[("mcfcheck --no-rules", name)]
        print(
            f"- {name}: mcfcheck (schema + rules)/xmllint throughput = {ours.throughput / theirs.throughput:.2f}x; "
            f"schema only = {schema_only.throughput / theirs.throughput:.2f}x"
        )
    ours, theirs = by_key[("mcfcheck", slice_path.name)], by_key[("xmlschema (lazy)", slice_path.name)]
    print(f"- {slice_path.name}: mcfcheck/xmlschema throughput = {ours.throughput / theirs.throughput:.1f}x")
    if len(options.sizes) >= 2:
        small, large = min(options.sizes), max(options.sizes)
        peak_small = by_key[("mcfcheck", generated(small).name)].peak_rss_mb
        peak_large = by_key[("mcfcheck", generated(large).name)].peak_rss_mb
        print(
            f"- mcfcheck peak RSS: {peak_large:,.0f} MB on {large} MB vs {peak_small:,.0f} MB on {small} MB "
            f"= {peak_large / peak_small:.2f}x"
        )


if __name__ == "__main__":
    main()
