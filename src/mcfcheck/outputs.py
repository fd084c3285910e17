"""Writing outputs so that they never harm anything, and fail in one line.

Where an output goes is decided before anything is written (:func:`output_target`):

- a regular file, or a name not yet taken, is written to a temporary file beside it
  and renamed over it when complete, so that readers never see half a file and a
  failed run leaves whatever was there untouched; for a symbolic link, the file it
  points to is replaced and the link is kept;
- ``-`` is standard output, and so is a name for it such as ``/dev/stdout``;
- a device, a FIFO, a socket or another file reached through ``/proc`` (``/dev/fd/3``)
  is written in place: renaming over it would replace it with a regular file;
- a folder, a name in a folder that does not exist, and an input of the run are
  refused.

Every operating-system error while writing (a full disk, a read-only folder, too many
open files, the folder removed) becomes one :class:`OutputError` naming the output,
with no temporary file left behind. A reader of standard output that went away
(``| head``) is not an error: what follows is discarded, or, where the output asks
for it, :class:`ReaderGoneError` stops the writing.
"""

from __future__ import annotations

import codecs
import errno
import io
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final, TextIO

if TYPE_CHECKING:
    from typing_extensions import Buffer

#: The name that means standard output, and how messages name it.
STANDARD_OUTPUT: Final = "-"
STANDARD_OUTPUT_NAME: Final = "standard output"
STANDARD_ERROR_NAME: Final = "standard error"

#: An encoding error handler for documents that must be UTF-8 (JSON, SARIF, JUnit, HTML):
#: the bytes of a file name that are not UTF-8, which Python holds as surrogate escapes,
#: are written as U+FFFD REPLACEMENT CHARACTER.
REPLACE_UNDECODABLE: Final = "mcfcheck-replace-undecodable"
#: An encoding error handler for text meant for people and for grep (the console): the
#: bytes of a file name are written as they are; a character the encoding lacks is
#: written as a backslash escape.
KEEP_BYTES: Final = "mcfcheck-keep-bytes"

#: The size of the buffer between a report and the operating system.
_BUFFER_BYTES: Final = 1 << 16


