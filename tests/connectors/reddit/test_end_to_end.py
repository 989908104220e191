"""Reddit through the real CLI: customer mention on the fake -> daemon -> queue -> approve -> send.

The CLI runs in this process, as the console script runs it, with the core tests' keyword
classifier so the case does not depend on a model's judgement. Secrets come from the
environment, as in production.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.connectors.conftest import AccountFactory, AccountWorkspace

from .conftest import SECRETS
from .fake import FakeReddit

ACCOUNT = "acme-reddit"


@pytest.fixture
def live_fake() -> Any:
    """The fake on the real clock: the daemon's own times decide what is new."""
    server = FakeReddit().start()
    yield server
    server.stop()


@pytest.fixture
def space(live_fake: FakeReddit, account_workspace: AccountFactory) -> AccountWorkspace:
    settings = {
        "oauth_url": live_fake.url,
        "reddit_url": live_fake.url,
        "user_agent": "python:socialcare-tests:1.0 (by u/brandco)",
    }
    return account_workspace(ACCOUNT, "reddit", settings, SECRETS, shown=("client_id", "username"))


@pytest.mark.parametrize("echo", [False, True], ids=["reddit-as-is", "own-reply-echoed"])
def test_customer_mention_to_one_reply_in_its_thread(
    echo: bool, live_fake: FakeReddit, space: AccountWorkspace
) -> None:
    live_fake.echo_own_replies = echo
    mention = live_fake.mention("ana_customer", "u/brandco my drill arrived broken and nobody answers!")

    space.ok("init")
    space.ok("daemon", "--once")
    queue: list[dict[str, Any]] = space.ok("queue", "--json").json()
    [case] = [c for c in queue if c["platform"] == "reddit"]
    assert case["account"] == ACCOUNT and case["status"] == "open" and case["draft"]
    assert case["customer"] and "ana_customer" in json.dumps(case["customer"])

    space.ok("approve", str(case["id"]))
    space.ok("send")
    [post] = live_fake.api.calls("POST", "/api/comment")
    assert post.form["thing_id"] == mention["data"]["name"]
    assert post.form["text"].strip()
    [ours] = live_fake.our_replies()
    assert ours["parent_id"] == mention["data"]["name"] and ours["link_id"] == mention["data"]["parent_id"]
    assert mention["data"]["name"] not in live_fake.unread()

    space.ok("send")
    space.ok("daemon", "--once")
    assert len(live_fake.api.calls("POST", "/api/comment")) == 1, "a second send must post nothing"
    assert [c for c in space.ok("queue", "--json").json() if c["platform"] == "reddit"] == []


def test_doctor_checks_the_login_and_a_changed_password_fails_it(
    live_fake: FakeReddit, space: AccountWorkspace
) -> None:
    space.ok("init")

    assert f"{ACCOUNT}: authenticated as u/brandco" in space.ok("doctor").out

    live_fake.password = "changed-on-reddit"
    live_fake.expire_tokens()
    report = space.run("doctor")
    assert report.code != 0
    assert "check username and password" in report.out + report.err
