"""Instagram comments against the fake Graph API: media comments in, replies on top-level comments."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from connectors.base import AuthError, PermanentError, RateLimited, ReplyRefused, utcnow
from connectors.instagram import InstagramConnector
from tests.connectors.meta.conftest import api_calls, connect, doc_shape
from tests.connectors.meta.fake import FakeGraph, graph_error
from tests.fakes.http import Response

MEDIA_LIST = "GET /v25.0/17841400000/media"


def test_comments_and_replies_are_read_with_the_top_level_comment_as_thread(graph: FakeGraph) -> None:
    start = utcnow() - timedelta(minutes=30)
    media = graph.add_media(at=start)
    top = graph.add_ig_comment(media, "The zip broke", username="lena.k", at=start + timedelta(minutes=1))
    reply = graph.add_ig_comment(media, "Mine too", username="paul_m", parent=top, at=start + timedelta(minutes=2))
    messages, _ = connect(InstagramConnector, graph, username="acme").poll(None)
    assert [(m.external_id, m.author_handle, m.thread_id, m.parent_id, m.from_us) for m in messages] == [
        (top, "lena.k", top, media, False),
        (reply, "paul_m", top, top, False),
    ]
    assert messages[0].url == f"https://www.instagram.com/p/{media}/"


def test_a_steady_poll_makes_one_call(graph: FakeGraph) -> None:
    media = graph.add_media()
    graph.add_ig_comment(media, "nice")
    ig = connect(InstagramConnector, graph, username="acme")
    _, cursor = ig.poll(None)
    graph.requests.clear()
    for _ in range(3):
        messages, cursor = ig.poll(cursor)
        assert messages == []
    assert api_calls(graph) == [MEDIA_LIST] * 3


@pytest.mark.parametrize("new", [1, 150, 250])
def test_a_changed_media_is_read_in_full_pages_and_only_that_media(graph: FakeGraph, new: int) -> None:
    start = utcnow() - timedelta(hours=2)
    quiet, busy = graph.add_media(at=start), graph.add_media(at=start)
    graph.add_ig_comment(quiet, "seen", at=start + timedelta(seconds=1))
    graph.add_ig_comment(busy, "seen", at=start + timedelta(seconds=2))
    ig = connect(InstagramConnector, graph, username="acme", page_size=100)
    _, cursor = ig.poll(None)
    graph.requests.clear()
    ids = [graph.add_ig_comment(busy, f"c{i}", at=start + timedelta(minutes=1, seconds=i)) for i in range(new)]
    messages, cursor = ig.poll(cursor)
    assert [m.external_id for m in messages] == ids
    total = new + 1
    assert api_calls(graph) == [MEDIA_LIST] + [f"GET /v25.0/{busy}/comments"] * math.ceil(total / 100)
    assert ig.poll(cursor)[0] == []


def test_a_new_reply_under_an_old_comment_is_found(graph: FakeGraph) -> None:
    start = utcnow() - timedelta(hours=1)
    media = graph.add_media(at=start)
    top = graph.add_ig_comment(media, "question", at=start)
    ig = connect(InstagramConnector, graph, username="acme")
    _, cursor = ig.poll(None)
    late = graph.add_ig_comment(media, "hello??", parent=top)
    messages, _ = ig.poll(cursor)
    assert [(m.external_id, m.thread_id) for m in messages] == [(late, top)]


def test_a_reply_to_a_reply_goes_to_the_top_level_comment_and_comes_back_ours(graph: FakeGraph) -> None:
    media = graph.add_media()
    top = graph.add_ig_comment(media, "Broken", username="lena.k")
    graph.add_ig_comment(media, "Answer please", username="lena.k", parent=top)
    ig = connect(InstagramConnector, graph)
    messages, cursor = ig.poll(None)
    receipt = ig.reply(messages[-1], "@lena.k sorry, DM us your order number")
    [sent] = graph.replies_posted()
    assert (sent.path, sent.form) == (f"/v25.0/{top}/replies", {"message": "@lena.k sorry, DM us your order number"})
    mine, _ = ig.poll(cursor)
    assert [(m.external_id, m.from_us, m.thread_id) for m in mine] == [(receipt.external_id, True, top)]


def test_our_username_is_read_once_when_not_configured(graph: FakeGraph) -> None:
    media = graph.add_media()
    graph.add_ig_comment(media, "one")
    ig = connect(InstagramConnector, graph)
    _, cursor = ig.poll(None)
    graph.add_ig_comment(media, "two")
    ig.poll(cursor)
    assert api_calls(graph).count("GET /v25.0/17841400000") == 1


def test_a_comment_by_our_username_is_ours(graph: FakeGraph) -> None:
    media = graph.add_media()
    graph.add_ig_comment(media, "Thanks all!", username="acme", user_id="555000")
    [message], _ = connect(InstagramConnector, graph, username="acme").poll(None)
    assert message.from_us


def test_a_reply_to_a_deleted_comment_is_reported(graph: FakeGraph) -> None:
    media = graph.add_media()
    top = graph.add_ig_comment(media, "bad")
    ig = connect(InstagramConnector, graph, username="acme")
    [message], _ = ig.poll(None)
    del graph.ig_comments[top]
    with pytest.raises(PermanentError, match="does not exist"):
        ig.reply(message, "Sorry")


def test_an_over_long_reply_is_refused(graph: FakeGraph) -> None:
    media = graph.add_media()
    graph.add_ig_comment(media, "?")
    ig = connect(InstagramConnector, graph, username="acme")
    [message], _ = ig.poll(None)
    with pytest.raises(ReplyRefused, match="instagram allows 2200"):
        ig.reply(message, "z" * 2201)
    assert graph.replies_posted() == []


def test_instagram_throttling_is_a_rate_limit(graph: FakeGraph) -> None:
    graph.script(
        "GET",
        r"/v25\.0/17841400000/media",
        graph_error(80002, "(#80002) There have been too many calls to this Instagram account"),
    )
    with pytest.raises(RateLimited):
        connect(InstagramConnector, graph).poll(None)


def test_find_reply_after_a_crash(graph: FakeGraph) -> None:
    media = graph.add_media()
    graph.add_ig_comment(media, "refund?")
    ig = connect(InstagramConnector, graph, username="acme")
    [message], _ = ig.poll(None)
    assert ig.find_reply(message, "Refunded") is None
    receipt = ig.reply(message, "Refunded")
    found = ig.find_reply(message, "Refunded")
    assert found is not None and found.external_id == receipt.external_id


def test_reads_the_documented_comment_payload_verbatim(graph: FakeGraph) -> None:
    media = graph.add_media()
    graph.add_ig_comment(media, "placeholder so the media counts as changed")
    graph.script("GET", rf"/v25\.0/{media}/comments", Response(200, doc_shape("ig_media_comments.json")))
    messages, _ = connect(InstagramConnector, graph, username="acme", lookback_hours=24 * 90).poll(None)
    assert [(m.external_id, m.author_handle, m.thread_id) for m in messages] == [
        ("17870913679156914", "lena.k", "17870913679156914"),
        ("17873440459141021", "paul_m", "17870913679156914"),
    ]


def test_verify(graph: FakeGraph) -> None:
    assert connect(InstagramConnector, graph).verify() == "authenticated as @acme (id 17841400000); permissions ok"
    graph.scopes.remove("instagram_manage_comments")
    with pytest.raises(AuthError, match="lacks instagram_manage_comments"):
        connect(InstagramConnector, graph).verify()


def test_media_listed_without_its_comment_count_is_still_read(graph: FakeGraph) -> None:
    media = graph.add_media()
    comment = graph.add_ig_comment(media, "hello?")
    stamp = utcnow().strftime("%Y-%m-%dT%H:%M:%S+0000")
    graph.script("GET", r"/v25\.0/17841400000/media", Response(200, {"data": [{"id": media, "timestamp": stamp}]}))
    messages, _ = connect(InstagramConnector, graph, username="acme").poll(None)
    assert [m.external_id for m in messages] == [comment]
