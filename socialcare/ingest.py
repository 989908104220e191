"""Stores what connectors fetched (or a receiver was pushed), exactly once per (platform, message id).

Messages are inserted with ``INSERT … ON CONFLICT DO NOTHING``, never looked up first: a
``socialcare poll`` beside the daemon, or two daemons polling one account, store each message
once and never roll back a page because the other got there first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from connectors.base import InboundMessage, Receipt
from socialcare import customers, lifecycle
from socialcare.db import is_conflict
from socialcare.models import Account, Customer, Direction, Identity, Message, Quarantine, Reply, utcnow

log = logging.getLogger("socialcare.ingest")
_MESSAGE = Message.__table__  # type: ignore[attr-defined]
_QUARANTINE = Quarantine.__table__  # type: ignore[attr-defined]
_IDENTITY = Identity.__table__  # type: ignore[attr-defined]
_CUSTOMER = Customer.__table__  # type: ignore[attr-defined]
_ROWS_PER_INSERT = 500
"""Far below SQLite's and PostgreSQL's limits on parameters per statement."""


@dataclass
class IngestResult:
    new_inbound: list[int] = field(default_factory=list)
    new_outbound: int = 0
    duplicates: int = 0
    quarantined: int = 0


_TEXT_FIELDS = (
    "external_id",
    "thread_id",
    "parent_id",
    "author_id",
    "author_handle",
    "author_name",
    "text",
    "language",
    "url",
)


def ingest(session: Session, account: Account, messages: Iterable[InboundMessage]) -> IngestResult:
    """Record messages once; our own posts become outbound and answer what they reply to.

    A message the store cannot take as it is goes to quarantine, and the rest of the page goes on.
    """
    assert account.id is not None
    result = IngestResult()
    batch: list[InboundMessage] = []
    for message in _unique(messages):
        problem = unstorable(message)
        if problem is None:
            batch.append(message)
        else:
            result.quarantined += _quarantine(session, account.id, message, problem)
    identities = _identities(session, [m for m in batch if not m.from_us])
    now = utcnow()
    rows = [_row(account.id, m, identities.get((m.platform, m.author_id)), now) for m in batch]
    refused = 0
    try:
        with session.begin_nested():
            new = _insert_messages(session, rows)
    except sa.exc.StatementError as err:
        if is_conflict(err):
            raise
        new, refused = {}, 0  # the database refused something the checks let through: find which
        for message, row in zip(batch, rows, strict=True):
            try:
                with session.begin_nested():
                    new.update(_insert_messages(session, [row]))
            except sa.exc.StatementError as one:
                if is_conflict(one):
                    raise
                refused += 1
                result.quarantined += _quarantine(session, account.id, message, f"the database refused it: {one.orig}")
    result.duplicates = len(batch) - len(new) - refused
    outbound = []
    for inbound in batch:
        if inbound.external_id not in new:
            continue
        message_id, direction = new[inbound.external_id]
        if direction == Direction.OUTBOUND:
            outbound.append(message_id)
        else:
            result.new_inbound.append(message_id)
    result.new_outbound = len(outbound)
    for message_id in outbound:
        message = session.get(Message, message_id)
        assert message is not None
        _answered_on_the_platform(session, message)
    return result


def unstorable(message: InboundMessage) -> str | None:
    """Why the store cannot keep this message as it came, if it cannot: every text is stored verbatim or not at all."""
    for name in _TEXT_FIELDS:
        value = getattr(message, name)
        if value is None:
            continue
        if "\x00" in value:
            return f"its {name} holds a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            return f"its {name} holds {err.object[err.start : err.end]!a}, which is not text (a lone surrogate)"
    return None


def _insert_messages(session: Session, rows: list[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    new: dict[str, tuple[int, str]] = {}
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        for row in session.execute(
            _insert(session)(_MESSAGE)
            .values(rows[start : start + _ROWS_PER_INSERT])
            .on_conflict_do_nothing(index_elements=["platform", "external_id"])
            .returning(_MESSAGE.c.id, _MESSAGE.c.external_id, _MESSAGE.c.direction)
        ):
            new[row.external_id] = (row.id, row.direction)
    return new


def _quarantine(session: Session, account_id: int, message: InboundMessage, problem: str) -> int:
    """Hold a message a person must look at; 1 if it is new to the quarantine, 0 if it was held already."""
    held = session.execute(
        _insert(session)(_QUARANTINE)
        .values(
            account_id=account_id,
            platform=message.platform,
            external_id=_escaped(message.external_id),
            author=_escaped(message.author_handle),
            text=_escaped(message.text),
            error=problem,
            created_at=message.created_at,
            held_at=utcnow(),
            raw=json.dumps(
                {**{name: getattr(message, name) for name in _TEXT_FIELDS}, "raw": message.raw},
                ensure_ascii=True,
                default=str,
            ),
        )
        .on_conflict_do_nothing(index_elements=["platform", "external_id"])
        .returning(_QUARANTINE.c.id)
    ).first()
    if held is not None:
        log.warning("%s message %s held in quarantine: %s", message.platform, _escaped(message.external_id), problem)
    return int(held is not None)


def _escaped(text: str) -> str:
    """Text any store takes, with what it cannot take written out: a lone surrogate as \\ud800, NUL as \\x00."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def record_our_reply(session: Session, to: Message, reply: Reply, receipt: Receipt) -> None:
    """Our sent reply as an outbound message; a poll may have read it back first, which is fine."""
    session.execute(
        _insert(session)(_MESSAGE)
        .values(
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
            fetched_at=utcnow(),
            case_id=reply.case_id,
            raw=dict(receipt.raw),
        )
        .on_conflict_do_nothing(index_elements=["platform", "external_id"])
    )