def _replace_undecodable(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    # The UTF-8 encoder takes a replacement in bytes, not a non-ASCII string.
    return "\ufffd".encode() * (error.end - error.start), error.end


def _keep_bytes(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    written = bytearray()
    for character in error.object[error.start : error.end]:
        code = ord(character)
        if 0xDC80 <= code <= 0xDCFF:
            written.append(code - 0xDC00)
        else:
            written += character.encode("ascii", "backslashreplace")
    return bytes(written), error.end


codecs.register_error(REPLACE_UNDECODABLE, _replace_undecodable)
codecs.register_error(KEEP_BYTES, _keep_bytes)


class OutputError(Exception):
    """An output cannot be written; the message names it and says why, in one line.

    Not a :class:`mcfcheck.errors.McfcheckError`: that is a problem with an input, and
    stops work on that input only; a report that cannot be written stops the run.
    """


class ReaderGoneError(OutputError):
    """The reader of standard output went away, and the output asked to stop then."""


def cannot_write(name: str, error: OSError) -> OutputError:
    """The one-line error for an operating-system error writing ``name``."""
    return OutputError(f"{name}: cannot be written ({error.strerror or error})")


@dataclass(frozen=True)
class OutputTarget:
    """Where an output goes: a file replaced atomically, a file written in place, or standard output."""

    #: The output as it was given, for messages.
    name: str
    #: The file to replace, or to write in place; None for standard output.
    path: Path | None
    #: Written in place (a device, a FIFO, standard output), never renamed over.
    in_place: bool


def output_target(given: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = ()) -> OutputTarget:
    """Where the output ``given`` goes, or an :class:`OutputError` saying why it cannot.

    ``inputs`` are the files the run reads: an output that is one of them, under any
    name (a symbolic or hard link included), is refused.
    """
    name = os.fspath(given)
    if name == STANDARD_OUTPUT:
        return OutputTarget(name, None, in_place=True)
    try:
        final, through_proc = _follow_links(name)
    except OSError as error:
        raise cannot_write(name, error) from error
    found = _stat(name)
    if found is not None and any(_same(found, _stat(source)) for source in inputs if source is not None):
        raise OutputError(f"{name}: is an input of this run; a report must not replace it")
    if found is not None and _same(found, _stat_fd(sys.stdout)):
        return OutputTarget(name, None, in_place=True)
    if found is None:
        folder = final.parent
        if not folder.is_dir():
            raise OutputError(f"{name}: cannot be written (no folder {folder})")
        return OutputTarget(name, final, in_place=False)
    if stat.S_ISDIR(found.st_mode):
        raise OutputError(f"{name}: is a folder; give a file name")
    if stat.S_ISREG(found.st_mode) and not through_proc:
        return OutputTarget(name, final, in_place=False)
    return OutputTarget(name, Path(name), in_place=True)


def _stat(name: str | os.PathLike[str]) -> os.stat_result | None:
    """The file ``name`` names, following links; None where there is none, or it cannot be looked at."""
    try:
        return Path(name).stat()
    except OSError:
        return None


def _stat_fd(stream: TextIO | None) -> os.stat_result | None:
    try:
        return os.fstat(stream.fileno()) if stream is not None else None
    except (OSError, ValueError):  # not a file (captured in a test), or closed
        return None


def _same(one: os.stat_result, other: os.stat_result | None) -> bool:
    return other is not None and (one.st_dev, one.st_ino) == (other.st_dev, other.st_ino)


def _follow_links(name: str) -> tuple[Path, bool]:
    """The path ``name`` ends at once its links are followed, and whether that passes through ``/proc``.

    ``/dev/stdout`` is a link to ``/proc/self/fd/1``, whose own link names whatever the
    descriptor holds (a terminal, a pipe, a file the shell opened): that must be written
    through the descriptor, never replaced by name.
    """
    current = Path(name).absolute()
    for _hop in range(40):
        folder = current.parent.resolve()
        if folder.parts[:2] == ("/", "proc"):
            return current, True
        current = folder / current.name
        try:
            link = current.readlink()
        except OSError:  # not a link, or nothing there
            return current, False
        current = folder / link  # an absolute link replaces the folder
    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), name)


class _Sink(io.RawIOBase):
    """The operating-system end of an output: turns every failure into an :class:`OutputError`.

    It writes to a descriptor it owns (a report file), or to a standard stream's
    binary layer. On a standard stream, a reader that went away is not an error: the
    stream is pointed at the null device (so that nothing fails when Python flushes it
    at exit) and what follows is discarded, or :class:`ReaderGoneError` is raised if
    ``stop_when_gone``.
    """

    def __init__(
        self,
        name: str,
        descriptor: int | None = None,
        stream: BinaryIO | io.RawIOBase | None = None,
        stop_when_gone: bool = False,
    ) -> None:
        super().__init__()
        self.name = name
        self._descriptor = descriptor
        self._stream = stream
        self._stop_when_gone = stop_when_gone
        self.gone = False

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._stream.isatty() if self._stream is not None else False

    def fileno(self) -> int:
        if self._descriptor is not None:
            return self._descriptor
        if self._stream is not None:
            return self._stream.fileno()
        raise io.UnsupportedOperation("fileno")

    def write(self, data: Buffer, /) -> int:
        size = memoryview(data).nbytes
        if self.gone:
            return size
        try:
            if self._descriptor is not None:
                return os.write(self._descriptor, data)
            assert self._stream is not None
            # Passed on at once: what the console prints is seen as it is printed.
            self._stream.write(data)
            self._stream.flush()
        except OSError as error:
            self._give_up(error)
        return size

    def flush(self) -> None:
        # A standard stream may be closed already when this is collected, at exit.
        if self._stream is not None and not self.gone and not self._stream.closed:
            try:
                self._stream.flush()
            except OSError as error:
                self._give_up(error)

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        if self._descriptor is not None:
            descriptor, self._descriptor = self._descriptor, None
            os.close(descriptor)

    def _give_up(self, error: OSError) -> None:
        """Stop writing a standard stream that failed, and raise unless its reader simply went away."""
        if self._stream is not None:
            self.gone = True
            with suppress(OSError, ValueError, io.UnsupportedOperation):
                # Nothing more reaches the stream, not even what Python flushes at exit.
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, self._stream.fileno())
                os.close(null)
            if isinstance(error, BrokenPipeError):
                if self._stop_when_gone:
                    raise ReaderGoneError(f"{self.name}: the reader went away") from error
                return
        raise cannot_write(self.name, error) from error


