"""Property tests of each connector's normaliser (platform payload -> InboundMessage).

Whatever the payload holds (any text: lone surrogates, NULs, RTL and zero-width marks, ANSI and
OSC escapes, 100,000 characters, emoji sequences; odd timestamps; ids of the wrong type), the
answer is a valid message (text as sent, an aware time, ids as text) or MalformedPayload.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from connectors import load
from connectors._graph import Seen, parse_time
from connectors.base import InboundMessage, MalformedPayload

QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ODD_TEXTS = [
    "\ud800",
    "lone \udfff surrogate",
    "nul\x00inside",
    "\u202eRTL override\u200b\u200d\ufeff",
    "\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "👨‍👩‍👧‍👦🏳️‍🌈🇮🇹👋🏽",
    "x" * 100_000,
    "",
]
TEXT = st.one_of(st.text(st.characters(exclude_categories=())), st.sampled_from(ODD_TEXTS))
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.lists(st.integers())
)
IDS = st.one_of(st.from_regex(r"\A[0-9]{1,19}\Z"), st.integers(min_value=-(2**70), max_value=2**70), TEXT, JUNK)
GRAPH_TIMES = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S%z")),
    st.datetimes().map(lambda d: d.isoformat()),
    TEXT,
    JUNK,
)


def check(build: Any, text: Any, expect: Any) -> None:
    """``build()`` gives a valid message with ``expect(text)`` as its text, or MalformedPayload."""
    try:
        message = build()
    except MalformedPayload as err:
        assert str(err) and "\n" not in str(err)
        return
    if message is None:
        return
    assert isinstance(message, InboundMessage)
    assert isinstance(text, str) or text is None, "text that is not a string must be refused"
    assert message.text == expect(text or "")
    assert message.created_at.tzinfo is not None and message.created_at.utcoffset() is not None
    for value in (message.external_id, message.thread_id, message.author_id, message.parent_id):
        assert value is None or isinstance(value, str)
    assert message.external_id and message.thread_id


def connector(platform: str, **options: Any) -> Any:
    secrets = {"username": SecretStr("brandco"), "page_access_token": SecretStr("fake-page-token")}
    return load(platform).from_config("acme", options, secrets)


X = connector("x", api_url="http://127.0.0.1:9")


@QUICK
@given(
    text=st.one_of(TEXT, JUNK),
    tweet_id=IDS,
    author=IDS,
    created=st.one_of(
        st.datetimes(timezones=st.timezones()).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%f%z")), TEXT, JUNK
    ),
    refs=st.one_of(
        st.none(),
        st.lists(st.fixed_dictionaries({"type": st.sampled_from(["replied_to", "retweeted"]), "id": IDS})),
        JUNK,
    ),
)
def test_x_posts(text: Any, tweet_id: Any, author: Any, created: Any, refs: Any) -> None:
    data = {"id": tweet_id, "text": text, "author_id": author, "created_at": created, "referenced_tweets": refs}
    check(lambda: X._message(data, {str(author): {"username": "alice", "name": 7}}, "1000"), text, html.unescape)


REDDIT = connector("reddit")


@QUICK
@given(
    body=st.one_of(TEXT, JUNK),
    name=IDS,
    created=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), TEXT, JUNK),
    parent=IDS,
    author=st.one_of(TEXT, JUNK),
)
def test_reddit_comments(body: Any, name: Any, created: Any, parent: Any, author: Any) -> None:
    data = {
        "name": name,
        "body": body,
        "created_utc": created,
        "parent_id": parent,
        "link_id": "t3_abc",
        "author": author,
        "type": "username_mention",
        "context": "/r/x/comments/abc/t/def/?context=3",
    }
    check(lambda: REDDIT._to_message({"kind": "t1", "data": data}, "inbox"), body, lambda t: t)


FACEBOOK = connector("facebook", page_id="1000")


@QUICK
@given(
    message=st.one_of(TEXT, JUNK),
    comment_id=IDS,
    created=GRAPH_TIMES,
    author=st.one_of(st.fixed_dictionaries({"id": IDS, "name": st.one_of(TEXT, JUNK)}), JUNK),
)
def test_facebook_comments(message: Any, comment_id: Any, created: Any, author: Any) -> None:
    comment = {"id": comment_id, "message": message, "from": author, "created_time": created}
    check(lambda: FACEBOOK._message(comment, {"id": "1000_1"}, parse_time(created)), message, lambda t: t)


MESSENGER = connector("messenger", page_id="1000")


@QUICK
@given(
    text=st.one_of(TEXT, JUNK),
    message_id=IDS,
    created=GRAPH_TIMES,
    sender=st.one_of(st.fixed_dictionaries({"id": IDS}), JUNK),
)
def test_messenger_messages(text: Any, message_id: Any, created: Any, sender: Any) -> None:
    message = {"id": message_id, "message": text, "from": sender, "created_time": created}
    check(lambda: MESSENGER._message(message, "t_1", parse_time(created)), text, lambda t: t)


INSTAGRAM = connector("instagram", ig_user_id="17841400000", username="acme")


@QUICK
@given(text=st.one_of(TEXT, JUNK), comment_id=IDS, created=GRAPH_TIMES, username=st.one_of(TEXT, JUNK))
def test_instagram_comments(text: Any, comment_id: Any, created: Any, username: Any) -> None:
    comment = {"id": comment_id, "text": text, "timestamp": created, "username": username, "from": {"id": "9001"}}
    seen = Seen(datetime(2000, 1, 1, tzinfo=UTC))
    check(lambda: next(iter(INSTAGRAM._if_new(comment, {"id": "1790"}, seen, None)), None), text, lambda t: t)


SANDBOX = connector("sandbox", path=Path("/nonexistent/sandbox.json"))


@QUICK
@given(
    text=st.one_of(TEXT, JUNK),
    post_id=st.one_of(st.integers(), TEXT, JUNK),
    created=st.one_of(
        st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
        st.datetimes().map(datetime.isoformat),
        TEXT,
        JUNK,
    ),
    reply_to=st.one_of(st.none(), st.integers(), TEXT, JUNK),
)
def test_sandbox_posts(text: Any, post_id: Any, created: Any, reply_to: Any) -> None:
    post = {"id": post_id, "author": "ann", "name": "Ann", "text": text, "reply_to": reply_to, "thread": 1}
    post["created_at"] = created
    check(lambda: SANDBOX._message(post), text, lambda t: t)
