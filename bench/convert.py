"""Benchmark: ``mcfcheck convert --to parquet`` against what an analyst would write instead.

On the CB files ``make bench`` generates (about ``--sizes`` MB each, cached in
bench/data/), in one run, each as its own process (wall time; its peak RSS from
``wait4``), ``--rounds`` times over in turn:

* ``mcfcheck convert --to parquet`` with ``--jobs 1`` and with every core;
* pandas: ``pandas.read_xml(..., iterparse=...)`` for the installations and for the
  devices, then ``to_parquet`` (pyarrow), as its documentation shows for large files;
* lxml by hand: ``etree.iterparse`` over the installations (each cleared once read),
  rows gathered in lists, then a pandas DataFrame and ``to_parquet``.

Prints a Markdown table (median time, range, throughput, highest peak RSS) and each
one's throughput ratio to mcfcheck's (median of the rounds' ratios). pandas and pyarrow
must be installed (``pip install pandas pyarrow``).

    build/wheel-venv/bin/python bench/convert.py [--sizes 100 1000] [--rounds 3] [--peers-on 100 1000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BIN, generated
from stats import measure

PANDAS = """
import sys
import pandas as pd
path, out = sys.argv[1], sys.argv[2]
installation = ["InstallationReference", "Status", "MPANCore", "MPRN", "ICCID", "IMSI", "StaticIPAddress", "APN",
                "UTRNCutoverHours", "PlannedMigrationDate"]
device = ["DeviceType", "DeviceID", "Manufacturer", "Model", "FirmwareVersion", "PaymentMode", "AuxiliaryLoad"]
pd.read_xml(path, iterparse={"Installation": installation}, parser="lxml").to_parquet(out + "/installations.parquet")
pd.read_xml(path, iterparse={"Device": device}, parser="lxml").to_parquet(out + "/devices.parquet")
"""

LXML = """
import sys
import pandas as pd
from lxml import etree
path, out = sys.argv[1], sys.argv[2]
ns = "{urn:mcfcheck:mcf}"
def text(element, path):
    found = element.find(path)
    return found.text if found is not None else None
installations, devices = [], []
for _event, site in etree.iterparse(path, tag=ns + "Installation", huge_tree=True):
    reference = text(site, ns + "InstallationReference")
    wan = ns + "CommunicationsHub/" + ns + "WAN/" + ns
    installations.append({
        "reference": reference,
        "status": text(site, ns + "Status"),
        "mpan": text(site, ns + "MeterPoints/" + ns + "MPANCore"),
        "mprn": text(site, ns + "MeterPoints/" + ns + "MPRN"),
        "iccid": text(site, wan + "ICCID"),
        "imsi": text(site, wan + "IMSI"),
        "static_ip": text(site, wan + "StaticIPAddress"),
        "apn": text(site, wan + "APN"),
        "utrn_cutover_hours": text(site, ns + "Prepayment/" + ns + "UTRNCutoverHours"),
        "planned_migration_date": text(site, ns + "DormantNotice/" + ns + "PlannedMigrationDate"),
    })
    for position, device in enumerate(site.iterfind(ns + "Devices/" + ns + "Device"), 1):
        model = ns + "DeviceModel/" + ns
        devices.append({
            "installation_reference": reference,
            "position": position,
            "device_type": text(device, ns + "DeviceType"),
            "device_id": text(device, ns + "DeviceID"),
            "manufacturer": text(device, model + "Manufacturer"),
            "model": text(device, model + "Model"),
            "firmware_version": text(device, model + "FirmwareVersion"),
            "payment_mode": text(device, ns + "PaymentMode"),
        })
    site.clear(keep_tail=True)
    while site.getprevious() is not None:
        del site.getparent()[0]
pd.DataFrame(installations).to_parquet(out + "/installations.parquet")
pd.DataFrame(devices).to_parquet(out + "/devices.parquet")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="megabytes of each file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peers-on", type=int, nargs="*", default=None, help="sizes the peers run on (default all)")
    arguments = parser.parse_args()
    python = sys.executable
    print("| tool | file | MB | runs | seconds, median (range) | MB/s | peak RSS (MB) | ratio to mcfcheck |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for size in arguments.sizes:
        path = generated(size)
        megabytes = path.stat().st_size / 1e6
        with tempfile.TemporaryDirectory(prefix="mcfcheck-bench-") as folder:
            out = Path(folder) / "out"

            def convert(jobs: str, path: Path = path, out: Path = out) -> list[str]:
                command = [str(BIN / "mcfcheck"), "convert", "-q", "--to", "parquet", "--jobs", jobs]
                return [*command, "-o", str(out), str(path)]

            tools: dict[str, list[str]] = {
                "mcfcheck convert, every core": convert("0"),
                "mcfcheck convert --jobs 1": convert("1"),
            }
            if arguments.peers_on is None or size in arguments.peers_on:
                tools["pandas.read_xml(iterparse) + to_parquet"] = [python, "-c", PANDAS, str(path), str(out)]
                tools["lxml iterparse by hand + to_parquet"] = [python, "-c", LXML, str(path), str(out)]
            times: dict[str, list[float]] = {name: [] for name in tools}
            peaks = dict.fromkeys(tools, 0.0)
            for _round in range(arguments.rounds):
                for name, command in tools.items():
                    shutil.rmtree(out, ignore_errors=True)
                    if not name.startswith("mcfcheck"):
                        out.mkdir()
                    elapsed, peak = measure(command)
                    times[name].append(elapsed)
                    peaks[name] = max(peaks[name], peak)
            reference = times["mcfcheck convert, every core"]
            for name, runs in times.items():
                median = statistics.median(runs)
                ratio = statistics.median(theirs / ours for theirs, ours in zip(runs, reference, strict=True))
                print(
                    f"| {name} | {path.name} | {megabytes:,.0f} | {len(runs)} | {median:.2f} "
                    f"({min(runs):.2f}-{max(runs):.2f}) | {megabytes / median:,.1f} | {peaks[name]:.0f} | {ratio:.2f} |"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