def _insert(session: Session):  # type: ignore[no-untyped-def]
    from sqlalchemy.dialects import postgresql, sqlite  # PostgreSQL's dialect costs start-up 50 ms

    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _unique(messages: Iterable[InboundMessage]) -> list[InboundMessage]:
    """A page that lists one message twice (platforms do, across page edges) stores it once."""
    seen: dict[tuple[str, str], InboundMessage] = {}
    for message in messages:
        seen.setdefault((message.platform, message.external_id), message)
    return list(seen.values())


def _row(account_id: int, m: InboundMessage, identity_id: int | None, now: datetime) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "platform": m.platform,
        "external_id": m.external_id,
        "thread_id": m.thread_id,
        "parent_id": m.parent_id,
        "direction": Direction.OUTBOUND if m.from_us else Direction.INBOUND,
        "author_id": m.author_id,
        "author_handle": m.author_handle,
        "author_name": m.author_name,
        "identity_id": identity_id,
        "text": m.text,
        "language": m.language,
        "url": m.url,
        "created_at": m.created_at,
        "fetched_at": now,
        "case_id": None,
        "answered_at": None,
        "raw": dict(m.raw),
    }


def _identities(session: Session, inbound: Sequence[InboundMessage]) -> dict[tuple[str, str], int]:
    """Each author's identity, created on first sight; a handle or name that changed is updated.

    An email or phone the channel gave is kept on the identity, and joins it to any customer who shares it.
    """
    latest: dict[tuple[str, str], InboundMessage] = {}
    for message in inbound:
        latest[(message.platform, message.author_id)] = message
    found: dict[tuple[str, str], int] = {}
    for platform in {p for p, _ in latest}:
        ids = [a for p, a in latest if p == platform]
        for start in range(0, len(ids), _ROWS_PER_INSERT):
            for identity in session.exec(
                select(Identity).where(
                    Identity.platform == platform,
                    col(Identity.external_user_id).in_(ids[start : start + _ROWS_PER_INSERT]),
                )
            ):
                message = latest[(platform, identity.external_user_id)]
                if (message.author_handle, message.author_name) != (identity.handle, identity.display_name):
                    identity.handle = message.author_handle
                    identity.display_name = message.author_name or identity.display_name
                    session.add(identity)
                assert identity.id is not None
                found[(platform, identity.external_user_id)] = identity.id
    found.update(_new_identities(session, [m for key, m in latest.items() if key not in found]))
    for key, message in latest.items():
        if message.author_email or message.author_phone:
            customers.note_identifiers(session, found[key], email=message.author_email, phone=message.author_phone)
    return found


def _new_identities(session: Session, authors: Sequence[InboundMessage]) -> dict[tuple[str, str], int]:
    """A customer and an identity for each author met for the first time, in two bulk inserts per 500.

    An author another process met at the same moment keeps their identity: ours is not inserted, and
    the customer made for it is deleted again.
    """
    found: dict[tuple[str, str], int] = {}
    now = utcnow()
    for start in range(0, len(authors), _ROWS_PER_INSERT):
        page = authors[start : start + _ROWS_PER_INSERT]
        made = session.execute(
            sa.insert(_CUSTOMER).returning(_CUSTOMER.c.id, sort_by_parameter_order=True),
            [{"display_name": m.author_name or m.author_handle, "created_at": now} for m in page],
        ).scalars()
        customer_of = {(m.platform, m.author_id): customer for m, customer in zip(page, made, strict=True)}
        rows = [
            {
                "customer_id": customer_of[(m.platform, m.author_id)],
                "platform": m.platform,
                "external_user_id": m.author_id,
                "handle": m.author_handle,
                "display_name": m.author_name,
                "created_at": now,
            }
            for m in page
        ]
        for row in session.execute(
            _insert(session)(_IDENTITY)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["platform", "external_user_id"])
            .returning(_IDENTITY.c.id, _IDENTITY.c.platform, _IDENTITY.c.external_user_id)
        ):
            found[(row.platform, row.external_user_id)] = row.id
        theirs = [key for key in customer_of if key not in found]  # another process met them first: use theirs
        if theirs:
            session.execute(sa.delete(_CUSTOMER).where(_CUSTOMER.c.id.in_([customer_of[key] for key in theirs])))
            for platform, author in theirs:
                found[(platform, author)] = session.execute(
                    sa.select(_IDENTITY.c.id).where(
                        _IDENTITY.c.platform == platform, _IDENTITY.c.external_user_id == author
                    )
                ).scalar_one()
    return found


def _answered_on_the_platform(session: Session, outbound: Message) -> None:
    """A post by our account (the team answering on the platform, or our reply read back) answers the thread.

    When it replies to a customer's message, that customer's earlier messages in the thread are
    answered; when its parent is unknown (a Messenger echo, say), everyone's earlier ones are.
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
    cases: set[int] = set()
    for message in session.exec(waiting):
        if message.case_id is None:
            message.answered_at = outbound.created_at  # triage will open its case already answered
            session.add(message)
        else:
            cases.add(message.case_id)
    if parent is not None and parent.case_id is not None:
        outbound.case_id = parent.case_id
    elif len(cases) == 1:
        outbound.case_id = next(iter(cases))
    session.add(outbound)
    for case_id in sorted(cases):
        case = lifecycle.lock_case(session, case_id)
        assert case is not None
        lifecycle.mark_answered(
            session,
            case,
            at=outbound.created_at,
            up_to=outbound.created_at,
            actor="platform",
            via="platform",
            ours=outbound,
        )
    session.flush()
