"""Runs due work items: the same code for the daemon's lanes, `daemon --once` and `socialcare send`.

A worker claims one due item at a time with a lease, runs the handler for its kind, and releases
it with the handler's answer (gone, or due again at a time). A handler that raises is a bug in
that item's work, not in the worker: it is logged once with its traceback, the item is retried
with a growing delay, and every other item goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, col, select

from connectors.base import ReplyRefused
from socialcare import cases, coordinator, escalation, lifecycle, outbox, satisfaction, triage, work
from socialcare.db import is_conflict, session_scope
from socialcare.models import Account, Case, CaseStatus, Reply, ReplyKind, ReplyStatus, WorkItem, utcnow
from socialcare.outbox import SendResult
from socialcare.redaction import redact

if TYPE_CHECKING:
    from socialcare.app import App

log = logging.getLogger("socialcare.worker")

Handler = Callable[[str, datetime], datetime | None]
"""Does the work for one key; returns when the item is due again, or None when it is done."""

REPORT, SPIKE = "report", "spike"
"""The daily report (key: the day it covers) and the spike watch (key: ``watch``, or ``ongoing`` once alerted)."""
POLL_LANE = frozenset({work.POLL})
SEND_LANE = frozenset({work.SEND})
CARE_LANE = frozenset(
    {work.PROCESS, work.REFRESH, work.DEADLINE, work.HOLD, work.FOLLOWUP, escalation.ESCALATE, REPORT, SPIKE}
)
"""Lanes run side by side, so a slow platform never delays sending or deadline checks."""
MAX_RUNS = 1000
CONFLICT_RETRY = timedelta(seconds=1)


@dataclass
class Worker:
    app: App
    holder: str
    lease: timedelta = work.LEASE
    held: set[int] = field(default_factory=set)
    sends: SendResult = field(default_factory=SendResult)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _bugs: set[tuple[str, str, str]] = field(default_factory=set)

    @property
    def handlers(self) -> dict[str, Handler]:
        return {
            work.POLL: self.poll,
            work.PROCESS: self.process,
            work.REFRESH: self.refresh,
            work.SEND: self.send,
            work.DEADLINE: self.deadline,
            work.HOLD: self.hold,
            escalation.ESCALATE: self.escalate,
            REPORT: self.report,
            SPIKE: self.spike,
            work.FOLLOWUP: self.followup,
        }

    def run_due(
        self,
        kinds: Collection[str],
        now: datetime | None = None,
        stop: Callable[[], bool] = lambda: False,
        after: Callable[[], None] = lambda: None,
    ) -> int:
        """Run due items of these kinds until none is due (or ``stop``), ``after`` each; returns how many ran.

        At most ``MAX_RUNS`` per call, so an item that keeps asking to run again at once cannot
        hold a lane: the next tick goes on with it.
        """
        ran = 0
        while not stop() and ran < MAX_RUNS:
            claims = work.claim(self.app.engine, self.holder, kinds, now or utcnow(), lease=self.lease)
            if not claims:
                return ran
            for claim in claims:
                self._run(claim, now)
                ran += 1
                after()
        return ran

    def _run(self, claim: work.Claim, now: datetime | None) -> None:
        at = now or utcnow()
        with self._lock:
            self.held.add(claim.id)
        error = None
        try:
            due = self.handlers[claim.kind](claim.key, at)
        except KeyboardInterrupt:  # Ctrl-C on `send`: the item is free again now, not leased until its lease ends
            with session_scope(self.app.engine) as session:
                work.release(session, claim, due_at=at, error="interrupted")
            raise
        except Exception as err:  # a bug in one item's work must not stop the others
            error = redact(f"{type(err).__name__}: {err}")
            if is_conflict(err):  # another worker or a person changed the same rows first: simply again
                due = at + CONFLICT_RETRY
                log.info("%s %s met a concurrent change; running it again", claim.kind, claim.key)
            else:
                due = at + min(timedelta(seconds=5 * 2 ** min(claim.attempts, 10)), timedelta(minutes=30))
                signature = (claim.kind, claim.key, type(err).__name__)
                if signature not in self._bugs:
                    self._bugs.add(signature)
                    log.error("%s %s failed; retrying from %s", claim.kind, claim.key, due.isoformat(), exc_info=err)
        finally:
            with self._lock:
                self.held.discard(claim.id)
        with session_scope(self.app.engine) as session:
            work.release(session, claim, due_at=due, error=error)

    def renew(self) -> None:
        """Keep our leases while the work in hand lasts."""
        with self._lock:
            ids = list(self.held)
        work.renew(self.app.engine, self.holder, ids, lease=self.lease)

    # -- handlers ---------------------------------------------------------------------------------

    def poll(self, name: str, now: datetime) -> datetime | None:
        connector = self.app.channels.get(name)
        if connector is None:
            return None  # no longer configured, or disabled: its item goes
        interval = self.app.config.accounts[name].poll_interval
        outcome = coordinator.poll(self.app.engine, connector, interval, now=now)
        if outcome.skipped:
            log.debug("%s: skipped, %s", name, outcome.skipped)
        elif outcome.error is None and (outcome.new or outcome.outbound):
            log.info("%s: fetched %d, new %d, ours %d", name, outcome.fetched, outcome.new, outcome.outbound)
        elif outcome.error is None:
            log.debug("%s: nothing new (fetched %d)", name, outcome.fetched)
        elif outcome.local and self.app.note_local_failure(name, outcome.error):
            log.error("%s: %s (this process lacks it; the account is left as it is)", name, outcome.error)
        return outcome.next_due

    def process(self, _key: str, now: datetime) -> datetime | None:
        outcome = self.app.process(now)
        if outcome.classified or outcome.cases:
            log.info("classified %d, cases updated %d", outcome.classified, outcome.cases)
        return now if outcome.more else now + self.app.config.daemon.watch_interval

    def refresh(self, case_id: str, now: datetime) -> datetime | None:
        with session_scope(self.app.engine) as session:
            triage.refresh_case(session, int(case_id), self.app.config, self.app.drafter, now)
        return None

    def send(self, reply_id: str, now: datetime) -> datetime | None:
        attempt = outbox.send_one(
            self.app.engine, self.app.channels, int(reply_id), actor=self.holder, now=now, guard=self.app.tone_guard
        )
        with self._lock:
            self.sends.add(attempt.outcome)
        return attempt.retry_at

    def deadline(self, case_id: str, now: datetime) -> datetime | None:
        with session_scope(self.app.engine) as session:
            case = session.get(Case, int(case_id))
            if case is None:
                return None
            if case.due_at > now:
                return case.due_at  # the deadline moved later since this check was planned
            if lifecycle.deadline_passed(session, case, now):
                zone = self.app.config.zone
                local = case.due_at.astimezone(zone)
                log.warning("case %s is past its deadline (due %s %s)", case.id, f"{local:%Y-%m-%d %H:%M}", zone.key)
                if escalation.channels(self.app.config):
                    work.nudge(session, escalation.ESCALATE, escalation.KEY, escalation.minute_end(now))
        return None

    def hold(self, case_id: str, now: datetime) -> datetime | None:
        """Most of the case's time is gone and no answer is approved: tell the customer when they will have one."""
        with session_scope(self.app.engine) as session:
            case = lifecycle.lock_case(session, int(case_id))
            if case is None or case.status != CaseStatus.OPEN or case.promised_at is not None:
                return None
            account = session.get(Account, case.account_id)
            assert account is not None
            connector = self.app.channels.get(account.name)
            if connector is None:
                return now + timedelta(minutes=1)
            answer = cases.pending_reply(session, case)
            if answer is not None and answer.status != ReplyStatus.DRAFT:
                return None  # approved in time: it goes out, no need to hold
            to = triage.latest_waiting(session, case)
            if to is None:
                return None
            calendar = self.app.config.calendar_for(account.name)
            by = calendar.add(now, triage.target_for(session, case, self.app.config, account, case.priority))
            config, drafter = self.app.config, self.app.drafter
            text, language = triage.system_text(session, case, account, ReplyKind.HOLDING, by, config, drafter, now)
            try:
                connector.check_reply(outbox.to_inbound(to), text, now)
            except ReplyRefused as err:  # outside Messenger's window, say: the channel does not allow one now
                log.info("case %s: no holding reply: %s", case_id, err)
                return None
            reply = lifecycle.system_reply(session, case, to, text, language, ReplyKind.HOLDING, now)
            lifecycle.promise(session, case, by, reply)
            log.info("case %s: holding reply promising %s", case_id, by.isoformat())
        return None

    def escalate(self, _key: str, now: datetime) -> datetime | None:
        """Tell a person of the minute's missed deadlines, in one message per channel."""
        escalation.escalate(self.app.engine, self.app.config, now)
        return None

    def report(self, day: str, now: datetime) -> datetime | None:
        """Email the report for ``day``, and plan the next day's in the same step (a chain, one item at a time).

        The item stays until the mail is handed to the server, so a day missed while no daemon ran, or
        while the mail server was down, is sent late rather than never.
        """
        from socialcare import report as reporting

        config = self.app.config
        if not config.report.daily:
            return None  # switched off: the chain ends here; `reconcile` starts it again when it is on
        covered = date.fromisoformat(day)
        message_id = reporting.send_daily(config, self.app.engine, covered, now)
        log.info("daily report for %s sent to %s (%s)", day, ", ".join(config.smtp.to), message_id)
        following = covered + timedelta(days=1)
        with session_scope(self.app.engine) as session:
            work.ensure(session, REPORT, following.isoformat(), reporting.due_at(config, following))
            work.cancel(session, REPORT, day)
        return None

    def spike(self, state: str, now: datetime) -> datetime | None:
        """Watch the last hour's negative share: one alert when a spike starts, none until it is over."""
        from socialcare import report as reporting

        settings = self.app.config.report.spike
        if not settings.enabled:
            return None
        reading = reporting.read_spike(self.app.engine, self.app.config, now)
        if state == "watch" and reading.is_spike(settings.margin, settings.min_messages):
            reporting.send_spike_alert(self.app.config, reading)
            log.warning(
                "spike: %d of %d messages negative in the last hour (baseline %.0f %%); alert sent",
                reading.negative,
                reading.classified,
                (reading.baseline or 0) * 100,
            )
            return self._switch_spike(state, "ongoing", now + settings.interval)
        if state == "ongoing" and reading.is_over(settings.margin, settings.min_messages):
            log.info("spike over: %d of %d messages negative in the last hour", reading.negative, reading.classified)
            return self._switch_spike(state, "watch", now + settings.interval)
        return now + settings.interval

    def _switch_spike(self, state: str, to: str, due: datetime) -> None:
        with session_scope(self.app.engine) as session:
            work.ensure(session, SPIKE, to, due)
            work.cancel(session, SPIKE, state)

    def followup(self, case_id: str, now: datetime) -> datetime | None:
        """Some time after the answer: ask the customer whether it helped."""
        app = self.app
        with session_scope(app.engine) as session:
            return satisfaction.follow_up(session, int(case_id), app.config, app.channels, app.drafter, now)


