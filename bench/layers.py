"""Where the time goes per installation, layer by layer, in one process.

Validates one file in this process three ways, alternating, several rounds: schema
only; schema and the rule engine with no rule selected (the installation view and
ledger are still made); schema and every rule of the file's cohort. Prints the best
time of each, per installation, and what each layer adds.

    build/wheel-venv/bin/python bench/layers.py [FILE] [--rounds 3]

By default FILE is the 100 MB file ``make bench`` generates (bench/data/cb-100mb.xml).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mcfcheck.check.file import FileCheck
from mcfcheck.native import build_description
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.registry import load_registry
from mcfcheck.rules.selection import Selection

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "cb-100mb.xml"
#: The layers, each with the rule selection it runs (None: no rules at all).
LAYERS: dict[str, Selection | None] = {
    "parse and schema validation (--no-rules)": None,
    "+ rule engine, ledger and installation view, no rule selected": Selection(select=("NONE",)),
    "+ every rule of the cohort": Selection(),
}


def seconds(path: Path, selection: Selection | None) -> tuple[float, int]:
    """The time to validate ``path`` with ``selection``, and the installations checked."""
    rules = (load_registry(), RuleSettings(selection=selection)) if selection is not None else None
    started = time.perf_counter()
    check = FileCheck(path, rules=rules)
    for _finding in check:
        pass
    return time.perf_counter() - started, check.installations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    path: Path = arguments.file
    if not path.is_file():
        print(f"{path}: no such file (make bench generates it)", file=sys.stderr)
        return 2
    best = dict.fromkeys(LAYERS, float("inf"))
    installations = 0
    for _round in range(arguments.rounds):
        for name, selection in LAYERS.items():
            elapsed, installations = seconds(path, selection)
            best[name] = min(best[name], elapsed)
    print(f"{path.name}: {installations:,} installations; best of {arguments.rounds} rounds; {build_description()}\n")
    print("| layer | µs per installation | total µs |\n|---|---:|---:|")
    previous = 0.0
    for name, elapsed in best.items():
        total = elapsed / installations * 1e6
        print(f"| {name} | {total - previous:.1f} | {total:.1f} |")
        previous = total
    return 0


if __name__ == "__main__":
    sys.exit(main())
