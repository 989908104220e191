"""The daily report: what the team's day was, counted from the store, as HTML, text and JSON.

Every number is SQL over the store's messages, verdicts and lifecycle events, for one day in the
team's timezone (23 or 25 hours when the clocks change), per channel (account) and in total. The
lifecycle's events are the facts counted: a case's **wait** starts with ``case.opened`` or
``case.reopened`` (at the customer's message), its **response** is the first ``reply.sent`` or
``case.answered`` after that, and it **ends** with ``case.answered`` or ``case.closed``. The README
("Daily report") defines each measure in these words; change both together.

Rates follow the waits that started on the day, as they stood at the end of the day, so a day's
report says the same whenever it is made. Times and the SLA follow what happened on the day: a
response made at 00:10 counts on the day it was made, however old its wait.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from jinja2 import Environment, StrictUndefined
from sqlalchemy.engine import Engine
from sqlmodel import Session

from socialcare import themes as theming
from socialcare.calendars import PRIORITIES, BusinessCalendar
from socialcare.config import Config
from socialcare.db import read_scope
from socialcare.errors import UserError
from socialcare.models import (
    Account,
    Case,
    Direction,
    Event,
    Identity,
    Message,
    Satisfaction,
    SatisfactionAnswer,
    Verdict,
    utcnow,
)

OPENED, REOPENED, ANSWERED, CLOSED, MISSED, SENT, HELD = (
    "case.opened",
    "case.reopened",
    "case.answered",
    "case.closed",
    "case.deadline_passed",
    "reply.sent",
    "reply.holding_sent",
)
CASE_EVENTS = (OPENED, REOPENED, ANSWERED, CLOSED, MISSED, SENT, HELD)
LABELS = ("negative", "neutral", "positive")
TREND_DAYS = 28
WAITING_LISTED = 20
TEXT_READ = 2000
"""Characters of a complaint read for themes and shown as an example (as the classifier reads)."""

_M = Message.__table__  # type: ignore[attr-defined]
_V = Verdict.__table__  # type: ignore[attr-defined]
_E = Event.__table__  # type: ignore[attr-defined]
_C = Case.__table__  # type: ignore[attr-defined]
_I = Identity.__table__  # type: ignore[attr-defined]
_A = Account.__table__  # type: ignore[attr-defined]
_S = Satisfaction.__table__  # type: ignore[attr-defined]


# -- the day and its hours ------------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    """One local day: from its midnight to the next, in UTC."""

    date: date
    zone: ZoneInfo
    start: datetime
    end: datetime

    @classmethod
    def of(cls, day: date, zone: ZoneInfo) -> Day:
        return cls(day, zone, midnight(day, zone), midnight(day + timedelta(days=1), zone))

    @property
    def hours(self) -> int:
        return round((self.end - self.start) / timedelta(hours=1))

    def hour_starts(self) -> list[datetime]:
        return [self.start + timedelta(hours=h) for h in range(self.hours)]


def midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def parse_day(text: str | None, zone: ZoneInfo, now: datetime | None = None) -> date:
    """``YYYY-MM-DD``, ``today`` or ``yesterday`` (the default) in the team's timezone; never a future day."""
    today = (now or utcnow()).astimezone(zone).date()
    if text in (None, "yesterday"):
        return today - timedelta(days=1)
    if text == "today":
        return today
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--date {text!r} is not a date; write YYYY-MM-DD, 'today' or 'yesterday'") from None
    if day > today:
        raise UserError(f"--date {day} has not happened yet (today is {today} in {zone.key})")
    return day


def _hour_index(column: sa.ColumnElement[Any], base: datetime, dialect: str) -> sa.ColumnElement[int]:
    """Whole hours from ``base`` to ``column``, computed by the database (UTC epoch seconds, no float drift)."""
    epoch = int(base.timestamp())
    if dialect == "sqlite":
        # unixepoch() (SQLite 3.38 and later) reads a day's rows a third faster than strftime('%s')
        modern = sqlite3.sqlite_version_info >= (3, 38)
        whole = sa.func.unixepoch(column) if modern else sa.cast(sa.func.strftime("%s", column), sa.Integer)
        return sa.cast((whole - sa.literal_column(str(epoch))) / 3600, sa.Integer)
    seconds = sa.extract("epoch", column) - sa.literal_column(str(epoch))
    return sa.cast(sa.func.floor(seconds / 3600), sa.Integer)


