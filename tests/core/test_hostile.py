"""A thousand hostile posts through ingest, classification, triage, drafting and the queue: nothing crashes,
what can be stored is stored verbatim, what cannot is held with its original, nothing is evaluated, and no
draft carries a control character or a greeting longer than a name."""

from __future__ import annotations

import json
import random
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from socialcare import config as configuration
from socialcare.app import App
from socialcare.db import session_scope
from socialcare.drafting import NAME_LENGTH
from socialcare.models import Case, Direction, Message, Quarantine, Reply, Verdict
from tests.conftest import Workspace
from tests.core.hostile import Item, corpus

CONFIG = """\
database_url = "{database_url}"
timezone = "Europe/Rome"

[accounts.sandbox]
platform = "sandbox"
path = "sandbox.json"
page_size = 500
"""


def _unstorable(item: Item) -> bool:
    fields = [item.handle, item.name or "", item.text]
    return any("\x00" in f or any(0xD800 <= ord(c) <= 0xDFFF for c in f) for f in fields)


@pytest.fixture
def space(tmp_path: Path, database_url: str) -> Workspace:
    workspace = Workspace(tmp_path, database_url)
    workspace.write_config(CONFIG.format(database_url=database_url))
    assert workspace.run("db", "upgrade").code == 0
    return workspace


def _publish(path: Path, items: list[Item]) -> None:
    """The platform's own file, written at once: a thousand posts by a thousand customers."""
    at = datetime.now(UTC).isoformat()
    posts = []
    for n, item in enumerate(items, 1):
        reply_to = 1 if item.reply and n > 1 else None
        posts.append(
            {
                "id": n,
                "author": item.handle,
                "name": item.name or item.handle,
                "text": item.text,
                "reply_to": reply_to,
                "thread": 1 if reply_to else n,
                "created_at": at,
            }
        )
    path.write_text(json.dumps({"posts": posts}, ensure_ascii=True), encoding="ascii")


@pytest.mark.slow
def test_a_thousand_hostile_posts_go_through_the_whole_pipeline(space: Workspace) -> None:
    items = list(corpus())
    assert len(items) >= 1000
    _publish(space.root / "config" / "sandbox.json", items)
    app = App(configuration.load(space.config))
    app.sync_accounts()
    while (outcome := app.poll("sandbox")).fetched:
        assert outcome.error is None, outcome.error
    while app.process().more:
        pass

    by_id = {str(n): item for n, item in enumerate(items, 1)}
    with session_scope(app.engine) as session:
        stored = {m.external_id: m for m in session.exec(select(Message).where(Message.direction == Direction.INBOUND))}
        held = {q.external_id: q for q in session.exec(select(Quarantine))}
        verdicts = {v.message_id for v in session.exec(select(Verdict))}
        drafts = session.exec(select(Reply)).all()
        open_cases = session.exec(select(Case)).all()

    assert set(stored) | set(held) == set(by_id) and not set(stored) & set(held)
    assert set(held) == {i for i, item in by_id.items() if _unstorable(item)}
    for external_id, message in stored.items():
        item = by_id[external_id]
        assert (message.text, message.author_handle) == (item.text, item.handle), item.key
        assert message.author_name == (item.name or item.handle), item.key
        assert message.id in verdicts, item.key
    for external_id, quarantined in held.items():
        assert json.loads(quarantined.raw)["text"] == by_id[external_id].text

    assert len(drafts) == len(open_cases) > 0
    for reply in drafts:
        assert not [c for c in reply.text if unicodedata.category(c).startswith("C")], reply.text[:80]
        assert "49" not in reply.text, f"a template expression was evaluated: {reply.text[:80]}"
        assert len(reply.text) <= 1000 and reply.text.split(",")[0].count(" ") <= 1 + NAME_LENGTH

    listed = space.run("queue", "--json", "--status", "all")
    assert listed.code == 0, listed.err
    rows = json.loads(listed.out)
    assert len(rows) == len(open_cases)
    texts = {m.case_id: m.text for m in sorted(stored.values(), key=lambda m: (m.created_at, m.id))}
    assert all(row["message"] == texts[row["id"]] for row in rows)
    for case_id in random.Random(5).sample([row["id"] for row in rows], 30):
        shown = space.run("show", str(case_id), "--json")
        assert shown.code == 0, shown.err
        assert [m["text"] for m in json.loads(shown.out)["messages"]][-1] == texts[case_id]
