"""The tone guard: a reply that reads rude, negative or sarcastic is not sent without a person's say-so.

The reply itself is classified with the team's sentiment backend. That backend learned from
customers' tweets, where "sorry" and "problem" mean something went wrong, so an apology reads
negative to it: the sentences that apologise are left out before the reply is judged (a care
reply is allowed to be sorry). What is left must not read clearly negative. Sarcasm has no model
here: a few markers ("yeah right", "/s", "oh great", "as if") stand for it. Words on the team's
blocklist are refused wherever they appear.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from sentiment.base import Classifier
from socialcare.config import ToneConfig
from socialcare.drafting import without_greeting
from socialcare.models import Reply

_APOLOGY = re.compile(
    r"\b(?:sorry|apologi[sz]e|apologies|scus\w*|dispiace|sentimos|siento|lamentamos|disculp\w*|perdon\w*|"
    r"désolé\w*|excuses|leid|entschuldig\w*|lamentamos|desculp\w*)\b",
    re.IGNORECASE,
)
_SARCASM = re.compile(
    r"(?:/s\b|\byeah,? right\b|\boh,? (?:great|wonderful|perfect|brilliant)\b|\bas if\b|\bgood luck with that\b|"
    r"\bslow clap\b|\bwhat a surprise\b|🙄|\bsure,? because\b|\bcongratulations on\b|\bgenius\b)",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def without_apologies(text: str) -> str:
    kept = [s for s in _SENTENCE.split(text) if not _APOLOGY.search(s)]
    return " ".join(kept) or text


def refusal(text: str, classifier: Classifier, config: ToneConfig, language: str | None = None) -> str | None:
    """Why this reply must not go out as it is, or ``None`` when it reads fine; ``language`` if known."""
    return refusals([text], classifier, config, [language])[0]


def refusals(
    texts: Sequence[str], classifier: Classifier, config: ToneConfig, languages: Sequence[str | None] | None = None
) -> list[str | None]:
    """``refusal`` for many replies, the model run once over all of them."""
    if not config.enabled:
        return [None] * len(texts)
    found: list[str | None] = [_by_rule(text, config) for text in texts]
    read = [i for i, reason in enumerate(found) if reason is None]
    # the greeting aside, a page of drafts is a few wordings: the classifier reads each once
    bodies = [without_apologies(without_greeting(texts[i])) for i in read]
    known = [languages[i] for i in read] if languages is not None and None not in languages else None
    for i, verdict in zip(read, classifier.classify(bodies, known), strict=True):
        negative = float(verdict.scores.get("negative", 0.0))
        if negative > config.max_negative:
            found[i] = (
                f"it reads negative ({negative:.2f}, apologies left out; [tone] max_negative is {config.max_negative})"
            )
    return found


def _by_rule(text: str, config: ToneConfig) -> str | None:
    lowered = text.lower()
    for word in config.blocklist:
        if re.search(rf"(?<!\w){re.escape(word.lower())}(?!\w)", lowered):
            return f"it contains {word!r}, which is on the [tone] blocklist"
    if _SARCASM.search(text):
        return "it reads sarcastic"
    return None


def reading(text: str, refused: str | None, config: ToneConfig, model: str) -> dict[str, Any]:
    """What is kept on a draft: the verdict for exactly this text, these settings and this ``model``."""
    return {"for": _fingerprint(text, config, model), "refusal": refused}


def stored(reply: Reply, config: ToneConfig, model: str) -> tuple[bool, str | None]:
    """(known, refusal) from the draft's kept reading; not known once its text, [tone] or the model changed."""
    kept = reply.tone
    if not kept or kept.get("for") != _fingerprint(reply.text, config, model):
        return False, None
    return True, kept.get("refusal")


UNREAD = "kind = 'answer' AND status = 'draft' AND tone IS NULL"
"""The drafts still to read: ``ix_reply_tone_unread``'s condition, written out the same in the query."""


def read_drafts(session: Session, classifier: Classifier, config: ToneConfig, model: str, limit: int = 256) -> int:
    """Read the tone of drafts not yet read, so that approving one needs no model; how many were read.

    One executemany, not an ORM flush per draft. A reading names the text it is for, so one that lands
    after a redraft is simply not used.
    """
    if not config.enabled:
        return 0
    table = Reply.__table__  # type: ignore[attr-defined]
    drafts = session.execute(
        sa.text(f"SELECT id, text, language FROM reply{_unread_index(session)} WHERE {UNREAD} LIMIT :limit"),
        {"limit": limit},
    ).all()
    if drafts:
        found = refusals([r.text for r in drafts], classifier, config, [r.language for r in drafts])
        session.execute(
            sa.update(table).where(table.c.id == sa.bindparam("reply_id")).values(tone=sa.bindparam("reading")),
            [
                {"reply_id": reply_id, "reading": reading(text, refused, config, model)}
                for (reply_id, text, _), refused in zip(drafts, found, strict=True)
            ],
        )
    return len(drafts)


def _unread_index(session: Session) -> str:
    """SQLite's planner prefers ``ix_reply_status`` (every draft: 22 ms at 200,000 open cases, each idle
    minute) to the partial index it cannot size; PostgreSQL's statistics choose well on their own."""
    return " INDEXED BY ix_reply_tone_unread" if session.get_bind().dialect.name == "sqlite" else ""


def _fingerprint(text: str, config: ToneConfig, model: str) -> str:
    settings = json.dumps([model, config.max_negative, sorted(config.blocklist)], ensure_ascii=True)
    return hashlib.sha256(f"{settings}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
