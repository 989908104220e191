"""Review findings on the Meta connectors, each driven against the fake Graph API."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from connectors.base import AuthError, ReplyRefused, utcnow
from connectors.facebook import FacebookConnector
from connectors.instagram import InstagramConnector
from connectors.messenger import MessengerConnector
from tests.connectors.meta.conftest import connect
from tests.connectors.meta.fake import FakeGraph, graph_error

CUSTOMER = ("5551", "Ana Customer")


def test_a_comment_written_while_a_poll_runs_is_read_by_the_next_poll(graph: FakeGraph) -> None:
    """A poll reads post after post; a comment that lands on a post already read, followed by a
    newer one on a post not read yet, must not fall behind the cursor the newer one sets."""
    start = utcnow().replace(microsecond=0) - timedelta(minutes=10)
    older = graph.add_post("Older post", at=start)
    newer = graph.add_post("Newer post", at=start + timedelta(seconds=1))
    graph.add_comment(older, "first on older", author=CUSTOMER, at=start + timedelta(seconds=2))
    graph.add_comment(newer, "first on newer", author=CUSTOMER, at=start + timedelta(seconds=3))
    fb = connect(FacebookConnector, graph)
    late: list[str] = []

    def customers_write_meanwhile(response: httpx.Response) -> None:
        # Right after the newer post's comments are read (the poll goes on to the older post):
        if response.request.url.path.endswith(f"/{newer}/comments") and not late:
            late.append(graph.add_comment(newer, "while you read", author=CUSTOMER, at=start + timedelta(seconds=4)))
            late.append(graph.add_comment(older, "a bit later", author=CUSTOMER, at=start + timedelta(seconds=5)))

    fb.graph._http.event_hooks["response"].append(customers_write_meanwhile)
    first, cursor = fb.poll(None)
    fb.graph._http.event_hooks["response"].clear()
    second, _ = fb.poll(cursor)
    read = {m.external_id for m in [*first, *second]}
    assert late[0] in read, "the comment written on the already-read post was lost"
    assert late[1] in read


def test_a_messenger_window_refusal_under_any_subcode_refuses_the_reply_and_keeps_the_account(
    graph: FakeGraph,
) -> None:
    """Meta reports a closed 24-hour window as code 10 with several subcodes; none of them is a
    credentials problem, so none may stop the account as an AuthError."""
    graph.add_message("7001", "Where is my refund?", at=utcnow() - timedelta(hours=2))
    messenger = connect(MessengerConnector, graph)
    messages, _ = messenger.poll(None)
    graph.script(
        "POST",
        rf"/v25.0/{graph.page_id}/messages",
        graph_error(
            10,
            "(#10) This message is sent outside of allowed window. Learn more about the new policy here: "
            "https://developers.facebook.com/docs/messenger-platform/policy-overview",
            subcode=2018108,
        ),
    )
    with pytest.raises(ReplyRefused, match="window") as refused:
        messenger.reply(messages[0], "We have refunded you.")
    assert not isinstance(refused.value, AuthError)


def test_an_instagram_comment_written_while_a_poll_runs_is_read_by_the_next_poll(graph: FakeGraph) -> None:
    """As on Facebook: media are read one after another, and two customers write meanwhile, the
    first on media already read, the second (a second later) on media read after it."""
    older = graph.add_media("Older", at=utcnow() - timedelta(hours=1))
    newer = graph.add_media("Newer", at=utcnow() - timedelta(minutes=30))
    graph.add_ig_comment(older, "first on older", at=utcnow() - timedelta(minutes=20))
    graph.add_ig_comment(newer, "first on newer", at=utcnow() - timedelta(minutes=10))
    instagram = connect(InstagramConnector, graph, username="acme")
    late: list[str] = []

    def customers_write_meanwhile(response: httpx.Response) -> None:
        if response.request.url.path.endswith(f"/{newer}/comments") and not late:
            now = utcnow().replace(microsecond=0)
            late.append(graph.add_ig_comment(newer, "while you read", at=now + timedelta(seconds=1)))
            late.append(graph.add_ig_comment(older, "a bit later", at=now + timedelta(seconds=2)))

    instagram.graph._http.event_hooks["response"].append(customers_write_meanwhile)
    first, cursor = instagram.poll(None)
    instagram.graph._http.event_hooks["response"].clear()
    second, _ = instagram.poll(cursor)
    read = {m.external_id for m in [*first, *second]}
    assert late[0] in read, "the comment written on the already-read media was lost"
    assert late[1] in read
