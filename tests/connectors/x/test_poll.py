"""Polling mentions: what arrives, in what order, with which cursor, and at what cost in requests."""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime, timedelta

import pytest

from connectors.x import XConnector
from tests.conftest import Clock
from tests.connectors.x.fake import FakeX, recorded
from tests.fakes.http import Response

MENTIONS = r"/2/users/\d+/mentions"
TIMELINE = r"/2/users/\d+/tweets"


def since_id(cursor: str | None) -> str | None:
    return None if cursor is None else json.loads(cursor)["since_id"]


def prime(x: XConnector, fake: FakeX) -> str:
    """A steady state: the account was polled once, so the next poll asks only for news."""
    fake.mention("first", username="zoe")
    _, cursor = x.poll(None)
    assert cursor is not None
    return cursor


def test_the_documented_mentions_payload_becomes_a_message(x: XConnector, fake: FakeX) -> None:
    fake.api.script("GET", MENTIONS, Response(200, recorded("mentions")), Response(200, recorded("empty")))

    messages, cursor = x.poll("1800")

    [message] = messages
    assert (message.platform, message.external_id, message.thread_id) == ("x", "1900", "1900")
    assert (message.author_id, message.author_handle, message.author_name) == ("42", "alice", "A")
    assert message.text == "@brand hi"
    assert message.created_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert message.language == "en"
    assert message.url == "https://x.com/alice/status/1900"
    assert message.parent_id is None and not message.from_us
    assert since_id(cursor) == "1900"
    first, second = fake.api.calls("GET", MENTIONS)
    assert first.query["since_id"] == "1800" and "pagination_token" not in first.query
    assert second.query["pagination_token"] == "tok" and second.query["since_id"] == "1800"


def test_pages_are_followed_and_the_cursor_is_the_newest_id_of_the_first_page(connect, fake: FakeX) -> None:
    x = connect(page_size=5)
    first_cursor = prime(x, fake)
    posted = [fake.mention(f"problem {i}", username=f"user{i}")["id"] for i in range(12)]

    messages, cursor = x.poll(first_cursor)

    assert [m.external_id for m in messages] == posted  # all of them, oldest first
    assert since_id(cursor) == posted[-1]
    pages = fake.api.calls("GET", MENTIONS)[1:]
    assert len(pages) == 3
    assert [p.query.get("pagination_token") is None for p in pages] == [True, False, False]
    assert {p.query["since_id"] for p in pages} == {since_id(first_cursor)}


def test_an_empty_poll_costs_one_request_and_keeps_the_cursor(x: XConnector, fake: FakeX) -> None:
    cursor = prime(x, fake)
    before = len(fake.api.calls("GET", MENTIONS))

    messages, again = x.poll(cursor)

    assert messages == []
    assert since_id(again) == since_id(cursor)
    assert len(fake.api.calls("GET", MENTIONS)) == before + 1


