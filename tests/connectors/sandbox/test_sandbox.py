"""The sandbox file: whatever is in it, the connector answers with messages or one clear error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from connectors import load
from connectors.base import MalformedPayload, TransientError
from connectors.sandbox import SandboxConnector

GOOD = {"id": 1, "author": "ann", "name": "Ann", "text": "hi", "reply_to": None, "thread": 1}
GOOD["created_at"] = "2026-11-10T12:00:00+00:00"


@pytest.fixture
def sandbox(tmp_path: Path) -> SandboxConnector:
    connector = load("sandbox").from_config("shop", {"path": tmp_path / "sandbox.json"}, {})
    assert isinstance(connector, SandboxConnector)
    return connector


def write_posts(sandbox: SandboxConnector, *posts: object) -> None:
    sandbox.settings.path.write_text(json.dumps({"posts": list(posts)}))


@pytest.mark.parametrize(
    ("post", "says"),
    [
        ({k: v for k, v in GOOD.items() if k != "text"}, "post 1 has no 'text'"),
        ({k: v for k, v in GOOD.items() if k != "id"}, "post None has no 'id'"),
        ({**GOOD, "id": "1"}, "'id' = '1', not a int"),
        ({**GOOD, "id": 1.5}, "'id' = 1.5, not a int"),
        ({**GOOD, "id": True}, "'id' = True, not a int"),
        ({**GOOD, "text": ["hi"]}, "'text' = \\['hi'\\], not a str"),
        ({**GOOD, "thread": None}, "'thread' = None, not a int"),
        ({**GOOD, "reply_to": "1"}, "'reply_to' as a post id or null"),
        ({k: v for k, v in GOOD.items() if k != "reply_to"}, "'reply_to' as a post id or null"),
        ({**GOOD, "created_at": "yesterday"}, "'created_at' = 'yesterday', not an ISO time"),
        ({**GOOD, "created_at": "2026-11-10T12:00:00"}, "not an ISO time with a UTC offset"),
        ({**GOOD, "idempotency_key": 7}, "'idempotency_key' that is not text"),
        (["not", "a", "post"], "a post that is not an object"),
    ],
)
def test_a_malformed_post_is_one_clear_error_on_every_path(sandbox: SandboxConnector, post: object, says: str) -> None:
    write_posts(sandbox, GOOD, post)
    before = sandbox.settings.path.read_bytes()

    for attempt in (lambda: sandbox.poll(None), lambda: sandbox.post("bob", "hello"), sandbox.verify):
        with pytest.raises(MalformedPayload, match=says) as caught:
            attempt()
        assert "\n" not in str(caught.value)

    assert sandbox.settings.path.read_bytes() == before, "nothing is written over a file we cannot read"


def test_invalid_utf8_is_a_malformed_payload_for_poll_and_post(sandbox: SandboxConnector) -> None:
    sandbox.settings.path.write_bytes(b'{"posts": [{"text": "caf\xe9"}]}')

    with pytest.raises(MalformedPayload, match=r"not UTF-8 text \(bad byte at offset 24\)"):
        sandbox.poll(None)
    with pytest.raises(MalformedPayload, match="not UTF-8"):
        sandbox.post("bob", "hello")


@pytest.mark.parametrize(
    "text",
    ["\ud800", "a\udfffb", "\x00nul", "\u202eRTL\u200b", "\x1b[31mred\x1b]0;title\x07", "👨‍👩‍👧 🇮🇹", "x" * 100_000],
)
def test_any_python_text_posted_comes_back_identical(sandbox: SandboxConnector, text: str) -> None:
    post_id = sandbox.post("ann", text)
    [message], _ = sandbox.poll(None)

    assert (message.external_id, message.text) == (post_id, text)
    assert sandbox.settings.path.read_bytes().isascii()
    reply = sandbox.reply(message, text[:1000], idempotency_key="k1")
    assert sandbox.find_reply(message, text[:1000]) == reply


def test_a_temp_file_left_by_a_killed_writer_is_removed_by_the_next_write(sandbox: SandboxConnector) -> None:
    sandbox.post("ann", "first")
    stale = sandbox.settings.path.with_name("sandbox.jsonq8w3e1r2.tmp")  # the name an older writer used
    stale.write_text('{"posts": [')
    also_stale = sandbox.settings.path.with_name("sandbox.json.x1y2z3.tmp")
    also_stale.write_text("")

    sandbox.post("bob", "second")

    assert not stale.exists() and not also_stale.exists()
    assert [m.text for m in sandbox.poll(None)[0]] == ["first", "second"]


def test_a_write_that_fails_midway_leaves_no_temp_file_and_the_old_content(
    sandbox: SandboxConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.post("ann", "first")
    before = sandbox.settings.path.read_bytes()

    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(TransientError, match="No space left on device"):
        sandbox.post("bob", "second")
    monkeypatch.undo()

    assert list(sandbox.settings.path.parent.glob("*.tmp")) == []
    assert sandbox.settings.path.read_bytes() == before


def test_a_write_interrupted_by_a_signal_leaves_no_temp_file(
    sandbox: SandboxConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dumps", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sandbox.post("ann", "first")

    assert list(sandbox.settings.path.parent.glob("*.tmp")) == []


def test_find_reply_to_a_message_with_a_foreign_id_is_none_not_a_crash(sandbox: SandboxConnector) -> None:
    sandbox.post("ann", "first")
    [message], _ = sandbox.poll(None)
    odd = type(message)(**{**message.__dict__, "external_id": "t1_abc"})

    assert sandbox.find_reply(odd, "hello") is None


def test_an_unreadable_file_is_transient(sandbox: SandboxConnector) -> None:
    sandbox.settings.path.mkdir()

    with pytest.raises(TransientError, match="cannot read the sandbox file"):
        sandbox.poll(None)
