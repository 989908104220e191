"""What the Facebook, Messenger and Instagram connectors share: one Graph API client over httpx.

Why httpx and not facebook-sdk: its last release (3.1.0, 2018) accepts only Graph versions
2.8-3.1, all expired, and returns parsed JSON without the response headers that carry Meta's
usage meters, so it could neither pin a current version nor pace itself.

The client is built in one factory (:func:`make_http`) with the base URL ``graph_url`` and the
pinned ``graph_version``; every answer passes through :meth:`Graph._read`, which reports the
usage headers to the account's :class:`~connectors.base.Pace` and translates Graph errors into
the connector error tree. The Page token travels in the ``Authorization: Bearer`` header, which
Graph accepts like the ``access_token`` parameter, so no URL we build carries it except
``debug_token``'s ``input_token`` (``verify`` only; Graph takes it nowhere else), which
:class:`_MaskTokens` masks in httpx's log; messages and logs name the method and path only.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import Field, SecretStr, field_validator

from connectors.base import (
    AuthError,
    Connector,
    InboundMessage,
    MalformedPayload,
    Pace,
    PermanentError,
    RateLimited,
    ReplyRefused,
    Settings,
    TransientError,
    utcnow,
)

__all__ = [
    "MIN_GRAPH_VERSION",
    "Graph",
    "GraphConnector",
    "GraphSettings",
    "Seen",
    "following",
    "items",
    "make_http",
    "parse_time",
]

log = logging.getLogger("connectors.graph")


class _MaskTokens(logging.Filter):
    """httpx logs every request URL at INFO; mask any token a Graph URL could carry."""

    _TOKEN = re.compile(r"((?:access|input)_token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                self._TOKEN.sub(r"\1***", str(a)) if isinstance(a, str | httpx.URL) else a for a in record.args
            )
        record.msg = self._TOKEN.sub(r"\1***", str(record.msg))
        return True


logging.getLogger("httpx").addFilter(_MaskTokens())

MIN_GRAPH_VERSION = 25
USAGE_THRESHOLD = 80.0
#: Throttling codes: app (4), user (17), Pages (32), custom (613), Pages / Instagram / Messenger BUC.
THROTTLING_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80006})
#: Without a hint from the usage headers, how long to leave a throttled account alone.
DEFAULT_THROTTLE_PAUSE = timedelta(minutes=15)
#: "Application limit reached" (341) and "temporarily blocked for policies violations" (368) are
#: waits, not refusals; a policy block lasts longer, so it is asked about again less often.
WAIT_CODES = {341: DEFAULT_THROTTLE_PAUSE, 368: timedelta(hours=1)}
#: Codes meaning the app or token may not do this at all (3: capability, 10 and 200-299: permission).
CAPABILITY_CODE = 3
#: Messenger's "outside of allowed window" refusal: code 10 under several subcodes (2018278 and
#: others for older policies), all with this message; it is a closed window, not a missing permission.
OUTSIDE_WINDOW_SUBCODE = 2018278
OUTSIDE_WINDOW_MESSAGE = "outside of allowed window"
_PERMISSION = re.compile(r"\b((?:pages|instagram|business|read|publish)_[a-z_]+)\b")


class GraphSettings(Settings):
    """Settings every Graph connector takes; subclasses add the ids of what they watch."""

    graph_url: str = "https://graph.facebook.com"
    graph_version: str = "v25.0"
    timeout: float = Field(10.0, gt=0, description="seconds to wait for Graph before giving up on a call")
    page_size: int = Field(100, ge=1, le=100, description="items per page (Graph's `limit`)")

    @field_validator("graph_version")
    @classmethod
    def _pinned_current(cls, value: str) -> str:
        match = re.fullmatch(r"v?(\d+)\.(\d+)", value.strip())
        if match is None:
            raise ValueError(f"graph_version must look like 'v25.0', not {value!r}")
        if int(match.group(1)) < MIN_GRAPH_VERSION:
            raise ValueError(
                f"graph_version {value!r} is too old: socialcare needs v{MIN_GRAPH_VERSION}.0 or newer "
                "(older versions expire and Meta silently upgrades calls to them)"
            )
        return f"v{match.group(1)}.{match.group(2)}"

    @field_validator("graph_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"graph_url must start with http:// or https://, not {value!r}")
        return value.rstrip("/")


def make_http(settings: GraphSettings, token: str) -> httpx.Client:
    """The one place a Graph HTTP client is built: base URL with the pinned version, token header."""
    return httpx.Client(
        base_url=f"{settings.graph_url}/{settings.graph_version}/",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=settings.timeout,
        follow_redirects=False,
    )


def parse_time(value: Any) -> datetime:
    """Graph's times look like ``2026-11-23T12:00:00+0000``; always UTC-aware."""
    if not isinstance(value, str):
        raise MalformedPayload(f"expected a Graph timestamp, got {value!r}")
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as err:
            raise MalformedPayload(f"unreadable Graph timestamp {value!r}") from err
    if parsed.tzinfo is None:
        raise MalformedPayload(f"Graph timestamp without a timezone: {value!r}")
    return parsed