# -- figures --------------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest rank: the smallest value with at least ``share`` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Times:
    """Durations in seconds, on the wall clock and in the channel's open time."""

    wall: list[float] = field(default_factory=list)
    business: list[float] = field(default_factory=list)

    def add(self, wall: float, business: float) -> None:
        self.wall.append(max(0.0, wall))
        self.business.append(max(0.0, business))

    def extend(self, other: Times) -> None:
        self.wall += other.wall
        self.business += other.business

    def summary(self) -> dict[str, Any]:
        return {
            "count": len(self.wall),
            "median_s": percentile(self.wall, 0.5),
            "p90_s": percentile(self.wall, 0.9),
            "business_median_s": percentile(self.business, 0.5),
            "business_p90_s": percentile(self.business, 0.9),
        }


@dataclass
class Scope:
    """The day's figures for one channel, or for all of them."""

    messages: int = 0
    messages_previous_day: int = 0
    messages_last_week: int = 0
    new_cases: int = 0
    new_cases_previous_day: int = 0
    new_cases_last_week: int = 0
    reopened: int = 0
    responded: int = 0
    resolved: int = 0
    closed_without_reply: int = 0
    waiting_at_end: int = 0
    replies_sent: int = 0
    holding_sent: int = 0
    """Holding and after-hours replies: they tell the customer when, they answer nothing."""
    sla_hit: int = 0
    sla_missed: int = 0
    asked: int = 0
    """"Was this helpful?" follow-ups asked on the day."""
    helpful: int = 0
    """Answers on the day: yes, or a score of 4 or 5."""
    unhelpful: int = 0
    """No, or a score of 1 or 2; a 3 is neither."""
    rated: int = 0
    """Answers on the day other than "stop"."""
    score_total: int = 0
    scored: int = 0
    stopped: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    complaints_by_intent: Counter[str] = field(default_factory=Counter)
    complaints_by_language: Counter[str] = field(default_factory=Counter)
    hourly: list[int] = field(default_factory=list)
    first_response: Times = field(default_factory=Times)
    next_response: Times = field(default_factory=Times)
    resolution: Times = field(default_factory=Times)

    @property
    def received(self) -> int:
        return self.new_cases + self.reopened

    def add(self, other: Scope) -> None:
        for name, value in vars(other).items():
            mine = getattr(self, name)
            if isinstance(value, int):
                setattr(self, name, mine + value)
            elif isinstance(value, Counter):
                mine.update(value)
            elif isinstance(value, Times):
                mine.extend(value)
            elif isinstance(value, list):
                setattr(self, name, [a + b for a, b in zip(mine or [0] * len(value), value, strict=True)])

    def to_json(self) -> dict[str, Any]:
        classified = sum(self.labels[label] for label in LABELS)
        return {
            "messages": self.messages,
            "messages_previous_day": self.messages_previous_day,
            "messages_last_week": self.messages_last_week,
            "new_cases": self.new_cases,
            "new_cases_previous_day": self.new_cases_previous_day,
            "new_cases_last_week": self.new_cases_last_week,
            "reopened": self.reopened,
            "received": self.received,
            "responded": self.responded,
            "response_rate": ratio(self.responded, self.received),
            "resolved": self.resolved,
            "resolution_rate": ratio(self.resolved, self.received),
            "closed_without_reply": self.closed_without_reply,
            "waiting_at_end": self.waiting_at_end,
            "replies_sent": self.replies_sent,
            "holding_sent": self.holding_sent,
            "first_response": self.first_response.summary(),
            "next_response": self.next_response.summary(),
            "resolution_time": self.resolution.summary(),
            "sla": {
                "hit": self.sla_hit,
                "missed": self.sla_missed,
                "share": ratio(self.sla_hit, self.sla_hit + self.sla_missed),
            },
            "sentiment": {
                "classified": classified,
                "unclassified": self.labels["unclassified"],
                **{label: self.labels[label] for label in LABELS},
                **{f"{label}_share": ratio(self.labels[label], classified) for label in LABELS},
            },
            "satisfaction": {
                "asked": self.asked,
                "answered": self.rated + self.stopped,
                "helpful": self.helpful,
                "unhelpful": self.unhelpful,
                "helpful_share": ratio(self.helpful, self.rated),
                "scored": self.scored,
                "mean_score": ratio(self.score_total, self.scored),
                "stopped": self.stopped,
            },
            "complaints": {
                "count": sum(self.complaints_by_intent.values()),
                "by_intent": dict(self.complaints_by_intent.most_common()),
                "by_language": dict(self.complaints_by_language.most_common()),
            },
            "hourly": self.hourly,
        }


@dataclass
class TrendDay:
    date: date
    messages: int = 0
    negative: int = 0
    neutral: int = 0
    positive: int = 0
    complaints: int = 0

    @property
    def classified(self) -> int:
        return self.negative + self.neutral + self.positive


@dataclass
class Waiting:
    """A case still waiting for us when the day ended."""

    case_id: int
    channel: str
    since: datetime
    waited_s: float
    priority: str = ""
    handle: str = ""
    text: str = ""
    open_now: bool = False


