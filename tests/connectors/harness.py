"""One small harness per registered connector, so shared tests drive every channel the same way.

A harness builds the connector through the registry against a started fake (the sandbox: a
file), posts as a customer, breaks the account's auth, injects a malformed item into the next
answer, and counts the replies the platform holds. :data:`HARNESSES` must name every platform
in :func:`connectors.available`; ``test_contract.py`` fails when one is missing.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import SecretStr

from connectors import load, sandbox
from connectors.base import Connector, Pace, TransientError
from tests.conftest import Clock
from tests.connectors.meta.fake import FakeGraph
from tests.connectors.reddit.fake import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME, FakeReddit
from tests.connectors.x.fake import FakeX
from tests.fakes.http import FakeAPI, Response

TIMEOUT = 0.3  # seconds per request; the fault mode's slow answers take longer


class Harness:
    platform: ClassVar[str]
    #: Whether the next poll shows our own reply (as ``from_us``); where not, the README says so.
    shows_own_replies: ClassVar[bool] = True
    api: FakeAPI | None = None

    def __init__(self, tmp_path: Path, clock: Clock) -> None:
        self.tmp_path, self.clock = tmp_path, clock
        self._texts = itertools.count(1)

    def stop(self) -> None:
        if self.api is not None:
            self.api.stop()

    def connector(self) -> Connector:
        """The account as the core builds it: the registry, ``from_config``, secrets as SecretStr."""
        secrets = {name: SecretStr(value) for name, value in self.secrets().items()}
        return load(self.platform).from_config(f"brand-{self.platform}", self.options(), secrets)

    def options(self) -> dict[str, Any]:
        raise NotImplementedError

    def secrets(self) -> dict[str, str]:
        return {}

    def hidden(self) -> dict[str, str]:
        """The secret values that must never be shown."""
        return self.secrets()

    def customer(self, text: str) -> str:
        """Post ``text`` as a customer; returns the id the connector reports it under."""
        raise NotImplementedError

    def break_auth(self) -> None:
        raise NotImplementedError

    def malformed(self) -> None:
        """The next poll's answer holds an item that is not the documented shape."""
        raise NotImplementedError

    def replies_to(self, external_id: str) -> int:
        """How many of our replies the platform holds to the message ``external_id``."""
        raise NotImplementedError

    def tick(self) -> None:
        self.clock.tick(61)

    def faults(self, rate: float, seed: int, kinds: tuple[str, ...]) -> None:
        """Switch the fake's fault mode on (``rate=0``: off); slow answers outlast :data:`TIMEOUT`."""
        assert self.api is not None
        self.api.faults(rate, seed, kinds, delay=2 * TIMEOUT)

    def injected(self) -> list[str]:
        return [kind for kind, _, _ in self.api.injected] if self.api is not None else []


class XHarness(Harness):
    platform = "x"

    def __init__(self, tmp_path: Path, clock: Clock) -> None:
        super().__init__(tmp_path, clock)
        self.fake = FakeX(clock=clock).start()
        self.api = self.fake.api

    def options(self) -> dict[str, Any]:
        return {"api_url": self.fake.url, "timeout": TIMEOUT, "page_size": 100}

    def secrets(self) -> dict[str, str]:
        c = self.fake.credentials
        return {
            "consumer_key": c.consumer_key,
            "consumer_secret": c.consumer_secret,
            "access_token": c.access_token,
            "access_token_secret": c.access_token_secret,
            "bearer_token": c.app_token,
        }

    def connector(self) -> Connector:
        connector = super().connector()
        connector.clock = self.clock  # type: ignore[attr-defined]
        return connector

    def customer(self, text: str) -> str:
        return self.fake.mention(text, username=f"customer{next(self._texts)}")["id"]

    def break_auth(self) -> None:
        self.fake.revoked = True

    def malformed(self) -> None:
        big = "9" * 19
        item = {"id": big, "text": "no author", "edit_history_tweet_ids": [big]}
        self.api.script("GET", r"/2/users/\d+/mentions", Response(200, {"data": [item], "meta": {"newest_id": big}}))

    def replies_to(self, external_id: str) -> int:
        return len([t for t in self.fake.replies_to(external_id) if t["author_id"] == self.fake.me])


