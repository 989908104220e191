"""Reddit: inbox mentions and replies (plus optional keyword search) in, comments out — via praw.

One script-type app per account (password grant). The praw client is built in one factory,
pointed at ``oauth_url`` / ``reddit_url`` (a local fake in tests) and made never to wait inside
a scheduler job, because praw and prawcore would otherwise sleep in four places:

- prawcore's ``RateLimiter`` sleeps before a call, up to 10 s while budget remains and until
  ``x-ratelimit-reset`` (up to 10 min) once it is spent. Pacing is done between polls by
  :class:`~connectors.base.Pace`, which is fed the same headers, so prawcore's proportional
  pacing is switched off (a huge ``window_size`` makes its wait zero) and a spent budget makes
  :meth:`RedditConnector._gate` raise :class:`RateLimited` *before* prawcore could sleep.
- prawcore retries 5xx, 408 and timeouts twice after sleeping up to 2 s and 4 s, and resends
  POSTs blindly (a reply could be posted twice). :class:`_Requestor`, the one I/O seam, turns
  them into :class:`TransientError` on the first failure instead; :meth:`RedditConnector.reply`
  then checks our history before reporting it, so an ambiguous POST is never sent twice.
- prawcore retries a 401 after a random sleep of up to 2 s; here a 401 drops the client, the
  next one fetches a fresh token and the call is repeated once.
- praw sleeps on a ``RATELIMIT`` API error when the wait is at most ``ratelimit_seconds``;
  that is -1 here, so the error becomes :class:`RateLimited` with the wait Reddit named.

praw's own ``timeout`` setting is never handed to prawcore (8.0.3 reads it and drops it), so
the requestor applies ``timeout`` itself.

Cursor: JSON with a mark per source (``inbox``, ``search``): the newest item seen (fullname and
``created_utc``) and the polls since anything was new. Each poll asks for items newer than it
(``before=<fullname>``, ``page_size`` a page, with ``count`` so that Reddit fills in the
answer's ``before``) and follows that ``before`` only while Reddit says newer items remain:
one request per source when nothing is new, ceil(n/page_size) for n new. Every
``RECHECK_EVERY`` idle polls the newest page is read instead (still one request), because
Reddit answers ``before=X`` with nothing once X is removed from the listing. The first poll
reads the newest page only, keeping the last ``backfill_hours``. Private messages (``t4``) are
not cases on this public channel.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import praw
import prawcore
import requests
from praw.exceptions import PRAWException, RedditAPIException
from prawcore.const import ACCESS_TOKEN_PATH
from pydantic import Field, SecretStr, field_validator, model_validator

from connectors.base import (
    AuthError,
    Capabilities,
    Connector,
    ConnectorError,
    InboundMessage,
    MalformedPayload,
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

__all__ = ["RedditConnector", "RedditSettings"]

log = logging.getLogger(__name__)

OAUTH_URL = "https://oauth.reddit.com"
REDDIT_URL = "https://www.reddit.com"
MAX_LENGTH = 10_000  # Reddit rejects longer comments with TOO_LONG
HISTORY_PAGE = 100  # find_reply reads our 100 newest comments
RECHECK_EVERY = 10  # idle polls between reads of the newest page (catches a vanished anchor)
LISTING_PAGES = 10  # Reddit lists about the 1000 newest items; more pages than that find nothing
INBOX_TYPES = frozenset({"username_mention", "comment_reply", "post_reply"})
NEEDED_SCOPES = frozenset({"identity", "privatemessages", "read", "submit"})
GONE = frozenset({"[deleted]", "[removed]"})
# Reddit's API errors that no retry can fix, as a care team should read them.
REFUSALS = {
    "DELETED_COMMENT": "the customer's comment was deleted; Reddit accepts no reply to it",
    "DELETED_LINK": "the post was deleted; Reddit accepts no reply in its thread",
    "THREAD_LOCKED": "the thread is locked by its moderators; no new comments are allowed",
    "TOO_OLD": "the thread is archived (too old); Reddit accepts no new comments",
    "SUBREDDIT_NOTALLOWED": "the account may not comment in this subreddit",
    "USER_BLOCKED": "the customer has blocked the account",
}
_WINDOW_SIZE = 10**9  # makes prawcore's proportional wait zero; Pace spreads calls instead
_RETRYABLE_STATUSES = frozenset({408, 500, 502, 503, 504, 520, 522})
_WAIT = re.compile(r"(\d+) (millisecond|second|minute)s?")
_THREAD = re.compile(r"/comments/([a-z0-9]+)/")
_SUBREDDIT = re.compile(r"[A-Za-z0-9_]{2,21}")
T = TypeVar("T")


class RedditSettings(Settings):
    """The non-secret part of a Reddit account's config."""

    user_agent: str = Field("python:socialcare:1.0 (customer care)", min_length=7)
    oauth_url: str = OAUTH_URL
    reddit_url: str = REDDIT_URL
    inbox: bool = True
    keywords: tuple[str, ...] = ()
    subreddits: tuple[str, ...] = ()
    page_size: int = Field(100, ge=1, le=100)
    backfill_hours: float = Field(24.0, ge=0, le=24 * 7)
    mark_read: bool = True
    timeout: float = Field(10.0, gt=0)

    @field_validator("oauth_url", "reddit_url")
    @classmethod
    def _origin_only(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
            raise ValueError(f"must be an origin like {OAUTH_URL} or http://127.0.0.1:8082 (no path), got {value!r}")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("subreddits")
    @classmethod
    def _subreddit_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(name.removeprefix("r/") for name in value)
        bad = [name for name in names if not _SUBREDDIT.fullmatch(name)]
        if bad:
            raise ValueError(f"not subreddit names: {bad} (write them like 'Tools' or 'r/Tools')")
        return names

    @field_validator("keywords")
    @classmethod
    def _plain_keywords(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any('"' in word or not word.strip() for word in value):
            raise ValueError("keywords must be non-empty and contain no double quotes; each is searched as a phrase")
        return tuple(word.strip() for word in value)

    @model_validator(mode="after")
    def _search_needs_both(self) -> RedditSettings:
        if bool(self.keywords) != bool(self.subreddits):
            raise ValueError("keyword search needs both `keywords` and `subreddits` (or neither)")
        if not self.inbox and not self.keywords:
            raise ValueError("nothing to poll: set `inbox = true` or `keywords` and `subreddits`")
        return self


class RedditConnector(Connector):
    """One Reddit account: its inbox and, optionally, keyword search in chosen subreddits."""

    platform: ClassVar[str] = "reddit"
    capabilities: ClassVar[Capabilities] = Capabilities(max_reply_length=MAX_LENGTH, public=True)
    settings_model: ClassVar[type[Settings]] = RedditSettings
    secrets: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "username", "password")
    public_secrets: ClassVar[tuple[str, ...]] = ("username",)

    def __init__(self, name: str, settings: Settings, secrets: Mapping[str, SecretStr]) -> None:
        super().__init__(name, settings, secrets)
        self.settings: RedditSettings = settings  # type: ignore[assignment]
        self.clock: Callable[[], datetime] = utcnow
        self._client: praw.Reddit | None = None
        self._blocked_until: datetime | None = None

    # -- the contract ---------------------------------------------------------------------------

    def poll(self, cursor: str | None) -> tuple[Sequence[InboundMessage], str | None]:
        marks = _load_cursor(cursor)
        found: dict[str, InboundMessage] = {}
        for source, path, params in self._sources():
            children, marks[source] = self._fetch_new(source, path, params, marks.get(source))
            for child in children:
                message = self._to_message(child, source)
                if message is not None:
                    found.setdefault(message.external_id, message)
        ordered = sorted(found.values(), key=lambda m: (m.created_at, m.external_id))
        return ordered, json.dumps({source: asdict(mark) for source, mark in marks.items()}, sort_keys=True)

    def reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt:
        self.check_reply(to, text)
        kind, _, ident = to.external_id.partition("_")
        if kind not in ("t1", "t3"):
            raise ReplyRefused(f"cannot reply to {to.external_id!r}: only comments and posts are answered on Reddit")

        def post(reddit: praw.Reddit) -> Any:
            target = reddit.comment(id=ident) if kind == "t1" else reddit.submission(id=ident)
            return target.reply(body=text)

        try:
            created = self._call("reply", post)
        except TransientError:
            # The POST may have reached Reddit before the answer was lost: look before reporting.
            if (found := self._find_quietly(to, text)) is not None:
                return self._after_reply(to, found)
            raise
        if created is None:  # Reddit posted it but returned nothing (quarantined subreddits)
            found = self.find_reply(to, text)
            if found is None:
                raise MalformedPayload(
                    "Reddit accepted the reply but returned no comment and it is not in our history yet"
                )
            return self._after_reply(to, found)
        # Only what Reddit sent: reading a missing attribute off a praw object fetches it (a request).
        data = {key: vars(created).get(key) for key in ("id", "name", "parent_id", "link_id", "created_utc")}
        subreddit = vars(created).get("subreddit")  # praw makes it a Subreddit; its str is the name
        data["subreddit"] = None if subreddit is None else str(subreddit)
        if not data["name"]:
            raise MalformedPayload("Reddit's answer to the reply has no comment id")
        receipt = Receipt(external_id=data["name"], sent_at=self.clock(), url=self._comment_link(data), raw=data)
        return self._after_reply(to, receipt)

    def find_reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt | None:
        username = self.secret("username")
        listing = self._get("find_reply", f"user/{username}/comments", {"sort": "new", "limit": HISTORY_PAGE})
        with self._translate("find_reply"):
            for child in listing["children"]:
                data = child["data"]
                if data["parent_id"] == to.external_id and _same_text(data["body"], text):
                    return Receipt(
                        external_id=data["name"],
                        sent_at=_utc(data["created_utc"]),
                        url=self._comment_link(data),
                        raw=data,
                    )
        return None

    def verify(self) -> str:
        me = self._call("verify", lambda reddit: reddit.request(method="GET", path="api/v1/me"))
        scopes = self._call("verify", lambda reddit: reddit.auth.scopes())
        with self._translate("verify"):
            name = me["name"]
        missing = set() if "*" in scopes else NEEDED_SCOPES - set(scopes)
        if missing:
            raise AuthError(
                f"Reddit account {self.name!r}: the token lacks scopes {sorted(missing)}; grant them to the app"
            )
        for source, path, params in self._sources():
            if source == "search":  # a private or missing subreddit would fail every poll
                self._get(source, path, {**params, "limit": 1})
        return f"authenticated as u/{name}"

    def check_reply(self, to: InboundMessage, text: str, now: datetime | None = None) -> None:
        super().check_reply(to, text, now)
        data = to.raw.get("data", {}) if isinstance(to.raw, Mapping) else {}
        if data.get("body") in GONE or data.get("author") in GONE:
            raise ReplyRefused("the customer's comment or account was deleted on Reddit; nobody would see a reply")
        if data.get("locked") or data.get("archived"):
            raise ReplyRefused("the thread is locked or archived on Reddit; no new comments are allowed")

    # -- polling --------------------------------------------------------------------------------

    def _sources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        if self.settings.inbox:
            yield "inbox", "message/inbox/", {}
        if self.settings.keywords:
            query = " OR ".join(f'"{word}"' for word in self.settings.keywords)
            subs = "+".join(self.settings.subreddits)
            yield (
                "search",
                f"r/{subs}/search/",
                {"q": query, "sort": "new", "restrict_sr": "on", "t": "all", "type": "link"},
            )

    def _fetch_new(
        self, source: str, path: str, params: Mapping[str, Any], mark: _Mark | None
    ) -> tuple[list[dict[str, Any]], _Mark]:
        """Children newer than ``mark``, and the mark for next time.

        Normally this pages up from the newest item seen (``before``), one request when nothing
        is new. Reddit answers ``before=X`` with nothing once X has left the listing (deleted or
        removed), so every ``RECHECK_EVERY`` idle polls the newest page is read instead, as on an
        account's first poll and while a source has been empty: same single request, and it
        finds what a vanished anchor would hide.
        """
        with self._translate(source):
            if mark is not None and mark.last and mark.idle < RECHECK_EVERY:
                children, newest = self._page_up(source, path, params, mark)
            else:
                children, newest = self._page_down(source, path, params, mark)
            if mark is None:
                since = self.clock() - timedelta(hours=self.settings.backfill_hours)
                children = [c for c in children if _utc(c["data"]["created_utc"]) >= since]
            if newest is not None:
                return children, _Mark(newest["name"], float(newest["created_utc"]))
            if mark is None:
                return children, _Mark()
            return children, _Mark(mark.last, mark.at, 0 if mark.idle >= RECHECK_EVERY else mark.idle + 1)

    def _page_up(
        self, source: str, path: str, params: Mapping[str, Any], mark: _Mark
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Items newer than ``mark``, one request per ``page_size`` of them.

        ``before=X`` gives the items just newer than X; the answer names the next anchor in its
        own ``before`` only when the request says how many items were already seen (``count``),
        and otherwise answers ``before: null`` whatever remains (Reddit's listing rules; praw's
        recorded ``TestInbox.test_all__with_limit`` shows the null without ``count``). Items at
        or behind the mark are dropped, so a page Reddit serves twice adds nothing.
        """
        query: dict[str, Any] = {**params, "limit": self.settings.page_size, "before": mark.last, "count": 1}
        children: list[dict[str, Any]] = []
        newest = None
        for _ in range(LISTING_PAGES):
            listing = self._get(source, path, query)
            page = [c for c in listing["children"] if not mark.behind(c["data"])]
            if page:
                newest = page[0]["data"]
            children.extend(page)
            anchor = listing.get("before")
            if not page or not anchor:
                return children, newest
            if anchor == query["before"]:
                raise MalformedPayload(f"Reddit answered {path} with the same page again; nothing is skipped")
            query["before"], query["count"] = anchor, query["count"] + len(listing["children"])
        log.warning(
            "%s: more than %d new items in %s since the last poll; the rest are read next time",
            self.name,
            LISTING_PAGES * self.settings.page_size,
            source,
        )
        return children, newest

    def _page_down(
        self, source: str, path: str, params: Mapping[str, Any], mark: _Mark | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """From the newest item down to ``mark`` (one page only without a mark)."""
        query: dict[str, Any] = {**params, "limit": self.settings.page_size}
        children: list[dict[str, Any]] = []
        while True:
            listing = self._get(source, path, query)
            page = listing["children"]
            for child in page:
                if mark is not None and mark.last and mark.behind(child["data"]):
                    return children, children[0]["data"] if children else None
                children.append(child)
            if mark is None or not page or not listing.get("after"):
                return children, children[0]["data"] if children else None
            query["after"] = listing["after"]

    def _get(self, action: str, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        answer = self._call(action, lambda reddit: reddit.request(method="GET", path=path, params=dict(params)))
        with self._translate(action):
            listing = answer["data"]
            if answer.get("kind") != "Listing" or not isinstance(listing["children"], list):
                raise MalformedPayload(f"Reddit answered {path} with something other than a listing")
        return listing

    def _to_message(self, child: Mapping[str, Any], source: str) -> InboundMessage | None:
        """A comment or post as a message; ``None`` for what is no case (private messages)."""
        with self._translate("poll"):
            child = mapping(child, "a listing item")
            kind, data = child.get("kind"), mapping(child.get("data"), "a listing item's data")
            if kind == "t4" or (source == "inbox" and data.get("type") not in INBOX_TYPES):
                return None
            where = _text_or_none(data.get("context")) or _text_or_none(data.get("permalink")) or ""
            if kind == "t1":
                thread = platform_id(data.get("link_id"), "a comment's post") if data.get("link_id") else None
                text, parent = (
                    platform_text(data.get("body"), "a comment"),
                    platform_id(data.get("parent_id"), "a parent"),
                )
                thread, link = thread or _thread_from(where), where.split("?")[0]
            elif kind == "t3":
                thread, parent, link = platform_id(data.get("name"), "a post's id"), None, where
                title, body = platform_text(data.get("title"), "a title"), platform_text(data.get("selftext"), "a post")
                text = "\n\n".join(part for part in (title, body) if part)
            else:
                return None
            author = _text_or_none(data.get("author")) or "[deleted]"
            return InboundMessage(
                platform=self.platform,
                external_id=platform_id(data.get("name"), "an item's fullname"),
                thread_id=thread,
                parent_id=parent,
                author_id=_text_or_none(data.get("author_fullname")) or author,
                author_handle=author,
                text=text,
                created_at=_utc(data.get("created_utc")),
                url=self._link(link),
                from_us=author.lower() == self.secret("username").lower(),
                raw=dict(child),
            )

    # -- replying -------------------------------------------------------------------------------

    def _after_reply(self, to: InboundMessage, receipt: Receipt) -> Receipt:
        """Mark the inbox item read now that Reddit holds our reply.

        Connectors never touch the store, so "recorded" here means: Reddit accepted the reply
        and the outbox is about to record this receipt. Polling never depends on read state
        (the cursor is a fullname), so a failure here only leaves the item unread in the app.
        """
        if self.settings.mark_read and isinstance(to.raw.get("data"), Mapping) and "new" in to.raw["data"]:
            try:
                self._call("mark_read", lambda reddit: reddit.inbox.mark_read([reddit.comment(id=to.external_id[3:])]))
            except ConnectorError as err:
                log.warning("%s: replied to %s but could not mark it read: %s", self.name, to.external_id, err)
        return receipt

    def _find_quietly(self, to: InboundMessage, text: str) -> Receipt | None:
        try:
            return self.find_reply(to, text)
        except ConnectorError:
            return None

    # -- the one call path: client factory, gate, translation -----------------------------------

    def _reddit(self) -> praw.Reddit:
        if self._client is None:
            settings = self.settings
            self._client = praw.Reddit(
                client_id=self.secret("client_id"),
                client_secret=self.secret("client_secret"),
                username=self.secret("username"),
                password=self.secret("password"),
                user_agent=settings.user_agent,
                oauth_url=settings.oauth_url,
                reddit_url=settings.reddit_url,
                check_for_async=False,
                check_for_updates=False,
                ratelimit_seconds=-1,
                window_size=_WINDOW_SIZE,
                requestor_class=_Requestor,
                requestor_kwargs={"timeout": settings.timeout, "observe": self._observe},
            )
        return self._client

    def _call(self, action: str, fn: Callable[[praw.Reddit], T]) -> T:
        """Run one praw call: never while the budget is spent, once more after a fresh token."""
        for attempt in (1, 2):
            with self._translate(action):
                self._gate()
                try:
                    return fn(self._reddit())
                except _TokenRejected:
                    self._client = None
                    if attempt == 2:
                        raise AuthError(
                            f"Reddit account {self.name!r}: Reddit rejects freshly issued tokens; check the app's "
                            "client_id/client_secret and that the account is not suspended"
                        ) from None
        raise AssertionError("unreachable")

    def _gate(self) -> None:
        if self._blocked_until is not None and self.clock() < self._blocked_until:
            raise RateLimited(
                f"Reddit's request budget for {self.name!r} is spent until {self._blocked_until:%H:%M:%S} UTC",
                retry_at=self._blocked_until,
            )

    def _observe(self, headers: Mapping[str, str]) -> None:
        """Read Reddit's budget headers (as prawcore's RateLimiter does) into Pace and the gate."""
        try:
            remaining = float(headers["x-ratelimit-remaining"])
            seconds = float(headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return
        now = self.clock()
        self.pace.observe_remaining(int(remaining), now + timedelta(seconds=seconds))
        self._blocked_until = now + timedelta(seconds=max(1.0, seconds)) if remaining <= 0 else None

    @contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """praw's and prawcore's errors, and unreadable answers, as the connector error tree."""
        account = f"Reddit account {self.name!r}"
        try:
            try:
                yield
            except Exception as err:
                raise self.scrub(err)  # noqa: B904 - the same exception, its message masked
        except ConnectorError:
            raise
        except RedditAPIException as err:
            raise self._api_error(err, action) from err
        except prawcore.OAuthException as err:
            if err.error == "unauthorized_client":
                raise AuthError(
                    f"{account}: Reddit refused the login (unauthorized_client): only script apps may use a "
                    "password grant; create a 'script' app at https://www.reddit.com/prefs/apps and use its "
                    "client_id and client_secret"
                ) from err
            raise AuthError(
                f"{account}: Reddit refused the login ({self.redact(str(err.error))[:60]}); check username and "
                "password (accounts with two-factor login cannot use a password grant)"
            ) from err
        except prawcore.TooManyRequests as err:
            raise RateLimited(
                f"{account}: Reddit answered 429 Too Many Requests", retry_at=self._retry_at(err)
            ) from err
        except (prawcore.InvalidToken, prawcore.InsufficientScope) as err:
            raise AuthError(
                f"{account}: the token is not accepted for {action} ({type(err).__name__}); check the app's scopes"
            ) from err
        except prawcore.Forbidden as err:
            if action == "search":
                raise PermanentError(
                    f"{account}: Reddit forbids searching {self._searched()} (a private, banned or quarantined "
                    "subreddit); remove it from `subreddits`"
                ) from err
            if action == "reply":
                raise PermanentError(
                    "Reddit forbids this reply (banned from the subreddit, private or locked thread)"
                ) from err
            raise AuthError(f"{account}: Reddit answered 403 Forbidden to {action}; is the account suspended?") from err
        except (prawcore.NotFound, prawcore.Redirect) as err:
            if action == "search":
                raise PermanentError(
                    f"{account}: Reddit cannot search {self._searched()}: a subreddit there does not exist; "
                    "fix `subreddits`"
                ) from err
            raise PermanentError(
                f"{account}: Reddit has no such thing for {action} (deleted, or a subreddit that does not exist)"
            ) from err
        except prawcore.BadJSON as err:
            raise MalformedPayload(f"{account}: Reddit's answer to {action} is not JSON") from err
        except prawcore.ResponseException as err:
            status = err.response.status_code
            if status == 429:  # the token endpoint's 429 is a plain ResponseException, not TooManyRequests
                retry_at = self._retry_at(err)
                raise RateLimited(
                    f"{account}: Reddit answered 429 Too Many Requests to the login; "
                    f"waiting until {retry_at:%H:%M:%S} UTC",
                    retry_at=retry_at,
                ) from err
            if status == 401:
                raise AuthError(
                    f"{account}: Reddit rejects the app's credentials; check client_id and client_secret"
                ) from err
            if 400 <= status < 500:
                raise PermanentError(
                    f"{account}: Reddit refused the {action} (HTTP {status}); retrying will not help"
                ) from err
            raise TransientError(f"{account}: Reddit answered HTTP {status} to {action}; will retry") from err
        except prawcore.PrawcoreException as err:
            raise TransientError(f"{account}: {action} failed ({type(err).__name__}); will retry") from err
        except PRAWException as err:
            raise PermanentError(f"{account}: praw refused the {action}: {self.redact(str(err))[:300]}") from err
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise MalformedPayload(f"{account}: Reddit's answer to {action} lacks an expected field ({err!r})") from err

    def _api_error(self, err: RedditAPIException, action: str) -> ConnectorError:
        for item in err.items:
            if item.error_type == "RATELIMIT":
                match = _WAIT.search(item.message or "")
                seconds = (
                    60.0
                    if match is None
                    else int(match[1]) * {"millisecond": 0.001, "second": 1, "minute": 60}[match[2]]
                )
                retry_at = self.clock() + timedelta(seconds=max(seconds, 1.0))
                return RateLimited(
                    f"Reddit says the account is commenting too fast: {self.redact(item.message or '')[:200]}",
                    retry_at=retry_at,
                )
            if item.error_type == "TOO_LONG":
                return ReplyRefused(f"Reddit refuses the reply as too long: {self.redact(item.message or '')[:200]}")
            if item.error_type in REFUSALS:
                return PermanentError(REFUSALS[item.error_type])
        first = err.items[0] if err.items else None
        detail = self.redact(f"{first.error_type}: {first.message}")[:300] if first else "no detail"
        return PermanentError(f"Reddit refused the {action} ({detail})")

    def _retry_at(self, err: prawcore.ResponseException) -> datetime:
        """The later of ``retry-after`` and the budget's reset; a minute if Reddit named neither.

        The token endpoint's headers are not fed to :attr:`pace` (a separate budget), so a 429
        there is read here; the gate then holds every call until that time.
        """
        now = self.clock()
        headers = err.response.headers
        waits = [
            now + timedelta(seconds=seconds)
            for seconds in (_seconds(headers.get("retry-after")), _seconds(headers.get("x-ratelimit-reset")))
            if seconds is not None
        ]
        if self._blocked_until is not None:
            waits.append(self._blocked_until)
        retry_at = max(waits, default=now + timedelta(minutes=1))
        self._blocked_until = retry_at
        self.pace.block_until(retry_at)
        return retry_at

    def _searched(self) -> str:
        return f"r/{'+'.join(self.settings.subreddits)}"

    def _link(self, path: str | None) -> str | None:
        return f"{self.settings.reddit_url}{path}" if path else None

    def _comment_link(self, data: Mapping[str, Any]) -> str | None:
        """A comment's link from its ids (Reddit ignores the slug, so ``_`` stands in for the title).

        Comment answers carry no ``permalink`` (praw's recorded ``TestComment.test_reply``).
        """
        sub, link, ident = data.get("subreddit"), data.get("link_id"), data.get("id")
        if not (isinstance(sub, str) and isinstance(link, str) and isinstance(ident, str)):
            return self._link(data.get("permalink")) if isinstance(data.get("permalink"), str) else None
        return f"{self.settings.reddit_url}/r/{sub}/comments/{link.removeprefix('t3_')}/_/{ident}/"

    def _secret_forms(self) -> Iterator[str]:
        """The secrets as they travel: the Basic header of the token call, and the access token.

        The username is left out: it is who we are, shown on every comment we post.
        """
        values = {k: v.get_secret_value() for k, v in self._secrets.items() if k != "username"}
        yield from values.values()
        if "client_id" in values and "client_secret" in values:
            yield base64.b64encode(f"{values['client_id']}:{values['client_secret']}".encode()).decode()
        authorizer = getattr(getattr(self._client, "_core", None), "_authorizer", None)
        if isinstance(getattr(authorizer, "access_token", None), str):
            yield authorizer.access_token

    def __repr__(self) -> str:
        search = [f"search r/{'+'.join(self.settings.subreddits)}"] if self.settings.keywords else []
        sources = ["inbox"] * self.settings.inbox + search
        return (
            f"<RedditConnector {self.name!r} oauth_url={self.settings.oauth_url!r} sources={sources} "
            f"secrets={sorted(self._secrets)} (values redacted)>"
        )


class _TokenRejected(Exception):
    """An API call answered 401: the access token expired or was revoked."""


class _Requestor(prawcore.Requestor):
    """The one I/O seam under praw: our timeout, budget headers reported, no hidden retries."""

    def __init__(self, *args: Any, observe: Callable[[Mapping[str, str]], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._observe = observe

    def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> requests.Response:
        url = str(args[1])  # prawcore calls request(method, url, ...)
        try:
            response = super().request(*args, timeout=self.timeout, **kwargs)
        except prawcore.RequestException as err:
            name = type(err.original_exception).__name__
            raise TransientError(f"Reddit did not answer in time or could not be reached ({name}); will retry") from err
        token_call = url.endswith(ACCESS_TOKEN_PATH)
        if not token_call:
            self._observe(response.headers)
        if response.status_code in _RETRYABLE_STATUSES:
            raise TransientError(f"Reddit answered HTTP {response.status_code}; will retry next cycle")
        if response.status_code == 401 and not token_call:
            raise _TokenRejected
        return response


@dataclass(frozen=True)
class _Mark:
    """Where one source stands: the newest item seen, its time, and polls since anything new."""

    last: str = ""
    at: float = 0.0
    idle: int = 0

    def behind(self, data: Mapping[str, Any]) -> bool:
        """Whether ``data`` is the marked item or older than it."""
        return data["name"] == self.last or float(data["created_utc"]) < self.at


def _load_cursor(cursor: str | None) -> dict[str, _Mark]:
    if not cursor:
        return {}
    try:
        return {source: _Mark(**mark) for source, mark in json.loads(cursor).items()}
    except (json.JSONDecodeError, AttributeError, TypeError):
        log.warning("ignoring an unreadable Reddit cursor %r; starting from the newest page", cursor)
        return {}


def _thread_from(path: str) -> str:
    match = _THREAD.search(path)
    if match is None:
        raise ValueError(f"no thread in {path!r}")
    return f"t3_{match[1]}"


def _utc(timestamp: Any) -> datetime:
    """Reddit's ``created_utc`` (epoch seconds) as an aware time."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise MalformedPayload(f"Reddit sent created_utc = {ascii(timestamp)[:40]}, not a time")
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedPayload(f"Reddit sent created_utc = {timestamp!r}, not a time") from None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _same_text(posted: str, text: str) -> bool:
    return " ".join(posted.split()) == " ".join(text.split())
