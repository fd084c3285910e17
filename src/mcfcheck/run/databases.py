"""The databases a ledger is kept in: an SQLite file, or a PostgreSQL database that several machines share.

Each gives the ledger (:mod:`mcfcheck.run.ledger`) the same few operations, with its
statements written once, with ``?`` for each parameter: statements, a transaction that
may take a lock of its own, rows written in bulk, the tables there, and rows read a few
at a time through a connection of their own. Errors of either are turned into one line
(a PostgreSQL address is named without its password) by the ledger.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from mcfcheck.errors import McfcheckError

if TYPE_CHECKING:
    import psycopg

Row = tuple[Any, ...]

#: How to install what a PostgreSQL ledger needs.
POSTGRESQL_EXTRA: Final = "pip install 'mcfcheck[postgresql]'"
#: How many rows are read at a time from a connection of their own.
_READ_ROWS: Final = 10_000
#: How long a PostgreSQL server is waited for, in seconds, where the address does not say.
_CONNECT_SECONDS: Final = 10


class Database(ABC):
    """A connection to the database a ledger is kept in."""

    #: What the ledger is called in messages.
    name: str
    #: The words of the ledger's schema (its ``{placeholders}``) in this database's dialect.
    types: ClassVar[Mapping[str, str]]
    #: The errors this database raises.
    errors: tuple[type[Exception], ...]

    @abstractmethod
    def execute(self, statement: str, parameters: Sequence[object] = ()) -> list[Row]:
        """Run one statement; the rows it gives."""

    @abstractmethod
    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        """Write many rows into ``table`` at once."""

    @abstractmethod
    def tables(self) -> set[str]:
        """The names of the tables the ledger's database holds."""

    @abstractmethod
    def read(self, statement: str) -> Iterator[Row]:
        """The rows of a query, read a few at a time through a connection of their own (while this one writes)."""

    @abstractmethod
    def _begin(self, lock: int | None) -> None:
        """Start a transaction that writes; with ``lock``, held by no other transaction until it ends."""

    @contextmanager
    def transaction(self, lock: int | None = None) -> Iterator[None]:
        """One transaction, committed at the end of the block and rolled back if it raises."""
        self._begin(lock)
        try:
            yield
        except BaseException:
            with suppress(*self.errors):
                self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def ready(self) -> None:  # noqa: B027 - most databases need nothing once the ledger is known
        """Settings that apply once the database is known to hold a ledger this mcfcheck writes."""

    def say(self, error: BaseException) -> str:
        """An error of this database in one line."""
        return " ".join(str(error).split())

    @abstractmethod
    def close(self) -> None: ...


