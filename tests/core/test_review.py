"""``socialcare review`` in a real pseudo-terminal, as a person types it: keys, Enter, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import sys

import pexpect
import pytest

from socialcare.app import App
from tests.conftest import Workspace
from tests.core.conftest import KeywordClassifier

EDITED = "Yes, we ship to Malta, in two days."


@pytest.fixture
def seeded(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    for author, text in [("ann", "Where is my refund?"), ("bob", "Do you ship to Malta?"), ("cy", "EARN $$$")]:
        assert workspace.run("sandbox", "post", "--author", author, "--text", text).code == 0
    assert workspace.run("poll").code == 0
    return workspace


def review(space: Workspace) -> pexpect.spawn:
    editor = f"{sys.executable} -c \"import sys; open(sys.argv[1], 'w').write({EDITED!r})\""
    env = {**os.environ, "EDITOR": editor, "VISUAL": editor, "COLUMNS": "100"}
    return pexpect.spawn(
        sys.executable,
        ["-m", "socialcare", "--config", str(space.config), "review"],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 100),
    )


def replies(space: Workspace) -> dict[int, tuple[str | None, str | None]]:
    rows = json.loads(space.run("queue", "--json", "--status", "all").out)
    return {row["id"]: (row["reply_status"], row["draft"]) for row in rows}


def test_enter_after_an_edit_keeps_it_and_the_summary_counts(seeded: Workspace) -> None:
    child = review(seeded)
    child.expect_exact("Approve this reply [a,e,S,r,q,?]")
    child.sendline("?")
    child.expect_exact("Enter does the capital letter")
    child.expect_exact("Approve this reply [a,e,S,r,q,?]")
    child.sendline("e")
    child.expect_exact("Approve the edited reply [A,e,s,r,q,?]")
    child.sendline("")
    child.expect(r"case (\d+): approved with your edit")
    edited = int(child.match.group(1))
    child.expect_exact("Approve this reply [a,e,S,r,q,?]")
    child.sendline("")  # Enter before any edit: skip
    child.expect_exact("Approve this reply [a,e,S,r,q,?]")
    child.sendline("q")
    child.expect_exact("reviewed: approved 0, edited 1, rejected 0, skipped 1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in child.before
    state = replies(seeded)
    assert state[edited] == ("approved", EDITED)
    assert sorted(status for status, _ in state.values()) == ["approved", "draft", "draft"]


def test_ctrl_c_ends_with_the_summary_and_no_traceback(seeded: Workspace) -> None:
    child = review(seeded)
    child.expect_exact("Approve this reply [a,e,S,r,q,?]")
    child.sendline("a")
    child.expect(r"case \d+: approved")
    child.expect_exact("Approve this reply [a,e,S,r,q,?]")
    child.sendintr()
    child.expect_exact("stopped: reviewed: approved 1, edited 0, rejected 0, skipped 0")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert not re.search("Traceback|KeyboardInterrupt", child.before)
