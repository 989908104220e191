"""Capacity planning: replay real conversations through the product on a simulated clock, with simulated agents.

A file in the public "Customer Support on Twitter" format (tweet_id, author_id, inbound, created_at,
text, response_tweet_id, in_response_to_tweet_id) is replayed: each customer tweet is posted on a
sandbox channel at its own time, and the product's own code — poll, classify, triage, holding replies,
deadlines, outbox — runs on a temporary store while ``utcnow()`` reads the simulated clock
(``connectors.base.clock``). Time jumps from one thing that happens to the next (a tweet, an agent
finishing, a work item falling due), so days of traffic take seconds. Agents take the queue's most
urgent draft, spend the handle time on it and approve it, as a person would with ``socialcare approve``.

The brand's tweets in the file are not replayed: they are what we compare with. Each customer tweet
counts once, answered by the brand in the file or not.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import tempfile
import time as wallclock
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from connectors.base import clock
from connectors.sandbox import SandboxConnector
from sentiment.base import Classifier
from socialcare import cases, db, triage, work
from socialcare import config as configuration
from socialcare.app import App
from socialcare.config import Config, parse_time_of_day
from socialcare.durations import parse_duration
from socialcare.errors import UserError
from socialcare.models import Account, Message, Priority, Reply, ReplyKind, ReplyStatus, Verdict, WorkItem
from socialcare.report import duration, percentile
from socialcare.worker import CARE_LANE, POLL_LANE, SEND_LANE, Worker, reconcile

HANDLE = "socialcare-replay"
"""Our account on the replay's sandbox: no customer in a Twitter file has this name."""
ACCOUNT = "replay"
DRAIN = timedelta(days=7)
"""How long after the last customer tweet the team goes on answering what still waits."""
MOST_AGENTS = 64
"""``--agents auto`` looks no further: a team this size that misses the target has another problem."""
GOAL = 0.99
log = logging.getLogger(__name__)
TEAM_KEYS = ("timezone", "language", "templates", "targets", "calendar", "holding", "sentiment")
"""The parts of the team's config a replay uses; accounts, store, mail, reports and escalation are its own."""
_TIME_FORMAT = "%a %b %d %H:%M:%S %z %Y"
_COLUMNS = ("tweet_id", "author_id", "inbound", "created_at", "text", "response_tweet_id", "in_response_to_tweet_id")


# -- the file -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tweet:
    id: str
    author: str
    inbound: bool
    created_at: datetime
    text: str
    in_response_to: str | None


def read_replay(path: Path) -> list[Tweet]:
    """Every row of the file, oldest first; a row that is not the format is an error naming its line."""
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None
    tweets = []
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise UserError(f"{path} is not a Customer Support on Twitter file: no column {', '.join(missing)}")
        for row in reader:
            try:
                created = datetime.strptime(row["created_at"], _TIME_FORMAT)
            except ValueError:
                raise UserError(
                    f"{path}:{reader.line_num}: created_at {row['created_at']!r} is not like "
                    "'Tue Oct 10 23:30:06 +0000 2017'"
                ) from None
            inbound = row["inbound"].strip().lower()
            if inbound not in ("true", "false"):
                raise UserError(f"{path}:{reader.line_num}: inbound is {row['inbound']!r}, not True or False")
            tweets.append(
                Tweet(
                    id=row["tweet_id"].strip(),
                    author=row["author_id"].strip(),
                    inbound=inbound == "true",
                    created_at=created,
                    text=row["text"],
                    in_response_to=row["in_response_to_tweet_id"].strip() or None,
                )
            )
    return sorted(tweets, key=lambda t: (t.created_at, t.id))


def brand_answers(tweets: Sequence[Tweet]) -> dict[str, datetime]:
    """Each customer tweet's first answer by the brand in the file, where there is one."""
    inbound = {t.id for t in tweets if t.inbound}
    answers: dict[str, datetime] = {}
    for tweet in tweets:  # oldest first: the first one seen is the first answer
        if not tweet.inbound and tweet.in_response_to in inbound:
            answers.setdefault(tweet.in_response_to, tweet.created_at)
    return answers