class SQLiteDatabase(Database):
    """An SQLite file (Python's own ``sqlite3``)."""

    types: ClassVar[Mapping[str, str]] = {
        "key": "INTEGER PRIMARY KEY",
        "big": "INTEGER",
        "bytes": "BLOB",
        "rowid": " WITHOUT ROWID",
    }
    errors = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        # Written by the batch's writer thread, one at a time (see LedgerSink).
        self._connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA foreign_keys = ON")

    def execute(self, statement: str, parameters: Sequence[object] = ()) -> list[Row]:
        return self._connection.execute(statement, parameters).fetchall()

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        marks = ", ".join("?" * len(columns))
        self._connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608 - the ledger's own names

    def tables(self) -> set[str]:
        return {row[0] for row in self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def read(self, statement: str) -> Iterator[Row]:
        reader = sqlite3.connect(self.path, timeout=30)
        try:
            yield from reader.execute(statement)
        finally:
            reader.close()

    def _begin(self, lock: int | None) -> None:
        # The whole file is the lock: one transaction that writes at a time.
        self.execute("BEGIN IMMEDIATE")

    def ready(self) -> None:
        # A write-ahead log: each file's transaction is one append, readers do not wait for a batch,
        # and a process killed at any moment leaves every committed file in the ledger.
        self.execute("PRAGMA journal_mode = WAL")
        self.execute("PRAGMA synchronous = NORMAL")

    def close(self) -> None:
        self._connection.close()


def postgresql_name(address: str) -> str:
    """A PostgreSQL address as messages name it: its user, hosts and database, never its password or options."""
    scheme, _, rest = address.partition("://")
    # Up to the last @: a password with an @ left as it is goes too. Its options (a password may be one) go.
    user, at, place = rest.rpartition("@")
    return f"{scheme}://{user.split(':', 1)[0]}{at}{place.split('?', 1)[0]}"


class PostgreSQLDatabase(Database):
    """A PostgreSQL database (psycopg 3), which batches on several machines may write at once.

    Each transaction that writes may take an advisory lock of its own (a number): two
    transactions with the same number are one after the other, whichever process runs them.
    """

    types: ClassVar[Mapping[str, str]] = {
        "key": "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        "big": "BIGINT",
        "bytes": "BYTEA",
        "rowid": "",
    }

    def __init__(self, address: str) -> None:
        self.name = postgresql_name(address)
        try:
            import psycopg
        except ImportError:
            raise McfcheckError(
                f"{self.name}: a PostgreSQL ledger needs psycopg, which is not installed ({POSTGRESQL_EXTRA})"
            ) from None
        self._psycopg = psycopg
        self.errors = (psycopg.Error,)
        self._address = address
        # Whatever could be a password, as given and decoded, is never said (libpq's messages should not say it).
        given = address.partition("://")[2].rpartition("@")[0].partition(":")[2]
        options = urllib.parse.parse_qs(address.partition("?")[2]).get("password", [])
        self._secrets = {given, urllib.parse.unquote(given), *options} - {""}
        try:
            settings = psycopg.conninfo.conninfo_to_dict(address)
        except psycopg.Error as error:
            raise McfcheckError(f"{self.name}: not a PostgreSQL address ({self.say(error)})") from None
        self._secrets.add(str(settings.get("password") or ""))
        self._secrets.discard("")
        self._connection = self._connect()
        # Statements run one at a time, each committed, but for the transactions begun here.
        self._connection.autocommit = True

    def _connect(self) -> psycopg.Connection[Row]:
        settings = self._psycopg.conninfo.conninfo_to_dict(self._address)
        try:
            return self._psycopg.connect(
                self._address,
                connect_timeout=settings.get("connect_timeout", _CONNECT_SECONDS),
                application_name=settings.get("application_name", "mcfcheck"),
            )
        except self._psycopg.Error as error:
            raise McfcheckError(f"{self.name}: the ledger cannot be reached ({self.say(error)})") from None

    def say(self, error: BaseException) -> str:
        line = super().say(error)
        for secret in sorted(self._secrets, key=len, reverse=True):
            line = line.replace(secret, "***")
        return line

    def execute(self, statement: str, parameters: Sequence[object] = ()) -> list[Row]:
        cursor = self._connection.execute(statement.replace("?", "%s"), parameters)
        return cursor.fetchall() if cursor.description is not None else []

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        # COPY: the rows streamed to the server in one statement.
        with (
            self._connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def tables(self) -> set[str]:
        return {
            row[0]
            for row in self.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            )
        }

    def read(self, statement: str) -> Iterator[Row]:
        reader = self._connect()
        try:
            # A cursor on the server: the rows come a few thousand at a time.
            with reader.cursor(name="mcfcheck_read") as cursor:
                cursor.itersize = _READ_ROWS
                cursor.execute(statement)
                yield from cursor
        finally:
            reader.close()

    def _begin(self, lock: int | None) -> None:
        self.execute("BEGIN")
        if lock is not None:
            self.execute("SELECT pg_advisory_xact_lock(?)", (lock,))

    def close(self) -> None:
        self._connection.close()


def database_of(address: str) -> Database:
    """The database a ``--ledger`` value names: ``postgresql://...`` (or ``postgres://``), else an SQLite file
    (``sqlite:///relative.sqlite``, ``sqlite:////absolute.sqlite`` or a plain path).
    """
    if is_postgresql(address):
        return PostgreSQLDatabase(address)
    return SQLiteDatabase(sqlite_path(address))


def is_postgresql(address: str) -> bool:
    """Whether a ``--ledger`` value names a PostgreSQL database."""
    return address.startswith(("postgresql://", "postgres://"))


def sqlite_path(address: str) -> Path:
    """The SQLite file a ``--ledger`` value names; any other scheme is refused in one line."""
    if address.startswith("sqlite:///"):
        return Path(address.removeprefix("sqlite:///"))
    if "://" in address:
        scheme = address.split("://", 1)[0]
        raise McfcheckError(
            f"--ledger {postgresql_name(address)}: {scheme} ledgers are not supported "
            "(give postgresql://USER@HOST/DATABASE, sqlite:///PATH or a file name)"
        )
    return Path(address)
