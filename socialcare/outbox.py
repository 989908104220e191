"""Sends approved replies exactly once.

A reply is claimed (``sending``, with an idempotency key) and committed before the platform is
called, and its result is committed right after. A reply found still ``sending`` later means a
crash between the two: before sending again, we ask the platform whether our reply is already in
the thread.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from connectors.base import (
    AuthError,
    Connector,
    ConnectorError,
    InboundMessage,
    PermanentError,
    RateLimited,
    Receipt,
)
from socialcare.audit import record
from socialcare.config import Config
from socialcare.db import session_scope
from socialcare.drafting import Drafter
from socialcare.models import Account, Case, Direction, Message, Reply, ReplyStatus, utcnow
from socialcare.triage import refresh

log = logging.getLogger("socialcare.outbox")
STALE_SENDING = timedelta(minutes=2)
MAX_BACKOFF = timedelta(minutes=30)
MAX_ATTEMPTS = 10


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    recovered: int = 0


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


def send_approved(
    engine: Engine, channels: Mapping[str, Connector], config: Config, drafter: Drafter, now: datetime | None = None
) -> SendResult:
    now = now or utcnow()
    result = SendResult()
    _recover_stale(engine, channels, config, drafter, now, result)
    with session_scope(engine) as session:
        ready = session.exec(
            select(Reply.id)
            .join(Case, col(Case.id) == Reply.case_id)
            .where(
                Reply.status == ReplyStatus.APPROVED,
                (col(Reply.next_attempt_at).is_(None)) | (col(Reply.next_attempt_at) <= now),
            )
            .order_by(col(Case.due_at), col(Reply.id))
        ).all()
    held: set[str] = set()
    for reply_id in ready:
        claimed = _claim(engine, reply_id, channels, held, now)
        if claimed is None:
            result.deferred += 1
            continue
        connector, to, text, retry = claimed
        try:
            receipt = connector.find_reply(to, text) if retry else None
            if receipt is None:
                connector.check_reply(to, text, now)
                receipt = connector.reply(to, text)
        except ConnectorError as err:
            if isinstance(err, RateLimited):
                held.add(connector.name)
            _failed(engine, reply_id, connector, err, now, result)
            continue
        _sent(engine, reply_id, receipt, config, drafter, now)
        result.sent += 1
    return result


def _claim(
    engine: Engine, reply_id: int, channels: Mapping[str, Connector], held: set[str], now: datetime
) -> tuple[Connector, InboundMessage, str, bool] | None:
    """Mark the reply ``sending`` and commit; says whether an earlier attempt may have reached the platform."""
    with session_scope(engine) as session:
        reply = session.exec(
            select(Reply)
            .where(Reply.id == reply_id, Reply.status == ReplyStatus.APPROVED)
            .with_for_update(skip_locked=True)
        ).first()
        if reply is None:
            return None
        to = session.get(Message, reply.to_message_id)
        account = session.get(Account, to.account_id) if to is not None else None
        assert to is not None and account is not None
        connector = channels.get(account.name)
        if connector is None or account.name in held or account.auth_failed_at is not None:
            return None
        retry = reply.attempts > 0
        reply.status, reply.sending_since = ReplyStatus.SENDING, now
        reply.idempotency_key = uuid.uuid4().hex
        reply.attempts += 1
        session.add(reply)
        record(session, "outbox", "reply.sending", reply=reply, detail={"attempt": reply.attempts})
        return connector, to_inbound(to), reply.text, retry


def _sent(engine: Engine, reply_id: int, receipt: Receipt, config: Config, drafter: Drafter, now: datetime) -> None:
    with session_scope(engine) as session:
        reply = session.get(Reply, reply_id)
        assert reply is not None
        to = session.get(Message, reply.to_message_id)
        case = session.get(Case, reply.case_id)
        assert to is not None and case is not None
        reply.status, reply.external_id, reply.sent_at, reply.last_error = (
            ReplyStatus.SENT,
            receipt.external_id,
            receipt.sent_at,
            None,
        )
        session.add(reply)
        _record_outbound(session, to, reply, receipt)
        for message in session.exec(
            select(Message).where(
                Message.case_id == case.id,
                Message.direction == Direction.INBOUND,
                col(Message.answered_at).is_(None),
                col(Message.created_at) <= to.created_at,
            )
        ):
            message.answered_at = receipt.sent_at
            session.add(message)
        session.flush()
        record(session, "outbox", "reply.sent", reply=reply, detail={"external_id": receipt.external_id})
        refresh(session, case, config, drafter, now)
    log.info("sent reply %s to %s %s as %s", reply_id, to.platform, to.external_id, receipt.external_id)


def _record_outbound(session: Session, to: Message, reply: Reply, receipt: Receipt) -> None:
    exists = session.exec(
        select(Message.id).where(Message.platform == to.platform, Message.external_id == receipt.external_id)
    ).first()
    if exists is not None:
        return
    session.add(
        Message(
            account_id=to.account_id,
            platform=to.platform,
            external_id=receipt.external_id,
            thread_id=to.thread_id,
            parent_id=to.external_id,
            direction=Direction.OUTBOUND,
            author_id="",
            author_handle="",
            text=reply.text,
            language=reply.language,
            url=receipt.url,
            created_at=receipt.sent_at,
            case_id=reply.case_id,
            raw=dict(receipt.raw),
        )
    )


def _failed(
    engine: Engine, reply_id: int, connector: Connector, err: ConnectorError, now: datetime, result: SendResult
) -> None:
    with session_scope(engine) as session:
        reply = session.get(Reply, reply_id)
        assert reply is not None
        reply.last_error, reply.sending_since = str(err), None
        gave_up = reply.attempts >= MAX_ATTEMPTS and not isinstance(err, RateLimited)
        if isinstance(err, PermanentError) or gave_up:
            reply.status = ReplyStatus.FAILED
            result.failed += 1
            record(session, "outbox", "reply.failed", reply=reply, detail={"error": str(err)})
            log.warning("reply %s failed for good: %s", reply_id, err)
        else:
            reply.status = ReplyStatus.APPROVED
            if isinstance(err, RateLimited):
                reply.next_attempt_at = err.retry_at or now + timedelta(minutes=1)
            else:
                reply.next_attempt_at = now + min(timedelta(seconds=30 * 2 ** (reply.attempts - 1)), MAX_BACKOFF)
            if isinstance(err, AuthError):
                _flag_auth(session, connector.name, str(err), now)
            result.deferred += 1
            record(session, "outbox", "reply.deferred", reply=reply, detail={"error": str(err)})
            log.info("reply %s deferred until %s: %s", reply_id, reply.next_attempt_at.isoformat(), err)
        session.add(reply)


def _flag_auth(session: Session, account_name: str, message: str, now: datetime) -> None:
    account = session.exec(select(Account).where(Account.name == account_name)).one()
    account.auth_failed_at, account.last_error = now, message
    session.add(account)


def _recover_stale(
    engine: Engine,
    channels: Mapping[str, Connector],
    config: Config,
    drafter: Drafter,
    now: datetime,
    result: SendResult,
) -> None:
    """Settle replies left ``sending`` by a crash: recorded if the platform has them, else re-approved."""
    with session_scope(engine) as session:
        stale = session.exec(
            select(Reply, Message, Account)
            .join(Message, col(Message.id) == Reply.to_message_id)
            .join(Account, col(Account.id) == Message.account_id)
            .where(Reply.status == ReplyStatus.SENDING, col(Reply.sending_since) <= now - STALE_SENDING)
        ).all()
    for reply, message, account in stale:
        connector = channels.get(account.name)
        if connector is None:
            continue
        assert reply.id is not None
        try:
            found = connector.find_reply(to_inbound(message), reply.text)
        except ConnectorError as err:
            log.warning("cannot check whether reply %s was posted (%s); will ask again", reply.id, err)
            continue
        if found is not None:
            _sent(engine, reply.id, found, config, drafter, now)
            result.recovered += 1
            continue
        with session_scope(engine) as session:
            again = session.get(Reply, reply.id)
            assert again is not None
            again.status, again.sending_since = ReplyStatus.APPROVED, None
            session.add(again)
            record(session, "outbox", "reply.requeued", reply=again, detail={"reason": "not found on the platform"})
