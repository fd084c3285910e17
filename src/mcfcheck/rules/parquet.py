"""Rows as Parquet, through pyarrow (an optional dependency: ``pip install 'mcfcheck[parquet]'``).

Columns are typed (text, 64-bit integers, booleans, dates). Rows are gathered a row group
at a time and written as the parse goes, so that memory holds one row group per table,
never a file's rows; each part of a file writes its own Parquet file, and the tables are
joined from them (:class:`ParquetTable`) without decoding or encoding a value again: the
parts' row groups (their column chunks, as bytes) are copied one after another, and their
descriptions in the parts' footers, moved to where the chunks now start, make the
table's footer (:func:`_moved_row_groups`).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import struct
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO, Final

from mcfcheck.rules.records import Row

#: Rows per row group: each table holds at most this many rows in memory, as Python values.
ROW_GROUP_ROWS: Final = 16_384
#: The columns whose values are mostly each row's own (identifiers, lines): written plain, as
#: a dictionary of them would only be given up for each page. The others (statuses, models,
#: dates, ...) are dictionary-encoded. On 100 MB, this writes the installations' row groups in
#: 0.023 s rather than 0.035 s, the devices' in 0.044 s rather than 0.058 s, and the tables are
#: 14% smaller (6.9 MB rather than 8.1 MB).
PLAIN_COLUMNS: Final = frozenset(
    {"line", "reference", "mpan", "mprn", "hub_device_id", "iccid", "imsi", "static_ip"}
    | {"installation_reference", "installation_line", "device_id"}
)
#: What ``pip install`` gives pyarrow with.
INSTALL_HINT: Final = "pip install 'mcfcheck[parquet]'"


def parquet_available() -> bool:
    """Whether pyarrow can be imported."""
    return importlib.util.find_spec("pyarrow") is not None


def warm_up(without_numpy: bool = False) -> None:
    """Import pyarrow's Parquet writer and make its first array, without importing pandas (and numpy).

    Done once in the process that forks the workers, so that each worker does not.
    pyarrow's first array looks for pandas (to know pandas' arrays when given one),
    importing it where it is installed: about 0.17 s, for nothing, as rows are Python
    values. pandas is kept from being imported then; pyarrow, which asks once, then
    treats values as if pandas were not installed, but still imports it when asked for
    pandas objects (``to_pandas``).

    ``without_numpy``, where numpy is not imported yet, keeps pyarrow from importing numpy
    too (it takes numpy's arrays where numpy is installed, and works without it): a
    quarter of pyarrow's import time, at every start of ``convert``, for nothing. It
    leaves pyarrow unable to take or give numpy's arrays in this process, so only the
    command line asks for it, in a process of its own.
    """
    finder = _NotImported(("pandas", "numpy") if without_numpy and "numpy" not in sys.modules else ("pandas",))
    sys.meta_path.insert(0, finder)
    try:
        import pyarrow as pa
        import pyarrow.parquet  # imported here, once, for the workers

        pa.array([""], type=pa.string())
    finally:
        sys.meta_path.remove(finder)


class _NotImported(importlib.abc.MetaPathFinder):
    """An import finder before the others by which the packages named cannot be imported (where they are
    not already).
    """

    def __init__(self, packages: tuple[str, ...]) -> None:
        self.packages = packages

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in self.packages:
            raise ModuleNotFoundError(f"no {fullname} while pyarrow starts", name=fullname)
        return None


def _schema(columns: Sequence[tuple[str, str]]) -> Any:  # noqa: ANN401 (pyarrow has no types)
    import pyarrow as pa

    types = {"str": pa.string(), "int": pa.int64(), "bool": pa.bool_(), "date": pa.date32()}
    return pa.schema([(name, types[kind]) for name, kind in columns])


class ParquetRows:
    """Rows written to a Parquet file of their own in the staging folder, a row group at a time."""

    def __init__(self, folder: Path, prefix: str, columns: Sequence[tuple[str, str]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        descriptor, name = tempfile.mkstemp(prefix=prefix, suffix=".parquet", dir=folder)
        os.close(descriptor)
        self.path = name
        self._schema = _schema(columns)
        # No page index nor bloom filter: their offsets, inside them, would not be moved by the join.
        dictionary = [name for name, _kind in columns if name not in PLAIN_COLUMNS]
        self._writer: Any = pq.ParquetWriter(name, self._schema, write_page_index=False, use_dictionary=dictionary)
        self._rows_type = pa.struct(list(self._schema))
        #: The rows of the row group being gathered, turned into columns (in C) when it is written.
        self._rows: list[Row] = []

    def write(self, row: Row) -> None:
        rows = self._rows
        rows.append(row)
        if len(rows) >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if not self._rows:
            return
        # The rows as one array of structs, split into the table's columns: pyarrow takes each
        # row's tuple as it is, in half the time of columns gathered from the rows first.
        rows = pa.array(self._rows, type=self._rows_type)
        self._rows.clear()
        self._writer.write_table(pa.Table.from_struct_array(rows))

    def close(self) -> str:
        """The file, complete."""
        if self._writer is not None:
            self._flush()
            self._writer.close()
            self._writer = None
        return self.path


_MAGIC: Final = b"PAR1"
# Thrift's compact protocol (which Parquet's footer is written in): the types of fields.
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)
# The structs of the footer whose fields are moved (by struct, the field ids that are file
# offsets), and the structs inside them (by struct and field id) that hold such fields.
_FILE_METADATA, _ROW_GROUP = "FileMetaData", "RowGroup"
_COLUMN_CHUNK, _COLUMN_METADATA = "ColumnChunk", "ColumnMetaData"
_OFFSETS: Final = {
    _ROW_GROUP: frozenset({5}),  # file_offset
    _COLUMN_CHUNK: frozenset({2}),  # file_offset (0 where unused: left so)
    # data_page_offset, index_page_offset, dictionary_page_offset, bloom_filter_offset
    _COLUMN_METADATA: frozenset({9, 10, 11, 14}),
}
_INSIDE: Final = {
    (_FILE_METADATA, 4): _ROW_GROUP,  # row_groups
    (_ROW_GROUP, 1): _COLUMN_CHUNK,  # columns
    (_COLUMN_CHUNK, 3): _COLUMN_METADATA,  # meta_data
}
#: ColumnChunk's offset_index_offset, column_index_offset: a page index, whose pages' offsets are not moved.
_PAGE_INDEX: Final = frozenset({4, 6})


class _Footer:
    """A Parquet file's footer (Thrift's compact protocol) read field by field and written again, its
    offsets moved by ``shift``.
    """

    def __init__(self, data: bytes, shift: int) -> None:
        self.data, self.at, self.shift = data, 0, shift
        self.out = bytearray()
        #: The number a row group read next takes (its ordinal, where the footer gives it).
        self.ordinal = 0

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.data[self.at]
            self.at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    def write_varint(self, value: int) -> None:
        while value > 0x7F:
            self.out.append((value & 0x7F) | 0x80)
            value >>= 7
        self.out.append(value)

    def _copy_from(self, start: int) -> None:
        self.out += self.data[start : self.at]

    def value(self, kind: int, struct_name: str | None) -> None:
        """Copy one value of type ``kind`` (a struct's fields moved where ``struct_name`` says)."""
        start = self.at
        if kind in (_TRUE, _FALSE):
            return
        if kind == _BYTE:
            self.at += 1
        elif kind in (_I16, _I32, _I64):
            self.varint()
        elif kind == _DOUBLE:
            self.at += 8
        elif kind == _BINARY:
            length = self.varint()
            self.at += length
        elif kind in (_LIST, _SET):
            header = self.data[self.at]
            self.at += 1
            size = header >> 4
            if size == 15:
                size = self.varint()
            self._copy_from(start)
            for _element in range(size):
                if header & 0x0F in (_TRUE, _FALSE):
                    self.at += 1
                    self._copy_from(self.at - 1)
                else:
                    self.value(header & 0x0F, struct_name)
            return
        elif kind == _MAP:
            size = self.varint()
            if size:
                types = self.data[self.at]
                self.at += 1
                self._copy_from(start)
                for _entry in range(size):
                    self.value(types >> 4, None)
                    self.value(types & 0x0F, None)
                return
        elif kind == _STRUCT:
            self.struct(struct_name)
            return
        else:
            raise ValueError(f"not a Parquet footer: a value of type {kind}")
        self._copy_from(start)

    def struct(self, name: str | None) -> None:
        """Copy one struct, its file offsets moved where ``name`` (its kind) has them."""
        field = 0
        while True:
            start = self.at
            header = self.data[self.at]
            self.at += 1
            if header == 0:
                self._copy_from(start)
                return
            kind = header & 0x0F
            if header >> 4:
                field += header >> 4
            else:
                field = _unzigzag(self.varint())
            self._copy_from(start)
            if name == _COLUMN_CHUNK and field in _PAGE_INDEX:
                raise ValueError("a page index: its pages' offsets would not be moved")
            if name is not None and kind == _I64 and field in _OFFSETS.get(name, ()):
                offset = _unzigzag(self.varint())
                if offset or name != _COLUMN_CHUNK:
                    offset += self.shift
                self.write_varint(_zigzag(offset))
            elif name == _ROW_GROUP and field == 7 and kind == _I16:  # ordinal
                self.varint()
                self.write_varint(_zigzag(self.ordinal))
            else:
                self.value(kind, _INSIDE.get((name, field)) if name is not None else None)


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _unzigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def _footer_fields(footer: bytes) -> Iterator[tuple[int, int, _Footer]]:
    """FileMetaData's fields, each as (field id, type, the reader at its value, its ``out`` holding the
    field's header): the caller reads (or copies) the value.
    """
    reader = _Footer(footer, 0)
    field = 0
    while True:
        header = footer[reader.at]
        reader.at += 1
        if header == 0:
            return
        if not header >> 4:
            raise ValueError("not a Parquet footer as pyarrow writes it")
        field += header >> 4
        reader.out = bytearray([header])
        yield field, header & 0x0F, reader


def _list_size(reader: _Footer) -> int:
    header = reader.data[reader.at]
    reader.at += 1
    return reader.varint() if header >> 4 == 15 else header >> 4


def _moved_row_groups(footer: bytes, shift: int, first: int) -> tuple[list[bytes], int]:
    """A part's row groups (each moved ``shift`` bytes further, numbered from ``first``) and its rows."""
    groups: list[bytes] = []
    rows = 0
    for field, kind, reader in _footer_fields(footer):
        if field == 3 and kind == _I64:  # num_rows
            rows = _unzigzag(reader.varint())
        elif field == 4 and kind == _LIST:  # row_groups
            reader.shift = shift
            for index in range(_list_size(reader)):
                reader.out, reader.ordinal = bytearray(), first + index
                reader.struct(_ROW_GROUP)
                groups.append(bytes(reader.out))
        else:
            reader.value(kind, None)
    return groups, rows


def _table_footer(first: bytes, groups: list[bytes], rows: int) -> bytes:
    """The table's footer: the first part's, with every part's row groups and the rows of all, and its end."""
    out = bytearray()
    for field, kind, reader in _footer_fields(first):
        if field == 3 and kind == _I64:
            reader.varint()
            reader.write_varint(_zigzag(rows))
        elif field == 4 and kind == _LIST:
            for _group in range(_list_size(reader)):
                reader.struct(None)
            reader.out = bytearray(reader.out[:1])
            if len(groups) < 15:
                reader.out.append(len(groups) << 4 | _STRUCT)
            else:
                reader.out.append(0xF0 | _STRUCT)
                reader.write_varint(len(groups))
            for group in groups:
                reader.out += group
        else:
            reader.value(kind, None)
        out += reader.out
    out.append(0)
    return bytes(out) + struct.pack("<I", len(out)) + _MAGIC


class ParquetTable:
    """A table of the output, joined from the parts' Parquet files: their column chunks copied as they are,
    their footers' row groups moved to where the chunks now are.
    """

    def __init__(self, path: Path, columns: Sequence[tuple[str, str]]) -> None:
        self.path = path
        self._columns = columns
        self._stream: BinaryIO | None = path.open("wb")
        self._stream.write(_MAGIC)
        self._at = len(_MAGIC)
        #: The first part's footer: the table's, but for its row groups and rows.
        self._footer: bytes | None = None
        self._groups: list[bytes] = []
        self._rows = 0

    def add(self, part: str) -> None:
        """Add a part's rows, and remove its file."""
        assert self._stream is not None
        with Path(part).open("rb") as rows:
            size = rows.seek(0, os.SEEK_END)
            rows.seek(size - 8)
            (length,) = struct.unpack("<I", rows.read(4))
            if rows.read(4) != _MAGIC or size < length + 12:
                raise ValueError(f"{part}: not a Parquet file")
            rows.seek(size - 8 - length)
            footer = rows.read(length)
            end = size - 8 - length
            groups, count = _moved_row_groups(footer, self._at - len(_MAGIC), len(self._groups))
            if self._footer is None:
                self._footer = footer
            rows.seek(len(_MAGIC))
            _copy(rows, self._stream, end - len(_MAGIC))
        self._at += end - len(_MAGIC)
        self._groups.extend(groups)
        self._rows += count
        Path(part).unlink()

    def close(self) -> None:
        if self._stream is None:
            return
        stream, self._stream = self._stream, None
        with stream:
            if self._footer is None:
                stream.close()
                import pyarrow.parquet as pq

                pq.ParquetWriter(str(self.path), _schema(self._columns)).close()
                return
            stream.write(_table_footer(self._footer, self._groups, self._rows))


def _copy(source: BinaryIO, target: BinaryIO, length: int) -> None:
    while length > 0:
        chunk = source.read(min(length, 1 << 20))
        if not chunk:
            raise ValueError("a Parquet file cut short")
        target.write(chunk)
        length -= len(chunk)
