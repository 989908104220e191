"""The fake answers in the shapes Meta documents (fixtures/), so connector tests prove something."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.connectors.meta.conftest import doc_shape
from tests.connectors.meta.fake import FakeGraph


def missing(ours: Any, documented: Any, where: str = "") -> list[str]:
    """Paths present in the documented payload that the fake's answer lacks or types differently."""
    if isinstance(documented, dict):
        if not isinstance(ours, dict):
            return [where or "/"]
        return [
            p
            for key, value in documented.items()
            for p in (missing(ours[key], value, f"{where}.{key}") if key in ours else [f"{where}.{key}"])
        ]
    if isinstance(documented, list):
        if not isinstance(ours, list) or not ours:
            return [f"{where}[]"]
        return missing(ours[0], documented[0], f"{where}[0]") if documented else []
    return [] if type(ours) is type(documented) else [f"{where}: {type(ours).__name__}"]


def _get(graph: FakeGraph, path: str, **params: str) -> Any:
    headers = {"Authorization": f"Bearer {graph.token}"}
    return httpx.get(f"{graph.url}/v25.0/{path}", params=params, headers=headers).json()


@pytest.fixture
def busy(graph: FakeGraph) -> FakeGraph:
    post = graph.add_post()
    top = graph.add_comment(post, "first")
    graph.add_comment(post, "second", parent=top)
    graph.add_message("24681357902468135", "hello", name="Jonas Weber")
    media = graph.add_media()
    ig_top = graph.add_ig_comment(media, "nice")
    graph.add_ig_comment(media, "agreed", parent=ig_top)
    return graph


def test_page_post_comments(busy: FakeGraph) -> None:
    ours = _get(
        busy,
        f"{busy.posts[0]['id']}/comments",
        filter="stream",
        order="reverse_chronological",
        fields="id,message,from,created_time,parent{id},permalink_url",
    )
    assert missing(ours, doc_shape("page_post_comments.json")) == []


def test_conversations_with_nested_messages(busy: FakeGraph) -> None:
    ours = _get(
        busy,
        "1000/conversations",
        platform="messenger",
        fields="id,updated_time,messages.limit(25){id,message,from,to,created_time}",
    )
    assert missing(ours, doc_shape("conversations.json")) == []


def test_send_api_answer(busy: FakeGraph) -> None:
    headers = {"Authorization": f"Bearer {busy.token}"}
    body = {"recipient": {"id": "24681357902468135"}, "messaging_type": "RESPONSE", "message": {"text": "hi"}}
    ours = httpx.post(f"{busy.url}/v25.0/1000/messages", json=body, headers=headers).json()
    assert missing(ours, doc_shape("send_api_response.json")) == []


def test_instagram_comments_with_nested_replies(busy: FakeGraph) -> None:
    ours = _get(
        busy,
        f"{busy.media[0]['id']}/comments",
        fields="id,text,timestamp,username,from,replies{id,text,timestamp,username,from,parent_id}",
    )
    assert missing(ours, doc_shape("ig_media_comments.json")) == []


def test_errors_and_usage_headers(graph: FakeGraph) -> None:
    graph.valid = False
    graph.set_usage(91, regain_minutes=9)
    answer = httpx.get(f"{graph.url}/v25.0/me", headers={"Authorization": "Bearer wrong"})
    assert missing(answer.json(), doc_shape("error_throttled.json")) == []
    usage = json.loads(answer.headers["x-business-use-case-usage"])
    assert missing(usage, doc_shape("business_use_case_usage.json")) == []


def test_the_comparison_notices_a_missing_field() -> None:
    assert missing({"data": [{"id": "1"}]}, {"data": [{"id": "1", "from": {"id": "2"}}]}) == [".data[0].from"]
