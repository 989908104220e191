"""Engine, sessions and migrations. SQLite (WAL) by default; any SQLAlchemy URL works."""

from __future__ import annotations

import functools
import os
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


LOCK_TIMEOUT = 30.0
"""Seconds a SQLite writer waits for another's write lock before giving up (``lock_timeout`` in config)."""


def make_engine(url: str, lock_timeout: float = LOCK_TIMEOUT) -> Engine:
    try:
        if url.startswith("sqlite"):
            engine = sa.create_engine(url, connect_args={"timeout": lock_timeout, "check_same_thread": False})
            sa.event.listen(engine, "connect", functools.partial(_sqlite_pragmas, lock_timeout))
            sa.event.listen(engine, "begin", _sqlite_begin)
            return engine
        return sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as err:
        raise DatabaseError(f"cannot use database_url {redact_url(url)}: {err}") from None


def _sqlite_pragmas(lock_timeout: float, dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see _sqlite_begin
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL's own recommendation: safe from corruption, no fsync per commit
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
    cursor.close()


def explain(err: BaseException, url: str) -> str | None:
    """What the store's own error means for the person at the keyboard, in one line; None if it is not one
    of the environment's usual mistakes (read-only, locked, not a database, cannot be opened)."""
    if not isinstance(err, sa.exc.DBAPIError):
        return None
    where, said = redact_url(url), str(err.orig).lower()
    if "readonly" in said or "read-only" in said:
        return f"the database {where} is read-only here; socialcare writes to it on every command (check permissions)"
    if "database is locked" in said or "database table is locked" in said:
        return (
            f"the database {where} stayed locked by another writer for longer than lock_timeout "
            "(a stuck process? a backup?); try again"
        )
    if "not a database" in said or "malformed" in said:
        return f"database_url points at {where}, which is not a socialcare database (not SQLite, or damaged)"
    if "unable to open database file" in said:
        return f"cannot open the database {where}: its folder is missing or not writable"
    return None


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
    """Refuse to work on a store that is not migrated to this version's schema.

    A SQLite file that does not exist is not created here: a command that fails for want of a schema
    must not leave an empty database behind.
    """
    path = sqlite_file(engine)
    if path is not None and not os.path.exists(path):
        raise DatabaseError(f"no database at {path}: run `socialcare init` (or `socialcare db upgrade`)")
    try:
        current = current_revision(engine)
    except sa.exc.OperationalError as err:
        raise DatabaseError(f"cannot reach the database {redact_url(str(engine.url))}: {err.orig}") from None
    if current != head_revision():
        raise DatabaseError(
            f"the database is at schema {current or 'none'}, this version needs {head_revision()}: "
            "run `socialcare db upgrade`"
        )


def sqlite_file(engine: Engine) -> str | None:
    """The SQLite database's file, or None for another database or an in-memory one."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:"):
        return url.database[len("file:") :].split("?", 1)[0]
    return url.database


def check_writable(engine: Engine) -> None:
    """A write that is rolled back: `doctor` says "ok database" only for a store that takes writes."""
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = version_num"))
            raise _RolledBack
    except _RolledBack:
        return
    except sa.exc.DBAPIError as err:
        raise DatabaseError(explain(err, str(engine.url)) or f"cannot write to the database: {err.orig}") from None


class _RolledBack(Exception):
    """Ends the probe's transaction without committing it."""
