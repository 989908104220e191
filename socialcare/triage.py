"""Classify new messages, group them into cases, set priority and deadline, draft a reply."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

import connectors
from sentiment.base import Classifier, Intent
from socialcare import calendars, lifecycle, satisfaction
from socialcare.config import Config
from socialcare.drafting import NAME_LENGTH, READ, Drafter, DraftRequest, Reading, choose, greeting_name, plain
from socialcare.languages import Said, conversation_language
from socialcare.models import (
    Account,
    Case,
    CaseStatus,
    Direction,
    Event,
    Identity,
    Message,
    Priority,
    Reply,
    ReplyKind,
    ReplyStatus,
    Verdict,
    utcnow,
)

log = logging.getLogger("socialcare.triage")
BATCH = 256
"""Texts per classifier call: the offline backend vectorises a batch at once."""
_MESSAGE = Message.__table__  # type: ignore[attr-defined]
_VERDICT = Verdict.__table__  # type: ignore[attr-defined]
_CHUNK = 500
"""Values per ``IN (...)``: far below SQLite's and PostgreSQL's parameter limits."""


def classify_pending(session: Session, classifier: Classifier, limit: int = 1000) -> int:
    """Give every new inbound message a verdict, ``limit`` at most; returns how many were classified.

    Only untriaged messages are looked at (a partial index holds just those), and verdicts go in as
    one bulk insert per batch, so the cost follows the new messages, not the size of the store.
    """
    pending = session.execute(
        sa.select(_MESSAGE.c.id, _MESSAGE.c.text)
        .where(
            _MESSAGE.c.case_id.is_(None),
            _MESSAGE.c.direction == Direction.INBOUND,
            ~sa.exists().where(_VERDICT.c.message_id == _MESSAGE.c.id),
        )
        .order_by(_MESSAGE.c.id)
        .limit(limit)
    ).all()
    now = utcnow()
    for start in range(0, len(pending), BATCH):
        batch = pending[start : start + BATCH]
        verdicts = classifier.classify([row.text for row in batch])
        session.execute(
            sa.insert(_VERDICT),
            [
                {
                    "message_id": row.id,
                    "label": verdict.label.value,
                    "score_negative": float(verdict.scores.get("negative", 0.0)),
                    "score_neutral": float(verdict.scores.get("neutral", 0.0)),
                    "score_positive": float(verdict.scores.get("positive", 0.0)),
                    "is_complaint": verdict.is_complaint,
                    "complaint_probability": verdict.complaint_probability,
                    "intent": verdict.intent.value,
                    "intents": [i.value for i in verdict.intents],
                    "language": verdict.language,
                    "backend": verdict.backend,
                    "backend_version": verdict.backend_version,
                    "created_at": now,
                }
                for row, verdict in zip(batch, verdicts, strict=True)
            ],
        )
    return len(pending)


def priority_of(verdict: Verdict) -> Priority:
    if verdict.intent == Intent.URGENT or Intent.URGENT in (verdict.intents or []):
        return Priority.URGENT
    if verdict.is_complaint:
        return Priority.COMPLAINT
    return Priority.LOW if verdict.intent in (Intent.PRAISE, Intent.SPAM) else Priority.NORMAL


def target_for(session: Session, case: Case, config: Config, account: Account, priority: Priority) -> timedelta:
    """The first-response target until the customer has had an answer, then the next-response one."""
    targets = config.targets_for(account.name)
    answered_before = session.exec(
        select(Event.id).where(Event.case_id == case.id, Event.kind == "case.answered").limit(1)
    ).first()
    return targets.next_response(priority) if answered_before else targets.first_response(priority)


def triage_pending(
    session: Session, config: Config, drafter: Drafter, now: datetime | None = None, limit: int = 200
) -> tuple[int, list[int]]:
    """Attach up to ``limit`` classified inbound messages to cases, oldest first (a follow-up's answer is
    recorded instead, in the answered case it is about).

    Returns how many messages were attached and the ids of the cases touched. A caller runs it
    again, one transaction each, until nothing is left: a big backlog makes progress in steps that
    a restart does not undo.
    """
    now = now or utcnow()
    rows = session.exec(
        select(Message, Account, Verdict)
        .join(Account, col(Account.id) == Message.account_id)
        .join(Verdict, col(Verdict.message_id) == Message.id)
        .where(Message.direction == Direction.INBOUND, col(Message.case_id).is_(None))
        .order_by(col(Message.created_at), col(Message.id))
        .limit(limit)
    ).all()
    touched: dict[int, Case] = {}
    known = _conversations(session, [message for message, _, _ in rows])
    new: dict[tuple[int, str, int], list[tuple[Message, Verdict]]] = {}
    accounts: dict[int, Account] = {}
    for message, account, verdict in rows:
        if satisfaction.record_answer(session, message, config):
            continue  # an answer to "was this helpful?": recorded, no case for the team
        assert account.id is not None and message.identity_id is not None
        conversation = (account.id, message.thread_id, message.identity_id)
        case = known.get(conversation)
        if case is None:  # a conversation without a case yet: opened below, with the others of the page
            new.setdefault(conversation, []).append((message, verdict))
            accounts[account.id] = account
            continue
        _continue(session, case, message)
        message.case_id = case.id
        session.add(message)
        assert case.id is not None
        touched[case.id] = case
    session.flush()
    for case_id in sorted(touched):  # one order everywhere, so two workers never wait on each other in a circle
        refresh_case(session, case_id, config, drafter, now)
    opened = _open(session, new, accounts, config, drafter, now)  # after: as if refreshed in case order too
    return len(rows), [*touched, *opened]


def _open(
    session: Session,
    conversations: dict[tuple[int, str, int], list[tuple[Message, Verdict]]],
    accounts: dict[int, Account],
    config: Config,
    drafter: Drafter,
    now: datetime,
) -> list[int]:
    """A case for each conversation new in this page, its deadline and draft worked out from the page itself.

    Nobody else can see these cases before the commit, and they have no history (no answer, holding reply or
    draft to look for), so they go in together (``lifecycle.open_cases``). A conversation the platform
    already answered, or one that gets an after-hours reply, takes the general way, one case at a time.
    """
    identities = _identities(session, [identity for _, _, identity in conversations])
    earlier_languages = _earlier_languages(session, list(identities))
    on_channel = {account_id: _channel_answers(session, account_id) for account_id in accounts}
    limits = {account_id: _max_length(config, account) for account_id, account in accounts.items()}
    answered = _replies_to_page(session, list(conversations))
    batch: list[tuple[lifecycle.NewCase, list[Message]]] = []
    drafted: list[tuple[int, str, int, str]] = []
    """This page's drafts so far (account, thread, identity, text): the next ones' wording takes them into account."""
    one_by_one: list[int] = []
    for (account_id, thread_id, identity_id), page in conversations.items():
        account = accounts[account_id]
        messages = [m for m, _ in page]
        calendar, policy = config.calendar_for(account.name), config.holding_for(account.name)
        if any(m.answered_at is not None for m in messages) or (policy.after_hours and not calendar.is_open(now)):
            case = lifecycle.open_case(
                session, account_id=account_id, identity_id=identity_id, first=messages[0], now=now
            )
            assert case.id is not None
            for message in messages:
                message.case_id = case.id
                session.add(message)
            session.flush()
            refresh(session, case, config, drafter, now)
            one_by_one.append(case.id)
            continue
        verdicts = [v for _, v in page]
        readings = [reading(m, v) for m, v in page]
        suggest_reject = choose(Priority.NORMAL, readings).reject is not None
        priority = min((priority_of(v) for v in verdicts), key=lambda p: p.rank)
        since, latest = messages[0].created_at, messages[-1]
        target = config.targets_for(account.name).first_response(priority)
        hold_at = calendar.add(since, target * policy.at) if policy.enabled and not suggest_reject else None
        said = [Said(m.text[:2000], v.language, m.language) for m, v in page]
        language = conversation_language(said, earlier_languages.get(identity_id, [])[:5], drafter.languages)
        earlier_languages.setdefault(identity_id, []).insert(0, language)
        choice = choose(priority, readings)
        text = draft_language = None
        if choice.reject is None:
            identity = identities[identity_id]
            seen = [
                t
                for a, th, i, t in [*reversed(drafted), *answered]
                if i == identity_id or (a, th) == (account_id, thread_id)
            ]
            limit = limits[account_id]
            answer = None
            if choice.template in SAVED_ANSWER_FOR:
                asked = " ".join(r.text for r in readings)
                best = drafter.faq.matches(asked, drafter.language_for(language), config.faq.use_from, limit=2)
                answer = " ".join(m.entry.answer for m in best) or None
            text, draft_language = drafter.draft(
                DraftRequest(
                    language=language,
                    intent=choice.template,
                    is_complaint=choice.apology,
                    customer_name=greeting_name(account.platform, identity.display_name, identity.handle),
                    channel=account.platform,
                    handle=plain(identity.handle)[:NAME_LENGTH],
                    seen=seen[:RECENT],
                    elsewhere=on_channel[account_id][:RECENT],
                    fits=(lambda t, most=limit: len(t) <= most) if limit is not None else None,
                    answer=answer,
                    waited=choice.waited,
                )
            )
            drafted.append((account_id, thread_id, identity_id, text))
            on_channel[account_id].insert(0, text)
        due = max(calendar.add(since, target), since)
        spec = lifecycle.NewCase(
            account_id, identity_id, messages[0], latest, priority, language, due, hold_at, text, draft_language
        )
        batch.append((spec, messages))
    made = lifecycle.open_cases(session, [spec for spec, _ in batch], now)
    attached = [(m, case_id) for case_id, (_, page) in zip(made, batch, strict=True) for m in page]
    if attached:
        session.connection().execute(
            sa.update(_MESSAGE).where(_MESSAGE.c.id == sa.bindparam("message")).values(case_id=sa.bindparam("case")),
            [{"message": m.id, "case": case_id} for m, case_id in attached],
        )
    for message, case_id in attached:  # what the row holds now, without the session writing it again
        set_committed_value(message, "case_id", case_id)
    return one_by_one + made


def _identities(session: Session, ids: Sequence[int]) -> dict[int, Identity]:
    wanted = sorted(set(ids))
    found: dict[int, Identity] = {}
    for start in range(0, len(wanted), _CHUNK):
        for identity in session.exec(select(Identity).where(col(Identity.id).in_(wanted[start : start + _CHUNK]))):
            assert identity.id is not None
            found[identity.id] = identity
    return found


def _conversations(session: Session, messages: Sequence[Message]) -> dict[tuple[int, str, int], Case]:
    """Each conversation's latest case, for a page of messages: one query per 500 threads, not one per message."""
    wanted = {(m.account_id, m.thread_id, m.identity_id) for m in messages}
    threads = sorted({thread for _, thread, _ in wanted})
    accounts = sorted({account for account, _, _ in wanted})
    found: dict[tuple[int, str, int], Case] = {}
    for start in range(0, len(threads), _CHUNK):
        for case in session.exec(
            select(Case)
            .where(
                col(Case.account_id).in_(accounts),
                col(Case.thread_id).in_(threads[start : start + _CHUNK]),
            )
            .order_by(col(Case.id))
        ):
            key = (case.account_id, case.thread_id, case.identity_id)
            if key in wanted:
                found[key] = case  # ordered by id: the latest wins
    return found


