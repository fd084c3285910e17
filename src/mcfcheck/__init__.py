"""mcfcheck: validate and process SMETS1 Migration Common Files (MCF)."""

from __future__ import annotations

from mcfcheck.check.file import validate
from mcfcheck.findings import FileReport, Finding, Location, Severity

__version__ = "0.1.0"

__all__ = ["FileReport", "Finding", "Location", "Severity", "__version__", "validate"]
