"""The daemon: workers over the store's timed work, woken every second by APScheduler.

What to do and when lives in the work table (``socialcare.work``), not in this process: each
account's next poll, each approved reply, each case's deadline. Three lanes run side by side —
polling, sending, and care (classify, triage, deadlines) — each claiming due items with a lease,
so a newly due item is picked up within a second or two and several daemons on one PostgreSQL
share the work without doing any of it twice. On SQLite one daemon runs per store: a second one
is refused at start.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import IO

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import make_url

from socialcare import work
from socialcare.app import App
from socialcare.db import DatabaseError, session_scope
from socialcare.worker import CARE_LANE, POLL_LANE, SEND_LANE, Worker, reconcile

log = logging.getLogger("socialcare.daemon")
TICK_SECONDS = 1.0
LANES = {"poll": POLL_LANE, "send": SEND_LANE, "care": CARE_LANE}


class Daemon:
    def __init__(self, app: App) -> None:
        self.app = app
        lease = app.config.daemon.lease if app is not None else work.LEASE
        self.worker = Worker(app, work.worker_id("daemon"), lease)
        self._scheduler: BlockingScheduler | None = None
        self._stopping = False
        self._guard: IO[str] | None = None

    def start(self) -> None:
        """Prepare the store and the channels; anything misconfigured fails here, before any work."""
        self.app.check_store()
        self._guard = single_daemon_guard(self.app.engine.url.render_as_string(hide_password=False))
        self.app.sync_accounts()
        _ = self.app.classifier, self.app.drafter, self.app.channels
        reconcile(self.app)
        log.info("channels: %s", ", ".join(f"{n} ({c.platform})" for n, c in self.app.channels.items()) or "none")
        log.info("worker %s", self.worker.holder)

    def run_once(self) -> None:
        """Every account polled now, then everything that is due, once: for cron and for trying things."""
        with session_scope(self.app.engine) as session:
            for name in self.app.channels:
                work.nudge(session, work.POLL, name)
        for kinds in (POLL_LANE, CARE_LANE, SEND_LANE):
            self.worker.run_due(kinds)
        self._log_sends()

    def lane(self, kinds: frozenset[str]) -> None:
        self.worker.run_due(kinds, stop=lambda: self._stopping)
        if kinds is SEND_LANE:
            self._log_sends()

    def _log_sends(self) -> None:
        result, self.worker.sends = self.worker.sends, type(self.worker.sends)()
        if result.sent or result.failed or result.deferred or result.recovered:
            log.info(
                "sent %d, failed %d, deferred %d, recovered %d",
                result.sent,
                result.failed,
                result.deferred,
                result.recovered,
            )

    def run(self) -> None:
        scheduler = BlockingScheduler(
            timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
        )
        for name, kinds in LANES.items():
            scheduler.add_job(self.lane, IntervalTrigger(seconds=TICK_SECONDS), args=[kinds], id=f"lane:{name}")
        renew_every = self.worker.lease.total_seconds() / 4
        scheduler.add_job(self.worker.renew, IntervalTrigger(seconds=renew_every), id="renew-leases")
        self._scheduler = scheduler
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        log.info("daemon running; stop with Ctrl-C or SIGTERM")
        scheduler.start()
        work.let_go(self.app.engine, self.worker.holder)
        log.info("daemon stopped")

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._stopping:  # a second Ctrl-C, or `timeout` signalling the child and then its group
            log.info("%s received again: still finishing the job in hand", name)
            return
        self._stopping = True
        log.info("%s received: finishing the job in hand", name)
        if self._scheduler is not None:
            threading.Thread(target=self._scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()


def single_daemon_guard(url: str) -> IO[str] | None:
    """On SQLite, hold a lock beside the database file for the daemon's life; a second daemon is refused.

    The operating system drops the lock when the process dies, however it dies, so a crash never
    leaves a stale lock. PostgreSQL needs no guard: there, daemons share the work through leases.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database + ".daemon.lock")
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115  (held open for the daemon's life)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise DatabaseError(
            f"another socialcare daemon ({holder}) already runs on {parsed.database}; SQLite allows one daemon "
            "per store: stop that one, or use PostgreSQL to run several (README, Scaling out)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle
