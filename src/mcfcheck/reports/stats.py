"""The outputs of ``mcfcheck stats``: console tables, a JSON document, a tidy CSV table, an HTML page.

The JSON document's shape is described by ``schemas/mcfcheck-stats-1.0.schema.json``::

    {"format": "mcfcheck-stats", "version": "1.0", "tool": {...}, "max_values": 1000,
     "files": [{"path": ..., "error": null, "schema": ..., "statistics": {...}}, ...],
     "total": {"files": ..., "counted": ..., "unusable": ..., "statistics": {...}}}

The CSV table has the columns ``file, dimension, value, count`` (RFC 4180, through the
csv module): a row per value of each distribution, per file, then for the files
together (``file`` is ``(total)``) when there are several.

The counts are made by :mod:`mcfcheck.rules.statistics`; these writers hold them (a few
thousand rows at most per file), never the files' content.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, TextIO

from mcfcheck import __version__
from mcfcheck.reports.base import TOOL_NAME, dumps
from mcfcheck.rules.statistics import DIMENSIONS, Distribution, FileStatistics, Key, combine
from mcfcheck.run.stats import FileCount

FORMAT_NAME: Final = "mcfcheck-stats"
FORMAT_VERSION: Final = "1.0"
#: How the CSV and the console name the files together.
TOTAL_NAME: Final = "(total)"
#: How the CSV joins the texts of a value with several keys (device type, manufacturer…).
KEY_SEPARATOR: Final = " | "
_DIMENSIONS: Final = {dimension.name: dimension for dimension in DIMENSIONS}


@dataclass(frozen=True)
class StatsRun:
    """What ``stats`` counted: each file's count, in the order given, and the cap on distinct values."""

    files: Sequence[FileCount]
    max_values: int

    @property
    def counted(self) -> list[FileStatistics]:
        return [count.statistics for count in self.files if count.statistics is not None]

    def total(self) -> FileStatistics | None:
        """The files' statistics together; None where no file was counted."""
        counted = self.counted
        return combine(counted, self.max_values) if counted else None


def _distribution_record(distribution: Distribution) -> dict[str, object]:
    dimension = _DIMENSIONS[distribution.name]
    return {
        "name": distribution.name,
        "counts": dimension.counts,
        "keys": list(dimension.keys),
        "rows": [{"values": list(key), "count": count} for key, count in distribution.rows],
        "other": (
            {"values": distribution.other_values, "count": distribution.other_count}
            if distribution.other_values
            else None
        ),
        "total": distribution.total,
    }


def statistics_record(statistics: FileStatistics) -> dict[str, object]:
    """A file's statistics (or the files' together) as the JSON document writes them."""
    totals = statistics.totals
    return {
        "header": dict(statistics.header),
        "cohort": statistics.cohort,
        "installations": totals.installations,
        "devices": totals.devices,
        "trailer": {
            "present": statistics.trailer,
            "installation_count": totals.declared_installations,
            "device_count": totals.declared_devices,
            "installations_agree": totals.installations_agree,
            "devices_agree": totals.devices_agree,
        },
        "not_bound": list(statistics.not_bound),
        "distributions": [_distribution_record(statistics.distributions[d.name]) for d in DIMENSIONS],
    }


def totals_said(statistics: FileStatistics, several: bool = False) -> list[tuple[str, int, str, str]]:
    """Each total (installations, devices): what is counted, whether the trailer agrees (``agree``,
    ``disagree`` or ``none``) and that in words; for the files together (``several``), every trailer.
    """
    totals = statistics.totals
    said = []
    for label, declared, counted, agree in (
        ("installations", totals.declared_installations, totals.installations, totals.installations_agree),
        ("devices", totals.declared_devices, totals.devices, totals.devices_agree),
    ):
        if agree is None:
            kind = "none"
            words = (
                "not every trailer gives one"
                if several
                else "the trailer gives none"
                if statistics.trailer
                else "no trailer"
            )
        elif agree:
            kind, words = "agree", "every trailer agrees" if several else "the trailer agrees"
        else:
            kind = "disagree"
            words = "some trailers disagree" if several else f"the trailer declares {declared:,}"
        said.append((label, counted, kind, words))
    return said


def totals_in_words(statistics: FileStatistics) -> str:
    """A file's installations and devices, each with whether the trailer agrees, in one line."""
    return ", ".join(f"{counted:,} {label} ({words})" for label, counted, _kind, words in totals_said(statistics))


def _agrees(statistics: FileStatistics) -> bool:
    """Whether the trailer declares both totals and both are the file's."""
    totals = statistics.totals
    return totals.installations_agree is True and totals.devices_agree is True


def stats_document(run: StatsRun) -> dict[str, object]:
    """The JSON document of a run."""
    total = run.total()
    counted = run.counted
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "max_values": run.max_values,
        "files": [
            {
                "path": count.path,
                "error": count.error,
                "schema": count.schema,
                "statistics": statistics_record(count.statistics) if count.statistics is not None else None,
            }
            for count in run.files
        ],
        "total": {
            "files": len(run.files),
            "counted": len(counted),
            "unusable": len(run.files) - len(counted),
            "trailers_agree": sum(_agrees(statistics) for statistics in counted),
            "statistics": statistics_record(total) if total is not None else None,
        },
    }


