"""What people do with the queue: list it, look at a case, approve or reject its reply."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from connectors.base import Connector, ReplyRefused
from socialcare import customers, lifecycle, team
from socialcare.calendars import BusinessCalendar
from socialcare.drafting import MIN_WORDS, READ, Reading, body, choose, plain, without_greeting
from socialcare.errors import UserError
from socialcare.faq import Entry, Faq
from socialcare.models import (
    Account,
    AuditLog,
    Case,
    CaseStatus,
    Claim,
    Customer,
    Direction,
    Identity,
    Message,
    Priority,
    Quarantine,
    Reply,
    ReplyKind,
    ReplyStatus,
    Verdict,
    utcnow,
)

STATUSES = ("open", "waiting", "answered", "closed", "all", "quarantined")
MAX_REPLY_CHARS = 20_000


DEFAULT_LIMIT = 1000
"""Rows when no limit is asked for: a queue of 200,000 open cases is a page at a time, not 100 MB at once."""


@dataclass(frozen=True, kw_only=True)
class QueueFilter:
    status: str = "open"
    channel: str | None = None
    limit: int | None = None
    """At most this many rows; None is ``DEFAULT_LIMIT``."""
    offset: int = 0
    """Rows to skip: the next page starts where the last one ended."""
    intent: str | None = None
    """Of the customer's newest message (its verdict)."""
    language: str | None = None
    priority: str | None = None
    customer: str | None = None
    """A handle (with or without @), or part of a display name; case does not matter."""
    containing: str | None = None
    """Part of the customer's newest message; case does not matter."""

    @property
    def rows(self) -> int:
        return self.limit if self.limit is not None else DEFAULT_LIMIT

    @property
    def by_message(self) -> bool:
        """Filters on the newest message are applied to the rows, so ``limit`` is applied after them."""
        return self.intent is not None or self.containing is not None

    def keeps(self, row: dict[str, Any]) -> bool:
        if self.intent is not None and row["intent"] != self.intent:
            return False
        return self.containing is None or self.containing.casefold() in (row["message"] or "").casefold()


def get_case(session: Session, case_id: int, *, lock: bool = False) -> Case:
    """The case; with ``lock``, fresh and locked against the daemon changing it meanwhile."""
    case = lifecycle.lock_case(session, case_id) if lock else session.get(Case, case_id)
    if case is None:
        raise UserError(f"no case {case_id}; `socialcare queue --status all` lists them")
    return case


def pending_reply(session: Session, case: Case) -> Reply | None:
    return session.exec(
        select(Reply)
        .where(Reply.case_id == case.id, Reply.kind == ReplyKind.ANSWER, col(Reply.status).in_(lifecycle.PENDING))
        .order_by(col(Reply.id).desc())
    ).first()


@dataclass(frozen=True)
class SavedAnswers:
    """Where ``show`` looks for saved answers: the team's FAQ, in the case's language, from a score on."""

    faq: Faq
    at_least: float
    language_for: Callable[[str | None], str]
    """The language drafts for a case's language are written in (``Drafter.language_for``)."""


Calendars = Callable[[str], BusinessCalendar]
"""An account's business calendar by its name (``Config.calendar_for``): time left is counted in open time."""


