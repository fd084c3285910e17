"""Notification schedules: planned firmware upgrades and migrations, each row's notice period checked.

``mcfcheck workdays --check`` reads a CSV file with a header row and the columns
``installation`` (its reference), ``kind`` (``firmware`` or ``migration``),
``notice_date`` and ``planned_date`` (YYYY-MM-DD) and, optionally,
``shorter_notice_agreed`` (true, false, yes, no, 1, 0, or empty for false). A
firmware row is checked as DRM001 checks a Dormant installation's firmware upgrade, a
migration row as DRM002 checks its migration (unless a shorter period was agreed),
with the same messages and the rules' default minimums; a row that cannot be read is
a DRM000 finding that says why. Each finding is at the row's line in the file (the
header is line 1). Working Days are counted as :mod:`mcfcheck.rules.workdays` says.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from mcfcheck.errors import InputError
from mcfcheck.findings import Finding, Location, Severity
from mcfcheck.rules.catalogue import Check
from mcfcheck.rules.options import default_values, option_specs
from mcfcheck.rules.packs.dormant import FirmwareNoticePeriod, MigrationNoticePeriod
from mcfcheck.rules.workdays import CONVENTION
from mcfcheck.run.batch import ExitStatus, ReportSink, report_file

#: A rule that checks a notice period.
NoticeRule = type[FirmwareNoticePeriod] | type[MigrationNoticePeriod]
#: The kinds of notice a row may give, and the rule that checks each.
KINDS: Final[dict[str, NoticeRule]] = {"firmware": FirmwareNoticePeriod, "migration": MigrationNoticePeriod}
#: The columns every schedule has, and the one it may have.
COLUMNS: Final = ("installation", "kind", "notice_date", "planned_date")
AGREED: Final = "shorter_notice_agreed"
#: What ``shorter_notice_agreed`` may say.
_YES: Final = frozenset({"true", "yes", "1"})
_NO: Final = frozenset({"false", "no", "0", ""})

#: The code of a row that cannot be read, and what reports say of it.
BAD_ROW: Final = "DRM000"
BAD_ROW_NAME: Final = "notice-schedule-row"
BAD_ROW_SUMMARY: Final = "a row of a notification schedule (mcfcheck workdays --check) that cannot be read"
BAD_ROW_HELP: Final = (
    f"{BAD_ROW}: {BAD_ROW_SUMMARY}: a column missing or empty, a kind that is neither firmware nor migration, "
    "a date that is not a real date as YYYY-MM-DD (2026-02-30), a shorter_notice_agreed that is not true, false, "
    "yes, no, 1, 0 or empty, or a planned date before the notice date. The row's notice period is not checked."
)

_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def default_working_days(kind: str) -> int:
    """The notice period of ``kind`` (firmware or migration): the default of its rule's ``working_days``."""
    default = option_specs(KINDS[kind].defaults)["working_days"].default
    assert isinstance(default, int)
    return default


@dataclass(frozen=True, slots=True)
class Period:
    """A kind of notice's period: the Working Days it needs, counted in a calendar."""

    working_days: int
    calendar: str


def periods(
    options: Mapping[str, Mapping[str, object]] | None = None,
    calendar: str | None = None,
    working_days: int | None = None,
) -> dict[str, Period]:
    """Each kind's period: its rule's ``working_days`` and ``calendar`` as ``options`` (by code) set them.

    ``options`` are a configuration's, checked (:func:`mcfcheck.rules.config.rule_settings`);
    a rule's default stands where they say nothing, and ``calendar`` or ``working_days``,
    where given (the command line's), stand over both.
    """
    found = {}
    for kind, rule in KINDS.items():
        values = {**default_values(rule.defaults), **(options or {}).get(rule.code, {})}
        days = working_days if working_days is not None else values["working_days"]
        assert isinstance(days, int)
        found[kind] = Period(days, calendar or str(values["calendar"]))
    return found


def schedule_checks() -> dict[str, Check]:
    """The checks a schedule's report describes: DRM000, and the rules DRM001 and DRM002."""
    checks = {BAD_ROW: Check(BAD_ROW, BAD_ROW_NAME, Severity.ERROR, BAD_ROW_SUMMARY, BAD_ROW_HELP)}
    for rule in KINDS.values():
        checks[rule.code] = Check(
            rule.code, rule.name, rule.severity, rule.summary(), f"{rule.documentation()}\n\n{CONVENTION}."
        )
    return dict(sorted(checks.items()))


