"""Each account's coordinator: its polls and its health, kept in the store for every process to share.

Like Home Assistant's update coordinator: the account remembers its last success, since when it
has been failing and the *kind* of failure (never its text: X's rate-limit message carries a
reset time that changes every minute). A change of kind is logged once — when the account starts
failing and when it recovers — whoever notices it first, daemon or CLI. A rate limit holds both
polling and sending until it ends; an auth failure stops the account until ``socialcare doctor``
or ``socialcare poll --account`` proves the credentials again. Every exception is caught here, so
a bug in one account's work never stops the others.

A secret missing from *this* process (a shell without the environment variable) is this
process's error: it is reported here and never written to the shared store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from connectors.base import (
    AuthError,
    Connector,
    ConnectorError,
    InboundMessage,
    MalformedPayload,
    PermanentError,
    RateLimited,
    SecretMissing,
    TransientError,
)
from socialcare import work
from socialcare.db import is_conflict, session_scope
from socialcare.ingest import IngestResult, ingest
from socialcare.models import Account, utcnow
from socialcare.redaction import redact

log = logging.getLogger("socialcare.coordinator")

RATE_LIMITED, AUTH, ERROR = "rate_limited", "auth", "error"
_KINDS: tuple[tuple[type[Exception], str], ...] = (
    (RateLimited, RATE_LIMITED),
    (AuthError, AUTH),
    (TransientError, "transient"),
    (MalformedPayload, "malformed"),
    (PermanentError, "permanent"),
    (ConnectorError, "connector"),
)
RATE_LIMIT_FALLBACK = timedelta(minutes=1)
CONFLICT_ATTEMPTS = 3


def kind_of(err: BaseException) -> str:
    """The failure's kind: what decides logging and what happens next, never the message text."""
    return next((kind for cls, kind in _KINDS if isinstance(err, cls)), ERROR)


@dataclass
class PollOutcome:
    account: str
    fetched: int = 0
    new: int = 0
    outbound: int = 0
    skipped: str | None = None
    error: str | None = None
    local: bool = False
    """The error is this process's own (a secret it lacks), not recorded on the account."""
    next_due: datetime | None = None


def poll(
    engine: Engine,
    connector: Connector,
    interval: timedelta,
    *,
    now: datetime | None = None,
    forced: bool = False,
) -> PollOutcome:
    """Poll one account and store what is new with its cursor, in one transaction; never raises."""
    now = now or utcnow()
    name = connector.name
    outcome = PollOutcome(name, next_due=now + interval)
    with session_scope(engine) as session:
        account = _account(session, name)
        if not forced:
            if account.auth_failed_at is not None:
                outcome.skipped = f"stopped since {account.auth_failed_at.isoformat()}: {account.last_error}"
                return outcome
            if account.rate_limited_until is not None and account.rate_limited_until > now:
                outcome.skipped = f"rate limited until {account.rate_limited_until.isoformat()}"
                outcome.next_due = account.rate_limited_until
                return outcome
            if not connector.pace.ready():
                assert connector.pace.ready_at is not None
                outcome.skipped = f"pacing itself until {connector.pace.ready_at.isoformat()}"
                outcome.next_due = connector.pace.ready_at
                return outcome
        cursor = account.cursor
    try:
        messages, next_cursor = connector.poll(cursor)
        result = _store(engine, name, messages, next_cursor, now)
    except SecretMissing as err:
        outcome.error, outcome.local = redact(str(err)), True
        return outcome
    except Exception as err:  # the coordinator is where every failure stops, a bug in ingest included
        outcome.error = redact(f"{type(err).__name__}: {err}")
        with session_scope(engine) as session:
            outcome.next_due = failed(session, _account(session, name), err, now) or outcome.next_due
        return outcome
    outcome.fetched, outcome.new, outcome.outbound = len(messages), len(result.new_inbound), result.new_outbound
    if connector.pace.ready_at is not None and connector.pace.ready_at > outcome.next_due:  # type: ignore[operator]
        outcome.next_due = connector.pace.ready_at
    return outcome


def _store(
    engine: Engine, name: str, messages: Sequence[InboundMessage], cursor: str | None, now: datetime
) -> IngestResult:
    """The page and its cursor in one transaction; run again if another writer met the same rows first."""
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            with session_scope(engine) as session:
                account = _account(session, name)
                result = ingest(session, account, messages)
                account.cursor, account.last_poll_at = cursor, now
                succeeded(session, account, now)
                if result.new_inbound:
                    work.nudge(session, work.PROCESS, "all", now)
            return result
        except Exception as err:
            if not is_conflict(err) or attempt == CONFLICT_ATTEMPTS - 1:
                raise
            log.debug("%s: storing the page met a concurrent change; again", name)
    raise AssertionError("unreachable")


