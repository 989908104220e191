"""Failures become the connector error tree, fast, with messages a person can act on and no secrets."""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr, ValidationError

from connectors.base import (
    AuthError,
    ConnectorError,
    MalformedPayload,
    RateLimited,
    TransientError,
)
from connectors.x import XConnector, XSettings
from tests.conftest import Clock
from tests.connectors.x.conftest import secrets_for
from tests.connectors.x.fake import FakeX, recorded
from tests.fakes.http import Response

MENTIONS = r"/2/users/\d+/mentions"


def primed(x: XConnector, fake: FakeX) -> str:
    fake.mention("hello", username="zoe")
    _, cursor = x.poll(None)
    assert cursor is not None
    return cursor


def test_429_skips_the_account_until_the_reset_without_sleeping(x: XConnector, fake: FakeX, clock: Clock) -> None:
    cursor = primed(x, fake)
    reset = int((clock.now + timedelta(minutes=12)).timestamp())
    fake.api.script(
        "GET",
        MENTIONS,
        Response(429, recorded("too_many_requests"), {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}),
    )
    started = time.monotonic()

    with pytest.raises(RateLimited) as caught:
        x.poll(cursor)

    assert time.monotonic() - started < 1.0
    assert caught.value.retry_at == datetime.fromtimestamp(reset, UTC)
    assert x.pace.ready_at == caught.value.retry_at and not x.pace.ready()
    clock.tick(12 * 60)
    assert x.pace.ready()
    fake.mention("still there?", username="zoe")
    assert [m.text for m in x.poll(cursor)[0]] == ["@brand still there?"]


def test_429_without_a_reset_header_waits_fifteen_minutes(x: XConnector, fake: FakeX, clock: Clock) -> None:
    cursor = primed(x, fake)
    fake.api.script("GET", MENTIONS, Response(429, recorded("too_many_requests")))

    with pytest.raises(RateLimited) as caught:
        x.poll(cursor)

    assert caught.value.retry_at is None
    assert x.pace.ready_at == clock.now + timedelta(minutes=15)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient_and_lose_nothing(x: XConnector, fake: FakeX, status: int) -> None:
    cursor = primed(x, fake)
    waiting = fake.mention("where is my refund", username="alice")
    fake.api.script("GET", MENTIONS, Response(status, recorded("service_unavailable")))

    with pytest.raises(TransientError, match=f"HTTP {status}"):
        x.poll(cursor)

    assert [m.external_id for m in x.poll(cursor)[0]] == [waiting["id"]]


def test_a_failure_on_a_later_page_loses_nothing(connect, fake: FakeX) -> None:
    x = connect(page_size=5)
    cursor = primed(x, fake)
    posted = [fake.mention(f"m{i}", username=f"u{i}")["id"] for i in range(7)]
    fake.fail_once(lambda request: "pagination_token" in request.query, Response(503, recorded("service_unavailable")))

    with pytest.raises(TransientError):
        x.poll(cursor)

    assert [m.external_id for m in x.poll(cursor)[0]] == posted


def test_a_timeout_is_transient_and_quick(connect, fake: FakeX) -> None:
    x = connect(timeout=0.3)
    cursor = primed(x, fake)
    fake.api.script("GET", MENTIONS, Response(200, recorded("empty"), delay=1.0))
    started = time.monotonic()

    with pytest.raises(TransientError, match=r"did not answer in 0.3s"):
        x.poll(cursor)

    assert time.monotonic() - started < 0.9


def test_an_unreachable_api_is_transient(connect) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    x = connect(api_url=f"http://127.0.0.1:{port}")

    with pytest.raises(TransientError, match="could not reach X"):
        x.verify()


@pytest.mark.parametrize(
    "answer",
    [
        Response(200, raw=b'{"data": [{"id": "1", "text": "cut off'),
        Response(200, raw=b"<html>502 Bad Gateway</html>"),
        Response(200, {"data": [{"text": "no id"}], "meta": {"result_count": 1}}),
        Response(200, {"data": {"id": "1", "text": "not a list", "edit_history_tweet_ids": ["1"]}}),
        Response(
            200,
            {
                "data": [{"id": "9" * 19, "text": "no author", "edit_history_tweet_ids": ["9" * 19]}],
                "meta": {"result_count": 1, "newest_id": "9" * 19},
            },
        ),
        Response(200, ["not", "an", "object"]),
    ],
    ids=["truncated", "html", "no-id", "data-not-a-list", "fields-missing", "json-list"],
)
def test_malformed_answers_are_reported_and_the_cursor_is_not_advanced(
    x: XConnector, fake: FakeX, answer: Response
) -> None:
    cursor = primed(x, fake)
    waiting = fake.mention("are you there", username="alice")
    fake.api.script("GET", MENTIONS, answer)

    with pytest.raises(MalformedPayload):
        x.poll(cursor)

    assert [m.external_id for m in x.poll(cursor)[0]] == [waiting["id"]]


