"""Business calendars on a frozen clock: every time is a plain aware datetime, nothing sleeps."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from socialcare.calendars import (
    BusinessCalendar,
    CalendarSettings,
    ResponseTargets,
    merge_calendars,
    promise,
)

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")
WORKDAYS = ("mon", "tue", "wed", "thu", "fri")
EVERY_DAY = (*WORKDAYS, "sat", "sun")
OFFICE = {"timezone": "Europe/Rome", "hours": {day: ["09:00-17:00"] for day in WORKDAYS}}
HOUR = timedelta(hours=1)


def calendar(**settings: Any) -> BusinessCalendar:
    return BusinessCalendar(CalendarSettings.model_validate(settings))


def rome(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=ROME)


def new_york(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=NEW_YORK)


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def first_error(**settings: Any) -> str:
    """The line the config loader prints for the first error, minus the file: ``key: message``."""
    with pytest.raises(ValidationError) as caught:
        CalendarSettings.model_validate(settings)
    error = caught.value.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "calendar"
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"


# Weekends, closed hours and several intervals a day


def test_friday_afternoon_plus_an_hour_is_monday_morning() -> None:
    due = calendar(**OFFICE).add(rome(2026, 12, 4, 16, 30), HOUR)
    assert due == rome(2026, 12, 7, 9, 30)
    assert due.tzinfo is UTC


def test_a_message_while_closed_counts_from_the_next_opening() -> None:
    office = calendar(**OFFICE)
    saturday, monday_early = rome(2026, 12, 5, 10), rome(2026, 12, 7, 7)
    assert office.add(saturday, HOUR) == rome(2026, 12, 7, 10)
    assert office.add(monday_early, timedelta(minutes=30)) == rome(2026, 12, 7, 9, 30)
    assert not office.is_open(saturday)
    assert office.next_open(saturday) == rome(2026, 12, 7, 9)
    assert office.is_open(rome(2026, 12, 7, 9)) and not office.is_open(rome(2026, 12, 7, 17))
    assert office.next_open(rome(2026, 12, 7, 11)) == rome(2026, 12, 7, 11)


def test_a_deadline_can_fall_on_closing_time() -> None:
    assert calendar(**OFFICE).add(rome(2026, 12, 4, 16, 30), timedelta(minutes=30)) == rome(2026, 12, 4, 17)


def test_several_intervals_a_day_skip_the_lunch_break() -> None:
    split = calendar(timezone="Europe/Rome", hours={day: ["13:30-18:00", "09:00-12:30"] for day in WORKDAYS})
    assert split.add(rome(2026, 12, 7, 12), HOUR) == rome(2026, 12, 7, 14)
    assert split.between(rome(2026, 12, 7), rome(2026, 12, 8)) == timedelta(hours=8)
    assert not split.is_open(rome(2026, 12, 7, 13))


def test_targets_spanning_days_and_weeks() -> None:
    office, monday = calendar(**OFFICE), rome(2026, 11, 2, 9)
    assert office.add(monday, timedelta(hours=40)) == rome(2026, 11, 6, 17)
    assert office.add(monday, timedelta(days=2)) == rome(2026, 11, 9, 17)  # 48 h of open time: six working days
    assert office.add(monday, timedelta(hours=80)) == rome(2026, 11, 13, 17)
    assert office.between(monday, rome(2026, 11, 30, 9)) == timedelta(hours=160)


# Holidays and dated days


def test_italian_holidays_are_closed() -> None:
    italy = calendar(**OFFICE, holidays="IT")
    assert italy.add(rome(2026, 12, 7, 16, 30), HOUR) == rome(2026, 12, 9, 9, 30)  # 8 December, a Tuesday
    assert italy.add(rome(2025, 12, 24, 16, 30), HOUR) == rome(2025, 12, 29, 9, 30)  # 25-26 December, Thu-Fri
    assert not italy.is_open(rome(2025, 12, 26, 10))


def test_a_regional_holiday_closes_that_region_only() -> None:
    friday = rome(2026, 6, 26, 16, 30)  # Monday 29 June is Saints Peter and Paul, Rome's patron saints
    assert calendar(**OFFICE, holidays="IT").add(friday, HOUR) == rome(2026, 6, 29, 9, 30)
    assert calendar(**OFFICE, holidays="IT", holidays_region="RM").add(friday, HOUR) == rome(2026, 6, 30, 9, 30)


def test_holidays_follow_the_library_observed_days() -> None:
    us = calendar(timezone="America/New_York", hours={day: ["09:00-17:00"] for day in WORKDAYS}, holidays="US")
    assert not us.is_open(new_york(2026, 7, 3, 10))  # 4 July is a Saturday, observed on Friday


def test_extra_closed_and_open_days() -> None:
    december = calendar(
        **OFFICE,
        holidays="IT",
        closed=["2026-12-24"],
        open={"2026-12-08": ["09:00-13:00"], "2026-12-19": ["10:00-12:00"]},
    )
    assert december.add(rome(2026, 12, 23, 16, 30), HOUR) == rome(2026, 12, 28, 9, 30)  # 24th closed, 25th holiday
    assert december.add(rome(2026, 12, 7, 16, 30), HOUR) == rome(2026, 12, 8, 9, 30)  # worked on a holiday
    assert december.add(rome(2026, 12, 18, 16, 30), HOUR) == rome(2026, 12, 19, 10, 30)  # an open Saturday
    assert december.between(rome(2026, 12, 8), rome(2026, 12, 9)) == timedelta(hours=4)


# Intervals across midnight


NIGHTS = {"timezone": "Europe/Rome", "hours": {day: ["22:00-06:00"] for day in WORKDAYS}}


def test_friday_night_ends_on_saturday_morning() -> None:
    nights = calendar(**NIGHTS)
    assert nights.add(rome(2026, 12, 4, 23), timedelta(hours=7)) == rome(2026, 12, 5, 6)
    assert nights.add(rome(2026, 12, 4, 23), timedelta(hours=8)) == rome(2026, 12, 7, 23)
    assert nights.is_open(rome(2026, 12, 5, 5, 59)) and not nights.is_open(rome(2026, 12, 5, 6))
    assert nights.next_open(rome(2026, 12, 7, 12)) == rome(2026, 12, 7, 22)


def test_a_night_belongs_to_the_day_it_starts_on() -> None:
    nights = calendar(**NIGHTS, closed=["2026-12-04", "2026-12-05"])  # a closed Friday, and Saturday
    assert nights.is_open(rome(2026, 12, 4, 5))  # Thursday's night still runs into Friday
    assert not nights.is_open(rome(2026, 12, 4, 23))
    assert calendar(**NIGHTS, closed=["2026-12-05"]).is_open(rome(2026, 12, 5, 5))


def test_touching_intervals_merge() -> None:
    around = calendar(timezone="Europe/Rome", hours={day: ["00:00-24:00"] for day in ("mon", "tue")})
    assert list(around.open_intervals(rome(2026, 12, 6), rome(2026, 12, 10))) == [
        (rome(2026, 12, 7), rome(2026, 12, 9))
    ]


# Clocks changing


def test_an_office_day_is_eight_hours_when_the_clocks_change() -> None:
    for zone, days in (
        (ROME, (date(2026, 3, 29), date(2026, 10, 25))),
        (NEW_YORK, (date(2026, 3, 8), date(2026, 11, 1))),
    ):
        every_day = calendar(timezone=zone.key, hours={day: ["09:00-17:00"] for day in EVERY_DAY})
        for day in days:
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            assert every_day.between(midnight, midnight + timedelta(days=1)) == timedelta(hours=8)
            assert every_day.add(midnight, timedelta(hours=8)) == midnight.replace(hour=17)


def test_spring_forward_in_rome() -> None:
    every_day = calendar(timezone="Europe/Rome", hours={day: ["09:00-17:00"] for day in EVERY_DAY})
    assert list(every_day.open_intervals(rome(2026, 3, 29), rome(2026, 3, 30))) == [
        (utc(2026, 3, 29, 7), utc(2026, 3, 29, 15))
    ]
    assert every_day.add(rome(2026, 3, 28, 16), timedelta(hours=2)) == utc(2026, 3, 29, 8)


def test_a_night_across_the_change_lasts_what_the_clock_shows() -> None:
    rome_nights = calendar(timezone="Europe/Rome", hours={"sat": ["22:00-06:00"]})
    assert rome_nights.between(rome(2026, 3, 28, 12), rome(2026, 3, 29, 12)) == timedelta(hours=7)
    assert rome_nights.between(rome(2026, 10, 24, 12), rome(2026, 10, 25, 12)) == timedelta(hours=9)
    new_york_nights = calendar(timezone="America/New_York", hours={"sat": ["20:00-04:00"]})
    assert new_york_nights.between(new_york(2026, 3, 7, 12), new_york(2026, 3, 8, 12)) == timedelta(hours=7)
    assert new_york_nights.between(new_york(2026, 10, 31, 12), new_york(2026, 11, 1, 12)) == timedelta(hours=9)
    assert new_york_nights.add(new_york(2026, 3, 7, 23), timedelta(hours=4)) == utc(2026, 3, 8, 8)  # 04:00 EDT


def test_a_start_in_the_skipped_hour_opens_when_the_clocks_jump() -> None:
    early = calendar(timezone="Europe/Rome", hours={"sun": ["02:30-05:00"]})
    assert list(early.open_intervals(rome(2026, 3, 29), rome(2026, 3, 30))) == [
        (utc(2026, 3, 29, 1), utc(2026, 3, 29, 3))  # 03:00 to 05:00 summer time
    ]
    until = calendar(timezone="America/New_York", hours={"sun": ["01:00-02:30"]})
    assert until.between(new_york(2026, 3, 8), new_york(2026, 3, 9)) == HOUR  # closes at the jump, 03:00 EDT


def test_the_repeated_hour_counts_from_its_first_pass_to_its_last() -> None:
    starts_in_it = calendar(timezone="Europe/Rome", hours={"sun": ["02:30-04:00"]})
    assert list(starts_in_it.open_intervals(rome(2026, 10, 25), rome(2026, 10, 26))) == [
        (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3))
    ]
    ends_in_it = calendar(timezone="Europe/Rome", hours={"sun": ["01:00-02:30"]})
    assert list(ends_in_it.open_intervals(rome(2026, 10, 25), rome(2026, 10, 26))) == [
        (utc(2026, 10, 24, 23), utc(2026, 10, 25, 1, 30))
    ]


# 24/7, between and add together, bad input


def test_always_open_is_the_default_and_plain_arithmetic() -> None:
    for always in (calendar(), calendar(always_open=True, timezone="Asia/Tokyo")):
        start = utc(2026, 12, 25, 23, 50)
        assert always.add(start, HOUR) == start + HOUR
        assert always.between(start, start + timedelta(days=9)) == timedelta(days=9)
        assert always.is_open(start) and always.next_open(start) == start
        assert list(always.open_intervals(start, start + HOUR)) == [(start, start + HOUR)]
        assert list(always.open_intervals(start, start)) == []


def test_between_undoes_add_and_is_signed() -> None:
    office, friday = calendar(**OFFICE, holidays="IT"), rome(2026, 12, 4, 16, 30)
    due = office.add(friday, timedelta(hours=3))
    assert office.between(friday, due) == timedelta(hours=3)
    assert office.between(due, friday) == -timedelta(hours=3)
    assert office.between(rome(2026, 12, 5, 8), rome(2026, 12, 6, 20)) == timedelta(0)
    assert office.add(friday, timedelta(0)) == friday
    assert office.add(rome(2026, 12, 5), timedelta(0)) == rome(2026, 12, 7, 9)  # nothing due: the next opening


CALENDARS = [
    calendar(**OFFICE, holidays="IT", holidays_region="RM", closed=["2026-08-14"]),
    calendar(timezone="America/New_York", hours={day: ["20:00-04:00"] for day in WORKDAYS}, holidays="US"),
    calendar(timezone="Europe/Rome", hours={"sat": ["09:00-12:30", "13:30-18:00"], "sun": ["01:00-03:30"]}),
    calendar(),
]
INSTANTS = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 1, 31), timezones=st.just(UTC))


@settings(deadline=None)
@given(st.sampled_from(CALENDARS), INSTANTS, st.timedeltas(timedelta(0), timedelta(days=20)))
def test_between_measures_exactly_what_add_counted(
    business: BusinessCalendar, start: datetime, target: timedelta
) -> None:
    assert business.between(start, business.add(start, target)) == target


@settings(deadline=None)
@given(st.sampled_from(CALENDARS), INSTANTS, INSTANTS)
def test_add_reaches_the_earliest_moment_with_that_much_open_time(
    business: BusinessCalendar, start: datetime, end: datetime
) -> None:
    start, end = min(start, end), max(start, end)
    elapsed = business.between(start, end)
    reached = business.add(start, elapsed)
    assert business.between(reached, end) == timedelta(0)
    assert reached <= end or not elapsed  # no time at all is due at the next opening


def test_naive_times_and_negative_targets_are_refused() -> None:
    office = calendar(**OFFICE)
    with pytest.raises(ValueError, match="start = 2026-12-04T16:30:00 has no timezone"):
        office.add(datetime(2026, 12, 4, 16, 30), HOUR)
    with pytest.raises(ValueError, match="has no timezone"):
        office.is_open(datetime(2026, 12, 4, 16, 30))
    with pytest.raises(ValueError, match="has no timezone"):
        office.open_intervals(utc(2026, 12, 4), datetime(2026, 12, 5))
    with pytest.raises(ValueError, match="negative"):
        office.add(utc(2026, 12, 4), -HOUR)


# Validation: one line naming the key


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"hours": {"mon": ["9-17"]}},
            "hours.mon: '9-17' is not opening hours; write 'HH:MM-HH:MM' like '09:00-17:30'",
        ),
        ({"hours": {"mon": ["25:00-26:00"]}}, "hours.mon: '25:00-26:00' has a time that does not exist"),
        ({"hours": {"tue": ["09:00-09:00"]}}, "hours.tue: '09:00-09:00' opens and closes at the same time"),
        ({"hours": {"wed": "09:00-17:00"}}, "hours.wed: '09:00-17:00' is not a list of opening hours"),
        ({"hours": {"thu": ["09:00-13:00", "12:00-18:00"]}}, "hours.thu: '09:00-13:00' and '12:00-18:00' overlap"),
        (
            {"hours": {"mon": ["22:00-06:00"], "tue": ["05:00-09:00"]}},
            "hours: tue '05:00-09:00' overlaps mon '22:00-06:00'",
        ),
        (
            {"hours": {"sun": ["23:00-01:00"], "mon": ["00:30-08:00"]}},
            "hours: mon '00:30-08:00' overlaps sun '23:00-01:00'",
        ),
        ({"hours": {"monday": ["09:00-17:00"]}}, "hours.monday: Extra inputs are not permitted"),
        ({"timezone": "Europe/Roma"}, "timezone: unknown timezone 'Europe/Roma'; use an IANA name like 'Europe/Rome'"),
        ({**OFFICE, "holidays": "XX"}, "holidays: unknown country 'XX'; use one of AD, AE, "),
        (
            {**OFFICE, "holidays": "IT", "holidays_region": "ZZ"},
            "holidays_region: IT has no region 'ZZ'; use one of AG, ",
        ),
        ({**OFFICE, "holidays_region": "RM"}, "holidays_region: needs holidays, the country the region belongs to"),
        ({**OFFICE, "closed": ["2026-12-32"]}, "closed.0: Input should be a valid date"),
        (
            {**OFFICE, "closed": ["2026-12-24"], "open": {"2026-12-24": ["09:00-12:00"]}},
            "open: 2026-12-24 is in closed",
        ),
        ({**OFFICE, "open": {"2026-12-19": []}}, "open: 2026-12-19 has no hours; list it in closed to close it"),
        ({"hours": {"sat": []}}, "calendar: the calendar is never open: every day in hours is empty"),
        ({"always_open": False}, "calendar: the calendar is never open: always_open = false needs hours"),
        ({**OFFICE, "always_open": True}, "calendar: always_open = true contradicts hours; keep one of them"),
        ({"holidays": "IT"}, "calendar: holidays needs hours: a calendar without hours is open 24/7"),
        ({"always_open": True, "closed": ["2026-12-24"]}, "calendar: closed needs hours"),
        ({"opening": {}}, "opening: Extra inputs are not permitted"),
    ],
)
def test_a_mistake_reads_as_one_line_naming_the_key(settings: dict[str, Any], expected: str) -> None:
    line = first_error(**settings)
    assert line.startswith(expected) and "\n" not in line


def test_the_unknown_country_line_lists_every_country() -> None:
    line = first_error(**OFFICE, holidays="it")
    assert "IT, " in line and "US, " in line and "ITA" not in line


def test_regions_by_code_or_by_the_library_name() -> None:
    assert CalendarSettings(**OFFICE, holidays="IT", holidays_region="Roma").holidays_region == "Roma"
    assert "GB has no region 'London'; use one of ENG, NIR, SCT, WLS" in first_error(
        **OFFICE, holidays="GB", holidays_region="London"
    )


# The TOML shape and per-account calendars


EXAMPLE = """
[calendar]
timezone = "Europe/Rome"
holidays = "IT"
holidays_region = "RM"
closed = [2026-12-24, "2026-12-31"]

