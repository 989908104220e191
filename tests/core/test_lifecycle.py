"""Every status change goes through socialcare.lifecycle: each allowed move works and leaves its audit and
event rows, each refused one is refused and changes nothing, and no other module assigns a status."""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

import socialcare
from socialcare import lifecycle, work
from socialcare.db import session_scope
from socialcare.lifecycle import CASE_MOVES, REPLY_MOVES, MoveRefused
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
    WorkItem,
)

T0 = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(app):  # type: ignore[no-untyped-def]
    return app.engine


def _conversation(session: Session, case_status: CaseStatus = CaseStatus.OPEN) -> tuple[Case, Message]:
    account = session.exec(select(Account)).first()
    assert account is not None and account.id is not None
    customer = Customer(display_name="Ann")
    session.add(customer)
    session.flush()
    assert customer.id is not None
    identity = Identity(customer_id=customer.id, platform="sandbox", external_user_id="ann", handle="ann")
    session.add(identity)
    session.flush()
    assert identity.id is not None
    message = Message(
        account_id=account.id,
        platform="sandbox",
        external_id=f"m{customer.id}",
        thread_id=f"t{customer.id}",
        direction=Direction.INBOUND,
        author_id="ann",
        author_handle="ann",
        identity_id=identity.id,
        text="Where is my parcel?",
        created_at=T0,
    )
    session.add(message)
    session.flush()
    case = lifecycle.open_case(session, account_id=account.id, identity_id=identity.id, first=message, now=T0)
    message.case_id = case.id
    case.status = case_status  # the starting point of a test, set by hand on purpose
    session.add_all([message, case])
    session.flush()
    return case, message


def _reply_in(session: Session, status: ReplyStatus) -> tuple[Reply, Message]:
    case, message = _conversation(session)
    reply = lifecycle.draft(session, case, message, "Hi Ann, it left today.", "en")
    reply.status = status  # the starting point of a test, set by hand on purpose
    session.add(reply)
    session.flush()
    return reply, message


MoveCall = Callable[[Session, Reply, Message], object]
REPLY_CALLS: dict[str, tuple[MoveCall, str | None]] = {
    "approve": (lambda s, r, m: lifecycle.approve(s, r, "ann", T0), "reply.approved"),
    "unapprove": (lambda s, r, m: lifecycle.unapprove(s, r, "ann"), "reply.unapproved"),
    "sent": (lambda s, r, m: lifecycle.sent(s, r, external_id="p1", at=T0, actor="outbox", to=m), "reply.sent"),
    "found": (lambda s, r, m: lifecycle.settle_found(s, r, external_id="p1", at=T0, actor="platform"), "reply.sent"),
    "defer": (lambda s, r, m: lifecycle.defer(s, r, "outbox", "timeout", T0 + timedelta(minutes=1)), None),
    "fail": (lambda s, r, m: lifecycle.fail(s, r, "outbox", "deleted parent", T0), "reply.failed"),
    "withdraw": (lambda s, r, m: lifecycle.withdraw(s, r, "platform", "answered"), "reply.withdrawn"),
    "reject": (lambda s, r, m: lifecycle.reject(s, r, "ann", "spam", T0), "reply.rejected"),
}


def test_every_reply_move_has_a_call_here() -> None:
    assert set(REPLY_CALLS) | {"claim"} == set(REPLY_MOVES)


@pytest.mark.parametrize("start", list(ReplyStatus))
@pytest.mark.parametrize("move", sorted(REPLY_CALLS))
def test_a_reply_moves_only_from_the_statuses_its_move_allows(engine, move: str, start: ReplyStatus) -> None:  # type: ignore[no-untyped-def]
    sources, target = REPLY_MOVES[move]
    call, event = REPLY_CALLS[move]
    with session_scope(engine) as session:
        reply, message = _reply_in(session, start)
        before = _counts(session)
        if start in sources:
            call(session, reply, message)
            session.flush()
            assert session.get(Reply, reply.id).status == target
            assert _counts(session)[0] > before[0], "an audit entry is written"
            if event is not None:
                kinds = session.exec(select(Event.kind).where(Event.reply_id == reply.id)).all()
                assert event in kinds
        else:
            with pytest.raises(MoveRefused, match=f"reply {reply.id} is {start}"):
                call(session, reply, message)
            assert session.get(Reply, reply.id).status == start
            assert _counts(session) == before


