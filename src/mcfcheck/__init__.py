"""mcfcheck: validate and process SMETS1 Migration Common Files (MCF).

The Python API (``docs/api.md``): :func:`validate` one file, :func:`iter_findings` of one
file as it is read, :func:`validate_many` files on worker processes, and
:func:`load_config`; each finding a :class:`Finding`, each file's outcome a
:class:`FileReport`.
"""

from __future__ import annotations

__version__ = "0.1.0"

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
