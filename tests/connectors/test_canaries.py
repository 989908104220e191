"""Canary secrets, end to end: through the real CLI, the store and the logs, on every platform, including when
the platform echoes our own request headers back in an error. No secret appears in anything a person or a
script can read: stdout, stderr, log records at any level, any text column of the database, `--json`."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from socialcare.models import utcnow
from tests.conftest import Clock
from tests.connectors.conftest import AccountFactory
from tests.connectors.harness import HARNESSES


def _store_text(database_url: str) -> str:
    """Every value of every row of every table, as text."""
    engine = sa.create_engine(database_url)
    chunks = []
    with engine.connect() as connection:
        for table in sa.inspect(engine).get_table_names():
            for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')):
                chunks.append(" ".join(str(value) for value in row))
    engine.dispose()
    return "\n".join(chunks)


@pytest.mark.parametrize("platform", sorted(p for p in HARNESSES if p != "sandbox"))
def test_no_canary_secret_leaves_the_process_even_when_the_platform_echoes_it(
    platform: str, tmp_path: Path, account_workspace: AccountFactory, caplog: pytest.LogCaptureFixture
) -> None:
    harness = HARNESSES[platform](tmp_path / "fake", Clock(utcnow() - timedelta(minutes=1)))
    try:
        (tmp_path / "fake").mkdir(exist_ok=True)
        options = {k: str(v) if isinstance(v, Path) else v for k, v in harness.options().items()}
        options["timeout"] = 5
        space = account_workspace(
            "brand", platform, options, harness.secrets(), shown=set(harness.secrets()) - set(harness.hidden())
        )
        canaries = harness.hidden()
        caplog.set_level(logging.DEBUG)
        outputs = []
        harness.customer("Where is my order? It is late")
        for args in (("db", "upgrade"), ("poll",), ("queue", "--json")):
            outputs.append(space.ok(*args))
        (case,) = json.loads(outputs[-1].out)
        outputs.append(space.ok("show", str(case["id"]), "--json"))
        outputs.append(space.ok("approve", str(case["id"])))
        assert harness.api is not None
        harness.customer("Hello again, anyone?")
        harness.api.faults(rate=1.0, seed=3, kinds=("echo",))
        for args in (("--verbose", "send"), ("--verbose", "poll"), ("doctor",), ("--verbose", "daemon", "--once")):
            outputs.append(space.run(*args))
        harness.api.faults(rate=0)
        outputs.append(space.run("doctor"))
        outputs.append(space.ok("queue", "--json", "--status", "all"))
        assert any(kind == "echo" for kind, _, _ in harness.api.injected), "the fake echoed our headers back"
        shown = [r.out + r.err for r in outputs] + [caplog.text, _store_text(space.database_url)]
        leaked = [
            (name, text[text.find(value) - 80 : text.find(value)])
            for name, value in canaries.items()
            for text in shown
            if value in text
        ]
        assert leaked == []
    finally:
        harness.stop()
