"""The monthly read budget: reads stay on schedule so the month's allowance lasts to its end.

By time t the account may have read ``budget × (t − month_start + 1 day) / (month_length + 1 day)``
posts;
a poll reads at most what is left of that share, newest first, and the next poll waits until the
share allows one more post.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.x import XConnector
from tests.conftest import Clock
from tests.connectors.x.fake import FakeX

MENTIONS = r"/2/users/\d+/mentions"


def read_count(cursor: str | None) -> int:
    return 0 if cursor is None else json.loads(cursor)["read"]


def cursor_at(since_id: str, month: str, read: int) -> str:
    return json.dumps({"since_id": since_id, "month": month, "read": read})


def test_a_burst_within_a_days_share_is_read_at_once(connect, fake: FakeX, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)  # 3000 a month in November: 100 a day
    x = connect(monthly_read_budget=3000)
    posted = [fake.mention(f"m{i}", username=f"u{i}")["id"] for i in range(60)]

    messages, cursor = x.poll(cursor_at("1", "2026-11", 0))

    assert [m.external_id for m in messages] == posted
    assert read_count(cursor) == 60
    assert x.pace.ready_at is not None and x.pace.ready_at < clock.now + timedelta(minutes=1)


def test_reading_ahead_of_schedule_waits_until_the_share_catches_up(connect, fake: FakeX, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)
    x = connect(monthly_read_budget=3000, page_size=20)
    posted = [fake.mention(f"m{i}", username=f"u{i}")["id"] for i in range(130)]

    messages, cursor = x.poll(cursor_at("1", "2026-11", 0))

    # the share at 00:30 is 3000 × 24.5 h / (720 h + 24 h) = 98 posts: the newest 98
    assert [m.external_id for m in messages] == posted[-98:]
    assert [r.query["max_results"] for r in fake.api.calls("GET", MENTIONS)] == ["20"] * 4 + ["18"]
    assert json.loads(cursor)["since_id"] == posted[-1]
    # the 99th post is due at 744 h × 99 / 3000 − 24 h = 0.552 h after the month began
    assert x.pace.ready_at == datetime(2026, 11, 1, 0, 33, 7, 200000, tzinfo=UTC)


def test_reading_behind_schedule_adds_no_wait(connect, fake: FakeX, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 16, tzinfo=UTC)
    x = connect(monthly_read_budget=3000)
    fake.mention("hello", username="alice")

    _, cursor = x.poll(cursor_at("1", "2026-11", 1000))

    assert read_count(cursor) == 1001
    assert x.pace.ready_at is not None and x.pace.ready_at < clock.now + timedelta(minutes=1)


def test_a_spent_budget_waits_for_next_month(connect, fake: FakeX, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    x = connect(monthly_read_budget=500)
    fake.mention("hello", username="alice")

    x.poll(cursor_at("1", "2026-11", 500))

    assert x.pace.ready_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_the_count_starts_again_each_month(connect, fake: FakeX, clock: Clock) -> None:
    clock.now = datetime(2027, 1, 1, 0, 30, tzinfo=UTC)
    x = connect(monthly_read_budget=500)
    fake.mention("happy new year", username="alice")

    _, cursor = x.poll(cursor_at("1", "2026-12", 499))

    assert json.loads(cursor)["month"] == "2027-01" and read_count(cursor) == 1


@pytest.mark.slow
def test_traffic_above_the_budget_is_read_newest_first_and_the_month_lasts(connect, clock: Clock) -> None:
    """A mention every 20 minutes (72 a day) against a 750-a-month budget (25 a day), a daemon
    asking every 20 minutes, for all of November: the reads stay within the budget, the account
    keeps being polled to the end of the month, and no wait grows beyond X's smallest page of 5
    posts' worth of budget (5 × 31 days / 750 = 4.96 hours)."""
    clock.now = datetime(2026, 11, 1, tzinfo=UTC)
    fake = FakeX(clock=clock, limits={"mentions": 10_000}).start()
    try:
        x: XConnector = connect(api_url=fake.url, monthly_read_budget=750)
        cursor, polls = cursor_at("1", "2026-11", 0), []
        while clock.tick(1200) < datetime(2026, 12, 1, tzinfo=UTC):
            fake.mention(f"at {clock.now:%d %H:%M}", username="alice")
            if x.pace.ready():
                _, cursor = x.poll(cursor)
                polls.append(clock.now)
        read = read_count(cursor)
        gaps = [b - a for a, b in itertools.pairwise(polls)]

        assert 725 <= read <= 750 + 5
        assert polls[-1] > datetime(2026, 12, 1, tzinfo=UTC) - timedelta(hours=4.96, minutes=20)
        assert max(gaps) <= timedelta(hours=4.96, minutes=20)
    finally:
        fake.stop()
