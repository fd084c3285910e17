"""Validation in parts by worker processes gives exactly the findings of a single pass."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mcfcheck import cli
from mcfcheck.check.file import FileCheck
from mcfcheck.errors import InputError
from mcfcheck.findings import Finding
from mcfcheck.generate import MCFGenerator
from mcfcheck.reports.base import ReportSettings
from mcfcheck.reports.console import ConsoleReporter
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.registry import RuleRegistry, load_registry
from mcfcheck.run import batch
from mcfcheck.run import parts as parallel
from mcfcheck.run.parts import ParallelFileCheck, plan, worker_pool

RULES = (load_registry(), RuleSettings())
PART_BYTES = 40_000


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with worker_pool(2) as executor:
        yield executor


def _spoil(text: str, seed: int) -> str:
    """Rule violations across the file: duplicates far apart, a wrong total, a bad check digit."""
    device_ids = re.findall(r"<DeviceID>([^<]+)</DeviceID>", text)
    references = re.findall(r"<InstallationReference>([^<]+)</InstallationReference>", text)
    mpans = re.findall(r"<MPANCore>(\d{13})</MPANCore>", text)
    text = text.replace(f"<DeviceID>{device_ids[-2 - seed % 5]}<", f"<DeviceID>{device_ids[1 + seed % 7].lower()}<")
    text = text.replace(
        f"<InstallationReference>{references[-1 - seed % 3]}<", f"<InstallationReference>{references[seed % 4]}<"
    )
    bad = mpans[len(mpans) // 2]
    text = text.replace(bad, bad[:-1] + str((int(bad[-1]) + 1) % 10))
    return re.sub(r"<InstallationCount>(\d+)<", lambda m: f"<InstallationCount>{int(m[1]) + 1}<", text)


def _collect(check: Iterable[Finding], into: list[Finding]) -> None:
    """Keep the findings a check yields before it raises."""
    for finding in check:
        into.append(finding)


def _both(path: Path, pool: ProcessPoolExecutor) -> tuple[list[Finding], list[Finding], ParallelFileCheck]:
    single = list(FileCheck(path, rules=RULES))
    check = ParallelFileCheck(path, lambda: pool, 2, rules=RULES, part_bytes=PART_BYTES)
    return single, list(check), check


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cohort=st.sampled_from(sorted(builtin_cohorts())),
    seed=st.integers(min_value=0, max_value=1000),
    error_rate=st.sampled_from([0.0, 0.02, 0.2]),
    spoil=st.booleans(),
)
def test_parts_give_the_single_pass_findings(
    tmp_path: Path, pool: ProcessPoolExecutor, cohort: str, seed: int, error_rate: float, spoil: bool
) -> None:
    text = "".join(MCFGenerator(builtin_cohorts()[cohort], seed=seed, error_rate=error_rate).iter_text(300))
    path = tmp_path / "file.xml"
    path.write_text(_spoil(text, seed) if spoil else text, encoding="utf-8")
    single, parallel, check = _both(path, pool)
    assert check.parallel, "the file was not validated in parts"
    assert parallel == single
    assert check.installations == 300
    if spoil:
        codes = {finding.code for finding in single}
        assert {"GEN001", "GEN010", "GEN011", "GEN020"} <= codes


def test_a_plan_splits_at_installations_and_knows_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "file.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=1).write(path, 300)
    layout = plan(path, 4, PART_BYTES)
    assert layout is not None
    assert len(layout.starts) == 4
    text = path.read_bytes()
    for start, line in zip(layout.starts, layout.lines, strict=True):
        assert text[start:].lstrip().startswith(b"<Installation>")
        assert text[:start].count(b"\n") + 1 == line


@pytest.mark.parametrize(("workers", "expected"), [(1, 5), (2, 4), (3, 3), (4, 4), (6, 5)])
def test_a_file_too_small_for_every_part_is_split_evenly_among_the_workers(
    tmp_path: Path, workers: int, expected: int
) -> None:
    path = tmp_path / "file.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=1).write(path, 300)
    part_bytes = path.stat().st_size // 5  # room for five parts at most
    layout = plan(path, 8, part_bytes, workers)
    assert layout is not None
    assert len(layout.starts) == expected


@pytest.mark.parametrize("first_window", [1, 7, 100, 64 << 10])
def test_split_points_do_not_depend_on_how_much_the_searches_read(tmp_path: Path, first_window: int) -> None:
    """The searches read growing windows; the points are those found in the whole text at once."""
    path = tmp_path / "file.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=3).write(path, 300)
    text = path.read_bytes()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parallel, "_FIRST_WINDOW_BYTES", first_window)
        layout = plan(path, 4, PART_BYTES)
    assert layout is not None
    start = parallel._INSTALLATION_START
    first = start.search(text)
    last_end = list(parallel._INSTALLATION_END.finditer(text))[-1].end()
    assert first is not None
    head_end = first.start() + 1
    tail_start = text.index(b"\n", last_end) + 1
    assert (layout.head_end, layout.tail_start) == (head_end, tail_start)
    expected = [head_end]
    for k in range(1, 4):
        found = start.search(text, head_end + (tail_start - head_end) * k // 4)
        assert found is not None
        expected.append(found.start() + 1)
    assert layout.starts == tuple(expected)


def test_a_split_inside_a_comment_falls_back_to_one_pass(tmp_path: Path, pool: ProcessPoolExecutor) -> None:
    text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=2, error_rate=0.1).iter_text(300))
    # Lines inside a long comment that look like installations' starts: the splitter
    # takes one for a split point, and the parts around it are not well-formed.
    # The comment spans the middle of the file, where one of the split points falls.
    position = text.index("<Installation>", len(text) // 4)
    fake = "\n    <Installation>" * (len(text) // 19)
    text = text[:position] + f"<!--{fake}\n-->\n    " + text[position:]
    path = tmp_path / "file.xml"
    path.write_text(text, encoding="utf-8")
    assert plan(path, 4, PART_BYTES) is not None
    single, parallel, check = _both(path, pool)
    assert not check.parallel
    assert parallel == single
    assert single


def test_a_truncated_file_is_reported_as_a_single_pass_reports_it(tmp_path: Path, pool: ProcessPoolExecutor) -> None:
    text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=3, error_rate=0.1).iter_text(300))
    path = tmp_path / "file.xml"
    path.write_text(text[: len(text) * 9 // 10], encoding="utf-8")
    with pytest.raises(InputError) as single_error:
        list(FileCheck(path, rules=RULES))
    check = ParallelFileCheck(path, lambda: pool, 2, rules=RULES, part_bytes=PART_BYTES)
    with pytest.raises(InputError) as parallel_error:
        list(check)
    assert str(parallel_error.value) == str(single_error.value)


def test_a_broken_byte_mid_file_is_reported_as_a_single_pass_reports_it(
    tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=4, error_rate=0.1).iter_text(300))
    position = text.index("<MPANCore>", len(text) * 5 // 8)
    path = tmp_path / "file.xml"
    path.write_bytes(text[:position].encode() + b"<MPANCore>\xff" + text[position + 10 :].encode())
    single_findings: list[Finding] = []
    with pytest.raises(InputError) as single_error:
        _collect(FileCheck(path, rules=RULES), single_findings)
    check = ParallelFileCheck(path, lambda: pool, 2, rules=RULES, part_bytes=PART_BYTES)
    parallel_findings: list[Finding] = []
    with pytest.raises(InputError) as parallel_error:
        _collect(check, parallel_findings)
    assert not check.parallel
    assert str(parallel_error.value) == str(single_error.value)
    assert parallel_findings == single_findings
    line = single_error.value.line
    assert line is not None
    assert line == text[:position].count("\n") + 1


@settings(max_examples=80, deadline=None)
@given(
    text=st.text(alphabet="ab\n", max_size=200),
    cuts=st.lists(st.integers(min_value=0, max_value=220), max_size=6),
    block=st.integers(min_value=1, max_value=16),
    in_c=st.booleans(),
)
def test_lines_are_counted_up_to_each_position(text: str, cuts: list[int], block: int, in_c: bool) -> None:
    data = text.encode()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lines.txt"
        path.write_bytes(data)
        counter = parallel._LineCounter(path)
        with pytest.MonkeyPatch.context() as patch:
            # Small blocks, so that whole blocks and the last short one are both read.
            patch.setattr(parallel, "_COUNT_BYTES", block)
            if not in_c:
                patch.setattr(parallel, "_COUNT_LINES", None)
            for position in sorted(cuts):
                assert counter.line_at(position) == data[:position].count(b"\n") + 1


@settings(max_examples=60, deadline=None)
@given(
    newlines=st.integers(min_value=0, max_value=300),
    others=st.integers(min_value=0, max_value=300),
    repeats=st.integers(min_value=1, max_value=60),
    offset=st.integers(min_value=0, max_value=17),
)
@example(newlines=300, others=0, repeats=60, offset=0)  # nothing but line feeds: every counter full
@example(newlines=1, others=15, repeats=60 * 300 // 16, offset=3)  # one counter full, misaligned
def test_the_c_counter_counts_the_line_feeds_of_long_runs(
    newlines: int, others: int, repeats: int, offset: int
) -> None:
    """Up to 36 KB, in patterns that fill its one-byte counters (all line feeds, for one) and leave tails."""
    count_lines = parallel._COUNT_LINES
    if count_lines is None:
        pytest.skip("the C module was not built (the test below checks that this is a build without it)")
    data = (b"\n" * newlines + b"x" * others) * repeats
    assert count_lines(data[offset:]) == data[offset:].count(b"\n")
    assert count_lines(memoryview(data)[offset:]) == data[offset:].count(b"\n")


def test_lines_are_counted_in_c_where_it_was_built() -> None:
    assert (parallel._COUNT_LINES is not None) == (os.environ.get("MCFCHECK_BUILD") not in ("plain", "mypyc"))


_START_METHODS = """
import os, threading
from mcfcheck.run.parts import worker_pool

