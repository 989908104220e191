"""How long the daily report takes for a busy day in a big store: by default a day of 50,000 messages in a
store of 1,000,000 (SQLite, or --database-url), built with bulk inserts of messages, verdicts, cases and
the lifecycle's events as the real code writes them; then checks the report counted what was inserted.

    python benchmarks/report_speed.py                      # builds /tmp/socialcare-report-bench.db once
    python benchmarks/report_speed.py --rebuild            # builds it again
    python benchmarks/report_speed.py --rebuild --database-url postgresql+psycopg2://postgres@127.0.0.1/bench \
        --path /tmp/socialcare-report-bench-pg.db   # an empty database; --path only names the expected counts file
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from socialcare import db, report
from socialcare.config import parse
from socialcare.models import Account, Case, Customer, Event, Identity, Message, Verdict

DAY = date(2026, 11, 10)
ZONE = "Europe/Rome"
CHANNELS = {"x-brand": "x", "fb-brand": "facebook", "ig-brand": "instagram", "reddit-brand": "reddit"}
TEXTS = [
    ("My package never arrived and nobody answers", "negative", "complaint", "en"),
    ("Still waiting for my refund after three weeks", "negative", "refund", "en"),
    ("The app keeps crashing at login", "negative", "complaint", "en"),
    ("Il pacco non è mai arrivato, vergogna", "negative", "complaint", "it"),
    ("Mi pedido nunca llegó y nadie responde", "negative", "complaint", "es"),
    ("Someone used my card, this is fraud", "negative", "urgent", "en"),
    ("What time does the Leeds store open on Sunday?", "neutral", "question", "en"),
    ("Wo ist meine Bestellung?", "neutral", "question", "de"),
    ("Love the new collection, thanks!", "positive", "praise", "en"),
    ("Merci pour votre aide !", "positive", "praise", "fr"),
]
BATCH = 20_000


def build_store(url: str, total: int, on_day: int, days: int, seed: int) -> dict[str, Counter[str]]:
    """Fill an empty store; returns what the report day holds, per channel, to check the report against."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    rnd = random.Random(seed)
    zone = parse({"timezone": ZONE}, Path("x.toml")).zone
    start, end = report.midnight(DAY, zone), report.midnight(DAY + timedelta(days=1), zone)
    expected: dict[str, Counter[str]] = {name: Counter() for name in CHANNELS}
    with engine.begin() as conn:
        conn.execute(sa.insert(Account.__table__), [{"name": n, "platform": p} for n, p in CHANNELS.items()])
        accounts = dict(conn.execute(sa.select(Account.__table__.c.name, Account.__table__.c.id)).all())
        conn.execute(sa.insert(Customer.__table__), [{"display_name": f"c{i}"} for i in range(50_000)])
        conn.execute(
            sa.insert(Identity.__table__),
            [
                {"customer_id": i + 1, "platform": "x", "external_user_id": f"u{i}", "handle": f"user{i}"}
                for i in range(50_000)
            ],
        )
    names = list(CHANNELS)
    others = total - on_day
    message_id = 0
    for offset in range(days - 1, -1, -1):
        day_start = report.midnight(DAY - timedelta(days=offset), zone)
        day_end = report.midnight(DAY - timedelta(days=offset - 1), zone)
        count = on_day if offset == 0 else others // (days - 1) + (1 if offset <= others % (days - 1) else 0)
        seconds = (day_end - day_start).total_seconds()
        for first in range(0, count, BATCH):
            messages, verdicts, cases, events = [], [], [], []
            for _ in range(min(BATCH, count - first)):
                message_id += 1
                at = day_start + timedelta(seconds=rnd.random() * seconds)
                text, label, intent, language = rnd.choice(TEXTS)
                channel = rnd.choice(names)
                complaint = label == "negative"
                identity = rnd.randrange(50_000) + 1
                messages.append(
                    {
                        "id": message_id,
                        "account_id": accounts[channel],
                        "platform": CHANNELS[channel],
                        "external_id": f"m{message_id}",
                        "thread_id": f"t{message_id}",
                        "direction": "inbound",
                        "author_id": f"u{identity}",
                        "author_handle": f"user{identity}",
                        "identity_id": identity,
                        "text": text,
                        "language": language,
                        "created_at": at,
                        "fetched_at": at,
                        "case_id": message_id,
                        "raw": {},
                    }
                )
                verdicts.append(
                    {
                        "message_id": message_id,
                        "label": label,
                        "score_negative": rnd.random(),
                        "score_neutral": 0.1,
                        "score_positive": 0.1,
                        "is_complaint": complaint,
                        "intent": intent,
                        "intents": [intent],
                        "language": language,
                        "backend": "bench",
                        "backend_version": "",
                        "created_at": at,
                    }
                )
                due = at + timedelta(minutes=30 if complaint else 60)
                fate = rnd.random()
                wait = timedelta(minutes=rnd.expovariate(1 / 40))
                status = "answered" if fate < 0.85 else ("closed" if fate < 0.9 else "open")
                if status == "open" and offset > 2:  # a team closes what went stale: the backlog is the last days'
                    status, wait = "closed", timedelta(days=2)
                cases.append(
                    {
                        "id": message_id,
                        "account_id": accounts[channel],
                        "identity_id": identity,
                        "thread_id": f"t{message_id}",
                        "status": status,
                        "priority": "complaint" if complaint else "normal",
                        "language": language,
                        "waiting_since": at,
                        "due_at": due,
                        "opened_at": at,
                        "version": 1,
                    }
                )
                case_events = [(at, "case.opened")]
                if status == "answered":
                    if at + wait > due:
                        case_events.append((due, "case.deadline_passed"))
                    case_events += [(at + wait, "reply.sent"), (at + wait, "case.answered")]
                elif status == "closed":
                    if at + wait > due:
                        case_events.append((due, "case.deadline_passed"))
                    case_events.append((at + wait, "case.closed"))
                elif due < end:
                    case_events.append((due, "case.deadline_passed"))
                for when, kind in case_events:
                    events.append(
                        {
                            "at": when,
                            "recorded_at": when,
                            "kind": kind,
                            "case_id": message_id,
                            "account_id": accounts[channel],
                            "actor": "bench",
                            "detail": {},
                        }
                    )
                if offset == 0:
                    found = expected[channel]
                    found["messages"] += 1
                    found[label] += 1
                    found["complaints"] += complaint
                    found["opened"] += 1
                expected[channel]["missed"] += sum(
                    1 for when, kind in case_events if kind == "case.deadline_passed" and start <= when < end
                )
                ending = [when for when, kind in case_events if kind in ("case.answered", "case.closed")]
                expected[channel]["waiting"] += status == "open" or ending[0] >= end
            with engine.begin() as conn:
                conn.execute(sa.insert(Case.__table__), cases)
                conn.execute(sa.insert(Message.__table__), messages)
                conn.execute(sa.insert(Verdict.__table__), verdicts)
                conn.execute(sa.insert(Event.__table__), events)
    engine.dispose()
    return expected


