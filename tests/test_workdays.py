"""Working Days: weekdays that are not bank holidays, counted between a notice and a planned date."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from mcfcheck.rules.workdays import CALENDARS, is_working_day, working_days_of_notice

days = st.dates(min_value=dt.date(2018, 1, 1), max_value=dt.date(2030, 12, 31))
calendars = st.sampled_from(sorted(CALENDARS))


def _every_day(notice: dt.date, planned: dt.date, calendar: str) -> int:
    """The definition, a day at a time."""
    count, day = 0, notice + dt.timedelta(days=1)
    while day <= planned:
        count += is_working_day(day, calendar)
        day += dt.timedelta(days=1)
    return count


@given(days, st.integers(min_value=-10, max_value=120), calendars, st.one_of(st.none(), st.integers(0, 30)))
def test_the_count_is_the_days_counted_one_by_one_up_to_the_limit(
    notice: dt.date, span: int, calendar: str, at_most: int | None
) -> None:
    planned = notice + dt.timedelta(days=span)
    expected = _every_day(notice, planned, calendar)
    if at_most is not None:
        expected = min(expected, at_most)
    assert working_days_of_notice(notice, planned, calendar, at_most) == expected


def test_a_week_from_monday_is_five_working_days() -> None:
    assert working_days_of_notice(dt.date(2026, 3, 2), dt.date(2026, 3, 9)) == 5
    # Good Friday and Easter Monday 2026 (3 and 6 April) are bank holidays in England.
    assert working_days_of_notice(dt.date(2026, 3, 30), dt.date(2026, 4, 6)) == 3
    assert not is_working_day(dt.date(2026, 4, 6))
    assert is_working_day(dt.date(2026, 4, 6), "scotland")


def test_the_farthest_dates_the_schema_admits_are_counted_without_error() -> None:
    # xs:date admits years 1 to 9999: counting must not step past the last day there is.
    # The weekdays from 21 to 31 December 9999; the calendar knows no bank holidays then.
    assert working_days_of_notice(dt.date(9999, 12, 20), dt.date.max) == 9
    assert working_days_of_notice(dt.date.min, dt.date.max, at_most=15) == 15
