"""Durable timed work: one row per piece of work, claimed by exactly one worker, taken over when a lease runs out."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from socialcare import db, work
from socialcare.db import session_scope
from socialcare.models import WorkItem

T0 = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


def items(engine) -> list[WorkItem]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return list(session.exec(select(WorkItem).order_by(WorkItem.id)))


def test_scheduling_the_same_work_twice_keeps_one_item(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        work.schedule(session, "poll", "x", T0 + timedelta(minutes=5))
        work.schedule(session, "poll", "x", T0 + timedelta(minutes=1))
        work.nudge(session, "poll", "x", T0 + timedelta(minutes=3))  # later than what is asked already: kept
        work.ensure(session, "poll", "x", T0 + timedelta(hours=1))  # exists: untouched
        work.ensure(session, "poll", "y", T0 + timedelta(hours=1))
    (x, y) = items(engine)
    assert (x.kind, x.key, x.due_at) == ("poll", "x", T0 + timedelta(minutes=1))
    assert (y.key, y.due_at) == ("y", T0 + timedelta(hours=1))
    with session_scope(engine) as session:
        work.nudge(session, "poll", "x", T0)
    assert items(engine)[0].due_at == T0


def test_only_due_items_of_the_asked_kinds_are_claimed_soonest_first(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        work.schedule(session, "send", "2", T0 - timedelta(seconds=10))
        work.schedule(session, "send", "1", T0 - timedelta(seconds=20))
        work.schedule(session, "send", "3", T0 + timedelta(seconds=10))
        work.schedule(session, "poll", "a", T0 - timedelta(seconds=30))
    claims = work.claim(engine, "w1", {"send"}, T0, limit=5)
    assert [c.key for c in claims] == ["1", "2"]
    assert work.claim(engine, "w2", {"send"}, T0, limit=5) == [], "leased items are not claimed again"


def test_a_lease_that_runs_out_lets_another_worker_take_the_item(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        work.schedule(session, "send", "7", T0)
    (mine,) = work.claim(engine, "dead-worker", {"send"}, T0, lease=timedelta(seconds=60))
    assert work.claim(engine, "w2", {"send"}, T0 + timedelta(seconds=59)) == []
    (theirs,) = work.claim(engine, "w2", {"send"}, T0 + timedelta(seconds=61))
    assert theirs.id == mine.id and theirs.attempts == 2
    assert work.renew(engine, "dead-worker", [mine.id], T0 + timedelta(seconds=62)) == set(), "a lost lease stays lost"
    with session_scope(engine) as session:
        assert work.release(session, mine, due_at=None) is False, "the old holder cannot finish it"
    assert work.renew(engine, "w2", [theirs.id], T0 + timedelta(seconds=62)) == {theirs.id}
    with session_scope(engine) as session:
        assert work.release(session, theirs, due_at=None) is True
    assert items(engine) == []


def test_finishing_a_run_never_erases_work_asked_for_while_it_ran(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        work.schedule(session, "process", "all", T0)
    (running,) = work.claim(engine, "w1", {"process"}, T0)
    with session_scope(engine) as session:
        work.nudge(session, "process", "all", T0 + timedelta(seconds=1))  # new messages came in meanwhile
    with session_scope(engine) as session:
        work.release(session, running, due_at=None)
    (kept,) = items(engine)
    assert kept.due_at == T0 + timedelta(seconds=1) and kept.lease_holder is None
    (again,) = work.claim(engine, "w1", {"process"}, T0 + timedelta(seconds=2))
    with session_scope(engine) as session:
        work.release(session, again, due_at=T0 + timedelta(minutes=1), error="boom")
    (retry,) = items(engine)
    assert (retry.due_at, retry.last_error, retry.attempts) == (T0 + timedelta(minutes=1), "boom", 1)


def test_a_clean_stop_lets_go_of_every_lease(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        for key in "abc":
            work.schedule(session, "poll", key, T0)
    work.claim(engine, "w1", {"poll"}, T0, limit=3)
    assert work.let_go(engine, "w1") == 3
    assert len(work.claim(engine, "w2", {"poll"}, T0, limit=3)) == 3


def test_concurrent_workers_run_every_item_exactly_once(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        for n in range(300):
            work.schedule(session, "send", str(n), T0)
    done: Counter[str] = Counter()
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            while claims := work.claim(engine, name, {"send"}, T0, limit=3):
                for claim in claims:
                    with lock:
                        done[claim.key] += 1
                    with session_scope(engine) as session:
                        work.release(session, claim, due_at=None)
        except BaseException as err:  # surfaced below, on the test's thread
            failures.append(err)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert sorted(done) == sorted(str(n) for n in range(300)) and set(done.values()) == {1}
    assert items(engine) == []
