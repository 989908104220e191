"""A fake of Reddit's OAuth API on 127.0.0.1, for tests and for watching the daemon by hand.

It answers at Reddit's real paths with the JSON shapes of ``fixtures/`` (taken from Reddit's API
documentation and live answers): the password-grant token endpoint, ``/api/v1/me``, the inbox
listing, subreddit search, ``/api/comment``, ``/api/read_message`` and a user's comment history.
Listings page like Reddit's (``limit`` capped at 100, ``before``/``after`` anchors, ``before`` in
the answer only when newer items remain) and every API answer carries Reddit's
``x-ratelimit-used/-remaining/-reset`` headers for an advertised budget; a request over budget
gets a 429. ``praw`` is pointed at it with ``oauth_url`` and ``reddit_url``.

By hand::

    python -m tests.connectors.reddit.fake --port 8082
    curl -X POST localhost:8082/_fake/mention -d '{"author": "alice", "body": "u/brandco help!"}'
    curl localhost:8082/_fake/replies
"""

from __future__ import annotations

import argparse
import base64
import copy
import html
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fakes.http import FakeAPI, Request, Response

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "PASSWORD", "USERNAME", "FakeReddit", "fixture"]

FIXTURES = Path(__file__).with_name("fixtures")
CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"
USERNAME = "brandco"
PASSWORD = "fake-password"
_UNAUTHORIZED = Response(
    401,
    {"message": "Unauthorized", "error": 401},
    headers={"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'},
)


def fixture(name: str) -> dict[str, Any]:
    """A fresh copy of one recorded payload from ``fixtures/<name>.json``."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _listing(children: list[dict[str, Any]], before: str | None, after: str | None) -> dict[str, Any]:
    return {
        "kind": "Listing",
        "data": {
            "after": after,
            "dist": len(children),
            "modhash": None,
            "geo_filter": "",
            "children": children,
            "before": before,
        },
    }


def _page(newest_first: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    """One page of a listing, with Reddit's anchor rules.

    ``limit`` is clamped to 100; ``before=X`` gives the ``limit`` items just newer than X and
    ``after=X`` the ones just older. The answer's ``after`` names the last item while older ones
    remain. Its ``before`` is null unless the request sends a positive ``count``: then it names
    the first item, after ``before=X`` only while still newer ones remain. Recorded by praw:
    ``tests/integration/cassettes/TestInbox.test_all__with_limit.json`` (page two, asked with
    ``after`` and no ``count``, answers ``"before": null``); the ``count`` rule is Reddit's
    listing documentation (``Pyprohly/reddit-api-doc-notes``, ``docs/api-reference/listings.rst``).
    """
    limit = max(1, min(_int(query.get("limit"), 25), 100))
    counted = _int(query.get("count"), 0) > 0
    names = [child["data"]["name"] for child in newest_first]
    before, after = query.get("before"), query.get("after")
    if before:
        if before not in names:
            return _listing([], None, None)
        end = names.index(before)
        start = max(0, end - limit)
        page = newest_first[start:end]
        return _listing(
            page, names[start] if page and counted and start > 0 else None, names[end - 1] if page else None
        )
    start = names.index(after) + 1 if after in names else 0
    page = newest_first[start : start + limit]
    more = start + limit < len(names)
    return _listing(
        page, names[start] if page and counted else None, page[-1]["data"]["name"] if page and more else None
    )


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


class FakeReddit:
    """Reddit for one script-type app and one account, with a request budget per window."""

    def __init__(
        self,
        *,
        budget: int = 1000,
        window: float = 600.0,
        clock: Callable[[], float] = time.time,
        echo_own_replies: bool = False,
    ) -> None:
        self.api = FakeAPI()
        self.budget = budget
        self.window = window
        self.clock = clock
        self.echo_own_replies = echo_own_replies
        self.comment_delay = 0.0  # seconds the answer to POST /api/comment/ takes, after the comment exists
        self.inbox: list[dict[str, Any]] = []
        self.posts: list[dict[str, Any]] = []
        self.comments: dict[str, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self.tokens_issued = 0
        self.password = PASSWORD
        self.script_app = True  # False: the app is a web or installed app, which may not use a password
        self._ids = itertools.count(1)
        self._last_created = 0.0
        self._window_start = clock()
        self._used = 0
        self._lock = threading.Lock()
        self.api.fault_answers = self._fault_answer
        self._register()

    # -- scenario helpers -------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.api.url

    def start(self, port: int = 0) -> FakeReddit:
        self.api.start(port)
        return self

    def stop(self) -> None:
        self.api.stop()

    def mention(
        self, author: str, body: str, *, subreddit: str = "HomeImprovement", kind: str = "username_mention"
    ) -> dict[str, Any]:
        """A customer comment that names us (or replies to us) in a new thread; lands in the inbox."""
        post = self.post("someone_else", f"Thread about {subreddit}", "", subreddit=subreddit, searchable=False)
        return self._comment(author, body, post["data"]["name"], post["data"]["name"], kind=kind)

    def reply_in_thread(self, author: str, body: str, parent: str, kind: str = "comment_reply") -> dict[str, Any]:
        """A customer's answer to one of our comments: an inbox ``comment_reply``."""
        link_id = self.comments[parent]["link_id"]
        return self._comment(author, body, parent, link_id, kind=kind)

    def private_message(self, author: str, body: str) -> dict[str, Any]:
        item = fixture("inbox_private_message")
        item["data"].update(self._identity("t4"), author=author, body=body, subject="question")
        with self._lock:
            self.inbox.append(item)
        return item

    def post(
        self, author: str, title: str, selftext: str, *, subreddit: str = "Tools", searchable: bool = True
    ) -> dict[str, Any]:
        """A submission; with ``searchable`` it is found by subreddit search."""
        item = fixture("search_submission")
        ident = self._identity("t3")
        slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:50]
        permalink = f"/r/{subreddit}/comments/{ident['id']}/{slug}/"
        item["data"].update(
            ident,
            author=author,
            title=title,
            selftext=selftext,
            subreddit=subreddit,
            subreddit_name_prefixed=f"r/{subreddit}",
            permalink=permalink,
            url=f"https://www.reddit.com{permalink}",
        )
        item["searchable"] = searchable
        with self._lock:
            self.posts.append(item)
        return item

    def delete(self, fullname: str) -> None:
        """The author deletes a comment: Reddit keeps it in listings as ``[deleted]``."""
        with self._lock:
            for data in [self.comments.get(fullname)] + [
                c["data"] for c in self.inbox if c["data"]["name"] == fullname
            ]:
                if data is not None:
                    data.update(author="[deleted]", body="[deleted]")
                    data.pop("author_fullname", None)

    def remove(self, fullname: str) -> None:
        """A moderator or the spam filter takes a comment out of every listing."""
        with self._lock:
            self.inbox = [c for c in self.inbox if c["data"]["name"] != fullname]
            self.comments.pop(fullname, None)

    def lock(self, link_fullname: str) -> None:
        with self._lock:
            for post in self.posts:
                if post["data"]["name"] == link_fullname:
                    post["data"]["locked"] = True

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (expiry or revocation)."""
        self.tokens.clear()

    def our_replies(self) -> list[dict[str, Any]]:
        return [data for data in self.comments.values() if data["author"] == USERNAME]

    def unread(self) -> list[str]:
        return [c["data"]["name"] for c in self.inbox if c["data"]["new"]]

    def _fault_answer(self, kind: str, request: Request) -> Response:
        """The fault mode's answers as Reddit sends them: an HTML 429 with ``retry-after`` and a spent
        budget (prawcore's recorded ``Session_request__too__many_requests__with_retry_headers``), a 503,
        and a comment refusal or 400 whose text echoes the request's headers."""
        if kind == "429":
            headers = {"content-type": "text/html", "retry-after": "4", "x-ratelimit-remaining": "0"}
            return Response(429, raw=b"<html>Too Many Requests</html>", headers={**headers, "x-ratelimit-reset": "30"})
        if kind == "echo":
            echoed = f"bad request, headers {json.dumps(request.headers)}"
            if request.path.startswith("/api/comment"):
                return Response(200, {"json": {"errors": [["BAD_REQUEST", echoed, "text"]]}})
            return Response(400, {"message": "Bad Request", "error": 400, "explanation": echoed})
        return Response(503, {"message": "Service Unavailable", "error": 503})

    # -- internals ----------------------------------------------------------------------------

    def _identity(self, kind: str) -> dict[str, Any]:
        with self._lock:
            ident = f"{next(self._ids):07x}"
            self._last_created = max(self._last_created + 1, math.floor(self.clock()))
            created = self._last_created
        return {"id": ident, "name": f"{kind}_{ident}", "created": created, "created_utc": created}

    def _comment(self, author: str, body: str, parent: str, link_id: str, *, kind: str) -> dict[str, Any]:
        ident = self._identity("t1")
        post = next(p["data"] for p in self.posts if p["data"]["name"] == link_id)
        permalink = f"{post['permalink']}{ident['id']}/"
        data = copy.deepcopy(fixture("comment_created")["json"]["data"]["things"][0]["data"])
        data.update(
            ident,
            author=author,
            author_fullname=f"t2_{author[:8]}",
            body=body,
            parent_id=parent,
            link_id=link_id,
            subreddit=post["subreddit"],
            permalink=permalink,
        )
        item = fixture("inbox_comment_reply" if kind != "username_mention" else "inbox_username_mention")
        item["data"].update(
            ident,
            author=author,
            author_fullname=data["author_fullname"],
            body=body,
            parent_id=parent,
            subreddit=post["subreddit"],
            subreddit_name_prefixed=f"r/{post['subreddit']}",
            type=kind,
            subject=kind.replace("_", " "),
            link_title=post["title"],
            context=f"{permalink}?context=3",
            new=True,
            body_html=f'&lt;div class="md"&gt;&lt;p&gt;{html.escape(html.escape(body))}&lt;/p&gt;&lt;/div&gt;',
        )
        with self._lock:
            self.comments[data["name"]] = data
            self.inbox.append(item)
        return item

    def _metered(
        self, handler: Callable[[Request, re.Match[str]], Response]
    ) -> Callable[[Request, re.Match[str]], Response]:
        """Authenticate like oauth.reddit.com and count the request against the advertised budget."""

        def wrapped(request: Request, match: re.Match[str]) -> Response:
            token = request.headers.get("authorization", "").removeprefix("bearer ")
            if token not in self.tokens:
                return _UNAUTHORIZED
            with self._lock:
                now = self.clock()
                if now >= self._window_start + self.window:
                    self._window_start, self._used = now, 0
                self._used += 1
                headers = {
                    "x-ratelimit-used": str(self._used),
                    "x-ratelimit-remaining": f"{max(self.budget - self._used, 0):.1f}",
                    "x-ratelimit-reset": str(max(0, math.ceil(self._window_start + self.window - now))),
                }
                over = self._used > self.budget
            if over:
                return Response(429, {"message": "Too Many Requests", "error": 429}, headers=headers)
            response = handler(request, match)
            response.headers = {**headers, **response.headers}
            return response

        return wrapped

    def _register(self) -> None:
        api = self.api

        @api.route("POST", "/api/v1/access_token")
        def access_token(request: Request, _: re.Match[str]) -> Response:
            # prawcore asks for "Connection: close" here; saying it back keeps the client from
            # reusing a socket the server is about to close.
            close = {"connection": "close"}
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {expected}":
                return Response(401, {"message": "Unauthorized", "error": 401}, headers=close)
            form = request.form
            if not self.script_app:
                return Response(200, fixture("error_unauthorized_client"), headers=close)
            if (
                form.get("grant_type") != "password"
                or form.get("username") != USERNAME
                or form.get("password") != self.password
            ):
                return Response(200, fixture("error_invalid_grant"), headers=close)
            with self._lock:
                self.tokens_issued += 1
                token = f"fake-access-token-{self.tokens_issued}"
                self.tokens.add(token)
            return Response(200, {**fixture("access_token"), "access_token": token}, headers=close)

        def me(request: Request, _: re.Match[str]) -> Response:
            return Response(200, {**fixture("me"), "name": USERNAME})

        def inbox(request: Request, _: re.Match[str]) -> Response:
            with self._lock:
                items = list(reversed(self.inbox))
            return Response(200, _page(items, request.query))

        def search(request: Request, match: re.Match[str]) -> Response:
            subs = {s.lower() for s in match["subs"].split("+")}
            terms = [t.lower() for t in re.findall(r'"([^"]+)"', request.query.get("q", ""))]
            with self._lock:
                hits = [
                    p
                    for p in reversed(self.posts)
                    if p["searchable"]
                    and p["data"]["subreddit"].lower() in subs
                    and any(t in f"{p['data']['title']} {p['data']['selftext']}".lower() for t in terms)
                ]
            return Response(200, _page([{"kind": p["kind"], "data": p["data"]} for p in hits], request.query))

        def comment(request: Request, _: re.Match[str]) -> Response:
            form = request.form
            parent = form.get("thing_id", "")
            with self._lock:
                target = self.comments.get(parent) or next(
                    (p["data"] for p in self.posts if p["data"]["name"] == parent), None
                )
            if target is None or target.get("body") == "[deleted]" or target.get("author") == "[deleted]":
                return Response(200, fixture("error_deleted_comment"))
            link_id = target.get("link_id", parent)
            if any(p["data"]["name"] == link_id and p["data"]["locked"] for p in self.posts):
                return Response(200, fixture("error_thread_locked"))
            if self.echo_own_replies:
                item = self._comment(USERNAME, form.get("text", ""), parent, link_id, kind="comment_reply")
                created = self.comments[item["data"]["name"]]
            else:
                ident = self._identity("t1")
                post = next(p["data"] for p in self.posts if p["data"]["name"] == link_id)
                created = copy.deepcopy(fixture("comment_created")["json"]["data"]["things"][0]["data"])
                created.update(
                    ident,
                    author=USERNAME,
                    body=form.get("text", ""),
                    parent_id=parent,
                    link_id=link_id,
                    subreddit=post["subreddit"],
                    permalink=f"{post['permalink']}{ident['id']}/",
                )
                with self._lock:
                    self.comments[created["name"]] = created
            answer = fixture("comment_created")  # Reddit's answer has no permalink (see the fixture)
            answer["json"]["data"]["things"][0]["data"] = {k: v for k, v in created.items() if k != "permalink"}
            return Response(200, answer, delay=self.comment_delay)

        def read_message(request: Request, _: re.Match[str]) -> Response:
            names = set(request.form.get("id", "").split(","))
            with self._lock:
                for item in self.inbox:
                    if item["data"]["name"] in names:
                        item["data"]["new"] = False
            return Response(200, {})

        def user_comments(request: Request, match: re.Match[str]) -> Response:
            with self._lock:
                mine = [
                    {"kind": "t1", "data": d}
                    for d in reversed(self.comments.values())
                    if d["author"].lower() == match["user"].lower()
                ]
            return Response(200, _page(mine, request.query))

        for method, path, handler in [
            ("GET", "/api/v1/me", me),
            ("GET", "/message/inbox", inbox),
            ("GET", r"/r/(?P<subs>[A-Za-z0-9_+]+)/search", search),
            ("POST", "/api/comment", comment),
            ("POST", "/api/read_message", read_message),
            ("GET", r"/user/(?P<user>[A-Za-z0-9_-]+)/comments", user_comments),
        ]:
            api.route(method, path)(self._metered(handler))

        @api.route("POST", "/_fake/mention")
        def inject_mention(request: Request, _: re.Match[str]) -> Response:
            body = request.json or {}
            item = self.mention(
                body.get("author", "alice"),
                body.get("body", f"u/{USERNAME} my order never arrived"),
                subreddit=body.get("subreddit", "HomeImprovement"),
            )
            return Response(201, item)

        @api.route("POST", "/_fake/post")
        def inject_post(request: Request, _: re.Match[str]) -> Response:
            body = request.json or {}
            item = self.post(
                body.get("author", "carol"),
                body.get("title", "BrandCo support?"),
                body.get("selftext", ""),
                subreddit=body.get("subreddit", "Tools"),
            )
            return Response(201, item)

        @api.route("GET", "/_fake/replies")
        def replies(request: Request, _: re.Match[str]) -> Response:
            return Response(200, self.our_replies())


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Reddit API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args()
    fake = FakeReddit()
    fake.api.serve_by_hand(
        args.port,
        lambda: [
            f"fake Reddit at {fake.url}  (client_id={CLIENT_ID} client_secret={CLIENT_SECRET} "
            f"username={USERNAME} password={PASSWORD})",
            f"inject a mention: curl -X POST {fake.url}/_fake/mention "
            f'-d \'{{"author": "alice", "body": "u/{USERNAME} help"}}\'',
        ],
    )


if __name__ == "__main__":
    main()
