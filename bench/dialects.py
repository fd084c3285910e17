"""Benchmark: the same content validated in mcfcheck's own dialect and in a second one.

Generates a CB file of about ``--size`` MB with ``mcfcheck generate``, and the same file
in the inventory dialect of the tests (tests/data/inventory dialect/: other names,
attributes, coded values, devices under their meter points) with ``mcfcheck generate
--binding``. Then validates each with ``mcfcheck validate`` (every rule of the cohort),
alternating, ``--rounds`` times over, with ``--jobs`` workers. Prints each one's median
time, installations per second, and the ratio (second dialect / own dialect) as the
median of the rounds' ratios, each between runs made one after the other.

    build/wheel-venv/bin/python bench/dialects.py [--size 100] [--rounds 5] [--jobs 1]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
DIALECT = ROOT / "tests" / "data" / "inventory dialect"
BINDING = DIALECT / "inventory.binding.toml"
SCHEMA = DIALECT / "Inventory Schema 2.0.xsd"
BIN = Path(sys.executable).parent
#: Bytes per generated installation in mcfcheck's own dialect, measured on CB files.
BYTES_PER_INSTALLATION = 2004


def generate(installations: int, path: Path, binding: Path | None) -> None:
    if path.is_file():
        return
    command = [str(BIN / "mcfcheck"), "generate", "--cohort", "CB", "--installations", str(installations)]
    command += ["--seed", "7", "--output", str(path)]
    if binding is not None:
        command += ["--binding", str(binding)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"bench: {' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--size", type=int, default=100, help="megabytes of the file in mcfcheck's own dialect")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1)
    arguments = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    installations = arguments.size * 1_000_000 // BYTES_PER_INSTALLATION
    own = DATA / f"dialect-own-{arguments.size}mb.xml"
    other = DATA / f"dialect-inventory-{arguments.size}mb.xml"
    generate(installations, own, None)
    generate(installations, other, BINDING)
    validate = [str(BIN / "mcfcheck"), "validate", "--quiet", "--jobs", str(arguments.jobs)]
    commands = {
        "own dialect": [*validate, str(own)],
        "inventory dialect": [*validate, "--schema", str(SCHEMA), "--binding", str(BINDING), str(other)],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    ratios: list[float] = []
    for _round in range(arguments.rounds):
        for name, command in commands.items():
            times[name].append(seconds(command))
        ratios.append(times["inventory dialect"][-1] / times["own dialect"][-1])
    print(f"{installations:,} installations (CB), {arguments.rounds} rounds, --jobs {arguments.jobs}\n")
    print("| dialect | file | median | installations/s |")
    print("|---|---|---|---|")
    for name, path in (("own dialect", own), ("inventory dialect", other)):
        median = statistics.median(times[name])
        size = path.stat().st_size / 1e6
        print(f"| {name} | {size:,.0f} MB | {median:.2f} s | {installations / median:,.0f} |")
    print(f"\nratio (inventory / own), median of the rounds: {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
