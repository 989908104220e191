"""Every throughput benchmark in one command, as one table: medians and spread over several runs, counts checked.

    python benchmarks/run.py            # the full run: 5,000 messages a run, a 1M-message store (many minutes)
    python benchmarks/run.py --quick    # a smoke run in well under a minute (CI runs it)

Measured, each against the goal of issue 14:

- pipeline: sandbox poll -> ingest -> verdict -> case + draft on a fresh store, on SQLite and (when
  it answers) PostgreSQL, beside raw ``executemany`` of the very rows the product wrote, into an
  empty store of the same kind, in the same run: the ratio is what the product's own work costs;
- ``queue --limit 50``, ``show`` and ``process()`` with nothing new, in process, on a generated
  store (1M messages, 200k open cases in the full run);
- the daily report over a day of traffic (``benchmarks/report_speed.py``'s store and checks);
- the offline classifier, batched and one text at a time;
- the daemon's resident memory and CPU while idle.

Every figure counts what was done (messages stored, cases opened, rows listed, verdicts returned),
and the run stops if a count is not what was asked for. Other jobs share this machine's cores: the
load average is printed with the table, and only ratios compare between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from benchmarks import report_speed, sentiment_speed  # noqa: E402
from benchmarks.pipeline_throughput import TEXTS  # noqa: E402
from connectors.sandbox import SandboxConnector  # noqa: E402
from socialcare import cases, db  # noqa: E402
from socialcare.app import App  # noqa: E402
from socialcare.config import parse  # noqa: E402
from socialcare.models import Account, Case, Customer, Identity, Message, Reply, Verdict  # noqa: E402

SENTIMENT = Path(__file__).resolve().parents[2] / "shared" / "sentiment"
"""The shared labelled tweets (read where they are, never copied into the project)."""
POSTGRES = os.environ.get("SOCIALCARE_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Sizes:
    runs: int
    pipeline: int
    store: int
    open_cases: int
    samples: int
    report_store: int
    report_day: int
    texts: int
    idle_s: int


FULL = Sizes(
    runs=5,
    pipeline=5_000,
    store=1_000_000,
    open_cases=200_000,
    samples=40,
    report_store=1_000_000,
    report_day=50_000,
    texts=5_000,
    idle_s=60,
)
QUICK = Sizes(
    runs=3,
    pipeline=150,
    store=20_000,
    open_cases=4_000,
    samples=20,
    report_store=6_000,
    report_day=1_000,
    texts=600,
    idle_s=3,
)


@dataclass(frozen=True)
class Row:
    what: str
    values: list[float]
    unit: str
    goal: str
    note: str = ""

    def median(self) -> float:
        return statistics.median(self.values)

    def to_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "median": self.median(),
            "min": min(self.values),
            "max": max(self.values),
            "runs": len(self.values),
            "unit": self.unit,
            "goal": self.goal,
            "note": self.note,
        }


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


# -- stores ---------------------------------------------------------------------------------------


@contextmanager
def fresh_store(kind: str, folder: Path) -> Iterator[str]:
    """An empty, migrated store: a new SQLite file, or a new database on the PostgreSQL server."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"
        db.upgrade(db.make_engine(url))
        yield url
        return
    server = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    try:
        engine = db.make_engine(url)
        db.upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def postgres_missing() -> str | None:
    try:
        with sa.create_engine(POSTGRES).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as err:  # any reason it does not answer is a reason to skip its rows
        return f"PostgreSQL at {db.redact_url(POSTGRES)} does not answer ({type(err).__name__})"
    return None


def app_over(url: str, folder: Path) -> App:
    config = parse(
        {
            "database_url": url,
            "accounts": {"sandbox": {"platform": "sandbox", "path": str(folder / f"{uuid.uuid4().hex}.json")}},
        },
        folder / "socialcare.toml",
    )
    app = App(config)
    app.sync_accounts()
    return app


# -- pipeline -------------------------------------------------------------------------------------


