"""What customers write reaches the terminal as text, never as control: and listings stay one line a case."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from socialcare.app import App
from socialcare.terminal import cut, lines, plain
from tests.conftest import Workspace
from tests.core.conftest import KeywordClassifier

HOSTILE = [
    ("clear", "Mallory \x1b[2J\x1b[H", "where is \x1b]0;owned\x07my order?"),
    ("link", "Eve\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "refund \x9b31mnow\x9b0m please"),
    ("rtl", "\u202eevil.exe\u202c", "pay\u200bpal \u2066hidden\u2069 \x85 \x07\x08 text"),
    ("huge", "N" * 100_000, "word " * 20_000),
]
FORBIDDEN = ["\x1b", "\x9b", "\x9d", "\x85", "\u202e", "\u202c", "\u2066", "\u200b", "\x07"]


def run_cli(space: Workspace, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    command = [sys.executable, "-m", "socialcare", "--config", str(space.config), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=60)


@pytest.fixture
def hostile(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    for handle, name, text in HOSTILE:
        result = workspace.run("sandbox", "post", "--author", handle, "--name", name, "--text", text)
        assert result.code == 0, result.err
    assert workspace.run("poll").code == 0
    return workspace


def test_the_helpers_drop_controls_and_cut() -> None:
    assert plain("a\x1b[31mb\x9b0mc\u202ed\u200be\nf") == "abcde f"
    assert lines("one\r\ntwo\x1b]0;x\x07") == "one\ntwo"
    assert cut("x" * 100_000, 24) == "x" * 23 + "…"
    assert cut("  many   spaces\n\nhere ", 40) == "many spaces here"


def test_queue_and_show_print_no_control_characters(hostile: Workspace) -> None:
    listed = run_cli(hostile, "queue")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout) < 2_000  # a 100,000-character name is cut, not printed
    ids = [str(row["id"]) for row in json.loads(hostile.run("queue", "--json").out)]
    assert len(ids) == len(HOSTILE)
    for case in ids:
        shown = run_cli(hostile, "show", case, columns=120)
        assert shown.returncode == 0, shown.stderr
        assert len(shown.stdout) < 150_000
        for output in (listed.stdout, shown.stdout):
            assert not [c for c in FORBIDDEN if c in output]


def test_the_store_keeps_what_they_wrote(hostile: Workspace) -> None:
    rows = json.loads(hostile.run("queue", "--json").out)
    assert {row["message"] for row in rows} == {text for _, _, text in HOSTILE}
    assert {row["customer"] for row in rows} == {name for _, name, _ in HOSTILE}


def test_queue_at_80_columns_or_piped_is_one_line_per_case(hostile: Workspace) -> None:
    for handle in ("ann", "bob", "cy", "dee", "eli", "fay"):
        text = f"{handle} writes a long message about an order that never arrived " * 4
        assert hostile.run("sandbox", "post", "--author", handle, "--text", text).code == 0
    assert hostile.run("poll").code == 0
    listed = run_cli(hostile, "queue", columns=80)
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout.splitlines()
    assert out[0].startswith("10 open case(s)")
    assert len(out) == 2 + 10  # title, header, one line per case
    assert all(len(line) <= 80 for line in out)
    assert any(line.endswith("…") for line in out[2:])
    whole = json.loads(run_cli(hostile, "queue", "--json", columns=80).stdout)
    assert any(row["message"].endswith("never arrived ") for row in whole)
