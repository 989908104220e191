"""The ``transformers`` backend: any Hugging Face text-classification model, hub id or local folder.

Sentiment models disagree on label case and order (``Negative`` vs ``negative``, index 0 positive
in some), so labels are mapped by name, never by index, and a model whose labels do not name the
three classes is refused at load. Intent, complaint and language come from the same rules as the
offline backend (:mod:`sentiment.verdicts`). Set ``HF_HUB_OFFLINE=1`` to forbid downloads.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import verdicts
from .base import BackendUnavailable, Verdict
from .text import clean

__all__ = ["DEFAULT_MODEL", "TransformersClassifier", "map_labels"]

log = logging.getLogger("socialcare.sentiment")
DEFAULT_MODEL = "cardiffnlp/twitter-xlm-roberta-base-sentiment"
INSTALL_HINT = "pip install 'socialcare[transformers]'"
_ALIASES = {"negative": 0, "neutral": 1, "positive": 2}


def map_labels(id2label: dict[int, str]) -> dict[str, int]:
    """Model label name -> column in negative/neutral/positive order, matched case-insensitively."""
    mapping: dict[str, int] = {}
    unknown = []
    for name in id2label.values():
        column = _ALIASES.get(str(name).strip().lower())
        if column is None:
            unknown.append(str(name))
        else:
            mapping[str(name)] = column
    if unknown or sorted(mapping.values()) != [0, 1, 2]:
        labels = ", ".join(map(str, id2label.values()))
        raise BackendUnavailable(
            f"model labels [{labels}] cannot be mapped to negative/neutral/positive; "
            "use a 3-class sentiment model whose labels are named negative, neutral and positive"
        )
    return mapping


class TransformersClassifier:
    """A ``text-classification`` pipeline, batched, with truncation and all-label scores."""

    name = "transformers"

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        batch_size: int = 32,
        device: str | int | None = None,
        max_length: int = 512,
    ) -> None:
        try:
            import transformers
        except ImportError as err:
            raise BackendUnavailable(f"the transformers backend needs extra packages: {INSTALL_HINT}") from err
        self.source = str(model)
        self.batch_size = max(1, int(batch_size))
        verdicts.prepare()
        try:
            self._pipe = transformers.pipeline("text-classification", model=str(model), device=_device(device))
        except (OSError, ValueError, RuntimeError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise BackendUnavailable(
                f"cannot load sentiment model {model!r}: {first}. Give a local model folder, or a hub id that is "
                "already in the Hugging Face cache (downloads are off when HF_HUB_OFFLINE=1)"
            ) from err
        config = self._pipe.model.config
        self._labels = map_labels({int(k): str(v) for k, v in (config.id2label or {}).items()})
        positions = int(getattr(config, "max_position_embeddings", max_length) or max_length)
        tokenizer_limit = int(getattr(self._pipe.tokenizer, "model_max_length", max_length))
        self._max_length = max(8, min(int(max_length), positions - 2, tokenizer_limit))
        revision = getattr(config, "_commit_hash", None)
        self.version = f"{Path(str(model)).name}@{revision[:12] if revision else 'local'}"

    def classify(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> list[Verdict]:
        """The model reads every language as it is; known ``languages`` spare the verdicts' detection."""
        cleaned = [clean(t) for t in texts]
        probs = np.tile([0.0, 1.0, 0.0], (len(cleaned), 1))
        wanted = [i for i, t in enumerate(cleaned) if t]
        for start in range(0, len(wanted), self.batch_size):
            chunk = wanted[start : start + self.batch_size]
            for i, row in zip(chunk, self._scores([cleaned[i] for i in chunk]), strict=True):
                probs[i] = row
        return verdicts.build(cleaned, probs, self.name, self.version, languages)

    def _scores(self, texts: list[str]) -> list[np.ndarray]:
        try:
            return [self._row(r) for r in self._run(texts)]
        except Exception:  # one poisoned text must not sink the batch
            log.exception("sentiment model failed on a batch of %d; retrying one by one", len(texts))
        rows = []
        for text in texts:
            try:
                rows.append(self._row(self._run([text])[0]))
            except Exception:
                log.exception("sentiment model failed on one message; scoring it neutral")
                rows.append(np.array([0.0, 1.0, 0.0]))
        return rows

    def _run(self, texts: list[str]) -> list[Any]:
        return self._pipe(texts, batch_size=self.batch_size, truncation=True, max_length=self._max_length, top_k=None)

    def _row(self, result: list[dict[str, Any]]) -> np.ndarray:
        row = np.zeros(3)
        for item in result:
            row[self._labels[item["label"]]] = float(item["score"])
        total = row.sum()
        return row / total if total > 0 else np.array([0.0, 1.0, 0.0])


def _device(device: str | int | None) -> Any:
    """Config gives ``"cpu"``, ``"cuda:0"``, ``0`` or ``-1``; the pipeline takes them as such."""
    if device is None or device == "":
        return -1
    if isinstance(device, str) and device.lstrip("-").isdigit():
        return int(device)
    return device
