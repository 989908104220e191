"""One scheduler process running every job built from config (no persisted job store).

Each account is polled by its own job on its own interval; classification, triage and drafting
follow each poll; approved replies go out on the send interval; deadlines are watched. A failing
account is logged once when it starts failing and once when it recovers, not every cycle.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from socialcare.app import App
from socialcare.models import utcnow

log = logging.getLogger("socialcare.daemon")


class Daemon:
    def __init__(self, app: App) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._failing: dict[str, str] = {}
        self._scheduler: BlockingScheduler | None = None
        self._stopping = False

    def start(self) -> None:
        """Prepare the store and the channels; anything misconfigured fails here, before any job."""
        self.app.check_store()
        self.app.sync_accounts()
        self.app.clear_auth_failures()
        _ = self.app.classifier, self.app.drafter, self.app.channels
        log.info("channels: %s", ", ".join(f"{n} ({c.platform})" for n, c in self.app.channels.items()) or "none")

    def poll_job(self, name: str) -> None:
        outcome = self.app.poll(name)
        if outcome.skipped:
            log.debug("%s: skipped, %s", name, outcome.skipped)
            return
        if outcome.error:
            if self._failing.get(name) != outcome.error:
                log.warning("%s: polling failed: %s", name, outcome.error)
            self._failing[name] = outcome.error
            return
        if self._failing.pop(name, None) is not None:
            log.info("%s: polling works again", name)
        log.info("%s: fetched %d, new %d, ours %d", name, outcome.fetched, outcome.new, outcome.outbound)
        if outcome.new:
            self.process_job()

    def process_job(self) -> None:
        with self._lock:
            outcome = self.app.process()
        if outcome.classified or outcome.cases:
            log.info("classified %d, cases updated %d", outcome.classified, outcome.cases)

    def send_job(self) -> None:
        with self._lock:
            result = self.app.send()
        if result.sent or result.failed or result.deferred or result.recovered:
            log.info(
                "sent %d, failed %d, deferred %d, recovered %d",
                result.sent,
                result.failed,
                result.deferred,
                result.recovered,
            )

    def watch_job(self) -> None:
        for case in self.app.overdue():
            log.warning("case %s is past its deadline (due %s UTC)", case.id, f"{case.due_at:%Y-%m-%d %H:%M}")

    def run_once(self) -> None:
        for name in self.app.channels:
            self.poll_job(name)
        self.process_job()
        self.send_job()
        self.watch_job()

    def run(self) -> None:
        scheduler = BlockingScheduler(
            timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
        )
        for name, account in self.app.config.accounts.items():
            if name in self.app.channels:
                scheduler.add_job(
                    self.poll_job,
                    IntervalTrigger(seconds=account.poll_interval.total_seconds(), timezone="UTC"),
                    args=[name],
                    id=f"poll:{name}",
                    next_run_time=utcnow(),
                )
        daemon = self.app.config.daemon
        scheduler.add_job(
            self.process_job, IntervalTrigger(seconds=daemon.watch_interval.total_seconds()), id="process"
        )
        scheduler.add_job(self.send_job, IntervalTrigger(seconds=daemon.send_interval.total_seconds()), id="send")
        scheduler.add_job(self.watch_job, IntervalTrigger(seconds=daemon.watch_interval.total_seconds()), id="watch")
        self._scheduler = scheduler
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        log.info("daemon running; stop with Ctrl-C or SIGTERM")
        scheduler.start()
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
