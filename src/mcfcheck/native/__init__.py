"""Which of mcfcheck's modules run compiled, and whether mcfcheck's C module is in use.

A wheel of mcfcheck (``pip install .``, ``pip wheel .``; see ``hatch_build.py``) holds the
modules that run once per installation (the installation view, the rule engine, the rule
packs, the file's check) compiled with mypyc: each extension module sits beside its
source and Python imports it first. It also holds :mod:`mcfcheck.native._fastread`,
written in C, which parses the file into libxml2's tree, reporting each installation as
it ends, and reads installations' fields from that tree for the installation view.
Without them (an editable install runs the sources; a pure-Python wheel has none)
mcfcheck runs the same code as plain Python, parsing with lxml's pull parser and reading
installations through lxml's Python API: the same findings, slower (but for some lines
beyond line 65,535: see ``RecordParser``).

This module is the one place that decides whether the C module is used
(:data:`FAST`): every other module asks it. ``MCFCHECK_PURE=1`` in the environment
leaves the C module unused, as if it were not built (the modules mypyc compiled are the
same code as their sources, and stay).
"""

from __future__ import annotations

import gc
import importlib.machinery
import importlib.util
import os
import pkgutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Final

#: Set to 1, this environment variable leaves mcfcheck's C module unused.
PURE_VARIABLE: Final = "MCFCHECK_PURE"


def _fast_module() -> tuple[ModuleType | None, str]:
    """mcfcheck's C module, or None where it is not built, does not load under this lxml, or MCFCHECK_PURE=1.

    With what became of it, in words: "in use", "not built", "not loaded: <why>" or
    "left unused by MCFCHECK_PURE=1".
    """
    if importlib.util.find_spec("mcfcheck.native._fastread") is None:
        return None, "not built"
    if os.environ.get(PURE_VARIABLE) == "1":
        return None, f"left unused by {PURE_VARIABLE}=1"
    try:
        from mcfcheck.native import _fastread
    except ImportError as error:
        # Built, but for another lxml than the installed one (the module says which).
        return None, f"not loaded: {error}"
    return _fastread, "in use"


_LOADED = _fast_module()
#: mcfcheck's C module (see :mod:`mcfcheck.native._fastread`), or None: plain Python instead.
FAST: Final = _LOADED[0]
#: What became of the C module, in words (see :func:`_fast_module`).
FAST_STATE: Final = _LOADED[1]


def _modules() -> list[tuple[str, Path]]:
    """Every module of the package and the file it is imported from."""
    found = []
    # The package's folder, found without importing the package (this module is its lowest layer).
    for info in pkgutil.walk_packages([str(Path(__file__).resolve().parent.parent)], "mcfcheck."):
        spec = info.module_finder.find_spec(info.name, None)
        if spec is not None and spec.origin is not None:
            found.append((info.name, Path(spec.origin)))
    return found


def compiled_modules() -> list[str]:
    """The modules imported from extension modules, by name."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return [name for name, origin in _modules() if origin.name.endswith(suffixes)]


def build_description() -> str:
    """Which build runs, in words: how many modules mypyc compiled (or plain Python), and the C module's state."""
    mypyc = [name for name in compiled_modules() if name != "mcfcheck.native._fastread"]
    compiled = f"{len(mypyc)} modules compiled with mypyc" if mypyc else "plain Python"
    return f"{compiled}; the C module {FAST_STATE}"


#: The garbage collector's first threshold in mcfcheck's own processes (Python's default: 700).
COLLECTOR_THRESHOLD = 10_000


def tune_process() -> bool:
    """Tune a process that mcfcheck runs (its command line, its workers) for validation.

    - The C allocator (:func:`tune_allocator`).
    - The garbage collector: what is loaded by now (modules, schemas, rules) is set
      aside for good (``gc.freeze``), and the young objects are looked at every 10,000
      allocations instead of 700. Validating an installation makes no reference cycles
      to collect, but the collector's passes took 2% of a profile; this measured 2% less
      CPU time (alternating runs on two cores).
    - OpenBLAS gets one thread. numpy, which loads it, looks for duplicates only where
      mcfcheck's C module is not built; mcfcheck does no linear algebra, and OpenBLAS's
      idle threads spun at 0.1 s of CPU.

    Each changes the whole process, so the library API never calls this. Says whether
    the allocator was tuned.
    """
    global _TUNED
    _TUNED = True
    gc.freeze()
    gc.set_threshold(COLLECTOR_THRESHOLD, *gc.get_threshold()[1:])
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    return tune_allocator()


_TUNED = False


def process_tuned() -> bool:
    """Whether :func:`tune_process` was called: this process is mcfcheck's own (its command line, its workers)."""
    return _TUNED


def line_feed_finder() -> Callable[[bytes], bytes] | None:
    """mcfcheck's C finder of line feeds, when it is built: where each one is, as an ``array("I")``'s bytes."""
    return FAST.line_feed_positions if FAST is not None else None


def line_feed_counter() -> Callable[[bytes | memoryview], int] | None:
    """mcfcheck's C counter of line feeds, when it is built: ``data.count(b"\\n")``, many bytes at a time.

    Python's ``bytes.count`` looks at one byte at a time; the C loop is vectorised by
    the compiler (about a fifth of the time).
    """
    return FAST.count_lines if FAST is not None else None


def tune_allocator() -> bool:
    """Tune the C allocator for validation, in a process that mcfcheck runs (its CLI, its workers).

    With glibc, this turns off malloc's fast bins, whose merging before each larger
    request was the costliest single function in a profile of a validation; it measured
    4-8% less CPU time. It changes how the whole process allocates memory, so the library
    API never calls it. Says whether it was applied: not without mcfcheck's C module or
    glibc.
    """
    return bool(FAST.tune_allocator()) if FAST is not None else False
