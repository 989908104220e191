"""Each account's health lives in the store: failures are logged once per episode, a bug in one account never
stops another, a rate limit holds polling and sending, and a stopped account resumes without a restart."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from connectors.base import AuthError, RateLimited
from connectors.sandbox import SandboxConnector
from socialcare import config as configuration
from socialcare.app import App
from socialcare.db import session_scope
from socialcare.models import Account, Message, utcnow
from socialcare.worker import POLL_LANE, Worker, reconcile
from tests.conftest import Workspace
from tests.core.conftest import KeywordClassifier

TWO_ACCOUNTS = """\
database_url = "{database_url}"
timezone = "Europe/Rome"

[accounts.shop]
platform = "sandbox"
poll_interval = "1m"
path = "shop.json"

[accounts.outlet]
platform = "sandbox"
poll_interval = "1m"
path = "outlet.json"
"""


@pytest.fixture
def space(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    workspace = Workspace(tmp_path, database_url)
    workspace.write_config(TWO_ACCOUNTS.format(database_url=database_url))
    assert workspace.run("db", "upgrade").code == 0
    return workspace


@pytest.fixture
def app(space: Workspace) -> Iterator[App]:
    application = App(configuration.load(space.config))
    application.sync_accounts()
    reconcile(application)
    yield application
    application.engine.dispose()


def sandbox(app: App, name: str) -> SandboxConnector:
    connector = app.channels[name]
    assert isinstance(connector, SandboxConnector)
    return connector


def account(app: App, name: str) -> Account:
    with session_scope(app.engine) as session:
        return session.exec(select(Account).where(Account.name == name)).one()


def stored(app: App, name: str) -> list[str]:
    with session_scope(app.engine) as session:
        row = account_row = session.exec(select(Account).where(Account.name == name)).one()
        assert account_row is row
        return [m.text for m in session.exec(select(Message).where(Message.account_id == row.id).order_by(Message.id))]


def lines_about(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.getMessage().startswith(f"{name}:") and r.levelno > logging.DEBUG
    ]


def test_a_rate_limit_logs_one_line_when_it_starts_and_one_when_it_ends_whatever_the_text(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    worker = Worker(app, "w")
    shop = sandbox(app, "shop")
    real_poll = shop.poll
    clock = {"now": utcnow() + timedelta(seconds=1)}

    def limited(cursor):  # type: ignore[no-untyped-def]
        until = clock["now"] + timedelta(minutes=1)
        raise RateLimited(f"429 Too Many Requests; x-rate-limit-reset {until.timestamp():.0f}", until)

    monkeypatch.setattr(shop, "poll", limited)
    for _ in range(5):  # five 429s in a row, each with another reset time in its text
        worker.run_due(POLL_LANE, now=clock["now"])
        clock["now"] += timedelta(seconds=61)
    held = account(app, "shop")
    assert held.error_kind == "rate_limited" and held.rate_limited_until is not None
    monkeypatch.setattr(shop, "poll", real_poll)
    shop.post("ann", "Hello?")
    worker.run_due(POLL_LANE, now=held.rate_limited_until + timedelta(seconds=1))
    assert stored(app, "shop") == ["Hello?"]
    said = lines_about(caplog, "shop")
    assert len(said) == 3, said  # started, ended, and the poll that worked
    assert said[0].startswith("shop: rate limited until") and said[1] == "shop: rate limit over; working again"
    assert account(app, "shop").error_kind is None


def test_a_rate_limited_account_holds_its_replies_too(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    from socialcare import cases
    from socialcare.outbox import send_one

    shop = sandbox(app, "shop")
    shop.post("ann", "Where is my parcel?")
    app.poll("shop")
    app.process()
    with session_scope(app.engine) as session:
        (row,) = cases.queue(session, cases.QueueFilter())
        reply = cases.approve(session, row["id"], "tester", shop)

    def limited(cursor):  # type: ignore[no-untyped-def]
        raise RateLimited("429", utcnow() + timedelta(minutes=15))

    monkeypatch.setattr(shop, "poll", limited)
    app.poll("shop")
    attempt = send_one(app.engine, app.channels, reply.id, actor="tester")
    assert attempt.outcome == "held" and attempt.retry_at == account(app, "shop").rate_limited_until
    assert [p for p in shop.posts() if p["author"] == "acme"] == []


def test_a_bug_in_one_accounts_poll_is_logged_once_and_the_others_go_on(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    worker, start = Worker(app, "w"), utcnow()

    def broken(cursor):  # type: ignore[no-untyped-def]
        raise ValueError("a bug in the connector")

    monkeypatch.setattr(sandbox(app, "shop"), "poll", broken)
    outlet = sandbox(app, "outlet")
    for minute in range(4):
        outlet.post(f"c{minute}", f"message {minute}")
        worker.run_due(POLL_LANE, now=start + timedelta(minutes=minute, seconds=1))
    assert stored(app, "outlet") == [f"message {n}" for n in range(4)]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "shop: polling failed with an unexpected error (a bug in the connector); will keep trying"
    ], "one line for the whole episode"
    assert errors[0].exc_info is not None, "with the traceback, once"
    assert account(app, "shop").error_kind == "error" and "a bug in the connector" in account(app, "shop").last_error


def test_an_auth_failure_stops_the_account_until_doctor_proves_the_credentials_again(
    app: App, space: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker, start = Worker(app, "w"), utcnow()
    shop = sandbox(app, "shop")
    real_poll = shop.poll

    def refused(cursor):  # type: ignore[no-untyped-def]
        raise AuthError("401 Unauthorized: token revoked")

    monkeypatch.setattr(shop, "poll", refused)
    worker.run_due(POLL_LANE, now=start + timedelta(seconds=1))
    assert account(app, "shop").auth_failed_at is not None
    monkeypatch.setattr(shop, "poll", real_poll)  # the team renews the token...
    shop.post("ann", "Anyone there?")
    worker.run_due(POLL_LANE, now=start + timedelta(minutes=2))
    assert stored(app, "shop") == [], "a stopped account is not polled"
    doctor = space.run("doctor")
    assert doctor.code == 0, doctor.out
    assert "shop: sandbox file" in doctor.out and "resumed" in doctor.out
    worker.run_due(POLL_LANE, now=utcnow() + timedelta(seconds=1))  # the same daemon, not restarted
    assert stored(app, "shop") == ["Anyone there?"]
    assert account(app, "shop").auth_failed_at is None


def test_a_forced_poll_resumes_a_stopped_account(app: App, space: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(cursor):  # type: ignore[no-untyped-def]
        raise AuthError("401 Unauthorized")

    monkeypatch.setattr(sandbox(app, "shop"), "poll", refused)
    app.poll("shop")
    assert account(app, "shop").auth_failed_at is not None
    sandbox(app, "shop").post("ann", "Hi")
    assert space.run("poll", "--account", "shop").code == 0
    assert account(app, "shop").auth_failed_at is None and stored(app, "shop") == ["Hi"]


def test_a_secret_missing_in_one_shell_is_that_shells_error_not_the_accounts(tmp_path: Path, database_url: str) -> None:
    space = Workspace(tmp_path, database_url)
    space.write_config(
        TWO_ACCOUNTS.format(database_url=database_url)
        + '\n[accounts.brand_x]\nplatform = "x"\napi_url = "http://127.0.0.1:9"\n'
    )
    assert space.run("db", "upgrade").code == 0
    result = space.run("poll", "--account", "brand_x")
    assert result.code == 1
    assert result.err.count("\n") == 1 and "secret 'consumer_key' is not set" in result.err
    assert "Traceback" not in result.err
    application = App(configuration.load(space.config))
    row = account(application, "brand_x")
    assert (row.auth_failed_at, row.error_kind, row.last_error) == (None, None, None)
