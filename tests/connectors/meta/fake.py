"""A local Graph API for the Facebook, Messenger and Instagram connectors.

Served by :class:`~tests.fakes.http.FakeAPI` at Graph's real paths (``/v25.0/{page-id}/published_posts``,
``/{post-id}/comments``, ``/{page-id}/conversations``, ``/{page-id}/messages``, ``/{ig-user-id}/media``,
``/{ig-comment-id}/replies``, ``/me``, ``/debug_token``) with the JSON shapes of Meta's reference pages:
``{"data": [...], "paging": {"cursors": {"before", "after"}, "next"}}`` lists, ``{"error": {...}}``
failures, ``X-App-Usage`` / ``X-Business-Use-Case-Usage`` meters. It enforces what the real API
enforces where a connector could get it wrong: the Page token, the 24-hour Messenger window,
replies to top-level Instagram comments only, deleted objects (code 100, subcode 33).

Run it by hand to watch the daemon work::

    python -m tests.connectors.meta.fake --port 8083

then inject what a customer writes::

    curl -X POST localhost:8083/_fake/comment    -d '{"message": "My order never came"}'
    curl -X POST localhost:8083/_fake/message    -d '{"psid": "7001", "name": "Ana", "text": "Where is my refund?"}'
    curl -X POST localhost:8083/_fake/ig_comment -d '{"username": "ana", "text": "Still waiting..."}'
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from tests.fakes.http import FakeAPI, Request, Response

V = r"/v\d+\.0"
TIME = "%Y-%m-%dT%H:%M:%S+0000"
ALL_SCOPES = [
    "pages_show_list",
    "pages_read_engagement",
    "pages_read_user_content",
    "pages_manage_engagement",
    "pages_manage_metadata",
    "pages_messaging",
    "instagram_basic",
    "instagram_manage_comments",
]


def graph_error(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    status: int = 400,
    kind: str = "OAuthException",
    headers: dict[str, str] | None = None,
) -> Response:
    """An error answer as Graph sends it."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGhIjK"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return Response(status, {"error": error}, headers=dict(headers or {}))


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime(TIME)


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)[1])