@dataclass
class Example:
    text: str
    channel: str
    at: datetime
    url: str | None


@dataclass
class ThemeOut:
    phrase: str
    messages: int
    example: Example


@dataclass
class Report:
    day: Day
    made_at: datetime
    channels: dict[str, Scope]
    platforms: dict[str, str]
    clocks: dict[str, str]
    targets: dict[str, dict[str, float]]
    total: Scope
    trend: list[TrendDay]
    last_week_hourly: list[int]
    waiting: list[Waiting]
    themes: dict[str, list[ThemeOut]]

    @property
    def complete(self) -> bool:
        return self.made_at >= self.day.end

    def trend_share(self, days: int) -> float | None:
        window = self.trend[-days:]
        return ratio(sum(d.negative for d in window), sum(d.classified for d in window))

    def hour_labels(self) -> list[str]:
        return [f"{t.astimezone(self.day.zone):%H:%M}" for t in self.day.hour_starts()]

    def to_json(self) -> dict[str, Any]:
        zone = self.day.zone
        return {
            "date": self.day.date.isoformat(),
            "timezone": zone.key,
            "start": self.day.start.astimezone(zone).isoformat(),
            "end": self.day.end.astimezone(zone).isoformat(),
            "hours": self.day.hours,
            "complete": self.complete,
            "made_at": self.made_at.astimezone(zone).isoformat(),
            "total": self.total.to_json(),
            "channels": {
                name: {"platform": self.platforms[name], "clock": self.clocks[name], **scope.to_json()}
                for name, scope in self.channels.items()
            },
            "targets_s": self.targets,
            "hour_starts": [t.astimezone(zone).isoformat() for t in self.day.hour_starts()],
            "last_week_hourly": self.last_week_hourly,
            "trend": {
                "days": [
                    {
                        "date": d.date.isoformat(),
                        "messages": d.messages,
                        "classified": d.classified,
                        "negative": d.negative,
                        "neutral": d.neutral,
                        "positive": d.positive,
                        "complaints": d.complaints,
                        "negative_share": ratio(d.negative, d.classified),
                    }
                    for d in self.trend
                ],
                "negative_share_7d": self.trend_share(7),
                "negative_share_28d": self.trend_share(TREND_DAYS),
            },
            "waiting": {
                "count": self.total.waiting_at_end,
                "oldest": [{**asdict(w), "since": w.since.astimezone(zone).isoformat()} for w in self.waiting],
            },
            "themes": {
                language: [
                    {
                        "phrase": t.phrase,
                        "messages": t.messages,
                        "example": {**asdict(t.example), "at": t.example.at.astimezone(zone).isoformat()},
                    }
                    for t in found
                ]
                for language, found in self.themes.items()
            },
        }


# -- building it ----------------------------------------------------------------------------------


def build(
    engine: Engine,
    config: Config,
    day: date,
    *,
    now: datetime | None = None,
    calendars: Mapping[str, BusinessCalendar] | None = None,
) -> Report:
    """The report for ``day`` as the store has it now; ``calendars`` (by account name) give business time.

    By default they are the config's business calendars. A channel without one is open 24/7: its
    business time is its wall time, and it says so.
    """
    now = now or utcnow()
    zone = config.zone
    the_day = Day.of(day, zone)
    if calendars is None:
        calendars = {
            name: config.calendar_for(name) for name in config.accounts if config.calendar_for(name).settings.hours
        }
    with read_scope(engine) as session, _big_cache(session):
        accounts = session.execute(sa.select(_A.c.id, _A.c.name, _A.c.platform).order_by(_A.c.id)).all()
        names = {row.id: row.name for row in accounts}
        scopes = {row.name: Scope(hourly=[0] * the_day.hours) for row in accounts}
        trend = _volume(session, the_day, names, scopes)
        _new_cases(session, the_day, names, scopes)
        _complaints(session, the_day, names, scopes)
        _satisfaction(session, the_day, names, scopes)
        waits = _lifecycle(session, the_day, min(the_day.end, now), names, scopes, calendars)
        waiting = _waiting(session, waits, min(the_day.end, now), names)
        found = _themes(session, the_day, names, config.report.themes)
    total = Scope(hourly=[0] * the_day.hours)
    for scope in scopes.values():
        total.add(scope)
    active = {name: scope for name, scope in scopes.items() if name in config.accounts or _anything(scope)}
    return Report(
        day=the_day,
        made_at=now,
        channels=active,
        platforms={row.name: row.platform for row in accounts},
        clocks={name: _clock(calendars.get(name)) for name in active},
        targets={name: _targets(config, name) for name in active},
        total=total,
        trend=trend[0],
        last_week_hourly=trend[1],
        waiting=waiting,
        themes=found,
    )


