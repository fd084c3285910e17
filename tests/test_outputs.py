"""Outputs never harm anything, and every failure to write one is one line (exit status 2).

Where the behaviour depends on the process (standard output, COLUMNS, resource
limits), the command line runs as a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

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
