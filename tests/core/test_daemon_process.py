"""The daemon as a process: it works on its own schedule and stops cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import cast

import pytest
from apscheduler.schedulers.blocking import BlockingScheduler

from socialcare.app import App
from socialcare.daemon import Daemon
from tests.conftest import SANDBOX_CONFIG


@pytest.mark.slow
def test_the_daemon_polls_on_schedule_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "config" / "socialcare.toml"
    config.parent.mkdir()
    config.write_text(
        SANDBOX_CONFIG.format(database_url="sqlite:///socialcare.db").replace(
            'poll_interval = "10s"', 'poll_interval = "1s"'
        ),
        encoding="utf-8",
    )
    cli = [sys.executable, "-m", "socialcare", "--config", str(config)]
    assert subprocess.run([*cli, "init"], capture_output=True, timeout=120).returncode == 0
    log = tmp_path / "daemon.log"
    with open(log, "w") as sink:
        daemon = subprocess.Popen(
            [*cli, "daemon"], stderr=sink, stdout=sink, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        try:
            _wait_for(log, "daemon running", daemon)
            post = subprocess.run(
                [*cli, "sandbox", "post", "--author", "ann", "--text", "Where is my parcel?"],
                capture_output=True,
                text=True,
            )
            assert post.returncode == 0
            _wait_for(log, "sandbox: fetched 1, new 1", daemon)
            _wait_for(log, "classified 1, cases updated 1", daemon)
            queue = json.loads(subprocess.run([*cli, "queue", "--json"], capture_output=True, text=True).stdout)
            assert [row["message"] for row in queue] == ["Where is my parcel?"]
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=30) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()
    text = log.read_text()
    assert "SIGTERM received" in text and text.rstrip().endswith("daemon stopped")
    assert "Traceback" not in text


def test_a_second_signal_while_stopping_is_no_error(caplog: pytest.LogCaptureFixture) -> None:
    """A second Ctrl-C, or `timeout` signalling the daemon and then its group, must not raise in a thread."""
    errors: list[threading.ExceptHookArgs] = []
    previous, threading.excepthook = threading.excepthook, errors.append
    try:
        worker = Daemon(cast(App, None))
        scheduler = worker._scheduler = BlockingScheduler()
        running = threading.Thread(target=scheduler.start, daemon=True)
        running.start()
        deadline = time.monotonic() + 10
        while not scheduler.running and time.monotonic() < deadline:
            time.sleep(0.01)
        caplog.set_level(logging.INFO, "socialcare.daemon")
        worker._stop(signal.SIGTERM, None)
        worker._stop(signal.SIGTERM, None)
        running.join(timeout=10)
        for thread in threading.enumerate():
            if thread.name.endswith("(shutdown)"):
                thread.join(timeout=10)
    finally:
        threading.excepthook = previous
    assert not running.is_alive()
    assert errors == []
    assert [r.getMessage() for r in caplog.records] == [
        "SIGTERM received: finishing the job in hand",
        "SIGTERM received again: still finishing the job in hand",
    ]


def _wait_for(log: Path, needle: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text():
            return
        if process.poll() is not None:
            pytest.fail(f"the daemon exited early:\n{log.read_text()}")
        time.sleep(0.2)
    pytest.fail(f"{needle!r} never appeared:\n{log.read_text()}")
