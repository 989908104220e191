"""A missed deadline reaches a person: one email (and one webhook call) per minute's breaches, once per case.

The deadline check records ``case.deadline_passed`` and asks for the escalation (one work item,
due when the minute ends), so breaches that happen together arrive in one message. Each
channel — email, webhook — records a ``case.escalated`` event per case once the message was
handed over, so a mail server that is down delays the escalation and never loses or repeats it
(the webhook does not wait on the mail, nor the mail on the webhook).

The summary is plain text: the case, the customer, how late, their words with control and
escape characters dropped, and the command that shows the case.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from socialcare import lifecycle
from socialcare.config import Config
from socialcare.db import session_scope
from socialcare.drafting import plain
from socialcare.models import Account, Case, CaseStatus, Direction, Event, Identity, Message

log = logging.getLogger("socialcare.escalation")
ESCALATE, KEY = "escalate", "breaches"
EMAIL, WEBHOOK = "email", "webhook"
WORDS = 280
"""Characters of the customer's latest message quoted in an escalation."""


@dataclass(frozen=True)
class Breach:
    case_id: int
    account: str
    customer: str
    priority: str
    due_at: datetime
    words: str

    def line(self, config: Config, now: datetime) -> str:
        zone = config.zone
        late = max(int((now - self.due_at).total_seconds() // 60), 0)
        return (
            f"case {self.case_id} · {self.priority} · {self.account} · {self.customer} · "
            f"due {self.due_at.astimezone(zone):%Y-%m-%d %H:%M} {zone.key} ({late} min late)\n"
            f"    “{self.words}”\n"
            f"    socialcare show {self.case_id}"
        )

    def json(self) -> dict[str, object]:
        return {
            "case": self.case_id,
            "account": self.account,
            "customer": self.customer,
            "priority": self.priority,
            "due_at": self.due_at.isoformat(),
            "words": self.words,
        }


def minute_end(now: datetime) -> datetime:
    """When a breach at ``now`` is escalated: at the end of its minute, with every other breach of that minute.

    One work item (``KEY``) carries them all, so several daemons never send the same breach twice.
    """
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


def channels(config: Config) -> list[str]:
    """Where escalations can go with this config."""
    if not config.escalation.enabled:
        return []
    found = []
    if config.smtp.host and config.smtp.sender and (config.escalation.to or config.smtp.to):
        found.append(EMAIL)
    if config.escalation.webhook is not None:
        found.append(WEBHOOK)
    return found


def escalate(engine: Engine, config: Config, now: datetime) -> int:
    """Send what is owed on every channel; returns how many cases were escalated on some channel.

    A channel that fails raises after the others were tried, so the work item runs again later.
    """
    failures: list[Exception] = []
    escalated = 0
    for channel in channels(config):
        breaches = owed(engine, channel)
        if not breaches:
            continue
        try:
            _send(config, channel, breaches, now)
        except Exception as err:  # retried as a whole by the work item; the other channel goes on
            failures.append(err)
            continue
        with session_scope(engine) as session:
            for breach in breaches:
                case = session.get(Case, breach.case_id)
                assert case is not None
                lifecycle.escalated(session, case, channel, now)
        escalated = max(escalated, len(breaches))
        log.warning("escalated %d case(s) past their deadline by %s", len(breaches), channel)
    if failures:
        raise failures[0]
    return escalated


def owed(engine: Engine, channel: str) -> list[Breach]:
    """Open cases past a deadline that this channel has not been told of yet, oldest deadline first."""
    told = (
        select(Event.case_id)
        .where(Event.kind == "case.escalated", sa.cast(Event.detail, sa.String).contains(f'"{channel}"'))
        .scalar_subquery()
    )
    with session_scope(engine) as session:
        rows = session.exec(
            select(Case, Account, Identity)
            .join(Account, col(Account.id) == Case.account_id)
            .join(Identity, col(Identity.id) == Case.identity_id)
            .where(
                Case.status == CaseStatus.OPEN,
                col(Case.breach_noted_at).is_not(None),
                col(Case.id).not_in(told),
            )
            .order_by(col(Case.due_at), col(Case.id))
        ).all()
        return [_breach(session, case, account, identity) for case, account, identity in rows]


def _breach(session: Session, case: Case, account: Account, identity: Identity) -> Breach:
    latest = session.exec(
        select(Message.text)
        .where(Message.case_id == case.id, Message.direction == Direction.INBOUND)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
    ).first()
    words = " ".join(plain(latest or "").split())
    assert case.id is not None
    return Breach(
        case_id=case.id,
        account=account.name,
        customer=plain(f"@{identity.handle}")[:80],
        priority=case.priority,
        due_at=case.due_at,
        words=words if len(words) <= WORDS else words[: WORDS - 1] + "…",
    )


def _send(config: Config, channel: str, breaches: list[Breach], now: datetime) -> None:
    subject = f"socialcare: {len(breaches)} case(s) past their deadline"
    text = f"{subject}\n\n" + "\n\n".join(b.line(config, now) for b in breaches) + "\n"
    if channel == EMAIL:
        from socialcare.mail import send_mail

        send_mail(config, subject, text, to=config.escalation.to or None)
        return
    assert config.escalation.webhook is not None
    response = httpx.post(
        str(config.escalation.webhook),
        json={"text": text, "cases": [b.json() for b in breaches]},
        timeout=10,
    )
    response.raise_for_status()