@contextmanager
def _big_cache(session: Session) -> Iterator[None]:
    """SQLite reads a day's rows through its page cache: 64 MB instead of 2 MB for the report, then back."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    connection = session.connection()
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql("PRAGMA cache_size = -65536")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")


def _anything(scope: Scope) -> bool:
    return any(v for v in vars(scope).values() if isinstance(v, int)) or bool(scope.labels)


def _clock(calendar: BusinessCalendar | None) -> str:
    return f"business hours ({calendar.zone.key})" if calendar is not None else "24/7"


def _targets(config: Config, account: str) -> dict[str, float]:
    targets = config.targets_for(account)
    return {p: targets.first_response(p).total_seconds() for p in PRIORITIES}


def _volume(
    session: Session, day: Day, names: Mapping[int, str], scopes: Mapping[str, Scope]
) -> tuple[list[TrendDay], list[int]]:
    """Inbound messages by hour, channel and verdict over the 28 days that end with the day."""
    first = day.date - timedelta(days=TREND_DAYS - 1)
    base = midnight(first, day.zone)
    dialect = session.get_bind().dialect.name
    hour = _hour_index(_M.c.created_at, base, dialect).label("hour")
    rows = session.execute(
        sa.select(hour, _M.c.account_id, _V.c.label, _V.c.is_complaint, sa.func.count())
        .select_from(_M.outerjoin(_V, _V.c.message_id == _M.c.id))
        .where(_M.c.direction == Direction.INBOUND, _M.c.created_at >= base, _M.c.created_at < day.end)
        .group_by(hour, _M.c.account_id, _V.c.label, _V.c.is_complaint)
    ).all()
    days = {first + timedelta(days=i): TrendDay(first + timedelta(days=i)) for i in range(TREND_DAYS)}
    local_of = _hour_days(base, day.end, day.zone)
    offset = round((day.start - base) / timedelta(hours=1))
    last_week = [0] * 24
    for h, account_id, label, is_complaint, n in rows:
        moment, local_day = local_of[h]
        scope = scopes[names[account_id]]
        trend_day = days[local_day]
        trend_day.messages += n
        if label in LABELS:
            setattr(trend_day, label, getattr(trend_day, label) + n)
        trend_day.complaints += n if is_complaint else 0
        if local_day == day.date:
            scope.messages += n
            scope.hourly[h - offset] += n
            scope.labels[label if label in LABELS else "unclassified"] += n
        elif local_day == day.date - timedelta(days=1):
            scope.messages_previous_day += n
        elif local_day == day.date - timedelta(days=7):
            scope.messages_last_week += n
            last_week[moment.astimezone(day.zone).hour] += n
    return [days[d] for d in sorted(days)], last_week


def _hour_days(base: datetime, end: datetime, zone: ZoneInfo) -> dict[int, tuple[datetime, date]]:
    """Each hour index from ``base``: its start and the local day it belongs to."""
    hours = round((end - base) / timedelta(hours=1))
    return {h: (t, t.astimezone(zone).date()) for h in range(hours) for t in [base + timedelta(hours=h)]}


def _new_cases(session: Session, day: Day, names: Mapping[int, str], scopes: Mapping[str, Scope]) -> None:
    """Cases opened on the day, the day before and the same weekday a week before, per channel."""
    for back, field_name in ((0, "new_cases"), (1, "new_cases_previous_day"), (7, "new_cases_last_week")):
        other = Day.of(day.date - timedelta(days=back), day.zone)
        rows = session.execute(
            sa.select(_E.c.account_id, sa.func.count())
            .where(_E.c.kind == OPENED, _E.c.at >= other.start, _E.c.at < other.end)
            .group_by(_E.c.account_id)
        ).all()
        for account_id, n in rows:
            scope = scopes[names[account_id]]
            setattr(scope, field_name, getattr(scope, field_name) + n)


def _complaints(session: Session, day: Day, names: Mapping[int, str], scopes: Mapping[str, Scope]) -> None:
    language = sa.func.coalesce(_V.c.language, _M.c.language, "unknown")
    rows = session.execute(
        sa.select(_M.c.account_id, _V.c.intent, language, sa.func.count())
        .select_from(_M.join(_V, _V.c.message_id == _M.c.id))
        .where(
            _M.c.direction == Direction.INBOUND,
            _M.c.created_at >= day.start,
            _M.c.created_at < day.end,
            _V.c.is_complaint.is_(True),
        )
        .group_by(_M.c.account_id, _V.c.intent, language)
    ).all()
    for account_id, intent, lang, n in rows:
        scope = scopes[names[account_id]]
        scope.complaints_by_intent[intent] += n
        scope.complaints_by_language[lang] += n


@dataclass
class _Wait:
    case_id: int
    channel: str
    start: datetime
    first: bool
    responded: datetime | None = None
    ended: datetime | None = None
    missed: bool = False


def _satisfaction(session: Session, day: Day, names: Mapping[int, str], scopes: Mapping[str, Scope]) -> None:
    """Follow-ups asked on the day, and the answers that came on the day (to any day's question)."""
    account = sa.select(_C.c.account_id).where(_C.c.id == _S.c.case_id).scalar_subquery()
    asked = session.execute(
        sa.select(account.label("account_id"), sa.func.count())
        .where(_S.c.asked_at >= day.start, _S.c.asked_at < day.end)
        .group_by("account_id")
    )
    for account_id, n in asked:
        scopes[names[account_id]].asked += n
    answers = session.execute(
        sa.select(account.label("account_id"), _S.c.answer, _S.c.score).where(
            _S.c.answered_at >= day.start, _S.c.answered_at < day.end, _S.c.answer.is_not(None)
        )
    )
    for account_id, answer, score in answers:
        scope = scopes[names[account_id]]
        if answer == SatisfactionAnswer.STOP:
            scope.stopped += 1
            continue
        scope.rated += 1
        if score is not None:
            scope.scored += 1
            scope.score_total += score
        if answer == SatisfactionAnswer.YES or (score or 0) >= 4:
            scope.helpful += 1
        elif answer == SatisfactionAnswer.NO or (score is not None and score <= 2):
            scope.unhelpful += 1


def _lifecycle(
    session: Session,
    day: Day,
    cut: datetime,
    names: Mapping[int, str],
    scopes: Mapping[str, Scope],
    calendars: Mapping[str, BusinessCalendar],
) -> list[_Wait]:
    """Walk each case's events in order: the day's waits, responses, ends and deadlines; returns waits open at ``cut``.

    Only cases with an event on the day, or still waiting at its end (open now, or ended after it), are read.
    """
    on_day = sa.select(_E.c.case_id).where(_E.c.kind.in_(CASE_EVENTS), _E.c.at >= day.start, _E.c.at < day.end)
    ended_after = sa.select(_E.c.case_id).where(_E.c.kind.in_((ANSWERED, CLOSED)), _E.c.at >= cut)
    open_now = sa.select(_C.c.id).where(_C.c.status == "open")
    wanted = sa.union(on_day, ended_after, open_now).subquery()
    cases: sa.ColumnElement[bool] = _E.c.case_id.in_(sa.select(wanted.c.case_id))
    if session.get_bind().dialect.name == "postgresql":  # one array, then the case_id index (not a scan of all events)
        ids = sa.select(sa.func.array_agg(wanted.c.case_id)).scalar_subquery()
        cases = _E.c.case_id == sa.any_(sa.cast(ids, sa.ARRAY(sa.Integer)))
    rows = session.execute(
        sa.select(_E.c.case_id, _E.c.kind, sa.type_coerce(_E.c.at, sa.String), _E.c.account_id)
        .where(_E.c.kind.in_(CASE_EVENTS), cases)
        .order_by(_E.c.case_id, _E.c.id)
    ).all()

    def on(at: datetime) -> bool:
        return day.start <= at < day.end

    def spent(wait: _Wait, at: datetime) -> tuple[float, float]:
        calendar = calendars.get(wait.channel)
        wall = (at - wait.start).total_seconds()
        return wall, calendar.between(wait.start, at).total_seconds() if calendar is not None else wall

    waiting_at_cut: list[_Wait] = []
    case_id: int | None = None
    wait: _Wait | None = None  # the case's current wait
    standing: _Wait | None = None  # its wait as it stood at the cut
    channel = ""
    for row_case, kind, raw_at, account_id in rows:
        if row_case != case_id:
            if standing is not None and standing.ended is None:
                waiting_at_cut.append(standing)
            case_id, wait, standing = row_case, None, None
            channel = names[account_id]  # the case's first event (case.opened) always names its account
        at = _instant(raw_at)
        scope = scopes[channel]
        if kind in (OPENED, REOPENED):
            wait = _Wait(row_case, channel, at, first=kind == OPENED)
            if at < cut:
                standing = wait
            if on(at) and kind == REOPENED:
                scope.reopened += 1  # new cases are counted by _new_cases, with the previous day and last week
            continue
        if kind == HELD:
            scope.holding_sent += on(at)
            continue
        if kind == SENT and on(at):
            scope.replies_sent += 1
        if kind == MISSED:
            if on(at):
                scope.sla_missed += 1
            if wait is not None:
                wait.missed = True
            continue
        if wait is None:
            continue  # an answered case being closed, say: nothing of the customer's was waiting
        if kind in (SENT, ANSWERED) and wait.responded is None:
            wait.responded = at
            if on(at):
                (scope.first_response if wait.first else scope.next_response).add(*spent(wait, at))
            if on(wait.start) and at < cut:
                scope.responded += 1
        if kind in (ANSWERED, CLOSED):
            if on(at):
                scope.resolution.add(*spent(wait, at))
                if kind == ANSWERED and not wait.missed:
                    scope.sla_hit += 1
            if at < cut:
                wait.ended = at
                if on(wait.start):
                    scope.resolved += 1
                    if kind == CLOSED and wait.responded is None:
                        scope.closed_without_reply += 1
            wait = None
    if standing is not None and standing.ended is None:
        waiting_at_cut.append(standing)
    for waited in waiting_at_cut:
        scopes[waited.channel].waiting_at_end += 1
    return sorted(waiting_at_cut, key=lambda w: (w.start, w.case_id))


def _instant(value: str | datetime) -> datetime:
    """An event time read raw: SQLite's stored text parsed in C (about 3x faster than the column type), or as given."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _waiting(session: Session, waits: Sequence[_Wait], cut: datetime, names: Mapping[int, str]) -> list[Waiting]:
    """The oldest waits at the end of the day, with who waits, on what, and whether they still do."""
    listed = [Waiting(w.case_id, w.channel, w.start, (cut - w.start).total_seconds()) for w in waits[:WAITING_LISTED]]
    if not listed:
        return []
    ids = [w.case_id for w in listed]
    cases = {
        row.id: row
        for row in session.execute(
            sa.select(_C.c.id, _C.c.status, _C.c.priority, _I.c.handle)
            .join(_I, _I.c.id == _C.c.identity_id)
            .where(_C.c.id.in_(ids))
        )
    }
    latest = (
        sa.select(sa.func.max(_M.c.id))
        .where(_M.c.case_id.in_(ids), _M.c.direction == Direction.INBOUND, _M.c.created_at < cut)
        .group_by(_M.c.case_id)
    )
    texts = dict(
        session.execute(
            sa.select(_M.c.case_id, sa.func.substr(_M.c.text, 1, TEXT_READ)).where(_M.c.id.in_(latest))
        ).all()
    )
    for item in listed:
        case = cases[item.case_id]
        item.priority, item.handle, item.open_now = case.priority, case.handle, case.status == "open"
        item.text = texts.get(item.case_id, "")
    return listed


def _themes(session: Session, day: Day, names: Mapping[int, str], limit: int) -> dict[str, list[ThemeOut]]:
    """The day's complaint themes per language (the verdict's, else the platform's), most shared first."""
    language = sa.func.coalesce(_V.c.language, _M.c.language, "unknown")
    rows = session.execute(
        sa.select(language, sa.func.substr(_M.c.text, 1, TEXT_READ), _V.c.score_negative, _M.c.id)
        .select_from(_M.join(_V, _V.c.message_id == _M.c.id))
        .where(
            _M.c.direction == Direction.INBOUND,
            _M.c.created_at >= day.start,
            _M.c.created_at < day.end,
            _V.c.is_complaint.is_(True),
        )
        .order_by(_M.c.id)
    ).all()
    by_language: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_language[row[0]].append(row)
    picked: dict[str, list[tuple[theming.Theme, Any]]] = {}
    for lang in sorted(by_language, key=lambda k: (-len(by_language[k]), k)):
        group = by_language[lang]
        found = theming.top_themes([r[1] for r in group], [r[2] for r in group], limit=limit)
        if found:
            picked[lang] = [(theme, group[theme.example]) for theme in found]
    wanted = {row[3] for themes in picked.values() for _, row in themes}
    examples = {
        row.id: Example(row.text, names[row.account_id], row.created_at, row.url)
        for row in session.execute(
            sa.select(
                _M.c.id,
                sa.func.substr(_M.c.text, 1, TEXT_READ).label("text"),
                _M.c.account_id,
                _M.c.created_at,
                _M.c.url,
            ).where(_M.c.id.in_(wanted))
        )
    }
    return {
        lang: [ThemeOut(theme.phrase, theme.messages, examples[row[3]]) for theme, row in themes]
        for lang, themes in picked.items()
    }


# -- showing it -----------------------------------------------------------------------------------


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2)


