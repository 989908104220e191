"""Facebook Page comments against the fake Graph API, used exactly as the daemon uses it."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from pydantic import SecretStr

from connectors.base import AuthError, MalformedPayload, ReplyRefused, utcnow
from connectors.facebook import FacebookConnector
from tests.connectors.meta.conftest import api_calls, connect, doc_shape
from tests.connectors.meta.fake import FakeGraph
from tests.fakes.http import Response

CUSTOMER = ("5551", "Ana Customer")


def test_first_poll_reads_comments_and_replies_oldest_first(graph: FakeGraph) -> None:
    start = utcnow() - timedelta(minutes=30)
    post = graph.add_post(at=start)
    top = graph.add_comment(post, "My order never arrived", author=CUSTOMER, at=start + timedelta(minutes=1))
    reply = graph.add_comment(post, "Still nothing today", author=CUSTOMER, parent=top, at=start + timedelta(minutes=5))
    messages, cursor = connect(FacebookConnector, graph).poll(None)
    assert [(m.external_id, m.text, m.thread_id, m.parent_id) for m in messages] == [
        (top, "My order never arrived", top, post),
        (reply, "Still nothing today", top, top),
    ]
    first = messages[0]
    assert (first.platform, first.author_id, first.author_handle, first.from_us) == (
        "facebook",
        "5551",
        "Ana Customer",
        False,
    )
    assert first.created_at == (start + timedelta(minutes=1)).replace(microsecond=0)
    assert cursor is not None


def test_comments_older_than_the_lookback_are_not_read_on_the_first_poll(graph: FakeGraph) -> None:
    post = graph.add_post(at=utcnow() - timedelta(days=3))
    graph.add_comment(post, "old complaint", at=utcnow() - timedelta(days=2))
    recent = graph.add_comment(post, "new complaint", at=utcnow() - timedelta(hours=1))
    messages, _ = connect(FacebookConnector, graph, lookback_hours=24).poll(None)
    assert [m.external_id for m in messages] == [recent]


def test_a_steady_poll_makes_one_call_and_returns_nothing(graph: FakeGraph) -> None:
    post = graph.add_post()
    graph.add_comment(post, "Hello?")
    fb = connect(FacebookConnector, graph)
    _, cursor = fb.poll(None)
    graph.requests.clear()
    for _ in range(3):
        messages, cursor = fb.poll(cursor)
        assert messages == []
    assert api_calls(graph) == ["GET /v25.0/1000/published_posts"] * 3


def test_an_empty_page_polls_in_one_call(graph: FakeGraph) -> None:
    messages, cursor = connect(FacebookConnector, graph).poll(None)
    assert messages == [] and cursor is not None
    assert len(api_calls(graph)) == 1


# One call for the posts, then ceil(n / 100) pages of the changed post's comments; when n is an
# exact multiple, one more page shows that nothing else is new.
@pytest.mark.parametrize(("new", "calls"), [(1, 2), (99, 2), (100, 3), (150, 3), (250, 4)])
def test_new_comments_cost_one_call_plus_ceil_n_over_page_size(graph: FakeGraph, new: int, calls: int) -> None:
    start = utcnow() - timedelta(hours=2)
    quiet, busy = graph.add_post(at=start), graph.add_post(at=start)
    graph.add_comment(quiet, "seen before", at=start + timedelta(seconds=1))
    graph.add_comment(busy, "seen before", at=start + timedelta(seconds=2))
    fb = connect(FacebookConnector, graph, page_size=100)
    _, cursor = fb.poll(None)
    graph.requests.clear()
    ids = [graph.add_comment(busy, f"comment {i}", at=start + timedelta(minutes=1, seconds=i)) for i in range(new)]
    messages, cursor = fb.poll(cursor)
    assert [m.external_id for m in messages] == ids
    assert len(api_calls(graph)) == calls
    assert calls == 1 + math.ceil(new / 100) + (new % 100 == 0)
    assert all(call.endswith(f"/{busy}/comments") for call in api_calls(graph)[1:]), "the quiet post is not read"
    assert fb.poll(cursor)[0] == []


def test_comments_in_the_same_second_as_the_cursor_are_not_lost_or_repeated(graph: FakeGraph) -> None:
    at = utcnow().replace(microsecond=0) - timedelta(minutes=1)
    post = graph.add_post(at=at - timedelta(hours=1))
    first = graph.add_comment(post, "one", at=at)
    fb = connect(FacebookConnector, graph)
    _, cursor = fb.poll(None)
    second = graph.add_comment(post, "two", at=at)
    messages, _ = fb.poll(cursor)
    assert [m.external_id for m in messages] == [second] and first != second


def test_the_reply_goes_to_the_top_level_comment_and_comes_back_as_ours(graph: FakeGraph) -> None:
    post = graph.add_post()
    top = graph.add_comment(post, "Broken on arrival", author=CUSTOMER)
    graph.add_comment(post, "Hello??", author=CUSTOMER, parent=top)
    fb = connect(FacebookConnector, graph)
    messages, cursor = fb.poll(None)
    follow_up = messages[-1]
    receipt = fb.reply(follow_up, "Sorry Ana, we are sending a new one today.")
    [post_call] = graph.replies_posted()
    assert post_call.path == f"/v25.0/{top}/comments"
    assert post_call.form == {"message": "Sorry Ana, we are sending a new one today."}
    mine, _ = fb.poll(cursor)
    assert [(m.external_id, m.from_us, m.thread_id, m.text) for m in mine] == [
        (receipt.external_id, True, top, "Sorry Ana, we are sending a new one today.")
    ]


def test_find_reply_finds_our_posted_reply_after_a_crash(graph: FakeGraph) -> None:
    post = graph.add_post()
    graph.add_comment(post, "Refund please", author=CUSTOMER)
    fb = connect(FacebookConnector, graph)
    [message], _ = fb.poll(None)
    assert fb.find_reply(message, "We refunded you.") is None
    receipt = fb.reply(message, "We refunded you.")
    found = fb.find_reply(message, "We refunded you.")
    assert found is not None and found.external_id == receipt.external_id
    assert fb.find_reply(message, "Another text") is None


def test_an_over_long_reply_is_refused_before_anything_is_sent(graph: FakeGraph) -> None:
    post = graph.add_post()
    graph.add_comment(post, "?")
    fb = connect(FacebookConnector, graph)
    [message], _ = fb.poll(None)
    with pytest.raises(ReplyRefused, match="8001 characters; facebook allows 8000"):
        fb.reply(message, "x" * 8001)
    assert graph.replies_posted() == []


def test_a_comment_without_an_id_asks_for_the_moderate_task(graph: FakeGraph) -> None:
    post = graph.add_post()
    graph.add_comment(post, "hidden id")
    graph.script(
        "GET",
        rf"/v25\.0/{post}/comments",
        Response(
            200, {"data": [{"message": "hidden id", "created_time": utcnow().strftime("%Y-%m-%dT%H:%M:%S+0000")}]}
        ),
    )
    with pytest.raises(MalformedPayload, match="MODERATE"):
        connect(FacebookConnector, graph).poll(None)


def test_reads_the_documented_comment_payload_verbatim(graph: FakeGraph) -> None:
    post = graph.add_post()
    graph.add_comment(post, "placeholder so the post counts as changed")
    graph.script("GET", rf"/v25\.0/{post}/comments", Response(200, doc_shape("page_post_comments.json")))
    messages, _ = connect(FacebookConnector, graph, lookback_hours=24 * 90).poll(None)
    assert [(m.external_id, m.thread_id, m.author_handle) for m in messages] == [
        ("122105678901234567_1098765432100001", "122105678901234567_1098765432100001", "Marta Rossi"),
        ("122105678901234567_1098765432109876", "122105678901234567_1098765432100001", "Marta Rossi"),
    ]


def test_verify_names_the_page_and_checks_permissions(graph: FakeGraph) -> None:
    fb = connect(FacebookConnector, graph)
    assert fb.verify() == "authenticated as Page 'Acme' (id 1000); permissions ok"
    assert api_calls(graph) == ["GET /v25.0/me", "GET /v25.0/debug_token"]


def test_verify_reports_a_missing_permission(graph: FakeGraph) -> None:
    graph.scopes.remove("pages_manage_engagement")
    with pytest.raises(AuthError, match="lacks pages_manage_engagement"):
        connect(FacebookConnector, graph).verify()


def test_verify_refuses_a_token_of_another_page(graph: FakeGraph) -> None:
    with pytest.raises(AuthError, match="not Page 2000"):
        FacebookConnector.from_config(
            "acme", {"graph_url": graph.url, "page_id": "2000"}, {"page_access_token": SecretStr(graph.token)}
        ).verify()


def test_a_missing_token_is_an_auth_error_naming_the_secret(graph: FakeGraph) -> None:
    fb = FacebookConnector.from_config("acme", {"graph_url": graph.url, "page_id": "1000"}, {})
    with pytest.raises(AuthError, match="page_access_token"):
        fb.poll(None)
    assert graph.requests == []


def test_a_post_listed_without_its_comment_count_is_still_read(graph: FakeGraph) -> None:
    post = graph.add_post()
    comment = graph.add_comment(post, "Is the store open?")
    stamp = utcnow().strftime("%Y-%m-%dT%H:%M:%S+0000")
    graph.script("GET", r"/v25\.0/1000/published_posts", Response(200, {"data": [{"id": post, "updated_time": stamp}]}))
    messages, _ = connect(FacebookConnector, graph).poll(None)
    assert [m.external_id for m in messages] == [comment]


def test_visitor_posts_on_the_feed_are_messages_answered_with_a_comment(graph: FakeGraph) -> None:
    graph.add_post("Our sale starts today")
    visitor = graph.add_post("Your delivery driver broke my gate!", author=CUSTOMER)
    fb = connect(FacebookConnector, graph, posts_edge="feed")
    messages, cursor = fb.poll(None)
    assert [(m.external_id, m.thread_id, m.author_handle, m.text) for m in messages] == [
        (visitor, visitor, "Ana Customer", "Your delivery driver broke my gate!")
    ]
    receipt = fb.reply(messages[0], "We are so sorry, we will call you today.")
    assert [r.path for r in graph.replies_posted()] == [f"/v25.0/{visitor}/comments"]
    mine, cursor = fb.poll(cursor)
    assert [(m.external_id, m.from_us) for m in mine] == [(receipt.external_id, True)]
    assert fb.find_reply(messages[0], "We are so sorry, we will call you today.") is not None
    assert fb.poll(cursor)[0] == []


def test_published_posts_leave_visitor_posts_out(graph: FakeGraph) -> None:
    graph.add_post("Your delivery driver broke my gate!", author=CUSTOMER)
    assert connect(FacebookConnector, graph).poll(None)[0] == []
