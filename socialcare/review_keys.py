"""The keys of ``socialcare review``, as ``git add -p`` has them: one letter, Enter for the default.

Enter skips a case as drafted, but after an edit it approves the edited text: the edit is what
the person just made, and losing it silently is the one thing review must never do.
"""

from __future__ import annotations

from collections import Counter

import typer

HELP = """\
a - approve the reply (the edited one, after e)
e - edit the reply in $VISUAL or $EDITOR
s - skip this case, leave the draft as it is
r - reject: close the case without a reply (asks why)
q - quit; what you did so far stays done
? - show these keys
Enter does the capital letter: skip, or approve after an edit."""


def ask(edited: bool) -> str:
    """The next key; Enter gives the default (approve after an edit, skip before)."""
    if edited:
        question, default = "Approve the edited reply [A,e,s,r,q,?]", "a"
    else:
        question, default = "Approve this reply [a,e,S,r,q,?]", "s"
    answer = typer.prompt(question, default=default, show_default=False).strip().lower()
    return answer[:1] or default


class Tally:
    """What a review did, for the line at its end (also after Ctrl-C)."""

    KINDS = ("approved", "edited", "rejected", "skipped")

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def count(self, kind: str) -> None:
        self._counts[kind] += 1

    def __str__(self) -> str:
        done = ", ".join(f"{kind} {self._counts[kind]}" for kind in self.KINDS)
        return f"reviewed: {done} (edited = approved with your edit)"
