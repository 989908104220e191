"""Chaos on one SQLite file: the daemon SIGKILLed at 30+ seeded moments and restarted, `send` killed too, two
`send`s racing, a second daemon refused; through it all every message is stored once and every reply is posted
exactly once, and the store passes SQLite's integrity check.

Replay a failure with the seed it prints: ``SOCIALCARE_CHAOS_SEED=<seed> pytest tests/core/test_chaos.py``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from connectors.sandbox import SandboxConnector, SandboxSettings
from socialcare import db
from tests.connectors.x.fake import FakeX
from tests.core.working_team import all_answered, approve_drafts, counts, unlimited_x, x_environment

KILLS = 30
SANDBOX_POSTS = 600
X_MENTIONS = 300


def _config(folder: Path, fake: FakeX) -> Path:
    config = folder / "socialcare.toml"
    config.write_text(
        f"""\
database_url = "sqlite:///care.db"
timezone = "UTC"

[daemon]
lease = "3s"
watch_interval = "2s"

[accounts.sandbox]
platform = "sandbox"
poll_interval = "1s"
path = "sandbox.json"
page_size = 100

[accounts.brand_x]
platform = "x"
poll_interval = "1s"
api_url = {json.dumps(fake.url)}
timeout = 5
""",
        encoding="utf-8",
    )
    return config


@pytest.mark.slow
def test_kills_races_and_restarts_lose_nothing_and_double_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("SOCIALCARE_CHAOS_SEED", "20261201"))
    rng = random.Random(seed)
    fake = unlimited_x()
    try:
        config = _config(tmp_path, fake)
        env = x_environment(fake)
        cli = [sys.executable, "-m", "socialcare", "--config", str(config)]
        assert subprocess.run([*cli, "init"], capture_output=True, env=env, timeout=120).returncode == 0
        engine = db.make_engine(f"sqlite:///{tmp_path / 'care.db'}")
        sandbox = SandboxConnector("sandbox", SandboxSettings(path=tmp_path / "sandbox.json"), {})
        posted_x: list[str] = []
        log = (tmp_path / "daemons.log").open("w")
        for kill in range(KILLS):
            for n in range(SANDBOX_POSTS // KILLS):
                sandbox.post(f"s{kill}_{n}", f"round {kill}: parcel {n} is late")
            for n in range(X_MENTIONS // KILLS):
                posted_x.append(fake.mention(f"order {kill}-{n} never came", username=f"x{kill}_{n}")["id"])
            daemon = subprocess.Popen([*cli, "daemon"], stdout=log, stderr=subprocess.STDOUT, env=env)
            if kill % 10 == 3:
                _wait_running(tmp_path / "daemons.log", kill + 1, daemon)
                second = subprocess.run([*cli, "daemon"], capture_output=True, text=True, env=env, timeout=120)
                assert second.returncode == 1 and "SQLite allows one daemon per store" in second.stderr, (seed, second)
            time.sleep(rng.uniform(1.0, 2.5))
            approve_drafts(engine)
            if kill % 5 == 1:  # `send` beside the daemon, killed half-way
                sender = subprocess.Popen([*cli, "send"], stdout=subprocess.DEVNULL, stderr=log, env=env)
                time.sleep(rng.uniform(0.5, 2.5))
                sender.send_signal(signal.SIGKILL)
                sender.wait()
            time.sleep(rng.uniform(0.0, 1.0))
            daemon.send_signal(signal.SIGKILL)
            daemon.wait()
            if kill % 5 == 2:  # two `send`s racing on the same replies, no daemon running
                racers = [subprocess.Popen([*cli, "send"], stdout=subprocess.PIPE, stderr=log, env=env) for _ in "ab"]
                for racer in racers:
                    racer.wait(timeout=300)
        daemon = subprocess.Popen([*cli, "daemon"], stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline and not all_answered(engine, SANDBOX_POSTS + X_MENTIONS):
                approve_drafts(engine)
                time.sleep(0.5)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
            log.close()
        now = counts(engine)
        assert all_answered(engine, SANDBOX_POSTS + X_MENTIONS), (seed, now)
        customers = [p for p in sandbox.posts() if p["author"] != "acme"]
        ours = Counter(p["reply_to"] for p in sandbox.posts() if p["author"] == "acme")
        assert len(customers) == SANDBOX_POSTS and {ours[p["id"]] for p in customers} == {1}, (seed, ours)
        assert sum(ours.values()) == SANDBOX_POSTS, seed
        assert Counter(len(fake.replies_to(t)) for t in posted_x) == {1: X_MENTIONS}, seed
        assert now["inbound"] == now["distinct_inbound"] == SANDBOX_POSTS + X_MENTIONS, (seed, now)
        with closing(sqlite3.connect(tmp_path / "care.db", timeout=30)) as store:
            assert store.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        engine.dispose()
    finally:
        fake.stop()


def _wait_running(log: Path, starts: int, daemon: subprocess.Popen[bytes]) -> None:
    """Until the daemon holds the store (its start-up is done), so a second one meets its lock."""
    deadline = time.monotonic() + 60
    while log.read_text().count("daemon running") < starts and time.monotonic() < deadline:
        assert daemon.poll() is None, log.read_text()[-3000:]
        time.sleep(0.1)
