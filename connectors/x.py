"""X (Twitter): mentions of the connected account in, replies in the same conversation out.

Built on tweepy's v2 :class:`tweepy.Client`. tweepy hard-codes ``https://api.twitter.com`` and
sets no timeout, so the one client factory mounts :class:`_Redirect` on ``client.session``: it
sends every request to ``api_url`` (a local fake in tests, the real host otherwise) with a
timeout. tweepy never waits on a rate limit here (``wait_on_rate_limit=False``): a 429 becomes
:class:`RateLimited` and the scheduler skips the account until ``x-rate-limit-reset``. A session
response hook reads ``x-rate-limit-remaining`` / ``-reset`` on every answer, so polling slows
down before the window runs dry.

Two timelines are read, since X never lists a post in its own author's mentions: the
**mentions** (the customers) and the account's **own posts** (``GET /2/users/:id/tweets``,
retweets excluded), where replies the team typed on X itself are found and returned as
``from_us``, so no customer is answered twice. Cursor: JSON with, per timeline, the newest post
id read (``since_id``) or, until there is one, the time to read from (``start``: the last poll's
time less ``INDEXING_LAG``), plus the posts read this calendar month (UTC) for the monthly read
budget. Every page newer than the cursor is read; only the very first poll reads a single page
of the last ``backfill_hours``, so connecting an account does not flood the queue. Whatever is
known to be left unread is logged as a warning.

With ``monthly_read_budget`` set (X's plans cap posts read per month), reads are spent on
schedule (see :class:`_Budget`): the poll interval stretches so the month's budget lasts, and
when traffic outruns the budget the newest mentions are read first and a warning is logged.

Retweets carry no new words: a retweet by someone else is dropped (its original is, or was, in
the mentions); our own retweets are not asked for.
"""

from __future__ import annotations

import html
import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

import requests
import tweepy
from pydantic import Field, SecretStr, field_validator

from connectors.base import (
    AuthError,
    Capabilities,
    Connector,
    InboundMessage,
    MalformedPayload,
    Pace,
    PermanentError,
    RateLimited,
    Receipt,
    ReplyRefused,
    Settings,
    TransientError,
    mapping,
    platform_id,
    platform_text,
    utcnow,
)

__all__ = ["XConnector", "XSettings", "measure"]

log = logging.getLogger(__name__)
# tweepy logs request headers (the bearer token) and requests-oauthlib / oauthlib the signed
# OAuth header and base string (the access token) at DEBUG: a debug log level must not print them.
for _vendor in ("tweepy.client", "requests_oauthlib", "oauthlib"):
    logging.getLogger(_vendor).setLevel(logging.INFO)

X_API = "https://api.twitter.com"
DAY = timedelta(days=1)
MAX_LENGTH = 280
MENTIONS_REACH = 800  # X serves at most the 800 newest mentions, however we page
OWN_REACH = 3200  # and the 3200 newest posts of a user's own timeline
#: With nothing read yet, the next poll asks for posts created since this long before the last
#: one: a post can reach the timelines a little after its creation time (and clocks differ).
INDEXING_LAG = timedelta(minutes=10)
SEARCH_PAGES = 5  # find_reply looks at up to 500 of our posts in the conversation
TWEET_FIELDS = ["author_id", "conversation_id", "created_at", "lang", "referenced_tweets"]
USER_FIELDS = ["name", "username"]
OAUTH1_SECRETS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
OAUTH2_SECRETS = ("bearer_token",)
# Problem types and reasons X uses when the app or token lacks a permission (fixable by a person).
PERMISSION_PROBLEMS = ("client-forbidden", "oauth1-permissions", "unsupported-authentication", "client-not-enrolled")


