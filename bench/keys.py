"""Benchmark: the final search for duplicate identifiers alone, as the parent runs it on a file in parts.

Fills eight key stores (the parts) with ``--identifiers`` Device IDs in all, one in a
thousand a repeat of an earlier one, merges them as the process that validated the
parts does, and times the search (``KeyStore.duplicates``) on its own. Prints the time
and how much the process's peak RSS grew during the search: what the search itself
holds. On 1 GB of CB there are about 2.5 million Device IDs, on 4 GB about 10 million.

    build/wheel-venv/bin/python bench/keys.py [--identifiers 2500000 10000000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from mcfcheck.rules.keys import KeyStore

#: How many parts the stores are filled in (a 1 GB file on two workers).
PARTS = 8


def device_id(number: int) -> str:
    """A Device ID for ``number``; one in a thousand numbers gets an earlier one's."""
    value = number if number % 1000 else number // 3
    return f"00-0D-6F-{value >> 16 & 255:02X}-{value >> 8 & 255:02X}-{value & 255:02X}-{value >> 24:02X}-AA"


def search(identifiers: int) -> tuple[int, float, float]:
    """The duplicates among ``identifiers`` Device IDs, the seconds their search took, and its peak RSS growth (MB)."""
    with tempfile.TemporaryDirectory(prefix="mcfcheck-bench-keys-") as name:
        folder = Path(name)
        states = []
        per_part = identifiers // PARTS
        for part in range(PARTS):
            store = KeyStore(folder)
            add = store.adder()
            for number in range(part * per_part, (part + 1) * per_part):
                add(device_id(number), number + 1, 0)
            states.append(store.export())
            store.close()
        merged = KeyStore(folder)
        merged.merge(states)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        found = sum(1 for _duplicate in merged.duplicates())
        seconds = time.perf_counter() - started
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        merged.close()
    return found, seconds, grown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--identifiers", type=int, nargs="+", default=[2_500_000, 10_000_000])
    options = parser.parse_args()
    print("| identifiers | duplicates | search (s) | peak RSS growth (MB) |")
    print("|---:|---:|---:|---:|")
    for identifiers in options.identifiers:
        found, seconds, grown = search(identifiers)
        print(f"| {identifiers:,} | {found:,} | {seconds:.3f} | {grown:.1f} |", flush=True)


if __name__ == "__main__":
    main()
