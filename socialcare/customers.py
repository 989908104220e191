"""One customer across channels: identities linked on exact shared identifiers or by a person, and their history.

Automatic linking only ever joins identities that share an exact identifier: the same email
address (case-folded) or the same phone number in international form (``+`` and digits), as a
channel reports them. Anything less (a similar handle, the same name) is a person's call:
``socialcare customer link A B``. Merging keeps everything: the identities move to the older
customer and their cases stay on them, so its history has all of them; the emptied customer row
stays, pointing at the one it was merged into. ``unlink`` splits an identity back out to a
customer of its own, and automatic linking leaves that identity alone from then on. Each link and
split is in the audit log of the customers concerned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from socialcare.errors import UserError
from socialcare.models import (
    Account,
    AuditLog,
    Case,
    CaseStatus,
    Customer,
    Direction,
    Event,
    Identity,
    Message,
    Reply,
    ReplyStatus,
    Satisfaction,
    Verdict,
    utcnow,
)

HISTORY = 20
"""How many of a customer's cases their history shows, newest first."""

_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
_MOODS = ("negative", "neutral", "positive")
"""A case's sentiment is the most negative of its customer's messages."""


def normal_email(value: str | None) -> str | None:
    """The address to compare on (trimmed, case-folded), or None if it is not one."""
    if not value or not _storable(value):
        return None
    email = value.strip().casefold()
    return email if _EMAIL.match(email) and email.isprintable() else None


def normal_phone(value: str | None) -> str | None:
    """The number to compare on, ``+`` and 7 to 15 digits (E.164), or None.

    Only international numbers (``+39 …`` or ``0039 …``) count: a local one could be anyone's in
    another country.
    """
    if not value or not _storable(value):
        return None
    phone = _PHONE_PUNCTUATION.sub("", value.strip())
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    return phone if _PHONE.match(phone) else None


def _storable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def label(identity: Identity) -> str:
    """How people name an identity: ``platform:handle``."""
    return f"{identity.platform}:{identity.handle}"


# -- linking ----------------------------------------------------------------------------------------


def note_identifiers(session: Session, identity_id: int, *, email: str | None, phone: str | None) -> None:
    """Keep the email and phone a channel gave for this identity, and join it to every customer sharing one."""
    identity = session.get(Identity, identity_id)
    assert identity is not None
    found = {"email": normal_email(email), "phone": normal_phone(phone)}
    for key, value in found.items():
        if value is not None and getattr(identity, key) != value:
            setattr(identity, key, value)
            session.add(identity)
    session.flush()
    if identity.unlinked_at is not None:
        return  # a person decided this identity stands alone
    for key in found:
        value = getattr(identity, key)
        if value is None:
            continue
        column = getattr(Identity, key)
        for other in session.exec(
            select(Identity)
            .where(column == value, Identity.customer_id != identity.customer_id, col(Identity.unlinked_at).is_(None))
            .order_by(col(Identity.id))
        ).all():
            if other.customer_id != identity.customer_id:
                merge(session, identity, other, actor="system", reason=f"same {key}")


def link(session: Session, first: str, second: str, actor: str) -> Customer:
    """``socialcare customer link A B``: the two identities (and everyone linked to them) are one customer."""
    a, b = find_identity(session, first), find_identity(session, second)
    if a.customer_id == b.customer_id:
        raise UserError(f"{label(a)} and {label(b)} are already the same customer ({a.customer_id})")
    return merge(session, a, b, actor=actor, reason="by hand")


