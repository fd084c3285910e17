"""Outputs never harm anything, and every failure to write one is one line (exit status 2).

Where the behaviour depends on the process (standard output, COLUMNS, resource
limits), the command line runs as a subprocess.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from typer.testing import CliRunner

import mcfcheck.cli
import mcfcheck.run.batch
from mcfcheck.cli import app, main
from mcfcheck.generate import MCFGenerator
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.run.batch import ExitStatus

from .conftest import SAMPLES

runner = CliRunner()
VALID = SAMPLES / "cb-valid.xml"
INVALID = SAMPLES / "mpan-format-invalid.xml"
FORMATS = ("json", "sarif", "junit", "html", "console")
NOT_A_PIPE_ERROR = ("Traceback", "Exception ignored", "internal error")


def _mcfcheck(
    *args: str | Path,
    stdout: int | None = subprocess.PIPE,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    limit: Callable[[], None] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """The command line run as a new process, its output as bytes."""
    return subprocess.run(
        [sys.executable, "-m", "mcfcheck", *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        preexec_fn=limit,
        timeout=timeout,
        check=False,
    )


def _one_error_line(text: str) -> str:
    """The only line of ``text``, which must be an error."""
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("error: "), text
    return lines[0]


def _no_parts(folder: Path) -> None:
    assert [path.name for path in folder.rglob("*.part")] == []


# Reports over inputs


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("spelling", ["same name", "another spelling", "symbolic link", "hard link"])
def test_a_report_over_an_input_is_refused_before_anything_is_read(tmp_path: Path, name: str, spelling: str) -> None:
    """``mcfcheck validate in.xml -o json=in.xml`` replaced the input with the report."""
    source = tmp_path / "in.xml"
    shutil.copyfile(VALID, source)
    output = {
        "same name": source,
        "another spelling": tmp_path / "." / "in.xml",
        "symbolic link": tmp_path / "link.xml",
        "hard link": tmp_path / "hard.xml",
    }[spelling]
    if spelling == "symbolic link":
        output.symlink_to(source)
    elif spelling == "hard link":
        output.hardlink_to(source)
    result = runner.invoke(app, ["validate", "--jobs", "1", "-o", f"{name}={output}", str(source)])
    assert result.exit_code == 2
    assert _one_error_line(result.output) == f"error: {output}: is an input of this run; a report must not replace it"
    assert source.read_bytes() == VALID.read_bytes()
    _no_parts(tmp_path)


def test_a_report_over_the_schema_is_refused(tmp_path: Path) -> None:
    schema = tmp_path / "mcf.xsd"
    shutil.copyfile(SAMPLES.parent / "schemas" / "mcf-1.0.xsd", schema)
    before = schema.read_bytes()
    result = runner.invoke(app, ["validate", "--schema", str(schema), "-o", f"sarif={schema}", str(VALID)])
    assert result.exit_code == 2
    assert "is an input of this run" in _one_error_line(result.output)
    assert schema.read_bytes() == before


def test_two_reports_to_one_file_are_refused(tmp_path: Path) -> None:
    report = tmp_path / "report"
    result = runner.invoke(app, ["validate", "-o", f"json={report}", "-o", f"sarif={report}", str(VALID)])
    assert result.exit_code == 2
    assert _one_error_line(result.output) == f"error: {report}: given for two reports; give each its own file"
    assert not report.exists()


# Devices, FIFOs, standard output and links


@pytest.mark.parametrize("name", FORMATS)
def test_a_fifo_is_written_in_place_never_renamed_over(tmp_path: Path, name: str) -> None:
    """``-o sarif=/dev/null``, run as root, replaced /dev/null with a regular file; a FIFO stands in for it."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = runner.invoke(app, ["validate", "--jobs", "1", "-q", "-o", f"{name}={fifo}", str(INVALID)])
    reader.join(timeout=60)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert result.exit_code == 1, result.output
    assert b"MPANCore" in received[0]
    _no_parts(tmp_path)


