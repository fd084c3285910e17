"""mcfcheck batch and mcfcheck ledger: files found, checked as validate checks them, recorded once."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mcfcheck.cli import app
from mcfcheck.errors import InputError
from mcfcheck.generate import MCFGenerator, PlantedKind
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.holdings import fingerprint, fingerprints_of
from mcfcheck.rules.registry import load_registry
from mcfcheck.run.discover import discover

runner = CliRunner()
SAMPLES = Path(__file__).parent.parent / "samples"


def test_a_manifest_lists_paths_relative_to_its_folder(tmp_path: Path) -> None:
    (tmp_path / "list").mkdir()
    manifest = tmp_path / "list" / "files.txt"
    manifest.write_text("one.xml\n\n# a comment\n  two.xml.gz  \n/abs/three.xml\none.xml\n", encoding="utf-8")
    assert discover([f"@{manifest}"]) == [
        tmp_path / "list" / "one.xml",
        tmp_path / "list" / "two.xml.gz",
        Path("/abs/three.xml"),
    ]
    assert discover(["@-"], stdin=io.StringIO("x.xml\ny.xml\n")) == [Path("x.xml"), Path("y.xml")]
    with pytest.raises(InputError, match="the manifest cannot be read"):
        discover([f"@{tmp_path / 'missing.txt'}"])


def _files(folder: Path, count: int = 6) -> list[Path]:
    """Generated files of every cohort, some with planted errors."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    cohorts = sorted(builtin_cohorts())
    for number in range(count):
        cohort = builtin_cohorts()[cohorts[number % len(cohorts)]]
        planted = {2: PlantedKind.STATUS_VALUE} if number % 3 == 0 else {}
        path = folder / f"file-{number:02d}.xml"
        path.write_text("".join(MCFGenerator(cohort, seed=number, planted_at=planted).iter_text(5 + number)))
        paths.append(path)
    return paths


def _rows(ledger: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(ledger) as connection:
        return connection.execute(query).fetchall()


@dataclass(frozen=True)
class LedgerUnderTest:
    """A ledger a test gives batch (``--ledger address``), read back with the database's own client."""

    address: str
    #: What messages call it (a PostgreSQL address without its password).
    name: str
    kind: str

    def rows(self, query: str) -> list[tuple[object, ...]]:
        if self.kind == "sqlite":
            return _rows(Path(self.address), query)
        import psycopg

        with psycopg.connect(self.address) as connection:
            return [tuple(row) for row in connection.execute(query).fetchall()]

    def execute(self, *statements: str) -> None:
        """Statements with the ledger's ``{placeholders}`` in this database's words, committed."""
        from mcfcheck.run.databases import PostgreSQLDatabase, SQLiteDatabase

        if self.kind == "sqlite":
            with sqlite3.connect(self.address) as connection:
                for statement in statements:
                    connection.execute(statement.format_map(SQLiteDatabase.types))
            return
        import psycopg

        with psycopg.connect(self.address) as connection:
            for statement in statements:
                connection.execute(statement.format_map(PostgreSQLDatabase.types))


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def new_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], LedgerUnderTest]:
    """Makes a new, empty ledger each call: an SQLite file, or a database on the tests' PostgreSQL server."""
    from mcfcheck.run.databases import postgresql_name

    numbers = itertools.count(1)
    if request.param == "sqlite":

        def file() -> LedgerUnderTest:
            path = str(tmp_path / f"ledger-{next(numbers)}.sqlite")
            return LedgerUnderTest(path, path, "sqlite")

        return file
    server = request.getfixturevalue("postgresql_server")

    def made() -> LedgerUnderTest:
        address = server.database()
        return LedgerUnderTest(address, postgresql_name(address), "postgresql")

    return made


