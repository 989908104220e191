"""Several people on one queue: names in the audit log, claims, notes."""

from __future__ import annotations

import json
import time

import pytest
from sqlmodel import col, select

from socialcare import db
from socialcare.app import App
from socialcare.models import AuditLog
from tests.conftest import Workspace
from tests.core.conftest import KeywordClassifier


@pytest.fixture
def seeded(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    monkeypatch.delenv("SOCIALCARE_AGENT", raising=False)
    for author, text in [("ann", "Do you ship to Malta?"), ("bob", "Where is my refund?")]:
        assert workspace.run("sandbox", "post", "--author", author, "--text", text).code == 0
    assert workspace.run("poll").code == 0
    return workspace


def first_case(space: Workspace) -> str:
    return str(json.loads(space.run("queue", "--json").out)[0]["id"])


def audit(space: Workspace, case: str) -> list[tuple[str, str, dict]]:
    with db.session_scope(db.make_engine(space.database_url)) as session:
        rows = session.exec(select(AuditLog).where(AuditLog.case_id == int(case)).order_by(col(AuditLog.id))).all()
        return [(r.actor, r.action, r.detail) for r in rows if r.actor != "system"]


def test_the_agent_name_comes_from_as_then_env_then_config(seeded: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    case = first_case(seeded)
    seeded.write_config('agent = "carla"\n' + seeded.config.read_text())
    assert seeded.run("note", case, "from the config").code == 0
    monkeypatch.setenv("SOCIALCARE_AGENT", "dana")
    assert seeded.run("note", case, "from the environment").code == 0
    assert seeded.run("--as", "erik", "note", case, "from --as").code == 0
    assert [actor for actor, _, _ in audit(seeded, case)] == ["carla", "dana", "erik"]
    empty = seeded.run("--as", "\u202e ", "note", case, "x")
    assert empty.code == 1 and "agent name is empty" in empty.err


def test_a_claim_shows_in_queue_and_stops_a_teammate(seeded: Workspace) -> None:
    case = first_case(seeded)
    claimed = seeded.run("--as", "dana", "claim", case)
    assert claimed.code == 0, claimed.err
    assert "is yours until" in claimed.out and "Europe/Rome" in claimed.out
    rows = {str(r["id"]): r for r in json.loads(seeded.run("queue", "--json").out)}
    assert rows[case]["held_by"] == "dana"
    assert "dana" in seeded.run("queue").out
    refused = seeded.run("--as", "erik", "approve", case)
    assert refused.code == 1 and "held by dana" in refused.err and "--force" in refused.err
    taken = seeded.run("--as", "erik", "claim", case)
    assert taken.code == 1 and "held by dana" in taken.err
    assert seeded.run("--as", "erik", "release", case).code == 1
    assert seeded.run("--as", "dana", "release", case).code == 0
    assert seeded.run("--as", "erik", "claim", case).code == 0
    assert seeded.run("--as", "dana", "claim", case, "--force").code == 0
    assert seeded.run("--as", "dana", "approve", case).code == 0
    assert json.loads(seeded.run("show", case, "--json").out)["held_by"] is None  # done: the claim ends
    actions = [(actor, action) for actor, action, _ in audit(seeded, case)]
    assert actions == [
        ("dana", "case.claimed"),
        ("dana", "case.released"),
        ("erik", "case.claimed"),
        ("dana", "case.claimed"),
        ("dana", "reply.approved"),
    ]
    assert audit(seeded, case)[3][2]["from"] == "erik"


def test_approve_force_acts_on_a_held_case(seeded: Workspace) -> None:
    case = first_case(seeded)
    assert seeded.run("--as", "dana", "claim", case).code == 0
    assert seeded.run("--as", "erik", "approve", case, "--force").code == 0


def test_an_expired_claim_holds_nothing(seeded: Workspace) -> None:
    seeded.write_config('claim_expiry = "1s"\n' + seeded.config.read_text())
    case = first_case(seeded)
    assert seeded.run("--as", "dana", "claim", case).code == 0
    time.sleep(1.2)
    assert json.loads(seeded.run("show", case, "--json").out)["held_by"] is None
    assert seeded.run("--as", "erik", "approve", case).code == 0


def test_review_leaves_the_cases_teammates_hold(seeded: Workspace) -> None:
    case = first_case(seeded)
    assert seeded.run("--as", "dana", "claim", case).code == 0
    result = seeded.run("--as", "erik", "review", input="a\n")
    assert result.code == 0, result.err
    assert "leaving 1 case(s) that teammates hold" in result.out
    rows = {str(r["id"]): r["reply_status"] for r in json.loads(seeded.run("queue", "--json").out)}
    assert rows[case] == "draft" and sorted(rows.values()) == ["approved", "draft"]


def test_notes_are_shown_audited_and_never_sent(seeded: Workspace) -> None:
    case = first_case(seeded)
    result = seeded.run("--as", "dana", "note", case, "VIP: call them back \x1b[2J")
    assert result.code == 0, result.err
    detail = json.loads(seeded.run("show", case, "--json").out)
    assert [(n["author"], n["text"]) for n in detail["notes"]] == [("dana", "VIP: call them back \x1b[2J")]
    shown = seeded.run("show", case).out
    assert "VIP: call them back" in shown and "\x1b" not in shown
    assert audit(seeded, case)[-1][:2] == ("dana", "case.noted")
    assert seeded.run("approve", case).code == 0 and "sent 1," in seeded.run("send").out
    timeline = json.loads(seeded.run("sandbox", "timeline", "--json").out)
    assert not any("VIP" in r["text"] for t in timeline for r in t["replies"])
    assert seeded.run("note", case, "   ").code == 1
