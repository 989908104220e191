"""The only code that changes a case's or a reply's status.

Each move is checked against the ones allowed below and written, in the caller's transaction,
together with its audit entry (who did what) and its event (the fact reports count), so the store
never holds a status without the record that explains it. Ingest, triage, the outbox, the CLI and
the daemon call these functions; none of them sets a status itself.

Replies::

    draft ──approve──> approved ──claim──> sending ──sent──> sent
      │ <─unapprove──┘  │  ^                 │  └──fail──> failed
      │                 │  └────── defer ─────┘     (retry later, same idempotency key)
      │                 └─────── found ──────────> sent  (seen on the platform before its answer)
      ├──withdraw──> withdrawn <──┤   the customer was answered another way
      └──reject────> rejected  <──┘   a person closed the case without a reply

Cases::

    open ──> answered ──> open   (the customer writes again, or a person reopens it)
      │         └──────> closed
      ├──> closed ─────> open
      └──> waiting ────> open    (waiting on the customer: the clock stops until they write)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from socialcare import work
from socialcare.audit import record
from socialcare.errors import UserError
from socialcare.models import (
    AuditLog,
    Case,
    CaseStatus,
    Direction,
    Event,
    Message,
    Priority,
    Reply,
    ReplyKind,
    ReplyStatus,
    utcnow,
)

R, C = ReplyStatus, CaseStatus
_CASE = Case.__table__  # type: ignore[attr-defined]
_REPLY = Reply.__table__  # type: ignore[attr-defined]
_EVENT = Event.__table__  # type: ignore[attr-defined]
_AUDIT = AuditLog.__table__  # type: ignore[attr-defined]

REPLY_MOVES: dict[str, tuple[frozenset[ReplyStatus], ReplyStatus]] = {
    "approve": (frozenset({R.DRAFT}), R.APPROVED),
    "unapprove": (frozenset({R.APPROVED}), R.DRAFT),
    "claim": (frozenset({R.APPROVED}), R.SENDING),
    "sent": (frozenset({R.SENDING}), R.SENT),
    "found": (frozenset({R.APPROVED, R.SENDING}), R.SENT),
    "defer": (frozenset({R.SENDING}), R.APPROVED),
    "fail": (frozenset({R.SENDING}), R.FAILED),
    "withdraw": (frozenset({R.DRAFT, R.APPROVED}), R.WITHDRAWN),
    "reject": (frozenset({R.DRAFT, R.APPROVED}), R.REJECTED),
}
"""Each move a reply can make: the statuses it may start from, and where it goes."""
CASE_MOVES: dict[str, tuple[frozenset[CaseStatus], CaseStatus]] = {
    "answer": (frozenset({C.OPEN, C.WAITING}), C.ANSWERED),
    "close": (frozenset({C.OPEN, C.WAITING, C.ANSWERED}), C.CLOSED),
    "reopen": (frozenset({C.ANSWERED, C.CLOSED}), C.OPEN),
    "wait": (frozenset({C.OPEN}), C.WAITING),
    "resume": (frozenset({C.WAITING}), C.OPEN),
}
UNSENT = (R.DRAFT, R.APPROVED)
PENDING = (R.DRAFT, R.APPROVED, R.SENDING)
"""A case has at most one pending reply: the one the team is working on."""


class MoveRefused(UserError):
    """A status change the lifecycle does not allow (approving a sent reply, say)."""


def _note(
    session: Session,
    actor: str,
    kind: str,
    *,
    case: Case | None = None,
    reply: Reply | None = None,
    at: datetime | None = None,
    detail: dict[str, Any] | None = None,
    account_id: int | None = None,
) -> None:
    """The audit entry and the event for one fact, side by side."""
    record(session, actor, kind, case=case, reply=reply, detail=detail)
    case_id = case.id if case is not None else (reply.case_id if reply is not None else None)
    if account_id is None and case is not None:
        account_id = case.account_id
    session.add(
        Event(
            at=at or utcnow(),
            kind=kind,
            case_id=case_id,
            reply_id=reply.id if reply is not None else None,
            account_id=account_id,
            actor=actor,
            detail=detail or {},
        )
    )


def _move_reply(reply: Reply, move: str) -> None:
    sources, to = REPLY_MOVES[move]
    if reply.status not in sources:
        raise MoveRefused(
            f"reply {reply.id} is {reply.status}; it cannot {move.replace('_', ' ')} (only a reply that is "
            f"{' or '.join(sorted(sources))} can)"
        )
    reply.status = to


def _move_case(case: Case, move: str) -> None:
    sources, to = CASE_MOVES[move]
    if case.status not in sources:
        raise MoveRefused(f"case {case.id} is {case.status}; it cannot be {_PAST[move]}")
    case.status = to


_PAST = {"answer": "answered", "close": "closed", "reopen": "reopened", "wait": "put on hold", "resume": "resumed"}


# -- cases ----------------------------------------------------------------------------------------


def lock_case(session: Session, case_id: int) -> Case | None:
    """The case, fresh and locked for this transaction (PostgreSQL), so two workers or a worker and a
    person change it one after the other, never from stale copies. SQLite's writers are one at a time."""
    return session.exec(
        select(Case).where(Case.id == case_id).with_for_update().execution_options(populate_existing=True)
    ).first()


