"""Writing output files atomically: a temporary file beside the target, renamed when complete."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A binary file that replaces ``path`` only if the block completes.

    Readers never see a half-written file, and a failed or interrupted write leaves
    whatever was at ``path`` before untouched.
    """
    folder = path.parent if str(path.parent) else Path()
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    # mkstemp creates the file readable by its owner only; give it the permissions
    # any newly created file would have under the current umask.
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(descriptor, 0o666 & ~umask)
    try:
        with os.fdopen(descriptor, "wb") as output:
            yield output
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class AtomicTextFile:
    """A text file written over a run and put in place only by :meth:`commit`.

    For reports whose writing spans a run's lifecycle: a failed or interrupted run
    leaves whatever was at ``path`` before untouched.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        folder = path.parent if str(path.parent) else Path()
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(descriptor, 0o666 & ~umask)
        self._temporary = Path(temporary)
        self.stream = os.fdopen(descriptor, "w", encoding="utf-8")

    def commit(self) -> None:
        """Close the file and rename it onto ``path``."""
        self.stream.close()
        self._temporary.replace(self.path)

    def abort(self) -> None:
        """Close and remove the unfinished file."""
        self.stream.close()
        self._temporary.unlink(missing_ok=True)
