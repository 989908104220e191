"""The daemon against a platform that fails a fifth of its requests (5xx, 429 with reset, answers slower than
the timeout, resets before and after the work, truncated JSON, a repeated page) and serves a poison item:
everything arrives once, every reply is posted once, the poison is held, the daemon never stops, and each
failure is logged once per episode with the account's name."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.sandbox import SandboxConnector, SandboxSettings
from socialcare import db
from socialcare.models import utcnow
from tests.core.working_team import all_answered, approve_drafts, counts, unlimited_x, x_environment

MENTIONS = 150
POSTS = 60
FAULTS = ("5xx", "429", "slow", "reset_before", "reset_after", "truncated", "repeat")


@pytest.mark.slow
def test_the_daemon_rides_out_a_faulty_platform_and_a_poison_item(tmp_path: Path) -> None:
    # The fake's clock runs 55 s behind, so X's 60-second rate-limit resets come 5 s from now.
    fake = unlimited_x(clock=lambda: utcnow() - timedelta(seconds=55))
    try:
        config = tmp_path / "socialcare.toml"
        config.write_text(
            f"""\
database_url = "sqlite:///care.db"
[daemon]
lease = "5s"
[accounts.sandbox]
platform = "sandbox"
poll_interval = "1s"
path = "sandbox.json"
[accounts.brand_x]
platform = "x"
poll_interval = "1s"
api_url = {json.dumps(fake.url)}
timeout = 1
""",
            encoding="utf-8",
        )
        env = x_environment(fake)
        cli = [sys.executable, "-m", "socialcare", "--config", str(config)]
        assert subprocess.run([*cli, "init"], capture_output=True, env=env, timeout=120).returncode == 0
        sandbox = SandboxConnector("sandbox", SandboxSettings(path=tmp_path / "sandbox.json"), {})
        engine = db.make_engine(f"sqlite:///{tmp_path / 'care.db'}")
        log = tmp_path / "daemon.log"
        with log.open("w") as sink:
            daemon = subprocess.Popen([*cli, "daemon"], stdout=sink, stderr=subprocess.STDOUT, env=env)
            try:
                _first_poll_done(tmp_path, daemon)  # a first poll reads one page by design; the rest is what counts
                mentions = [fake.mention(f"order {n} never came", username=f"c{n}")["id"] for n in range(MENTIONS // 2)]
                fake.mention("my order \ud800 never came", username="poison")
                for n in range(POSTS // 2):
                    sandbox.post(f"s{n}", f"parcel {n} is late")
                sandbox.post("poison", "broken \udfff text")
                fake.api.faults(rate=0.2, seed=11, kinds=FAULTS, delay=1.5)
                time.sleep(3)
                mentions += [fake.mention(f"late {n}", username=f"d{n}")["id"] for n in range(MENTIONS // 2)]
                for n in range(POSTS // 2):
                    sandbox.post(f"t{n}", f"parcel {n} arrived broken")
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline and not all_answered(engine, MENTIONS + POSTS):
                    assert daemon.poll() is None, log.read_text()[-3000:]
                    approve_drafts(engine)
                    time.sleep(0.5)
                assert daemon.poll() is None, "the daemon never stops"
            finally:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(timeout=60)
        fake.api.faults(rate=0)
        text = log.read_text()
        now = counts(engine)
        assert all_answered(engine, MENTIONS + POSTS), now
        injected = Counter(kind for kind, _, _ in fake.api.injected)
        assert set(injected) == set(FAULTS), injected
        assert Counter(len(fake.replies_to(m)) for m in mentions) == {1: MENTIONS}
        ours = Counter(p["reply_to"] for p in sandbox.posts() if p["author"] == "acme")
        assert sum(ours.values()) == POSTS and set(ours.values()) == {1}
        assert now["quarantined"] == 2 and now["inbound"] == now["distinct_inbound"] == MENTIONS + POSTS
        assert "Traceback" not in text
        _logged_once_per_episode(text, "brand_x")
        engine.dispose()
    finally:
        fake.stop()


def _logged_once_per_episode(text: str, account: str) -> None:
    """Between two "failing" lines of one kind there is always the recovery line."""
    lines = [line for line in text.splitlines() if f"{account}: " in line and "socialcare.coordinator" in line]
    assert lines, "the faults were logged"
    open_kind = None
    for line in lines:
        failing = re.search(rf"{account}: (?:polling failing \((\w+)\)|(rate limited) until)", line)
        if failing:
            kind = failing.group(1) or failing.group(2)
            assert kind != open_kind, f"logged twice in one episode: {line}"
            open_kind = kind
        elif "works again" in line or "rate limit over" in line:
            open_kind = None


def _first_poll_done(folder: Path, daemon: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert daemon.poll() is None
        with closing(sqlite3.connect(folder / "care.db", timeout=30)) as store:
            if store.execute("SELECT count(*) FROM account WHERE last_success_at IS NOT NULL").fetchone()[0] == 2:
                return
        time.sleep(0.2)
    pytest.fail("the daemon never polled both accounts")