def open_case(session: Session, *, account_id: int, identity_id: int, first: Message, now: datetime) -> Case:
    """A new case for a customer conversation, its clock starting at their first message."""
    case = Case(
        account_id=account_id,
        identity_id=identity_id,
        thread_id=first.thread_id,
        waiting_since=first.created_at,
        due_at=first.created_at,
        opened_at=now,
    )
    session.add(case)
    session.flush()
    _note(session, "system", "case.opened", case=case, at=first.created_at, detail={"message": first.external_id})
    return case


@dataclass(frozen=True)
class NewCase:
    """A conversation's first case as triage worked it out from a page of messages: deadline and draft known."""

    account_id: int
    identity_id: int
    first: Message
    latest: Message
    priority: Priority
    language: str | None
    due_at: datetime
    hold_at: datetime | None
    draft: str | None
    """None: no draft, the case is suggested for rejection (a broadcast or promotion)."""
    draft_language: str | None


def open_cases(session: Session, new: Sequence[NewCase], now: datetime) -> list[int]:
    """Open many cases at once, each with its deadline, holding time and draft, as ``open_case``, ``set_deadline``
    and ``draft`` do one by one, with their audit entries and events: one bulk insert per table for the lot.

    Returns the new cases' ids, in the order of ``new``.
    """
    if not new:
        return []
    recorded = utcnow()
    ids = (
        session.execute(
            sa.insert(_CASE).returning(_CASE.c.id, sort_by_parameter_order=True),
            [
                {
                    "account_id": n.account_id,
                    "identity_id": n.identity_id,
                    "thread_id": n.first.thread_id,
                    "status": C.OPEN,
                    "priority": n.priority,
                    "language": n.language,
                    "waiting_since": n.first.created_at,
                    "due_at": n.due_at,
                    "opened_at": now,
                    "version": 1,
                }
                for n in new
            ],
        )
        .scalars()
        .all()
    )
    with_draft = [(case_id, n) for case_id, n in zip(ids, new, strict=True) if n.draft is not None]
    replies = (
        session.execute(
            sa.insert(_REPLY).returning(_REPLY.c.id, sort_by_parameter_order=True),
            [
                {
                    "case_id": case_id,
                    "kind": ReplyKind.ANSWER,
                    "to_message_id": n.latest.id,
                    "text": n.draft,
                    "language": n.draft_language,
                    "status": R.DRAFT,
                    "drafted_at": recorded,
                    "attempts": 0,
                    "version": 1,
                }
                for case_id, n in with_draft
            ],
        )
        .scalars()
        .all()
        if with_draft
        else []
    )
    session.execute(
        sa.insert(_EVENT),
        [
            {
                "at": n.first.created_at,
                "recorded_at": recorded,
                "kind": "case.opened",
                "case_id": case_id,
                "account_id": n.account_id,
                "actor": "system",
                "detail": {"message": n.first.external_id},
            }
            for case_id, n in zip(ids, new, strict=True)
        ],
    )
    opened = [("case.opened", c, None, {"message": n.first.external_id}) for c, n in zip(ids, new, strict=True)]
    drafted = [("reply.drafted", c, r, {}) for (c, _), r in zip(with_draft, replies, strict=True)]
    session.execute(
        sa.insert(_AUDIT),
        [
            {"at": recorded, "actor": "system", "action": action, "case_id": c, "reply_id": r, "detail": detail}
            for action, c, r, detail in opened + drafted
        ],
    )
    work.schedule_many(session, work.DEADLINE, [(str(c), n.due_at) for c, n in zip(ids, new, strict=True)])
    holds = [(str(c), n.hold_at) for c, n in zip(ids, new, strict=True) if n.hold_at is not None]
    work.schedule_many(session, work.HOLD, holds)
    return list(ids)


