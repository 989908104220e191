"""The store's tables. Times are timezone-aware UTC; platform ids and raw payloads are kept verbatim."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


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

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


class CaseStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class ReplyStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    REJECTED = "rejected"


class Account(SQLModel, table=True):
    """A connected channel, mirrored from config; its poll state lives here, its secrets never do."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    platform: str = Field(index=True)
    cursor: str | None = None
    last_poll_at: datetime | None = _at(default=None)
    last_success_at: datetime | None = _at(default=None)
    last_error: str | None = None
    auth_failed_at: datetime | None = _at(default=None)
    created_at: datetime = _at(default_factory=utcnow)


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    display_name: str | None = None
    created_at: datetime = _at(default_factory=utcnow)


class Identity(SQLModel, table=True):
    """One customer's handle on one platform; several identities can point to one customer."""

    __table_args__ = (sa.UniqueConstraint("platform", "external_user_id", name="uq_identity_platform_user"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    platform: str
    external_user_id: str
    handle: str
    display_name: str | None = None
    created_at: datetime = _at(default_factory=utcnow)


class Message(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("platform", "external_id", name="uq_message_platform_external_id"),
        sa.Index("ix_message_thread", "account_id", "thread_id"),
    )
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
    intent: str
    intents: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    language: str | None = None
    backend: str
    backend_version: str = ""
    created_at: datetime = _at(default_factory=utcnow)


class Case(SQLModel, table=True):
    """The queue item: one open case per customer conversation on a channel."""

    __table_args__ = (
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
    status: CaseStatus = Field(default=CaseStatus.OPEN, index=True, sa_type=sa.String(16))
    priority: Priority = Field(default=Priority.NORMAL, sa_type=sa.String(16))
    language: str | None = None
    waiting_since: datetime = _at()
    due_at: datetime = _at(index=True)
    opened_at: datetime = _at(default_factory=utcnow)
    closed_at: datetime | None = _at(default=None)
    close_reason: str | None = None
    breach_noted_at: datetime | None = _at(default=None)


class Reply(SQLModel, table=True):
    """draft -> approved -> sending -> sent | failed (or rejected); never sent twice."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    to_message_id: int = Field(foreign_key="message.id")
    text: str = Field(sa_type=sa.Text)
    language: str | None = None
    status: ReplyStatus = Field(default=ReplyStatus.DRAFT, index=True, sa_type=sa.String(16))
    drafted_at: datetime = _at(default_factory=utcnow)
    approved_by: str | None = None
    approved_at: datetime | None = _at(default=None)
    idempotency_key: str | None = Field(default=None, unique=True)
    attempts: int = 0
    next_attempt_at: datetime | None = _at(default=None)
    sending_since: datetime | None = _at(default=None)
    sent_at: datetime | None = _at(default=None)
    external_id: str | None = None
    last_error: str | None = None


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _at(default_factory=utcnow, index=True)
    actor: str
    action: str
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    reply_id: int | None = Field(default=None, foreign_key="reply.id")
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
