"""Working Days: weekdays that are not bank holidays, from the maintained ``holidays`` calendar.

mcfcheck's reading of TMAD 4.29 and 4.30 (the DCC's conclusions of June 2020): Working
Days are Monday to Friday, but the bank holidays of the chosen part of the United
Kingdom; a notice period counts them after the notice date, up to and including the
planned date. Notice given on a Monday for the Monday after is 5 Working Days.

The bank holidays are asked of the installed calendar at run time, a year at a time
as they are needed, and kept for the process: every installation gives the same
answers. A span is counted as its weekdays (arithmetic) less the bank holidays that
fall on them, a year at a time, so any two dates are counted quickly, 0001-01-01 and
9999-12-31 included.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Final

#: The calendars a rule option may name, and the part of the United Kingdom each is.
CALENDARS: Final = {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}
#: The calendar used unless another is named.
DEFAULT_CALENDAR: Final = "england-and-wales"
#: How the counting is read, for whatever tells a user a count.
CONVENTION: Final = (
    "Working Days are counted after the notice date, up to and including the planned date; "
    "they are Monday to Friday, but the bank holidays of the calendar (mcfcheck's reading of TMAD 4.29 and 4.30)"
)

_FIRST: Final = dt.date.min.toordinal()
_LAST: Final = dt.date.max.toordinal()
#: The module of the United Kingdom's bank holidays in the ``holidays`` package, and its class.
_UK_MODULE: Final = "holidays.countries.united_kingdom"
_UK_CLASS: Final = "UnitedKingdom"


@dataclass(frozen=True, slots=True)
class _Calendar:
    """The United Kingdom's bank holidays: those of one part in one year, and the years it knows any."""

    holidays: Callable[[str, int], Iterable[dt.date]]
    years: range


def _module_alone(name: str) -> ModuleType:
    """The module ``name``, run without its package's ``__init__`` (and left out of ``sys.modules``).

    ``holidays.countries`` imports each of the 250 countries the package knows as it
    is imported: about 0.1 s, where the United Kingdom's module alone takes 5 ms.
    """
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    package, _, leaf = name.rpartition(".")
    found = importlib.util.find_spec(package)  # imports the packages above it, not this one
    folders = found.submodule_search_locations if found is not None else None
    for path in (Path(folder, f"{leaf}.py") for folder in folders or ()):
        spec = importlib.util.spec_from_file_location(name, path) if path.is_file() else None
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise ImportError(f"no module {name}")


@cache
def _calendar() -> _Calendar:
    """The ``holidays`` package's calendar of the United Kingdom, loaded at first use.

    Its module is run on its own (see :func:`_module_alone`); should the package move
    it, the package's own lookup (``holidays.country_holidays``) is used instead, which
    gives the same days and takes longer to load.
    """
    import holidays

    try:
        found = getattr(_module_alone(_UK_MODULE), _UK_CLASS)
        if not (isinstance(found, type) and issubclass(found, holidays.HolidayBase)):
            raise TypeError(f"{_UK_MODULE}.{_UK_CLASS} is not a holiday calendar")
        uk: type[holidays.HolidayBase] = found
    except Exception:  # any fault of the shortcut: the package's own lookup still works
        return _Calendar(
            lambda subdiv, year: holidays.country_holidays("GB", subdiv=subdiv, years=year),
            range(dt.MINYEAR, dt.MAXYEAR + 1),
        )
    # The years outside the calendar's have no bank holidays: a long span does not ask for each.
    first, last = max(uk.start_year, dt.MINYEAR), min(uk.end_year, dt.MAXYEAR)
    return _Calendar(lambda subdiv, year: uk(subdiv=subdiv, years=year), range(first, last + 1))


def _subdivision(calendar: str) -> str:
    try:
        return CALENDARS[calendar]
    except KeyError:
        raise ValueError(f"unknown calendar {calendar!r}; choose from {', '.join(CALENDARS)}") from None


@cache
def _holidays(calendar: str, year: int) -> tuple[int, ...]:
    """The bank holidays of one year that fall on weekdays, as sorted day ordinals."""
    subdivision = _subdivision(calendar)
    known = _calendar()
    if year not in known.years:
        return ()
    days = {day.toordinal() for day in known.holidays(subdivision, year) if day.year == year and day.weekday() < 5}
    return tuple(sorted(days))


def _weekdays_to(ordinal: int) -> int:
    """The weekdays from 0001-01-01 (a Monday) up to and including the day ``ordinal``."""
    weeks, days = divmod(ordinal, 7)
    return weeks * 5 + min(days, 5)


def _year_end(ordinal: int) -> int:
    return dt.date(dt.date.fromordinal(ordinal).year, 12, 31).toordinal()


def _year_start(ordinal: int) -> int:
    return dt.date(dt.date.fromordinal(ordinal).year, 1, 1).toordinal()


