"""The small things a person meets in a day: typos in options, seeding twice, the version, log times."""

from __future__ import annotations

import json
import logging
import re

import pytest

from socialcare import __version__
from socialcare.redaction import RedactingFormatter
from tests.conftest import Workspace


def test_an_unknown_channel_is_one_line_not_an_empty_queue(workspace: Workspace) -> None:
    result = workspace.run("queue", "--channel", "nosuch")
    assert result.code == 1 and result.err.count("\n") == 1 and "nosuch" in result.err and "sandbox" in result.err
    assert workspace.run("queue", "--channel", "sandbox").code == 0


def test_a_bad_status_and_a_bad_limit_are_both_usage_errors(workspace: Workspace) -> None:
    assert workspace.run("queue", "--status", "bogus").code == 2
    assert workspace.run("queue", "--limit", "-1").code == 2


def test_seeding_twice_makes_no_duplicate_cases(workspace: Workspace) -> None:
    assert workspace.run("sandbox", "seed").code == 0
    again = workspace.run("sandbox", "seed")
    assert again.code == 0 and "posted 0 messages" in again.out
    assert workspace.run("poll").code == 0
    rows = json.loads(workspace.run("queue", "--json", "--status", "all").out)
    assert len(rows) == len({(row["handle"], row["message"]) for row in rows}) > 0


def test_version(workspace: Workspace) -> None:
    result = workspace.run("--version")
    assert result.code == 0 and result.out == f"socialcare {__version__}\n"


def test_log_lines_are_utc_iso_with_the_zone() -> None:
    record = logging.LogRecord("socialcare", logging.INFO, __file__, 1, "hello", None, None)
    line = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s").format(record)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO socialcare: hello$", line)


def test_ctrl_c_during_send_leaves_no_reply_sending(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from connectors.sandbox import SandboxConnector
    from socialcare.app import App
    from tests.core.conftest import KeywordClassifier

    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    assert workspace.run("sandbox", "post", "--author", "ann", "--text", "Do you ship to Malta?").code == 0
    assert workspace.run("poll").code == 0
    case = str(json.loads(workspace.run("queue", "--json").out)[0]["id"])
    assert workspace.run("approve", case).code == 0

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(SandboxConnector, "reply", interrupted)
        result = workspace.run("send")
    assert result.code == 130 and result.err.startswith("error: interrupted") and result.err.count("\n") == 1
    detail = json.loads(workspace.run("show", case, "--json").out)
    assert [r["status"] for r in detail["replies"]] == ["approved"]
    assert detail["audit"][-1]["action"] == "reply.deferred"
    assert not list(workspace.root.rglob("*.tmp"))
    assert "sent 1," in workspace.run("send").out
    timeline = json.loads(workspace.run("sandbox", "timeline", "--json").out)
    assert len([r for t in timeline for r in t["replies"]]) == 1


def test_send_json(workspace: Workspace) -> None:
    result = workspace.run("send", "--json")
    assert result.code == 0 and json.loads(result.out) == {"sent": 0, "failed": 0, "deferred": 0, "recovered": 0}


def test_poll_and_doctor_json_hold_no_secret(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from socialcare.app import App
    from tests.core.conftest import KeywordClassifier

    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    assert workspace.run("sandbox", "post", "--author", "ann", "--text", "Do you ship to Malta?").code == 0
    polled = workspace.run("poll", "--json")
    assert polled.code == 0, polled.err
    assert json.loads(polled.out) == {
        "accounts": [{"account": "sandbox", "fetched": 1, "new": 1, "error": None}],
        "classified": 1,
        "cases": 1,
    }
    doctor = workspace.run("doctor", "--json")
    assert doctor.code == 0, doctor.out
    report = json.loads(doctor.out)
    assert report["ok"] is True
    assert [c["check"] for c in report["checks"]] == ["database", "sentiment", "sandbox"]


def test_classify_shows_progress_on_a_terminal_only(workspace: Workspace) -> None:
    import os
    import subprocess
    import sys

    import pexpect

    command = ["-m", "socialcare", "--config", str(workspace.config), "classify"]
    child = pexpect.spawn(sys.executable, command, env=dict(os.environ), encoding="utf-8", timeout=60)
    child.sendline("my refund is late")
    child.sendeof()
    child.expect_exact("classified 1 of 1")
    child.expect(pexpect.EOF)
    piped = subprocess.run(
        [sys.executable, *command], input="my refund is late\n", capture_output=True, text=True, check=True
    )
    assert "classified" not in piped.stderr and piped.stdout.count("\n") == 1
