"""A store with traffic a test can count by hand: messages with chosen verdicts, and cases driven
through the real lifecycle (opened, answered by a sent reply or on the platform, reopened, closed,
deadlines passed) at chosen times."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from socialcare import lifecycle
from socialcare.db import session_scope
from socialcare.models import Account, Case, Customer, Direction, Identity, Message, ReplyKind, Verdict

_ids = itertools.count(1)


class Traffic:
    def __init__(self, engine: Engine, accounts: dict[str, str]) -> None:
        self.engine = engine
        with session_scope(engine) as session:
            known = {a.name for a in session.exec(select(Account))}
            for name, platform in accounts.items():
                if name not in known:
                    session.add(Account(name=name, platform=platform))
        with session_scope(engine) as session:
            self.accounts = {a.name: a for a in session.exec(select(Account))}

    def message(
        self,
        account: str,
        at: datetime,
        text: str = "hello",
        *,
        label: str | None = "neutral",
        complaint: bool = False,
        intent: str = "other",
        language: str | None = "en",
        handle: str = "ana",
        thread: str | None = None,
        negative: float | None = None,
    ) -> Message:
        """An inbound message, with a verdict unless ``label`` is None."""
        n = next(_ids)
        acc = self.accounts[account]
        with session_scope(self.engine) as session:
            identity = session.exec(
                select(Identity).where(Identity.platform == acc.platform, Identity.external_user_id == handle)
            ).first()
            if identity is None:
                customer = Customer(display_name=handle)
                session.add(customer)
                session.flush()
                assert customer.id is not None
                identity = Identity(
                    customer_id=customer.id, platform=acc.platform, external_user_id=handle, handle=handle
                )
                session.add(identity)
                session.flush()
            message = Message(
                account_id=acc.id,
                platform=acc.platform,
                external_id=f"m{n}",
                thread_id=thread or f"t{n}",
                direction=Direction.INBOUND,
                author_id=handle,
                author_handle=handle,
                identity_id=identity.id,
                text=text,
                created_at=at,
                fetched_at=at,
                url=f"https://example.com/{n}",
            )
            session.add(message)
            session.flush()
            if label is not None:
                assert message.id is not None
                scores = {"negative": 0.1, "neutral": 0.1, "positive": 0.1, label: 0.8}
                if negative is not None:
                    scores["negative"] = negative
                session.add(
                    Verdict(
                        message_id=message.id,
                        label=label,
                        score_negative=scores["negative"],
                        score_neutral=scores["neutral"],
                        score_positive=scores["positive"],
                        is_complaint=complaint,
                        intent=intent,
                        intents=[intent],
                        language=language,
                        backend="test",
                    )
                )
        return message

    def case(self, first: Message, due: timedelta = timedelta(hours=1)) -> int:
        """A new case for the message's conversation, its deadline ``due`` after the message."""
        with session_scope(self.engine) as session:
            message = session.get(Message, first.id)
            assert message is not None and message.identity_id is not None
            case = lifecycle.open_case(
                session,
                account_id=message.account_id,
                identity_id=message.identity_id,
                first=message,
                now=message.created_at,
            )
            message.case_id = case.id
            session.add(message)
            lifecycle.set_deadline(session, case, message.created_at, message.created_at + due)
            assert case.id is not None
            return case.id

    def add(self, case_id: int, message: Message, due: timedelta = timedelta(hours=1)) -> None:
        """A later customer message in the case: it reopens an answered case, and the deadline follows it."""
        with session_scope(self.engine) as session:
            case = session.get(Case, case_id)
            row = session.get(Message, message.id)
            assert case is not None and row is not None
            row.case_id = case_id
            session.add(row)
            if case.status != "open":
                lifecycle.reopen(session, case, "system", at=row.created_at, detail={"message": row.external_id})
                lifecycle.set_deadline(session, case, row.created_at, row.created_at + due)

    def reply(self, case_id: int, at: datetime) -> None:
        """Our reply to the case's latest message, drafted, approved and sent at ``at``."""
        with session_scope(self.engine) as session:
            case = session.get(Case, case_id)
            assert case is not None
            latest = session.exec(
                select(Message).where(Message.case_id == case_id).order_by(Message.created_at.desc())  # type: ignore[attr-defined]
            ).first()
            assert latest is not None
            reply = lifecycle.draft(session, case, latest, "Sorry! We are on it.", "en")
            lifecycle.approve(session, reply, "lead", now=at)
            session.flush()
            assert reply.id is not None
            claimed = lifecycle.claim_for_sending(session, reply.id, "test", at)
            assert claimed is not None
            lifecycle.sent(session, claimed, external_id=f"r{next(_ids)}", at=at, actor="test", to=latest)

    def holding(self, case_id: int, at: datetime) -> None:
        """A holding reply sent at ``at``, promising an answer within the hour."""
        with session_scope(self.engine) as session:
            case = session.get(Case, case_id)
            assert case is not None
            latest = session.exec(
                select(Message).where(Message.case_id == case_id).order_by(Message.created_at.desc())  # type: ignore[attr-defined]
            ).first()
            assert latest is not None
            reply = lifecycle.system_reply(
                session, case, latest, "You will hear from us by 12:10.", "en", ReplyKind.HOLDING, at
            )
            lifecycle.promise(session, case, at + timedelta(hours=1), reply)
            session.flush()
            claimed = lifecycle.claim_for_sending(session, reply.id, "test", at)
            assert claimed is not None
            lifecycle.sent(session, claimed, external_id=f"h{next(_ids)}", at=at, actor="test", to=latest)

    def answered_on_platform(self, case_id: int, at: datetime) -> None:
        with session_scope(self.engine) as session:
            case = session.get(Case, case_id)
            assert case is not None
            lifecycle.mark_answered(session, case, at=at, up_to=None, actor="platform", via="platform")

    def close(self, case_id: int, at: datetime) -> None:
        with session_scope(self.engine) as session:
            case = session.get(Case, case_id)
            assert case is not None
            lifecycle.close(session, case, "lead", "spam", now=at)

    def deadline_check(self, case_id: int, at: datetime) -> bool:
        """The daemon's deadline check at ``at``: True when it records a missed deadline."""
        with session_scope(self.engine) as session:
            case = session.get(Case, case_id)
            assert case is not None
            return lifecycle.deadline_passed(session, case, at)
