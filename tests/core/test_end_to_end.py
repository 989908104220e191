"""The whole loop through the real command line, as a team would run it on the sandbox channel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SANDBOX_CONFIG


def socialcare(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "socialcare", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if check:
        assert done.returncode == 0, f"socialcare {' '.join(args)} failed:\n{done.stderr}"
    return done


@pytest.mark.slow
def test_a_customer_post_is_answered_in_its_thread(tmp_path: Path, database_url: str) -> None:
    config = tmp_path / "config" / "socialcare.toml"
    config.parent.mkdir()
    config.write_text(SANDBOX_CONFIG.format(database_url=database_url), encoding="utf-8")
    socialcare(config, "init")

    posted = {
        socialcare(
            config,
            "sandbox",
            "post",
            "--author",
            "jdawson",
            "--name",
            "James Dawson",
            "--text",
            "What time does the Leeds store open on Sunday?",
        ).stdout.strip(): "question",
        socialcare(
            config,
            "sandbox",
            "post",
            "--author",
            "maria_rossi",
            "--name",
            "Maria Rossi",
            "--text",
            "Vergogna! Il pacco non è mai arrivato e nessuno risponde, voglio il rimborso.",
        ).stdout.strip(): "complaint",
        socialcare(
            config,
            "sandbox",
            "post",
            "--author",
            "sophie_m",
            "--name",
            "Sophie Martin",
            "--text",
            "Love the new winter collection, thanks!",
        ).stdout.strip(): "praise",
    }
    assert len(posted) == 3 and all(key.isdigit() for key in posted)

    daemon = socialcare(config, "daemon", "--once")
    assert "fetched 3, new 3" in daemon.stderr

    queue = json.loads(socialcare(config, "queue", "--json").stdout)
    assert len(queue) == 3
    complaint = queue[0]
    assert complaint["customer"] == "Maria Rossi"
    assert complaint["priority"] == "complaint" and complaint["is_complaint"] is True
    assert complaint["due_at"] < queue[1]["due_at"] and complaint["due_at"] < queue[2]["due_at"]
    assert complaint["language"] == "it" and complaint["draft"].startswith("Ciao Maria")
    assert all(row["reply_status"] == "draft" for row in queue)

    for row in queue:
        socialcare(config, "approve", str(row["id"]))
    sent = socialcare(config, "send")
    assert "sent 3" in sent.stdout

    timeline = json.loads(socialcare(config, "sandbox", "timeline", "--json").stdout)
    assert {str(thread["id"]) for thread in timeline} == set(posted)
    drafts = {row["message"]: row["draft"] for row in queue}
    for thread in timeline:
        assert len(thread["replies"]) == 1, thread
        reply = thread["replies"][0]
        assert reply["author"] == "acme" and reply["reply_to"] == thread["id"]
        assert reply["text"] == drafts[thread["text"]]

    again = socialcare(config, "send")
    assert "sent 0" in again.stdout
    timeline_after = json.loads(socialcare(config, "sandbox", "timeline", "--json").stdout)
    assert sum(len(t["replies"]) for t in timeline_after) == 3

    socialcare(config, "daemon", "--once")
    assert json.loads(socialcare(config, "queue", "--json").stdout) == []
    answered = json.loads(socialcare(config, "queue", "--json", "--status", "answered").stdout)
    assert len(answered) == 3
