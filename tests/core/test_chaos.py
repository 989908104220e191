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
from socialcare import cases, db
from socialcare.cases import QueueFilter
from socialcare.errors import UserError
from tests.connectors.x.fake import FakeX

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
    fake = FakeX(limits={k: 1_000_000 for k in ("mentions", "timeline", "tweets", "search")}).start()
    try:
        config = _config(tmp_path, fake)
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "SOCIALCARE_BRAND_X_CONSUMER_KEY": fake.credentials.consumer_key,
            "SOCIALCARE_BRAND_X_CONSUMER_SECRET": fake.credentials.consumer_secret,
            "SOCIALCARE_BRAND_X_ACCESS_TOKEN": fake.credentials.access_token,
            "SOCIALCARE_BRAND_X_ACCESS_TOKEN_SECRET": fake.credentials.access_token_secret,
        }
        cli = [sys.executable, "-m", "socialcare", "--config", str(config)]
        assert subprocess.run([*cli, "init"], capture_output=True, env=env, timeout=120).returncode == 0
        engine = db.make_engine(f"sqlite:///{tmp_path / 'care.db'}")
        sandbox = SandboxConnector("sandbox", SandboxSettings(path=tmp_path / "sandbox.json"), {})
        posted_x: list[str] = []
        log = (tmp_path / "daemons.log").open("w")
        started = time.monotonic()
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
            _approve_drafts(engine)
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
            while time.monotonic() < deadline and not _all_answered(tmp_path, SANDBOX_POSTS + X_MENTIONS):
                _approve_drafts(engine)
                time.sleep(0.5)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
            log.close()
        took = time.monotonic() - started
        counts = _counts(tmp_path)
        assert _all_answered(tmp_path, SANDBOX_POSTS + X_MENTIONS), (seed, counts)
        customers = [p for p in sandbox.posts() if p["author"] != "acme"]
        ours = Counter(p["reply_to"] for p in sandbox.posts() if p["author"] == "acme")
        assert len(customers) == SANDBOX_POSTS and {ours[p["id"]] for p in customers} == {1}, (seed, ours)
        assert sum(ours.values()) == SANDBOX_POSTS, seed
        assert Counter(len(fake.replies_to(t)) for t in posted_x) == {1: X_MENTIONS}, seed
        assert counts["inbound"] == counts["distinct_inbound"] == SANDBOX_POSTS + X_MENTIONS, (seed, counts)
        assert counts["integrity"] == "ok"
        assert took < 300, f"took {took:.0f} s (seed {seed})"
        engine.dispose()
    finally:
        fake.stop()


def _wait_running(log: Path, starts: int, daemon: subprocess.Popen[bytes]) -> None:
    """Until the daemon holds the store (its start-up is done), so a second one meets its lock."""
    deadline = time.monotonic() + 60
    while log.read_text().count("daemon running") < starts and time.monotonic() < deadline:
        assert daemon.poll() is None, log.read_text()[-3000:]
        time.sleep(0.1)


def _approve_drafts(engine) -> None:  # type: ignore[no-untyped-def]
    with db.read_scope(engine) as session:
        ids = [r["id"] for r in cases.queue(session, QueueFilter()) if r["reply_status"] == "draft"]
    for case_id in ids:
        try:
            with db.session_scope(engine) as session:
                cases.approve(session, case_id, "tester", None)
        except UserError:
            continue


def _counts(folder: Path) -> dict[str, object]:
    with closing(sqlite3.connect(folder / "care.db", timeout=30)) as store:
        one = lambda sql: store.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "inbound": one("SELECT count(*) FROM message WHERE direction = 'inbound'"),
            "distinct_inbound": one(
                "SELECT count(*) FROM (SELECT DISTINCT platform, external_id FROM message WHERE direction = 'inbound')"
            ),
            "unanswered": one("SELECT count(*) FROM message WHERE direction = 'inbound' AND answered_at IS NULL"),
            "unsent": one("SELECT count(*) FROM reply WHERE status IN ('draft', 'approved', 'sending')"),
            "failed": one("SELECT count(*) FROM reply WHERE status = 'failed'"),
            "integrity": one("PRAGMA integrity_check"),
        }


def _all_answered(folder: Path, expected: int) -> bool:
    counts = _counts(folder)
    return counts["inbound"] == expected and counts["unanswered"] == counts["unsent"] == 0
