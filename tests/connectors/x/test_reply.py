"""Replying: in the right thread, never cut, never twice, and found again after a crash."""

from __future__ import annotations

import pytest

from connectors.base import (
    AuthError,
    InboundMessage,
    PermanentError,
    ReplyRefused,
    TransientError,
)
from connectors.x import XConnector, measure
from tests.connectors.x.conftest import secrets_for
from tests.connectors.x.fake import FakeX, recorded
from tests.fakes.http import Response


def customer_mention(x: XConnector, fake: FakeX, text: str = "my order is late") -> InboundMessage:
    fake.mention(text, username="alice")
    [message], _ = x.poll(None)
    return message


def test_a_reply_goes_into_the_customers_thread(x: XConnector, fake: FakeX) -> None:
    mention = customer_mention(x, fake)

    receipt = x.reply(mention, "Sorry Alice, we're looking into it.")

    [post] = fake.posts()
    assert post.json == {
        "text": "Sorry Alice, we're looking into it.",
        "reply": {"in_reply_to_tweet_id": mention.external_id},
    }
    assert post.headers["authorization"].startswith("OAuth ")
    [stored] = fake.replies_to(mention.external_id)
    assert receipt.external_id == stored["id"]
    assert stored["conversation_id"] == mention.thread_id
    assert receipt.url == f"https://x.com/brand/status/{stored['id']}"


def test_an_over_long_reply_is_refused_before_anything_is_sent(x: XConnector, fake: FakeX) -> None:
    mention = customer_mention(x, fake)
    text = "We are so sorry. " * 17  # 289 characters

    with pytest.raises(ReplyRefused, match=r"289 characters .* X allows 280: shorten it by 9"):
        x.check_reply(mention, text)
    with pytest.raises(ReplyRefused):
        x.reply(mention, text)
    assert fake.posts() == []


def test_links_count_23_so_a_long_url_does_not_block_a_reply(x: XConnector, fake: FakeX) -> None:
    mention = customer_mention(x, fake)
    text = "a" * 256 + " https://help.example.com/" + "x" * 100

    x.check_reply(mention, text)  # 256 + 1 + 23 = 280

    with pytest.raises(ReplyRefused, match="281 characters"):
        x.check_reply(mention, "a" + text)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("", 0),
        ("Thanks!", 7),
        ("a" * 280, 280),
        ("Grüße aus Köln", 14),
        ("e\u0301", 1),  # NFC makes é one character
        ("你好", 4),
        ("ありがとうございます", 20),
        ("👍", 2),
        ("❤️", 2),
        ("👨‍👩‍👧", 2),
        ("🇫🇷", 2),
        ("👋🏽 hi", 5),
        ("see https://example.com/a/very/long/path/indeed?x=1.", 4 + 23 + 1),
        ("go to brand.com/help now", 6 + 23 + 4),
        ("write to help@brand.com", 23),
        ("“quotes” — dash…", 17),  # curly quotes and the dash weigh 1, the ellipsis 2
    ],
)
def test_length_is_measured_the_way_x_counts(text: str, length: int) -> None:
    assert measure(text) == length


def test_a_deleted_parent_is_reported_not_retried(x: XConnector, fake: FakeX) -> None:
    mention = customer_mention(x, fake)
    fake.delete(mention.external_id)

    with pytest.raises(PermanentError, match="deleted or not visible") as caught:
        x.reply(mention, "Sorry to hear that!")

    assert not isinstance(caught.value, ReplyRefused)
    assert len(fake.posts()) == 1
    assert fake.replies_to(mention.external_id) == []


def test_find_reply_recovers_a_reply_posted_before_a_crash(x: XConnector, fake: FakeX) -> None:
    mention = customer_mention(x, fake)
    receipt = x.reply(mention, "We're on it & will DM you.")

    found = x.find_reply(mention, "We're on it & will DM you.")

    assert found is not None and found.external_id == receipt.external_id
    assert x.find_reply(mention, "A different text") is None
    search = fake.api.calls("GET", "/2/tweets/search/recent")[0]
    assert search.query["query"] == f"conversation_id:{mention.thread_id} from:{fake.me}"


def test_find_reply_tolerates_what_x_does_to_the_text(x: XConnector, fake: FakeX) -> None:
    mention = customer_mention(x, fake)
    posted = fake.post(
        fake.me, "@alice We're on it &amp; will DM you: https://t.co/abc123", in_reply_to=mention.external_id
    )

    found = x.find_reply(mention, "We're on it & will DM you: https://brand.example/help")

    assert found is not None and found.external_id == posted["id"]