# -- the team -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shift:
    """Working hours every day, in the team's timezone; an end before the start runs past midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Shift:
        first, sep, last = text.partition("-")
        try:
            if not sep:
                raise ValueError(text)
            return cls(parse_time_of_day(first), time(0) if last.strip() == "24:00" else parse_time_of_day(last))
        except ValueError:
            raise UserError(f"shift {text!r} is not like 09:00-17:00") from None

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{'24:00' if self.end == time(0) else f'{self.end:%H:%M}'}"

    def on(self, at: datetime, config: Config) -> bool:
        local = at.astimezone(config.zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # past midnight, or 00:00-24:00 (always)

    def next_start(self, after: datetime, config: Config) -> datetime:
        local = after.astimezone(config.zone)
        start = datetime.combine(local.date(), self.start, config.zone)
        return start if start > local else datetime.combine(local.date() + timedelta(days=1), self.start, config.zone)


@dataclass
class Agent:
    name: str
    shift: Shift
    case_id: int | None = None
    done_at: datetime | None = None
    reject: str | None = None
    """Why the case in hand is to be rejected, when the product suggested it (no draft then)."""


@dataclass(frozen=True)
class Team:
    agents: int
    handle_time: timedelta
    shifts: tuple[Shift, ...]

    def people(self) -> list[Agent]:
        """Agents share the shifts in turn: with two shifts, agent 1 works the first, agent 2 the second."""
        return [Agent(f"agent-{i + 1}", self.shifts[i % len(self.shifts)]) for i in range(self.agents)]


# -- the outcome ----------------------------------------------------------------------------------


@dataclass
class Side:
    """How one team did: answered, within target, first-response times (seconds)."""

    answered: int = 0
    within_target: int = 0
    times: list[float] = field(default_factory=list)

    def summary(self, total: int) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "answered_share": self.answered / total if total else None,
            "within_target": self.within_target,
            "within_target_share": self.within_target / total if total else None,
            "first_response_median_s": percentile(self.times, 0.5),
            "first_response_p90_s": percentile(self.times, 0.9),
        }


@dataclass
class Outcome:
    messages: int
    agents: int
    handle_time_s: float
    shifts: list[str]
    ours: Side
    brand: Side
    held: int
    """Customer tweets that had a holding or after-hours reply before their answer (or instead of one)."""
    simulated_from: datetime
    simulated_to: datetime
    wall_s: float

    @property
    def within_share(self) -> float:
        return self.ours.within_target / self.messages if self.messages else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in asdict(self).items() if k not in ("ours", "brand", "simulated_from", "simulated_to")},
            "simulated_from": self.simulated_from.isoformat(),
            "simulated_to": self.simulated_to.isoformat(),
            "ours": self.ours.summary(self.messages),
            "brand": self.brand.summary(self.messages),
        }


# -- the run --------------------------------------------------------------------------------------


class SimulatedClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def team_config(path: Path | None) -> dict[str, Any]:
    """What of the team's config the replay keeps: calendar, targets, holding replies, language, templates,
    classifier. Accounts, store, mail and reports are the replay's own (none of them)."""
    if path is None:
        return {}
    data = tomllib.loads(configuration.load(path).path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if k in TEAM_KEYS}


def replay_config(team: dict[str, Any], path: Path, folder: Path) -> Config:
    """The team's settings over a throwaway store and one sandbox account, never the team's own store."""
    data = {
        **team,
        "database_url": f"sqlite:///{folder / 'replay.db'}",
        "accounts": {
            ACCOUNT: {"platform": "sandbox", "path": str(folder / "sandbox.json"), "handle": HANDLE, "page_size": 500}
        },
    }
    config = configuration.parse(data, path)
    return config.model_copy(update={"database_url": data["database_url"]})  # SOCIALCARE_DATABASE_URL is ignored


def simulate(
    tweets: Sequence[Tweet],
    team: Team,
    settings: dict[str, Any],
    config_path: Path,
    classifier: Classifier | None = None,
    speed: float | None = None,
) -> Outcome:
    """One replay with one team; ``speed`` (say 600) paces the clock against the wall's, None runs flat out."""
    customers = [t for t in tweets if t.inbound]
    if not customers:
        raise UserError("the file has no customer tweets (inbound = True) to replay")
    started = wallclock.monotonic()
    simulated = SimulatedClock(customers[0].created_at)
    with tempfile.TemporaryDirectory(prefix="socialcare-simulate-") as folder, clock(simulated):
        config = replay_config(settings, config_path, Path(folder))
        app = App(config)
        if classifier is not None:
            app.__dict__["classifier"] = classifier
        db.upgrade(app.engine)
        app.sync_accounts()
        reconcile(app, simulated.now)
        run = _Run(app, team, tweets, simulated)
        run.until_done(speed)
        outcome = run.outcome(tweets, wallclock.monotonic() - started)
        app.engine.dispose()
    return outcome


