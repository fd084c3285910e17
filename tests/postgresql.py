"""A PostgreSQL server of the tests' own: a cluster made with initdb in a temporary folder, started with
pg_ctl on a free loopback port (its socket in that folder), stopped and removed at the end.

The server's binaries are Debian's (``make postgresql`` installs them where they are missing).
initdb and the server refuse to run as root: as root they run as the ``postgres`` user
(``nobody`` where there is none), the folder theirs. Under ``make test``
(``MCFCHECK_POSTGRESQL=required``) a server that cannot start fails the tests that need it;
elsewhere they are skipped, saying why.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

#: The server's superuser and its password (over TCP, the server asks for it).
USER = "mcfcheck"
PASSWORD = "ledger-secret-42"  # noqa: S105 - the throwaway server's, for the tests
#: Set by ``make test``: the tests that need the server fail where it cannot start.
REQUIRED = os.environ.get("MCFCHECK_POSTGRESQL") == "required"


class ServerUnavailableError(Exception):
    """The server cannot be started on this machine."""


def binaries() -> Path:
    """The folder of PostgreSQL's server programs: where initdb is on PATH, else Debian's newest."""
    found = shutil.which("initdb")
    if found is not None:
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    if not versions:
        raise ServerUnavailableError("PostgreSQL's server programs (initdb, pg_ctl) are not installed: make postgresql")
    return versions[-1].parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A running throwaway server; :meth:`database` makes an empty database on it."""

    def __init__(self) -> None:
        programs = binaries()
        # Not under pytest's own folders, which only root may enter.
        self.folder = Path(tempfile.mkdtemp(prefix="mcfcheck-pg-", dir="/tmp"))
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                owner = pwd.getpwnam("nobody")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", owner.pw_name, "--"]
        password = self.folder / "password"
        password.write_text(PASSWORD + "\n", encoding="utf-8")
        if self._as:
            os.chown(password, owner.pw_uid, owner.pw_gid)
        self._ctl = str(programs / "pg_ctl")
        self._data = self.folder / "data"
        self._numbers = itertools.count(1)
        self._run(
            str(programs / "initdb"),
            "-D",
            str(self._data),
            "-U",
            USER,
            f"--pwfile={password}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        self.port = _free_port()
        # Durability is not what the tests look at: no fsync, for speed.
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            self._ctl, "-D", str(self._data), "-l", str(self.folder / "log"), "-w", "-t", "60", "-o", options, "start"
        )

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self._as, *command], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.folder / "log"
            said = (done.stderr or done.stdout).strip() + (f"\n{log.read_text()}" if log.is_file() else "")
            shutil.rmtree(self.folder, ignore_errors=True)
            raise ServerUnavailableError(f"{Path(command[0]).name} failed: {said}")

    def address(self, database: str = "postgres", password: str = PASSWORD, port: int | None = None) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{port or self.port}/{database}"

    def database(self) -> str:
        """A new empty database's address."""
        import psycopg

        name = f"ledger_{next(self._numbers)}"
        with psycopg.connect(self.address(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.address(name)

    def stop(self) -> None:
        subprocess.run([*self._as, self._ctl, "-D", str(self._data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)
