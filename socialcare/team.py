"""Several people on one queue: who is working (the audit log's actor), claims on cases, internal notes.

A claim says "I am writing this one" so two people do not answer the same customer twice; it
lapses on its own (``claim_expiry``, 30 minutes by default), since people go home with cases
claimed. Approving or rejecting a case a teammate holds is refused unless forced (``--force``):
taking over someone's case should be a decision, not an accident. Notes are for the team only and
never reach a draft or a channel.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from socialcare import lifecycle
from socialcare.audit import record
from socialcare.errors import UserError
from socialcare.models import Case, CaseStatus, Claim, Note, utcnow
from socialcare.terminal import plain

AGENT_LENGTH = 64
NOTE_LENGTH = 5_000


def agent_name(name: str) -> str:
    """A person's name as the audit log keeps it: printable, on one line, not empty, not huge."""
    clean = " ".join(plain(name).split())
    if not clean:
        raise UserError("the agent name is empty; give one with --as NAME or SOCIALCARE_AGENT")
    if len(clean) > AGENT_LENGTH:
        raise UserError(f"the agent name is {len(clean)} characters; at most {AGENT_LENGTH}")
    return clean


def _case(session: Session, case_id: int) -> Case:
    case = lifecycle.lock_case(session, case_id)
    if case is None:
        raise UserError(f"no case {case_id}; `socialcare queue --status all` lists them")
    return case


def _active(session: Session, case_id: int, now: datetime) -> Claim | None:
    claim = session.get(Claim, case_id)
    return claim if claim is not None and claim.expires_at > now else None


def claim(session: Session, case_id: int, agent: str, expiry: timedelta, *, force: bool = False) -> Claim:
    """Hold the case for ``agent`` (again, if it is theirs already: the time starts over)."""
    now = utcnow()
    case = _case(session, case_id)
    if case.status != CaseStatus.OPEN:
        raise UserError(f"case {case_id} is {case.status}; only an open case is claimed")
    held = _active(session, case_id, now)
    if held is not None and held.holder != agent and not force:
        raise UserError(f"case {case_id} is held by {held.holder} for {_left(held, now)}; --force takes it")
    detail: dict[str, Any] = {"until": (now + expiry).isoformat()}
    if held is not None and held.holder != agent:
        detail["from"] = held.holder
    found = session.get(Claim, case_id) or Claim(case_id=case_id, holder=agent, expires_at=now)
    found.holder, found.claimed_at, found.expires_at = agent, now, now + expiry
    session.add(found)
    record(session, agent, "case.claimed", case=case, detail=detail)
    return found


def release(session: Session, case_id: int, agent: str, *, force: bool = False) -> None:
    now = utcnow()
    case = _case(session, case_id)
    held = _active(session, case_id, now)
    if held is None:
        raise UserError(f"case {case_id} is not claimed")
    if held.holder != agent and not force:
        raise UserError(f"case {case_id} is held by {held.holder}; --force releases it")
    session.delete(held)
    record(session, agent, "case.released", case=case, detail={"holder": held.holder})


def check_free(session: Session, case_id: int, agent: str, *, force: bool = False) -> None:
    """Refuse to act on a case a teammate holds, unless forced."""
    held = _active(session, case_id, utcnow())
    if held is not None and held.holder != agent and not force:
        raise UserError(f"case {case_id} is held by {held.holder} for {_left(held, utcnow())}; --force acts anyway")


def _left(held: Claim, now: datetime) -> str:
    return f"another {max(1, round((held.expires_at - now).total_seconds() / 60))} min"


def done(session: Session, case_id: int, agent: str) -> None:
    """The holder approved or closed the case: the claim has served its purpose."""
    held = session.get(Claim, case_id)
    if held is not None and held.holder == agent:
        session.delete(held)


def holders(session: Session, case_ids: Iterable[int], now: datetime | None = None) -> dict[int, Claim]:
    """The claims in force on these cases."""
    ids = list(case_ids)
    if not ids:
        return {}
    at = now or utcnow()
    found = session.exec(select(Claim).where(col(Claim.case_id).in_(ids), col(Claim.expires_at) > at))
    return {c.case_id: c for c in found}


def note(session: Session, case_id: int, agent: str, text: str) -> Note:
    text = text.strip()
    if not text:
        raise UserError("the note is empty")
    if len(text) > NOTE_LENGTH:
        raise UserError(f"the note is {len(text)} characters; at most {NOTE_LENGTH}")
    case = _case(session, case_id)
    added = Note(case_id=case_id, author=agent, text=text)
    session.add(added)
    session.flush()
    record(session, agent, "case.noted", case=case, detail={"note": added.id})
    return added


def notes(session: Session, case_id: int) -> list[dict[str, Any]]:
    rows = session.exec(select(Note).where(Note.case_id == case_id).order_by(col(Note.id)))
    return [{"id": n.id, "at": n.at.isoformat(), "author": n.author, "text": n.text} for n in rows]