def queue(
    session: Session, wanted: QueueFilter, now: datetime | None = None, calendars: Calendars | None = None
) -> list[dict[str, Any]]:
    """Cases by deadline (then priority); each row is what the CLI shows and ``--json`` prints."""
    if wanted.status not in STATUSES:
        raise UserError(f"unknown status {wanted.status!r}; use one of {', '.join(STATUSES)}")
    if wanted.status == "quarantined":
        return quarantined(session, wanted)
    query = (
        select(Case, Account, Identity)
        .join(Account, col(Account.id) == Case.account_id)
        .join(Identity, col(Identity.id) == Case.identity_id)
    )
    if wanted.status != "all":
        query = query.where(Case.status == wanted.status)
    if wanted.channel:
        query = query.where((Account.name == wanted.channel) | (Account.platform == wanted.channel))
    if wanted.priority:
        query = query.where(Case.priority == wanted.priority)
    if wanted.language:
        query = query.where(Case.language == wanted.language)
    if wanted.customer:
        who = wanted.customer.removeprefix("@").lower()
        query = query.where(
            (sa.func.lower(Identity.handle) == who)
            | sa.func.lower(sa.func.coalesce(Identity.display_name, "")).contains(who, autoescape=True)
        )
    rank = sa.case({p.value: p.rank for p in Priority}, value=col(Case.priority))
    query = query.order_by(col(Case.due_at), rank, col(Case.id))
    if not wanted.by_message:
        query = query.offset(wanted.offset).limit(wanted.rows)
    rows = session.exec(query).all()
    ids = [case.id for case, _, _ in rows if case.id is not None]
    last_inbound, last_reply = _latest_inbound(session, ids), _latest_replies(session, ids)
    at = now or utcnow()
    claims = team.holders(session, ids, at)
    listed = [
        {
            **_row(
                case, account, identity, at, last_inbound.get(case.id, (None, None)), last_reply.get(case.id), calendars
            ),
            **_claim_fields(claims.get(case.id) if case.id is not None else None),
        }
        for case, account, identity in rows
    ]
    if wanted.by_message:
        listed = [row for row in listed if wanted.keeps(row)][wanted.offset : wanted.offset + wanted.rows]
    return listed


def _claim_fields(claim: Claim | None) -> dict[str, Any]:
    return {
        "held_by": claim.holder if claim else None,
        "held_until": claim.expires_at.isoformat() if claim else None,
    }


def quarantined(session: Session, wanted: QueueFilter) -> list[dict[str, Any]]:
    """Messages held because the store could not take them as they came, newest first."""
    query = select(Quarantine, Account).join(Account, col(Account.id) == Quarantine.account_id)
    if wanted.channel:
        query = query.where((Account.name == wanted.channel) | (Account.platform == wanted.channel))
    query = query.order_by(col(Quarantine.held_at).desc(), col(Quarantine.id).desc())
    query = query.offset(wanted.offset).limit(wanted.rows)
    return [
        {
            "id": q.id,
            "status": "quarantined",
            "account": account.name,
            "platform": q.platform,
            "external_id": q.external_id,
            "author": q.author,
            "text": q.text,
            "error": q.error,
            "created_at": q.created_at.isoformat() if q.created_at else None,
            "held_at": q.held_at.isoformat(),
            "raw": json.loads(q.raw),
        }
        for q, account in session.exec(query)
    ]


_CHUNK = 500
"""Case ids per ``IN (...)`` query: far below SQLite's and PostgreSQL's parameter limits."""


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _latest_inbound(session: Session, ids: list[int]) -> dict[int | None, tuple[Message | None, Verdict | None]]:
    """Each case's newest inbound message and its verdict, a query per 500 cases instead of one per case."""
    latest: dict[int | None, tuple[Message | None, Verdict | None]] = {}
    for chunk in _chunks(ids):
        found = session.exec(
            select(Message, Verdict)
            .outerjoin(Verdict, col(Verdict.message_id) == Message.id)
            .where(col(Message.case_id).in_(chunk), Message.direction == Direction.INBOUND)
            .order_by(col(Message.created_at), col(Message.id))
        )
        for message, verdict in found:
            latest[message.case_id] = (message, verdict)
    return latest


def _latest_replies(session: Session, ids: list[int]) -> dict[int | None, Reply]:
    latest: dict[int | None, Reply] = {}
    for chunk in _chunks(ids):
        for reply in session.exec(
            select(Reply).where(col(Reply.case_id).in_(chunk), Reply.kind == ReplyKind.ANSWER).order_by(col(Reply.id))
        ):
            latest[reply.case_id] = reply
    return latest


def _row(
    case: Case,
    account: Account,
    identity: Identity,
    now: datetime,
    last: tuple[Message | None, Verdict | None],
    reply: Reply | None,
    calendars: Calendars | None,
) -> dict[str, Any]:
    message, verdict = last
    return {
        **_case_fields(case, account, now, calendars),
        "customer": identity.display_name or identity.handle,
        "handle": identity.handle,
        "label": verdict.label if verdict else None,
        "intent": verdict.intent if verdict else None,
        "is_complaint": verdict.is_complaint if verdict else None,
        "message": message.text if message else "",
        "reply_id": reply.id if reply else None,
        "reply_status": reply.status if reply else None,
        "draft": reply.text if reply else None,
        "suggestion": _suggest_reject(case, [(message, verdict)] if message is not None else []),
    }


