"""Reddit through the real CLI: customer mention on the fake -> daemon -> queue -> approve -> send.

The CLI runs in this process, as the console script runs it, with the core tests' keyword
classifier so the case does not depend on a model's judgement. Secrets come from the
environment, as in production.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from socialcare.app import App
from socialcare.cli import main
from tests.core.conftest import KeywordClassifier

from .conftest import SECRETS
from .fake import FakeReddit

ACCOUNT = "acme-reddit"


@pytest.fixture
def live_fake() -> Any:
    """The fake on the real clock: the daemon's own times decide what is new."""
    server = FakeReddit().start()
    yield server
    server.stop()


def _cli(tmp_path: Path, fake: FakeReddit, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in SECRETS.items():
        monkeypatch.setenv(f"SOCIALCARE_ACME_REDDIT_{name.upper()}", value)
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    config = tmp_path / "socialcare.toml"
    config.write_text(
        "\n".join([
            'database_url = "sqlite:///care.db"',
            'timezone = "UTC"',
            "[sentiment]",
            'backend = "offline"',
            f"[accounts.{ACCOUNT}]",
            'platform = "reddit"',
            'poll_interval = "1m"',
            f'oauth_url = "{fake.url}"',
            f'reddit_url = "{fake.url}"',
            'user_agent = "python:socialcare-tests:1.0 (by u/brandco)"',
        ]) + "\n",
        encoding="utf-8",
    )

    def cli(*args: str, ok: bool = True) -> str:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--config", str(config), *args])
        shown = out.getvalue() + err.getvalue()
        assert (code == 0) == ok, f"socialcare {' '.join(args)} exited {code}:\n{shown}"
        assert SECRETS["password"] not in shown and SECRETS["client_secret"] not in shown
        return shown if not ok else out.getvalue()

    return cli


@pytest.mark.parametrize("echo", [False, True], ids=["reddit-as-is", "own-reply-echoed"])
def test_customer_mention_to_one_reply_in_its_thread(
    echo: bool, live_fake: FakeReddit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live_fake.echo_own_replies = echo
    cli = _cli(tmp_path, live_fake, monkeypatch)
    mention = live_fake.mention("ana_customer", "u/brandco my drill arrived broken and nobody answers!")

    cli("init")
    cli("daemon", "--once")
    queue: list[dict[str, Any]] = json.loads(cli("queue", "--json"))
    [case] = [c for c in queue if c["platform"] == "reddit"]
    assert case["account"] == ACCOUNT and case["status"] == "open" and case["draft"]
    assert case["customer"] and "ana_customer" in json.dumps(case["customer"])

    cli("approve", str(case["id"]))
    cli("send")
    [post] = live_fake.api.calls("POST", "/api/comment")
    assert post.form["thing_id"] == mention["data"]["name"]
    assert post.form["text"].strip()
    [ours] = live_fake.our_replies()
    assert ours["parent_id"] == mention["data"]["name"] and ours["link_id"] == mention["data"]["parent_id"]
    assert mention["data"]["name"] not in live_fake.unread()

    cli("send")
    cli("daemon", "--once")
    assert len(live_fake.api.calls("POST", "/api/comment")) == 1, "a second send must post nothing"
    assert [c for c in json.loads(cli("queue", "--json")) if c["platform"] == "reddit"] == []


def test_doctor_checks_the_login_and_a_changed_password_fails_it(
    live_fake: FakeReddit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = _cli(tmp_path, live_fake, monkeypatch)
    cli("init")

    assert f"{ACCOUNT}: authenticated as u/brandco" in cli("doctor")

    live_fake.password = "changed-on-reddit"
    live_fake.expire_tokens()
    report = cli("doctor", ok=False)
    assert "check username and password" in report