def test_a_batch_records_each_file_and_a_second_run_skips_them(
    tmp_path: Path, new_ledger: Callable[[], LedgerUnderTest]
) -> None:
    files = _files(tmp_path / "in")
    book = new_ledger()
    given = f"sqlite:///{book.address}" if book.kind == "sqlite" else book.address
    first = runner.invoke(app, ["batch", str(tmp_path / "in"), "--ledger", given, "-q", "-j", "1"])
    assert first.exit_code == 1, first.output
    ledger = book.address
    rows = book.rows(
        "SELECT path, group_id, smso, supplier, file_identifier, valid, installations FROM files ORDER BY id"
    )
    assert [row[0] for row in rows] == [str(path) for path in files]
    for row, number in zip(rows, range(len(files)), strict=True):
        assert None not in (row[1], row[3], row[4])
        assert row[5] == (0 if number % 3 == 0 else 1)
        assert row[6] == 5 + number
    counts = book.rows("SELECT code, SUM(count) FROM finding_counts GROUP BY code")
    assert counts == [("XSD001", 2)]
    again = runner.invoke(app, ["batch", str(tmp_path / "in"), "--ledger", ledger, "-j", "1"])
    # The same verdict, from the ledger: nothing checked again.
    assert again.exit_code == 1, again.output
    assert again.stderr.count("skipped: the ledger holds it") == len(files)
    assert len(book.rows("SELECT id FROM files")) == len(files)
    # Another configuration checks them again; so does --force.
    ignored = runner.invoke(app, ["batch", str(tmp_path / "in"), "--ledger", ledger, "-q", "--ignore", "XSD"])
    assert ignored.exit_code == 0, ignored.output
    forced = runner.invoke(app, ["batch", str(files[1]), "--ledger", ledger, "-q", "--force"])
    assert forced.exit_code == 0
    assert len(book.rows("SELECT id FROM files")) == 2 * len(files) + 1
    summary = runner.invoke(app, ["ledger", "summary", "--ledger", ledger, "--format", "json"])
    assert summary.exit_code == 0, summary.output
    document = json.loads(summary.stdout)
    # The latest record of each file, for each configuration it was checked with.
    assert sum(rollup["files"] for rollup in document["group_id"]) == 2 * len(files)
    assert sum(rollup["installations"] for rollup in document["supplier"]) == 2 * sum(5 + n for n in range(len(files)))
    assert sum(rollup["findings"].get("XSD001", 0) for rollup in document["smso"]) == 2


def test_a_batch_finds_what_validate_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    files = _files(tmp_path / "in", 4)
    validated = runner.invoke(app, ["validate", *map(str, files), "--format", "json", "-j", "1"])
    batched = runner.invoke(app, ["batch", str(tmp_path / "in"), "--no-ledger", "--format", "json", "-j", "1"])
    assert validated.exit_code == batched.exit_code == 1
    assert json.loads(validated.stdout)["files"] == json.loads(batched.stdout)["files"]
    assert not (tmp_path / "mcfcheck-ledger.sqlite").exists()
    # Without --no-ledger, the ledger is made in the current folder.
    assert runner.invoke(app, ["batch", str(files[1]), "-q"]).exit_code == 0
    assert (tmp_path / "mcfcheck-ledger.sqlite").is_file()


def test_bad_files_are_reported_and_the_batch_goes_on(
    tmp_path: Path, new_ledger: Callable[[], LedgerUnderTest]
) -> None:
    folder = tmp_path / "in"
    files = _files(folder, 2)
    (folder / "broken.xml.gz").write_bytes(b"\x1f\x8bnot gzip")
    (folder / "other.xml").write_text("<other/>", encoding="utf-8")
    ledger = new_ledger()
    result = runner.invoke(app, ["batch", str(folder), "--ledger", ledger.address, "-q", "-j", "1"])
    assert result.exit_code == 2
    recorded = {Path(str(row[0])).name: row[1] for row in ledger.rows("SELECT path, error FROM files")}
    assert set(recorded) == {"broken.xml.gz", "other.xml", *(path.name for path in files)}
    assert recorded["broken.xml.gz"] is not None
    assert all(recorded[path.name] is None for path in files)


