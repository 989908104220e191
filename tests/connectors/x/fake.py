"""A fake of the X API v2 on 127.0.0.1, at the real paths, with the documented JSON shapes.

Serves what the X connector uses: ``GET /2/users/me``, ``GET /2/users/:id/mentions`` (since_id,
start_time, max_results 5-100, pagination_token, only the 800 newest mentions reachable),
``GET /2/users/:id/tweets`` (the same, plus ``exclude``),
``POST /2/tweets`` (replies; deleted parents and duplicate content refused with 403 like X) and
``GET /2/tweets/search/recent`` (``conversation_id:`` and ``from:`` operators, last 7 days).
Fields are filtered by ``tweet.fields`` / ``user.fields`` and ``expansions=author_id`` like X,
so a connector that forgets to ask for a field does not get it.

Every API answer carries ``x-rate-limit-limit/-remaining/-reset`` from a 15-minute window per
endpoint; at zero it answers 429 like X. Credentials are checked: a Bearer token (an OAuth 2.0
user token, or an app-only token, which X refuses for user-context endpoints) or an OAuth 1.0a
header whose ``oauth_token`` is known; OAuth 1.0a answers carry ``x-access-level``.

A reply mentions everyone its parent mentioned (X auto-populates reply metadata) except its own
author: X never lists a post in its author's own mentions (tweepy's recorded
``cassettes/test_client_get_users_mentions.yaml``: every post in @Twitter's mentions is by someone
else), so the brand's replies are only in ``GET /2/users/:id/tweets``. That timeline filters
``exclude=retweets,replies`` after choosing a page, so a page can hold fewer posts than asked and
still carry a ``next_token`` (``cassettes/test_client_get_users_tweets.yaml``: 2 posts for
``max_results`` 10, with a ``next_token``); it reaches the 3200 newest posts.

Run by hand: ``python -m tests.connectors.x.fake --port 8081``; post a customer mention with
``curl -X POST localhost:8081/_fake/mention -d '{"username": "alice", "text": "@brand my order is late"}'``.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.fakes.http import FakeAPI, Request, Response

SNOWFLAKE_EPOCH_MS = 1288834974657
WINDOW = 900
MENTIONS_REACH = 800
# Per-user limits from docs.x.com (pay-per-use table): requests per 15-minute window.
DEFAULT_LIMITS = {"me": 75, "mentions": 300, "timeline": 900, "tweets": 100, "search": 300}
TIMELINE_REACH = 3200
DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")
DEFAULT_USER_FIELDS = ("id", "name", "username")

FIXTURES = Path(__file__).with_name("fixtures")


def recorded(name: str) -> Any:
    """A response body recorded from X's documentation, kept in ``fixtures/<name>.json``."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Window:
    limit: int
    reset: int = 0
    remaining: int = 0


@dataclass
class Credentials:
    """What the fake accepts; defaults are what ``main`` prints for manual runs."""

    user_token: str = "fake-oauth2-user-token"
    app_token: str = "fake-app-bearer-token"
    consumer_key: str = "fake-consumer-key"
    consumer_secret: str = "fake-consumer-secret"
    access_token: str = "fake-access-token"
    access_token_secret: str = "fake-access-token-secret"