def test_first_poll_backfills_only_the_newest_page_of_the_last_day(connect, fake: FakeX, clock: Clock) -> None:
    x = connect(page_size=5)
    fake.mention("two days old", username="old")
    clock.tick(2 * 86400)
    recent = [fake.mention(f"recent {i}", username=f"user{i}")["id"] for i in range(8)]

    messages, cursor = x.poll(None)

    assert [m.external_id for m in messages] == recent[-5:]
    assert since_id(cursor) == recent[-1]
    [request] = fake.api.calls("GET", MENTIONS)
    assert request.query["start_time"] == (clock.now - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = fake.mention("new one", username="bob")["id"]
    assert [m.external_id for m in x.poll(cursor)[0]] == [later]


def test_our_reply_comes_back_in_the_next_poll_marked_as_ours(x: XConnector, fake: FakeX) -> None:
    cursor = prime(x, fake)
    fake.mention("my parcel never arrived", username="alice")
    [mention], cursor = x.poll(cursor)
    receipt = x.reply(mention, "Sorry Alice, sending a new one today.")
    follow_up = fake.mention("thanks!", username="alice", in_reply_to=receipt.external_id)

    ours, customer = x.poll(cursor)[0]

    assert ours.external_id == receipt.external_id and ours.from_us
    assert (ours.author_handle, ours.parent_id, ours.thread_id) == ("brand", mention.external_id, mention.thread_id)
    assert customer.external_id == follow_up["id"] and not customer.from_us
    assert (customer.parent_id, customer.thread_id) == (receipt.external_id, mention.thread_id)


def test_html_entities_from_x_are_decoded_and_the_raw_payload_kept(x: XConnector, fake: FakeX) -> None:
    cursor = prime(x, fake)
    tweet = fake.mention("fish &amp; chips &lt;3", username="alice")

    [message] = x.poll(cursor)[0]

    assert message.text == "@brand fish & chips <3"
    assert message.raw["tweet"]["text"] == tweet["text"]


def test_steady_polling_never_exceeds_the_advertised_limit(clock: Clock, connect) -> None:
    """Legacy Basic: 10 mention reads per 15 minutes. The daemon asks every minute but only
    polls when the connector's pace allows; over two hours no request is refused."""
    fake = FakeX(clock=clock, limits={"mentions": 10}).start()
    try:
        x = connect(api_url=fake.url)
        cursor = prime(x, fake)
        posted, seen = set(), set()
        for minute in range(120):
            clock.tick(60)
            if minute % 7 == 0:
                posted.add(fake.mention(f"minute {minute}", username="alice")["id"])
            if x.pace.ready():
                messages, cursor = x.poll(cursor)
                seen |= {m.external_id for m in messages}
        per_window = fake.served["mentions"]
        assert fake.throttled == []
        assert max(per_window.values()) <= 10
        assert sum(per_window.values()) >= 60  # pacing spreads the calls, it does not starve the account
        assert posted - seen <= {fake.mention_ids()[-1]}  # nothing lost; at most the last one still waits
    finally:
        fake.stop()


def test_remaining_calls_near_zero_slow_the_account_down(clock: Clock, connect) -> None:
    fake = FakeX(clock=clock, limits={"mentions": 5}).start()
    try:
        x = connect(api_url=fake.url)
        cursor = prime(x, fake)  # 4 of 5 left, window resets in 900 s
        assert x.pace.ready_at == clock.now + timedelta(seconds=900 / 3)
        assert not x.pace.ready()
        clock.tick(600)
        x.poll(cursor)
        x.poll(cursor)
        x.poll(cursor)  # 1 left: wait for the reset rather than spend the last call
        reset = datetime.fromtimestamp(fake.windows["mentions"].reset, UTC)
        assert x.pace.ready_at == reset
        assert not fake.throttled
    finally:
        fake.stop()


@pytest.mark.parametrize(
    "cursor", ["not json", '{"since_id": "abc", "month": "2026-11", "read": 1}', "[1]", '{"since_id": "5"}']
)
def test_an_unreadable_cursor_starts_over_like_a_first_poll(x: XConnector, fake: FakeX, cursor: str) -> None:
    tweet = fake.mention("hello?", username="alice")

    messages, again = x.poll(cursor)

    assert [m.external_id for m in messages] == [tweet["id"]]
    assert since_id(again) == tweet["id"]
    assert "start_time" in fake.api.calls("GET", MENTIONS)[0].query


def test_a_first_poll_that_finds_nothing_keeps_its_time_so_no_later_mention_is_lost(
    connect, fake: FakeX, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 10: with no cursor kept, 150 mentions later the next poll was a first poll again and
    read one page of 100; the other 50 were never read."""
    x = connect(page_size=100)
    messages, cursor = x.poll(None)
    assert messages == [] and cursor is not None
    clock.tick(3600)
    posted = [fake.mention(f"problem {i}", username=f"user{i}")["id"] for i in range(150)]

    messages, cursor = x.poll(cursor)

    assert [m.external_id for m in messages] == posted
    first, *pages = fake.api.calls("GET", MENTIONS)
    assert first.query["start_time"] == (clock.now - timedelta(hours=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [p.query["start_time"] for p in pages] == [
        (clock.now - timedelta(minutes=70)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ] * 2
    assert since_id(cursor) == posted[-1]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_first_poll_that_cannot_read_the_whole_backfill_says_so(
    connect, fake: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    x = connect(page_size=5)
    for i in range(7):
        fake.mention(f"recent {i}", username=f"user{i}")

    messages, _ = x.poll(None)

    assert len(messages) == 5
    assert "the first poll reads one page, so older mentions since the last poll are skipped" in caplog.text


def test_more_mentions_than_x_serves_are_reported_as_skipped(
    connect, fake: FakeX, caplog: pytest.LogCaptureFixture
) -> None:
    x = connect(page_size=100)
    cursor = prime(x, fake)
    for i in range(805):
        fake.mention(f"storm {i}", username=f"user{i % 50}")

    messages, _ = x.poll(cursor)

    assert len(messages) == 800
    assert "X serves only the 800 newest, so older mentions since the last poll are skipped" in caplog.text


def test_a_reply_the_team_typed_on_x_comes_back_from_our_timeline_as_ours(x: XConnector, fake: FakeX) -> None:
    """X never lists our own posts in our mentions, so the team's replies are read from our timeline."""
    cursor = prime(x, fake)
    mention = fake.mention("my parcel never arrived", username="alice")
    typed = fake.post(fake.me, "@alice so sorry, DM us", in_reply_to=mention["id"])
    sale = fake.post(fake.me, "Our summer sale starts today!")  # not a reply: no message

    messages, cursor = x.poll(cursor)

    assert typed["id"] not in fake.mention_ids()
    assert [(m.external_id, m.from_us) for m in messages] == [(mention["id"], False), (typed["id"], True)]
    ours = messages[1]
    assert (ours.parent_id, ours.thread_id, ours.author_handle) == (mention["id"], mention["id"], "brand")
    assert ours.url == f"https://x.com/brand/status/{typed['id']}"
    timeline = fake.api.calls("GET", TIMELINE)[-1]
    assert timeline.query["exclude"] == "retweets" and "start_time" in timeline.query  # none of ours before
    assert x.poll(cursor)[0] == []
    assert fake.api.calls("GET", TIMELINE)[-1].query["since_id"] == sale["id"]


def test_short_timeline_pages_are_followed_to_the_end(connect, fake: FakeX) -> None:
    """X filters a timeline page after choosing it, so a page can be short and still have a next one."""
    x = connect(page_size=5)
    cursor = prime(x, fake)
    originals = [fake.mention(f"m{i}", username=f"u{i}") for i in range(6)]
    replies = []
    for original in originals:
        fake.retweet(original["id"], username="brand")
        replies.append(fake.post(fake.me, "thanks!", in_reply_to=original["id"])["id"])

    messages, _ = x.poll(cursor)

    assert [m.external_id for m in messages if m.from_us] == replies
    assert len(fake.api.calls("GET", TIMELINE)) == 1 + 3  # prime + 12 own posts in pages of 5, retweets filtered


def test_retweets_never_become_cases(x: XConnector, fake: FakeX) -> None:
    cursor = prime(x, fake)
    original = fake.mention("love the new app", username="alice")
    by_stranger = fake.retweet(original["id"], username="bob")
    by_us = fake.retweet(original["id"], username="brand")

    messages, cursor = x.poll(cursor)

    assert [(m.external_id, m.from_us) for m in messages] == [(original["id"], False)]
    assert {by_stranger["id"], by_us["id"]}.isdisjoint(m.external_id for m in messages)
    assert json.loads(cursor)["read"] == 1 + 2  # the stranger's retweet was still read; ours is never asked for


@pytest.mark.parametrize(("new", "own"), [(0, 0), (1, 0), (4, 0), (5, 0), (6, 0), (10, 0), (11, 0), (0, 1), (6, 6)])
def test_a_steady_poll_makes_only_the_requests_it_needs(connect, fake: FakeX, new: int, own: int) -> None:
    """Mentions and our own timeline: one request each when quiet, one more per further page."""
    x = connect(page_size=5)
    cursor = prime(x, fake)
    before = len(fake.api.requests)
    for i in range(new):
        mention = fake.mention(f"message {i}", username=f"user{i}")
        if i < own:
            fake.post(fake.me, f"reply {i}", in_reply_to=mention["id"])
    for i in range(own - new):
        fake.post(fake.me, f"reply {i}", in_reply_to=fake.mention_ids()[0])

    messages, _ = x.poll(cursor)

    assert len(messages) == new + own
    assert len(fake.api.requests) - before == max(1, math.ceil(new / 5)) + max(1, math.ceil(own / 5))


def test_a_spent_timeline_window_skips_our_posts_until_its_reset_but_never_the_mentions(clock: Clock, connect) -> None:
    fake = FakeX(clock=clock, limits={"timeline": 3}).start()
    try:
        x = connect(api_url=fake.url)
        cursor = prime(x, fake)
        mention = fake.mention("hello?", username="alice")
        typed = fake.post(fake.me, "hi!", in_reply_to=mention["id"])
        seen: list[str] = []
        for _ in range(4):
            clock.tick(60)
            messages, cursor = x.poll(cursor)
            seen += [m.external_id for m in messages]
        assert seen == [mention["id"], typed["id"]]
        assert len(fake.api.calls("GET", TIMELINE)) == 2 and fake.throttled == []  # one call kept in reserve
        assert len(fake.api.calls("GET", MENTIONS)) == 5
        clock.tick(900)
        later = fake.post(fake.me, "anything else?", in_reply_to=mention["id"])
        assert [m.external_id for m in x.poll(cursor)[0]] == [later["id"]]
    finally:
        fake.stop()