def _suggest_reject(case: Case, waiting: list[tuple[Message, Verdict | None]]) -> str | None:
    """Why the case looks like one to reject rather than answer (a broadcast, a promotion), if it does."""
    if case.status != CaseStatus.OPEN:
        return None
    readings = [
        Reading(v.label, v.intent, tuple(v.intents or ()), v.is_complaint, m.text[:READ])
        for m, v in waiting
        if v is not None
    ]
    return choose(case.priority, readings).reject


def _case_fields(case: Case, account: Account, now: datetime, calendars: Calendars | None) -> dict[str, Any]:
    """What the queue and ``show`` both say about a case. The clock only runs for open cases.

    ``seconds_left`` is wall time to the deadline; ``open_seconds_left`` the team's open time to it
    (negative once overdue), which is what the target counts.
    """
    running = case.status == CaseStatus.OPEN
    left = open_left = None
    if running:
        left = int((case.due_at - now).total_seconds())
        if calendars is not None:
            open_left = int(calendars(account.name).between(now, case.due_at).total_seconds())
    return {
        "id": case.id,
        "account": account.name,
        "platform": account.platform,
        "status": case.status,
        "priority": case.priority,
        "language": case.language,
        "waiting_since": case.waiting_since.isoformat(),
        "due_at": case.due_at.isoformat(),
        "promised_at": case.promised_at.isoformat() if case.promised_at else None,
        "seconds_left": left,
        "open_seconds_left": open_left,
    }


def show(
    session: Session,
    case_id: int,
    now: datetime | None = None,
    calendars: Calendars | None = None,
    saved: SavedAnswers | None = None,
) -> dict[str, Any]:
    """Everything about a case: its thread with verdicts, the customer's history on every linked identity
    (``customers.history``), replies, audit trail; with ``saved``, the team's saved answers that match what
    waits, and whether the draft repeats a reply this customer or thread already had."""
    case = get_case(session, case_id)
    account = session.get(Account, case.account_id)
    identity = session.get(Identity, case.identity_id)
    assert account is not None and identity is not None
    customer = session.get(Customer, identity.customer_id)
    messages = []
    for message, verdict in session.exec(
        select(Message, Verdict)
        .outerjoin(Verdict, col(Verdict.message_id) == Message.id)
        .where(Message.case_id == case.id)
        .order_by(col(Message.created_at), col(Message.id))
    ):
        messages.append(
            {
                "id": message.external_id,
                "direction": message.direction,
                "author": message.author_handle,
                "text": message.text,
                "created_at": message.created_at.isoformat(),
                "url": message.url,
                "answered_at": message.answered_at.isoformat() if message.answered_at else None,
                "verdict": _verdict_json(verdict),
            }
        )
    replies = session.exec(select(Reply).where(Reply.case_id == case.id).order_by(col(Reply.id))).all()
    waiting = session.exec(
        select(Message, Verdict)
        .outerjoin(Verdict, col(Verdict.message_id) == Message.id)
        .where(Message.case_id == case.id, Message.direction == Direction.INBOUND, col(Message.answered_at).is_(None))
    ).all()
    audit = session.exec(select(AuditLog).where(AuditLog.case_id == case.id).order_by(col(AuditLog.id))).all()
    assert customer is not None and customer.id is not None
    at = now or utcnow()
    pending = pending_reply(session, case)
    said = " ".join(m.text[:READ] for m, _ in waiting)
    matches = saved.faq.matches(said, saved.language_for(case.language), saved.at_least) if saved and said else []
    return {
        **_case_fields(case, account, at, calendars),
        "close_reason": case.close_reason,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "suggestion": _suggest_reject(case, list(waiting)),
        "saved_answers": [{"id": m.entry.id, "score": round(m.score, 2), "answer": m.entry.answer} for m in matches],
        "same_as": repeats(session, pending) if pending is not None else [],
        "customer": {**customers.summary(session, customer), "handle": identity.handle, "platform": identity.platform},
        "messages": messages,
        "history": customers.history(session, customer.id, at, leave_out=case.id),
        "replies": [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "text": r.text,
                "approved_by": r.approved_by,
                "approved_at": r.approved_at.isoformat() if r.approved_at else None,
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                "external_id": r.external_id,
                "error": r.last_error,
            }
            for r in replies
        ],
        "audit": [{"at": a.at.isoformat(), "actor": a.actor, "action": a.action, "detail": a.detail} for a in audit],
        **_claim_fields(team.holders(session, [case.id], at).get(case.id)),
        "notes": team.notes(session, case.id),
    }