class FakeX:
    """The brand's X account and its customers, served on 127.0.0.1."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = utcnow,
        brand: tuple[str, str, str] = ("1000", "brand", "Brand Support"),
        credentials: Credentials | None = None,
        limits: Mapping[str, int] | None = None,
    ) -> None:
        self.clock = clock
        self.credentials = credentials or Credentials()
        self.access_level = "read-write"
        self.revoked = False
        self.me = brand[0]
        self.users: dict[str, dict[str, str]] = {}
        self.tweets: dict[str, dict[str, Any]] = {}
        self.mentioned: dict[str, set[str]] = {}
        self.deleted: set[str] = set()
        self.windows = {key: Window(value) for key, value in {**DEFAULT_LIMITS, **(limits or {})}.items()}
        self.served: dict[str, dict[int, int]] = {key: {} for key in self.windows}
        self.throttled: list[str] = []
        self.faults: list[tuple[Callable[[Request], bool], Response]] = []
        self.delays: list[tuple[Callable[[Request], bool], float]] = []
        self._last_id = 0
        self._lock = threading.RLock()
        self.add_user(*brand)
        self.api = FakeAPI()
        self.api.fault_answers = self._fault_answer
        self._routes()

    # -- scenario helpers ---------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeX:
        self.api.start(port)
        return self

    def stop(self) -> None:
        self.api.stop()

    @property
    def url(self) -> str:
        return self.api.url

    @property
    def brand(self) -> dict[str, str]:
        return self.users[self.me]

    def add_user(self, user_id: str, username: str, name: str) -> dict[str, str]:
        with self._lock:
            self.users[user_id] = {"id": user_id, "name": name, "username": username}
            return self.users[user_id]

    def user(self, username: str, name: str | None = None) -> dict[str, str]:
        """The user with this handle, created on first use."""
        with self._lock:
            for user in self.users.values():
                if user["username"].lower() == username.lower():
                    return user
            return self.add_user(str(len(self.users) + 41), username, name or username.title())

    def mention(
        self,
        text: str,
        *,
        username: str = "alice",
        name: str | None = None,
        lang: str = "en",
        in_reply_to: str | None = None,
    ) -> dict[str, Any]:
        """A customer post mentioning the brand (``@brand`` is prefixed if the text lacks it)."""
        handle = f"@{self.brand['username']}"
        if handle.lower() not in text.lower():
            text = f"{handle} {text}"
        return self.post(self.user(username, name)["id"], text, lang=lang, in_reply_to=in_reply_to)

    def retweet(self, tweet_id: str, *, username: str) -> dict[str, Any]:
        original = self.tweets[tweet_id]
        author = self.users[original["author_id"]]["username"]
        return self.post(
            self.user(username)["id"], f"RT @{author}: {original['text']}", lang=original["lang"], retweet_of=tweet_id
        )

    def post(
        self,
        author_id: str,
        text: str,
        *,
        lang: str = "und",
        in_reply_to: str | None = None,
        retweet_of: str | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            now = self.clock()
            tweet_id = str(self._next_id(now))
            tweet: dict[str, Any] = {
                "id": tweet_id,
                "text": text,
                "author_id": author_id,
                "conversation_id": tweet_id,
                "created_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
                "lang": lang,
                "edit_history_tweet_ids": [tweet_id],
            }
            mentioned = {u["id"] for u in self.users.values() if re.search(rf"@{u['username']}\b", text, re.IGNORECASE)}
            if in_reply_to is not None:
                parent = self.tweets[in_reply_to]
                tweet["conversation_id"] = parent["conversation_id"]
                tweet["in_reply_to_user_id"] = parent["author_id"]
                tweet["referenced_tweets"] = [{"type": "replied_to", "id": in_reply_to}]
                mentioned |= {parent["author_id"], *self.mentioned[in_reply_to]}
            if retweet_of is not None:
                tweet["referenced_tweets"] = [{"type": "retweeted", "id": retweet_of}]
                mentioned |= self.mentioned[retweet_of]
            self.tweets[tweet_id] = tweet
            self.mentioned[tweet_id] = mentioned - {author_id}
            return tweet

    def fail_once(self, when: Callable[[Request], bool], response: Response) -> None:
        """Answer the first API request matching ``when`` with ``response`` (after auth)."""
        with self._lock:
            self.faults.append((when, response))

    def slow_once(self, when: Callable[[Request], bool], seconds: float) -> None:
        """Do the work of the first API request matching ``when``, then answer it ``seconds`` late."""
        with self._lock:
            self.delays.append((when, seconds))

    def delete(self, tweet_id: str) -> None:
        self.deleted.add(tweet_id)

    def mention_ids(self, user_id: str | None = None) -> list[str]:
        """Ids of the live posts mentioning ``user_id`` (the brand by default), oldest first."""
        user_id = user_id or self.me
        with self._lock:
            ids = [i for i in self.tweets if user_id in self.mentioned[i] and i not in self.deleted]
        return sorted(ids, key=int)

    def posts(self) -> list[Request]:
        """Every ``POST /2/tweets`` the fake received, answered or not."""
        return self.api.calls("POST", "/2/tweets")

    def replies_to(self, tweet_id: str) -> list[dict[str, Any]]:
        return [
            t for t in self.tweets.values() if {"type": "replied_to", "id": tweet_id} in t.get("referenced_tweets", [])
        ]

    def _fault_answer(self, kind: str, request: Request) -> Response:
        """The fault mode's answers in X's shapes: its 503 and 429 bodies, reset headers, and an
        invalid-request problem whose detail echoes the request's headers."""
        if kind == "429":
            reset = str(int(self.clock().timestamp()) + 60)
            headers = {"x-rate-limit-limit": "300", "x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
            return Response(429, recorded("too_many_requests"), headers)
        if kind == "echo":
            echoed = _invalid("query", f"is invalid; request headers: {json.dumps(request.headers)}")
            return Response(400, {**echoed, "detail": echoed["errors"][0]["message"]})
        return Response(503, recorded("service_unavailable"))

    # -- the API ------------------------------------------------------------------------------

    def _routes(self) -> None:
        route = self.api.route
        route("GET", r"/2/users/me")(self._guard("me", self._get_me, user_context=True))
        route("GET", r"/2/users/(?P<id>\d+)/mentions")(self._guard("mentions", self._get_mentions))
        route("GET", r"/2/users/(?P<id>\d+)/tweets")(self._guard("timeline", self._get_user_tweets))
        route("POST", r"/2/tweets")(self._guard("tweets", self._create_tweet, user_context=True))
        route("GET", r"/2/tweets/search/recent")(self._guard("search", self._search_recent))
        route("POST", r"/_fake/mention")(self._fake_mention)
        route("GET", r"/_fake/tweets")(lambda request, match: Response(200, {"data": list(self.tweets.values())}))

    def _guard(
        self, key: str, handler: Callable[[Request, re.Match[str]], Response], *, user_context: bool = False
    ) -> Callable[[Request, re.Match[str]], Response]:
        """Authentication, then the endpoint's rate-limit window, then the handler; headers like X."""

        def guarded(request: Request, match: re.Match[str]) -> Response:
            kind = self._authenticate(request)
            if kind is None:
                return Response(401, recorded("unauthorized"))
            if user_context and kind == "app":
                return Response(403, recorded("unsupported_authentication"))
            extra = {"x-access-level": self.access_level} if kind == "oauth1" else {}
            with self._lock:
                for fault in self.faults:
                    if fault[0](request):
                        self.faults.remove(fault)
                        return fault[1]
            with self._lock:
                window = self.windows[key]
                now = int(self.clock().timestamp())
                if now >= window.reset:
                    window.reset, window.remaining = now + WINDOW, window.limit
                exhausted = window.remaining == 0
                window.remaining = max(0, window.remaining - 1)
                headers = {
                    "x-rate-limit-limit": str(window.limit),
                    "x-rate-limit-remaining": str(window.remaining),
                    "x-rate-limit-reset": str(window.reset),
                    **extra,
                }
                if exhausted:
                    self.throttled.append(key)
                else:
                    self.served[key][window.reset] = self.served[key].get(window.reset, 0) + 1
            if exhausted:
                return Response(429, recorded("too_many_requests"), headers)
            if key == "tweets" and kind == "oauth1" and self.access_level == "read":
                return Response(403, recorded("oauth1_permissions"), headers)
            response = handler(request, match)
            response.headers = {**headers, **response.headers}
            with self._lock:
                for delay in self.delays:
                    if delay[0](request):
                        self.delays.remove(delay)
                        response.delay = delay[1]
                        break
            return response

        return guarded

    def _authenticate(self, request: Request) -> str | None:
        if self.revoked:
            return None
        header = request.headers.get("authorization", "")
        creds = self.credentials
        if header == f"Bearer {creds.user_token}":
            return "user"
        if header == f"Bearer {creds.app_token}":
            return "app"
        token = re.search(r'oauth_token="([^"]*)"', header)
        consumer = re.search(r'oauth_consumer_key="([^"]*)"', header)
        signed = header.startswith("OAuth ") and "oauth_signature=" in header
        if signed and token and consumer and (token[1], consumer[1]) == (creds.access_token, creds.consumer_key):
            return "oauth1"
        return None

    def _get_me(self, request: Request, match: re.Match[str]) -> Response:
        return Response(200, {"data": _pick(self.brand, request.query.get("user.fields"), DEFAULT_USER_FIELDS)})

    def _get_mentions(self, request: Request, match: re.Match[str]) -> Response:
        user_id = match["id"]
        found = [self.tweets[i] for i in reversed(self.mention_ids(user_id))]
        return self._page(request, found[:MENTIONS_REACH], token_param="pagination_token", smallest=5)

    def _get_user_tweets(self, request: Request, match: re.Match[str]) -> Response:
        excluded = set(filter(None, request.query.get("exclude", "").split(",")))
        with self._lock:
            found = [t for i, t in self.tweets.items() if t["author_id"] == match["id"] and i not in self.deleted]
        found.sort(key=lambda t: int(t["id"]), reverse=True)

        def kept(tweet: Mapping[str, Any]) -> bool:
            kinds = {ref["type"] for ref in tweet.get("referenced_tweets", [])}
            dropped = ({"retweeted"} if "retweets" in excluded else set()) | (
                {"replied_to"} if "replies" in excluded else set()
            )
            return not kinds & dropped

        return self._page(request, found[:TIMELINE_REACH], token_param="pagination_token", smallest=5, keep=kept)

    def _search_recent(self, request: Request, match: re.Match[str]) -> Response:
        query = request.query.get("query", "")
        conversation = re.search(r"conversation_id:(\d+)", query)
        author = re.search(r"from:(\w+)", query)
        words = [w for w in query.split() if ":" not in w]
        since = self.clock() - timedelta(days=7)
        with self._lock:
            found = [
                t
                for i, t in self.tweets.items()
                if i not in self.deleted
                and _parse_time(t["created_at"]) >= since
                and (conversation is None or t["conversation_id"] == conversation[1])
                and (author is None or author[1] in (t["author_id"], self.users[t["author_id"]]["username"]))
                and all(w.lower() in t["text"].lower() for w in words)
            ]
        found.sort(key=lambda t: int(t["id"]), reverse=True)
        return self._page(request, found, token_param="next_token", smallest=10)

    def _page(
        self,
        request: Request,
        tweets: list[dict[str, Any]],
        *,
        token_param: str,
        smallest: int,
        keep: Callable[[Mapping[str, Any]], bool] = lambda tweet: True,
    ) -> Response:
        q = request.query
        size = int(q.get("max_results", 10))
        if not smallest <= size <= 100:
            return Response(400, _invalid("max_results", f"must be between {smallest} and 100"))
        if "since_id" in q:
            tweets = [t for t in tweets if int(t["id"]) > int(q["since_id"])]
        if "start_time" in q:
            start = datetime.strptime(q["start_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            tweets = [t for t in tweets if _parse_time(t["created_at"]) >= start]
        if token_param in q:
            older_than = int(q[token_param].removeprefix("p"))
            tweets = [t for t in tweets if int(t["id"]) < older_than]
        chosen, rest = tweets[:size], tweets[size:]
        page = [t for t in chosen if keep(t)]
        token = {"next_token": f"p{chosen[-1]['id']}"} if rest else {}
        if not page:
            return Response(200, {"meta": {"result_count": 0, **token}})
        meta: dict[str, Any] = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": len(page)}
        meta |= token
        body: dict[str, Any] = {
            "data": [_pick(t, q.get("tweet.fields"), DEFAULT_TWEET_FIELDS) for t in page],
            "meta": meta,
        }
        if "author_id" in q.get("expansions", "").split(","):
            authors = dict.fromkeys(t["author_id"] for t in page)
            body["includes"] = {
                "users": [_pick(self.users[a], q.get("user.fields"), DEFAULT_USER_FIELDS) for a in authors]
            }
        return Response(200, body)

    def _create_tweet(self, request: Request, match: re.Match[str]) -> Response:
        try:
            body = request.json
            text = body["text"]
            parent = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        except (ValueError, KeyError, TypeError, AttributeError):
            return Response(400, _invalid("text", "is missing but it is required"))
        if len(text) > 280:
            return Response(400, _invalid("text", "Tweet text is too long."))
        with self._lock:
            if parent is not None and (parent not in self.tweets or parent in self.deleted):
                return Response(403, recorded("deleted_parent"))
            if any(t["author_id"] == self.me and t["text"] == text for t in self.tweets.values()):
                return Response(403, recorded("duplicate"))
            tweet = self.post(self.me, text, in_reply_to=parent)
        return Response(201, {"data": {"id": tweet["id"], "text": text, "edit_history_tweet_ids": [tweet["id"]]}})

    def _fake_mention(self, request: Request, match: re.Match[str]) -> Response:
        try:
            body = request.json
            tweet = self.mention(
                str(body["text"]),
                username=str(body.get("username", "alice")),
                name=body.get("name"),
                lang=str(body.get("lang", "en")),
                in_reply_to=body.get("in_reply_to"),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            return Response(400, {"error": f'expected {{"text": ..., "username": ...}}: {err}'})
        return Response(201, {"data": tweet})

    def _next_id(self, now: datetime) -> int:
        snowflake = (int(now.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS) << 22
        self._last_id = max(self._last_id + 1, snowflake)
        return self._last_id


def _pick(obj: Mapping[str, Any], requested: str | None, always: Iterable[str]) -> dict[str, Any]:
    wanted = set(always) | set(filter(None, (requested or "").split(",")))
    return {k: v for k, v in obj.items() if k in wanted}


def _parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def _invalid(parameter: str, message: str) -> dict[str, Any]:
    return {
        "errors": [{"parameters": {parameter: []}, "message": f"{parameter}: {message}"}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake X API v2 on 127.0.0.1 for watching socialcare work.")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    fake = FakeX()
    fake.api.serve_by_hand(args.port, lambda: _banner(fake))


def _banner(fake: FakeX) -> list[str]:
    creds = fake.credentials
    return [
        f"fake X API v2 on {fake.url} as @{fake.brand['username']} (id {fake.me})",
        f"""
Add to your socialcare.toml:

    [accounts.brand_x]
    platform = "x"
    poll_interval = "10s"
    api_url = "{fake.url}"

and set its secrets:

    export SOCIALCARE_BRAND_X_CONSUMER_KEY={creds.consumer_key}
    export SOCIALCARE_BRAND_X_CONSUMER_SECRET={creds.consumer_secret}
    export SOCIALCARE_BRAND_X_ACCESS_TOKEN={creds.access_token}
    export SOCIALCARE_BRAND_X_ACCESS_TOKEN_SECRET={creds.access_token_secret}

(or auth = "oauth2" and SOCIALCARE_BRAND_X_BEARER_TOKEN={creds.user_token}).

A customer mentions the brand:

    curl -X POST {fake.url}/_fake/mention -d '{json.dumps({"username": "alice", "text": "@brand my order is late"})}'

Everything posted so far, replies included:

    curl {fake.url}/_fake/tweets

Ctrl-C stops it.""",
    ]


if __name__ == "__main__":
    main()
