"""Benchmark: ``mcfcheck batch`` on this machine's cores against the same batch on Dask workers (``--dask``).

On ``--files`` generated files of about ``--size`` MB each (those of bench/batch.py,
cached in bench/data/batch-…/), each as its own process (wall time; the peak RSS of
``mcfcheck batch``'s own process from ``wait4``, the workers' not counted), ``--rounds``
times over in turn, each with a new ledger:

* ``mcfcheck batch``: worker processes of its own, one a core;
* ``mcfcheck batch --dask tcp://127.0.0.1:PORT``: the workers of a cluster started once
  for the benchmark on loopback (``dask scheduler``, and ``dask worker --nworkers`` one a
  core, one thread each), already running;
* ``mcfcheck batch --dask local``: a cluster of one worker process a core started and
  stopped by the batch itself.

Prints a Markdown table and each Dask run's time as a multiple of the local batch's (the
median of the rounds' ratios, each between runs made one after the other).

    .venv/bin/python bench/cluster.py [--files 20] [--size 5] [--rounds 3]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from batch import batch_benchmark
from run import BIN, DATA
from stats import measure, paired, print_table

#: How long the cluster may take to start.
START_SECONDS = 60.0


@contextmanager
def loopback_cluster(folder: Path, workers: int) -> Iterator[str]:
    """The address of a scheduler on 127.0.0.1 with ``workers`` worker processes of one thread each."""
    file, log = folder / "scheduler.json", folder / "cluster.log"
    dask = str(BIN / "dask")
    with log.open("ab") as written:
        scheduler = subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(file)],
            stdout=written,
            stderr=subprocess.STDOUT,
        )
        processes = [scheduler]
        try:
            deadline = time.monotonic() + START_SECONDS
            while not file.is_file() or not file.read_text(encoding="utf-8").strip():
                if time.monotonic() > deadline or scheduler.poll() is not None:
                    raise SystemExit(f"bench: the scheduler did not start (see {log})")
                time.sleep(0.1)
            address = str(json.loads(file.read_text(encoding="utf-8"))["address"])
            worker = [dask, "worker", address, "--host", "127.0.0.1", "--nworkers", str(workers), "--nthreads", "1"]
            processes.append(subprocess.Popen([*worker, "--no-dashboard"], stdout=written, stderr=subprocess.STDOUT))
            waited = (
                "from distributed import Client; Client(sys.argv[1], timeout=30).wait_for_workers(int(sys.argv[2]))"
            )
            subprocess.run(
                [sys.executable, "-c", f"import sys\n{waited}", address, str(workers)], check=True, timeout=120
            )
            yield address
        finally:
            for process in reversed(processes):
                process.terminate()
            for process in processes:
                process.wait(timeout=30)


def main() -> int:
    arguments, folder = batch_benchmark(__doc__)
    cores = len(os.sched_getaffinity(0))
    batch = [str(BIN / "mcfcheck"), "batch", "-q", str(folder), "--ledger"]
    labels = ("batch, its own workers", "batch --dask, a running cluster", "batch --dask local")
    times: dict[str, list[float]] = {label: [] for label in labels}
    peaks: dict[str, float] = dict.fromkeys(labels, 0.0)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-", dir=DATA) as name:
        work = Path(name)
        with loopback_cluster(work, cores) as address:
            for number in range(arguments.rounds):
                for label, options in zip(labels, ([], ["--dask", address], ["--dask", "local"]), strict=True):
                    ledger = work / f"ledger-{number}-{labels.index(label)}.sqlite"
                    elapsed, peak = measure([*batch, str(ledger), *options], allowed=(0, 1))
                    times[label].append(elapsed)
                    peaks[label] = max(peaks[label], peak)
    size = sum(path.stat().st_size for path in folder.glob("*.xml")) / 1e6
    print(f"{arguments.files} files, {size:,.0f} MB in all, {arguments.rounds} rounds, {cores} cores\n")
    print_table(times, peaks, size)
    for label in labels[1:]:
        print(f"\n- {label}: {paired(times[label], times[labels[0]])} times the batch on its own workers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
