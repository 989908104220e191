"""Shared fixtures for the Meta connectors: a running fake Graph API and connectors pointed at it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors._graph import GraphConnector
from tests.connectors.meta.fake import FakeGraph

FIXTURES = Path(__file__).parent / "fixtures"


def doc_shape(name: str) -> Any:
    """A payload recorded from Meta's reference pages (see fixtures/README.md)."""
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="session")
def _graph_server() -> Iterator[FakeGraph]:
    with FakeGraph() as fake:
        yield fake


@pytest.fixture
def graph(_graph_server: FakeGraph) -> FakeGraph:
    """The fake Graph API, emptied for each test (one server for the session: stopping one takes 0.5 s)."""
    _graph_server.reset()
    return _graph_server


def connect(cls: type[GraphConnector], fake: FakeGraph, **options: Any) -> Any:
    """Build the connector the way the core does: ``from_config`` with the account's options and secrets."""
    ids = {"instagram": {"ig_user_id": fake.ig_user_id}}.get(cls.platform, {"page_id": fake.page_id})
    settings = {"graph_url": fake.url, **ids, **options}
    return cls.from_config("acme", settings, {"page_access_token": SecretStr(fake.token)})


def api_calls(fake: FakeGraph) -> list[str]:
    """The Graph calls the fake received, as ``METHOD /path`` (injections excluded)."""
    return [f"{r.method} {r.path}" for r in fake.requests if not r.path.startswith("/_fake")]
