"""Signals and worker processes: a run stopped from outside, or losing a worker, ends cleanly.

Each run is a command line of its own, on a file large enough to be validated in parts,
with its own temporary folder (TMPDIR) and its own process group. What is checked: the
exit status, one line on standard error without a traceback, no worker process left
running, no unfinished report (``.part``) and nothing left in the temporary folder.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TypeVar

import pytest

from mcfcheck.generate import MCFGenerator
from mcfcheck.reports.base import ReportSettings
from mcfcheck.reports.console import ConsoleReporter
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.run import batch
from mcfcheck.run import parts as parallel
from mcfcheck.run.parts import worker_pool

#: Long enough for any wait on a loaded machine; the runs end in seconds when all is well.
PATIENCE = 60.0
#: How many times the large file is given: the run validates it in parts that often.
ROUNDS = 6

T = TypeVar("T")


@pytest.fixture(scope="session")
def large_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 40 MB: validated in parts even in a batch (from 32 MiB), for about a second each time."""
    path = tmp_path_factory.mktemp("signals") / "large.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=11).write(path, 20_000)
    return path


def _wait_for(what: Callable[[], T | None], timeout: float = PATIENCE) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.005)
    raise AssertionError(f"waited {timeout:.0f} s in vain for {what.__doc__}")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in listing.read_text().split()]
    return found


def _started(pid: int) -> str | None:
    """When a process started (field 22 of its stat), or None once it has ended: a pid may be reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, *fields = stat.rsplit(")", 1)[1].split()
    return None if state in ("Z", "X") else fields[18]


class Run:
    """mcfcheck run as a command line of its own, in a process group of its own."""

    def __init__(self, folder: Path, *args: str, output: IO[bytes] | int = subprocess.PIPE) -> None:
        self.folder = folder
        self.temporary = folder / "tmp"
        self.temporary.mkdir()
        environment = {**os.environ, "TMPDIR": str(self.temporary)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mcfcheck", *args],
            cwd=folder,
            env=environment,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
        self.workers: dict[int, str] = {}

    def wait_for_parts(self) -> None:
        """Until the workers validate parts: a folder of parts exists, and the workers with it."""

        def parts() -> bool:
            """a folder of parts"""
            return any(self.temporary.rglob("mcfcheck-parts-*"))

        _wait_for(parts)
        self.record_workers()

    def record_workers(self) -> None:
        def workers() -> list[int]:
            """the two workers"""
            found = _children(self.process.pid)
            return found if len(found) >= 2 else []

        for pid in _wait_for(workers):
            started = _started(pid)
            if started is not None:
                self.workers[pid] = started

    def finish(self) -> tuple[int, list[str]]:
        """The exit status and the lines on standard error, once the run has ended."""
        _out, err = self.process.communicate(timeout=PATIENCE)
        return self.process.returncode, err.decode().splitlines() if err else []

    def assert_workers_gone(self) -> None:
        assert self.workers

        def gone() -> bool:
            """the workers to end"""
            return all(_started(pid) != started for pid, started in self.workers.items())

        _wait_for(gone, timeout=15)

    def assert_nothing_left(self) -> None:
        assert not list(self.folder.glob("*.part"))
        assert not list(self.folder.glob(".*.part"))
        assert not [entry.name for entry in self.temporary.iterdir()]

    def kill_group(self) -> None:
        """Whatever is left of the run (if a test failed): its process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.kill_group()


def _validate(folder: Path, runs: list[Run], *paths: Path) -> Run:
    run = Run(folder, "validate", "--jobs", "2", "-q", "-o", "json=report.json", *map(str, paths))
    runs.append(run)
    return run