def pipeline_run(kind: str, n: int, folder: Path) -> tuple[float, float, float]:
    """Seconds to ingest ``n`` new posts, seconds to get them to cases with drafts, and seconds of raw
    ``executemany`` of every row the product wrote, into an empty store of the same kind."""
    with fresh_store(kind, folder) as url:
        app = app_over(url, folder)
        sandbox = app.channels["sandbox"]
        assert isinstance(sandbox, SandboxConnector)
        with sandbox._write() as data:  # one write for the whole corpus: we measure the product, not the fake
            data["posts"] += [
                {
                    "id": i + 1,
                    "author": f"customer{i}",
                    "name": f"Customer {i}",
                    "text": f"{TEXTS[i % len(TEXTS)]} #{i}",
                    "reply_to": None,
                    "thread": i + 1,
                    "created_at": "2026-11-23T10:00:00+00:00",
                }
                for i in range(n)
            ]
        _ = app.classifier, app.drafter
        began = time.perf_counter()
        fetched = 0
        while step := app.poll("sandbox").fetched:
            fetched += step
        ingested = time.perf_counter()
        while app.process().more:
            pass
        done = time.perf_counter()
        assert fetched == n, f"fetched {fetched} of {n}"
        tables = [t for t in SQLModel.metadata.sorted_tables]
        with app.engine.connect() as conn:
            written = {t.name: [dict(r._mapping) for r in conn.execute(sa.select(t))] for t in tables}
        counts = {name: len(rows) for name, rows in written.items()}
        assert counts["message"] == n and counts["case"] == n, counts  # every post stored, every one a case
        assert counts["reply"] == n and counts["verdict"] == n, counts  # a verdict and a draft each
        app.engine.dispose()
    with fresh_store(kind, folder) as raw_url:
        engine = db.make_engine(raw_url)
        with engine.begin() as conn:
            began_raw = time.perf_counter()
            for table in tables:
                if written[table.name]:
                    conn.execute(sa.insert(table), written[table.name])
            raw = time.perf_counter() - began_raw
        engine.dispose()
    return ingested - began, done - began, raw


def pipeline_rows(kind: str, sizes: Sizes, folder: Path) -> list[Row]:
    runs = [pipeline_run(kind, sizes.pipeline, folder) for _ in range(sizes.runs)]
    n = sizes.pipeline
    note = f"{n:,} new messages a run, each stored, classified, a case with a draft"
    return [
        Row(f"ingest, {kind}", [n / i for i, _, _ in runs], "msgs/s", "", note),
        Row(f"ingest -> verdict -> case + draft, {kind}", [n / p for _, p, _ in runs], "msgs/s", ">= 5,000", note),
        Row(
            f"  the same rows by raw executemany, {kind}",
            [n / r for _, _, r in runs],
            "msgs/s",
            "",
            "every row of every table the product wrote",
        ),
        Row(f"  product / raw inserts, {kind}", [p / r for _, p, r in runs], "x slower", "<= 3x"),
    ]


# -- a big store: queue, show, process ------------------------------------------------------------


def build_big_store(url: str, messages: int, open_cases: int, seed: int = 14) -> dict[str, int]:
    """``messages`` inbound messages, two per case, the first ``open_cases`` cases open with a draft and the rest
    answered; bulk inserts in the shape the product writes. Returns the counts inserted."""
    rnd = random.Random(seed)
    engine = db.make_engine(url)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    n_cases, customers = messages // 2, max(1, messages // 10)
    assert open_cases <= n_cases
    with engine.begin() as conn:
        conn.execute(sa.insert(Account.__table__), [{"name": "sandbox", "platform": "sandbox", "created_at": start}])
        conn.execute(
            sa.insert(Customer.__table__), [{"display_name": f"c{i}", "created_at": start} for i in range(customers)]
        )
        conn.execute(
            sa.insert(Identity.__table__),
            [
                {
                    "customer_id": i + 1,
                    "platform": "sandbox",
                    "external_user_id": f"u{i}",
                    "handle": f"u{i}",
                    "created_at": start,
                }
                for i in range(customers)
            ],
        )
    chunk = 20_000
    for first in range(0, n_cases, chunk):
        case_rows, message_rows, verdict_rows, reply_rows = [], [], [], []
        for case_id in range(first + 1, min(first + chunk, n_cases) + 1):
            identity = rnd.randrange(customers) + 1
            at = start + timedelta(seconds=rnd.randrange(30 * 86400))
            is_open = case_id <= open_cases
            case_rows.append(
                {
                    "id": case_id,
                    "account_id": 1,
                    "identity_id": identity,
                    "thread_id": f"t{case_id}",
                    "status": "open" if is_open else "answered",
                    "priority": rnd.choice(("urgent", "complaint", "normal", "low")),
                    "language": "en",
                    "waiting_since": at,
                    "due_at": at + timedelta(hours=1),
                    "opened_at": at,
                    "version": 1,
                }
            )
            for k in (0, 1):
                message_id = 2 * case_id - 1 + k
                message_rows.append(
                    {
                        "id": message_id,
                        "account_id": 1,
                        "platform": "sandbox",
                        "external_id": str(message_id),
                        "thread_id": f"t{case_id}",
                        "direction": "inbound",
                        "author_id": f"u{identity - 1}",
                        "author_handle": f"u{identity - 1}",
                        "identity_id": identity,
                        "text": TEXTS[message_id % len(TEXTS)],
                        "created_at": at + timedelta(minutes=k),
                        "fetched_at": at + timedelta(minutes=k),
                        "case_id": case_id,
                        "answered_at": None if is_open else at + timedelta(minutes=30),
                        "raw": {},
                    }
                )
                verdict_rows.append(
                    {
                        "message_id": message_id,
                        "label": "negative",
                        "score_negative": 0.8,
                        "score_neutral": 0.1,
                        "score_positive": 0.1,
                        "is_complaint": True,
                        "intent": "complaint",
                        "intents": ["complaint"],
                        "language": "en",
                        "backend": "bench",
                        "backend_version": "",
                        "created_at": at,
                    }
                )
            reply_rows.append(
                {
                    "case_id": case_id,
                    "to_message_id": 2 * case_id,
                    "kind": "answer",
                    "text": "We are sorry, we are looking into it.",
                    "language": "en",
                    "status": "draft" if is_open else "sent",
                    "drafted_at": at,
                    "attempts": 0,
                    "version": 1,
                }
            )
        with engine.begin() as conn:
            conn.execute(sa.insert(Case.__table__), case_rows)
            conn.execute(sa.insert(Message.__table__), message_rows)
            conn.execute(sa.insert(Verdict.__table__), verdict_rows)
            conn.execute(sa.insert(Reply.__table__), reply_rows)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return {"messages": 2 * n_cases, "cases": n_cases, "open": open_cases}


