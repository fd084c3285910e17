"""The files a batch names: files as given, folders searched, manifests read (``mcfcheck batch``)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final, TextIO

from mcfcheck.errors import InputError

#: The names a folder is searched for, at any depth, by default.
DEFAULT_PATTERNS: Final = ("*.xml", "*.xml.gz")
#: What starts a manifest's name: ``@files.txt``, or ``@-`` for standard input.
MANIFEST: Final = "@"


def _manifest(given: str, stdin: TextIO | None) -> Iterator[Path]:
    """The paths a manifest lists, one a line (blank lines and lines starting with # left out);
    a relative path is relative to the manifest's folder (to the current folder for standard input).
    """
    name = given[len(MANIFEST) :]
    if name == "-":
        stream = stdin if stdin is not None else sys.stdin
        lines = stream.read().splitlines()
        folder = Path()
    else:
        manifest = Path(name)
        try:
            lines = manifest.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise InputError(f"{manifest}: the manifest cannot be read ({reason})") from None
        folder = manifest.parent
    for line in lines:
        text = line.strip()
        if text and not text.startswith("#"):
            yield folder / text


def _searched(folder: Path, patterns: Sequence[str]) -> list[Path]:
    """The files below ``folder`` whose names match one of ``patterns``, in path order."""
    found = {path for pattern in patterns for path in folder.rglob(pattern) if path.is_file()}
    return sorted(found)


def discover(
    given: Iterable[str], patterns: Sequence[str] = DEFAULT_PATTERNS, stdin: TextIO | None = None
) -> list[Path]:
    """The files ``given`` names, each once, in the order given: a file as it is (one that does not
    exist too: its check says so), a folder searched at every depth for ``patterns``, a manifest
    (``@PATH``, ``@-``) read. A manifest that cannot be read is an :class:`InputError`.
    """
    seen: dict[Path, None] = {}
    for item in given:
        if item.startswith(MANIFEST):
            paths: Iterable[Path] = _manifest(item, stdin)
        elif Path(item).is_dir():
            paths = _searched(Path(item), patterns)
        else:
            paths = (Path(item),)
        for path in paths:
            seen.setdefault(path, None)
    return list(seen)