def duration(seconds: float | None) -> str:
    """``45 s``, ``12 min``, ``1 h 05``, ``2 d 3 h``: short enough for a tile."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if seconds < 60:
        return f"{round(seconds)} s"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60:02d}"
    hours = round(seconds / 3600)
    return f"{hours // 24} d {hours % 24} h"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


def change(now: int, before: int) -> dict[str, Any]:
    """How ``now`` compares with ``before``: text like ``+12 %`` and a direction for colour."""
    if before == 0:
        return {"text": "new" if now else "same", "way": "up" if now else "flat"}
    step = (now - before) / before
    way = "flat" if abs(step) < 0.005 else ("up" if step > 0 else "down")
    return {"text": f"{step:+.0%}".replace("%", " %"), "way": way}


def points(now: float | None, before: float | None) -> dict[str, Any]:
    """A share against another, in percentage points."""
    if now is None or before is None:
        return {"text": "—", "way": "flat"}
    step = round((now - before) * 100)
    return {"text": f"{step:+d} pts", "way": "flat" if step == 0 else ("up" if step > 0 else "down")}


def tone(share: float | None) -> str:
    """How a share of deadlines kept reads at a glance: 90 % and more is fine, under 75 % is bad."""
    if share is None:
        return ""
    return "ok" if share >= 0.9 else ("meh" if share >= 0.75 else "bad")


def _environment(autoescape: bool) -> Environment:
    env = Environment(autoescape=autoescape, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(duration=duration, percent=percent, number=lambda n: f"{n:,}".replace(",", "\u202f"), clip=_clip)
    env.globals.update(change=change, points=points, tone=tone)
    return env


HTML_TEMPLATE = resources.files("socialcare") / "report.html.j2"
TEXT_TEMPLATE = resources.files("socialcare") / "report.txt.j2"


def render_html(report: Report, images: Mapping[str, str]) -> str:
    """The report as one HTML page; ``images`` maps each chart's name to its ``src`` (a ``cid:`` or a data URI).

    Everything from the store is autoescaped: customer text is shown, never interpreted.
    """
    return _render(HTML_TEMPLATE, report, images, autoescape=True)


def _render(template: Any, report: Report, images: Mapping[str, str], *, autoescape: bool) -> str:
    return (
        _environment(autoescape)
        .from_string(template.read_text(encoding="utf-8"))
        .render(
            r=report,
            j=report.to_json(),
            images=images,
            weekday=_weekday,
            one_day=timedelta(days=1),
            week=timedelta(days=7),
            business=any(clock != "24/7" for clock in report.clocks.values()),
        )
    )


def _weekday(day: date) -> str:
    return f"{day:%a}"


def subject(report: Report) -> str:
    j = report.total.to_json()
    n = report.total.messages
    parts = [f"{n:,} message{'' if n == 1 else 's'}"]
    if j["sla"]["share"] is not None:
        parts.append(f"{percent(j['sla']['share'])} answered in time")
    if j["sentiment"]["negative_share"] is not None:
        parts.append(f"{percent(j['sentiment']['negative_share'])} negative")
    return f"Care report {report.day.date:%a %d %b %Y}: " + ", ".join(parts)


def render_text(report: Report) -> str:
    """The plain-text part: the same figures, for clients that show no HTML and for the terminal."""
    return _render(TEXT_TEMPLATE, report, {}, autoescape=False)


def _clip(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def charts(report: Report) -> dict[str, bytes]:
    """The report's charts as PNG images, by name (matplotlib is imported only here)."""
    from socialcare import charts as drawing

    return drawing.draw_all(report)


