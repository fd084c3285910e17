"""Reports: the console, and the files written as files are checked (JSON, SARIF, JUnit, HTML).

Every reporter follows the same lifecycle (start, file started, finding, file finished,
finish) and writes to the stream it is given; none holds the findings. Report writers
are imported when a run asks for them (:mod:`mcfcheck.reports.formats`): a run that
prints to the console loads none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcfcheck.reports.base import DataReporter
    from mcfcheck.reports.formats import DATA_REPORTERS, data_reporters

__all__ = ["DATA_REPORTERS", "DataReporter", "data_reporters"]


def __getattr__(name: str) -> object:
    """The public names, imported on first use."""
    if name == "DataReporter":
        from mcfcheck.reports.base import DataReporter

        return DataReporter
    if name in ("DATA_REPORTERS", "data_reporters"):
        from mcfcheck.reports import formats

        return getattr(formats, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