class _Run:
    """The replay's moving parts: the channel, the product's worker, the agents, what is still to come."""

    def __init__(self, app: App, team: Team, tweets: Sequence[Tweet], simulated: SimulatedClock) -> None:
        self.app, self.team, self.clock = app, team, simulated
        connector = app.channels[ACCOUNT]
        assert isinstance(connector, SandboxConnector)
        self.channel = connector
        self.worker = Worker(app, work.worker_id("simulate"))
        self.agents = team.people()
        self.coming = [t for t in tweets if t.inbound]
        self.posts: dict[str, str] = {}
        """Tweet id to the sandbox post it became."""
        self.parents = {t.id: t.in_response_to for t in tweets}
        self.waiting = False
        """A draft waited for an agent when agents were last given work."""

    def until_done(self, speed: float | None) -> None:
        end = self.coming[-1].created_at + DRAIN
        while True:
            now = self.clock.now
            self._arrivals(now)
            self._finish(now)
            for lane in (POLL_LANE, CARE_LANE, SEND_LANE):
                self.worker.run_due(lane, now)
            self._assign(now)
            upcoming = self._next()
            if upcoming is None or upcoming > end:
                return
            if speed:
                wallclock.sleep((upcoming - now).total_seconds() / speed)
            self.clock.now = max(upcoming, now + timedelta(seconds=1))

    def _arrivals(self, now: datetime) -> None:
        while self.coming and self.coming[0].created_at <= now:
            tweet = self.coming.pop(0)
            self.posts[tweet.id] = self.channel.post(tweet.author, tweet.text, reply_to=self._parent(tweet))

    def _parent(self, tweet: Tweet) -> str | None:
        """The customer's earlier tweet this one continues (under a brand tweet, the customer tweet that one
        answered): the brand's tweets are not replayed, ours take their place."""
        seen: set[str] = set()
        parent = tweet.in_response_to
        while parent is not None and parent not in self.posts and parent not in seen:
            seen.add(parent)
            parent = self.parents.get(parent)
        return self.posts.get(parent) if parent is not None else None

    def _finish(self, now: datetime) -> None:
        """Agents whose handle time is up approve the draft they worked on (unless it was settled meanwhile)."""
        for agent in self.agents:
            if agent.done_at is None or agent.done_at > now:
                continue
            assert agent.case_id is not None
            try:
                with db.session_scope(self.app.engine) as session:
                    if agent.reject is not None:
                        cases.reject(session, agent.case_id, agent.name, agent.reject)
                    else:  # read by a person: approved as it is, over the tone guard if it objects (audited)
                        cases.approve(
                            session, agent.case_id, agent.name, self.channel, guard=self.app.approval_guard, force=True
                        )
            except UserError as err:  # answered on the platform meanwhile: the agent's time was spent all the same
                log.debug("%s: case %s was settled before they finished: %s", agent.name, agent.case_id, err)
            agent.case_id, agent.done_at, agent.reject = None, None, None

    def _assign(self, now: datetime) -> None:
        free = [a for a in self.agents if a.case_id is None and a.shift.on(now, self.app.config)]
        taken = {a.case_id for a in self.agents if a.case_id is not None}
        with db.read_scope(self.app.engine) as session:
            rows = cases.queue(session, cases.QueueFilter(status="open", limit=len(self.agents) * 2 + 50), now)
        work_on = [
            (r["id"], None if r["reply_status"] == ReplyStatus.DRAFT else r["suggestion"])
            for r in rows
            if r["id"] not in taken and (r["reply_status"] == ReplyStatus.DRAFT or r.get("suggestion"))
        ]  # a draft to approve, or a case the product suggests rejecting (a broadcast), which the agent rejects
        for agent, (case_id, reject) in zip(free, work_on, strict=False):
            agent.case_id, agent.done_at, agent.reject = case_id, now + self.team.handle_time, reject
        self.waiting = len(work_on) > len(free)

    def _next(self) -> datetime | None:
        """When something next happens: a tweet, an agent done or starting a shift, a work item due."""
        moments = [a.done_at for a in self.agents if a.done_at is not None]
        if self.coming:
            moments.append(self.coming[0].created_at)
        if self.waiting:
            idle = [a for a in self.agents if a.case_id is None]
            moments += [a.shift.next_start(self.clock.now, self.app.config) for a in idle]
        with db.read_scope(self.app.engine) as session:
            cursor = session.exec(select(Account.cursor).where(Account.name == ACCOUNT)).one()
            quiet = [work.PROCESS]  # the poll nudges it when there is something new
            if int(cursor or 0) >= self._last_post():
                quiet.append(work.POLL)  # nothing new on the channel: polling it changes nothing
            due = session.execute(
                sa.select(sa.func.min(WorkItem.due_at)).where(col(WorkItem.kind).not_in(quiet))
            ).scalar_one_or_none()
        if due is not None:
            moments.append(due)
        return min(moments, default=None)

    def _last_post(self) -> int:
        posts = self.channel.posts()
        return posts[-1]["id"] if posts else 0

    def outcome(self, tweets: Sequence[Tweet], wall_s: float) -> Outcome:
        """Each customer tweet once: when we answered it (a holding reply is no answer) and when the brand did."""
        config = self.app.config
        calendar, targets = config.calendar_for(ACCOUNT), config.targets_for(ACCOUNT)
        customers = [t for t in tweets if t.inbound]
        brand = brand_answers(tweets)
        with db.read_scope(self.app.engine) as session:
            stored = {
                m.external_id: (m, v)
                for m, v in session.exec(
                    select(Message, Verdict).outerjoin(Verdict, col(Verdict.message_id) == Message.id)
                )
            }
            holding: dict[int, list[datetime]] = {}
            for reply in session.exec(
                select(Reply).where(Reply.kind != ReplyKind.ANSWER, Reply.status == ReplyStatus.SENT)
            ):
                if reply.sent_at is not None:
                    holding.setdefault(reply.case_id, []).append(reply.sent_at)
            ours, theirs, held = Side(), Side(), 0
            for tweet in customers:
                message, verdict = stored.get(self.posts[tweet.id], (None, None))  # none: held in quarantine
                priority = triage.priority_of(verdict) if verdict is not None else Priority.NORMAL
                due = calendar.add(tweet.created_at, targets.first_response(priority))
                case_id = message.case_id if message is not None else None
                answered = message.answered_at if message is not None and case_id is not None else None
                _count(ours, tweet.created_at, answered, due)
                _count(theirs, tweet.created_at, brand.get(tweet.id), due)
                until = answered or self.clock.now
                held += any(tweet.created_at <= at <= until for at in holding.get(case_id or 0, []))
        return Outcome(
            messages=len(customers),
            agents=self.team.agents,
            handle_time_s=self.team.handle_time.total_seconds(),
            shifts=[str(s) for s in self.team.shifts],
            ours=ours,
            brand=theirs,
            held=held,
            simulated_from=customers[0].created_at,
            simulated_to=self.clock.now,
            wall_s=wall_s,
        )


