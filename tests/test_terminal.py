"""One terminal display: progress bars and the report share the screen and lose nothing.

Run in a real terminal (tmux, its pane read back with capture-pane), narrow and wide,
several files at once: every finding and every verdict ends up on a line of its own, and
no bar is left behind.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcfcheck.generate import MCFGenerator
from mcfcheck.rules.cohorts import builtin_cohorts

from .conftest import ROOT, SAMPLES

TMUX = shutil.which("tmux")


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file large enough for its bars to be drawn a while (validated in parts)."""
    path = tmp_path_factory.mktemp("terminal") / "large.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=5).write(path, 40_000)
    return path


def _in_terminal(tmp_path: Path, arguments: list[str], width: int, term: str = "xterm-256color") -> list[str]:
    """The lines a terminal ``width`` columns wide shows after ``mcfcheck ARGUMENTS`` ran in it, to the end."""
    assert TMUX is not None, "tmux is needed for the terminal tests (make test installs it)"
    socket = tmp_path / "tmux.socket"
    done = tmp_path / "done"
    command = " ".join(
        [
            f"cd {shlex.quote(str(ROOT))} &&",
            shlex.join([sys.executable, "-m", "mcfcheck", *arguments]) + ";",
            f"echo $? > {shlex.quote(str(done))}; sleep 60",
        ]
    )
    environment = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR")}
    environment["TERM"] = term
    tmux = [TMUX, "-S", str(socket)]
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", str(width), "-y", "40", "-s", "run", command],
        check=True,
        env=environment,
    )
    try:
        subprocess.run([*tmux, "set-option", "-g", "history-limit", "10000"], check=True)
        deadline = time.monotonic() + 120
        while not done.exists() or not done.read_text().strip():
            assert time.monotonic() < deadline, "mcfcheck did not finish in the terminal"
            time.sleep(0.2)
        shown = subprocess.run(
            [*tmux, "capture-pane", "-p", "-J", "-S", "-", "-t", "run"], check=True, capture_output=True, text=True
        )
        return [line.rstrip() for line in shown.stdout.splitlines()]
    finally:
        subprocess.run([*tmux, "kill-server"], check=False, capture_output=True)


@pytest.mark.slow
@pytest.mark.parametrize("width", [60, 160])
def test_findings_and_verdicts_of_several_files_each_keep_their_line(tmp_path: Path, large: Path, width: int) -> None:
    invalid = SAMPLES / "status-value-invalid.xml"
    files = [large, invalid, SAMPLES / "cb-valid.xml", large]
    lines = _in_terminal(tmp_path, ["validate", "--jobs", "2", *map(str, files)], width)
    verdicts = [line for line in lines if line.endswith("schema mcf-1.0.xsd)")]
    assert verdicts == [
        f"{large}: valid (40,000 installations, schema mcf-1.0.xsd)",
        f"{invalid}: invalid, 1 error (4 installations, schema mcf-1.0.xsd)",
        f"{SAMPLES / 'cb-valid.xml'}: valid (4 installations, schema mcf-1.0.xsd)",
        f"{large}: valid (40,000 installations, schema mcf-1.0.xsd)",
    ]
    assert [line for line in lines if ": XSD001 " in line] == [
        line for line in lines if line.startswith(f"{invalid}:93:7: XSD001 Element 'Status'")
    ]
    assert len([line for line in lines if ": XSD001 " in line]) == 1
    # No bar is left on the screen, and nothing was printed onto one.
    assert not [line for line in lines if "B/s" in line or "0.0/" in line]
    assert not [line for line in lines if "large.xml" in line and not line.startswith(str(large))]


@pytest.mark.slow
def test_a_dumb_terminal_shows_the_report_alone(tmp_path: Path, large: Path) -> None:
    lines = _in_terminal(tmp_path, ["validate", str(large), str(SAMPLES / "cb-valid.xml")], 80, term="dumb")
    assert f"{large}: valid (40,000 installations, schema mcf-1.0.xsd)" in lines
    assert f"{SAMPLES / 'cb-valid.xml'}: valid (4 installations, schema mcf-1.0.xsd)" in lines
    assert not [line for line in lines if "\x1b" in line or "━" in line]