def reopen(session: Session, case: Case, actor: str, *, at: datetime, detail: dict[str, Any]) -> None:
    """Open again; a follow-up not yet sent is withdrawn: "was this helpful?" after "still broken" is not."""
    was = case.status
    _move_case(case, "reopen")
    case.closed_at, case.close_reason = None, None
    session.add(case)
    session.flush()
    _note(session, actor, "case.reopened", case=case, at=at, detail={"was": was, **detail})
    for reply in session.exec(
        select(Reply).where(Reply.case_id == case.id, Reply.kind == ReplyKind.FOLLOWUP, col(Reply.status).in_(UNSENT))
    ):
        withdraw(session, reply, actor, "the case was reopened")


def reopen_by_person(session: Session, case: Case, actor: str, now: datetime | None = None) -> None:
    """A person opens a closed or answered case again: what its close or answer settled waits again,
    so it is back in the queue with a deadline (counted from those messages, as the customer waited)."""
    now = now or utcnow()
    settled_at = case.closed_at
    reopen(session, case, actor, at=now, detail={"by": "person"})
    inbound = session.exec(
        select(Message)
        .where(Message.case_id == case.id, Message.direction == Direction.INBOUND)
        .order_by(col(Message.created_at), col(Message.id))
    ).all()
    again = [m for m in inbound if m.answered_at is not None and settled_at is not None and m.answered_at >= settled_at]
    for message in again or inbound[-1:]:
        message.answered_at = None
        session.add(message)
    assert case.id is not None
    work.nudge(session, work.REFRESH, str(case.id))


def set_deadline(
    session: Session, case: Case, waiting_since: datetime, due_at: datetime, *, hold_at: datetime | None = None
) -> None:
    """The case's clock; its deadline check (and the holding reply, if one is due) are timed work."""
    if case.due_at != due_at:
        case.breach_noted_at = None
    case.waiting_since, case.due_at = waiting_since, due_at
    session.add(case)
    assert case.id is not None
    work.schedule(session, work.DEADLINE, str(case.id), due_at)
    if hold_at is None:
        work.cancel(session, work.HOLD, str(case.id))
    else:
        work.schedule(session, work.HOLD, str(case.id), hold_at)


def wait_on_customer(session: Session, case: Case, actor: str, now: datetime | None = None) -> None:
    """The ball is in the customer's court: what they wrote is settled and the clock stops until they write."""
    now = now or utcnow()
    _move_case(case, "wait")
    for message in session.exec(
        select(Message).where(
            Message.case_id == case.id, Message.direction == Direction.INBOUND, col(Message.answered_at).is_(None)
        )
    ):
        message.answered_at = now
        session.add(message)
    case.promised_at = None
    session.add(case)
    _stop_clock(session, case)
    _note(session, actor, "case.waiting", case=case, at=now)


def resume(session: Session, case: Case, actor: str, *, at: datetime, detail: dict[str, Any]) -> None:
    """The customer wrote again while we waited on them: the clock runs again, from their message."""
    _move_case(case, "resume")
    session.add(case)
    session.flush()
    _note(session, actor, "case.resumed", case=case, at=at, detail=detail)


def promise(session: Session, case: Case, by: datetime, reply: Reply) -> None:
    """A holding or after-hours ``reply`` tells the customer ``by``: it is the deadline now.

    The promise is also an event, so the customer's history can say later whether it was kept.
    """
    case.promised_at = by
    set_deadline(session, case, case.waiting_since, max(case.due_at, by))
    _note(
        session,
        "system",
        "case.promised",
        case=case,
        reply=reply,
        at=reply.drafted_at,
        detail={"by": by.isoformat(), "kind": reply.kind},
    )


