"""Working Days: weekdays that are not bank holidays, counted between a notice and a planned date."""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess
import sys
from collections.abc import Iterator

import holidays
import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcfcheck.rules import workdays
from mcfcheck.rules.workdays import (
    CALENDARS,
    bank_holidays_between,
    earliest_planned,
    is_working_day,
    latest_notice,
    working_days_of_notice,
)

from .conftest import SAMPLES

days = st.dates(min_value=dt.date(2018, 1, 1), max_value=dt.date(2030, 12, 31))
calendars = st.sampled_from(sorted(CALENDARS))
periods = st.integers(min_value=1, max_value=40)
ONE_DAY = dt.timedelta(days=1)


def _every_day(notice: dt.date, planned: dt.date, calendar: str) -> int:
    """The definition, a day at a time."""
    count, day = 0, notice + ONE_DAY
    while day <= planned:
        count += is_working_day(day, calendar)
        day += ONE_DAY
    return count


@given(days, st.integers(min_value=-10, max_value=800), calendars, st.one_of(st.none(), st.integers(0, 30)))
def test_the_count_is_the_days_counted_one_by_one_up_to_the_limit(
    notice: dt.date, span: int, calendar: str, at_most: int | None
) -> None:
    planned = notice + dt.timedelta(days=span)
    expected = _every_day(notice, planned, calendar)
    if at_most is not None:
        expected = min(expected, at_most)
    assert working_days_of_notice(notice, planned, calendar, at_most) == expected


@pytest.mark.parametrize("calendar", sorted(CALENDARS))
def test_every_day_of_2019_to_2035_is_as_the_calendar_says(calendar: str) -> None:
    years = range(2019, 2036)
    bank_holidays = holidays.country_holidays("GB", subdiv=CALENDARS[calendar], years=years)
    first, last = dt.date(years[0], 1, 1), dt.date(years[-1], 12, 31)
    every_day = [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]
    expected = [day.weekday() < 5 and day not in bank_holidays for day in every_day]
    assert [is_working_day(day, calendar) for day in every_day] == expected
    # Counted over the whole span, and from each month's start to the next's.
    assert working_days_of_notice(first - ONE_DAY, last, calendar) == sum(expected)
    starts = [day for day in every_day if day.day == 1]
    for start, end in itertools.pairwise(starts):
        assert working_days_of_notice(start, end, calendar) == sum(
            expected[(start - first).days + 1 : (end - first).days + 1]
        )
    assert bank_holidays_between(first - ONE_DAY, last, calendar) == sorted(
        day for day in bank_holidays if day.weekday() < 5
    )


def test_a_week_from_monday_is_five_working_days() -> None:
    assert working_days_of_notice(dt.date(2026, 3, 2), dt.date(2026, 3, 9)) == 5
    # Good Friday and Easter Monday 2026 (3 and 6 April) are bank holidays in England.
    assert working_days_of_notice(dt.date(2026, 3, 30), dt.date(2026, 4, 6)) == 3
    assert not is_working_day(dt.date(2026, 4, 6))
    assert is_working_day(dt.date(2026, 4, 6), "scotland")
    # The days the calendars differ on: St Andrew's Day (Scotland), St Patrick's Day (Northern Ireland).
    assert is_working_day(dt.date(2026, 11, 30))
    assert not is_working_day(dt.date(2026, 11, 30), "scotland")
    assert is_working_day(dt.date(2026, 3, 17))
    assert not is_working_day(dt.date(2026, 3, 17), "northern-ireland")


def test_the_farthest_dates_the_schema_admits_are_counted_without_error() -> None:
    # xs:date admits years 1 to 9999: counting must not step past the last day there is.
    # The weekdays from 21 to 31 December 9999; the calendar knows no bank holidays then.
    assert working_days_of_notice(dt.date(9999, 12, 20), dt.date.max) == 9
    assert working_days_of_notice(dt.date.min, dt.date.max, at_most=15) == 15
    # Every weekday from 0001-01-02 to 9999-12-31 (numpy's count), less the bank holidays on weekdays.
    weekdays = int(numpy.busday_count(numpy.datetime64("0001-01-02"), numpy.datetime64("10000-01-01")))
    bank_holidays = bank_holidays_between(dt.date.min, dt.date.max)
    assert working_days_of_notice(dt.date.min, dt.date.max) == weekdays - len(bank_holidays)
    assert bank_holidays[0].year == 1872  # the Bank Holidays Act 1871
    # The calendar's first and last years are asked for too.
    assert not is_working_day(dt.date(1872, 12, 26))  # Boxing Day, a Thursday
    assert not is_working_day(dt.date(2100, 12, 27))  # Monday, for Boxing Day on a Sunday


