"""The language a case is answered in, decided from the whole conversation.

A detector guessing from two or three words is often wrong ("I did" reads as Portuguese, "PAY
ATTENTION TO ME" as French), so a short message does not decide alone: the customer's longer
messages in the case decide, then the platform's own language tag, then the language of their
earlier cases, and only when there is nothing else a short message's guess if it has ten letters
or more and is not shouted. ``None`` means
nothing is known, and the account's default language is used.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

SURE_LETTERS = 20
"""A message with fewer letters than this (handles, links and hashtags left out) is a guess, not evidence."""
GUESS_LETTERS = 10
"""With nothing else to go on, a guess from at least this many letters, not shouted, is taken ("Grazie mille!")."""
TAG_WEIGHT = 10
EARLIER_CASE_WEIGHT = 15
LATEST_BONUS = 1.5
"""The customer's newest sure message counts a half more: someone who switches language is followed."""
_NOT_WORDS = re.compile(r"(?:@\w+|#\w+|https?://\S+|www\.\S+)")


@dataclass(frozen=True)
class Said:
    """One of the customer's messages: its text, the detector's language and the platform's tag."""

    text: str
    detected: str | None
    tag: str | None = None


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in _NOT_WORDS.sub(" ", text))


def conversation_language(said: Sequence[Said], earlier: Sequence[str | None], known: Collection[str]) -> str | None:
    """The language to answer in, from the customer's messages oldest first and their earlier cases' languages."""
    votes: Counter[str] = Counter()
    sure = [s for s in said if s.detected in known and letters(s.text) >= SURE_LETTERS]
    for position, message in enumerate(sure):
        assert message.detected is not None
        bonus = LATEST_BONUS if position == len(sure) - 1 else 1.0
        votes[message.detected] += letters(message.text) * bonus
    for message in said:
        if message.tag in known:
            votes[message.tag] += TAG_WEIGHT
    for language in earlier:
        if language in known:
            votes[language] += EARLIER_CASE_WEIGHT
    if votes:
        return votes.most_common(1)[0][0]
    guesses = [s for s in said if s.detected in known and letters(s.text) >= GUESS_LETTERS and not _shouted(s.text)]
    return guesses[-1].detected if guesses else None


def _shouted(text: str) -> bool:
    """Mostly capitals, which fool the detector ("PAY ATTENTION TO ME" reads as French)."""
    return sum(ch.isupper() for ch in text) > letters(text) / 2
