"""One customer across channels, on a frozen clock: identities linked automatically only on the same email or phone
(normalised), by hand with `customer link` / `unlink` (audited, history kept, a split identity left alone after),
and `show` / `customer` with the history on every linked identity: sentiment, deadlines and promises kept or not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

import connectors.base
import connectors.sandbox
from connectors.base import Capabilities, PermanentError
from socialcare import cases, customers, lifecycle, work
from socialcare import config as configuration
from socialcare.app import App
from socialcare.db import session_scope
from socialcare.errors import UserError
from socialcare.models import AuditLog, Case, Customer, Identity, Reply, ReplyKind
from socialcare.worker import CARE_LANE, SEND_LANE, Worker
from tests.conftest import Workspace
from tests.core.conftest import KeywordClassifier

T0 = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)
CONFIG = """\
database_url = "{database_url}"
timezone = "UTC"

[targets.first]
complaint = "1h"
normal = "2h"

[satisfaction]
{satisfaction}

[accounts.forum]
platform = "sandbox"
path = "forum.json"

[accounts.dm]
platform = "sandbox"
path = "dm.json"
"""


FIRST_ID = {"forum": 1, "dm": 1001}
"""Both channels are the sandbox platform, where a message id is unique: each file numbers its posts apart."""


class Team:
    """Two sandbox channels on a frozen clock: a public forum and a private inbox ("dm", with Messenger's rules).

    The clock is the team's wherever the code reads the time itself (an approval, the sandbox stamping our
    replies), so answers happen at the times a test says.
    """

    def __init__(self, space: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
        self.space = space
        self.app = App(configuration.load(space.config))
        self.app.__dict__["classifier"] = KeywordClassifier()
        self.app.sync_accounts()
        self.worker = Worker(self.app, "test-worker")
        self.now = T0
        for module in (connectors.base, connectors.sandbox, lifecycle, work):
            monkeypatch.setattr(module, "utcnow", lambda: self.now)
        self.app.channels["dm"].capabilities = Capabilities(
            max_reply_length=1000, public=False, reply_window=timedelta(hours=24)
        )

    def file(self, account: str) -> Path:
        return self.space.root / "config" / f"{account}.json"

    def post(
        self, account: str, author: str, text: str, at: datetime, reply_to: int | None = None, **extra: str
    ) -> int:
        """The customer writes at ``at``; ``extra`` may say their email or phone."""
        path = self.file(account)
        data = json.loads(path.read_text()) if path.exists() else {"posts": []}
        post_id = max((p["id"] for p in data["posts"]), default=FIRST_ID[account] - 1) + 1
        thread = reply_to and next(p["thread"] for p in data["posts"] if p["id"] == reply_to)
        post = {
            "id": post_id,
            "author": author,
            "name": author.title(),
            "text": text,
            "reply_to": reply_to,
            "thread": thread or post_id,
            "created_at": at.isoformat(),
            **extra,
        }
        data["posts"].append(post)
        path.write_text(json.dumps(data))
        return post_id

    def at(self, now: datetime) -> None:
        """Everything due by ``now``: polls, triage, timed work, sending."""
        self.now = now
        for name in self.app.channels:
            self.app.poll(name, now=now)
        self.app.process(now)
        self.worker.run_due(CARE_LANE, now)
        self.worker.run_due(SEND_LANE, now)

    def approve(self, case_id: int) -> None:
        with session_scope(self.app.engine) as session:
            cases.approve(session, case_id, "tester", None)

    def cases(self) -> list[Case]:
        with session_scope(self.app.engine) as session:
            return list(session.exec(select(Case).order_by(Case.id)))

    def show(self, case_id: int) -> dict:
        with session_scope(self.app.engine) as session:
            return cases.show(session, case_id, self.now)

    def replies(self, kind: ReplyKind | None = None) -> list[Reply]:
        with session_scope(self.app.engine) as session:
            query = select(Reply).order_by(Reply.id)
            return list(session.exec(query.where(Reply.kind == kind) if kind else query))

    def posted(self, account: str) -> list[dict]:
        path = self.file(account)
        return [p for p in json.loads(path.read_text())["posts"] if p["author"] == "acme"] if path.exists() else []

    def identity(self, handle: str) -> Identity:
        with session_scope(self.app.engine) as session:
            return session.exec(select(Identity).where(Identity.handle == handle)).one()

    def customer_of(self, handle: str) -> int:
        return self.identity(handle).customer_id

    def audit(self, action: str) -> list[AuditLog]:
        with session_scope(self.app.engine) as session:
            return list(session.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def make_team(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, satisfaction: str = "") -> Team:
    space = Workspace(tmp_path, database_url)
    space.write_config(CONFIG.format(database_url=database_url, satisfaction=satisfaction))
    assert space.run("db", "upgrade").code == 0
    return Team(space, monkeypatch)


@pytest.fixture
def team(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Team:
    return make_team(tmp_path, database_url, monkeypatch)


# -- linking ----------------------------------------------------------------------------------------


def test_identities_with_the_same_email_are_one_customer_on_their_own(team: Team) -> None:
    team.post("forum", "ann", "My parcel arrived broken", T0, email=" Ann.Rossi@Example.COM ")
    team.post("dm", "annie", "Where is my order?", T0 + timedelta(minutes=5), email="ann.rossi@example.com")
    team.at(T0 + timedelta(minutes=6))
    assert team.customer_of("ann") == team.customer_of("annie")
    assert team.identity("ann").email == team.identity("annie").email == "ann.rossi@example.com"
    (linked,) = team.audit("customer.linked")
    assert linked.actor == "system" and linked.customer_id == team.customer_of("ann")
    assert linked.detail["reason"] == "same email"
    assert linked.detail["identity"]["name"] == "sandbox:annie" and linked.detail["with"]["name"] == "sandbox:ann"
    with session_scope(team.app.engine) as session:
        merged = session.get(Customer, linked.detail["merged"])
        assert merged.merged_into_id == linked.customer_id, "the emptied customer points at the one it joined"


def test_phone_numbers_link_in_any_international_format_and_local_numbers_never(team: Team) -> None:
    team.post("forum", "ann", "Where is my parcel?", T0, phone="+39 333 123 4567")
    team.post("dm", "annie", "Any news on my order?", T0 + timedelta(minutes=1), phone="0039 (333) 123-4567")
    team.post("dm", "anna", "Is the shop open?", T0 + timedelta(minutes=2), phone="333 1234567")
    team.at(T0 + timedelta(minutes=3))
    assert team.customer_of("ann") == team.customer_of("annie")
    assert team.identity("ann").phone == "+393331234567"
    assert team.identity("anna").phone is None, "a number without its country could be anyone's"
    assert team.customer_of("anna") != team.customer_of("ann")
    assert [a.detail["reason"] for a in team.audit("customer.linked")] == ["same phone"]


def test_nothing_less_than_an_exact_shared_identifier_links(team: Team) -> None:
    team.post("forum", "ann", "Where is my parcel?", T0, email="ann@example.com")
    team.post("dm", "ann_rossi", "Where is my parcel?", T0, email="ann@example.org")
    team.post("dm", "Ann", "Where is my parcel?", T0)
    team.post("forum", "bob", "Is it on its way?", T0, email="not an address")
    team.at(T0 + timedelta(minutes=1))
    with session_scope(team.app.engine) as session:
        assert len(set(session.exec(select(Identity.customer_id)).all())) == 4
    assert team.audit("customer.linked") == []
    assert team.identity("bob").email is None


def test_an_identifier_that_arrives_later_links_then(team: Team) -> None:
    first = team.post("forum", "ann", "Where is my parcel?", T0)
    team.post("dm", "annie", "Where is my order?", T0, email="ann@example.com")
    team.at(T0 + timedelta(minutes=1))
    assert team.customer_of("ann") != team.customer_of("annie")
    team.post(
        "forum", "ann", "My email is this one", T0 + timedelta(minutes=5), reply_to=first, email="ANN@example.com"
    )
    team.at(T0 + timedelta(minutes=6))
    assert team.customer_of("ann") == team.customer_of("annie")


def test_link_and_unlink_by_hand_are_audited_keep_the_history_and_the_split_stays_apart(team: Team) -> None:
    team.post("forum", "ann", "My parcel arrived broken", T0)
    team.post("dm", "annie", "Where is my order?", T0 + timedelta(minutes=1))
    team.at(T0 + timedelta(minutes=2))
    forum_case, dm_case = (c.id for c in team.cases())
    assert team.show(forum_case)["history"] == []

    annie = team.identity("annie")
    linked = team.space.run("customer", "link", "sandbox:ann", str(annie.id))
    assert linked.code == 0, linked.err
    assert "sandbox:ann" in linked.out and "sandbox:annie" in linked.out
    assert team.customer_of("ann") == team.customer_of("annie")
    (entry,) = team.audit("customer.linked")
    assert entry.actor != "system" and entry.detail["reason"] == "by hand"
    history = team.show(forum_case)["history"]
    assert [(h["id"], h["account"], h["handle"]) for h in history] == [(dm_case, "dm", "annie")]
    assert [i["handle"] for i in team.show(dm_case)["customer"]["identities"]] == ["ann", "annie"]

    unlinked = team.space.run("customer", "unlink", "sandbox:annie")
    assert unlinked.code == 0, unlinked.err
    assert team.customer_of("ann") != team.customer_of("annie")
    assert team.identity("annie").unlinked_at is not None
    split = team.audit("customer.unlinked")
    assert {a.customer_id for a in split} == {team.customer_of("ann"), team.customer_of("annie")}
    assert team.show(forum_case)["history"] == [] and team.show(dm_case)["history"] == []
    assert [c.identity_id for c in team.cases()] == [team.identity("ann").id, annie.id], "cases stay on identities"

    team.post("forum", "ann", "Hello?", T0 + timedelta(minutes=10), email="ann@example.com")
    team.post("dm", "annie", "Hello?", T0 + timedelta(minutes=10), email="ann@example.com")
    team.at(T0 + timedelta(minutes=11))
    assert team.customer_of("ann") != team.customer_of("annie"), "a person's split is not undone automatically"


def test_the_customer_commands_say_what_is_wrong_in_one_line(team: Team) -> None:
    team.post("forum", "ann", "Where is my parcel?", T0)
    team.post("dm", "bob", "Where is my parcel?", T0)
    team.at(T0 + timedelta(minutes=1))
    with session_scope(team.app.engine) as session:
        session.add(Identity(customer_id=1, platform="x", external_user_id="99", handle="ann"))
    for args, says in (
        (("customer", "nobody"), "no customer known as 'nobody'"),
        (("customer", "ann"), "'ann' could be sandbox:ann (identity 1), x:ann (identity 3): say which"),
        (("customer", "link", "sandbox:ann", "x:ann"), "already the same customer"),
        (("customer", "link", "sandbox:ann", "42"), "no identity 42"),
        (("customer", "unlink", "sandbox:bob"), "the only identity of customer"),
    ):
        result = team.space.run(*args)
        assert result.code == 1 and result.out == "", args
        assert result.err.count("\n") == 1 and says in result.err, result.err
    assert team.space.run("customer", "@bob").code == 0, "a unique handle alone will do"


def test_merging_customers_with_several_identities_keeps_every_one(team: Team) -> None:
    team.post("forum", "ann", "Where is my parcel?", T0, email="ann@example.com")
    team.post("dm", "annie", "Where is my parcel?", T0, email="ann@example.com")
    team.post("forum", "rossi", "Where is my parcel?", T0, phone="+393331234567")
    team.post("dm", "ann_r", "Where is my parcel?", T0, phone="+393331234567")
    team.at(T0 + timedelta(minutes=1))
    assert team.customer_of("ann") != team.customer_of("rossi")
    with session_scope(team.app.engine) as session:
        kept = customers.link(session, "sandbox:annie", "sandbox:ann_r", "tester")
    assert {team.customer_of(h) for h in ("ann", "annie", "rossi", "ann_r")} == {kept.id}
    with session_scope(team.app.engine) as session:
        assert len(customers.history(session, kept.id)) == 4
        with pytest.raises(UserError, match="already the same customer"):
            customers.link(session, "sandbox:ann", "sandbox:rossi", "tester")


# -- the history in show and `customer` -------------------------------------------------------------


def test_show_and_customer_give_the_history_across_channels_with_promises_kept_or_not(team: Team) -> None:
    team.post("forum", "ann", "My parcel arrived broken", T0, email="ann@example.com")  # complaint: 1 h
    team.at(T0 + timedelta(minutes=1))
    team.at(T0 + timedelta(minutes=49))  # 80 % gone, nobody approved: a holding reply promising 11:49
    (first,) = team.cases()
    assert first.promised_at == T0 + timedelta(hours=1, minutes=49)
    team.approve(first.id)
    team.at(T0 + timedelta(hours=1, minutes=30))  # answered before the promise

    day = T0 + timedelta(days=1)
    team.post("dm", "annie", "The blender is broken too", day, email="ann@example.com")
    team.at(day + timedelta(minutes=1))
    team.at(day + timedelta(minutes=49))
    second = team.cases()[1]
    team.approve(second.id)
    team.at(day + timedelta(hours=3))  # answered after the promise

    later = T0 + timedelta(days=2)
    team.post("forum", "ann", "Where is my refund?", later)
    team.at(later + timedelta(minutes=1))
    third = team.cases()[2]

    history = team.show(third.id)["history"]
    assert [(h["id"], h["account"], h["status"]) for h in history] == [
        (second.id, "dm", "answered"),
        (first.id, "forum", "answered"),
    ]
    on_dm, on_forum = history
    assert on_forum["sentiment"] == "negative" and on_forum["complaint"] is True
    assert on_forum["message"] == "My parcel arrived broken"
    assert on_forum["answered_in_time"] is True and on_dm["answered_in_time"] is False
    (kept,) = on_forum["promises"]
    assert kept == {
        "kind": "holding",
        "made_at": (T0 + timedelta(minutes=49)).isoformat(),
        "by": (T0 + timedelta(hours=1, minutes=49)).isoformat(),
        "heard_at": (T0 + timedelta(hours=1, minutes=30)).isoformat(),
        "outcome": "kept",
    }
    assert [p["outcome"] for p in on_dm["promises"]] == ["broken"]

    result = team.space.run("customer", "sandbox:annie", "--json")
    assert result.code == 0, result.err
    profile = result.json()
    assert [i["handle"] for i in profile["identities"]] == ["ann", "annie"]
    assert [h["id"] for h in profile["history"]] == [third.id, second.id, first.id]
    assert [a["said"] for a in profile["audit"]] == ["sandbox:annie linked with sandbox:ann (same email)"]
    text = team.space.run("customer", "sandbox:ann")
    assert text.code == 0 and "kept" in text.out and "broken" in text.out and "same email" in text.out
    shown = team.space.run("show", str(third.id))
    assert shown.code == 0 and "earlier cases" in shown.out and "broken" in shown.out


def test_a_promise_that_never_reached_the_customer_is_said_so(team: Team) -> None:
    def refused(*_args: object, **_kwargs: object) -> None:
        raise PermanentError("the conversation is gone")

    team.post("dm", "ann", "My parcel arrived broken", T0)
    team.at(T0 + timedelta(minutes=1))
    team.app.channels["dm"].reply = refused  # type: ignore[method-assign]
    team.at(T0 + timedelta(minutes=49))
    (holding,) = team.replies(ReplyKind.HOLDING)
    assert holding.status == "failed"
    with session_scope(team.app.engine) as session:
        (entry,) = customers.history(session, team.customer_of("ann"), T0 + timedelta(hours=3))
    assert [p["outcome"] for p in entry["promises"]] == ["not sent"]
    assert entry["answered_in_time"] is False, "still open, past its deadline"
