"""What the tests that run real daemons share: the X fake's secrets as the environment gives them, a team
approving every draft as it comes, and the store's counts that say whether everyone was answered once."""

from __future__ import annotations

import os

import sqlalchemy as sa

from socialcare import cases, db
from socialcare.cases import QueueFilter
from socialcare.errors import UserError
from tests.connectors.x.fake import FakeX


def x_environment(fake: FakeX) -> dict[str, str]:
    """A daemon's environment with the fake X account's OAuth 1.0a secrets for the account ``brand_x``."""
    secrets = {
        "CONSUMER_KEY": fake.credentials.consumer_key,
        "CONSUMER_SECRET": fake.credentials.consumer_secret,
        "ACCESS_TOKEN": fake.credentials.access_token,
        "ACCESS_TOKEN_SECRET": fake.credentials.access_token_secret,
    }
    return {**os.environ, "PYTHONUNBUFFERED": "1", **{f"SOCIALCARE_BRAND_X_{k}": v for k, v in secrets.items()}}


def unlimited_x(**options: object) -> FakeX:
    """An X fake whose rate limits never bind, so a test measures the product, not X's windows."""
    return FakeX(limits={k: 1_000_000 for k in ("mentions", "timeline", "tweets", "search")}, **options).start()  # type: ignore[arg-type]


def approve_drafts(engine: sa.Engine) -> None:
    """The team at work: every case with a draft is approved as it is."""
    with db.read_scope(engine) as session:
        ids = [r["id"] for r in cases.queue(session, QueueFilter()) if r["reply_status"] == "draft"]
    for case_id in ids:
        try:
            with db.session_scope(engine) as session:
                cases.approve(session, case_id, "tester", None)
        except UserError:
            continue  # answered or redrafted meanwhile: the next round sees it
        except Exception as err:
            if not db.is_conflict(err):
                raise


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:

        def one(sql: str) -> int:
            return int(connection.execute(sa.text(sql)).scalar_one())

        return {
            "inbound": one("SELECT count(*) FROM message WHERE direction = 'inbound'"),
            "distinct_inbound": one(
                "SELECT count(*) FROM (SELECT DISTINCT platform, external_id FROM message"
                " WHERE direction = 'inbound') d"
            ),
            "open": one("SELECT count(*) FROM \"case\" WHERE status = 'open'"),
            "unanswered": one("SELECT count(*) FROM message WHERE direction = 'inbound' AND answered_at IS NULL"),
            "sent": one("SELECT count(*) FROM reply WHERE status = 'sent'"),
            "unsent": one("SELECT count(*) FROM reply WHERE status IN ('draft', 'approved', 'sending')"),
            "quarantined": one("SELECT count(*) FROM quarantine"),
        }


def all_answered(engine: sa.Engine, expected: int) -> bool:
    """Every one of ``expected`` customer messages is stored, answered, and no reply is left to send."""
    now = counts(engine)
    return now["inbound"] == expected and now["unanswered"] == now["open"] == now["unsent"] == 0
