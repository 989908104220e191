"""Ways back: an approval taken back or replaced before sending, a case reopened; each one audited."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, select

from socialcare import db
from socialcare.app import App
from socialcare.models import AuditLog, Event, Reply
from tests.conftest import Workspace
from tests.core.conftest import KeywordClassifier


@pytest.fixture
def seeded(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    monkeypatch.setenv("SOCIALCARE_AGENT", "dana")
    assert workspace.run("sandbox", "post", "--author", "ann", "--text", "Do you ship to Malta?").code == 0
    assert workspace.run("poll").code == 0
    return workspace


def case_id(space: Workspace) -> str:
    return str(json.loads(space.run("queue", "--json", "--status", "all").out)[0]["id"])


def trail(space: Workspace, case: str) -> list[tuple[str, str]]:
    """(actor, action) of the case's audit entries a person caused, oldest first."""
    with db.session_scope(db.make_engine(space.database_url)) as session:
        rows = session.exec(select(AuditLog).where(AuditLog.case_id == int(case)).order_by(col(AuditLog.id))).all()
        return [(r.actor, r.action) for r in rows if r.actor != "system"]


def events(space: Workspace, case: str) -> list[str]:
    with db.session_scope(db.make_engine(space.database_url)) as session:
        rows = session.exec(select(Event).where(Event.case_id == int(case)).order_by(col(Event.id))).all()
        return [r.kind for r in rows]


def reply_of(space: Workspace, case: str) -> Reply:
    with db.session_scope(db.make_engine(space.database_url)) as session:
        reply = session.exec(select(Reply).where(Reply.case_id == int(case)).order_by(col(Reply.id).desc())).first()
        assert reply is not None
        return reply


def test_unapprove_makes_it_a_draft_that_is_not_sent(seeded: Workspace) -> None:
    case = case_id(seeded)
    assert seeded.run("approve", case).code == 0
    result = seeded.run("unapprove", case)
    assert result.code == 0, result.err
    assert "is a draft again" in result.out
    assert reply_of(seeded, case).status == "draft"
    assert "sent 0," in seeded.run("send").out
    assert trail(seeded, case)[-2:] == [("dana", "reply.approved"), ("dana", "reply.unapproved")]
    assert events(seeded, case)[-2:] == ["reply.approved", "reply.unapproved"]
    again = seeded.run("unapprove", case)
    assert again.code == 1 and "no approved reply" in again.err


def test_approve_with_text_replaces_an_approved_reply(seeded: Workspace) -> None:
    case = case_id(seeded)
    assert seeded.run("approve", case).code == 0
    result = seeded.run("approve", case, "--text", "Yes, in two days.")
    assert result.code == 0, result.err
    reply = reply_of(seeded, case)
    assert (reply.status, reply.text, reply.approved_by) == ("approved", "Yes, in two days.", "dana")
    assert trail(seeded, case)[-4:] == [
        ("dana", "reply.approved"),
        ("dana", "reply.unapproved"),
        ("dana", "reply.edited"),
        ("dana", "reply.approved"),
    ]
    assert "sent 1," in seeded.run("send").out
    timeline = json.loads(seeded.run("sandbox", "timeline", "--json").out)
    assert [r["text"] for t in timeline for r in t["replies"]] == ["Yes, in two days."]


def test_approve_without_text_over_an_approved_reply_says_how(seeded: Workspace) -> None:
    case = case_id(seeded)
    assert seeded.run("approve", case).code == 0
    again = seeded.run("approve", case)
    assert again.code == 1 and "--text" in again.err and "unapprove" in again.err


def test_reopen_a_rejected_case_brings_it_back_with_a_draft(seeded: Workspace) -> None:
    case = case_id(seeded)
    assert seeded.run("reject", case, "--reason", "spam").code == 0
    result = seeded.run("reopen", case)
    assert result.code == 0, result.err
    rows = json.loads(seeded.run("queue", "--json").out)
    assert [(str(r["id"]), r["reply_status"]) for r in rows] == [(case, "draft")]
    assert ("dana", "case.reopened") in trail(seeded, case)
    assert events(seeded, case).count("case.reopened") == 1
    assert seeded.run("reopen", case).code == 1


def test_reopen_an_answered_case(seeded: Workspace) -> None:
    case = case_id(seeded)
    assert seeded.run("approve", case).code == 0
    assert "sent 1," in seeded.run("send").out
    assert seeded.run("reopen", case).code == 0
    rows = json.loads(seeded.run("queue", "--json").out)
    assert [str(r["id"]) for r in rows] == [case]
    assert trail(seeded, case)[-1] == ("dana", "case.reopened")


def test_show_says_who_did_what_and_why_without_a_countdown(seeded: Workspace) -> None:
    case = case_id(seeded)
    assert seeded.run("reject", case, "--reason", "duplicate of 12").code == 0
    shown = seeded.run("show", case).out
    assert "closed" in shown and "duplicate of 12" in shown
    assert "overdue" not in shown and "due " not in shown
    assert "audit trail:" in shown and "dana case.closed  reason=duplicate of 12" in shown
    assert "sentiment neutral · intent question · complaint no · language en" in shown


def test_show_names_who_approved_and_why_a_reply_failed(seeded: Workspace) -> None:
    case = case_id(seeded)
    assert seeded.run("approve", case).code == 0
    with db.session_scope(db.make_engine(seeded.database_url)) as session:
        reply = session.exec(select(Reply).where(Reply.case_id == int(case))).one()
        reply.status, reply.last_error = "failed", "PermanentError: the thread is locked"
        session.add(reply)
    shown = seeded.run("show", case).out
    assert "approved by dana" in shown and "failed: PermanentError: the thread is locked" in shown
