"""Each Meta channel through the real CLI: customer writes on the fake -> daemon -> queue -> approve -> send.

The CLI runs in this process, as the console script runs it, with the core tests' keyword
classifier so the case does not depend on a model's judgement.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from socialcare.app import App
from socialcare.cli import main
from tests.connectors.meta.fake import FakeGraph
from tests.core.conftest import KeywordClassifier
from tests.fakes.http import Request


def _comment(graph: FakeGraph) -> str:
    post = graph.add_post()
    return graph.add_comment(post, "My order arrived broken and nobody answers!", author=("5551", "Ana Customer"))


def _message(graph: FakeGraph) -> str:
    graph.add_message("7001", "Where is my refund? It has been three weeks.", name="Ana Customer")
    return "7001"


def _ig_comment(graph: FakeGraph) -> str:
    media = graph.add_media()
    return graph.add_ig_comment(media, "The zip broke after one day, terrible quality", username="ana.customer")


# platform, account options, how the customer writes, where the reply must land, what it carries
CHANNELS: dict[str, tuple[dict[str, str], Callable[[FakeGraph], str], Callable[[str, Request], bool]]] = {
    "facebook": (
        {"page_id": "1000"},
        _comment,
        lambda target, r: r.path == f"/v25.0/{target}/comments" and bool(r.form.get("message")),
    ),
    "messenger": (
        {"page_id": "1000"},
        _message,
        lambda target, r: (
            r.path == "/v25.0/1000/messages"
            and r.json["recipient"] == {"id": target}
            and r.json["messaging_type"] == "RESPONSE"
        ),
    ),
    "instagram": (
        {"ig_user_id": "17841400000"},
        _ig_comment,
        lambda target, r: r.path == f"/v25.0/{target}/replies" and bool(r.form.get("message")),
    ),
}


def _config(folder: Path, platform: str, graph: FakeGraph, options: dict[str, str]) -> Path:
    lines = [
        'database_url = "sqlite:///care.db"',
        'timezone = "UTC"',
        "[sentiment]",
        'backend = "offline"',
        f"[accounts.acme-{platform}]",
        f'platform = "{platform}"',
        'poll_interval = "1m"',
        f'graph_url = "{graph.url}"',
        *(f'{key} = "{value}"' for key, value in options.items()),
    ]
    path = folder / "socialcare.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("platform", list(CHANNELS))
def test_customer_message_to_one_reply_in_its_thread(
    platform: str, graph: FakeGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options, customer_writes, landed = CHANNELS[platform]
    monkeypatch.setenv(f"SOCIALCARE_ACME_{platform.upper()}_PAGE_ACCESS_TOKEN", graph.token)
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    config = _config(tmp_path, platform, graph, options)

    def cli(*args: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--config", str(config), *args])
        assert code == 0, f"socialcare {' '.join(args)} failed:\n{err.getvalue()}"
        assert graph.token not in out.getvalue() + err.getvalue()
        return out.getvalue()

    target = customer_writes(graph)
    cli("init")
    cli("daemon", "--once")
    queue: list[dict[str, Any]] = json.loads(cli("queue", "--json"))
    [case] = [c for c in queue if c["platform"] == platform]
    assert case["account"] == f"acme-{platform}" and case["status"] == "open" and case["draft"]

    cli("approve", str(case["id"]))
    cli("send")
    [reply] = graph.replies_posted()
    assert landed(target, reply), f"reply went to {reply.method} {reply.path}"

    cli("send")
    cli("daemon", "--once")
    assert len(graph.replies_posted()) == 1, "a second send must post nothing"
    still_open = [c for c in json.loads(cli("queue", "--json")) if c["platform"] == platform]
    assert still_open == [], "our own reply, read back by the next poll, must not open a case"


@pytest.mark.parametrize("platform", list(CHANNELS))
def test_doctor_checks_the_token_and_an_expired_one_stops_the_account(
    platform: str, graph: FakeGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"SOCIALCARE_ACME_{platform.upper()}_PAGE_ACCESS_TOKEN", graph.token)
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    config = _config(tmp_path, platform, graph, CHANNELS[platform][0])

    def cli(*args: str) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--config", str(config), *args])
        text = out.getvalue() + err.getvalue()
        assert graph.token not in text
        return code, text

    assert cli("init")[0] == 0
    code, report = cli("doctor")
    assert code == 0, report
    assert "permissions ok" in report
    graph.valid = False
    code, report = cli("doctor")
    assert code != 0 and "renew the Page token" in report


DELETE = {
    "facebook": lambda graph, target: graph.delete_comment(target),
    "instagram": lambda graph, target: graph.ig_comments.pop(target),
}


@pytest.mark.parametrize("platform", list(DELETE))
def test_a_deleted_comment_fails_its_reply_once_and_is_not_retried(
    platform: str, graph: FakeGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options, customer_writes, _ = CHANNELS[platform]
    monkeypatch.setenv(f"SOCIALCARE_ACME_{platform.upper()}_PAGE_ACCESS_TOKEN", graph.token)
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    config = _config(tmp_path, platform, graph, options)

    def cli(*args: str) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--config", str(config), *args])
        return code, out.getvalue() + err.getvalue()

    target = customer_writes(graph)
    cli("init")
    cli("daemon", "--once")
    [case] = json.loads(cli("queue", "--json")[1])
    assert cli("approve", str(case["id"]))[0] == 0
    DELETE[platform](graph, target)
    code, said = cli("send")
    assert code != 0 and "failed 1" in said
    attempts = len(graph.replies_posted())
    code, said = cli("send")
    assert code == 0 and "sent 0, failed 0" in said
    assert len(graph.replies_posted()) == attempts == 1