def _verdict_json(verdict: Verdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {
        "label": verdict.label,
        "scores": {
            "negative": verdict.score_negative,
            "neutral": verdict.score_neutral,
            "positive": verdict.score_positive,
        },
        "is_complaint": verdict.is_complaint,
        "intent": verdict.intent,
        "language": verdict.language,
        "backend": verdict.backend,
    }


def approve(
    session: Session,
    case_id: int,
    actor: str,
    connector: Connector | None,
    text: str | None = None,
    *,
    guard: Callable[[Reply], str | None] | None = None,
    force: bool = False,
) -> Reply:
    """Approve the case's reply, optionally with new text; the channel's rules are checked first, then its tone.

    A reply the tone ``guard`` refuses is approved only with ``force``, and the audit entry says so.
    """
    case = get_case(session, case_id, lock=True)
    if case.status != CaseStatus.OPEN:
        raise UserError(f"case {case_id} is {case.status}; nothing to approve")
    reply = pending_reply(session, case)
    if reply is not None and reply.status == ReplyStatus.APPROVED and text is not None:
        lifecycle.unapprove(session, reply, actor)  # new text over an approved reply: approved again, as edited
    elif reply is not None and reply.status != ReplyStatus.DRAFT:
        hint = "; give --text to change it, or `socialcare unapprove`" if reply.status == ReplyStatus.APPROVED else ""
        raise UserError(f"case {case_id}'s reply is already {reply.status}{hint}")
    if reply is None:
        if text is None:
            raise UserError(f"case {case_id} has no draft; give the reply with --text")
        reply = lifecycle.draft(session, case, _latest_inbound_of(session, case), _clean(text), case.language, actor)
    if text is not None:
        lifecycle.edit(session, reply, actor, _clean(text))
    to = session.get(Message, reply.to_message_id)
    assert to is not None
    if connector is not None:
        from socialcare.outbox import to_inbound

        try:
            connector.check_reply(to_inbound(to), reply.text)
        except ReplyRefused as err:
            raise UserError(
                f"cannot approve case {case_id}: {err}; shorten it with --text or `socialcare review`"
            ) from None
    reason = guard(reply) if guard is not None else None
    if reason is not None and not force:
        raise UserError(
            f"cannot approve case {case_id}: {reason}; change it with --text or `socialcare review`, "
            "or approve it as it is with --force"
        )
    lifecycle.approve(session, reply, actor, detail={"forced": reason} if reason is not None else None)
    return reply


def approved_count(session: Session) -> int:
    """Replies approved and waiting to be sent: what `send` has before it."""
    return session.exec(select(sa.func.count()).select_from(Reply).where(Reply.status == ReplyStatus.APPROVED)).one()


def repeats(session: Session, reply: Reply, limit: int = 50) -> list[str]:
    """Our earlier answers with the same words (greeting aside) to this customer or in this thread, as
    "reply 12 to @bob (sent)": the same canned text twice reads like a bot."""
    case = session.get(Case, reply.case_id)
    assert case is not None
    same = (col(Case.identity_id) == case.identity_id) | (
        (col(Case.account_id) == case.account_id) & (col(Case.thread_id) == case.thread_id)
    )
    found = session.exec(
        select(Reply, Identity)
        .join(Case, col(Case.id) == Reply.case_id)
        .join(Identity, col(Identity.id) == Case.identity_id)
        .where(
            same,
            Reply.kind == ReplyKind.ANSWER,
            col(Reply.id) != reply.id,
            col(Reply.status).in_((ReplyStatus.APPROVED, ReplyStatus.SENDING, ReplyStatus.SENT)),
        )
        .order_by(col(Reply.id).desc())
        .limit(limit)
    ).all()
    mine = body(reply.text)
    return [f"reply {r.id} to @{who.handle} ({r.status})" for r, who in found if body(r.text) == mine]


def saved_answer(session: Session, case_id: int, language_for: Callable[[str | None], str]) -> tuple[str, Entry]:
    """The case's approved or sent answer as a saved answer (greeting left out), with the customer's message
    it answered as the example question, and the language it goes under."""
    case = get_case(session, case_id)
    reply = session.exec(
        select(Reply)
        .where(
            Reply.case_id == case.id,
            Reply.kind == ReplyKind.ANSWER,
            col(Reply.status).in_((ReplyStatus.APPROVED, ReplyStatus.SENDING, ReplyStatus.SENT)),
        )
        .order_by(col(Reply.id).desc())
    ).first()
    if reply is None:
        raise UserError(f"case {case_id} has no approved or sent reply to save; approve one first")
    asked = session.get(Message, reply.to_message_id)
    assert asked is not None
    question = " ".join(plain(asked.text).split())[:500]
    answer = without_greeting(reply.text)
    if len(answer.split()) < MIN_WORDS:
        raise UserError(f"case {case_id}'s reply is too short to be a saved answer: {reply.text!r}")
    return language_for(reply.language or case.language), Entry(f"case-{case_id}", answer, (), (question,))


def _latest_inbound_of(session: Session, case: Case) -> Message:
    latest = session.exec(
        select(Message)
        .where(Message.case_id == case.id, Message.direction == Direction.INBOUND)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
    ).first()
    assert latest is not None
    return latest


def _clean(text: str) -> str:
    text = text.strip()
    if not text:
        raise UserError("the reply text is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise UserError(f"the reply is {len(text)} characters; the most any channel takes is {MAX_REPLY_CHARS}")
    return text


def unapprove(session: Session, case_id: int, actor: str) -> Reply:
    """Take an approval back before the reply goes out: it is a draft again, and nothing is sent."""
    case = get_case(session, case_id, lock=True)
    reply = pending_reply(session, case)
    if reply is None or reply.status == ReplyStatus.DRAFT:
        raise UserError(f"case {case_id} has no approved reply")
    if reply.status == ReplyStatus.SENDING:
        raise UserError(f"case {case_id}'s reply is being sent right now; it can no longer be taken back")
    lifecycle.unapprove(session, reply, actor)
    return reply


def reopen(session: Session, case_id: int, actor: str) -> Case:
    """Open an answered or closed case again (closed by mistake, or the answer did not solve it)."""
    case = get_case(session, case_id, lock=True)
    if case.status not in (CaseStatus.ANSWERED, CaseStatus.CLOSED):
        raise UserError(f"case {case_id} is {case.status}; only an answered or closed case can be reopened")
    lifecycle.reopen_by_person(session, case, actor)
    return case


def wait(session: Session, case_id: int, actor: str) -> Case:
    """Waiting on the customer (we asked them something): the case leaves the queue and its clock stops
    until they write again."""
    case = get_case(session, case_id, lock=True)
    if case.status != CaseStatus.OPEN:
        raise UserError(f"case {case_id} is {case.status}; only an open case can wait on the customer")
    lifecycle.wait_on_customer(session, case, actor)
    return case


def reject(session: Session, case_id: int, actor: str, reason: str) -> Case:
    """Close a case without replying (spam, duplicate, answered elsewhere); the reason is kept."""
    reason = reason.strip()
    if not reason:
        raise UserError("say why with --reason (e.g. 'spam')")
    case = get_case(session, case_id, lock=True)
    if case.status != CaseStatus.OPEN:
        raise UserError(f"case {case_id} is {case.status}; nothing to reject")
    lifecycle.close(session, case, actor, reason)
    return case
