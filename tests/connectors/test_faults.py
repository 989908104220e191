"""Chaos per connector: with about 20 % of requests failing in every way the fakes can fail, polling
and replying over and over delivers every customer message once and posts every reply exactly
once, and nothing but the documented error types is ever raised.

Replies follow the outbox's protocol: after any failure that may have reached the platform, the
next attempt first asks ``find_reply``. ``echo`` is left out: it answers 400, a refusal for good.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.base import ConnectorError, InboundMessage, PermanentError
from tests.conftest import Clock
from tests.connectors.harness import HARNESSES, Harness
from tests.fakes.http import FAULTS

CHAOS = tuple(kind for kind in FAULTS if kind != "echo")


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Harness]:
    made = HARNESSES[request.param](tmp_path, clock)
    yield made
    made.stop()


def test_faults_lose_nothing_and_post_nothing_twice(harness: Harness) -> None:
    connector = harness.connector()
    posted: list[str] = []
    delivered: Counter[str] = Counter()
    pending: dict[str, tuple[InboundMessage, bool]] = {}  # message id -> (message, an attempt may have landed)
    errors: Counter[str] = Counter()
    cursor: str | None = None

    def step() -> None:
        nonlocal cursor
        harness.tick()
        try:
            messages, cursor = connector.poll(cursor)
        except ConnectorError as err:
            errors[type(err).__name__] += 1
        else:
            for message in messages:
                if not message.from_us:
                    delivered[message.external_id] += 1
                    pending[message.external_id] = (message, False)
        for key, (message, tried) in list(pending.items()):
            text = f"Sorry about that, we are on it ({key})"
            try:
                found = connector.find_reply(message, text, idempotency_key=key) if tried else None
                found or connector.reply(message, text, idempotency_key=key)
            except PermanentError as err:
                pytest.fail(f"a fault made {harness.platform} refuse a reply for good: {err}")
            except ConnectorError as err:
                errors[type(err).__name__] += 1
                pending[key] = (message, True)
            else:
                del pending[key]

    harness.faults(rate=0.2, seed=7, kinds=CHAOS)
    for round_ in range(30):
        if round_ % 2 == 0:
            posted.append(harness.customer(f"my order {round_} never came"))
        step()
    harness.faults(rate=0, seed=7, kinds=CHAOS)
    for _ in range(5):
        step()

    assert len(set(harness.injected())) >= (2 if harness.platform == "sandbox" else 5), harness.injected()
    assert errors, "the faults were felt"
    assert pending == {}
    assert sorted(delivered) == sorted(posted) and set(delivered.values()) == {1}, delivered
    assert {key: harness.replies_to(key) for key in posted} == dict.fromkeys(posted, 1)