@pytest.mark.parametrize(
    ("stop", "status", "whole_group"),
    [
        (signal.SIGTERM, 143, False),
        (signal.SIGHUP, 129, False),
        # Ctrl-C in a terminal signals the whole foreground process group, workers too.
        (signal.SIGINT, 130, True),
    ],
)
def test_a_signal_mid_run_stops_the_workers_and_removes_reports_and_parts(
    tmp_path: Path, large_file: Path, runs: list[Run], stop: signal.Signals, status: int, whole_group: bool
) -> None:
    """SIGTERM or SIGHUP killed the parent at once: the workers lived on (holding the caller's
    pipes, so a caller waiting for its output hung), the report's .part and the folder of
    parts stayed. Ctrl-C ended it with status 130 but without a word."""
    run = _validate(tmp_path, runs, *[large_file] * ROUNDS)
    run.wait_for_parts()
    if whole_group:
        os.killpg(run.process.pid, stop)
    else:
        run.process.send_signal(stop)
    returncode, lines = run.finish()
    assert (returncode, lines) == (status, [f"mcfcheck: stopped by {stop.name}"])
    run.assert_workers_gone()
    run.assert_nothing_left()
    assert not (tmp_path / "report.json").exists()


@pytest.mark.parametrize(
    ("command", "output"),
    [(("stats", "-o", "json=out.json"), "out.json"), (("convert", "--to", "csv", "-o", "out"), "out")],
)
def test_stats_and_convert_stopped_by_a_signal_stop_their_workers_and_leave_nothing(
    tmp_path: Path, large_file: Path, runs: list[Run], command: tuple[str, ...], output: str
) -> None:
    """mcfcheck stats and convert read large files in parts as validate does, and stop as validate stops."""
    run = Run(tmp_path, *command, "--jobs", "2", "-q", *map(str, [large_file] * ROUNDS))
    runs.append(run)
    run.wait_for_parts()
    run.process.send_signal(signal.SIGTERM)
    returncode, lines = run.finish()
    assert (returncode, lines) == (143, ["mcfcheck: stopped by SIGTERM"])
    run.assert_workers_gone()
    run.assert_nothing_left()
    assert not (tmp_path / output).exists()


def test_signals_after_the_first_do_not_change_the_status(tmp_path: Path, large_file: Path, runs: list[Run]) -> None:
    """A second SIGTERM, once the run had put the signals' handlers back on its way out,
    ended the process by the signal (-15) instead of status 143 (4 runs in 20, 10 ms apart).

    Here SIGTERM is sent every few milliseconds until the process has ended."""
    run = _validate(tmp_path, runs, *[large_file] * ROUNDS)
    run.wait_for_parts()
    while run.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            run.process.send_signal(signal.SIGTERM)
        time.sleep(0.003)
    returncode, lines = run.finish()
    assert (returncode, lines) == (143, ["mcfcheck: stopped by SIGTERM"])
    run.assert_workers_gone()
    run.assert_nothing_left()


def test_ctrl_c_in_a_batch_of_small_files_prints_no_worker_traceback(tmp_path: Path, runs: list[Run]) -> None:
    """Ctrl-C during a batch of many files, validated whole by the workers, sometimes printed
    a worker's KeyboardInterrupt traceback, and never said why the run ended."""
    small = tmp_path / "small.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=3).write(small, 400)
    run = _validate(tmp_path, runs, *[small] * 1500)
    run.record_workers()
    time.sleep(0.5)
    os.killpg(run.process.pid, signal.SIGINT)
    returncode, lines = run.finish()
    assert (returncode, lines) == (130, ["mcfcheck: stopped by SIGINT"])
    run.assert_workers_gone()
    run.assert_nothing_left()


def test_a_worker_ignores_sigint_and_the_run_goes_on(tmp_path: Path, large_file: Path, runs: list[Run]) -> None:
    """SIGINT reached a worker as KeyboardInterrupt: a busy worker handed it to the parent as
    its task's outcome, an idle one printed a traceback and died, breaking the pool (status 3)."""
    run = _validate(tmp_path, runs, large_file, large_file)
    run.wait_for_parts()
    for worker in run.workers:
        os.kill(worker, signal.SIGINT)
    assert run.finish() == (0, [])
    assert (tmp_path / "report.json").exists()
    run.assert_nothing_left()


