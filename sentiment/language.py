"""Language of short customer messages, with lingua (built for tweets, not documents).

The detector is restricted to the languages the product serves: a smaller candidate set is both
faster and far more accurate on 10-word texts than all 75 of lingua's languages. Building it
loads its models (1–3 s and about 200 MB for the six), so it happens once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

from .text import has_letters, normalise

__all__ = ["LANGUAGES", "MIN_CONFIDENCE", "detect_languages", "warm_up"]

LANGUAGES = ("en", "it", "es", "fr", "de", "pt")
MIN_CONFIDENCE = 0.3
"""Below this the best guess is returned as ``None``: "ok", "lol" or a row of emoji have no language."""

_lock = threading.Lock()
_detector: LanguageDetector | None = None


def _get() -> LanguageDetector:
    global _detector
    with _lock:
        if _detector is None:
            codes = [getattr(IsoCode639_1, code.upper()) for code in LANGUAGES]
            _detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models().build()
        return _detector


def warm_up() -> None:
    """Build the detector now (about 1–3 s) rather than on the first message."""
    _get()


def _strip(text: str) -> str:
    """Text without links, handles and hashtags (#MasterChefBR), which are not words of any language."""
    return " ".join(w for w in normalise(text).split() if w not in ("@user", "http") and not w.startswith("#"))


def detect_languages(texts: Sequence[str]) -> list[str | None]:
    """ISO 639-1 code per text, or ``None`` when there is too little text or no clear winner."""
    stripped = [_strip(t) for t in texts]
    wanted = [i for i, t in enumerate(stripped) if has_letters(t)]
    out: list[str | None] = [None] * len(texts)
    if not wanted:
        return out
    detector = _get()
    values = detector.compute_language_confidence_values_in_parallel([stripped[i] for i in wanted])
    for i, confidences in zip(wanted, values, strict=True):
        if confidences and confidences[0].value >= MIN_CONFIDENCE:
            out[i] = confidences[0].language.iso_code_639_1.name.lower()
    return out
