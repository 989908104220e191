"""`socialcare simulate` on the shared sample of real tweets: every customer tweet counted once, the figures
consistent with each other, and `--agents auto` the smallest team that reaches the goal."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import Workspace

SAMPLE = Path("/work/shared/replay/twcs-sample.csv")
CONFIG = """\
timezone = "UTC"

[calendar.hours]
mon = ["07:00-21:00"]
tue = ["07:00-21:00"]
wed = ["07:00-21:00"]
thu = ["07:00-21:00"]
fri = ["07:00-21:00"]

[targets.first]
normal = "45m"
"""

pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason=f"the shared replay sample {SAMPLE} is not on this machine")


def customer_tweets() -> int:
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        return sum(row["inbound"] == "True" for row in csv.DictReader(handle))


def consistent(side: dict, total: int) -> None:
    assert 0 <= side["within_target"] <= side["answered"] <= total
    assert side["answered_share"] == side["answered"] / total
    if side["answered"]:
        assert side["first_response_median_s"] <= side["first_response_p90_s"]


def test_auto_finds_the_smallest_team_and_every_customer_tweet_counts(tmp_path: Path) -> None:
    space = Workspace(tmp_path, "sqlite://")
    space.write_config(CONFIG)
    result = space.run(
        "simulate", "--replay", str(SAMPLE), "--agents", "auto", "--handle-time", "6m", "--quick", "--json"
    )
    assert result.code == 0, result.err
    found = json.loads(result.out)
    total = customer_tweets()
    assert total > 0
    for run in (found, *found["runs"]):
        assert run["messages"] == total  # the brand's own tweets are not customers; unanswered ones still count
        consistent(run["ours"], total)
        consistent(run["brand"], total)
        assert 0 <= run["held"] <= total
    assert found["brand"]["answered"] < total  # the file has customer tweets the brand never answered
    assert found["reached"] is True
    assert found["ours"]["within_target_share"] >= found["goal"]
    fewer = [r for r in found["runs"] if r["agents"] < found["agents"]]
    assert all(r["ours"]["within_target_share"] < found["goal"] for r in fewer)
    assert any(r["agents"] == found["agents"] - 1 for r in fewer) or found["agents"] == 1


def test_the_text_output_sets_ours_beside_the_brands(tmp_path: Path) -> None:
    space = Workspace(tmp_path, "sqlite://")
    space.write_config(CONFIG)
    result = space.run("simulate", "--replay", str(SAMPLE), "--agents", "1", "--handle-time", "20m", "--quick")
    assert result.code == 0, result.err
    total = customer_tweets()
    assert f"{total} customer messages" in result.out
    for line in ("answered on the same channel", "within target", "first response median", "first response p90"):
        assert line in result.out
    assert "holding replies before the answer" in result.out


def test_a_file_in_another_format_is_refused(tmp_path: Path) -> None:
    space = Workspace(tmp_path, "sqlite://")
    space.write_config(CONFIG)
    other = tmp_path / "other.csv"
    other.write_text("id,text\n1,hello\n", encoding="utf-8")
    result = space.run("simulate", "--replay", str(other), "--quick")
    assert result.code != 0
    assert "not a Customer Support on Twitter file" in result.err