def timed_report(url: str, runs: int) -> tuple[list[float], report.Report]:
    """Seconds per report of ``DAY``, each on a cold engine as a command has, and the last report."""
    config = parse({"database_url": url, "timezone": ZONE}, Path("bench.toml"))
    timings = []
    for _ in range(runs):
        engine = db.make_engine(url)
        began = time.perf_counter()
        built = report.build(engine, config, DAY, now=datetime(2026, 11, 11, 8, 0, tzinfo=UTC))
        timings.append(time.perf_counter() - began)
        engine.dispose()
    return timings, built


def check(built: report.Report, expected: dict[str, Counter[str]], on_day: int) -> None:
    """The report counted, per channel, exactly what ``build_store`` inserted for the day."""
    for name, want in expected.items():
        got = built.channels[name]
        assert got.messages == want["messages"], (name, got.messages, want["messages"])
        assert got.new_cases == want["opened"], (name, got.new_cases, want["opened"])
        assert got.sla_missed == want["missed"], (name, got.sla_missed, want["missed"])
        assert sum(got.complaints_by_intent.values()) == want["complaints"]
        assert got.waiting_at_end == want["waiting"], (name, got.waiting_at_end, want["waiting"])
        for label in ("negative", "neutral", "positive"):
            assert got.labels[label] == want[label], (name, label)
    assert built.total.messages == on_day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--on-day", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=60, help="days the store spans, the report's day last")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--path", type=Path, default=Path("/tmp/socialcare-report-bench.db"))
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{args.path}"
    expected_file = args.path.with_suffix(".expected.json")
    if args.rebuild or not expected_file.exists():
        if not args.database_url:
            for leftover in (args.path, Path(f"{args.path}-wal"), Path(f"{args.path}-shm")):
                leftover.unlink(missing_ok=True)
        began = time.perf_counter()
        expected = build_store(url, args.messages, args.on_day, args.days, seed=12)
        print(f"built {args.messages:,} messages in {time.perf_counter() - began:.0f} s")
        expected_file.write_text(json.dumps(expected))
    expected = {k: Counter(v) for k, v in json.loads(expected_file.read_text()).items()}
    timings, built = timed_report(url, args.runs)
    began = time.perf_counter()
    images = report.charts(built)
    html = report.render_html(built, report.data_uris(images))
    drawn = time.perf_counter() - began
    check(built, expected, args.on_day)
    total = built.total
    print(
        json.dumps(
            {
                "store_messages": args.messages,
                "day_messages": total.messages,
                "report_seconds": [round(t, 2) for t in timings],
                "charts_and_html_seconds": round(drawn, 2),
                "html_bytes": len(html),
                "first_response_median_s": total.to_json()["first_response"]["median_s"],
                "checked": "messages, new cases, missed deadlines, complaints, labels and cases waiting at midnight, "
                "per channel, equal what was inserted",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