def _count(side: Side, asked: datetime, answered: datetime | None, due: datetime) -> None:
    if answered is None:
        return
    side.answered += 1
    side.within_target += answered <= due
    side.times.append(max(0.0, (answered - asked).total_seconds()))


def smallest_team(
    tweets: Sequence[Tweet],
    handle_time: timedelta,
    shifts: tuple[Shift, ...],
    settings: dict[str, Any],
    config_path: Path,
    classifier: Classifier,
) -> tuple[Outcome, list[Outcome]]:
    """The fewest agents that keep ``GOAL`` of the customer tweets within target: doubling, then halving the gap.

    Returns the team found (or the largest tried, if none reached it) and every run, for the record.
    """
    tried: dict[int, Outcome] = {}

    def attempt(agents: int) -> Outcome:
        if agents not in tried:
            tried[agents] = simulate(tweets, Team(agents, handle_time, shifts), settings, config_path, classifier)
        return tried[agents]

    low, high = 0, 1
    while attempt(high).within_share < GOAL:
        if high >= MOST_AGENTS:
            return tried[high], [tried[n] for n in sorted(tried)]
        low, high = high, min(high * 2, MOST_AGENTS)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if attempt(middle).within_share >= GOAL else (middle, high)
    return tried[high], [tried[n] for n in sorted(tried)]


