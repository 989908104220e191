"""A local platform kept in one JSON file, so the product runs with no account anywhere.

It behaves like a small public forum: people post, reply to posts, and our account replies in
the thread. Every write takes an exclusive lock and replaces the file atomically, so the CLI
and the daemon can use it at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from connectors.base import (
    Capabilities,
    Connector,
    InboundMessage,
    MalformedPayload,
    PermanentError,
    Receipt,
    Settings,
    TransientError,
    utcnow,
)


class SandboxSettings(Settings):
    path: Path = Field(description="the platform's file; created on first use")
    handle: str = Field("acme", description="our account's handle on the sandbox")
    page_size: int = Field(50, ge=1, le=500)
    max_reply_length: int = Field(1000, ge=1)


class SandboxConnector(Connector):
    platform: ClassVar[str] = "sandbox"
    capabilities: ClassVar[Capabilities] = Capabilities(max_reply_length=1000, public=True)
    settings_model: ClassVar[type[Settings]] = SandboxSettings
    settings: SandboxSettings

    def __init__(self, name: str, settings: Settings, secrets: Any) -> None:
        super().__init__(name, settings, secrets)
        self.capabilities = Capabilities(max_reply_length=self.settings.max_reply_length, public=True)

    def poll(self, cursor: str | None) -> tuple[Sequence[InboundMessage], str | None]:
        after = _parse_cursor(cursor)
        posts = [p for p in self._read()["posts"] if p["id"] > after][: self.settings.page_size]
        messages = [self._message(post) for post in posts]
        return messages, (str(posts[-1]["id"]) if posts else cursor)

    def reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt:
        """Like a platform that takes an idempotency key: a second post with the same key returns the first."""
        self.check_reply(to, text)
        with self._write() as data:
            earlier = _with_key(data, idempotency_key)
            if earlier is not None:
                return self._receipt(earlier)
            parent = _find(data, to.external_id)
            if parent is None:
                raise PermanentError(f"post {to.external_id} no longer exists on the sandbox")
            post = _append(data, self.settings.handle, self.settings.handle, text, parent, idempotency_key)
        return self._receipt(post)

    def find_reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt | None:
        data = self._read()
        earlier = _with_key(data, idempotency_key)
        if earlier is not None:
            return self._receipt(earlier)
        for post in data["posts"]:
            if (
                post["reply_to"] == int(to.external_id)
                and post["author"] == self.settings.handle
                and post["text"] == text
            ):
                return self._receipt(post)
        return None

    def verify(self) -> str:
        self._read()
        return f"sandbox file {self.settings.path}, posting as @{self.settings.handle}"

    def post(self, author: str, text: str, name: str | None = None, reply_to: str | None = None) -> str:
        """Write a post as someone else would; used by ``socialcare sandbox post`` and ``seed``."""
        with self._write() as data:
            parent = None
            if reply_to is not None:
                parent = _find(data, reply_to)
                if parent is None:
                    raise PermanentError(f"no post with id {reply_to} to reply to")
            post = _append(data, author, name or author, text, parent)
        return str(post["id"])

    def posts(self) -> list[dict[str, Any]]:
        return list(self._read()["posts"])

    def _message(self, post: dict[str, Any]) -> InboundMessage:
        return InboundMessage(
            platform=self.platform,
            external_id=str(post["id"]),
            thread_id=str(post["thread"]),
            parent_id=None if post["reply_to"] is None else str(post["reply_to"]),
            author_id=post["author"],
            author_handle=post["author"],
            author_name=post["name"],
            text=post["text"],
            created_at=datetime.fromisoformat(post["created_at"]),
            url=f"sandbox://{self.settings.path.name}/{post['id']}",
            from_us=post["author"] == self.settings.handle,
            raw=post,
        )

    def _receipt(self, post: dict[str, Any]) -> Receipt:
        return Receipt(external_id=str(post["id"]), sent_at=datetime.fromisoformat(post["created_at"]), raw=post)

    def _read(self) -> dict[str, Any]:
        try:
            with open(self.settings.path, encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_SH)
                return _decode(handle.read(), self.settings.path)
        except FileNotFoundError:
            return {"posts": []}
        except OSError as err:
            raise TransientError(f"cannot read the sandbox file {self.settings.path}: {err.strerror}") from err

    @contextmanager
    def _write(self) -> Iterator[dict[str, Any]]:
        path = self.settings.path
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = _decode(path.read_text(encoding="utf-8"), path) if path.exists() else {"posts": []}
            yield data
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False, indent=1)
            os.replace(tmp, path)

    def __repr__(self) -> str:
        return f"<SandboxConnector {self.name!r} path={str(self.settings.path)!r} as @{self.settings.handle}>"


def _decode(text: str, path: Path) -> dict[str, Any]:
    try:
        data = json.loads(text or '{"posts": []}')
    except json.JSONDecodeError as err:
        raise MalformedPayload(f"the sandbox file {path} is not valid JSON ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("posts"), list):
        raise MalformedPayload(f"the sandbox file {path} has no list of posts")
    return data


def _parse_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        return int(cursor)
    except ValueError as err:
        raise MalformedPayload(f"sandbox cursor {cursor!r} is not a post id") from err


def _find(data: dict[str, Any], post_id: str) -> dict[str, Any] | None:
    try:
        wanted = int(post_id)
    except ValueError:
        return None
    return next((p for p in data["posts"] if p["id"] == wanted), None)


def _with_key(data: dict[str, Any], key: str | None) -> dict[str, Any] | None:
    if key is None:
        return None
    return next((p for p in data["posts"] if p.get("idempotency_key") == key), None)


def _append(
    data: dict[str, Any],
    author: str,
    name: str,
    text: str,
    parent: dict[str, Any] | None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    post_id = max((p["id"] for p in data["posts"]), default=0) + 1
    post: dict[str, Any] = {
        "id": post_id,
        "author": author,
        "name": name,
        "text": text,
        "reply_to": None if parent is None else parent["id"],
        "thread": post_id if parent is None else parent["thread"],
        "created_at": utcnow().isoformat(),
    }
    if idempotency_key is not None:
        post["idempotency_key"] = idempotency_key
    data["posts"].append(post)
    return post
