"""Drafted replies from per-language templates in a sandboxed Jinja2 environment.

Customer text only ever reaches a template as a variable's value, never as template source, so
``{{ 7*7 }}`` in a name or message stays exactly that.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from socialcare.config import ConfigError

BUNDLED = Path(str(resources.files("socialcare.bundled") / "templates"))


@dataclass(frozen=True)
class DraftRequest:
    language: str | None
    intent: str
    is_complaint: bool
    customer_name: str
    channel: str
    handle: str


class Drafter:
    def __init__(self, templates: Path | None = None, default_language: str = "en") -> None:
        folders = [str(p) for p in (templates, BUNDLED) if p is not None]
        if templates is not None and not templates.is_dir():
            raise ConfigError(f"templates: {templates} is not a folder")
        self.default_language = default_language
        self._env = ImmutableSandboxedEnvironment(
            loader=jinja2.FileSystemLoader(folders),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.check()

    @cached_property
    def languages(self) -> list[str]:
        """The languages with templates, read once: listing the folders for every draft was a third of triage.
        A language added later is used after a restart (a template edited in place is reloaded at once)."""
        return sorted({name.split("/")[0] for name in self._env.list_templates(extensions=["j2"])})

    def check(self) -> None:
        """Compile every template now, so a broken one fails at start, not at the first customer."""
        for name in self._env.list_templates(extensions=["j2"]):
            try:
                self._env.get_template(name)
            except jinja2.TemplateSyntaxError as err:
                raise ConfigError(f"template {name}, line {err.lineno}: {err.message}") from None
        if self.default_language not in self.languages:
            raise ConfigError(
                f"language: no templates for {self.default_language!r} (have {', '.join(self.languages)})"
            )

    def draft(self, request: DraftRequest) -> tuple[str, str]:
        """The reply text and the language it is written in."""
        language = request.language if request.language in self.languages else self.default_language
        template = self._env.select_template([f"{language}/{request.intent}.j2", f"{language}/default.j2"])
        text = template.render(
            name=request.customer_name,
            intent=request.intent,
            apology=request.is_complaint,
            channel=request.channel,
            handle=request.handle,
        )
        return " ".join(text.split()), language

    def system(self, kind: str, language: str | None, name: str, promise: Callable[[str], str]) -> tuple[str, str]:
        """A reply the product sends itself (``holding``, ``after_hours``): its text and language.

        ``promise`` words the time the customer will hear back, in the language chosen.
        """
        language = language if language in self.languages else self.default_language
        text = self._env.get_template(f"{language}/{kind}.j2").render(name=name, promise=promise(language))
        return " ".join(text.split()), language


NAME_LENGTH = 40
"""A greeting uses at most this much of a name: a display name can be 100,000 characters long."""


def first_name(display_name: str | None, handle: str) -> str:
    """How to greet someone: the first word of their name, else their handle, as plain text."""
    words = plain(display_name or "").split()
    return (words[0] if words else plain(handle))[:NAME_LENGTH]


def plain(text: str) -> str:
    """``text`` without control, format or unassigned characters, which a draft would post publicly.

    Escape sequences (ESC, 8-bit CSI), bidi overrides (U+202E), zero-width characters and lone
    surrogates are dropped; line breaks and tabs become spaces.
    """
    text = _ESCAPE_SEQUENCE.sub("", text)
    return "".join(
        " " if ch in "\t\n\r" else ch for ch in text if ch in "\t\n\r" or not unicodedata.category(ch).startswith("C")
    )


_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clear screen
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC (titles, links), DCS, ...
    r"|\x1b[@-Z\\-_]"  # other two-character escapes
)