@pytest.mark.parametrize(
    ("ledger", "message"),
    [
        ("mysql://user:secret@localhost/db", "--ledger mysql://user@localhost/db: mysql ledgers are not supported"),
        ("newer", "written by a newer mcfcheck (ledger schema version 99"),
        ("other", "not an mcfcheck ledger"),
        ("text", "not a ledger mcfcheck can use"),
    ],
)
def test_a_ledger_that_cannot_be_used_is_one_line_before_any_work(tmp_path: Path, ledger: str, message: str) -> None:
    path = tmp_path / "ledger.sqlite"
    if ledger == "newer":
        runner.invoke(app, ["batch", str(SAMPLES / "cb-valid.xml"), "--ledger", str(path), "-q"])
        with sqlite3.connect(path) as connection:
            connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        ledger = str(path)
    elif ledger == "other":
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE something (x)")
        ledger = str(path)
    elif ledger == "text":
        path.write_text("not a database" * 100, encoding="utf-8")
        ledger = str(path)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    result = runner.invoke(app, ["batch", str(SAMPLES / "cb-valid.xml"), "--ledger", ledger])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "secret" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize(
    ("ledger", "message"),
    [
        ("wrong password", "the ledger cannot be reached (connection failed: "),
        ("no server", "the ledger cannot be reached (connection failed: "),
        ("other", "not an mcfcheck ledger (it holds other tables)"),
        ("newer", "written by a newer mcfcheck (ledger schema version 99"),
    ],
)
def test_a_postgresql_ledger_that_cannot_be_used_is_one_line_without_its_password(
    postgresql_server: Any, ledger: str, message: str
) -> None:
    from tests.postgresql import PASSWORD

    address = postgresql_server.database()
    if ledger == "wrong password":
        address = address.replace(PASSWORD, "not-the-password-7")
    elif ledger == "no server":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            address = postgresql_server.address(port=probe.getsockname()[1])
    elif ledger == "other":
        LedgerUnderTest(address, address, "postgresql").execute("CREATE TABLE something (x INTEGER)")
    else:
        assert runner.invoke(app, ["batch", str(SAMPLES / "cb-valid.xml"), "--ledger", address, "-q"]).exit_code == 0
        LedgerUnderTest(address, address, "postgresql").execute(
            "UPDATE meta SET value = '99' WHERE key = 'schema_version'"
        )
    for command in (["batch", str(SAMPLES / "cb-valid.xml")], ["ledger", "summary"]):
        result = runner.invoke(app, [*command, "--ledger", address])
        assert result.exit_code == 2, result.output
        assert message in result.stderr
        assert result.stderr.startswith("error: postgresql://mcfcheck@127.0.0.1:")
        assert PASSWORD not in result.stderr
        assert "not-the-password" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("postgresql://u:Pw0rd-1@[::1/db", "not a PostgreSQL address (end of string reached"),
        ("postgresql://u@[::1/db?password=Pw0rd-1", "not a PostgreSQL address ("),
        (
            "postgresql://u:Pw0rd-1@127.0.0.1/db?bogus=1",
            'not a PostgreSQL address (invalid URI query parameter: "bogus")',
        ),
        (
            "postgres://u:Pw0rd%2D1@127.0.0.1:notaport/db",
            'invalid integer value "notaport" for connection option "port"',
        ),
    ],
)
def test_an_address_postgresql_cannot_read_is_one_line_without_its_password(address: str, message: str) -> None:
    result = runner.invoke(app, ["ledger", "summary", "--ledger", address])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Pw0rd" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_postgresql_server_that_cannot_start_says_why_and_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from tests import postgresql

    # Where the server's user (as root, postgres) may run it.
    programs = Path(tempfile.mkdtemp(prefix="fake-initdb-", dir="/tmp"))
    try:
        programs.chmod(0o755)
        initdb = programs / "initdb"
        initdb.write_text("#!/bin/sh\necho 'initdb: cannot be run here' >&2\nexit 1\n", encoding="utf-8")
        initdb.chmod(0o755)
        monkeypatch.setattr(postgresql, "binaries", lambda: programs)
        before = set(Path("/tmp").glob("mcfcheck-pg-*"))
        with pytest.raises(postgresql.ServerUnavailableError, match="initdb failed: initdb: cannot be run here"):
            postgresql.Server()
        assert set(Path("/tmp").glob("mcfcheck-pg-*")) == before
    finally:
        shutil.rmtree(programs)


def test_ledger_reads_no_ledger_that_does_not_exist_and_makes_none(new_ledger: Callable[[], LedgerUnderTest]) -> None:
    empty = new_ledger()
    for what in ("summary", "runs"):
        result = runner.invoke(app, ["ledger", what, "--ledger", empty.address])
        assert result.exit_code == 2
        assert result.stderr.startswith(f"error: {empty.name}: no such ledger")
    if empty.kind == "sqlite":
        assert not Path(empty.address).exists()
    else:
        assert empty.rows("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'") == [(0,)]


def test_without_psycopg_a_postgresql_ledger_is_one_line_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    address = "postgresql://someone:hidden-word@db.invalid/ledger"
    for command in (["batch", str(SAMPLES / "cb-valid.xml")], ["ledger", "summary"]):
        result = runner.invoke(app, [*command, "--ledger", address])
        assert result.exit_code == 2
        assert result.stderr == (
            "error: postgresql://someone@db.invalid/ledger: a PostgreSQL ledger needs psycopg, which is not "
            "installed (pip install 'mcfcheck[postgresql]')\n"
        )


@given(
    user=st.text("abcxyz_.-", min_size=0, max_size=8),
    password=st.text(max_size=8),
    hosts=st.sampled_from(["db", "10.0.0.1:5432", "a:1,b:2", "[::1]:5433", ""]),
    rest=st.sampled_from(["/ledger", "/l?sslmode=require", "", "/x?password=p2"]),
    encoded=st.booleans(),
)
def test_a_postgresql_address_is_named_without_its_password(
    user: str, password: str, hosts: str, rest: str, encoded: bool
) -> None:
    import urllib.parse

    from mcfcheck.run.databases import postgresql_name

    # Around a mark that nothing else in the address holds.
    password = f"{password}\N{GREEK CAPITAL LETTER OMEGA}{password}"
    given = urllib.parse.quote(password, safe="") if encoded else password
    named = postgresql_name(f"postgresql://{user}:{given}@{hosts}{rest}")
    assert "\N{GREEK CAPITAL LETTER OMEGA}" not in named
    assert "%CE%A9" not in named
    assert "p2" not in named
    if encoded or not set(password) & set("@?"):
        assert named == f"postgresql://{user}@{hosts}{rest.split('?')[0]}"