@pytest.mark.parametrize("name", ["json", "sarif"])
def test_standard_output_by_any_name_is_never_replaced(tmp_path: Path, name: str) -> None:
    """``-o json=/dev/stdout`` replaced the /dev/stdout link; a link of the test's own to /proc/self/fd/1 stands in.

    Standard output carries the --format report: a second report there would be mixed
    into it, so it is refused, and the link is left as it was.
    """
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    for output in (link, "-"):
        done = _mcfcheck("validate", "--jobs", "1", "-q", "-o", f"{name}={output}", INVALID, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stdout == b""
        assert _one_error_line(done.stderr.decode()).endswith(
            f"is standard output, which carries the --format report already; for the {name} report there, "
            f"use --format {name}"
        )
    assert link.is_symlink()
    assert str(link.readlink()) == "/proc/self/fd/1"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["stdout"]


def test_generate_writes_standard_output_in_place(tmp_path: Path) -> None:
    """``generate -o /dev/stdout`` replaced the /dev/stdout link."""
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    for output in (link, "-"):
        done = _mcfcheck("generate", "-q", "-n", "3", "-o", output, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        assert done.stdout.rstrip().endswith(b"</MigrationFile>")
    assert link.is_symlink()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["stdout"]


def test_generate_in_place_needs_a_planted_listing_of_its_own(tmp_path: Path) -> None:
    """The listing's default name comes from the output's: ``/dev/stdout.planted.csv`` would be made in /dev."""
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    done = _mcfcheck("generate", "-n", "3", "--error-rate", "0.5", "-o", link, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == b""
    assert _one_error_line(done.stderr.decode()) == (
        f"error: {link}: is written in place; give --planted PATH for the list of planted errors"
    )
    output = tmp_path / "out.xml"
    result = runner.invoke(
        app, ["generate", "-n", "3", "--error-rate", "0.5", "-o", str(output), "--planted", str(output)]
    )
    assert result.exit_code == 2
    assert (
        _one_error_line(result.output)
        == f"error: --planted {output}: is the file generated; give the list its own file"
    )
    assert not output.exists()


@pytest.mark.parametrize("name", FORMATS)
def test_a_link_to_a_report_is_kept_and_the_file_it_names_replaced(tmp_path: Path, name: str) -> None:
    (tmp_path / "reports").mkdir()
    report = tmp_path / "reports" / "report"
    report.write_text("previous")
    link = tmp_path / "link"
    link.symlink_to(Path("reports", "report"))
    result = runner.invoke(app, ["validate", "--jobs", "1", "-o", f"{name}={link}", str(INVALID)])
    assert result.exit_code == 1, result.output
    assert link.is_symlink()
    assert "MPANCore" in report.read_text()
    _no_parts(tmp_path)


# Failures to write: one line, exit status 2, nothing left behind


def test_a_report_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "-o", f"json={tmp_path}", str(VALID)])
    assert result.exit_code == 2
    assert _one_error_line(result.output) == f"error: {tmp_path}: is a folder; give a file name"


def _file_size_limit(size: int) -> Callable[[], None]:
    """Files of at most ``size`` bytes, as on a disk that is full: a write beyond fails with EFBIG."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


@pytest.mark.parametrize("name", FORMATS)
def test_a_full_disk_leaves_the_previous_reports_and_no_part(tmp_path: Path, name: str) -> None:
    """A full disk gave a traceback and exit status 1, with a ``.part`` left behind."""
    report, other = tmp_path / "report", tmp_path / "other.json"
    report.write_text("previous")
    other.write_text("previous")
    # 400 findings: a limit large enough for the schema's temporary copies is too small for any report.
    source = tmp_path / "errors.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=1, error_rate=1.0).write(source, 400)
    done = _mcfcheck(
        "validate", "--jobs", "1", "-q", "-o", f"json={other}", "-o", f"{name}={report}", source,
        limit=_file_size_limit(30_000),
    )  # fmt: skip
    assert done.returncode == 2
    assert _one_error_line(done.stderr.decode()).endswith(": cannot be written (File too large)")
    assert report.read_text() == other.read_text() == "previous"
    _no_parts(tmp_path)


@pytest.mark.parametrize("arguments", [["--format", "console"], ["--format", "json"], ["--format", "html"]])
def test_standard_output_on_a_full_device_is_one_line(arguments: list[str]) -> None:
    """Standard output on /dev/full gave a traceback."""
    with Path("/dev/full").open("wb") as full:
        done = _mcfcheck("validate", "--jobs", "1", *arguments, INVALID, stdout=full.fileno())
    assert done.returncode == 2
    lines = done.stderr.decode().splitlines()
    assert lines[-1] == "error: standard output: cannot be written (No space left on device)"
    assert not any(problem in line for line in lines for problem in NOT_A_PIPE_ERROR)


def test_generate_on_a_full_device_is_one_line(tmp_path: Path) -> None:
    with Path("/dev/full").open("wb") as device:
        to_stdout = _mcfcheck("generate", "-q", "-n", "3", "-o", "-", stdout=device.fileno(), cwd=tmp_path)
    assert to_stdout.returncode == 2
    assert _one_error_line(to_stdout.stderr.decode()) == (
        "error: standard output: cannot be written (No space left on device)"
    )
    # A link to the device, so that a run that renames over it harms nothing outside the test.
    full, listing = tmp_path / "full", tmp_path / "planted.csv"
    full.symlink_to("/dev/full")
    named = _mcfcheck("generate", "-q", "-n", "3", "-o", full, "--error-rate", "0.5", "--planted", listing)
    assert named.returncode == 2
    assert _one_error_line(named.stderr.decode()) == f"error: {full}: cannot be written (No space left on device)"
    assert full.is_symlink()
    assert not listing.exists()


def test_too_many_open_files_is_one_line(tmp_path: Path) -> None:
    """``ulimit -n`` too low gave a traceback; here the reports' temporary files are what cannot be opened."""
    reports = [f"{name}={tmp_path / f'report.{name}'}" for name in ("json", "sarif", "junit", "html", "console")]
    options = [part for report in reports for part in ("-o", report)]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (5, 5))

    done = _mcfcheck("validate", "--jobs", "1", "--no-rules", *options, VALID, limit=limit)
    assert done.returncode == 2, done.stderr
    assert _one_error_line(done.stderr.decode()).endswith(": cannot be written (Too many open files)")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "problem", [errno.EROFS, errno.EACCES, errno.ENOSPC, errno.EMFILE], ids=errno.errorcode.__getitem__
)
def test_a_folder_that_takes_no_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problem: int) -> None:
    """A read-only folder gave a traceback (chmod does not stop root, so the error is made where the file is)."""
    report = tmp_path / "report.json"
    report.write_text("previous")

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(problem, os.strerror(problem))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    result = runner.invoke(app, ["validate", "--jobs", "1", "-o", f"json={report}", str(VALID)])
    assert result.exit_code == 2
    assert _one_error_line(result.output) == f"error: {report}: cannot be written ({os.strerror(problem)})"
    assert report.read_text() == "previous"


