"""Working Days: weekdays that are not bank holidays, counted between a notice and a planned date."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mcfcheck.rules import workdays
from mcfcheck.rules.workdays import CALENDARS, TABLE, TABLE_YEARS, is_working_day, working_days_of_notice

from .conftest import SAMPLES

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


def test_the_table_holds_what_the_calendar_gives_for_every_year(tmp_path: Path) -> None:
    path = tmp_path / "bank_holidays.json"
    workdays.write_table(path)
    table = workdays.read_table(path)
    assert table is not None
    for calendar in CALENDARS:
        assert set(table[calendar]) == set(TABLE_YEARS)
        assert table[calendar] == workdays._from_calendar(calendar, TABLE_YEARS)
    # The days the calendars differ on: St Andrew's Day (Scotland), St Patrick's Day (Northern Ireland).
    assert dt.date(2026, 11, 30) in table["scotland"][2026] - table["england-and-wales"][2026]
    assert dt.date(2026, 3, 17) in table["northern-ireland"][2026] - table["scotland"][2026]


def test_a_table_another_calendar_version_wrote_or_a_broken_one_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "bank_holidays.json"
    workdays.write_table(path, range(2026, 2027))
    assert workdays.read_table(path) is not None
    written = json.loads(path.read_text())
    path.write_text(json.dumps({**written, "holidays": "0.1"}))
    assert workdays.read_table(path) is None
    for broken in ("", "[]", "{", json.dumps({**written, "calendars": {}})):
        path.write_text(broken)
        assert workdays.read_table(path) is None
    assert workdays.read_table(tmp_path / "missing.json") is None


def test_the_table_is_keyed_by_the_installed_calendar_version() -> None:
    assert workdays._holidays_version() == metadata.version("holidays")


def test_years_outside_the_table_come_from_the_calendar() -> None:
    # 1999 and 2100 are outside the table: Christmas Day is a bank holiday in each.
    assert not is_working_day(dt.date(1999, 12, 27))  # Monday, for Christmas on a Saturday
    assert not is_working_day(dt.date(2100, 12, 27))  # Monday, for Boxing Day on a Sunday


RUN_AND_LIST_MODULES = """
import sys
from mcfcheck.cli import main
status = main(sys.argv[1:])
print(status, "holidays" in sys.modules)
"""


def test_a_dormant_file_is_checked_from_the_table_without_loading_the_calendar() -> None:
    assert workdays.read_table(TABLE) is not None, f"no table at {TABLE}: make compile writes it"
    sample = SAMPLES / "DRM002-migration-notice-period-invalid.xml"
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, "validate", "--jobs", "1", "-q", str(sample)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines()[-1].split() == ["1", "False"]
