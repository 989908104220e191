"""Sends approved replies exactly once.

Each approved reply is a work item ("send reply R"). One attempt claims the reply
(``approved -> sending``, a compare-and-set that one sender wins) and commits before the platform
is called, and commits the result right after. If an earlier attempt may have reached the
platform (its answer was lost, or its worker died with the reply ``sending``), the platform is
asked for our reply first, by the reply's idempotency key where it keeps one, else by thread and
text. Sending needs the store and the channels, nothing else: what the answer changes in the case
is the lifecycle's business.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from connectors.base import Connector, ConnectorError, InboundMessage, PermanentError, RateLimited, SecretMissing
from socialcare import coordinator, lifecycle
from socialcare.db import read_scope, session_scope
from socialcare.ingest import record_our_reply
from socialcare.models import Account, Direction, Message, Reply, ReplyKind, ReplyStatus, utcnow
from socialcare.redaction import redact

log = logging.getLogger("socialcare.outbox")
RETRY_BASE = timedelta(seconds=10)
MAX_BACKOFF = timedelta(minutes=15)
"""A reply that failed for a passing reason is tried again after 10 s, 20 s, 40 s... never more than 15 min."""
MAX_ATTEMPTS = 10
RECHECK = timedelta(minutes=1)
"""How soon a reply held back (its account stopped or not in this process) is looked at again."""


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    recovered: int = 0

    def add(self, outcome: str) -> None:
        if outcome in ("sent", "failed", "deferred", "recovered"):
            setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass(frozen=True)
class Attempt:
    outcome: str
    """sent, recovered (found already posted), deferred, failed, held (not tried), refused (the tone guard sent it
    back to draft), or gone (nothing to do)."""
    retry_at: datetime | None = None


def to_inbound(message: Message) -> InboundMessage:
    """The message as its connector first gave it, for replying to it."""
    return InboundMessage(
        platform=message.platform,
        external_id=message.external_id,
        thread_id=message.thread_id,
        parent_id=message.parent_id,
        author_id=message.author_id,
        author_handle=message.author_handle,
        author_name=message.author_name,
        text=message.text,
        created_at=message.created_at,
        language=message.language,
        url=message.url,
        from_us=message.direction == Direction.OUTBOUND,
        raw=message.raw,
    )


Guard = Callable[[str, str | None], str | None]
"""Why a reply's text (in its language, if known) must not go out (the tone guard), or None."""


def send_one(
    engine: Engine,
    channels: Mapping[str, Connector],
    reply_id: int,
    *,
    actor: str,
    now: datetime | None = None,
    guard: Guard | None = None,
) -> Attempt:
    """One attempt at one reply; says when to try again, if ever.

    An answer is read once more by ``guard`` before it is claimed (unless a person forced it through): one
    that reads wrong goes back to draft with the reason instead of out to the customer.
    """
    now = now or utcnow()
    refused = _tone_refusal(engine, reply_id, guard) if guard is not None else None
    with session_scope(engine) as session:
        reply = session.get(Reply, reply_id)
        if reply is None or reply.status not in (ReplyStatus.APPROVED, ReplyStatus.SENDING):
            return Attempt("gone")
        to = session.get(Message, reply.to_message_id)
        account = session.get(Account, to.account_id) if to is not None else None
        assert to is not None and account is not None
        connector = channels.get(account.name)
        if connector is None:
            return Attempt("held", now + RECHECK)
        hold = coordinator.sending_hold(account, now)
        if hold is not None:
            return Attempt("held", hold)
        if refused is not None and reply.status == ReplyStatus.APPROVED:
            lifecycle.refuse_tone(session, reply, actor, refused)
            log.warning("reply %s not sent, back to draft: %s", reply_id, refused)
            return Attempt("refused")
        if reply.status == ReplyStatus.APPROVED:
            claimed = lifecycle.claim_for_sending(session, reply_id, actor, now)
            if claimed is None:
                return Attempt("gone")
            reply = claimed
            earlier_attempt = reply.attempts > 1
        else:
            lifecycle.resume_sending(session, reply, actor)
            earlier_attempt = True
        message, text, key = to_inbound(to), reply.text, reply.idempotency_key
    try:
        receipt = connector.find_reply(message, text, idempotency_key=key) if earlier_attempt else None
        outcome = "recovered" if receipt is not None else "sent"
        if receipt is None:
            connector.check_reply(message, text, now)
            receipt = connector.reply(message, text, idempotency_key=key)
    except ConnectorError as err:
        return _not_sent(engine, reply_id, err, actor, now)
    except KeyboardInterrupt:
        _interrupted(engine, reply_id, actor, now)
        raise
    with session_scope(engine) as session:
        reply = session.get(Reply, reply_id, populate_existing=True)
        to = session.get(Message, reply.to_message_id) if reply is not None else None
        assert reply is not None and to is not None
        if reply.status != ReplyStatus.SENDING:
            return _settled_meanwhile(reply)
        record_our_reply(session, to, reply, receipt)
        account = session.get(Account, to.account_id)
        assert account is not None
        coordinator.sent_ok(session, account, now)
        lifecycle.sent(session, reply, external_id=receipt.external_id, at=receipt.sent_at, actor=actor, to=to)
    log.info("sent reply %s to %s %s as %s", reply_id, to.platform, to.external_id, receipt.external_id)
    return Attempt(outcome)