def _stop_clock(session: Session, case: Case) -> None:
    work.cancel(session, work.DEADLINE, str(case.id))
    work.cancel(session, work.HOLD, str(case.id))


def deadline_passed(session: Session, case: Case, now: datetime) -> bool:
    """Record once that an open case missed the deadline in force; False if it did not, or was noted."""
    if case.status != C.OPEN or case.due_at > now or case.breach_noted_at is not None:
        return False
    case.breach_noted_at = now
    session.add(case)
    _note(
        session, "system", "case.deadline_passed", case=case, at=case.due_at, detail={"due_at": case.due_at.isoformat()}
    )
    return True


def escalated(session: Session, case: Case, by: str, now: datetime) -> None:
    """A person was told the case missed its deadline (``by`` email or webhook)."""
    _note(session, "system", "case.escalated", case=case, at=now, detail={"by": by})


def mark_answered(
    session: Session,
    case: Case,
    *,
    at: datetime,
    up_to: datetime | None,
    actor: str,
    via: str,
    ours: Message | None = None,
) -> bool:
    """The one rule for "answered": the customer's messages up to ``up_to`` (all when None) are answered at ``at``.

    When nothing of theirs is left waiting the case is answered, and a reply not yet sent is
    withdrawn, unless it is ``ours``: our own post read back from the platform with the reply's
    text, which means an earlier attempt did go out and the reply is settled as sent. When the
    customer has written since, the case stays open and is re-triaged for what still waits.
    Returns whether the case is answered now.
    """
    waiting = [
        m
        for m in session.exec(
            select(Message).where(
                Message.case_id == case.id, Message.direction == Direction.INBOUND, col(Message.answered_at).is_(None)
            )
        )
    ]
    for message in waiting:
        if up_to is None or message.created_at <= up_to:
            message.answered_at = at
            session.add(message)
    if any(m.answered_at is None for m in waiting):
        assert case.id is not None
        work.nudge(session, work.REFRESH, str(case.id))
        return False
    if case.status not in CASE_MOVES["answer"][0]:
        return case.status == C.ANSWERED
    _move_case(case, "answer")
    case.closed_at, case.promised_at = at, None
    session.add(case)
    _stop_clock(session, case)
    work.schedule(session, work.FOLLOWUP, str(case.id), at)  # its first run applies [satisfaction]
    _note(session, actor, "case.answered", case=case, at=at, detail={"via": via})
    for reply in session.exec(select(Reply).where(Reply.case_id == case.id, col(Reply.status).in_(PENDING))):
        if ours is not None and reply.attempts > 0 and reply.text.strip() == ours.text.strip():
            settle_found(session, reply, external_id=ours.external_id, at=ours.created_at, actor=actor)
        elif reply.status in UNSENT:
            withdraw(session, reply, actor, "the customer was already answered")
    return True


def close(session: Session, case: Case, actor: str, reason: str, now: datetime | None = None) -> None:
    """Close a case without replying; what was waiting is settled, and an unsent reply is rejected."""
    now = now or utcnow()
    pending = session.exec(select(Reply).where(Reply.case_id == case.id, col(Reply.status).in_(PENDING))).all()
    if any(r.status == R.SENDING for r in pending):
        raise MoveRefused(f"case {case.id}'s reply is being sent right now")
    _move_case(case, "close")
    for reply in pending:
        reject(session, reply, actor, reason, now)
    for message in session.exec(select(Message).where(Message.case_id == case.id, col(Message.answered_at).is_(None))):
        message.answered_at = now
        session.add(message)
    case.closed_at, case.close_reason, case.promised_at = now, reason, None
    session.add(case)
    _stop_clock(session, case)
    _note(session, actor, "case.closed", case=case, at=now, detail={"reason": reason})


# -- replies --------------------------------------------------------------------------------------


def draft(
    session: Session,
    case: Case,
    to: Message,
    text: str,
    language: str | None,
    actor: str = "system",
    kind: ReplyKind = ReplyKind.ANSWER,
    at: datetime | None = None,
) -> Reply:
    assert case.id is not None and to.id is not None
    reply = Reply(
        case_id=case.id, to_message_id=to.id, text=text, language=language, kind=kind, drafted_at=at or utcnow()
    )
    session.add(reply)
    session.flush()
    record(session, actor, "reply.drafted", case=case, reply=reply, detail={"kind": kind} if kind != "answer" else None)
    return reply


