"""Was this helpful? A follow-up some time after an answer, the customer's reply to it, and their opt-out.

When a case is answered the lifecycle makes a ``followup`` work item; its first run moves it to the
answer plus ``[satisfaction] delay``. Then the follow-up goes out like a holding reply (drafted and
approved by "system", sent by the outbox), on the same channel and in the customer's language. It
answers nothing. It is not sent when follow-ups are off; when the case was reopened or closed
meanwhile; when the case was about nothing to fix (low priority: thanks, praise, spam); when the
customer said stop; when any of their linked identities was asked within ``period``; on a public
channel unless ``public``; where the channel would refuse it (outside Messenger's 24 h window); or
when it is more than a day overdue (a backlog read on a first poll, a daemon that was down): asking
about an answer from long ago reads as spam. One per case, ever.

The customer's first message in that thread after it, within ``answer_within`` and before the team
says anything else there, is their answer if it is nothing but an answer: yes, no, a score from 1
to 5, or stop, in any of the six bundled languages (short texts are too short to tell a language
from). It is recorded (a :class:`Satisfaction` row, a ``satisfaction.answered`` event), kept in the
answered case's thread, and opens no case. Anything else is a normal message.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from connectors.base import Connector, ReplyRefused
from socialcare import customers, lifecycle
from socialcare.config import Config
from socialcare.drafting import Drafter, first_name
from socialcare.models import (
    Account,
    Case,
    CaseStatus,
    Customer,
    Direction,
    Event,
    Identity,
    Message,
    Priority,
    Reply,
    ReplyKind,
    ReplyStatus,
    Satisfaction,
    SatisfactionAnswer,
)
from socialcare.outbox import to_inbound

log = logging.getLogger("socialcare.satisfaction")
LATE = timedelta(days=1)
"""A follow-up this much past its time is dropped."""
RECHECK = timedelta(minutes=1)
"""How soon a follow-up whose account is not running in this process is looked at again."""

# -- asking -----------------------------------------------------------------------------------------


def follow_up(
    session: Session,
    case_id: int,
    config: Config,
    channels: Mapping[str, Connector],
    drafter: Drafter,
    now: datetime,
) -> datetime | None:
    """Ask the customer whether the answer helped, if everything allows it; returns when to look again, if ever."""
    case = lifecycle.lock_case(session, case_id)
    if case is None or case.status != CaseStatus.ANSWERED or case.closed_at is None:
        return None
    account = session.get(Account, case.account_id)
    assert account is not None
    policy = config.satisfaction_for(account.name)
    if not policy.enabled or case.priority == Priority.LOW:
        return None
    due = case.closed_at + policy.delay
    if now < due:
        return due
    if now > due + LATE:
        log.info("case %s: follow-up dropped, %s late", case_id, now - due)
        return None
    if session.exec(select(Satisfaction.id).where(Satisfaction.case_id == case.id)).first() is not None:
        return None
    identity = session.get(Identity, case.identity_id)
    assert identity is not None
    customer = session.exec(
        select(Customer)
        .where(Customer.id == identity.customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if customer.followups_stopped_at is not None or _asked_since(session, identity.customer_id, now - policy.period):
        return None
    connector = channels.get(account.name)
    if connector is None:
        return now + RECHECK
    if connector.capabilities.public and not policy.public:
        return None
    to = session.exec(
        select(Message)
        .where(Message.case_id == case.id, Message.direction == Direction.INBOUND)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
    ).first()
    if to is None:
        return None
    name = first_name(identity.display_name, identity.handle)
    text, language = drafter.system(ReplyKind.FOLLOWUP, case.language, name, lambda _language: "")
    try:
        connector.check_reply(to_inbound(to), text, now)
    except ReplyRefused as err:
        log.info("case %s: no follow-up: %s", case_id, err)
        return None
    reply = lifecycle.system_reply(session, case, to, text, language, ReplyKind.FOLLOWUP, now)
    assert reply.id is not None and identity.id is not None
    session.add(Satisfaction(case_id=case_id, reply_id=reply.id, identity_id=identity.id, asked_at=now))
    log.info("case %s: follow-up asked", case_id)
    return None


def _asked_since(session: Session, customer_id: int, since: datetime) -> bool:
    """Whether any identity of the customer was asked after ``since``."""
    return (
        session.exec(
            select(Satisfaction.id)
            .join(Identity, col(Identity.id) == Satisfaction.identity_id)
            .where(Identity.customer_id == customer_id, col(Satisfaction.asked_at) > since)
            .limit(1)
        ).first()
        is not None
    )


# -- the answer -------------------------------------------------------------------------------------


def record_answer(session: Session, message: Message, config: Config) -> bool:
    """If ``message`` answers a follow-up, record the answer and keep the message in that case's thread, settled.

    Returns False for anything else, which triage treats as a normal message.
    """
    found = recognise(message.text)
    if found is None or message.identity_id is None:
        return False
    account = session.get(Account, message.account_id)
    assert account is not None
    within = config.satisfaction_for(account.name).answer_within
    row = session.exec(
        select(Satisfaction, Reply, Case)
        .join(Reply, col(Reply.id) == Satisfaction.reply_id)
        .join(Case, col(Case.id) == Satisfaction.case_id)
        .where(
            col(Satisfaction.answered_at).is_(None),
            Satisfaction.identity_id == message.identity_id,
            Case.account_id == message.account_id,
            Case.thread_id == message.thread_id,
            col(Case.status).in_((CaseStatus.ANSWERED, CaseStatus.CLOSED)),
            Reply.status == ReplyStatus.SENT,
            col(Reply.sent_at) <= message.created_at,
            col(Reply.sent_at) >= message.created_at - within,
        )
        .order_by(col(Satisfaction.id).desc())
    ).first()
    if row is None:
        return False
    asked, reply, case = row
    assert reply.sent_at is not None
    team_since = session.exec(
        select(Message.id).where(
            Message.account_id == message.account_id,
            Message.thread_id == message.thread_id,
            Message.direction == Direction.OUTBOUND,
            col(Message.created_at) > reply.sent_at,
            col(Message.created_at) <= message.created_at,
            Message.external_id != reply.external_id,
        )
    ).first()
    if team_since is not None:
        return False  # the team wrote since: the customer may be answering them
    answer, score = found
    asked.answer, asked.score, asked.answered_at, asked.message_id = answer, score, message.created_at, message.id
    message.case_id, message.answered_at = case.id, message.created_at
    session.add_all([asked, message])
    session.add(
        Event(
            at=message.created_at,
            kind="satisfaction.answered",
            case_id=case.id,
            reply_id=reply.id,
            account_id=case.account_id,
            actor="customer",
            detail={
                "answer": answer,
                **({"score": score} if score is not None else {}),
                "message": message.external_id,
            },
        )
    )
    if answer == SatisfactionAnswer.STOP:
        identity = session.get(Identity, message.identity_id)
        assert identity is not None
        customers.stop_followups(session, identity.customer_id, message.created_at, case_id=case.id)
    return True


# -- recognising an answer --------------------------------------------------------------------------

Y, N, STOP = SatisfactionAnswer.YES, SatisfactionAnswer.NO, SatisfactionAnswer.STOP
# fmt: off
_PHRASES: dict[SatisfactionAnswer, tuple[str, ...]] = {
    Y: (
        "yes", "y", "yeah", "yep", "yup", "sure", "it was", "yes it was", "yes very", "very helpful", "helpful",
        "sì", "certo", "sì molto", "molto utile", "utile",
        "sí", "sí mucho", "muy útil", "útil", "claro",
        "oui", "oui très", "très utile", "utile",
        "ja", "ja sehr", "sehr hilfreich", "hilfreich",
        "sim", "sim muito", "muito útil", "útil",
        "👍",
    ),
    N: (
        "no", "n", "nope", "not really", "not helpful", "no it wasn't", "no it was not",
        "non molto", "per niente", "non utile", "no per niente",
        "no mucho", "para nada", "no fue útil",
        "non", "pas vraiment", "pas du tout", "non pas vraiment",
        "nein", "nicht wirklich", "gar nicht", "nein nicht wirklich",
        "não", "nem por isso", "não muito",
        "👎",
    ),
    STOP: (
        "stop", "unsubscribe", "stop asking", "stop it",
        "basta", "basta così",
        "para", "alto", "para ya",
        "arrêtez", "arrête", "arrêtez svp",
        "stopp", "aufhören", "hör auf",
        "parar", "pare",
    ),
}
# fmt: on
_POLITE = (
    "thanks thank you thx ty please pls ok okay hi hello "
    "grazie mille per favore ciao "
    "gracias por favor hola "
    "merci beaucoup s il vous plait bonjour "
    "danke schön bitte hallo "
    "obrigado obrigada olá"
)
"""Words around an answer that change nothing ("Sì, grazie!", "stop please")."""
_OF_FIVE = (
    (),
    ("5",),
    ("of", "5"),
    ("out", "of", "5"),
    ("su", "5"),
    ("de", "5"),
    ("sur", "5"),
    ("von", "5"),
    ("em", "5"),
    *(
        (star,)
        for star in "star stars stella stelle estrella estrellas étoile étoiles stern sterne estrela estrelas".split()
    ),
)
"""What may follow a score: "4", "4/5", "4 out of 5", "4 stelle"."""
_TOKEN = re.compile(r"[^\W_]+|👍|👎|⭐")
_MENTION = re.compile(r"(?:^|\s)[@＠]\w+")
LONGEST = 80
"""Longer texts are never just an answer."""


def _tokens(text: str) -> tuple[str, ...]:
    """Words as compared: case-folded, accents dropped, @mentions and punctuation gone."""
    text = _MENTION.sub(" ", text.casefold())
    flat = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return tuple(_TOKEN.findall(flat))


_FILLER = frozenset(_tokens(_POLITE))


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in _tokens(text) if w not in _FILLER)


_ANSWERS = {_words(phrase): answer for answer, phrases in _PHRASES.items() for phrase in phrases}
_SCORE_TAILS = frozenset(_words(" ".join(tail)) for tail in _OF_FIVE)


def recognise(text: str) -> tuple[SatisfactionAnswer, int | None] | None:
    """The answer ``text`` is, if it is nothing but one: yes, no, a score from 1 to 5, or stop."""
    if len(text) > LONGEST:
        return None
    words = _words(text)
    if not words:
        return None
    if set(words) == {"⭐"}:
        return (SatisfactionAnswer.SCORE, len(words)) if len(words) <= 5 else None
    if words[0] in ("1", "2", "3", "4", "5") and words[1:] in _SCORE_TAILS:
        return SatisfactionAnswer.SCORE, int(words[0])
    answer = _ANSWERS.get(words)
    return (answer, None) if answer is not None else None
