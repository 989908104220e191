"""Messages per second through poll -> ingest -> classify -> triage -> draft, and replies per second
through approve -> send, on the sandbox channel with SQLite (or --database-url).

    python benchmarks/pipeline_throughput.py --messages 2000
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from connectors.sandbox import SandboxConnector
from socialcare import cases, db
from socialcare.app import App
from socialcare.audit import current_user
from socialcare.cases import QueueFilter
from socialcare.config import parse

TEXTS = [
    "Vergogna! Il pacco non è mai arrivato e nessuno risponde, voglio il rimborso.",
    "What time does the Leeds store open on Sunday?",
    "I've been waiting three weeks for my refund, please help.",
    "Love the new collection, thanks!",
    "La app non funziona da ieri.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="socialcare-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    config = parse(
        {
            "database_url": url,
            "accounts": {"sandbox": {"platform": "sandbox", "path": "sandbox.json", "page_size": 500}},
        },
        folder / "socialcare.toml",
    )
    app = App(config)
    db.upgrade(app.engine)
    app.sync_accounts()
    sandbox = app.channels["sandbox"]
    assert isinstance(sandbox, SandboxConnector)
    with sandbox._write() as data:  # one write for the whole corpus: we measure the product, not the fake
        for i in range(args.messages):
            data["posts"].append(
                {
                    "id": i + 1,
                    "author": f"customer{i}",
                    "name": f"Customer {i}",
                    "text": TEXTS[i % len(TEXTS)],
                    "reply_to": None,
                    "thread": i + 1,
                    "created_at": "2026-11-23T10:00:00+00:00",
                }
            )
    _ = app.classifier, app.drafter

    started = time.perf_counter()
    stored = 0
    while (outcome := app.poll("sandbox")).fetched:
        stored += outcome.new
    ingested = time.perf_counter()
    classified = cased = 0
    while True:  # process() classifies at most 1,000 messages a call: call it until nothing is left
        step = app.process()
        classified, cased = classified + step.classified, cased + step.cases
        if not step.more:
            break
    processed = time.perf_counter()
    assert stored == classified == cased == args.messages, (stored, classified, cased)

    with db.session_scope(app.engine) as session:
        rows = cases.queue(session, QueueFilter())
    queued = time.perf_counter()
    with db.session_scope(app.engine) as session:
        for row in rows:
            cases.approve(session, row["id"], current_user(), sandbox)
    approved = time.perf_counter()
    sent = app.send().sent
    done = time.perf_counter()

    print(
        json.dumps(
            {
                "database": db.redact_url(url).split(":")[0],
                "messages": stored,
                "ingest_per_s": round(stored / (ingested - started)),
                "classify_triage_draft_per_s": round(cased / (processed - ingested)),
                "queue_listing_s": round(queued - processed, 3),
                "approve_per_s": round(len(rows) / (approved - queued)),
                "send_per_s": round(sent / (done - approved)),
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
