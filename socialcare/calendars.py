"""Business hours: when the team is open, and response targets counted in open time only.

A calendar is a timezone, opening hours per weekday, a country's public holidays and dates that are
closed, or open with hours of their own. Deadlines (``add``) and elapsed open time (``between``) walk
whole open intervals one local day at a time, so a week-long target costs a few steps, not a loop per
minute. Times go in and come out timezone-aware, in UTC.

Wall-clock rules, in the calendar's timezone:

- An interval belongs to the day it starts on: Friday ``"22:00-06:00"`` runs until Saturday 06:00
  even when Saturday is a holiday, and a holiday on Friday removes it.
- An interval covers every moment the clock shows a time inside it, so a 09:00-17:00 day is 8 h when
  the clocks change that night, and a 22:00-06:00 night across the change is 7 h or 9 h of real time.
- A start or end in a skipped hour (spring forward) falls on the moment the clocks jump. In a
  repeated hour (fall back) a start counts from the first time the clock shows it, an end until the
  last time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Annotated, Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)

from socialcare.durations import Duration


def _holiday_data():  # type: ignore[no-untyped-def]
    """The ``holidays`` library, loaded only for a calendar that names a country (it takes 50 ms)."""
    import holidays

    return holidays


DEFAULT_FIRST: dict[str, timedelta] = {
    "urgent": timedelta(minutes=15),
    "complaint": timedelta(minutes=30),
    "normal": timedelta(hours=1),
    "low": timedelta(hours=4),
}
PRIORITIES = tuple(DEFAULT_FIRST)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_DAY = timedelta(days=1)
_FOREVER = datetime.max.replace(tzinfo=UTC)


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r}; use an IANA name like 'Europe/Rome'") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_known_zone)]
"""An IANA timezone name, checked when the config is read."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorityTargets(_Section):
    """One target per priority; an unset one falls back as ``ResponseTargets`` says."""

    urgent: Duration | None = None
    complaint: Duration | None = None
    normal: Duration | None = None
    low: Duration | None = None


class ResponseTargets(PriorityTargets):
    """How long a customer may wait, in open time, for our first response and for the next ones.

    A flat key (``[targets] normal = "1h"``, the older shape) sets both; ``[targets.first]`` and
    ``[targets.next]`` win over it. An unset first target takes ``DEFAULT_FIRST``; an unset next
    target is the first one.
    """

    first: PriorityTargets = PriorityTargets()
    next: PriorityTargets = PriorityTargets()

    def first_response(self, priority: str) -> timedelta:
        """The target for a priority in ``PRIORITIES`` (a ``Priority`` enum member works too)."""
        return self._own("first", priority) or DEFAULT_FIRST[priority]

    def next_response(self, priority: str) -> timedelta:
        return self._own("next", priority) or self.first_response(priority)

    def over(self, team: ResponseTargets) -> ResponseTargets:
        """These targets (an account's) with the team's wherever these leave a key unset."""
        layers = {
            kind: PriorityTargets(**{p: self._own(kind, p) or team._own(kind, p) for p in PRIORITIES})
            for kind in ("first", "next")
        }
        return ResponseTargets(**layers)

    def _own(self, kind: Literal["first", "next"], priority: str) -> timedelta | None:
        return getattr(getattr(self, kind), priority) or getattr(self, priority)


class Span(NamedTuple):
    """Opening hours on one day in minutes from its midnight; an ``end`` past 1440 runs into the next day."""

    start: int
    end: int

    def __str__(self) -> str:
        end = self.end if self.end <= 1440 else self.end - 1440
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def _parse_span(text: Any) -> Span:
    match = _SPAN.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not opening hours; write 'HH:MM-HH:MM' like '09:00-17:30'")
    start_h, start_m, end_h, end_m = (int(g) for g in match.groups())
    if start_h > 23 or end_h > 24 or start_m > 59 or end_m > 59 or (end_h == 24 and end_m):
        raise ValueError(f"{text!r} has a time that does not exist; times run from 00:00 to 24:00")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start == end:
        raise ValueError(f"{text!r} opens and closes at the same time; a whole day is '00:00-24:00'")
    return Span(start, end if end > start else end + 1440)


