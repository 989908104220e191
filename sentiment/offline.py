"""The embedded default backend: a linear model shipped in the package, no download, no torch.

Weights live in ``sentiment/offline-multi.npz`` with their training metadata; ``MODEL_CARD.md`` beside
them says where they came from. ``socialcare sentiment train`` writes the same format, so a team's
own model loads with ``load("offline", model=PATH)``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from . import verdicts
from .base import BackendUnavailable, Verdict
from .features import Featurizer
from .language import detect_languages
from .linear import LinearModel
from .text import clean

__all__ = ["DEFAULT_MODEL", "OfflineClassifier", "save_model"]

log = logging.getLogger("socialcare.sentiment")
DEFAULT_MODEL = "offline-multi.npz"


def save_model(path: Path, model: LinearModel, featurizer: Featurizer, meta: dict[str, Any]) -> None:
    """Write weights (float32, compressed) and metadata (JSON string) to one ``.npz`` file."""
    meta = {**meta, "featurizer": asdict(featurizer)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        np.savez_compressed(
            fh,
            w_sparse=model.w_sparse.astype(np.float32),
            w_dense=model.w_dense.astype(np.float32),
            bias=model.bias,
            dense_mean=model.dense_mean,
            dense_scale=model.dense_scale,
            meta=np.array(json.dumps(meta)),
        )


def _load(path: Path) -> tuple[LinearModel, Featurizer, dict[str, Any]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            model = LinearModel(
                data["w_sparse"].astype(np.float64),
                data["w_dense"].astype(np.float64),
                data["bias"],
                data["dense_mean"],
                data["dense_scale"],
            )
        featurizer = Featurizer(**meta["featurizer"])
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise BackendUnavailable(
            f"cannot read offline model {path}: {err}; "
            f"retrain it with `socialcare sentiment train --data DIR --out {path}`"
        ) from err
    if model.w_sparse.shape[0] != featurizer.width:
        raise BackendUnavailable(f"offline model {path} is inconsistent (weights do not match its feature size)")
    return model, featurizer, meta


class OfflineClassifier:
    """Hashed n-grams + lexicon cues + intent rules -> a linear model; about 400 texts/s on this machine."""

    name = "offline"

    def __init__(self, model: str | Path | None = None, batch_size: int = 64) -> None:
        if model is None:
            ref = resources.files(__package__).joinpath(DEFAULT_MODEL)
            path = Path(str(ref))
        else:
            path = Path(model).expanduser()
        if not path.is_file():
            raise BackendUnavailable(
                f"offline model file not found: {path}; "
                f"train one with `socialcare sentiment train --data DIR --out {path}`"
            )
        self._model, self._featurizer, self.meta = _load(path)
        self.version = str(self.meta.get("version", "unknown"))
        self.source = str(path)
        self.batch_size = max(1, int(batch_size))
        verdicts.prepare()

    def classify(self, texts: Sequence[str]) -> list[Verdict]:
        cleaned = [clean(t) for t in texts]
        languages = detect_languages(cleaned)
        return verdicts.build(cleaned, self.probabilities(cleaned, languages), self.name, self.version, languages)

    def probabilities(self, cleaned: Sequence[str], languages: Sequence[str | None]) -> np.ndarray:
        """(n, 3) negative/neutral/positive probabilities of already :func:`clean`-ed texts, batched."""
        probs = np.zeros((len(cleaned), 3))
        for start in range(0, len(cleaned), self.batch_size):
            end = start + self.batch_size
            probs[start:end] = self._probs(list(cleaned[start:end]), languages[start:end])
        return probs

    def _probs(self, texts: list[str], languages: Sequence[str | None]) -> np.ndarray:
        try:
            return self._predict(texts, languages)
        except Exception:  # one poisoned text must not sink the batch
            log.exception("offline model failed on a batch of %d; retrying one by one", len(texts))
            return np.vstack([self._predict_one(t, lang) for t, lang in zip(texts, languages, strict=True)])

    def _predict_one(self, text: str, language: str | None) -> np.ndarray:
        try:
            return self._predict([text], [language])[0]
        except Exception:
            log.exception("offline model failed on one message; scoring it neutral")
            return np.array([0.0, 1.0, 0.0])

    def _predict(self, texts: list[str], languages: Sequence[str | None]) -> np.ndarray:
        f = self._featurizer
        return self._model.predict_proba(f.sparse(texts, languages), f.cues(texts))