def _continue(session: Session, case: Case, message: Message) -> None:
    """A new message from the customer reopens their case; one already answered does not."""
    if message.answered_at is None:
        detail = {"message": message.external_id}
        if case.status == CaseStatus.WAITING:
            lifecycle.resume(session, case, "system", at=message.created_at, detail=detail)
        elif case.status != CaseStatus.OPEN:
            lifecycle.reopen(session, case, "system", at=message.created_at, detail=detail)


def refresh(session: Session, case: Case, config: Config, drafter: Drafter, now: datetime | None = None) -> None:
    """Recompute an open case from what still waits: priority, deadline, language, draft."""
    now = now or utcnow()
    if case.status != CaseStatus.OPEN:
        return
    waiting = session.exec(
        select(Message, Verdict)
        .outerjoin(Verdict, col(Verdict.message_id) == Message.id)
        .where(Message.case_id == case.id, Message.direction == Direction.INBOUND, col(Message.answered_at).is_(None))
        .order_by(col(Message.created_at), col(Message.id))
    ).all()
    if not waiting:
        answered = session.exec(
            select(sa.func.max(Message.answered_at)).where(
                Message.case_id == case.id, Message.direction == Direction.INBOUND
            )
        ).one()
        lifecycle.mark_answered(session, case, at=answered or now, up_to=None, actor="platform", via="platform")
        return
    verdicts = [v for _, v in waiting if v is not None]
    readings = [reading(m, v) for m, v in waiting if v is not None]
    earlier = said_before(session, case)
    suggest_reject = choose(Priority.NORMAL, readings).reject is not None
    priority = min((priority_of(v) for v in verdicts), key=lambda p: p.rank, default=Priority.NORMAL)
    account = session.get(Account, case.account_id)
    assert account is not None
    case.priority = priority
    since = waiting[0][0].created_at
    if case.promised_at is not None and since != case.waiting_since:
        case.promised_at = None  # a promise holds for the wait it was made in
    target = target_for(session, case, config, account, priority)
    calendar, policy = config.calendar_for(account.name), config.holding_for(account.name)
    due = max(calendar.add(since, target), case.promised_at or since)
    held = policy.enabled and not suggest_reject and not _sent_already(session, case, ReplyKind.HOLDING)
    hold_at = calendar.add(since, target * policy.at) if held and case.promised_at is None else None
    lifecycle.set_deadline(session, case, since, due, hold_at=hold_at)
    latest = waiting[-1][0]
    case.language = case_language(session, case, drafter.languages)
    session.add(case)
    _ensure_draft(session, case, account, latest, readings, earlier, drafter, config)
    if (
        not suggest_reject
        and policy.after_hours
        and not calendar.is_open(now)
        and not _sent_already(session, case, ReplyKind.AFTER_HOURS, since)
    ):
        system_reply(session, case, account, latest, ReplyKind.AFTER_HOURS, due, config, drafter, now)


