"""The X connector exactly as production builds it, pointed at a fresh :class:`FakeX`.

One frozen clock drives the fake (post times, rate-limit windows) and the connector (its pace
and read budget), so no test sleeps and every time is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from connectors import load
from connectors.x import XConnector
from tests.conftest import Clock
from tests.connectors.x.fake import FakeX

OAUTH1 = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeX]:
    server = FakeX(clock=clock).start()
    yield server
    server.stop()


def secrets_for(fake: FakeX, names: tuple[str, ...] = OAUTH1) -> dict[str, SecretStr]:
    values = {
        "consumer_key": fake.credentials.consumer_key,
        "consumer_secret": fake.credentials.consumer_secret,
        "access_token": fake.credentials.access_token,
        "access_token_secret": fake.credentials.access_token_secret,
        "bearer_token": fake.credentials.user_token,
    }
    return {name: SecretStr(values[name]) for name in names}


@pytest.fixture
def connect(fake: FakeX, clock: Clock) -> Callable[..., XConnector]:
    """Build the account through the registry and ``from_config``, as the core does."""

    def build(secrets: dict[str, SecretStr] | None = None, **options: Any) -> XConnector:
        cls = load("x")
        connector = cls.from_config(
            "brand_x", {"api_url": fake.url, "timeout": 2, **options}, secrets_for(fake) if secrets is None else secrets
        )
        assert isinstance(connector, XConnector)
        connector.clock = clock
        return connector

    return build


@pytest.fixture
def x(connect: Callable[..., XConnector]) -> XConnector:
    return connect()
