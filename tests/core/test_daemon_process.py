"""The daemon as a process: it works on its own schedule and stops cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
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


def _team_folder(tmp_path: Path, poll_interval: str = "1s") -> list[str]:
    """A sandbox team on SQLite, initialised; returns the command line to run socialcare on it."""
    config = tmp_path / "config" / "socialcare.toml"
    config.parent.mkdir()
    config.write_text(
        SANDBOX_CONFIG.format(database_url="sqlite:///socialcare.db").replace(
            'poll_interval = "10s"', f'poll_interval = "{poll_interval}"'
        ),
        encoding="utf-8",
    )
    cli = [sys.executable, "-m", "socialcare", "--config", str(config)]
    assert subprocess.run([*cli, "init"], capture_output=True, timeout=120).returncode == 0
    return cli


@contextlib.contextmanager
def _running_daemon(cli: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "w") as sink:
        daemon = subprocess.Popen(
            [*cli, "daemon"], stderr=sink, stdout=sink, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        try:
            _wait_for(log, "daemon running", daemon)
            yield daemon
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()


@pytest.mark.slow
def test_a_second_daemon_on_one_sqlite_file_is_refused_with_one_line(tmp_path: Path) -> None:
    cli = _team_folder(tmp_path)
    with _running_daemon(cli, tmp_path / "daemon.log"):
        second = subprocess.run([*cli, "daemon"], capture_output=True, text=True, timeout=120)
    assert second.returncode == 1
    assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr, second.stderr
    assert second.stderr.startswith("error: another socialcare daemon (pid ")
    assert "SQLite allows one daemon per store" in second.stderr and "PostgreSQL" in second.stderr


@pytest.mark.slow
def test_a_poll_run_beside_the_daemon_loses_nothing_and_prints_no_traceback(tmp_path: Path) -> None:
    cli = _team_folder(tmp_path)
    log = tmp_path / "daemon.log"
    sandbox = _sandbox_of(tmp_path)
    with _running_daemon(cli, log) as daemon:
        polls = []
        for burst in range(3):
            for n in range(100):
                sandbox.post(f"c{burst}x{n}", f"burst {burst} message {n}: where is my order?")
            polls.append(subprocess.Popen([*cli, "poll"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        results = [p.communicate(timeout=300) + (p.returncode,) for p in polls]
        deadline = time.monotonic() + 120
        while _inbound_count(tmp_path) < 300 and time.monotonic() < deadline and daemon.poll() is None:
            time.sleep(0.5)
    for _out, err, code in results:
        assert code == 0 and "Traceback" not in err, err
    assert _inbound_count(tmp_path) == 300
    assert "Traceback" not in log.read_text()


@pytest.mark.slow
def test_an_approved_reply_goes_out_within_seconds_not_at_a_fixed_interval(tmp_path: Path) -> None:
    cli = _team_folder(tmp_path)
    sandbox = _sandbox_of(tmp_path)
    log = tmp_path / "daemon.log"
    with _running_daemon(cli, log) as daemon:
        sandbox.post("ann", "Where is my parcel?")
        _wait_for(log, "classified 1, cases updated 1", daemon)
        queue = json.loads(subprocess.run([*cli, "queue", "--json"], capture_output=True, text=True).stdout)
        assert subprocess.run([*cli, "approve", str(queue[0]["id"])], capture_output=True).returncode == 0
        approved = time.monotonic()
        while not [p for p in sandbox.posts() if p["author"] == "acme"] and time.monotonic() - approved < 30:
            time.sleep(0.1)
        took = time.monotonic() - approved
    assert [p["reply_to"] for p in sandbox.posts() if p["author"] == "acme"] == [1]
    assert took < 10, f"the reply went out {took:.1f} s after approval"


def _sandbox_of(tmp_path: Path):  # type: ignore[no-untyped-def]
    from connectors.sandbox import SandboxConnector, SandboxSettings

    return SandboxConnector("sandbox", SandboxSettings(path=tmp_path / "config" / "sandbox.json"), {})


def _inbound_count(tmp_path: Path) -> int:
    import sqlite3

    with contextlib.closing(sqlite3.connect(tmp_path / "config" / "socialcare.db", timeout=30)) as db:
        (count,) = db.execute("SELECT count(*) FROM message WHERE direction = 'inbound'").fetchone()
        (distinct,) = db.execute(
            "SELECT count(DISTINCT external_id) FROM message WHERE direction = 'inbound'"
        ).fetchone()
    assert count == distinct
    return int(count)


def _wait_for(log: Path, needle: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text():
            return
        if process.poll() is not None:
            pytest.fail(f"the daemon exited early:\n{log.read_text()}")
        time.sleep(0.2)
    pytest.fail(f"{needle!r} never appeared:\n{log.read_text()}")
