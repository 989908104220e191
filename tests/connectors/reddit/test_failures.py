"""Reddit failing or saying "not now": each becomes the error the scheduler acts on, fast."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from connectors.base import AuthError, MalformedPayload, PermanentError, RateLimited, TransientError
from connectors.reddit import RedditConnector
from tests.conftest import Clock
from tests.fakes.http import Response

from .conftest import SECRETS, api_calls, secrets
from .fake import FakeReddit

EMPTY = {
    "kind": "Listing",
    "data": {"after": None, "dist": 0, "modhash": None, "geo_filter": "", "children": [], "before": None},
}


def _chain(err: BaseException | None) -> Iterator[BaseException]:
    while err is not None:
        yield err
        err = err.__cause__ or err.__context__


def _assert_no_secret(err: BaseException, reddit: RedditConnector) -> None:
    shown = " ".join([repr(reddit), *(str(e) for e in _chain(err))])
    for value in SECRETS.values():
        assert value not in shown or value == "brandco"  # the username is who we are, not a secret to hide


@pytest.fixture
def timed() -> Iterator[Callable[[], float]]:
    started = time.monotonic()
    yield lambda: time.monotonic() - started


def test_429_is_rate_limited_until_retry_after_and_nothing_is_lost(
    reddit: RedditConnector, fake: FakeReddit, clock: Clock, timed: Callable[[], float]
) -> None:
    _, cursor = reddit.poll(None)
    mention = fake.mention("alice", "u/brandco hello")
    fake.api.script(
        "GET",
        "/message/inbox",
        Response(429, {"message": "Too Many Requests", "error": 429}, headers={"retry-after": "30"}),
    )

    with pytest.raises(RateLimited) as limited:
        reddit.poll(cursor)

    assert limited.value.retry_at == clock() + timedelta(seconds=30)
    assert timed() < 0.5 and api_calls(fake) == ["GET /message/inbox/"] * 2
    clock.tick(30)
    messages, _ = reddit.poll(cursor)
    assert [m.external_id for m in messages] == [mention["data"]["name"]]


def test_a_429_with_a_spent_budget_waits_for_the_later_of_retry_after_and_reset(
    reddit: RedditConnector, fake: FakeReddit, clock: Clock
) -> None:
    spent = {"retry-after": "30", "x-ratelimit-used": "1000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "300"}
    fake.api.script(
        "GET", "/message/inbox", Response(429, {"message": "Too Many Requests", "error": 429}, headers=spent)
    )

    with pytest.raises(RateLimited) as limited:
        reddit.poll(None)

    assert limited.value.retry_at == clock() + timedelta(seconds=300) == reddit.pace.ready_at


def test_budget_headers_near_the_limit_slow_polling_down(
    reddit: RedditConnector, fake: FakeReddit, clock: Clock
) -> None:
    fake.budget, fake.window = 10, 600

    reddit.poll(None)

    assert reddit.pace.ready_at == clock() + timedelta(seconds=600 / (9 - 1))
    assert not reddit.pace.ready()
    started = time.monotonic()
    for _ in range(8):
        reddit.poll(None)
    assert reddit.pace.ready_at == clock() + timedelta(seconds=600)  # one call left: wait for the new window
    assert time.monotonic() - started < 1.0  # the waiting is the scheduler's, never a sleep inside a poll


def test_a_spent_budget_is_rate_limited_before_any_request_and_without_sleeping(
    reddit: RedditConnector, fake: FakeReddit, clock: Clock, timed: Callable[[], float]
) -> None:
    spent = {"x-ratelimit-used": "1000", "x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "120"}
    fake.api.script("GET", "/message/inbox", Response(200, EMPTY, headers=spent))
    _, cursor = reddit.poll(None)

    with pytest.raises(RateLimited) as limited:
        reddit.poll(cursor)

    assert limited.value.retry_at == clock() + timedelta(seconds=120) == reddit.pace.ready_at
    assert api_calls(fake) == ["GET /message/inbox/"]
    assert timed() < 0.5


def test_a_steady_daemon_never_goes_over_the_advertised_budget(
    reddit: RedditConnector, fake: FakeReddit, clock: Clock
) -> None:
    """Ten minutes of a scheduler ticking every second, polling whenever the pace allows."""
    fake.budget, fake.window = 5, 60
    _, cursor = reddit.poll(None)
    window_start, per_window, expected, received = clock(), [1], [], []
    for second in range(1, 600):
        clock.tick(1)
        if clock() - window_start >= timedelta(seconds=60):
            window_start = clock()
            per_window.append(0)
        if second % 45 == 0:
            expected.append(fake.mention(f"customer{second}", "u/brandco hello")["data"]["name"])
        if reddit.pace.ready():
            messages, cursor = reddit.poll(cursor)
            received += [m.external_id for m in messages]
            per_window[-1] += 1
    clock.tick(60)
    received += [m.external_id for m in reddit.poll(cursor)[0]]

    assert max(per_window) <= fake.budget
    assert min(per_window) >= 3  # the budget is used, not wasted
    assert received == expected


def test_a_server_error_is_transient_with_no_hidden_retry(
    reddit: RedditConnector, fake: FakeReddit, timed: Callable[[], float]
) -> None:
    _, cursor = reddit.poll(None)
    mention = fake.mention("alice", "u/brandco hello")
    fake.api.script("GET", "/message/inbox", Response(502, {"message": "Bad Gateway", "error": 502}))

    with pytest.raises(TransientError, match="502"):
        reddit.poll(cursor)

    assert timed() < 0.5 and api_calls(fake) == ["GET /message/inbox/"] * 2
    assert [m.external_id for m in reddit.poll(cursor)[0]] == [mention["data"]["name"]]


def test_a_timeout_is_transient_after_the_configured_timeout_only(reddit: RedditConnector, fake: FakeReddit) -> None:
    _, cursor = reddit.poll(None)
    fake.api.script("GET", "/message/inbox", Response(200, EMPTY, delay=1.0))

    started = time.monotonic()
    with pytest.raises(TransientError, match="in time"):
        reddit.poll(cursor)

    assert 0.5 <= time.monotonic() - started < 0.9
    assert api_calls(fake) == ["GET /message/inbox/"] * 2


@pytest.mark.parametrize(
    "answer",
    [
        Response(200, raw=b"<html><body>Our CDN is having a moment</body></html>"),
        Response(200, {"kind": "Listing"}),
        Response(
            200,
            {
                "kind": "Listing",
                "data": {"after": None, "before": None, "children": [{"kind": "t1", "data": {"name": "t1_x"}}]},
            },
        ),
    ],
    ids=["not-json", "no-data", "child-without-fields"],
)
def test_an_unreadable_answer_is_a_malformed_payload(
    reddit: RedditConnector, fake: FakeReddit, answer: Response
) -> None:
    fake.api.script("GET", "/message/inbox", answer)

    with pytest.raises(MalformedPayload, match="Reddit"):
        reddit.poll(None)


def test_an_expired_token_is_renewed_once_without_waiting(
    reddit: RedditConnector, fake: FakeReddit, timed: Callable[[], float]
) -> None:
    _, cursor = reddit.poll(None)
    mention = fake.mention("alice", "u/brandco hello")
    fake.expire_tokens()

    messages, _ = reddit.poll(cursor)

    assert [m.external_id for m in messages] == [mention["data"]["name"]]
    assert fake.tokens_issued == 2
    assert timed() < 0.5


def test_a_changed_password_is_an_auth_error_that_says_what_to_check(reddit: RedditConnector, fake: FakeReddit) -> None:
    reddit.poll(None)
    fake.password = "changed-by-someone"
    fake.expire_tokens()

    with pytest.raises(AuthError, match="invalid_grant.*check username and password") as failed:
        reddit.poll(None)

    _assert_no_secret(failed.value, reddit)


def test_a_wrong_client_secret_is_an_auth_error(connect: Callable[..., RedditConnector]) -> None:
    reddit = connect(credentials=secrets(client_secret="not-the-secret"))

    with pytest.raises(AuthError, match="client_id and client_secret") as failed:
        reddit.poll(None)

    _assert_no_secret(failed.value, reddit)
    assert "not-the-secret" not in " ".join(str(e) for e in _chain(failed.value))


def test_a_missing_secret_is_an_auth_error_naming_it(connect: Callable[..., RedditConnector], fake: FakeReddit) -> None:
    credentials = secrets()
    del credentials["password"]
    reddit = connect(credentials=credentials)

    with pytest.raises(AuthError, match="'password' is not set"):
        reddit.verify()

    assert fake.api.requests == []


def test_forbidden_on_poll_stops_the_account(reddit: RedditConnector, fake: FakeReddit) -> None:
    fake.api.script("GET", "/message/inbox", Response(403, {"message": "Forbidden", "error": 403}))

    with pytest.raises(AuthError, match="403"):
        reddit.poll(None)


def test_verify_names_the_account_with_one_cheap_call(reddit: RedditConnector, fake: FakeReddit) -> None:
    assert reddit.verify() == "authenticated as u/brandco"
    assert api_calls(fake) == ["GET /api/v1/me"]


def test_verify_reports_bad_credentials(connect: Callable[..., RedditConnector], fake: FakeReddit) -> None:
    fake.password = "rotated"

    with pytest.raises(AuthError, match="check username and password"):
        connect().verify()


def test_repr_shows_no_secret(reddit: RedditConnector) -> None:
    shown = repr(reddit)
    assert "brand_reddit" in shown and "values redacted" in shown
    assert not any(value in shown for value in SECRETS.values())


TOKEN = "/api/v1/access_token"


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after": "4"}, 4),  # prawcore's recorded Session_request__too__many_requests__with_retry_headers
        ({"retry-after": "4", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "244"}, 244),
        ({}, 60),
    ],
    ids=["retry-after", "reset-later", "no-headers"],
)
def test_a_429_from_the_token_endpoint_is_rate_limited_on_poll_and_reply(
    connect: Callable[..., RedditConnector], fake: FakeReddit, clock: Clock, headers: dict[str, str], wait: int
) -> None:
    """prawcore raises a plain ResponseException (not TooManyRequests) for the token call's 429."""
    mention = fake.mention("alice", "u/brandco hello")
    polled = connect()
    [message], _ = polled.poll(None)
    too_many = Response(429, raw=b"<html>Too Many Requests</html>", headers={"content-type": "text/html", **headers})

    for attempt in (lambda r: r.poll(None), lambda r: r.reply(message, "On it!")):
        reddit = connect()
        fake.api.script("POST", TOKEN, too_many)
        with pytest.raises(RateLimited, match="429 Too Many Requests to the login") as limited:
            attempt(reddit)
        assert limited.value.retry_at == clock() + timedelta(seconds=wait) == reddit.pace.ready_at
        with pytest.raises(RateLimited):  # the gate holds without asking Reddit again
            attempt(reddit)
        clock.tick(wait)
        attempt(reddit)

    assert [r["parent_id"] for r in fake.our_replies()] == [mention["data"]["name"]]


def test_a_web_app_is_told_that_only_script_apps_may_log_in_with_a_password(
    reddit: RedditConnector, fake: FakeReddit
) -> None:
    fake.script_app = False

    with pytest.raises(AuthError, match="only script apps may use a password grant.*'script' app") as failed:
        reddit.verify()

    assert "check username and password" not in str(failed.value)


def test_the_basic_credentials_echoed_by_reddit_are_masked(reddit: RedditConnector, fake: FakeReddit) -> None:
    fake.mention("alice", "u/brandco hello")
    [message], _ = reddit.poll(None)
    basic = fake.api.calls("POST", TOKEN)[0].headers["authorization"]
    echoed = {"json": {"errors": [["BAD_REQUEST", f"bad request with Authorization: {basic}", "text"]]}}
    fake.api.script("POST", "/api/comment", Response(200, echoed))

    with pytest.raises(PermanentError) as failed:
        reddit.reply(message, "On it!")

    assert basic.split()[1] not in str(failed.value) and "Basic ***" in str(failed.value)
