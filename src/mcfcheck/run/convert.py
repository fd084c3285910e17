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

from mcfcheck.findings import Finding
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
#: The ``findings`` table's columns (``--with-findings``): every finding of the same pass, in file order.
FINDING_COLUMNS: Final = (
    ("file", "str"),
    ("line", "int"),
    ("column", "int"),
    ("code", "str"),
    ("rule", "str"),
    ("severity", "str"),
    ("message", "str"),
    ("xpath", "str"),
    ("installation", "str"),
    ("status", "str"),
)
#: The tables, each with its columns, in the order they are described.
TABLES: Final = {"installations": INSTALLATION_COLUMNS, "devices": DEVICE_COLUMNS, "files": FILE_COLUMNS}


def convert_registry(rules: RuleRegistry | None = None) -> RuleRegistry:
    """The collectors ``convert`` runs: the statistics and the records; with ``rules``' rules too."""
    registry = statistics_registry(RecordsCollector)
    if rules is not None:
        registry.rules.update(rules.rules)
        registry.plugins.update(rules.plugins)
    return registry


def convert_settings(
    settings: RuleSettings, output_format: str, staging: Path, with_findings: bool = False
) -> RuleSettings:
    """``settings`` made to run both collectors, the records writing ``output_format`` rows in ``staging``.

    ``with_findings`` keeps the settings' selection of rules and the schema's check, and
    adds the collectors to them.
    """
    counting = statistics_settings(settings)
    selection = Selection(select=(STATISTICS_CODE, RECORDS_CODE))
    if with_findings:
        chosen = settings.selection
        selection = dataclasses.replace(chosen, extend_select=(*chosen.extend_select, *selection.select))
    return dataclasses.replace(
        counting,
        selection=selection,
        options={
            **(settings.options if with_findings else {}),
            # The files table takes the header and the totals: no distribution is counted.
            STATISTICS_CODE: {**counting.options[STATISTICS_CODE], "distributions": False},
            RECORDS_CODE: {"staging": str(staging), "format": output_format},
        },
        check_schema=with_findings,
    )


def _finding_row(finding: Finding) -> Row:
    where = finding.location
    return (
        where.file,
        where.line,
        where.column,
        finding.code,
        finding.rule,
        finding.severity.value,
        finding.message,
        where.xpath,
        where.installation,
        where.status,
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
    paths: Sequence[Path],
    settings: RuleSettings,
    output_format: str,
    folder: Path,
    reading: Reading,
    rules: RuleRegistry | None = None,
) -> Iterator[FileCount]:
    """Write the tables of ``paths`` into ``folder`` (which exists); each file's count as it is done.

    ``folder`` gets ``installations``, ``devices`` and ``files``, each with the format's
    extension (``.csv`` with a header row; ``.jsonl``: one JSON object per row, by column
    name; ``.parquet``: typed columns, row groups as the parts wrote them). A file that
    cannot be read has its row in ``files``, with its error, and none in the other
    tables. ``settings`` gives the bindings and cohorts, ``reading`` how the files are read
    (:class:`mcfcheck.run.stats.Reading`). With ``rules``, the files are validated in the
    same pass, against the schema and with ``settings``' selection of ``rules``, and
    ``folder`` gets a fourth table, ``findings``: every finding, in file order.
    """
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    tables: dict[str, _Table] = {}
    try:
        for name, columns in TABLES.items():
            tables[name] = _table(folder / f"{name}.{output_format}", output_format, columns)
        files = row_writer(staging, "files-", output_format, FILE_COLUMNS)
        if rules is not None:
            tables["findings"] = _table(folder / f"findings.{output_format}", output_format, FINDING_COLUMNS)
            findings = row_writer(staging, "findings-", output_format, FINDING_COLUMNS)
            reading = dataclasses.replace(reading, on_finding=lambda finding: findings.write(_finding_row(finding)))
        how = convert_settings(settings, output_format, staging, with_findings=rules is not None)
        for count in reading.files(paths, how, convert_registry(rules)):
            rows = count.outcomes.get(RECORDS_CODE)
            if isinstance(rows, list) and isinstance(count.statistics, FileStatistics):
                for installations, devices in rows:
                    tables["installations"].add(installations)
                    tables["devices"].add(devices)
            files.write(_file_row(count))
            yield count
        tables["files"].add(files.close())
        if rules is not None:
            tables["findings"].add(findings.close())
    finally:
        for table in tables.values():
            table.close()
        shutil.rmtree(staging, ignore_errors=True)
