"""A user's mistake gets one clear line and exit code 1; customer text is kept and shown verbatim."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Workspace
from tests.core.conftest import KeywordClassifier


def one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.code == 1, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    assert "Traceback" not in result.err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "999"), "no case 999"),
        (("approve", "999"), "no case 999"),
        (("reject", "999", "--reason", "spam"), "no case 999"),
        (("sandbox", "post", "--author", "ann", "--text", "   "), "the post is empty"),
        (("sandbox", "post", "--author", "ann", "--reply-to", "77", "--text", "hi"), "no post with id 77"),
        (("poll", "--account", "nope"), "no account named 'nope'"),
    ],
)
def test_mistakes_get_one_line_and_exit_1(workspace: Workspace, args: tuple[str, ...], message: str) -> None:
    assert message in one_line_error(workspace.run(*args))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("database_url = 'sqlite:///x.db'\n[targets\n", "not valid TOML"),
        ("timezon = 'Europe/Rome'\n", "timezon: unknown key"),
        ("timezone = 'Mars/Olympus'\n", "timezone: unknown timezone 'Mars/Olympus'"),
        ("[targets]\ncomplaint = 'soon'\n", "targets.complaint: 'soon' is not a duration"),
        ("[targets]\ncomplaint = -5\n", "targets.complaint: must be longer than zero"),
        ("[accounts.shop]\nplatform = 'myspace'\n", "accounts.shop.platform: unknown platform 'myspace'"),
        (
            "[accounts.shop]\nplatform = 'sandbox'\npath = 's.json'\ncolour = 'red'\n",
            "accounts.shop.colour: unknown key",
        ),
        ("[accounts.shop]\nplatform = 'sandbox'\n", "accounts.shop.path: Field required"),
    ],
)
def test_a_bad_config_names_the_key_and_why(workspace: Workspace, config: str, message: str) -> None:
    workspace.write_config(config)
    assert message in one_line_error(workspace.run("queue"))


def test_a_missing_config_says_how_to_make_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    space = Workspace(tmp_path, "")
    assert "socialcare init" in one_line_error(space.run("queue"))


def test_an_unmigrated_store_says_to_upgrade(tmp_path) -> None:  # type: ignore[no-untyped-def]
    space = Workspace(tmp_path, f"sqlite:///{tmp_path / 'new.db'}")
    space.write_config(f"database_url = 'sqlite:///{tmp_path / 'new.db'}'\n")
    assert "socialcare db upgrade" in one_line_error(space.run("queue"))


HOSTILE = [
    "{{ 7*7 }} {% for x in range(3) %}x{% endfor %}",
    "<script>alert('x')</script> [bold red]not markup[/bold red]",
    "",
    "a" * 10_000,
]


def test_hostile_and_extreme_text_is_stored_and_shown_verbatim(workspace: Workspace, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from socialcare.app import App

    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    from connectors.sandbox import SandboxConnector
    from socialcare import config as configuration

    sandbox = SandboxConnector.from_config("sandbox", {"path": workspace.root / "config" / "sandbox.json"}, {})
    for index, text in enumerate(HOSTILE):
        sandbox.post(f"user{index}", text, name="{{ 7*7 }} <b>Eve</b>" if index == 0 else None)
    assert configuration.load(workspace.config)
    assert workspace.run("poll").code == 0

    rows = json.loads(workspace.run("queue", "--json", "--limit", "10").out)
    assert sorted(r["message"] for r in rows) == sorted(HOSTILE)
    eve = next(r for r in rows if r["message"] == HOSTILE[0])
    assert eve["customer"] == "{{ 7*7 }} <b>Eve</b>"
    assert eve["draft"].startswith("Hi <b>Eve</b>,") and "49" not in eve["draft"]  # the first word with a letter

    shown = workspace.run("show", str(eve["id"]))
    assert shown.code == 0 and "{{ 7*7 }} {% for x in range(3) %}x{% endfor %}" in shown.out
    script = next(r for r in rows if r["message"] == HOSTILE[1])
    shown = workspace.run("show", str(script["id"]))
    assert "<script>alert('x')</script> [bold red]not markup[/bold red]" in shown.out.replace("\n", "")

    monkeypatch.setattr("socialcare.cli.console.width", 200)
    table = workspace.run("queue")
    assert table.code == 0 and "<script>alert('x')</script> [bold red]not markup[/bold red]" in table.out


def test_a_post_with_bytes_that_are_not_utf8_is_refused_in_one_line(workspace: Workspace) -> None:
    """As a shell passes them: the invalid byte reaches the command as a lone surrogate, and nothing is posted."""
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "socialcare", "--config", os.fsencode(workspace.config)]
    for option in (b"--text", b"--author"):
        args = {b"--text": b"hi", b"--author": b"ann"} | {option: b"bad \xff here"}
        done = subprocess.run(
            [*command, b"sandbox", b"post", *(part for pair in args.items() for part in pair)],
            capture_output=True,
            text=True,
            cwd=workspace.root,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
            timeout=120,
        )
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith(
            f"error: {option.decode()} is not valid UTF-8 (it holds the byte 0xff); set the terminal"
        )
    assert json.loads(workspace.run("sandbox", "timeline", "--json").out) == []