def _parse_day(value: Any) -> tuple[Span, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"{value!r} is not a list of opening hours like ['09:00-12:30', '13:30-18:00']")
    spans = sorted(_parse_span(item) for item in value)
    for before, after in pairwise(spans):
        if after.start < before.end:
            raise ValueError(f"'{before}' and '{after}' overlap")
    return tuple(spans)


Day = Annotated[
    tuple[Span, ...], PlainValidator(_parse_day), PlainSerializer(lambda spans: [str(span) for span in spans])
]


class WeekHours(_Section):
    """Opening hours per weekday, several intervals a day if need be; a day left out is closed."""

    mon: Day = ()
    tue: Day = ()
    wed: Day = ()
    thu: Day = ()
    fri: Day = ()
    sat: Day = ()
    sun: Day = ()

    def days(self) -> tuple[tuple[Span, ...], ...]:
        """Monday first, like ``date.weekday()``."""
        return tuple(getattr(self, day) for day in WEEKDAYS)

    @model_validator(mode="after")
    def _no_overlap_past_midnight(self) -> WeekHours:
        days = self.days()
        for index, today in enumerate(days):
            tomorrow = (index + 1) % 7
            for late in today:
                for early in days[tomorrow]:
                    if early.start < late.end - 1440:
                        raise ValueError(f"{WEEKDAYS[tomorrow]} '{early}' overlaps {WEEKDAYS[index]} '{late}'")
        return self


class CalendarSettings(_Section):
    """When the team answers: ``[calendar]``, or ``[accounts.NAME.calendar]`` over it (see ``merge_calendars``).

    Without ``hours`` the calendar is open 24/7, as before calendars existed; ``always_open = true`` says
    so explicitly. Holidays, closed and open days only make sense with hours.
    """

    timezone: TimeZoneName = "UTC"
    always_open: bool | None = None
    hours: WeekHours | None = None
    holidays: str | None = None
    holidays_region: str | None = None
    closed: frozenset[date] = frozenset()
    open: dict[date, Day] = {}

    @field_validator("holidays")
    @classmethod
    def _known_country(cls, value: str) -> str:
        countries = _holiday_data().list_supported_countries()
        if value not in countries:
            codes = ", ".join(sorted(code for code in countries if len(code) == 2))
            raise ValueError(f"unknown country {value!r}; use one of {codes}")
        return value

    @field_validator("holidays_region")
    @classmethod
    def _known_region(cls, value: str, info: ValidationInfo) -> str:
        country = info.data.get("holidays")
        if country is None:
            raise ValueError("needs holidays, the country the region belongs to")
        try:
            _holiday_data().country_holidays(country, subdiv=value)
        except NotImplementedError:
            regions = _holiday_data().list_supported_countries()[country]
            if not regions:
                raise ValueError(f"{country} has no regions; remove holidays_region") from None
            raise ValueError(f"{country} has no region {value!r}; use one of {', '.join(regions)}") from None
        return value

    @field_validator("open")
    @classmethod
    def _real_open_days(cls, value: dict[date, tuple[Span, ...]], info: ValidationInfo) -> dict[date, tuple[Span, ...]]:
        for day, spans in value.items():
            if not spans:
                raise ValueError(f"{day} has no hours; list it in closed to close it")
            if day in info.data.get("closed", ()):
                raise ValueError(f"{day} is in closed too")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> CalendarSettings:
        if self.always_open and self.hours is not None:
            raise ValueError("always_open = true contradicts hours; keep one of them")
        if self.always_open is False and self.hours is None:
            raise ValueError("the calendar is never open: always_open = false needs hours")
        if self.hours is not None and not any(self.hours.days()):
            raise ValueError("the calendar is never open: every day in hours is empty")
        if self.hours is None:
            for key in ("holidays", "closed", "open"):
                if getattr(self, key):
                    raise ValueError(f"{key} needs hours: a calendar without hours is open 24/7")
        return self


