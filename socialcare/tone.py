"""The tone guard: a reply that reads rude, negative or sarcastic is not sent without a person's say-so.

The reply itself is classified with the team's sentiment backend. That backend learned from
customers' tweets, where "sorry" and "problem" mean something went wrong, so an apology reads
negative to it: the sentences that apologise are left out before the reply is judged (a care
reply is allowed to be sorry). What is left must not read clearly negative. Sarcasm has no model
here: a few markers ("yeah right", "/s", "oh great", "as if") stand for it. Words on the team's
blocklist are refused wherever they appear.
"""

from __future__ import annotations

import re

from sentiment.base import Classifier
from socialcare.config import ToneConfig

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


def refusal(text: str, classifier: Classifier, config: ToneConfig) -> str | None:
    """Why this reply must not go out as it is, or ``None`` when it reads fine."""
    if not config.enabled:
        return None
    lowered = text.lower()
    for word in config.blocklist:
        if re.search(rf"(?<!\w){re.escape(word.lower())}(?!\w)", lowered):
            return f"it contains {word!r}, which is on the [tone] blocklist"
    if _SARCASM.search(text):
        return "it reads sarcastic"
    rest = without_apologies(text)
    [verdict] = classifier.classify([rest])
    negative = float(verdict.scores.get("negative", 0.0))
    if negative > config.max_negative:
        return f"it reads negative ({negative:.2f}, apologies left out; [tone] max_negative is {config.max_negative})"
    return None