[calendar.hours]
mon = ["09:00-12:30", "13:30-18:00"]
tue = ["09:00-18:00"]
wed = ["09:00-18:00"]
thu = ["09:00-18:00"]
fri = ["09:00-18:00", "22:00-02:00"]
sat = []

[calendar.open]
2026-12-19 = ["10:00-13:00"]

[accounts.us-care.calendar]
timezone = "America/New_York"
holidays = "US"
"""


def test_the_documented_toml_shape() -> None:
    data = tomllib.loads(EXAMPLE)
    team = CalendarSettings.model_validate(data["calendar"])
    assert team.hours is not None and str(team.hours.fri[1]) == "22:00-02:00"
    assert team.closed == {date(2026, 12, 24), date(2026, 12, 31)} and date(2026, 12, 19) in team.open
    assert team.model_dump(mode="json")["hours"]["mon"] == ["09:00-12:30", "13:30-18:00"]
    us = CalendarSettings.model_validate(merge_calendars(data["calendar"], data["accounts"]["us-care"]["calendar"]))
    assert (us.timezone, us.holidays, us.holidays_region, us.hours) == ("America/New_York", "US", None, team.hours)


def test_an_account_calendar_overrides_what_it_sets() -> None:
    team = {**OFFICE, "holidays": "IT", "closed": ["2026-12-24"]}
    always = CalendarSettings.model_validate(merge_calendars(team, {"always_open": True}))
    assert always.hours is None and always.holidays is None and not always.closed
    weekend = merge_calendars({"always_open": True}, {"hours": {"sat": ["10:00-14:00"]}})
    assert weekend == {"hours": {"sat": ["10:00-14:00"]}}
    assert merge_calendars(team, {"timezone": "Europe/Lisbon"}) == {**team, "timezone": "Europe/Lisbon"}


# Response targets


def test_default_targets_match_the_old_ones_plus_low() -> None:
    targets = ResponseTargets()
    expected = {"urgent": 15, "complaint": 30, "normal": 60, "low": 240}
    for priority, minutes in expected.items():
        assert targets.first_response(priority) == targets.next_response(priority) == timedelta(minutes=minutes)


def test_flat_keys_set_first_and_next_and_tables_win_over_them() -> None:
    targets = ResponseTargets.model_validate(
        {"normal": "2h", "urgent": "10m", "first": {"normal": "90m"}, "next": {"urgent": "5m", "low": "1d"}}
    )
    assert targets.first_response("normal") == timedelta(minutes=90)
    assert targets.next_response("normal") == timedelta(hours=2)
    assert (targets.first_response("urgent"), targets.next_response("urgent")) == (
        timedelta(minutes=10),
        timedelta(minutes=5),
    )
    assert (targets.first_response("low"), targets.next_response("low")) == (timedelta(hours=4), timedelta(days=1))


def test_next_targets_follow_the_first_ones_unless_set() -> None:
    targets = ResponseTargets.model_validate({"first": {"complaint": "20m"}})
    assert targets.next_response("complaint") == timedelta(minutes=20)


def test_an_account_overrides_the_team_key_by_key() -> None:
    team = ResponseTargets.model_validate({"normal": "2h", "next": {"complaint": "3h"}})
    account = ResponseTargets.model_validate({"first": {"normal": "30m"}, "complaint": "45m"})
    merged = account.over(team)
    assert (merged.first_response("normal"), merged.next_response("normal")) == (
        timedelta(minutes=30),
        timedelta(hours=2),
    )
    assert merged.first_response("complaint") == merged.next_response("complaint") == timedelta(minutes=45)
    assert merged.first_response("urgent") == timedelta(minutes=15)
    assert ResponseTargets().over(team) == ResponseTargets.model_validate(
        {"first": {"normal": "2h"}, "next": {"normal": "2h", "complaint": "3h"}}
    )


def test_a_bad_target_names_its_key() -> None:
    with pytest.raises(ValidationError) as caught:
        ResponseTargets.model_validate({"first": {"normal": "soon"}})
    assert caught.value.errors()[0]["loc"] == ("first", "normal")
    with pytest.raises(ValidationError, match="Extra inputs"):
        ResponseTargets.model_validate({"first": {"medium": "1h"}})


# Promises to customers


FRIDAY_NOON = rome(2026, 12, 4, 12)


@pytest.mark.parametrize(
    ("language", "today", "tomorrow", "weekday", "later"),
    [
        ("en", "by 15:00 today", "by 09:30 tomorrow", "by Monday at 09:30", "by Tuesday 1 December at 09:00"),
        (
            "it",
            "entro le 15:00 di oggi",
            "entro le 09:30 di domani",
            "entro lunedì alle 09:30",
            "entro martedì 1 dicembre alle 09:00",
        ),
        (
            "es",
            "hoy antes de las 15:00",
            "mañana antes de las 09:30",
            "el lunes antes de las 09:30",
            "el martes 1 de diciembre antes de las 09:00",
        ),
        (
            "fr",
            "aujourd'hui avant 15:00",
            "demain avant 09:30",
            "lundi avant 09:30",
            "le mardi 1er décembre avant 09:00",
        ),
        (
            "de",
            "heute bis 15:00 Uhr",
            "morgen bis 09:30 Uhr",
            "bis Montag, 09:30 Uhr",
            "bis Dienstag, 1. Dezember, 09:00 Uhr",
        ),
        (
            "pt",
            "hoje até às 15:00",
            "amanhã até às 09:30",
            "até segunda-feira às 09:30",
            "até terça-feira, 1 de dezembro, às 09:00",
        ),
    ],
)
def test_a_promise_in_six_languages(language: str, today: str, tomorrow: str, weekday: str, later: str) -> None:
    friday = rome(2026, 11, 27, 12)
    shown = {
        when: promise(due, friday, ROME, language)
        for when, due in (
            ("today", rome(2026, 11, 27, 15)),
            ("tomorrow", rome(2026, 11, 28, 9, 30)),
            ("weekday", rome(2026, 11, 30, 9, 30)),
            ("date", rome(2026, 12, 8, 9)),
        )
    }
    assert {when: item.day for when, item in shown.items()} == {when: when for when in shown}
    assert [shown["today"].text, shown["tomorrow"].text, shown["weekday"].text] == [today, tomorrow, weekday]
    assert promise(rome(2026, 12, 1, 9), friday, ROME, language).day == "weekday"  # four days ahead
    assert promise(rome(2026, 12, 1, 9), rome(2026, 11, 20, 12), ROME, language).text == later


def test_a_promise_rounds_up_to_the_minute_in_the_zone_asked() -> None:
    shown = promise(utc(2026, 12, 7, 8, 30, 5), FRIDAY_NOON, ROME, "it")
    assert (shown.local, shown.text) == (rome(2026, 12, 7, 9, 31), "entro lunedì alle 09:31")
    assert promise(utc(2026, 12, 7, 8, 30), FRIDAY_NOON, NEW_YORK, "en-US").text == "by Monday at 03:30"
    assert promise(utc(2026, 12, 4, 22, 59, 30), FRIDAY_NOON, ROME, "en").text == "by 00:00 tomorrow"


def test_a_promise_in_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="use one of en, it, es, fr, de, pt"):
        promise(FRIDAY_NOON, FRIDAY_NOON, ROME, "nl")