def test_find_reply_ignores_our_posts_to_other_tweets_in_the_thread(x: XConnector, fake: FakeX) -> None:
    mention = customer_mention(x, fake)
    follow_up = fake.mention("and another thing", username="alice", in_reply_to=mention.external_id)
    fake.post(fake.me, "Thanks, noted.", in_reply_to=follow_up["id"])

    assert x.find_reply(mention, "Thanks, noted.") is None


def test_sending_the_same_reply_again_returns_the_first_instead_of_a_second(x: XConnector, fake: FakeX) -> None:
    mention = customer_mention(x, fake)
    first = x.reply(mention, "Sorry Alice, refund issued.")

    again = x.reply(mention, "Sorry Alice, refund issued.")

    assert again.external_id == first.external_id
    assert len(fake.replies_to(mention.external_id)) == 1


def test_oauth2_user_token_reads_and_posts_with_bearer(connect, fake: FakeX) -> None:
    x = connect(auth="oauth2", secrets=secrets_for(fake, ("bearer_token",)))
    mention = customer_mention(x, fake)

    x.reply(mention, "Hello from OAuth 2.0")

    assert {r.headers["authorization"] for r in fake.api.requests if r.path.startswith("/2/")} == {
        f"Bearer {fake.credentials.user_token}"
    }
    assert len(fake.replies_to(mention.external_id)) == 1


def test_an_app_bearer_token_carries_reads_while_posts_are_signed(connect, fake: FakeX) -> None:
    secrets = secrets_for(fake)
    secrets["bearer_token"] = type(secrets["access_token"])(fake.credentials.app_token)
    x = connect(secrets=secrets)
    mention = customer_mention(x, fake)

    x.reply(mention, "Signed reply")

    auth = {r.path: r.headers["authorization"].split()[0] for r in fake.api.requests}
    assert auth[f"/2/users/{fake.me}/mentions"] == "Bearer"
    assert auth["/2/users/me"] == auth["/2/tweets"] == "OAuth"


def test_a_reply_that_timed_out_after_x_posted_it_is_not_posted_twice(connect, fake: FakeX) -> None:
    x = connect(timeout=0.3)
    mention = customer_mention(x, fake)
    fake.slow_once(lambda request: request.path == "/2/tweets", 1.0)

    with pytest.raises(TransientError):
        x.reply(mention, "Sorry Alice, refund issued.")
    retried = x.reply(mention, "Sorry Alice, refund issued.")  # the outbox retries a transient failure

    [posted] = fake.replies_to(mention.external_id)
    assert retried.external_id == posted["id"]
    assert len(fake.posts()) == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            403,
            {
                "title": "Forbidden",
                "type": "about:blank",
                "status": 403,
                "detail": "Reply to this conversation is not allowed because you have not been mentioned or "
                "otherwise engaged by the author of the post you are replying to.",
            },
        ),
        (
            404,
            {
                "title": "Not Found Error",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
                "detail": "Could not find tweet with in_reply_to_tweet_id: [1].",
            },
        ),
        (
            400,
            {
                "errors": [{"message": "text: Tweet text is too long."}],
                "title": "Invalid Request",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            },
        ),
    ],
    ids=["reply-not-allowed", "not-found", "invalid"],
)
def test_a_reply_x_will_never_accept_fails_for_good_with_xs_reason(
    x: XConnector, fake: FakeX, status: int, body: dict
) -> None:
    mention = customer_mention(x, fake)
    fake.api.script("POST", "/2/tweets", Response(status, body))

    with pytest.raises(PermanentError) as caught:
        x.reply(mention, "Hello")

    assert not isinstance(caught.value, AuthError | ReplyRefused)
    reason = body.get("detail") or body["errors"][0]["message"]
    assert reason[:40] in str(caught.value)


def test_the_documented_create_answer_becomes_the_receipt(x: XConnector, fake: FakeX) -> None:
    mention = customer_mention(x, fake)
    fake.api.script("POST", "/2/tweets", Response(201, recorded("create_tweet")))

    receipt = x.reply(mention, "Sorry about that, we're on it.")

    assert receipt.external_id == "2000"
    assert receipt.url == "https://x.com/brand/status/2000"
    assert receipt.raw["text"] == recorded("create_tweet")["data"]["text"]
