"""Working Days: weekdays that are not bank holidays, from the maintained ``holidays`` calendar."""

from __future__ import annotations

import datetime as dt
from functools import cache, lru_cache
from typing import Final

#: The calendars a rule option may name, and the part of the United Kingdom each is.
CALENDARS: Final = {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}


@cache
def _bank_holidays(calendar: str, year: int) -> frozenset[dt.date]:
    """The bank holidays of one year, as a plain set: looking a day up is then cheap."""
    if calendar not in CALENDARS:
        raise ValueError(f"unknown calendar {calendar!r}; choose from {', '.join(CALENDARS)}")
    # Imported at first use: it takes longer to import than the rest of the rules
    # together, and only dormant installations' notice periods need it.
    import holidays

    return frozenset(holidays.country_holidays("GB", subdiv=CALENDARS[calendar], years=year))


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
