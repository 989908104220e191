"""One message the store cannot take never blocks a channel: it is held in quarantine and the poll goes on."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from connectors.base import InboundMessage
from connectors.sandbox import SandboxConnector
from socialcare.app import App
from socialcare.db import session_scope
from socialcare.models import Account, Message, Quarantine
from tests.conftest import Workspace

POISON = {
    "lone surrogate": "my order \ud800 never came",
    "NUL": "my order\x00 never came",
}


def texts(app: App) -> list[str]:
    with session_scope(app.engine) as session:
        return [m.text for m in session.exec(select(Message).order_by(Message.id))]


def test_a_poison_post_is_held_and_the_posts_around_it_are_stored(
    app: App, sandbox: SandboxConnector, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.post("ann", "first, where is my parcel?")
    sandbox.post("bob", POISON["lone surrogate"])
    sandbox.post("cy", POISON["NUL"])
    sandbox.post("mallory\ud83d", "hello", name="Mal\ud800lory")
    sandbox.post("dee", "last, still waiting")
    with caplog.at_level(logging.WARNING):
        outcome = app.poll("sandbox")
    assert outcome.error is None and outcome.new == 2
    assert texts(app) == ["first, where is my parcel?", "last, still waiting"]
    with session_scope(app.engine) as session:
        held = session.exec(select(Quarantine).order_by(Quarantine.id)).all()
        cursor = session.exec(select(Account)).one().cursor
    assert cursor == "5", "the cursor moved past the poison"
    assert [h.text for h in held] == ["my order \\ud800 never came", "my order\\x00 never came", "hello"]
    assert [h.author for h in held] == ["bob", "cy", "mallory\\ud83d"]
    assert "lone surrogate" in held[0].error and "NUL" in held[1].error and "author" in held[2].error
    assert json.loads(held[0].raw)["text"] == POISON["lone surrogate"], "the original is kept exactly"
    assert json.loads(held[1].raw)["raw"]["text"] == POISON["NUL"]
    assert sum("held in quarantine" in r.getMessage() for r in caplog.records) == 3

    app.process()
    sandbox.post("eve", "and another one")
    again = app.poll("sandbox")
    assert again.error is None and again.new == 1
    with session_scope(app.engine) as session:
        assert len(session.exec(select(Quarantine)).all()) == 3


def test_a_repeated_poison_message_is_held_once(app: App) -> None:
    bad = InboundMessage(
        platform="sandbox",
        external_id="9",
        thread_id="9",
        author_id="ann",
        author_handle="ann",
        text="bad \x00 text",
        created_at=datetime(2026, 11, 10, 12, 0, tzinfo=UTC),
    )
    from socialcare.ingest import ingest

    for _ in range(2):
        with session_scope(app.engine) as session:
            account = session.exec(select(Account)).one()
            result = ingest(session, account, [bad])
    assert result.quarantined == 0
    with session_scope(app.engine) as session:
        assert len(session.exec(select(Quarantine)).all()) == 1


def test_quarantined_messages_are_listed_and_shown_by_doctor(
    workspace: Workspace, app: App, sandbox: SandboxConnector
) -> None:
    sandbox.post("bob", POISON["lone surrogate"])
    sandbox.post("cy", "fine")
    assert workspace.run("poll").code == 0
    listed = workspace.run("queue", "--status", "quarantined", "--json")
    assert listed.code == 0, listed.err
    (row,) = json.loads(listed.out)
    assert row["text"] == "my order \\ud800 never came" and row["raw"]["text"] == POISON["lone surrogate"]
    table = workspace.run("queue", "--status", "quarantined")
    assert "held" in table.out and "lone surrogate" in table.out
    doctor = workspace.run("doctor")
    assert "quarantine: 1 message(s) held" in doctor.out
    assert json.loads(workspace.run("queue", "--json").out)[0]["message"] == "fine"
