"""Sentiment, intent and language of customer messages, behind one :class:`Classifier` contract.

``load(name, **options)`` builds a backend from the ``[sentiment]`` config table: ``backend`` is
the name, every other key an option (``model``, ``batch_size``, ``device``). A backend that cannot
load raises :class:`BackendUnavailable` with what to do; it is never silently replaced.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from .base import BackendUnavailable, Classifier, Intent, Label, Verdict

__all__ = ["BACKENDS", "BackendUnavailable", "Classifier", "Intent", "Label", "Verdict", "load"]

log = logging.getLogger("socialcare.sentiment")
BACKENDS = ("offline", "transformers")
OPTIONS: dict[str, tuple[str, ...]] = {
    "offline": ("model", "batch_size", "complaint_threshold"),
    "transformers": ("model", "batch_size", "device", "max_length"),
}
"""Each backend's options, known without importing it (numpy, torch), so a typo in ``[sentiment]`` stops
every command as any mistake in the config does, not only the ones that classify. A test holds these
to the backends' constructors."""


def check_options(name: str, options: dict[str, Any]) -> None:
    """The ``[sentiment]`` table's mistakes, as one line naming the key: an unknown backend or option."""
    if name not in OPTIONS:
        raise BackendUnavailable(f"unknown sentiment backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    unknown = sorted(set(options) - set(OPTIONS[name]))
    if unknown:
        raise BackendUnavailable(
            f"sentiment backend {name!r} has no option {', '.join(map(repr, unknown))} "
            f"(it takes: {', '.join(OPTIONS[name])}); remove it from [sentiment] in the config"
        )


def load(name: str = "offline", **options: Any) -> Classifier:
    """Build the named backend; log its name, version and source once it is ready."""
    if name == "offline":
        from .offline import OfflineClassifier

        classifier: Classifier = _build(OfflineClassifier, name, options)
    elif name == "transformers":
        from .hf import TransformersClassifier

        classifier = _build(TransformersClassifier, name, options)
    else:
        raise BackendUnavailable(f"unknown sentiment backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    log.info("sentiment backend %s %s loaded from %s", classifier.name, classifier.version, classifier.source)
    return classifier


def _build(factory: Any, name: str, options: dict[str, Any]) -> Classifier:
    accepted = [p for p in inspect.signature(factory).parameters if p != "self"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise BackendUnavailable(
            f"sentiment backend {name!r} has no option {', '.join(map(repr, unknown))} "
            f"(it takes: {', '.join(accepted)}); remove it from [sentiment] in the config"
        )
    try:
        return factory(**options)
    except (TypeError, ValueError) as err:
        raise BackendUnavailable(f"bad option for sentiment backend {name!r}: {err}") from err
