"""Converting files to tables (``mcfcheck convert``) on the streaming engine that validates them.

Each file is read as ``stats`` reads it (:mod:`mcfcheck.run.stats`: one streaming parse,
gzip, the guards against hostile input, large files in parts on every core, small files
several at once), with two collectors: the statistics (for the ``files`` table: each
file's header and totals) and the records (:class:`mcfcheck.rules.records.RecordsCollector`),
which write the rows of the ``installations`` and ``devices`` tables to a staging folder,
each part its own. The rows are then joined, in file order, into one file per table.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Final, Protocol

from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.records import (
    DEVICE_COLUMNS,
    INSTALLATION_COLUMNS,
    RECORDS_CODE,
    RecordsCollector,
    Row,
    row_writer,
)
from mcfcheck.rules.registry import RuleRegistry
from mcfcheck.rules.selection import Selection
from mcfcheck.rules.statistics import STATISTICS_CODE, FileStatistics
from mcfcheck.run.stats import FileCount, Reading, statistics_registry, statistics_settings

#: The ``files`` table's columns: each file's header, totals, and the error that stopped it.
FILE_COLUMNS: Final = (
    ("file", "str"),
    ("error", "str"),
    ("schema", "str"),
    ("file_identifier", "str"),
    ("creation_time", "str"),
    ("group_id", "str"),
    ("cohort", "str"),
    ("smso", "str"),
    ("supplier", "str"),
    ("installations", "int"),
    ("devices", "int"),
    ("declared_installations", "int"),
    ("declared_devices", "int"),
    ("installations_agree", "bool"),
    ("devices_agree", "bool"),
)
#: The tables, each with its columns, in the order they are described.
TABLES: Final = {"installations": INSTALLATION_COLUMNS, "devices": DEVICE_COLUMNS, "files": FILE_COLUMNS}


def convert_registry() -> RuleRegistry:
    """The collectors ``convert`` runs: the statistics and the records."""
    return statistics_registry(RecordsCollector)


def convert_settings(settings: RuleSettings, output_format: str, staging: Path) -> RuleSettings:
    """``settings`` made to run both collectors, the records writing ``output_format`` rows in ``staging``."""
    counting = statistics_settings(settings)
    return dataclasses.replace(
        counting,
        selection=Selection(select=(STATISTICS_CODE, RECORDS_CODE)),
        options={**counting.options, RECORDS_CODE: {"staging": str(staging), "format": output_format}},
    )


def _file_row(count: FileCount) -> Row:
    statistics = count.statistics
    if statistics is None:
        return (count.path, count.error, count.schema, *([None] * (len(FILE_COLUMNS) - 3)))
    header, totals = statistics.header, statistics.totals
    return (
        count.path,
        None,
        count.schema,
        header.get("file_identifier"),
        header.get("creation_time"),
        header.get("group_id"),
        statistics.cohort,
        header.get("smso"),
        header.get("supplier"),
        totals.installations,
        totals.devices,
        totals.declared_installations,
        totals.declared_devices,
        totals.installations_agree,
        totals.devices_agree,
    )


class _TextTable:
    """A table of the output in CSV (a header row) or JSON Lines, joined from the parts' files byte for byte."""

    def __init__(self, path: Path, output_format: str, columns: tuple[tuple[str, str], ...]) -> None:
        self._stream: BinaryIO = path.open("wb")
        if output_format == "csv":
            self._stream.write((",".join(name for name, _kind in columns) + "\r\n").encode())

    def add(self, part: str) -> None:
        """Add a part's rows, and remove its file."""
        with Path(part).open("rb") as rows:
            shutil.copyfileobj(rows, self._stream, 1 << 20)
        Path(part).unlink()

    def close(self) -> None:
        self._stream.close()


class _Table(Protocol):
    def add(self, part: str) -> None: ...
    def close(self) -> None: ...


def _table(path: Path, output_format: str, columns: tuple[tuple[str, str], ...]) -> _Table:
    if output_format == "parquet":
        from mcfcheck.rules.parquet import ParquetTable

        return ParquetTable(path, columns)
    return _TextTable(path, output_format, columns)


def convert_files(
    paths: Sequence[Path], settings: RuleSettings, output_format: str, folder: Path, reading: Reading
) -> Iterator[FileCount]:
    """Write the tables of ``paths`` into ``folder`` (which exists); each file's count as it is done.

    ``folder`` gets ``installations``, ``devices`` and ``files``, each with the format's
    extension (``.csv`` with a header row; ``.jsonl``: one JSON object per row, by column
    name; ``.parquet``: typed columns, row groups as the parts wrote them). A file that
    cannot be read has its row in ``files``, with its error, and none in the other
    tables. ``settings`` gives the bindings and cohorts, ``reading`` how the files are read
    (:class:`mcfcheck.run.stats.Reading`).
    """
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    tables: dict[str, _Table] = {}
    try:
        for name, columns in TABLES.items():
            tables[name] = _table(folder / f"{name}.{output_format}", output_format, columns)
        files = row_writer(staging, "files-", output_format, FILE_COLUMNS)
        for count in reading.files(paths, convert_settings(settings, output_format, staging), convert_registry()):
            rows = count.outcomes.get(RECORDS_CODE)
            if isinstance(rows, list) and isinstance(count.statistics, FileStatistics):
                for installations, devices in rows:
                    tables["installations"].add(installations)
                    tables["devices"].add(devices)
            files.write(_file_row(count))
            yield count
        tables["files"].add(files.close())
    finally:
        for table in tables.values():
            table.close()
        shutil.rmtree(staging, ignore_errors=True)
