"""The schema is what the models say, on every supported database, and times come back in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from socialcare import db
from socialcare.models import Account


def test_migrations_build_exactly_the_models_schema(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []
    db.check_schema(engine)


def test_times_are_stored_in_utc_and_come_back_aware(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    rome = timezone(timedelta(hours=1))
    with db.session_scope(engine) as session:
        session.add(Account(name="a", platform="sandbox", last_poll_at=datetime(2026, 1, 5, 10, 0, tzinfo=rome)))
    with db.session_scope(engine) as session:
        account = session.get(Account, 1)
    assert account is not None and account.last_poll_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert account.last_poll_at.tzinfo is UTC


def test_naive_times_are_refused(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    with pytest.raises(Exception, match="naive datetime"), db.session_scope(engine) as session:
        session.add(Account(name="a", platform="sandbox", last_poll_at=datetime(2026, 1, 5, 10, 0)))
        session.flush()


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 's.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_the_head_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    alembic_config = db._alembic_config(db.make_engine("sqlite://"))
    assert db.head_revision() == ScriptDirectory.from_config(alembic_config).get_current_head()
