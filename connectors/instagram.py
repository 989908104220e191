"""Instagram comments: comments and replies on the account's recent media, answered in place.

One request lists the ``watch_media`` most recent media with their ``comments_count`` (which
counts replies too); only media whose count changed since the last poll have their comments
read. So a quiet poll is one call. Instagram has no ``since`` and no newest-first order for a
media's comments, and a new reply can sit under an old comment, so a changed media is read in
full: ceil(comments on it / page_size) calls, replies nested in the same answer (one more call
per extra page of replies under a single comment). The cursor never moves past Graph's clock at
the media listing, so a comment written on media already read while the poll goes on is still
ahead of it. Known limit: a comment deleted and another written on the same media between two
polls leave the count unchanged, and nothing else in the listing shows the change.

Instagram only accepts replies to top-level comments: ``POST /{ig-comment-id}/replies`` on the
thread's top-level comment, also when the customer wrote a reply, which is where Instagram shows
the conversation anyway. Our own comments are recognised by the account's id or username;
``username`` may be set in config, otherwise it is read once from Graph when first needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import Field

from connectors._graph import GraphConnector, GraphSettings, Seen, following, items, parse_time
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

__all__ = ["InstagramConnector", "InstagramSettings"]

REPLY_FIELDS = "id,text,timestamp,username,from,parent_id"
COMMENT_FIELDS = f"id,text,timestamp,username,from,replies{{{REPLY_FIELDS}}}"


class InstagramSettings(GraphSettings):
    ig_user_id: str = Field(pattern=r"^\d+$", description="the Instagram professional account's id")
    username: str | None = Field(None, description="the account's username, to recognise our own comments")
    watch_media: int = Field(25, ge=1, le=100, description="how many of the most recent media to watch")
    lookback_hours: int = Field(24, ge=0, le=24 * 90, description="how far back the first poll reads")


class InstagramConnector(GraphConnector):
    platform = "instagram"
    capabilities = Capabilities(max_reply_length=2200, public=True)
    settings_model = InstagramSettings
    required_permissions = ("instagram_basic", "instagram_manage_comments", "pages_read_engagement")

    settings: InstagramSettings
    _username: str | None = None

    def poll(self, cursor: str | None) -> tuple[Sequence[InboundMessage], str | None]:
        state = self._load_cursor(cursor)
        seen = self._first_seen(state)
        known: Mapping[str, Any] = state.get("media") or {}
        where = f"/{self.settings.ig_user_id}/media"
        page = self.graph.get(
            where, {"fields": "id,timestamp,comments_count,permalink", "limit": self.settings.watch_media}
        )
        # Media are read one after another: the cursor stops where Graph stood when it listed them.
        horizon = self.graph.answered_at
        found: list[InboundMessage] = []
        counts: dict[str, int | None] = {}
        for media in items(page, where):
            media_id = str(media.get("id"))
            counts[media_id] = media.get("comments_count")
            # Without a count (Graph left it out) nothing tells a changed media apart: read it.
            unknown = counts[media_id] is None
            if unknown or (counts[media_id] != 0 and known.get(media_id) != counts[media_id]):
                found.extend(self._new_comments(media, seen))
        found.sort(key=lambda m: (m.created_at, m.external_id))
        return found, self._dump_cursor({"seen": seen.advanced(found, horizon).dump(), "media": counts})

    def reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt:
        self.check_reply(to, text)
        answer = self.graph.post(f"{to.thread_id}/replies", form={"message": text})
        if "id" not in answer:
            raise MalformedPayload(f"account {self.name!r}: Graph accepted the reply but returned no id")
        return Receipt(external_id=str(answer["id"]), sent_at=utcnow(), raw=answer)

    def find_reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt | None:
        where = f"/{to.thread_id}/replies"
        for page in self.graph.pages(where, {"fields": REPLY_FIELDS, "limit": self.settings.page_size}):
            for reply in items(page, where):
                created = parse_time(reply.get("timestamp"))
                if created >= to.created_at and self._ours(reply) and (reply.get("text") or "").strip() == text.strip():
                    return Receipt(external_id=str(reply["id"]), sent_at=created, raw=reply)
        return None

    def verify(self) -> str:
        me = self.graph.get(self.settings.ig_user_id, {"fields": "id,username"})
        self._username = str(me.get("username") or "")
        return f"authenticated as @{me.get('username')} (id {me.get('id')}); {self._permissions()}"

    def _own_username(self) -> str | None:
        if self.settings.username:
            return self.settings.username
        if self._username is None:
            me = self.graph.get(self.settings.ig_user_id, {"fields": "username"})
            self._username = str(me.get("username") or "")
        return self._username or None

    def _ours(self, comment: Mapping[str, Any]) -> bool:
        if str((comment.get("from") or {}).get("id")) == self.settings.ig_user_id:
            return True
        return comment.get("username") is not None and comment.get("username") == self._own_username()

    def _new_comments(self, media: Mapping[str, Any], seen: Seen) -> list[InboundMessage]:
        """Every comment and reply on ``media`` newer than ``seen``; the whole media is read (see module doc)."""
        where = f"/{media['id']}/comments"
        new: list[InboundMessage] = []
        for page in self.graph.pages(where, {"fields": COMMENT_FIELDS, "limit": self.settings.page_size}):
            for comment in items(page, where):
                new.extend(self._if_new(comment, media, seen, None))
                new.extend(self._new_replies(comment, media, seen))
        return new

    def _new_replies(self, comment: Mapping[str, Any], media: Mapping[str, Any], seen: Seen) -> list[InboundMessage]:
        where = f"/{comment.get('id')}/replies"
        page: Mapping[str, Any] = comment.get("replies") or {"data": []}
        new: list[InboundMessage] = []
        while True:
            for reply in items(page, where):
                new.extend(self._if_new(reply, media, seen, str(comment["id"])))
            after = following(page)
            if after is None:
                return new
            page = self.graph.get(where, {"fields": REPLY_FIELDS, "limit": self.settings.page_size, **after})

    def _if_new(
        self, comment: Mapping[str, Any], media: Mapping[str, Any], seen: Seen, top: str | None
    ) -> list[InboundMessage]:
        if "id" not in comment:
            raise MalformedPayload(f"account {self.name!r}: an Instagram comment came without its id")
        created = parse_time(comment.get("timestamp"))
        if not seen.is_new(created, str(comment["id"])):
            return []
        return [self._message(comment, media, created, top)]

    def _message(
        self, comment: Mapping[str, Any], media: Mapping[str, Any], created: datetime, top: str | None
    ) -> InboundMessage:
        comment_id = platform_id(comment["id"], "a comment's id")
        author = mapping(comment.get("from"), "a comment's author")
        named = comment.get("username") or author.get("username")
        username = named if isinstance(named, str) else None
        author_id = "" if author.get("id") is None else platform_id(author.get("id"), "a comment's author")
        parent = top or (platform_id(comment["parent_id"], "a reply's parent") if comment.get("parent_id") else None)
        link = media.get("permalink")
        return InboundMessage(
            platform=self.platform,
            external_id=comment_id,
            thread_id=parent or comment_id,
            author_id=author_id or username or "",
            author_handle=username or author_id or "unknown",
            text=platform_text(comment.get("text"), "a comment's text"),
            created_at=created,
            parent_id=parent or platform_id(media.get("id"), "a media id"),
            url=link if isinstance(link, str) else None,
            from_us=self._ours(comment),
            raw={"comment": {k: v for k, v in comment.items() if k != "replies"}, "media_id": str(media["id"])},
        )
