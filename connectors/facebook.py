"""Facebook Page comments: comments and replies on the Page's recent posts, answered in place.

Graph has no "new comments on my Page" edge, so comments are read per post. To keep a quiet poll
at one call, the connector reads the ``watch_posts`` most recent posts in a single request with
each post's ``updated_time`` and comment count (``comments.summary``); only posts whose pair
changed since the last poll have their comments read, newest first, until the poll reaches
comments it has already seen. Calls per poll: 1 when nothing is new, plus, for each post with
new comments, ceil(new / page_size) pages (one more when the count is an exact multiple of the
page size, since only the next page can show that it holds nothing new). Comments on posts older
than the ``watch_posts`` most recent ones are not watched. The cursor never moves past the newest
``updated_time`` of that first answer, so a comment written on an already-read post while the
poll goes on to the next ones is still ahead of it.

A reply goes to ``POST /{comment-id}/comments`` on the top-level comment of the thread: a
reply to a reply is posted under the same top-level comment, where Facebook shows it anyway.
With ``posts_edge = "feed"``, posts that visitors write on the Page are messages too (read in
the same first call); the reply to one is a comment on it.
Comment ids and authors are only returned to a Page token whose user can MODERATE the Page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field

from connectors._graph import GraphConnector, GraphSettings, Seen, items, parse_time
from connectors.base import (
    Capabilities,
    InboundMessage,
    MalformedPayload,
    Receipt,
    mapping,
    platform_id,
    platform_text,
    utcnow,
)

__all__ = ["FacebookConnector", "FacebookSettings"]

COMMENT_FIELDS = "id,message,from,created_time,parent{id},permalink_url"


class FacebookSettings(GraphSettings):
    page_id: str = Field(pattern=r"^\d+$", description="the numeric id of the Facebook Page")
    posts_edge: Literal["published_posts", "feed"] = Field(
        "published_posts", description="`feed` also watches visitor posts on the Page"
    )
    watch_posts: int = Field(25, ge=1, le=100, description="how many of the most recent posts to watch for comments")
    lookback_hours: int = Field(24, ge=0, le=24 * 90, description="how far back the first poll reads")


class FacebookConnector(GraphConnector):
    platform = "facebook"
    capabilities = Capabilities(max_reply_length=8000, public=True)
    settings_model = FacebookSettings
    required_permissions = ("pages_read_engagement", "pages_read_user_content", "pages_manage_engagement")

    settings: FacebookSettings

    def poll(self, cursor: str | None) -> tuple[Sequence[InboundMessage], str | None]:
        state = self._load_cursor(cursor)
        seen = self._first_seen(state)
        known: Mapping[str, Any] = state.get("posts") or {}
        where = f"/{self.settings.page_id}/{self.settings.posts_edge}"
        page = self.graph.get(
            where,
            {
                "fields": "id,from,message,created_time,updated_time,permalink_url,"
                "comments.filter(stream).limit(0).summary(true)",
                "limit": self.settings.watch_posts,
            },
        )
        found: list[InboundMessage] = []
        marks: dict[str, list[Any]] = {}
        posts = items(page, where)
        # A post's updated_time moves with each comment, so this is the newest comment the
        # listing knew of; comments read later in this poll may be newer (see Seen.advanced).
        horizon = max((parse_time(p["updated_time"]) for p in posts if p.get("updated_time")), default=None)
        for post in posts:
            post_id = str(post.get("id"))
            found.extend(self._visitor_post(post, seen))
            summary = (post.get("comments") or {}).get("summary") or {}
            count = summary.get("total_count")
            marks[post_id] = [post.get("updated_time"), count]
            if count != 0 and known.get(post_id) != marks[post_id]:
                found.extend(self._new_comments(post, seen))
        found.sort(key=lambda m: (m.created_at, m.external_id))
        return found, self._dump_cursor({"seen": seen.advanced(found, horizon).dump(), "posts": marks})

    def reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt:
        self.check_reply(to, text)
        answer = self.graph.post(f"{to.thread_id}/comments", form={"message": text})
        if "id" not in answer:
            raise MalformedPayload(f"account {self.name!r}: Graph accepted the reply but returned no id")
        return Receipt(external_id=str(answer["id"]), sent_at=utcnow(), raw=answer)

    def find_reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt | None:
        where = f"/{to.thread_id}/comments"
        params = {"fields": COMMENT_FIELDS, "order": "reverse_chronological", "limit": self.settings.page_size}
        for page in self.graph.pages(where, params):
            for comment in items(page, where):
                created = parse_time(comment.get("created_time"))
                if created < to.created_at:
                    return None
                ours = (comment.get("from") or {}).get("id") == self.settings.page_id
                if ours and (comment.get("message") or "").strip() == text.strip():
                    return Receipt(
                        external_id=str(comment["id"]), sent_at=created, url=comment.get("permalink_url"), raw=comment
                    )
        return None

    def verify(self) -> str:
        return f"{self._page_identity(self.settings.page_id)}; {self._permissions()}"

    def _visitor_post(self, post: Mapping[str, Any], seen: Seen) -> list[InboundMessage]:
        """A visitor's own post on the Page (``feed`` only): a message whose thread is the post itself."""
        author = post.get("from") or {}
        if not author.get("id") or str(author["id"]) == self.settings.page_id:
            return []
        created = parse_time(post.get("created_time"))
        if not seen.is_new(created, str(post["id"])):
            return []
        return [
            InboundMessage(
                platform=self.platform,
                external_id=str(post["id"]),
                thread_id=str(post["id"]),
                author_id=str(author["id"]),
                author_handle=str(author.get("name") or author["id"]),
                author_name=author.get("name"),
                text=str(post.get("message") or ""),
                created_at=created,
                url=post.get("permalink_url"),
                raw={"post": {k: v for k, v in post.items() if k != "comments"}},
            )
        ]

    def _new_comments(self, post: Mapping[str, Any], seen: Seen) -> list[InboundMessage]:
        """Comments and replies on ``post`` newer than ``seen``, reading newest first and stopping early."""
        where = f"/{post['id']}/comments"
        params = {
            "fields": COMMENT_FIELDS,
            "filter": "stream",
            "order": "reverse_chronological",
            "limit": self.settings.page_size,
        }
        new: list[InboundMessage] = []
        for page in self.graph.pages(where, params):
            reached = False
            for comment in items(page, where):
                created = parse_time(comment.get("created_time"))
                if created < seen.at:
                    return new
                reached = reached or created == seen.at
                if seen.is_new(created, str(comment.get("id"))):
                    new.append(self._message(comment, post, created))
            if reached:
                return new
        return new

    def _message(self, comment: Mapping[str, Any], post: Mapping[str, Any], created: Any) -> InboundMessage:
        if "id" not in comment:
            raise MalformedPayload(
                f"account {self.name!r}: a comment came without its id; "
                "the token's user needs the MODERATE task on the Page"
            )
        comment_id = platform_id(comment["id"], "a comment's id")
        author = mapping(comment.get("from"), "a comment's author")
        parent_id = mapping(comment.get("parent"), "a comment's parent").get("id")
        parent = None if parent_id is None else platform_id(parent_id, "a comment's parent")
        author_id = "" if author.get("id") is None else platform_id(author.get("id"), "a comment's author")
        name = author.get("name") if isinstance(author.get("name"), str) else None
        link = comment.get("permalink_url") or post.get("permalink_url")
        return InboundMessage(
            platform=self.platform,
            external_id=comment_id,
            thread_id=parent or comment_id,
            author_id=author_id,
            author_handle=name or author_id or "unknown",
            author_name=name,
            text=platform_text(comment.get("message"), "a comment's message"),
            created_at=created,
            parent_id=parent or platform_id(post.get("id"), "a post's id"),
            url=link if isinstance(link, str) else None,
            from_us=author_id == self.settings.page_id,
            raw={"comment": dict(comment), "post_id": str(post["id"])},
        )