def test_the_workers_end_with_a_parent_killed_by_sigkill(tmp_path: Path, large_file: Path, runs: list[Run]) -> None:
    """SIGKILL of the parent left its workers running, for as long as the machine did."""
    with (tmp_path / "output.txt").open("wb") as output:
        run = Run(tmp_path, "validate", "--jobs", "2", "-q", *[str(large_file)] * ROUNDS, output=output)
        runs.append(run)
        run.wait_for_parts()
        run.process.kill()
        assert run.process.wait(timeout=PATIENCE) == -signal.SIGKILL
    run.assert_workers_gone()


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM])
def test_a_worker_that_dies_is_one_line_and_status_3(
    tmp_path: Path, large_file: Path, runs: list[Run], stop: signal.Signals
) -> None:
    """A worker killed mid-run was a BrokenProcessPool traceback, status 1 (then a line quoting the
    exception, which named neither the worker's end nor the file)."""
    run = _validate(tmp_path, runs, *[large_file] * ROUNDS)
    run.wait_for_parts()
    os.kill(min(run.workers), stop)
    returncode, lines = run.finish()
    expected = f"mcfcheck: internal error: a worker process died (signal {stop.value}, {stop.name}) while validating"
    assert (returncode, lines) == (3, [f"{expected} {large_file}"])
    run.assert_workers_gone()
    run.assert_nothing_left()


@pytest.mark.parametrize(("stop", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_generate_stopped_by_a_signal_leaves_nothing_behind(
    tmp_path: Path, runs: list[Run], stop: signal.Signals, status: int
) -> None:
    """mcfcheck generate stopped by SIGTERM left a .part of 77 MB beside its output."""
    run = Run(tmp_path, "generate", "-n", "500000", "-o", "generated.xml", "--quiet")
    runs.append(run)

    def writing() -> bool:
        """the file being written"""
        return any(part.stat().st_size for part in tmp_path.glob(".generated.xml.*.part"))

    _wait_for(writing)
    os.killpg(run.process.pid, stop)
    returncode, lines = run.finish()
    assert (returncode, lines) == (status, [f"mcfcheck: stopped by {stop.name}"])
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["tmp"]


_CUT_WHILE_COUNTING = """
import os, sys
from pathlib import Path
from mcfcheck.run import parts as parallel

path = Path(sys.argv[1])
size = path.stat().st_size

def count_then_cut(data):
    # Another process truncates the file while its lines are being counted.
    os.truncate(path, 0)
    return bytes(data).count(b"\\n")

parallel._COUNT_LINES = count_then_cut
try:
    parallel._LineCounter(path).line_at(size)
except Exception as error:
    print(error)
"""


def test_a_file_cut_short_while_its_lines_are_counted_is_reported(tmp_path: Path) -> None:
    """The parent counted lines through a mapping of the file: truncated meanwhile, it died of SIGBUS."""
    path = tmp_path / "lines.txt"
    path.write_bytes(b"an installation\n" * (1 << 20))
    done = subprocess.run([sys.executable, "-c", _CUT_WHILE_COUNTING, str(path)], capture_output=True, text=True)
    assert done.returncode == 0, f"died of signal {-done.returncode}" if done.returncode < 0 else done.stderr
    assert done.stdout == f"{path}: changed while being read (it was 16,777,216 bytes when validation began)\n"


def test_a_file_cut_short_while_its_parts_are_validated_is_one_line_and_status_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file truncated once its parts were planned was reported as broken XML, not as changed."""
    path = tmp_path / "file.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=4).write(path, 300)
    size = path.stat().st_size
    planned = parallel.plan

    def plan_then_cut(file: Path, parts: int, part_bytes: int, workers: int, record: str) -> parallel.Plan | None:
        layout = planned(file, parts, part_bytes, workers, record)
        os.truncate(file, size // 2)
        return layout

    monkeypatch.setattr(parallel, "plan", plan_then_cut)
    err = io.StringIO()
    sink = ConsoleReporter(io.StringIO(), ReportSettings(errors=err))
    status = batch.validate_files([path], sink, jobs=2, part_bytes=40_000, pool=worker_pool(2))
    assert status == batch.ExitStatus.UNUSABLE
    assert err.getvalue().splitlines() == [
        f"error: {path}: changed while being read (it was {size:,} bytes when validation began)"
    ]
