"""Finding cases and acting on many: queue's filters, and approve/reject of several ids or --all-matching."""

from __future__ import annotations

import json

import pytest

from socialcare.app import App
from tests.conftest import Workspace
from tests.core.conftest import KeywordClassifier

POSTS = [
    ("ann", "Ann Rossi", "Where is my refund?"),
    ("bob", "Bob Smith", "Do you ship to Malta?"),
    ("cy", "Cy", "Il pacco non arriva, vergogna"),
    ("dee", "Dee", "Thanks, love it"),
    ("eli", "Eli", "Thanks for the help"),
]


@pytest.fixture
def seeded(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setattr(App, "classifier", KeywordClassifier())
    for handle, name, text in POSTS:
        assert workspace.run("sandbox", "post", "--author", handle, "--name", name, "--text", text).code == 0
    assert workspace.run("poll").code == 0
    return workspace


def handles(space: Workspace, *args: str) -> list[str]:
    result = space.run("queue", "--json", *args)
    assert result.code == 0, result.err
    return sorted(row["handle"] for row in json.loads(result.out))


def test_queue_filters(seeded: Workspace) -> None:
    assert handles(seeded, "--intent", "refund") == ["ann"]
    assert handles(seeded, "--intent", "praise") == ["dee", "eli"]
    assert handles(seeded, "--intent", "praise", "--limit", "1") in (["dee"], ["eli"])
    assert handles(seeded, "--language", "it") == ["cy"]
    assert handles(seeded, "--customer", "@BOB") == ["bob"]
    assert handles(seeded, "--customer", "rossi") == ["ann"]
    assert handles(seeded, "--containing", "MALTA") == ["bob"]
    low = json.loads(seeded.run("queue", "--json", "--priority", "low").out)
    assert low and {row["priority"] for row in low} == {"low"}
    assert {"dee", "eli"} <= {row["handle"] for row in low}
    assert seeded.run("queue", "--intent", "nosuch").code == 2
    assert seeded.run("queue", "--priority", "nosuch").code == 2


def test_reject_all_matching_asks_with_the_count(seeded: Workspace) -> None:
    refused = seeded.run("reject", "--all-matching", "--intent", "praise", "--reason", "no answer needed", input="n\n")
    assert refused.code == 1 and "reject 2 case(s)" in refused.out
    assert handles(seeded, "--intent", "praise") == ["dee", "eli"]
    done = seeded.run("reject", "--all-matching", "--intent", "praise", "--reason", "no answer needed", input="y\n")
    assert done.code == 0, done.err
    assert "2 of 2 done" in done.out
    assert handles(seeded, "--intent", "praise") == []
    assert sorted(row["handle"] for row in json.loads(seeded.run("queue", "--json", "--status", "closed").out)) == [
        "dee",
        "eli",
    ]


def test_approve_several_ids_and_yes(seeded: Workspace) -> None:
    rows = json.loads(seeded.run("queue", "--json").out)
    ids = [str(row["id"]) for row in rows[:2]]
    result = seeded.run("approve", *ids)
    assert result.code == 0, result.err
    assert "2 of 2 done" in result.out
    statuses = {str(r["id"]): r["reply_status"] for r in json.loads(seeded.run("queue", "--json").out)}
    assert [statuses[i] for i in ids] == ["approved", "approved"]
    rest = seeded.run("approve", "--all-matching", "--yes")
    assert rest.code == 0 and "3 of 3 done" in rest.out


def test_one_bad_id_among_several_is_one_line_and_the_rest_are_done(seeded: Workspace) -> None:
    first = str(json.loads(seeded.run("queue", "--json").out)[0]["id"])
    result = seeded.run("approve", first, "999")
    assert result.code == 1
    assert result.err.strip().splitlines() == [result.err.strip()] and "case 999" in result.err
    assert "1 of 2 done" in result.out


def test_ids_or_all_matching_not_both_nor_neither(seeded: Workspace) -> None:
    assert seeded.run("approve").code == 1
    assert seeded.run("approve", "1", "--all-matching").code == 1
    nothing = seeded.run("reject", "--all-matching", "--customer", "nobody", "--reason", "x")
    assert nothing.code == 0 and "no open case matches" in nothing.out