def timed(call: Callable[[], Any], samples: int) -> list[float]:
    """Milliseconds per call, after one untimed call (a command's first query pays for the page cache too)."""
    call()
    out = []
    for _ in range(samples):
        began = time.perf_counter()
        call()
        out.append((time.perf_counter() - began) * 1000)
    return out


def big_store_rows(sizes: Sizes, folder: Path) -> list[Row]:
    with fresh_store("sqlite", folder) as url:
        built = build_big_store(url, sizes.store, sizes.open_cases)
        app = app_over(url, folder)
        _ = app.classifier, app.drafter
        ids = list(range(1, sizes.open_cases + 1))
        rnd = random.Random(3)

        def queue_50() -> None:
            with db.read_scope(app.engine) as session:
                rows = cases.queue(session, cases.QueueFilter(limit=50), calendars=app.config.calendar_for)
            assert len(rows) == 50 and [r["due_at"] for r in rows] == sorted(r["due_at"] for r in rows)

        def show_one() -> None:
            case_id = rnd.choice(ids)
            with db.read_scope(app.engine) as session:
                shown = cases.show(session, case_id, calendars=app.config.calendar_for)
            assert shown["id"] == case_id and len(shown["messages"]) == 2

        def idle_process() -> None:
            outcome = app.process()
            assert (outcome.classified, outcome.cases) == (0, 0)  # nothing new: nothing done

        store = f"{built['messages']:,} messages, {built['open']:,} open cases, SQLite"
        queue_ms = timed(queue_50, sizes.samples)
        show_ms = timed(show_one, sizes.samples)
        idle_ms = timed(idle_process, max(3, sizes.samples // 4))
        app.engine.dispose()
    return [
        Row("queue --limit 50", queue_ms, "ms", "p95 < 50 ms at 1M", f"p95 {p95(queue_ms):.1f} ms; {store}"),
        Row("show", show_ms, "ms", "p95 < 50 ms at 1M", f"p95 {p95(show_ms):.1f} ms; {store}"),
        Row("process() with nothing new", idle_ms, "ms", "O(new work)", store),
    ]


# -- report, classifier, daemon -------------------------------------------------------------------


def report_rows(sizes: Sizes, folder: Path) -> list[Row]:
    with fresh_store("sqlite", folder) as url:
        days = 60 if sizes.report_store >= 1_000_000 else 6
        expected = report_speed.build_store(url, sizes.report_store, sizes.report_day, days, seed=12)
        timings, built = report_speed.timed_report(url, sizes.runs)
        report_speed.check(built, expected, sizes.report_day)
    note = f"a day of {sizes.report_day:,} messages in a store of {sizes.report_store:,}, SQLite; counts checked"
    return [Row("daily report", timings, "s", "< 5 s", note)]


def classifier_rows(sizes: Sizes) -> list[Row]:
    """Real tweets in six languages where the shared sentiment set is on this machine, else made-up variants
    of five texts (which flatter the classifier: its memos see the same words again and again)."""
    lines = [line for f in sorted(SENTIMENT.rglob("*_text.txt")) for line in f.read_text("utf-8").split("\n")]
    source = f"tweets from {SENTIMENT}"
    if len(lines) < sizes.texts * 2:
        lines, source = [f"{TEXTS[i % len(TEXTS)]} (order {i})" for i in range(sizes.texts * 2)], "made-up texts"
    random.Random(5).shuffle(lines)
    timed_set, single = lines[: sizes.texts], lines[sizes.texts : sizes.texts + sizes.texts // 5]
    _, stats = sentiment_speed.measure("offline", timed_set, warm=single[:50], single=single, repeat=sizes.runs)
    note = f"{sizes.texts:,} {source}, offline backend, median of {sizes.runs} runs"
    return [
        Row(
            "classifier, batched",
            [float(stats["texts_per_second_median"])],
            "texts/s",
            ">= 5,000",
            f"{note}; best {stats['texts_per_second']:,}",
        ),
        Row(
            "classifier, one by one",
            [float(stats["one_by_one_texts_per_second"])],
            "texts/s",
            "",
            f"{len(single)} texts",
        ),
    ]


def daemon_rows(sizes: Sizes, folder: Path) -> list[Row]:
    """The daemon over an empty store with one sandbox account: RSS sampled each second, CPU over the window."""
    config = folder / "daemon.toml"
    config.write_text(
        f'database_url = "sqlite:///{folder / "daemon.db"}"\n\n'
        f'[accounts.sandbox]\nplatform = "sandbox"\npath = "{folder / "daemon.json"}"\n',
        encoding="utf-8",
    )
    cli = [sys.executable, "-m", "socialcare", "--config", str(config)]
    subprocess.run([*cli, "db", "upgrade"], check=True, capture_output=True)
    daemon = subprocess.Popen([*cli, "daemon"], stderr=subprocess.PIPE, text=True)
    try:
        assert daemon.stderr is not None
        for line in daemon.stderr:
            if "daemon running" in line:
                break
        else:
            raise AssertionError(f"the daemon stopped before running (exit {daemon.wait()})")
        cpu_before, began = _cpu_seconds(daemon.pid), time.monotonic()
        rss = []
        for _ in range(sizes.idle_s):
            time.sleep(1)
            rss.append(_rss_mb(daemon.pid))
        cpu = (_cpu_seconds(daemon.pid) - cpu_before) / (time.monotonic() - began) * 100
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    note = f"one sandbox account, sampled each second for {sizes.idle_s} s"
    return [
        Row("daemon idle RSS", rss, "MB", "< 150 MB", note),
        Row("daemon idle CPU", [cpu], "% of a core", "", note),
    ]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the table ------------------------------------------------------------------------------------


def render(rows: list[Row], skipped: list[str], quick: bool, seconds: float) -> str:
    head = f"{'what':44} {'median':>10} {'spread':>21} {'unit':>12}  {'goal':<15} note"
    lines = [head, "-" * len(head)]
    for row in rows:
        spread = f"{min(row.values):,.1f}-{max(row.values):,.1f}" if len(row.values) > 1 else ""
        lines.append(f"{row.what:44} {row.median():>10,.1f} {spread:>21} {row.unit:>12}  {row.goal:<15} {row.note}")
    lines += [f"skipped: {reason}" for reason in skipped]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines.append(
        f"{'quick' if quick else 'full'} run in {seconds:.0f} s; load average {load} on {os.cpu_count()} cores"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run (CI)")
    parser.add_argument("--json", action="store_true", help="the rows as JSON")
    parser.add_argument("--skip", action="append", default=[], choices=("postgres", "store", "report", "daemon"))
    parser.add_argument("--runs", type=int, help="runs of each timing (default 5, quick 3)")
    parser.add_argument("--messages", type=int, help="new messages a pipeline run (default 5,000)")
    parser.add_argument("--store", type=int, help="messages in the big store, a fifth of them open cases (1,000,000)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.store:
        sizes = replace(sizes, store=args.store, open_cases=args.store // 5)
    sizes = replace(sizes, runs=args.runs or sizes.runs, pipeline=args.messages or sizes.pipeline)
    began = time.perf_counter()
    rows: list[Row] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="socialcare-bench-") as name:
        folder = Path(name)
        rows += pipeline_rows("sqlite", sizes, folder)
        missing = "asked with --skip postgres" if "postgres" in args.skip else postgres_missing()
        if missing is None:
            rows += pipeline_rows("postgresql", sizes, folder)
        else:
            skipped.append(f"pipeline on PostgreSQL: {missing}")
        if "store" not in args.skip:
            rows += big_store_rows(sizes, folder)
        if "report" not in args.skip:
            rows += report_rows(sizes, folder)
        rows += classifier_rows(sizes)
        if "daemon" not in args.skip:
            rows += daemon_rows(sizes, folder)
    seconds = time.perf_counter() - began
    if args.json:
        print(
            json.dumps(
                {"quick": args.quick, "seconds": seconds, "skipped": skipped, "rows": [r.to_json() for r in rows]},
                indent=1,
            )
        )
    else:
        sys.stdout.write(render(rows, skipped, args.quick, seconds))


if __name__ == "__main__":
    main()
