"""The one contract every channel implements, and the policy they share.

A connector translates one platform's API into :class:`InboundMessage` and :class:`Receipt` and
its failures into one error tree; it never touches the database and never sleeps.

Errors::

    ConnectorError                  anything a connector raises on purpose
    ├── AuthError                   credentials expired or revoked: stop this account
    │   └── SecretMissing           this process lacks a secret: its own error, not the account's
    ├── RateLimited                 the platform said "not now": ``retry_at`` says when
    ├── TransientError              network, timeout, 5xx: try again next cycle
    ├── PermanentError              this request will never succeed (deleted parent, closed window)
    │   └── ReplyRefused            the reply breaks a channel rule; refused before anything is sent
    └── MalformedPayload            the platform answered something we cannot read

Vendor exceptions are translated at the boundary with ``raise … from err``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = [
    "AuthError",
    "Capabilities",
    "Connector",
    "ConnectorError",
    "InboundMessage",
    "MalformedPayload",
    "Pace",
    "PermanentError",
    "RateLimited",
    "Receipt",
    "ReplyRefused",
    "SecretMissing",
    "Settings",
    "TransientError",
    "mapping",
    "platform_id",
    "platform_text",
    "utcnow",
]


_clock: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """Now in UTC, from the clock a simulation set (``clock``), else the system's."""
    return _clock() if _clock is not None else datetime.now(UTC)


@contextmanager
def clock(source: Callable[[], datetime]) -> Iterator[None]:
    """Every ``utcnow()`` in the product reads ``source`` meanwhile: a replay runs hours of traffic in seconds.

    One clock per process: ``socialcare simulate`` is its own process, and tests restore it on exit.
    """
    global _clock
    before, _clock = _clock, source
    try:
        yield
    finally:
        _clock = before


class ConnectorError(Exception):
    """Base of every error a connector raises on purpose."""


class AuthError(ConnectorError):
    """The platform refused our credentials; polling this account stops until they are fixed."""


class SecretMissing(AuthError):
    """This process was not given a secret the account needs.

    It is the process's problem (a shell without the environment variable), not the account's:
    the platform was never asked, so the account is not marked as failing in the shared store.
    """