def test_both_databases_give_the_same_rollups_runs_and_histories(tmp_path: Path, postgresql_server: Any) -> None:
    from mcfcheck.run.databases import postgresql_name

    folder = tmp_path / "in"
    files = _suppliers(folder)
    _plant(files[0], files[2], "MPANCore", 1, 4)
    _files(folder / "more", 4)
    address = postgresql_server.database()
    ledgers = [
        LedgerUnderTest(str(tmp_path / "ledger.sqlite"), str(tmp_path / "ledger.sqlite"), "sqlite"),
        LedgerUnderTest(address, postgresql_name(address), "postgresql"),
    ]
    shown: list[list[Any]] = []
    for ledger in ledgers:
        result = runner.invoke(app, ["batch", str(folder), "--ledger", ledger.address, "--format", "json", "-j", "1"])
        assert result.exit_code == 1, result.output
        again = ["batch", str(files[1]), "--ledger", ledger.address, "-q", "--force"]
        assert runner.invoke(app, again).exit_code == 0
        reference = _references(files[2])[3]
        said = [json.loads(result.stdout)["files"]]
        for command in (["summary"], ["runs"], ["history", reference]):
            read = runner.invoke(app, ["ledger", *command, "--ledger", ledger.address, "--format", "json"])
            assert read.exit_code == 0, read.output
            document = json.loads(read.stdout)
            assert document.pop("ledger") == ledger.name
            said.append(document)
        shown.append(said)
    sqlite, postgresql = shown
    # The times differ; nothing else does.
    for said in shown:
        for run in said[2]["runs"]:
            assert run.pop("started") <= run.pop("finished")
        for submission in said[3]["history"]:
            submission["checked"] = None
    assert postgresql == sqlite
    assert any(finding["code"] == "XFL012" for entry in sqlite[0] for finding in entry["findings"])


def _recorded(ledger: LedgerUnderTest) -> int:
    """How many records of files the ledger holds (0 before its tables are made)."""
    try:
        counted = ledger.rows("SELECT COUNT(*) FROM files")[0][0]
    except Exception:  # a ledger being created, in either database
        return 0
    assert isinstance(counted, int)
    return counted


