"""Deadlines that are kept, on a frozen clock: targets in open time, first and next response, holding replies
at 80 % of the time (once, in the customer's language, with a real promised time, within the channel's reply
window, never when an answer was approved in time), after-hours replies, and waiting on the customer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from connectors.base import Capabilities
from socialcare import cases
from socialcare import config as configuration
from socialcare.app import App
from socialcare.db import session_scope
from socialcare.models import Case, Event, Reply, ReplyKind, ReplyStatus
from socialcare.worker import CARE_LANE, SEND_LANE, Worker
from tests.conftest import Workspace
from tests.core.conftest import KeywordClassifier

ROME = ZoneInfo("Europe/Rome")
CONFIG = """\
database_url = "{database_url}"
timezone = "Europe/Rome"

[calendar]
holidays = "IT"
[calendar.hours]
mon = ["09:00-17:00"]
tue = ["09:00-17:00"]
wed = ["09:00-17:00"]
thu = ["09:00-17:00"]
fri = ["09:00-17:00"]

[targets.first]
complaint = "1h"
normal = "2h"
[targets.next]
complaint = "30m"

[holding]
after_hours = {after_hours}

[accounts.sandbox]
platform = "sandbox"
path = "sandbox.json"
"""


def rome(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in December 2026, Rome time (Fri 4, Mon 7, Tue 8 = Immacolata, a holiday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=ROME).astimezone(UTC)


class Team:
    """The sandbox team on a frozen clock: customers' posts carry the times a test gives them."""

    def __init__(self, space: Workspace) -> None:
        self.app = App(configuration.load(space.config))
        self.app.__dict__["classifier"] = KeywordClassifier()
        self.app.sync_accounts()
        self.worker = Worker(self.app, "test-worker")
        self.file = space.root / "config" / "sandbox.json"

    def customer(self, author: str, text: str, at: datetime, reply_to: int | None = None) -> int:
        data = json.loads(self.file.read_text()) if self.file.exists() else {"posts": []}
        post_id = len(data["posts"]) + 1
        thread = reply_to and next(p["thread"] for p in data["posts"] if p["id"] == reply_to)
        data["posts"].append(
            {
                "id": post_id,
                "author": author,
                "name": author.title(),
                "text": text,
                "reply_to": reply_to,
                "thread": thread or post_id,
                "created_at": at.isoformat(),
            }
        )
        self.file.write_text(json.dumps(data))
        return post_id

    def at(self, now: datetime) -> None:
        """Everything due by ``now``: poll, triage, timed work, sending."""
        self.app.poll("sandbox", now=now)
        self.app.process(now)
        self.worker.run_due(CARE_LANE, now)
        self.worker.run_due(SEND_LANE, now)

    def case(self) -> Case:
        with session_scope(self.app.engine) as session:
            return session.exec(select(Case)).one()

    def replies(self, kind: ReplyKind | None = None) -> list[Reply]:
        with session_scope(self.app.engine) as session:
            query = select(Reply).order_by(Reply.id)
            return list(session.exec(query.where(Reply.kind == kind) if kind else query))

    def posted(self) -> list[dict]:
        return [p for p in json.loads(self.file.read_text())["posts"] if p["author"] == "acme"]


@pytest.fixture
def team(tmp_path: Path, database_url: str, request: pytest.FixtureRequest) -> Team:
    after_hours = "true" if request.node.get_closest_marker("after_hours") else "false"
    space = Workspace(tmp_path, database_url)
    space.write_config(CONFIG.format(database_url=database_url, after_hours=after_hours))
    assert space.run("db", "upgrade").code == 0
    return Team(space)


def test_a_deadline_counts_open_time_only_across_a_weekend_and_a_holiday(team: Team) -> None:
    team.customer("ann", "My parcel arrived broken", rome(4, 16, 30))  # Friday 16:30
    team.at(rome(4, 16, 31))
    assert team.case().due_at == rome(7, 9, 30)  # Monday 09:30
    team.customer("bob", "The blender is broken too", rome(7, 16, 30))  # Monday 16:30, Tuesday is a holiday
    team.app.poll("sandbox", now=rome(7, 16, 31))
    team.app.process(rome(7, 16, 31))
    with session_scope(team.app.engine) as session:
        bob = session.exec(select(Case).where(Case.id == 2)).one()
    assert bob.due_at == rome(9, 9, 30)  # Wednesday 09:30


def test_time_left_is_open_time(team: Team) -> None:
    team.customer("ann", "My parcel arrived broken", rome(4, 16, 30))
    team.at(rome(4, 16, 40))
    with session_scope(team.app.engine) as session:
        (row,) = cases.queue(session, cases.QueueFilter(), rome(4, 16, 40), team.app.config.calendar_for)
    assert row["open_seconds_left"] == 50 * 60 and row["seconds_left"] > 2 * 24 * 3600


