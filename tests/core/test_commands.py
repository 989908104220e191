"""review, doctor, init and the daemon's cycle, through the command line."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys

import pytest

from socialcare.app import App
from tests.conftest import Workspace
from tests.core.conftest import KeywordClassifier


@pytest.fixture
def seeded(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    for author, text in [
        ("ann", "Where is my refund?"),
        ("bob", "Do you ship to Malta?"),
        ("cy", "EARN $$$ click here"),
    ]:
        assert workspace.run("sandbox", "post", "--author", author, "--text", text).code == 0
    assert workspace.run("poll").code == 0
    return workspace


def statuses(space: Workspace) -> dict[str, str | None]:
    rows = json.loads(space.run("queue", "--json", "--status", "all").out)
    return {row["handle"]: row["reply_status"] for row in rows}


def test_review_approves_edits_skips_and_rejects(seeded: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    editor = f"{sys.executable} -c \"import sys; open(sys.argv[1], 'w').write('Yes, we ship to Malta!')\""
    monkeypatch.setenv("EDITOR", editor)
    result = seeded.run("review", input="a\ne\na\nr\nspam\n")
    assert result.code == 0, result.err
    assert statuses(seeded) == {"ann": "approved", "bob": "approved", "cy": "rejected"}
    bob = json.loads(seeded.run("queue", "--json").out)
    assert next(r for r in bob if r["handle"] == "bob")["draft"] == "Yes, we ship to Malta!"
    closed = json.loads(seeded.run("queue", "--json", "--status", "closed").out)
    assert [r["handle"] for r in closed] == ["cy"]


def test_review_quits_and_leaves_the_rest_alone(seeded: Workspace) -> None:
    assert seeded.run("review", input="s\nq\n").code == 0
    assert set(statuses(seeded).values()) == {"draft"}


def test_send_then_nothing_more(seeded: Workspace) -> None:
    rows = json.loads(seeded.run("queue", "--json").out)
    assert seeded.run("approve", str(rows[0]["id"]), "--text", "We're on it, Ann.").code == 0
    assert "sent 1," in seeded.run("send").out
    assert "sent 0," in seeded.run("send").out
    timeline = json.loads(seeded.run("sandbox", "timeline", "--json").out)
    replies = [r for t in timeline for r in t["replies"]]
    assert [r["text"] for r in replies] == ["We're on it, Ann."]


def test_send_says_how_far_it_got_on_a_terminal(seeded: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hundreds of replies take a while: a terminal sees the count move; a pipe or file sees only the result."""
    for row in json.loads(seeded.run("queue", "--json").out)[:2]:
        assert seeded.run("approve", str(row["id"]), "--text", f"We're on it, {row['handle']}.").code == 0

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    from socialcare.cli import main

    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["--config", str(seeded.config), "send"]) == 0
    assert "sent 2," in out.getvalue()
    lines = [line for line in screen.getvalue().split("\r") if line.strip()]
    assert [line.strip() for line in lines] == [
        "1 of 2 approved replies tried, 1 sent",
        "2 of 2 approved replies tried, 2 sent",
    ]
    assert screen.getvalue().endswith("\n")


def test_approving_twice_is_a_clear_error(seeded: Workspace) -> None:
    case_id = str(json.loads(seeded.run("queue", "--json").out)[0]["id"])
    assert seeded.run("approve", case_id).code == 0
    again = seeded.run("approve", case_id)
    assert again.code == 1 and "already approved" in again.err


def test_doctor_reports_each_part_on_one_line(seeded: Workspace) -> None:
    result = seeded.run("doctor")
    assert result.code == 0, result.out
    lines = result.out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["ok   database", "ok   sentiment", "ok   sandbox"]
    assert "keywords test" in lines[1]


def test_doctor_fails_on_an_unreadable_channel(seeded: Workspace) -> None:
    (seeded.root / "config" / "sandbox.json").write_text("{not json")
    result = seeded.run("doctor")
    assert result.code == 1 and "FAIL sandbox: MalformedPayload" in result.out


def test_init_writes_a_starter_config_that_works(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    space = Workspace(tmp_path, "")
    first = space.run("init")
    assert first.code == 0 and "wrote" in first.out and (tmp_path / "config" / "socialcare.db").exists()
    assert "keeping the existing config" in space.run("init").out
    assert space.run("sandbox", "seed").code == 0
    assert space.run("poll").code == 0
    rows = json.loads(space.run("queue", "--json").out)
    assert len(rows) >= 12 and {r["language"] for r in rows} >= {"en", "it"}


def test_the_daemon_logs_one_line_per_step(seeded: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    seeded.run("sandbox", "post", "--author", "dee", "--text", "Is the Leeds store open today?")
    rows = json.loads(seeded.run("queue", "--json").out)
    seeded.run("approve", str(rows[0]["id"]))
    with caplog.at_level(logging.INFO):
        assert seeded.run("daemon", "--once").code == 0
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("socialcare")]
    assert "sandbox: fetched 1, new 1, ours 0" in messages
    assert "classified 1, cases updated 1" in messages
    assert "sent 1, failed 0, deferred 0, recovered 0" in messages


def test_doctor_shows_an_account_whose_last_poll_failed(seeded: Workspace) -> None:
    sandbox_file = seeded.root / "config" / "sandbox.json"
    good = sandbox_file.read_text()
    sandbox_file.write_text("{not json")
    assert seeded.run("poll").code == 1
    sandbox_file.write_text(good)
    result = seeded.run("doctor")
    assert result.code == 1 and "but it has been failing since" in result.out and "MalformedPayload" in result.out
    assert seeded.run("poll").code == 0
    assert seeded.run("doctor").code == 0
