"""Text hygiene shared by every backend: any input becomes a safe, bounded string.

Customer text arrives from platforms we do not control: lone surrogates from a broken
UTF-16 round trip, 100,000-character pastes, ``None`` from a deleted post. Classifiers must
never raise on it, so every backend passes text through :func:`clean` first, and the
feature code through :func:`normalise` and :func:`tokens`.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_CHARS", "clean", "has_letters", "normalise", "tokens"]

MAX_CHARS = 2000
"""Characters kept for classification: tweets, comments and DMs are far shorter, and the start of
a long paste says what it is about; the stored message stays verbatim, only the copy we read is cut."""

_URL = re.compile(r"(?:https?://|www\.)\S+|\bhttp\b", re.IGNORECASE)
_MENTION = re.compile(r"@\w+")
_REPEAT = re.compile(r"(.)\1{2,}")
_TOKEN = re.compile(
    r"[#@]?[^\W\d_]+(?:['’][^\W\d_]+)*"  # words, hashtags, mentions, elisions (l'acqua, don't)
    r"|\d+"
    r"|[!?]+"
    r"|[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]"  # emoji and pictographs, one each
    r"|[:;=]-?[()\[\]dDpP/\\|*]"  # ascii emoticons
)
_LETTER = re.compile(r"[^\W\d_]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text: object) -> str:
    """Return a valid, NFC-normalised string of at most :data:`MAX_CHARS` characters.

    Lone surrogates (``"\\ud800"``) cannot be encoded to UTF-8 and crash tokenizers, so they
    become U+FFFD; ``None`` and other non-strings become their string form or ``""``.
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    text = text[: MAX_CHARS * 2]
    text = _SURROGATE.sub("\ufffd", text)
    text = unicodedata.normalize("NFC", text)
    return text[:MAX_CHARS].strip()


def normalise(text: str) -> str:
    """Lower-case, links and mentions folded to placeholders, letter floods cut to two."""
    text = _URL.sub(" http ", text)
    text = _MENTION.sub(" @user ", text)
    text = _REPEAT.sub(r"\1\1", text.lower())
    return text.replace("’", "'")


def tokens(text: str) -> list[str]:
    """Word, number, punctuation-run and emoji tokens of already normalised text."""
    return _TOKEN.findall(text)


def has_letters(text: str, minimum: int = 3) -> bool:
    """Whether the text holds enough letters for language detection to mean anything."""
    return len(_LETTER.findall(text, 0, 200)) >= minimum
