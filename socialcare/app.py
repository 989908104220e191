"""The running product: one config, one store, one classifier, the channels; each step a method."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from sqlmodel import col, select

import sentiment
from connectors.base import AuthError, Connector, ConnectorError, MalformedPayload, RateLimited
from sentiment.base import Classifier
from socialcare import channels, db
from socialcare.config import Config
from socialcare.drafting import Drafter
from socialcare.ingest import ingest
from socialcare.models import Account, Case, CaseStatus, utcnow
from socialcare.outbox import SendResult, send_approved
from socialcare.triage import classify_pending, triage_pending

log = logging.getLogger("socialcare")


@dataclass
class PollOutcome:
    account: str
    fetched: int = 0
    new: int = 0
    outbound: int = 0
    skipped: str | None = None
    error: str | None = None


@dataclass
class ProcessOutcome:
    classified: int = 0
    cases: int = 0


class App:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.engine = db.make_engine(config.database_url)

    def check_store(self) -> None:
        db.check_schema(self.engine)

    @cached_property
    def classifier(self) -> Classifier:
        options = self.config.sentiment.options
        model = options.get("model")
        if isinstance(model, str) and (self.config.folder / model).exists():
            options["model"] = str(self.config.folder / model)
        return sentiment.load(self.config.sentiment.backend, **options)

    @cached_property
    def drafter(self) -> Drafter:
        return Drafter(self.config.templates, self.config.language)

    @cached_property
    def channels(self) -> dict[str, Connector]:
        return channels.build_all(self.config)

    def sync_accounts(self) -> None:
        """Mirror configured accounts into the store (they are never deleted: history points at them)."""
        with db.session_scope(self.engine) as session:
            known = {a.name: a for a in session.exec(select(Account)).all()}
            for name, account in self.config.accounts.items():
                row = known.get(name)
                if row is None:
                    session.add(Account(name=name, platform=account.platform))
                elif row.platform != account.platform:
                    row.platform, row.cursor = account.platform, None
                    session.add(row)

    def clear_auth_failures(self) -> None:
        """A fresh start tries every account again: credentials may have been fixed."""
        with db.session_scope(self.engine) as session:
            for account in session.exec(select(Account).where(col(Account.auth_failed_at).is_not(None))):
                account.auth_failed_at = None
                session.add(account)

    def poll(self, name: str, *, force: bool = False) -> PollOutcome:
        """Fetch what is new on one account and store it with its cursor, in one transaction."""
        outcome = PollOutcome(name)
        connector = self.channels[name]
        with db.session_scope(self.engine) as session:
            account = session.exec(select(Account).where(Account.name == name)).one()
            if account.auth_failed_at is not None and not force:
                outcome.skipped = f"stopped since {account.auth_failed_at:%Y-%m-%d %H:%M} UTC: {account.last_error}"
                return outcome
            if not connector.pace.ready() and not force:
                assert connector.pace.ready_at is not None
                outcome.skipped = f"rate limited until {connector.pace.ready_at:%H:%M:%S} UTC"
                return outcome
            cursor = account.cursor
        now = utcnow()
        try:
            messages, next_cursor = connector.poll(cursor)
        except ConnectorError as err:
            outcome.error = str(err)
            self._poll_failed(name, connector, err, now)
            return outcome
        with db.session_scope(self.engine) as session:
            account = session.exec(select(Account).where(Account.name == name)).one()
            result = ingest(session, account, messages)
            account.cursor, account.last_poll_at, account.last_success_at = next_cursor, now, now
            account.last_error, account.auth_failed_at = None, None
            session.add(account)
        outcome.fetched, outcome.new, outcome.outbound = len(messages), len(result.new_inbound), result.new_outbound
        return outcome

    def _poll_failed(self, name: str, connector: Connector, err: ConnectorError, now: datetime) -> None:
        if isinstance(err, RateLimited):
            connector.pace.block_until(err.retry_at)
        with db.session_scope(self.engine) as session:
            account = session.exec(select(Account).where(Account.name == name)).one()
            account.last_poll_at, account.last_error = now, f"{type(err).__name__}: {err}"
            if isinstance(err, AuthError):
                account.auth_failed_at = now
            session.add(account)
        if isinstance(err, MalformedPayload):
            log.error("%s: the platform sent something unreadable; cursor kept: %s", name, err)

    def process(self, now: datetime | None = None) -> ProcessOutcome:
        """Classify what is new, then put it into cases with deadlines and drafts."""
        with db.session_scope(self.engine) as session:
            classified = classify_pending(session, self.classifier)
        with db.session_scope(self.engine) as session:
            cases = triage_pending(session, self.config, self.drafter, now)
        return ProcessOutcome(classified, len(cases))

    def send(self, now: datetime | None = None) -> SendResult:
        return send_approved(self.engine, self.channels, self.config, self.drafter, now)

    def overdue(self, now: datetime | None = None) -> list[Case]:
        """Open cases past their deadline that nobody has been told about yet; marks them told."""
        now = now or utcnow()
        with db.session_scope(self.engine) as session:
            cases = session.exec(
                select(Case).where(
                    Case.status == CaseStatus.OPEN, col(Case.due_at) <= now, col(Case.breach_noted_at).is_(None)
                )
            ).all()
            for case in cases:
                case.breach_noted_at = now
                session.add(case)
        return list(cases)