def method() -> str:
    with worker_pool(2) as pool:
        assert pool.submit(os.getpid).result() != os.getpid()
        return pool._mp_context.get_start_method()

alone = method()
stop = threading.Event()
other = threading.Thread(target=stop.wait)
other.start()
print(alone, method())
stop.set()
other.join()
"""


_INHERITED_RULES = """
from mcfcheck.run import parts as parallel
from mcfcheck.rules.registry import RuleRegistry

def problems() -> list[str]:
    return parallel._worker_registry().problems

loaded = RuleRegistry()
loaded.problems.append("loaded before the workers")
with parallel.worker_pool(1, loaded) as pool:
    print(pool.submit(problems).result())
"""


def test_forked_workers_take_the_rules_loaded_before_them() -> None:
    done = subprocess.run([sys.executable, "-c", _INHERITED_RULES], capture_output=True, text=True, check=True)
    expected = "['loaded before the workers']" if sys.platform == "linux" else "[]"
    assert done.stdout.strip() == expected


def test_workers_are_forked_only_from_a_process_without_threads() -> None:
    # In a process of its own: this one runs the module's pool, and its threads.
    done = subprocess.run([sys.executable, "-c", _START_METHODS], capture_output=True, text=True, check=True)
    alone, with_thread = done.stdout.split()
    assert alone == ("fork" if sys.platform == "linux" else "forkserver")
    assert with_thread == "forkserver"


def _cb_file(path: Path, installations: int, seed: int) -> Path:
    MCFGenerator(builtin_cohorts()["CB"], seed=seed).write(path, installations)
    return path


def test_the_command_line_starts_its_workers_before_anything_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _cb_file(tmp_path / "a.xml", 3, seed=1), _cb_file(tmp_path / "b.xml", 3, seed=2)
    started: list[int] = []

    def pool(jobs: int, registry: RuleRegistry | None = None) -> ProcessPoolExecutor:
        started.append(threading.active_count())
        # The rules are loaded by then, to be handed to the workers.
        assert registry is not None
        assert registry.rules
        return parallel.worker_pool(jobs, registry)

    monkeypatch.setattr(cli, "worker_pool", pool)
    threads = threading.active_count()
    assert cli.main(["validate", "--jobs", "2", str(first), str(second)]) == 0
    # Once, before any thread of the command's own (the progress bars start after).
    assert started == [threads]
    assert cli.main(["validate", "--jobs", "2", str(first)]) == 0
    assert started == [threads], "a single small file is validated in this process"


def test_a_batch_validates_its_smaller_files_whole_and_a_file_alone_in_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, large = _cb_file(tmp_path / "small.xml", 30, seed=1), _cb_file(tmp_path / "large.xml", 120, seed=2)
    assert small.stat().st_size < 2 * 50_000 <= large.stat().st_size
    in_parts: list[str] = []

    class Recorded(ParallelFileCheck):
        def __iter__(self) -> Iterator[Finding]:
            yield from super().__iter__()
            if self.parallel:
                in_parts.append(self.path.name)

    monkeypatch.setattr(batch, "ParallelFileCheck", Recorded)
    sink = ConsoleReporter(io.StringIO(), ReportSettings(errors=io.StringIO()))

    def run(*paths: Path) -> None:
        # Each run starts its own workers, and shuts them down at the end.
        status = batch.validate_files(paths, sink, rules=RULES, jobs=2, part_bytes=10_000, batch_part_bytes=50_000)
        assert status == batch.ExitStatus.VALID

    run(small, large)
    assert in_parts == ["large.xml"]
    in_parts.clear()
    run(small)
    assert in_parts == ["small.xml"]


def test_a_schema_that_cannot_be_loaded_still_shuts_the_pool_down(tmp_path: Path) -> None:
    """The pool given to validate_files was left running (and its folder in TMPDIR) when the schema failed."""
    given = worker_pool(2)
    errors = io.StringIO()
    status = batch.validate_files(
        [tmp_path / "any.xml"],
        ConsoleReporter(io.StringIO(), ReportSettings(errors=errors)),
        schema=tmp_path / "missing.xsd",
        jobs=2,
        pool=given,
    )
    assert status == batch.ExitStatus.UNUSABLE
    assert "missing.xsd" in errors.getvalue()
    assert given._shutdown_thread
    folder = getattr(given, "folder", None)
    assert folder is None or not Path(folder).exists()


def test_a_file_in_parts_tells_its_progress_as_the_parts_are_read(
    tmp_path: Path, pool: ProcessPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bar moves while the parts are read, not only as each ends (in steps of a part).
    path = tmp_path / "large.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=9).write(path, 12_000)
    monkeypatch.setattr(parallel, "PROGRESS_SECONDS", 0.02)
    told: list[tuple[int, int]] = []
    check = ParallelFileCheck(
        path, lambda: pool, 2, rules=RULES, part_bytes=1 << 20, on_progress=lambda *now: told.append(now)
    )
    assert list(check) == []
    assert check.parallel
    size = path.stat().st_size
    assert told[-1] == (size, 12_000)
    assert [done for done, _ in told] == sorted(done for done, _ in told)
    assert [installations for _, installations in told] == sorted(installations for _, installations in told)
    # Updates that fall inside a part, and not at a part's end.
    layout = plan(path, 2 * parallel.PARTS_PER_JOB, 1 << 20, 2)
    assert layout is not None
    ends = {*layout.starts[1:], size}
    inside = [done for done, _ in told if done not in ends and 0 < done < size]
    assert len(inside) >= 3
