"""Benchmark: ``mcfcheck split`` against XML::Twig's ``xml_split`` and ``validate --no-rules``.

On the CB file of about ``--size`` MB that ``make bench`` generates (cached in
bench/data/), in one run, each as its own process (wall time; its peak RSS from
``wait4``), ``--rounds`` times over in turn:

* ``mcfcheck split --max-installations N`` with ``--jobs 1`` and with every core (valid
  MCFs: the input's header with the identifier suffixed, its installations byte for
  byte, each part's own trailer totals, and a manifest with SHA-256 checksums);
* ``xml_split -l 2 -g N`` (Debian's xml-twig-tools): groups of N of the root's
  grandchildren (the installations), each file wrapped in an ``xml_split:root`` element
  of its own: not MCFs, and no totals or checksums;
* ``mcfcheck validate --quiet --no-rules`` (every core): the streaming parse alone.

Prints a Markdown table (median time, range, throughput, highest peak RSS).

    build/wheel-venv/bin/python bench/split.py [--size 100] [--rounds 3] [--group 10000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BIN, generated
from stats import measure, print_table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--size", type=int, default=100, help="megabytes of the generated file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--group", type=int, default=10_000, help="installations per part")
    arguments = parser.parse_args()
    path = generated(arguments.size)
    xml_split = shutil.which("xml_split")
    mcfcheck = str(BIN / "mcfcheck")
    group = str(arguments.group)
    with tempfile.TemporaryDirectory(prefix="bench-split-", dir=path.parent) as name:
        scratch = Path(name)
        commands = {
            "mcfcheck split --jobs 1": [
                mcfcheck,
                "split",
                "-q",
                "--jobs",
                "1",
                "--max-installations",
                group,
                "--force",
                "-o",
                str(scratch / "mcfcheck"),
                str(path),
            ],
            "mcfcheck split (every core)": [
                mcfcheck,
                "split",
                "-q",
                "--max-installations",
                group,
                "--force",
                "-o",
                str(scratch / "mcfcheck"),
                str(path),
            ],
            "mcfcheck validate --no-rules (every core)": [mcfcheck, "validate", "--quiet", "--no-rules", str(path)],
        }
        if xml_split is not None:
            commands["xml_split -l 2 -g N"] = [
                xml_split,
                "-l",
                "2",
                "-g",
                group,
                "-b",
                str(scratch / "twig"),
                str(path),
            ]
        else:
            print("xml_split not found (apt-get install xml-twig-tools): left out\n")
        times: dict[str, list[float]] = {name: [] for name in commands}
        peaks: dict[str, float] = dict.fromkeys(commands, 0.0)
        for _round in range(arguments.rounds):
            for label, command in commands.items():
                elapsed, peak = measure(command)
                times[label].append(elapsed)
                peaks[label] = max(peaks[label], peak)
                for made in scratch.glob("twig-*"):
                    made.unlink()
    size = path.stat().st_size / 1e6
    print(f"{path.name}: {size:,.0f} MB, {arguments.rounds} rounds, {arguments.group:,} installations per part\n")
    print_table(times, peaks, size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
