"""Durable timed work: "poll account A", "send reply R", "check case C" are rows with a due time.

The table is the truth; the daemon's scheduler only wakes workers up. A worker *claims* due items
with a lease (a compare-and-set one writer wins, on every backend: on PostgreSQL the candidates
are picked with ``FOR UPDATE SKIP LOCKED`` so workers never wait on each other), renews the lease
while it works, and *releases* the item when done: deleted if it was one-shot, or given its next
due time. A worker killed mid-run holds its lease until it expires; then another takes the item.

Scheduling is an upsert on ``(kind, key)``: asking for the same work twice keeps one row.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from socialcare.db import session_scope
from socialcare.models import WorkItem, utcnow

LEASE = timedelta(seconds=60)
"""How long a claim lasts unless renewed; a killed worker's items move on after this."""

POLL, PROCESS, REFRESH, SEND, DEADLINE, HOLD = "poll", "process", "refresh", "send", "deadline", "hold"
FOLLOWUP = "followup"
"""Ask "was this helpful?" some time after a case was answered (``socialcare.satisfaction``)."""

_TABLE = WorkItem.__table__  # type: ignore[attr-defined]


def worker_id(role: str = "daemon") -> str:
    """Who holds a lease: readable in `doctor` and logs, unique per process."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Claim:
    id: int
    kind: str
    key: str
    due_at: datetime
    attempts: int
    generation: int
    holder: str


def _insert(session: Session):  # type: ignore[no-untyped-def]
    from sqlalchemy.dialects import postgresql, sqlite  # PostgreSQL's dialect costs start-up 50 ms

    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _upsert(session: Session, kind: str, key: str, due_at: datetime, *, earliest: bool) -> None:
    stmt = _insert(session)(_TABLE).values(
        kind=kind, key=key, due_at=due_at, generation=0, attempts=0, created_at=utcnow()
    )
    new_due = stmt.excluded.due_at
    if earliest:  # a running item's due time is the one being served: the new request stands on its own
        smaller = sa.func.least if session.get_bind().dialect.name == "postgresql" else sa.func.min
        new_due = sa.case(
            (_TABLE.c.lease_holder.is_not(None), stmt.excluded.due_at),
            else_=smaller(_TABLE.c.due_at, stmt.excluded.due_at),
        )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={"due_at": new_due, "generation": _TABLE.c.generation + 1},
        )
    )


def schedule(session: Session, kind: str, key: str, due_at: datetime) -> None:
    """Make ``kind:key`` due at ``due_at`` (replacing any other due time)."""
    _upsert(session, kind, key, due_at, earliest=False)


def schedule_many(session: Session, kind: str, due: Sequence[tuple[str, datetime]]) -> None:
    """``schedule`` for many keys of one kind in one statement (a page of new cases' deadlines)."""
    if not due:
        return
    stmt = _insert(session)(_TABLE)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={"due_at": stmt.excluded.due_at, "generation": _TABLE.c.generation + 1},
        ),
        [
            {"kind": kind, "key": key, "due_at": at, "generation": 0, "attempts": 0, "created_at": utcnow()}
            for key, at in due
        ],
    )


def nudge(session: Session, kind: str, key: str, due_at: datetime | None = None) -> None:
    """Make ``kind:key`` due no later than ``due_at`` (default now): an earlier due time is kept."""
    _upsert(session, kind, key, due_at or utcnow(), earliest=True)


def cancel(session: Session, kind: str, key: str) -> None:
    session.execute(sa.delete(_TABLE).where(_TABLE.c.kind == kind, _TABLE.c.key == key))


def ensure(session: Session, kind: str, key: str, due_at: datetime) -> None:
    """Create ``kind:key`` if it does not exist; an existing item keeps its due time."""
    session.execute(
        _insert(session)(_TABLE)
        .values(kind=kind, key=key, due_at=due_at, generation=0, attempts=0, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["kind", "key"])
    )


