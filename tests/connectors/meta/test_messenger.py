"""Messenger against the fake Graph API: conversations in, Send API out, the 24-hour window kept."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from connectors.base import AuthError, RateLimited, ReplyRefused, utcnow
from connectors.messenger import MessengerConnector
from tests.connectors.meta.conftest import api_calls, connect, doc_shape
from tests.connectors.meta.fake import FakeGraph, graph_error
from tests.fakes.http import Response

CONVERSATIONS = r"/v25\.0/1000/conversations"


def test_messages_are_read_with_their_conversation_as_the_thread(graph: FakeGraph) -> None:
    start = utcnow() - timedelta(minutes=20)
    first = graph.add_message("7001", "Where is my refund?", name="Ana", at=start)
    second = graph.add_message("7001", "It has been 3 weeks", name="Ana", at=start + timedelta(minutes=1))
    other = graph.add_message("7002", "Do you ship to Malta?", name="Luca", at=start + timedelta(minutes=2))
    messages, _ = connect(MessengerConnector, graph).poll(None)
    assert [(m.external_id, m.author_id, m.author_handle, m.from_us) for m in messages] == [
        (first, "7001", "Ana", False),
        (second, "7001", "Ana", False),
        (other, "7002", "Luca", False),
    ]
    assert messages[0].thread_id == messages[1].thread_id != messages[2].thread_id
    assert not MessengerConnector.capabilities.public


def test_a_steady_poll_makes_one_call(graph: FakeGraph) -> None:
    graph.add_message("7001", "hi")
    messenger = connect(MessengerConnector, graph)
    _, cursor = messenger.poll(None)
    graph.requests.clear()
    for _ in range(3):
        messages, cursor = messenger.poll(cursor)
        assert messages == []
    assert api_calls(graph) == ["GET /v25.0/1000/conversations"] * 3


# ceil(n / 100) pages; when n is an exact multiple, one more page shows that nothing else is new.
@pytest.mark.parametrize(("new", "calls"), [(1, 1), (99, 1), (100, 2), (150, 2), (250, 3)])
def test_new_conversations_cost_ceil_n_over_page_size_calls(graph: FakeGraph, new: int, calls: int) -> None:
    start = utcnow() - timedelta(hours=2)
    for psid in range(30):
        graph.add_message(f"60{psid:02d}", "old", at=start + timedelta(seconds=psid))
    messenger = connect(MessengerConnector, graph, page_size=100)
    _, cursor = messenger.poll(None)
    graph.requests.clear()
    ids = [graph.add_message(f"80{i:03d}", f"new {i}", at=start + timedelta(hours=1, seconds=i)) for i in range(new)]
    messages, cursor = messenger.poll(cursor)
    assert [m.external_id for m in messages] == ids
    assert api_calls(graph) == ["GET /v25.0/1000/conversations"] * calls
    assert calls == math.ceil(new / 100) + (new % 100 == 0)
    assert messenger.poll(cursor)[0] == []


def test_a_long_burst_in_one_conversation_reads_its_next_page_of_messages(graph: FakeGraph) -> None:
    start = utcnow() - timedelta(hours=1)
    messenger = connect(MessengerConnector, graph, messages_per_conversation=25)
    graph.add_message("7001", "first", at=start)
    _, cursor = messenger.poll(None)
    graph.requests.clear()
    ids = [graph.add_message("7001", f"line {i}", at=start + timedelta(minutes=1, seconds=i)) for i in range(30)]
    messages, _ = messenger.poll(cursor)
    assert [m.external_id for m in messages] == ids
    [conversation] = graph.conversations
    assert api_calls(graph) == ["GET /v25.0/1000/conversations", f"GET /v25.0/{conversation}/messages"]


def test_the_reply_uses_the_send_api_and_its_echo_is_ours(graph: FakeGraph) -> None:
    graph.add_message("7001", "Where is my refund?", name="Ana")
    messenger = connect(MessengerConnector, graph)
    [message], cursor = messenger.poll(None)
    receipt = messenger.reply(message, "It left our bank today.")
    [sent] = graph.replies_posted()
    assert sent.path == "/v25.0/1000/messages"
    assert sent.json == {
        "recipient": {"id": "7001"},
        "messaging_type": "RESPONSE",
        "message": {"text": "It left our bank today."},
    }
    echo, _ = messenger.poll(cursor)
    assert [(m.external_id, m.from_us, m.thread_id) for m in echo] == [(receipt.external_id, True, message.thread_id)]


def test_a_reply_outside_the_24_hour_window_is_refused_before_sending(graph: FakeGraph) -> None:
    graph.add_message("7001", "Anyone there?", at=utcnow() - timedelta(hours=25))
    messenger = connect(MessengerConnector, graph, lookback_hours=48)
    [message], _ = messenger.poll(None)
    graph.requests.clear()
    with pytest.raises(ReplyRefused, match="within 24 hours"):
        messenger.reply(message, "Sorry for the wait")
    assert graph.requests == [], "nothing may reach the platform"


def test_a_window_graph_reports_closed_is_a_refusal(graph: FakeGraph) -> None:
    graph.add_message("7001", "hello")
    messenger = connect(MessengerConnector, graph)
    [message], _ = messenger.poll(None)
    graph.script(
        "POST",
        r"/v25\.0/1000/messages",
        graph_error(10, "(#10) This message is sent outside of allowed window.", subcode=2018278, status=403),
    )
    with pytest.raises(ReplyRefused, match="window has closed"):
        messenger.reply(message, "Hi")


def test_an_over_long_message_is_refused(graph: FakeGraph) -> None:
    graph.add_message("7001", "hello")
    messenger = connect(MessengerConnector, graph)
    [message], _ = messenger.poll(None)
    with pytest.raises(ReplyRefused, match="messenger allows 2000"):
        messenger.reply(message, "y" * 2001)
    assert graph.replies_posted() == []


def test_messenger_throttling_is_a_rate_limit(graph: FakeGraph) -> None:
    graph.add_message("7001", "hello")
    messenger = connect(MessengerConnector, graph)
    [message], _ = messenger.poll(None)
    graph.script("POST", r"/v25\.0/1000/messages", graph_error(80006, "(#80006) There have been too many messages"))
    with pytest.raises(RateLimited):
        messenger.reply(message, "Hi")


def test_find_reply_after_a_crash(graph: FakeGraph) -> None:
    graph.add_message("7001", "Refund?")
    messenger = connect(MessengerConnector, graph)
    [message], _ = messenger.poll(None)
    assert messenger.find_reply(message, "Done.") is None
    receipt = messenger.reply(message, "Done.")
    found = messenger.find_reply(message, "Done.")
    assert found is not None and found.external_id == receipt.external_id


def test_reads_the_documented_conversation_payload_verbatim(graph: FakeGraph) -> None:
    graph.script("GET", CONVERSATIONS, Response(200, doc_shape("conversations.json")))
    messages, _ = connect(MessengerConnector, graph, lookback_hours=24 * 90).poll(None)
    [message] = messages
    assert (message.thread_id, message.author_id, message.author_name) == (
        "t_10161234567890123",
        "24681357902468135",
        "Jonas Weber",
    )
    assert message.text == "Hallo, wo bleibt meine Rückerstattung?"


def test_reads_the_documented_send_api_answer(graph: FakeGraph) -> None:
    graph.add_message("24681357902468135", "hello")
    messenger = connect(MessengerConnector, graph)
    [message], _ = messenger.poll(None)
    graph.script("POST", r"/v25\.0/1000/messages", Response(200, doc_shape("send_api_response.json")))
    assert messenger.reply(message, "Hi").external_id.startswith("m_AG5Hz2Uq7")


def test_verify(graph: FakeGraph) -> None:
    assert connect(MessengerConnector, graph).verify() == "authenticated as Page 'Acme' (id 1000); permissions ok"
    graph.scopes.remove("pages_messaging")
    with pytest.raises(AuthError, match="lacks pages_messaging"):
        connect(MessengerConnector, graph).verify()
