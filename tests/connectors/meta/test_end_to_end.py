"""Each Meta channel through the real CLI: customer writes on the fake -> daemon -> queue -> approve -> send.

The CLI runs in this process, as the console script runs it, with the core tests' keyword
classifier so the case does not depend on a model's judgement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.connectors.conftest import AccountFactory, AccountWorkspace
from tests.connectors.meta.fake import FakeGraph
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


def _space(account_workspace: AccountFactory, platform: str, graph: FakeGraph) -> AccountWorkspace:
    settings = {"graph_url": graph.url, **CHANNELS[platform][0]}
    return account_workspace(f"acme-{platform}", platform, settings, {"page_access_token": graph.token})


@pytest.mark.parametrize("platform", list(CHANNELS))
def test_customer_message_to_one_reply_in_its_thread(
    platform: str, graph: FakeGraph, account_workspace: AccountFactory
) -> None:
    _, customer_writes, landed = CHANNELS[platform]
    space = _space(account_workspace, platform, graph)

    target = customer_writes(graph)
    space.ok("init")
    space.ok("daemon", "--once")
    queue: list[dict[str, Any]] = space.ok("queue", "--json").json()
    [case] = [c for c in queue if c["platform"] == platform]
    assert case["account"] == f"acme-{platform}" and case["status"] == "open" and case["draft"]

    space.ok("approve", str(case["id"]))
    space.ok("send")
    [reply] = graph.replies_posted()
    assert landed(target, reply), f"reply went to {reply.method} {reply.path}"

    space.ok("send")
    space.ok("daemon", "--once")
    assert len(graph.replies_posted()) == 1, "a second send must post nothing"
    still_open = [c for c in space.ok("queue", "--json").json() if c["platform"] == platform]
    assert still_open == [], "our own reply, read back by the next poll, must not open a case"


@pytest.mark.parametrize("platform", list(CHANNELS))
def test_doctor_checks_the_token_and_an_expired_one_stops_the_account(
    platform: str, graph: FakeGraph, account_workspace: AccountFactory
) -> None:
    space = _space(account_workspace, platform, graph)

    space.ok("init")
    report = space.ok("doctor")
    assert "permissions ok" in report.out + report.err
    graph.valid = False
    report = space.run("doctor")
    assert report.code != 0 and "renew the Page token" in report.out + report.err


DELETE = {
    "facebook": lambda graph, target: graph.delete_comment(target),
    "instagram": lambda graph, target: graph.ig_comments.pop(target),
}


@pytest.mark.parametrize("platform", list(DELETE))
def test_a_deleted_comment_fails_its_reply_once_and_is_not_retried(
    platform: str, graph: FakeGraph, account_workspace: AccountFactory
) -> None:
    customer_writes = CHANNELS[platform][1]
    space = _space(account_workspace, platform, graph)

    target = customer_writes(graph)
    space.run("init")
    space.run("daemon", "--once")
    [case] = space.run("queue", "--json").json()
    space.ok("approve", str(case["id"]))
    DELETE[platform](graph, target)
    said = space.run("send")
    assert said.code != 0 and "failed 1" in said.out + said.err
    attempts = len(graph.replies_posted())
    said = space.ok("send")
    assert "sent 0, failed 0" in said.out + said.err
    assert len(graph.replies_posted()) == attempts == 1
