"""The report formats by name: the built-in writers and those installed through entry points.

Third-party reporters register in the ``mcfcheck.reporters`` entry-point group.
"""

from __future__ import annotations

from importlib import metadata

from mcfcheck.reports.base import DataReporter
from mcfcheck.reports.html import HtmlReporter
from mcfcheck.reports.json_report import JsonReporter
from mcfcheck.reports.junit import JunitReporter
from mcfcheck.reports.sarif import SarifReporter

ENTRY_POINT_GROUP = "mcfcheck.reporters"

#: The built-in machine-readable reporters, by the name --format and --output take.
DATA_REPORTERS: dict[str, type[DataReporter]] = {
    "html": HtmlReporter,
    "json": JsonReporter,
    "junit": JunitReporter,
    "sarif": SarifReporter,
}


def data_reporters() -> tuple[dict[str, type[DataReporter]], list[str]]:
    """The built-in reporters and the installed third-party ones, with any loading problems."""
    found = dict(DATA_REPORTERS)
    problems: list[str] = []
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry_point.load()
        except Exception as error:  # a broken plugin must not stop the run
            problems.append(f"reporter {entry_point.name!r} cannot be loaded: {type(error).__name__}: {error}")
            continue
        if isinstance(loaded, type) and issubclass(loaded, DataReporter):
            found.setdefault(entry_point.name, loaded)
        else:
            problems.append(f"reporter {entry_point.name!r} is not a subclass of mcfcheck.reports.DataReporter")
    return found, problems