def email(config: Config, report: Report, images: Mapping[str, bytes] | None = None) -> str:
    """Send the report to ``[smtp] to``: text, HTML, and the charts as ``cid:`` parts; returns the Message-ID."""
    from socialcare.mail import send_mail

    pngs = images if images is not None else charts(report)
    cids = {name: f"{name}.{report.day.date:%Y%m%d}@socialcare" for name in pngs}
    html = render_html(report, {name: f"cid:{cid}" for name, cid in cids.items()})
    return send_mail(
        config,
        subject(report),
        render_text(report),
        html=html,
        images={cids[name]: png for name, png in pngs.items()},
    )


def data_uris(images: Mapping[str, bytes]) -> dict[str, str]:
    from base64 import b64encode

    return {name: "data:image/png;base64," + b64encode(png).decode() for name, png in images.items()}


# -- the daemon's side: when the report is due, and spikes -----------------------------------------


def due_at(config: Config, day: date) -> datetime:
    """When the report for ``day`` goes out: ``[report] send_at`` on the next day, in the team's time."""
    return datetime.combine(day + timedelta(days=1), config.report.send_at, tzinfo=config.zone).astimezone(UTC)


def first_day(config: Config, now: datetime) -> date:
    """The first day to report when the daily report is switched on: the latest whose send time is still ahead."""
    today = now.astimezone(config.zone).date()
    yesterday = today - timedelta(days=1)
    return yesterday if now < due_at(config, yesterday) else today