class XSettings(Settings):
    """The non-secret part of an X account's config."""

    api_url: str = X_API
    auth: Literal["oauth1", "oauth2"] = "oauth1"
    page_size: int = Field(100, ge=5, le=100)
    backfill_hours: float = Field(24.0, ge=1, le=24 * 7)
    monthly_read_budget: int | None = Field(None, ge=1)
    timeout: float = Field(10.0, gt=0)

    @field_validator("api_url")
    @classmethod
    def _origin_only(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
            raise ValueError(
                f"api_url must be an origin like {X_API} or http://127.0.0.1:8081 (no path), got {value!r}"
            )
        return f"{parts.scheme}://{parts.netloc}"


@dataclass
class _Stream:
    """Where one timeline stands: the newest post read, or, before any, since when to read."""

    since_id: str | None = None
    start: datetime | None = None

    def dump(self) -> dict[str, str | None]:
        return {"since_id": self.since_id, "start": self.start.isoformat() if self.start else None}

    @classmethod
    def load(cls, since_id: Any, start: Any) -> _Stream:
        if since_id is not None and not (isinstance(since_id, str) and since_id.isdigit()):
            raise ValueError("since_id is not a tweet id")
        begun = datetime.fromisoformat(start) if start is not None else None
        if begun is not None and begun.tzinfo is None:
            raise ValueError("start has no UTC offset")
        return cls(since_id, begun)


@dataclass
class _Cursor:
    """Both timelines' positions and how many posts were read this month.

    ``mentions`` reads the customers, ``own`` the account's own posts (replies typed on X).
    """

    mentions: _Stream
    own: _Stream
    month: str
    read: int = 0

    @classmethod
    def load(cls, cursor: str | None, now: datetime) -> _Cursor:
        """A bare tweet id and the older one-timeline cursor are accepted too; anything unreadable
        starts over like a first poll (ingest is idempotent, so re-reading duplicates nothing)."""
        month = now.strftime("%Y-%m")
        if cursor is None:
            return cls(_Stream(), _Stream(), month)
        if cursor.isdigit():
            return cls(_Stream(cursor), _Stream(), month)
        try:
            state = json.loads(cursor)
            read, stored_month = int(state["read"]), str(state["month"])
            mentions = _Stream.load(state["since_id"], state.get("start"))
            own = _Stream.load(state.get("own_since_id"), state.get("own_start"))
        except (ValueError, KeyError, TypeError) as err:
            log.warning("unreadable X cursor %r (%s): starting over as on a first poll", cursor[:80], err)
            return cls(_Stream(), _Stream(), month)
        return cls(mentions, own, month, read if stored_month == month else 0)

    def dump(self) -> str:
        mentions, own = self.mentions.dump(), self.own.dump()
        state = {**mentions, "own_since_id": own["since_id"], "own_start": own["start"]}
        return json.dumps({**state, "month": self.month, "read": self.read})


@dataclass(frozen=True)
class _Budget:
    """X's monthly cap on posts read, spent on schedule within the calendar month (UTC).

    By time ``t`` we may have read ``share(t) = budget × (t − month_start + 1 day) / (month_length
    + 1 day)`` posts: about a day's worth up front for bursts, then an even rate reaching the whole
    budget as the month ends; what is not used carries over within the month. A poll reads at
    most what is left of the share (newest first), and the account is not polled again before
    the share allows one more post.
    """

    budget: int
    start: datetime
    end: datetime

    @classmethod
    def of(cls, budget: int | None, now: datetime) -> _Budget | None:
        if budget is None:
            return None
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return cls(budget, start, (start + timedelta(days=32)).replace(day=1))

    def allowance(self, read: int, now: datetime) -> int:
        share = self.budget * min(1.0, (now - self.start + DAY) / (self.end - self.start + DAY))
        return max(0, int(share) - read)

    def next_read(self, read: int) -> datetime:
        if read >= self.budget:
            return self.end
        return self.start + (self.end - self.start + DAY) * ((read + 1) / self.budget) - DAY


class XConnector(Connector):
    """One X account: its mentions are the inbox, replies go into the same conversation.

    Secrets: ``auth = "oauth1"`` (default) signs every call with the app's ``consumer_key`` /
    ``consumer_secret`` and the account's ``access_token`` / ``access_token_secret``; an optional
    app-only ``bearer_token`` then carries the reads (the app's own rate-limit bucket).
    ``auth = "oauth2"`` uses ``bearer_token`` alone, which must be an OAuth 2.0 user token with
    the scopes ``tweet.read users.read tweet.write``.
    """

    platform: ClassVar[str] = "x"
    capabilities: ClassVar[Capabilities] = Capabilities(max_reply_length=MAX_LENGTH, public=True)
    settings_model: ClassVar[type[Settings]] = XSettings
    secrets: ClassVar[tuple[str, ...]] = ("bearer_token", *OAUTH1_SECRETS)

    settings: XSettings

    def required_secrets(self) -> tuple[str, ...]:
        """Only the auth mode's own secrets; the bearer token is optional with OAuth 1.0a."""
        return OAUTH2_SECRETS if self.settings.auth == "oauth2" else OAUTH1_SECRETS

    def __init__(self, name: str, settings: Settings, secrets: Mapping[str, SecretStr]) -> None:
        if not isinstance(settings, XSettings):
            raise TypeError(f"XConnector needs XSettings, got {type(settings).__name__}")
        super().__init__(name, settings, secrets)
        self.clock: Callable[[], datetime] = utcnow
        self.pace = Pace(clock=lambda: self.clock())
        self._own_blocked: datetime | None = None  # the own timeline's rate-limit window is spent until then
        self._client: tweepy.Client | None = None
        self._me: tuple[str, str] | None = None
        self._access_level: str | None = None

    # -- the contract -------------------------------------------------------------------------

    def poll(self, cursor: str | None) -> tuple[Sequence[InboundMessage], str | None]:
        """New mentions, and our own replies typed on X, since ``cursor``; oldest first.

        X never lists a post in its own author's mentions, so replies the team types on X itself
        are read from the account's timeline (``GET /2/users/:id/tweets``): 2 requests when
        nothing is new, plus one per further page of either. The timeline has its own rate-limit
        window: once that is spent it is read again after its reset, from where it stopped.
        """
        now = self.clock().astimezone(UTC)
        state = _Cursor.load(cursor, now)
        me_id, handle = self._whoami()
        budget = _Budget.of(self.settings.monthly_read_budget, now)
        allowance = budget.allowance(state.read, now) if budget else None
        mentions, users = self._read(
            "mentions", self.client.get_users_mentions, me_id, state.mentions, now, allowance, MENTIONS_REACH
        )
        own: dict[str, Mapping[str, Any]] = {}
        left = None if allowance is None else allowance - len(mentions)
        if (self._own_blocked is None or now >= self._own_blocked) and (left is None or left >= 5):
            try:
                own, _ = self._read("own posts", self.client.get_users_tweets, me_id, state.own, now, left, OWN_REACH)
            except RateLimited as err:
                log.info("account %r: our own posts are read after %s: %s", self.name, err.retry_at, err)
        users[me_id] = {"id": me_id, "username": handle}
        found = [self._message(t, users, me_id) for t in mentions.values()]
        found += [self._message(t, users, me_id) for t in own.values() if "replied_to" in _references(t)]
        messages = sorted((m for m in found if m is not None), key=lambda m: int(m.external_id))
        state.read += len(mentions) + len(own)
        if budget is not None and (ready := budget.next_read(state.read)) > now:
            self.pace.block_until(ready)
        return messages, state.dump()

    def _read(
        self,
        what: str,
        call: Callable[..., Any],
        me_id: str,
        stream: _Stream,
        now: datetime,
        allowance: int | None,
        reach: int,
    ) -> tuple[dict[str, Mapping[str, Any]], dict[str, Mapping[str, Any]]]:
        """The posts of one timeline newer than ``stream`` (which it moves on), newest page first.

        Every page is read, up to what X serves (``reach``), except on an account's very first
        poll, which reads one page of the last ``backfill_hours``. Whatever is known to be left
        unread is logged. Ids at or below ``since_id`` are dropped, so a page X serves twice
        adds nothing.
        """
        params: dict[str, Any] = {"max_results": self.settings.page_size, "tweet_fields": TWEET_FIELDS}
        if call == self.client.get_users_mentions:
            params |= {"expansions": ["author_id"], "user_fields": USER_FIELDS}
        else:
            params["exclude"] = ["retweets"]
        first = stream.since_id is None and stream.start is None
        if stream.since_id is not None:
            params["since_id"] = stream.since_id
        else:
            params["start_time"] = stream.start or now - timedelta(hours=self.settings.backfill_hours)
        floor = int(stream.since_id or 0)
        tweets: dict[str, Mapping[str, Any]] = {}
        users: dict[str, Mapping[str, Any]] = {}
        newest: str | None = None
        tokens: set[str] = set()
        skipped = ""
        for page in range(1 if first else -(-reach // self.settings.page_size)):
            if allowance is not None:
                params["max_results"] = min(self.settings.page_size, max(5, allowance - len(tweets)))
            response = self._request(f"reading {what}", call, id=me_id, user_auth=self._read_user_auth, **params)
            meta = mapping(response.meta, "meta")
            if page == 0 and meta.get("newest_id") is not None:
                newest = str(meta["newest_id"])
            for tweet in _tweets(response):
                if int(tweet.id) > floor:
                    tweets[str(tweet.id)] = tweet.data
            for user in mapping(response.includes, "includes").get("users", []):
                users[str(user.id)] = user.data
            token = meta.get("next_token")
            if not token:
                break
            if token in tokens:
                raise MalformedPayload(f"X answered {what} with the same page twice; the cursor is kept")
            tokens.add(token)
            if allowance is not None and len(tweets) >= allowance:
                skipped = f"the monthly read budget of {self.settings.monthly_read_budget} posts is spent for now"
                break
            params["pagination_token"] = token
        else:
            if token:
                skipped = "the first poll reads one page" if first else f"X serves only the {reach} newest"
        if not skipped and len(tweets) >= reach:
            skipped = f"X serves only the {reach} newest"
        if skipped:
            log.warning(
                "account %r: %s, so older %s since the last poll are skipped%s",
                self.name,
                skipped,
                what,
                " (raise monthly_read_budget if your X plan allows)" if "budget" in skipped else "",
            )
        if newest is not None and int(newest) > floor:
            stream.since_id, stream.start = newest, None
        elif stream.since_id is None:
            stream.start = max(stream.start or now - INDEXING_LAG, now - INDEXING_LAG)
        return tweets, users

    def reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt:
        """Post ``text`` as a reply to the customer's tweet; refused before sending if too long."""
        self.check_reply(to, text)
        try:
            response = self._request(
                "posting the reply",
                self.client.create_tweet,
                text=text,
                in_reply_to_tweet_id=to.external_id,
                user_auth=self._user_auth,
            )
        except _Duplicate:
            existing = self.find_reply(to, text)
            if existing is None:
                raise
            return existing
        data = mapping(response.data, "created tweet")
        if "id" not in data:
            raise MalformedPayload("X accepted the reply but returned no tweet id")
        return Receipt(external_id=str(data["id"]), sent_at=self.clock(), url=self._status_url(data["id"]), raw=data)

    def find_reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt | None:
        """Our reply to ``to`` carrying ``text``, found by recent search in its conversation.

        Search covers the last seven days and may lag a few seconds behind a new post.
        """
        me_id, _ = self._whoami()
        want = _comparable(text)
        params: dict[str, Any] = {
            "query": f"conversation_id:{to.thread_id} from:{me_id}",
            "max_results": 100,
            "tweet_fields": TWEET_FIELDS,
        }
        for _ in range(SEARCH_PAGES):
            response = self._request(
                "looking for our earlier reply",
                self.client.search_recent_tweets,
                user_auth=self._read_user_auth,
                **params,
            )
            for tweet in _tweets(response):
                data = tweet.data
                if _references(data).get("replied_to") == to.external_id and _comparable(tweet.text) == want:
                    sent_at = tweet.created_at or self.clock()
                    return Receipt(external_id=str(tweet.id), sent_at=sent_at, url=self._status_url(tweet.id), raw=data)
            token = mapping(response.meta, "meta").get("next_token")
            if not token:
                return None
            params["next_token"] = token
        return None

    def verify(self) -> str:
        """``GET /2/users/me``: proves the token, and with OAuth 1.0a that the app may post."""
        self._me = None
        me_id, username = self._whoami()
        if self.settings.auth == "oauth1" and self._access_level == "read":
            raise AuthError(
                f"account {self.name!r}: the X app only has Read permission, so replies would be refused; "
                "set 'Read and write' in the developer portal, then regenerate the access token and secret"
            )
        return f"authenticated as @{username} (id {me_id})"

    def measure(self, text: str) -> int:
        return measure(text)

    def check_reply(self, to: InboundMessage, text: str, now: datetime | None = None) -> None:
        length = measure(text)
        if text.strip() and length > MAX_LENGTH:
            raise ReplyRefused(
                f"the reply is {length} characters as X counts them (each link 23, most emoji and CJK 2); "
                f"X allows {MAX_LENGTH}: shorten it by {length - MAX_LENGTH}"
            )
        super().check_reply(to, text, now)

    # -- client and requests ------------------------------------------------------------------

    @property
    def client(self) -> tweepy.Client:
        """The one tweepy client of this account, built on first use (so missing secrets surface
        as :class:`AuthError` where the account is used, not at start-up)."""
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def _build_client(self) -> tweepy.Client:
        if self.settings.auth == "oauth2":
            client = tweepy.Client(bearer_token=self.secret("bearer_token"), wait_on_rate_limit=False)
        else:
            client = tweepy.Client(
                bearer_token=self._optional_secret("bearer_token"),
                consumer_key=self.secret("consumer_key"),
                consumer_secret=self.secret("consumer_secret"),
                access_token=self.secret("access_token"),
                access_token_secret=self.secret("access_token_secret"),
                wait_on_rate_limit=False,
            )
        client.session.mount(X_API, _Redirect(self.settings.api_url, self.settings.timeout))
        client.session.hooks["response"].append(self._observe)
        return client

    @property
    def _user_auth(self) -> bool:
        """Whether tweepy signs with OAuth 1.0a (else it sends the bearer token)."""
        return self.settings.auth == "oauth1"

    @property
    def _read_user_auth(self) -> bool:
        return self._user_auth and self._optional_secret("bearer_token") is None

    def _optional_secret(self, key: str) -> str | None:
        secret = self._secrets.get(key)
        return secret.get_secret_value() if secret is not None else None

    def _whoami(self) -> tuple[str, str]:
        """Our user id and handle, asked once per process (``GET /2/users/me``)."""
        if self._me is None:
            response = self._request(
                "checking the account", self.client.get_me, user_auth=self._user_auth, user_fields=USER_FIELDS
            )
            user = response.data
            if user is None or getattr(user, "username", None) is None:
                raise MalformedPayload("X answered GET /2/users/me without a user")
            self._me = (str(user.id), str(user.username))
        return self._me

    def _request(self, what: str, call: Callable[..., Any], /, **params: Any) -> Any:
        """Run one tweepy call and translate every failure into the connector error tree."""
        try:
            try:
                return call(**params)
            except Exception as err:
                raise self.scrub(err)  # noqa: B904 - the same exception, its message masked
        except tweepy.TooManyRequests as err:
            retry_at = _from_epoch(err.reset_time)
            if call == getattr(self._client, "get_users_tweets", None):
                self._own_blocked = retry_at or self.clock() + timedelta(minutes=15)
            else:
                self.pace.block_until(retry_at, fallback=timedelta(minutes=15))
            when = retry_at.isoformat() if retry_at else "in 15 minutes"
            raise RateLimited(
                f"X rate limit reached while {what}; account {self.name!r} waits until {when}", retry_at
            ) from err
        except tweepy.Unauthorized as err:
            raise AuthError(
                f"X rejected the credentials of account {self.name!r} while {what} (token expired or revoked): "
                "re-authenticate the account and update its secrets"
            ) from err
        except tweepy.Forbidden as err:
            problem = _problem(err, self.redact)
            if any(marker in problem.kind for marker in PERMISSION_PROBLEMS):
                raise AuthError(
                    f"X refused {what} for account {self.name!r}: {problem.detail}; "
                    "check the app's permissions and access level in the developer portal"
                ) from err
            if "duplicate" in problem.detail.lower():
                raise _Duplicate(f"X refused {what}: {problem.detail}") from err
            raise PermanentError(f"X refused {what}: {problem.detail}") from err
        except (tweepy.NotFound, tweepy.BadRequest) as err:
            raise PermanentError(f"X refused {what}: {_problem(err, self.redact).detail}") from err
        except tweepy.TwitterServerError as err:
            raise TransientError(f"X failed while {what}: {_problem(err, self.redact).detail}; will retry") from err
        except tweepy.HTTPException as err:
            raise PermanentError(f"X refused {what}: {_problem(err, self.redact).detail}") from err
        except requests.exceptions.JSONDecodeError as err:
            raise MalformedPayload(f"X answered {what} with something that is not JSON") from err
        except requests.Timeout as err:
            raise TransientError(f"X did not answer in {self.settings.timeout:g}s while {what}; will retry") from err
        except requests.RequestException as err:
            raise TransientError(f"could not reach X while {what} ({type(err).__name__}); will retry") from err
        except (KeyError, ValueError, TypeError, AttributeError) as err:
            raise MalformedPayload(f"X answered {what} with an unexpected shape ({type(err).__name__}: {err})") from err

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Session hook on every answer: feed the rate-limit headers to :attr:`pace`."""
        remaining = _header_int(response, "x-rate-limit-remaining")
        reset_at = _from_epoch(_header_int(response, "x-rate-limit-reset"))
        if _OWN_TIMELINE.fullmatch(urlsplit(response.url).path) is None:
            self.pace.observe_remaining(remaining, reset_at)
        elif remaining is not None:  # our own posts wait for a spent window; they never slow the mentions
            self._own_blocked = reset_at if remaining <= 1 else None
        self._access_level = response.headers.get("x-access-level", self._access_level)

    # -- translation --------------------------------------------------------------------------

    def _message(
        self, data: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]], me_id: str
    ) -> InboundMessage | None:
        """A post as a message; ``None`` for someone else's retweet; :class:`MalformedPayload` if unreadable."""
        data = mapping(data, "a post")
        refs = _references(data)
        tweet_id = platform_id(data.get("id"), "a post's id")
        author_id = platform_id(data.get("author_id"), "a post's author")
        text = platform_text(data.get("text"), "a post's text")
        try:
            created_at = datetime.strptime(data["created_at"], "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
        except (KeyError, ValueError, TypeError, OverflowError) as err:
            raise MalformedPayload(f"X sent a post without a readable created_at ({type(err).__name__})") from None
        from_us = author_id == me_id
        if "retweeted" in refs and not from_us:
            return None
        user = mapping(users.get(author_id), "a post's author")
        handle = user.get("username") if isinstance(user.get("username"), str) else author_id
        name, lang = user.get("name"), data.get("lang")
        conversation = data.get("conversation_id")
        return InboundMessage(
            platform=self.platform,
            external_id=tweet_id,
            thread_id=tweet_id if conversation is None else platform_id(conversation, "a conversation id"),
            author_id=author_id,
            author_handle=handle,
            author_name=name if isinstance(name, str) else None,
            text=html.unescape(text),
            created_at=created_at,
            parent_id=refs.get("replied_to"),
            language=lang if isinstance(lang, str) and lang and lang != "und" else None,
            url=f"https://x.com/{handle}/status/{tweet_id}",
            from_us=from_us,
            raw={"tweet": dict(data), "author": dict(user) or None},
        )

    def _status_url(self, tweet_id: object) -> str:
        handle = self._me[1] if self._me else "i/web"
        return f"https://x.com/{handle}/status/{tweet_id}"

    def __repr__(self) -> str:
        return (
            f"<XConnector {self.name!r} api_url={self.settings.api_url!r} auth={self.settings.auth!r} "
            f"secrets={sorted(self._secrets)} (values redacted)>"
        )


class _Duplicate(PermanentError):
    """X refused the post as duplicate content: our reply may already be there."""


class _Redirect(requests.adapters.HTTPAdapter):
    """Sends tweepy's requests (hard-coded to api.twitter.com) to ``base_url``, with a timeout."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self._base = urlsplit(base_url)
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        request.url = urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, ""))
        kwargs["proxies"] = requests.utils.get_environ_proxies(request.url)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


@dataclass(frozen=True)
class _Problem:
    kind: str
    detail: str


def _problem(err: tweepy.HTTPException, redact: Callable[[str], str]) -> _Problem:
    """X's error body (RFC 7807 ``type``/``detail`` or a v1-style ``errors`` list), safe to show:
    ``redact`` masks our secrets, as an error body may echo the request's headers."""
    status = getattr(err.response, "status_code", "?")
    try:
        body = err.response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _Problem("", f"HTTP {status}")
    kind = f"{body.get('type', '')} {body.get('reason', '')}"
    messages = [str(m) for m in err.api_messages]
    detail = str(body.get("detail") or "; ".join(messages) or body.get("title") or f"HTTP {status}")
    return _Problem(kind, f"{redact(detail)[:300]} (HTTP {status})")


def _tweets(response: Any) -> list[tweepy.Tweet]:
    if response.data is None:
        return []
    if not isinstance(response.data, list):
        raise MalformedPayload("X sent 'data' that is not a list of posts")
    return response.data


def _references(data: Mapping[str, Any]) -> dict[str, str]:
    refs = data.get("referenced_tweets") or []
    if not isinstance(refs, list):
        raise MalformedPayload("X sent referenced_tweets that is not a list")
    return {str(r.get("type")): platform_id(r.get("id"), "a referenced post") for r in refs if isinstance(r, Mapping)}


def _header_int(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    return int(value) if value is not None and value.strip().isdigit() else None


def _from_epoch(seconds: int | None) -> datetime | None:
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


_OWN_TIMELINE = re.compile(r"/2/users/\d+/tweets")
_URL = re.compile(
    r"(?i)(?:https?://|www\.)[^\s<>\"]+"
    r"|(?<![@\w.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    r"(?:com|net|org|info|biz|io|co|ai|app|dev|shop|store|online|site|tech|me|tv|[a-z]{2})\b(?:/[^\s<>\"]*)?"
)
_URL_TRAILING = ".,;:!?)]}'\""
_EMOJI_BASE = (
    "\u2190-\u21ff\u2300-\u23ff\u2460-\u27bf\u2900-\u297f\u2b00-\u2bff\u3030\u303d\u3297\u3299\U0001f000-\U0001faff"
)
_EMOJI_MODS = "(?:\ufe0f|[\U0001f3fb-\U0001f3ff]|[\U000e0020-\U000e007f])*"
_EMOJI = re.compile(
    rf"[\U0001f1e6-\U0001f1ff]{{2}}|[0-9#*]\ufe0f?\u20e3"
    rf"|[{_EMOJI_BASE}]{_EMOJI_MODS}(?:\u200d[{_EMOJI_BASE}]{_EMOJI_MODS})*"
)
# twitter-text v3: code points in these ranges weigh 1, everything else 2 (CJK, emoji, ...).
_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))


def measure(text: str) -> int:
    """Length of ``text`` as X counts it (twitter-text v3 weighting, NFC-normalised).

    Every link counts 23 whatever its length; code points in the Latin/Greek/Cyrillic/...
    ranges count 1; CJK, most symbols and each emoji (a whole ZWJ sequence, flag or keycap
    included) count 2. Bare domains are treated as links, as X auto-links them, which errs on
    the long side rather than letting X refuse a reply we accepted.
    """
    text = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for match in _URL.finditer(text):
        link = match.group().rstrip(_URL_TRAILING)
        total += _weigh(text[position : match.start()]) + 23
        position = match.start() + len(link)
    return total + _weigh(text[position:])


def _weigh(text: str) -> int:
    total, position = 0, 0
    for match in _EMOJI.finditer(text):
        total += _weigh_chars(text[position : match.start()]) + 2
        position = match.end()
    return total + _weigh_chars(text[position:])


def _weigh_chars(chars: Iterable[str]) -> int:
    return sum(1 if any(lo <= ord(c) <= hi for lo, hi in _LIGHT) else 2 for c in chars)


def _comparable(text: str) -> str:
    """A reply's text as X would give it back: entities decoded, leading @mentions (X adds
    them to replies) and link targets (X rewrites them to t.co) ignored, spaces collapsed."""
    text = html.unescape(unicodedata.normalize("NFC", text))
    text = re.sub(r"^(?:\s*@\w+)+\s*", "", text)
    text = _URL.sub("<link>", text)
    return " ".join(text.split())
