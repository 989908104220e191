"""X through the real CLI: a customer mention on the fake -> daemon --once -> queue -> approve -> send.

The CLI runs in this process, as the console script runs it, against the fake X API on
127.0.0.1, with the core tests' keyword classifier so the case does not depend on a model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.connectors.conftest import AccountFactory, AccountWorkspace
from tests.connectors.x.fake import FakeX

ACCOUNT = "acme-x"


@pytest.fixture
def live_fake() -> Iterator[FakeX]:
    """The fake on the real clock: the CLI's daemon and store use real time."""
    server = FakeX().start()
    yield server
    server.stop()


@pytest.fixture
def space(live_fake: FakeX, account_workspace: AccountFactory) -> AccountWorkspace:
    creds = live_fake.credentials
    secrets = {
        "consumer_key": creds.consumer_key,
        "consumer_secret": creds.consumer_secret,
        "access_token": creds.access_token,
        "access_token_secret": creds.access_token_secret,
    }
    return account_workspace(ACCOUNT, "x", {"api_url": live_fake.url, "monthly_read_budget": 10000}, secrets)


def test_a_mention_gets_exactly_one_reply_in_its_thread(space: AccountWorkspace, live_fake: FakeX) -> None:
    mention = live_fake.mention("My order arrived broken and nobody answers!", username="ana", name="Ana Customer")
    space.ok("init")

    space.ok("daemon", "--once")
    queue: list[dict[str, Any]] = space.ok("queue", "--json").json()
    [case] = queue
    assert (case["account"], case["platform"], case["status"]) == (ACCOUNT, "x", "open")
    assert case["draft"]

    space.ok("approve", str(case["id"]))
    space.ok("send")

    [post] = live_fake.posts()
    assert post.json["reply"] == {"in_reply_to_tweet_id": mention["id"]}
    [reply] = live_fake.replies_to(mention["id"])
    assert reply["author_id"] == live_fake.me and reply["conversation_id"] == mention["conversation_id"]

    space.ok("send")
    space.ok("daemon", "--once")
    assert len(live_fake.posts()) == 1, "a second send must post nothing"
    assert space.ok("queue", "--json").json() == [], "our reply, read back by the next poll, must not open a case"


def test_doctor_checks_the_account_and_an_expired_token_stops_it(space: AccountWorkspace, live_fake: FakeX) -> None:
    space.ok("init")
    doctor = space.ok("doctor")
    assert f"authenticated as @brand (id {live_fake.me})" in doctor.out + doctor.err

    live_fake.revoked = True
    report = space.run("doctor")

    assert report.code != 0
    assert "re-authenticate" in report.out + report.err
