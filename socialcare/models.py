"""The store's tables. Times are timezone-aware UTC; platform ids and raw payloads are kept verbatim."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import declared_attr
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

import connectors.base


def utcnow() -> datetime:
    """The product's one clock (``connectors.base.utcnow``), which a simulation can set."""
    return connectors.base.utcnow()


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, gives back aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _at(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Priority(StrEnum):
    """Order matters: a lower rank is answered first."""

    URGENT = "urgent"
    COMPLAINT = "complaint"
    NORMAL = "normal"
    LOW = "low"
    """Nothing to fix: thanks and praise, spam to reject."""

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


class CaseStatus(StrEnum):
    OPEN = "open"
    WAITING = "waiting"
    """Waiting on the customer: the clock is stopped until they write again."""
    ANSWERED = "answered"
    CLOSED = "closed"


class ReplyKind(StrEnum):
    ANSWER = "answer"
    """What a person approved: it answers the customer."""
    HOLDING = "holding"
    """Sent by the product near the deadline: says when the answer will come; answers nothing."""
    AFTER_HOURS = "after_hours"
    """Sent by the product when a customer writes while the team is closed: says when it opens."""
    FOLLOWUP = "followup"
    """Sent by the product some time after the answer: "was this helpful?"; answers nothing."""


class ReplyStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"
    """Not sent because it was no longer needed: the customer was answered another way."""
    REJECTED = "rejected"
    """Not sent because a person decided so (the case was closed without a reply)."""


class Account(SQLModel, table=True):
    """A connected channel, mirrored from config, with its coordinator state; its secrets never live here.

    The state is shared by every process on the store: a rate limit seen by one daemon is honoured
    by all, and an account stopped on an auth error resumes once any process proves the token again.
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    platform: str = Field(index=True)
    cursor: str | None = None
    last_poll_at: datetime | None = _at(default=None)
    last_success_at: datetime | None = _at(default=None)
    failing_since: datetime | None = _at(default=None)
    error_kind: str | None = None
    last_error: str | None = None
    rate_limited_until: datetime | None = _at(default=None)
    send_limited_until: datetime | None = _at(default=None)
    auth_failed_at: datetime | None = _at(default=None)
    created_at: datetime = _at(default_factory=utcnow)


class Customer(SQLModel, table=True):
    """One person, known by one or more identities. Never deleted: a customer merged into another keeps its
    row (``merged_into_id``), so the audit trail of the merge still points somewhere."""

    id: int | None = Field(default=None, primary_key=True)
    display_name: str | None = None
    created_at: datetime = _at(default_factory=utcnow)
    merged_into_id: int | None = Field(default=None, foreign_key="customer.id")
    followups_stopped_at: datetime | None = _at(default=None)
    """When they answered "stop" to a satisfaction follow-up: they are never asked again."""


class Identity(SQLModel, table=True):
    """One customer's handle on one platform; several identities can point to one customer.

    ``email`` and ``phone`` are kept normalised (case-folded address, ``+`` and digits), when the
    platform tells them: identities sharing one exactly belong to one customer.
    """

    __table_args__ = (sa.UniqueConstraint("platform", "external_user_id", name="uq_identity_platform_user"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    platform: str
    external_user_id: str
    handle: str
    display_name: str | None = None
    created_at: datetime = _at(default_factory=utcnow)
    email: str | None = Field(default=None, index=True)
    phone: str | None = Field(default=None, index=True)
    unlinked_at: datetime | None = _at(default=None)
    """A person split this identity out of a customer: automatic linking never joins it to another again."""


class Message(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("platform", "external_id", name="uq_message_platform_external_id"),
        sa.Index("ix_message_thread", "account_id", "thread_id"),
        sa.Index(
            "ix_message_untriaged",
            "id",
            sqlite_where=sa.text("case_id IS NULL AND direction = 'inbound'"),
            postgresql_where=sa.text("case_id IS NULL AND direction = 'inbound'"),
        ),
        sa.Index("ix_message_created_at", "created_at", "direction", "account_id"),  # the report's days and hours
    )
    """``ix_message_untriaged`` holds only what classification and triage still have to do, so finding it
    costs the same in a store of a thousand messages as in one of a million."""
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    platform: str
    external_id: str
    thread_id: str
    parent_id: str | None = None
    direction: Direction = Field(sa_type=sa.String(16))
    author_id: str
    author_handle: str
    author_name: str | None = None
    identity_id: int | None = Field(default=None, foreign_key="identity.id", index=True)
    text: str = Field(sa_type=sa.Text)
    language: str | None = None
    url: str | None = None
    created_at: datetime = _at()
    fetched_at: datetime = _at(default_factory=utcnow)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    answered_at: datetime | None = _at(default=None)
    raw: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class Verdict(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", unique=True)
    label: str
    score_negative: float
    score_neutral: float
    score_positive: float
    is_complaint: bool
    complaint_probability: float | None = None
    intent: str
    intents: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    language: str | None = None
    backend: str
    backend_version: str = ""
    created_at: datetime = _at(default_factory=utcnow)


class Case(SQLModel, table=True):
    """The queue item: one open case per customer conversation on a channel."""

    __table_args__ = (
        sa.Index("ix_case_status_due_at", "status", "due_at"),
        sa.Index("ix_case_conversation", "account_id", "thread_id", "identity_id"),  # triage finds a thread's case
        sa.Index(
            "uq_case_open_conversation",
            "account_id",
            "thread_id",
            "identity_id",
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    identity_id: int = Field(foreign_key="identity.id", index=True)
    thread_id: str
    status: CaseStatus = Field(default=CaseStatus.OPEN, sa_type=sa.String(16))
    priority: Priority = Field(default=Priority.NORMAL, sa_type=sa.String(16))
    language: str | None = None
    waiting_since: datetime = _at()
    due_at: datetime = _at()
    opened_at: datetime = _at(default_factory=utcnow)
    closed_at: datetime | None = _at(default=None)
    close_reason: str | None = None
    breach_noted_at: datetime | None = _at(default=None)
    promised_at: datetime | None = _at(default=None)
    """What a holding or after-hours reply told the customer: it is the deadline while they wait."""
    version: int = 1
    """Optimistic lock: an update made from a stale copy of the row fails instead of overwriting another's."""

    @declared_attr  # type: ignore[misc]
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class Reply(SQLModel, table=True):
    """draft -> approved -> sending -> sent | failed; or withdrawn / rejected; never sent twice.

    ``idempotency_key`` is made once, at approval, and is the same on every attempt. A case has
    at most one pending (draft, approved or sending) answer: the store itself refuses a second.
    The product's own holding and after-hours replies (``kind``) go out beside it.
    """

    __table_args__ = (
        sa.Index(
            "uq_reply_pending_per_case",
            "case_id",
            unique=True,
            sqlite_where=sa.text("kind = 'answer' AND status IN ('draft', 'approved', 'sending')"),
            postgresql_where=sa.text("kind = 'answer' AND status IN ('draft', 'approved', 'sending')"),
        ),
        sa.Index(
            "ix_reply_tone_unread",
            "id",
            sqlite_where=sa.text("kind = 'answer' AND status = 'draft' AND tone IS NULL"),
            postgresql_where=sa.text("kind = 'answer' AND status = 'draft' AND tone IS NULL"),
        ),  # the drafts the tone guard has still to read (tone.UNREAD)
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: ReplyKind = Field(default=ReplyKind.ANSWER, sa_type=sa.String(16))
    to_message_id: int = Field(foreign_key="message.id")
    text: str = Field(sa_type=sa.Text)
    language: str | None = None
    status: ReplyStatus = Field(default=ReplyStatus.DRAFT, index=True, sa_type=sa.String(16))
    drafted_at: datetime = _at(default_factory=utcnow)
    approved_by: str | None = None
    approved_at: datetime | None = _at(default=None)
    idempotency_key: str | None = Field(default=None, unique=True)
    attempts: int = 0
    sent_at: datetime | None = _at(default=None)
    external_id: str | None = None
    last_error: str | None = None
    tone: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON(none_as_null=True))
    """The tone guard's reading of ``text`` (``tone.reading``), made ahead by the process that has the model."""
    version: int = 1

    @declared_attr  # type: ignore[misc]
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class Claim(SQLModel, table=True):
    """A person working on a case, so two people do not write the same answer; it lapses at ``expires_at``.

    A row of its own, not columns on ``case``: claiming never races the daemon's changes to the case.
    """

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    holder: str
    claimed_at: datetime = _at(default_factory=utcnow)
    expires_at: datetime = _at()


class Note(SQLModel, table=True):
    """A team's internal note on a case: shown in ``show``, never sent to the customer."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    author: str
    text: str = Field(sa_type=sa.Text)
    at: datetime = _at(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _at(default_factory=utcnow, index=True)
    actor: str
    action: str
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    reply_id: int | None = Field(default=None, foreign_key="reply.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    """For what is done to a customer rather than a case: identities linked or split, follow-ups stopped."""
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class Quarantine(SQLModel, table=True):
    """A message the store could not take as it came (a lone surrogate, a NUL), held for a person.

    Its text and author are kept with the offending characters escaped (``\\ud800``, ``\\x00``);
    ``raw`` is the message exactly as the connector gave it, as ASCII JSON that round-trips every
    character. The poll that met it went on: one bad message never stops a channel.
    """

    __table_args__ = (sa.UniqueConstraint("platform", "external_id", name="uq_quarantine_platform_external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    platform: str
    external_id: str
    author: str
    text: str = Field(sa_type=sa.Text)
    error: str
    created_at: datetime | None = _at(default=None)
    held_at: datetime = _at(default_factory=utcnow)
    raw: str = Field(sa_type=sa.Text)


class Event(SQLModel, table=True):
    """A fact in a case's life (opened, reply approved, reply sent, answered, deadline passed...).

    Written by ``socialcare.lifecycle`` in the same transaction as the change it describes, so
    reports count what happened and nothing else. ``at`` is when it happened in the world (the
    customer's post time for ``case.opened``, the platform's time for ``case.answered``).
    """

    __table_args__ = (sa.Index("ix_event_kind_at", "kind", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _at()
    recorded_at: datetime = _at(default_factory=utcnow)
    kind: str
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    reply_id: int | None = Field(default=None, foreign_key="reply.id")
    account_id: int | None = Field(default=None, foreign_key="account.id")
    actor: str
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class SatisfactionAnswer(StrEnum):
    YES = "yes"
    NO = "no"
    SCORE = "score"
    """A score from 1 to 5 (``Satisfaction.score``)."""
    STOP = "stop"
    """Never ask again."""


class Satisfaction(SQLModel, table=True):
    """One "was this helpful?" asked after a case was answered (the follow-up reply), and the customer's answer."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    reply_id: int = Field(foreign_key="reply.id", unique=True)
    identity_id: int = Field(foreign_key="identity.id", index=True)
    asked_at: datetime = _at()
    answer: SatisfactionAnswer | None = Field(default=None, sa_type=sa.String(16))
    score: int | None = None
    answered_at: datetime | None = _at(default=None)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    """The customer's message that answered it."""


class WorkItem(SQLModel, table=True):
    """Timed work about one thing ("poll account A", "send reply R", "check case C"): the daemon's truth.

    A worker leases a due item (``lease_holder`` until ``lease_expires_at``) and renews the lease
    while it works; a killed worker's item is taken by another once the lease runs out.
    ``generation`` grows each time the item is (re)scheduled, so finishing a run never erases a
    newer request made while it ran.
    """

    __table_args__ = (
        sa.UniqueConstraint("kind", "key", name="uq_workitem_kind_key"),
        sa.Index("ix_workitem_due_at", "due_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=sa.String(32))
    key: str
    due_at: datetime = _at()
    generation: int = 0
    lease_holder: str | None = None
    lease_expires_at: datetime | None = _at(default=None)
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = _at(default_factory=utcnow)