def send_daily(config: Config, engine: Engine, day: date, now: datetime | None = None) -> str:
    """Build the report for ``day`` and email it; returns the Message-ID."""
    return email(config, build(engine, config, day, now=now))


@dataclass
class Driver:
    """A negative message behind a spike."""

    text: str
    channel: str
    handle: str
    at: datetime
    url: str | None
    negative: float


@dataclass
class SpikeReading:
    """The last hour's negative share against the same hour of the 28 days before (both pooled)."""

    start: datetime
    end: datetime
    zone: ZoneInfo
    classified: int
    negative: int
    baseline_classified: int
    baseline_negative: int
    drivers: list[Driver] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        return ratio(self.negative, self.classified)

    @property
    def baseline(self) -> float | None:
        return ratio(self.baseline_negative, self.baseline_classified)

    def is_spike(self, margin: float, least: int) -> bool:
        """Enough messages now and in the baseline, and a negative share at least ``margin`` above it."""
        if self.classified < least or self.baseline_classified < least:
            return False
        assert self.share is not None and self.baseline is not None
        return self.share >= self.baseline + margin

    def is_over(self, margin: float, least: int) -> bool:
        """Back within half the margin, or too few messages to say: a new rise after this is a new spike."""
        if self.classified < least or self.baseline is None:
            return True
        assert self.share is not None
        return self.share < self.baseline + margin / 2


