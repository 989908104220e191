"""The sentiment contract: texts in, one :class:`Verdict` per text out, in order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

__all__ = ["BackendUnavailable", "Classifier", "Intent", "Label", "Verdict"]


class Label(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class Intent(StrEnum):
    """What the customer wants; ``URGENT`` (legal threat, safety, fraud) outranks everything."""

    URGENT = "urgent"
    REFUND = "refund"
    COMPLAINT = "complaint"
    QUESTION = "question"
    PRAISE = "praise"
    SPAM = "spam"
    OTHER = "other"


@dataclass(frozen=True)
class Verdict:
    label: Label
    scores: Mapping[str, float]
    is_complaint: bool
    intent: Intent
    language: str | None
    backend: str
    backend_version: str = ""
    intents: tuple[Intent, ...] = field(default=())
    complaint_probability: float | None = None
    """How likely the message is a complaint (``is_complaint`` is this against the backend's threshold);
    ``None`` when the backend decides by rule instead (the transformers backend)."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["label"] = self.label.value
        data["intent"] = self.intent.value
        data["intents"] = [i.value for i in self.intents]
        data["scores"] = {k: round(float(v), 4) for k, v in self.scores.items()}
        if self.complaint_probability is not None:
            data["complaint_probability"] = round(float(self.complaint_probability), 4)
        return data


class BackendUnavailable(RuntimeError):
    """A configured backend cannot load; never silently replaced by another one."""


@runtime_checkable
class Classifier(Protocol):
    name: str
    version: str
    source: str

    def classify(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> list[Verdict]:
        """Verdicts in order; ``languages``, when the caller knows them (our own replies), spare detecting them."""
        ...