def test_the_next_response_has_its_own_target(team: Team) -> None:
    first = team.customer("ann", "My parcel arrived broken", rome(7, 10, 0))
    team.at(rome(7, 10, 1))
    assert team.case().due_at == rome(7, 11, 0)
    with session_scope(team.app.engine) as session:
        cases.approve(session, team.case().id, "tester", None)
    team.at(rome(7, 10, 5))
    assert team.case().status == "answered"
    team.customer("ann", "It is still broken", rome(7, 12, 0), reply_to=first)
    team.at(rome(7, 12, 1))
    assert (team.case().status, team.case().due_at) == ("open", rome(7, 12, 30))


def test_a_holding_reply_goes_out_once_at_80_percent_in_the_customers_language(team: Team) -> None:
    team.customer("maria", "Vergogna! Il pacco è rotto", rome(7, 10, 0))  # Italian complaint, 1 h target
    team.at(rome(7, 10, 47))
    assert team.replies(ReplyKind.HOLDING) == []
    team.at(rome(7, 10, 49))  # 80 % of the hour is gone at 10:48
    (holding,) = team.replies(ReplyKind.HOLDING)
    assert holding.status == ReplyStatus.SENT and holding.language == "it"
    assert holding.text.startswith("Ciao Maria,") and holding.text.endswith("entro le 11:49 di oggi.")
    case = team.case()
    assert case.status == "open" and case.promised_at == rome(7, 11, 49) and case.due_at == rome(7, 11, 49)
    assert [p["text"] for p in team.posted()] == [holding.text]
    (answer,) = team.replies(ReplyKind.ANSWER)
    assert answer.status == ReplyStatus.DRAFT, "the real answer still waits for a person"
    for later in (rome(7, 11, 30), rome(7, 12, 0), rome(9, 10, 0)):
        team.at(later)
    assert len(team.replies(ReplyKind.HOLDING)) == 1 and len(team.posted()) == 1, "at most once per case"
    with session_scope(team.app.engine) as session:
        kinds = [e.kind for e in session.exec(select(Event).order_by(Event.id))]
    assert "case.answered" not in kinds, "a holding reply answers nothing"


def test_no_holding_reply_when_an_answer_was_approved_in_time(team: Team) -> None:
    team.customer("ann", "My parcel arrived broken", rome(7, 10, 0))
    team.at(rome(7, 10, 1))
    with session_scope(team.app.engine) as session:
        cases.approve(session, team.case().id, "tester", None)
    team.app.channels["sandbox"].reply = lambda *a, **k: (_ for _ in ()).throw(AssertionError("held back"))  # type: ignore[method-assign]
    team.worker.run_due(CARE_LANE, rome(7, 10, 50))
    assert team.replies(ReplyKind.HOLDING) == []


def test_no_holding_reply_outside_the_channels_reply_window(team: Team) -> None:
    sandbox = team.app.channels["sandbox"]
    sandbox.capabilities = Capabilities(max_reply_length=2000, reply_window=timedelta(hours=24))  # Messenger's rule
    team.customer("ann", "My parcel arrived broken", rome(4, 16, 50))  # Friday: 80 % falls on Monday 09:38
    team.at(rome(4, 16, 51))
    team.at(rome(7, 9, 40))
    assert team.replies(ReplyKind.HOLDING) == [] and team.posted() == []


@pytest.mark.after_hours
def test_a_customer_writing_while_the_team_is_closed_hears_when_it_opens(team: Team) -> None:
    team.customer("ann", "My parcel arrived broken", rome(5, 10, 0))  # Saturday
    team.at(rome(5, 10, 1))
    (ack,) = team.replies(ReplyKind.AFTER_HOURS)
    assert ack.status == ReplyStatus.SENT and ack.text.endswith("by Monday at 10:00.")
    team.customer("ann", "Hello??", rome(5, 11, 0), reply_to=1)
    team.at(rome(5, 11, 1))
    assert len(team.replies(ReplyKind.AFTER_HOURS)) == 1, "once while the same message waits"


def test_waiting_on_the_customer_stops_the_clock_until_they_write(team: Team) -> None:
    first = team.customer("ann", "Where is my parcel?", rome(7, 10, 0))
    team.at(rome(7, 10, 1))
    with session_scope(team.app.engine) as session:
        cases.wait(session, team.case().id, "tester")
    team.at(rome(9, 16, 0))  # two days later: nothing due, no holding reply, no breach
    with session_scope(team.app.engine) as session:
        assert cases.queue(session, cases.QueueFilter()) == []
        kinds = [e.kind for e in session.exec(select(Event))]
    assert "case.deadline_passed" not in kinds and team.replies(ReplyKind.HOLDING) == []
    team.customer("ann", "Order number 1234", rome(9, 16, 30), reply_to=first)
    team.at(rome(9, 16, 31))
    case = team.case()
    assert case.status == "open" and case.waiting_since == rome(9, 16, 30)
    assert case.due_at == rome(10, 10, 30)  # two hours of open time: Wednesday 16:30-17:00, Thursday 09:00-10:30