class RedditHarness(Harness):
    platform = "reddit"
    shows_own_replies = False  # our comments never reach our own inbox

    def __init__(self, tmp_path: Path, clock: Clock) -> None:
        super().__init__(tmp_path, clock)
        self.fake = FakeReddit(clock=clock.epoch).start()
        self.api = self.fake.api

    def options(self) -> dict[str, Any]:
        return {"oauth_url": self.fake.url, "reddit_url": self.fake.url, "timeout": TIMEOUT}

    def secrets(self) -> dict[str, str]:
        return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "username": USERNAME, "password": PASSWORD}

    def hidden(self) -> dict[str, str]:
        return {k: v for k, v in self.secrets().items() if k != "username"}  # who we are, on every comment

    def connector(self) -> Connector:
        connector = super().connector()
        connector.clock = self.clock  # type: ignore[attr-defined]
        connector.pace = Pace(clock=self.clock)
        return connector

    def customer(self, text: str) -> str:
        return self.fake.mention(f"customer{next(self._texts)}", f"u/{USERNAME} {text}")["data"]["name"]

    def break_auth(self) -> None:
        self.fake.expire_tokens()
        self.api.script("POST", "/api/v1/access_token", Response(401, {"message": "Unauthorized", "error": 401}))

    def malformed(self) -> None:
        child = {"kind": "t1", "data": {"name": "t1_zzzzzzz", "type": "username_mention"}}
        listing = {"kind": "Listing", "data": {"after": None, "before": None, "children": [child]}}
        self.api.script("GET", "/message/inbox", Response(200, listing), Response(200, listing))

    def replies_to(self, external_id: str) -> int:
        return len([c for c in self.fake.our_replies() if c["parent_id"] == external_id])


class GraphHarness(Harness):
    """What the three Meta channels share: a fresh Graph fake on the real clock (as Graph's own)."""

    def __init__(self, tmp_path: Path, clock: Clock) -> None:
        super().__init__(tmp_path, clock)
        self.fake = FakeGraph().start()
        self.api = self.fake

    def options(self) -> dict[str, Any]:
        ids = {"ig_user_id": self.fake.ig_user_id} if self.platform == "instagram" else {"page_id": self.fake.page_id}
        return {"graph_url": self.fake.url, "timeout": TIMEOUT, **ids}

    def secrets(self) -> dict[str, str]:
        return {"page_access_token": self.fake.token}

    def break_auth(self) -> None:
        self.fake.valid = False

    def tick(self) -> None:
        """Graph's times are the real clock's, to the second."""


class FacebookHarness(GraphHarness):
    platform = "facebook"

    def __init__(self, tmp_path: Path, clock: Clock) -> None:
        super().__init__(tmp_path, clock)
        self.post = self.fake.add_post()

    def customer(self, text: str) -> str:
        n = next(self._texts)
        return self.fake.add_comment(self.post, text, author=(str(5000 + n), f"Customer {n}"))

    def malformed(self) -> None:
        post = {"id": self.post, "updated_time": "yesterday", "comments": {"summary": {"total_count": 1}}}
        self.api.script("GET", r"/v\d+\.0/\d+/published_posts", Response(200, {"data": [post]}))

    def replies_to(self, external_id: str) -> int:
        comments = self.fake.comments.values()
        return len([c for c in comments if c["from"]["id"] == self.fake.page_id and c["parent"] == external_id])