def test_an_expired_token_stops_the_account_and_says_how_to_fix_it(x: XConnector, fake: FakeX) -> None:
    cursor = primed(x, fake)
    fake.revoked = True

    with pytest.raises(AuthError, match="expired or revoked.*re-authenticate"):
        x.poll(cursor)
    with pytest.raises(AuthError):
        x.verify()


def test_an_app_only_token_where_a_user_token_is_needed_is_an_auth_error(connect, fake: FakeX) -> None:
    x = connect(auth="oauth2", secrets={"bearer_token": SecretStr(fake.credentials.app_token)})

    with pytest.raises(AuthError, match="Application-Only is forbidden.*permissions"):
        x.verify()


def test_verify_names_the_account_and_rejects_a_read_only_app(x: XConnector, fake: FakeX) -> None:
    assert x.verify() == f"authenticated as @brand (id {fake.me})"

    fake.access_level = "read"
    with pytest.raises(AuthError, match="Read and write"):
        x.verify()
    assert len(fake.api.calls("GET", "/2/users/me")) == 2


def test_a_read_only_app_cannot_post_and_is_told_why(x: XConnector, fake: FakeX) -> None:
    fake.mention("help", username="alice")
    [mention], _ = x.poll(None)
    fake.access_level = "read"

    with pytest.raises(AuthError, match="oauth1 app permissions"):
        x.reply(mention, "Hi!")


def test_a_missing_secret_is_an_auth_error_naming_it(connect, fake: FakeX) -> None:
    secrets = secrets_for(fake)
    del secrets["access_token_secret"]
    x = connect(secrets=secrets)

    with pytest.raises(AuthError, match="'access_token_secret' is not set"):
        x.poll(None)
    assert fake.api.requests == []


def test_no_secret_appears_in_errors_or_repr(connect, fake: FakeX) -> None:
    secrets = secrets_for(
        fake, ("consumer_key", "consumer_secret", "access_token", "access_token_secret", "bearer_token")
    )
    x = connect(secrets=secrets)
    values = [s.get_secret_value() for s in secrets.values()]
    seen: list[str] = [repr(x), str(x)]
    fake.api.script("GET", MENTIONS, Response(503), Response(429), Response(200, raw=b"{"))
    for _ in range(3):
        with pytest.raises(ConnectorError) as caught:
            x.poll("1")
        seen.append(str(caught.value))
    fake.revoked = True
    with pytest.raises(AuthError) as auth:
        x.poll("1")
    seen.append(str(auth.value))

    assert not [text for text in seen for value in values if value in text]


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"api_url": "http://127.0.0.1:8081/2"}, "no path"),
        ({"api_url": "ftp://example.com"}, "api_url must be an origin"),
        ({"page_size": 101}, "less than or equal to 100"),
        ({"page_size": 4}, "greater than or equal to 5"),
        ({"backfill_hours": 0}, "greater than or equal to 1"),
        ({"monthly_read_budget": 0}, "greater than or equal to 1"),
        ({"bearer_token": "oops"}, "Extra inputs are not permitted"),
    ],
)
def test_settings_are_checked_when_the_config_is_read(options: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        XSettings.model_validate(options)


@pytest.mark.parametrize("auth", ["oauth1", "oauth2"])
def test_no_secret_reaches_a_debug_log(connect, fake: FakeX, caplog: pytest.LogCaptureFixture, auth: str) -> None:
    names = (
        ("bearer_token",)
        if auth == "oauth2"
        else ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
    )
    secrets = secrets_for(fake, names)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")  # the CLI quietens urllib3
    x = connect(auth=auth, secrets=secrets)
    fake.mention("help", username="alice")

    [mention], _ = x.poll(None)
    x.reply(mention, "On it!")

    assert any(r.levelno == logging.DEBUG for r in caplog.records), "the debug log is captured"
    assert not [name for name, value in secrets.items() if value.get_secret_value() in caplog.text]
