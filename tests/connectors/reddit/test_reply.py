"""Replying: one comment in the right thread, read marks after it, and clear refusals."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from connectors.base import (
    InboundMessage,
    PermanentError,
    RateLimited,
    ReplyRefused,
    TransientError,
)
from connectors.reddit import RedditConnector
from tests.conftest import Clock
from tests.fakes.http import Response

from .conftest import api_calls
from .fake import USERNAME, FakeReddit, fixture

SEARCH = {"keywords": ["BrandCo"], "subreddits": ["Tools"]}


def _polled(reddit: RedditConnector) -> InboundMessage:
    [message], _ = reddit.poll(None)
    return message


def test_a_reply_is_one_comment_under_the_customers_comment_and_marks_it_read(
    reddit: RedditConnector, fake: FakeReddit, clock: Clock
) -> None:
    mention = fake.mention("alice", "u/brandco my drill broke")
    message = _polled(reddit)
    before = len(api_calls(fake))

    receipt = reddit.reply(message, "Sorry to hear that! Please DM us your order number.")

    [post] = fake.api.calls("POST", "/api/comment")
    assert post.form["thing_id"] == mention["data"]["name"]
    assert post.form["text"] == "Sorry to hear that! Please DM us your order number."
    [ours] = fake.our_replies()
    assert receipt.external_id == ours["name"] and ours["parent_id"] == message.external_id
    assert ours["link_id"] == message.thread_id
    # Reddit's answer has no permalink: the link is built from the ids, with no extra request for it
    assert receipt.url == f"{fake.url}/r/{ours['subreddit']}/comments/{message.thread_id[3:]}/_/{ours['id']}/"
    assert receipt.sent_at == clock()
    assert api_calls(fake)[before:] == ["POST /api/comment/", "POST /api/read_message/"]
    assert fake.api.calls("POST", "/api/read_message")[0].form["id"] == mention["data"]["name"]
    assert fake.unread() == []


def test_a_post_found_by_search_is_answered_with_a_top_level_comment(
    connect: Callable[..., RedditConnector], fake: FakeReddit
) -> None:
    reddit = connect(inbox=False, **SEARCH)
    post = fake.post("carol", "BrandCo chuck wobble", "Anyone else?")
    message = _polled(reddit)

    receipt = reddit.reply(message, "Hi Carol, that's covered by warranty.")

    assert fake.api.calls("POST", "/api/comment")[0].form["thing_id"] == post["data"]["name"]
    assert fake.our_replies()[0]["parent_id"] == post["data"]["name"] == message.thread_id
    assert receipt.external_id.startswith("t1_")
    assert fake.api.calls("POST", "/api/read_message") == []  # search results are not inbox items


def test_a_comment_deleted_after_the_poll_fails_for_good(reddit: RedditConnector, fake: FakeReddit) -> None:
    mention = fake.mention("alice", "u/brandco hello")
    message = _polled(reddit)
    fake.delete(mention["data"]["name"])

    with pytest.raises(PermanentError, match="deleted"):
        reddit.reply(message, "Hello!")

    assert len(fake.api.calls("POST", "/api/comment")) == 1
    assert fake.our_replies() == []


def test_a_locked_thread_fails_for_good(reddit: RedditConnector, fake: FakeReddit) -> None:
    fake.mention("alice", "u/brandco hello")
    message = _polled(reddit)
    fake.lock(message.thread_id)

    with pytest.raises(PermanentError, match="locked"):
        reddit.reply(message, "Hello!")


def test_an_archived_thread_fails_for_good(reddit: RedditConnector, fake: FakeReddit) -> None:
    fake.mention("alice", "u/brandco hello")
    message = _polled(reddit)
    fake.api.script("POST", "/api/comment", Response(200, fixture("error_too_old")))

    with pytest.raises(PermanentError, match="archived"):
        reddit.reply(message, "Hello!")


def test_an_over_long_reply_is_refused_before_anything_is_sent(reddit: RedditConnector, fake: FakeReddit) -> None:
    fake.mention("alice", "u/brandco hello")
    message = _polled(reddit)
    before = len(fake.api.requests)

    with pytest.raises(ReplyRefused, match="10001 characters; reddit allows 10000"):
        reddit.reply(message, "x" * 10_001)

    assert len(fake.api.requests) == before
    reddit.check_reply(message, "x" * 10_000)


@pytest.mark.parametrize(("wait", "seconds"), [("9 minutes", 540), ("3 seconds", 3)])
def test_reddits_ratelimit_error_becomes_rate_limited_for_the_reply_without_sleeping(
    reddit: RedditConnector, fake: FakeReddit, clock: Clock, wait: str, seconds: int
) -> None:
    fake.mention("alice", "u/brandco hello")
    message = _polled(reddit)
    error = fixture("error_ratelimit")
    error["json"]["errors"][0][1] = error["json"]["errors"][0][1].replace("9 minutes", wait)
    fake.api.script("POST", "/api/comment", Response(200, error))

    started = time.monotonic()
    with pytest.raises(RateLimited) as limited:
        reddit.reply(message, "Hello!")

    assert time.monotonic() - started < 0.5
    assert limited.value.retry_at == clock() + timedelta(seconds=seconds)
    assert reddit.pace.ready_at is not None and reddit.pace.ready_at < clock() + timedelta(seconds=5)  # reading goes on
    assert len(fake.api.calls("POST", "/api/comment")) == 1
    assert fake.our_replies() == []


def test_a_reply_whose_answer_is_lost_is_found_in_our_history_not_posted_twice(
    reddit: RedditConnector, fake: FakeReddit
) -> None:
    fake.mention("alice", "u/brandco hello")
    message = _polled(reddit)
    fake.comment_delay = 1.0  # longer than the connector's 0.5 s timeout

    receipt = reddit.reply(message, "Hello Alice!")

    [ours] = fake.our_replies()
    assert receipt.external_id == ours["name"]
    assert len(fake.api.calls("POST", "/api/comment")) == 1
    assert api_calls(fake)[-2:] == ["GET /user/brandco/comments", "POST /api/read_message/"]


def test_a_server_error_on_reply_is_transient_and_not_resent(reddit: RedditConnector, fake: FakeReddit) -> None:
    fake.mention("alice", "u/brandco hello")
    message = _polled(reddit)
    fake.api.script("POST", "/api/comment", Response(503, {"message": "Service Unavailable", "error": 503}))

    started = time.monotonic()
    with pytest.raises(TransientError, match="503"):
        reddit.reply(message, "Hello!")

    assert time.monotonic() - started < 0.5
    assert len(fake.api.calls("POST", "/api/comment")) == 1
    assert fake.our_replies() == []


def test_failing_to_mark_read_does_not_fail_a_posted_reply(reddit: RedditConnector, fake: FakeReddit) -> None:
    fake.mention("alice", "u/brandco hello")
    message = _polled(reddit)
    fake.api.script("POST", "/api/read_message", Response(500, {"message": "Internal Server Error", "error": 500}))

    receipt = reddit.reply(message, "Hello!")

    assert receipt.external_id == fake.our_replies()[0]["name"]


def test_find_reply_returns_our_comment_with_that_text_in_that_thread_only(
    reddit: RedditConnector, fake: FakeReddit
) -> None:
    fake.mention("alice", "u/brandco one")
    fake.mention("bob", "u/brandco two")
    alice, bob = reddit.poll(None)[0]
    assert reddit.find_reply(alice, "Thanks!") is None

    sent = reddit.reply(alice, "Thanks!")

    found = reddit.find_reply(alice, "Thanks!\n")
    assert found is not None and found.external_id == sent.external_id and found.url == sent.url
    assert reddit.find_reply(alice, "Something else") is None
    assert reddit.find_reply(bob, "Thanks!") is None
    assert fake.api.calls("GET", f"/user/{USERNAME}/comments")[-1].query["sort"] == "new"
