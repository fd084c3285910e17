"""Rows as Parquet, through pyarrow (an optional dependency: ``pip install 'mcfcheck[parquet]'``).

Columns are typed (text, 64-bit integers, booleans, dates). Rows are gathered a row group
at a time and written as the parse goes, so that memory holds one row group per table,
never a file's rows; each part of a file writes its own Parquet file, and the tables are
joined row group by row group (:func:`join`).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from mcfcheck.rules.records import Row

#: Rows per row group: each table holds at most this many rows in memory, as Python values.
ROW_GROUP_ROWS: Final = 16_384
#: What ``pip install`` gives pyarrow with.
INSTALL_HINT: Final = "pip install 'mcfcheck[parquet]'"


def parquet_available() -> bool:
    """Whether pyarrow can be imported."""
    return importlib.util.find_spec("pyarrow") is not None


def warm_up() -> None:
    """Import pyarrow's Parquet writer and make its first array (which imports pandas where installed).

    Done once in the process that forks the workers, so that each worker does not.
    """
    import pyarrow as pa
    import pyarrow.parquet

    pa.array([""], type=pa.string())


def _schema(columns: Sequence[tuple[str, str]]) -> Any:  # noqa: ANN401 (pyarrow has no types)
    import pyarrow as pa

    types = {"str": pa.string(), "int": pa.int64(), "bool": pa.bool_(), "date": pa.date32()}
    return pa.schema([(name, types[kind]) for name, kind in columns])


class ParquetRows:
    """Rows written to a Parquet file of their own in the staging folder, a row group at a time."""

    def __init__(self, folder: Path, prefix: str, columns: Sequence[tuple[str, str]]) -> None:
        import pyarrow.parquet as pq

        descriptor, name = tempfile.mkstemp(prefix=prefix, suffix=".parquet", dir=folder)
        os.close(descriptor)
        self.path = name
        self._schema = _schema(columns)
        self._writer: Any = pq.ParquetWriter(name, self._schema)
        self._columns: list[list[object]] = [[] for _column in columns]

    def write(self, row: Row) -> None:
        for values, value in zip(self._columns, row, strict=True):
            values.append(value)
        if len(self._columns[0]) >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if not self._columns[0]:
            return
        arrays = [pa.array(values, type=field.type) for values, field in zip(self._columns, self._schema, strict=True)]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        for values in self._columns:
            values.clear()

    def close(self) -> str:
        """The file, complete."""
        if self._writer is not None:
            self._flush()
            self._writer.close()
            self._writer = None
        return self.path


class ParquetTable:
    """A table of the output, joined from the parts' Parquet files row group by row group."""

    def __init__(self, path: Path, columns: Sequence[tuple[str, str]]) -> None:
        import pyarrow.parquet as pq

        self._writer: Any = pq.ParquetWriter(str(path), _schema(columns))

    def add(self, part: str) -> None:
        """Add a part's rows, and remove its file."""
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(part)
        for index in range(rows.num_row_groups):
            self._writer.write_table(rows.read_row_group(index))
        rows.close()
        Path(part).unlink()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
