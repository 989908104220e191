"""Shared fixtures: a working folder with a config, the CLI run in-process, SQLite and PostgreSQL stores, a clock."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import contextlib
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

POSTGRES = os.environ.get("SOCIALCARE_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def _postgres_reason() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as err:  # any failure to connect means: skip, and say why
        return f"no PostgreSQL answers at {POSTGRES} ({type(err).__name__})"
    return None


_PG_SKIP = _postgres_reason()


class Clock:
    """A clock that moves only when a test says so; a fake and a connector share one, so no test sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        """The same instant as ``time.time()`` gives it, for fakes that count in epoch seconds."""
        return self.now.timestamp()

    def tick(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 10, 12, 0, tzinfo=UTC))


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards (skips when no server answers)."""
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    name = f"socialcare_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with postgres_database() as url:
        yield url


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Workspace:
    """A team's folder: ``config/socialcare.toml`` plus whatever it creates."""

    root: Path
    database_url: str

    @property
    def config(self) -> Path:
        return self.root / "config" / "socialcare.toml"

    def write_config(self, text: str) -> None:
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.config.write_text(text, encoding="utf-8")

    def run(self, *args: str, input: str = "") -> Result:
        """The CLI exactly as the console script runs it, in this process."""
        from socialcare.cli import main

        out, err = io.StringIO(), io.StringIO()
        stdin = io.StringIO(input)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _stdin(stdin):
            code = main(["--config", str(self.config), *args])
        return Result(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _stdin(stream: io.StringIO) -> Iterator[None]:
    import sys

    saved, sys.stdin = sys.stdin, stream
    try:
        yield
    finally:
        sys.stdin = saved


SANDBOX_CONFIG = """\
database_url = "{database_url}"
timezone = "Europe/Rome"

[targets]
normal = "1h"
complaint = "30m"
urgent = "15m"

[accounts.sandbox]
platform = "sandbox"
poll_interval = "10s"
path = "sandbox.json"
handle = "acme"
"""


@pytest.fixture
def workspace(tmp_path: Path, database_url: str) -> Workspace:
    """A folder with a sandbox config and a migrated store."""
    space = Workspace(tmp_path, database_url)
    space.write_config(SANDBOX_CONFIG.format(database_url=database_url))
    result = space.run("db", "upgrade")
    assert result.code == 0, result.err
    return space
