"""The embedded default backend: a linear model shipped in the package, no download, no torch.

Weights live in ``sentiment/offline-multi.npz`` with their training metadata; ``MODEL_CARD.md`` beside
them says where they came from. ``socialcare sentiment train`` writes the same format, so a team's
own model loads with ``load("offline", model=PATH)``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from . import intents, verdicts
from .base import BackendUnavailable, Intent, Verdict
from .complaints import ComplaintModel
from .features import Featurizer
from .language import detect_languages
from .linear import LinearModel
from .text import clean, normalise

__all__ = ["DEFAULT_MODEL", "OfflineClassifier", "save_model"]

log = logging.getLogger("socialcare.sentiment")
DEFAULT_MODEL = "offline-multi.npz"


def _complaint_model(meta: dict[str, Any], packaged: Path) -> ComplaintModel | None:
    """The model file's complaint calibration; a file without one (``sentiment train``, older versions) uses
    the packaged model's, which was fitted on scores of a model of the same design. ``None`` only while
    ``train_default`` builds the packaged model, before calibrating it."""
    data = meta.get("complaint")
    if data is None:
        with np.load(packaged, allow_pickle=False) as packaged_data:
            data = json.loads(str(packaged_data["meta"])).get("complaint")
    if data is None:
        return None
    try:
        return ComplaintModel.from_json(data)
    except (KeyError, TypeError, ValueError) as err:
        raise BackendUnavailable(f"the offline model's complaint calibration cannot be read: {err}") from err


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
    """Hashed n-grams + lexicon cues + intent rules -> a linear model, for batches of customer messages.

    ``complaint_threshold`` overrides the model's own (``MODEL_CARD.md`` shows what each value catches).
    """

    name = "offline"

    def __init__(
        self, model: str | Path | None = None, batch_size: int = 64, complaint_threshold: float | None = None
    ) -> None:
        packaged = Path(str(resources.files(__package__).joinpath(DEFAULT_MODEL)))
        path = packaged if model is None else Path(model).expanduser()
        if not path.is_file():
            raise BackendUnavailable(
                f"offline model file not found: {path}; "
                f"train one with `socialcare sentiment train --data DIR --out {path}`"
            )
        self._model, self._featurizer, self.meta = _load(path)
        self.version = str(self.meta.get("version", "unknown"))
        self.source = str(path)
        self.batch_size = max(1, int(batch_size))
        self.complaints = _complaint_model(self.meta, packaged)
        if complaint_threshold is not None:
            if self.complaints is None:
                raise ValueError(f"{path} has no complaint calibration to apply complaint_threshold to")
            self.complaints = self.complaints.with_threshold(complaint_threshold)
        verdicts.prepare()

    def classify(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> list[Verdict]:
        """Verdicts in order; a text repeated in the batch (a retweet storm, a copied complaint) is classified once.

        Known ``languages`` skip detection: our own replies' language is known, and lingua's full models
        (160 MB) load only for a text its fast pass is unsure of.
        """
        cleaned = [clean(t) for t in texts]
        known = dict(zip(cleaned, languages, strict=True)) if languages is not None else None
        unique = list(dict.fromkeys(cleaned))
        probs, languages, found = self.evidence(unique, [known[t] for t in unique] if known is not None else None)
        done = verdicts.build(unique, probs, self.name, self.version, languages, found, self.complaints)
        if len(unique) == len(cleaned):
            return done
        by_text = dict(zip(unique, done, strict=True))
        out, seen = [], set()
        for text in cleaned:
            verdict = by_text[text]
            out.append(replace(verdict, scores=dict(verdict.scores)) if text in seen else verdict)
            seen.add(text)
        return out

    def evidence(
        self, cleaned: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> tuple[np.ndarray, list[str | None], list[tuple[Intent, ...]]]:
        """The model's probabilities (before the complaint rule), languages and intents of :func:`clean`-ed texts.

        What a verdict is built from, and what the complaint model is fitted on.
        """
        norms = [normalise(t) for t in cleaned]
        languages = list(languages) if languages is not None else detect_languages(cleaned, norms)
        found = [intents.detect(n) if t else () for t, n in zip(cleaned, norms, strict=True)]
        return self.probabilities(cleaned, languages, norms, found), languages, found

    def probabilities(
        self,
        cleaned: Sequence[str],
        languages: Sequence[str | None],
        normalised: Sequence[str] | None = None,
        found: Sequence[tuple[Intent, ...]] | None = None,
    ) -> np.ndarray:
        """(n, 3) negative/neutral/positive probabilities of already :func:`clean`-ed texts, batched.

        ``normalised`` and ``found`` (each text through :func:`normalise` and :func:`intents.detect`)
        save computing them again.
        """
        norms = list(normalised) if normalised is not None else [normalise(t) for t in cleaned]
        present = list(found) if found is not None else [intents.detect(n) for n in norms]
        probs = np.zeros((len(cleaned), 3))
        for start in range(0, len(cleaned), self.batch_size):
            batch = slice(start, start + self.batch_size)
            probs[batch] = self._probs(norms[batch], languages[batch], present[batch])
        return probs

    def _probs(self, norms: list[str], languages: Sequence[str | None], found: list[tuple[Intent, ...]]) -> np.ndarray:
        try:
            return self._predict(norms, languages, found)
        except Exception:  # one poisoned text must not sink the batch
            log.exception("offline model failed on a batch of %d; retrying one by one", len(norms))
            return np.vstack([self._predict_one(*row) for row in zip(norms, languages, found, strict=True)])

    def _predict_one(self, norm: str, language: str | None, found: tuple[Intent, ...]) -> np.ndarray:
        try:
            return self._predict([norm], [language], [found])[0]
        except Exception:
            log.exception("offline model failed on one message; scoring it neutral")
            return np.array([0.0, 1.0, 0.0])

    def _predict(
        self, norms: list[str], languages: Sequence[str | None], found: list[tuple[Intent, ...]]
    ) -> np.ndarray:
        return self._model.predict_proba(*self._featurizer.transform(norms, languages, norms, found))