def system_reply(
    session: Session,
    case: Case,
    account: Account,
    to: Message,
    kind: ReplyKind,
    by: datetime,
    config: Config,
    drafter: Drafter,
    now: datetime,
) -> Reply:
    """Tell the customer, on their channel and in their language, that we will answer ``by``: the new deadline."""
    text, language = system_text(session, case, account, kind, by, config, drafter, now)
    reply = lifecycle.system_reply(session, case, to, text, language, kind, now)
    lifecycle.promise(session, case, by, reply)
    return reply


def system_text(
    session: Session,
    case: Case,
    account: Account,
    kind: ReplyKind,
    by: datetime,
    config: Config,
    drafter: Drafter,
    now: datetime,
) -> tuple[str, str]:
    """The words of a holding or after-hours reply. The time is in the team's timezone: platforms do not tell
    us the customer's."""
    identity = session.get(Identity, case.identity_id)
    assert identity is not None
    zone = config.calendar_for(account.name).zone
    name = greeting_name(account.platform, identity.display_name, identity.handle)
    return drafter.system(kind, case.language, name, lambda lang: calendars.promise(by, now, zone, lang).text)


def latest_waiting(session: Session, case: Case) -> Message | None:
    """The customer's newest message still waiting for an answer: what a reply goes under."""
    return session.exec(
        select(Message)
        .where(Message.case_id == case.id, Message.direction == Direction.INBOUND, col(Message.answered_at).is_(None))
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
    ).first()


