"""From per-class probabilities to :class:`Verdict` objects, the same way for every backend.

Backends only say how negative/neutral/positive a text sounds; language, intent and the
complaint flag come from here, so switching backends never changes what counts as a complaint.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import intents
from .base import BackendUnavailable, Intent, Label, Verdict
from .language import detect_languages, warm_up
from .lexicon import lexicon
from .text import normalise

__all__ = ["LABELS", "build", "prepare"]

LABELS = (Label.NEGATIVE, Label.NEUTRAL, Label.POSITIVE)
COMPLAINT_WEIGHT = 0.5
"""Share of the scores moved to negative when a complaint, refund or urgent phrase is present.

At 0.5 such a message is always labelled negative: "still waiting for my refund, thanks" sounds
polite to a sentiment model trained on general tweets, but for a care team it is unhappy. Decided
a priori, not tuned; its effect on the shared validation splits is reported in the model card.
"""


def prepare() -> None:
    """Load the lexicons and the language detectors now, so a backend fails at start, not mid-batch.

    lingua's high-accuracy models (about 160 MB) still load on the first text the fast pass is unsure of.
    """
    try:
        lexicon()
    except (ImportError, OSError) as err:
        raise BackendUnavailable(f"the sentiment lexicons cannot be read ({err}); reinstall socialcare") from err
    warm_up()


def build(
    texts: Sequence[str],
    probs: np.ndarray,
    backend: str,
    version: str,
    languages: Sequence[str | None] | None = None,
    found_intents: Sequence[tuple[Intent, ...]] | None = None,
) -> list[Verdict]:
    """One verdict per cleaned text; ``probs`` is (n, 3) in :data:`LABELS` order, rows of empty texts ignored.

    ``languages`` and ``found_intents`` save detecting them twice when the backend already needed them.
    """
    if languages is None:
        languages = detect_languages(texts)
    if found_intents is None:
        found_intents = [intents.detect(normalise(text)) if text else () for text in texts]
    out: list[Verdict] = []
    for text, row, language, found in zip(texts, probs, languages, found_intents, strict=True):
        if not text:
            scores = np.array([0.0, 1.0, 0.0])
        elif intents.COMPLAINT_INTENTS.intersection(found):
            scores = (1 - COMPLAINT_WEIGHT) * np.asarray(row, dtype=np.float64)
            scores[0] += COMPLAINT_WEIGHT
        else:
            scores = np.asarray(row, dtype=np.float64)
        scores = scores / scores.sum()
        label = LABELS[int(scores.argmax())]
        complaint = bool(intents.COMPLAINT_INTENTS.intersection(found)) or (
            label is Label.NEGATIVE and found != (Intent.SPAM,)
        )
        out.append(
            Verdict(
                label=label,
                scores={lab.value: float(s) for lab, s in zip(LABELS, scores, strict=True)},
                is_complaint=complaint,
                intent=intents.primary(found),
                language=language,
                backend=backend,
                backend_version=version,
                intents=found,
            )
        )
    return out
