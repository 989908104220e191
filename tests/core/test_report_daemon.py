"""The daemon emails the daily report once per day (across restarts and several daemons, late rather than
never) and a spike alert once per spike, through a real SMTP server started here."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from socialcare import config as configuration
from socialcare import db, work
from socialcare.app import App
from socialcare.models import WorkItem
from socialcare.worker import REPORT, SPIKE, Worker, reconcile
from tests.conftest import SANDBOX_CONFIG, Workspace
from tests.core.report_traffic import Traffic
from tests.core.test_mail import PASSWORD, SmtpServer, parts
from tests.core.test_report import HOSTILE, ROME, at

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
D = date(2026, 11, 10)
DAILY = '[report]\ndaily = true\nsend_at = "08:00"\n'
SPIKE_ON = '[report.spike]\nenabled = true\nmargin = 0.2\nmin_messages = 20\ninterval = "5m"\n'


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    monkeypatch.setenv("SOCIALCARE_SMTP_PASSWORD", PASSWORD)
    with SmtpServer(user="care") as running:
        yield running


def make_app(workspace: Workspace, server: SmtpServer, extra: str) -> App:
    workspace.write_config(SANDBOX_CONFIG.format(database_url=workspace.database_url) + server.smtp_toml() + extra)
    app = App(configuration.load(workspace.config))
    app.sync_accounts()
    return app


def subjects(server: SmtpServer) -> list[str]:
    return [message["Subject"] for _, _, message in server.received]


def items(app: App, kind: str) -> list[tuple[str, datetime]]:
    with db.read_scope(app.engine) as session:
        found = session.exec(select(WorkItem).where(WorkItem.kind == kind).order_by(col(WorkItem.key)))
        return [(w.key, w.due_at) for w in found]


def test_daemon_once_sends_yesterdays_report_and_a_second_run_sends_nothing(
    workspace: Workspace, server: SmtpServer
) -> None:
    app = make_app(workspace, server, '[report]\ndaily = true\nsend_at = "00:00"\n')
    now = datetime.now(UTC)
    today = now.astimezone(ROME).date()
    t = Traffic(app.engine, {"sandbox": "sandbox"})
    yesterday = today - timedelta(days=1)
    case = t.case(t.message("sandbox", at(yesterday, 9), HOSTILE, label="negative", complaint=True, negative=0.9))
    t.reply(case, at(yesterday, 9, 10))
    t.case(
        t.message("sandbox", at(yesterday, 10), "package never arrived", label="negative", complaint=True, handle="b")
    )
    # as if a daemon had run last night: the chain holds yesterday's report, due at midnight
    reconcile(app, now=at(today - timedelta(days=1), 23))
    assert items(app, REPORT) == [((today - timedelta(days=1)).isoformat(), at(today, 0))]

    first = workspace.run("daemon", "--once")
    assert first.code == 0, first.err
    assert subjects(server) == [
        f"Care report {today - timedelta(days=1):%a %d %b %Y}: 2 messages, 50 % answered in time, 100 % negative"
    ]
    assert items(app, REPORT) == [(today.isoformat(), at(today + timedelta(days=1), 0))]
    again = workspace.run("daemon", "--once")
    assert again.code == 0, again.err
    assert len(server.received) == 1  # the same day: nothing more

    _, recipients, message = server.received[0]
    assert recipients == ["lead@acme.example", "team@acme.example"]
    found = parts(message)
    assert len(found["text/plain"]) == 1 and len(found["text/html"]) == 1 and len(found["image/png"]) == 3
    html = found["text/html"][0].get_content()
    for image in found["image/png"]:
        assert image.get_content().startswith(b"\x89PNG")
        assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt; {{7*7}}" in html
    assert not re.search(r"<(script|link|iframe)\b", html) and "http://" not in html and "https://" not in html
    assert HOSTILE in found["text/plain"][0].get_content()
    assert PASSWORD not in message.as_string()


def test_missed_days_are_sent_late_in_order_and_one_of_two_daemons_sends(
    workspace: Workspace, server: SmtpServer
) -> None:
    app = make_app(workspace, server, DAILY)
    reconcile(app, now=at(D + timedelta(days=1), 7))
    assert items(app, REPORT) == [(D.isoformat(), at(D + timedelta(days=1), 8))]
    reconcile(app, now=at(D + timedelta(days=1), 7, 30))  # a restart: still one chain
    assert len(items(app, REPORT)) == 1
    assert Worker(app, "early").run_due({REPORT}, at(D + timedelta(days=1), 7, 59)) == 0

    daemons = [Worker(app, f"daemon-{n}") for n in range(2)]
    late = at(D + timedelta(days=3), 9)  # no daemon ran for two days
    threads = [threading.Thread(target=w.run_due, args=({REPORT}, late)) for w in daemons]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert subjects(server) == [
        f"Care report {D + timedelta(days=k):%a %d %b %Y}: 0 messages" for k in range(3)
    ]  # the 10th, 11th and 12th, each once
    assert items(app, REPORT) == [((D + timedelta(days=3)).isoformat(), at(D + timedelta(days=4), 8))]


def test_a_report_the_server_refused_is_sent_on_a_later_try(workspace: Workspace, server: SmtpServer) -> None:
    down = SmtpServer(user="care")  # never started: nothing listens on its port
    app = make_app(workspace, down, DAILY)
    reconcile(app, now=at(D + timedelta(days=1), 7))
    Worker(app, "daemon").run_due({REPORT}, at(D + timedelta(days=1), 8, 1))
    [(key, due)] = items(app, REPORT)
    assert key == D.isoformat() and due > at(D + timedelta(days=1), 8, 1)  # kept, for a later try
    Worker(make_app(workspace, server, DAILY), "daemon").run_due({REPORT}, due)
    assert len(server.received) == 1 and items(app, REPORT)[0][0] == (D + timedelta(days=1)).isoformat()


def test_a_spike_alerts_once_and_a_quiet_day_not_at_all(workspace: Workspace, server: SmtpServer) -> None:
    app = make_app(workspace, server, SPIKE_ON)
    t = Traffic(app.engine, {"sandbox": "sandbox"})
    for back in range(1, 29):  # the baseline: 14:00-15:00 on each of the 28 days before, 2 negative of 20
        for n in range(20):
            t.message("sandbox", at(D - timedelta(days=back), 14, n * 3), label="negative" if n < 2 else "neutral")
    for n in range(30):  # the day: half of the hour's 30 messages negative, one of them hostile
        text = HOSTILE if n == 0 else f"angry {n}"
        t.message(
            "sandbox",
            at(D, 14, n * 2),
            text,
            label="negative" if n % 2 == 0 else "neutral",
            negative=0.99 if n == 0 else 0.8,
        )
    for n in range(20):  # the next day is quiet again: as usual
        t.message("sandbox", at(D + timedelta(days=1), 14, n * 3), label="negative" if n < 2 else "neutral")

    reconcile(app, now=at(D, 13))
    worker = Worker(app, "daemon")

    def check(moment: datetime) -> None:
        while worker.run_due({SPIKE}, moment):
            pass

    for moment in (at(D, 13, 30), at(D, 14, 30)):
        check(moment)
    assert server.received == []  # 14:30: 8 of 15 negative, but fewer than min_messages
    check(at(D, 15))
    assert len(server.received) == 1  # 15:00: 15 of 30 negative, against 56 of 560 at this hour before
    assert items(app, SPIKE) == [("ongoing", at(D, 15, 5))]
    for moment in (at(D, 15, 5), at(D, 15, 10), at(D, 15, 20)):
        check(moment)
    assert len(server.received) == 1  # the same spike: no second alert
    check(at(D, 16, 30))  # the hour since 15:30 is empty: the spike is over
    assert items(app, SPIKE) == [("watch", at(D, 16, 35))]
    for moment in (at(D + timedelta(days=1), 14, 30), at(D + timedelta(days=1), 15)):
        check(moment)
    assert len(server.received) == 1  # a quiet day: 10 % against 10 %

    _, _, alert = server.received[0]
    assert alert["Subject"] == "Alert: 50 % negative messages 14:00–15:00 (usually 10 % at this hour)"
    html = parts(alert)["text/html"][0].get_content()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert html.index("&lt;img src=x") < html.index("angry 2")  # the most negative first
    assert "15 of 30 messages" in html and "56 of 560" in html
    assert HOSTILE in parts(alert)["text/plain"][0].get_content()


def test_reconcile_starts_nothing_while_reports_are_off(workspace: Workspace, server: SmtpServer) -> None:
    app = make_app(workspace, server, "")
    reconcile(app, now=at(D, 9))
    assert items(app, REPORT) == [] and items(app, SPIKE) == []
    with db.session_scope(app.engine) as session:  # an item left from when they were on goes at its next run
        work.ensure(session, REPORT, D.isoformat(), at(D, 9))
    assert Worker(app, "daemon").run_due({REPORT}, at(D, 9)) == 1
    assert items(app, REPORT) == [] and server.received == []


def test_switching_it_on_plans_the_next_send_not_an_old_one(tmp_path: Path) -> None:
    from socialcare import report

    config = configuration.parse(
        {
            "smtp": {"host": "h", "from": "a@b.example", "to": ["c@d.example"]},
            "report": {"daily": True},
            "timezone": "Europe/Rome",
        },
        tmp_path / "c.toml",
    )
    assert report.first_day(config, at(D, 7, 59)) == D - timedelta(days=1)  # yesterday's goes at 08:00 today
    assert report.first_day(config, at(D, 8)) == D  # too late for yesterday's: today's goes tomorrow
    spring = date(2026, 3, 28)  # the clocks skip 02:00-03:00 on the 29th; 08:00 still means 08:00
    assert report.due_at(config, spring) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