@pytest.mark.parametrize("start", list(ReplyStatus))
def test_claiming_is_a_compare_and_set_that_only_an_approved_reply_passes(engine, start: ReplyStatus) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        reply, _ = _reply_in(session, start)
        claimed = lifecycle.claim_for_sending(session, reply.id, "outbox", T0)
        if start == ReplyStatus.APPROVED:
            assert claimed is not None and claimed.status == ReplyStatus.SENDING and claimed.attempts == 1
            assert lifecycle.claim_for_sending(session, reply.id, "other", T0) is None, "a second claim loses"
        else:
            assert claimed is None
            assert session.get(Reply, reply.id).status == start


def _answer(session: Session, case: Case) -> object:
    return lifecycle.mark_answered(session, case, at=T0, up_to=None, actor="outbox", via="reply")


CASE_CALLS: dict[str, tuple[Callable[[Session, Case], object], str]] = {
    "answer": (_answer, "case.answered"),
    "close": (lambda s, c: lifecycle.close(s, c, "ann", "spam", T0), "case.closed"),
    "reopen": (lambda s, c: lifecycle.reopen(s, c, "system", at=T0, detail={}), "case.reopened"),
    "wait": (lambda s, c: lifecycle.wait_on_customer(s, c, "ann", T0), "case.waiting"),
    "resume": (lambda s, c: lifecycle.resume(s, c, "system", at=T0, detail={}), "case.resumed"),
}


@pytest.mark.parametrize("start", list(CaseStatus))
@pytest.mark.parametrize("move", sorted(CASE_CALLS))
def test_a_case_moves_only_from_the_statuses_its_move_allows(engine, move: str, start: CaseStatus) -> None:  # type: ignore[no-untyped-def]
    assert set(CASE_CALLS) == set(CASE_MOVES)
    sources, target = CASE_MOVES[move]
    call, event = CASE_CALLS[move]
    with session_scope(engine) as session:
        case, _ = _conversation(session, start)
        before = _counts(session)
        if start in sources:
            call(session, case)
            session.flush()
            assert session.get(Case, case.id).status == target
            assert event in session.exec(select(Event.kind).where(Event.case_id == case.id)).all()
            assert event in session.exec(select(AuditLog.action).where(AuditLog.case_id == case.id)).all()
        elif move == "answer":
            assert call(session, case) is (start == CaseStatus.ANSWERED)  # nothing to answer: no move, no rows
            assert session.get(Case, case.id).status == start
            assert _counts(session) == before
        else:
            with pytest.raises(MoveRefused, match=f"case {case.id} is {start}"):
                call(session, case)
            assert session.get(Case, case.id).status == start
            assert _counts(session) == before