def _rollups(ledger: LedgerUnderTest) -> object:
    """``ledger summary --format json``, without the ledger's name."""
    result = runner.invoke(app, ["ledger", "summary", "--ledger", ledger.address, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    del document["ledger"]
    return document


def test_a_batch_killed_then_run_again_counts_each_file_once(
    tmp_path: Path, new_ledger: Callable[[], LedgerUnderTest]
) -> None:
    folder = tmp_path / "in"
    _files(folder, 40)
    clean, killed = new_ledger(), new_ledger()
    command = [sys.executable, "-m", "mcfcheck", "batch", str(folder), "-q", "-j", "1", "--ledger"]
    assert subprocess.run([*command, clean.address], capture_output=True).returncode == 1
    process = subprocess.Popen([*command, killed.address], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _recorded(killed) < 3:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = _recorded(killed)
    assert 3 <= partial < 40
    assert subprocess.run([*command, killed.address], capture_output=True).returncode == 1
    assert _rollups(killed) == _rollups(clean)
    assert killed.rows("SELECT COUNT(DISTINCT sha256), COUNT(*) FROM files") == [(40, 40)]
    runs = runner.invoke(app, ["ledger", "runs", "--ledger", killed.address])
    assert "stopped before its end" in runs.stdout


def test_two_batches_at_once_on_overlapping_files_record_each_file_once(
    tmp_path: Path, new_ledger: Callable[[], LedgerUnderTest]
) -> None:
    files = _files(tmp_path / "in", 24)
    # Both start with an empty ledger: each sees every file of its own as new.
    manifests = []
    for name, chosen in (("a.txt", files[:16]), ("b.txt", files[8:])):
        manifest = tmp_path / name
        manifest.write_text("".join(f"{path}\n" for path in chosen), encoding="utf-8")
        manifests.append(manifest)
    clean, shared = new_ledger(), new_ledger()
    command = [sys.executable, "-m", "mcfcheck", "batch", "-j", "1"]
    assert subprocess.run([*command, str(tmp_path / "in"), "-q", "--ledger", clean.address]).returncode == 1
    # The second walks its files backwards: the two meet in the middle of the files both hold.
    manifests[1].write_text("".join(f"{path}\n" for path in reversed(files[8:])), encoding="utf-8")
    processes = [
        subprocess.Popen(
            [*command, f"@{manifest}", "--ledger", shared.address],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for manifest in manifests
    ]
    said = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [1, 1], said
    # Every file recorded once, whichever batch recorded it; the rollups those of one batch over them all.
    assert shared.rows("SELECT COUNT(DISTINCT sha256), COUNT(*) FROM files") == [(len(files), len(files))]
    assert shared.rows("SELECT COUNT(DISTINCT file), COUNT(*) FROM installations") == clean.rows(
        "SELECT COUNT(DISTINCT file), COUNT(*) FROM installations"
    )
    assert _rollups(shared) == _rollups(clean)
    runs = shared.rows("SELECT COUNT(*), COUNT(finished) FROM runs")
    assert runs == [(2, 2)]
    # Each file both were given: skipped by one (the other had recorded it when it looked), or checked
    # by both and recorded by one, the other saying so.
    both = {str(path) for path in files[8:16]}
    lines = [line for text in said for line in text.splitlines()]
    skipped = [line.split(": skipped:")[0] for line in lines if ": skipped: the ledger holds it" in line]
    elsewhere = [line.split(": recorded by")[0] for line in lines if ": recorded by another batch" in line]
    assert sorted(skipped + elsewhere) == sorted(both)


def test_of_two_batches_that_checked_a_file_at_once_the_second_records_nothing(
    tmp_path: Path, new_ledger: Callable[[], LedgerUnderTest]
) -> None:
    from mcfcheck.findings import FileReport
    from mcfcheck.run.ledger import FileRecord, Ledger, file_digest

    path = _files(tmp_path / "in", 1)[0]
    digest = file_digest(path)
    assert digest is not None
    address = new_ledger().address
    first, second = Ledger(address), Ledger(address)
    try:
        runs = [first.begin_run("configuration"), second.begin_run("configuration")]
        # Both look before either records: neither finds the file.
        assert first.known(digest[1], "configuration") is second.known(digest[1], "configuration") is None

        def record(book: Ledger, run: int, seen: int = 0) -> bool:
            report = FileReport(str(path), "mcf", 3)
            return book.record(run, "configuration", FileRecord(str(path), *digest, {}, report), seen=seen)

        assert record(first, runs[0])
        assert not record(second, runs[1])
        held = first.known(digest[1], "configuration")
        assert held is not None
        assert held.run == runs[0]
        # --force: one that looked after the first record records it again; one that looked before does not.
        assert record(second, runs[1], seen=held.file)
        assert not record(first, runs[0], seen=held.file)
        # The same run records a file of the same bytes twice (two paths of one batch).
        assert record(second, runs[1], seen=held.file)
    finally:
        first.close()
        second.close()


def test_a_terminal_shows_a_bar_over_the_whole_batch(tmp_path: Path) -> None:
    from rich.console import Console

    from mcfcheck.cli import _progress_bars

    files = _files(tmp_path, 3)
    written = io.StringIO()
    terminal = Console(file=written, force_terminal=True, width=150)
    with _progress_bars(terminal, enabled=True, batch=files) as progress:
        for path in files:
            update = progress(path)
            assert update is not None
            update(path.stat().st_size, 5)
    shown = written.getvalue()
    assert "batch: 3/3 files" in shown
    assert "5 installations" in shown
    # The batch's bar counts the installations of every file so far.
    assert "15 installations" in shown
    assert files[2].name in shown


def _installations_recorded(ledger: LedgerUnderTest) -> list[tuple[object, ...]]:
    return ledger.rows(
        "SELECT f.path, i.position, i.reference, i.valid FROM installations AS i JOIN files AS f ON f.id = i.file "
        "ORDER BY f.path, i.position",
    )


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_each_installation_is_recorded_with_its_verdict_and_identifiers(
    tmp_path: Path, jobs: str, new_ledger: Callable[[], LedgerUnderTest]
) -> None:
    import re

    import mcfcheck

    files = _files(tmp_path / "in", 5)
    ledger = new_ledger()
    result = runner.invoke(app, ["batch", str(tmp_path / "in"), "--ledger", ledger.address, "-q", "-j", jobs])
    assert result.exit_code == 1, result.output
    expected = []
    for path in files:
        report = mcfcheck.validate(path)
        failing = {
            int(match[1])
            for finding in report.findings
            if finding.severity is mcfcheck.Severity.ERROR
            and (match := re.search(r"/Installation\[(\d+)\]", finding.location.xpath or ""))
        }
        references = re.findall(r"<InstallationReference>([^<]*)<", path.read_text(encoding="utf-8"))
        expected += [
            (str(path), position, reference, int(position not in failing))
            for position, reference in enumerate(references, start=1)
        ]
    assert _installations_recorded(ledger) == sorted(expected)
    per_file = ledger.rows("SELECT accepted, rejected, installations FROM files ORDER BY path")
    numbers = [[value for value in row if isinstance(value, int)] for row in per_file]
    assert [len(row) for row in numbers] == [3] * len(files)
    assert all(accepted + rejected == installations for accepted, rejected, installations in numbers)
    # Every identifier of each installation, by its fingerprint, against that installation; nothing else.
    held = {
        (kind, value, path, position)
        for path, position, data in ledger.rows(
            "SELECT f.path, i.position, i.identifiers FROM installations AS i JOIN files AS f ON f.id = i.file"
        )
        if isinstance(data, bytes)
        for kind, value in fingerprints_of(data)
    }
    wanted = set()
    for path in files:
        text = path.read_text(encoding="utf-8")
        for position, installation in enumerate(re.findall(r"<Installation>.*?</Installation>", text, re.DOTALL), 1):
            for kind, element in (
                ("device_id", "DeviceID"),
                ("mpan", "MPANCore"),
                ("mprn", "MPRN"),
                ("imsi", "IMSI"),
                ("iccid", "ICCID"),
                ("static_ip", "StaticIPAddress"),
            ):
                for value in re.findall(rf"<{element}>([^<]*)<", installation):
                    wanted.add((kind, fingerprint(kind, value), str(path), position))
    assert held == wanted
    assert len({value for _kind, value, _path, _position in held}) > 5 * len(files)


def test_the_history_of_an_installation_across_submissions(
    tmp_path: Path, new_ledger: Callable[[], LedgerUnderTest]
) -> None:
    (tmp_path / "in").mkdir()
    first = tmp_path / "in" / "first.xml"
    text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=4, planted_at={2: PlantedKind.MPAN_FORMAT}).iter_text(3))
    first.write_text(text, encoding="utf-8")
    book = new_ledger()
    ledger = book.address
    assert runner.invoke(app, ["batch", str(first), "--ledger", ledger, "-q"]).exit_code == 1
    # Resubmitted, corrected: the same installation accepted this time.
    second = tmp_path / "in" / "second.xml"
    corrected = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=4).iter_text(3))
    second.write_text(corrected.replace("<FileIdentifier>", "<FileIdentifier>R", 1), encoding="utf-8")
    assert runner.invoke(app, ["batch", str(second), "--ledger", ledger, "-q"]).exit_code == 0
    reference = book.rows("SELECT reference FROM installations WHERE position = 2 LIMIT 1")[0][0]
    assert isinstance(reference, str)
    shown = runner.invoke(app, ["ledger", "history", reference, "--ledger", ledger, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert (document["submissions"], document["rejected"]) == (2, 1)
    assert [(item["path"], item["position"], item["valid"]) for item in document["history"]] == [
        (str(first), 2, False),
        (str(second), 2, True),
    ]
    missing = runner.invoke(app, ["ledger", "history", "NO-SUCH-REFERENCE", "--ledger", ledger])
    assert missing.exit_code == 1
    assert "checked 0 times" in missing.stdout


def test_a_ledger_of_the_first_version_is_upgraded(new_ledger: Callable[[], LedgerUnderTest]) -> None:
    from mcfcheck.run import ledger as ledgers

    old = new_ledger()
    old.execute(*ledgers._MIGRATIONS[1], "INSERT INTO meta VALUES ('schema_version', '1')")
    result = runner.invoke(app, ["batch", str(SAMPLES / "cb-valid.xml"), "--ledger", old.address, "-q"])
    assert result.exit_code == 0, result.output
    assert old.rows("SELECT value FROM meta WHERE key = 'schema_version'") == [(str(ledgers.LEDGER_VERSION),)]
    assert old.rows("SELECT accepted, rejected FROM files") == [(4, 0)]
    assert len(old.rows("SELECT * FROM installations")) == 4


# -- Across files --------------------------------------------------------------------------

#: Each rule across files: the kind of identifier, the element that holds it in mcfcheck's dialect.
ACROSS = {
    "XFL010": ("device_id", "DeviceID"),
    "XFL012": ("mpan", "MPANCore"),
    "XFL013": ("mprn", "MPRN"),
    "XFL014": ("imsi", "IMSI"),
    "XFL015": ("static_ip", "StaticIPAddress"),
    "XFL016": ("iccid", "ICCID"),
}


def test_every_rule_across_files_is_covered_here() -> None:
    registry = load_registry()
    assert sorted(code for code, rule in registry.rules.items() if rule.across_files) == sorted(ACROSS)
    for code, (kind, _element) in ACROSS.items():
        assert registry.rules[code].kind == kind  # type: ignore[attr-defined]


def _suppliers(folder: Path) -> list[Path]:
    """Three suppliers' files (the CB cohort: every kind of identifier), 6 installations each."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(3):
        path = folder / f"supplier-{number}.xml"
        text = "".join(MCFGenerator(builtin_cohorts()["CB"], seed=20 + number).iter_text(6))
        path.write_text(text.replace("<SupplierPartyID>SUPP", f"<SupplierPartyID>S{number}P", 1), encoding="utf-8")
        paths.append(path)
    return paths


def _installation(text: str, position: int) -> tuple[int, int]:
    """Where the ``position``-th installation's text is (1-based)."""
    found = list(re.finditer(r"<Installation>.*?</Installation>", text, re.DOTALL))[position - 1]
    return found.start(), found.end()


def _plant(source: Path, target: Path, element: str, source_position: int, target_position: int) -> str | None:
    """Copy the first ``element`` of an installation of ``source`` into one of ``target``; the value
    (None, and nothing changed, where either installation has no such element: a gas-only one has no MPAN).
    """
    text, other = source.read_text(encoding="utf-8"), target.read_text(encoding="utf-8")
    start, end = _installation(text, source_position)
    match = re.search(rf"<{element}>([^<]*)</{element}>", text[start:end])
    start, end = _installation(other, target_position)
    if match is None or f"<{element}>" not in other[start:end]:
        return None
    value = match[1]
    inside = re.sub(rf"<{element}>[^<]*</{element}>", f"<{element}>{value}</{element}>", other[start:end], count=1)
    target.write_text(other[:start] + inside + other[end:], encoding="utf-8")
    return value


def _references(path: Path) -> list[str]:
    return re.findall(r"<InstallationReference>([^<]*)<", path.read_text(encoding="utf-8"))


# Each example makes a ledger of its own (new_ledger makes one at each call).
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    planted=st.lists(
        st.tuples(
            st.sampled_from(sorted(ACROSS)),
            st.tuples(st.integers(0, 2), st.integers(1, 6)),
            st.tuples(st.integers(0, 2), st.integers(1, 6)),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda item: (item[1], item[2]),
    ),
    earlier=st.booleans(),
)
# Every CB installation has Device IDs and an ICCID: these are always planted.
@example(planted=[("XFL010", (0, 1), (2, 3)), ("XFL016", (2, 2), (1, 5)), ("XFL014", (1, 6), (0, 4))], earlier=True)
@example(planted=[("XFL015", (0, 2), (1, 2)), ("XFL010", (1, 3), (2, 6))], earlier=False)
def test_identifiers_in_two_files_are_found_exactly(
    planted: list[tuple[str, tuple[int, int], tuple[int, int]]],
    earlier: bool,
    new_ledger: Callable[[], LedgerUnderTest],
) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        files = _suppliers(tmp / "in")
        expected = set()
        touched: set[tuple[int, int]] = set()
        for code, (source, source_position), (target, target_position) in planted:
            if source == target or (source, source_position) in touched or (target, target_position) in touched:
                continue
            _kind, element = ACROSS[code]
            value = _plant(files[source], files[target], element, source_position, target_position)
            if value is None:
                continue
            touched |= {(source, source_position), (target, target_position)}
            # Reported on the file checked later (by path order), naming the other.
            later, later_position, first, first_position = (
                (target, target_position, source, source_position)
                if target > source
                else (source, source_position, target, target_position)
            )
            expected.add(
                (
                    code,
                    str(files[later]),
                    _references(files[later])[later_position - 1],
                    str(files[first]),
                    _references(files[first])[first_position - 1],
                    value,
                )
            )
        book = new_ledger()
        ledger = book.address
        if earlier:
            # The first file in an earlier batch: the ledger tells the later ones of it.
            assert runner.invoke(app, ["batch", str(files[0]), "--ledger", ledger, "-q"]).exit_code == 0
        result = runner.invoke(app, ["batch", str(tmp / "in"), "--ledger", ledger, "--format", "json", "-j", "1"])
        assert result.exit_code == (1 if expected else 0), result.output
        document = json.loads(result.stdout)
        found = {
            (finding["code"], entry["path"], finding["location"]["installation"])
            for entry in document["files"]
            for finding in entry["findings"]
            if finding["code"].startswith("XFL")
        }
        assert found == {(code, path, reference) for code, path, reference, _other, _other_reference, _ in expected}
        messages = [
            finding["message"]
            for entry in document["files"]
            for finding in entry["findings"]
            if finding["code"].startswith("XFL")
        ]
        for code, _path, _reference, other, other_reference, value in expected:
            # The finding names the identifier, and where else it is.
            label = load_registry().rules[code].label  # type: ignore[attr-defined]
            said = f"{label} {value} of this installation is also in installation {other_reference} of {other}"
            assert said in messages, (said, messages)
        # The installations the findings concern are rejected in the ledger.
        rejected = {
            (str(row[0]), row[1])
            for row in book.rows(
                "SELECT f.path, i.reference FROM installations AS i JOIN files AS f ON f.id = i.file WHERE i.valid = 0"
            )
        }
        assert {(path, reference) for _code, path, reference, _o, _r, _v in expected} <= rejected


def test_the_same_installation_sent_again_is_no_finding_and_checks_follow_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first, second, third = _suppliers(tmp_path / "in")
    # The second supplier's file holds the first's third installation again, reference and all.
    text, other = first.read_text(encoding="utf-8"), second.read_text(encoding="utf-8")
    start, end = _installation(text, 3)
    target_start, target_end = _installation(other, 2)
    spliced = other[:target_start] + text[start:end] + other[target_end:]
    # The trailer's device count made the file's own (the installation brought its devices).
    devices = spliced.count("<DeviceID>")
    second.write_text(re.sub(r"<DeviceCount>\d+<", f"<DeviceCount>{devices}<", spliced), encoding="utf-8")
    assert runner.invoke(app, ["batch", str(first), str(second), "-q"]).exit_code == 0
    # Another installation with the first's MPAN: a finding, unless XFL012 is ignored or a warning.
    assert _plant(first, third, "MPANCore", 1, 4) is not None
    ignored = runner.invoke(app, ["batch", str(third), "-q", "--ignore", "XFL012", "--no-ledger"])
    assert ignored.exit_code == 0
    Path("mcfcheck.toml").write_text('[severity]\nXFL012 = "warning"\n', encoding="utf-8")
    warned = runner.invoke(app, ["batch", str(third), "--format", "json"])
    assert warned.exit_code == 0, warned.output
    codes = [f["code"] for entry in json.loads(warned.stdout)["files"] for f in entry["findings"]]
    assert codes == ["XFL012"]


def test_a_ledger_that_cannot_be_written_on_the_way_is_one_line_and_keeps_no_half_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    new_ledger: Callable[[], LedgerUnderTest],
) -> None:
    from mcfcheck.cli import main
    from mcfcheck.run import databases

    files = _files(tmp_path / "in", 3)

    def full(self: databases.Database, *_arguments: object) -> None:
        """Writes of many rows fail, as on a full disk."""
        raise self.errors[0]("database or disk is full")

    ledger = new_ledger()
    monkeypatch.setattr(databases.SQLiteDatabase, "insert", full)
    monkeypatch.setattr(databases.PostgreSQLDatabase, "insert", full)
    status = main(["batch", str(files[1]), str(files[2]), "--ledger", ledger.address, "-q", "-j", "1"])
    assert status == 2
    error = capsys.readouterr().err
    assert f"mcfcheck: error: {ledger.name}: the ledger cannot be written (database or disk is full)" in error
    assert "Traceback" not in error
    assert ledger.rows("SELECT COUNT(*) FROM files") == [(0,)]


def test_a_broken_compressed_file_is_reported_and_the_batch_goes_on_with_the_ledger(
    tmp_path: Path, new_ledger: Callable[[], LedgerUnderTest]
) -> None:
    import gzip

    damaged = bytearray(gzip.compress((SAMPLES / "foc-valid.xml").read_bytes()))
    damaged[40] ^= 0xFF
    damaged[41] ^= 0xFF
    broken = tmp_path / "broken.xml.gz"
    broken.write_bytes(bytes(damaged))
    book = new_ledger()
    ledger = book.address
    result = runner.invoke(
        app, ["batch", str(broken), str(SAMPLES / "cb-valid.xml"), "--ledger", ledger, "-q", "-j", "1"]
    )
    assert result.exit_code == 2, result.output
    recorded = {str(path): read for path, read in book.rows("SELECT path, error IS NULL FROM files")}
    assert recorded == {str(broken): 0, str(SAMPLES / "cb-valid.xml"): 1}


def test_with_fail_on_warning_a_file_of_warnings_is_recorded_as_failing(
    new_ledger: Callable[[], LedgerUnderTest],
) -> None:
    book = new_ledger()
    ledger = book.address
    sample = str(SAMPLES / "GEN003-mprn-check-digits-invalid.xml")
    command = ["batch", sample, "--ledger", ledger, "-q", "--fail-on", "warning"]
    assert runner.invoke(app, command).exit_code == 1
    assert book.rows("SELECT valid, rejected FROM files") == [(0, 1)]
    # Skipped the second time, with the same verdict.
    again = runner.invoke(app, command)
    assert again.exit_code == 1
    assert book.rows("SELECT COUNT(*) FROM files") == [(1,)]


def test_a_record_without_installations_leaves_the_file_s_identifiers_in_the_checks(
    tmp_path: Path, new_ledger: Callable[[], LedgerUnderTest]
) -> None:
    first, second, _third = _suppliers(tmp_path / "in")
    _plant(first, second, "ICCID", 2, 3)
    book = new_ledger()
    ledger = book.address
    assert runner.invoke(app, ["batch", str(first), "--ledger", ledger, "-q"]).exit_code == 0
    # The same file checked again without the rules: recorded, with no installations.
    assert runner.invoke(app, ["batch", str(first), "--ledger", ledger, "-q", "--no-rules"]).exit_code == 0
    result = runner.invoke(app, ["batch", str(second), "--ledger", ledger, "--format", "json"])
    assert result.exit_code == 1, result.output
    codes = [f["code"] for entry in json.loads(result.stdout)["files"] for f in entry["findings"]]
    assert codes == ["XFL016"]


def test_a_schema_that_cannot_be_loaded_is_no_file_of_the_ledger(
    tmp_path: Path, new_ledger: Callable[[], LedgerUnderTest]
) -> None:
    schema = tmp_path / "bogus.xsd"
    schema.write_text("<x", encoding="utf-8")
    book = new_ledger()
    ledger = book.address
    result = runner.invoke(
        app, ["batch", str(SAMPLES / "cb-valid.xml"), "--ledger", ledger, "-q", "--schema", str(schema)]
    )
    assert result.exit_code == 2
    assert book.rows("SELECT COUNT(*) FROM files") == [(0,)]