SPIKE_DRIVERS = 20


def read_spike(engine: Engine, config: Config, now: datetime) -> SpikeReading:
    """The hour up to ``now``; the baseline is the same local clock hour on each of the 28 days before."""
    zone = config.zone
    local = now.astimezone(zone)
    ends = [(local - timedelta(days=k)).replace(tzinfo=None) for k in range(1, TREND_DAYS + 1)]
    windows = [
        (end - timedelta(hours=1), end)
        for end in (datetime.combine(e.date(), e.time(), tzinfo=zone).astimezone(UTC) for e in ends)
    ]
    start = now - timedelta(hours=1)
    with read_scope(engine) as session:
        current = _labels_in(session, sa.and_(_M.c.created_at >= start, _M.c.created_at < now))
        past = _labels_in(session, sa.or_(*(sa.and_(_M.c.created_at >= a, _M.c.created_at < b) for a, b in windows)))
        rows = session.execute(
            sa.select(
                sa.func.substr(_M.c.text, 1, TEXT_READ),
                _A.c.name,
                _M.c.author_handle,
                _M.c.created_at,
                _M.c.url,
                _V.c.score_negative,
            )
            .select_from(_M.join(_V, _V.c.message_id == _M.c.id).join(_A, _A.c.id == _M.c.account_id))
            .where(
                _M.c.direction == Direction.INBOUND,
                _M.c.created_at >= start,
                _M.c.created_at < now,
                _V.c.label == "negative",
            )
            .order_by(_V.c.score_negative.desc(), _M.c.created_at, _M.c.id)
            .limit(SPIKE_DRIVERS)
        ).all()
    return SpikeReading(
        start,
        now,
        zone,
        classified=sum(current.values()),
        negative=current["negative"],
        baseline_classified=sum(past.values()),
        baseline_negative=past["negative"],
        drivers=[Driver(*row) for row in rows],
    )


def _labels_in(session: Session, when: sa.ColumnElement[bool]) -> Counter[str]:
    rows = session.execute(
        sa.select(_V.c.label, sa.func.count())
        .select_from(_M.join(_V, _V.c.message_id == _M.c.id))
        .where(_M.c.direction == Direction.INBOUND, when, _V.c.label.in_(LABELS))
        .group_by(_V.c.label)
    ).all()
    return Counter(dict(rows))


SPIKE_TEMPLATE = resources.files("socialcare") / "spike.html.j2"


def send_spike_alert(config: Config, reading: SpikeReading) -> str:
    """Email the team that negative messages rose, with the messages behind it (escaped in the HTML)."""
    from socialcare.mail import send_mail

    zone = reading.zone
    span = f"{reading.start.astimezone(zone):%H:%M}–{reading.end.astimezone(zone):%H:%M}"
    subject_line = (
        f"Alert: {percent(reading.share)} negative messages {span} (usually {percent(reading.baseline)} at this hour)"
    )
    lines = [
        f"{reading.negative:,} of {reading.classified:,} messages from {span} ({zone.key}) were negative: "
        f"{percent(reading.share)}, against {percent(reading.baseline)} at this hour over the last {TREND_DAYS} days "
        f"({reading.baseline_negative:,} of {reading.baseline_classified:,}).",
        "",
        "The most negative of them:",
    ]
    lines += [
        f"- {d.at.astimezone(zone):%H:%M} {d.channel} @{d.handle}: {_clip(d.text, 200)}"
        + (f" <{d.url}>" if d.url else "")
        for d in reading.drivers
    ]
    env = _environment(autoescape=True)
    html = env.from_string(SPIKE_TEMPLATE.read_text(encoding="utf-8")).render(
        s=reading, span=span, subject=subject_line, days=TREND_DAYS
    )
    return send_mail(config, subject_line, "\n".join(lines) + "\n", html=html)