class Output:
    """An output opened for writing ``binary``: :meth:`close`, then :meth:`commit` puts it in place.

    A file replaced atomically is only renamed onto its name by :meth:`commit`;
    :meth:`abort` removes it, leaving whatever was there before.
    """

    def __init__(self, target: OutputTarget, stream: io.BufferedWriter, temporary: Path | None) -> None:
        self.target = target
        self.binary = stream
        self._temporary = temporary

    def close(self) -> None:
        """Write what is buffered and close; an :class:`OutputError` if that fails (a full disk)."""
        self.binary.close()

    def commit(self) -> None:
        """Put the written file in place (a rename, for a file replaced atomically)."""
        self.close()
        if self._temporary is not None:
            assert self.target.path is not None
            try:
                self._temporary.replace(self.target.path)
            except OSError as error:
                self.abort()
                raise cannot_write(self.target.name, error) from error
            self._temporary = None

    def abort(self) -> None:
        """Close quietly and remove the unfinished file; never raises."""
        with suppress(OutputError, OSError, ValueError):
            self.binary.close()
        if self._temporary is not None:
            with suppress(OSError):
                self._temporary.unlink(missing_ok=True)
            self._temporary = None


class TextOutput(Output):
    """An output written as UTF-8 text (a report), to ``stream``."""

    def __init__(self, target: OutputTarget, stream: io.BufferedWriter, temporary: Path | None, errors: str) -> None:
        super().__init__(target, stream, temporary)
        self.stream: TextIO = io.TextIOWrapper(stream, encoding="utf-8", errors=errors, newline="\n")

    def close(self) -> None:
        self.stream.close()

    def abort(self) -> None:
        with suppress(OutputError, OSError, ValueError):
            self.stream.close()
        super().abort()


def open_output(target: OutputTarget) -> Output:
    """``target`` opened for writing bytes; see :meth:`Output.commit`.

    A file written for its own sake: if it is standard output and the reader goes
    away, :class:`ReaderGoneError` stops the writing.
    """
    return Output(target, *_open(target, stop_when_gone=True))


def open_text_output(target: OutputTarget, errors: str = REPLACE_UNDECODABLE) -> TextOutput:
    """``target`` opened for writing UTF-8 text; ``errors`` says how file names that are not UTF-8 are written."""
    return TextOutput(target, *_open(target, stop_when_gone=False), errors=errors)


def _open(target: OutputTarget, stop_when_gone: bool) -> tuple[io.BufferedWriter, Path | None]:
    if target.path is None:
        return io.BufferedWriter(standard_sink(sys.stdout, STANDARD_OUTPUT_NAME, stop_when_gone)), None
    try:
        if target.in_place:
            # Appending: a file reached through /proc (a descriptor the shell opened)
            # keeps what it holds; a device or a FIFO ignores it.
            descriptor = os.open(target.path, os.O_WRONLY | os.O_APPEND)
            return io.BufferedWriter(_Sink(target.name, descriptor), _BUFFER_BYTES), None
        folder = target.path.parent
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.path.name}.", suffix=".part", dir=folder)
    except OSError as error:
        raise cannot_write(target.name, error) from error
    try:
        # mkstemp creates the file readable by its owner only; give it the permissions
        # any newly created file would have under the current umask.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(descriptor, 0o666 & ~umask)
    except OSError as error:
        os.close(descriptor)
        Path(temporary).unlink(missing_ok=True)
        raise cannot_write(target.name, error) from error
    return io.BufferedWriter(_Sink(target.name, descriptor), _BUFFER_BYTES), Path(temporary)


