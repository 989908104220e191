"""The Reddit connector exactly as production builds it (registry, ``from_config``, praw), pointed
at a fresh :class:`FakeReddit`.

One frozen clock drives the fake (comment times, rate-limit windows) and the connector (its pace,
backfill window and retry times), so no test sleeps and every time is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from connectors import load
from connectors.base import Pace
from connectors.reddit import RedditConnector
from tests.conftest import Clock

from .fake import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME, FakeReddit

SECRETS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "username": USERNAME, "password": PASSWORD}


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeReddit]:
    server = FakeReddit(clock=clock.epoch).start()
    yield server
    server.stop()


def secrets(**overrides: str) -> dict[str, SecretStr]:
    return {name: SecretStr(value) for name, value in {**SECRETS, **overrides}.items()}


@pytest.fixture
def connect(fake: FakeReddit, clock: Clock) -> Callable[..., RedditConnector]:
    """Build an account the way the core does; ``options`` are its config keys."""

    def build(credentials: dict[str, SecretStr] | None = None, **options: Any) -> RedditConnector:
        cls = load("reddit")
        connector = cls.from_config(
            "brand_reddit",
            {"oauth_url": fake.url, "reddit_url": fake.url, "timeout": 0.5, **options},
            secrets() if credentials is None else credentials,
        )
        assert isinstance(connector, RedditConnector)
        connector.clock = clock
        connector.pace = Pace(clock=clock)
        return connector

    return build


@pytest.fixture
def reddit(connect: Callable[..., RedditConnector]) -> RedditConnector:
    return connect()


def api_calls(fake: FakeReddit) -> list[str]:
    """Requests to the API proper (not the token endpoint), as ``METHOD /path``."""
    return [
        f"{r.method} {r.path}" for r in fake.api.requests if not r.path.startswith(("/api/v1/access_token", "/_fake"))
    ]
