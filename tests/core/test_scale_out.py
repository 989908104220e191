"""Several daemons on one PostgreSQL share the work: every message stored once, every reply posted exactly
once, every account polled, and a daemon killed mid-run leaves nothing behind once its leases run out."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.sandbox import SandboxConnector, SandboxSettings
from socialcare import db
from tests.conftest import postgres_database
from tests.connectors.x.fake import FakeX
from tests.core.working_team import all_answered, approve_drafts, counts, unlimited_x, x_environment

DAEMONS = 3
SANDBOX_POSTS = 1200
X_MENTIONS = 600
LEASE = 10
POLL = 1


def _config(folder: Path, url: str, fake: FakeX) -> Path:
    config = folder / "socialcare.toml"
    config.write_text(
        f"""\
database_url = {json.dumps(url)}
timezone = "UTC"

[daemon]
lease = "{LEASE}s"
watch_interval = "5s"

[accounts.sandbox]
platform = "sandbox"
poll_interval = "{POLL}s"
path = "sandbox.json"
page_size = 200

[accounts.brand_x]
platform = "x"
poll_interval = "{POLL}s"
api_url = {json.dumps(fake.url)}
timeout = 5
""",
        encoding="utf-8",
    )
    return config


class Watch:
    """Samples each account's last poll time, to find the longest stretch an account went unpolled."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.seen: dict[str, list[tuple[float, datetime | None]]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.25):
            with self.engine.connect() as connection:
                for name, polled in connection.execute(sa.text("SELECT name, last_poll_at FROM account")):
                    history = self.seen.setdefault(name, [])
                    if not history or history[-1][1] != polled:
                        history.append((time.monotonic(), polled))

    def longest_gap(self, name: str) -> float:
        times = [t for t, _ in self.seen.get(name, [])]
        return max((b - a for a, b in zip(times, times[1:], strict=False)), default=float("inf"))


@pytest.mark.postgres
@pytest.mark.slow
def test_three_daemons_on_one_postgres_share_the_work_and_survive_a_kill(tmp_path: Path) -> None:
    rng = random.Random(20261201)
    fake = unlimited_x()
    with postgres_database() as url:
        config = _config(tmp_path, url, fake)
        env = x_environment(fake)
        cli = [sys.executable, "-m", "socialcare", "--config", str(config)]
        assert subprocess.run([*cli, "init"], capture_output=True, env=env, timeout=120).returncode == 0
        engine = db.make_engine(url)
        sandbox = SandboxConnector("sandbox", SandboxSettings(path=tmp_path / "sandbox.json"), {})
        logs = [tmp_path / f"daemon{n}.log" for n in range(DAEMONS)]
        daemons = [
            subprocess.Popen([*cli, "daemon"], stdout=log.open("w"), stderr=subprocess.STDOUT, env=env) for log in logs
        ]
        watch = Watch(engine)
        try:
            _wait(lambda: all("daemon running" in log.read_text() for log in logs), 120, "every daemon started")
            watch.thread.start()
            posted_x: list[str] = []
            kill_at = rng.uniform(4, 10)
            started, killed = time.monotonic(), False
            for burst in range(12):
                for n in range(SANDBOX_POSTS // 12):
                    sandbox.post(f"s{burst}_{n}", f"burst {burst}: my order {n} is late, where is it?")
                for n in range(X_MENTIONS // 12):
                    posted_x.append(fake.mention(f"order {burst}-{n} never came", username=f"x{burst}_{n}")["id"])
                approve_drafts(engine)
                if not killed and time.monotonic() - started > kill_at:
                    daemons[1].send_signal(signal.SIGKILL)  # mid-run: polls, triage and sends in hand
                    killed = True
                time.sleep(0.5)
            if not killed:
                daemons[1].send_signal(signal.SIGKILL)
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                approve_drafts(engine)
                if all_answered(engine, SANDBOX_POSTS + X_MENTIONS):
                    break
                time.sleep(0.5)
            took = time.monotonic() - started
        finally:
            watch.stop.set()
            for daemon in daemons:
                if daemon.poll() is None:
                    daemon.send_signal(signal.SIGTERM)
            for daemon in daemons:
                try:
                    daemon.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    daemon.kill()
        now = counts(engine)
        assert all_answered(engine, SANDBOX_POSTS + X_MENTIONS), (now, took)
        assert took < 180, f"took {took:.0f} s"

        customers = [p for p in sandbox.posts() if p["author"] != "acme"]
        ours = Counter(p["reply_to"] for p in sandbox.posts() if p["author"] == "acme")
        assert len(customers) == SANDBOX_POSTS and all(ours[p["id"]] == 1 for p in customers), "one reply each"
        assert sum(ours.values()) == SANDBOX_POSTS
        x_replies = {tweet_id: len(fake.replies_to(tweet_id)) for tweet_id in posted_x}
        assert set(x_replies.values()) == {1}, Counter(x_replies.values())
        assert now["inbound"] == now["distinct_inbound"] == SANDBOX_POSTS + X_MENTIONS
        assert now["sent"] == SANDBOX_POSTS + X_MENTIONS and now["unsent"] == 0
        for name in ("sandbox", "brand_x"):
            assert watch.longest_gap(name) < LEASE + POLL + 10, (name, watch.longest_gap(name))
        for n, log in enumerate(logs):
            if n != 1:
                assert "Traceback" not in log.read_text(), log.read_text()[-4000:]
        engine.dispose()
    fake.stop()


def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting until {what}")
