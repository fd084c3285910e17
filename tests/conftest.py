"""Shared fixtures: the repository's folders and small generated MCFs."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from mcfcheck.cache import CACHE_FOLDER_VARIABLE
from mcfcheck.generate import MCFGenerator
from mcfcheck.rules.cohorts import builtin_cohorts

# No deadline for any example: a deadline is a timing assertion, and this machine's speed
# drifts by tens of percent within minutes (speed is measured in bench/ instead).
settings.register_profile("mcfcheck", deadline=None)
settings.load_profile("mcfcheck")

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SCHEMAS = ROOT / "schemas"


@pytest.fixture(scope="session", autouse=True)
def _cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The start-up cache (mcfcheck.cache) of the tests' runs, in the session's folder rather than the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_FOLDER_VARIABLE, str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture
def write_mcf(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a generated MCF (or given text) into the test's folder and return its path."""

    def write(text: str | None = None, name: str = "file.xml", cohort: str = "CB", installations: int = 3) -> Path:
        path = tmp_path / name
        if text is None:
            text = "".join(MCFGenerator(builtin_cohorts()[cohort], seed=5).iter_text(installations))
        path.write_text(text, encoding="utf-8")
        return path

    return write


class Listener:
    """A TCP listener on loopback that counts the connections made to it."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    listening = Listener()
    yield listening
    listening.close()


# The child reports its own high-water mark (VmHWM of its memory after exec): the
# ru_maxrss that wait4 gives a forked child counts the forking parent's memory too, and
# pytest's grows over a run.
_MEASURE = """
import sys
from mcfcheck.cli import main
status = main(["validate", "-q", "--jobs", sys.argv[2], sys.argv[1]])
with open("/proc/self/status") as proc:
    peak_kb = next(int(line.split()[1]) for line in proc if line.startswith("VmHWM:"))
print(peak_kb)
"""


def child_peak_rss_mb(path: Path, jobs: int = 1) -> float:
    """Validate ``path`` in a child process of its own and return that process's peak RSS.

    With ``jobs`` above 1, that is the peak of the process that merges the parts' findings.
    """
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), str(jobs)], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip().splitlines()[-1]) / 1024


@pytest.fixture(scope="session")
def postgresql_server():  # type: ignore[no-untyped-def]
    """A PostgreSQL server of the session's own (tests/postgresql.py), stopped at the end."""
    from tests.postgresql import REQUIRED, Server, ServerUnavailableError

    try:
        server = Server()
    except ServerUnavailableError as error:
        if REQUIRED:
            pytest.fail(f"the PostgreSQL server the tests need cannot start: {error}")
        pytest.skip(f"no PostgreSQL server (make test requires one): {error}")
    yield server
    server.stop()
