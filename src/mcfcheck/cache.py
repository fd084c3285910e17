"""What start-up works out the same way at every run, kept between runs in the user's cache folder.

A small file's whole run is mostly start-up, and part of it gives the same answer each
time: which rule packs are installed (reading every installed distribution's metadata),
and the documentation of rules compiled without their docstrings (parsing their sources).
Each answer is kept in a JSON file with what it was worked out from (its *key*: the
version of mcfcheck, the files' sizes and modification times); a run whose key differs
works it out again and replaces the file. A cache that cannot be read (missing, corrupt,
of another version) is as if empty; one that cannot be written (a read-only folder) is
left as it is: the run does the work itself, and its results are the same either way.

The folder is ``$MCFCHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/mcfcheck``, else
``~/.cache/mcfcheck``; ``MCFCHECK_NO_CACHE=1`` turns the cache off.
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Final, TypeVar

from mcfcheck.outputs import OutputError, atomic_output

#: The folder to keep the cache in, instead of the user's cache folder.
CACHE_FOLDER_VARIABLE: Final = "MCFCHECK_CACHE_DIR"
#: Set to 1, no cache is read or written.
NO_CACHE_VARIABLE: Final = "MCFCHECK_NO_CACHE"

#: What a cached answer is made of: JSON's values.
Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]

_Value = TypeVar("_Value")


def cache_folder() -> Path | None:
    """Where the cache is kept; None where it is turned off (or no home folder is known)."""
    if os.environ.get(NO_CACHE_VARIABLE) == "1":
        return None
    given = os.environ.get(CACHE_FOLDER_VARIABLE)
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME")
    if base and Path(base).is_absolute():
        return Path(base) / "mcfcheck"
    home = os.environ.get("HOME")
    return Path(home) / ".cache" / "mcfcheck" if home else None


def cached(
    kind: str,
    scope: str,
    key: Json,
    compute: Callable[[], _Value],
    encode: Callable[[_Value], Json],
    decode: Callable[[Json], _Value],
) -> _Value:
    """The answer ``compute()`` gives, read from the cache where it holds one for ``key``.

    ``scope`` says which answer of the ``kind`` it is (one file each: a module, an
    environment), ``key`` what it was worked out from. ``encode`` turns the answer into
    JSON's values and ``decode`` back; ``decode`` raises ``ValueError`` (or ``TypeError``,
    ``KeyError``) on what it cannot take, which is then worked out again.
    """
    from mcfcheck import __version__

    folder = cache_folder()
    if folder is None:
        return compute()
    whole_key: Json = [__version__, key]
    path = folder / f"{kind}-{zlib.crc32(scope.encode('utf-8', 'surrogateescape')):08x}.json"
    try:
        entry = json.loads(path.read_bytes())
        if isinstance(entry, dict) and entry.get("scope") == scope and entry.get("key") == whole_key:
            return decode(entry["value"])
    except (OSError, ValueError, TypeError, KeyError):
        pass  # no entry yet, or one that cannot be used: worked out again
    value = compute()
    content = json.dumps({"scope": scope, "key": whole_key, "value": encode(value)}).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside, then renamed: a run reading meanwhile sees the old entry or the new, whole.
        with atomic_output(path) as stream:
            stream.write(content)
    except (OSError, OutputError):
        pass  # a folder that cannot be written: the next run works it out again
    return value


def file_key(path: str | os.PathLike[str]) -> Json:
    """What says a file changed: its size and modification time (None: no such file)."""
    try:
        # A name as it is: a run looks at a couple of hundred (a Path each costs more than its stat).
        status = os.stat(path)  # noqa: PTH116
    except OSError:
        return None
    return [status.st_size, status.st_mtime_ns]


def distributions_key() -> Json | None:
    """What says the installed distributions (and so their entry points) changed; None: it cannot be told.

    Every distribution's metadata folder in the folders on ``sys.path`` (``*.dist-info``,
    ``*.egg-info``), with its and its ``entry_points.txt``'s modification times, and the
    other entries of ``sys.path`` (a zip file, a folder that is not there yet) by theirs.
    (A folder's own modification time is left out: it changes with any file made in it,
    and the folder of a ``python -m`` run is the current one.) Where a finder other than
    the standard one can list distributions, None: only it knows them.
    """
    from importlib.machinery import PathFinder

    for finder in sys.meta_path:
        if finder is not PathFinder and getattr(finder, "find_distributions", None) is not None:
            return None
    found: list[Json] = []
    for entry in sys.path:
        folder = entry or "."
        try:
            listing = sorted(os.scandir(folder), key=lambda item: item.name)
        except NotADirectoryError:
            found.append([entry, file_key(folder)])
            continue
        except OSError:
            found.append([entry, None])
            continue
        metadata: list[Json] = [
            [item.name, file_key(item.path), file_key(f"{item.path}/entry_points.txt")]
            for item in listing
            if item.name.endswith((".dist-info", ".egg-info"))
        ]
        found.append([entry, metadata])
    return found