def system_reply(
    session: Session, case: Case, to: Message, text: str, language: str | None, kind: ReplyKind, now: datetime
) -> Reply:
    """A reply the product sends on its own (holding, after hours, follow-up): drafted and approved by "system"."""
    reply = draft(session, case, to, text, language, kind=kind, at=now)
    approve(session, reply, "system", now)
    return reply


def redraft(session: Session, reply: Reply, to: Message, text: str, language: str | None) -> None:
    """A draft follows the customer's newest message; an approved reply is never rewritten behind a person."""
    if reply.status != R.DRAFT:
        raise MoveRefused(f"reply {reply.id} is {reply.status}; only a draft is redrafted")
    assert to.id is not None
    reply.to_message_id, reply.text, reply.language, reply.tone = to.id, text, language, None
    session.add(reply)
    record(session, "system", "reply.redrafted", reply=reply)


def edit(session: Session, reply: Reply, actor: str, text: str) -> None:
    if reply.status not in UNSENT:
        raise MoveRefused(f"reply {reply.id} is {reply.status}; it can no longer be edited")
    if text != reply.text:
        record(session, actor, "reply.edited", reply=reply, detail={"before": reply.text})
        reply.text, reply.tone = text, None
        session.add(reply)


def approve(
    session: Session, reply: Reply, actor: str, now: datetime | None = None, detail: dict[str, Any] | None = None
) -> None:
    """Approved for sending: the idempotency key is made now and kept for every attempt.

    ``detail`` goes into the audit entry and the event: a tone refusal a person overrode (``forced``).
    """
    now = now or utcnow()
    _move_reply(reply, "approve")
    reply.approved_by, reply.approved_at = actor, now
    reply.idempotency_key = reply.idempotency_key or uuid.uuid4().hex
    session.add(reply)
    session.flush()
    work.schedule(session, work.SEND, str(reply.id), now)
    _note(session, actor, "reply.approved", reply=reply, at=now, detail=detail, account_id=_account_of(session, reply))


def unapprove(session: Session, reply: Reply, actor: str) -> None:
    """Back to draft while it has not started going out.

    A reply already tried on the platform (deferred after a timeout) may be posted there: taking it
    back, or changing its text, could answer the customer twice, so that is refused.
    """
    if reply.attempts > 0:
        raise MoveRefused(
            f"reply {reply.id} was already tried on the platform ({reply.attempts} attempt(s)) and may be posted; "
            "it can no longer be changed or taken back"
        )
    _move_reply(reply, "unapprove")
    reply.approved_by, reply.approved_at = None, None
    session.add(reply)
    _drop_send(session, reply)
    _note(session, actor, "reply.unapproved", reply=reply, account_id=_account_of(session, reply))


def forced(session: Session, reply: Reply) -> bool:
    """Whether a person approved this reply over the tone guard (``approve --force``)."""
    approvals = session.exec(
        select(Event.detail)
        .where(Event.reply_id == reply.id, Event.kind == "reply.approved")
        .order_by(col(Event.id).desc())
        .limit(1)
    ).first()
    return bool(approvals and approvals.get("forced"))


def refuse_tone(session: Session, reply: Reply, actor: str, reason: str) -> None:
    """Not sent: the reply reads wrong (tone guard at send time). Back to draft with the reason, for a person."""
    _move_reply(reply, "unapprove")
    reply.approved_by, reply.approved_at, reply.last_error = None, None, f"tone: {reason}"
    session.add(reply)
    _drop_send(session, reply)
    _note(
        session,
        actor,
        "reply.tone_refused",
        reply=reply,
        detail={"reason": reason},
        account_id=_account_of(session, reply),
    )


def claim_for_sending(session: Session, reply_id: int, actor: str, now: datetime) -> Reply | None:
    """approved -> sending as a compare-and-set: of two senders, exactly one gets the reply."""
    won = session.execute(
        sa.update(Reply)
        .where(col(Reply.id) == reply_id, col(Reply.status).in_(REPLY_MOVES["claim"][0]))
        .values(status=REPLY_MOVES["claim"][1], attempts=col(Reply.attempts) + 1, version=col(Reply.version) + 1)
    )
    if not won.rowcount:
        return None
    reply = session.get(Reply, reply_id, populate_existing=True)
    assert reply is not None
    record(session, actor, "reply.sending", reply=reply, detail={"attempt": reply.attempts})
    return reply


