"""Findings held back until they can be put in file order, in bounded memory.

A file's schema findings about its header, trailer and structure are only known when
the file ends, after the findings of its installations. To hand them all over in file
order, the installations' findings wait in a spool: in memory up to a limit, then in a
temporary file, read back in the order they were written. A spool written by a worker
process is handed to the parent as :class:`SpooledFindings` and read there.
"""

from __future__ import annotations

import heapq
import os
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final

from mcfcheck.findings import Finding

#: How many findings a spool keeps in memory before it writes them out, together.
SPOOL_BATCH: Final = 4096

#: A finding with the place in the file that orders it (see :class:`FindingSpool`).
Anchored = tuple[int, Finding]


@dataclass(frozen=True)
class SpooledFindings:
    """A spool's findings, to read in another process: those written to ``path``, then ``last``."""

    path: Path | None
    last: list[Anchored] = field(default_factory=list)

    def __iter__(self) -> Iterator[Anchored]:
        if self.path is not None:
            with self.path.open("rb") as stream:
                yield from _batches(stream)
        yield from self.last


def _batches(stream: BinaryIO) -> Iterator[Anchored]:
    while True:
        try:
            batch: list[Anchored] = pickle.load(stream)  # noqa: S301 - a file this process or its worker wrote
        except EOFError:
            return
        yield from batch


class FindingSpool:
    """Findings, each with its anchor (the line that orders it), kept in the order they come.

    The last :data:`SPOOL_BATCH` are in memory; earlier ones are in a temporary file:
    anonymous (gone when the spool is closed, or the process ends), or named in
    ``folder`` when the findings are to be read by another process (:meth:`export`).
    """

    def __init__(self, folder: Path | None = None, batch: int | None = None) -> None:
        self.folder = folder
        self.batch = batch or SPOOL_BATCH
        self._pending: list[Anchored] = []
        self._file: BinaryIO | None = None
        self._path: Path | None = None

    def add(self, anchor: int, finding: Finding) -> None:
        """Add the next finding."""
        self._pending.append((anchor, finding))
        if len(self._pending) >= self.batch:
            self._write()

    def _write(self) -> None:
        if self._file is None:
            if self.folder is None:
                self._file = tempfile.TemporaryFile(prefix="mcfcheck-findings-")  # noqa: SIM115 - closed by close()
            else:
                descriptor, name = tempfile.mkstemp(prefix="findings-", dir=self.folder)
                self._file = os.fdopen(descriptor, "w+b")
                self._path = Path(name)
        pickle.dump(self._pending, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._pending = []

    def __iter__(self) -> Iterator[Anchored]:
        """The findings so far, in the order they were added (read once the adding is done)."""
        if self._file is not None:
            self._file.flush()
            self._file.seek(0)
            yield from _batches(self._file)
        yield from self._pending

    def export(self) -> SpooledFindings:
        """The findings, for another process to read; the file stays until its folder is removed."""
        if self._file is None:
            return SpooledFindings(None, self._pending)
        self._file.close()
        self._file = None
        return SpooledFindings(self._path, self._pending)

    def close(self) -> None:
        """Release the temporary file (an exported one stays in its folder)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._pending = []


def in_file_order(skeleton: list[Anchored], installations: Iterable[Anchored]) -> Iterator[Finding]:
    """The skeleton's findings put among the installations', by the line that places each.

    The installations' come in file order already; at the same line, the skeleton's
    (about the element itself) come first.
    """
    skeleton.sort(key=_anchor)
    for _anchor_line, finding in heapq.merge(skeleton, installations, key=_anchor):
        yield finding


def _anchor(item: Anchored) -> int:
    return item[0]
