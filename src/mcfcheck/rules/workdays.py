"""Working Days: weekdays that are not bank holidays, from the maintained ``holidays`` calendar.

Loading that calendar imports every country the ``holidays`` package knows: about
0.15 s, paid again by every worker process. ``make compile`` therefore writes the bank
holidays of the years files fall in to a table beside this module, from the installed
calendar (``python -m mcfcheck.rules.workdays``). The table is used only while the
installed ``holidays`` is the version that wrote it; other years, or a missing or
outdated table, are looked up in the calendar itself.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Final

from mcfcheck.outputs import atomic_output

#: The calendars a rule option may name, and the part of the United Kingdom each is.
CALENDARS: Final = {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}
#: The table ``make compile`` writes, and the years it holds.
TABLE: Final = Path(__file__).with_name("bank_holidays.json")
TABLE_YEARS: Final = range(2000, 2100)

#: A table: the bank holidays by calendar and year.
Table = dict[str, dict[int, frozenset[dt.date]]]


def _holidays_version() -> str | None:
    """The installed ``holidays`` version, from the Version field of its metadata's header.

    Read directly: ``metadata.version`` parses the whole file (its long description
    included) with the email parser, which took longer than reading the table.
    """
    try:
        text = metadata.distribution("holidays").read_text("METADATA") or ""
    except metadata.PackageNotFoundError:
        return None
    header = text.split("\n\n", 1)[0]
    found = re.search(r"^Version:[ \t]*(\S+)", header, re.MULTILINE)
    return found[1] if found else None


def _from_calendar(calendar: str, years: range) -> dict[int, frozenset[dt.date]]:
    """The bank holidays of ``years``, from the ``holidays`` package."""
    # Imported at first use: it takes longer to import than the rest of the rules together.
    import holidays

    found = holidays.country_holidays("GB", subdiv=CALENDARS[calendar], years=years)
    return {year: frozenset(day for day in found if day.year == year) for year in years}


def write_table(path: Path = TABLE, years: range = TABLE_YEARS) -> None:
    """Write the bank holidays of ``years``, from the installed calendar, as a table (atomically)."""
    table = {
        "holidays": _holidays_version(),
        "calendars": {
            calendar: {str(year): sorted(day.isoformat() for day in days) for year, days in by_year.items()}
            for calendar in CALENDARS
            for by_year in (_from_calendar(calendar, years),)
        },
    }
    with atomic_output(path) as output:
        output.write(json.dumps(table, separators=(",", ":")).encode("utf-8"))


def read_table(path: Path = TABLE) -> Table | None:
    """The table at ``path``, or None where there is none, it is unreadable, or another ``holidays`` wrote it."""
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("holidays") != _holidays_version():
            return None
        return {
            calendar: {
                int(year): frozenset(dt.date.fromisoformat(day) for day in days)
                for year, days in data["calendars"][calendar].items()
            }
            for calendar in CALENDARS
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


@cache
def _table() -> Table | None:
    return read_table()


@cache
def _bank_holidays(calendar: str, year: int) -> frozenset[dt.date]:
    """The bank holidays of one year, as a plain set: looking a day up is then cheap."""
    if calendar not in CALENDARS:
        raise ValueError(f"unknown calendar {calendar!r}; choose from {', '.join(CALENDARS)}")
    table = _table()
    if table is not None and year in table[calendar]:
        return table[calendar][year]
    return _from_calendar(calendar, range(year, year + 1))[year]


def is_working_day(day: dt.date, calendar: str = "england-and-wales") -> bool:
    """Whether ``day`` is a Working Day: Monday to Friday and not a bank holiday."""
    return day.weekday() < 5 and day not in _bank_holidays(calendar, day.year)


@lru_cache(maxsize=4096)
def working_days_of_notice(
    notice: dt.date, planned: dt.date, calendar: str = "england-and-wales", at_most: int | None = None
) -> int:
    """The Working Days after the notice date, up to and including the planned date.

    Notice given on a Monday for the Monday after is 5 Working Days (Tuesday to
    Monday), bank holidays aside. A planned date on or before the notice date gives 0.
    With ``at_most``, counting stops there: a rule that asks whether the notice is
    shorter than a minimum looks at a few weeks of days, however far apart the dates
    (any date the schema admits, 9999-12-31 included).
    """
    days = 0
    for offset in range(1, (planned - notice).days + 1):
        if at_most is not None and days >= at_most:
            break
        days += is_working_day(notice + dt.timedelta(days=offset), calendar)
    return days


if __name__ == "__main__":
    write_table(Path(sys.argv[1]) if len(sys.argv) > 1 else TABLE)
