"""Drafted replies from per-language templates in a sandboxed Jinja2 environment.

Customer text only ever reaches a template as a variable's value, never as template source, so
``{{ 7*7 }}`` in a name or message stays exactly that. Which template answers a case is decided
from the priority, the labels and the intents of what the customer wrote together
(:func:`choose`): a complaint is never thanked for kind words and praise never gets an apology.
A template may word its text several ways (``variant``); the draft takes the wording this customer
and this thread have seen least, so a public thread does not fill up with one canned text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from socialcare.config import ConfigError
from socialcare.faq import Faq
from socialcare.terminal import plain

if TYPE_CHECKING:  # Jinja2 loads with the first Drafter: `queue` and `show` use this module's rules, not templates
    import jinja2

BUNDLED = Path(str(resources.files("socialcare.bundled") / "templates"))


def template_languages(templates: Path | None) -> frozenset[str]:
    """The languages that have templates (the team's folder and the bundled ones), from the file names alone."""
    folders = [folder for folder in (templates, BUNDLED) if folder is not None and folder.is_dir()]
    return frozenset(path.parent.name for folder in folders for path in folder.glob("*/*.j2"))


VARIANTS = 5
"""A template is rendered with ``variant`` 0 to 4; each different text is one wording of it."""
MIN_WORDS = 4
"""A draft shorter than this (a team template or saved answer gone wrong) is replaced by ``default``."""
COMPLAINT_INTENTS = frozenset({"urgent", "refund", "complaint"})
GREET_BY_HANDLE = frozenset({"x", "instagram"})
"""Platforms where people are called by @handle, which also notifies them."""


READ = 2000
"""Characters of a message read when choosing a reply, as the classifier reads them: a 1 MB post is not searched."""


@dataclass(frozen=True)
class Reading:
    """What one waiting message says, as far as choosing a reply goes (its first :data:`READ` characters)."""

    label: str
    intent: str
    intents: tuple[str, ...]
    is_complaint: bool
    text: str


@dataclass(frozen=True)
class Choice:
    """The template for a case, whether to apologise, and a suggestion to reject instead of answering."""

    template: str
    apology: bool
    reject: str | None = None
    waited: bool = False
    """The customer says they have been waiting (a refund "for three weeks"): the reply is sorry for the wait."""


_SOLVED_OR_THANKED = re.compile(
    r"\b(?:fixed|solved|sorted|resolved|works now|working now|(?:seems to be |is |it's )working(?: again| now| fine)?|"
    r"works again|all good|never ?mind|no worries|figured it out|"
    r"thanks? (?:for|4) (?:the|your|all)|thank you (?:for|so)|"
    r"risolt\w*|sistemat\w*|funziona (?:ora|adesso)|grazie (?:per|dell|del|mille per)|"
    r"resuelt\w*|solucionad\w*|gracias por|"
    r"résolu\w*|réglé\w*|merci (?:pour|de|beaucoup pour)|"
    r"gelöst|erledigt|klappt (?:jetzt|wieder)|danke für|dank für|"
    r"resolvid\w*|obrigad[oa]s? (?:pela|pelo|por)|"
    r"^(?:\W*+\w++){0,3}\W*+(?:thanks|thank you|cheers|ty|thx|grazie|gracias|merci|danke|obrigad[oa])\W*$)",
)
"""(Possessive ``*+``/``++``: a long message must not make the short-note test backtrack for minutes.)"""
"""A thank-you note or "I fixed it, thanks": glad to hear it, not "thank you for your kind words"."""


_EXCHANGE = re.compile(
    r"\b(?:exchange|replace|replacement|return|send (?:it|them) back|cambi\w*|sostitu\w*|reso|cambio|devoluci[oó]n|"
    r"échang\w*|retour|remplac\w*|umtausch\w*|umtauschen|rücksendung|ersatz\w*|troca\w*|trocar|substitui\w*)\b"
)
_MONEY = re.compile(
    r"\b(?:refund\w*|money|reimburs\w*|chargeback|rimbors\w*|soldi|reembols\w*|dinero|dinheiro|rembours\w*|"
    r"argent|erstatt\w*|rückerstatt\w*|geld|estorno)\b"
)
"""A refund request that asks for an exchange or return, not money back, is answered about the exchange."""
_WAITED = re.compile(
    r"\b(?:wait\w*|still|weeks?|days?|aspett\w*|attesa|ancora|settiman\w*|giorni|esper\w*|todavía|semanas?|días|"
    r"attend\w*|toujours|semaines?|jours|warte\w*|immer noch|wochen|tagen?|ainda|há \w+ dias)\b"
)


def _unhappy(readings: Sequence[Reading]) -> bool:
    """A complaint, refund or urgent phrase, or a negative message flagged as a complaint."""
    return any(
        {r.intent, *r.intents} & COMPLAINT_INTENTS or (r.is_complaint and r.label == "negative") for r in readings
    )


def choose(priority: str, readings: Sequence[Reading], earlier: Sequence[Reading] = ()) -> Choice:
    """The reply a care lead would pick for what is waiting in the case (``earlier``: what the customer
    said before in it, already answered).

    Urgent first; a message that is only a broadcast or promotion is suggested for rejection; a
    newest message that thanks or says it is solved gets a short glad reply; a complaint gets an
    apology and never the praise or thanks wording; a question is answered as a question unless
    the conversation was unhappy before (then "thanks for your question!" reads like mockery);
    praise is thanked only when nothing in the case is unhappy.
    """
    intents = {i for r in readings for i in (r.intent, *r.intents)}
    unhappy = _unhappy(readings)
    if priority == "urgent" or "urgent" in intents:
        return Choice("urgent", True)
    if readings and all(r.intent == "spam" for r in readings):
        return Choice("default", False, reject="spam: a broadcast or promotion, not a customer asking us")
    if readings and _thanks_note(readings[-1]):
        return Choice("thanks", False)
    if "refund" in intents:
        texts = " ".join(r.text.lower() for r in readings)
        swap = _EXCHANGE.search(texts) is not None and _MONEY.search(texts) is None
        return Choice("exchange" if swap else "refund", True, waited=_WAITED.search(texts) is not None)
    if unhappy:
        return Choice("complaint", True)
    sore = _unhappy(earlier) or any(r.is_complaint or r.label == "negative" for r in readings)
    if "question" in intents and not _unhappy(earlier):
        return Choice("question", False)
    if "praise" in intents and not sore:
        return Choice("praise", False)
    return Choice("default", sore)


def _thanks_note(reading: Reading) -> bool:
    """ "Thanks for the help!", "fixed it, thanks", "seems to be working now. Cheers": thanks or a solved problem,
    not negative, no complaint phrase and no new question."""
    return (
        reading.intent in ("praise", "other")
        and reading.label != "negative"
        and not {reading.intent, *reading.intents} & (COMPLAINT_INTENTS | {"question"})
        and _SOLVED_OR_THANKED.search(_LEADING_MENTIONS.sub("", reading.text.lower())) is not None
    )


_LEADING_MENTIONS = re.compile(r"^(?:\s*@\w+[,:]?)+\s*")


def greeting_name(platform: str, display_name: str | None, handle: str) -> str:
    """How a draft calls the customer: ``@handle`` where the platform does (X, Instagram), else first name."""
    if platform in GREET_BY_HANDLE and plain(handle).strip():
        return "@" + plain(handle).strip().lstrip("@")[:NAME_LENGTH]
    return first_name(display_name, handle)


@dataclass(frozen=True)
class DraftRequest:
    language: str | None
    intent: str
    is_complaint: bool
    customer_name: str
    channel: str
    handle: str
    seen: Collection[str] = ()
    """Our recent replies to this customer and in this thread: the wording least among them is taken."""
    elsewhere: Collection[str] = ()
    """Our latest replies on the channel: among wordings this customer saw as often, the one least used there."""
    fits: Callable[[str], bool] | None = None
    """Whether a text fits the channel (its ``max_reply_length``); wordings that do not are left out."""
    answer: str | None = None
    """A saved answer (FAQ) to give, with the ``faq`` template, instead of the intent's."""
    waited: bool = False


def without_greeting(text: str) -> str:
    """A reply without its greeting ("Hi Ann, ", "@ann Hi,"), first letter up: what two replies to two people share."""
    text = re.sub(r"^(?:\s*@\w+[,:!]?)+\s*", "", text.strip())
    head, mark, rest = re.split(r"([,!])", text, maxsplit=1) if re.search(r"[,!]", text) else (text, "", "")
    kept = " ".join((rest if mark and len(head) <= 40 else text).split())
    return kept[:1].upper() + kept[1:]


def body(text: str) -> str:
    return without_greeting(text).lower()


class Drafter:
    def __init__(self, templates: Path | None = None, default_language: str = "en", faq: Faq | None = None) -> None:
        self.faq = faq or Faq(None)
        """The team's saved answers, which a draft gives when one matches the question well."""
        folders = [str(p) for p in (templates, BUNDLED) if p is not None]
        if templates is not None and not templates.is_dir():
            raise ConfigError(f"templates: {templates} is not a folder")
        self.default_language = default_language
        self._names: set[str] = set()
        import jinja2
        from jinja2.sandbox import ImmutableSandboxedEnvironment

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
        return sorted({name.split("/")[0] for name in self._names})

    def check(self) -> None:
        """Compile every template now, so a broken one fails at start, not at the first customer."""
        import jinja2

        self._names = set(self._env.list_templates(extensions=["j2"]))
        for name in sorted(self._names):
            try:
                self._env.get_template(name)
            except jinja2.TemplateSyntaxError as err:
                raise ConfigError(f"template {name}, line {err.lineno}: {err.message}") from None
        if self.default_language not in self.languages:
            raise ConfigError(
                f"language: no templates for {self.default_language!r} (have {', '.join(self.languages)})"
            )

    def language_for(self, language: str | None) -> str:
        """The language a draft for ``language`` is written in: it, if there are templates for it."""
        return language if language in self.languages else self.default_language

    def draft(self, request: DraftRequest) -> tuple[str, str]:
        """The reply text and the language it is written in."""
        language = self.language_for(request.language)
        names = [f"{language}/{request.intent}.j2", f"{language}/default.j2"]
        if request.answer:
            names.insert(0, f"{language}/faq.j2")
        values = {
            "name": request.customer_name,
            "intent": request.intent,
            "apology": request.is_complaint,
            "channel": request.channel,
            "handle": request.handle,
            "answer": request.answer or "",
            "waited": request.waited,
        }
        fits = request.fits or (lambda _text: True)
        tried: list[str] = []
        for name in (n for n in names if n in self._names):
            wordings = [w for w in self._wordings(self._env.get_template(name), values) if len(w.split()) >= MIN_WORDS]
            tried += wordings
            fitting = [w for w in wordings if fits(w)]
            if fitting:
                close, far = Counter(map(body, request.seen)), Counter(map(body, request.elsewhere))
                return min(fitting, key=lambda w: (close[body(w)], far[body(w)])), language
        if not tried:
            raise ConfigError(f"templates: {language}/default.j2 gives no reply of {MIN_WORDS} words or more")
        return min(tried, key=len), language  # too long for the channel: approval says so, a person shortens it

    @staticmethod
    def _wordings(template: jinja2.Template, values: dict[str, object]) -> list[str]:
        """Each different text the template gives for ``variant`` 0 to 4, in that order."""
        found: list[str] = []
        for variant in range(VARIANTS):
            text = _flat(template.render(**values, variant=variant), str(values["name"]))
            if text and text not in found:
                found.append(text)
        return found

    def system(self, kind: str, language: str | None, name: str, promise: Callable[[str], str]) -> tuple[str, str]:
        """A reply the product sends itself (``holding``, ``after_hours``): its text and language.

        ``promise`` words the time the customer will hear back, in the language chosen.
        """
        language = language if language in self.languages else self.default_language
        text = self._env.get_template(f"{language}/{kind}.j2").render(name=name, promise=promise(language))
        return _flat(text, name), language


NAME_LENGTH = 40
"""A greeting uses at most this much of a name: a display name can be 100,000 characters long."""


def first_name(display_name: str | None, handle: str) -> str:
    """How to greet someone: the first word of their name, else their handle, as plain text; nothing when
    neither has a letter (an id such as "105836" is no name: "Hi, …" reads better than "Hi 105836, …")."""
    words = [w for w in plain(display_name or "").split() if any(c.isalpha() for c in w)]
    if words:
        return words[0][:NAME_LENGTH]
    handle = plain(handle).strip()
    return handle[:NAME_LENGTH] if any(c.isalpha() for c in handle) else ""


_NAMELESS_GAP = re.compile(r"\s+([,!.?])")
"""What an empty ``name`` leaves in "Hi {{ name }}, …": the space before the comma goes."""


def _flat(text: str, name: str) -> str:
    flat = " ".join(text.split())
    return _NAMELESS_GAP.sub(r"\1", flat) if not name else flat
