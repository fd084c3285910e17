"""Reports: the console, and the documents written as files are checked (JSON, SARIF, JUnit, HTML).

Every reporter follows the same lifecycle (start, file started, finding, file finished,
finish) and writes to the stream it is given; none holds the findings. The formats are
chosen by name from one table (:mod:`mcfcheck.reports.formats`), where installed
reporters register too; each is imported when a run asks for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcfcheck.reports.base import DataReporter, Reporter, ReportSettings

__all__ = ["DataReporter", "ReportSettings", "Reporter"]


def __getattr__(name: str) -> object:
    """The public names, imported on first use."""
    if name in __all__:
        from mcfcheck.reports import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