# -- the command ----------------------------------------------------------------------------------


def parse_speed(text: str) -> float | None:
    """``600x`` paces a simulated second to 1/600 of a real one; ``max`` runs as fast as the machine goes."""
    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text.strip().lower().removesuffix("x"))
    except ValueError:
        speed = math.nan
    if not speed > 0:
        raise UserError(f"--speed {text!r}: give a factor like 600x, or max")
    return speed


def command(
    replay: Path,
    *,
    agents: str,
    handle_time: str,
    shifts: str,
    speed: str,
    quick: bool,
    as_json: bool,
    config_path: Path | None,
) -> str:
    """``socialcare simulate``: what the CLI prints. ``quick`` runs flat out whatever ``speed`` says (CI)."""
    try:
        handling = parse_duration(handle_time)
    except ValueError as err:
        raise UserError(f"--handle-time: {err}") from None
    team_shifts = tuple(Shift.parse(s) for s in shifts.split(",") if s.strip())
    if not team_shifts:
        raise UserError("--shifts: give at least one, like 09:00-17:00")
    pace = None if quick else parse_speed(speed)
    tweets = read_replay(replay)
    settings = team_config(config_path)
    path = config_path or replay.with_name("socialcare.toml")
    with _quiet():
        if agents.strip().lower() == "auto":
            found, runs = smallest_team(tweets, handling, team_shifts, settings, path, _classifier(settings))
            reached: bool | None = found.within_share >= GOAL
        else:
            team = Team(_team_size(agents), handling, team_shifts)
            found, runs, reached = simulate(tweets, team, settings, path, speed=pace), [], None
    if as_json:
        figures = {**found.to_json(), "goal": GOAL, "reached": reached, "runs": [r.to_json() for r in runs]}
        return json.dumps(figures, indent=2) + "\n"
    return render(replay, found, runs, reached, settings)


def _team_size(agents: str) -> int:
    try:
        size = int(agents)
    except ValueError:
        size = 0
    if size < 1:
        raise UserError(f"--agents {agents!r}: give a number of people (1 or more), or auto")
    return size


def _classifier(settings: dict[str, Any]) -> Classifier:
    """One classifier for every run of the search: loading it is most of a short replay's time."""
    import sentiment

    options = dict(settings.get("sentiment", {}))
    return sentiment.load(options.pop("backend", "offline"), **options)


@contextmanager
def _quiet() -> Iterator[None]:
    """The replay's own sends and missed deadlines are in its figures, not news for the log."""
    logger = logging.getLogger("socialcare")
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


def render(
    replay: Path, found: Outcome, runs: Sequence[Outcome], reached: bool | None, settings: dict[str, Any]
) -> str:
    total = found.messages
    zone = settings.get("timezone", "UTC")
    lines = [
        f"replay {replay.name}: {total} customer messages, simulated {found.simulated_from:%Y-%m-%d %H:%M} to "
        f"{found.simulated_to:%Y-%m-%d %H:%M} UTC in {found.wall_s:.1f} s",
        f"team: {found.agents} agent(s), {duration(found.handle_time_s)} a draft, shifts {', '.join(found.shifts)} "
        f"({zone})",
    ]
    if runs:
        tried = ", ".join(f"{r.agents}: {r.within_share:.0%}" for r in runs)
        verdict = "the smallest team" if reached else f"no team up to {MOST_AGENTS} agents"
        lines.append(f"{verdict} keeping {GOAL:.0%} within target (tried {tried})")
    ours, brand = found.ours.summary(total), found.brand.summary(total)

    def share(part: int) -> str:
        return f"{part}/{total} ({part / total:.0%})"

    rows = [
        ("answered on the same channel", share(found.ours.answered), share(found.brand.answered)),
        ("within target", share(found.ours.within_target), share(found.brand.within_target)),
        (
            "first response median",
            duration(ours["first_response_median_s"]),
            duration(brand["first_response_median_s"]),
        ),
        ("first response p90", duration(ours["first_response_p90_s"]), duration(brand["first_response_p90_s"])),
        ("holding replies before the answer", share(found.held), "-"),
    ]
    lines.append(f"{'':36}{'simulated team':>18}{'brand (file)':>18}")
    lines += [f"{name:36}{a:>18}{b:>18}" for name, a, b in rows]
    return "\n".join(lines) + "\n"
