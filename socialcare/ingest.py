"""Stores what connectors fetched, exactly once per (platform, message id)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from connectors.base import InboundMessage
from socialcare.models import Account, Customer, Direction, Identity, Message


@dataclass
class IngestResult:
    new_inbound: list[int] = field(default_factory=list)
    new_outbound: int = 0
    duplicates: int = 0


def ingest(session: Session, account: Account, messages: Iterable[InboundMessage]) -> IngestResult:
    """Record messages once; our own posts become outbound and answer what they reply to."""
    result = IngestResult()
    batch = list(messages)
    seen = _known(session, batch)
    for inbound in batch:
        if (inbound.platform, inbound.external_id) in seen:
            result.duplicates += 1
            continue
        seen.add((inbound.platform, inbound.external_id))
        message = _record(session, account, inbound)
        if message.direction == Direction.OUTBOUND:
            result.new_outbound += 1
            _mark_answered_by(session, message)
        else:
            assert message.id is not None
            result.new_inbound.append(message.id)
    return result


def _known(session: Session, batch: list[InboundMessage]) -> set[tuple[str, str]]:
    """Which of these messages the store already has, in one query per platform."""
    known: set[tuple[str, str]] = set()
    for platform in {m.platform for m in batch}:
        ids = [m.external_id for m in batch if m.platform == platform]
        for start in range(0, len(ids), 500):
            rows = session.exec(
                select(Message.external_id).where(
                    Message.platform == platform, col(Message.external_id).in_(ids[start : start + 500])
                )
            )
            known.update((platform, external_id) for external_id in rows)
    return known


def _record(session: Session, account: Account, inbound: InboundMessage) -> Message:
    assert account.id is not None
    direction = Direction.OUTBOUND if inbound.from_us else Direction.INBOUND
    identity = None if inbound.from_us else identity_for(session, inbound)
    message = Message(
        account_id=account.id,
        platform=inbound.platform,
        external_id=inbound.external_id,
        thread_id=inbound.thread_id,
        parent_id=inbound.parent_id,
        direction=direction,
        author_id=inbound.author_id,
        author_handle=inbound.author_handle,
        author_name=inbound.author_name,
        identity_id=None if identity is None else identity.id,
        text=inbound.text,
        language=inbound.language,
        url=inbound.url,
        created_at=inbound.created_at,
        raw=dict(inbound.raw),
    )
    session.add(message)
    session.flush()
    return message


def identity_for(session: Session, inbound: InboundMessage) -> Identity:
    identity = session.exec(
        select(Identity).where(Identity.platform == inbound.platform, Identity.external_user_id == inbound.author_id)
    ).first()
    if identity is None:
        customer = Customer(display_name=inbound.author_name or inbound.author_handle)
        session.add(customer)
        session.flush()
        assert customer.id is not None
        identity = Identity(
            customer_id=customer.id,
            platform=inbound.platform,
            external_user_id=inbound.author_id,
            handle=inbound.author_handle,
            display_name=inbound.author_name,
        )
        session.add(identity)
        session.flush()
    elif (inbound.author_handle, inbound.author_name) != (identity.handle, identity.display_name):
        identity.handle, identity.display_name = inbound.author_handle, inbound.author_name or identity.display_name
    return identity


def _mark_answered_by(session: Session, outbound: Message) -> None:
    """A reply the team posted on the platform itself answers what came before it in that thread.

    When it replies to a customer's message, that customer's earlier messages in the thread are
    answered; when its parent is unknown (a Messenger echo, say), every earlier one is.
    """
    parent = None
    if outbound.parent_id is not None:
        parent = session.exec(
            select(Message).where(Message.platform == outbound.platform, Message.external_id == outbound.parent_id)
        ).first()
    waiting = select(Message).where(
        Message.account_id == outbound.account_id,
        Message.thread_id == outbound.thread_id,
        Message.direction == Direction.INBOUND,
        col(Message.answered_at).is_(None),
        col(Message.created_at) <= outbound.created_at,
    )
    if parent is not None and parent.direction == Direction.INBOUND:
        waiting = waiting.where(Message.author_id == parent.author_id)
    for message in session.exec(waiting):
        message.answered_at = outbound.created_at
        session.add(message)