def standard_sink(stream: TextIO, name: str, stop_when_gone: bool = False) -> _Sink:
    """The binary end of the standard stream ``stream`` (``sys.stdout`` or ``sys.stderr``), guarded."""
    with suppress(OSError, ValueError):
        stream.flush()  # what was written through the text layer comes first
    binary = getattr(stream, "buffer", None)
    if binary is None:  # a text-only stream (a test's capture): write text, as the stream takes it
        binary = _TextAsBinary(stream)
    return _Sink(name, stream=binary, stop_when_gone=stop_when_gone)


def standard_text(stream: TextIO, name: str, encoding: str | None = None, errors: str = KEEP_BYTES) -> TextIO:
    """A text layer over a standard stream, with its failures handled as :class:`_Sink` does.

    By default in the stream's own encoding, file names written as their bytes: for
    the console. A report on standard output is UTF-8.
    """
    sink = standard_sink(stream, name)
    return io.TextIOWrapper(
        io.BufferedWriter(sink),
        encoding=encoding or getattr(stream, "encoding", None) or "utf-8",
        errors=errors,
        line_buffering=sink.isatty(),
    )


class _TextAsBinary(io.RawIOBase):
    """Bytes written to a stream that takes only text (decoded as UTF-8, as written)."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream

    def writable(self) -> bool:
        return True

    def write(self, data: Buffer, /) -> int:
        written = bytes(data)
        self._stream.write(written.decode("utf-8", "surrogateescape"))
        return len(written)

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def flush(self) -> None:
        self._stream.flush()


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file that replaces ``path`` only if the block completes.

    Readers never see a half-written file, and a failed or interrupted write leaves
    whatever was at ``path`` before untouched. ``path`` may also be ``-`` (standard
    output), a device or a FIFO, written in place (see :func:`output_target`). Any
    failure to write is an :class:`OutputError`.
    """
    output = open_output(output_target(path))
    try:
        yield output.binary
        output.commit()
    except BaseException:
        output.abort()
        raise


@contextmanager
def atomic_folder(
    given: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = (), force: bool = False
) -> Iterator[Path]:
    """A folder that appears at ``given`` complete, or not at all: a temporary folder beside it, renamed.

    A folder (or anything else) already at ``given`` is refused unless ``force``, and
    then replaced only once the new one is complete; one that holds an input of the run
    is refused even then. A failure, or a signal, leaves no temporary folder and
    whatever was at ``given`` untouched. Errors of the operating system are one
    :class:`OutputError` naming the folder.
    """
    name = os.fspath(given)
    target = Path(name)
    if target.exists() or target.is_symlink():
        if not force:
            raise OutputError(f"{name}: exists; give --force to replace it")
        resolved = target.resolve()
        for source in inputs:
            if source is None:
                continue
            found = Path(source).resolve()
            if found == resolved:
                raise OutputError(f"{name}: is an input of this run; it must not be replaced")
            if resolved in found.parents:
                raise OutputError(f"{name}: holds {os.fspath(source)}, an input of this run; it must not be replaced")
    if not target.parent.resolve().is_dir():
        raise OutputError(f"{name}: cannot be written (no folder {target.parent})")
    try:
        temporary = _new_folder(target.parent, f".{target.name}.", ".part")
    except OSError as error:
        raise cannot_write(name, error) from error
    old: Path | None = None
    try:
        yield temporary
        if target.exists() or target.is_symlink():
            old = _new_folder(target.parent, f".{target.name}.", ".old")
            target.replace(old / target.name)
        temporary.replace(target)
    except OSError as error:
        if old is not None and not target.exists():
            (old / target.name).replace(target)
        raise cannot_write(name, error) from error
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _new_folder(parent: Path, prefix: str, suffix: str) -> Path:
    """A new folder of a name not taken, with the permissions a folder made by the user has (umask)."""
    # Imported here: only folders written whole need it, and it brings OpenSSL's hashes.
    import secrets

    while True:
        folder = parent / f"{prefix}{secrets.token_hex(4)}{suffix}"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
