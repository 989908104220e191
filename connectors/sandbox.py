"""A local platform kept in one JSON file, so the product runs with no account anywhere.

It behaves like a small public forum: people post, reply to posts, and our account replies in
the thread. Every write takes an exclusive lock and replaces the file atomically, so the CLI
and the daemon can use it at once.

The file is written as ASCII JSON (``ensure_ascii``): every Python string survives the round
trip, lone surrogates included, which UTF-8 cannot encode. Anything in the file that is not the
documented shape (invalid UTF-8, a post missing a key or with a value of the wrong type) is a
:class:`MalformedPayload` naming the post, never a crash, and nothing is written over it.
"""

from __future__ import annotations

import fcntl
import glob
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

TEMP_SUFFIX = ".tmp"
#: Every post's keys and their types; ``reply_to`` may also be null, ``idempotency_key`` absent.
POST_SHAPE: dict[str, type] = {"id": int, "author": str, "name": str, "text": str, "thread": int, "created_at": str}
#: Keys a post may carry, as text: the author's email and phone, as an email or WhatsApp channel would give them.
OPTIONAL_TEXT = ("idempotency_key", "email", "phone")


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
        parent = _find(data, to.external_id)
        for post in data["posts"]:
            if (
                parent is not None
                and post["reply_to"] == parent["id"]
                and post["author"] == self.settings.handle
                and post["text"] == text
            ):
                return self._receipt(post)
        return None

    def verify(self) -> str:
        self._read()
        return f"sandbox file {self.settings.path}, posting as @{self.settings.handle}"

    def post(
        self,
        author: str,
        text: str,
        name: str | None = None,
        reply_to: str | None = None,
        *,
        email: str | None = None,
        phone: str | None = None,
    ) -> str:
        """Write a post as someone else would; used by ``socialcare sandbox post`` and ``seed``."""
        with self._write() as data:
            parent = None
            if reply_to is not None:
                parent = _find(data, reply_to)
                if parent is None:
                    raise PermanentError(f"no post with id {reply_to} to reply to")
            post = _append(data, author, name or author, text, parent)
            post.update({key: value for key, value in (("email", email), ("phone", phone)) if value is not None})
        return str(post["id"])

    def posts(self) -> list[dict[str, Any]]:
        return list(self._read()["posts"])

    def _message(self, post: Any) -> InboundMessage:
        """A post as an :class:`InboundMessage`; one that breaks the file's shape is :class:`MalformedPayload`."""
        post = _checked(post, self.settings.path)
        return InboundMessage(
            platform=self.platform,
            external_id=str(post["id"]),
            thread_id=str(post["thread"]),
            parent_id=None if post["reply_to"] is None else str(post["reply_to"]),
            author_id=post["author"],
            author_handle=post["author"],
            author_name=post["name"],
            text=post["text"],
            created_at=_created(post, self.settings.path),
            url=f"sandbox://{self.settings.path.name}/{post['id']}",
            from_us=post["author"] == self.settings.handle,
            raw=post,
            author_email=post.get("email"),
            author_phone=post.get("phone"),
        )

    def _receipt(self, post: dict[str, Any]) -> Receipt:
        return Receipt(external_id=str(post["id"]), sent_at=_created(post, self.settings.path), raw=post)

    def _read(self) -> dict[str, Any]:
        try:
            with open(self.settings.path, "rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_SH)
                return _decode(handle.read(), self.settings.path)
        except FileNotFoundError:
            return {"posts": []}
        except OSError as err:
            raise TransientError(f"cannot read the sandbox file {self.settings.path}: {err.strerror}") from err

    @contextmanager
    def _write(self) -> Iterator[dict[str, Any]]:
        """The file's content to change, written back atomically under an exclusive lock.

        A writer killed between creating its temporary file and the rename leaves that file
        behind; only the lock holder writes one, so any found while holding the lock is stale.
        """
        path = self.settings.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(path.with_name(path.name + ".lock"), "a")  # noqa: SIM115 - closed by the with below
        except OSError as err:
            raise TransientError(f"cannot open the sandbox file {path}: {err.strerror}") from err
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                for stale in path.parent.glob(glob.escape(path.name) + "*" + TEMP_SUFFIX):
                    stale.unlink(missing_ok=True)
                data = _decode(path.read_bytes(), path) if path.exists() else {"posts": []}
            except OSError as err:
                raise TransientError(f"cannot read the sandbox file {path}: {err.strerror}") from err
            yield data
            _replace(path, data)

    def __repr__(self) -> str:
        return f"<SandboxConnector {self.name!r} path={str(self.settings.path)!r} as @{self.settings.handle}>"


def _replace(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` next to ``path`` and rename it over; the temporary file never outlives a failure."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=TEMP_SUFFIX)
    except OSError as err:
        raise TransientError(f"cannot write the sandbox file {path}: {err.strerror}") from err
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(_encode(data))
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise TransientError(f"cannot write the sandbox file {path}: {err.strerror}") from err
        raise


def _encode(data: dict[str, Any]) -> str:
    """One post per line, readable in an editor; each line by json's C encoder (``indent`` would use the
    pure-Python one, several times slower on a file rewritten for every post)."""
    posts = ",\n".join(json.dumps(post, ensure_ascii=True) for post in data["posts"])
    rest = {k: v for k, v in data.items() if k != "posts"}
    head = json.dumps(rest, ensure_ascii=True)[1:-1]
    return "{" + (head + ", " if head else "") + '"posts": [\n' + posts + "\n]}\n"


def _decode(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MalformedPayload(
            f"the sandbox file {path} is not UTF-8 text (bad byte at offset {err.start}); fix or remove it"
        ) from None
    try:
        data = json.loads(text or '{"posts": []}')
    except json.JSONDecodeError as err:
        raise MalformedPayload(f"the sandbox file {path} is not valid JSON ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("posts"), list):
        raise MalformedPayload(f"the sandbox file {path} has no list of posts")
    for post in data["posts"]:
        _created(_checked(post, path), path)
    return data


def _checked(post: Any, path: Path) -> dict[str, Any]:
    """``post`` if it has the shape every post has, else :class:`MalformedPayload` saying what is wrong."""
    if not isinstance(post, dict):
        raise MalformedPayload(f"the sandbox file {path} holds a post that is not an object: {_shown(post)}")
    which = f"post {_shown(post.get('id'))}"
    for key, kind in POST_SHAPE.items():
        if key not in post:
            raise MalformedPayload(f"the sandbox file {path}: {which} has no {key!r}")
        if not isinstance(post[key], kind) or isinstance(post[key], bool):
            raise MalformedPayload(
                f"the sandbox file {path}: {which} has {key!r} = {_shown(post[key])}, not a {kind.__name__}"
            )
    reply_to = post.get("reply_to", ...)
    if reply_to is ... or not (reply_to is None or (isinstance(reply_to, int) and not isinstance(reply_to, bool))):
        raise MalformedPayload(f"the sandbox file {path}: {which} needs 'reply_to' as a post id or null")
    for key in OPTIONAL_TEXT:
        if not isinstance(post.get(key, ""), str):
            raise MalformedPayload(f"the sandbox file {path}: {which} has {key!r} that is not text")
    return post


def _created(post: dict[str, Any], path: Path) -> datetime:
    try:
        created = datetime.fromisoformat(post["created_at"])
    except ValueError:
        created = None
    if created is None or created.tzinfo is None:
        raise MalformedPayload(
            f"the sandbox file {path}: post {post['id']} has 'created_at' = {_shown(post['created_at'])}, "
            "not an ISO time with a UTC offset"
        )
    return created


def _shown(value: Any) -> str:
    """A value for a one-line error: short, and printable whatever it holds."""
    return ascii(value)[:60]


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
