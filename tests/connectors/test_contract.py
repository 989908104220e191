"""The contract every registered connector keeps, run against its fake (see ``harness.py``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors import available
from connectors.base import AuthError, ConnectorError, MalformedPayload
from tests.conftest import Clock
from tests.connectors.harness import HARNESSES, Harness


def test_every_registered_connector_has_a_harness() -> None:
    assert sorted(HARNESSES) == available(), "add a harness for the new connector to tests/connectors/harness.py"


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Harness]:
    made = HARNESSES[request.param](tmp_path, clock)
    yield made
    made.stop()


def shown(err: BaseException) -> str:
    """The error's text and its causes' (what a traceback would print)."""
    parts = []
    while err is not None:
        parts.append(f"{type(err).__name__}: {err}")
        err = err.__cause__ or err.__context__
    return "\n".join(parts)


def test_a_second_poll_with_the_cursor_returns_nothing_new(harness: Harness) -> None:
    connector = harness.connector()
    posted = harness.customer("my order never came")

    messages, cursor = connector.poll(None)

    assert [m.external_id for m in messages] == [posted]
    assert connector.poll(cursor)[0] == []


def test_find_reply_finds_what_reply_posted(harness: Harness) -> None:
    connector = harness.connector()
    harness.customer("where is my refund?")
    [message], cursor = connector.poll(None)
    assert connector.find_reply(message, "Refund on its way", idempotency_key="k-1") is None

    receipt = connector.reply(message, "Refund on its way", idempotency_key="k-1")

    found = connector.find_reply(message, "Refund on its way", idempotency_key="k-1")
    assert found is not None and found.external_id == receipt.external_id
    assert harness.replies_to(message.external_id) == 1


def test_our_reply_comes_back_marked_as_ours_where_the_platform_shows_it(harness: Harness) -> None:
    connector = harness.connector()
    harness.customer("hello?")
    [message], cursor = connector.poll(None)
    harness.tick()
    receipt = connector.reply(message, "Hello! How can we help?")

    messages, _ = connector.poll(cursor)

    if harness.shows_own_replies:
        assert [(m.external_id, m.from_us) for m in messages] == [(receipt.external_id, True)]
    else:
        assert messages == []


def test_an_auth_failure_is_an_auth_error(harness: Harness) -> None:
    if harness.platform == "sandbox":
        pytest.skip("the sandbox has no credentials to revoke")
    connector = harness.connector()
    harness.break_auth()

    with pytest.raises(AuthError):
        connector.poll(None)


def test_a_malformed_item_is_a_malformed_payload(harness: Harness) -> None:
    connector = harness.connector()
    harness.customer("hi")
    harness.malformed()

    with pytest.raises(MalformedPayload):
        connector.poll(None)


def test_no_secret_reaches_repr_logs_or_errors_even_when_echoed_back(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    hidden = harness.hidden()
    if not hidden:
        pytest.skip(f"{harness.platform} has no secrets")
    caplog.set_level(logging.DEBUG)
    for noisy in ("urllib3.connectionpool", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=noisy)
    connector = harness.connector()
    texts = [repr(connector), str(connector)]
    harness.customer("help")
    [message], cursor = connector.poll(None)
    connector.reply(message, "On it!")
    assert harness.api is not None
    for call in (lambda: connector.poll(cursor), lambda: connector.reply(message, "Anything else?")):
        harness.api.faults(rate=1.0, kinds=("echo",))
        with pytest.raises(ConnectorError) as echoed:
            call()
        harness.api.faults(rate=0)
        texts.append(shown(echoed.value))
    harness.break_auth()
    with pytest.raises(AuthError) as refused:
        connector.poll(cursor)
    texts.append(shown(refused.value))

    assert any(kind == "echo" for kind, _, _ in harness.api.injected), "the fake echoed our headers back"
    assert any(r.levelno == logging.DEBUG for r in caplog.records), "debug logging is captured"
    leaked = [(name, text[:200]) for name, value in hidden.items() for text in texts + [caplog.text] if value in text]
    assert not leaked
