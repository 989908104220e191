"""The small things a person meets in a day: typos in options, seeding twice, the version, log times."""

from __future__ import annotations

import json
import logging
import re

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
