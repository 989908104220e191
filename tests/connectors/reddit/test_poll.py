"""Polling: what a care team sees from Reddit, and how many requests it costs."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from connectors.base import MalformedPayload, ReplyRefused
from connectors.reddit import RECHECK_EVERY, RedditConnector
from tests.conftest import Clock
from tests.fakes.http import Response

from .conftest import api_calls
from .fake import USERNAME, FakeReddit, _page

SEARCH = {"keywords": ["BrandCo", "Brand Co"], "subreddits": ["Tools", "r/HomeImprovement"]}


def test_a_mention_becomes_a_message_with_its_thread_author_and_link(
    reddit: RedditConnector, fake: FakeReddit, clock: Clock
) -> None:
    mention = fake.mention("alice_diy", "u/brandco my drill stopped charging")

    messages, cursor = reddit.poll(None)

    [message] = messages
    data = mention["data"]
    assert message.external_id == data["name"]
    assert message.thread_id == "t3_" + data["context"].split("/comments/")[1].split("/")[0]
    assert message.parent_id == data["parent_id"]
    assert (message.author_handle, message.author_id) == ("alice_diy", data["author_fullname"])
    assert message.text == "u/brandco my drill stopped charging"
    assert message.created_at == datetime.fromtimestamp(data["created_utc"], UTC)
    assert message.created_at.tzinfo is not None
    assert message.url == fake.url + data["context"].split("?")[0]
    assert message.from_us is False
    assert message.raw == mention
    assert json.loads(cursor or "") == {"inbox": {"last": data["name"], "at": data["created_utc"], "idle": 0}}


def test_a_steady_poll_makes_one_request_per_source_when_nothing_is_new(
    connect: Callable[..., RedditConnector], fake: FakeReddit
) -> None:
    reddit = connect(**SEARCH)
    fake.mention("alice", "u/brandco hello")
    fake.post("carol", "BrandCo driver wobbles", "")
    first, cursor = reddit.poll(None)
    assert len(first) == 2
    before = len(api_calls(fake))

    for _ in range(3 * RECHECK_EVERY):
        messages, cursor = reddit.poll(cursor)
        assert messages == []

    assert (
        api_calls(fake)[before:] == ["GET /message/inbox/", "GET /r/Tools+HomeImprovement/search/"] * 3 * RECHECK_EVERY
    )


@pytest.mark.parametrize(
    ("new", "page_size"), [(1, 100), (99, 100), (100, 100), (101, 100), (250, 100), (25, 10), (30, 10)]
)
def test_n_new_messages_take_ceil_n_over_page_size_requests(
    connect: Callable[..., RedditConnector], fake: FakeReddit, new: int, page_size: int
) -> None:
    reddit = connect(page_size=page_size)
    fake.mention("alice", "u/brandco first")
    _, cursor = reddit.poll(None)
    expected = [fake.mention(f"customer{i}", f"u/brandco message {i}")["data"]["name"] for i in range(new)]
    before = len(api_calls(fake))

    messages, cursor = reddit.poll(cursor)

    assert len(api_calls(fake)) - before == math.ceil(new / page_size)
    assert [m.external_id for m in messages] == expected  # all of them, oldest first, none twice
    assert reddit.poll(cursor)[0] == []


def test_the_first_poll_reads_the_newest_page_within_the_backfill_window(
    connect: Callable[..., RedditConnector], fake: FakeReddit, clock: Clock
) -> None:
    reddit = connect(backfill_hours=24)
    clock.tick(-3 * 24 * 3600)
    fake.mention("old_customer", "u/brandco from three days ago")
    clock.tick(3 * 24 * 3600)
    recent = fake.mention("new_customer", "u/brandco from today")

    messages, cursor = reddit.poll(None)

    assert [m.external_id for m in messages] == [recent["data"]["name"]]
    assert api_calls(fake) == ["GET /message/inbox/"]
    assert json.loads(cursor or "")["inbox"]["last"] == recent["data"]["name"]


@pytest.mark.parametrize(("new", "page_size"), [(0, 100), (1, 100), (250, 100), (25, 10)])
def test_an_inbox_empty_at_the_start_gets_every_later_message(
    connect: Callable[..., RedditConnector], fake: FakeReddit, new: int, page_size: int
) -> None:
    reddit = connect(page_size=page_size)
    messages, cursor = reddit.poll(None)
    assert messages == [] and json.loads(cursor or "") == {"inbox": {"last": "", "at": 0.0, "idle": 0}}
    expected = [fake.mention(f"customer{i}", f"u/brandco message {i}")["data"]["name"] for i in range(new)]
    before = len(api_calls(fake))

    messages, cursor = reddit.poll(cursor)

    assert [m.external_id for m in messages] == expected
    assert len(api_calls(fake)) - before == max(1, math.ceil(new / page_size))
    assert reddit.poll(cursor)[0] == []


def test_replies_to_our_comments_are_messages_but_private_messages_are_not(
    reddit: RedditConnector, fake: FakeReddit
) -> None:
    fake.mention("alice", "u/brandco my order?")
    [mention], cursor = reddit.poll(None)
    ours = reddit.reply(mention, "Sorry, DM us the order number")
    answer = fake.reply_in_thread("alice", "Sent it, thanks", ours.external_id)
    fake.private_message("bob", "Do you ship to Canada?")

    messages, cursor = reddit.poll(cursor)

    assert [(m.external_id, m.parent_id, m.thread_id) for m in messages] == [
        (answer["data"]["name"], ours.external_id, mention.thread_id)
    ]
    assert reddit.poll(cursor)[0] == []


def test_keyword_search_finds_posts_in_the_listed_subreddits_only(
    connect: Callable[..., RedditConnector], fake: FakeReddit
) -> None:
    reddit = connect(inbox=False, **SEARCH)
    hit = fake.post("carol", "Brand Co impact driver chuck wobble", "Anyone else?", subreddit="Tools")
    fake.post("dave", "BrandCo is great", "", subreddit="woodworking")
    fake.post("erin", "Which drill should I buy?", "", subreddit="Tools")

    messages, _ = reddit.poll(None)

    [message] = messages
    assert message.external_id == message.thread_id == hit["data"]["name"]
    assert message.parent_id is None
    assert message.text == "Brand Co impact driver chuck wobble\n\nAnyone else?"
    assert message.url == fake.url + hit["data"]["permalink"]
    [search] = [r for r in fake.api.requests if r.path.endswith("/search/")]
    assert search.path == "/r/Tools+HomeImprovement/search/"
    assert (search.query["q"], search.query["sort"], search.query["restrict_sr"]) == (
        '"BrandCo" OR "Brand Co"',
        "new",
        "on",
    )


def test_our_own_post_found_by_search_is_from_us(connect: Callable[..., RedditConnector], fake: FakeReddit) -> None:
    reddit = connect(inbox=False, **SEARCH)
    fake.post(USERNAME, "BrandCo: spring firmware update", "Changelog inside", subreddit="Tools")

    [message], _ = reddit.poll(None)

    assert message.from_us is True


def test_our_reply_appearing_in_the_next_poll_is_from_us(
    connect: Callable[..., RedditConnector], fake: FakeReddit
) -> None:
    fake.echo_own_replies = True
    reddit = connect()
    fake.mention("alice", "u/brandco help")
    [mention], cursor = reddit.poll(None)
    receipt = reddit.reply(mention, "On it!")

    messages, _ = reddit.poll(cursor)

    assert [(m.external_id, m.from_us, m.author_handle) for m in messages] == [(receipt.external_id, True, USERNAME)]


def test_a_mention_deleted_before_the_poll_arrives_but_cannot_be_answered(
    reddit: RedditConnector, fake: FakeReddit
) -> None:
    mention = fake.mention("alice", "u/brandco never mind")
    fake.delete(mention["data"]["name"])

    [message], _ = reddit.poll(None)

    assert message.author_handle == "[deleted]"
    with pytest.raises(ReplyRefused, match="deleted on Reddit"):
        reddit.check_reply(message, "Hello!")


def test_an_unreadable_cursor_starts_again_from_the_newest_page(reddit: RedditConnector, fake: FakeReddit) -> None:
    mention = fake.mention("alice", "u/brandco hi")

    messages, cursor = reddit.poll("not json")

    assert [m.external_id for m in messages] == [mention["data"]["name"]]
    assert json.loads(cursor or "")["inbox"]["last"] == mention["data"]["name"]


@pytest.mark.parametrize("new", [1, 150])
def test_messages_hidden_by_a_vanished_anchor_are_found_within_a_few_polls_at_no_extra_cost(
    connect: Callable[..., RedditConnector], fake: FakeReddit, new: int
) -> None:
    """Reddit answers ``before=X`` with nothing once X is removed from the listing."""
    reddit = connect()
    fake.mention("alice", "u/brandco first")
    anchor = fake.mention("bob", "u/brandco second")
    _, cursor = reddit.poll(None)
    fake.remove(anchor["data"]["name"])
    expected = [fake.mention(f"customer{i}", "u/brandco hello")["data"]["name"] for i in range(new)]
    received: list[str] = []
    polls = 0

    while len(received) < new and polls <= RECHECK_EVERY:
        messages, cursor = reddit.poll(cursor)
        received += [m.external_id for m in messages]
        polls += 1

    assert received == expected
    assert len(api_calls(fake)) == 1 + polls - 1 + math.ceil((new + 1) / 100)
    assert reddit.poll(cursor)[0] == []


def test_the_fake_pages_like_reddit_before_is_null_without_count(reddit: RedditConnector, fake: FakeReddit) -> None:
    """praw's recorded TestInbox.test_all__with_limit: page two, asked with ``after`` and no
    ``count``, answers ``"before": null``; ``limit`` above 100 gives 100."""
    names = [fake.mention(f"c{i}", "u/brandco hi")["data"]["name"] for i in range(130)]
    newest_first = [{"data": {"name": n}} for n in reversed(names)]
    second = _page(newest_first, {"limit": "128", "after": names[-100]})["data"]
    assert (second["dist"], second["before"], second["after"]) == (30, None, None)
    counted = _page(newest_first, {"limit": "128", "after": names[-100], "count": "100"})["data"]
    assert counted["before"] == names[-101]
    newer = _page(newest_first, {"limit": "100", "before": names[0]})["data"]
    assert (newer["dist"], newer["before"]) == (100, None)
    assert _page(newest_first, {"limit": "100", "before": names[0], "count": "1"})["data"]["before"] == names[100]


def test_a_page_served_twice_adds_nothing_and_loses_nothing(reddit: RedditConnector, fake: FakeReddit) -> None:
    fake.mention("alice", "u/brandco first")
    _, cursor = reddit.poll(None)
    expected = [fake.mention(f"c{i}", "u/brandco hi")["data"]["name"] for i in range(150)]
    first = reddit._reddit().request(method="GET", path="message/inbox/", params={"limit": 100, "count": 1})
    fake.api.script("GET", "/message/inbox", Response(200, first), Response(200, first))

    received: list[str] = []
    for _ in range(3):
        try:
            messages, cursor = reddit.poll(cursor)
        except MalformedPayload:
            continue
        received += [m.external_id for m in messages]

    assert received == expected
