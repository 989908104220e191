"""Messenger: the Page's private conversations, answered through the Send API.

One request lists the Page's conversations, most recently updated first, each with its latest
messages nested in the same answer; the poll stops at the first conversation not updated since
the cursor (or, across pages, at the page that reaches the cursor's second). A quiet poll is
therefore one call; n new conversations cost ceil(n/page_size) pages (one more when n is an
exact multiple), and a conversation with more new messages than ``messages_per_conversation``
costs one more call per extra page of its messages. Graph offers no ``since`` on
conversations, so the time filter is applied here.

Replies go to ``POST /{page-id}/messages`` with ``messaging_type=RESPONSE`` to the customer's
page-scoped id. Messenger allows that only within 24 hours of the customer's message: the
connector refuses a later reply before sending anything (``Capabilities.reply_window``), and a
window Graph reports as closed is a refusal too, never a retry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
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

__all__ = ["MessengerConnector", "MessengerSettings"]

MESSAGE_FIELDS = "id,message,from,to,created_time"


class MessengerSettings(GraphSettings):
    page_id: str = Field(pattern=r"^\d+$", description="the numeric id of the Facebook Page")
    messages_per_conversation: int = Field(25, ge=1, le=100, description="messages read with each conversation")
    lookback_hours: int = Field(24, ge=0, le=24 * 90, description="how far back the first poll reads")


class MessengerConnector(GraphConnector):
    platform = "messenger"
    capabilities = Capabilities(max_reply_length=2000, public=False, reply_window=timedelta(hours=24))
    settings_model = MessengerSettings
    required_permissions = ("pages_messaging", "pages_read_engagement", "pages_manage_metadata")

    settings: MessengerSettings

    def poll(self, cursor: str | None) -> tuple[Sequence[InboundMessage], str | None]:
        seen = self._first_seen(self._load_cursor(cursor))
        where = f"/{self.settings.page_id}/conversations"
        params = {
            "platform": "messenger",
            "fields": f"id,updated_time,messages.limit({self.settings.messages_per_conversation}){{{MESSAGE_FIELDS}}}",
            "limit": self.settings.page_size,
        }
        found: list[InboundMessage] = []
        for page in self.graph.pages(where, params):
            reached = False
            for conversation in items(page, where):
                updated = parse_time(conversation.get("updated_time"))
                if updated < seen.at:
                    reached = True
                    break
                reached = reached or updated == seen.at
                found.extend(self._new_messages(conversation, seen))
            if reached:
                break
        found.sort(key=lambda m: (m.created_at, m.external_id))
        return found, self._dump_cursor({"seen": seen.advanced(found).dump()})

    def reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt:
        self.check_reply(to, text)
        answer = self.graph.post(
            f"{self.settings.page_id}/messages",
            body={"recipient": {"id": to.author_id}, "messaging_type": "RESPONSE", "message": {"text": text}},
        )
        if "message_id" not in answer:
            raise MalformedPayload(f"account {self.name!r}: the Send API accepted the reply but returned no message_id")
        return Receipt(external_id=str(answer["message_id"]), sent_at=utcnow(), raw=answer)

    def find_reply(self, to: InboundMessage, text: str, *, idempotency_key: str | None = None) -> Receipt | None:
        where = f"/{to.thread_id}/messages"
        for page in self.graph.pages(where, {"fields": MESSAGE_FIELDS, "limit": self.settings.page_size}):
            for message in items(page, where):
                created = parse_time(message.get("created_time"))
                if created < to.created_at:
                    return None
                ours = (message.get("from") or {}).get("id") == self.settings.page_id
                if ours and (message.get("message") or "").strip() == text.strip():
                    return Receipt(external_id=str(message["id"]), sent_at=created, raw=message)
        return None

    def verify(self) -> str:
        return f"{self._page_identity(self.settings.page_id)}; {self._permissions()}"

    def _new_messages(self, conversation: Mapping[str, Any], seen: Seen) -> list[InboundMessage]:
        """The conversation's messages newer than ``seen`` (newest first from Graph), paging only if all are new."""
        conversation_id = str(conversation.get("id"))
        where = f"/{conversation_id}/messages"
        page: Mapping[str, Any] = conversation.get("messages") or {"data": []}
        new: list[InboundMessage] = []
        while True:
            reached = False
            for message in items(page, where):
                created = parse_time(message.get("created_time"))
                if created < seen.at:
                    return new
                reached = reached or created == seen.at
                if seen.is_new(created, str(message.get("id"))):
                    new.append(self._message(message, conversation_id, created))
            after = following(page)
            if after is None or reached:
                return new
            page = self.graph.get(
                where, {"fields": MESSAGE_FIELDS, "limit": self.settings.messages_per_conversation, **after}
            )

    def _message(self, message: Mapping[str, Any], conversation_id: str, created: datetime) -> InboundMessage:
        if "id" not in message:
            raise MalformedPayload(f"account {self.name!r}: a Messenger message came without its id")
        sender = mapping(message.get("from"), "a message's sender")
        sender_id = "" if sender.get("id") is None else platform_id(sender.get("id"), "a message's sender")
        name = sender.get("name") if isinstance(sender.get("name"), str) else None
        return InboundMessage(
            platform=self.platform,
            external_id=platform_id(message["id"], "a message's id"),
            thread_id=conversation_id,
            author_id=sender_id,
            author_handle=name or sender_id or "unknown",
            author_name=name,
            text=platform_text(message.get("message"), "a message's text"),
            created_at=created,
            from_us=sender_id == self.settings.page_id,
            raw={"message": dict(message), "conversation_id": conversation_id},
        )