def write_json(out: TextIO, run: StatsRun) -> None:
    out.write(dumps(stats_document(run)) + "\n")


def _value_text(key: Key) -> str:
    return KEY_SEPARATOR.join(part or "" for part in key)


def _csv_rows(file: str, statistics: FileStatistics) -> Iterator[tuple[str, str, str, int]]:
    totals = statistics.totals
    yield file, "installations", "", totals.installations
    yield file, "devices", "", totals.devices
    for name, declared, counted in (
        ("trailer.installation_count", totals.declared_installations, totals.installations),
        ("trailer.device_count", totals.declared_devices, totals.devices),
    ):
        if declared is not None:
            yield file, name, "declared", declared
            yield file, name, "counted", counted
    for dimension in DIMENSIONS:
        distribution = statistics.distributions[dimension.name]
        for key, count in distribution.rows:
            yield file, dimension.name, _value_text(key), count
        if distribution.other_values:
            yield file, dimension.name, f"(other: {distribution.other_values:,} values)", distribution.other_count


def write_csv(out: TextIO, run: StatsRun) -> None:
    """One tidy table: file, dimension, value, count."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("file", "dimension", "value", "count"))
    for count in run.files:
        if count.statistics is not None:
            writer.writerows(_csv_rows(count.path, count.statistics))
    total = run.total()
    if total is not None and len(run.files) > 1:
        writer.writerows(_csv_rows(TOTAL_NAME, total))


def write_console(out: TextIO, run: StatsRun) -> None:
    """Tables: each file's header and totals, then its distributions; then the files together."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from mcfcheck.reports.console import new_console

    console = new_console(out)
    frame = box.SIMPLE if console.is_terminal else box.ASCII

    def shown(text: str | None) -> str:
        return escape(text) if text is not None else "[dim](none)[/dim]"

    def print_statistics(title: str, statistics: FileStatistics, several: bool = False) -> None:
        console.print(f"[bold]{escape(title)}[/bold]")
        table = Table(box=frame, show_header=False, title_justify="left")
        table.add_column("field")
        table.add_column("value")
        for name, value in statistics.header.items():
            table.add_row(name.replace("_", " "), shown(value))
        table.add_row("cohort", shown(statistics.cohort))
        for label, counted, kind, words in totals_said(statistics, several):
            style = {"agree": "green", "disagree": "bold red"}.get(kind)
            table.add_row(label, f"{counted:,} ({f'[{style}]{words}[/{style}]' if style else words})")
        if statistics.not_bound:
            table.add_row("not bound", "[yellow]" + escape(", ".join(statistics.not_bound)) + "[/yellow]")
        console.print(table)
        for dimension in DIMENSIONS:
            distribution = statistics.distributions[dimension.name]
            if not distribution.rows:
                continue
            rows = Table(title=dimension.description, box=frame, title_justify="left")
            for column in dimension.keys:
                rows.add_column(column.replace("_", " "))
            rows.add_column(dimension.counts, justify="right")
            rows.add_column("share", justify="right")
            whole = distribution.total
            listed = distribution.rows
            if dimension.chronological:
                listed = tuple(sorted(listed, key=lambda row: (row[0][0] is None, row[0][0] or "")))
            for key, count in listed:
                rows.add_row(*(shown(part) for part in key), f"{count:,}", f"{count / whole:.1%}")
            if distribution.other_values:
                label = f"[italic](other: {distribution.other_values:,} values)[/italic]"
                rows.add_row(
                    label,
                    *([""] * (len(dimension.keys) - 1)),
                    f"{distribution.other_count:,}",
                    f"{distribution.other_count / whole:.1%}",
                )
            console.print(rows)

    for count in run.files:
        if count.statistics is not None:
            print_statistics(count.path, count.statistics)
    total = run.total()
    if total is not None and len(run.files) > 1:
        print_statistics(f"{TOTAL_NAME}: {len(run.counted):,} of {len(run.files):,} files", total, several=True)


def write_html(out: TextIO, run: StatsRun) -> None:
    """One self-contained page of tables and charts (:mod:`mcfcheck.reports.stats_html`)."""
    from mcfcheck.reports.stats_html import write_html as write_page

    write_page(out, run)


#: The formats by name, each with what it is and its writer.
FORMATS: Final[dict[str, tuple[str, Callable[[TextIO, StatsRun], None]]]] = {
    "console": ("tables, per file and in total", write_console),
    "json": (f"one versioned JSON document ({FORMAT_NAME} {FORMAT_VERSION})", write_json),
    "csv": ("one tidy table: file, dimension, value, count", write_csv),
    "html": ("one self-contained page of tables and charts", write_html),
}