def merge(session: Session, a: Identity, b: Identity, *, actor: str, reason: str) -> Customer:
    """Make ``a``'s and ``b``'s customers one: the older keeps every identity, the other points at it."""
    keep, gone = _locked_customers(session, a.customer_id, b.customer_id)
    assert keep.id is not None and gone.id is not None
    moved = session.exec(select(Identity).where(Identity.customer_id == gone.id).order_by(col(Identity.id))).all()
    for identity in moved:
        identity.customer_id = keep.id
        session.add(identity)
    stops = [t for t in (keep.followups_stopped_at, gone.followups_stopped_at) if t is not None]
    keep.followups_stopped_at = min(stops, default=None)  # whoever said stop is never asked again
    keep.display_name = keep.display_name or gone.display_name
    gone.merged_into_id = keep.id
    session.add_all([keep, gone])
    _audit(
        session,
        actor,
        "customer.linked",
        keep,
        {
            "identity": _ref(a),
            "with": _ref(b),
            "reason": reason,
            "merged": gone.id,
            "moved": [_ref(i) for i in moved],
        },
    )
    session.flush()
    return keep


def unlink(session: Session, ref: str, actor: str, now: datetime | None = None) -> Customer:
    """``socialcare customer unlink A``: the identity becomes a customer of its own, its cases with it."""
    identity = find_identity(session, ref)
    (old,) = _locked_customers(session, identity.customer_id)
    others = session.exec(
        select(sa.func.count()).select_from(Identity).where(Identity.customer_id == old.id, Identity.id != identity.id)
    ).one()
    if not others:
        raise UserError(f"{label(identity)} is the only identity of customer {old.id}; there is nothing to unlink")
    new = Customer(display_name=identity.display_name or identity.handle, followups_stopped_at=old.followups_stopped_at)
    session.add(new)
    session.flush()
    assert new.id is not None
    identity.customer_id, identity.unlinked_at = new.id, now or utcnow()
    session.add(identity)
    _audit(session, actor, "customer.unlinked", old, {"identity": _ref(identity), "to": new.id})
    _audit(session, actor, "customer.unlinked", new, {"identity": _ref(identity), "from": old.id})
    session.flush()
    return new


