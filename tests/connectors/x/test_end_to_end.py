"""X through the real CLI: a customer mention on the fake -> daemon --once -> queue -> approve -> send.

The CLI runs in this process, as the console script runs it, against the fake X API on
127.0.0.1, with the core tests' keyword classifier so the case does not depend on a model.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from socialcare.app import App
from socialcare.cli import main
from tests.connectors.x.fake import FakeX
from tests.core.conftest import KeywordClassifier

ACCOUNT = "acme-x"
ENV = "SOCIALCARE_ACME_X_"


@pytest.fixture
def live_fake() -> Iterator[FakeX]:
    """The fake on the real clock: the CLI's daemon and store use real time."""
    server = FakeX().start()
    yield server
    server.stop()


@pytest.fixture
def cli(live_fake: FakeX, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str]]:
    creds = live_fake.credentials
    secrets = {
        "CONSUMER_KEY": creds.consumer_key,
        "CONSUMER_SECRET": creds.consumer_secret,
        "ACCESS_TOKEN": creds.access_token,
        "ACCESS_TOKEN_SECRET": creds.access_token_secret,
    }
    for name, value in secrets.items():
        monkeypatch.setenv(ENV + name, value)
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    config = tmp_path / "socialcare.toml"
    config.write_text(
        "\n".join([
            'database_url = "sqlite:///care.db"',
            'timezone = "UTC"',
            "[sentiment]",
            'backend = "offline"',
            f"[accounts.{ACCOUNT}]",
            'platform = "x"',
            'poll_interval = "1m"',
            f'api_url = "{live_fake.url}"',
            "monthly_read_budget = 10000",
        ]) + "\n",
        encoding="utf-8",
    )

    def run(*args: str) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--config", str(config), *args])
        text = out.getvalue() + err.getvalue()
        leaked = [name for name, value in secrets.items() if value in text]
        assert not leaked, f"socialcare {' '.join(args)} printed secrets {leaked}"
        return code, text

    return run


def ok(cli: Callable[..., tuple[int, str]], *args: str) -> str:
    code, text = cli(*args)
    assert code == 0, f"socialcare {' '.join(args)} failed:\n{text}"
    return text


def test_a_mention_gets_exactly_one_reply_in_its_thread(cli, live_fake: FakeX) -> None:
    mention = live_fake.mention("My order arrived broken and nobody answers!", username="ana", name="Ana Customer")
    ok(cli, "init")

    ok(cli, "daemon", "--once")
    queue: list[dict[str, Any]] = json.loads(ok(cli, "queue", "--json"))
    [case] = queue
    assert (case["account"], case["platform"], case["status"]) == (ACCOUNT, "x", "open")
    assert case["draft"]

    ok(cli, "approve", str(case["id"]))
    ok(cli, "send")

    [post] = live_fake.posts()
    assert post.json["reply"] == {"in_reply_to_tweet_id": mention["id"]}
    [reply] = live_fake.replies_to(mention["id"])
    assert reply["author_id"] == live_fake.me and reply["conversation_id"] == mention["conversation_id"]

    ok(cli, "send")
    ok(cli, "daemon", "--once")
    assert len(live_fake.posts()) == 1, "a second send must post nothing"
    assert json.loads(ok(cli, "queue", "--json")) == [], "our reply, read back by the next poll, must not open a case"


def test_doctor_checks_the_account_and_an_expired_token_stops_it(cli, live_fake: FakeX) -> None:
    ok(cli, "init")
    assert f"authenticated as @brand (id {live_fake.me})" in ok(cli, "doctor")

    live_fake.revoked = True
    code, report = cli("doctor")

    assert code != 0
    assert "re-authenticate" in report