class RateLimited(ConnectorError):
    def __init__(self, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class TransientError(ConnectorError):
    """Worth retrying later: network trouble, timeouts, server errors."""


class PermanentError(ConnectorError):
    """Retrying cannot help: the target is gone or the platform forbids the action."""


class ReplyRefused(PermanentError):
    """The reply breaks a rule of the channel (too long, window closed); nothing was sent."""


class MalformedPayload(ConnectorError):
    """The platform's answer could not be read as the documented shape."""


def platform_id(value: Any, what: str) -> str:
    """A platform's id as text: a non-empty string, or an int; anything else is :class:`MalformedPayload`."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise MalformedPayload(f"{what} is {ascii(value)[:40]}, not an id")
    return str(value)


def platform_text(value: Any, what: str) -> str:
    """A message's text exactly as sent (absent: empty); a value that is not text is :class:`MalformedPayload`."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedPayload(f"{what} is a {type(value).__name__}, not text")
    return value


def mapping(value: Any, what: str) -> Mapping[str, Any]:
    """An object of the payload (absent: empty); anything but an object is :class:`MalformedPayload`."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{what} is a {type(value).__name__}, not an object")
    return value


@dataclass(frozen=True)
class InboundMessage:
    """A message as the platform gave it, normalised; ids are always the platform's own.

    ``from_us`` marks posts written by the connected account itself (our replies, echoes,
    retweets): they are recorded as outbound and never open a case. ``author_email`` and
    ``author_phone`` are given by channels that know them (email, WhatsApp, a sandbox post that
    says): identities sharing one are the same customer.
    """

    platform: str
    external_id: str
    thread_id: str
    author_id: str
    author_handle: str
    text: str
    created_at: datetime
    parent_id: str | None = None
    author_name: str | None = None
    language: str | None = None
    url: str | None = None
    from_us: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)
    author_email: str | None = None
    author_phone: str | None = None

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError("InboundMessage.created_at must be timezone-aware")


@dataclass(frozen=True)
class Receipt:
    """Proof that a reply was posted: the platform's id for it."""

    external_id: str
    sent_at: datetime
    url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Capabilities:
    """What the channel allows; the core checks replies against it before anything is sent."""

    max_reply_length: int | None
    public: bool = True
    reply_window: timedelta | None = None


class Settings(BaseModel):
    """Base of each connector's typed settings (the non-secret part of an account's config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Pace:
    """What the platform has told us about our budget, so the scheduler can wait before calling.

    Connectors report what they read from response headers; they never sleep. ``ready_at`` is
    the earliest time the next call should be made.
    """

    def __init__(self, clock: Callable[[], datetime] = utcnow, reserve: int = 1) -> None:
        self._clock = clock
        self._reserve = reserve
        self.ready_at: datetime | None = None

    def ready(self) -> bool:
        return self.ready_at is None or self._clock() >= self.ready_at

    def block_until(self, when: datetime | None, *, fallback: timedelta = timedelta(minutes=1)) -> None:
        self._push(when if when is not None else self._clock() + fallback)

    def observe_remaining(self, remaining: int | None, reset_at: datetime | None) -> None:
        """Spread the calls left evenly until the window resets, so we never hit zero."""
        if remaining is None or reset_at is None:
            return
        now = self._clock()
        left = (reset_at - now).total_seconds()
        if left <= 0:
            return
        if remaining <= self._reserve:
            self._push(reset_at)
        else:
            self._push(now + timedelta(seconds=left / (remaining - self._reserve)))

    def observe_usage(self, percent: float, *, threshold: float = 80.0, regain_at: datetime | None = None) -> None:
        """Back off when a usage meter (0-100 %) passes ``threshold``; harder the closer to 100."""
        if percent < threshold:
            return
        now = self._clock()
        if regain_at is not None and regain_at > now:
            self._push(regain_at)
            return
        over = min(percent, 100.0) - threshold
        self._push(now + timedelta(seconds=60 * math.ceil(1 + over / 5)))

    def _push(self, when: datetime) -> None:
        if self.ready_at is None or when > self.ready_at or self.ready_at <= self._clock():
            self.ready_at = when


class Connector(ABC):
    """One connected account on one platform.

    Subclasses declare ``platform``, ``capabilities``, their ``Settings`` model and the names of
    the ``secrets`` they need; the core builds them through :meth:`from_config`.
    """

    platform: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    settings_model: ClassVar[type[Settings]] = Settings
    secrets: ClassVar[tuple[str, ...]] = ()
    public_secrets: ClassVar[tuple[str, ...]] = ()
    """Secrets that are also the account's public name (Reddit's username): shown, never masked."""

    def __init__(self, name: str, settings: Settings, secrets: Mapping[str, SecretStr]) -> None:
        self.name = name
        self.settings = settings
        self._secrets = dict(secrets)
        self.pace = Pace()

    @classmethod
    def from_config(cls, name: str, options: Mapping[str, Any], secrets: Mapping[str, SecretStr]) -> Connector:
        return cls(name, cls.settings_model.model_validate(dict(options)), secrets)

    def required_secrets(self) -> tuple[str, ...]:
        """The secrets this account cannot work without; ``secrets`` lists every one it may use."""
        return self.secrets

    def secret(self, key: str) -> str:
        try:
            return self._secrets[key].get_secret_value()
        except KeyError:
            raise SecretMissing(f"account {self.name!r}: secret {key!r} is not set") from None

    def redact(self, text: str) -> str:
        """``text`` with every form of this account's secrets masked.

        For platform text that goes into an error or a log line: an error body can echo our own
        request headers back, token included.
        """
        for form in sorted(set(self._secret_forms()), key=len, reverse=True):
            if form:
                text = text.replace(form, "***")
        return text

    def scrub(self, err: BaseException) -> BaseException:
        """``err`` and its causes with this account's secrets masked in their messages.

        For a vendor exception about to become the ``__cause__`` of a connector error: a traceback
        prints the whole chain, and the vendor's message may quote the platform's error body.
        """
        seen: BaseException | None = err
        while seen is not None:
            masked = tuple(self.redact(str(arg)) for arg in seen.args)
            seen.args = tuple(m if m != str(a) else a for m, a in zip(masked, seen.args, strict=True))
            seen = seen.__cause__ or seen.__context__
        return err

    def _secret_forms(self) -> Iterable[str]:
        """Each secret as it may travel: as given and percent-encoded (OAuth 1.0a headers)."""
        for value in self._secrets.values():
            raw = value.get_secret_value()
            yield raw
            yield quote(raw, safe="")

    @abstractmethod
    def poll(self, cursor: str | None) -> tuple[Sequence[InboundMessage], str | None]:
        """Everything new since ``cursor``, oldest first, and the cursor to pass next time."""

    @abstractmethod
    def reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt:
        """Post ``text`` as a reply to ``to``, in its thread, on this channel.

        ``idempotency_key`` is the same on every attempt at one approved reply: a platform that
        accepts such a key gets it, so a retry after a lost answer cannot post twice.
        """

    @abstractmethod
    def find_reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt | None:
        """Our reply to ``to`` if the platform already has it (crash recovery): by key where the
        platform keeps one, else by thread, author and text."""

    @abstractmethod
    def verify(self) -> str:
        """One cheap call that proves the credentials work; returns who we are on the platform."""

    def measure(self, text: str) -> int:
        """Length of ``text`` as the platform counts it."""
        return len(text)

    def check_reply(self, to: InboundMessage, text: str, now: datetime | None = None) -> None:
        """Raise :class:`ReplyRefused` if the channel would not accept this reply."""
        caps = self.capabilities
        if not text.strip():
            raise ReplyRefused("the reply is empty")
        if caps.max_reply_length is not None and self.measure(text) > caps.max_reply_length:
            raise ReplyRefused(
                f"the reply is {self.measure(text)} characters; {self.platform} allows {caps.max_reply_length}"
            )
        if caps.reply_window is not None and (now or utcnow()) - to.created_at > caps.reply_window:
            hours = caps.reply_window.total_seconds() / 3600
            raise ReplyRefused(f"{self.platform} only allows replies within {hours:g} hours of the customer's message")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} secrets={sorted(self._secrets)}>"