class Graph:
    """Calls to one account's Graph endpoints, with usage pacing and error translation."""

    def __init__(self, http: httpx.Client, pace: Pace, account: str, redact: Callable[[str], str] = str) -> None:
        self._http = http
        self._pace = pace
        self._account = account
        self._redact = redact
        #: Graph's clock (its ``Date`` header, else ours when asking) at the last answer.
        self.answered_at: datetime | None = None

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._call("GET", path, params=dict(params or {}))

    def post(self, path: str, *, form: Mapping[str, str] | None = None, body: Any = None) -> dict[str, Any]:
        """POST ``form`` as form fields (comment edges) or ``body`` as JSON (the Send API)."""
        return self._call("POST", path, params={}, form=form, body=body)

    def pages(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Each page of an edge, following ``paging.cursors.after`` (or the query of ``paging.next``)."""
        query = dict(params)
        while True:
            page = self.get(path, query)
            yield page
            after = following(page)
            if after is None:
                return
            query = {**dict(params), **after}

    def _call(
        self, method: str, path: str, *, params: dict[str, Any], form: Mapping[str, str] | None = None, body: Any = None
    ) -> dict[str, Any]:
        path = path.lstrip("/")
        where = f"{method} /{path}"
        asked_at = utcnow()
        try:
            response = self._http.request(method, path, params=params, data=form, json=body)
        except httpx.TimeoutException as err:
            raise TransientError(f"account {self._account!r}: Graph did not answer {where} in time") from err
        except httpx.TransportError as err:
            raise TransientError(
                f"account {self._account!r}: cannot reach Graph for {where}: {type(err).__name__}"
            ) from err
        log.debug("%s -> %s", where, response.status_code)
        self.answered_at = _header_time(response.headers) or asked_at
        return self._read(response, where)

    def _read(self, response: httpx.Response, where: str) -> dict[str, Any]:
        regain_at = self._observe_usage(response.headers)
        try:
            body = response.json()
        except ValueError as err:
            if response.status_code >= 500:
                raise TransientError(
                    f"account {self._account!r}: Graph failed {where} with HTTP {response.status_code}"
                ) from err
            raise MalformedPayload(
                f"account {self._account!r}: Graph answered {where} (HTTP {response.status_code}) "
                "with a body that is not JSON"
            ) from err
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            raise self._error(body["error"], where, response.status_code, regain_at)
        if response.status_code >= 500:
            raise TransientError(f"account {self._account!r}: Graph failed {where} with HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(f"account {self._account!r}: Graph refused {where} with HTTP {response.status_code}")
        if not isinstance(body, dict):
            raise MalformedPayload(f"account {self._account!r}: Graph answered {where} with JSON that is not an object")
        return body

    def _observe_usage(self, headers: httpx.Headers) -> datetime | None:
        """Report the fullest usage meter to the pace; return when BUC says access comes back."""
        percent = 0.0
        regain_minutes = 0.0
        for name in ("x-app-usage", "x-page-usage"):
            meter = _json_header(headers, name)
            if isinstance(meter, dict):
                percent = max(percent, _highest(meter))
        buc = _json_header(headers, "x-business-use-case-usage")
        if isinstance(buc, dict):
            for entries in buc.values():
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, dict):
                        percent = max(percent, _highest(entry))
                        regain = entry.get("estimated_time_to_regain_access")
                        if isinstance(regain, int | float):
                            regain_minutes = max(regain_minutes, float(regain))
        regain_at = utcnow() + timedelta(minutes=regain_minutes) if regain_minutes > 0 else None
        if percent >= USAGE_THRESHOLD:
            log.info("account %r: Graph usage at %.0f%%, slowing down", self._account, percent)
            self._pace.observe_usage(percent, threshold=USAGE_THRESHOLD, regain_at=regain_at)
        return regain_at

    def _error(self, error: dict[str, Any], where: str, status: int, regain_at: datetime | None) -> Exception:
        code = error.get("code")
        subcode = error.get("error_subcode")
        text = self._redact(str(error.get("message") or "no message"))[:500]
        trace = f" (fbtrace_id {error['fbtrace_id']})" if error.get("fbtrace_id") else ""
        said = f"account {self._account!r}: Graph refused {where}: {text} [code {code}"
        said += f", subcode {subcode}]{trace}" if subcode is not None else f"]{trace}"
        if code in THROTTLING_CODES:
            retry_at = regain_at or utcnow() + DEFAULT_THROTTLE_PAUSE
            self._pace.block_until(retry_at)
            return RateLimited(f"{said}; throttled, next try after {retry_at:%H:%M} UTC", retry_at)
        if code in WAIT_CODES:
            retry_at = regain_at or utcnow() + WAIT_CODES[code]
            self._pace.block_until(retry_at)
            why = "the app's limit is reached" if code == 341 else "Meta blocks this action for now (policy)"
            return RateLimited(f"{said}; {why}, next try after {retry_at:%H:%M} UTC", retry_at)
        if code == CAPABILITY_CODE:
            named = _PERMISSION.search(text)
            capability = named.group(1) if named else "the capability this call needs"
            return AuthError(
                f"{said}; the app lacks {capability}: request it for the app (App Review), then renew the Page token"
            )
        if code in (190, 102):
            return AuthError(f"{said}; the Page access token expired or was revoked: renew the Page token")
        if code == 10 and (subcode == OUTSIDE_WINDOW_SUBCODE or OUTSIDE_WINDOW_MESSAGE in text.lower()):
            return ReplyRefused(f"{said}; the customer's messaging window has closed, nothing was sent")
        if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
            missing = _PERMISSION.search(text)
            hint = f"grant the {missing.group(1)} permission" if missing else "grant the permission it needs"
            return AuthError(f"{said}; {hint} to the app and renew the Page token")
        if code == 100 and subcode == 33:
            return PermanentError(f"{said}; it was deleted or this token cannot see it")
        if error.get("is_transient") or code in (1, 2) or status >= 500:
            return TransientError(said)
        return PermanentError(said)


def following(page: Mapping[str, Any]) -> dict[str, str] | None:
    """The parameters that fetch the page after ``page``, or None on the last one."""
    paging = page.get("paging")
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    after = (paging.get("cursors") or {}).get("after") if isinstance(paging.get("cursors"), dict) else None
    if after:
        return {"after": str(after)}
    query = dict(parse_qsl(urlsplit(str(paging["next"])).query))
    query.pop("access_token", None)
    return query or None


def items(page: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    """The ``data`` list of an edge page, checked."""
    data = page.get("data")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise MalformedPayload(f"Graph answered {where} without a list of objects in 'data'")
    return data


def _json_header(headers: httpx.Headers, name: str) -> Any:
    raw = headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        log.debug("unreadable %s header ignored", name)
        return None


def _header_time(headers: httpx.Headers) -> datetime | None:
    try:
        return parsedate_to_datetime(headers["date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return None


def _highest(meter: Mapping[str, Any]) -> float:
    values = [
        float(meter[k]) for k in ("call_count", "total_cputime", "total_time") if isinstance(meter.get(k), int | float)
    ]
    return max(values, default=0.0)


class Seen:
    """Where a poll stopped: the newest creation time read and the ids read at that very second.

    Graph times have one-second resolution, so ids at the boundary second are kept to tell a
    second message in the same second from one already returned.
    """

    def __init__(self, at: datetime, ids: Iterable[str] = ()) -> None:
        self.at = at.replace(microsecond=0)
        self.ids = frozenset(ids)

    def is_new(self, at: datetime, external_id: str) -> bool:
        return at > self.at or (at == self.at and external_id not in self.ids)

    def advanced(self, messages: Iterable[InboundMessage], horizon: datetime | None = None) -> Seen:
        """The mark after ``messages``; those newer than ``horizon`` leave it where it is.

        A poll reads its sources one after another, so a message read late in a poll can be
        newer than one written meanwhile on a source read earlier. ``horizon`` is the newest time
        the listing that chose what to read had seen: a mark beyond it would skip such a message.
        What lies beyond is read again next time (ingest keeps one copy).
        """
        newest, ids = self.at, set(self.ids)
        for message in messages:
            if horizon is not None and message.created_at > horizon:
                continue
            if message.created_at > newest:
                newest, ids = message.created_at, set()
            if message.created_at == newest:
                ids.add(message.external_id)
        return Seen(newest, ids)

    def dump(self) -> dict[str, Any]:
        return {"at": int(self.at.timestamp()), "ids": sorted(self.ids)}

    @classmethod
    def load(cls, data: Any, default: datetime) -> Seen:
        if isinstance(data, dict) and isinstance(data.get("at"), int):
            return cls(datetime.fromtimestamp(data["at"], UTC), [str(i) for i in data.get("ids", [])])
        return cls(default)


class GraphConnector(Connector):
    """What the three Meta connectors share: the Page token, the client, cursors, verify."""

    secrets = ("page_access_token",)
    #: Permissions the token must carry for this connector to read and reply.
    required_permissions: ClassVar[tuple[str, ...]] = ()

    settings: GraphSettings

    def __init__(self, name: str, settings: GraphSettings, secrets: Mapping[str, SecretStr]) -> None:
        super().__init__(name, settings, secrets)
        self._graph: Graph | None = None

    @property
    def graph(self) -> Graph:
        if self._graph is None:
            token = self.secret("page_access_token")
            self._graph = Graph(make_http(self.settings, token), self.pace, self.name, self.redact)
        return self._graph

    def _load_cursor(self, cursor: str | None) -> dict[str, Any]:
        if cursor is None:
            return {}
        try:
            state = json.loads(cursor)
        except ValueError:
            log.warning(
                "account %r: unreadable cursor ignored; reading the last %s hours again", self.name, self._lookback()
            )
            return {}
        return state if isinstance(state, dict) else {}

    @staticmethod
    def _dump_cursor(state: Mapping[str, Any]) -> str:
        return json.dumps(state, separators=(",", ":"), sort_keys=True)

    def _lookback(self) -> int:
        return int(getattr(self.settings, "lookback_hours", 24))

    def _first_seen(self, state: Mapping[str, Any]) -> Seen:
        return Seen.load(state.get("seen"), utcnow() - timedelta(hours=self._lookback()))

    def _page_identity(self, page_id: str) -> str:
        """``GET /me`` with the token: it must be the configured Page's own token."""
        me = self.graph.get("me", {"fields": "id,name"})
        if str(me.get("id")) != page_id:
            raise AuthError(
                f"account {self.name!r}: the token belongs to {me.get('name')!r} (id {me.get('id')}), "
                f"not Page {page_id}: use that Page's access token"
            )
        return f"authenticated as Page {me.get('name')!r} (id {me['id']})"

    def _permissions(self) -> str:
        """Check the token's granted scopes through ``debug_token`` where Graph lets the token inspect itself."""
        try:
            info = self.graph.get("debug_token", {"input_token": self.secret("page_access_token")}).get("data")
        except (AuthError, PermanentError) as err:
            log.info("account %r: permissions not checked: %s", self.name, err)
            return "permissions not checked (Graph would not inspect this token)"
        if not isinstance(info, dict):
            raise MalformedPayload(f"account {self.name!r}: Graph answered debug_token without 'data'")
        if info.get("is_valid") is False:
            raise AuthError(
                f"account {self.name!r}: Graph says the Page token is no longer valid: renew the Page token"
            )
        granted = {str(s) for s in info.get("scopes") or []}
        missing = [p for p in self.required_permissions if p not in granted]
        if missing:
            raise AuthError(
                f"account {self.name!r}: the Page token lacks {', '.join(missing)}: "
                "grant them to the app and renew the Page token"
            )
        return "permissions ok"

    def __repr__(self) -> str:
        ids = {k: v for k, v in self.settings.model_dump().items() if k.endswith("_id")}
        shown = " ".join(f"{k}={v}" for k, v in ids.items())
        return (
            f"<{type(self).__name__} {self.name!r} {shown} graph={self.settings.graph_version} "
            f"secrets={sorted(self._secrets)}>"
        )