def test_a_move_and_its_records_are_one_transaction(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        reply, _ = _reply_in(session, ReplyStatus.DRAFT)
        reply_id = reply.id
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        again = session.get(Reply, reply_id)
        lifecycle.approve(session, again, "ann", T0)
        session.flush()
        raise RuntimeError("the process dies before commit")
    with session_scope(engine) as session:
        assert session.get(Reply, reply_id).status == ReplyStatus.DRAFT
        assert session.exec(select(Event).where(Event.reply_id == reply_id)).all() == []
        assert work.pending(session, work.SEND, str(reply_id)) is None


def test_approval_makes_the_idempotency_key_once_and_schedules_the_send(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        reply, _ = _reply_in(session, ReplyStatus.DRAFT)
        lifecycle.approve(session, reply, "ann", T0)
        key = reply.idempotency_key
        assert key and work.pending(session, work.SEND, str(reply.id)).due_at == T0
        lifecycle.unapprove(session, reply, "ann")
        assert work.pending(session, work.SEND, str(reply.id)) is None
        lifecycle.approve(session, reply, "bob", T0)
        assert reply.idempotency_key == key and reply.approved_by == "bob"


def test_our_post_read_back_settles_the_reply_it_came_from_instead_of_withdrawing_it(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        reply, message = _reply_in(session, ReplyStatus.DRAFT)
        lifecycle.approve(session, reply, "ann", T0)
        lifecycle.claim_for_sending(session, reply.id, "outbox", T0)
        lifecycle.defer(session, reply, "outbox", "read timed out", T0 + timedelta(seconds=30))
        ours = Message(
            account_id=message.account_id,
            platform="sandbox",
            external_id="p9",
            thread_id=message.thread_id,
            parent_id=message.external_id,
            direction=Direction.OUTBOUND,
            author_id="acme",
            author_handle="acme",
            text=reply.text,
            created_at=T0 + timedelta(seconds=5),
        )
        session.add(ours)
        session.flush()
        case = session.get(Case, reply.case_id)
        assert lifecycle.mark_answered(
            session, case, at=ours.created_at, up_to=ours.created_at, actor="platform", via="platform", ours=ours
        )
        assert (reply.status, reply.external_id) == (ReplyStatus.SENT, "p9")
        assert work.pending(session, work.SEND, str(reply.id)) is None


def test_an_answer_to_an_earlier_message_keeps_the_case_open_and_asks_for_a_refresh(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        case, first = _conversation(session)
        later = Message(
            account_id=first.account_id,
            platform="sandbox",
            external_id="later",
            thread_id=first.thread_id,
            direction=Direction.INBOUND,
            author_id="ann",
            author_handle="ann",
            identity_id=first.identity_id,
            text="Also, can I change the address?",
            created_at=T0 + timedelta(minutes=5),
            case_id=case.id,
        )
        session.add(later)
        session.flush()
        answered = lifecycle.mark_answered(session, case, at=T0, up_to=first.created_at, actor="outbox", via="reply")
        assert answered is False and case.status == CaseStatus.OPEN
        assert first.answered_at == T0 and later.answered_at is None
        assert work.pending(session, work.REFRESH, str(case.id)) is not None


def _counts(session: Session) -> tuple[int, int, int]:
    return (
        len(session.exec(select(AuditLog)).all()),
        len(session.exec(select(Event)).all()),
        len(session.exec(select(WorkItem).where(col(WorkItem.kind) == work.SEND)).all()),
    )


# -- the rule itself: nobody else assigns a status ----------------------------------------------------


def _status_writes(tree: ast.AST) -> list[int]:
    """Lines that assign a ``status`` attribute, or pass ``status=`` to a model, an insert or an update."""
    lines = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = [
                t for target in node.targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])
            ]
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Attribute) and t.attr == "status" for t in targets):
            lines.append(node.lineno)
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in {"Case", "Reply", "values", "update", "insert"} and any(k.arg == "status" for k in node.keywords):
            lines.append(node.lineno)
        if name == "setattr" and len(node.args) > 1 and getattr(node.args[1], "value", None) == "status":
            lines.append(node.lineno)
    return lines


def test_no_module_but_the_lifecycle_sets_a_status() -> None:
    root = Path(socialcare.__file__).parent
    offenders = {}
    for path in sorted(root.rglob("*.py")):
        if path.name == "lifecycle.py" or "migrations" in path.parts:
            continue
        lines = _status_writes(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            offenders[str(path.relative_to(root))] = lines
    assert offenders == {}


def test_the_status_check_itself_catches_each_way_of_writing_a_status() -> None:
    for source in (
        "case.status = 'closed'",
        "reply.status, reply.x = 'sent', 1",
        "Reply(case_id=1, status='sent')",
        "session.execute(update(Reply).values(status='sent'))",
        "setattr(reply, 'status', 'sent')",
    ):
        assert _status_writes(ast.parse(source)), source
    assert not _status_writes(ast.parse("QueueFilter(status='open')")), "a filter is not a status change"
