"""Benchmark: ``mcfcheck diff`` of two files against ``mcfcheck validate --no-rules`` on one of them.

Takes the CB file of about ``--size`` MB that ``make bench`` uses (generated once, cached
in bench/data/), and writes beside it a copy with ``--changes`` installations changed
(a status, a hub's firmware version, a device's Device ID, in turn), a tenth as many
removed and as many added (copies under new references). Then runs ``mcfcheck diff
--format csv`` on the two and ``mcfcheck validate --quiet --no-rules`` on the first,
alternating, ``--rounds`` times over, with ``--jobs`` workers, each as its own process:
wall time and that process's peak RSS (``wait4``). Prints each one's median time (and
range) and highest peak RSS, and the ratio of times (diff / validate) as the median of
the rounds' ratios, each between runs made one after the other.

    build/wheel-venv/bin/python bench/diff.py [--size 100] [--changes 300] [--rounds 5] [--jobs 2]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

from run import BIN, generated
from stats import measure

#: An installation of a generated file, from its start tag's indentation to its end tag's line.
INSTALLATION = re.compile(r"    <Installation>\n.*?</Installation>\n", re.DOTALL)


def changed_copy(path: Path, changes: int) -> Path:
    """``path`` with ``changes`` installations changed, a tenth as many removed and added."""
    target = path.with_name(f"{path.stem}-changed-{changes}.xml")
    if target.exists():
        return target
    text = path.read_text(encoding="utf-8")
    found = list(INSTALLATION.finditer(text))
    step = max(1, len(found) // (changes + changes // 5 + 1))
    chosen = found[step // 2 :: step][: changes + changes // 5]
    pieces: list[str] = []
    last = 0
    for n, match in enumerate(chosen):
        pieces.append(text[last : match.start()])
        record = match.group()
        if n < changes:
            if n % 3 == 0:
                record = record.replace("<Status>Active<", "<Status>Dormant<", 1)
            elif n % 3 == 1:
                record = re.sub(r"(<FirmwareVersion>)([^<]*)", r"\g<1>\g<2>.1", record, count=1)
            else:
                record = re.sub(
                    r"(<Devices>\s*<Device>\s*<DeviceType>[^<]*</DeviceType>\s*<DeviceID>)..", r"\1AA", record
                )
            pieces.append(record)
        elif n % 2:
            pass  # removed
        else:
            pieces.append(record)
            pieces.append(re.sub(r"<InstallationReference>", "<InstallationReference>NEW-", record, count=1))
        last = match.end()
    pieces.append(text[last:])
    target.write_text("".join(pieces), encoding="utf-8")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--size", type=int, default=100, help="megabytes of the generated file")
    parser.add_argument("--changes", type=int, default=300, help="installations changed")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=0, help="worker processes (0: every core)")
    arguments = parser.parse_args()
    old = generated(arguments.size)
    new = changed_copy(old, arguments.changes)
    jobs = ["--jobs", str(arguments.jobs)]
    diff = [str(BIN / "mcfcheck"), "diff", "-q", "--format", "csv", *jobs, str(old), str(new)]
    validate = [str(BIN / "mcfcheck"), "validate", "-q", "--no-rules", *jobs, str(old)]
    times: dict[str, list[float]] = {"diff": [], "validate": []}
    peaks: dict[str, float] = {"diff": 0.0, "validate": 0.0}
    ratios: list[float] = []
    for _round in range(arguments.rounds):
        for name, command, allowed in (("diff", diff, (1,)), ("validate", validate, (0, 1))):
            elapsed, peak = measure(command, allowed)
            times[name].append(elapsed)
            peaks[name] = max(peaks[name], peak)
        ratios.append(times["diff"][-1] / times["validate"][-1])
    size = old.stat().st_size / 1e6
    print(f"{old.name} ({size:.0f} MB) and {new.name}, --jobs {arguments.jobs}, {arguments.rounds} rounds")
    for name, spent in times.items():
        print(
            f"{name}: median {statistics.median(spent):.2f} s ({min(spent):.2f}-{max(spent):.2f}), "
            f"peak RSS {peaks[name]:.0f} MB"
        )
    print(f"diff / validate --no-rules: {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