def _sent_already(session: Session, case: Case, kind: ReplyKind, since: datetime | None = None) -> bool:
    """Whether the product already made a ``kind`` reply for this case (since ``since``) that was not withdrawn."""
    query = select(Reply.id).where(
        Reply.case_id == case.id,
        Reply.kind == kind,
        col(Reply.status).in_((ReplyStatus.APPROVED, ReplyStatus.SENDING, ReplyStatus.SENT)),
    )
    if since is not None:
        query = query.where(col(Reply.drafted_at) >= since)
    return session.exec(query.limit(1)).first() is not None


def refresh_case(session: Session, case_id: int, config: Config, drafter: Drafter, now: datetime | None = None) -> None:
    case = lifecycle.lock_case(session, case_id)
    if case is not None:
        refresh(session, case, config, drafter, now)


def _ensure_draft(
    session: Session,
    case: Case,
    account: Account,
    latest: Message,
    readings: Sequence[Reading],
    earlier: Sequence[Reading],
    drafter: Drafter,
    config: Config,
) -> None:
    """One pending reply per case: a fresh draft follows the customer's newest message.

    A case that is only a broadcast or promotion gets no draft: it is suggested for rejection.
    """
    pending = session.exec(
        select(Reply).where(
            Reply.case_id == case.id, Reply.kind == ReplyKind.ANSWER, col(Reply.status).in_(lifecycle.PENDING)
        )
    ).first()
    if pending is not None and (pending.status != ReplyStatus.DRAFT or pending.to_message_id == latest.id):
        return
    choice = choose(case.priority, readings, earlier)
    if choice.reject is not None:
        return
    identity = session.get(Identity, case.identity_id)
    assert identity is not None and latest.id is not None and case.id is not None
    limit = _max_length(config, account)
    answer = None
    if choice.template in SAVED_ANSWER_FOR:
        said = " ".join(r.text for r in readings)
        best = drafter.faq.matches(said, drafter.language_for(case.language), config.faq.use_from, limit=2)
        answer = " ".join(m.entry.answer for m in best) or None  # "what time… also, parking?": both answers
    text, language = drafter.draft(
        DraftRequest(
            language=case.language,
            intent=choice.template,
            is_complaint=choice.apology,
            customer_name=greeting_name(account.platform, identity.display_name, identity.handle),
            channel=account.platform,
            handle=plain(identity.handle)[:NAME_LENGTH],
            seen=recent_replies(session, case),
            elsewhere=channel_replies(session, case),
            fits=(lambda t: len(t) <= limit) if limit is not None else None,
            answer=answer,
            waited=choice.waited,
        )
    )
    if pending is None:
        lifecycle.draft(session, case, latest, text, language)
    else:
        lifecycle.redraft(session, pending, latest, text, language)
    session.flush()