def _locked_customers(session: Session, *ids: int) -> list[Customer]:
    """The customers, oldest first, locked for this transaction: two merges of one customer go one after the other."""
    found = session.exec(
        select(Customer)
        .where(col(Customer.id).in_(ids))
        .order_by(col(Customer.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    assert len(found) == len(set(ids))
    return list(found)


def _ref(identity: Identity) -> dict[str, Any]:
    return {"id": identity.id, "name": label(identity)}


def _audit(session: Session, actor: str, action: str, customer: Customer, detail: dict[str, Any]) -> None:
    session.add(AuditLog(actor=actor, action=action, customer_id=customer.id, detail=detail))


def stop_followups(session: Session, customer_id: int, at: datetime, *, case_id: int | None) -> None:
    """The customer answered "stop": no follow-up is ever sent to them again, on any of their identities."""
    (customer,) = _locked_customers(session, customer_id)
    if customer.followups_stopped_at is not None:
        return
    customer.followups_stopped_at = at
    session.add(customer)
    session.add(
        AuditLog(
            actor="customer", action="customer.followups_stopped", customer_id=customer_id, case_id=case_id, detail={}
        )
    )


# -- finding ----------------------------------------------------------------------------------------


def find_identity(session: Session, ref: str) -> Identity:
    """An identity by id (digits), ``platform:handle``, or a handle alone when only one identity has it."""
    wanted = ref.strip()
    if wanted.isdigit():
        identity = session.get(Identity, int(wanted))
        if identity is None:
            raise UserError(f"no identity {wanted}; name it as platform:handle (e.g. sandbox:ann) or by its id")
        return identity
    platform, sep, handle = wanted.partition(":")
    if not sep:
        platform, handle = "", wanted
    handle = handle.strip().removeprefix("@")
    if not handle:
        raise UserError(f"{ref!r} names no one; use platform:handle (e.g. sandbox:ann) or an identity id")
    query = select(Identity).order_by(col(Identity.id))
    if platform:
        query = query.where(Identity.platform == platform)
    found = session.exec(query.where(Identity.handle == handle)).all()
    if not found:
        found = session.exec(query.where(sa.func.lower(Identity.handle) == handle.lower())).all()
    if not found:
        raise UserError(f"no customer known as {wanted!r}; use platform:handle (e.g. sandbox:ann) or an identity id")
    if len(found) > 1:
        names = ", ".join(f"{label(i)} (identity {i.id})" for i in found)
        raise UserError(f"{wanted!r} could be {names}: say which, as platform:handle or an identity id")
    return found[0]


# -- what the team sees -----------------------------------------------------------------------------


def profile(session: Session, ref: str, now: datetime | None = None) -> dict[str, Any]:
    """``socialcare customer HANDLE``: who they are on every channel, their cases, and what was done to the link."""
    identity = find_identity(session, ref)
    customer = session.get(Customer, identity.customer_id)
    assert customer is not None and customer.id is not None
    audit = session.exec(select(AuditLog).where(AuditLog.customer_id == customer.id).order_by(col(AuditLog.id))).all()
    return {
        **summary(session, customer),
        "history": history(session, customer.id, now),
        "audit": [
            {"at": a.at.isoformat(), "actor": a.actor, "action": a.action, "detail": a.detail, "said": _said(a)}
            for a in audit
        ],
    }


def _said(entry: AuditLog) -> str:
    """An audit entry about a customer in words."""
    detail = entry.detail
    if entry.action == "customer.linked":
        return f"{detail['identity']['name']} linked with {detail['with']['name']} ({detail['reason']})"
    if entry.action == "customer.unlinked":
        where = f"to customer {detail['to']}" if "to" in detail else f"of customer {detail['from']}"
        return f"{detail['identity']['name']} split out {where}"
    if entry.action == "customer.followups_stopped":
        return "answered stop: no more follow-ups"
    return entry.action


def summary(session: Session, customer: Customer) -> dict[str, Any]:
    """The customer and their identities, as ``show`` and ``customer`` print them."""
    identities = session.exec(
        select(Identity).where(Identity.customer_id == customer.id).order_by(col(Identity.id))
    ).all()
    stopped = customer.followups_stopped_at
    return {
        "id": customer.id,
        "name": customer.display_name,
        "followups_stopped_at": stopped.isoformat() if stopped else None,
        "identities": [
            {
                "id": i.id,
                "platform": i.platform,
                "handle": i.handle,
                "name": i.display_name,
                "email": i.email,
                "phone": i.phone,
                "kept_apart": i.unlinked_at is not None,
            }
            for i in identities
        ],
    }


def history(
    session: Session, customer_id: int, now: datetime | None = None, *, leave_out: int | None = None
) -> list[dict[str, Any]]:
    """The customer's recent cases on every linked identity, newest first (``leave_out``: the case being shown).

    For each: its channel, status and priority, its sentiment (the most negative of the customer's
    messages) and whether any was a complaint, its first message, whether the answer came by the
    deadline in force, each promise a holding or after-hours reply made and whether it was kept,
    and the satisfaction follow-up with its answer.
    """
    now = now or utcnow()
    query = (
        select(Case, Account, Identity)
        .join(Identity, col(Identity.id) == Case.identity_id)
        .join(Account, col(Account.id) == Case.account_id)
        .where(Identity.customer_id == customer_id)
    )
    if leave_out is not None:
        query = query.where(Case.id != leave_out)
    rows = session.exec(query.order_by(col(Case.opened_at).desc(), col(Case.id).desc()).limit(HISTORY)).all()
    ids = [case.id for case, _, _ in rows if case.id is not None]
    moods, firsts = _moods(session, ids)
    promises = _promises(session, ids, now)
    followups = {s.case_id: s for s in session.exec(select(Satisfaction).where(col(Satisfaction.case_id).in_(ids)))}
    return [
        {
            "id": case.id,
            "account": account.name,
            "platform": account.platform,
            "handle": identity.handle,
            "status": case.status,
            "priority": case.priority,
            "opened_at": case.opened_at.isoformat(),
            "due_at": case.due_at.isoformat(),
            "answered_at": case.closed_at.isoformat()
            if case.status == CaseStatus.ANSWERED and case.closed_at
            else None,
            "answered_in_time": _in_time(case, now),
            "sentiment": moods.get(case.id, (None, False))[0],
            "complaint": moods.get(case.id, (None, False))[1],
            "message": firsts.get(case.id, ""),
            "promises": promises.get(case.id, []),
            "followup": _followup(followups.get(case.id)),
        }
        for case, account, identity in rows
    ]


def _in_time(case: Case, now: datetime) -> bool | None:
    """Answered by the deadline in force (a promise included)? None while it is not due or was closed unanswered."""
    if case.status == CaseStatus.ANSWERED and case.closed_at is not None:
        return case.closed_at <= case.due_at
    if case.status == CaseStatus.OPEN and case.due_at < now:
        return False
    return None


def _moods(session: Session, ids: Sequence[int]) -> tuple[dict[int, tuple[str | None, bool]], dict[int, str]]:
    moods: dict[int, tuple[str | None, bool]] = {}
    firsts: dict[int, str] = {}
    if not ids:
        return moods, firsts
    for message, verdict in session.exec(
        select(Message, Verdict)
        .outerjoin(Verdict, col(Verdict.message_id) == Message.id)
        .where(col(Message.case_id).in_(ids), Message.direction == Direction.INBOUND)
        .order_by(col(Message.created_at), col(Message.id))
    ):
        assert message.case_id is not None
        firsts.setdefault(message.case_id, message.text)
        mood, complaint = moods.get(message.case_id, (None, False))
        if verdict is not None and verdict.label in _MOODS:
            mood = min(filter(None, (mood, verdict.label)), key=_MOODS.index)
            complaint = complaint or verdict.is_complaint
        moods[message.case_id] = (mood, complaint)
    return moods, firsts


_SETTLED = ("case.answered", "case.waiting", "case.closed")
"""What ends the wait a promise was made in: an answer, a question back to the customer, or the case closed."""


def _promises(session: Session, ids: Sequence[int], now: datetime) -> dict[int, list[dict[str, Any]]]:
    """Each promise a holding or after-hours reply made, and its outcome.

    ``kept`` when the customer heard from us (an answer, or a question back) by the promised time;
    ``broken`` when that came later, or has not come and the time is past; ``pending`` until then;
    ``not sent`` when the reply that carried it never reached them.
    """
    if not ids:
        return {}
    events = session.exec(
        select(Event)
        .where(col(Event.case_id).in_(ids), col(Event.kind).in_(("case.promised", *_SETTLED)))
        .order_by(col(Event.at), col(Event.id))
    ).all()
    reply_ids = [e.reply_id for e in events if e.kind == "case.promised" and e.reply_id is not None]
    statuses = dict(session.exec(select(Reply.id, Reply.status).where(col(Reply.id).in_(reply_ids))).all())
    found: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        if event.kind != "case.promised" or event.case_id is None:
            continue
        by = datetime.fromisoformat(event.detail["by"])
        settled = next(
            (e.at for e in events if e.case_id == event.case_id and e.kind in _SETTLED and e.at >= event.at), None
        )
        if statuses.get(event.reply_id) in (ReplyStatus.FAILED, ReplyStatus.WITHDRAWN, ReplyStatus.REJECTED):
            outcome = "not sent"
        elif settled is not None:
            outcome = "kept" if settled <= by else "broken"
        else:
            outcome = "broken" if now > by else "pending"
        found.setdefault(event.case_id, []).append(
            {
                "kind": event.detail.get("kind"),
                "made_at": event.at.isoformat(),
                "by": by.isoformat(),
                "heard_at": settled.isoformat() if settled else None,
                "outcome": outcome,
            }
        )
    return found


def _followup(row: Satisfaction | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "asked_at": row.asked_at.isoformat(),
        "answer": row.answer,
        "score": row.score,
        "answered_at": row.answered_at.isoformat() if row.answered_at else None,
    }