def reconcile(app: App, now: datetime | None = None) -> None:
    """Make sure every piece of work the store implies has its item (a store from before work items, say)."""
    now = now or utcnow()
    with session_scope(app.engine) as session:
        for name in app.channels:
            work.ensure(session, work.POLL, name, now)
        work.ensure(session, work.PROCESS, "all", now)
        ensure_sends(session, now)
        for case_id, due in session.exec(select(Case.id, Case.due_at).where(Case.status == CaseStatus.OPEN)):
            work.ensure(session, work.DEADLINE, str(case_id), due)
        ensure_reports(session, app, now)


def ensure_reports(session: Session, app: App, now: datetime) -> None:
    """The daily report's chain and the spike watch, started once they are switched on (never a second one)."""
    from socialcare import report as reporting

    config = app.config

    def none_of(kind: str) -> bool:
        return session.execute(sa.select(WorkItem.id).where(WorkItem.kind == kind).limit(1)).first() is None

    if config.report.daily and none_of(REPORT):
        day = reporting.first_day(config, now)
        work.ensure(session, REPORT, day.isoformat(), reporting.due_at(config, day))
    if config.report.spike.enabled and none_of(SPIKE):
        work.ensure(session, SPIKE, "watch", now)


def ensure_sends(session: Session, now: datetime) -> None:
    """Every approved reply, and every one a crash left ``sending``, has its send item."""
    for reply_id in session.exec(
        select(Reply.id).where(col(Reply.status).in_((ReplyStatus.APPROVED, ReplyStatus.SENDING)))
    ):
        work.ensure(session, work.SEND, str(reply_id), now)