def test_an_unknown_calendar_is_named() -> None:
    with pytest.raises(ValueError, match="unknown calendar 'wales'; choose from england-and-wales"):
        working_days_of_notice(dt.date(2026, 3, 2), dt.date(2026, 3, 2), "wales")
    with pytest.raises(ValueError, match="unknown calendar"):
        is_working_day(dt.date(2026, 3, 2), "wales")


@given(days, periods, calendars)
def test_the_earliest_planned_date_is_the_first_with_the_period(notice: dt.date, period: int, calendar: str) -> None:
    planned = earliest_planned(notice, period, calendar)
    assert planned is not None
    assert working_days_of_notice(notice, planned, calendar) >= period
    assert working_days_of_notice(notice, planned - ONE_DAY, calendar) < period
    assert is_working_day(planned, calendar)


@given(days, periods, calendars)
def test_the_latest_notice_date_is_the_last_with_the_period(planned: dt.date, period: int, calendar: str) -> None:
    notice = latest_notice(planned, period, calendar)
    assert notice is not None
    assert working_days_of_notice(notice, planned, calendar) >= period
    assert working_days_of_notice(notice + ONE_DAY, planned, calendar) < period
    assert is_working_day(notice + ONE_DAY, calendar)


@given(days, periods, calendars)
def test_the_earliest_and_latest_dates_make_round_trips(day: dt.date, period: int, calendar: str) -> None:
    planned = earliest_planned(day, period, calendar)
    assert planned is not None
    back = latest_notice(planned, period, calendar)
    assert back is not None
    assert back >= day
    assert earliest_planned(back, period, calendar) == planned
    notice = latest_notice(day, period, calendar)
    assert notice is not None
    forth = earliest_planned(notice, period, calendar)
    assert forth is not None
    assert forth <= day
    assert latest_notice(forth, period, calendar) == notice


def test_the_dates_at_the_ends_of_the_calendar() -> None:
    # 9999-12-31 is a Friday: 5 Working Days after the Friday before it, and none after it.
    assert earliest_planned(dt.date(9999, 12, 24), 5) == dt.date.max
    assert earliest_planned(dt.date(9999, 12, 27), 5) is None
    assert earliest_planned(dt.date.max, 1) is None
    # 0001-01-01 is a Monday: the notice for Tuesday 2 January is given on the Monday.
    assert latest_notice(dt.date(1, 1, 2), 1) == dt.date.min
    assert latest_notice(dt.date(1, 1, 2), 2) is None
    assert latest_notice(dt.date.min, 1) is None
    # Easter 2026 in England and Wales: Good Friday (3 April) and Easter Monday (6 April).
    assert earliest_planned(dt.date(2026, 3, 30), 5) == dt.date(2026, 4, 8)
    assert earliest_planned(dt.date(2026, 3, 30), 5, "scotland") == dt.date(2026, 4, 7)
    assert latest_notice(dt.date(2026, 4, 7), 5) == dt.date(2026, 3, 29)
    with pytest.raises(ValueError, match="at least 1"):
        earliest_planned(dt.date(2026, 3, 2), 0)


@pytest.fixture
def calendar_loaded_anew() -> Iterator[None]:
    workdays._calendar.cache_clear()
    workdays._holidays.cache_clear()
    yield
    workdays._calendar.cache_clear()
    workdays._holidays.cache_clear()


@pytest.mark.usefixtures("calendar_loaded_anew")
def test_the_package_lookup_gives_the_same_days_where_the_module_alone_cannot_be_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shortcut = [is_working_day(dt.date(2026, 1, 1) + dt.timedelta(days=n), "scotland") for n in range(730)]
    workdays._calendar.cache_clear()
    workdays._holidays.cache_clear()
    monkeypatch.setattr(workdays, "_UK_MODULE", "holidays.countries.no_such_country")
    assert workdays._calendar().years == range(1, 10000)
    looked_up = [is_working_day(dt.date(2026, 1, 1) + dt.timedelta(days=n), "scotland") for n in range(730)]
    assert looked_up == shortcut


RUN_AND_LIST_MODULES = """
import sys
from mcfcheck.cli import main
status = main(sys.argv[1:])
print(status, "holidays" in sys.modules, "holidays.countries" in sys.modules)
"""


def test_a_dormant_file_is_checked_with_the_calendar_of_the_united_kingdom_alone() -> None:
    # The holidays package's countries package imports every country it knows (0.1 s).
    sample = SAMPLES / "DRM002-migration-notice-period-invalid.xml"
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, "validate", "--jobs", "1", "-q", str(sample)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines()[-1].split() == ["1", "True", "False"]


@given(days, calendars)
def test_the_latest_working_day_is_the_day_or_the_last_working_day_before_it(day: dt.date, calendar: str) -> None:
    found = workdays.latest_working_day(day, calendar)
    assert found is not None
    assert found <= day
    assert is_working_day(found, calendar)
    assert working_days_of_notice(found, day, calendar) == 0
