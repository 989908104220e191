"""Ingest, cases, deadlines and the reply life cycle, driven through the core's own functions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import col, select

from connectors.base import ConnectorError, MalformedPayload, TransientError
from connectors.sandbox import SandboxConnector
from socialcare import cases, lifecycle, work
from socialcare.app import App
from socialcare.audit import current_user
from socialcare.cases import QueueFilter
from socialcare.db import session_scope
from socialcare.models import AuditLog, Case, Direction, Message, Reply, ReplyStatus, utcnow


def cycle(app: App) -> None:
    for name in app.channels:
        outcome = app.poll(name)
        assert outcome.error is None, outcome.error
    app.process()


def open_queue(app: App) -> list[dict]:
    with session_scope(app.engine) as session:
        return cases.queue(session, QueueFilter())


def approve(app: App, case_id: int, text: str | None = None) -> Reply:
    with session_scope(app.engine) as session:
        return cases.approve(session, case_id, current_user(), app.channels["sandbox"], text)


def crash_while_sending(app: App, reply: Reply) -> None:
    """Leave the reply as a worker killed in the middle of sending does: claimed, attempted, no result.

    The dead worker's lease on the send item has run out, so the item is free to take again.
    """
    with session_scope(app.engine) as session:
        stuck = session.get(Reply, reply.id)
        assert stuck is not None
        assert lifecycle.claim_for_sending(session, stuck.id, "daemon@killed", utcnow()) is not None


def count(app: App, model: type) -> int:
    with session_scope(app.engine) as session:
        return len(session.exec(select(model)).all())


def test_polling_the_same_page_twice_changes_nothing(app: App, sandbox: SandboxConnector) -> None:
    sandbox.post("ann", "Where is my order?")
    sandbox.post("bob", "My parcel arrived broken")
    first = app.poll("sandbox")
    assert (first.fetched, first.new) == (2, 2)
    with session_scope(app.engine) as session:
        session.exec(select(Case)).all()
    from socialcare.models import Account

    with session_scope(app.engine) as session:
        account = session.exec(select(Account)).one()
        account.cursor = None
        session.add(account)
    again = app.poll("sandbox")
    assert (again.fetched, again.new) == (2, 0)
    assert count(app, Message) == 2


def test_our_own_posts_are_recorded_as_outbound_and_open_no_case(app: App, sandbox: SandboxConnector) -> None:
    sandbox.post("acme", "Our winter sale starts today!")
    cycle(app)
    with session_scope(app.engine) as session:
        message = session.exec(select(Message)).one()
    assert message.direction == Direction.OUTBOUND
    assert count(app, Case) == 0


def test_one_open_case_per_customer_conversation(app: App, sandbox: SandboxConnector) -> None:
    first = sandbox.post("ann", "Where is my order?", name="Ann Lee")
    cycle(app)
    sandbox.post("ann", "It was due on Monday", reply_to=first)
    sandbox.post("bob", "Same here, where is mine?", reply_to=first)
    cycle(app)
    rows = open_queue(app)
    assert sorted(row["handle"] for row in rows) == ["ann", "bob"]
    with session_scope(app.engine) as session:
        ann = next(r for r in rows if r["handle"] == "ann")
        messages = session.exec(select(Message).where(Message.case_id == ann["id"])).all()
    assert len(messages) == 2


def test_every_queue_row_shows_its_own_newest_message_and_draft_across_query_chunks(
    app: App, sandbox: SandboxConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cases, "_CHUNK", 2)
    customers = ["ann", "bob", "cyd", "dee", "eve"]
    firsts = {who: sandbox.post(who, f"{who}: where is my order?") for who in customers}
    cycle(app)
    for who in customers:
        sandbox.post(who, f"{who}: still nothing", reply_to=firsts[who])
    cycle(app)

    rows = open_queue(app)
    assert sorted(row["handle"] for row in rows) == customers
    with session_scope(app.engine) as session:
        for row in rows:
            assert row["message"] == f"{row['handle']}: still nothing"
            [draft] = session.exec(select(Reply).where(Reply.case_id == row["id"])).all()
            assert (row["reply_id"], row["draft"]) == (draft.id, draft.text)


def test_deadline_counts_from_the_oldest_unanswered_message_and_complaints_come_first(
    app: App, sandbox: SandboxConnector
) -> None:
    question = sandbox.post("ann", "Do you ship to Malta?")
    sandbox.post("bob", "The blender arrived broken")
    cycle(app)
    rows = open_queue(app)
    assert [r["handle"] for r in rows] == ["bob", "ann"]
    posted = {p["author"]: p for p in sandbox.posts()}
    from datetime import datetime

    created = {a: datetime.fromisoformat(p["created_at"]) for a, p in posted.items()}
    by_handle = {r["handle"]: r for r in rows}
    assert datetime.fromisoformat(by_handle["ann"]["due_at"]) == created["ann"] + timedelta(hours=1)
    assert datetime.fromisoformat(by_handle["bob"]["due_at"]) == created["bob"] + timedelta(minutes=30)

    sandbox.post("ann", "Still nothing, this is useless", reply_to=question)
    cycle(app)
    ann = next(r for r in open_queue(app) if r["handle"] == "ann")
    assert ann["priority"] == "complaint"
    assert datetime.fromisoformat(ann["due_at"]) == created["ann"] + timedelta(minutes=30)


def test_urgent_outranks_complaint(app: App, sandbox: SandboxConnector) -> None:
    sandbox.post("bob", "The blender arrived broken")
    sandbox.post("cy", "Someone used my card, this is fraud")
    cycle(app)
    rows = open_queue(app)
    assert [(r["handle"], r["priority"]) for r in rows] == [("cy", "urgent"), ("bob", "complaint")]


def test_a_reply_goes_through_every_state_with_an_audit_trail(app: App, sandbox: SandboxConnector) -> None:
    post = sandbox.post("ann", "Where is my refund?", name="Ann Lee")
    cycle(app)
    (row,) = open_queue(app)
    assert row["draft"].startswith("Hi Ann,") and "sorry" in row["draft"].lower()
    reply = approve(app, row["id"])
    assert reply.status == ReplyStatus.APPROVED and reply.approved_by == current_user()
    result = app.send()
    assert (result.sent, result.failed) == (1, 0)
    with session_scope(app.engine) as session:
        sent = session.get(Reply, reply.id)
        trail = [a.action for a in session.exec(select(AuditLog).order_by(col(AuditLog.id)))]
    ours = [p for p in sandbox.posts() if p["author"] == "acme"]
    assert sent is not None and sent.status == ReplyStatus.SENT and sent.external_id == str(ours[0]["id"])
    assert ours[0]["reply_to"] == int(post)
    assert trail == ["case.opened", "reply.drafted", "reply.approved", "reply.sending", "reply.sent", "case.answered"]
    assert app.send().sent == 0


def test_a_reply_posted_on_the_platform_by_the_team_answers_the_case(app: App, sandbox: SandboxConnector) -> None:
    post = sandbox.post("ann", "Do you ship to Malta?")
    cycle(app)
    sandbox.post("acme", "Yes we do, Ann!", reply_to=post)
    cycle(app)
    assert open_queue(app) == []
    with session_scope(app.engine) as session:
        replies = session.exec(select(Reply)).all()
    assert [r.status for r in replies] == [ReplyStatus.WITHDRAWN]
    assert app.send().sent == 0


def test_the_customer_writing_again_reopens_the_case_with_a_new_draft(app: App, sandbox: SandboxConnector) -> None:
    post = sandbox.post("ann", "Do you ship to Malta?")
    cycle(app)
    approve(app, open_queue(app)[0]["id"])
    app.send()
    sandbox.post("ann", "Great, and to Gozo?", reply_to=post)
    cycle(app)
    (row,) = open_queue(app)
    assert row["reply_status"] == "draft" and row["message"] == "Great, and to Gozo?"
    with session_scope(app.engine) as session:
        assert len(session.exec(select(Case)).all()) == 1


def test_a_crash_after_posting_does_not_post_twice(app: App, sandbox: SandboxConnector) -> None:
    post = sandbox.post("ann", "Do you ship to Malta?")
    cycle(app)
    reply = approve(app, open_queue(app)[0]["id"])
    crash_while_sending(app, reply)
    sandbox.reply(sandbox.poll(None)[0][0], reply.text)

    result = app.send()
    assert (result.recovered, result.sent) == (1, 0)
    assert [p["reply_to"] for p in sandbox.posts() if p["author"] == "acme"] == [int(post)]
    with session_scope(app.engine) as session:
        assert session.get(Reply, reply.id).status == ReplyStatus.SENT


def test_a_crash_before_posting_sends_once_after_checking(app: App, sandbox: SandboxConnector) -> None:
    sandbox.post("ann", "Do you ship to Malta?")
    cycle(app)
    reply = approve(app, open_queue(app)[0]["id"])
    crash_while_sending(app, reply)
    result = app.send()
    assert (result.recovered, result.sent) == (0, 1)
    assert len([p for p in sandbox.posts() if p["author"] == "acme"]) == 1


def test_a_transient_failure_retries_later_and_a_permanent_one_is_reported(
    app: App, sandbox: SandboxConnector, monkeypatch
) -> None:
    sandbox.post("ann", "Do you ship to Malta?")
    cycle(app)
    reply = approve(app, open_queue(app)[0]["id"])

    def flaky(to, text, **_):  # type: ignore[no-untyped-def]
        raise TransientError("connection reset")

    monkeypatch.setattr(sandbox, "reply", flaky)
    assert app.send().deferred == 1
    with session_scope(app.engine) as session:
        waiting = session.get(Reply, reply.id)
        item = work.pending(session, work.SEND, str(reply.id))
    assert waiting.status == ReplyStatus.APPROVED and item is not None and item.due_at > utcnow()
    assert app.send().sent == 0
    monkeypatch.undo()
    assert app.send(now=utcnow() + timedelta(minutes=5)).sent == 1

    sandbox.post("bob", "Is the Leeds store open?")
    cycle(app)
    bob = open_queue(app)[0]
    approve(app, bob["id"])
    data = json.loads(sandbox.settings.path.read_text())
    data["posts"] = [p for p in data["posts"] if p["author"] != "bob"]
    sandbox.settings.path.write_text(json.dumps(data))
    result = app.send()
    assert result.failed == 1
    (row,) = open_queue(app)
    assert row["reply_status"] == "failed"


def test_an_overlong_reply_is_refused_at_approval(app: App, sandbox: SandboxConnector) -> None:
    sandbox.post("ann", "Do you ship to Malta?")
    cycle(app)
    case_id = open_queue(app)[0]["id"]
    with pytest.raises(cases.UserError, match="1001 characters; sandbox allows 1000"):
        approve(app, case_id, "x" * 1001)
    assert open_queue(app)[0]["reply_status"] == "draft"


def test_rejecting_closes_the_case_with_its_reason(app: App, sandbox: SandboxConnector) -> None:
    sandbox.post("spammer", "EARN $500/DAY click here")
    cycle(app)
    case_id = open_queue(app)[0]["id"]
    with session_scope(app.engine) as session:
        cases.reject(session, case_id, "tester", "spam")
    assert open_queue(app) == []
    with session_scope(app.engine) as session:
        detail = cases.show(session, case_id)
    assert detail["status"] == "closed" and detail["close_reason"] == "spam"
    assert detail["audit"][-1]["actor"] == "tester" and detail["audit"][-1]["detail"] == {"reason": "spam"}
    assert app.send().sent == 0


@pytest.mark.parametrize(
    "lost",
    [TransientError("read timed out"), MalformedPayload("the answer had no id")],
    ids=["timed-out", "unreadable"],
)
def test_a_lost_or_unreadable_answer_is_checked_on_the_platform_before_trying_again(
    app: App, sandbox: SandboxConnector, monkeypatch, lost: ConnectorError
) -> None:
    sandbox.post("ann", "Do you ship to Malta?")
    cycle(app)
    approve(app, open_queue(app)[0]["id"])
    really_reply = sandbox.reply

    def posted_but_answer_lost(to, text, **key):  # type: ignore[no-untyped-def]
        really_reply(to, text, **key)
        raise lost

    monkeypatch.setattr(sandbox, "reply", posted_but_answer_lost)
    assert app.send().deferred == 1
    monkeypatch.undo()
    retried = app.send(now=utcnow() + timedelta(minutes=5))
    assert (retried.sent, retried.recovered) == (0, 1)  # found on the platform, not posted again
    assert len([p for p in sandbox.posts() if p["author"] == "acme"]) == 1
    assert open_queue(app) == []


def test_a_rate_limited_reply_waits_without_stopping_polling(app: App, sandbox: SandboxConnector, monkeypatch) -> None:
    from connectors.base import RateLimited

    sandbox.post("ann", "Do you ship to Malta?")
    cycle(app)
    reply = approve(app, open_queue(app)[0]["id"])
    retry_at = utcnow() + timedelta(minutes=15)

    def limited(to, text, **_):  # type: ignore[no-untyped-def]
        raise RateLimited("too many replies", retry_at)

    monkeypatch.setattr(sandbox, "reply", limited)
    assert app.send().deferred == 1
    with session_scope(app.engine) as session:
        assert work.pending(session, work.SEND, str(reply.id)).due_at == retry_at
    sandbox.post("bob", "And to Gozo?")
    assert app.poll("sandbox").new == 1


def test_a_team_reply_on_the_platform_answers_the_customers_earlier_messages_in_the_thread(
    app: App, sandbox: SandboxConnector
) -> None:
    first = sandbox.post("ann", "Do you ship to Malta?")
    sandbox.post("ann", "And to Gozo?", reply_to=first)
    sandbox.post("bob", "Me too, where is my order?", reply_to=first)
    cycle(app)
    assert len(open_queue(app)) == 2
    sandbox.post("acme", "Yes to both, Ann!", reply_to=first)
    cycle(app)
    assert [row["handle"] for row in open_queue(app)] == ["bob"]


def test_a_reply_that_keeps_failing_is_given_up_and_shown(app: App, sandbox: SandboxConnector, monkeypatch) -> None:
    from socialcare.outbox import MAX_ATTEMPTS

    sandbox.post("ann", "Do you ship to Malta?")
    cycle(app)
    approve(app, open_queue(app)[0]["id"])

    def down(to, text, **_):  # type: ignore[no-untyped-def]
        raise TransientError("503 Service Unavailable")

    monkeypatch.setattr(sandbox, "reply", down)
    monkeypatch.setattr(sandbox, "find_reply", lambda to, text, **_: None)
    later = utcnow()
    for _ in range(MAX_ATTEMPTS):
        later += timedelta(hours=1)
        app.send(now=later)
    (row,) = open_queue(app)
    assert row["reply_status"] == "failed"


def test_the_queue_comes_a_page_at_a_time(app: App, sandbox: SandboxConnector, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cases, "DEFAULT_LIMIT", 2)
    for author in ("ann", "bob", "cat"):
        sandbox.post(author, "Where is my order?")
    cycle(app)
    with session_scope(app.engine) as session:
        first = cases.queue(session, QueueFilter())
        rest = cases.queue(session, QueueFilter(offset=2))
        everything = cases.queue(session, QueueFilter(limit=10))
    assert len(first) == 2 and len(rest) == 1  # no limit asked: the default page, not every case at once
    assert [r["id"] for r in first + rest] == [r["id"] for r in everything]