def merge_calendars(team: Mapping[str, Any], account: Mapping[str, Any]) -> dict[str, Any]:
    """An account's raw ``[accounts.NAME.calendar]`` table over the team's ``[calendar]``, to validate as one.

    Each key the account sets replaces the team's (``hours`` and ``closed`` as a whole). Keys that go
    together follow: ``always_open = true`` drops the team's hours, holidays and dated days, ``hours``
    drops the team's ``always_open``, and ``holidays`` drops the team's region.
    """
    merged = dict(team)
    if account.get("always_open") is True:
        for key in ("hours", "holidays", "holidays_region", "closed", "open"):
            merged.pop(key, None)
    if "hours" in account:
        merged.pop("always_open", None)
    if "holidays" in account:
        merged.pop("holidays_region", None)
    return {**merged, **account}


class BusinessCalendar:
    """Open time on a ``CalendarSettings``: build one per calendar and keep it, it caches each day it computes."""

    def __init__(self, settings: CalendarSettings) -> None:
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self._always_open = settings.hours is None
        self._week = settings.hours.days() if settings.hours else ()
        self._days: dict[date, tuple[tuple[datetime, datetime], ...]] = {}
        self._holiday_years: dict[int, frozenset[date]] = {}

    def is_open(self, t: datetime) -> bool:
        return self.next_open(t) == _utc(t, "t")

    def next_open(self, t: datetime) -> datetime:
        """The next moment the team is open: ``t`` itself when it is."""
        t = _utc(t, "t")
        start, _ = next(self._spans(t))
        return max(start, t)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The deadline: ``duration`` of open time from ``start`` (or from the next opening if closed then)."""
        start = _utc(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"duration {duration} is negative")
        spans = self._spans(start)
        while True:
            opens, closes = next(spans)
            begin = max(opens, start)
            if begin + duration <= closes:
                return begin + duration
            duration -= closes - begin

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Open time from ``a`` to ``b``; negative when ``b`` is earlier (time overdue, say)."""
        a, b = _utc(a, "a"), _utc(b, "b")
        if b < a:
            return -self.between(b, a)
        return sum((closes - opens for opens, closes in self.open_intervals(a, b)), timedelta(0))

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open intervals between ``start`` and ``end``, clipped to them, in order, touching ones merged."""
        start, end = _utc(start, "start"), _utc(end, "end")
        return self._clipped(start, end)

    def _clipped(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        for opens, closes in self._spans(start):
            if max(opens, start) >= end:
                return
            yield max(opens, start), min(closes, end)

    def _spans(self, t: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open intervals that end after ``t``, in order, touching ones merged; endless."""
        if self._always_open:
            yield t, _FOREVER
            return
        day = t.astimezone(self.zone).date() - _DAY  # yesterday's night may still be open
        current: tuple[datetime, datetime] | None = None
        while True:
            for opens, closes in self._day(day):
                if closes <= t:
                    continue
                if current and opens <= current[1]:
                    current = (current[0], max(current[1], closes))
                    continue
                if current:
                    yield current
                current = (opens, closes)
            day += _DAY

    def _day(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The intervals that open on a local day, in UTC; skipped when the clocks leave nothing of one."""
        found = self._days.get(day)
        if found is None:
            midnight = datetime.combine(day, time())
            found = ()
            for span in self._local_spans(day):
                opens = _instant(midnight + timedelta(minutes=span.start), self.zone, last=False)
                closes = _instant(midnight + timedelta(minutes=span.end), self.zone, last=True)
                if opens < closes:
                    found += ((opens, closes),)
            self._days[day] = found
        return found

    def _local_spans(self, day: date) -> tuple[Span, ...]:
        if day in self.settings.open:
            return self.settings.open[day]
        if day in self.settings.closed or day in self._holidays(day.year):
            return ()
        return self._week[day.weekday()]

    def _holidays(self, year: int) -> frozenset[date]:
        found = self._holiday_years.get(year)
        if found is None:
            country, region = self.settings.holidays, self.settings.holidays_region
            found = frozenset()
            if country:
                found = frozenset(_holiday_data().country_holidays(country, subdiv=region, years=year))
            self._holiday_years[year] = found
        return found


class _Words(NamedTuple):
    """One language: names separated by spaces, and a phrase per ``PromiseDay``."""

    weekdays: str
    months: str
    today: str
    tomorrow: str
    weekday: str
    date: str


_WORDS = {
    "en": _Words(
        "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
        "January February March April May June July August September October November December",
        "by {time} today",
        "by {time} tomorrow",
        "by {weekday} at {time}",
        "by {weekday} {day} {month} at {time}",
    ),
    "it": _Words(
        "lunedì martedì mercoledì giovedì venerdì sabato domenica",
        "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
        "entro le {time} di oggi",
        "entro le {time} di domani",
        "entro {weekday} alle {time}",
        "entro {weekday} {day} {month} alle {time}",
    ),
    "es": _Words(
        "lunes martes miércoles jueves viernes sábado domingo",
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
        "hoy antes de las {time}",
        "mañana antes de las {time}",
        "el {weekday} antes de las {time}",
        "el {weekday} {day} de {month} antes de las {time}",
    ),
    "fr": _Words(
        "lundi mardi mercredi jeudi vendredi samedi dimanche",
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
        "aujourd'hui avant {time}",
        "demain avant {time}",
        "{weekday} avant {time}",
        "le {weekday} {day} {month} avant {time}",
    ),
    "de": _Words(
        "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
        "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
        "heute bis {time} Uhr",
        "morgen bis {time} Uhr",
        "bis {weekday}, {time} Uhr",
        "bis {weekday}, {day}. {month}, {time} Uhr",
    ),
    "pt": _Words(
        "segunda-feira terça-feira quarta-feira quinta-feira sexta-feira sábado domingo",
        "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
        "hoje até às {time}",
        "amanhã até às {time}",
        "até {weekday} às {time}",
        "até {weekday}, {day} de {month}, às {time}",
    ),
}
LANGUAGES = tuple(_WORDS)
PromiseDay = Literal["today", "tomorrow", "weekday", "date"]


@dataclass(frozen=True)
class Promise:
    """A deadline as a customer reads it in a holding reply: "we will answer {text}"."""

    local: datetime  # the deadline rounded up to the minute, in the zone it is shown in
    day: PromiseDay  # "weekday" within the coming week, "date" beyond it (or in the past)
    text: str  # e.g. "by Monday at 09:30", "entro le 15:00 di oggi"


def promise(due: datetime, now: datetime, zone: ZoneInfo, language: str) -> Promise:
    """How to tell a customer ``due`` in ``language`` (en, it, es, fr, de, pt; ``pt-BR`` reads as pt).

    The minute is rounded up, so a promise is never earlier than the deadline behind it. Names come
    from a table here, not from the OS locale, which servers rarely have for all six languages.
    """
    key = language.split("-")[0].split("_")[0].lower()
    if key not in _WORDS:
        raise ValueError(f"no promise wording for language {language!r}; use one of {', '.join(LANGUAGES)}")
    words = _WORDS[key]
    due = _utc(due, "due")
    spare = timedelta(seconds=due.second, microseconds=due.microsecond)
    local = (due + (timedelta(minutes=1) - spare if spare else timedelta(0))).astimezone(zone)
    day = _promise_day((local.date() - _utc(now, "now").astimezone(zone).date()).days)
    text = getattr(words, day).format(
        weekday=words.weekdays.split()[local.weekday()],
        day=f"{local.day}er" if key == "fr" and local.day == 1 else local.day,
        month=words.months.split()[local.month - 1],
        time=f"{local:%H:%M}",
    )
    return Promise(local, day, text)


def _promise_day(days_ahead: int) -> PromiseDay:
    if days_ahead == 0:
        return "today"
    if days_ahead == 1:
        return "tomorrow"
    return "weekday" if 1 < days_ahead < 7 else "date"


def _utc(t: datetime, name: str) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} = {t.isoformat()} has no timezone; pass an aware datetime, e.g. in UTC")
    return t.astimezone(UTC)


def _instant(local: datetime, zone: ZoneInfo, *, last: bool) -> datetime:
    """The UTC moment a local wall time stands for, by the module's rules for skipped and repeated hours."""
    first = local.replace(tzinfo=zone).astimezone(UTC)
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return first
    if first < second:  # a repeated hour: the clock shows this time twice
        return second if last else first
    return _jump(zone, second, first)  # a skipped hour: this time never shows


def _jump(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The moment the clocks jump forward, between an instant before it and one after it (to the microsecond)."""
    offset = before.astimezone(zone).utcoffset()
    while after - before > timedelta(microseconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(zone).utcoffset() == offset:
            before = middle
        else:
            after = middle
    return after