def test_a_folder_removed_during_the_run_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    validate_files = mcfcheck.run.batch.validate_files

    def remove_the_folder_first(*args: Any, **kwargs: Any) -> ExitStatus:
        shutil.rmtree(folder)
        return validate_files(*args, **kwargs)

    monkeypatch.setattr(mcfcheck.cli, "validate_files", remove_the_folder_first)
    result = runner.invoke(app, ["validate", "--jobs", "1", "-q", "-o", f"sarif={folder / 'r.sarif'}", str(VALID)])
    assert result.exit_code == 2
    assert (
        result.output.splitlines()[-1] == f"error: {folder / 'r.sarif'}: cannot be written (No such file or directory)"
    )
    assert list(tmp_path.iterdir()) == []


# File names that are not UTF-8


def test_file_names_that_are_not_utf8_are_written_in_every_format(tmp_path: Path) -> None:
    """A file name with a byte that is not UTF-8 gave a UnicodeEncodeError with junit, html and console."""
    name = b"caf\xe9.xml"
    (tmp_path / os.fsdecode(name)).write_bytes(INVALID.read_bytes())
    reports = [f"{form}=report.{form}" for form in FORMATS]
    options = [part for report in reports for part in ("-o", report)]
    # A UTF-8 locale whose standard output is strict, as on most desktops.
    strict = {"PYTHONIOENCODING": "utf-8"}
    done = _mcfcheck("validate", "--jobs", "1", *options, os.fsdecode(name), cwd=tmp_path, env=strict)
    assert done.returncode == 1, done.stderr
    # The console has the name's bytes as they are, for grep and for editors.
    assert b"caf\xe9.xml:95:9: XSD001" in done.stdout
    assert (tmp_path / "report.console").read_bytes().count(b"caf\xe9.xml") == 2
    # The documents are UTF-8, the byte written as U+FFFD; SARIF's URI has it exactly.
    report = json.loads((tmp_path / "report.json").read_bytes().decode("utf-8"))
    assert report["files"][0]["path"] == "caf\ufffd.xml"
    log = json.loads((tmp_path / "report.sarif").read_bytes().decode("utf-8"))
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "caf%E9.xml"
    suites = etree.parse(str(tmp_path / "report.junit")).getroot()
    assert suites[0].get("name") == "caf\ufffd.xml"
    assert "caf\ufffd.xml" in (tmp_path / "report.html").read_bytes().decode("utf-8")
    for form in ("json", "junit"):
        on_stdout = _mcfcheck("validate", "--jobs", "1", "--format", form, os.fsdecode(name), cwd=tmp_path, env=strict)
        assert on_stdout.returncode == 1, on_stdout.stderr
        assert "caf\ufffd.xml" in on_stdout.stdout.decode("utf-8")