def _working_days(calendar: str, first: int, last: int) -> int:
    """The Working Days from the day ``first`` to the day ``last`` (ordinals in one year), both included."""
    holidays = _holidays(calendar, dt.date.fromordinal(first).year)
    return _weekdays_to(last) - _weekdays_to(first - 1) - (bisect_right(holidays, last) - bisect_left(holidays, first))


def _is_working(calendar: str, ordinal: int) -> bool:
    return (ordinal - 1) % 7 < 5 and ordinal not in _holidays(calendar, dt.date.fromordinal(ordinal).year)


def _years_on(first: int, last: int) -> Iterator[tuple[int, int]]:
    """The days from ``first`` to ``last`` (ordinals) as spans within a year, first to last."""
    while first <= last:
        end = min(_year_end(first), last)
        yield first, end
        first = end + 1


def _years_back(last: int, first: int) -> Iterator[tuple[int, int]]:
    """The days from ``last`` back to ``first`` (ordinals) as spans within a year, last to first."""
    while last >= first:
        start = max(_year_start(last), first)
        yield start, last
        last = start - 1


def is_working_day(day: dt.date, calendar: str = DEFAULT_CALENDAR) -> bool:
    """Whether ``day`` is a Working Day: Monday to Friday and not a bank holiday."""
    _subdivision(calendar)
    return _is_working(calendar, day.toordinal())


def working_days_of_notice(
    notice: dt.date, planned: dt.date, calendar: str = DEFAULT_CALENDAR, at_most: int | None = None
) -> int:
    """The Working Days after the notice date, up to and including the planned date.

    Notice given on a Monday for the Monday after is 5 Working Days (Tuesday to
    Monday), bank holidays aside. A planned date on or before the notice date gives 0.
    With ``at_most``, counting stops there (the count is then the smaller of the two):
    a rule that asks whether the notice is shorter than a minimum asks for the bank
    holidays of a year or two, however far apart the dates.
    """
    _subdivision(calendar)
    days = 0
    for first, last in _years_on(notice.toordinal() + 1, planned.toordinal()):
        days += _working_days(calendar, first, last)
        if at_most is not None and days >= at_most:
            return at_most
    return days


def _nth_working_day(calendar: str, spans: Iterator[tuple[int, int]], days: int, forward: bool) -> int | None:
    """The ordinal of the ``days``-th Working Day of ``spans`` (each a year's span, in order), or None."""
    if days < 1:
        raise ValueError(f"a notice period of {days} Working Days: give at least 1")
    for first, last in spans:
        found = _working_days(calendar, first, last)
        if found < days:
            days -= found
            continue
        for ordinal in range(first, last + 1) if forward else range(last, first - 1, -1):
            days -= _is_working(calendar, ordinal)
            if not days:
                return ordinal
    return None


def earliest_planned(notice: dt.date, days: int, calendar: str = DEFAULT_CALENDAR) -> dt.date | None:
    """The earliest planned date with at least ``days`` Working Days' notice from ``notice`` (``days`` >= 1).

    The smallest date ``d`` with ``working_days_of_notice(notice, d) >= days``: the
    ``days``-th Working Day after the notice date. None where that would be after 9999-12-31.
    """
    _subdivision(calendar)
    found = _nth_working_day(calendar, _years_on(notice.toordinal() + 1, _LAST), days, forward=True)
    return dt.date.fromordinal(found) if found is not None else None


def latest_notice(planned: dt.date, days: int, calendar: str = DEFAULT_CALENDAR) -> dt.date | None:
    """The latest notice date that gives at least ``days`` Working Days' notice of ``planned`` (``days`` >= 1).

    The largest date ``d`` with ``working_days_of_notice(d, planned) >= days``: the day
    before the ``days``-th Working Day counted back from the planned date, itself
    included. None where that would be before 0001-01-01.
    """
    _subdivision(calendar)
    found = _nth_working_day(calendar, _years_back(planned.toordinal(), _FIRST), days, forward=False)
    return dt.date.fromordinal(found - 1) if found is not None and found > _FIRST else None


def latest_working_day(day: dt.date, calendar: str = DEFAULT_CALENDAR) -> dt.date | None:
    """``day`` if it is a Working Day, else the last Working Day before it; None where there is none."""
    _subdivision(calendar)
    found = _nth_working_day(calendar, _years_back(day.toordinal(), _FIRST), 1, forward=False)
    return dt.date.fromordinal(found) if found is not None else None


def bank_holidays_between(notice: dt.date, planned: dt.date, calendar: str = DEFAULT_CALENDAR) -> list[dt.date]:
    """The bank holidays on weekdays after ``notice``, up to and including ``planned``: the weekdays not counted."""
    _subdivision(calendar)
    return [
        dt.date.fromordinal(ordinal)
        for first, last in _years_on(notice.toordinal() + 1, planned.toordinal())
        for holidays in (_holidays(calendar, dt.date.fromordinal(first).year),)
        for ordinal in holidays[bisect_left(holidays, first) : bisect_right(holidays, last)]
    ]