class FakeGraph(FakeAPI):
    """One Facebook Page with its Messenger inbox and a linked Instagram professional account."""

    def __init__(
        self,
        *,
        page_id: str = "1000",
        page_name: str = "Acme",
        token: str = "fake-page-token",
        ig_user_id: str = "17841400000",
        ig_username: str = "acme",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.page_id, self.page_name, self.ig_user_id, self.ig_username = page_id, page_name, ig_user_id, ig_username
        self.token = token
        self.clock = clock
        self._state = threading.Lock()
        self.fault_answers = self._fault_answer
        self.reset()
        self._routes_for_graph()
        self._routes_for_injection()

    def reset(self) -> None:
        """Forget every post, message, fault and request: a fresh platform on the same port."""
        with self._lock:
            self.requests.clear()
            self._scripted.clear()
            self._faults = None
            self._last.clear()
            self.injected.clear()
        self.valid = True
        self.scopes = list(ALL_SCOPES)
        self.usage: dict[str, str] = {}
        self._ids = itertools.count(1)
        self.posts: list[dict[str, Any]] = []
        self.comments: dict[str, dict[str, Any]] = {}
        self.conversations: dict[str, dict[str, Any]] = {}
        self.media: list[dict[str, Any]] = []
        self.ig_comments: dict[str, dict[str, Any]] = {}

    def _fault_answer(self, kind: str, request: Request) -> Response:
        """The fault mode's answers as Graph sends them: code 2 on a 500, throttling code 4 with a
        BUC meter naming when access returns, and an invalid-parameter error echoing the headers."""
        if kind == "429":
            usage = {self.page_id: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 1}]}
            headers = {"x-business-use-case-usage": json.dumps(usage)}
            return graph_error(4, "(#4) Application request limit reached", status=403, headers=headers)
        if kind == "echo":
            return graph_error(100, f"(#100) Invalid parameter; request headers: {json.dumps(request.headers)}")
        return graph_error(2, "An unexpected error has occurred. Please retry your request later.", status=500)

    # -- scenario helpers ----------------------------------------------------------------------

    def add_post(
        self,
        message: str = "Our new store opens today!",
        at: datetime | None = None,
        author: tuple[str, str] | None = None,
    ) -> str:
        """A post by the Page, or by a visitor (``author``), which only the ``feed`` edge lists."""
        with self._state:
            post_id = f"{self.page_id}_{next(self._ids)}"
            created = at or self.clock()
            by = {"id": author[0], "name": author[1]} if author else {"id": self.page_id, "name": self.page_name}
            self.posts.insert(
                0, {"id": post_id, "message": message, "from": by, "created": created, "updated": created}
            )
            return post_id

    def add_comment(
        self,
        post_id: str,
        message: str,
        *,
        author: tuple[str, str] = ("5551", "Ana Customer"),
        parent: str | None = None,
        at: datetime | None = None,
    ) -> str:
        with self._state:
            post = self._post(post_id)
            comment_id = f"{post_id.split('_')[-1]}_{next(self._ids)}"
            created = at or self.clock()
            self.comments[comment_id] = {
                "id": comment_id,
                "post_id": post_id,
                "parent": parent,
                "message": message,
                "from": {"id": author[0], "name": author[1]},
                "created": created,
            }
            post["updated"] = max(post["updated"], created)
            return comment_id

    def delete_comment(self, comment_id: str) -> None:
        with self._state:
            del self.comments[comment_id]

    def add_message(self, psid: str, text: str, *, name: str = "Ana Customer", at: datetime | None = None) -> str:
        with self._state:
            conversation = next((c for c in self.conversations.values() if c["psid"] == psid), None)
            if conversation is None:
                conversation = {"id": f"t_{next(self._ids)}", "psid": psid, "name": name, "messages": []}
                self.conversations[conversation["id"]] = conversation
            return self._append(conversation, {"id": psid, "name": name}, text, at or self.clock())

    def add_media(self, caption: str = "Autumn collection", at: datetime | None = None) -> str:
        with self._state:
            media_id = f"1790{next(self._ids):07d}"
            self.media.insert(0, {"id": media_id, "caption": caption, "created": at or self.clock()})
            return media_id

    def add_ig_comment(
        self,
        media_id: str,
        text: str,
        *,
        username: str = "ana.customer",
        user_id: str = "9001",
        parent: str | None = None,
        at: datetime | None = None,
    ) -> str:
        with self._state:
            if not any(m["id"] == media_id for m in self.media):
                raise KeyError(media_id)
            comment_id = f"1780{next(self._ids):07d}"
            self.ig_comments[comment_id] = {
                "id": comment_id,
                "media_id": media_id,
                "parent": parent,
                "text": text,
                "username": username,
                "from_id": user_id,
                "created": at or self.clock(),
            }
            return comment_id

    def set_usage(self, percent: int, *, regain_minutes: int = 0) -> None:
        """Put both usage meters at ``percent`` on every answer from now on."""
        self.usage = {
            "x-app-usage": json.dumps({"call_count": percent, "total_cputime": 5, "total_time": 5}),
            "x-business-use-case-usage": json.dumps(
                {
                    self.page_id: [
                        {
                            "type": "pages",
                            "call_count": percent,
                            "total_cputime": 4,
                            "total_time": 4,
                            "estimated_time_to_regain_access": regain_minutes,
                        }
                    ]
                }
            ),
        }

    def replies_posted(self) -> list[Request]:
        """Every POST that published something, whatever the endpoint."""
        return [r for r in self.requests if r.method == "POST" and not r.path.startswith("/_fake")]

    # -- internals ---------------------------------------------------------------------------

    def _post(self, post_id: str) -> dict[str, Any]:
        for post in self.posts:
            if post["id"] == post_id:
                return post
        raise KeyError(post_id)

    def _append(self, conversation: dict[str, Any], sender: dict[str, str], text: str, at: datetime) -> str:
        message_id = f"m_{next(self._ids)}"
        conversation["messages"].insert(0, {"id": message_id, "from": sender, "message": text, "created": at})
        return message_id

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        given = header.removeprefix("Bearer ").removeprefix("OAuth ") if header else request.params.get("access_token")
        return self.valid and given == self.token

    def _graph(self, method: str, path: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        """Register a Graph route: token checked, usage headers added."""

        def register(handler: Callable[..., Response]) -> Callable[..., Response]:
            def wrapped(request: Request, match: re.Match[str]) -> Response:
                if not self._authorised(request):
                    response = graph_error(190, "Error validating access token: Session has expired.", subcode=463)
                else:
                    with self._state:
                        response = handler(request, match)
                response.headers = {**self.usage, **response.headers}
                return response

            self.route(method, V + path)(wrapped)
            return handler

        return register

    def _page(
        self,
        request: Request,
        path: str,
        rows: list[dict[str, Any]],
        *,
        limit: int | None = None,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A Graph list page over ``rows`` with cursor paging; ``next`` repeats the query with ``after``."""
        size = limit or int(request.params.get("limit") or 25)
        start = _decode(request.params.get("after")) if query is None else 0
        chunk = rows[start : start + size]
        body: dict[str, Any] = {"data": chunk}
        if chunk:
            body["paging"] = {"cursors": {"before": _encode(start), "after": _encode(start + len(chunk))}}
            if start + size < len(rows):
                base = dict(query if query is not None else request.query)
                base.update(after=_encode(start + len(chunk)), limit=str(size))
                body["paging"]["next"] = f"{self.url}{path}?{urlencode(base)}"
        return body

    def _fb_comment(self, comment: dict[str, Any]) -> dict[str, Any]:
        out = {
            "id": comment["id"],
            "message": comment["message"],
            "from": comment["from"],
            "created_time": _stamp(comment["created"]),
            "permalink_url": f"https://www.facebook.com/{comment['post_id']}?comment_id={comment['id']}",
        }
        if comment["parent"]:
            out["parent"] = {"id": comment["parent"]}
        return out

    def _ig_comment(self, comment: dict[str, Any]) -> dict[str, Any]:
        out = {
            "id": comment["id"],
            "text": comment["text"],
            "timestamp": _stamp(comment["created"]),
            "username": comment["username"],
            "from": {"id": comment["from_id"], "username": comment["username"]},
        }
        if comment["parent"]:
            out["parent_id"] = comment["parent"]
        return out

    def _gone(self, object_id: str, verb: str = "get") -> Response:
        return graph_error(
            100,
            f"Unsupported {verb} request. Object with ID '{object_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation.",
            subcode=33,
            kind="GraphMethodException",
        )

    def _routes_for_graph(self) -> None:
        @self._graph("GET", "/me")
        def me(request: Request, match: re.Match[str]) -> Response:
            return Response(200, {"id": self.page_id, "name": self.page_name})

        @self._graph("GET", "/debug_token")
        def debug_token(request: Request, match: re.Match[str]) -> Response:
            return Response(
                200,
                {
                    "data": {
                        "app_id": "123456789",
                        "type": "PAGE",
                        "application": "socialcare",
                        "is_valid": True,
                        "profile_id": self.page_id,
                        "scopes": self.scopes,
                        "expires_at": 0,
                        "data_access_expires_at": int((self.clock() + timedelta(days=90)).timestamp()),
                    }
                },
            )

        @self._graph("GET", r"/(?P<page>\d+)/(?P<edge>published_posts|feed)")
        def posts(request: Request, match: re.Match[str]) -> Response:
            fields = request.params.get("fields", "")
            rows = []
            for post in self.posts:
                if match["edge"] == "published_posts" and post["from"]["id"] != self.page_id:
                    continue
                row = {
                    "id": post["id"],
                    "message": post["message"],
                    "created_time": _stamp(post["created"]),
                    "updated_time": _stamp(post["updated"]),
                    "permalink_url": f"https://www.facebook.com/{post['id']}",
                }
                if "from" in fields.split(","):
                    row["from"] = post["from"]
                if "comments" in fields:
                    total = sum(1 for c in self.comments.values() if c["post_id"] == post["id"])
                    row["comments"] = {
                        "data": [],
                        "summary": {"order": "ranked", "total_count": total, "can_comment": True},
                    }
                rows.append(row)
            return Response(200, self._page(request, request.path, rows))

        @self._graph("GET", r"/(?P<id>1790\d+)/comments")
        def media_comments(request: Request, match: re.Match[str]) -> Response:
            if not any(m["id"] == match["id"] for m in self.media):
                return self._gone(match["id"])
            rows = []
            for comment in sorted(self.ig_comments.values(), key=lambda c: (c["created"], c["id"])):
                if comment["media_id"] != match["id"] or comment["parent"] is not None:
                    continue
                row = self._ig_comment(comment)
                if "replies" in request.params.get("fields", ""):
                    path = f"/{request.path.split('/')[1]}/{comment['id']}/replies"
                    row["replies"] = self._page(
                        request,
                        path,
                        self._ig_replies(comment["id"]),
                        limit=25,
                        query={"fields": "id,text,timestamp,username,from,parent_id"},
                    )
                rows.append(row)
            return Response(200, self._page(request, request.path, rows))

        @self._graph("GET", r"/(?P<id>[\w]+)/comments")
        def comments(request: Request, match: re.Match[str]) -> Response:
            object_id = match["id"]
            if any(p["id"] == object_id for p in self.posts):
                stream = request.params.get("filter") == "stream"
                rows = [
                    c for c in self.comments.values() if c["post_id"] == object_id and (stream or c["parent"] is None)
                ]
            elif object_id in self.comments:
                rows = [c for c in self.comments.values() if c["parent"] == object_id]
            else:
                return self._gone(object_id)
            rows.sort(
                key=lambda c: (c["created"], c["id"]), reverse=request.params.get("order") == "reverse_chronological"
            )
            return Response(200, self._page(request, request.path, [self._fb_comment(c) for c in rows]))

        @self._graph("POST", r"/(?P<id>[\w]+)/comments")
        def comment_reply(request: Request, match: re.Match[str]) -> Response:
            text = request.params.get("message", "")
            if any(p["id"] == match["id"] for p in self.posts):
                post_id, parent = match["id"], None
            elif match["id"] in self.comments:
                target = self.comments[match["id"]]
                post_id, parent = target["post_id"], target["parent"] or target["id"]
            else:
                return self._gone(match["id"], "post")
            if not text:
                return graph_error(100, "(#100) Missing message or attachment.")
            comment_id = f"{post_id.split('_')[-1]}_{next(self._ids)}"
            created = self.clock()
            self.comments[comment_id] = {
                "id": comment_id,
                "post_id": post_id,
                "parent": parent,
                "message": text,
                "from": {"id": self.page_id, "name": self.page_name},
                "created": created,
            }
            post = self._post(post_id)
            post["updated"] = max(post["updated"], created)
            return Response(200, {"id": comment_id})

        @self._graph("GET", r"/(?P<page>\d+)/conversations")
        def conversations(request: Request, match: re.Match[str]) -> Response:
            fields = request.params.get("fields", "")
            nested = re.search(r"messages(?:\.limit\((\d+)\))?", fields)
            ordered = sorted(self.conversations.values(), key=lambda c: c["messages"][0]["created"], reverse=True)
            rows = []
            for conversation in ordered:
                row = {
                    "id": conversation["id"],
                    "updated_time": _stamp(conversation["messages"][0]["created"]),
                    "link": f"/{self.page_name}/inbox/{conversation['id']}",
                }
                if nested:
                    path = f"/{request.path.split('/')[1]}/{conversation['id']}/messages"
                    row["messages"] = self._page(
                        request,
                        path,
                        self._messages(conversation),
                        limit=int(nested.group(1) or 25),
                        query={"fields": "id,message,from,to,created_time"},
                    )
                rows.append(row)
            return Response(200, self._page(request, request.path, rows))

        @self._graph("GET", r"/(?P<id>t_\w+)/messages")
        def conversation_messages(request: Request, match: re.Match[str]) -> Response:
            conversation = self.conversations.get(match["id"])
            if conversation is None:
                return self._gone(match["id"])
            return Response(200, self._page(request, request.path, self._messages(conversation)))

        @self._graph("POST", r"/(?P<page>\d+)/messages")
        def send(request: Request, match: re.Match[str]) -> Response:
            body = request.json if request.body else {}
            if body.get("messaging_type") != "RESPONSE":
                return graph_error(100, "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
            psid = str((body.get("recipient") or {}).get("id"))
            conversation = next((c for c in self.conversations.values() if c["psid"] == psid), None)
            if conversation is None:
                return graph_error(100, "(#100) No matching user found", subcode=2018001)
            last_customer = max(m["created"] for m in conversation["messages"] if m["from"]["id"] == psid)
            if self.clock() - last_customer > timedelta(hours=24):
                return graph_error(10, "(#10) This message is sent outside of allowed window.", subcode=2018278)
            text = str((body.get("message") or {}).get("text") or "")
            message_id = self._append(conversation, {"id": self.page_id, "name": self.page_name}, text, self.clock())
            return Response(200, {"recipient_id": psid, "message_id": message_id})

        @self._graph("GET", r"/(?P<ig>\d+)/media")
        def media(request: Request, match: re.Match[str]) -> Response:
            rows = [
                {
                    "id": m["id"],
                    "caption": m["caption"],
                    "timestamp": _stamp(m["created"]),
                    "permalink": f"https://www.instagram.com/p/{m['id']}/",
                    "comments_count": sum(1 for c in self.ig_comments.values() if c["media_id"] == m["id"]),
                }
                for m in self.media
            ]
            return Response(200, self._page(request, request.path, rows))

        @self._graph("GET", r"/(?P<id>\d+)/replies")
        def replies(request: Request, match: re.Match[str]) -> Response:
            if match["id"] not in self.ig_comments:
                return self._gone(match["id"])
            return Response(200, self._page(request, request.path, self._ig_replies(match["id"])))

        @self._graph("POST", r"/(?P<id>\d+)/replies")
        def ig_reply(request: Request, match: re.Match[str]) -> Response:
            target = self.ig_comments.get(match["id"])
            if target is None:
                return self._gone(match["id"])
            if target["parent"] is not None:
                return graph_error(100, "(#100) Replies can only be made to top-level comments", kind="IGApiException")
            comment_id = f"1780{next(self._ids):07d}"
            self.ig_comments[comment_id] = {
                "id": comment_id,
                "media_id": target["media_id"],
                "parent": target["id"],
                "text": request.params.get("message", ""),
                "username": self.ig_username,
                "from_id": self.ig_user_id,
                "created": self.clock(),
            }
            return Response(200, {"id": comment_id})

        @self._graph("GET", r"/(?P<id>\d+)")
        def node(request: Request, match: re.Match[str]) -> Response:
            if match["id"] == self.ig_user_id:
                return Response(200, {"id": self.ig_user_id, "username": self.ig_username})
            if match["id"] == self.page_id:
                return Response(200, {"id": self.page_id, "name": self.page_name})
            return self._gone(match["id"])

    def _messages(self, conversation: dict[str, Any]) -> list[dict[str, Any]]:
        page = {"id": self.page_id, "name": self.page_name, "email": f"{self.page_id}@facebook.com"}
        customer = {
            "id": conversation["psid"],
            "name": conversation["name"],
            "email": f"{conversation['psid']}@facebook.com",
        }
        rows = []
        for message in conversation["messages"]:
            from_page = message["from"]["id"] == self.page_id
            rows.append(
                {
                    "id": message["id"],
                    "message": message["message"],
                    "created_time": _stamp(message["created"]),
                    "from": page if from_page else customer,
                    "to": {"data": [customer if from_page else page]},
                }
            )
        return rows

    def _ig_replies(self, comment_id: str) -> list[dict[str, Any]]:
        rows = [c for c in self.ig_comments.values() if c["parent"] == comment_id]
        return [self._ig_comment(c) for c in sorted(rows, key=lambda c: (c["created"], c["id"]))]

    def _routes_for_injection(self) -> None:
        """``/_fake/...``: what a customer does, for hand-run sessions and end-to-end tests."""

        def body(request: Request) -> dict[str, Any]:
            return json.loads(request.body or b"{}")

        @self.route("POST", "/_fake/comment")
        def inject_comment(request: Request, match: re.Match[str]) -> Response:
            data = body(request)
            post_id = data.get("post_id") or (self.posts[0]["id"] if self.posts else self.add_post())
            comment_id = self.add_comment(
                post_id,
                str(data.get("message", "")),
                parent=data.get("parent"),
                author=(str(data.get("author_id", "5551")), str(data.get("author_name", "Ana Customer"))),
            )
            return Response(200, {"id": comment_id, "post_id": post_id})

        @self.route("POST", "/_fake/message")
        def inject_message(request: Request, match: re.Match[str]) -> Response:
            data = body(request)
            message_id = self.add_message(
                str(data.get("psid", "7001")), str(data.get("text", "")), name=str(data.get("name", "Ana Customer"))
            )
            return Response(200, {"id": message_id})

        @self.route("POST", "/_fake/ig_comment")
        def inject_ig_comment(request: Request, match: re.Match[str]) -> Response:
            data = body(request)
            media_id = data.get("media_id") or (self.media[0]["id"] if self.media else self.add_media())
            comment_id = self.add_ig_comment(
                media_id,
                str(data.get("text", "")),
                parent=data.get("parent"),
                username=str(data.get("username", "ana.customer")),
            )
            return Response(200, {"id": comment_id, "media_id": media_id})


def main() -> None:
    parser = argparse.ArgumentParser(description="A local Graph API for socialcare's Meta connectors.")
    parser.add_argument("--port", type=int, default=8083)
    parser.add_argument("--token", default="fake-page-token", help="the Page token the fake accepts")
    args = parser.parse_args()
    fake = FakeGraph(token=args.token)
    fake.add_post()
    fake.add_media()
    fake.serve_by_hand(
        args.port,
        lambda: [
            f"Fake Graph API on {fake.url} (page {fake.page_id}, Instagram {fake.ig_user_id}); token {args.token!r}",
            f'Config:   graph_url = "{fake.url}"  page_id = "{fake.page_id}"  ig_user_id = "{fake.ig_user_id}"',
            f'Inject:   curl -X POST {fake.url}/_fake/comment -d \'{{"message": "My order never came"}}\'',
            f'          curl -X POST {fake.url}/_fake/message -d \'{{"psid": "7001", "text": "Where is my refund?"}}\'',
            f'          curl -X POST {fake.url}/_fake/ig_comment -d \'{{"text": "Still waiting..."}}\'',
        ],
    )


if __name__ == "__main__":
    main()