# COLUMNS


@pytest.mark.parametrize("columns", ["0", "-3", "wide", "", "1", "1000000000"])
@pytest.mark.parametrize(
    ("arguments", "status", "expected"),
    [
        (["validate", "--jobs", "1", str(INVALID)], 1, ["XSD001", "invalid, 1 error", "findings by check"]),
        (["rules"], 0, ["mcfcheck checks"]),
        (["rules", "GEN001"], 0, ["GEN001"]),
        (["--help"], 0, ["Usage:", "validate"]),
        (["validate", "--help"], 0, ["Usage:", "Exit status"]),
    ],
)
def test_any_columns_leaves_the_output_whole(
    columns: str, arguments: list[str], status: int, expected: list[str]
) -> None:
    """``COLUMNS=0`` printed nothing at all; a width of a billion hung the help."""
    done = _mcfcheck(*arguments, env={"COLUMNS": columns, "TERMINAL_WIDTH": columns}, timeout=60)
    assert done.returncode == status, done.stderr
    text = done.stdout.decode()
    assert all(part in text for part in expected), text
    assert len(text) < 200_000


def test_any_columns_leaves_errors_whole(tmp_path: Path) -> None:
    done = _mcfcheck("validate", tmp_path / "missing.xml", env={"COLUMNS": "0"})
    assert done.returncode == 2
    assert "missing.xml" in done.stderr.decode()


# A reader that went away


def _into_a_closed_pipe(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """The command line run with standard output a pipe whose reader has gone (``| head``)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return _mcfcheck(*args, stdout=write, cwd=cwd)
    finally:
        os.close(write)


@pytest.mark.parametrize(
    ("arguments", "status"),
    [
        (["validate", "--jobs", "1", str(VALID)], 0),
        (["validate", "--jobs", "1", str(INVALID)], 1),
        (["validate", "--jobs", "1", "--format", "json", str(VALID)], 0),
        (["validate", "--jobs", "1", "--format", "sarif", str(INVALID)], 1),
        (["rules"], 0),
        (["generate", "-n", "2000", "-o", "-"], 0),
    ],
)
def test_a_reader_that_went_away_leaves_the_status_to_the_findings(
    tmp_path: Path, arguments: list[str], status: int
) -> None:
    """``mcfcheck validate valid.xml | head -1`` exited with status 1, whatever the findings."""
    done = _into_a_closed_pipe(*arguments, cwd=tmp_path)
    assert done.returncode == status
    stderr = done.stderr.decode()
    assert not any(problem in stderr for problem in NOT_A_PIPE_ERROR), stderr
    assert "error" not in stderr.replace("1 error", "")
    assert list(tmp_path.iterdir()) == []


def test_the_console_writes_to_any_text_stream_it_is_given() -> None:
    """Standard output replaced by a stream of text only (``contextlib.redirect_stdout``) still gets the text."""
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        assert main(["rules", "GEN001"]) == 0
    assert captured.getvalue().startswith("GEN001 ")


@pytest.mark.parametrize("arguments", [["rules"], ["rules", "GEN001"], ["--help"]])
def test_standard_output_on_a_full_device_is_status_2_for_every_command(arguments: list[str]) -> None:
    """``mcfcheck rules > /dev/full`` was an internal error (status 3): only validate caught the failure."""
    with Path("/dev/full").open("wb") as full:
        done = _mcfcheck(*arguments, stdout=full.fileno())
    assert done.returncode == 2, done.stderr
    assert done.stderr.decode().startswith("mcfcheck: error: ")
    assert len(done.stderr.splitlines()) == 1


def test_both_streams_on_a_full_device_end_with_status_2_and_no_traceback() -> None:
    """With standard error on /dev/full too, the error line itself failed, with a traceback and status 3."""
    with Path("/dev/full").open("wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "mcfcheck", "validate", "--jobs", "1", str(VALID)],
            stdout=full.fileno(),
            stderr=full.fileno(),
            check=False,
            timeout=120,
        )
    assert done.returncode == 2
