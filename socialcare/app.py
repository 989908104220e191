"""The running product: one config, one store, one classifier, the channels; each step a method."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlmodel import select

from socialcare import channels, db, work
from socialcare.config import Config
from socialcare.models import Account, Reply, utcnow

if TYPE_CHECKING:  # the pipeline's modules load in the commands that run it: `queue` and `show` start fast
    from connectors.base import Connector
    from sentiment.base import Classifier
    from socialcare.cases import SavedAnswers
    from socialcare.coordinator import PollOutcome
    from socialcare.drafting import Drafter
    from socialcare.outbox import SendResult

log = logging.getLogger("socialcare")
CLASSIFY_BATCH = 1000
"""Messages classified per run of the process work item; it runs again at once while more wait."""
STEP = 200
"""Messages per transaction when classifying and triaging."""


@dataclass
class ProcessOutcome:
    classified: int = 0
    cases: int = 0
    more: bool = False
    """Messages were left for the next run (at most ``CLASSIFY_BATCH`` are classified per run)."""


class App:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.engine = db.make_engine(config.database_url, config.lock_timeout.total_seconds())
        self._local_failures: dict[str, str] = {}
        self._lock = threading.Lock()

    def check_store(self) -> None:
        db.check_schema(self.engine)

    @cached_property
    def classifier(self) -> Classifier:
        import sentiment

        options = self.config.sentiment.options
        model = options.get("model")
        if isinstance(model, str) and (self.config.folder / model).exists():
            options["model"] = str(self.config.folder / model)
        return sentiment.load(self.config.sentiment.backend, **options)

    @cached_property
    def drafter(self) -> Drafter:
        from socialcare.drafting import Drafter
        from socialcare.faq import Faq

        return Drafter(self.config.templates, self.config.language, Faq(self.config.faq_folder))

    @property
    def saved_answers(self) -> SavedAnswers:
        """The team's saved answers as ``show`` and ``review`` suggest them, without compiling every template
        (a tenth of a second `show` does not need: the template languages are read from the file names)."""
        from socialcare.cases import SavedAnswers
        from socialcare.drafting import template_languages
        from socialcare.faq import Faq

        languages, default = template_languages(self.config.templates), self.config.language

        def language_for(language: str | None) -> str:
            return language if language is not None and language in languages else default

        return SavedAnswers(Faq(self.config.faq_folder), self.config.faq.min_score, language_for)

    def tone_guard(self, text: str, language: str | None = None) -> str | None:
        """Why a reply must not go out as it reads (``[tone]``), or None; the model loads only when it is on."""
        if not self.config.tone.enabled:
            return None
        from socialcare import tone

        return tone.refusal(text, self.classifier, self.config.tone, language)

    @property
    def sentiment_model(self) -> str:
        """The configured backend and its options, as the tone guard's kept readings name it."""
        import json

        settings = self.config.sentiment
        return json.dumps([settings.backend, settings.options], sort_keys=True, default=str)

    def approval_guard(self, reply: Reply) -> str | None:
        """``tone_guard`` for a reply being approved: the reading the daemon kept for its text, if any, so a
        person approving a draft does not wait for the model to load; read now otherwise (an edited text)."""
        if not self.config.tone.enabled:
            return None
        from socialcare import tone

        known, refused = tone.stored(reply, self.config.tone, self.sentiment_model)
        return refused if known else self.tone_guard(reply.text, reply.language)

    def read_tone(self) -> int:
        """Read the tone of new drafts ahead of approval (the process that drafts has the model); how many."""
        if not self.config.tone.enabled:
            return 0
        from socialcare import tone

        read = 0
        while True:
            with db.session_scope(self.engine) as session:
                step = tone.read_drafts(session, self.classifier, self.config.tone, self.sentiment_model, limit=STEP)
            read += step
            if step < STEP:
                return read

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

    def note_local_failure(self, name: str, error: str) -> bool:
        """A failure of this process only (a missing secret); True the first time it is seen, to log it once."""
        with self._lock:
            first = self._local_failures.get(name) != error
            self._local_failures[name] = error
        return first

    def poll(self, name: str, *, force: bool = False, now: datetime | None = None) -> PollOutcome:
        """Fetch what is new on one account and store it with its cursor, in one transaction."""
        from socialcare import coordinator

        connector = self.channels[name]
        now = now or utcnow()
        outcome = coordinator.poll(
            self.engine, connector, self.config.accounts[name].poll_interval, now=now, forced=force
        )
        with db.session_scope(self.engine) as session:
            work.schedule(session, work.POLL, name, outcome.next_due or now)
        return outcome

    def process(self, now: datetime | None = None) -> ProcessOutcome:
        """Classify what is new, put it into cases with deadlines and drafts, re-triage cases that asked for it."""
        from socialcare.triage import classify_pending, triage_pending
        from socialcare.worker import Worker

        now = now or utcnow()
        classified, cases = 0, set()
        while classified < CLASSIFY_BATCH:  # a transaction per step, so a restart keeps what was done
            with db.session_scope(self.engine) as session:
                step = classify_pending(session, self.classifier, limit=STEP)
            classified += step
            if step < STEP:
                break
        while True:
            with db.session_scope(self.engine) as session:
                attached, touched = triage_pending(session, self.config, self.drafter, now, limit=STEP)
            cases.update(touched)
            if attached < STEP:
                break
        Worker(self, work.worker_id("process")).run_due({work.REFRESH}, now)
        self.read_tone()
        return ProcessOutcome(classified, len(cases), more=classified >= CLASSIFY_BATCH)

    def send(self, now: datetime | None = None, progress: Callable[[SendResult], None] | None = None) -> SendResult:
        """Send every approved reply that is due, as `socialcare send` does; ``progress`` after each attempt."""
        from socialcare.worker import SEND_LANE, Worker, ensure_sends

        with db.session_scope(self.engine) as session:
            ensure_sends(session, now or utcnow())
        worker = Worker(self, work.worker_id("send"))
        worker.run_due(SEND_LANE, now, after=(lambda: progress(worker.sends)) if progress is not None else lambda: None)
        return worker.sends