def _tone_refusal(engine: Engine, reply_id: int, guard: Guard) -> str | None:
    """Why an approved answer must not go out after all, read outside the write transaction (classifying can
    take a moment, and SQLite has one writer). An approved reply's text never changes, so the verdict holds."""
    with read_scope(engine) as session:
        reply = session.get(Reply, reply_id)
        if reply is None or reply.status != ReplyStatus.APPROVED or reply.kind != ReplyKind.ANSWER:
            return None
        if lifecycle.forced(session, reply):
            return None
        text, language = reply.text, reply.language
    return guard(text, language)


def _settled_meanwhile(reply: Reply) -> Attempt:
    """A poll read our post back while we waited for the platform's answer, and settled the reply already."""
    log.info("reply %s was settled as %s while its answer was awaited", reply.id, reply.status)
    return Attempt("recovered" if reply.status == ReplyStatus.SENT else "gone")


def _not_sent(engine: Engine, reply_id: int, err: ConnectorError, actor: str, now: datetime) -> Attempt:
    with session_scope(engine) as session:
        reply = session.get(Reply, reply_id, populate_existing=True)
        account = session.get(Account, _account_id(session, reply))
        assert reply is not None and account is not None
        if reply.status != ReplyStatus.SENDING:
            return _settled_meanwhile(reply)
        error = redact(f"{type(err).__name__}: {err}")
        if isinstance(err, PermanentError) or (reply.attempts >= MAX_ATTEMPTS and not isinstance(err, RateLimited)):
            lifecycle.fail(session, reply, actor, error, now)
            log.warning("reply %s failed for good: %s", reply_id, err)
            return Attempt("failed")
        held = coordinator.send_failed(session, account, err, now)
        if held is not None:
            retry_at = held
        elif isinstance(err, SecretMissing):
            retry_at = now + RECHECK
        else:
            retry_at = now + min(RETRY_BASE * 2 ** (reply.attempts - 1), MAX_BACKOFF)
        lifecycle.defer(session, reply, actor, error, retry_at)
    log.info("reply %s deferred until %s: %s", reply_id, retry_at.isoformat(), err)
    return Attempt("deferred", retry_at)


def _interrupted(engine: Engine, reply_id: int, actor: str, now: datetime) -> None:
    """Ctrl-C while the platform had the reply: back to approved at once instead of `sending` until the lease
    runs out; its next attempt looks for it on the platform first, since this one may have posted it."""
    with session_scope(engine) as session:
        reply = session.get(Reply, reply_id, populate_existing=True)
        if reply is not None and reply.status == ReplyStatus.SENDING:
            lifecycle.defer(session, reply, actor, "interrupted while sending (Ctrl-C)", now)


def _account_id(session, reply: Reply | None) -> int | None:  # type: ignore[no-untyped-def]
    if reply is None:
        return None
    to = session.get(Message, reply.to_message_id)
    return to.account_id if to is not None else None
