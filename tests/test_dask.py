"""mcfcheck batch --dask: a real scheduler and two workers on loopback give what a local batch gives."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcfcheck.findings import FileReport, Finding, Severity
from mcfcheck.generate import MCFGenerator, PlantedKind
from mcfcheck.rules.base import Problem, Rule, Visit
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.registry import RuleRegistry, load_registry
from mcfcheck.rules.selection import Selection
from mcfcheck.rules.views import InstallationView
from mcfcheck.run import batch
from mcfcheck.run.cluster import MISSING, on_worker
from mcfcheck.run.parts import BATCH_PART_BYTES

from .test_batch import _files, _plant, _suppliers

DASK = Path(sys.executable).with_name("dask")
_T = TypeVar("_T")
#: How long the cluster may take to start (each worker imports Dask and mcfcheck).
START_SECONDS = 60.0


def _dask(*arguments: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as written:
        return subprocess.Popen([str(DASK), *arguments], stdout=written, stderr=subprocess.STDOUT)


def _script(code: str, *arguments: str) -> str:
    """What a Python process running ``code`` prints (a client of the cluster is kept out of pytest's process)."""
    done = subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


_WAIT_FOR_WORKERS = """
import sys
from distributed import Client
with Client(sys.argv[1], timeout=30) as client:
    client.wait_for_workers(int(sys.argv[2]), timeout=60)
"""

_TASKS_RUN = """
import sys
from distributed import Client
with Client(sys.argv[1], timeout=30) as client:
    print(sorted(client.run(lambda dask_worker: dask_worker.state.executed_count).values()))
"""


@contextmanager
def _loopback_cluster(
    folder: Path, workers: int = 2, wrapper: Sequence[str] = ()
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The address of a Dask scheduler on 127.0.0.1 with ``workers`` worker processes of one thread each,
    each started through ``wrapper`` (a command that runs the rest of its arguments), and the scheduler's
    process; all ended after.
    """
    log, file = folder / "cluster.log", folder / "scheduler.json"
    scheduler = _dask(
        "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(file), log=log
    )
    processes = [scheduler]
    try:
        deadline = time.monotonic() + START_SECONDS
        while not file.is_file() or not file.read_text(encoding="utf-8").strip():
            assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
            assert scheduler.poll() is None, log.read_text(encoding="utf-8")
            time.sleep(0.1)
        address = json.loads(file.read_text(encoding="utf-8"))["address"]
        assert address.startswith("tcp://127.0.0.1:")
        worker = [str(DASK), "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny"]
        with log.open("ab") as written:
            processes += [
                subprocess.Popen(
                    [*wrapper, *worker, "--no-dashboard", "--death-timeout", "30"],
                    stdout=written,
                    stderr=subprocess.STDOUT,
                )
                for _worker in range(workers)
            ]
        _script(_WAIT_FOR_WORKERS, address, str(workers))
        yield address, scheduler
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a Dask scheduler on 127.0.0.1 with two worker processes of one thread each."""
    with _loopback_cluster(tmp_path_factory.mktemp("dask")) as (address, _process):
        yield address


def _tasks_run(address: str) -> list[int]:
    """How many tasks each worker has run so far."""
    return [int(count) for count in json.loads(_script(_TASKS_RUN, address))]


def _batch(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcfcheck", "batch", "-q", *arguments], capture_output=True, text=True, timeout=600
    )


def _ledger(path: Path) -> dict[str, object]:
    """What the ledger holds, without run numbers or times: each file, its findings by code, its installations."""
    with sqlite3.connect(path) as connection:
        files = connection.execute(
            "SELECT path, size, sha256, configuration, supplier, group_id, smso, file_identifier, cohort, valid, "
            "installations, errors, warnings, error, accepted, rejected FROM files ORDER BY path"
        ).fetchall()
        counts = connection.execute(
            "SELECT f.path, c.code, c.count FROM finding_counts AS c JOIN files AS f ON f.id = c.file "
            "ORDER BY f.path, c.code"
        ).fetchall()
        installations = connection.execute(
            "SELECT f.path, i.position, i.reference, i.valid, i.identifiers FROM installations AS i "
            "JOIN files AS f ON f.id = i.file ORDER BY f.path, i.position"
        ).fetchall()
    summary = subprocess.run(
        [sys.executable, "-m", "mcfcheck", "ledger", "summary", "--ledger", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rollups = json.loads(summary.stdout)
    del rollups["ledger"]
    return {"files": files, "counts": counts, "installations": installations, "rollups": rollups}


def _large(path: Path, size: int) -> Path:
    """A generated file of at least ``size`` bytes, with findings here and there."""
    cohort = builtin_cohorts()["CB"]
    installations = size // 1900 + 1
    planted = dict.fromkeys((3, installations // 2, installations - 2), PlantedKind.STATUS_VALUE)
    path.write_text("".join(MCFGenerator(cohort, seed=11, planted_at=planted).iter_text(installations)))
    assert path.stat().st_size >= size
    return path


def _compare(scheduler: str, folder: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], list[int]]:
    """A batch of ``folder`` on the cluster against the same batch run here (-j 2 and -j 1): the same
    report, ledger and status. The cluster's run, and how many tasks each worker ran for it.
    """
    local = _batch(str(folder), "--format", "json", "-j", "2", "--ledger", str(folder.parent / "l.sqlite"), *options)
    single = _batch(str(folder), "--format", "json", "-j", "1", "--ledger", str(folder.parent / "s.sqlite"), *options)
    before = _tasks_run(scheduler)
    remote = _batch(
        str(folder), "--format", "json", "--dask", scheduler, "--ledger", str(folder.parent / "d.sqlite"), *options
    )
    after = _tasks_run(scheduler)
    assert remote.returncode == local.returncode == single.returncode, remote.stderr
    assert remote.stdout == local.stdout == single.stdout
    assert json.loads(remote.stdout)["files"]
    ledger = _ledger(folder.parent / "d.sqlite")
    assert ledger == _ledger(folder.parent / "l.sqlite") == _ledger(folder.parent / "s.sqlite")
    return remote, [done - earlier for done, earlier in zip(after, before, strict=True)]


@pytest.mark.slow
def test_a_batch_on_the_cluster_gives_what_a_local_batch_gives(scheduler: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    files = _files(folder, 6)
    suppliers = _suppliers(folder / "suppliers")
    # An identifier in two files: a finding across files, reported by this process from the ledger.
    assert _plant(suppliers[0], suppliers[2], "MPANCore", 2, 4) is not None
    (folder / "packed.xml.gz").write_bytes(gzip.compress(files[1].read_bytes().replace(b"SUPP", b"GZIP", 1)))
    (folder / "broken.xml").write_text("<Installations><Installation>", encoding="utf-8")
    remote, tasks = _compare(scheduler, folder)
    assert remote.returncode == 2
    report = json.loads(remote.stdout)
    codes = {finding["code"] for entry in report["files"] for finding in entry.get("findings", [])}
    assert "XSD001" in codes
    assert any(code.startswith("XFL") for code in codes)
    assert len({entry["path"] for entry in report["files"]}) == len(files) + len(suppliers) + 2
    # Every file went to the workers, both of which had some.
    assert sum(tasks) == len(files) + len(suppliers) + 2
    assert min(tasks) >= 1


@pytest.mark.slow
def test_a_large_file_is_validated_in_parts_by_the_workers(scheduler: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    # In a batch of several files, a file is split from two of the batch's parts' size up.
    _large(folder / "large.xml", 2 * BATCH_PART_BYTES + (1 << 20))
    _files(folder, 3)
    remote, tasks = _compare(scheduler, folder)
    assert remote.returncode == 1
    report = json.loads(remote.stdout)
    large = next(entry for entry in report["files"] if entry["path"].endswith("large.xml"))
    assert sum(finding["code"] == "XSD001" for finding in large["findings"]) == 3
    # The three small files whole, the large one in parts (four a worker).
    assert sum(tasks) == 3 + 8
    assert min(tasks) >= 1


def test_a_file_the_workers_cannot_read_is_one_line_of_its_report(scheduler: str, tmp_path: Path) -> None:
    files = _files(tmp_path, 2)
    missing = tmp_path / "missing.xml"
    remote = _batch(str(missing), *map(str, files), "--dask", scheduler, "--no-ledger", "--format", "json")
    local = _batch(str(missing), *map(str, files), "-j", "1", "--no-ledger", "--format", "json")
    assert remote.returncode == local.returncode == 2
    assert remote.stdout == local.stdout
    error = json.loads(remote.stdout)["files"][0]["summary"]["error"]
    assert error == f"{missing}: no such file"
    assert "\n" not in error


def test_a_scheduler_that_does_not_answer_is_one_line_within_the_timeout(tmp_path: Path) -> None:
    # A port that nothing listens on: it was free a moment ago.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    files = _files(tmp_path / "in", 1)
    started = time.monotonic()
    result = _batch(str(files[0]), "--dask", f"tcp://127.0.0.1:{port}", "--dask-timeout", "2", "--no-ledger")
    assert time.monotonic() - started < 30
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: --dask tcp://127.0.0.1:{port}: cannot use this Dask cluster")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    # No run was begun in the ledger: nothing was checked.
    ledger = tmp_path / "l.sqlite"
    again = _batch(str(files[0]), "--dask", f"tcp://127.0.0.1:{port}", "--dask-timeout", "1", "--ledger", str(ledger))
    assert again.returncode == 2
    with sqlite3.connect(ledger) as connection:
        assert connection.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)


def test_without_dask_installed_the_option_says_how_to_install_it(tmp_path: Path) -> None:
    valid = _files(tmp_path / "in", 2)[1]
    # Dask's packages made unimportable, as where the extra is not installed.
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('distributed', 'dask'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, _Hide())\n",
        encoding="utf-8",
    )
    environment = {**os.environ, "PYTHONPATH": str(hidden)}
    result = subprocess.run(
        [sys.executable, "-m", "mcfcheck", "batch", str(valid), "--dask", "local", "--no-ledger"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == f"error: {MISSING}\n"
    assert "mcfcheck[dask]" in MISSING
    # Without --dask, the same installation checks the file.
    plain = subprocess.run(
        [sys.executable, "-m", "mcfcheck", "batch", str(valid), "--no-ledger", "-q"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert plain.returncode == 0, plain.stderr


@pytest.mark.slow
def test_a_local_cluster_gives_what_a_local_batch_gives(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _files(folder, 4)
    local = _batch(str(folder), "--format", "json", "-j", "1", "--ledger", str(tmp_path / "l.sqlite"))
    cluster = _batch(
        str(folder), "--format", "json", "-j", "2", "--dask", "local", "--ledger", str(tmp_path / "d.sqlite")
    )
    assert cluster.returncode == local.returncode == 1, cluster.stderr
    assert cluster.stdout == local.stdout
    assert _ledger(tmp_path / "d.sqlite") == _ledger(tmp_path / "l.sqlite")


class _EveryInstallation(Rule):
    """A rule that is no installed pack's: a warning on every installation."""

    code = "ZZZ900"
    name = "every-installation"
    severity = Severity.WARNING
    visits = frozenset({Visit.INSTALLATION})
    reads = frozenset[str]()
    defaults: ClassVar[dict[str, object]] = {}

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        yield Problem(f"installation {installation.reference}")


class _Collected:
    """A sink that keeps what it is told."""

    def __init__(self) -> None:
        self.told: list[object] = []

    def start(self) -> None:
        pass

    def file_started(self, path: str) -> None:
        self.told.append(path)

    def finding(self, finding: Finding) -> None:
        self.told.append(finding)

    def file_finished(self, report: FileReport) -> None:
        self.told.append(report)

    def finish(self) -> None:
        pass


class _Workers(ThreadPoolExecutor):
    """Two threads of this process standing for a Dask worker's, each task run as Dask runs it
    (:func:`mcfcheck.run.cluster.on_worker`): what they were handed is noted.
    """

    def __init__(self) -> None:
        super().__init__(2)
        self.submitted: list[str] = []

    def submit(self, fn: Callable[..., _T], /, *args: object, **kwargs: object) -> Future[_T]:
        self.submitted.append(fn.__name__)
        return super().submit(lambda: on_worker(fn, *args, **kwargs))


def _on_threads(
    paths: list[Path],
    rules: tuple[RuleRegistry, RuleSettings],
    part_bytes: int,
    batch_part_bytes: int,
    progress: batch.ProgressFactory | None = None,
) -> tuple[batch.ExitStatus, _Collected, _Workers]:
    """``paths`` validated as on a cluster, by :class:`_Workers`: the status, what was told, the workers."""
    workers, told = _Workers(), _Collected()
    status = batch.validate_files(
        paths,
        told,
        rules=rules,
        jobs=2,
        pool=workers,
        part_bytes=part_bytes,
        batch_part_bytes=batch_part_bytes,
        cluster=True,
        progress=progress,
    )
    return status, told, workers


def test_on_a_cluster_every_file_goes_to_the_workers_with_the_rules_and_tells_its_progress(tmp_path: Path) -> None:
    """The cluster's side of validate_files, with threads of this process for its workers."""
    files = _files(tmp_path, 4)
    large = _large(tmp_path / "large.xml", 60_000)
    paths = [*files, large]
    registry = load_registry()
    # A rule of this run only (as the ledger's collector is): the workers have it from the tasks.
    shipped = dataclasses.replace(
        registry,
        rules={**registry.rules, "ZZZ900": _EveryInstallation},
        plugins={**registry.plugins, "ZZZ900": "tests"},
    )
    rules = (shipped, RuleSettings(selection=Selection(extend_select=("ZZZ900",))))
    local = _Collected()
    assert batch.validate_files(paths, local, rules=rules, jobs=1) == batch.ExitStatus.FINDINGS
    progress: dict[str, list[tuple[int, int]]] = {}

    def told(path: Path) -> Callable[[int, int], None]:
        return lambda done, installations: progress.setdefault(path.name, []).append((done, installations))

    status, remote, workers = _on_threads(paths, rules, 10_000, 20_000, told)
    assert status == batch.ExitStatus.FINDINGS
    assert remote.told == local.told
    assert sum(isinstance(item, Finding) and item.code == "ZZZ900" for item in remote.told) == sum(
        report.installations for report in remote.told if isinstance(report, FileReport)
    )
    assert workers.submitted.count("_validate_whole_file") == len(files)
    assert workers.submitted.count("_validate_part") >= 2
    for path in files:
        report = next(item for item in remote.told if isinstance(item, FileReport) and item.path == str(path))
        assert progress[path.name] == [(path.stat().st_size, report.installations)]
    # Round after round, with the worker's two threads: the same findings in the same order (two
    # files checked at once in one process once swapped a schema finding and a rule's, now and then).
    for _round in range(20):
        assert _on_threads(paths, rules, 10_000, 20_000)[1].told == local.told


def test_workers_that_cannot_see_this_machine_s_temporary_folder_are_one_line(tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        pytest.fail("this test needs util-linux's unshare")
    client_temporary = tmp_path / "client-tmp"
    client_temporary.mkdir()
    # The worker's own mount namespace, where the client's temporary folder is an empty one of its own.
    blind = ["unshare", "--mount", "--map-root-user", "sh", "-c", 'mount -t tmpfs none "$1" && shift && exec "$@"']
    with _loopback_cluster(tmp_path, 1, [*blind, "sh", str(client_temporary)]) as (address, _process):
        files = _files(tmp_path / "in", 1)
        result = subprocess.run(
            [sys.executable, "-m", "mcfcheck", "batch", str(files[0]), "--dask", address, "--no-ledger"],
            capture_output=True,
            text=True,
            env={**os.environ, "TMPDIR": str(client_temporary)},
            timeout=120,
        )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: --dask {address}: worker tcp://127.0.0.1:")
    assert f"cannot read {client_temporary}/mcfcheck-dask-" in result.stderr
    assert result.stderr.endswith("by the same paths\n")
    assert len(result.stderr.splitlines()) == 1
    # What the check wrote is gone.
    assert list(client_temporary.iterdir()) == []


#: The files of the batch whose scheduler is lost.
FILES_WHEN_LOST = 90


@pytest.mark.slow
def test_a_scheduler_lost_during_a_batch_stops_it_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    # Enough files that the batch is far from its end when the first is recorded and the scheduler killed.
    first = _large(folder / "file-00.xml", 1_000_000)
    for number in range(1, FILES_WHEN_LOST):
        shutil.copy(first, folder / f"file-{number:02d}.xml")
    ledger = tmp_path / "l.sqlite"
    with _loopback_cluster(tmp_path) as (address, scheduler):
        command = [sys.executable, "-m", "mcfcheck", "batch", str(folder), "-q", "--dask", address, "--ledger"]
        batch = subprocess.Popen([*command, str(ledger)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        recorded = 0
        while recorded < 1 and time.monotonic() < deadline and batch.poll() is None:
            time.sleep(0.05)
            try:
                with sqlite3.connect(ledger) as connection:
                    recorded = connection.execute("SELECT COUNT(*) FROM files").fetchone()[0]
            except sqlite3.OperationalError:
                recorded = 0
        scheduler.kill()
        _, stderr = batch.communicate(timeout=120)
    assert batch.returncode == 3, stderr
    assert stderr.startswith("mcfcheck: internal error: the Dask cluster did not finish validating ")
    assert len(stderr.splitlines()) == 1
    # What was finished is in the ledger, and the run says it stopped before its end.
    with sqlite3.connect(ledger) as connection:
        done = connection.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        assert connection.execute("SELECT finished FROM runs").fetchall() == [(None,)]
    assert 1 <= done < FILES_WHEN_LOST


def test_the_help_says_what_dask_needs() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "mcfcheck", "batch", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=True,
    ).stdout
    assert "Needs the extra mcfcheck[dask]." in shown
    assert "--dask-timeout" in shown


@settings(max_examples=15, deadline=None)
@given(
    batch_files=st.lists(
        st.tuples(
            st.sampled_from(sorted(builtin_cohorts())),
            st.integers(2, 40),
            st.sets(st.sampled_from(list(PlantedKind)), max_size=2),
        ),
        min_size=1,
        max_size=4,
    ),
    part_bytes=st.sampled_from([8_000, 20_000, 1 << 20]),
)
def test_on_a_cluster_any_batch_gives_the_findings_of_one_process(
    batch_files: list[tuple[str, int, set[PlantedKind]]], part_bytes: int
) -> None:
    with tempfile.TemporaryDirectory() as name:
        paths = []
        for number, (cohort, installations, kinds) in enumerate(batch_files):
            planted = dict(enumerate(sorted(kinds), start=1))
            generator = MCFGenerator(builtin_cohorts()[cohort], seed=number, planted_at=planted)
            path = Path(name) / f"file-{number}.xml"
            path.write_text("".join(generator.iter_text(installations)), encoding="utf-8")
            paths.append(path)
        rules = (load_registry(), RuleSettings())
        alone = _Collected()
        expected = batch.validate_files(paths, alone, rules=rules, jobs=1)
        status, remote, workers = _on_threads(paths, rules, part_bytes, part_bytes)
        assert status == expected
        assert remote.told == alone.told
        # Nothing was validated in this process but what the parts' merge runs over the head and tail.
        assert len(workers.submitted) >= len(paths)
