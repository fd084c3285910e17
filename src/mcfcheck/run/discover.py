"""The files a run names: files as given, folders searched, manifests read (``mcfcheck batch``); and,
of those, the XML documents that are not MCFs (``--only-mcf``).
"""

from __future__ import annotations

import fnmatch
import glob
import sys
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final, TextIO

from mcfcheck.errors import InputError
from mcfcheck.input.xml import open_input, read_root
from mcfcheck.schema.binding import BindingSet

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


def _searched(folder: Path, patterns: Sequence[str], exclude: Sequence[str]) -> list[Path]:
    """The files below ``folder`` whose names match one of ``patterns`` and whose paths (relative
    to ``folder``) match none of ``exclude``, in path order.
    """
    found = {path for pattern in patterns for path in folder.rglob(pattern) if path.is_file()}
    return sorted(path for path in found if not _excluded(path.relative_to(folder), exclude))


def _excluded(path: Path, exclude: Sequence[str]) -> bool:
    """Whether ``path`` matches one of ``exclude``: as a whole (``*`` crossing folders), by its name, or
    by the name of a folder in it.
    """
    names = (path.as_posix(), *path.parts)
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude for name in names)


def _is_glob(item: str) -> bool:
    return any(character in item for character in "*?[")


def discover(
    given: Iterable[str],
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    stdin: TextIO | None = None,
    exclude: Sequence[str] = (),
    once: bool = True,
) -> list[Path]:
    """The files ``given`` names, each once, in the order given: a file as it is (one that does not
    exist too: its check says so), a folder searched at every depth for ``patterns`` (leaving out
    the paths that match ``exclude``), a glob that names no file as it is (``'samples/*.xml'``,
    ``'**'`` at any depth) expanded, a manifest (``@PATH``, ``@-``) read. A manifest that cannot be
    read is an :class:`InputError`. Without ``once``, a file named twice is given twice (as
    ``validate`` checks each file it is given).
    """
    if not once:
        return [path for item in given for path in discover((item,), patterns, stdin, exclude)]
    seen: dict[Path, None] = {}
    for item in given:
        if item.startswith(MANIFEST):
            paths: Iterable[Path] = _manifest(item, stdin)
        elif Path(item).is_dir():
            paths = _searched(Path(item), patterns, exclude)
        elif _is_glob(item) and not Path(item).exists():
            # glob.glob takes absolute patterns too (Path.glob takes only relative ones).
            named = glob.glob(item, recursive=True)  # noqa: PTH207
            paths = sorted(Path(name) for name in named if Path(name).is_file())
            paths = [path for path in paths if not _excluded(path, exclude)]
        else:
            paths = (Path(item),)
        for path in paths:
            seen.setdefault(path, None)
    return list(seen)


#: How much of a file is read to find its root element (as the check of a file does).
_HEAD_BYTES: Final = 1 << 16


def not_mcfs(paths: Iterable[Path], bindings: BindingSet, schema_namespace: str | None = None) -> list[Path]:
    """Of ``paths``, the XML documents that are not MCFs: their root element is in no namespace that
    ``bindings`` read nor in ``schema_namespace`` (the target namespace of a schema given by the user).

    A file whose root element cannot be read (missing, not XML, cut short) is not among them:
    its check says what is wrong with it.
    """
    namespaces = {namespace for binding in bindings.bindings for namespace in binding.namespaces}
    if bindings.forced is not None:
        namespaces.update(bindings.forced.namespaces)
    if schema_namespace is not None:
        namespaces.add(schema_namespace)
    others = []
    for path in paths:
        try:
            with open_input(path) as stream:
                root = read_root(stream.read(_HEAD_BYTES))
        except (InputError, OSError, EOFError, zlib.error):
            continue
        if root is not None and (root.namespace or "") not in namespaces:
            others.append(path)
    return others
