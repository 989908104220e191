"""Labelled-message folders: ``<name>_text.txt`` beside ``<name>_labels.txt``, one message per line.

Labels are 0 negative, 1 neutral, 2 positive (the format of the public XLM-T tweet splits, so a
team can evaluate on those and on its own messages alike). Every problem is a :class:`DataError`
whose message names the file and line, because the CLI shows it as the whole error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DataError", "Split", "held_out", "read_folder", "training"]

HELD_OUT_PREFIXES = ("test", "val")


class DataError(ValueError):
    """A labelled-data folder is missing, incomplete or malformed."""


@dataclass(frozen=True)
class Split:
    name: str
    texts: list[str]
    labels: list[int]


def _lines(path: Path) -> list[str]:
    try:
        content = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror}") from err
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_folder(folder: Path) -> list[Split]:
    """Every ``*_text.txt`` / ``*_labels.txt`` pair in ``folder`` (not its subfolders), sorted by name."""
    if not folder.is_dir():
        raise DataError(f"data folder not found: {folder}")
    splits = []
    for text_file in sorted(folder.glob("*_text.txt")):
        name = text_file.name.removesuffix("_text.txt")
        label_file = folder / f"{name}_labels.txt"
        if not label_file.is_file():
            raise DataError(f"{text_file} has no matching {label_file.name}")
        texts, raw = _lines(text_file), _lines(label_file)
        if len(texts) != len(raw):
            raise DataError(f"{text_file.name} has {len(texts)} lines but {label_file.name} has {len(raw)}")
        labels = []
        for number, value in enumerate(raw, start=1):
            if value.strip() not in ("0", "1", "2"):
                raise DataError(
                    f"{label_file}:{number}: label {value.strip()!r} is not 0 (negative), 1 (neutral) or 2 (positive)"
                )
            labels.append(int(value))
        splits.append(Split(name, texts, labels))
    if not splits:
        raise DataError(f"no *_text.txt / *_labels.txt pairs in {folder}")
    return splits


def held_out(splits: list[Split]) -> list[Split]:
    """The splits to evaluate: ``test*`` / ``val*`` ones when the folder has them, else all."""
    chosen = [s for s in splits if s.name.startswith(HELD_OUT_PREFIXES)]
    return chosen or splits


def training(splits: list[Split]) -> list[Split]:
    """The splits to learn from: ``train*`` ones when the folder has them, else all but held-out ones."""
    chosen = [s for s in splits if s.name.startswith("train")]
    if chosen:
        return chosen
    rest = [s for s in splits if not s.name.startswith(HELD_OUT_PREFIXES)]
    return rest or splits