SAVED_ANSWER_FOR = frozenset({"question", "default", "complaint", "refund", "exchange"})
"""Replies a saved answer can stand in for: never an urgent case's, never thanks or praise."""


def reading(message: Message, verdict: Verdict) -> Reading:
    return Reading(
        label=verdict.label,
        intent=verdict.intent,
        intents=tuple(verdict.intents or ()),
        is_complaint=verdict.is_complaint,
        text=message.text[:READ],
    )


def said_before(session: Session, case: Case, limit: int = 5) -> list[Reading]:
    """The customer's latest messages in this case that were already answered: the mood the conversation is in."""
    rows = session.exec(
        select(Message, Verdict)
        .join(Verdict, col(Verdict.message_id) == Message.id)
        .where(
            Message.case_id == case.id, Message.direction == Direction.INBOUND, col(Message.answered_at).is_not(None)
        )
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .limit(limit)
    ).all()
    return [reading(m, v) for m, v in reversed(rows)]


def case_language(session: Session, case: Case, known: list[str]) -> str | None:
    """The case's language from what the customer wrote in it (their latest 20 messages), the platform's tags and
    their earlier cases."""
    said = [
        Said(message.text[:2000], verdict.language if verdict else None, message.language)
        for message, verdict in session.exec(
            select(Message, Verdict)
            .outerjoin(Verdict, col(Verdict.message_id) == Message.id)
            .where(Message.case_id == case.id, Message.direction == Direction.INBOUND)
            .order_by(col(Message.created_at).desc(), col(Message.id).desc())
            .limit(RECENT)
        )
    ][::-1]
    earlier = session.exec(
        select(Case.language)
        .where(Case.identity_id == case.identity_id, Case.id != case.id)
        .order_by(col(Case.id).desc())
        .limit(5)
    ).all()
    return conversation_language(said, earlier, known)


RECENT = 20
"""Our replies looked at for wording already used: the customer's and the thread's latest."""


