"""A file's installations and devices as rows: the collector behind ``mcfcheck convert``.

The collector is run by the rule engine like a rule (:class:`RecordsCollector`), beside
the statistics collector: it visits each installation through the dialect's binding and
writes one row per installation and one per device (the Communications Hub included) to
files of its own in a staging folder, in the output's format (CSV or JSON Lines). A part
of a file writes its own; the merge keeps them in file order, and the caller joins them
(:mod:`mcfcheck.run.convert`). No row depends on the part it was read in: an
installation is placed by its line, which a part keeps.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, ClassVar, Final, Protocol

from mcfcheck.rules.base import Problem, RuleContext, StagedRule, Visit
from mcfcheck.rules.options import Option
from mcfcheck.rules.views import DeviceView, InstallationView

#: The collector's code in the private registry ``mcfcheck convert`` runs (never a rule's).
RECORDS_CODE: Final = "REC000"
#: The formats the collector writes rows in (Parquet needs pyarrow).
FORMATS: Final = ("csv", "jsonl", "parquet")

#: The installations table's columns, in order, each with its type (str, int, bool, date).
INSTALLATION_COLUMNS: Final = (
    ("file", "str"),
    ("line", "int"),
    ("reference", "str"),
    ("status", "str"),
    ("mpan", "str"),
    ("mprn", "str"),
    ("hub_device_id", "str"),
    ("hub_manufacturer", "str"),
    ("hub_model", "str"),
    ("hub_firmware_version", "str"),
    ("iccid", "str"),
    ("imsi", "str"),
    ("static_ip", "str"),
    ("apn", "str"),
    ("devices", "int"),
    ("prepayment", "bool"),
    ("utrn_cutover_hours", "int"),
    ("dormant_notice", "bool"),
    ("firmware_notice_date", "date"),
    ("planned_upgrade_date", "date"),
    ("migration_notice_date", "date"),
    ("planned_migration_date", "date"),
    ("shorter_notice_agreed", "bool"),
)
#: The devices table's columns: the hub is position 0, the devices 1, 2, … in file order.
DEVICE_COLUMNS: Final = (
    ("file", "str"),
    ("installation_reference", "str"),
    ("installation_line", "int"),
    ("position", "int"),
    ("device_type", "str"),
    ("device_id", "str"),
    ("manufacturer", "str"),
    ("model", "str"),
    ("firmware_version", "str"),
    ("payment_mode", "str"),
    ("auxiliary_load", "bool"),
)

Value = str | int | bool | dt.date | None
Row = tuple[Value, ...]


def _installation_row(file: str, installation: InstallationView) -> Row:
    hub = installation.hub
    return (
        file,
        installation.element.sourceline or 0,
        installation.reference,
        installation.status,
        installation.mpan,
        installation.mprn,
        hub.device_id if hub is not None else None,
        hub.manufacturer if hub is not None else None,
        hub.model if hub is not None else None,
        hub.firmware_version if hub is not None else None,
        installation.iccid,
        installation.imsi,
        installation.static_ip,
        installation.apn,
        len(installation.devices) + (hub is not None),
        installation.prepayment_block,
        installation.utrn_cutover_hours,
        installation.dormant_notice,
        installation.firmware_notice_date,
        installation.planned_upgrade_date,
        installation.migration_notice_date,
        installation.planned_migration_date,
        installation.shorter_notice_agreed,
    )


def _device_row(file: str, installation: InstallationView, position: int, device: DeviceView) -> Row:
    return (
        file,
        installation.reference,
        installation.element.sourceline or 0,
        position,
        device.device_type,
        device.device_id,
        device.manufacturer,
        device.model,
        device.firmware_version,
        device.payment_mode,
        device.auxiliary_load,
    )


def _csv_text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_value(value: Value) -> str | int | bool | None:
    return value.isoformat() if isinstance(value, dt.date) else value


class RowWriter:
    """Rows written to a file of their own in the staging folder: CSV (no header), or JSON Lines (an
    object per row, by column name).
    """

    __slots__ = ("_buffer", "_csv", "_format", "_names", "_stream", "path")

    def __init__(self, folder: Path, prefix: str, output_format: str, columns: tuple[tuple[str, str], ...]) -> None:
        descriptor, name = tempfile.mkstemp(prefix=prefix, suffix=f".{output_format}", dir=folder)
        self.path = name
        self._stream: BinaryIO = os.fdopen(descriptor, "wb", buffering=1 << 20)
        self._format = output_format
        self._names = [name for name, _kind in columns]
        self._buffer = io.StringIO(newline="")
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")

    def write(self, row: Row) -> None:
        if self._format == "csv":
            self._csv.writerow([_csv_text(value) for value in row])
        else:
            record = {name: _json_value(value) for name, value in zip(self._names, row, strict=True)}
            self._buffer.write(json.dumps(record, ensure_ascii=False) + "\n")
        if self._buffer.tell() >= 1 << 16:
            self._flush()

    def _flush(self) -> None:
        self._stream.write(self._buffer.getvalue().encode("utf-8"))
        self._buffer.seek(0)
        self._buffer.truncate()

    def close(self) -> str:
        """The file, complete."""
        if not self._stream.closed:
            self._flush()
            self._stream.close()
        return self.path


class Rows(Protocol):
    """Where rows are written: a file of their own, complete once closed."""

    path: str

    def write(self, row: Row) -> None: ...
    def close(self) -> str: ...


def row_writer(folder: Path, prefix: str, output_format: str, columns: tuple[tuple[str, str], ...]) -> Rows:
    """A writer of rows in ``output_format`` to a new file in ``folder``."""
    if output_format == "parquet":
        from mcfcheck.rules.parquet import ParquetRows

        return ParquetRows(folder, prefix, columns)
    return RowWriter(folder, prefix, output_format, columns)


class RecordsCollector(StagedRule):
    """Writes a file's installations and devices as rows, for ``mcfcheck convert``; reports nothing."""

    code = RECORDS_CODE
    name = "records"
    visits = frozenset({Visit.INSTALLATION})
    reads = frozenset[str]()
    defaults: ClassVar[Mapping[str, object]] = {
        "staging": "",
        "format": Option("csv", choices=FORMATS),
    }
    own_check = "Not a check: it writes what the file holds as rows."

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        super().__init__(context, options)
        staging, output_format = self.options["staging"], self.options["format"]
        assert isinstance(staging, str)
        assert staging, "the records collector needs a staging folder"
        assert isinstance(output_format, str)
        folder = Path(staging)
        self.installations = row_writer(folder, "installations-", output_format, INSTALLATION_COLUMNS)
        self.devices = row_writer(folder, "devices-", output_format, DEVICE_COLUMNS)

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        file = self.context.file
        self.installations.write(_installation_row(file, installation))
        hub = installation.hub
        if hub is not None:
            self.devices.write(_device_row(file, installation, 0, hub))
        for position, device in enumerate(installation.devices, 1):
            self.devices.write(_device_row(file, installation, position, device))
        return iter(())

    def staged(self) -> object:
        """The files of rows: (installations, devices)."""
        return (self.installations.close(), self.devices.close())

    def outcome(self) -> object:
        """The files of rows, in file order: this process's own after the parts'."""
        return self.staged_files()

    def close(self) -> None:
        self.installations.close()
        self.devices.close()
