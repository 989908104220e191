"""The daily report counts what the store holds, checked number by number against traffic built by hand:
two channels, a reopened case, a missed deadline, a case closed without reply, a response after midnight,
an old case still waiting, a holiday in a business calendar, days without traffic, both DST changes, and
hostile customer text that must come out as text."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from socialcare import config as configuration
from socialcare import db, report
from socialcare.calendars import BusinessCalendar, CalendarSettings
from socialcare.errors import UserError
from tests.conftest import Workspace
from tests.core.report_traffic import Traffic

ROME = ZoneInfo("Europe/Rome")
D = date(2026, 11, 10)  # a Tuesday
HOSTILE = "My package never arrived <img src=x onerror=alert(1)> {{7*7}}"
MIN = 60

CONFIG = """\
database_url = "{url}"
timezone = "Europe/Rome"

[accounts.sandbox]
platform = "sandbox"
path = "sandbox.json"
handle = "acme"

[accounts.x-brand]
platform = "x"
enabled = false
"""


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local time in Rome, as the aware UTC instant the store keeps."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ROME).astimezone(UTC)


def make_config(tmp_path: Path, url: str) -> configuration.Config:
    path = tmp_path / "socialcare.toml"
    path.write_text(CONFIG.format(url=url), encoding="utf-8")
    return configuration.load(path)


@pytest.fixture
def store(tmp_path: Path, database_url: str) -> tuple[configuration.Config, Traffic]:
    config = make_config(tmp_path, database_url)
    engine = db.make_engine(config.database_url)
    db.upgrade(engine)
    return config, Traffic(engine, {"sandbox": "sandbox", "x-brand": "x"})


def a_known_day(t: Traffic) -> dict[str, int]:
    """The traffic of the module docstring; returns the case ids by name."""
    prev, week_ago, old = D - timedelta(days=1), D - timedelta(days=7), D - timedelta(days=3)
    ids: dict[str, int] = {}
    # before the day: one answered the same evening, one answered after midnight (its response counts on D)
    ids["c8"] = t.case(t.message("sandbox", at(prev, 20), "hi there", handle="h8"))
    t.reply(ids["c8"], at(prev, 20, 10))
    ids["c9"] = t.case(t.message("sandbox", at(prev, 23, 50), "anyone?", handle="h9"))
    t.reply(ids["c9"], at(D, 0, 20))
    for minute in (5, 35):
        case = t.case(t.message("x-brand", at(week_ago, 9, minute), "a question", handle=f"w{minute}"))
        t.reply(case, at(week_ago, 9, minute + 5))
    ids["c10"] = t.case(t.message("sandbox", at(old, 10), "still nothing from you", handle="h10"))
    # the day, sandbox
    m1 = t.message("sandbox", at(D, 9), HOSTILE, label="negative", complaint=True, intent="complaint", negative=0.95)
    ids["c1"] = t.case(m1, due=timedelta(minutes=30))
    t.reply(ids["c1"], at(D, 9, 10))
    m2 = t.message(
        "sandbox", at(D, 10), "package never arrived, refund please", label="negative", complaint=True,
        intent="refund", handle="h2", negative=0.7,
    )  # fmt: skip
    ids["c2"] = t.case(m2, due=timedelta(minutes=30))
    assert t.deadline_check(ids["c2"], at(D, 10, 30))
    t.reply(ids["c2"], at(D, 11))
    ids["c3"] = t.case(t.message("sandbox", at(D, 11), "Thanks, love it", label="positive", handle="h3"))
    t.holding(ids["c3"], at(D, 11, 10))  # a holding reply is no response: c3's first response is still at 11:20
    t.answered_on_platform(ids["c3"], at(D, 11, 20))
    m6 = t.message(
        "sandbox", at(D, 14), "Still nothing. Where is my parcel", label="negative", complaint=True,
        intent="complaint", thread=m1.thread_id, negative=0.8,
    )  # fmt: skip
    t.add(ids["c1"], m6, due=timedelta(hours=1))
    t.reply(ids["c1"], at(D, 14, 30))
    ids["c7"] = t.case(t.message("sandbox", at(D, 15), "not classified yet", label=None, handle="h7"))
    # the day, x-brand
    m4 = t.message(
        "x-brand", at(D, 12), "il pacco non è mai arrivato", label="negative", complaint=True, intent="complaint",
        language="it", handle="h4",
    )  # fmt: skip
    ids["c4"] = t.case(m4)
    t.close(ids["c4"], at(D, 12, 5))
    ids["c5"] = t.case(t.message("x-brand", at(D, 23, 30), "where is my order?", handle="h5"))
    assert t.deadline_check(ids["c5"], at(D + timedelta(days=1), 0, 30))
    t.reply(ids["c5"], at(D + timedelta(days=1), 1))
    return ids


def test_every_number_of_a_known_day(store: tuple[configuration.Config, Traffic]) -> None:
    config, t = store
    ids = a_known_day(t)
    built = report.build(t.engine, config, D, now=at(D + timedelta(days=1), 8))
    j = built.to_json()
    assert (j["date"], j["hours"], j["complete"], j["timezone"]) == ("2026-11-10", 24, True, "Europe/Rome")

    sandbox = j["channels"]["sandbox"]
    assert sandbox["clock"] == "24/7"
    assert {k: sandbox[k] for k in VOLUME} == {
        "messages": 5,  # 09:00, 10:00, 11:00, 14:00 (reopens c1), 15:00
        "messages_previous_day": 2,
        "messages_last_week": 0,
        "new_cases": 4,
        "new_cases_previous_day": 2,
        "new_cases_last_week": 0,
        "reopened": 1,
        "received": 5,
        "responded": 4,  # c1 twice, c2, c3 (on the platform); c7 waits
        "resolved": 4,
        "closed_without_reply": 0,
        "waiting_at_end": 2,  # c7 and the case from three days before
        "replies_sent": 4,  # c9's after midnight, c1 twice, c2
        "holding_sent": 1,  # c3's holding reply: it is no response
    }
    assert sandbox["response_rate"] == pytest.approx(4 / 5)
    assert sandbox["resolution_rate"] == pytest.approx(4 / 5)
    # first responses on the day: c1 10 min, c2 60 min, c3 20 min, c9 30 min (its wait began the day before)
    assert sandbox["first_response"] == times(4, 20 * MIN, 60 * MIN)
    assert sandbox["next_response"] == times(1, 30 * MIN, 30 * MIN)
    # waits ended on the day: 10, 60, 20, 30 (c9) and 30 (c1's second) minutes
    assert sandbox["resolution_time"] == times(5, 30 * MIN, 60 * MIN)
    assert sandbox["sla"] == {"hit": 4, "missed": 1, "share": pytest.approx(0.8)}
    assert sandbox["sentiment"] == {
        "classified": 4,
        "unclassified": 1,
        "negative": 3,
        "neutral": 0,
        "positive": 1,
        "negative_share": 0.75,
        "neutral_share": 0.0,
        "positive_share": 0.25,
    }
    assert sandbox["complaints"] == {"count": 3, "by_intent": {"complaint": 2, "refund": 1}, "by_language": {"en": 3}}
    assert sandbox["hourly"] == [0] * 9 + [1, 1, 1, 0, 0, 1, 1] + [0] * 8

    x = j["channels"]["x-brand"]
    assert {k: x[k] for k in VOLUME} == {
        "messages": 2,
        "messages_previous_day": 0,
        "messages_last_week": 2,
        "new_cases": 2,
        "new_cases_previous_day": 0,
        "new_cases_last_week": 2,
        "reopened": 0,
        "received": 2,
        "responded": 0,  # c4 closed without a reply, c5 answered after midnight
        "resolved": 1,
        "closed_without_reply": 1,
        "waiting_at_end": 1,
        "replies_sent": 0,
        "holding_sent": 0,
    }
    assert (x["response_rate"], x["resolution_rate"]) == (0.0, 0.5)
    assert x["first_response"]["count"] == 0 and x["first_response"]["median_s"] is None
    assert x["resolution_time"] == times(1, 5 * MIN, 5 * MIN)
    assert x["sla"] == {"hit": 0, "missed": 0, "share": None}  # c5's deadline passed on the next day
    assert x["complaints"]["by_language"] == {"it": 1}

    total = j["total"]
    assert {k: total[k] for k in VOLUME} == {k: sandbox[k] + x[k] for k in VOLUME}
    assert total["response_rate"] == pytest.approx(4 / 7)
    assert total["resolution_rate"] == pytest.approx(5 / 7)
    assert total["first_response"] == times(4, 20 * MIN, 60 * MIN)
    assert total["resolution_time"] == times(6, 20 * MIN, 60 * MIN)  # 5, 10, 20, 30, 30, 60 min
    assert total["sla"] == {"hit": 4, "missed": 1, "share": pytest.approx(0.8)}
    assert total["sentiment"]["negative"] == 4 and total["sentiment"]["classified"] == 6

    trend = j["trend"]
    assert [d["date"] for d in trend["days"]][-1] == "2026-11-10" and len(trend["days"]) == 28
    by_day = {d["date"]: (d["messages"], d["negative"], d["classified"]) for d in trend["days"] if d["messages"]}
    assert by_day == {
        "2026-11-03": (2, 0, 2),
        "2026-11-07": (1, 0, 1),
        "2026-11-09": (2, 0, 2),
        "2026-11-10": (7, 4, 6),
    }
    assert trend["negative_share_7d"] == pytest.approx(4 / 9)
    assert trend["negative_share_28d"] == pytest.approx(4 / 11)

    waiting = j["waiting"]
    assert waiting["count"] == 3
    assert [(w["case_id"], w["waited_s"], w["open_now"]) for w in waiting["oldest"]] == [
        (ids["c10"], (3 * 24 + 14) * 3600.0, True),
        (ids["c7"], 9 * 3600.0, True),
        (ids["c5"], 30 * 60.0, False),  # answered at 01:00, before the report was made
    ]
    assert waiting["oldest"][0]["text"] == "still nothing from you"

    assert [(t["phrase"], t["messages"], t["example"]["text"]) for t in j["themes"]["en"]] == [
        ("package never arrived", 2, HOSTILE)
    ]
    assert "it" not in j["themes"]  # one Italian complaint shares nothing with another
    assert j["total"]["satisfaction"] == {
        "asked": 0,
        "answered": 0,
        "helpful": 0,
        "unhelpful": 0,
        "helpful_share": None,
        "scored": 0,
        "mean_score": None,
        "stopped": 0,
    }


VOLUME = (
    "messages",
    "messages_previous_day",
    "messages_last_week",
    "new_cases",
    "new_cases_previous_day",
    "new_cases_last_week",
    "reopened",
    "received",
    "responded",
    "resolved",
    "closed_without_reply",
    "waiting_at_end",
    "replies_sent",
    "holding_sent",
)


def times(count: int, median: float, p90: float, business: tuple[float, float] | None = None) -> dict[str, object]:
    b_median, b_p90 = business or (median, p90)
    return {
        "count": count,
        "median_s": pytest.approx(median),
        "p90_s": pytest.approx(p90),
        "business_median_s": pytest.approx(b_median),
        "business_p90_s": pytest.approx(b_p90),
    }


def test_the_page_and_the_text_show_customer_text_as_text(store: tuple[configuration.Config, Traffic]) -> None:
    config, t = store
    a_known_day(t)
    built = report.build(t.engine, config, D, now=at(D + timedelta(days=1), 8))
    html = report.render_html(built, {"volume": "cid:v", "sentiment": "cid:s", "response": "cid:r"})
    assert "<img src=x" not in html and "onerror=alert(1)>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; {{7*7}}" in html  # shown as typed, never evaluated
    assert "<script" not in html and "http://" not in html and "https://" not in html  # no scripts, no external assets
    assert html.count('<img class="chart" src="cid:') == 3
    text = report.render_text(built)
    assert HOSTILE in text and "Answered in time     80 %" in text and "package never arrived (2)" in text
    assert report.subject(built) == "Care report Tue 10 Nov 2026: 7 messages, 80 % answered in time, 67 % negative"


def test_business_time_skips_nights_weekends_and_a_holiday(tmp_path: Path) -> None:
    """Monday 7 December 16:30, answered Wednesday 09:30; Tuesday 8 December is a holiday in Italy."""
    config = make_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}")
    engine = db.make_engine(config.database_url)
    db.upgrade(engine)
    t = Traffic(engine, {"sandbox": "sandbox", "x-brand": "x"})
    monday, holiday, wednesday = date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9)
    case = t.case(t.message("sandbox", at(monday, 16, 30), "where is it?"))
    t.reply(case, at(wednesday, 9, 30))
    week = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    calendar = BusinessCalendar(CalendarSettings(timezone="Europe/Rome", hours=week, holidays="IT"))  # type: ignore[arg-type]
    built = report.build(engine, config, wednesday, now=at(wednesday, 18), calendars={"sandbox": calendar})
    sandbox = built.to_json()["channels"]["sandbox"]
    assert sandbox["clock"] == "business hours (Europe/Rome)"
    wall = (24 + 17) * 3600.0  # Monday 16:30 to Wednesday 09:30
    assert sandbox["first_response"] == times(1, wall, wall, business=(3600.0, 3600.0))  # 30 min Monday, 30 Wednesday
    assert built.to_json()["channels"]["x-brand"]["clock"] == "24/7"

    quiet = report.build(engine, config, holiday, now=at(wednesday, 18)).to_json()  # a day without traffic
    assert quiet["total"]["messages"] == 0 and quiet["total"]["received"] == 0
    assert quiet["total"]["response_rate"] is None and quiet["total"]["sla"]["share"] is None
    assert quiet["total"]["sentiment"]["negative_share"] is None
    assert quiet["total"]["messages_previous_day"] == 1 and quiet["total"]["waiting_at_end"] == 1
    assert quiet["themes"] == {}
    empty = report.render_html(report.build(engine, config, date(2026, 11, 1), now=at(wednesday, 18)), {})
    assert "Nobody was waiting for us at midnight." in empty


def test_a_day_of_25_hours_and_one_of_23(store: tuple[configuration.Config, Traffic]) -> None:
    config, t = store
    fall = date(2026, 10, 25)  # Rome: 03:00 CEST becomes 02:00 CET
    first = datetime(2026, 10, 25, 2, 30, tzinfo=ROME)  # the first 02:30 (CEST)
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ROME)  # the second one (CET), an hour later
    for moment in (
        datetime(2026, 10, 24, 23, 59, tzinfo=ROME),  # the day before
        datetime(2026, 10, 25, 0, 0, tzinfo=ROME),  # the day's first instant
        datetime(2026, 10, 25, 1, 30, tzinfo=ROME),
        first,
        second,
        datetime(2026, 10, 25, 23, 30, tzinfo=ROME),
        datetime(2026, 10, 26, 0, 0, tzinfo=ROME),  # the next day's
    ):
        t.message("sandbox", moment.astimezone(UTC))
    built = report.build(t.engine, config, fall, now=datetime(2026, 10, 27, tzinfo=UTC))
    j = built.to_json()
    assert j["hours"] == 25 and len(j["total"]["hourly"]) == 25
    labels = built.hour_labels()
    assert labels[:5] == ["00:00", "01:00", "02:00", "02:00", "03:00"] and labels[-1] == "23:00"
    assert j["hour_starts"][2] == "2026-10-25T02:00:00+02:00" and j["hour_starts"][3] == "2026-10-25T02:00:00+01:00"
    assert j["total"]["hourly"][:5] == [1, 1, 1, 1, 0] and j["total"]["hourly"][-1] == 1
    assert (j["total"]["messages"], j["total"]["messages_previous_day"]) == (5, 1)

    spring = report.build(t.engine, config, date(2026, 3, 29), now=datetime(2026, 10, 27, tzinfo=UTC))
    assert spring.day.hours == 23 and spring.hour_labels()[:3] == ["00:00", "01:00", "03:00"]


def test_today_so_far(store: tuple[configuration.Config, Traffic]) -> None:
    config, t = store
    case = t.case(t.message("sandbox", at(D, 9), "hello?"))
    t.reply(case, at(D, 9, 30))
    t.case(t.message("sandbox", at(D, 10), "anyone?"))
    built = report.build(t.engine, config, D, now=at(D, 12))
    j = built.to_json()
    assert j["complete"] is False
    assert (j["total"]["received"], j["total"]["responded"], j["total"]["waiting_at_end"]) == (2, 1, 1)
    assert j["waiting"]["oldest"][0]["waited_s"] == 2 * 3600.0  # until now, not until midnight
    assert "so far, until 12:00" in report.render_html(built, {})


def test_percentiles_are_nearest_rank() -> None:
    assert report.percentile([], 0.5) is None
    assert report.percentile([5], 0.9) == 5
    assert report.percentile([4, 1, 3, 2], 0.5) == 2  # the middle two: the lower one
    assert report.percentile(list(range(1, 11)), 0.9) == 9
    assert report.percentile(list(range(1, 12)), 0.9) == 10


def test_dates_are_read_in_the_team_timezone() -> None:
    now = datetime(2026, 11, 10, 23, 30, tzinfo=UTC)  # already the 11th in Rome
    assert report.parse_day(None, ROME, now) == date(2026, 11, 10)
    assert report.parse_day("today", ROME, now) == date(2026, 11, 11)
    assert report.parse_day("2026-11-01", ROME, now) == date(2026, 11, 1)
    with pytest.raises(UserError, match="not a date"):
        report.parse_day("10/11/2026", ROME, now)
    with pytest.raises(UserError, match="has not happened yet"):
        report.parse_day("2026-11-12", ROME, now)


def test_the_command(workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALCARE_SMTP_PASSWORD", "s3cret-Pa55")
    engine = db.make_engine(configuration.load(workspace.config).database_url)
    t = Traffic(engine, {"sandbox": "sandbox"})
    yesterday = report.parse_day(None, ROME)
    case = t.case(t.message("sandbox", at(yesterday, 9), HOSTILE, label="negative", complaint=True, negative=0.9))
    t.reply(case, at(yesterday, 9, 12))
    t.case(t.message("sandbox", at(yesterday, 10), "package never arrived!", label="negative", complaint=True))

    shown = workspace.run("report")
    assert shown.code == 0, shown.err
    assert "First response       12 min" in shown.out and HOSTILE in shown.out

    as_json = workspace.run("report", "--date", yesterday.isoformat(), "--json")
    assert as_json.code == 0, as_json.err
    figures = as_json.json()
    assert figures["total"]["messages"] == 2 and figures["total"]["first_response"]["median_s"] == 12 * 60

    page = tmp_path / "r.html"
    written = workspace.run("report", "--out", str(page), "--json")
    assert written.code == 0 and json.loads(written.out)["date"] == yesterday.isoformat()
    assert written.err.strip() == f"wrote {page}"
    html = page.read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 3 and "&lt;img src=x onerror=alert(1)&gt;" in html
    for output in (shown.out, as_json.out, html):
        assert "s3cret-Pa55" not in output

    for args, message in (
        (("--date", "yesterdayish"), "is not a date"),
        (("--out", str(tmp_path / "no" / "such" / "dir.html")), "cannot write"),
        (("--email",), "needs [smtp]"),
    ):
        failed = workspace.run("report", *args)
        assert failed.code == 1 and message in failed.err and len(failed.err.strip().splitlines()) == 1


def test_only_the_report_loads_matplotlib() -> None:
    import subprocess
    import sys

    code = "import sys, socialcare.cli, socialcare.daemon, socialcare.report; print('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
