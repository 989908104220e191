"""From per-class probabilities to :class:`Verdict` objects, the same way for every backend.

Backends only say how negative/neutral/positive a text sounds; language and intent come from
here, the same for every backend. Whether a message is a complaint is the backend's calibrated
:class:`~sentiment.complaints.ComplaintModel` when it has one (the offline backend's is fitted to
its own scores), else a fixed rule over the label and the intents.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import intents
from .base import BackendUnavailable, Intent, Label, Verdict
from .complaints import ComplaintModel
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
    complaints: ComplaintModel | None = None,
) -> list[Verdict]:
    """One verdict per cleaned text; ``probs`` is (n, 3) in :data:`LABELS` order, rows of empty texts ignored.

    ``languages`` and ``found_intents`` save detecting them twice when the backend already needed them.
    With ``complaints`` (a calibrated :class:`ComplaintModel`), ``is_complaint`` is its probability
    against its threshold; without, the rule of a backend that has none: negative, or a complaint,
    refund or urgent phrase, unless the message is only spam.
    """
    if not texts:
        return []
    if languages is None:
        languages = detect_languages(texts)
    if found_intents is None:
        found_intents = [intents.detect(normalise(text)) if text else () for text in texts]
    raw = np.asarray(probs, dtype=np.float64).reshape(len(texts), 3)
    raw = np.where([[bool(t)] for t in texts], raw, [[0.0, 1.0, 0.0]])
    likely = complaints.probability(raw, found_intents) if complaints is not None else None
    out: list[Verdict] = []
    for i, (row, language, found) in enumerate(zip(raw, languages, found_intents, strict=True)):
        if intents.COMPLAINT_INTENTS.intersection(found):
            scores = (1 - COMPLAINT_WEIGHT) * row
            scores[0] += COMPLAINT_WEIGHT
        else:
            scores = row.copy()
        scores = scores / scores.sum()
        label = LABELS[int(scores.argmax())]
        if likely is not None and complaints is not None:
            probability: float | None = float(likely[i])
            complaint = likely[i] >= complaints.threshold
        else:
            probability = None
            complaint = bool(intents.COMPLAINT_INTENTS.intersection(found)) or (
                label is Label.NEGATIVE and found != (Intent.SPAM,)
            )
        out.append(
            Verdict(
                label=label,
                scores={lab.value: float(s) for lab, s in zip(LABELS, scores, strict=True)},
                is_complaint=bool(complaint),
                intent=intents.primary(found),
                language=language,
                backend=backend,
                backend_version=version,
                intents=found,
                complaint_probability=probability,
            )
        )
    return out