def resume_sending(session: Session, reply: Reply, actor: str) -> None:
    """A reply left ``sending`` by a worker that died: another attempt, after checking the platform."""
    if reply.status != R.SENDING:
        raise MoveRefused(f"reply {reply.id} is {reply.status}, not sending")
    reply.attempts += 1
    session.add(reply)
    record(session, actor, "reply.resumed", reply=reply, detail={"attempt": reply.attempts})


def sent(session: Session, reply: Reply, *, external_id: str, at: datetime, actor: str, to: Message) -> None:
    """The platform has our reply: recorded, and the customer's messages up to the one answered are answered."""
    _move_reply(reply, "sent")
    reply.external_id, reply.sent_at, reply.last_error = external_id, at, None
    session.add(reply)
    _drop_send(session, reply)
    case = lock_case(session, reply.case_id)
    assert case is not None
    if reply.kind != ReplyKind.ANSWER:  # told when the answer will come: a fact of its own, it answers nothing
        detail = {"external_id": external_id, "kind": reply.kind, "promised": _iso(case.promised_at)}
        _note(session, actor, "reply.holding_sent", case=case, reply=reply, at=at, detail=detail)
        return
    _note(session, actor, "reply.sent", case=case, reply=reply, at=at, detail={"external_id": external_id})
    if reply.kind == ReplyKind.ANSWER:
        mark_answered(session, case, at=at, up_to=to.created_at, actor=actor, via="reply")


def settle_found(session: Session, reply: Reply, *, external_id: str, at: datetime, actor: str) -> None:
    """An earlier attempt did reach the platform (seen on a poll before its answer was settled)."""
    _move_reply(reply, "found")
    reply.external_id, reply.sent_at, reply.last_error = external_id, at, None
    session.add(reply)
    _drop_send(session, reply)
    _note(session, actor, "reply.sent", reply=reply, at=at, detail={"external_id": external_id, "found": True})


def defer(session: Session, reply: Reply, actor: str, error: str, retry_at: datetime) -> None:
    """Not sent this time (a timeout, a rate limit): back to approved, due again at ``retry_at``."""
    _move_reply(reply, "defer")
    reply.last_error = error
    session.add(reply)
    work.schedule(session, work.SEND, str(reply.id), retry_at)
    record(session, actor, "reply.deferred", reply=reply, detail={"error": error, "until": retry_at.isoformat()})


def fail(session: Session, reply: Reply, actor: str, error: str, now: datetime | None = None) -> None:
    """Given up for good; the case stays open so a person sees it."""
    _move_reply(reply, "fail")
    reply.last_error = error
    session.add(reply)
    _drop_send(session, reply)
    _note(session, actor, "reply.failed", reply=reply, at=now, detail={"error": error})
    if reply.kind in (ReplyKind.HOLDING, ReplyKind.AFTER_HOURS):  # the customer was never told: no promise stands
        case = lock_case(session, reply.case_id)
        if case is not None and case.promised_at is not None:
            case.promised_at = None
            session.add(case)
            work.nudge(session, work.REFRESH, str(case.id))


def withdraw(session: Session, reply: Reply, actor: str, reason: str) -> None:
    _move_reply(reply, "withdraw")
    reply.last_error = reason
    session.add(reply)
    _drop_send(session, reply)
    _note(session, actor, "reply.withdrawn", reply=reply, detail={"reason": reason})


def reject(session: Session, reply: Reply, actor: str, reason: str, now: datetime | None = None) -> None:
    _move_reply(reply, "reject")
    session.add(reply)
    _drop_send(session, reply)
    _note(session, actor, "reply.rejected", reply=reply, at=now, detail={"reason": reason})


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _drop_send(session: Session, reply: Reply) -> None:
    work.cancel(session, work.SEND, str(reply.id))


def _account_of(session: Session, reply: Reply) -> int | None:
    case = session.get(Case, reply.case_id)
    return case.account_id if case is not None else None
