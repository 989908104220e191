"""Engine, sessions and migrations. SQLite (WAL) by default; any SQLAlchemy URL works."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.engine import Engine
from sqlmodel import Session

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig


class DatabaseError(Exception):
    """The store cannot be used as it is; the message says what to do."""


def make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            sa.event.listen(engine, "begin", _sqlite_begin)
            return engine
        return sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as err:
        raise DatabaseError(f"cannot use database_url {redact_url(url)}: {err}") from None


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see _sqlite_begin
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL's own recommendation: safe from corruption, no fsync per commit
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    """Writers take SQLite's write lock when they begin, not at their first write.

    A deferred transaction that reads and then writes fails at once with "database is locked" if
    another process wrote in between (WAL cannot upgrade a stale snapshot), whatever the busy
    timeout; ``BEGIN IMMEDIATE`` waits for the lock instead. Read-only work (:func:`read_scope`)
    begins deferred and never blocks writers.
    """
    mode = "DEFERRED" if connection.get_execution_options().get("socialcare_read_only") else "IMMEDIATE"
    connection.exec_driver_sql(f"BEGIN {mode}")


_CONFLICT_CODES = {"40001", "40P01"}  # PostgreSQL: serialization failure, deadlock detected


def is_conflict(err: BaseException) -> bool:
    """Two writers met on the same rows; the loser's transaction was rolled back and is worth running again."""
    if isinstance(err, sa.orm.exc.StaleDataError | sa.exc.IntegrityError):
        return True
    return isinstance(err, sa.exc.OperationalError) and getattr(err.orig, "pgcode", None) in _CONFLICT_CODES


def redact_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable URL>"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work that only reads: on SQLite it takes no write lock, so listings never wait for writers."""
    with Session(engine.execution_options(socialcare_read_only=True), expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


def _alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("socialcare") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision; returns it."""
    from alembic import command

    try:
        command.upgrade(_alembic_config(engine), "head")
    except sa.exc.OperationalError as err:
        raise DatabaseError(f"cannot reach the database {redact_url(str(engine.url))}: {err.orig}") from None
    return current_revision(engine) or ""


_REVISION = re.compile(r'^(revision|down_revision)\s*=\s*"([^"]+)"', re.MULTILINE)


def head_revision() -> str:
    """The newest migration, read from the files: importing Alembic costs every command a quarter second."""
    revisions, parents = set(), set()
    for path in (resources.files("socialcare") / "migrations" / "versions").iterdir():
        if path.name.endswith(".py"):
            found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
            if "revision" in found:
                revisions.add(found["revision"])
                parents.add(found.get("down_revision"))
    heads = sorted(revisions - parents)
    return heads[0] if len(heads) == 1 else ""


def current_revision(engine: Engine) -> str | None:
    """The store's schema revision, as Alembic records it; None before the first migration."""
    with engine.execution_options(socialcare_read_only=True).connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def check_schema(engine: Engine) -> None:
    """Refuse to work on a store that is not migrated to this version's schema."""
    try:
        current = current_revision(engine)
    except sa.exc.OperationalError as err:
        raise DatabaseError(f"cannot reach the database {redact_url(str(engine.url))}: {err.orig}") from None
    if current != head_revision():
        raise DatabaseError(
            f"the database is at schema {current or 'none'}, this version needs {head_revision()}: "
            "run `socialcare db upgrade`"
        )
