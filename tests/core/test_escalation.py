"""A missed deadline reaches a person: one email per minute's breaches to a real SMTP server, and a webhook,
once per case, with the customer's words made harmless; a mail server that is down delays it, never loses it.
End to end on the sandbox: a complaint nobody approves gets one holding reply, then the escalation."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlmodel import select

from socialcare.db import session_scope
from socialcare.models import Event, ReplyKind
from socialcare.worker import CARE_LANE
from tests.conftest import Workspace
from tests.core.test_deadlines import CONFIG, Team, rome
from tests.core.test_mail import SmtpServer

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


class Hook:
    """A webhook receiver on a free local port that keeps every JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                hook.bodies.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/care"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


@pytest.fixture
def hook() -> Iterator[Hook]:
    receiver = Hook()
    yield receiver
    receiver.server.shutdown()


def team_with_escalation(tmp_path: Path, database_url: str, smtp: SmtpServer, hook: Hook | None) -> Team:
    space = Workspace(tmp_path, database_url)
    extra = smtp.smtp_toml() + '[escalation]\nto = ["duty@acme.example"]\n'
    if hook is not None:
        extra += f'webhook = "{hook.url}"\n'
    space.write_config(CONFIG.format(database_url=database_url, after_hours="false") + extra)
    assert space.run("db", "upgrade").code == 0
    return Team(space)


def escalations(team: Team) -> list[str]:
    with session_scope(team.app.engine) as session:
        return [e.detail["by"] for e in session.exec(select(Event).where(Event.kind == "case.escalated"))]


def test_breaches_in_one_minute_are_one_email_and_each_case_is_escalated_once(
    tmp_path: Path, database_url: str, smtp: SmtpServer, hook: Hook
) -> None:
    team = team_with_escalation(tmp_path, database_url, smtp, hook)
    team.app.config.holding.__dict__["enabled"] = False  # only the escalation here
    hostile = "\x1b]0;owned\x07<img src=x onerror=alert(1)> {{7*7}} the parcel \u202eis broken"
    team.customer("ann", hostile, rome(7, 10, 0))
    team.customer(
        "bob",
        "My blender arrived broken",
        rome(
            7,
            10,
            0,
        ),
    )
    team.at(rome(7, 10, 1))
    team.worker.run_due(
        CARE_LANE,
        rome(
            7,
            11,
            0,
        ),
    )  # both deadlines pass in the same minute
    assert smtp.received == [] and hook.bodies == [], "sent when the minute ends"
    team.worker.run_due(CARE_LANE, rome(7, 11, 1))
    (mail,) = smtp.received
    _, recipients, message = mail
    assert recipients == ["duty@acme.example"]
    body = message.get_content()
    assert message["Subject"] == "socialcare: 2 case(s) past their deadline"
    assert "case 1 · complaint · sandbox · @ann" in body and "socialcare show 2" in body
    assert "\x1b" not in body and "\u202e" not in body and "{{7*7}} the parcel is broken" in body
    (posted,) = hook.bodies
    assert [c["case"] for c in posted["cases"]] == [1, 2] and "\x1b" not in json.dumps(posted)
    for later in (rome(7, 12, 0), rome(7, 16, 0), rome(9, 10, 0)):
        team.worker.run_due(CARE_LANE, later)
    assert len(smtp.received) == 1 and len(hook.bodies) == 1, "once per case"
    assert sorted(escalations(team)) == ["email", "email", "webhook", "webhook"]


def test_a_mail_server_that_is_down_delays_the_escalation_and_never_loses_it(tmp_path: Path, database_url: str) -> None:
    with SmtpServer() as smtp:
        team = team_with_escalation(tmp_path, database_url, smtp, None)
    team.app.config.holding.__dict__["enabled"] = False
    team.customer("ann", "My parcel arrived broken", rome(7, 10, 0))
    team.at(rome(7, 10, 1))
    team.worker.run_due(CARE_LANE, rome(7, 11, 1))  # the server is gone: nothing recorded
    assert escalations(team) == []
    with SmtpServer() as again:
        team.app.config.smtp.__dict__["port"] = again.port
        team.worker.run_due(CARE_LANE, rome(7, 12, 0))
    assert len(again.received) == 1 and escalations(team) == ["email"]


def test_a_complaint_nobody_approves_gets_one_holding_reply_then_an_escalation_email(
    tmp_path: Path, database_url: str, smtp: SmtpServer
) -> None:
    team = team_with_escalation(tmp_path, database_url, smtp, None)
    team.customer("ann", "My parcel arrived broken", rome(7, 10, 0))  # a complaint: a 1 h target
    for minute in range(1, 130, 4):  # the daemon at work, every few minutes for two hours; nobody approves
        team.at(rome(7, 10 + minute // 60, minute % 60))
    (holding,) = team.replies(ReplyKind.HOLDING)
    assert holding.sent_at is not None
    assert [p["text"] for p in team.posted()] == [holding.text], "the thread shows exactly one holding reply"
    (mail,) = smtp.received
    assert "case 1 · complaint · sandbox · @ann" in mail[2].get_content()
    with session_scope(team.app.engine) as session:
        kinds = {e.kind: e.at for e in session.exec(select(Event))}
    assert kinds["reply.holding_sent"] < kinds["case.deadline_passed"] <= kinds["case.escalated"]