def failed(session: Session, account: Account, err: BaseException, now: datetime) -> datetime | None:
    """Record a failed poll on the account; logs only when the failure's kind changes.

    Returns when the account may be polled again, if the failure says so (a rate limit).
    """
    kind = kind_of(err)
    changed = kind != account.error_kind
    account.last_poll_at = now
    account.last_error = redact(f"{type(err).__name__}: {err}")
    account.failing_since = account.failing_since or now
    account.error_kind = kind
    retry_at = None
    if isinstance(err, RateLimited):
        retry_at = max(_retry_at(err, now), account.rate_limited_until or now)
        account.rate_limited_until = retry_at
    if isinstance(err, AuthError):
        account.auth_failed_at = account.auth_failed_at or now
    session.add(account)
    if changed:
        _log_failure(account, kind, err, "polling")
    else:
        log.debug("%s: polling still failing (%s): %s", account.name, kind, redact(str(err)))
    return retry_at


def send_failed(session: Session, account: Account, err: ConnectorError, now: datetime) -> datetime | None:
    """A reply was refused for a reason that concerns the whole account, not that reply.

    A rate limit holds the account's other replies too (polling goes on: platforms count reads
    and posts apart); rejected credentials stop the account as a failed poll does. Returns until
    when sending waits, for a rate limit.
    """
    if isinstance(err, RateLimited):
        until = max(_retry_at(err, now), account.send_limited_until or now)
        if account.send_limited_until is None or account.send_limited_until <= now:
            log.warning(
                "%s: sending rate limited until %s; replies wait, polling goes on", account.name, until.isoformat()
            )
        account.send_limited_until = until
        session.add(account)
        return until
    if isinstance(err, AuthError) and not isinstance(err, SecretMissing):
        failed(session, account, err, now)
    return None


def sent_ok(session: Session, account: Account, now: datetime) -> None:
    """A reply went out: a sending rate limit is over."""
    if account.send_limited_until is not None:
        log.info("%s: sending rate limit over", account.name)
        account.send_limited_until = None
        session.add(account)


def _retry_at(err: RateLimited, now: datetime) -> datetime:
    """The platform's time to try again; a time already past (clock skew) still means a short wait."""
    if err.retry_at is None or err.retry_at <= now:
        return now + RATE_LIMIT_FALLBACK
    return err.retry_at


def _log_failure(account: Account, kind: str, err: BaseException, doing: str) -> None:
    name, said = account.name, redact(str(err))
    if kind == RATE_LIMITED:
        assert account.rate_limited_until is not None
        log.warning("%s: rate limited until %s; polling and sending wait", name, account.rate_limited_until.isoformat())
    elif kind == AUTH:
        log.error(
            "%s: stopped, the platform refused our credentials: %s; fix them, then run `socialcare doctor`", name, said
        )
    elif kind == ERROR:
        log.error("%s: %s failed with an unexpected error (%s); will keep trying", name, doing, said, exc_info=err)
    else:
        log.warning("%s: %s failing (%s): %s", name, doing, kind, said)


def succeeded(session: Session, account: Account, now: datetime) -> None:
    """The account works: clear its failure state, logging the recovery once."""
    if account.error_kind is not None:
        if account.error_kind == RATE_LIMITED:
            log.info("%s: rate limit over; working again", account.name)
        else:
            since = account.failing_since.isoformat() if account.failing_since else "?"
            log.info("%s: works again (had been failing since %s: %s)", account.name, since, account.error_kind)
    account.last_success_at = now
    account.failing_since = account.error_kind = account.last_error = None
    account.rate_limited_until = account.auth_failed_at = None
    session.add(account)


def resume(engine: Engine, name: str, now: datetime | None = None) -> bool:
    """The credentials were proven again (``doctor``): a stopped account polls again at once.

    Returns whether it had been stopped.
    """
    now = now or utcnow()
    with session_scope(engine) as session:
        account = session.exec(select(Account).where(Account.name == name)).first()
        if account is None or account.auth_failed_at is None:
            return False
        succeeded(session, account, now)
        work.nudge(session, work.POLL, name, now)
    return True


def sending_hold(account: Account, now: datetime) -> datetime | None:
    """Until when replies on this account must wait, if they must: a rate limit, or a stop on auth."""
    limits = [t for t in (account.rate_limited_until, account.send_limited_until) if t is not None and t > now]
    if limits:
        return max(limits)
    if account.auth_failed_at is not None:
        return now + timedelta(minutes=1)
    return None


def _account(session: Session, name: str) -> Account:
    return session.exec(select(Account).where(Account.name == name)).one()