def recent_replies(session: Session, case: Case) -> list[str]:
    """Our latest answers to this customer and to anyone with an open case in this thread (other than this case's
    own draft), withdrawn drafts included.

    Cases are found first, by the indexes on the customer and on open conversations, so the cost does not grow
    with the store.
    """
    theirs = select(Case.id).where(Case.identity_id == case.identity_id).order_by(col(Case.id).desc()).limit(RECENT)
    thread = select(Case.id).where(
        Case.account_id == case.account_id, Case.thread_id == case.thread_id, Case.status == CaseStatus.OPEN
    )
    ids = {*session.exec(theirs).all(), *session.exec(thread.limit(RECENT)).all()}
    return _answers(session, ids, leave_out=case)


def channel_replies(session: Session, case: Case) -> list[str]:
    """Our answers in the channel's latest cases, to anyone: a brand's public timeline should not read like one
    text."""
    return _channel_answers(session, case.account_id, leave_out=case.id)


def _channel_answers(session: Session, account_id: int, leave_out: int | None = None) -> list[str]:
    latest = select(Case.id).where(Case.account_id == account_id)
    if leave_out is not None:
        latest = latest.where(Case.id != leave_out)
    return _answers(session, set(session.exec(latest.order_by(col(Case.id).desc()).limit(RECENT)).all()))


def _replies_to_page(
    session: Session, conversations: Sequence[tuple[int, str, int]]
) -> list[tuple[int, str, int, str]]:
    """Our answers to the page's customers and in its threads, newest first, as (account, thread, identity, text):
    ``recent_replies`` for a page of new cases in one query per 500 conversations."""
    found: list[tuple[int, int, str, int, str]] = []
    for start in range(0, len(conversations), _CHUNK):
        chunk = conversations[start : start + _CHUNK]
        identities = sorted({identity for _, _, identity in chunk})
        threads = sorted({thread for _, thread, _ in chunk})
        accounts = sorted({account for account, _, _ in chunk})
        same = col(Case.identity_id).in_(identities) | (
            col(Case.account_id).in_(accounts) & col(Case.thread_id).in_(threads)
        )
        found += session.exec(
            select(Reply.id, Case.account_id, Case.thread_id, Case.identity_id, Reply.text)
            .join(Case, col(Case.id) == Reply.case_id)
            .where(same, Reply.kind == ReplyKind.ANSWER, col(Reply.status).in_(_SEEN))
        ).all()
    unique = {row[0]: row for row in found}
    return [(a, th, i, text) for _, a, th, i, text in sorted(unique.values(), reverse=True)]


_SEEN = (ReplyStatus.DRAFT, ReplyStatus.APPROVED, ReplyStatus.SENDING, ReplyStatus.SENT, ReplyStatus.WITHDRAWN)
"""A withdrawn draft counts too: the team answered on the platform, and the next draft should not read the same."""


def _answers(session: Session, case_ids: set[int | None], leave_out: Case | None = None) -> list[str]:
    """The latest answer texts of these cases, newest first; ``leave_out``'s own draft (being redrafted) aside."""
    query = select(Reply.text).where(
        col(Reply.case_id).in_(case_ids), Reply.kind == ReplyKind.ANSWER, col(Reply.status).in_(_SEEN)
    )
    if leave_out is not None:
        query = query.where(~((col(Reply.case_id) == leave_out.id) & (col(Reply.status) == ReplyStatus.DRAFT)))
    return list(session.exec(query.order_by(col(Reply.id).desc()).limit(RECENT)).all())


def _earlier_languages(session: Session, identity_ids: Sequence[int], most: int = 5) -> dict[int, list[str | None]]:
    """Each identity's latest cases' languages, newest first (``case_language`` for a page of new cases)."""
    found: dict[int, list[str | None]] = {}
    for start in range(0, len(identity_ids), _CHUNK):
        for identity_id, language in session.exec(
            select(Case.identity_id, Case.language)
            .where(col(Case.identity_id).in_(identity_ids[start : start + _CHUNK]))
            .order_by(col(Case.id).desc())
        ):
            languages = found.setdefault(identity_id, [])
            if len(languages) < most:
                languages.append(language)
    return found


def _max_length(config: Config, account: Account) -> int | None:
    """The channel's ``max_reply_length`` (an account setting where the connector has one)."""
    own = config.accounts[account.name].options.get("max_reply_length") if account.name in config.accounts else None
    if isinstance(own, int):
        return own
    return connectors.load(account.platform).capabilities.max_reply_length
