"""Benchmark: small files, where start-up and the cost of each file are what a run takes.

Generates (cached in bench/data/) a CB file of ``--installations`` installations with
``mcfcheck generate``, and ``--files`` files of as many installations each: one file of
``--files`` times that many installations per cohort (IOC, CB, SECURE, FOC), generated,
then cut into files of that many installations with ``mcfcheck split``. Then, in one
run, ``--rounds`` times over in turn, each as its own process (wall time; peak RSS from
``wait4``):

* on the small file: ``mcfcheck validate`` (the bundled schema and every rule of the
  file's cohort; its start-up cache filled by a run before), the same with the cache
  turned off (``MCFCHECK_NO_CACHE=1``), ``mcfcheck validate --no-rules``, and
  ``xmllint --noout --schema`` and ``xmllint --noout --stream --schema`` with the same XSD;
* on all the small files, named by their folder for mcfcheck and one by one for
  xmllint (one process each): the same but the cache turned off, and ``mcfcheck
  validate --jobs 1`` besides (every core is the default).

Prints, for BENCHMARKS.md, a Markdown table of each command's median time (and range)
and peak RSS, and its ratio to ``xmllint --noout --schema`` on the same files: the
median of the rounds' ratios, each between runs made one after the other.

    build/wheel-venv/bin/python bench/small.py [--files 2000] [--installations 4] [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BIN, DATA, SCHEMA, ensure_xmllint
from stats import measure

COHORTS = ("IOC", "CB", "SECURE", "FOC")


def mcfcheck(*arguments: str) -> list[str]:
    return [str(BIN / "mcfcheck"), *arguments]


def small_file(installations: int) -> Path:
    """A CB file of ``installations`` installations, generated once."""
    path = DATA / f"small-cb-{installations}.xml"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        subprocess.run([*mcfcheck("generate", "-q", "-o", str(path), "-n", str(installations))], check=True)
    return path


def small_files(count: int, installations: int) -> tuple[Path, list[Path]]:
    """A folder of ``count`` files of ``installations`` installations each (every cohort in turn), made once."""
    folder = DATA / f"small-{count}x{installations}"
    made = sorted(folder.glob("*.xml")) if folder.is_dir() else []
    if len(made) == count:
        return folder, made
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    per_cohort = [count // len(COHORTS) + (index < count % len(COHORTS)) for index in range(len(COHORTS))]
    with tempfile.TemporaryDirectory(prefix="small-", dir=DATA) as scratch:
        for seed, (cohort, files) in enumerate(zip(COHORTS, per_cohort, strict=True)):
            if not files:
                continue
            whole = Path(scratch, f"{cohort}.xml")
            generate = ["generate", "-q", "-o", str(whole), "--cohort", cohort, "--seed", str(seed)]
            subprocess.run(mcfcheck(*generate, "-n", str(files * installations)), check=True)
            parts = Path(scratch, cohort)
            split = ["split", str(whole), "-o", str(parts), "--max-installations", str(installations)]
            subprocess.run(mcfcheck(*split), check=True, stdout=subprocess.DEVNULL)
            for number, part in enumerate(sorted(parts.glob("*.xml")), start=1):
                part.rename(folder / f"{cohort.lower()}-{number:05d}.xml")
    return folder, sorted(folder.glob("*.xml"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--files", type=int, default=2000, help="how many small files in the batch")
    parser.add_argument("--installations", type=int, default=4, help="installations in each small file")
    parser.add_argument("--rounds", type=int, default=10)
    arguments = parser.parse_args()
    xmllint = ensure_xmllint()
    one = small_file(arguments.installations)
    folder, files = small_files(arguments.files, arguments.installations)
    names = [str(path) for path in files]
    schema = str(SCHEMA)
    no_cache = {**os.environ, "MCFCHECK_NO_CACHE": "1"}
    # The cache filled as a first run fills it.
    subprocess.run(mcfcheck("validate", "-q", str(one)), check=True)
    cases: dict[str, dict[str, tuple[list[str], dict[str, str] | None]]] = {
        f"1 file, {arguments.installations} installations": {
            "mcfcheck validate": (mcfcheck("validate", str(one)), None),
            "mcfcheck validate, cache off": (mcfcheck("validate", str(one)), no_cache),
            "mcfcheck validate --no-rules": (mcfcheck("validate", "--no-rules", str(one)), None),
            "xmllint --noout --schema": ([xmllint, "--noout", "--schema", schema, str(one)], None),
            "xmllint --noout --stream --schema": ([xmllint, "--noout", "--stream", "--schema", schema, str(one)], None),
        },
        f"{len(files)} files, {arguments.installations} installations each": {
            "mcfcheck validate DIR": (mcfcheck("validate", "-q", str(folder)), None),
            "mcfcheck validate --jobs 1 DIR": (mcfcheck("validate", "-q", "--jobs", "1", str(folder)), None),
            "mcfcheck validate --no-rules DIR": (mcfcheck("validate", "-q", "--no-rules", str(folder)), None),
            "xmllint --noout --schema FILES": ([xmllint, "--noout", "--schema", schema, *names], None),
            "xmllint --noout --stream --schema FILES": (
                [xmllint, "--noout", "--stream", "--schema", schema, *names],
                None,
            ),
        },
    }
    print(f"{one.name}: {one.stat().st_size:,} bytes; {folder.name}: {sum(p.stat().st_size for p in files):,} bytes")
    print(f"{arguments.rounds} rounds; Python {sys.version.split()[0]}\n")
    print("| files | command | seconds, median (range) | peak RSS (MB) | ratio to xmllint --noout --schema |")
    print("|---|---|---:|---:|---:|")
    for case, commands in cases.items():
        times: dict[str, list[float]] = {label: [] for label in commands}
        peaks = dict.fromkeys(commands, 0.0)
        for _round in range(arguments.rounds):
            for label, (command, environment) in commands.items():
                elapsed, peak = measure(command, environment=environment)
                times[label].append(elapsed)
                peaks[label] = max(peaks[label], peak)
        reference = times[next(label for label in commands if label.startswith("xmllint --noout --schema"))]
        for label, runs in times.items():
            ratios = [mine / theirs for mine, theirs in zip(runs, reference, strict=True)]
            spread = f"{min(runs):.3f}-{max(runs):.3f}"
            print(
                f"| {case} | {label} | {statistics.median(runs):.3f} ({spread}) | {peaks[label]:.0f} "
                f"| {statistics.median(ratios):.2f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
