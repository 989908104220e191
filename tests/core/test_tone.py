"""The tone guard: a reply that reads rude, negative or sarcastic needs a person's --force, and is held at send."""

from __future__ import annotations

import pytest
from sqlmodel import select

import sentiment
from connectors.sandbox import SandboxConnector
from socialcare import cases, tone
from socialcare.app import App
from socialcare.config import ToneConfig
from socialcare.db import session_scope
from socialcare.drafting import Drafter, DraftRequest
from socialcare.errors import UserError
from socialcare.models import AuditLog, Reply, ReplyStatus
from tests.conftest import Workspace

TEMPLATES = ("default", "complaint", "question", "praise", "thanks", "refund", "exchange", "urgent")


@pytest.fixture(scope="module")
def offline() -> sentiment.Classifier:
    return sentiment.load()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Hi Ann, that's your problem, not ours.", "negative"),
        ("Hi Ann, sorry, but this is useless and we won't help.", "negative"),
        ("Oh great, another customer who can't read the FAQ.", "sarcastic"),
        ("Hi Ann, yeah right, as if we would ever lose a parcel /s", "sarcastic"),
        ("Hi Ann, calm down, it is only a parcel.", "blocklist"),
    ],
)
def test_rude_replies_are_refused_with_the_reason(offline: sentiment.Classifier, text: str, why: str) -> None:
    reason = tone.refusal(text, offline, ToneConfig())
    assert reason is not None and why in reason


def test_every_bundled_reply_passes_apologies_included(offline: sentiment.Classifier) -> None:
    drafter = Drafter()
    for language in drafter.languages:
        for template in TEMPLATES:
            for apology in (False, True):
                request = DraftRequest(language, template, apology, "Ann", "sandbox", "ann")
                text, _ = drafter.draft(request)
                assert tone.refusal(text, offline, ToneConfig()) is None, text


def test_the_team_blocklist_replaces_the_starter_one_and_the_guard_can_be_off(offline: sentiment.Classifier) -> None:
    ours = ToneConfig(blocklist=["cheap"])
    assert "cheap" in (tone.refusal("Hi Ann, it is the cheap model, so yes.", offline, ours) or "")
    assert tone.refusal("Hi Ann, calm down, it is only a parcel.", offline, ours) is None
    assert tone.refusal("Hi Ann, that's your problem, not ours.", offline, ToneConfig(enabled=False)) is None


def rude_case(app: App, sandbox: SandboxConnector) -> int:
    sandbox.post("ann", "Where is my order?")
    app.poll("sandbox")
    app.process()
    with session_scope(app.engine) as session:
        [row] = cases.queue(session, cases.QueueFilter())
    return row["id"]


def test_approval_refuses_a_rude_reply_and_force_is_audited(app: App, sandbox: SandboxConnector) -> None:
    case_id = rude_case(app, sandbox)
    rude = "Hi Ann, obviously it is in the box, calm down."
    with session_scope(app.engine) as session, pytest.raises(UserError, match="blocklist.*--force"):
        cases.approve(session, case_id, "lead", sandbox, rude, guard=app.approval_guard)
    with session_scope(app.engine) as session:
        reply = cases.approve(session, case_id, "lead", sandbox, rude, guard=app.approval_guard, force=True)
        approved = session.exec(select(AuditLog).where(AuditLog.action == "reply.approved")).one()
    assert reply.status == ReplyStatus.APPROVED
    assert approved.actor == "lead" and "blocklist" in approved.detail["forced"]
    assert app.send().sent == 1  # forced by a person: the send-time check lets it go


def test_a_reply_that_reads_wrong_at_send_time_goes_back_to_draft_with_the_reason(
    app: App, sandbox: SandboxConnector
) -> None:
    """The team adds a word to the blocklist after a reply using it was approved: it is not posted."""
    case_id = rude_case(app, sandbox)
    with session_scope(app.engine) as session:
        cases.approve(
            session, case_id, "lead", sandbox, "Hi Ann, it is the cheap model, so yes.", guard=app.approval_guard
        )
    stricter = App(app.config.model_copy(update={"tone": ToneConfig(blocklist=["cheap"])}))
    stricter.__dict__["classifier"] = app.classifier
    result = stricter.send()
    assert result.sent == 0 and [p for p in sandbox.posts() if p["author"] == "acme"] == []
    with session_scope(app.engine) as session:
        reply = session.exec(select(Reply)).one()
        refused = session.exec(select(AuditLog).where(AuditLog.action == "reply.tone_refused")).one()
    assert reply.status == ReplyStatus.DRAFT and "cheap" in (reply.last_error or "")
    assert "cheap" in refused.detail["reason"]


def test_the_command_line_says_why_and_takes_force(workspace: Workspace) -> None:
    workspace.run("sandbox", "post", "--author", "ann", "--text", "Where is my order?")
    workspace.run("poll")
    refused = workspace.run("approve", "1", "--text", "Hi Ann, calm down, it is in the post.")
    assert refused.code == 1 and "blocklist" in refused.err and "--force" in refused.err
    forced = workspace.run("approve", "1", "--text", "Hi Ann, calm down, it is in the post.", "--force")
    assert forced.code == 0, forced.err


def test_a_draft_the_process_read_is_approved_without_loading_the_model(app: App, sandbox: SandboxConnector) -> None:
    """The daemon has the model loaded when it drafts; a person approving that draft does not wait for it."""
    case_id = rude_case(app, sandbox)
    with session_scope(app.engine) as session:
        draft = session.exec(select(Reply)).one()
    assert draft.tone is not None and draft.tone["refusal"] is None
    person = App(app.config)
    with session_scope(person.engine) as session:
        reply = cases.approve(session, case_id, "lead", sandbox, guard=person.approval_guard)
    assert reply.status == ReplyStatus.APPROVED and "classifier" not in person.__dict__


def test_a_kept_refusal_stops_approval_until_the_text_or_the_settings_change(
    app: App, sandbox: SandboxConnector
) -> None:
    strict = App(app.config.model_copy(update={"tone": ToneConfig(blocklist=["ann"])}))
    strict.__dict__["classifier"] = app.classifier
    case_id = rude_case(strict, sandbox)
    with session_scope(app.engine) as session:
        draft = session.exec(select(Reply)).one()
    assert "ann" in draft.text.lower() and "blocklist" in draft.tone["refusal"]
    person = App(strict.config)
    with session_scope(person.engine) as session, pytest.raises(UserError, match="'ann'.*blocklist"):
        cases.approve(session, case_id, "lead", sandbox, guard=person.approval_guard)
    assert "classifier" not in person.__dict__, "the kept reading was enough"
    with session_scope(app.engine) as session:  # the team's own settings: the reading is for other ones
        reply = cases.approve(session, case_id, "lead", sandbox, guard=app.approval_guard)
    assert reply.status == ReplyStatus.APPROVED