class ScheduleCheck:
    """A notification schedule's findings, row by row (iterate once); :class:`InputError` where it cannot be read.

    ``installations`` counts the installation references of the rows read.
    """

    def __init__(self, path: Path, periods_by_kind: Mapping[str, Period] | None = None) -> None:
        self.path = path
        self.periods = periods_by_kind or periods()
        self.installations = 0
        self._references: set[str] = set()

    def __iter__(self) -> Iterator[Finding]:
        path = self.path
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a notification schedule")
        line = 0
        try:
            with path.open("rb") as binary:
                reader = csv.reader(self._text(binary))
                header = next(reader, None)
                line = reader.line_num
                columns = self._columns(header)
                for row in reader:
                    first, line = line + 1, reader.line_num
                    if any(field.strip() for field in row):
                        yield from self._row(first, columns, len(header or ()), row)
        except OSError as error:
            raise InputError(f"{path}: cannot be read ({error.strerror or error})") from None
        except csv.Error as error:
            raise InputError(f"{path}:{line + 1}: not a readable CSV file ({error})") from None

    def _text(self, binary: Iterable[bytes]) -> Iterator[str]:
        """The file's lines as text: UTF-8 (after a byte order mark, as spreadsheets write it)."""
        for number, line in enumerate(binary, 1):
            try:
                yield line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                raise InputError(f"{self.path}:{number}: not UTF-8 text ({error.reason})") from None

    def _columns(self, header: Sequence[str] | None) -> dict[str, int]:
        """Where each column is, by its name in the header (case and spaces aside)."""
        if header is None or not any(name.strip() for name in header):
            raise InputError(f"{self.path}: is empty, not a notification schedule (it needs a header row)")
        names = [name.strip().lower() for name in header]
        repeated = sorted({name for name in names if name and names.count(name) > 1})
        if repeated:
            raise InputError(f"{self.path}:1: the header names {', '.join(repeated)} more than once")
        missing = [name for name in COLUMNS if name not in names]
        if missing:
            raise InputError(
                f"{self.path}:1: the notification schedule has no column {', '.join(missing)} "
                f"(it needs {', '.join(COLUMNS)}, and may have {AGREED})"
            )
        return {name: index for index, name in enumerate(names) if name}

    def _row(self, line: int, columns: dict[str, int], width: int, row: Sequence[str]) -> Iterator[Finding]:
        """The findings of one row, at ``line``; ``width`` is the header's number of fields."""
        values = {name: row[index].strip() if index < len(row) else None for name, index in columns.items()}
        reference = values["installation"] or None
        if reference is not None and reference not in self._references:
            self._references.add(reference)
            self.installations += 1
        where = Location(str(self.path), line, installation=reference)
        problems: list[str] = []
        fields = f"the row has {len(row)} fields, the header {width}"
        missing = [name for name in COLUMNS if values[name] is None]
        if missing:
            problems.append(f"no {', '.join(missing)}: {fields}")
        if any(field.strip() for field in row[width:]):
            problems.append(f"{fields}: the fields after the header's are not read")
        empty = [name for name in COLUMNS if values[name] == ""]
        if empty:
            problems.append(f"{', '.join(empty)} {'is' if len(empty) == 1 else 'are'} empty")
        kind = (values["kind"] or "").lower()
        if kind and kind not in KINDS:
            problems.append(f"kind {values['kind']!r} is neither firmware nor migration")
        notice, planned = self._date(values, "notice_date", problems), self._date(values, "planned_date", problems)
        agreed = (values.get(AGREED) or "").lower()
        if agreed not in _YES | _NO:
            problems.append(f"{AGREED} {values[AGREED]!r} is not true, false, yes, no, 1, 0 or empty")
        if notice is not None and planned is not None and planned < notice:
            problems.append(f"the planned date {planned} is before the notice date {notice}")
        for problem in problems:
            yield Finding(BAD_ROW, problem, Severity.ERROR, where, BAD_ROW_NAME)
        if problems or notice is None or planned is None or (kind == "migration" and agreed in _YES):
            return
        rule = KINDS[kind]
        period = self.periods[kind]
        message = rule.short_notice_message(notice, planned, period.calendar, period.working_days)
        if message is not None:
            yield Finding(rule.code, message, rule.severity, where, rule.name)

    @staticmethod
    def _date(values: dict[str, str | None], name: str, problems: list[str]) -> dt.date | None:
        """The date in column ``name``, or None (and a problem, where there is a value and it is no date)."""
        value = values[name]
        if not value:
            return None
        try:
            return parse_date(value)
        except ValueError as error:
            problems.append(f"{name} {error}")
            return None


def parse_date(value: str) -> dt.date:
    """``value`` as a date written YYYY-MM-DD; :class:`ValueError` saying why it is none."""
    if not _ISO_DATE.fullmatch(value):
        raise ValueError(f"{value!r} is not a date as YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"{value!r} is not a date ({error})") from None


def check_schedule(path: Path, sink: ReportSink, periods_by_kind: Mapping[str, Period] | None = None) -> ExitStatus:
    """Check the notification schedule at ``path``, telling ``sink`` its findings; the exit status.

    ``periods_by_kind`` are the periods of each kind (:func:`periods`; the rules' defaults if None).

    0 where every row gives the notice its kind needs, 1 where some row does not or
    cannot be read, 2 where the file cannot be read as a schedule.
    """
    sink.start()
    sink.file_started(str(path))
    status = report_file(ScheduleCheck(path, periods_by_kind), path, sink)
    sink.finish()
    return status
