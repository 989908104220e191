"""A platform API on 127.0.0.1 for tests: real paths, recorded requests, scripted faults.

Each platform fake registers handlers with :meth:`FakeAPI.route`; a test can queue one-off
answers (a 429, a 500, malformed JSON, a slow reply) with :meth:`FakeAPI.script` that are served
before the handler for the next matching requests. Every request is kept in ``requests`` so a
test can count API calls exactly.
"""

from __future__ import annotations

import contextlib
import json
import re
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
                response = fake._answer(request)
                if response.delay:
                    time.sleep(response.delay)
                payload = response.encode()
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
