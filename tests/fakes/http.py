"""A platform API on 127.0.0.1 for tests: real paths, recorded requests, scripted faults.

Each platform fake registers handlers with :meth:`FakeAPI.route`; a test can queue one-off
answers (a 429, a 500, malformed JSON, a slow reply) with :meth:`FakeAPI.script` that are served
before the handler for the next matching requests. Every request is kept in ``requests`` so a
test can count API calls exactly.

:meth:`FakeAPI.faults` switches on a seeded fault mode for chaos tests: about ``rate`` of the
API requests (never ``/_fake/`` ones) get one of :data:`FAULTS`, drawn from ``random.Random(seed)``.
Each platform fake says how its 5xx, 429 and echo answers look (:attr:`FakeAPI.fault_answers`),
so a connector meets the platform's own shapes; every fault served is kept in ``injected``.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    @property
    def params(self) -> dict[str, str]:
        """Query and form parameters together, as Graph-style APIs accept either."""
        merged = dict(self.query)
        if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            merged.update(self.form)
        return merged


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    delay: float = 0.0

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return b"" if self.body is None else json.dumps(self.body).encode()


Handler = Callable[[Request, re.Match[str]], Response]

#: What the fault mode can do to a request:
#: ``5xx``: a server error, the handler not run; ``429``: throttled, with the platform's reset
#: headers; ``slow``: the handler runs, the answer comes after ``delay`` (beyond the client's
#: timeout); ``reset_before``: the connection is reset before the handler runs; ``reset_after``:
#: the handler did the work, then the connection is reset; ``truncated``: the handler's answer
#: cut in half (malformed JSON); ``repeat``: a GET answered with the previous answer to that path
#: (a page served twice); ``echo``: an error whose body echoes the request's headers.
FAULTS = ("5xx", "429", "slow", "reset_before", "reset_after", "truncated", "repeat", "echo")


def _generic_fault(kind: str, request: Request) -> Response:
    if kind == "429":
        return Response(429, {"error": "Too Many Requests"}, {"retry-after": "1"})
    if kind == "echo":
        return Response(400, {"error": f"bad request: {json.dumps(request.headers)}"})
    return Response(503, {"error": "Service Unavailable"})


@dataclass
class FaultMode:
    rate: float
    rng: random.Random
    kinds: tuple[str, ...]
    delay: float


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out and hung up is part of the scenario, not an error to print."""


class FakeAPI:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._scripted: list[tuple[str, re.Pattern[str], deque[Response]]] = []
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        self._server: ThreadingHTTPServer | None = None
        self._faults: FaultMode | None = None
        self._last: dict[tuple[str, str], Response] = {}
        self.injected: list[tuple[str, str, str]] = []
        #: How this platform answers a "5xx", "429" or "echo" fault; the default is generic JSON.
        self.fault_answers: Callable[[str, Request], Response] = _generic_fault

    def faults(self, rate: float = 0.2, seed: int = 7, kinds: Iterable[str] = FAULTS, *, delay: float = 1.0) -> None:
        """Give about ``rate`` of the API requests from now on a fault from ``kinds`` (``rate=0``: none)."""
        unknown = set(kinds) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {FAULTS}")
        with self._lock:
            self._faults = FaultMode(rate, random.Random(seed), tuple(kinds), delay) if rate > 0 else None

    def _draw(self, request: Request) -> str | None:
        with self._lock:
            mode = self._faults
            if mode is None or request.path.startswith("/_fake") or mode.rng.random() >= mode.rate:
                return None
            kind = mode.rng.choice(mode.kinds)
            if kind == "repeat" and (request.method != "GET" or (request.method, request.path) not in self._last):
                return None
            self.injected.append((kind, request.method, request.path))
            return kind

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._routes.append((method.upper(), re.compile(path + r"/?$"), handler))
            return handler

        return register

    def script(self, method: str, path: str, *responses: Response) -> None:
        """Serve these answers, in order, to the next requests matching ``method path``."""
        with self._lock:
            self._scripted.append((method.upper(), re.compile(path + r"/?$"), deque(responses)))

    def calls(self, method: str | None = None, path: str | None = None) -> list[Request]:
        pattern = re.compile(path + r"/?$") if path else None
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper()) and (pattern is None or pattern.match(r.path))
        ]

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, port: int = 0) -> FakeAPI:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                with fake._lock:
                    fake.requests.append(request)
                fault = fake._draw(request)
                if fault == "reset_before":
                    return self._reset()
                if fault in ("5xx", "429", "echo"):
                    response = fake.fault_answers(fault, request)
                elif fault == "repeat":
                    response = fake._last[(request.method, request.path)]
                else:
                    response = fake._answer(request)
                    if request.method == "GET" and response.status == 200:
                        fake._last[(request.method, request.path)] = response
                if fault == "reset_after":
                    return self._reset()
                payload = response.encode()
                if fault == "truncated":
                    payload = payload[: len(payload) // 2]
                delay = fake._faults.delay if fault == "slow" and fake._faults else response.delay
                if delay:
                    time.sleep(delay)
                self.send_response(response.status)
                headers = {"content-type": "application/json; charset=utf-8", **response.headers}
                if request.headers.get("connection", "").lower() == "close":
                    self.close_connection = True
                    headers["connection"] = "close"
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _reset(self) -> None:
                """Hang up with a TCP reset: the client sees a connection error, no answer."""
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._server = _QuietServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def serve_by_hand(self, port: int, banner: Callable[[], Iterable[str]]) -> None:
        """Serve on ``port`` until Ctrl-C, for a person trying socialcare against the fake (``python -m ...fake``).

        ``banner`` is asked for its lines once the port is bound, so they can show :attr:`url`.
        """
        self.start(port)
        with contextlib.suppress(KeyboardInterrupt):
            for line in banner():
                print(line, flush=True)
            threading.Event().wait()
        self.stop()

    def __enter__(self) -> FakeAPI:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, request: Request) -> Response:
        with self._lock:
            for method, pattern, queue in self._scripted:
                if queue and method == request.method and pattern.match(request.path):
                    return queue.popleft()
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if method == request.method and match:
                return handler(request, match)
        return Response(404, {"error": f"no route for {request.method} {request.path}"})