def _free(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(_TABLE.c.lease_expires_at.is_(None), _TABLE.c.lease_expires_at < now)


def claim(
    engine: Engine,
    holder: str,
    kinds: Collection[str],
    now: datetime | None = None,
    *,
    limit: int = 1,
    lease: timedelta = LEASE,
) -> list[Claim]:
    """Lease up to ``limit`` due items of these kinds, soonest first; an empty list when none is due."""
    now = now or utcnow()
    due = sa.and_(_TABLE.c.kind.in_(list(kinds)), _TABLE.c.due_at <= now, _free(now))
    with session_scope(engine) as session:
        if engine.dialect.name == "sqlite":
            # Look before taking SQLite's write lock, so idle workers never queue behind writers.
            if session.execute(sa.select(_TABLE.c.id).where(due).limit(1)).first() is None:
                return []
        candidates = (
            sa.select(_TABLE.c.id)
            .where(due)
            .order_by(_TABLE.c.due_at, _TABLE.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = session.execute(
            sa.update(_TABLE)
            .where(_TABLE.c.id.in_(candidates.scalar_subquery()), _free(now))
            .values(lease_holder=holder, lease_expires_at=now + lease, attempts=_TABLE.c.attempts + 1)
            .returning(
                _TABLE.c.id, _TABLE.c.kind, _TABLE.c.key, _TABLE.c.due_at, _TABLE.c.attempts, _TABLE.c.generation
            )
        ).all()
    claims = [Claim(r.id, r.kind, r.key, r.due_at, r.attempts, r.generation, holder) for r in rows]
    return sorted(claims, key=lambda c: (c.due_at, c.id))


def renew(
    engine: Engine, holder: str, ids: Sequence[int], now: datetime | None = None, lease: timedelta = LEASE
) -> set[int]:
    """Extend our leases; returns the ids still ours (a lease that ran out may have been taken)."""
    if not ids:
        return set()
    now = now or utcnow()
    with session_scope(engine) as session:
        rows = session.execute(
            sa.update(_TABLE)
            .where(_TABLE.c.id.in_(list(ids)), _TABLE.c.lease_holder == holder)
            .values(lease_expires_at=now + lease)
            .returning(_TABLE.c.id)
        ).all()
    return {r.id for r in rows}


def release(session: Session, claim: Claim, *, due_at: datetime | None, error: str | None = None) -> bool:
    """End our run of an item: gone if ``due_at`` is None, else due again then.

    If the item was rescheduled while we ran (its generation moved on), that newer request wins:
    the item stays, due at the earlier of the two times. Returns False if the lease was lost.
    """
    ours = sa.and_(_TABLE.c.id == claim.id, _TABLE.c.lease_holder == claim.holder)
    unchanged = _TABLE.c.generation == claim.generation
    if due_at is None:
        gone = session.execute(sa.delete(_TABLE).where(ours, unchanged))
        if gone.rowcount:
            return True
        next_due: sa.ColumnElement[datetime] | datetime = _TABLE.c.due_at
    else:
        earlier = sa.case((_TABLE.c.due_at < due_at, _TABLE.c.due_at), else_=sa.literal(due_at, _TABLE.c.due_at.type))
        next_due = sa.case((unchanged, sa.literal(due_at, _TABLE.c.due_at.type)), else_=earlier)
    done = session.execute(
        sa.update(_TABLE)
        .where(ours)
        .values(
            due_at=next_due,
            lease_holder=None,
            lease_expires_at=None,
            attempts=_TABLE.c.attempts if error is not None else 0,
            last_error=error,
        )
    )
    return bool(done.rowcount)


def let_go(engine: Engine, holder: str) -> int:
    """Give up every lease we hold (a clean stop), so other workers need not wait for them to expire."""
    with session_scope(engine) as session:
        result = session.execute(
            sa.update(_TABLE).where(_TABLE.c.lease_holder == holder).values(lease_holder=None, lease_expires_at=None)
        )
    return result.rowcount


def pending(session: Session, kind: str, key: str) -> WorkItem | None:
    return session.exec(  # type: ignore[call-overload, no-any-return]
        sa.select(WorkItem).where(col(WorkItem.kind) == kind, col(WorkItem.key) == key)
    ).scalar_one_or_none()
