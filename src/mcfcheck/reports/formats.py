"""The report formats by name: one table, for ``--format``, ``--output`` and their help.

The built-in reporters are listed here, each imported only when a run asks for it (a
run on the console imports none of the others). Installed reporters register in the
``mcfcheck.reporters`` entry-point group: a name the table does not hold is looked for
there. Adding a format is a module with its reporter, and a line in :data:`BUILTIN`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Final

from mcfcheck.errors import McfcheckError
from mcfcheck.reports.base import Reporter

ENTRY_POINT_GROUP: Final = "mcfcheck.reporters"


@dataclass(frozen=True, slots=True)
class Format:
    """A built-in format: its name, what it is, and its reporter (``module:Class``)."""

    name: str
    summary: str
    reporter: str


#: The built-in formats, the default first.
BUILTIN: Final = (
    Format(
        "console",
        "findings one per line, a verdict per file, a table of findings by check",
        "mcfcheck.reports.console:ConsoleReporter",
    ),
    Format("json", "one versioned JSON document", "mcfcheck.reports.json_report:JsonReporter"),
    Format("sarif", "SARIF 2.1.0, for code-scanning dashboards", "mcfcheck.reports.sarif:SarifReporter"),
    Format("junit", "JUnit XML, for CI dashboards", "mcfcheck.reports.junit:JunitReporter"),
    Format("html", "one self-contained page to read or share", "mcfcheck.reports.html:HtmlReporter"),
    Format("github", "GitHub Actions workflow annotations", "mcfcheck.reports.ci:GithubReporter"),
    Format("gitlab", "GitLab Code Quality JSON", "mcfcheck.reports.ci:GitlabReporter"),
)
#: Other names for built-in formats.
ALIASES: Final = {"text": "console"}
#: The default format.
DEFAULT: Final = BUILTIN[0].name


class UnknownFormatError(McfcheckError):
    """A format that no built-in or installed reporter provides, or one that cannot be loaded."""


def builtin_names() -> list[str]:
    """The built-in formats' names."""
    return [format_.name for format_ in BUILTIN]


def describe() -> str:
    """The built-in formats for a help text: ``console (findings …), json (…), …``."""
    return "; ".join(f"{format_.name} ({format_.summary})" for format_ in BUILTIN)


def installed_names() -> list[str]:
    """The names of the installed formats (from entry points; none is imported)."""
    # Imported here: reading the installed distributions' metadata is for a format not built in.
    from importlib import metadata

    return sorted(entry_point.name for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP))


def reporter_class(name: str) -> type[Reporter]:
    """The reporter of the format ``name``: built-in, or installed."""
    name = ALIASES.get(name, name)
    builtin = next((format_ for format_ in BUILTIN if format_.name == name), None)
    if builtin is not None:
        module, _, attribute = builtin.reporter.partition(":")
        found: object = getattr(importlib.import_module(module), attribute)
    else:
        from importlib import metadata

        entry_point = next(iter(metadata.entry_points(group=ENTRY_POINT_GROUP, name=name)), None)
        if entry_point is None:
            choices = ", ".join([*builtin_names(), *installed_names()])
            raise UnknownFormatError(f"unknown format {name!r}; choose from {choices}")
        try:
            found = entry_point.load()
        except Exception as error:  # a broken plugin is named, never a traceback
            raise UnknownFormatError(
                f"reporter {name!r} ({entry_point.value}) cannot be loaded: {type(error).__name__}: {error}"
            ) from None
    if not (isinstance(found, type) and issubclass(found, Reporter)):
        raise UnknownFormatError(f"reporter {name!r} is not a subclass of mcfcheck.reports.Reporter")
    return found
