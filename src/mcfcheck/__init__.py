"""mcfcheck: validate and process SMETS1 Migration Common Files (MCF).

The Python API (``docs/api.md``): :func:`validate` one file, :func:`iter_findings` of one
file as it is read, :func:`validate_many` files on worker processes, and
:func:`load_config`; each finding a :class:`Finding`, each file's outcome a
:class:`FileReport`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from mcfcheck.api import iter_findings, load_config, validate, validate_many
    from mcfcheck.findings import FileReport, Finding, Location, Severity

__all__ = [
    "FileReport",
    "Finding",
    "Location",
    "Severity",
    "__version__",
    "iter_findings",
    "load_config",
    "validate",
    "validate_many",
]

#: The module that defines each name of the API. Each is imported at its first use: the
#: command line imports the package too, and decides what is imported while it starts.
_DEFINED_IN = {
    "iter_findings": "mcfcheck.api",
    "load_config": "mcfcheck.api",
    "validate": "mcfcheck.api",
    "validate_many": "mcfcheck.api",
    "FileReport": "mcfcheck.findings",
    "Finding": "mcfcheck.findings",
    "Location": "mcfcheck.findings",
    "Severity": "mcfcheck.findings",
}


def __getattr__(name: str) -> object:
    module = _DEFINED_IN.get(name)
    if module is None:
        raise AttributeError(f"module 'mcfcheck' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
