"""Drafts beside the customer's words, as a care lead reads them, from a replay of real conversations.

    python benchmarks/drafts_replay.py --replay ../shared/replay/twcs-sample.csv [--limit 30] [--platform x]

Takes any file in the "Customer Support on Twitter" format (tweet_id, author_id, inbound,
created_at, text, response_tweet_id, in_response_to_tweet_id). The tweets are replayed oldest
first on a sandbox in a temporary folder, each in the thread of the tweet it answers: a
customer's as a customer's post, the brand's as the team's own reply on the platform (which
answers the case, as it would live). After each customer tweet the product polls, classifies
(the default backend), triages and drafts, and the draft the team would see then is printed
beside the conversation's last messages (or the suggestion to reject). ``--templates`` drafts
from another template folder (to compare with an older set).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.sandbox import SandboxConnector  # noqa: E402
from socialcare import cases, db  # noqa: E402
from socialcare import config as configuration  # noqa: E402
from socialcare.app import App  # noqa: E402
from socialcare.cases import QueueFilter  # noqa: E402

CONFIG = """\
database_url = "sqlite:///{folder}/store.db"
{templates}
[holding]
enabled = false

[accounts.replay]
platform = "sandbox"
path = "sandbox.json"
handle = "brand"
"""


def tweets(path: Path) -> list[dict[str, str]]:
    """Every tweet of the file, oldest first."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return sorted(rows, key=lambda row: datetime.strptime(row["created_at"], "%a %b %d %H:%M:%S %z %Y"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replay", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=30, help="drafts printed")
    parser.add_argument("--templates", type=Path, help="a template folder to draft from instead of the bundled one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        templates = f'templates = "{args.templates.resolve()}"' if args.templates else ""
        (Path(folder) / "socialcare.toml").write_text(CONFIG.format(folder=folder, templates=templates))
        app = App(configuration.load(Path(folder) / "socialcare.toml"))
        db.upgrade(app.engine)
        app.sync_accounts()
        sandbox = app.channels["replay"]
        assert isinstance(sandbox, SandboxConnector)
        posted: dict[str, str] = {}
        shown = 0
        for tweet in tweets(args.replay):
            parent = posted.get(tweet["in_response_to_tweet_id"])
            inbound = tweet["inbound"] == "True"
            author = tweet["author_id"] if inbound else "brand"
            if not inbound and parent is None:
                continue  # the brand's answer to a tweet the file does not hold
            posted[tweet["tweet_id"]] = sandbox.post(author, tweet["text"], reply_to=parent)
            app.poll("replay")
            app.process()
            if inbound and shown < args.limit:
                shown += 1
                print_draft(app, shown, tweet)


def print_draft(app: App, number: int, tweet: dict[str, str]) -> None:
    """The draft the team would see right after this customer tweet, beside what the customer has said."""
    with db.session_scope(app.engine) as session:
        rows = cases.queue(session, QueueFilter())
        row = next(r for r in rows if r["handle"] == tweet["author_id"] and r["message"] == tweet["text"])
        detail = cases.show(session, row["id"])
    verdict = detail["messages"][-1]["verdict"] or {}
    print(
        f"#{number} case {row['id']} · {row['priority']} · {verdict.get('label')} {verdict.get('intent')}"
        f"{' complaint' if verdict.get('is_complaint') else ''} · language {row['language']}"
    )
    for message in detail["messages"][-4:]:
        who = "customer" if message["direction"] == "inbound" else "brand   "
        print(f"  {who}: {' '.join(message['text'].split())}")
    reply = row["draft"] if row["draft"] else f"(no draft) suggested: reject — {row.get('suggestion')}"
    print(f"  draft:    {reply}\n")


if __name__ == "__main__":
    main()