class MessengerHarness(GraphHarness):
    platform = "messenger"

    def customer(self, text: str) -> str:
        n = next(self._texts)
        return self.fake.add_message(str(7000 + n), text, name=f"Customer {n}")

    def malformed(self) -> None:
        conversation = {"id": "t_1", "updated_time": "2099-01-01T00:00:00+0000", "messages": {"data": [{"x": 1}]}}
        self.api.script("GET", r"/v\d+\.0/\d+/conversations", Response(200, {"data": [conversation]}))

    def replies_to(self, external_id: str) -> int:
        for conversation in self.fake.conversations.values():
            ids = [m["id"] for m in conversation["messages"]]
            if external_id in ids:
                return len([m for m in conversation["messages"] if m["from"]["id"] == self.fake.page_id])
        return 0


class InstagramHarness(GraphHarness):
    platform = "instagram"

    def __init__(self, tmp_path: Path, clock: Clock) -> None:
        super().__init__(tmp_path, clock)
        self.media = self.fake.add_media()

    def customer(self, text: str) -> str:
        n = next(self._texts)
        return self.fake.add_ig_comment(self.media, text, username=f"customer{n}", user_id=str(9000 + n))

    def malformed(self) -> None:
        self.api.script(
            "GET",
            r"/v\d+\.0/\d+/comments",
            Response(200, {"data": [{"text": "no id", "timestamp": "2026-11-10T12:00:00+0000"}]}),
        )
        self.api.script(
            "GET", r"/v\d+\.0/\d+/media", Response(200, {"data": [{"id": self.media, "comments_count": 99}]})
        )

    def replies_to(self, external_id: str) -> int:
        comments = self.fake.ig_comments.values()
        return len([c for c in comments if c["from_id"] == self.fake.ig_user_id and c["parent"] == external_id])


class SandboxHarness(Harness):
    """The sandbox's faults are its file's: a write that fails before or after the rename."""

    platform = "sandbox"
    _saved: Callable[[Path, dict[str, Any]], None] | None = None

    def faults(self, rate: float, seed: int, kinds: tuple[str, ...]) -> None:
        self._saved = self._saved or sandbox._replace
        self._failed: list[str] = getattr(self, "_failed", [])
        if rate == 0:
            sandbox._replace = self._saved
            return
        rng, write = random.Random(seed), self._saved

        def flaky(path: Path, data: dict[str, Any]) -> None:
            draw = rng.random()
            if draw < rate / 2:
                self._failed.append("before")
                raise TransientError(f"cannot write the sandbox file {path}: No space left on device")
            write(path, data)
            if draw < rate:
                self._failed.append("after")
                raise TransientError(f"cannot write the sandbox file {path}: Input/output error")

        sandbox._replace = flaky

    def injected(self) -> list[str]:
        return list(getattr(self, "_failed", []))

    def stop(self) -> None:
        if self._saved is not None:
            sandbox._replace = self._saved

    def options(self) -> dict[str, Any]:
        return {"path": self.tmp_path / "sandbox.json"}

    def customer(self, text: str) -> str:
        """Customers write through their own sandbox, which the fault mode leaves alone."""
        flaky, sandbox._replace = sandbox._replace, self._saved or sandbox._replace
        try:
            return self.connector().post(f"customer{next(self._texts)}", text)  # type: ignore[attr-defined]
        finally:
            sandbox._replace = flaky

    def break_auth(self) -> None:
        raise NotImplementedError("the sandbox has no credentials to revoke")

    def malformed(self) -> None:
        path = self.tmp_path / "sandbox.json"
        data = json.loads(path.read_text()) if path.exists() else {"posts": []}
        data["posts"].append({"id": "not an int", "author": "eve", "text": "hi"})
        path.write_text(json.dumps(data))

    def replies_to(self, external_id: str) -> int:
        posts = self.connector().posts()  # type: ignore[attr-defined]
        return len([p for p in posts if p["reply_to"] == int(external_id) and p["author"] == "acme"])


HARNESSES: dict[str, Callable[[Path, Clock], Harness]] = {
    h.platform: h
    for h in (XHarness, RedditHarness, FacebookHarness, MessengerHarness, InstagramHarness, SandboxHarness)
}
