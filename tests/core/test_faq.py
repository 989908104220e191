"""Saved answers: suggested for each case in show and review, given in the draft when the match is strong,
and grown from the team's own approved replies with `socialcare faq add`."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from connectors.sandbox import SandboxConnector
from socialcare import cases
from socialcare.app import App
from socialcare.cases import QueueFilter
from socialcare.config import ConfigError
from socialcare.db import session_scope
from socialcare.faq import Entry, Faq, append, score
from tests.conftest import Workspace

HOURS = Entry(
    "store-hours",
    "Our stores open at 10:00 on Sundays and at 9:00 the rest of the week.",
    ("opening hours", "open on sunday"),
    ("What time does the store open on Sunday?",),
)
PARKING = Entry("parking", "There is a car park behind every store.", ("parking",), ("Where can I park?",))
FAQ_EN = """
[[answer]]
id = "store-hours"
keywords = ["opening hours", "open on sunday"]
questions = ["What time does the store open on Sunday?"]
answer = "Our stores open at 10:00 on Sundays and at 9:00 the rest of the week."

[[answer]]
id = "parking"
keywords = ["parking"]
questions = ["Where can I park?"]
answer = "There is a car park behind every store."
"""


def team_faq(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "en.toml").write_text(FAQ_EN, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("text", "entry", "at_least", "below"),
    [
        ("what time does the Leeds store open on Sunday?", HOURS, 0.6, 1.01),
        ("When do you open on Sunday?", HOURS, 0.35, 1.01),
        ("is there parking nearby?", PARKING, 0.35, 1.01),
        ("my parcel arrived broken", HOURS, 0.0, 0.2),
    ],
)
def test_a_message_scores_by_keywords_and_example_questions(
    text: str, entry: Entry, at_least: float, below: float
) -> None:
    assert at_least <= score(entry, text) < below


def test_the_best_matches_come_first_in_the_cases_language_only(tmp_path: Path) -> None:
    faq = Faq(team_faq(tmp_path / "faq"))
    matches = faq.matches("What time do you open on Sunday? Also, is there parking?", "en", 0.35)
    assert [m.entry.id for m in matches] == ["store-hours", "parking"]
    assert faq.matches("What time do you open on Sunday?", "it", 0.35) == []


def test_a_broken_faq_file_names_the_file_and_the_entry(tmp_path: Path) -> None:
    (tmp_path / "en.toml").write_text('[[answer]]\nid = "x"\nanswer = "Yes."\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"en.toml: answer 1 needs keywords or questions"):
        Faq(tmp_path)


@pytest.fixture
def with_faq(app: App, workspace: Workspace) -> App:
    team_faq(workspace.config.parent / "faq")
    return App(app.config)


def test_the_draft_gives_a_strong_match_and_show_suggests_the_others(
    with_faq: App, app: App, sandbox: SandboxConnector
) -> None:
    with_faq.__dict__["classifier"] = app.classifier
    sandbox.post("jd", "What time does the Leeds store open on Sunday?")
    sandbox.post("kim", "Do you have parking for bikes?")
    with_faq.poll("sandbox")
    with_faq.process()
    with session_scope(with_faq.engine) as session:
        rows = {r["handle"]: r for r in cases.queue(session, QueueFilter())}
        shown = cases.show(session, rows["kim"]["id"], saved=with_faq.saved_answers)
    assert rows["jd"]["draft"] == (
        "Hi jd, thanks for asking. Our stores open at 10:00 on Sundays and at 9:00 the rest of the week."
    )
    assert "car park" not in rows["kim"]["draft"]  # a weak match is suggested, not sent
    assert [s["id"] for s in shown["saved_answers"]] == ["parking"]


def test_no_saved_answer_in_an_urgent_case(with_faq: App, app: App, sandbox: SandboxConnector) -> None:
    with_faq.__dict__["classifier"] = app.classifier
    sandbox.post("dn", "This is fraud and what time does the store open on Sunday?")
    with_faq.poll("sandbox")
    with_faq.process()
    with session_scope(with_faq.engine) as session:
        [row] = cases.queue(session, QueueFilter())
    assert "10:00" not in row["draft"] and "sorry" in row["draft"]


def test_faq_add_saves_the_approved_reply_with_the_customers_question(workspace: Workspace) -> None:
    workspace.run("sandbox", "post", "--author", "ann", "--text", "Do you ship to Norway?")
    workspace.run("poll")
    answer = "Hi ann, yes: we ship to Norway in 3 to 5 working days, customs included."
    assert workspace.run("approve", "1", "--text", answer).code == 0
    added = workspace.run("faq", "add", "1")
    assert added.code == 0, added.err
    saved = tomllib.loads((workspace.config.parent / "faq" / "en.toml").read_text(encoding="utf-8"))["answer"]
    assert saved == [
        {
            "id": "case-1",
            "questions": ["Do you ship to Norway?"],
            "keywords": [],
            "answer": "Yes: we ship to Norway in 3 to 5 working days, customs included.",
        }
    ]
    workspace.run("sandbox", "post", "--author", "bo", "--text", "hi! do you ship to Norway too?")
    workspace.run("poll")
    shown = workspace.run("show", "2", "--json").json()
    assert shown["saved_answers"][0]["id"] == "case-1"


def test_faq_add_needs_an_approved_reply(workspace: Workspace) -> None:
    workspace.run("sandbox", "post", "--author", "ann", "--text", "Do you ship to Norway?")
    workspace.run("poll")
    refused = workspace.run("faq", "add", "1")
    assert refused.code == 1 and "approve one first" in refused.err


def test_what_faq_add_writes_keeps_the_teams_file_and_reads_back(tmp_path: Path) -> None:
    path = team_faq(tmp_path)
    append(path, "en", Entry("case-9", 'Say "hi" \\ to us\non two lines', (), ('Is {{ 7*7 }} "ok"?',)))
    entries = Faq(path).entries("en")
    assert [e.id for e in entries] == ["store-hours", "parking", "case-9"]
    assert entries[-1].answer == 'Say "hi" \\ to us\non two lines' and entries[-1].questions == ('Is {{ 7*7 }} "ok"?',)
