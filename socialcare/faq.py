"""Saved replies: the team's answers to the questions customers keep asking, one TOML file per language.

``<faq folder>/<language>.toml`` holds ``[[answer]]`` tables, each with an ``answer``, ``keywords``
(phrases that point at it) and ``questions`` (examples of how customers ask). A message is scored
against each entry: keyword phrases found, and how many of an example question's words it shares.
The best matches are suggested to the person answering; the draft gives the best one itself only
when the match is strong. ``socialcare faq add CASE`` appends a case's approved reply, with the
customer's message as its example question, so the file grows from answers the team already gave.
Answers are team text passed to the templates as data, never as template source.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from socialcare.config import ConfigError

_WORD = re.compile(r"[^\W\d_]{3,}")
STEM = 5
"""Words are compared by their first five letters: "delivery" and "delivered", "consegna" and "consegnare"."""
_STOP = frozenset(
    "the and for you your are was can has have this that with what when where does from our any there "
    "che per con una del della non come sono nel alla "
    "que los las por con una del como para está "
    "les des pour est une que dans avec vous votre "
    "der die das und ist ich mit für ein eine wie wann "
    "que para com uma dos das não como está".split()
)
KEYWORD_WEIGHT = 0.4
"""Each keyword phrase found adds this much, up to 1: two phrases make a confident match."""


@dataclass(frozen=True)
class Entry:
    id: str
    answer: str
    keywords: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float


def _stems(text: str) -> set[str]:
    return {w[:STEM] for w in _WORD.findall(text.lower()) if w not in _STOP}


def score(entry: Entry, text: str) -> float:
    """How well ``text`` matches ``entry``, 0 to 1: keyword phrases, else the closest example question."""
    lowered = text.lower()
    hits = sum(1 for k in entry.keywords if re.search(rf"(?<!\w){re.escape(k.lower())}(?!\w)", lowered))
    by_keywords = min(1.0, hits * KEYWORD_WEIGHT)
    words = _stems(text)
    by_question = 0.0
    for question in entry.questions:
        theirs = _stems(question)
        if words and theirs:
            by_question = max(by_question, len(words & theirs) / math.sqrt(len(words) * len(theirs)))
    return 1 - (1 - by_keywords) * (1 - by_question)


class Faq:
    """The saved answers in one folder, read once."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._entries: dict[str, list[Entry]] = {}
        if folder is not None and folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                self._entries[path.stem] = read(path)

    def entries(self, language: str) -> list[Entry]:
        return self._entries.get(language, [])

    def matches(self, text: str, language: str | None, at_least: float, limit: int = 3) -> list[Match]:
        """The best saved answers for ``text`` in ``language``, best first, from ``at_least`` on."""
        found = [Match(e, score(e, text)) for e in self.entries(language or "")]
        return sorted((m for m in found if m.score >= at_least), key=lambda m: -m.score)[:limit]


def read(path: Path) -> list[Entry]:
    """The entries of one language's file; a mistake names the file and the entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"faq: {path}: {err}") from None
    entries = []
    for position, item in enumerate(data.get("answer", []), 1):
        answer = item.get("answer") if isinstance(item, dict) else None
        if not isinstance(answer, str) or not answer.strip():
            raise ConfigError(f"faq: {path}: answer {position} has no answer text")
        keywords, questions = item.get("keywords", []), item.get("questions", [])
        if not all(isinstance(k, str) for k in [*keywords, *questions]):
            raise ConfigError(f"faq: {path}: answer {position}: keywords and questions are lists of text")
        if not keywords and not questions:
            raise ConfigError(f"faq: {path}: answer {position} needs keywords or questions to be found by")
        entries.append(Entry(str(item.get("id", position)), answer.strip(), tuple(keywords), tuple(questions)))
    return entries


def append(folder: Path, language: str, entry: Entry) -> Path:
    """Add ``entry`` at the end of the language's file (created if need be), leaving the rest as the team wrote it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{language}.toml"
    lines = ["", "[[answer]]", f"id = {_toml(entry.id)}"]
    lines.append(f"questions = [{', '.join(_toml(q) for q in entry.questions)}]")
    lines.append(f"keywords = [{', '.join(_toml(k) for k in entry.keywords)}]")
    lines.append(f"answer = {_toml(entry.answer)}")
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    read(path)  # what was written reads back
    return path


def _toml(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's."""
    return json.dumps(text, ensure_ascii=False)
